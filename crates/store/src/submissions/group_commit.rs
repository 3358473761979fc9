//! Group commit: one writer thread per store stores every submit queued
//! while it was busy at once, and only then answers each caller (no receipt
//! is given for a response that is not committed).
//!
//! On a SQLite file the group is one transaction with a SAVEPOINT per
//! submit (a unique violation or a closed session undoes that one only).
//! SQLite has one writer at a time: with one transaction per submit the
//! write lock passed from thread to thread for every response, each holder
//! threw its connection's page cache away (another connection had written
//! since) and wrote the same index pages to the WAL again; the writer's
//! cache stays warm, as no other connection of the process writes.
//!
//! On PostgreSQL the group is one statement over arrays
//! (`postgres_group.rs`): one round trip, one transaction and one commit for
//! the whole group instead of one each. One writer makes the largest
//! groups; three writers made groups too small to pay (PostgreSQL's CPU per
//! submit rose from 0.44 to 0.77 ms, `bench/RESULTS.md`).
//!
//! The queue is a convenience of one process, never a source of truth:
//! another replica or a second [`crate::Store`] on the same database simply
//! stores its own groups, and the UNIQUE constraints settle duplicates.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};

use diesel::connection::SimpleConnection;

use super::{Insert, SubmitError};
use crate::conn::{Target, sqlite_writer_turn};
use crate::{DbConn, StoreError};

/// The most submits stored in one group (a bound on how long the first of
/// them waits for the commit).
const MAX_GROUP: usize = 128;

/// One queued insert and where its outcome goes.
struct Job {
    insert: Arc<Insert>,
    reply: SyncSender<Result<i64, SubmitError>>,
}

/// What the writer has done since the store was opened (for `/metrics`:
/// submits / groups is the mean group size).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupCommitCounts {
    /// Groups the writer stored (a transaction on SQLite, a statement on PostgreSQL).
    pub groups: u64,
    /// Submits those transactions held.
    pub submits: u64,
}

#[derive(Debug, Default)]
struct Counters {
    groups: AtomicU64,
    submits: AtomicU64,
}

/// The writer thread of one store, started by the first submit.
#[derive(Debug)]
pub(crate) struct GroupCommit {
    db: Arc<Target>,
    queue: Mutex<Option<Sender<Job>>>,
    counters: Arc<Counters>,
}

impl GroupCommit {
    /// A group committer for `db` (no thread yet).
    pub(crate) fn new(db: Target) -> GroupCommit {
        GroupCommit {
            db: Arc::new(db),
            queue: Mutex::new(None),
            counters: Arc::default(),
        }
    }

    /// The writer's counts so far.
    pub(crate) fn counts(&self) -> GroupCommitCounts {
        GroupCommitCounts {
            groups: self.counters.groups.load(Ordering::Relaxed),
            submits: self.counters.submits.load(Ordering::Relaxed),
        }
    }

    /// Queues `insert`, waits for the commit of its group, and returns the
    /// new response's id (or why this insert was undone).
    pub(super) fn submit(&self, insert: Arc<Insert>) -> Result<i64, SubmitError> {
        let (reply, outcome) = sync_channel(1);
        let mut job = Job { insert, reply };
        // A writer that stopped (it never should) is replaced once.
        for _ in 0..2 {
            let sender = self.sender()?;
            match sender.send(job) {
                Ok(()) => {
                    return outcome.recv().unwrap_or_else(|_| {
                        Err(StoreError::GroupCommit("the writer thread stopped".into()).into())
                    });
                }
                Err(std::sync::mpsc::SendError(back)) => {
                    job = back;
                    *self.queue.lock().unwrap_or_else(PoisonError::into_inner) = None;
                }
            }
        }
        Err(StoreError::GroupCommit("the writer thread cannot start".into()).into())
    }

    /// The writer's queue, starting the writer (and opening its connection) if needed.
    fn sender(&self) -> Result<Sender<Job>, StoreError> {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = queue.as_ref() {
            return Ok(sender.clone());
        }
        let conn = self.db.connect()?;
        let (sender, jobs) = channel();
        let (db, counters) = (Arc::clone(&self.db), Arc::clone(&self.counters));
        std::thread::Builder::new()
            .name("literacy-writer".into())
            .spawn(move || write_groups(conn, &db, &jobs, &counters))
            .map_err(|e| StoreError::GroupCommit(format!("cannot start the writer thread: {e}")))?;
        *queue = Some(sender.clone());
        Ok(sender)
    }
}

/// The writer thread: until the store is dropped (every sender gone), takes
/// what is queued and stores it as one group. After a group that failed,
/// a connection that no longer answers (a restarted server) is replaced.
fn write_groups(mut conn: DbConn, db: &Target, jobs: &Receiver<Job>, counters: &Counters) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let inserts: Vec<&Insert> = group.iter().map(|j| &*j.insert).collect();
        let outcomes = match &mut conn {
            DbConn::Sqlite(_) => commit_group(&mut conn, &inserts),
            DbConn::Postgres(pg) => super::postgres_group::submit_group(pg, &inserts),
        };
        let failed = outcomes
            .iter()
            .any(|o| matches!(o, Err(SubmitError::Store(StoreError::GroupCommit(_)))));
        if failed && conn.batch_execute("SELECT 1").is_err() {
            if let Ok(fresh) = db.connect() {
                conn = fresh;
            }
        }
        counters.groups.fetch_add(1, Ordering::Relaxed);
        counters
            .submits
            .fetch_add(group.len() as u64, Ordering::Relaxed);
        for (job, outcome) in group.into_iter().zip(outcomes) {
            // A caller that went away (its request was cancelled) needs no answer.
            let _ = job.reply.send(outcome);
        }
    }
}

