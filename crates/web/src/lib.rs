//! The literacy engine's actix-web service: JSON API, HTML pages and auth.

pub mod answers;
pub mod auth;
pub mod batch;
pub mod charts;
pub mod error;

pub use error::ApiError;
