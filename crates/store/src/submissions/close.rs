//! Closing a respondent session as a statement prepared once per connection.
//!
//! diesel never caches an `UPDATE` (its `SET` list varies), so the close of
//! every submit was parsed and planned again; on SQLite that happens while
//! the process's one writer holds the write lock (about a tenth of a
//! submit's time there). This statement has a fixed text and a static query
//! id, so diesel prepares it once per connection, on either backend.

use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, HasSqlType, Text};

/// `UPDATE respondent_sessions` marking an open session submitted.
pub(super) struct CloseSession<'a> {
    pub session_id: &'a str,
    pub round_id: i64,
    pub respondent_id: &'a str,
    pub response_id: i64,
    pub now: i64,
}

/// The statement's identity in diesel's prepared-statement cache.
pub(super) struct CloseSessionId;

impl QueryId for CloseSession<'_> {
    type QueryId = CloseSessionId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<DB> QueryFragment<DB> for CloseSession<'_>
where
    DB: Backend + HasSqlType<BigInt> + HasSqlType<Text>,
    i64: ToSql<BigInt, DB>,
    str: ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE respondent_sessions SET submitted_at = ");
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(", response_id = ");
        out.push_bind_param::<BigInt, _>(&self.response_id)?;
        out.push_sql(", updated_at = ");
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(" WHERE id = ");
        out.push_bind_param::<Text, _>(self.session_id)?;
        out.push_sql(" AND round_id = ");
        out.push_bind_param::<BigInt, _>(&self.round_id)?;
        out.push_sql(" AND respondent_id = ");
        out.push_bind_param::<Text, _>(self.respondent_id)?;
        out.push_sql(" AND submitted_at IS NULL");
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for CloseSession<'_> {}
