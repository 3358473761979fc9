//! Respondent sessions: partial answers saved as the respondent goes,
//! merged across saves, in the database (replicas share them).
//!
//! Saves use optimistic concurrency (a `revision` column checked by the
//! UPDATE), so two saves racing on one session never lose each other's
//! answers, on either backend, without row locks.

use std::collections::BTreeMap;

use diesel::expression::{AppearsOnTable, ValidGrouping};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Array, Text};

use crate::error::store_error_conversions;
use crate::rounds::{self, RoundError};
use crate::schema::{respondent_sessions, rounds as rounds_table};
use crate::{Backend, DbConn, Store, StoreError, now_ms, random_hex};

/// Answers by item or demographic id (answer text as the respondent gave it).
pub type Answers = BTreeMap<String, String>;
/// Milliseconds spent per page id.
pub type Paradata = BTreeMap<String, i64>;

/// A respondent session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Random token identifying the session.
    pub id: String,
    /// The round answered.
    pub round_id: i64,
    /// The respondent id the response will carry.
    pub respondent_id: String,
    /// The invite code that started it, if any.
    pub invite_code: Option<String>,
    /// Answers saved so far.
    pub answers: Answers,
    /// Time per page so far.
    pub paradata: Paradata,
    /// Number of saves.
    pub revision: i64,
    /// Started (unix ms).
    pub created_at: i64,
    /// Last saved (unix ms).
    pub updated_at: i64,
    /// Submitted (unix ms), if it was.
    pub submitted_at: Option<i64>,
    /// The response it became, if submitted.
    pub response_id: Option<i64>,
}

/// One save: answers to set (`Some`) or clear (`None`), and time spent per
/// page since the last save (added to what is stored).
#[derive(Debug, Clone, Default)]
pub struct SessionSave {
    /// Answer changes by id.
    pub answers: BTreeMap<String, Option<String>>,
    /// Milliseconds to add per page.
    pub page_ms: Paradata,
}

/// Why a session operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No such session.
    #[error("no such session")]
    NotFound,
    /// The session was submitted: it takes no more answers.
    #[error("the session was already submitted")]
    Submitted,
    /// No such round.
    #[error("no such round")]
    RoundNotFound,
    /// The round is not collecting responses now.
    #[error("the round is not collecting responses")]
    RoundNotAccepting,
    /// The round does not allow online participation without an invite code.
    #[error("the round requires an invite code")]
    InviteRequired,
    /// Saves kept racing; the caller may retry.
    #[error("the session is being saved concurrently; retry")]
    Contended,
    /// The storage layer failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
store_error_conversions!(SessionError);

impl From<RoundError> for SessionError {
    fn from(e: RoundError) -> Self {
        match e {
            RoundError::Store(e) => SessionError::Store(e),
            _ => SessionError::RoundNotFound,
        }
    }
}

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = respondent_sessions)]
pub(crate) struct SessionRow {
    pub(crate) id: String,
    round_id: i64,
    respondent_id: String,
    invite_code: Option<String>,
    answers: String,
    paradata: String,
    revision: i64,
    created_at: i64,
    updated_at: i64,
    submitted_at: Option<i64>,
    response_id: Option<i64>,
}

impl SessionRow {
    fn into_session(self) -> Result<Session, StoreError> {
        Ok(Session {
            answers: serde_json::from_str(&self.answers)?,
            paradata: serde_json::from_str(&self.paradata)?,
            id: self.id,
            round_id: self.round_id,
            respondent_id: self.respondent_id,
            invite_code: self.invite_code,
            revision: self.revision,
            created_at: self.created_at,
            updated_at: self.updated_at,
            submitted_at: self.submitted_at,
            response_id: self.response_id,
        })
    }
}

/// Starts a session without an invite code, where the round allows open
/// online participation.
pub fn start_open(conn: &mut DbConn, round_id: i64) -> Result<Session, SessionError> {
    let round = rounds::get(conn, round_id)?.ok_or(SessionError::RoundNotFound)?;
    if !round.accepts_responses(now_ms()) {
        return Err(SessionError::RoundNotAccepting);
    }
    if !round.open_online {
        return Err(SessionError::InviteRequired);
    }
    Ok(insert_new(conn, &random_hex(16), round_id, None)?)
}

