//! Survey rounds: instrument version, rule, margins, dates, status, whether
//! open online participation is allowed, and the version of the round's data.

use diesel::prelude::*;

use crate::error::{is_unique_violation, store_error_conversions};
use crate::schema::{instruments, rounds};
use crate::{DbConn, StoreError, now_ms};

/// Where a round is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundStatus {
    /// Being prepared: no responses accepted.
    Draft,
    /// Collecting responses.
    Open,
    /// Closed: no more responses.
    Closed,
}

impl RoundStatus {
    /// The status as stored.
    pub fn name(self) -> &'static str {
        match self {
            RoundStatus::Draft => "draft",
            RoundStatus::Open => "open",
            RoundStatus::Closed => "closed",
        }
    }

    fn parse(s: &str) -> Result<RoundStatus, StoreError> {
        match s {
            "draft" => Ok(RoundStatus::Draft),
            "open" => Ok(RoundStatus::Open),
            "closed" => Ok(RoundStatus::Closed),
            _ => Err(StoreError::Corrupt(format!("round status {s}"))),
        }
    }
}

/// A stored round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Round {
    /// Id.
    pub id: i64,
    /// Code, e.g. `2026`; unique.
    pub code: String,
    /// The published instrument version answered in this round.
    pub instrument_id: i64,
    /// Qualification rule (JSON).
    pub rule: String,
    /// Population margins (JSON).
    pub margins: String,
    /// When collection opens (unix ms), if set.
    pub opens_at: Option<i64>,
    /// When collection closes (unix ms), if set.
    pub closes_at: Option<i64>,
    /// Status.
    pub status: RoundStatus,
    /// Whether anyone may start an online session without an invite code.
    pub open_online: bool,
    /// Version of the round's responses: bumped by every change to them.
    pub data_version: i64,
    /// When the round was made (unix ms).
    pub created_at: i64,
}

impl Round {
    /// Whether the round accepts responses at `now` (unix ms): open, and
    /// within its dates where they are set.
    pub fn accepts_responses(&self, now: i64) -> bool {
        self.status == RoundStatus::Open
            && self.opens_at.is_none_or(|t| now >= t)
            && self.closes_at.is_none_or(|t| now < t)
    }
}

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = rounds)]
pub(crate) struct RoundRow {
    id: i64,
    code: String,
    instrument_id: i64,
    rule: String,
    margins: String,
    opens_at: Option<i64>,
    closes_at: Option<i64>,
    status: String,
    open_online: bool,
    data_version: i64,
    created_at: i64,
}

impl RoundRow {
    pub(crate) fn into_round(self) -> Result<Round, StoreError> {
        Ok(Round {
            status: RoundStatus::parse(&self.status)?,
            id: self.id,
            code: self.code,
            instrument_id: self.instrument_id,
            rule: self.rule,
            margins: self.margins,
            opens_at: self.opens_at,
            closes_at: self.closes_at,
            open_online: self.open_online,
            data_version: self.data_version,
            created_at: self.created_at,
        })
    }
}

/// What a new round holds.
#[derive(Debug, Clone)]
pub struct NewRound<'a> {
    /// Code, e.g. `2026`.
    pub code: &'a str,
    /// A published instrument version.
    pub instrument_id: i64,
    /// Qualification rule (JSON).
    pub rule: &'a str,
    /// Population margins (JSON).
    pub margins: &'a str,
    /// When collection opens (unix ms).
    pub opens_at: Option<i64>,
    /// When collection closes (unix ms).
    pub closes_at: Option<i64>,
    /// Initial status.
    pub status: RoundStatus,
    /// Whether open online participation is allowed.
    pub open_online: bool,
}

/// Why a round operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RoundError {
    /// Another round has this code.
    #[error("round `{0}` already exists")]
    CodeTaken(String),
    /// No such round.
    #[error("no such round")]
    NotFound,
    /// The instrument does not exist or is still a draft.
    #[error("instrument {0} is not a published version")]
    InstrumentNotPublished(i64),
    /// The storage layer failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
store_error_conversions!(RoundError);

/// Creates a round on a published instrument version.
pub fn create(conn: &mut DbConn, new: &NewRound<'_>) -> Result<Round, RoundError> {
    let published = instruments::table
        .find(new.instrument_id)
        .select(instruments::published_at)
        .first::<Option<i64>>(conn)
        .optional()?
        .flatten();
    if published.is_none() {
        return Err(RoundError::InstrumentNotPublished(new.instrument_id));
    }
    let created_at = now_ms();
    let inserted = diesel::insert_into(rounds::table)
        .values((
            rounds::code.eq(new.code),
            rounds::instrument_id.eq(new.instrument_id),
            rounds::rule.eq(new.rule),
            rounds::margins.eq(new.margins),
            rounds::opens_at.eq(new.opens_at),
            rounds::closes_at.eq(new.closes_at),
            rounds::status.eq(new.status.name()),
            rounds::open_online.eq(new.open_online),
            rounds::data_version.eq(0i64),
            rounds::created_at.eq(created_at),
        ))
        .returning(rounds::id)
        .get_result::<i64>(conn);
    match inserted {
        Ok(id) => Ok(Round {
            id,
            code: new.code.to_owned(),
            instrument_id: new.instrument_id,
            rule: new.rule.to_owned(),
            margins: new.margins.to_owned(),
            opens_at: new.opens_at,
            closes_at: new.closes_at,
            status: new.status,
            open_online: new.open_online,
            data_version: 0,
            created_at,
        }),
        Err(e) if is_unique_violation(&e) => Err(RoundError::CodeTaken(new.code.to_owned())),
        Err(e) => Err(e.into()),
    }
}

