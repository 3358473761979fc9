//! Invite codes: made in bulk, random, each starting at most one session.
//!
//! A claim is one conditional UPDATE (`... WHERE used_at IS NULL`) whose
//! row count says who won, followed by the session insert in the same
//! transaction: two replicas claiming one code at once start one session.
//! A household that comes back with its code (another device, a lost or
//! expired token) is given its unsubmitted session again (`open`).

use diesel::prelude::*;
use rand::{Rng, SeedableRng};

use crate::conn::{per_backend, write_transaction};
use crate::error::{is_unique_violation, store_error_conversions};
use crate::rounds::{self, RoundError};
use crate::schema::invite_codes;
use crate::sessions::{self, Session};
use crate::{DbConn, StoreError, now_ms, random_hex};

/// Letters and digits that cannot be mistaken for one another (no 0/O, 1/I).
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
/// Characters in a code: 32^10 = 2^50 codes.
pub const CODE_LEN: usize = 10;
/// Most codes made by one call.
pub const MAX_BULK: usize = 1_000_000;

/// A stored invite code.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = invite_codes)]
pub struct Invite {
    /// The code.
    pub code: String,
    /// The round it admits to.
    pub round_id: i64,
    /// The province it was issued for, if any.
    pub province: Option<i32>,
    /// Made (unix ms).
    pub created_at: i64,
    /// Unusable from (unix ms), if set.
    pub expires_at: Option<i64>,
    /// Claimed (unix ms), if it was.
    pub used_at: Option<i64>,
    /// The session it started, if claimed.
    pub session_id: Option<String>,
}

/// Why an invite operation failed.
#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    /// No such code.
    #[error("no such invite code")]
    NotFound,
    /// The code already started a session.
    #[error("the invite code was already used")]
    AlreadyUsed,
    /// The session the code started was submitted.
    #[error("the questionnaire of this invite code was already submitted")]
    Submitted,
    /// The code has expired.
    #[error("the invite code has expired")]
    Expired,
    /// No such round.
    #[error("no such round")]
    RoundNotFound,
    /// The round is not collecting responses now.
    #[error("the round is not collecting responses")]
    RoundNotAccepting,
    /// Too many codes asked for at once.
    #[error("at most {MAX_BULK} codes per call")]
    TooMany,
    /// The storage layer failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
store_error_conversions!(InviteError);

impl From<RoundError> for InviteError {
    fn from(e: RoundError) -> Self {
        match e {
            RoundError::Store(e) => InviteError::Store(e),
            _ => InviteError::RoundNotFound,
        }
    }
}

