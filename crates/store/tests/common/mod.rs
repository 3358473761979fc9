//! Test databases: a temporary SQLite file, or a fresh PostgreSQL database
//! (`literacy_test_support::pg`) dropped afterwards. If PostgreSQL cannot be
//! had the PostgreSQL tests fail (they never skip).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use literacy_store::instruments;
use literacy_store::rounds::{self, NewRound, Round, RoundStatus};
use literacy_store::{DbConn, Store, StoreOptions};

/// A migrated store on a database that exists only for one test.
pub struct TestDb {
    store: Option<Store>,
    pub url: String,
    sqlite_file: Option<PathBuf>,
    pg_database: Option<literacy_test_support::pg::Database>,
}

impl TestDb {
    /// A temporary SQLite file.
    pub fn sqlite() -> TestDb {
        let path = std::env::temp_dir().join(format!(
            "lit_test_{}.db",
            literacy_test_support::dirs::unique_name()
        ));
        let url = format!("sqlite://{}", path.display());
        let db = TestDb {
            store: None,
            url: url.clone(),
            sqlite_file: Some(path),
            pg_database: None,
        };
        db.with_store(&url)
    }

    /// A fresh PostgreSQL database `lit_test_<unique>`.
    pub fn postgres() -> TestDb {
        let database = literacy_test_support::pg::Database::new("lit_test");
        let url = database.url().to_owned();
        let db = TestDb {
            store: None,
            url: url.clone(),
            sqlite_file: None,
            pg_database: Some(database),
        };
        db.with_store(&url)
    }

    fn with_store(mut self, url: &str) -> TestDb {
        let options = StoreOptions {
            max_connections: 12,
            ..StoreOptions::default()
        };
        let store = Store::open_with(url, &options).expect("open store");
        store.migrate().expect("migrate");
        self.store = Some(store);
        self
    }

    pub fn store(&self) -> &Store {
        self.store.as_ref().expect("store")
    }

    pub fn conn(&self) -> literacy_store::PooledConn {
        self.store().conn().expect("connection")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Close the pool first, then remove the database.
        self.store = None;
        if let Some(path) = &self.sqlite_file {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
        // The PostgreSQL database (if any) is dropped with `pg_database`.
    }
}

/// The national instrument's JSON.
pub const CSL_2026: &str = include_str!("../../../../surveys/csl-2026/instrument.json");

/// A published instrument and an open round on it.
pub fn open_round(conn: &mut DbConn, code: &str, open_online: bool) -> Round {
    let instrument = match instruments::find(conn, "csl-2026", "2026.1").expect("find") {
        Some(i) => i,
        None => {
            let draft =
                instruments::create_draft(conn, "csl-2026", "2026.1", CSL_2026).expect("draft");
            instruments::publish(conn, draft.id).expect("publish")
        }
    };
    rounds::create(
        conn,
        &NewRound {
            code,
            instrument_id: instrument.id,
            rule: r#"{"kind":"total-score","cut":70}"#,
            margins: "{}",
            opens_at: None,
            closes_at: None,
            status: RoundStatus::Open,
            open_online,
        },
    )
    .expect("round")
}

/// A small map of answers.
pub fn answers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Runs each listed test function against SQLite and against PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name(&super::common::TestDb::sqlite());
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    super::$name(&super::common::TestDb::postgres());
                }
            )*
        }
    };
}
