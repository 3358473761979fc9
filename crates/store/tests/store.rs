//! The store's behaviour, the same test functions on SQLite and PostgreSQL.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};

use common::{TestDb, answers, open_round};
use diesel::{Connection, ExpressionMethods, QueryDsl, RunQueryDsl};
use literacy_core::Instrument;
use literacy_store::batches::{self, BatchOutcome, BatchRow, DuplicateOf, NewBatch};
use literacy_store::invites::{self, InviteError};
use literacy_store::schema::{batches as batches_t, respondent_sessions, responses};
use literacy_store::sessions::{self, SessionError, SessionSave};
use literacy_store::submissions::{self, Mode, NewSubmission, SubmitError, SubmitOutcome};
use literacy_store::users::{self, Role, UserError};
use literacy_store::{
    DbConn, StoreError, audit, cache, instruments, load, open_and_migrate, rounds,
};

on_both_backends!(
    migrations_apply_twice_and_down_up,
    users_create_verify_and_reject_wrong_passwords,
    published_instruments_never_change,
    submit_is_idempotent,
    concurrent_duplicate_submits_store_one_row,
    session_submits_close_the_session_once,
    invite_code_starts_one_session_under_concurrency,
    batch_commit_reports_duplicates_and_never_overwrites,
    batch_commit_is_atomic,
    concurrent_batch_commits_store_each_respondent_once,
    a_submit_racing_a_batch_commit_is_reported_not_overwritten,
    partial_answers_are_merged,
    cache_is_invalidated_when_round_data_change,
    load_streams_a_round_in_id_order_into_the_matrix,
);

fn count_responses(conn: &mut DbConn, round_id: i64) -> i64 {
    responses::table
        .filter(responses::round_id.eq(round_id))
        .count()
        .get_result(conn)
        .expect("count")
}

fn migrations_apply_twice_and_down_up(db: &TestDb) {
    let store = db.store();
    // The fixture migrated already: nothing is pending, however often asked.
    assert!(store.migrate().expect("again").is_empty());
    assert!(
        open_and_migrate(&db.url)
            .expect("reopen")
            .migrate()
            .expect("third")
            .is_empty()
    );
    // Down and up again.
    let reverted = store.revert_all_migrations().expect("down");
    assert_eq!(reverted.len(), 2);
    let applied = store.migrate().expect("up");
    assert_eq!(applied.len(), 2);
    assert!(store.migrate().expect("idempotent").is_empty());
    // The schema works after down/up.
    let mut conn = db.conn();
    open_round(&mut conn, "2026", true);
    // Foreign keys are enforced on every connection (SQLite needs the pragma).
    let orphan = diesel::sql_query(
        "INSERT INTO invite_codes (code, round_id, created_at) VALUES ('ORPHAN', 999999, 0)",
    )
    .execute(&mut **conn);
    assert!(orphan.is_err(), "foreign keys must be on");
    // SQLite files run in WAL mode.
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        assert!(std::path::Path::new(&format!("{path}-wal")).exists());
    }
    // PostgreSQL leaves room for in-place (HOT) updates of sessions.
    if db.url.starts_with("postgres") {
        #[derive(diesel::QueryableByName)]
        struct Options {
            #[diesel(sql_type = diesel::sql_types::Text)]
            options: String,
        }
        let found: Options = diesel::sql_query(
            "SELECT coalesce(array_to_string(reloptions, ','), '') AS options \
             FROM pg_class WHERE relname = 'respondent_sessions'",
        )
        .get_result(&mut **conn)
        .expect("reloptions");
        assert_eq!(found.options, "fillfactor=70");
    }
}

fn users_create_verify_and_reject_wrong_passwords(db: &TestDb) {
    let mut conn = db.conn();
    let admin = users::create(&mut conn, "admin", "correct horse", Role::Admin).expect("admin");
    let uploader = users::create(
        &mut conn,
        "gd",
        "battery staple",
        Role::Uploader { province: 44 },
    )
    .expect("uploader");
    assert_eq!(uploader.role, Role::Uploader { province: 44 });

    let ok = users::verify(&mut conn, "admin", "correct horse").expect("verify");
    assert_eq!(ok.as_ref().map(|u| u.id), Some(admin.id));
    assert_eq!(
        users::verify(&mut conn, "admin", "wrong horse").expect("verify"),
        None
    );
    assert_eq!(
        users::verify(&mut conn, "nobody", "correct horse").expect("verify"),
        None
    );
    let gd = users::verify(&mut conn, "gd", "battery staple").expect("verify");
    assert_eq!(gd.map(|u| u.role), Some(Role::Uploader { province: 44 }));

    assert!(matches!(
        users::create(&mut conn, "admin", "another password", Role::Statistician),
        Err(UserError::UsernameTaken(_))
    ));
    assert!(matches!(
        users::create(&mut conn, "short", "1234", Role::Statistician),
        Err(UserError::Invalid(_))
    ));

    // Stored hashes are argon2id, never the password.
    let hash: String = literacy_store::schema::users::table
        .filter(literacy_store::schema::users::id.eq(admin.id))
        .select(literacy_store::schema::users::password_hash)
        .first(&mut **conn)
        .expect("hash");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("correct horse"));

    // A disabled account cannot sign in; a new password replaces the old one.
    assert!(users::set_disabled(&mut conn, admin.id, true).expect("disable"));
    assert_eq!(
        users::verify(&mut conn, "admin", "correct horse").expect("verify"),
        None
    );
    assert!(users::set_disabled(&mut conn, admin.id, false).expect("enable"));
    assert!(users::set_password(&mut conn, admin.id, "new password!").expect("set"));
    assert_eq!(
        users::verify(&mut conn, "admin", "correct horse").expect("verify"),
        None
    );
    assert!(
        users::verify(&mut conn, "admin", "new password!")
            .expect("verify")
            .is_some()
    );
    assert_eq!(users::list(&mut conn).expect("list").len(), 2);
}

