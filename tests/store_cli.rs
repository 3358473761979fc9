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

/// Runs a command that must fail, saying `message` on stderr.
fn refused(args: &[&str], stdin: &str, message: &str) {
    let out = run(args, stdin);
    assert!(!out.status.success(), "{args:?} should fail");
    assert!(text(&out.stderr).contains(message), "{}", text(&out.stderr));
}

/// `literacy users add` of `name` as `role` (with `extra` options, such as
/// the province) to the store at `url`, the password written on stdin.
fn add_user(url: &str, name: &str, role: &str, extra: &[&str], password: &str) -> Output {
    let mut args = vec!["users", "add", "--database", url, "--username", name];
    args.extend(["--role", role]);
    args.extend(extra);
    run(&args, &format!("{password}\n"))
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

    let add = add_user(
        &url,
        "li",
        "uploader",
        &["--province", "44"],
        "a long enough password",
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
        refused(&all, "a long enough password\n", message);
    }
    let taken = add_user(&url, "li", "admin", &[], "another long password");
    assert!(!taken.status.success(), "a taken name is refused");

    let invites = |count| {
        let round = ["--round", "2026", "--count", count];
        [
            &["invites", "create", "--database", url.as_str()][..],
            &round,
        ]
        .concat()
    };
    refused(&invites("3"), "", "no round");
    common::open_round(&mut conn, "2026");
    let made = run(&invites("5"), "");
    assert!(made.status.success(), "{}", text(&made.stderr));
    let codes: Vec<String> = text(&made.stdout).lines().map(str::to_owned).collect();
    assert_eq!(codes.len(), 5);
    let day_ms = 24 * 60 * 60 * 1000;
    for code in &codes {
        let invite = literacy_store::invites::get(&mut conn, code)
            .expect("read")
            .expect("the printed code is stored");
        assert!(invite.used_at.is_none());
        // Never without an expiry: 90 days unless told.
        assert_eq!(invite.expires_at, Some(invite.created_at + 90 * day_ms));
    }
    let mut short = invites("2");
    short.extend(["--expires-in-days", "10"]);
    let before = literacy_store::now_ms();
    let made = run(&short, "");
    let after = literacy_store::now_ms();
    assert!(made.status.success(), "{}", text(&made.stderr));
    for code in text(&made.stdout).lines() {
        let invite = literacy_store::invites::get(&mut conn, code)
            .expect("read")
            .expect("stored");
        // Ten days from when the command ran.
        let expires = invite.expires_at.expect("an expiry");
        assert!(
            (before + 10 * day_ms..=after + 10 * day_ms).contains(&expires),
            "{expires} not 10 days after {before}..{after}"
        );
    }
    let mut never = invites("2");
    never.extend(["--expires-in-days", "0"]);
    refused(&never, "", "0 is not in 1..=65535");
    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn accounts_are_listed_disabled_enabled_and_given_new_passwords() {
    let dir = scratch("store-cli-accounts");
    let url = format!("sqlite://{}", dir.join("l.db").display());
    let password = "a long enough password";
    for (name, role) in [("li", "admin"), ("wang", "statistician")] {
        let add = add_user(&url, name, role, &[], password);
        assert!(add.status.success(), "{}", text(&add.stderr));
    }
    let list = run(&["users", "list", "--database", &url], "");
    assert!(list.status.success(), "{}", text(&list.stderr));
    assert_eq!(
        text(&list.stdout),
        "1\tli\tadmin\t-\tenabled\n2\twang\tstatistician\t-\tenabled\n"
    );
    let signs_in = |name: &str, password: &str| {
        let store = literacy_store::Store::open(&url).expect("opens");
        let mut conn = store.conn().expect("conn");
        literacy_store::users::verify(&mut conn, name, password)
            .expect("verify runs")
            .is_some()
    };
    let ok = |args: &[&str], stdin: &str| {
        let out = run(args, stdin);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    };
    ok(
        &["users", "disable", "--database", &url, "--username", "wang"],
        "",
    );
    assert!(!signs_in("wang", password));
    assert!(signs_in("li", password), "only the named account");
    assert!(
        text(&run(&["users", "list", "--database", &url], "").stdout)
            .contains("wang\tstatistician\t-\tdisabled")
    );
    ok(
        &["users", "enable", "--database", &url, "--username", "wang"],
        "",
    );
    assert!(signs_in("wang", password));
    ok(
        &["users", "passwd", "--database", &url, "--username", "wang"],
        "another long password\n",
    );
    assert!(!signs_in("wang", password));
    assert!(signs_in("wang", "another long password"));
    // Each change is audited.
    let store = literacy_store::Store::open(&url).expect("opens");
    let actions: Vec<String> = literacy_store::audit::recent(&mut store.conn().expect("conn"), 10)
        .expect("audit")
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in ["user.disable", "user.enable", "user.password"] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
    // An unknown name and a short password are refused, naming why.
    refused(
        &["users", "disable", "--database", &url, "--username", "zhao"],
        "",
        "no account named \"zhao\"",
    );
    refused(
        &["users", "passwd", "--database", &url, "--username", "li"],
        "short\n",
        "too short",
    );
    assert!(signs_in("li", password));
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
