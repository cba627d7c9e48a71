//! The one interface every store operation is written against: [`Tx`], a connection or
//! transaction of either backend, running the shared `$N` SQL text with typed [`Arg`]s and
//! handing back [`Row`]s that are read by column name.
//!
//! An operation is an `async fn(&mut Tx<'_>, ...)` in the module of its concern
//! (`store/workspaces.rs`, ...). On PostgreSQL it awaits the database; on SQLite every call
//! returns at once (rusqlite never waits), which is what lets the SQLite writer thread run the
//! same async function to completion without a runtime (`sqlite::writer`).
//!
//! Where the dialects differ, the difference is a [`PerDialect`]: a statement with a SQLite and a
//! PostgreSQL text, or with one dialect's text only, where the other needs nothing in its place.
//! So `grep -rn PerDialect src/store` lists every fork, and there are five kinds:
//! - row locks ([`for_update!`]): several server processes may share a PostgreSQL database, so a
//!   check and the write it allows hold the rows they read until commit; SQLite needs none, as
//!   its one writer holds the database's write lock for the whole transaction (a lock only
//!   PostgreSQL takes, with nothing to read on SQLite, has no SQLite text at all);
//! - batch deletes of the clean-up, which on PostgreSQL skip the rows another instance's batch
//!   holds (`FOR UPDATE SKIP LOCKED`);
//! - a function only one dialect has (reading a JSON array of ids);
//! - PostgreSQL's one-statement workspace create, one round trip where SQLite, which has no
//!   round trips, runs the steps one by one;
//! - SQLite's count of each organization's live workspaces, which its creates read under a quota
//!   (PostgreSQL counts under a lock instead: keeping a count there would make every create of an
//!   organization wait for the previous one's commit).
//!
//! An operation runs such a statement with [`Tx::execute_per_dialect`] or
//! [`Tx::query_opt_per_dialect`], so its call site does not branch. Only where the steps
//! themselves differ (the create) does it branch, on whether the statement has a text in its
//! dialect ([`PerDialect::sql`]). How the backends run statements differs too (SQLite's calls
//! return at once, in the calling task): that is for the methods of [`Tx`], never an operation.

use std::marker::PhantomData;

use rusqlite::types::{ToSqlOutput, ValueRef};
use sqlx::postgres::{PgRow, PgTypeInfo};
use sqlx::{Column as _, ColumnIndex, PgConnection, Postgres, Row as _, TypeInfo as _};
use uuid::Uuid;

use crate::domain::{
    DeviceId, EventContext, EventKind, OrgId, OrgRole, PasskeyId, SessionId, UserId, WorkspaceId,
    WorkspaceRole,
};

use super::{postgres, sqlite, StoreError, StoreResult};

/// Which SQL dialect a [`Tx`] speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A connection of either backend, usually inside a transaction the store opened for the
/// operation (see `Store::write`).
pub enum Tx<'c> {
    /// A SQLite connection: the writer's (inside its batch transaction, a savepoint per
    /// operation) or a pooled read-only one.
    Sqlite(&'c mut rusqlite::Connection),
    /// A PostgreSQL connection or transaction.
    Postgres(&'c mut PgConnection),
}

/// A statement argument. `$N` binds `args[N - 1]`. Ids bind as UUIDs (native on PostgreSQL, a
/// 16-byte BLOB on SQLite), timestamps as `i64` Unix milliseconds, flags as booleans.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Uuid(Option<Uuid>),
    BigInt(Option<i64>),
    SmallInt(Option<i16>),
    Bool(Option<bool>),
    Text(Option<&'a str>),
    Bytes(Option<&'a [u8]>),
}

/// `args![a, b, c]`: the arguments of a statement, each converted with [`Arg::from`].
macro_rules! args {
    ($($arg:expr),* $(,)?) => {
        &[$($crate::store::tx::Arg::from($arg)),*]
    };
}
pub(crate) use args;

macro_rules! arg_from {
    ($variant:ident, $t:ty) => {
        impl From<$t> for Arg<'_> {
            fn from(value: $t) -> Self {
                Arg::$variant(Some(value))
            }
        }
        impl From<Option<$t>> for Arg<'_> {
            fn from(value: Option<$t>) -> Self {
                Arg::$variant(value)
            }
        }
    };
}
arg_from!(Uuid, Uuid);
arg_from!(BigInt, i64);
arg_from!(SmallInt, i16);
arg_from!(Bool, bool);