/// Finds a round by id.
pub fn get(conn: &mut DbConn, id: i64) -> Result<Option<Round>, RoundError> {
    let row = rounds::table
        .find(id)
        .select(RoundRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(RoundRow::into_round).transpose()?)
}

/// Finds a round by code.
pub fn by_code(conn: &mut DbConn, code: &str) -> Result<Option<Round>, RoundError> {
    let row = rounds::table
        .filter(rounds::code.eq(code))
        .select(RoundRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(RoundRow::into_round).transpose()?)
}

/// Every round, by id.
pub fn list(conn: &mut DbConn) -> Result<Vec<Round>, RoundError> {
    let rows = rounds::table
        .order(rounds::id)
        .select(RoundRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(RoundRow::into_round)
        .collect::<Result<_, _>>()?)
}

/// Sets a round's status.
pub fn set_status(conn: &mut DbConn, id: i64, status: RoundStatus) -> Result<(), RoundError> {
    let n = diesel::update(rounds::table.find(id))
        .set(rounds::status.eq(status.name()))
        .execute(conn)?;
    if n == 1 {
        Ok(())
    } else {
        Err(RoundError::NotFound)
    }
}

/// Allows or forbids open online participation.
pub fn set_open_online(conn: &mut DbConn, id: i64, open_online: bool) -> Result<(), RoundError> {
    let n = diesel::update(rounds::table.find(id))
        .set(rounds::open_online.eq(open_online))
        .execute(conn)?;
    if n == 1 {
        Ok(())
    } else {
        Err(RoundError::NotFound)
    }
}

/// Sets a round's collection dates.
pub fn set_dates(
    conn: &mut DbConn,
    id: i64,
    opens_at: Option<i64>,
    closes_at: Option<i64>,
) -> Result<(), RoundError> {
    let n = diesel::update(rounds::table.find(id))
        .set((
            rounds::opens_at.eq(opens_at),
            rounds::closes_at.eq(closes_at),
        ))
        .execute(conn)?;
    if n == 1 {
        Ok(())
    } else {
        Err(RoundError::NotFound)
    }
}

/// Replaces a round's population margins (JSON); bumps the data version,
/// since estimates depend on the margins.
pub fn set_margins(conn: &mut DbConn, id: i64, margins: &str) -> Result<(), RoundError> {
    let n = diesel::update(rounds::table.find(id))
        .set((
            rounds::margins.eq(margins),
            rounds::data_version.eq(rounds::data_version + 1i64),
        ))
        .execute(conn)?;
    if n == 1 {
        Ok(())
    } else {
        Err(RoundError::NotFound)
    }
}

/// Bits of a data version that count the round's responses.
const COUNT_BITS: u32 = 40;

/// The current version of a round's data; `None` when there is no such
/// round. It is the round's `data_version` column (bumped by batch commits
/// and margin changes) in the high bits and the number of its responses in
/// the low 40: responses are only ever inserted (never updated or deleted),
/// so the count grows with every committed submit, and online submits need
/// not update the round's row (one hot row that every submit of a round
/// queued on under PostgreSQL: bench/RESULTS.md, "The service under load").
pub fn data_version(conn: &mut DbConn, id: i64) -> Result<Option<i64>, StoreError> {
    let column: Option<i64> = rounds::table
        .find(id)
        .select(rounds::data_version)
        .first(conn)
        .optional()?;
    let Some(column) = column else {
        return Ok(None);
    };
    let count: i64 = crate::schema::responses::table
        .filter(crate::schema::responses::round_id.eq(id))
        .count()
        .get_result(conn)?;
    Ok(Some((column << COUNT_BITS) + count))
}

/// Bumps the round's version column; called last in a batch commit and
/// with a margins change (last, so the row lock it takes on PostgreSQL is
/// held as briefly as possible). Online submits do not call it: the
/// response count in [`data_version`] versions them.
pub(crate) fn bump_data_version(conn: &mut DbConn, id: i64) -> Result<(), diesel::result::Error> {
    diesel::update(rounds::table.find(id))
        .set(rounds::data_version.eq(rounds::data_version + 1i64))
        .execute(conn)?;
    Ok(())
}
