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
//! On PostgreSQL a second thread, the reader, with a connection of its own,
//! reads the sessions submits start from (`sessions::get_with_round_grouped`)
//! the same way: every read queued while it was busy goes in one statement.
//! A statement per read cost PostgreSQL more than the reading itself (a
//! round trip, a portal, an executor start): about 0.15 ms of its 0.5 ms of
//! CPU per submit. The reads have a thread of their own because on the
//! writer's every submit waited for a group's commit twice.
//!
//! The queue is a convenience of one process, never a source of truth:
//! another replica or a second [`crate::Store`] on the same database simply
//! stores its own groups, and the UNIQUE constraints settle duplicates.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SendError, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};

use diesel::connection::SimpleConnection;

use crate::conn::{Target, sqlite_writer_turn};
use crate::sessions::{SessionRows, rows_with_round};
use crate::submissions::{Insert, SubmitError};
use crate::{DbConn, StoreError};

/// The most submits stored in one group, and the most session reads in one
/// statement (a bound on how long the first of them waits).
const MAX_GROUP: usize = 128;

/// One queued insert and where its outcome goes.
struct InsertJob {
    insert: Arc<Insert>,
    reply: SyncSender<Result<i64, SubmitError>>,
}

/// One queued session read and where its rows go.
struct ReadJob {
    session_id: String,
    reply: SyncSender<Result<Option<SessionRows>, StoreError>>,
}

/// What the writer and reader have done since the store was opened (for `/metrics`:
/// submits / groups is the mean group size, reads / read groups the mean
/// number of session reads per statement).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupCommitCounts {
    /// Groups the writer stored (a transaction on SQLite, a statement on PostgreSQL).
    pub groups: u64,
    /// Submits those transactions held.
    pub submits: u64,
    /// Statements that read queued sessions (PostgreSQL).
    pub read_groups: u64,
    /// Session reads those statements answered.
    pub reads: u64,
}

#[derive(Debug, Default)]
struct Counters {
    groups: AtomicU64,
    submits: AtomicU64,
    read_groups: AtomicU64,
    reads: AtomicU64,
}

/// One thread of the store and its queue: started by its first job, with a
/// connection of its own, it runs `handle` on everything queued meanwhile.
struct Worker<J> {
    name: &'static str,
    queue: Mutex<Option<Sender<J>>>,
    /// Runs one batch of jobs and answers them; false if it failed as a whole.
    handle: fn(&mut DbConn, Vec<J>, &Counters) -> bool,
}

impl<J> Worker<J> {
    fn new(name: &'static str, handle: fn(&mut DbConn, Vec<J>, &Counters) -> bool) -> Self {
        Worker {
            name,
            queue: Mutex::new(None),
            handle,
        }
    }
}

impl<J> std::fmt::Debug for Worker<J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("name", &self.name).finish()
    }
}

/// The writer thread of one store (inserts), started by the first submit,
/// and its reader thread (session reads), started by the first grouped read.
#[derive(Debug)]
pub(crate) struct GroupCommit {
    db: Arc<Target>,
    writer: Worker<InsertJob>,
    reader: Worker<ReadJob>,
    counters: Arc<Counters>,
}

impl GroupCommit {
    /// A group committer for `db` (no thread yet).
    pub(crate) fn new(db: Target) -> GroupCommit {
        GroupCommit {
            db: Arc::new(db),
            writer: Worker::new("literacy-writer", insert_group),
            reader: Worker::new("literacy-reader", read_group),
            counters: Arc::default(),
        }
    }

    /// The writer's counts so far.
    pub(crate) fn counts(&self) -> GroupCommitCounts {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        GroupCommitCounts {
            groups: load(&self.counters.groups),
            submits: load(&self.counters.submits),
            read_groups: load(&self.counters.read_groups),
            reads: load(&self.counters.reads),
        }
    }

    /// Queues `insert`, waits for the commit of its group, and returns the
    /// new response's id (or why this insert was undone).
    pub(crate) fn submit(&self, insert: Arc<Insert>) -> Result<i64, SubmitError> {
        let (reply, outcome) = sync_channel(1);
        self.send(&self.writer, InsertJob { insert, reply })?;
        outcome
            .recv()
            .unwrap_or_else(|_| Err(stopped(&self.writer).into()))
    }

