//! Storage for the literacy engine: diesel over SQLite (the embedded
//! default) and PostgreSQL, from one code base. Built by the service issue;
//! this crate holds its place in the workspace layout until then.
