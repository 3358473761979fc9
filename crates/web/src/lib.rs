//! The literacy engine's actix-web service: JSON API, HTML pages and auth.

pub mod answers;
mod app;
pub mod auth;
pub mod batch;
mod body;
pub mod charts;
mod csv_cell;
pub mod error;
pub mod lang;
pub mod messages;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod percent;
pub mod request_log;
mod routes;
pub mod startup;
mod state;
mod submission;

pub use error::ApiError;
pub use startup::{Application, Config, StartError};