/// Inserts a fresh session (also used by invite claims, inside their transaction).
pub(crate) fn insert_new(
    conn: &mut DbConn,
    id: &str,
    round_id: i64,
    invite_code: Option<&str>,
) -> Result<Session, diesel::result::Error> {
    let now = now_ms();
    let respondent_id = format!("w-{}", random_hex(8));
    diesel::insert_into(respondent_sessions::table)
        .values((
            respondent_sessions::id.eq(id),
            respondent_sessions::round_id.eq(round_id),
            respondent_sessions::respondent_id.eq(&respondent_id),
            respondent_sessions::invite_code.eq(invite_code),
            respondent_sessions::answers.eq("{}"),
            respondent_sessions::paradata.eq("{}"),
            respondent_sessions::revision.eq(0i64),
            respondent_sessions::created_at.eq(now),
            respondent_sessions::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(Session {
        id: id.to_owned(),
        round_id,
        respondent_id,
        invite_code: invite_code.map(str::to_owned),
        answers: Answers::new(),
        paradata: Paradata::new(),
        revision: 0,
        created_at: now,
        updated_at: now,
        submitted_at: None,
        response_id: None,
    })
}

/// Finds a session.
pub fn get(conn: &mut DbConn, id: &str) -> Result<Option<Session>, SessionError> {
    let row = respondent_sessions::table
        .find(id)
        .select(SessionRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(SessionRow::into_session).transpose()?)
}

/// A session and its round, read in one query (what a submit needs first).
pub fn get_with_round(
    conn: &mut DbConn,
    id: &str,
) -> Result<Option<(Session, rounds::Round)>, SessionError> {
    let row = respondent_sessions::table
        .inner_join(rounds_table::table)
        .filter(respondent_sessions::id.eq(id))
        .select((SessionRow::as_select(), rounds::RoundRow::as_select()))
        .first::<SessionRows>(conn)
        .optional()?;
    Ok(row.map(into_session_with_round).transpose()?)
}

/// [`get_with_round`], read on PostgreSQL by the store's reader thread in
/// one statement with every other session read queued meanwhile (see
/// `group_commit.rs`): on a busy server a statement per read cost
/// PostgreSQL more than the reading. On SQLite, where a read is a function
/// call, it reads on `conn`.
pub fn get_with_round_grouped(
    store: &Store,
    conn: &mut DbConn,
    id: &str,
) -> Result<Option<(Session, rounds::Round)>, SessionError> {
    match store.group_commit() {
        Some(writer) if store.backend() == Backend::Postgres => Ok(writer
            .read_session(id)?
            .map(into_session_with_round)
            .transpose()?),
        _ => get_with_round(conn, id),
    }
}

/// A session's row and its round's, as read (decoded by the caller).
pub(crate) type SessionRows = (SessionRow, rounds::RoundRow);

/// The sessions among `ids` that exist, each with its round, in one query.
pub(crate) fn rows_with_round(conn: &mut DbConn, ids: &[&str]) -> QueryResult<Vec<SessionRows>> {
    let joined = respondent_sessions::table.inner_join(rounds_table::table);
    match conn {
        DbConn::Postgres(pg) => joined
            .filter(SessionIdIn(ids))
            .select((SessionRow::as_select(), rounds::RoundRow::as_select()))
            .load(pg),
        DbConn::Sqlite(_) => joined
            .filter(respondent_sessions::id.eq_any(ids))
            .select((SessionRow::as_select(), rounds::RoundRow::as_select()))
            .load(conn),
    }
}

/// `respondent_sessions.id = ANY($1)`, one text-array bind, for
/// [`rows_with_round`] on PostgreSQL: diesel finds its prepared statement by
/// type, whereas `eq_any`'s has no static query id and diesel wrote its SQL
/// out again for every read, to look it up by text (4% of a submit's CPU).
#[derive(Debug, Clone, Copy)]
struct SessionIdIn<'a>(&'a [&'a str]);

/// [`SessionIdIn`]'s identity in diesel's prepared-statement cache.
struct SessionIdInId;

impl Expression for SessionIdIn<'_> {
    type SqlType = diesel::sql_types::Bool;
}

impl<QS> AppearsOnTable<QS> for SessionIdIn<'_> where respondent_sessions::id: AppearsOnTable<QS> {}

impl ValidGrouping<()> for SessionIdIn<'_> {
    type IsAggregate = diesel::expression::is_aggregate::No;
}

impl QueryId for SessionIdIn<'_> {
    type QueryId = SessionIdInId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<Pg> for SessionIdIn<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        respondent_sessions::id.walk_ast(out.reborrow())?;
        out.push_sql(" = ANY(");
        out.push_bind_param::<Array<Text>, _>(&self.0)?;
        out.push_sql(")");
        Ok(())
    }
}

fn into_session_with_round(
    (session, round): SessionRows,
) -> Result<(Session, rounds::Round), StoreError> {
    Ok((session.into_session()?, round.into_round()?))
}

/// Merges a save into the session: answers set or cleared by id, time per
/// page added. Returns the session as stored after the save.
pub fn save(conn: &mut DbConn, id: &str, change: &SessionSave) -> Result<Session, SessionError> {
    const ATTEMPTS: usize = 100;
    for _ in 0..ATTEMPTS {
        let mut session = get(conn, id)?.ok_or(SessionError::NotFound)?;
        if session.submitted_at.is_some() {
            return Err(SessionError::Submitted);
        }
        for (key, value) in &change.answers {
            match value {
                Some(v) => session.answers.insert(key.clone(), v.clone()),
                None => session.answers.remove(key),
            };
        }
        for (page, ms) in &change.page_ms {
            let total = session.paradata.entry(page.clone()).or_insert(0);
            *total = total.saturating_add((*ms).max(0));
        }
        let now = now_ms();
        let updated = diesel::update(
            respondent_sessions::table
                .find(id)
                .filter(respondent_sessions::revision.eq(session.revision))
                .filter(respondent_sessions::submitted_at.is_null()),
        )
        .set((
            respondent_sessions::answers.eq(serde_json::to_string(&session.answers)?),
            respondent_sessions::paradata.eq(serde_json::to_string(&session.paradata)?),
            respondent_sessions::revision.eq(session.revision + 1),
            respondent_sessions::updated_at.eq(now),
        ))
        .execute(conn)?;
        if updated == 1 {
            session.revision += 1;
            session.updated_at = now;
            return Ok(session);
        }
        // Another save (or the submit) got in first: read again and redo.
    }
    Err(SessionError::Contended)
}
