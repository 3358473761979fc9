//! Connections: one enum over SQLite and PostgreSQL chosen by URL scheme,
//! the pool, per-connection set-up, migrations and write transactions.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::{ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::StoreError;
use crate::group_commit::GroupCommit;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Key of the PostgreSQL advisory lock held while migrating, so replicas
/// starting together do not race (any constant; "LITMIGR" in ASCII).
const MIGRATION_LOCK: i64 = 0x004c_4954_4d49_4752;

/// Statements run on every new SQLite connection. WAL is set once per file
/// in [`Store::open_with`] (it is persistent).
const SQLITE_PER_CONNECTION: &str =
    "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";

/// Writers of this process take turns here before `BEGIN IMMEDIATE`. SQLite
/// has one writer at a time, and a connection that finds the write lock taken
/// sleeps in SQLite's busy handler (1, 2, 5, 10, ... up to 100 ms a try), so
/// under a stream of submits most of the tail latency was sleeping while the
/// lock was free; queued on a mutex, writers wake as soon as it is released.
/// Writers in other processes on the same file still wait on `busy_timeout`.
static SQLITE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A connection to either backend; queries written once against this type
/// run on both (the common subset of diesel's query builder).
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    /// A PostgreSQL connection (production, several replicas).
    Postgres(PgConnection),
    /// A SQLite connection (embedded default).
    Sqlite(SqliteConnection),
}

/// A connection in the pool checked within this window is handed out
/// without a ping: a connection in steady use answered a moment ago, and one
/// that failed since is marked broken by diesel and discarded on return
/// (HikariCP's "alive bypass"). Under a stream of submits the ping was one
/// round trip in ten.
const ALIVE_BYPASS: Duration = Duration::from_secs(1);

/// A pooled connection and when it was last used, so that checkouts only
/// ping connections that sat idle (see [`ALIVE_BYPASS`]).
pub struct Tracked {
    conn: DbConn,
    used: Instant,
}

impl Deref for Tracked {
    type Target = DbConn;
    fn deref(&self) -> &DbConn {
        &self.conn
    }
}

impl DerefMut for Tracked {
    fn deref_mut(&mut self) -> &mut DbConn {
        // Every statement goes through here: the connection is in use now.
        self.used = Instant::now();
        &mut self.conn
    }
}

/// Which backend a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, a file (or memory) embedded in the process.
    Sqlite,
    /// PostgreSQL over the network.
    Postgres,
}

/// Where to connect, parsed from the URL; never guessed.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Sqlite(String),
    Postgres(String),
}

impl Target {
    fn parse(url: &str) -> Result<Target, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Target::Postgres(url.to_owned()));
        }
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(StoreError::UnknownScheme("sqlite: without a path".into()));
            }
            return Ok(Target::Sqlite(path.to_owned()));
        }
        let scheme = url.split_once(':').map_or("(none)", |(s, _)| s);
        Err(StoreError::UnknownScheme(scheme.chars().take(32).collect()))
    }

    fn is_memory(&self) -> bool {
        matches!(self, Target::Sqlite(p) if p == ":memory:")
    }

    /// A new connection, every SQLite one set up the same way.
    fn open(&self) -> Result<DbConn, diesel::r2d2::Error> {
        match self {
            Target::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                conn.batch_execute(SQLITE_PER_CONNECTION)
                    .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(conn))
            }
            Target::Postgres(url) => PgConnection::establish(url)
                .map(DbConn::Postgres)
                .map_err(diesel::r2d2::Error::ConnectionError),
        }
    }

    /// [`Target::open`] outside the pool (the group commit's writer thread).
    pub(crate) fn connect(&self) -> Result<DbConn, StoreError> {
        self.open().map_err(|e| match e {
            diesel::r2d2::Error::ConnectionError(e) => StoreError::Connect(e),
            diesel::r2d2::Error::QueryError(e) => StoreError::Database(e),
        })
    }
}

/// The backend a database URL names (an unknown scheme is an error), read
/// as [`Store::open`] reads it.
pub fn backend_of(url: &str) -> Result<Backend, StoreError> {
    Ok(match Target::parse(url)? {
        Target::Sqlite(_) => Backend::Sqlite,
        Target::Postgres(_) => Backend::Postgres,
    })
}

/// The file of a SQLite URL (`None`: PostgreSQL, in memory, or no valid URL).
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    match Target::parse(url) {
        Ok(t @ Target::Sqlite(_)) if t.is_memory() => None,
        Ok(Target::Sqlite(path)) => Some(path.into()),
        _ => None,
    }
}

/// The pool's connection factory: builds the right variant from the URL
/// and sets every SQLite connection up the same way.
#[derive(Debug)]
pub struct Manager {
    target: Target,
}

/// This process's turn to write to SQLite (see [`SQLITE_WRITER`]).
pub(crate) fn sqlite_writer_turn() -> std::sync::MutexGuard<'static, ()> {
    SQLITE_WRITER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ManageConnection for Manager {
    type Connection = Tracked;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Tracked, Self::Error> {
        Ok(Tracked {
            conn: self.target.open()?,
            used: Instant::now(),
        })
    }

    fn is_valid(&self, tracked: &mut Tracked) -> Result<(), Self::Error> {
        if tracked.used.elapsed() < ALIVE_BYPASS {
            return Ok(());
        }
        tracked
            .conn
            .ping()
            .map_err(diesel::r2d2::Error::QueryError)?;
        tracked.used = Instant::now();
        Ok(())
    }

    fn has_broken(&self, tracked: &mut Tracked) -> bool {
        std::thread::panicking() || tracked.conn.is_broken()
    }
}