fn published_instruments_never_change(db: &TestDb) {
    let mut conn = db.conn();
    let draft = instruments::create_draft(&mut conn, "csl-test", "1", "{}").expect("draft");
    instruments::update_draft(&mut conn, draft.id, r#"{"v":2}"#).expect("drafts change");
    // A round needs a published version.
    let refused = rounds::create(
        &mut conn,
        &rounds::NewRound {
            code: "x",
            instrument_id: draft.id,
            rule: "{}",
            margins: "{}",
            opens_at: None,
            closes_at: None,
            status: rounds::RoundStatus::Draft,
            open_online: false,
        },
    );
    assert!(matches!(
        refused,
        Err(rounds::RoundError::InstrumentNotPublished(_))
    ));

    let published = instruments::publish(&mut conn, draft.id).expect("publish");
    assert!(published.is_published());
    // Publishing again changes nothing.
    let again = instruments::publish(&mut conn, draft.id).expect("publish again");
    assert_eq!(again.published_at, published.published_at);
    assert!(matches!(
        instruments::update_draft(&mut conn, draft.id, "{}"),
        Err(instruments::InstrumentStoreError::Published(_))
    ));
    assert!(matches!(
        instruments::delete_draft(&mut conn, draft.id),
        Err(instruments::InstrumentStoreError::Published(_))
    ));
    // The database refuses too, whatever the SQL.
    let raw = diesel::sql_query(format!(
        "UPDATE instruments SET definition = 'tampered' WHERE id = {}",
        draft.id
    ))
    .execute(&mut **conn);
    assert!(raw.is_err(), "trigger must refuse");
    let stored = instruments::get(&mut conn, draft.id)
        .expect("get")
        .expect("exists");
    assert_eq!(stored.definition, r#"{"v":2}"#);
    assert!(matches!(
        instruments::create_draft(&mut conn, "csl-test", "1", "{}"),
        Err(instruments::InstrumentStoreError::Exists { .. })
    ));
}

fn submission<'a>(
    submission_id: &'a str,
    round_id: i64,
    respondent_id: &'a str,
    answers: &'a BTreeMap<String, String>,
    empty: &'a BTreeMap<String, String>,
    paradata: &'a BTreeMap<String, i64>,
) -> NewSubmission<'a> {
    NewSubmission {
        submission_id,
        round_id,
        respondent_id,
        province: 11,
        mode: Mode::Online,
        answers,
        demographics: empty,
        paradata,
        started_at: Some(1_700_000_000_000),
        session_id: None,
    }
}

