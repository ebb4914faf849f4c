//! User reads (server only); users have no mutations of their own (bulk upload writes them).
mod query;

pub use query::{matching, Query};
