//! A group of session submits on PostgreSQL as one statement over arrays.
//!
//! The one-submit statement of `postgres.rs` costs PostgreSQL a round trip,
//! a transaction and a commit for each response; here the submits queued
//! behind the store's writers go in one statement: the open sessions are
//! locked `FOR UPDATE` (in id order, so two groups never wait on each other
//! in a cycle), at most one response per session is inserted (the first of
//! the group's), `ON CONFLICT DO NOTHING` (any unique key: a replayed
//! `submission_id` or a respondent already stored leaves the rest of the
//! group alone), and each session is closed with its response. The rows
//! back are `(session id, submission id, response id)` of what was stored;
//! a submit not among them stored nothing, and its caller looks it up, as
//! after the one-submit statement.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text};

use super::{Insert, SubmitError};
use crate::StoreError;

/// The statement's values, one array element per submit.
#[derive(Default)]
struct SubmitGroup {
    session_id: Vec<String>,
    respondent_id: Vec<String>,
    province: Vec<i32>,
    mode: Vec<&'static str>,
    answers: Vec<String>,
    demographics: Vec<String>,
    paradata: Vec<String>,
    submission_id: Vec<String>,
    started_at: Vec<Option<i64>>,
    round_id: Vec<i64>,
    instrument_id: Vec<i64>,
    now: Vec<i64>,
}

/// The statement's identity in diesel's prepared-statement cache.
struct SubmitGroupId;

impl QueryId for SubmitGroup {
    type QueryId = SubmitGroupId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for SubmitGroup {
    type SqlType = (Text, Text, BigInt);
}

impl RunQueryDsl<PgConnection> for SubmitGroup {}

impl QueryFragment<Pg> for SubmitGroup {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH input AS (SELECT * FROM unnest(");
        out.push_bind_param::<Array<Text>, _>(&self.session_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.respondent_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Integer>, _>(&self.province)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.mode)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.answers)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.demographics)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.paradata)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.submission_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<BigInt>>, _>(&self.started_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.round_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.instrument_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.now)?;
        out.push_sql(
            ") WITH ORDINALITY AS t(session_id, respondent_id, province, mode, answers, \
             demographics, paradata, submission_id, started_at, round_id, instrument_id, \
             now, n)), \
             open AS (SELECT s.id FROM respondent_sessions s \
             WHERE s.submitted_at IS NULL AND s.id IN (SELECT session_id FROM input) \
             ORDER BY s.id FOR UPDATE), \
             first AS (SELECT DISTINCT ON (i.session_id) i.* FROM input i \
             JOIN respondent_sessions s ON s.id = i.session_id \
             AND s.round_id = i.round_id AND s.respondent_id = i.respondent_id \
             WHERE i.session_id IN (SELECT id FROM open) \
             ORDER BY i.session_id, i.n), \
             inserted AS (INSERT INTO responses (round_id, respondent_id, province, mode, \
             instrument_id, answers, demographics, paradata, batch_id, submission_id, \
             started_at, submitted_at, created_at) \
             SELECT round_id, respondent_id, province, mode, instrument_id, answers, \
             demographics, paradata, NULL, submission_id, started_at, now, now \
             FROM first ORDER BY n \
             ON CONFLICT DO NOTHING \
             RETURNING id, submission_id, respondent_id, round_id) \
             UPDATE respondent_sessions s SET submitted_at = f.now, updated_at = f.now, \
             response_id = r.id \
             FROM inserted r JOIN first f ON f.submission_id = r.submission_id \
             AND f.respondent_id = r.respondent_id AND f.round_id = r.round_id \
             WHERE s.id = f.session_id \
             RETURNING s.id, r.submission_id, r.id",
        );
        Ok(())
    }
}

/// Stores `inserts` (each with a session) in one statement; one outcome
/// per insert, in order: its response id, or `SessionClosed` for one that
/// stored nothing (the caller looks it up). If the statement fails, every
/// insert fails with its reason and nothing is stored.
pub(super) fn submit_group(
    conn: &mut PgConnection,
    inserts: &[&Insert],
) -> Vec<Result<i64, SubmitError>> {
    let mut group = SubmitGroup::default();
    for insert in inserts {
        group
            .session_id
            .push(insert.session_id.clone().unwrap_or_default());
        group.respondent_id.push(insert.respondent_id.clone());
        group.province.push(insert.province);
        group.mode.push(insert.mode.name());
        group.answers.push(insert.body.answers.clone());
        group.demographics.push(insert.body.demographics.clone());
        group.paradata.push(insert.body.paradata.clone());
        group.submission_id.push(insert.submission_id.clone());
        group.started_at.push(insert.started_at);
        group.round_id.push(insert.round_id);
        group.instrument_id.push(insert.instrument_id);
        group.now.push(insert.now);
    }
    let mut stored = match group.load::<(String, String, i64)>(conn) {
        Ok(rows) => rows,
        Err(e) => {
            return inserts
                .iter()
                .map(|_| Err(StoreError::GroupCommit(e.to_string()).into()))
                .collect();
        }
    };
    inserts
        .iter()
        .map(|insert| {
            // The first submit of a session that matches a stored row owns it.
            let found = stored.iter().position(|(session, submission, _)| {
                insert.session_id.as_deref() == Some(session.as_str())
                    && *submission == insert.submission_id
            });
            match found {
                Some(k) => Ok(stored.swap_remove(k).2),
                None => Err(SubmitError::SessionClosed),
            }
        })
        .collect()
}