/// Ids bind as the UUIDs they are.
macro_rules! id_arg_and_column {
    ($($id:ty),*) => {$(
        impl From<$id> for Arg<'_> {
            fn from(id: $id) -> Self {
                Arg::Uuid(Some(id.uuid()))
            }
        }
        impl From<Option<$id>> for Arg<'_> {
            fn from(id: Option<$id>) -> Self {
                Arg::Uuid(id.map(<$id>::uuid))
            }
        }
        impl Column for $id {
            #[inline]
            fn from_sqlite(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Self> {
                Uuid::from_sqlite(row, at).map(<$id>::from_uuid)
            }
            #[inline]
            fn from_postgres(row: &PgRow, at: usize) -> sqlx::Result<Self> {
                Uuid::from_postgres(row, at).map(<$id>::from_uuid)
            }
            fn postgres_accepts(ty: &PgTypeInfo) -> bool {
                Uuid::postgres_accepts(ty)
            }
            #[inline]
            fn from_postgres_unchecked(row: &PgRow, at: usize) -> sqlx::Result<Self> {
                Uuid::from_postgres_unchecked(row, at).map(<$id>::from_uuid)
            }
        }
        impl Column for Option<$id> {
            #[inline]
            fn from_sqlite(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Self> {
                Option::<Uuid>::from_sqlite(row, at).map(|id| id.map(<$id>::from_uuid))
            }
            #[inline]
            fn from_postgres(row: &PgRow, at: usize) -> sqlx::Result<Self> {
                Option::<Uuid>::from_postgres(row, at).map(|id| id.map(<$id>::from_uuid))
            }
            fn postgres_accepts(ty: &PgTypeInfo) -> bool {
                Uuid::postgres_accepts(ty)
            }
            #[inline]
            fn from_postgres_unchecked(row: &PgRow, at: usize) -> sqlx::Result<Self> {
                Option::<Uuid>::from_postgres_unchecked(row, at).map(|id| id.map(<$id>::from_uuid))
            }
        }
    )*};
}
id_arg_and_column!(UserId, OrgId, WorkspaceId, SessionId, DeviceId, PasskeyId);

/// Roles bind as what the database stores: the number for an organization role, the wire string
/// for a workspace role.
impl From<OrgRole> for Arg<'_> {
    fn from(role: OrgRole) -> Self {
        Arg::SmallInt(Some(i16::from(role.value())))
    }
}

impl From<Option<OrgRole>> for Arg<'_> {
    fn from(role: Option<OrgRole>) -> Self {
        Arg::SmallInt(role.map(|role| i16::from(role.value())))
    }
}

impl From<WorkspaceRole> for Arg<'_> {
    fn from(role: WorkspaceRole) -> Self {
        Arg::Text(Some(role.as_str()))
    }
}

/// An event's context and kind bind as the contract's indices, which is what the table stores.
impl From<EventContext> for Arg<'_> {
    fn from(context: EventContext) -> Self {
        Arg::SmallInt(Some(context.index()))
    }
}

impl From<EventKind> for Arg<'_> {
    fn from(kind: EventKind) -> Self {
        Arg::SmallInt(Some(kind.index()))
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(value: &'a str) -> Self {
        Arg::Text(Some(value))
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(value: &'a String) -> Self {
        Arg::Text(Some(value))
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(value: Option<&'a str>) -> Self {
        Arg::Text(value)
    }
}

impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(value: &'a Option<String>) -> Self {
        Arg::Text(value.as_deref())
    }
}

impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(value: &'a [u8]) -> Self {
        Arg::Bytes(Some(value))
    }
}

