//! The hostile-input corpus (`app/tests/hostile/`) through the browser's core: parse + validate
//! with a fixed knowledge, and every documented outcome holds; nothing panics; the report CSV
//! never starts a cell with a spreadsheet formula. `cargo test -p app --test hostile`.
#[path = "hostile/support.rs"]
mod support;

use app::upload::report::report_csv;
use app::upload::validate;
use std::path::PathBuf;
use support::{check, Case};

fn dir() -> PathBuf {
    support::corpus_dir(env!("CARGO_MANIFEST_DIR"), "tests/hostile")
}

/// Runs one case through the core; returns what went wrong, if anything.
fn run_case(case: &Case, spec: &support::KnowledgeSpec) -> Result<(), String> {
    let bytes = case.bytes(&dir());
    let parsed = match support::parse_case(case, &bytes) {
        Ok(p) => p,
        Err(e) => return check(case, Err(&e)),
    };
    let report = validate(&parsed, &case.options(), &support::knowledge(spec, &parsed));
    check(case, Ok((&parsed, &report)))?;

    // What a commit would write: users created + memberships added.
    let writes = report.new_users.len() as u64 + report.additions.len() as u64;
    if writes != case.writes {
        return Err(format!(
            "would write {writes} (users + memberships), documented {}",
            case.writes
        ));
    }
    for want in &case.stored.users {
        let Some(got) = report
            .new_users
            .iter()
            .find(|u| u.username == want.username)
        else {
            return Err(format!("{} is not among the new users", want.username));
        };
        let got = (&got.firstname, &got.lastname, &got.email);
        if got != (&want.firstname, &want.lastname, &want.email) {
            return Err(format!(
                "new user {} would be stored as {got:?}",
                want.username
            ));
        }
    }
    if report.additions.len() != case.stored.memberships.len() {
        return Err(format!(
            "{} memberships would be added, documented {:?}",
            report.additions.len(),
            case.stored.memberships
        ));
    }

    // The downloadable report neutralises formulas in every cell.
    if parsed.rows.len() < 10_000 {
        let csv_text = report_csv(&parsed, &report);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(csv_text.as_bytes());
        for record in reader.records() {
            let record = record.map_err(|e| format!("report CSV unreadable: {e}"))?;
            for cell in record.iter() {
                if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                    return Err(format!("report CSV cell {cell:?} could run as a formula"));
                }
            }
        }
    }
    Ok(())
}

#[test]
fn every_corpus_case_has_its_documented_outcome_in_the_core() {
    let manifest = support::load(&dir());
    let mut failures = Vec::new();
    for case in &manifest.cases {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_case(case, &manifest.knowledge)
        }))
        .unwrap_or_else(|_| Err("PANICKED".into()));
        if let Err(e) = result {
            failures.push(format!("{}: {e}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from the manifest:\n{}",
        failures.len(),
        manifest.cases.len(),
        failures.join("\n")
    );
}

#[test]
fn every_corpus_file_is_in_the_manifest_and_the_huge_ones_are_not_committed() {
    let manifest = support::load(&dir());
    let mut files: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".csv"))
        .collect();
    files.sort();
    let mut listed: Vec<String> = manifest
        .cases
        .iter()
        .filter(|c| !c.generated)
        .map(|c| c.name.clone())
        .collect();
    listed.sort();
    assert_eq!(files, listed);
    for name in &files {
        let size = std::fs::metadata(dir().join(name)).unwrap().len();
        assert!(
            size <= 2 << 20,
            "{name} is {size} bytes: generate it instead"
        );
    }
}
