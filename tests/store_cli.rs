//! `literacy migrate`, `users add` and `invites create` on a SQLite file.

mod common;

use std::process::Output;

use literacy_test_support::cmd;
use literacy_test_support::dirs::outside as scratch;

fn run(args: &[&str], stdin: &str) -> Output {
    cmd::run_with_stdin(env!("CARGO_BIN_EXE_literacy"), args, stdin)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn migrate_users_and_invites() {
    let dir = scratch("store-cli");
    let url = format!("sqlite://{}", dir.join("l.db").display());
    let first = run(&["migrate", "--database", &url], "");
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(
        text(&first.stderr).contains("applied"),
        "{}",
        text(&first.stderr)
    );
    let again = run(&["migrate", "--database", &url], "");
    assert!(again.status.success());
    assert!(
        text(&again.stderr).contains("up to date"),
        "{}",
        text(&again.stderr)
    );

    let add = run(
        &[
            "users",
            "add",
            "--database",
            &url,
            "--username",
            "li",
            "--role",
            "uploader",
            "--province",
            "44",
        ],
        "a long enough password\n",
    );
    assert!(add.status.success(), "{}", text(&add.stderr));
    let store = literacy_store::Store::open(&url).expect("opens");
    let mut conn = store.conn().expect("conn");
    let user = literacy_store::users::verify(&mut conn, "li", "a long enough password")
        .expect("verify runs")
        .expect("the password from stdin signs in");
    assert_eq!(
        user.role,
        literacy_store::users::Role::Uploader { province: 44 }
    );
    for (args, message) in [
        (vec!["--role", "uploader"], "needs --province"),
        (
            vec!["--role", "uploader", "--province", "99"],
            "not a GB/T 2260",
        ),
        (vec!["--role", "chief"], "expected admin"),
    ] {
        let mut all = vec!["users", "add", "--database", &url, "--username", "x"];
        all.extend(args);
        let out = run(&all, "a long enough password\n");
        assert!(!out.status.success());
        assert!(text(&out.stderr).contains(message), "{}", text(&out.stderr));
    }
    let taken = run(
        &[
            "users",
            "add",
            "--database",
            &url,
            "--username",
            "li",
            "--role",
            "admin",
        ],
        "another long password\n",
    );
    assert!(!taken.status.success(), "a taken name is refused");

    let none = run(
        &[
            "invites",
            "create",
            "--database",
            &url,
            "--round",
            "2026",
            "--count",
            "3",
        ],
        "",
    );
    assert!(!none.status.success());
    assert!(
        text(&none.stderr).contains("no round"),
        "{}",
        text(&none.stderr)
    );
    common::open_round(&mut conn, "2026");
    let made = run(
        &[
            "invites",
            "create",
            "--database",
            &url,
            "--round",
            "2026",
            "--count",
            "5",
        ],
        "",
    );
    assert!(made.status.success(), "{}", text(&made.stderr));
    let codes: Vec<String> = text(&made.stdout).lines().map(str::to_owned).collect();
    assert_eq!(codes.len(), 5);
    for code in &codes {
        let invite = literacy_store::invites::get(&mut conn, code)
            .expect("read")
            .expect("the printed code is stored");
        assert!(invite.used_at.is_none());
    }
    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);
}
