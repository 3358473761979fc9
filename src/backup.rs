//! `literacy backup` and `literacy restore`: a consistent copy of the store
//! while the service runs, and a store made again from such a copy.
//!
//! SQLite: `VACUUM INTO` (online, a snapshot) and, to restore, the copy
//! checked (integrity, migrations brought up to date) under a temporary
//! name beside the new store's file, then renamed into place. PostgreSQL:
//! `pg_dump --format=custom` and `pg_restore` into an empty database in
//! one transaction, found on the `PATH` or in Debian's
//! `/usr/lib/postgresql/<version>/bin`. Neither overwrites anything: the
//! backup file must not exist, the restored store must not exist (SQLite)
//! or be empty (PostgreSQL), and a failed run leaves neither behind.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use literacy_store::backup::{self, BackupKind};
use literacy_store::{Backend, Store};

use crate::store_cli::{DatabaseArgs, redact};

/// Write a consistent copy of the store to a file (the service may keep running).
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// The backup file to write (must not exist): a SQLite database file,
    /// or a PostgreSQL custom-format dump.
    #[arg(long)]
    out: PathBuf,
}

/// Make a new store from a backup file.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// The backup file written by `literacy backup`.
    #[arg(long)]
    from: PathBuf,
}

/// Runs `literacy backup`.
pub fn backup(args: &BackupArgs) -> anyhow::Result<()> {
    let url = args.database.url();
    if args.out.exists() {
        bail!(
            "{} exists: a backup never overwrites a file",
            args.out.display()
        );
    }
    let partial = partial_name(&args.out);
    let _ = std::fs::remove_file(&partial);
    let result = match backend_of(&url)? {
        Backend::Sqlite => {
            // Opening a missing file would create an empty store: refuse.
            let path = sqlite_path(&url)?;
            if !path.is_file() {
                bail!("{}: no such store to back up", path.display());
            }
            let store = Store::open(&url).with_context(|| opening(&url))?;
            backup::sqlite_copy(&store, &partial).context("copying the SQLite store")
        }
        Backend::Postgres => run_tool(
            "pg_dump",
            &[
                "--format=custom".as_ref(),
                "--no-owner".as_ref(),
                "--file".as_ref(),
                partial.as_os_str(),
                "--dbname".as_ref(),
                url.as_ref(),
            ],
        ),
    };
    if let Err(e) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, &args.out)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    let size = std::fs::metadata(&args.out).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "backed up {} to {} ({size} bytes)",
        redact(&url),
        args.out.display()
    );
    Ok(())
}

/// Runs `literacy restore`.
pub fn restore(args: &RestoreArgs) -> anyhow::Result<()> {
    let url = args.database.url();
    let from = &args.from;
    let mut start = [0u8; 16];
    let n = File::open(from)
        .and_then(|mut f| f.read(&mut start))
        .with_context(|| format!("cannot read {}", from.display()))?;
    let Some(kind) = BackupKind::of(&start[..n]) else {
        bail!(
            "{}: not a backup (neither a SQLite database nor a PostgreSQL custom-format dump)",
            from.display()
        );
    };
    let backend = backend_of(&url)?;
    if kind.backend() != backend {
        bail!(
            "{} is a {} backup; {} is a {} store",
            from.display(),
            name(kind.backend()),
            redact(&url),
            name(backend)
        );
    }
    let tables = match backend {
        Backend::Sqlite => restore_sqlite(from, &url)?,
        Backend::Postgres => restore_postgres(from, &url)?,
    };
    eprintln!(
        "restored {} into {} ({tables} tables, migrations up to date)",
        from.display(),
        redact(&url)
    );
    Ok(())
}

/// Checks the copy under a temporary name, then renames it into place.
fn restore_sqlite(from: &Path, url: &str) -> anyhow::Result<i64> {
    let path = sqlite_path(url)?;
    if path.exists() {
        bail!(
            "{} exists: restore makes a new store (move the old file away first)",
            path.display()
        );
    }
    let partial = partial_name(&path);
    let _ = std::fs::remove_file(&partial);
    let checked = (|| {
        std::fs::copy(from, &partial)
            .with_context(|| format!("cannot copy {} to {}", from.display(), partial.display()))?;
        let partial_url = format!("sqlite://{}", partial.display());
        let unreadable = || format!("{}: not a readable SQLite store", from.display());
        let store = Store::open(&partial_url).with_context(unreadable)?;
        backup::integrity(&store).with_context(unreadable)?;
        store
            .migrate()
            .with_context(|| format!("{}: bringing its migrations up to date", from.display()))?;
        let tables = backup::table_count(&store)?;
        drop(store);
        anyhow::Ok(tables)
    })();
    match checked {
        Ok(tables) => {
            std::fs::rename(&partial, &path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(tables)
        }
        Err(e) => {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = partial.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
            Err(e)
        }
    }
}

/// Restores into an empty database in one transaction, then migrates.
fn restore_postgres(from: &Path, url: &str) -> anyhow::Result<i64> {
    let store = Store::open(url).with_context(|| opening(url))?;
    let tables = backup::table_count(&store)?;
    if tables > 0 {
        bail!(
            "{} has {tables} tables: restore goes into an empty database (create a new one)",
            redact(url)
        );
    }
    run_tool(
        "pg_restore",
        &[
            "--no-owner".as_ref(),
            "--no-privileges".as_ref(),
            "--exit-on-error".as_ref(),
            "--single-transaction".as_ref(),
            "--dbname".as_ref(),
            url.as_ref(),
            from.as_os_str(),
        ],
    )?;
    store
        .migrate()
        .context("bringing the migrations up to date")?;
    Ok(backup::table_count(&store)?)
}

/// Runs a PostgreSQL client program, its error output in the message.
fn run_tool(program: &str, args: &[&std::ffi::OsStr]) -> anyhow::Result<()> {
    let path = find_tool(program)?;
    let output = Command::new(&path)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {}", path.display()))?;
    if !output.status.success() {
        bail!(
            "{program} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// `program` on the `PATH`, else in the newest of Debian's
/// `/usr/lib/postgresql/<version>/bin`.
fn find_tool(program: &str) -> anyhow::Result<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    if let Some(found) = on_path
        .iter()
        .map(|d| d.join(program))
        .find(|p| p.is_file())
    {
        return Ok(found);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            Some((v, e.path().join("bin").join(program)))
        })
        .filter(|(_, p)| p.is_file())
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p).with_context(|| {
        format!(
            "{program} not found on the PATH or in /usr/lib/postgresql/*/bin: install the \
             PostgreSQL client programs (Debian: apt-get install postgresql-client)"
        )
    })
}

/// The backend of a URL, its message naming the URL without a password.
fn backend_of(url: &str) -> anyhow::Result<Backend> {
    literacy_store::backend_of(url).with_context(|| opening(url))
}

/// The file of a `sqlite://PATH` URL.
fn sqlite_path(url: &str) -> anyhow::Result<PathBuf> {
    literacy_store::sqlite_file(url).with_context(|| {
        format!("{url}: a backup or restore needs a file, not an in-memory database")
    })
}

/// `FILE.partial`, where a file is written before it is renamed into place.
fn partial_name(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".partial");
    PathBuf::from(p)
}

fn opening(url: &str) -> String {
    format!("opening the database {}", redact(url))
}

fn name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    }
}
