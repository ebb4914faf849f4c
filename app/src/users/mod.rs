//! Users (SPEC 1): the searchable, paginated list and the username suggestions other pages offer.
//! Users are created and changed by bulk upload (`crate::upload`); this feature only reads them.
//!
//! - `api`: the server functions; `page`: the list; `types`: what the page receives;
//! - `service` (server only): `Query` and `matching`, the one user search every listing shares;
//!   `Directory`, the usernames held in memory for the upload preview's look-ups.
mod api;
mod page;
#[cfg(feature = "ssr")]
pub mod service;
mod types;

pub use api::*;
pub use page::*;
pub use types::*;
