//! The HTML pages end to end: forms posted, redirects followed and cookies
//! kept by a small client, on SQLite and PostgreSQL; and the questionnaire
//! in headless Chromium through WebDriver, with axe-core's accessibility
//! checks on every page.

#[path = "../api/helpers.rs"]
mod helpers;

mod admin;
mod client;
mod dashboard;
mod e2e;
mod front;
mod hostile;
mod survey;
mod upload;