fn submit_is_idempotent(db: &TestDb) {
    let mut conn = db.conn();
    let round = open_round(&mut conn, "2026", true);
    let a = answers(&[("K01", "1"), ("K02", "2")]);
    let b = answers(&[("K01", "1"), ("K02", "3")]);
    let empty = BTreeMap::new();
    let paradata = BTreeMap::from([("p1".to_owned(), 1200i64)]);
    let first = submission("sub-1", round.id, "r-1", &a, &empty, &paradata);

    let created = match submissions::submit(db.store(), &mut conn, &first).expect("submit") {
        SubmitOutcome::Created(r) => r,
        other => panic!("expected Created, got {other:?}"),
    };
    let version = rounds::data_version(&mut conn, round.id)
        .expect("v")
        .expect("round");
    assert_eq!(version, 1);

    // Same body again: the same receipt, nothing new.
    assert_eq!(
        submissions::submit(db.store(), &mut conn, &first).expect("replay"),
        SubmitOutcome::Replayed(created.clone())
    );
    // Different body under the same id: conflict, nothing changed.
    let changed = submission("sub-1", round.id, "r-1", &b, &empty, &paradata);
    assert_eq!(
        submissions::submit(db.store(), &mut conn, &changed).expect("conflict"),
        SubmitOutcome::Conflict {
            submission_id: "sub-1".into()
        }
    );
    // The same respondent under another submission id is refused.
    let again = submission("sub-2", round.id, "r-1", &b, &empty, &paradata);
    assert!(matches!(
        submissions::submit(db.store(), &mut conn, &again),
        Err(SubmitError::RespondentExists { .. })
    ));
    assert_eq!(count_responses(&mut conn, round.id), 1);
    assert_eq!(
        rounds::data_version(&mut conn, round.id).expect("v"),
        Some(1)
    );
    let stored: String = responses::table
        .filter(responses::id.eq(created.response_id))
        .select(responses::answers)
        .first(&mut **conn)
        .expect("answers");
    assert_eq!(stored, r#"{"K01":"1","K02":"2"}"#);
    assert_eq!(
        submissions::receipt(&mut conn, "sub-1").expect("receipt"),
        Some(created)
    );

    // A closed round takes no new submissions, but still answers retries.
    rounds::set_status(&mut conn, round.id, rounds::RoundStatus::Closed).expect("close");
    assert!(matches!(
        submissions::submit(
            db.store(),
            &mut conn,
            &submission("sub-3", round.id, "r-3", &a, &empty, &paradata)
        ),
        Err(SubmitError::RoundNotAccepting)
    ));
    assert!(matches!(
        submissions::submit(db.store(), &mut conn, &first).expect("replay after close"),
        SubmitOutcome::Replayed(_)
    ));
}

fn concurrent_duplicate_submits_store_one_row(db: &TestDb) {
    let round = open_round(&mut db.conn(), "2026", true);
    const THREADS: usize = 12;
    let barrier = Arc::new(Barrier::new(THREADS));
    let outcomes: Vec<SubmitOutcome> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                let store = db.store().clone();
                s.spawn(move || {
                    let mut conn = store.conn().expect("conn");
                    let a = answers(&[("K01", "1")]);
                    let empty = BTreeMap::new();
                    let paradata = BTreeMap::new();
                    let new = submission("dup", round.id, "r-dup", &a, &empty, &paradata);
                    barrier.wait();
                    submissions::submit(&store, &mut conn, &new).expect("submit")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let created: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            SubmitOutcome::Created(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(created.len(), 1, "{outcomes:?}");
    for outcome in &outcomes {
        match outcome {
            SubmitOutcome::Created(r) | SubmitOutcome::Replayed(r) => assert_eq!(r, &created[0]),
            SubmitOutcome::Conflict { .. } => panic!("no conflict expected"),
        }
    }
    assert_eq!(count_responses(&mut db.conn(), round.id), 1);
}

/// Submits that close a respondent session (one statement on PostgreSQL,
/// a transaction on SQLite): stored once, replays answered, a closed or
/// mismatched session stores nothing, and of concurrent submits of one
/// session under different submission ids exactly one is stored.
fn session_submits_close_the_session_once(db: &TestDb) {
    let mut conn = db.conn();
    let round = open_round(&mut conn, "2026", true);
    let a = answers(&[("K01", "1"), ("K02", "2")]);
    let b = answers(&[("K01", "2")]);
    let demo = answers(&[("sex", "1")]);
    let paradata = BTreeMap::from([("p1".to_owned(), 900i64)]);
    let session = sessions::start_open(&mut conn, round.id).expect("start");
    // A submission: (submission id, respondent, answers, session).
    let new = |submission_id: &str,
               respondent_id: &str,
               answers: &BTreeMap<String, String>,
               session_id: &str|
     -> (String, String, BTreeMap<String, String>, String) {
        (
            submission_id.to_owned(),
            respondent_id.to_owned(),
            answers.clone(),
            session_id.to_owned(),
        )
    };
    let submit =
        |conn: &mut DbConn,
         (sub, resp, ans, sid): &(String, String, BTreeMap<String, String>, String)| {
            submissions::submit(
                db.store(),
                conn,
                &NewSubmission {
                    submission_id: sub,
                    round_id: round.id,
                    respondent_id: resp,
                    province: 11,
                    mode: Mode::Online,
                    answers: ans,
                    demographics: &demo,
                    paradata: &paradata,
                    started_at: Some(session.created_at),
                    session_id: Some(sid),
                },
            )
        };

    // Another respondent's id on this session: nothing stored.
    let wrong = new("s-0", "someone-else", &a, &session.id);
    assert!(matches!(
        submit(&mut conn, &wrong),
        Err(SubmitError::SessionClosed)
    ));
    assert_eq!(count_responses(&mut conn, round.id), 0);

    let first = new("s-1", &session.respondent_id, &a, &session.id);
    let created = match submit(&mut conn, &first).expect("submit") {
        SubmitOutcome::Created(r) => r,
        other => panic!("expected Created, got {other:?}"),
    };
    let closed = sessions::get(&mut conn, &session.id)
        .expect("get")
        .expect("session");
    assert_eq!(closed.response_id, Some(created.response_id));
    assert_eq!(closed.submitted_at, Some(created.received_at));
    let stored: (String, String, String, Option<i64>) = responses::table
        .filter(responses::id.eq(created.response_id))
        .select((
            responses::answers,
            responses::demographics,
            responses::paradata,
            responses::started_at,
        ))
        .first(&mut **conn)
        .expect("stored");
    assert_eq!(
        stored,
        (
            r#"{"K01":"1","K02":"2"}"#.to_owned(),
            r#"{"sex":"1"}"#.to_owned(),
            r#"{"p1":900}"#.to_owned(),
            Some(session.created_at)
        )
    );

    // The same submission again: the same receipt; another body under the
    // same id: a conflict; another id on the closed session: refused.
    assert_eq!(
        submit(&mut conn, &first).expect("replay"),
        SubmitOutcome::Replayed(created.clone())
    );
    assert_eq!(
        submit(
            &mut conn,
            &new("s-1", &session.respondent_id, &b, &session.id)
        )
        .expect("conflict"),
        SubmitOutcome::Conflict {
            submission_id: "s-1".into()
        }
    );
    assert!(matches!(
        submit(
            &mut conn,
            &new("s-2", &session.respondent_id, &b, &session.id)
        ),
        Err(SubmitError::RespondentExists { .. } | SubmitError::SessionClosed)
    ));
    assert_eq!(count_responses(&mut conn, round.id), 1);

    // Eight concurrent submits of one fresh session, each under its own id
    // (each thread holds a pooled connection at the barrier: fewer than the
    // test pool's twelve, one of which this test holds).
    let fresh = sessions::start_open(&mut conn, round.id).expect("start");
    const THREADS: usize = 8;
    const IDS: [&str; THREADS] = ["c-0", "c-1", "c-2", "c-3", "c-4", "c-5", "c-6", "c-7"];
    let barrier = Arc::new(Barrier::new(THREADS));
    let outcomes: Vec<Result<SubmitOutcome, SubmitError>> = std::thread::scope(|s| {
        let handles: Vec<_> = IDS
            .iter()
            .map(|id| {
                let barrier = Arc::clone(&barrier);
                let store = db.store().clone();
                let one = new(id, &fresh.respondent_id, &a, &fresh.id);
                let submit = &submit;
                s.spawn(move || {
                    let mut conn = store.conn().expect("conn");
                    barrier.wait();
                    submit(&mut conn, &one)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let created = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(SubmitOutcome::Created(_))))
        .count();
    assert_eq!(created, 1, "{outcomes:?}");
    assert!(
        outcomes.iter().all(|o| matches!(
            o,
            Ok(SubmitOutcome::Created(_))
                | Err(SubmitError::SessionClosed | SubmitError::RespondentExists { .. })
        )),
        "{outcomes:?}"
    );
    assert_eq!(count_responses(&mut conn, round.id), 2);
}

fn invite_code_starts_one_session_under_concurrency(db: &TestDb) {
    let round = open_round(&mut db.conn(), "2026", false);
    let codes = invites::create_codes(&mut db.conn(), round.id, 50, Some(11), None).expect("codes");
    assert_eq!(codes.len(), 50);
    assert!(codes.iter().all(|c| c.len() == invites::CODE_LEN));
    let code = codes[0].clone();

    const THREADS: usize = 12;
    let barrier = Arc::new(Barrier::new(THREADS));
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                let store = db.store().clone();
                let code = code.clone();
                s.spawn(move || {
                    let mut conn = store.conn().expect("conn");
                    barrier.wait();
                    invites::claim(&mut conn, &code)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let won: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(won.len(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .filter(|r| r.is_err())
            .all(|r| matches!(r, Err(InviteError::AlreadyUsed)))
    );
    let mut conn = db.conn();
    let sessions_started: i64 = respondent_sessions::table
        .filter(respondent_sessions::invite_code.eq(&code))
        .count()
        .get_result(&mut **conn)
        .expect("count");
    assert_eq!(sessions_started, 1);
    let invite = invites::get(&mut conn, &code)
        .expect("get")
        .expect("exists");
    assert_eq!(invite.session_id.as_deref(), Some(won[0].id.as_str()));

    // Typed loosely: lower case and dashes are accepted.
    let loose = format!("{}-{}", &codes[1][..5], &codes[1][5..]).to_lowercase();
    assert!(invites::claim(&mut conn, &loose).is_ok());
    assert!(matches!(
        invites::claim(&mut conn, "NOSUCHCODE"),
        Err(InviteError::NotFound)
    ));
    let expired = invites::create_codes(&mut conn, round.id, 1, None, Some(1)).expect("expired");
    assert!(matches!(
        invites::claim(&mut conn, &expired[0]),
        Err(InviteError::Expired)
    ));
    // Without a code this round takes no one.
    assert!(matches!(
        sessions::start_open(&mut conn, round.id),
        Err(SessionError::InviteRequired)
    ));
    // Opened again, a claimed code gives its session back until submitted.
    let again = invites::open(&mut conn, &code).expect("open");
    assert!(again.resumed);
    assert_eq!(again.session.id, won[0].id);
    let fresh = invites::open(&mut conn, &codes[2]).expect("open");
    assert!(!fresh.resumed);
    let (a, empty, paradata) = (answers(&[("K01", "1")]), BTreeMap::new(), BTreeMap::new());
    let mut submit = submission(
        "sub-open",
        round.id,
        &again.session.respondent_id,
        &a,
        &empty,
        &paradata,
    );
    submit.session_id = Some(&again.session.id);
    assert!(matches!(
        submissions::submit(db.store(), &mut conn, &submit),
        Ok(SubmitOutcome::Created(_))
    ));
    assert!(matches!(
        invites::open(&mut conn, &code),
        Err(InviteError::Submitted)
    ));
    assert!(matches!(
        invites::open(&mut conn, &expired[0]),
        Err(InviteError::Expired)
    ));
    assert_eq!(
        invites::counts(&mut conn, round.id).expect("counts"),
        (51, 3)
    );
}

fn paper_rows(ids: impl IntoIterator<Item = String>, answer: &str) -> Vec<BatchRow> {
    ids.into_iter()
        .enumerate()
        .map(|(i, respondent_id)| {
            BatchRow::new(
                i as u64 + 2,
                respondent_id,
                &answers(&[("K01", answer), ("K02", "2")]),
                &answers(&[("sex", "1")]),
                None,
            )
            .expect("row")
        })
        .collect()
}

fn batch<'a>(round_id: i64, hash: &'a str, rows: &'a [BatchRow]) -> NewBatch<'a> {
    NewBatch {
        round_id,
        province: 44,
        uploader_id: None,
        file_name: "gd.csv",
        file_hash: hash,
        mode: Mode::Paper,
        rows_rejected: 3,
        rows,
    }
}

/// A response stored by another transaction after the commit's look-up of
/// stored respondents (its insert, or PostgreSQL's COPY, then fails on the
/// UNIQUE constraint): the commit rolls back, retries on the same
/// connection, reports that respondent as stored and commits the others.
fn a_submit_racing_a_batch_commit_is_reported_not_overwritten(db: &TestDb) {
    let round = open_round(&mut db.conn(), "2026", true);
    let rows = paper_rows((0..300).map(|i| format!("race-{i:03}")), "1");
    let is_postgres = db.url.starts_with("postgres");
    let racer = db.store().clone();
    let committer = db.store().clone();
    let outcome = std::thread::scope(|s| {
        let mut racing = racer.conn().expect("conn");
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let commit = s.spawn(move || {
            // Waits for the racer's insert to be in place (uncommitted).
            started_rx.recv().expect("racer started");
            let mut conn = committer.conn().expect("conn");
            batches::commit(&mut conn, &batch(round.id, "race", &rows))
        });
        racing
            .transaction::<_, diesel::result::Error, _>(|c| {
                diesel::insert_into(responses::table)
                    .values((
                        responses::round_id.eq(round.id),
                        responses::respondent_id.eq("race-150"),
                        responses::province.eq(44),
                        responses::mode.eq("online"),
                        responses::instrument_id.eq(round.instrument_id),
                        responses::answers.eq("{}"),
                        responses::demographics.eq("{}"),
                        responses::paradata.eq("{}"),
                        responses::submission_id.eq("racer"),
                        responses::submitted_at.eq(1_i64),
                        responses::created_at.eq(1_i64),
                    ))
                    .execute(c)?;
                started_tx.send(()).expect("send");
                if is_postgres {
                    // Until the commit's COPY waits on this row's index entry.
                    let mut watcher = db.store().conn().expect("conn");
                    let waiting = std::time::Instant::now();
                    loop {
                        let n: i64 = diesel::sql_query(
                            "SELECT count(*) AS n FROM pg_stat_activity \
                             WHERE wait_event_type = 'Lock' AND query LIKE 'COPY%'",
                        )
                        .get_result::<Count>(&mut **watcher)
                        .expect("activity")
                        .n;
                        if n > 0 {
                            break;
                        }
                        assert!(
                            waiting.elapsed() < std::time::Duration::from_secs(30),
                            "the commit never reached its COPY"
                        );
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                } else {
                    // SQLite: the commit waits for the write lock meanwhile.
                    std::thread::sleep(std::time::Duration::from_millis(300));
                }
                Ok(())
            })
            .expect("racer commits");
        commit.join().expect("thread")
    })
    .expect("commit");
    let BatchOutcome::Committed(receipt) = outcome else {
        panic!("expected a commit, got {outcome:?}");
    };
    assert_eq!(receipt.accepted, 299);
    assert_eq!(receipt.duplicates.len(), 1);
    assert_eq!(receipt.duplicates[0].respondent_id, "race-150");
    assert!(matches!(
        receipt.duplicates[0].duplicate_of,
        DuplicateOf::Stored { batch_id: None, .. }
    ));
    let mut conn = db.conn();
    assert_eq!(count_responses(&mut conn, round.id), 300);
    let racer_row: String = responses::table
        .filter(responses::respondent_id.eq("race-150"))
        .select(responses::mode)
        .first(&mut **conn)
        .expect("racer's row");
    assert_eq!(racer_row, "online");
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn batch_commit_reports_duplicates_and_never_overwrites(db: &TestDb) {
    let mut conn = db.conn();
    let round = open_round(&mut conn, "2026", true);
    let rows = paper_rows((0..1200).map(|i| format!("gd-{i:05}")), "1");
    let first = match batches::commit(&mut conn, &batch(round.id, "hash-a", &rows)).expect("commit")
    {
        BatchOutcome::Committed(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(first.accepted, 1200);
    assert!(first.duplicates.is_empty());
    assert_eq!(count_responses(&mut conn, round.id), 1200);
    let version = rounds::data_version(&mut conn, round.id).expect("v");

    // The same file again: the earlier batch, nothing changed.
    assert_eq!(
        batches::commit(&mut conn, &batch(round.id, "hash-a", &rows)).expect("again"),
        BatchOutcome::DuplicateOf {
            batch_id: first.batch_id
        }
    );
    assert_eq!(count_responses(&mut conn, round.id), 1200);
    assert_eq!(
        rounds::data_version(&mut conn, round.id).expect("v"),
        version
    );

    // A corrected file: 2 stored respondents (with other answers), 2 new,
    // and one new respondent keyed twice.
    let ids = ["gd-00005", "gd-01000", "gd-new-1", "gd-new-2", "gd-new-1"];
    let second_rows = paper_rows(ids.iter().map(|s| (*s).to_owned()), "2");
    // Committed with the caller's report, stored in the same transaction
    // from the receipt it is given.
    let second = match batches::commit_with_report(
        &mut conn,
        &batch(round.id, "hash-b", &second_rows),
        |receipt| {
            Some(serde_json::json!({
                "batch": receipt.batch_id,
                "duplicates": receipt.duplicates.len(),
            }))
        },
    )
    .expect("commit")
    {
        BatchOutcome::Committed(r) => r,
        other => panic!("{other:?}"),
    };
    let report = audit::latest(
        &mut conn,
        &format!("batch:{}", second.batch_id),
        "batch.report",
    )
    .expect("audit")
    .and_then(|e| e.detail)
    .expect("a report");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&report).expect("JSON"),
        serde_json::json!({"batch": second.batch_id, "duplicates": 3})
    );
    assert!(
        audit::latest(
            &mut conn,
            &format!("batch:{}", first.batch_id),
            "batch.report"
        )
        .expect("audit")
        .is_none(),
        "commit without a report records none"
    );
    assert_eq!(second.accepted, 2);
    assert_eq!(second.duplicates.len(), 3);
    assert_eq!(second.duplicates[0].respondent_id, "gd-00005");
    assert!(matches!(
        second.duplicates[0].duplicate_of,
        DuplicateOf::Stored { batch_id: Some(b), .. } if b == first.batch_id
    ));
    assert_eq!(
        second.duplicates[2].duplicate_of,
        DuplicateOf::EarlierLine(4)
    );
    // Never overwritten: the stored answers are the first batch's.
    let kept: String = responses::table
        .filter(responses::respondent_id.eq("gd-00005"))
        .select(responses::answers)
        .first(&mut **conn)
        .expect("kept");
    assert!(kept.contains(r#""K01":"1""#), "{kept}");
    assert_eq!(count_responses(&mut conn, round.id), 1202);

    let stored = batches::get(&mut conn, second.batch_id)
        .expect("get")
        .expect("batch");
    assert_eq!(
        (
            stored.rows_total,
            stored.rows_accepted,
            stored.rows_duplicate,
            stored.rows_rejected
        ),
        (8, 2, 3, 3)
    );
    assert_eq!(batches::list(&mut conn, round.id).expect("list").len(), 2);
    let audit = audit::for_target(&mut conn, &format!("batch:{}", second.batch_id)).expect("audit");
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions.len(), 2);
    assert!(actions.contains(&"batch.commit") && actions.contains(&"batch.report"));
}

fn batch_commit_is_atomic(db: &TestDb) {
    let mut conn = db.conn();
    let round = open_round(&mut conn, "2026", true);
    // Row 900 breaks a database constraint after the first 500-row insert
    // of the transaction went through.
    let mut rows = paper_rows((0..1200).map(|i| format!("gd-{i:05}")), "1");
    rows[900].respondent_id = "x".repeat(65);
    let result = batches::commit(&mut conn, &batch(round.id, "hash-bad", &rows));
    assert!(
        matches!(
            result,
            Err(batches::BatchError::Store(StoreError::Database(_)))
        ),
        "{result:?}"
    );
    assert_eq!(count_responses(&mut conn, round.id), 0);
    let n_batches: i64 = batches_t::table
        .count()
        .get_result(&mut **conn)
        .expect("count");
    assert_eq!(n_batches, 0);
    assert_eq!(
        rounds::data_version(&mut conn, round.id).expect("v"),
        Some(0)
    );
    assert!(audit::recent(&mut conn, 10).expect("audit").is_empty());
    // The connection is usable and the corrected file commits.
    rows[900].respondent_id = "gd-00900".into();
    assert!(matches!(
        batches::commit(&mut conn, &batch(round.id, "hash-bad", &rows)).expect("commit"),
        BatchOutcome::Committed(r) if r.accepted == 1200
    ));
}

fn concurrent_batch_commits_store_each_respondent_once(db: &TestDb) {
    let round = open_round(&mut db.conn(), "2026", true);
    const THREADS: usize = 6;
    // Thread t uploads respondents 100t .. 100t+300 (overlapping its
    // neighbours), and every thread also uploads the same shared file.
    let barrier = Arc::new(Barrier::new(THREADS));
    let results: Vec<(BatchOutcome, BatchOutcome)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let barrier = Arc::clone(&barrier);
                let store = db.store().clone();
                s.spawn(move || {
                    let mut conn = store.conn().expect("conn");
                    let own = paper_rows((100 * t..100 * t + 300).map(|i| format!("c-{i}")), "1");
                    let shared = paper_rows((0..50).map(|i| format!("s-{i}")), "1");
                    let hash = format!("own-{t}");
                    barrier.wait();
                    let a = batches::commit(&mut conn, &batch(round.id, &hash, &own)).expect("own");
                    let b = batches::commit(&mut conn, &batch(round.id, "shared", &shared))
                        .expect("shared");
                    (a, b)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let accepted: usize = results
        .iter()
        .map(|(own, _)| match own {
            BatchOutcome::Committed(r) => r.accepted,
            BatchOutcome::DuplicateOf { .. } => panic!("own files are distinct"),
        })
        .sum();
    let distinct_own = 100 * (THREADS - 1) + 300;
    assert_eq!(accepted, distinct_own);
    let shared_commits = results
        .iter()
        .filter(|(_, shared)| matches!(shared, BatchOutcome::Committed(_)))
        .count();
    assert_eq!(shared_commits, 1, "{results:?}");
    assert_eq!(
        count_responses(&mut db.conn(), round.id),
        (distinct_own + 50) as i64
    );
}

fn partial_answers_are_merged(db: &TestDb) {
    let round = open_round(&mut db.conn(), "2026", true);
    let mut conn = db.conn();
    let session = sessions::start_open(&mut conn, round.id).expect("start");
    let save = |changes: &[(&str, Option<&str>)], pages: &[(&str, i64)]| SessionSave {
        answers: changes
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
            .collect(),
        page_ms: pages.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
    };
    sessions::save(
        &mut conn,
        &session.id,
        &save(&[("K01", Some("1")), ("K02", Some("2"))], &[("p1", 1000)]),
    )
    .expect("save 1");
    let merged = sessions::save(
        &mut conn,
        &session.id,
        &save(
            &[("K02", Some("3")), ("K03", Some("1")), ("K01", None)],
            &[("p1", 500), ("p2", 200)],
        ),
    )
    .expect("save 2");
    assert_eq!(merged.answers, answers(&[("K02", "3"), ("K03", "1")]));
    assert_eq!(
        merged.paradata,
        BTreeMap::from([("p1".to_owned(), 1500), ("p2".to_owned(), 200)])
    );
    assert_eq!(merged.revision, 2);

    // Saves racing on one session lose nothing.
    const THREADS: usize = 8;
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let store = db.store().clone();
            let id = session.id.clone();
            s.spawn(move || {
                let mut conn = store.conn().expect("conn");
                for k in 0..5 {
                    let key = format!("T{t}_{k}");
                    let change = SessionSave {
                        answers: BTreeMap::from([(key, Some("1".to_owned()))]),
                        page_ms: BTreeMap::from([("p3".to_owned(), 10)]),
                    };
                    sessions::save(&mut conn, &id, &change).expect("save");
                }
            });
        }
    });
    let after = sessions::get(&mut conn, &session.id)
        .expect("get")
        .expect("session");
    assert_eq!(after.answers.len(), 2 + THREADS * 5);
    assert_eq!(after.paradata.get("p3"), Some(&(THREADS as i64 * 5 * 10)));
    assert_eq!(after.revision, 2 + THREADS as i64 * 5);

    // Submitting closes the session.
    let empty = BTreeMap::new();
    let mut new = submission(
        "s-1",
        round.id,
        &after.respondent_id,
        &after.answers,
        &empty,
        &after.paradata,
    );
    new.session_id = Some(&after.id);
    let receipt = match submissions::submit(db.store(), &mut conn, &new).expect("submit") {
        SubmitOutcome::Created(r) => r,
        other => panic!("{other:?}"),
    };
    let closed = sessions::get(&mut conn, &session.id)
        .expect("get")
        .expect("session");
    assert_eq!(closed.response_id, Some(receipt.response_id));
    assert!(matches!(
        sessions::save(&mut conn, &session.id, &save(&[("K04", Some("1"))], &[])),
        Err(SessionError::Submitted)
    ));
    // A second submit through a closed session stores nothing.
    let mut other = submission(
        "s-2",
        round.id,
        "someone-else",
        &after.answers,
        &empty,
        &after.paradata,
    );
    other.session_id = Some(&after.id);
    assert!(matches!(
        submissions::submit(db.store(), &mut conn, &other),
        Err(SubmitError::SessionClosed)
    ));
    assert_eq!(count_responses(&mut conn, round.id), 1);
}

fn cache_is_invalidated_when_round_data_change(db: &TestDb) {
    let mut conn = db.conn();
    let round = open_round(&mut conn, "2026", true);
    let v0 = cache::data_version(&mut conn, round.id)
        .expect("v")
        .expect("round");
    assert!(cache::put(&mut conn, round.id, v0, "share|by=province", "[0.15]").expect("put"));
    assert!(
        !cache::put(&mut conn, round.id, v0, "share|by=province", "[0.99]").expect("put twice")
    );
    let hit = cache::get(&mut conn, round.id, "share|by=province").expect("get");
    assert_eq!(hit.map(|h| h.result), Some("[0.15]".to_owned()));
    assert_eq!(cache::get(&mut conn, round.id, "other").expect("get"), None);

    // New data: the old entry is no longer served.
    let a = answers(&[("K01", "1")]);
    let empty = BTreeMap::new();
    let paradata = BTreeMap::new();
    submissions::submit(
        db.store(),
        &mut conn,
        &submission("c-1", round.id, "r-1", &a, &empty, &paradata),
    )
    .expect("submit");
    let v1 = cache::data_version(&mut conn, round.id)
        .expect("v")
        .expect("round");
    assert_eq!(v1, v0 + 1);
    assert_eq!(
        cache::get(&mut conn, round.id, "share|by=province").expect("get"),
        None
    );
    // An estimate computed on the old data and stored late is never served.
    cache::put(&mut conn, round.id, v0, "late", "[0.1]").expect("put stale");
    assert_eq!(cache::get(&mut conn, round.id, "late").expect("get"), None);
    cache::put(&mut conn, round.id, v1, "share|by=province", "[0.16]").expect("put");
    assert_eq!(
        cache::get(&mut conn, round.id, "share|by=province")
            .expect("get")
            .map(|h| h.result),
        Some("[0.16]".to_owned())
    );
    // Batches and margins bump the version too.
    let rows = paper_rows(["b-1".to_owned()], "1");
    batches::commit(&mut conn, &batch(round.id, "h", &rows)).expect("commit");
    assert_eq!(
        cache::get(&mut conn, round.id, "share|by=province").expect("get"),
        None
    );
    let v2 = cache::data_version(&mut conn, round.id)
        .expect("v")
        .expect("round");
    assert!(v2 > v1);
    cache::put(&mut conn, round.id, v2, "share|by=province", "[0.17]").expect("put");
    rounds::set_margins(&mut conn, round.id, r#"{"sex":[1,2]}"#).expect("margins");
    let v3 = cache::data_version(&mut conn, round.id)
        .expect("v")
        .expect("round");
    assert!(v3 > v2);
    assert_eq!(
        cache::get(&mut conn, round.id, "share|by=province").expect("get"),
        None
    );
    // Submits do not touch the round's row (no hot row under load): the
    // response count versions them.
    let column = |conn: &mut literacy_store::DbConn| -> i64 {
        literacy_store::schema::rounds::table
            .find(round.id)
            .select(literacy_store::schema::rounds::data_version)
            .first(conn)
            .expect("column")
    };
    let before = column(&mut conn);
    submissions::submit(
        db.store(),
        &mut conn,
        &submission("c-2", round.id, "r-2", &a, &empty, &paradata),
    )
    .expect("submit");
    assert_eq!(column(&mut conn), before);
    assert_eq!(
        cache::data_version(&mut conn, round.id).expect("v"),
        Some(v3 + 1)
    );
}

fn load_streams_a_round_in_id_order_into_the_matrix(db: &TestDb) {
    let instrument = Instrument::from_json("csl-2026", common::CSL_2026).expect("instrument");
    let mut conn = db.conn();
    let round = open_round(&mut conn, "2026", true);
    let other = open_round(&mut conn, "2027", true);
    // Respondent i answers item j with the item's (i + j) % 2 + 1-th code, item 3 left missing.
    let answers_of = |i: usize| -> BTreeMap<String, String> {
        instrument
            .items
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != 3)
            .map(|(j, item)| (item.id.clone(), item.decode(((i + j) % 2 + 1) as u16)))
            .collect()
    };
    let rows: Vec<BatchRow> = (0..57)
        .map(|i| {
            BatchRow::new(
                i + 2,
                format!("p-{i}"),
                &answers_of(i as usize),
                &answers(&[("sex", if i % 2 == 0 { "1" } else { "2" })]),
                None,
            )
            .expect("row")
        })
        .collect();
    batches::commit(&mut conn, &batch(round.id, "h1", &rows)).expect("commit");
    batches::commit(&mut conn, &batch(other.id, "h1", &rows[..5])).expect("other round");

    let mut pages = Vec::new();
    let n = load::for_each_page(&mut conn, round.id, 10, |page| {
        pages.push(page.len());
        Ok::<_, StoreError>(())
    })
    .expect("pages");
    assert_eq!(n, 57);
    assert_eq!(pages, vec![10, 10, 10, 10, 10, 7]);

    let loaded = load::response_matrix(&mut conn, round.id, &instrument).expect("matrix");
    assert_eq!(loaded.matrix.n_rows(), 57);
    assert_eq!(loaded.matrix.n_items(), instrument.items.len());
    assert!(loaded.response_ids.windows(2).all(|w| w[0] < w[1]));
    for i in 0..57 {
        assert_eq!(loaded.respondent_ids[i], format!("p-{i}"));
        assert_eq!(loaded.provinces[i], 44);
        assert_eq!(loaded.modes[i], Mode::Paper);
        for (j, item) in instrument.items.iter().enumerate() {
            let cell = loaded.matrix.get(i, j);
            if j == 3 {
                assert_eq!(cell, literacy_core::MISSING);
            } else {
                assert_eq!(item.decode(cell), item.decode(((i + j) % 2 + 1) as u16));
            }
        }
    }
    let all = load::all(&mut conn, other.id).expect("all");
    assert_eq!(all.len(), 5);

    // Pages large enough to be parsed by several threads give the same rows.
    let big = open_round(&mut conn, "2028", true);
    let many: Vec<BatchRow> = (0..4500)
        .map(|i| {
            BatchRow::new(
                i + 2,
                format!("m-{i}"),
                &answers_of(i as usize % 57),
                &BTreeMap::new(),
                None,
            )
            .expect("row")
        })
        .collect();
    batches::commit(&mut conn, &batch(big.id, "h2", &many)).expect("commit");
    let loaded_big = load::response_matrix(&mut conn, big.id, &instrument).expect("matrix");
    assert_eq!(loaded_big.matrix.n_rows(), 4500);
    for i in (0..4500).step_by(7) {
        assert_eq!(loaded_big.respondent_ids[i], format!("m-{i}"));
        for j in 0..instrument.items.len() {
            assert_eq!(loaded_big.matrix.get(i, j), loaded.matrix.get(i % 57, j));
        }
    }

    // A stored answer that does not fit the instrument is reported with its response.
    let bad = open_round(&mut conn, "2029", true);
    let empty = BTreeMap::new();
    let paradata = BTreeMap::new();
    let unknown = answers(&[("NO-SUCH-ITEM", "1")]);
    submissions::submit(
        db.store(),
        &mut conn,
        &submission("bad-1", bad.id, "r-1", &unknown, &empty, &paradata),
    )
    .expect("submit");
    assert!(matches!(
        load::response_matrix(&mut conn, bad.id, &instrument),
        Err(load::LoadError::UnknownItem { ref item, .. }) if item == "NO-SUCH-ITEM"
    ));
    let bad2 = open_round(&mut conn, "2030", true);
    let first_item = instrument.items[0].id.as_str();
    let invalid = answers(&[(first_item, "987")]);
    submissions::submit(
        db.store(),
        &mut conn,
        &submission("bad-2", bad2.id, "r-1", &invalid, &empty, &paradata),
    )
    .expect("submit");
    assert!(matches!(
        load::response_matrix(&mut conn, bad2.id, &instrument),
        Err(load::LoadError::Answer { ref item, .. }) if item == first_item
    ));
}

#[test]
fn unknown_url_schemes_are_refused_without_creating_files() {
    let err = literacy_store::Store::open("mysql://localhost/x").expect_err("refused");
    assert!(
        matches!(err, StoreError::UnknownScheme(ref s) if s == "mysql"),
        "{err}"
    );
    assert!(!std::path::Path::new("mysql://localhost/x").exists());
    assert!(matches!(
        literacy_store::Store::open("literacy.db"),
        Err(StoreError::UnknownScheme(_))
    ));
    // In-memory SQLite works, as one connection.
    let store = open_and_migrate("sqlite::memory:").expect("memory");
    let mut conn = store.conn().expect("conn");
    open_round(&mut conn, "2026", true);
    assert_eq!(rounds::list(&mut conn).expect("list").len(), 1);
}