/// Runs `inserts` in one write transaction, each in its own savepoint, and
/// commits; one outcome per insert, in order. If the transaction cannot
/// begin or commit, every insert fails with that reason and nothing is stored.
pub(super) fn commit_group(
    conn: &mut DbConn,
    inserts: &[&Insert],
) -> Vec<Result<i64, SubmitError>> {
    let failed_all = |e: &dyn std::fmt::Display| {
        inserts
            .iter()
            .map(|_| Err(StoreError::GroupCommit(e.to_string()).into()))
            .collect()
    };
    let _turn = sqlite_writer_turn();
    if let Err(e) = conn.batch_execute("BEGIN IMMEDIATE") {
        return failed_all(&e);
    }
    let mut outcomes = Vec::with_capacity(inserts.len());
    for insert in inserts {
        match in_savepoint(conn, insert) {
            Ok(outcome) => outcomes.push(outcome),
            Err(e) => {
                // A savepoint that cannot be released or undone leaves the
                // transaction in doubt: store nothing of the group.
                let _ = conn.batch_execute("ROLLBACK");
                return failed_all(&e);
            }
        }
    }
    if let Err(e) = conn.batch_execute("COMMIT") {
        // SQLite may have rolled back already; make sure, so the connection is clean.
        let _ = conn.batch_execute("ROLLBACK");
        return failed_all(&e);
    }
    outcomes
}

/// [`commit_group`] of one insert, on the caller's connection (an in-memory
/// store has no second connection for a writer thread).
pub(super) fn commit_alone(conn: &mut DbConn, insert: &Insert) -> Result<i64, SubmitError> {
    commit_group(conn, &[insert])
        .pop()
        .unwrap_or_else(|| Err(StoreError::GroupCommit("no outcome".into()).into()))
}

/// One insert inside the group's transaction, undone alone if it fails; the
/// outer error means the savepoint itself failed (the transaction is in doubt).
fn in_savepoint(
    conn: &mut DbConn,
    insert: &Insert,
) -> Result<Result<i64, SubmitError>, diesel::result::Error> {
    conn.batch_execute("SAVEPOINT submit")?;
    let outcome = insert.run(conn);
    if outcome.is_ok() {
        conn.batch_execute("RELEASE submit")?;
    } else {
        conn.batch_execute("ROLLBACK TO submit; RELEASE submit")?;
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;

    use super::commit_group;
    use crate::schema::respondent_sessions;
    use crate::submissions::SubmitError;
    use crate::submissions::test_support::{insert, round, stored};
    use crate::{StoreError, open_and_migrate, sessions};

    #[test]
    fn a_failed_insert_is_undone_alone_and_the_rest_of_its_group_is_stored() {
        let store = open_and_migrate("sqlite::memory:").expect("store");
        let mut conn = store.conn().expect("conn");
        let round = round(&mut conn);
        let first = sessions::start_open(&mut conn, round.id).expect("session");
        let second = sessions::start_open(&mut conn, round.id).expect("session");
        let group = [
            insert(&round, "a", &first.respondent_id, Some(&first.id)),
            // The same submission id again: a unique violation.
            insert(&round, "a", "someone", None),
            // Inserted, then refused by the session (another respondent's):
            // its savepoint must take the inserted row back out.
            insert(&round, "c", "someone-else", Some(&first.id)),
            insert(&round, "d", &second.respondent_id, Some(&second.id)),
        ];
        let outcomes = commit_group(&mut conn, &group.iter().collect::<Vec<_>>());
        assert_eq!(outcomes.len(), 4);
        let (Ok(a), Ok(d)) = (&outcomes[0], &outcomes[3]) else {
            panic!("a and d are stored: {outcomes:?}");
        };
        assert!(
            matches!(&outcomes[1], Err(SubmitError::Store(e)) if e.is_unique_violation()),
            "{:?}",
            outcomes[1]
        );
        assert!(matches!(outcomes[2], Err(SubmitError::SessionClosed)));
        assert_eq!(
            stored(&mut conn),
            vec![(*a, Some("a".to_owned())), (*d, Some("d".to_owned()))]
        );
        let closed: Vec<(String, Option<i64>)> = respondent_sessions::table
            .select((respondent_sessions::id, respondent_sessions::response_id))
            .filter(respondent_sessions::id.eq_any([&first.id, &second.id]))
            .order(respondent_sessions::response_id)
            .load(&mut **conn)
            .expect("sessions");
        assert_eq!(
            closed,
            vec![(first.id.clone(), Some(*a)), (second.id, Some(*d))]
        );
    }

    #[test]
    fn a_group_that_cannot_commit_stores_nothing_and_fails_every_insert() {
        let store = open_and_migrate("sqlite::memory:").expect("store");
        let mut conn = store.conn().expect("conn");
        let round = round(&mut conn);
        let good = insert(&round, "good", "r-1", None);
        // A response of an instrument that does not exist; with foreign keys
        // deferred to the commit, the insert passes and the COMMIT fails.
        let mut orphan = insert(&round, "orphan", "r-2", None);
        orphan.instrument_id = 999_999;
        conn.batch_execute("PRAGMA defer_foreign_keys = ON")
            .expect("defer");
        let outcomes = commit_group(&mut conn, &[&good, &orphan]);
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, Err(SubmitError::Store(StoreError::GroupCommit(_))))),
            "{outcomes:?}"
        );
        assert!(stored(&mut conn).is_empty());
        // The connection is usable again: the next group commits.
        let outcomes = commit_group(&mut conn, &[&good]);
        assert!(matches!(outcomes[..], [Ok(_)]), "{outcomes:?}");
        assert_eq!(stored(&mut conn).len(), 1);
    }
}
