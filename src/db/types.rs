//! How the domain's newtypes go into and come out of the database: an
//! incident number as the integer it wraps, a user id as its text. These
//! impls hold for any backend where the wrapped type does, so the bounds
//! `sql_impl!` writes for `i64` and `String` cover them too; `domain`
//! itself knows nothing of sqlx.

use crate::domain::{
    AlertGroupId, ChannelId, ChecklistId, FollowupId, IncidentNumber, MessageTs, RoleName,
    SeverityName, UpdateId, UserId,
};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

macro_rules! transparent {
    ($inner:ty => $($name:ident),+) => {$(
        impl<DB: Database> Type<DB> for $name
        where
            $inner: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <$inner as Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <$inner as Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: Database> Encode<'q, DB> for $name
        where
            $inner: Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as Database>::ArgumentBuffer,
            ) -> Result<IsNull, BoxDynError> {
                self.0.encode_by_ref(buf)
            }

            fn produces(&self) -> Option<DB::TypeInfo> {
                self.0.produces()
            }

            fn size_hint(&self) -> usize {
                self.0.size_hint()
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $name
        where
            $inner: Decode<'r, DB>,
        {
            fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                <$inner as Decode<'r, DB>>::decode(value).map($name)
            }
        }
    )+};
}

transparent!(i64 => IncidentNumber, FollowupId, UpdateId, ChecklistId, AlertGroupId);
transparent!(String => UserId, ChannelId, MessageTs, RoleName, SeverityName);
