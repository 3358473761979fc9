//! PostgreSQL for tests: the server (`LITERACY_TEST_PG`, or a throwaway
//! cluster of this process's own) and scratch databases on it.
//!
//! The throwaway cluster: `initdb` into `target/pg-test/<pid>` (trust
//! authentication, TCP on 127.0.0.1 at a free port, no Unix socket), started
//! with `pg_ctl` on first use. A small watcher process (`sh`) stops it and
//! removes its folder once the test process has exited, however it exits
//! (a panic, `exit`, a signal). As root, PostgreSQL runs as the `postgres`
//! user, since it refuses to run as root.

use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use diesel::{Connection, PgConnection, RunQueryDsl};

/// Environment variable naming an existing server's maintenance database
/// (`postgres://user@host:port/db`); unset, the tests start their own.
pub const SERVER_ENV: &str = "LITERACY_TEST_PG";

/// Environment variable naming the folder of PostgreSQL's server programs
/// (`initdb`, `pg_ctl`), when they are not found by themselves.
pub const BIN_ENV: &str = "LITERACY_PG_BIN";

/// URL of the maintenance database of the server the tests use: the one
/// `LITERACY_TEST_PG` names, else this process's throwaway cluster (started
/// on the first call). Panics, saying why and what to install, when no
/// server can be had: a PostgreSQL test fails, it never skips.
pub fn admin_url() -> String {
    if let Ok(url) = std::env::var(SERVER_ENV) {
        return url;
    }
    static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
    match CLUSTER.get_or_init(Cluster::start) {
        Ok(cluster) => cluster.admin_url.clone(),
        Err(why) => panic!(
            "the PostgreSQL tests could not start a throwaway cluster: {why}\n\
             Install PostgreSQL's server programs (Debian/Ubuntu: apt-get install postgresql; \
             or set {BIN_ENV} to the folder holding initdb and pg_ctl), or set {SERVER_ENV} \
             to an existing server (postgres://user@host:port/database)."
        ),
    }
}

/// A database made for one test on the tests' server, dropped (with any
/// connections still open to it) when this value is dropped.
#[derive(Debug)]
pub struct Database {
    admin: String,
    name: String,
    url: String,
}

impl Database {
    /// Creates a fresh database named `<prefix>_<unique>`.
    pub fn new(prefix: &str) -> Database {
        let admin = admin_url();
        let name = format!("{prefix}_{}", crate::dirs::unique_name());
        execute(&admin, &format!("CREATE DATABASE {name}"));
        let url = match admin.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("{SERVER_ENV}={admin} has no database part"),
        };
        Database { admin, name, url }
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs one statement in this database (to break or inspect it from
    /// outside the code under test), panicking if it fails.
    pub fn execute(&self, sql: &str) {
        execute(&self.url, sql);
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&self.admin) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn);
        }
    }
}

