//! A submit that closes its session, on PostgreSQL, as one statement.
//!
//! The portable path is a transaction of four round trips (`BEGIN`, the
//! insert, the session's close, `COMMIT`); under a stream of submits on a
//! small machine those round trips (and the context switches behind them)
//! cost more than the work. Here the session row is locked, the response
//! inserted and the session closed by one statement, which PostgreSQL runs
//! atomically in its own transaction; a prepared statement, cached per
//! connection like diesel's own (a static query id), so it is planned once.
//!
//! The insert happens only if the session is still open (locked `FOR
//! UPDATE`: a concurrent submit of the same session waits, then finds it
//! closed and inserts nothing). No row back means the session was closed
//! or does not match; the caller then looks the submission up (a replay) or
//! answers that the session is closed. A UNIQUE violation (the respondent
//! already stored under another submission) fails the whole statement.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Integer, Nullable, Text};

/// The statement's values.
pub(super) struct SubmitClosing<'a> {
    pub session_id: &'a str,
    pub round_id: i64,
    pub respondent_id: &'a str,
    pub province: i32,
    pub mode: &'static str,
    pub instrument_id: i64,
    pub answers: &'a str,
    pub demographics: &'a str,
    pub paradata: &'a str,
    pub submission_id: &'a str,
    pub started_at: Option<i64>,
    pub now: i64,
}

/// The statement's identity in diesel's prepared-statement cache.
pub(super) struct SubmitClosingId;

impl QueryId for SubmitClosing<'_> {
    type QueryId = SubmitClosingId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for SubmitClosing<'_> {
    type SqlType = BigInt;
}

impl RunQueryDsl<PgConnection> for SubmitClosing<'_> {}

impl QueryFragment<Pg> for SubmitClosing<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "WITH s AS (SELECT id FROM respondent_sessions \
             WHERE submitted_at IS NULL AND id = ",
        );
        out.push_bind_param::<Text, _>(self.session_id)?;
        out.push_sql(" AND round_id = ");
        out.push_bind_param::<BigInt, _>(&self.round_id)?;
        out.push_sql(" AND respondent_id = ");
        out.push_bind_param::<Text, _>(self.respondent_id)?;
        out.push_sql(
            " FOR UPDATE), \
             i AS (INSERT INTO responses (round_id, respondent_id, province, mode, \
             instrument_id, answers, demographics, paradata, batch_id, submission_id, \
             started_at, submitted_at, created_at) SELECT ",
        );
        out.push_bind_param::<BigInt, _>(&self.round_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(self.respondent_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Integer, _>(&self.province)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(self.mode)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(&self.instrument_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(self.answers)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(self.demographics)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(self.paradata)?;
        out.push_sql(", NULL, ");
        out.push_bind_param::<Text, _>(self.submission_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<BigInt>, _>(&self.started_at)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(
            " FROM s RETURNING id), \
             u AS (UPDATE respondent_sessions SET submitted_at = ",
        );
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(", updated_at = ");
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(", response_id = i.id FROM i WHERE respondent_sessions.id = ");
        out.push_bind_param::<Text, _>(self.session_id)?;
        out.push_sql(" RETURNING respondent_sessions.id) SELECT id FROM i");
        Ok(())
    }
}

impl SubmitClosing<'_> {
    /// Runs the statement: the new response's id, or `None` when the
    /// session was not open (nothing stored).
    pub(super) fn run(self, conn: &mut PgConnection) -> QueryResult<Option<i64>> {
        self.get_result::<i64>(conn).optional()
    }
}
