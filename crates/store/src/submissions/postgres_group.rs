//! A group of session submits on PostgreSQL as one statement over arrays.
//!
//! One statement per submit cost PostgreSQL a round trip, a transaction
//! and a commit for each response; here the submits queued behind the
//! store's writer go in one statement: the open sessions are locked `FOR
//! UPDATE` (in id order, so two groups never wait on each other in a
//! cycle), at most one response per session is inserted (the first of the
//! group's), `ON CONFLICT DO NOTHING` (any unique key: a replayed
//! `submission_id` or a respondent already stored leaves the rest of the
//! group alone), and each session is closed with its response. The rows
//! back are `(session id, submission id, response id)` of what was stored;
//! a submit not among them stored nothing, and its caller looks it up.

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
pub(crate) fn submit_group(
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use diesel::prelude::*;

    use super::submit_group;
    use crate::schema::respondent_sessions;
    use crate::submissions::test_support::{PgScratch, insert, round, stored};
    use crate::submissions::{Insert, SubmitError};
    use crate::{DbConn, StoreError, sessions};

    fn pg(conn: &mut DbConn) -> &mut PgConnection {
        match conn {
            DbConn::Postgres(pg) => pg,
            DbConn::Sqlite(_) => panic!("a PostgreSQL store"),
        }
    }

    fn response_of(conn: &mut DbConn, session: &str) -> Option<i64> {
        respondent_sessions::table
            .find(session)
            .select(respondent_sessions::response_id)
            .first(conn)
            .expect("session")
    }

    #[test]
    fn a_group_stores_one_response_per_open_session_and_nothing_else() {
        let db = PgScratch::new("group");
        let mut conn = db.store().conn().expect("conn");
        let round = round(&mut conn);
        let s: Vec<_> = (0..5)
            .map(|_| sessions::start_open(&mut conn, round.id).expect("session"))
            .collect();
        // A session submitted before.
        let before = insert(&round, "x", &s[2].respondent_id, Some(&s[2].id));
        let x = submit_group(pg(&mut conn), &[&before])
            .remove(0)
            .expect("x");
        let group = [
            insert(&round, "a", &s[0].respondent_id, Some(&s[0].id)),
            // The same submit twice in one group: stored once, owned by the first.
            insert(&round, "a", &s[0].respondent_id, Some(&s[0].id)),
            // Another submission id for the same session, from another
            // province (so no unique key of the responses would stop it).
            Insert {
                province: 44,
                ..insert(&round, "b", &s[0].respondent_id, Some(&s[0].id))
            },
            // Another respondent's id on an open session.
            insert(&round, "c", "someone-else", Some(&s[1].id)),
            // A replay on the session closed before.
            insert(&round, "x", &s[2].respondent_id, Some(&s[2].id)),
            insert(&round, "d", &s[3].respondent_id, Some(&s[3].id)),
            // A submission id already used, on another open session.
            insert(&round, "a", &s[4].respondent_id, Some(&s[4].id)),
        ];
        let outcomes = submit_group(pg(&mut conn), &group.iter().collect::<Vec<_>>());
        assert_eq!(outcomes.len(), group.len());
        let (Ok(a), Ok(d)) = (&outcomes[0], &outcomes[5]) else {
            panic!("a and d are stored: {outcomes:?}");
        };
        for k in [1, 2, 3, 4, 6] {
            assert!(
                matches!(outcomes[k], Err(SubmitError::SessionClosed)),
                "{k}: {:?}",
                outcomes[k]
            );
        }
        assert_eq!(
            stored(&mut conn),
            vec![
                (x, Some("x".to_owned())),
                (*a, Some("a".to_owned())),
                (*d, Some("d".to_owned()))
            ]
        );
        let closed: Vec<_> = s.iter().map(|s| response_of(&mut conn, &s.id)).collect();
        assert_eq!(closed, vec![Some(*a), None, Some(x), Some(*d), None]);
    }

    #[test]
    fn the_writer_reconnects_after_its_connection_is_lost() {
        let db = PgScratch::new("reconnect");
        let store = db.store();
        let mut conn = store.conn().expect("conn");
        let round = round(&mut conn);
        let first = sessions::start_open(&mut conn, round.id).expect("session");
        let second = sessions::start_open(&mut conn, round.id).expect("session");
        let writer = store
            .group_commit()
            .expect("a PostgreSQL store has a writer");
        let submit = |sub: &str, session: &sessions::Session| {
            writer.submit(Arc::new(insert(
                &round,
                sub,
                &session.respondent_id,
                Some(&session.id),
            )))
        };
        let first_id = submit("one", &first).expect("stored");
        // The server ends every other connection to this database (as a
        // restart would): the writer's first group after it fails...
        diesel::sql_query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .execute(&mut **conn)
        .expect("terminate");
        let lost = submit("two", &second);
        assert!(
            matches!(lost, Err(SubmitError::Store(StoreError::GroupCommit(_)))),
            "{lost:?}"
        );
        // ... and the next one is stored on a new connection.
        let id = submit("two", &second).expect("stored after reconnecting");
        assert_eq!(response_of(&mut conn, &second.id), Some(id));
        // The reader thread too: its first statement after the loss fails
        // (nothing is read), the next one reads on a new connection.
        let read =
            || sessions::get_with_round_grouped(store, &mut store.conn().expect("conn"), &first.id);
        read().expect("read before");
        diesel::sql_query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .execute(&mut **conn)
        .expect("terminate");
        let lost = read();
        assert!(
            matches!(
                lost,
                Err(sessions::SessionError::Store(StoreError::GroupCommit(_)))
            ),
            "{lost:?}"
        );
        let (session, _) = read().expect("read after reconnecting").expect("found");
        assert_eq!(session.response_id, Some(first_id));
    }
}
