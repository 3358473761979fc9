//! Audit records: who did what, when. Batch commits write theirs in the
//! same transaction; other callers record theirs after the write they audit.

use diesel::prelude::*;

use crate::schema::audit_events;
use crate::{DbConn, StoreError, now_ms};

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    /// Id (increasing).
    pub id: i64,
    /// When (unix ms).
    pub at: i64,
    /// Who, e.g. `user:12`; `None` for the system.
    pub actor: Option<String>,
    /// What, e.g. `batch.commit`.
    pub action: String,
    /// On what, e.g. `batch:7`.
    pub target: Option<String>,
    /// Details as JSON (never passwords, tokens or answers).
    pub detail: Option<String>,
}

/// An audit record to write.
#[derive(Debug, Clone, Default)]
pub struct NewAuditEvent<'a> {
    /// Who; `None` for the system.
    pub actor: Option<&'a str>,
    /// What.
    pub action: &'a str,
    /// On what.
    pub target: Option<&'a str>,
    /// Details.
    pub detail: Option<serde_json::Value>,
}

/// Writes an audit record; returns its id.
pub fn record(conn: &mut DbConn, event: &NewAuditEvent<'_>) -> Result<i64, StoreError> {
    let detail = event.detail.as_ref().map(ToString::to_string);
    Ok(diesel::insert_into(audit_events::table)
        .values((
            audit_events::at.eq(now_ms()),
            audit_events::actor.eq(event.actor),
            audit_events::action.eq(event.action),
            audit_events::target.eq(event.target),
            audit_events::detail.eq(detail),
        ))
        .returning(audit_events::id)
        .get_result(conn)?)
}

/// Records that `actor` (`None`: nobody signed in) did `action` to
/// `target`, with details.
pub fn record_action(
    conn: &mut DbConn,
    actor: Option<&str>,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> Result<i64, StoreError> {
    record(
        conn,
        &NewAuditEvent {
            actor,
            action,
            target: Some(target),
            detail: Some(detail),
        },
    )
}

/// The latest `limit` records, newest first.
pub fn recent(conn: &mut DbConn, limit: i64) -> Result<Vec<AuditEvent>, StoreError> {
    Ok(audit_events::table
        .order(audit_events::id.desc())
        .limit(limit)
        .select(AuditEvent::as_select())
        .load(conn)?)
}

/// Every record about one target, oldest first.
pub fn for_target(conn: &mut DbConn, target: &str) -> Result<Vec<AuditEvent>, StoreError> {
    Ok(audit_events::table
        .filter(audit_events::target.eq(target))
        .order(audit_events::id)
        .select(AuditEvent::as_select())
        .load(conn)?)
}

/// The latest record of `action` about `target`, if any.
pub fn latest(
    conn: &mut DbConn,
    target: &str,
    action: &str,
) -> Result<Option<AuditEvent>, StoreError> {
    Ok(audit_events::table
        .filter(audit_events::target.eq(target))
        .filter(audit_events::action.eq(action))
        .order(audit_events::id.desc())
        .select(AuditEvent::as_select())
        .first(conn)
        .optional()?)
}

/// Every record with `action`, oldest first.
pub fn by_action(conn: &mut DbConn, action: &str) -> Result<Vec<AuditEvent>, StoreError> {
    Ok(audit_events::table
        .filter(audit_events::action.eq(action))
        .order(audit_events::id)
        .select(AuditEvent::as_select())
        .load(conn)?)
}
