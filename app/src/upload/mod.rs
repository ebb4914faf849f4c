//! Bulk upload of users to user segments (SPEC 2-4): the CSV core shared by browser and server,
//! the page, and (behind `ssr`) the commit service.
pub mod api;
pub(crate) mod browser;
pub mod lookup_client;
pub mod options;
pub mod page;
pub mod parse;
pub mod report;
#[cfg(feature = "ssr")]
pub mod service;
pub(crate) mod state;
pub mod types;
pub mod validate;

#[cfg(test)]
mod tests;

pub use options::{
    DelimiterChoice, EncodingChoice, ExistingDetails, OptionValue, UploadOptions, UploadType,
};
pub use parse::{parse, Column, FileError, Parsed, MAX_FILE_BYTES};
pub use validate::{
    describe, validate, Code, Knowledge, KnownUser, Level, OutcomeView, Report, Summary, Validation,
};

/// What the benchmarks validate against: every user and segment of `parsed` known (ids assigned
/// in file order, as the server's answers would give them), no stored membership.
pub fn every_name_known(parsed: &Parsed) -> Knowledge {
    let mut known = Knowledge::default();
    known.users.ids = (1..=parsed.usernames().len() as i32).collect();
    for (i, s) in parsed.segment_ids.iter().enumerate() {
        known.segments.insert(s.clone(), i as i32);
    }
    known
}

/// The browser benchmark's measurement of the core: parse, then validate with every user and
/// segment known (ids assigned here, as the server's answers would), so validation does its full
/// work. Returns `[rows, parse ms, validate ms, memberships to add, knowledge-building ms]`; the
/// last is the page's merging of server answers, not the core, and is reported apart.
pub fn core_benchmark(bytes: &[u8]) -> [f64; 5] {
    let t0 = browser::now_ms();
    let Ok(parsed) = parse(bytes, DelimiterChoice::Auto, EncodingChoice::Auto) else {
        return [0.0; 5];
    };
    let t1 = browser::now_ms();
    let known = every_name_known(&parsed);
    let t2 = browser::now_ms();
    let report = validate(&parsed, &UploadOptions::default(), &known);
    let t3 = browser::now_ms();
    [
        parsed.rows.len() as f64,
        t1 - t0,
        t3 - t2,
        report.summary.memberships_added as f64,
        t2 - t1,
    ]
}