/// Canonical form of a code as typed: upper case, without spaces or dashes.
pub fn normalize(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

fn random_codes(count: usize) -> Vec<String> {
    let mut rng = rand::rngs::StdRng::from_os_rng();
    let mut seen = std::collections::HashSet::with_capacity(count);
    while seen.len() < count {
        let code: String = (0..CODE_LEN)
            .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
            .collect();
        seen.insert(code);
    }
    seen.into_iter().collect()
}

/// How long a code stays usable when it is made without an expiry: 90 days
/// (a code never expires only if someone forgets it).
pub const DEFAULT_LIFETIME_MS: i64 = 90 * 24 * 60 * 60 * 1000;

/// Makes `count` new random codes for a round, in one transaction; returns
/// them. They expire at `expires_at` (unix ms), or [`DEFAULT_LIFETIME_MS`]
/// after they are made.
pub fn create_codes(
    conn: &mut DbConn,
    round_id: i64,
    count: usize,
    province: Option<i32>,
    expires_at: Option<i64>,
) -> Result<Vec<String>, InviteError> {
    if count > MAX_BULK {
        return Err(InviteError::TooMany);
    }
    rounds::get(conn, round_id)?.ok_or(InviteError::RoundNotFound)?;
    // A clash with an existing code (odds ~count * stored / 2^50) fails the
    // transaction; it is retried with fresh codes.
    let mut attempt = 0;
    loop {
        attempt += 1;
        let codes = random_codes(count);
        let now = now_ms();
        let expires_at = expires_at.unwrap_or(now + DEFAULT_LIFETIME_MS);
        let result = write_transaction(conn, |c| {
            for chunk in codes.chunks(1000) {
                let rows: Vec<_> = chunk
                    .iter()
                    .map(|code| {
                        (
                            invite_codes::code.eq(code),
                            invite_codes::round_id.eq(round_id),
                            invite_codes::province.eq(province),
                            invite_codes::created_at.eq(now),
                            invite_codes::expires_at.eq(expires_at),
                        )
                    })
                    .collect();
                per_backend!(c => diesel::insert_into(invite_codes::table)
                    .values(&rows)
                    .execute(c))?;
            }
            Ok::<_, diesel::result::Error>(())
        });
        match result {
            Ok(()) => return Ok(codes),
            Err(e) if is_unique_violation(&e) && attempt < 3 => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Finds a code.
pub fn get(conn: &mut DbConn, code: &str) -> Result<Option<Invite>, InviteError> {
    Ok(invite_codes::table
        .find(normalize(code))
        .select(Invite::as_select())
        .first(conn)
        .optional()?)
}

/// Claims a code and starts its session, atomically: of any number of
/// concurrent claims of one code, exactly one gets the session.
pub fn claim(conn: &mut DbConn, code: &str) -> Result<Session, InviteError> {
    let code = normalize(code);
    let invite = get(conn, &code)?.ok_or(InviteError::NotFound)?;
    let round = rounds::get(conn, invite.round_id)?.ok_or(InviteError::RoundNotFound)?;
    if !round.accepts_responses(now_ms()) {
        return Err(InviteError::RoundNotAccepting);
    }
    let session_id = random_hex(16);
    write_transaction(conn, |c| {
        let now = now_ms();
        let claimed = diesel::update(
            invite_codes::table
                .find(&code)
                .filter(invite_codes::used_at.is_null())
                .filter(
                    invite_codes::expires_at
                        .is_null()
                        .or(invite_codes::expires_at.gt(now)),
                ),
        )
        .set((
            invite_codes::used_at.eq(now),
            invite_codes::session_id.eq(&session_id),
        ))
        .execute(c)?;
        if claimed != 1 {
            let used = invite_codes::table
                .find(&code)
                .select(invite_codes::used_at)
                .first::<Option<i64>>(c)?;
            return Err(if used.is_some() {
                InviteError::AlreadyUsed
            } else {
                InviteError::Expired
            });
        }
        Ok(sessions::insert_new(
            c,
            &session_id,
            invite.round_id,
            Some(&code),
        )?)
    })
}

/// A session opened with an invite code.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The session: new, or the one the code started before.
    pub session: Session,
    /// Whether the code had started it before (the respondent resumes).
    pub resumed: bool,
}

/// Opens the session of a code: claims it (a new session) or, if it was
/// claimed before and its session is not submitted, gives that session
/// again, so a respondent can come back with the code on another device
/// or after the token ran out. The code's expiry bounds starting only; a
/// started session resumes while its round collects responses. Any number
/// of concurrent opens of one code share one session.
pub fn open(conn: &mut DbConn, code: &str) -> Result<Opened, InviteError> {
    match claim(conn, code) {
        Ok(session) => Ok(Opened {
            session,
            resumed: false,
        }),
        Err(InviteError::AlreadyUsed) => {
            let session_id = get(conn, code)?
                .and_then(|invite| invite.session_id)
                .ok_or(InviteError::NotFound)?;
            let session = sessions::get(conn, &session_id)
                .map_err(|e| match e {
                    sessions::SessionError::Store(e) => InviteError::Store(e),
                    _ => InviteError::NotFound,
                })?
                .ok_or(InviteError::NotFound)?;
            if session.submitted_at.is_some() {
                return Err(InviteError::Submitted);
            }
            Ok(Opened {
                session,
                resumed: true,
            })
        }
        Err(e) => Err(e),
    }
}

/// Number of codes of a round, and how many were used.
pub fn counts(conn: &mut DbConn, round_id: i64) -> Result<(i64, i64), InviteError> {
    let total = invite_codes::table
        .filter(invite_codes::round_id.eq(round_id))
        .count()
        .get_result::<i64>(conn)?;
    let used = invite_codes::table
        .filter(invite_codes::round_id.eq(round_id))
        .filter(invite_codes::used_at.is_not_null())
        .count()
        .get_result::<i64>(conn)?;
    Ok((total, used))
}