/// A connection borrowed from the store's pool.
pub type PooledConn = PooledConnection<Manager>;

/// Pool settings.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Largest number of open connections (an in-memory SQLite store always uses 1).
    pub max_connections: u32,
    /// How long `conn()` waits for a free connection.
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

/// The database: a pool of connections to one backend. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: Pool<Manager>,
    backend: Backend,
    /// The submit writer (none for an in-memory SQLite store).
    group: Option<Arc<GroupCommit>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never printed.
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens a store with default pool settings (no migration).
    pub fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_with(url, &StoreOptions::default())
    }

    /// Opens a store: `sqlite://PATH` (created if missing, WAL mode),
    /// `sqlite::memory:` (one connection, for tests), or `postgres://...`.
    /// An unknown scheme is an error; no file is created for it.
    pub fn open_with(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        let backend = backend_of(url)?;
        let target = Target::parse(url)?;
        let max = if target.is_memory() {
            1
        } else {
            options.max_connections.max(1)
        };
        let manager = Manager { target };
        // One connection first, so an unreachable database fails at once
        // with its own message rather than after the pool's time-out.
        let mut first = manager.target.connect()?;
        if let (DbConn::Sqlite(c), false) = (&mut first, manager.target.is_memory()) {
            c.batch_execute("PRAGMA journal_mode = WAL;")?;
        }
        drop(first);
        let memory = manager.target.is_memory();
        let group = (!memory).then(|| Arc::new(GroupCommit::new(manager.target.clone())));
        let mut builder = Pool::builder()
            .max_size(max)
            .min_idle(Some(0))
            .connection_timeout(options.acquire_timeout);
        if memory {
            // An in-memory database lives as long as its one connection:
            // keep that connection open for the life of the pool.
            builder = builder
                .min_idle(Some(1))
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let pool = builder.build_unchecked(manager);
        Ok(Store {
            pool,
            backend,
            group,
        })
    }

    /// The backend this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The store's submit writer, if it has one.
    pub(crate) fn group_commit(&self) -> Option<&GroupCommit> {
        self.group.as_deref()
    }

    /// What the submit writer has stored (none for an in-memory SQLite store).
    pub fn group_commit_counts(&self) -> Option<crate::submissions::GroupCommitCounts> {
        self.group.as_ref().map(|g| g.counts())
    }

    /// Borrows a connection from the pool (blocks up to the acquire time-out).
    pub fn conn(&self) -> Result<PooledConn, StoreError> {
        self.pool.get().map_err(|e| StoreError::Pool(e.to_string()))
    }

    /// Applies the embedded migrations not yet applied; returns their
    /// versions (empty when the schema is current).
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn()?;
        migrate_conn(&mut conn)
    }

    /// Reverts every applied migration (for tests of the down migrations and
    /// for operators starting over); returns the reverted versions.
    pub fn revert_all_migrations(&self) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn()?;
        let reverted = match &mut **conn {
            DbConn::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS),
            DbConn::Postgres(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS),
        }
        .map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(reverted.iter().map(ToString::to_string).collect())
    }
}

fn migrate_conn(conn: &mut DbConn) -> Result<Vec<String>, StoreError> {
    let applied = match conn {
        DbConn::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|v| v.iter().map(ToString::to_string).collect())
            .map_err(|e| StoreError::Migration(e.to_string())),
        DbConn::Postgres(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
            let applied = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.iter().map(ToString::to_string).collect())
                .map_err(|e| StoreError::Migration(e.to_string()));
            c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))?;
            applied
        }
    }?;
    Ok(applied)
}

/// Opens a store from a URL and applies pending migrations: what the
/// service does at start and what `literacy migrate` does.
pub fn open_and_migrate(url: &str) -> Result<Store, StoreError> {
    let store = Store::open(url)?;
    store.migrate()?;
    Ok(store)
}

/// Runs one body once per backend, with `$conn` rebound to the concrete
/// connection: for the few statements outside the common subset that the
/// multi-backend query builder supports (multi-row inserts). The body is the
/// same text for both; it is type-checked for each backend.
macro_rules! per_backend {
    ($conn:ident => $body:expr) => {
        match $conn {
            $crate::DbConn::Postgres($conn) => $body,
            $crate::DbConn::Sqlite($conn) => $body,
        }
    };
}
pub(crate) use per_backend;

/// Runs `f` in a write transaction: `BEGIN IMMEDIATE` on SQLite (the write
/// lock is taken up front, so concurrent writers wait on `busy_timeout`
/// instead of failing at their first write), a plain transaction on
/// PostgreSQL. Commits on `Ok`, rolls back on `Err`.
pub(crate) fn write_transaction<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConn::Sqlite(inner) => {
            let _turn = sqlite_writer_turn();
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
            match f(conn) {
                Ok(value) => {
                    <DbConn as TransactionManager<DbConn>>::commit_transaction(conn)?;
                    Ok(value)
                }
                Err(e) => {
                    <DbConn as TransactionManager<DbConn>>::rollback_transaction(conn)?;
                    Err(e)
                }
            }
        }
        DbConn::Postgres(_) => conn.transaction(f),
    }
}

impl Store {
    /// Checks that the database answers (a round trip on a pooled connection).
    pub fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        conn.batch_execute("SELECT 1")?;
        Ok(())
    }
}
