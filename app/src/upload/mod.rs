//! Bulk upload of users to user segments (SPEC 2-4): the CSV core shared by browser and server,
//! the page, and (behind `ssr`) the commit service.
pub mod api;
mod browser;
pub mod options;
pub mod page;
pub mod parse;
pub mod report;
#[cfg(feature = "ssr")]
pub mod service;
pub mod types;
pub mod validate;

#[cfg(test)]
mod tests;

pub use options::{DelimiterChoice, EncodingChoice, ExistingDetails, UploadOptions, UploadType};
pub use parse::{parse, Column, FileError, Parsed, MAX_FILE_BYTES};
pub use validate::{
    describe, validate, Code, Knowledge, KnownUser, Level, OutcomeView, Report, Summary,
};
