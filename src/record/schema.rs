//! How the domain's own types appear in the OpenAPI document: the
//! newtypes as the string or integer they serialize as, the statuses as
//! their names. The derived schemas of the record's types refer to these,
//! so the document follows the serializers.

use crate::domain::{
    ChannelId, FollowupId, IncidentNumber, MessageTs, RoleName, SeverityName, Status, UpdateId,
    UserId,
};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

macro_rules! schema_as {
    ($kind:expr, $($t:ty => $desc:literal),* $(,)?) => {
        $(
            impl utoipa::PartialSchema for $t {
                fn schema() -> RefOr<Schema> {
                    ObjectBuilder::new()
                        .schema_type($kind)
                        .description(Some($desc))
                        .into()
                }
            }
            impl utoipa::ToSchema for $t {}
        )*
    };
}

schema_as!(Type::String,
    UserId => "A Slack user id (`U0123ABCD`).",
    ChannelId => "A Slack conversation id (`C0123ABCD`).",
    SeverityName => "A severity level's name, as configured (`SEV1`).",
    RoleName => "A role's name, as configured (`Incident Lead`).",
    MessageTs => "A Slack message timestamp (`1700000000.000100`).",
);

schema_as!(Type::Integer,
    IncidentNumber => "An incident's number: 1, 2, 3, … in declaration order.",
    FollowupId => "A follow-up's id.",
    UpdateId => "A status update's id.",
);

impl utoipa::PartialSchema for Status {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some([
                "investigating",
                "identified",
                "mitigated",
                "resolved",
                "closed",
            ]))
            .description(Some("Where the incident stands in its lifecycle."))
            .into()
    }
}
impl utoipa::ToSchema for Status {}