/// Runs one statement on the database at `url`, panicking with the
/// server's answer if it fails.
fn execute(url: &str, sql: &str) {
    let mut conn = PgConnection::establish(url)
        .unwrap_or_else(|e| panic!("PostgreSQL is required for this test ({url}): {e}"));
    diesel::sql_query(sql)
        .execute(&mut conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A running throwaway cluster.
#[derive(Debug)]
struct Cluster {
    admin_url: String,
}

/// How server programs are run: directly, or as another user when this
/// process is root.
#[derive(Debug, Clone)]
struct Runner {
    bin: PathBuf,
    as_user: Option<String>,
}

impl Runner {
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match &self.as_user {
            None => Command::new(path),
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
        }
    }

    fn run(&self, program: &str, args: &[&OsStr]) -> Result<(), String> {
        let out = self
            .command(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.bin.join(program).display()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} {} failed ({}): {}{}",
                args.iter()
                    .map(|a| a.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }
}

impl Cluster {
    fn start() -> Result<Cluster, String> {
        let bin = server_bin()?;
        let as_user = if is_root() {
            Some("postgres".to_owned())
        } else {
            None
        };
        let runner = Runner { bin, as_user };
        let dir = cluster_dir(&runner)?;
        watch(&runner, &dir)?;
        let data = dir.join("data");
        let mut initdb: Vec<&OsStr> = vec!["-D".as_ref(), data.as_os_str()];
        initdb.extend(
            [
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]
            .map(OsStr::new),
        );
        runner.run("initdb", &initdb)?;
        let log = dir.join("server.log");
        // A port is free when asked but may be taken before the server binds
        // it: try a few.
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            configure(&data, port)?;
            let start = [
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "-t".as_ref(),
                "60".as_ref(),
                "start".as_ref(),
            ];
            match runner.run("pg_ctl", &start) {
                Ok(()) => {
                    return Ok(Cluster {
                        admin_url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
                    });
                }
                Err(e) => {
                    last = format!("{e}\n{}", std::fs::read_to_string(&log).unwrap_or_default());
                }
            }
        }
        Err(last)
    }
}

/// The server's settings: our port, TCP on loopback only, no socket file,
/// and no waiting for the disk (the cluster is thrown away).
fn configure(data: &Path, port: u16) -> Result<(), String> {
    let conf = data.join("postgresql.auto.conf");
    let text = format!(
        "port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n\
         max_connections = 200\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
    );
    std::fs::write(&conf, text).map_err(|e| format!("{}: {e}", conf.display()))
}

/// A TCP port nothing listens on now.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// Whether this process runs as root (PostgreSQL then runs as `postgres`).
fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The folder holding `initdb` and `pg_ctl`: `LITERACY_PG_BIN`, else the
/// `PATH`, else the newest of Debian's `/usr/lib/postgresql/<v>/bin`, else
/// `/usr/local/pgsql/bin`.
fn server_bin() -> Result<PathBuf, String> {
    let has_both = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os(BIN_ENV) {
        let dir = PathBuf::from(dir);
        return if has_both(&dir) {
            Ok(dir)
        } else {
            Err(format!(
                "{BIN_ENV}={} holds no initdb and pg_ctl",
                dir.display()
            ))
        };
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    if let Some(dir) = on_path.into_iter().find(|d| has_both(d)) {
        return Ok(dir);
    }
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, d)| has_both(d))
        .collect();
    debian.sort();
    if let Some((_, dir)) = debian.pop() {
        return Ok(dir);
    }
    let local = PathBuf::from("/usr/local/pgsql/bin");
    if has_both(&local) {
        return Ok(local);
    }
    Err("PostgreSQL's server programs (initdb, pg_ctl) were not found".to_owned())
}

/// A new folder for this process's cluster: `target/pg-test/<pid>` (the
/// target folder found from the test executable), owned by the user that
/// runs the server; under the system's temporary folder when that user
/// cannot reach `target/` (a checkout in root's home, say).
fn cluster_dir(runner: &Runner) -> Result<PathBuf, String> {
    let name = std::process::id().to_string();
    let under_target = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .map(|target| target.join("pg-test").join(&name));
    let in_tmp = std::env::temp_dir().join("literacy-pg-test").join(&name);
    let mut last = String::new();
    for dir in under_target.into_iter().chain([in_tmp]) {
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            last = format!("{}: {e}", dir.display());
            continue;
        }
        match &runner.as_user {
            None => return Ok(dir),
            Some(user) => {
                let owned = Command::new("chown")
                    .arg(user)
                    .arg(&dir)
                    .status()
                    .is_ok_and(|s| s.success());
                let writable = owned
                    && Command::new("runuser")
                        .args(["-u", user, "--", "test", "-w"])
                        .arg(&dir)
                        .status()
                        .is_ok_and(|s| s.success());
                if writable {
                    return Ok(dir);
                }
                let _ = std::fs::remove_dir_all(&dir);
                last = format!("{}: not writable by the user {user}", dir.display());
            }
        }
    }
    Err(format!("no folder for the cluster: {last}"))
}

/// Starts the watcher: once this process has exited, it stops the cluster
/// (immediate mode: nothing in it is kept) and removes its folder.
fn watch(runner: &Runner, dir: &Path) -> Result<(), String> {
    let pg_ctl = runner.bin.join("pg_ctl");
    let as_user = runner
        .as_user
        .as_ref()
        .map_or_else(String::new, |u| format!("runuser -u {u} --"));
    Command::new("sh")
        .arg("-c")
        .arg(
            r#"while kill -0 "$1" 2>/dev/null; do sleep 1; done
$4 "$2" -D "$3/data" -m immediate stop >/dev/null 2>&1
rm -rf "$3""#,
        )
        .arg("literacy-pg-test-watcher")
        .arg(std::process::id().to_string())
        .arg(&pg_ctl)
        .arg(dir)
        .arg(as_user)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group: a Ctrl-C to the tests does not stop it
        // before it has cleaned up.
        .process_group(0)
        .spawn()
        .map(drop)
        .map_err(|e| format!("cannot start the cluster's watcher (sh): {e}"))
}
