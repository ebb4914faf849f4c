//! The server side of the imports: look-ups (`lookup`), each kind's set-based apply and undo
//! (`apply`), and the commit and dry run that re-validate in one transaction (`commit`). Plain
//! async functions over `ConnectionTrait`; `api.rs` and the CLI call these.
mod apply;
mod commit;
mod lookup;

pub use apply::{still_present, undo, undo_impact};
pub use commit::{commit_staged, effects_of_enrolments, run, RunMode};
pub use lookup::look_up;

/// Rows per multi-row statement and names per IN (…): under SQLite's bound-parameter limit.
const CHUNK: usize = 5_000;
/// Rows per `db::insert_json` statement: one bound text each, so no parameter limit applies.
const JSON_CHUNK: usize = 20_000;