    /// Reads a session and its round with the other reads queued meanwhile.
    pub(crate) fn read_session(&self, id: &str) -> Result<Option<SessionRows>, StoreError> {
        let (reply, rows) = sync_channel(1);
        let session_id = id.to_owned();
        self.send(&self.reader, ReadJob { session_id, reply })?;
        rows.recv().unwrap_or_else(|_| Err(stopped(&self.reader)))
    }

    /// Queues `job` for `worker`; a thread that stopped (it never should)
    /// is replaced once.
    fn send<J: Send + 'static>(&self, worker: &Worker<J>, mut job: J) -> Result<(), StoreError> {
        for _ in 0..2 {
            match self.sender(worker)?.send(job) {
                Ok(()) => return Ok(()),
                Err(SendError(back)) => {
                    job = back;
                    *worker.queue.lock().unwrap_or_else(PoisonError::into_inner) = None;
                }
            }
        }
        Err(StoreError::GroupCommit(format!(
            "the {} thread cannot start",
            worker.name
        )))
    }

    /// `worker`'s queue, starting its thread (and opening its connection) if needed.
    fn sender<J: Send + 'static>(&self, worker: &Worker<J>) -> Result<Sender<J>, StoreError> {
        let mut queue = worker.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = queue.as_ref() {
            return Ok(sender.clone());
        }
        let conn = self.db.connect()?;
        let (sender, jobs) = channel();
        let (db, counters) = (Arc::clone(&self.db), Arc::clone(&self.counters));
        let handle = worker.handle;
        std::thread::Builder::new()
            .name(worker.name.into())
            .spawn(move || serve(conn, &db, &jobs, &counters, handle))
            .map_err(|e| {
                StoreError::GroupCommit(format!("cannot start the {} thread: {e}", worker.name))
            })?;
        *queue = Some(sender.clone());
        Ok(sender)
    }
}

/// The error of a caller whose thread went away before answering.
fn stopped<J>(worker: &Worker<J>) -> StoreError {
    StoreError::GroupCommit(format!("the {} thread stopped", worker.name))
}

/// A worker thread: until the store is dropped (every sender gone), takes
/// what is queued (up to [`MAX_GROUP`]) and hands it to `handle` at once.
/// After a batch that failed, a connection that no longer answers (a
/// restarted server) is replaced.
fn serve<J>(
    mut conn: DbConn,
    db: &Target,
    jobs: &Receiver<J>,
    counters: &Counters,
    handle: fn(&mut DbConn, Vec<J>, &Counters) -> bool,
) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if !handle(&mut conn, batch, counters) {
            recover(&mut conn, db);
        }
    }
}

/// Replaces `conn` with a new connection if it no longer answers.
fn recover(conn: &mut DbConn, db: &Target) {
    if conn.batch_execute("SELECT 1").is_err()
        && let Ok(fresh) = db.connect()
    {
        *conn = fresh;
    }
}

/// Answers every read with one statement; false if the statement failed
/// (every reader is told why).
fn read_group(conn: &mut DbConn, reads: Vec<ReadJob>, counters: &Counters) -> bool {
    let ids: Vec<&str> = reads.iter().map(|r| r.session_id.as_str()).collect();
    let found = rows_with_round(conn, &ids);
    counters.read_groups.fetch_add(1, Ordering::Relaxed);
    counters
        .reads
        .fetch_add(reads.len() as u64, Ordering::Relaxed);
    let ok = found.is_ok();
    let mut found = found.map_err(|e| e.to_string());
    for (k, read) in reads.iter().enumerate() {
        let answer = match &mut found {
            Ok(rows) => {
                // The statement returns a session once however often it was
                // asked for: the last read of it takes the row, others a copy.
                let again = reads[k + 1..]
                    .iter()
                    .any(|r| r.session_id == read.session_id);
                Ok(take_row(rows, &read.session_id, again))
            }
            Err(e) => Err(StoreError::GroupCommit(e.clone())),
        };
        // A caller that went away (its request was cancelled) needs no answer.
        let _ = read.reply.send(answer);
    }
    ok
}

/// The row of session `id`: a copy if `again` (another read wants it
/// later), else moved out.
fn take_row(rows: &mut Vec<SessionRows>, id: &str, again: bool) -> Option<SessionRows> {
    let at = rows.iter().position(|(s, _)| s.id == id)?;
    Some(if again {
        rows[at].clone()
    } else {
        rows.swap_remove(at)
    })
}

