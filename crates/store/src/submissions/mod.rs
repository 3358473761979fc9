//! Idempotent submits keyed by the client's `submission_id`.
//!
//! The same submission sent again gets the same receipt and stores nothing;
//! a different body under the same id is a conflict. Concurrent duplicates
//! are settled in the database, never by memory, so it holds across service
//! replicas: by the UNIQUE constraint on `responses.submission_id` (the
//! loser's insert fails or, on PostgreSQL, does nothing, and it reads the
//! winner's row) and by the lock on the open session.

use std::sync::Arc;

use diesel::prelude::*;

mod close;
pub(crate) mod postgres_group;
#[cfg(test)]
pub(crate) mod test_support;

pub use crate::group_commit::GroupCommitCounts;

use crate::conn::{per_backend, write_transaction};
use crate::error::{is_unique_violation, store_error_conversions};
use crate::rounds::{self, Round, RoundError};
use crate::schema::responses;
use crate::sessions::{Answers, Paradata};
use crate::{DbConn, Store, StoreError, now_ms};

/// How a response was collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Self-completed online.
    Online,
    /// Paper questionnaire keyed in (provincial batches).
    Paper,
    /// Face-to-face on a tablet.
    Tablet,
}

impl Mode {
    /// The mode as stored.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Online => "online",
            Mode::Paper => "paper",
            Mode::Tablet => "tablet",
        }
    }

    /// Parses a stored mode.
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "online" => Some(Mode::Online),
            "paper" => Some(Mode::Paper),
            "tablet" => Some(Mode::Tablet),
            _ => None,
        }
    }
}

/// One submitted response.
#[derive(Debug, Clone)]
pub struct NewSubmission<'a> {
    /// The client's idempotency key (1 to 128 characters).
    pub submission_id: &'a str,
    /// The round answered.
    pub round_id: i64,
    /// The respondent (unique within round and province).
    pub respondent_id: &'a str,
    /// Province code.
    pub province: i32,
    /// How it was collected.
    pub mode: Mode,
    /// Raw answers by item id.
    pub answers: &'a Answers,
    /// Demographic answers by id.
    pub demographics: &'a Answers,
    /// Time per page.
    pub paradata: &'a Paradata,
    /// When the respondent started (unix ms).
    pub started_at: Option<i64>,
    /// The respondent session this closes, if any (its round and respondent must match).
    pub session_id: Option<&'a str>,
}

/// What the respondent is told: the stored response's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The stored response's id.
    pub response_id: i64,
    /// The client's idempotency key.
    pub submission_id: String,
    /// The round.
    pub round_id: i64,
    /// The respondent.
    pub respondent_id: String,
    /// When the store first received it (unix ms).
    pub received_at: i64,
}

/// The result of a submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// Stored now.
    Created(Receipt),
    /// Stored before with the same body: nothing new stored.
    Replayed(Receipt),
    /// Stored before with a different body under this `submission_id`.
    Conflict {
        /// The key used twice.
        submission_id: String,
    },
}