impl<'a> From<&'a Vec<u8>> for Arg<'a> {
    fn from(value: &'a Vec<u8>) -> Self {
        Arg::Bytes(Some(value))
    }
}

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        let value = match self {
            Arg::Uuid(Some(id)) => ValueRef::Blob(id.as_bytes()),
            Arg::BigInt(Some(n)) => ValueRef::Integer(*n),
            Arg::SmallInt(Some(n)) => ValueRef::Integer(i64::from(*n)),
            Arg::Bool(Some(flag)) => ValueRef::Integer(i64::from(*flag)),
            Arg::Text(Some(text)) => ValueRef::Text(text.as_bytes()),
            Arg::Bytes(Some(bytes)) => ValueRef::Blob(bytes),
            _ => ValueRef::Null,
        };
        Ok(ToSqlOutput::Borrowed(value))
    }
}

/// A row of a result, read by column name.
pub enum Row<'r> {
    /// A SQLite row and its statement's column names (looked up once per statement, not per
    /// read: rusqlite's own lookup by name asks SQLite for every column name on every read).
    Sqlite {
        row: &'r rusqlite::Row<'r>,
        names: &'r [&'r str],
    },
    Postgres(&'r PgRow),
}

impl Row<'_> {
    /// The column `name`, decoded.
    pub fn get<T: Column>(&self, name: &str) -> StoreResult<T> {
        let at = self.index_of(name)?;
        match self {
            Row::Sqlite { row, .. } => Ok(T::from_sqlite(row, at)?),
            Row::Postgres(row) => Ok(T::from_postgres(row, at)?),
        }
    }

    /// The position of column `name`.
    fn index_of(&self, name: &str) -> StoreResult<usize> {
        match self {
            Row::Sqlite { names, .. } => names
                .iter()
                .position(|column| *column == name)
                .ok_or_else(|| StoreError::Sqlite(rusqlite::Error::InvalidColumnName(name.into()))),
            Row::Postgres(row) => Ok(name.index(*row)?),
        }
    }

    /// Column `name` of this row's statement, for readers of many rows of one statement (the
    /// listing): looked up by name once, and on PostgreSQL its type checked once, where
    /// [`Row::get`] (sqlx's `try_get`) checks it again for every value. Checked for every value,
    /// it cost a PostgreSQL listing 9% of the server's instructions: a text column is compared
    /// with six type names each time (BENCHMARKS.md, "`list` on PostgreSQL"). SQLite has no
    /// declared types to check; rusqlite checks each value's own type as it reads it, for free.
    pub fn column<T: Column>(&self, name: &str) -> StoreResult<TypedColumn<T>> {
        let at = self.index_of(name)?;
        if let Row::Postgres(row) = self {
            let ty = row.columns()[at].type_info();
            if !ty.is_null() && !T::postgres_accepts(ty) {
                return Err(StoreError::Postgres(sqlx::Error::ColumnDecode {
                    index: name.into(),
                    source: format!(
                        "column of type {} read as {}",
                        ty.name(),
                        std::any::type_name::<T>()
                    )
                    .into(),
                }));
            }
        }
        Ok(TypedColumn {
            at,
            of: PhantomData,
        })
    }

    /// The value of `column` (of this row's statement) in this row.
    ///
    /// This and the `Column` impls are inlined: a listing decodes about a thousand values, and
    /// the calls through the two layers were 2% of a listing's instructions (callgrind). With a
    /// plain `#[inline]` the compiler kept some calls to this one.
    #[inline(always)]
    pub fn read<T: Column>(&self, column: TypedColumn<T>) -> StoreResult<T> {
        match self {
            Row::Sqlite { row, .. } => Ok(T::from_sqlite(row, column.at)?),
            Row::Postgres(row) => Ok(T::from_postgres_unchecked(row, column.at)?),
        }
    }
}

/// A column of one statement whose type was checked against `T` once ([`Row::column`]), so its
/// values are read without checking it again ([`Row::read`]). Only for rows of the statement it
/// was made from.
pub struct TypedColumn<T> {
    at: usize,
    of: PhantomData<fn() -> T>,
}

