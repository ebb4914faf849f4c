//! Courses (SPEC 4 and 5's course side): courses, course groups, enrolments and enrolment method
//! instances, where "User segment members to group" and "User segment sync" are added.
//!
//! - `api`: the server functions;
//! - `pages`: the components (list, create / edit, and a course's participants, groups and
//!   methods);
//! - `service` (server only): `query` and `mutation`, plain async functions taking
//!   `&impl ConnectionTrait`; the sync rules themselves live in `crate::sync`;
//! - `types`: what the pages receive and send, and the course side's states
//!   (`EnrolMethodKind`, `EnrolmentStatus`, `RemovalAction`), which are also column types.
mod api;
mod pages;
#[cfg(feature = "ssr")]
pub mod service;
mod types;

pub use api::*;
pub use pages::*;
pub use types::*;
