//! Course-side queries and mutations (server only): plain async functions taking
//! `&impl ConnectionTrait`, so callers (server functions, bulk upload, tests) compose them in one
//! transaction.
mod mutation;
mod query;

pub use crate::courses::SyncGroup;
pub use mutation::*;
pub use query::*;
