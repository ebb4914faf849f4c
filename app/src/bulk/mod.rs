//! What every bulk file shares beyond the file layer (`upload::parse::read_records`): the
//! browser's batched look-ups (`batches`) and, on the server, the one commit path (`engine`)
//! that the membership upload and the SPEC 7 imports are kinds of.
pub mod api;
pub mod batches;
#[cfg(feature = "ssr")]
mod engine;
pub mod progress;

pub use batches::in_batches;
#[cfg(feature = "ssr")]
pub use engine::{checkpoint, commit_staged, run, BulkKind, Outcome, RunMode};
#[cfg(feature = "ssr")]
pub use progress::Tracker;
pub use progress::{CommitProgress, CommitStep};
