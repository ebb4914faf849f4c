//! The hostile-input corpus (`manifest.json` beside this file) as the core test
//! (`app/tests/hostile.rs`) and the server test (`server/tests/hostile.rs`) both read it.
#![allow(dead_code)]
use app::upload::{
    parse, validate::KnownUsers, FileError, Knowledge, KnownUser, Parsed, Report, UploadOptions,
    UploadType, MAX_FILE_BYTES,
};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub knowledge: KnowledgeSpec,
    pub cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
pub struct KnowledgeSpec {
    pub users: Vec<String>,
    pub segments: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct Case {
    pub name: String,
    pub what: String,
    #[serde(default)]
    pub options: CaseOptions,
    pub expect: Expect,
    pub writes: u64,
    #[serde(default)]
    pub stored: Stored,
    #[serde(default)]
    pub literal: Vec<String>,
    #[serde(default)]
    pub generated: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct CaseOptions {
    pub upload_type: Option<String>,
    pub delimiter: Option<String>,
    pub encoding: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Expect {
    pub file_error: Option<String>,
    pub rows: Option<u64>,
    pub rows_ok: Option<u64>,
    pub rows_with_errors: Option<u64>,
    pub codes: Option<Vec<String>>,
    pub lines: Option<Vec<u32>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Stored {
    #[serde(default)]
    pub users: Vec<StoredUser>,
    /// (username, segment ID number)
    #[serde(default)]
    pub memberships: Vec<(String, String)>,
}

#[derive(Debug, Deserialize)]
pub struct StoredUser {
    pub username: String,
    pub firstname: String,
    pub lastname: String,
    pub email: String,
}

pub fn load(dir: &Path) -> Manifest {
    let text = std::fs::read_to_string(dir.join("manifest.json")).expect("read manifest.json");
    let m: Manifest = serde_json::from_str(&text).expect("parse manifest.json");
    assert!(m.cases.len() >= 40, "the corpus has at least 40 cases");
    m
}

impl Case {
    pub fn options(&self) -> UploadOptions {
        let mut o = UploadOptions::default();
        if let Some(t) = &self.options.upload_type {
            o.upload_type = t.parse().expect("upload_type");
        }
        if let Some(d) = &self.options.delimiter {
            o.delimiter = d.parse().expect("delimiter");
        }
        if let Some(e) = &self.options.encoding {
            o.encoding = e.parse().expect("encoding");
        }
        o
    }

    /// The file's bytes: read from the corpus, or generated for the huge cases.
    pub fn bytes(&self, dir: &Path) -> Vec<u8> {
        if !self.generated {
            return std::fs::read(dir.join(&self.name))
                .unwrap_or_else(|e| panic!("read {}: {e}", self.name));
        }
        match self.name.as_str() {
            "59-100mb-unknown-users.csv" => hundred_mb(),
            // Zeroed pages are not touched: cheap however large.
            "60-over-256mib.csv" => vec![0u8; MAX_FILE_BYTES + 1],
            other => panic!("no generator for {other}"),
        }
    }
}

/// Rows of case 59.
pub const HUNDRED_MB_ROWS: usize = 102_800;

/// Case 59: `username,firstname,cohort1` then 102,800 rows of 1,020 bytes naming unknown users.
pub fn hundred_mb() -> Vec<u8> {
    let pad = "x".repeat(1000);
    let mut out = Vec::with_capacity(27 + HUNDRED_MB_ROWS * 1020);
    out.extend_from_slice(b"username,firstname,cohort1\n");
    for i in 0..HUNDRED_MB_ROWS {
        out.extend_from_slice(format!("ghost{i:07},{pad},sales\n").as_bytes());
    }
    assert!(out.len() > 100_000_000);
    out
}

pub fn corpus_dir(manifest_dir: &str, relative: &str) -> PathBuf {
    Path::new(manifest_dir).join(relative)
}

/// The fixed knowledge of the core test about `parsed`'s names: users and segments numbered
/// from 1 in manifest order (what a fresh database assigns), no memberships.
pub fn knowledge(spec: &KnowledgeSpec, parsed: &Parsed) -> Knowledge {
    let mut k = Knowledge {
        users: KnownUsers::by_name(parsed, |name| {
            let i = spec.users.iter().position(|u| u == name)?;
            Some(KnownUser {
                id: i as i32 + 1,
                firstname: capitalise(name),
                lastname: "Known".into(),
                email: format!("{name}@example.com"),
            })
        }),
        ..Default::default()
    };
    for (i, s) in spec.segments.iter().enumerate() {
        k.segments.insert(s.clone(), i as i32 + 1);
    }
    k
}

pub fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Checks a parse + validate outcome against the case's documented one.
pub fn check(case: &Case, outcome: Result<(&Parsed, &Report), &FileError>) -> Result<(), String> {
    let e = &case.expect;
    match (outcome, &e.file_error) {
        (Err(err), Some(want)) => {
            let msg = err.to_string();
            if msg.contains(want.as_str()) {
                Ok(())
            } else {
                Err(format!("file error {msg:?} does not contain {want:?}"))
            }
        }
        (Err(err), None) => Err(format!("unexpected file error: {err}")),
        (Ok((parsed, report)), Some(want)) => Err(format!(
            "expected the file error {want:?}, got {} rows: {:?}",
            parsed.rows.len(),
            report.summary
        )),
        (Ok((parsed, report)), None) => {
            let s = report.summary;
            let got = (s.rows, s.rows_ok, s.rows_with_errors);
            let want = (
                e.rows.expect("rows"),
                e.rows_ok.expect("rows_ok"),
                e.rows_with_errors.expect("rows_with_errors"),
            );
            if got != want {
                return Err(format!(
                    "(rows, rows_ok, rows_with_errors) = {got:?}, documented {want:?}; codes {:?}",
                    codes(report)
                ));
            }
            let want_codes: BTreeSet<String> =
                e.codes.clone().unwrap_or_default().into_iter().collect();
            if codes(report) != want_codes {
                return Err(format!(
                    "codes {:?}, documented {want_codes:?}",
                    codes(report)
                ));
            }
            if let Some(lines) = &e.lines {
                let got: Vec<u32> = parsed.rows.iter().map(|r| r.line).collect();
                if &got != lines {
                    return Err(format!("lines {got:?}, documented {lines:?}"));
                }
            }
            Ok(())
        }
    }
}

pub fn codes(report: &Report) -> BTreeSet<String> {
    report
        .outcomes
        .iter()
        .map(|o| o.code.as_str().to_string())
        .collect()
}

/// Parses as the page and the server do.
pub fn parse_case(case: &Case, bytes: &[u8]) -> Result<Parsed, FileError> {
    let o = case.options();
    parse(bytes, o.delimiter, o.encoding)
}

pub fn creates_users(case: &Case) -> bool {
    case.options().upload_type != UploadType::UpdateExisting
}
