//! Helpers of the submit tests: a round to submit to, inserts, what is stored.

use std::sync::Arc;

use diesel::prelude::*;

use super::{Body, Insert, Mode};
use crate::rounds::{self, NewRound, RoundStatus};
use crate::schema::responses;
use crate::{DbConn, instruments};

const CSL_2026: &str = include_str!("../../../../surveys/csl-2026/instrument.json");

pub(crate) fn insert(
    round: &rounds::Round,
    submission: &str,
    respondent: &str,
    session: Option<&str>,
) -> Insert {
    Insert {
        round_id: round.id,
        respondent_id: respondent.to_owned(),
        province: 11,
        mode: Mode::Online,
        instrument_id: round.instrument_id,
        body: Arc::new(Body {
            answers: "{}".into(),
            demographics: "{}".into(),
            paradata: "{}".into(),
        }),
        submission_id: submission.to_owned(),
        started_at: None,
        now: 1,
        session_id: session.map(str::to_owned),
    }
}

pub(crate) fn stored(conn: &mut DbConn) -> Vec<(i64, Option<String>)> {
    responses::table
        .select((responses::id, responses::submission_id))
        .order(responses::id)
        .load(conn)
        .expect("responses")
}

pub(crate) fn round(conn: &mut DbConn) -> rounds::Round {
    let draft = instruments::create_draft(conn, "csl-2026", "2026.1", CSL_2026).expect("draft");
    let instrument = instruments::publish(conn, draft.id).expect("publish");
    rounds::create(
        conn,
        &NewRound {
            code: "2026",
            instrument_id: instrument.id,
            rule: r#"{"kind":"total-score","cut":70}"#,
            margins: "{}",
            opens_at: None,
            closes_at: None,
            status: RoundStatus::Open,
            open_online: true,
        },
    )
    .expect("round")
}

/// A migrated store on a PostgreSQL database made for one test and dropped
/// after it (`literacy_test_support::pg`). Fails, never skips, when
/// PostgreSQL cannot be had.
pub(crate) struct PgScratch {
    store: Option<crate::Store>,
    _database: literacy_test_support::pg::Database,
}

impl PgScratch {
    pub(crate) fn new(tag: &str) -> PgScratch {
        let database = literacy_test_support::pg::Database::new(&format!("lit_unit_{tag}"));
        let store = crate::open_and_migrate(database.url()).expect("migrate");
        PgScratch {
            store: Some(store),
            _database: database,
        }
    }

    pub(crate) fn store(&self) -> &crate::Store {
        self.store.as_ref().expect("store")
    }
}
