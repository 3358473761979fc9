//! A session's saved answers made into a submission: item answers and
//! demographics apart, every demographic a submit needs present. One rule
//! for the JSON API and the survey pages.

use literacy_core::demographics::{self, Demographic};
use literacy_store::invites::{self, InviteError};
use literacy_store::rounds::Round;
use literacy_store::sessions::{Answers, Session};
use literacy_store::submissions::{self, Mode, NewSubmission, SubmitError, SubmitOutcome};
use literacy_store::{DbConn, Store};

use crate::error::ApiError;
use crate::state::store_error;

/// A session's answers ready to submit.
pub(crate) struct Ready {
    /// Answers to the instrument's items.
    pub items: Answers,
    /// The demographic answers.
    pub demographics: Answers,
    /// The province the response counts for.
    pub province: i32,
}

/// Why a session's answers cannot be submitted yet.
#[derive(Debug)]
pub(crate) enum NotReady {
    /// These demographics are unanswered (in the order of [`demographics::ALL`]).
    Missing(Vec<Demographic>),
    /// The invite code that started the session was issued for province
    /// `bound`; the answers give `answered`.
    OtherProvince { bound: i32, answered: i32 },
}

/// The province the invite code that started `session` was issued for, if
/// it was issued for one: the session's answers must be of that province.
pub(crate) fn bound_province(
    conn: &mut DbConn,
    session: &Session,
) -> Result<Option<i32>, ApiError> {
    let Some(code) = &session.invite_code else {
        return Ok(None);
    };
    let invite = invites::get(conn, code).map_err(|e| match e {
        InviteError::Store(e) => store_error(e),
        other => ApiError::internal(other),
    })?;
    Ok(invite.and_then(|i| i.province))
}

/// Splits `answers` into items and demographics, or says what is missing
/// or at odds with the invite code's province `bound`.
pub(crate) fn ready(mut answers: Answers, bound: Option<i32>) -> Result<Ready, NotReady> {
    // The demographics are taken out; the item answers stay where they are.
    let demo: Answers = demographics::ALL
        .into_iter()
        .filter_map(|d| answers.remove_entry(d.id()))
        .collect();
    let items = answers;
    let missing: Vec<Demographic> = demographics::ALL
        .into_iter()
        .filter(|d| !demo.contains_key(d.id()))
        .collect();
    if !missing.is_empty() {
        return Err(NotReady::Missing(missing));
    }
    // Saved demographics were checked on the way in, so a province is a code.
    let province = demo
        .get(Demographic::Province.id())
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| NotReady::Missing(vec![Demographic::Province]))?;
    if let Some(bound) = bound
        && bound != province
    {
        return Err(NotReady::OtherProvince {
            bound,
            answered: province,
        });
    }
    Ok(Ready {
        items,
        demographics: demo,
        province,
    })
}

/// Stores a session's ready answers as its online response under the
/// client's `submission_id` (a replay of the same body is answered with the
/// stored response): what the JSON API's submit and the survey page's both
/// do; each maps the outcome to its own answer.
pub(crate) fn submit_session(
    store: &Store,
    conn: &mut DbConn,
    round: &Round,
    session: &Session,
    ready: &Ready,
    submission_id: &str,
) -> Result<SubmitOutcome, SubmitError> {
    submissions::submit_in_round(
        store,
        conn,
        round,
        &NewSubmission {
            submission_id,
            round_id: round.id,
            respondent_id: &session.respondent_id,
            province: ready.province,
            mode: Mode::Online,
            answers: &ready.items,
            demographics: &ready.demographics,
            paradata: &session.paradata,
            started_at: Some(session.created_at),
            session_id: Some(&session.id),
        },
    )
}

/// Whether `s` is a UUID in its canonical text form (a submission id, as
/// the API and the survey page require).
pub(crate) fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}
