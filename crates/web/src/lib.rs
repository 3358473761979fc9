//! The literacy engine's actix-web service: JSON API, HTML pages and auth.
//! Built by the service issue; this crate holds its place in the workspace
//! layout until then.
