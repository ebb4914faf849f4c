//! The bulk imports of SPEC 7 ("Bulk create user segments", "Bulk create course groups", "Bulk
//! add users to course groups", "Bulk enrol users into courses") on one engine.
//!
//! A kind declares its columns (`table`), its row rules and the writes they plan (`validate`),
//! and its set-based apply and undo (`service::apply`). The engine owns the rest once: the file
//! layer shared with the membership upload (`upload::parse::read_records`), batched look-ups
//! (`Questions` → `Knowledge`, through `bulk::in_batches`), the section 5 effects, chunked
//! staging (the upload's), the commit (`bulk::run`, the membership upload's too) that
//! re-validates under the write lock in one transaction, history with undo, the report CSV, the
//! template, the page and the CLI.
pub mod api;
pub mod options;
pub mod page;
pub mod report;
#[cfg(feature = "ssr")]
pub mod service;
mod state;
pub mod table;
pub mod types;
pub mod validate;

#[cfg(test)]
mod tests;

pub use options::{ImportKind, ImportMode, ImportOptions, NotEnrolled};
pub use table::{parse_table, Col, Table};
pub use types::{Effects, ImportResult, Knowledge, Questions, UndoImpact};
pub use validate::{questions, validate, ImportCode, ImportSummary, Plan, Report, RowResult};
