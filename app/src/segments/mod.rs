//! User segments (site-wide cohorts, SPEC 2): listing, create / edit / delete, and members.
//!
//! - `api`: the server functions;
//! - `pages`: the components (list, create / edit, members);
//! - `service` (server only): `Query` and `Mutation`, taking `&impl ConnectionTrait` so bulk
//!   upload and sync compose them in one transaction;
//! - `types`: what the pages receive.
mod api;
mod pages;
#[cfg(feature = "ssr")]
pub mod service;
mod types;

pub use api::*;
pub use pages::*;
pub use types::*;
