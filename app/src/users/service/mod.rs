//! User reads (server only); users have no mutations of their own (bulk upload writes them).
//! `directory`: the usernames held in memory for the upload page's look-ups.
mod directory;
mod query;

pub use directory::{ids_by_name, Directory};
pub use query::{matching, Query};
