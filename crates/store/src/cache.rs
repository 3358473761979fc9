//! The estimate cache, shared by every replica: entries are keyed by
//! (round, version of the round's data, query). The version
//! ([`rounds::data_version`]) changes with every committed response and
//! every margins change, so entries made before a change are never served
//! after it.

use diesel::prelude::*;

use crate::error::is_unique_violation;
use crate::rounds;
use crate::schema::estimate_cache;
use crate::{DbConn, StoreError, now_ms};

/// A cached estimate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedEstimate {
    /// The version of the round's data it was computed on (the current one).
    pub data_version: i64,
    /// The estimate as the caller serialized it.
    pub result: String,
}

/// The current version of a round's data; `None` when there is no such round.
/// Read it before computing an estimate, and store the estimate under it.
pub fn data_version(conn: &mut DbConn, round_id: i64) -> Result<Option<i64>, StoreError> {
    rounds::data_version(conn, round_id)
}

/// The cached estimate of `query` for the round's current data, if any.
pub fn get(
    conn: &mut DbConn,
    round_id: i64,
    query: &str,
) -> Result<Option<CachedEstimate>, StoreError> {
    let Some(current) = rounds::data_version(conn, round_id)? else {
        return Ok(None);
    };
    let hit = estimate_cache::table
        .filter(estimate_cache::round_id.eq(round_id))
        .filter(estimate_cache::data_version.eq(current))
        .filter(estimate_cache::query.eq(query))
        .select((estimate_cache::data_version, estimate_cache::result))
        .first::<(i64, String)>(conn)
        .optional()?;
    Ok(hit.map(|(data_version, result)| CachedEstimate {
        data_version,
        result,
    }))
}

/// Stores an estimate computed on version `data_version` of the round's
/// data, and drops entries of older versions. Returns false when an entry
/// was already there (another replica got in first; its result stands).
/// An entry for a version that is no longer current is stored but never served.
pub fn put(
    conn: &mut DbConn,
    round_id: i64,
    data_version: i64,
    query: &str,
    result: &str,
) -> Result<bool, StoreError> {
    let inserted = diesel::insert_into(estimate_cache::table)
        .values((
            estimate_cache::round_id.eq(round_id),
            estimate_cache::data_version.eq(data_version),
            estimate_cache::query.eq(query),
            estimate_cache::result.eq(result),
            estimate_cache::created_at.eq(now_ms()),
        ))
        .execute(conn);
    let stored = match inserted {
        Ok(_) => true,
        Err(e) if is_unique_violation(&e) => false,
        Err(e) => return Err(e.into()),
    };
    diesel::delete(
        estimate_cache::table
            .filter(estimate_cache::round_id.eq(round_id))
            .filter(estimate_cache::data_version.lt(data_version)),
    )
    .execute(conn)?;
    Ok(stored)
}

/// Drops every entry of a round (for example after re-weighting inputs
/// that are not responses, such as margins).
pub fn clear_round(conn: &mut DbConn, round_id: i64) -> Result<usize, StoreError> {
    Ok(
        diesel::delete(estimate_cache::table.filter(estimate_cache::round_id.eq(round_id)))
            .execute(conn)?,
    )
}
