//! `literacy backup` and `literacy restore` round trips on SQLite and on
//! PostgreSQL: what was stored when the backup was taken comes back, what
//! came after does not, and nothing existing is ever overwritten.

use std::path::Path;
use std::process::Output;

mod common;

use literacy_store::{Store, invites, rounds, users};
use literacy_test_support::cmd::{self, stderr};
use literacy_test_support::dirs::scratch;
use literacy_test_support::pg;

const PASSWORD: &str = "a long enough password\n";

fn run(args: &[&str]) -> Output {
    cmd::run_with_stdin(env!("CARGO_BIN_EXE_literacy"), args, PASSWORD)
}

fn ok(args: &[&str]) -> Output {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    out
}

fn refused(args: &[&str], message: &str) {
    let out = run(args);
    assert!(!out.status.success(), "{args:?} should fail");
    assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
}

/// A store with an account, a published instrument, an open round and
/// three invite codes; returns the codes.
fn fill(url: &str) -> Vec<String> {
    ok(&["migrate", "--database", url]);
    ok(&[
        "users",
        "add",
        "--database",
        url,
        "--username",
        "li",
        "--role",
        "admin",
    ]);
    let store = Store::open(url).expect("opens");
    let mut conn = store.conn().expect("conn");
    common::open_round(&mut conn, "2026");
    let made = ok(&[
        "invites",
        "create",
        "--database",
        url,
        "--round",
        "2026",
        "--count",
        "3",
    ]);
    String::from_utf8_lossy(&made.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Backs `source` up, writes more into it, restores into `target` and
/// checks what came back; `other` is a store of the other backend.
fn round_trip(source: &str, target: &str, other: &str, dir: &Path) {
    let codes = fill(source);
    let file = dir.join("store.backup");
    let path = file.to_str().expect("UTF-8 path");
    let done = ok(&["backup", "--database", source, "--out", path]);
    assert!(stderr(&done).contains("backed up"), "{}", stderr(&done));
    let taken = std::fs::read(&file).expect("backup written");
    refused(
        &["backup", "--database", source, "--out", path],
        "exists: a backup never overwrites a file",
    );
    assert_eq!(std::fs::read(&file).expect("still there"), taken);
    // After the backup: another account, not in the copy.
    ok(&[
        "users",
        "add",
        "--database",
        source,
        "--username",
        "wang",
        "--role",
        "admin",
    ]);

    let done = ok(&["restore", "--database", target, "--from", path]);
    assert!(
        stderr(&done).contains("migrations up to date"),
        "{}",
        stderr(&done)
    );
    let store = Store::open(target).expect("restored store opens");
    let mut conn = store.conn().expect("conn");
    let li = users::verify(&mut conn, "li", PASSWORD.trim_end())
        .expect("verify runs")
        .expect("the account signs in with its password");
    assert_eq!(li.username, "li");
    assert!(
        users::by_username(&mut conn, "wang")
            .expect("reads")
            .is_none()
    );
    for code in &codes {
        let invite = invites::get(&mut conn, code)
            .expect("reads")
            .expect("invite restored");
        assert!(invite.used_at.is_none());
    }
    assert!(rounds::by_code(&mut conn, "2026").expect("reads").is_some());
    // The restored store takes new writes (ids continue after the copy's).
    drop(conn);
    ok(&[
        "users",
        "add",
        "--database",
        target,
        "--username",
        "zhao",
        "--role",
        "admin",
    ]);

    refused(
        &["restore", "--database", target, "--from", path],
        "restore",
    );
    refused(&["restore", "--database", other, "--from", path], "backup;");
    let junk = dir.join("junk.backup");
    std::fs::write(&junk, "respondent_id,q1\n").expect("written");
    refused(
        &[
            "restore",
            "--database",
            other,
            "--from",
            junk.to_str().expect("UTF-8"),
        ],
        "not a backup",
    );
}

#[test]
fn a_sqlite_store_comes_back_from_its_backup() {
    let dir = scratch("backup-sqlite");
    let url = |name: &str| format!("sqlite://{}", dir.join(name).display());
    let pg = pg::Database::new("backup_other");
    round_trip(&url("live.db"), &url("restored.db"), pg.url(), &dir);
    assert!(!dir.join("restored.db.partial").exists());
    // A store that does not exist is not created by backing it up.
    let missing = dir.join("missing.db");
    let out = dir.join("missing.backup");
    refused(
        &[
            "backup",
            "--database",
            &url("missing.db"),
            "--out",
            out.to_str().expect("UTF-8"),
        ],
        "no such store to back up",
    );
    assert!(!missing.exists() && !out.exists());

    // A damaged copy is refused and leaves nothing behind.
    let whole = std::fs::read(dir.join("store.backup")).expect("backup");
    let damaged = dir.join("damaged.backup");
    std::fs::write(&damaged, &whole[..whole.len() / 3]).expect("written");
    refused(
        &[
            "restore",
            "--database",
            &url("from-damaged.db"),
            "--from",
            damaged.to_str().expect("UTF-8"),
        ],
        "not a readable SQLite store",
    );
    assert!(!dir.join("from-damaged.db").exists());
    assert!(!dir.join("from-damaged.db.partial").exists());
}

#[test]
fn a_postgres_store_comes_back_from_its_backup() {
    let dir = scratch("backup-postgres");
    let (source, target) = (
        pg::Database::new("backup_live"),
        pg::Database::new("backup_new"),
    );
    let sqlite = format!("sqlite://{}", dir.join("other.db").display());
    round_trip(source.url(), target.url(), &sqlite, &dir);
}