// By hand: a derive would ask `T: Copy`, and a column of `String`s is as copyable as any.
impl<T> Clone for TypedColumn<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for TypedColumn<T> {}

/// A value a column decodes into, on both backends.
pub trait Column: Sized {
    fn from_sqlite(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Self>;
    fn from_postgres(row: &PgRow, at: usize) -> sqlx::Result<Self>;
    /// Whether a PostgreSQL column of type `ty` holds this type: what `from_postgres` checks on
    /// every value, and [`Row::column`] once per statement.
    fn postgres_accepts(ty: &PgTypeInfo) -> bool;
    /// `from_postgres` without checking the column's type, already checked by [`Row::column`].
    /// The value is still decoded safely: a value of another type fails to decode (or decodes
    /// as the bytes it is), it is never read out of bounds.
    fn from_postgres_unchecked(row: &PgRow, at: usize) -> sqlx::Result<Self>;
}

macro_rules! native_column {
    (@one $t:ty) => {
        impl Column for $t {
            #[inline]
            fn from_sqlite(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Self> {
                row.get(at)
            }
            #[inline]
            fn from_postgres(row: &PgRow, at: usize) -> sqlx::Result<Self> {
                row.try_get(at)
            }
            fn postgres_accepts(ty: &PgTypeInfo) -> bool {
                <$t as sqlx::Type<Postgres>>::compatible(ty)
            }
            #[inline]
            fn from_postgres_unchecked(row: &PgRow, at: usize) -> sqlx::Result<Self> {
                row.try_get_unchecked(at)
            }
        }
    };
    ($($t:ty),*) => {$(
        native_column!(@one $t);
        native_column!(@one Option<$t>);
    )*};
}
native_column!(Uuid, i64, i16, bool, String, Vec<u8>);

/// A statement where the dialects differ: its SQLite and its PostgreSQL text, or no text in the
/// dialect that runs nothing in its place. See the module's documentation for the kinds.
#[derive(Debug, Clone, Copy)]
pub struct PerDialect {
    sqlite: Option<&'static str>,
    postgres: Option<&'static str>,
}

/// `for_update!("SELECT ... WHERE id = $1")`: the statement, and on PostgreSQL `... FOR UPDATE`,
/// which locks the rows it reads until commit.
macro_rules! for_update {
    ($sql:expr) => {
        $crate::store::tx::PerDialect::new($sql, concat!($sql, " FOR UPDATE"))
    };
}
pub(crate) use for_update;

impl PerDialect {
    /// A statement written once for each dialect.
    pub const fn new(sqlite: &'static str, postgres: &'static str) -> PerDialect {
        PerDialect {
            sqlite: Some(sqlite),
            postgres: Some(postgres),
        }
    }

    /// A statement only PostgreSQL runs, with nothing in its place on SQLite.
    pub const fn postgres_only(postgres: &'static str) -> PerDialect {
        PerDialect {
            sqlite: None,
            postgres: Some(postgres),
        }
    }

    /// A statement only SQLite runs, with nothing in its place on PostgreSQL (the count of live
    /// workspaces that SQLite's creates read under a quota).
    pub const fn sqlite_only(sqlite: &'static str) -> PerDialect {
        PerDialect {
            sqlite: Some(sqlite),
            postgres: None,
        }
    }

    /// Its text in `dialect`; None where that dialect runs nothing in its place.
    pub fn sql(&self, dialect: Dialect) -> Option<&'static str> {
        match dialect {
            Dialect::Sqlite => self.sqlite,
            Dialect::Postgres => self.postgres,
        }
    }
}

impl Tx<'_> {
    pub fn dialect(&self) -> Dialect {
        match self {
            Tx::Sqlite(_) => Dialect::Sqlite,
            Tx::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs a statement without result rows; the number of rows it changed. A unique violation
    /// is [`StoreError::Conflict`].
    pub async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
        match self {
            Tx::Sqlite(conn) => sqlite::exec::execute(conn, sql, args),
            Tx::Postgres(conn) => postgres::exec::execute(conn, sql, args).await,
        }
    }

    /// The first row, decoded; None when there is none.
    pub async fn query_opt<T>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        decode: impl FnOnce(&Row<'_>) -> StoreResult<T> + Send,
    ) -> StoreResult<Option<T>> {
        match self {
            Tx::Sqlite(conn) => sqlite::exec::query_opt(conn, sql, args, decode),
            Tx::Postgres(conn) => postgres::exec::query_opt(conn, sql, args, decode).await,
        }
    }

    /// Every row, decoded.
    pub async fn query_all<T: Send>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        mut decode: impl FnMut(&Row<'_>) -> StoreResult<T> + Send,
    ) -> StoreResult<Vec<T>> {
        let mut out = Vec::new();
        self.for_each(sql, args, |row| {
            out.push(decode(row)?);
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Calls `each` on every row; false when there was none.
    pub async fn for_each(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        each: impl FnMut(&Row<'_>) -> StoreResult<()> + Send,
    ) -> StoreResult<bool> {
        match self {
            Tx::Sqlite(conn) => sqlite::exec::for_each(conn, sql, args, each),
            Tx::Postgres(conn) => postgres::exec::for_each(conn, sql, args, each).await,
        }
    }

    /// The `n` of a `SELECT COUNT(*) AS n ...`.
    pub async fn count(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<i64> {
        let n = self.query_opt(sql, args, |row| row.get("n")).await?;
        Ok(n.unwrap_or(0))
    }

    /// [`Tx::execute`] of `statement` in this dialect; 0 rows changed where it has no text here
    /// (a lock only PostgreSQL takes).
    pub async fn execute_per_dialect(
        &mut self,
        statement: &PerDialect,
        args: &[Arg<'_>],
    ) -> StoreResult<u64> {
        match statement.sql(self.dialect()) {
            Some(sql) => self.execute(sql, args).await,
            None => Ok(0),
        }
    }

    /// [`Tx::query_opt`] of `statement` in this dialect. A statement that reads has a text in
    /// both: one without would answer "no row" for rows that exist, so it is an error instead.
    pub async fn query_opt_per_dialect<T>(
        &mut self,
        statement: &PerDialect,
        args: &[Arg<'_>],
        decode: impl FnOnce(&Row<'_>) -> StoreResult<T> + Send,
    ) -> StoreResult<Option<T>> {
        let sql = statement
            .sql(self.dialect())
            .ok_or(StoreError::Unavailable(
                "a query with no text in this dialect",
            ))?;
        self.query_opt(sql, args, decode).await
    }

    /// Lets the other tasks of the runtime thread run, between the statements of a long read.
    /// A SQLite read runs inline in the calling task and never waits, so it would hold the thread
    /// to the end; a PostgreSQL statement awaits the database, which yields already.
    pub async fn yield_between_statements(&mut self) {
        if let Tx::Sqlite(_) = self {
            tokio::task::yield_now().await;
        }
    }
}

/// An organization role column. The CHECK constraint admits only the defined values; anything
/// else is a decoding error.
impl Column for OrgRole {
    fn from_sqlite(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Self> {
        let value = i16::from_sqlite(row, at)?;
        OrgRole::from_value(value.into()).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                at,
                rusqlite::types::Type::Integer,
                "not an organization role".into(),
            )
        })
    }

    fn from_postgres(row: &PgRow, at: usize) -> sqlx::Result<Self> {
        OrgRole::from_postgres_value(i16::from_postgres(row, at)?)
    }

    fn postgres_accepts(ty: &PgTypeInfo) -> bool {
        i16::postgres_accepts(ty)
    }

    fn from_postgres_unchecked(row: &PgRow, at: usize) -> sqlx::Result<Self> {
        OrgRole::from_postgres_value(i16::from_postgres_unchecked(row, at)?)
    }
}

impl OrgRole {
    fn from_postgres_value(value: i16) -> sqlx::Result<Self> {
        OrgRole::from_value(value.into())
            .ok_or_else(|| sqlx::Error::Decode("not an organization role".into()))
    }
}

/// A workspace role column, read without copying the text. The CHECK constraint admits only the
/// three wire strings; anything else is a decoding error.
impl Column for Option<WorkspaceRole> {
    #[inline]
    fn from_sqlite(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Self> {
        let Some(text) = row.get_ref(at)?.as_str_or_null()? else {
            return Ok(None);
        };
        WorkspaceRole::parse(text).map(Some).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                at,
                rusqlite::types::Type::Text,
                "not a workspace role".into(),
            )
        })
    }

    fn from_postgres(row: &PgRow, at: usize) -> sqlx::Result<Self> {
        workspace_role_from_postgres(row.try_get::<Option<&str>, _>(at)?)
    }

    fn postgres_accepts(ty: &PgTypeInfo) -> bool {
        <&str as sqlx::Type<Postgres>>::compatible(ty)
    }

    #[inline]
    fn from_postgres_unchecked(row: &PgRow, at: usize) -> sqlx::Result<Self> {
        workspace_role_from_postgres(row.try_get_unchecked::<Option<&str>, _>(at)?)
    }
}

fn workspace_role_from_postgres(text: Option<&str>) -> sqlx::Result<Option<WorkspaceRole>> {
    let Some(text) = text else {
        return Ok(None);
    };
    WorkspaceRole::parse(text)
        .map(Some)
        .ok_or_else(|| sqlx::Error::Decode("not a workspace role".into()))
}

impl Column for WorkspaceRole {
    fn from_sqlite(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Self> {
        Option::<WorkspaceRole>::from_sqlite(row, at)?.ok_or(rusqlite::Error::InvalidColumnType(
            at,
            "role".into(),
            rusqlite::types::Type::Null,
        ))
    }

    fn from_postgres(row: &PgRow, at: usize) -> sqlx::Result<Self> {
        Option::<WorkspaceRole>::from_postgres(row, at)?
            .ok_or_else(|| sqlx::Error::Decode("a NULL workspace role".into()))
    }

    fn postgres_accepts(ty: &PgTypeInfo) -> bool {
        Option::<WorkspaceRole>::postgres_accepts(ty)
    }

    fn from_postgres_unchecked(row: &PgRow, at: usize) -> sqlx::Result<Self> {
        Option::<WorkspaceRole>::from_postgres_unchecked(row, at)?
            .ok_or_else(|| sqlx::Error::Decode("a NULL workspace role".into()))
    }
}

#[cfg(test)]
mod tests {
    use sqlx::postgres::PgTypeInfo;
    use sqlx::{Postgres, Type};
    use uuid::Uuid;

    use super::Column;
    use crate::domain::{OrgRole, UserId, WorkspaceId, WorkspaceRole};

    fn pg<T: Type<Postgres>>() -> PgTypeInfo {
        T::type_info()
    }

    /// The check `Row::column` makes once per statement accepts the types the listing's columns
    /// have and refuses the others, as sqlx's `try_get` does for every value.
    #[test]
    fn column_types_are_checked_as_sqlx_checks_each_value() {
        assert!(Option::<WorkspaceId>::postgres_accepts(&pg::<Uuid>()));
        assert!(!Option::<WorkspaceId>::postgres_accepts(&pg::<String>()));
        assert!(UserId::postgres_accepts(&pg::<Uuid>()));
        assert!(String::postgres_accepts(&pg::<String>()));
        assert!(!String::postgres_accepts(&pg::<Uuid>()));
        assert!(Option::<WorkspaceRole>::postgres_accepts(&pg::<String>()));
        assert!(!Option::<WorkspaceRole>::postgres_accepts(&pg::<i16>()));
        assert!(OrgRole::postgres_accepts(&pg::<i16>()));
        assert!(!OrgRole::postgres_accepts(&pg::<i64>()));
        assert!(i64::postgres_accepts(&pg::<i64>()));
        assert!(!i64::postgres_accepts(&pg::<i16>()));
    }
}
