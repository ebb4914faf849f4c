//! Sign-in, sign-out and the access rules of SPEC 1.
//!
//! `api.rs` holds the server functions, `page.rs` the components, `next.rs` the redirect rule;
//! behind `ssr`, `service.rs` (accounts, argon2), `throttle.rs` (sign-in limits),
//! `session_store.rs` and `guard.rs` (the access guard in front of every route).
pub mod api;
pub mod next;
pub mod page;

#[cfg(feature = "ssr")]
pub mod guard;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod session_store;
#[cfg(feature = "ssr")]
pub mod throttle;

pub use api::*;
#[cfg(feature = "ssr")]
pub use next::safe_next;
pub use next::DEFAULT_NEXT;
pub use page::*;

/// Session key holding the signed-in user's id.
pub const SESSION_USER_KEY: &str = "uid";
