//! Segment and membership queries and mutations (server only). Every function takes
//! `&impl ConnectionTrait` so callers compose them inside one transaction (bulk upload, sync).
mod mutation;
mod query;

pub use mutation::{AddMemberOutcome, Mutation};
pub use query::Query;