/// Stores the inserts as one group and answers each caller; false if the
/// group failed as a whole.
fn insert_group(conn: &mut DbConn, group: Vec<InsertJob>, counters: &Counters) -> bool {
    let inserts: Vec<&Insert> = group.iter().map(|j| &*j.insert).collect();
    let outcomes = match conn {
        DbConn::Sqlite(_) => commit_group(conn, &inserts),
        DbConn::Postgres(pg) => crate::submissions::postgres_group::submit_group(pg, &inserts),
    };
    let failed = outcomes
        .iter()
        .any(|o| matches!(o, Err(SubmitError::Store(StoreError::GroupCommit(_)))));
    counters.groups.fetch_add(1, Ordering::Relaxed);
    counters
        .submits
        .fetch_add(group.len() as u64, Ordering::Relaxed);
    for (job, outcome) in group.into_iter().zip(outcomes) {
        // A caller that went away (its request was cancelled) needs no answer.
        let _ = job.reply.send(outcome);
    }
    !failed
}

/// Runs `inserts` in one write transaction, each in its own savepoint, and
/// commits; one outcome per insert, in order. If the transaction cannot
/// begin or commit, every insert fails with that reason and nothing is stored.
pub(crate) fn commit_group(
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
pub(crate) fn commit_alone(conn: &mut DbConn, insert: &Insert) -> Result<i64, SubmitError> {
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
    use crate::submissions::test_support::{PgScratch, insert, round, stored};
    use crate::{StoreError, open_and_migrate, sessions};

    #[test]
    fn grouped_reads_give_each_caller_its_own_session_on_postgres() {
        let db = PgScratch::new("reads");
        let store = db.store();
        let mut conn = store.conn().expect("conn");
        let round = round(&mut conn);
        let started: Vec<_> = (0..4)
            .map(|_| sessions::start_open(&mut conn, round.id).expect("session"))
            .collect();
        // One session saved before, so the rows differ beyond their ids.
        let mut save = sessions::SessionSave::default();
        save.answers.insert("A1".into(), Some("2".into()));
        sessions::save(&mut conn, &started[1].id, &save).expect("save");
        // Reads from many threads at once, the same session asked twice
        // and one that does not exist: each caller gets what a read on its
        // own connection gives.
        let mut ids: Vec<String> = started.iter().map(|s| s.id.clone()).collect();
        ids.extend([started[0].id.clone(), "no-such-session".into()]);
        let counts = store.group_commit_counts().expect("counts");
        std::thread::scope(|scope| {
            let reads: Vec<_> = ids
                .iter()
                .map(|id| {
                    scope.spawn(move || {
                        let mut conn = store.conn().expect("conn");
                        let grouped = sessions::get_with_round_grouped(store, &mut conn, id)
                            .expect("grouped read");
                        let alone = sessions::get_with_round(&mut conn, id).expect("read");
                        (grouped, alone)
                    })
                })
                .collect();
            for (id, read) in ids.iter().zip(reads) {
                let (grouped, alone) = read.join().expect("reader");
                assert_eq!(grouped, alone, "{id}");
                assert_eq!(grouped.is_some(), id != "no-such-session", "{id}");
            }
        });
        // The same session twice in one statement: both readers get it.
        let counters = super::Counters::default();
        let (jobs, answers): (Vec<_>, Vec<_>) = [&started[2].id, &started[2].id, "nope"]
            .into_iter()
            .map(|id| {
                let (reply, answer) = std::sync::mpsc::sync_channel(1);
                let session_id = id.to_owned();
                (super::ReadJob { session_id, reply }, answer)
            })
            .unzip();
        assert!(super::read_group(&mut conn, jobs, &counters));
        let found: Vec<Option<String>> = answers
            .iter()
            .map(|a| a.recv().expect("answer").expect("read").map(|(s, _)| s.id))
            .collect();
        let twice = Some(started[2].id.clone());
        assert_eq!(found, vec![twice.clone(), twice, None]);
        let after = store.group_commit_counts().expect("counts");
        assert_eq!(after.reads - counts.reads, ids.len() as u64);
        assert!(after.read_groups > counts.read_groups);
        // What was read is the session as saved.
        let (saved, _) = sessions::get_with_round_grouped(store, &mut conn, &started[1].id)
            .expect("read")
            .expect("found");
        assert_eq!(saved.answers.get("A1").map(String::as_str), Some("2"));
        assert_eq!(saved.revision, 1);
    }

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
