//! [`sql_impl!`]: sqlx's bounds, written once.

/// Writes an item generic over the backends with the bounds sqlx needs of
/// the database for what our SQL binds and reads (`i64`, `bool`, `String`,
/// `&str` and their options; an executor for the pool and a transaction).
/// Three shapes, each taking any attributes (`#[async_trait]`, docs):
///
/// - `impl Feature for B { … }`: `impl<B: Backend> Feature for B where …`,
///   a trait's one implementation for every backend;
/// - `impl Tx { … }`: `impl<B: Backend> Tx<B> where …`, helpers on the
///   write transaction;
/// - `fn name(row: &R) -> T { … }`: `fn name<R: sqlx::Row>(row: &R) -> T
///   where …`, a row reader (called as a plain function).
///
/// Why a macro: Rust does not infer these bounds from `B: Backend`. They
/// are about other types (`i64: Encode<'q, B::Db>`, `&mut Connection:
/// Executor`), and only supertraits and bounds on associated types are
/// implied (rust-lang/rust#20671; associated types pinned to `i64` and
/// friends are not normalized into them either). A trait collecting them
/// must still be restated, a dozen lines, on every impl of every feature
/// file, and attribute `macro_rules!` are not stable yet. Its cost: rustfmt
/// does not format inside a macro call, so keep these bodies formatted by
/// hand; compiler errors still point into them.
macro_rules! sql_impl {
    ($(#[$attr:meta])* impl Tx { $($body:tt)* }) => {
        $crate::db::sql_impl! { @bounds [B::Db]
            [$(#[$attr])* impl<B: $crate::db::Backend> $crate::db::Tx<B>] { $($body)* } }
    };
    ($(#[$attr:meta])* impl $feature:ident for B { $($body:tt)* }) => {
        $crate::db::sql_impl! { @bounds [B::Db]
            [$(#[$attr])* impl<B: $crate::db::Backend> $feature for B] { $($body)* } }
    };
    ($(#[$attr:meta])* $vis:vis fn $name:ident($row:ident: &R) -> $out:ty { $($body:tt)* }) => {
        $crate::db::sql_impl! { @bounds [R::Database]
            [$(#[$attr])* $vis fn $name<R: ::sqlx::Row>($row: &R) -> $out] { $($body)* } }
    };
    (@bounds [$db:ty] [$($head:tt)*] { $($body:tt)* }) => {
        $($head)*
        where
            for<'c> &'c mut <$db as ::sqlx::Database>::Connection:
                ::sqlx::Executor<'c, Database = $db>,
            <$db as ::sqlx::Database>::Arguments: ::sqlx::IntoArguments<$db>,
            for<'a> &'a str: ::sqlx::ColumnIndex<<$db as ::sqlx::Database>::Row>
                + ::sqlx::Type<$db>
                + ::sqlx::Encode<'a, $db>,
            usize: ::sqlx::ColumnIndex<<$db as ::sqlx::Database>::Row>,
            i64: ::sqlx::Type<$db>
                + for<'q> ::sqlx::Encode<'q, $db>
                + for<'r> ::sqlx::Decode<'r, $db>,
            bool: ::sqlx::Type<$db>
                + for<'q> ::sqlx::Encode<'q, $db>
                + for<'r> ::sqlx::Decode<'r, $db>,
            String: ::sqlx::Type<$db>
                + for<'q> ::sqlx::Encode<'q, $db>
                + for<'r> ::sqlx::Decode<'r, $db>,
            Option<i64>: for<'q> ::sqlx::Encode<'q, $db>,
            Option<String>: for<'q> ::sqlx::Encode<'q, $db>,
            for<'a> Option<&'a str>: ::sqlx::Encode<'a, $db>,
        {
            $($body)*
        }
    };
}
pub(crate) use sql_impl;