/// Why a submit was refused.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// No such round.
    #[error("no such round")]
    RoundNotFound,
    /// The round is not collecting responses now.
    #[error("the round is not collecting responses")]
    RoundNotAccepting,
    /// The respondent already has a response in this round (under another submission id).
    #[error("respondent {respondent_id} already responded in this round")]
    RespondentExists {
        /// The respondent.
        respondent_id: String,
    },
    /// The session does not exist, belongs to another round or respondent, or was submitted.
    #[error("the session is unknown or already submitted")]
    SessionClosed,
    /// A field is out of bounds.
    #[error("invalid submission: {0}")]
    Invalid(&'static str),
    /// The storage layer failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
store_error_conversions!(SubmitError);

impl From<RoundError> for SubmitError {
    fn from(e: RoundError) -> Self {
        match e {
            RoundError::Store(e) => SubmitError::Store(e),
            _ => SubmitError::RoundNotFound,
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = responses)]
struct StoredSubmission {
    id: i64,
    round_id: i64,
    respondent_id: String,
    province: i32,
    mode: String,
    answers: String,
    demographics: String,
    paradata: String,
    started_at: Option<i64>,
    created_at: i64,
}

/// The body fields compared for idempotency, serialized canonically
/// (`BTreeMap` keys are sorted, so equal maps give equal text).
pub(crate) struct Body {
    answers: String,
    demographics: String,
    paradata: String,
}

/// A response to insert, owned, so the store's writer thread can store it
/// for the caller (see `group_commit.rs`).
pub(crate) struct Insert {
    pub(crate) round_id: i64,
    pub(crate) respondent_id: String,
    pub(crate) province: i32,
    pub(crate) mode: Mode,
    pub(crate) instrument_id: i64,
    pub(crate) body: Arc<Body>,
    pub(crate) submission_id: String,
    pub(crate) started_at: Option<i64>,
    pub(crate) now: i64,
    /// The open session this insert closes, if any.
    pub(crate) session_id: Option<String>,
}

impl Insert {
    /// Inserts the response and closes its session (inside the caller's
    /// transaction); `SessionClosed` if the session is not open for it.
    pub(crate) fn run(&self, conn: &mut DbConn) -> Result<i64, SubmitError> {
        let id = diesel::insert_into(responses::table)
            .values((
                responses::round_id.eq(self.round_id),
                responses::respondent_id.eq(&self.respondent_id),
                responses::province.eq(self.province),
                responses::mode.eq(self.mode.name()),
                responses::instrument_id.eq(self.instrument_id),
                responses::answers.eq(&self.body.answers),
                responses::demographics.eq(&self.body.demographics),
                responses::paradata.eq(&self.body.paradata),
                responses::batch_id.eq(None::<i64>),
                responses::submission_id.eq(&self.submission_id),
                responses::started_at.eq(self.started_at),
                responses::submitted_at.eq(self.now),
                responses::created_at.eq(self.now),
            ))
            .returning(responses::id)
            .get_result::<i64>(conn)?;
        if let Some(session_id) = &self.session_id {
            let close = close::CloseSession {
                session_id,
                round_id: self.round_id,
                respondent_id: &self.respondent_id,
                response_id: id,
                now: self.now,
            };
            let closed = per_backend!(conn => close.execute(conn))?;
            if closed != 1 {
                return Err(SubmitError::SessionClosed);
            }
        }
        Ok(id)
    }
}

impl StoredSubmission {
    fn same_body(&self, new: &NewSubmission<'_>, body: &Body) -> bool {
        self.round_id == new.round_id
            && self.respondent_id == new.respondent_id
            && self.province == new.province
            && self.mode == new.mode.name()
            && self.started_at == new.started_at
            && self.answers == body.answers
            && self.demographics == body.demographics
            && self.paradata == body.paradata
    }

    fn receipt(&self, submission_id: &str) -> Receipt {
        Receipt {
            response_id: self.id,
            submission_id: submission_id.to_owned(),
            round_id: self.round_id,
            respondent_id: self.respondent_id.clone(),
            received_at: self.created_at,
        }
    }
}

fn find(conn: &mut DbConn, submission_id: &str) -> Result<Option<StoredSubmission>, StoreError> {
    Ok(responses::table
        .filter(responses::submission_id.eq(submission_id))
        .select(StoredSubmission::as_select())
        .first(conn)
        .optional()?)
}

fn replay_or_conflict(
    stored: &StoredSubmission,
    new: &NewSubmission<'_>,
    body: &Body,
) -> SubmitOutcome {
    if stored.same_body(new, body) {
        SubmitOutcome::Replayed(stored.receipt(new.submission_id))
    } else {
        SubmitOutcome::Conflict {
            submission_id: new.submission_id.to_owned(),
        }
    }
}

/// Stores a response once per `submission_id` (see the module docs).
/// `conn` is a connection of `store`; the insert itself is stored by the
/// store's writer thread, grouped with concurrent submits (see `group_commit.rs`).
pub fn submit(
    store: &Store,
    conn: &mut DbConn,
    new: &NewSubmission<'_>,
) -> Result<SubmitOutcome, SubmitError> {
    let round = rounds::get(conn, new.round_id)?.ok_or(SubmitError::RoundNotFound)?;
    submit_in_round(store, conn, &round, new)
}

/// [`submit`] for a caller that has just read the round (`new.round_id`
/// must be `round.id`): the insert and the session's close are tried first
/// (by the store's writer, in its next group), and the submission is looked
/// up only when they stored nothing (a replay, a closed session or a
/// respondent already stored).
pub fn submit_in_round(
    store: &Store,
    conn: &mut DbConn,
    round: &Round,
    new: &NewSubmission<'_>,
) -> Result<SubmitOutcome, SubmitError> {
    if new.submission_id.is_empty() || new.submission_id.chars().count() > 128 {
        return Err(SubmitError::Invalid(
            "submission_id must have 1 to 128 characters",
        ));
    }
    if new.respondent_id.is_empty() || new.respondent_id.chars().count() > 64 {
        return Err(SubmitError::Invalid(
            "respondent_id must have 1 to 64 characters",
        ));
    }
    if round.id != new.round_id {
        return Err(SubmitError::Invalid("the submission names another round"));
    }
    let body = Arc::new(Body {
        answers: serde_json::to_string(new.answers)?,
        demographics: serde_json::to_string(new.demographics)?,
        paradata: serde_json::to_string(new.paradata)?,
    });
    let now = now_ms();
    if !round.accepts_responses(now) {
        // A retry of a stored submission is answered even after the round closed.
        return match find(conn, new.submission_id)? {
            Some(stored) => Ok(replay_or_conflict(&stored, new, &body)),
            None => Err(SubmitError::RoundNotAccepting),
        };
    }
    let receipt = |id: i64| Receipt {
        response_id: id,
        submission_id: new.submission_id.to_owned(),
        round_id: new.round_id,
        respondent_id: new.respondent_id.to_owned(),
        received_at: now,
    };
    let insert = Arc::new(Insert {
        round_id: new.round_id,
        respondent_id: new.respondent_id.to_owned(),
        province: new.province,
        mode: new.mode,
        instrument_id: round.instrument_id,
        body: Arc::clone(&body),
        submission_id: new.submission_id.to_owned(),
        started_at: new.started_at,
        now,
        session_id: new.session_id.map(str::to_owned),
    });
    let inserted = match (&mut *conn, store.group_commit(), new.session_id) {
        // Queued for the store's writer: a savepoint in the next group's
        // transaction on a SQLite file (see `group_commit.rs`), a row of the
        // next group's statement on PostgreSQL (see `postgres_group.rs`).
        (DbConn::Sqlite(_), Some(group), _) | (DbConn::Postgres(_), Some(group), Some(_)) => {
            group.submit(insert)
        }
        // An in-memory SQLite store has one connection: the caller's.
        (DbConn::Sqlite(_), None, _) => crate::group_commit::commit_alone(conn, &insert),
        // A submit without a session (PostgreSQL's groups take sessions only).
        (DbConn::Postgres(_), _, _) => write_transaction(conn, |c| insert.run(c)),
    }
    .map(receipt);
    match inserted {
        Ok(receipt) => Ok(SubmitOutcome::Created(receipt)),
        Err(SubmitError::Store(StoreError::Database(e))) if is_unique_violation(&e) => {
            // Lost a race to a duplicate of this submission, or the
            // respondent already has a response under another id.
            match find(conn, new.submission_id)? {
                Some(stored) => Ok(replay_or_conflict(&stored, new, &body)),
                None => Err(SubmitError::RespondentExists {
                    respondent_id: new.respondent_id.to_owned(),
                }),
            }
        }
        // The session was closed, maybe by this very submission before
        // (PostgreSQL's group statement stores nothing for a closed session,
        // a replay or a respondent already stored).
        Err(SubmitError::SessionClosed) => match find(conn, new.submission_id)? {
            Some(stored) => Ok(replay_or_conflict(&stored, new, &body)),
            None => Err(SubmitError::SessionClosed),
        },
        Err(e) => Err(e),
    }
}

/// The receipt of a stored submission, if any.
pub fn receipt(conn: &mut DbConn, submission_id: &str) -> Result<Option<Receipt>, StoreError> {
    Ok(find(conn, submission_id)?.map(|s| s.receipt(submission_id)))
}
