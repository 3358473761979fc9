//! The application layer: what the JSON API and the pages both do, each
//! done once here (signing in, checking and committing a batch, a round's
//! cached estimates). The routes (`crate::routes`) and the pages
//! (`crate::pages`) only translate requests and responses around it.

pub(crate) mod batches;
pub(crate) mod estimates;
pub(crate) mod margins;
pub(crate) mod sign_in;
