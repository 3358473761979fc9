//! Authentication: signed tokens and the request extractor that checks them.

pub mod jwt;

pub use jwt::{Audience, Claims, Role, Subject, Tokens};
