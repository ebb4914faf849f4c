//! Time-boxed fuzzing of the CSV core (`parse`, `validate`, the outcome report) with proptest
//! strategies, for stable Rust: `fuzz_csv_core` generates inputs for `FUZZ_SECONDS` (default 3)
//! from three sources, and checks every input under every delimiter and encoding choice:
//!
//! 1. structured files: random records (quotes, delimiters, line breaks, NUL, BOMs, non-ASCII,
//!    long and empty cells) written by the `csv` crate's writer, with a round-trip oracle: the
//!    core reads back exactly the cells written, trimmed, blank records skipped, on the file's own
//!    line numbers;
//! 2. byte mutations of seed files: every file in `tests/hostile/` (when present) and built-ins;
//! 3. random bytes, bare or behind a valid header.
//!
//! A failing input is saved as `tests/fuzz-regressions/<hash>.bin` (after shrinking) and the test
//! fails naming it; `fuzz_regressions_replay` replays every saved file in each `cargo test`.
//! `FUZZ_SEED=<n>` repeats a run's generation.
use app::domain::Username;
use app::upload::parse::UsernameCell;
use app::upload::report::{report_csv, PackedOutcomes};
use app::upload::OptionValue;
use app::upload::{
    describe, parse, validate, Code, Column, DelimiterChoice, EncodingChoice, ExistingDetails,
    Knowledge, Level, Parsed, Report, UploadOptions, UploadType,
};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::{BoxedStrategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Invariants, for any bytes

/// Every check for one input: under every delimiter and encoding choice, parse must not panic and
/// must be deterministic; a parsed file must validate (every upload type, details mode and a few
/// states of the database) into a consistent report, and its CSV report must be formula-safe.
fn check(bytes: &[u8]) -> Result<(), String> {
    // Choices often read a file the same way (auto and the detected delimiter, say): a parse
    // equal to one already checked only has its delimiter checked.
    let mut checked: Vec<Parsed> = Vec::new();
    for &d in DelimiterChoice::all() {
        for &e in EncodingChoice::all() {
            let context = |m: String| format!("parse(delimiter {d:?}, encoding {e:?}): {m}");
            let first = guarded(|| parse(bytes, d, e)).map_err(context)?;
            let second = guarded(|| parse(bytes, d, e)).map_err(context)?;
            if first != second {
                return Err(context("two parses of the same bytes differ".into()));
            }
            match first {
                Err(err) => {
                    guarded(|| err.to_string()).map_err(context)?;
                }
                Ok(parsed) => {
                    if let Some(b) = d.byte() {
                        ensure(parsed.delimiter == b, "the forced delimiter was not used")
                            .map_err(context)?;
                    }
                    if !checked.contains(&parsed) {
                        check_parsed(&parsed).map_err(context)?;
                        differential(bytes, e, &parsed).map_err(context)?;
                        checked.push(parsed);
                    }
                }
            }
        }
    }
    Ok(())
}

fn check_parsed(p: &Parsed) -> Result<(), String> {
    ensure(
        p.columns.contains(&Column::Username),
        "parsed without a username column",
    )?;
    ensure(
        p.rows.first().is_none_or(|r| r.line >= 2),
        "a data row on line 1",
    )?;
    ensure(
        p.rows.windows(2).all(|w| w[0].line < w[1].line),
        "row line numbers do not strictly increase",
    )?;
    for row in &p.rows {
        let name = p.username(row);
        let (state, text) = spec_username(name);
        ensure(
            row.username_cell == state && (state == UsernameCell::Invalid || text == name),
            format!("username {name:?} read as {:?}", row.username_cell),
        )?;
        for cell in p.segment_cells(row) {
            ensure(
                (cell.segment as usize) < p.segment_ids.len(),
                "segment index out of range",
            )?;
            ensure(
                matches!(p.columns.get(cell.column as usize), Some(Column::Cohort(_))),
                "a segment cell outside a cohort column",
            )?;
        }
    }
    for (k, known) in knowledge_variants(p).iter().enumerate() {
        for &upload_type in UploadType::all() {
            for &existing_details in ExistingDetails::all() {
                let options = UploadOptions {
                    upload_type,
                    existing_details,
                    ..UploadOptions::default()
                };
                let report = guarded(|| validate(p, &options, known))?;
                check_report(p, &report, known, &options).map_err(|m| {
                    format!("validate({upload_type:?}, {existing_details:?}, knowledge #{k}): {m}")
                })?;
            }
        }
    }
    Ok(())
}

fn check_report(
    p: &Parsed,
    report: &Report,
    known: &Knowledge,
    options: &UploadOptions,
) -> Result<(), String> {
    let s = report.summary;
    let rows = p.rows.len();
    ensure(s.rows == rows as u64, "summary.rows differs from the rows")?;
    ensure(
        s.rows_ok + s.rows_with_errors == s.rows,
        format!(
            "rows_ok {} + rows_with_errors {} != rows {}",
            s.rows_ok, s.rows_with_errors, s.rows
        ),
    )?;
    ensure(
        report.row_start.len() == rows + 1
            && report.row_start.first() == Some(&0)
            && report.row_start.last().copied() == Some(report.outcomes.len() as u32)
            && report.row_start.windows(2).all(|w| w[0] <= w[1]),
        "row_start does not index the outcomes",
    )?;
    let mut error_rows = Vec::new();
    let (mut duplicates, mut already) = (0u64, 0u64);
    for (i, row) in p.rows.iter().enumerate() {
        // (An outcome's row is where `row_start` files it, checked above.)
        let outs = report.row_outcomes(i);
        let has_error = outs.iter().any(|o| o.code.level() == Level::Error);
        ensure(
            has_error == report.row_has_error(i),
            "row_has_error disagrees",
        )?;
        if has_error {
            error_rows.push(i as u32);
            ensure(
                outs.iter().all(|o| o.code.level() == Level::Error),
                format!(
                    "line {}: an info outcome on a row that is not applied",
                    row.line
                ),
            )?;
        }
        let count = |c: Code| outs.iter().filter(|o| o.code == c).count();
        ensure(
            (count(Code::MissingUsername) == 1) == (row.username_cell == UsernameCell::Missing)
                && count(Code::MissingUsername) <= 1,
            format!(
                "line {}: missing_username does not match the cell",
                row.line
            ),
        )?;
        ensure(
            (count(Code::InvalidUsername) == 1) == (row.username_cell == UsernameCell::Invalid)
                && count(Code::InvalidUsername) <= 1,
            format!(
                "line {}: invalid_username does not match the cell",
                row.line
            ),
        )?;
        let too_many: Vec<u32> = outs
            .iter()
            .filter(|o| o.code == Code::TooManyFields)
            .map(|o| o.count())
            .collect();
        ensure(
            too_many
                == (row.extra_cells > 0)
                    .then_some(row.extra_cells)
                    .into_iter()
                    .collect::<Vec<_>>(),
            format!(
                "line {}: too_many_fields does not match the extra cells",
                row.line
            ),
        )?;
        ensure(
            count(Code::UnknownUser) == 0 || options.upload_type == UploadType::UpdateExisting,
            "unknown_user under an upload type that creates users",
        )?;
        ensure(
            count(Code::UserExists) == 0 || options.upload_type == UploadType::AddNew,
            "user_exists under an upload type that updates users",
        )?;
        for o in outs {
            if o.code == Code::UnknownSegment {
                let id = o
                    .segment()
                    .and_then(|s| p.segment_ids.get(s as usize))
                    .ok_or("unknown_segment without a segment")?;
                ensure(
                    !known.segments.contains_key(id),
                    "unknown_segment for a known segment",
                )?;
            }
            duplicates += u64::from(o.code == Code::DuplicatePair);
            already += u64::from(o.code == Code::AlreadyMember);
            guarded(|| describe(p, row, o))?;
        }
    }
    ensure(
        report.error_rows == error_rows,
        "error_rows is not the rows with errors",
    )?;
    ensure(
        s.rows_with_errors == error_rows.len() as u64,
        "rows_with_errors is not the rows with errors",
    )?;
    ensure(s.duplicate_pairs == duplicates, "duplicate_pairs count")?;
    ensure(s.already_members == already, "already_members count")?;
    ensure(
        s.users_created == report.new_users.len() as u64,
        "users_created count",
    )?;
    ensure(
        options.creates_users() || report.new_users.is_empty(),
        "users created under update-existing",
    )?;
    ensure(
        s.memberships_added == report.additions.len() as u64,
        "memberships_added count",
    )?;
    let mut pairs = report.additions.clone();
    pairs.sort_by_key(|(s, u)| (*s, format!("{u:?}")));
    pairs.dedup();
    ensure(
        pairs.len() == report.additions.len(),
        "an addition repeated",
    )?;
    ensure(
        s.users_updated == report.updates.len() as u64,
        "users_updated count",
    )?;
    ensure(
        options.updates_details() || report.updates.is_empty(),
        "users updated under no-changes",
    )?;
    ensure(
        report.updates.iter().all(|u| u.before != u.after),
        "an update that changes nothing",
    )?;
    // The wire form the page receives after a commit renders the same outcomes.
    let unpacked = PackedOutcomes::pack(report).unpack(rows, s);
    ensure(
        unpacked.error_rows == report.error_rows,
        "packed outcomes: error rows differ",
    )?;
    for (i, row) in p.rows.iter().enumerate() {
        let a: Vec<_> = report
            .row_outcomes(i)
            .iter()
            .map(|o| describe(p, row, o))
            .collect();
        let b: Vec<_> = unpacked
            .row_outcomes(i)
            .iter()
            .map(|o| describe(p, row, o))
            .collect();
        ensure(
            a == b,
            format!("line {}: packed outcomes render differently", row.line),
        )?;
    }
    check_report_csv(p, report)
}

/// The download: one line per outcome (or one `ok` line), and no cell a spreadsheet would run.
fn check_report_csv(p: &Parsed, report: &Report) -> Result<(), String> {
    let text = guarded(|| report_csv(p, report))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut lines = 0usize;
    for record in reader.records() {
        let record = record.map_err(|e| format!("report CSV does not read back: {e}"))?;
        ensure(record.len() == 8, "a report line without 8 cells")?;
        for cell in record.iter() {
            ensure(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                format!("report cell {cell:?} would run as a formula"),
            )?;
        }
        lines += 1;
    }
    let expected = 1
        + (0..p.rows.len())
            .map(|i| report.row_outcomes(i).len().max(1))
            .sum::<usize>();
    ensure(
        lines == expected,
        format!("report CSV has {lines} lines, expected {expected}"),
    )
}

/// The rows as the `csv` crate reads the decoded text with the delimiter the core used, under the
/// SPEC 2 rules (blank records skipped, cells trimmed, short rows padded, non-empty cells past the
/// header counted): the core's rows must hold exactly these cells, in this order.
fn differential(bytes: &[u8], encoding: EncodingChoice, p: &Parsed) -> Result<(), String> {
    let (text, _) = app::upload::parse::decode(bytes, encoding)
        .map_err(|e| format!("parsed, but decoding fails: {e:?}"))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(p.delimiter)
        .from_reader(text.as_bytes());
    let mut records = Vec::new();
    for record in reader.byte_records() {
        let record =
            record.map_err(|e| format!("the csv crate fails where the core did not: {e}"))?;
        let cells: Vec<String> = record
            .iter()
            .map(|f| String::from_utf8_lossy(f).trim().to_string())
            .collect();
        if cells.iter().any(|c| !c.is_empty()) {
            records.push(cells);
        }
    }
    let data = records.get(1..).unwrap_or_default();
    ensure(
        data.len() == p.rows.len(),
        format!(
            "{} rows, the csv crate reads {} non-blank records after the header",
            p.rows.len(),
            data.len()
        ),
    )?;
    let mut segment_ids: Vec<&str> = Vec::new();
    for (row, cells) in p.rows.iter().zip(data) {
        let at = |m: String| format!("line {}: {m}", row.line);
        let cell = |c: Column| {
            p.columns
                .iter()
                .position(|x| *x == c)
                .and_then(|i| cells.get(i))
                .map(String::as_str)
                .filter(|v| !v.is_empty())
        };
        let (state, name) = spec_username(cell(Column::Username).unwrap_or(""));
        ensure(
            row.username_cell == state && p.username(row) == name,
            format!(
                "username {:?} ({:?}), the cell reads {name:?} ({state:?})",
                p.username(row),
                row.username_cell
            ),
        )
        .map_err(at)?;
        for (c, got) in [
            (Column::Firstname, p.firstname(row)),
            (Column::Lastname, p.lastname(row)),
            (Column::Email, p.email(row)),
        ] {
            ensure(
                got == cell(c),
                format!("{} {got:?}, the cell reads {:?}", c.name(), cell(c)),
            )
            .map_err(at)?;
        }
        let mut want = Vec::new();
        for (i, c) in p.columns.iter().enumerate() {
            if let (Column::Cohort(_), Some(v)) = (c, cells.get(i).filter(|v| !v.is_empty())) {
                if !segment_ids.contains(&v.as_str()) {
                    segment_ids.push(v);
                }
                want.push((i as u32, v.as_str()));
            }
        }
        let got: Vec<(u32, &str)> = p
            .segment_cells(row)
            .iter()
            .map(|c| (c.column, p.segment_ids[c.segment as usize].as_str()))
            .collect();
        ensure(
            got == want,
            format!("segments {got:?}, the cells read {want:?}"),
        )
        .map_err(at)?;
        let extra = cells
            .iter()
            .skip(p.columns.len())
            .filter(|c| !c.is_empty())
            .count() as u32;
        ensure(
            row.extra_cells == extra,
            format!("{} extra cells, the row has {extra}", row.extra_cells),
        )
        .map_err(at)?;
    }
    ensure(
        p.segment_ids == segment_ids,
        format!(
            "segment ids {:?}, the cells read {segment_ids:?}",
            p.segment_ids
        ),
    )
}

/// Empty; every user and half the segments known with compact ids (some details empty, some
/// memberships); every user and segment known with sparse ids (the hash-set pair path).
fn knowledge_variants(p: &Parsed) -> [Knowledge; 3] {
    let names: Vec<&str> = p.usernames().collect();
    let mut compact = Knowledge::default();
    let mut sparse = Knowledge::default();
    for i in 0..names.len() {
        let details = |i: usize| {
            if i.is_multiple_of(2) {
                (String::new(), String::new(), String::new())
            } else {
                (
                    "Old".to_string(),
                    "Name".to_string(),
                    format!("u{i}@example.com"),
                )
            }
        };
        let (firstname, lastname, email) = details(i);
        compact.users.ids.push(i as i32 + 1);
        compact
            .users
            .details
            .push([firstname.clone(), lastname.clone(), email.clone()]);
        sparse
            .users
            .ids
            .push((i as i32).wrapping_mul(40_000_003).wrapping_add(7).abs());
        sparse.users.details.push([firstname, lastname, email]);
    }
    for (i, id) in p.segment_ids.iter().enumerate() {
        if i.is_multiple_of(2) {
            compact.segments.insert(id.clone(), 100 + i as i32);
        }
        sparse.segments.insert(id.clone(), i32::MAX - i as i32);
    }
    for (i, _) in names
        .iter()
        .enumerate()
        .filter(|(i, _)| i.is_multiple_of(3))
    {
        compact.memberships.push((100, i as i32 + 1));
        // The same stored memberships under ids too sparse for bitsets (the hash-set path).
        sparse.memberships.push((i32::MAX, sparse.users.ids[i]));
    }
    [Knowledge::default(), compact, sparse]
}

/// SPEC 1 and the README: a username is ASCII as written, in `a-z 0-9 . _ - @` once lowercased,
/// at most `Username::MAX_LEN` long; it is stored lowercase. Returns the state and the text the
/// core should hold (the trimmed cell when invalid).
fn spec_username(trimmed: &str) -> (UsernameCell, String) {
    if trimmed.is_empty() {
        return (UsernameCell::Missing, String::new());
    }
    let lower = trimmed.to_ascii_lowercase();
    let valid = trimmed.is_ascii()
        && lower.len() <= Username::MAX_LEN
        && lower.bytes().all(Username::allowed_byte);
    if valid {
        (UsernameCell::Valid, lower)
    } else {
        (UsernameCell::Invalid, trimmed.to_string())
    }
}

fn ensure(ok: bool, message: impl Into<String>) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(message.into())
    }
}

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

/// Installs (once) a panic hook that, inside `guarded`, records the panic with its location
/// instead of printing it, so shrinking a panicking input does not flood the log.
fn quiet_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) {
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(info.to_string()));
            } else {
                default(info);
            }
        }))
    });
}

/// Runs `f`, turning a panic into an error that says where it happened.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    quiet_panics();
    let outer = GUARDED.with(|g| g.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(outer));
    result.map_err(|_| {
        LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| "panicked".into())
    })
}

// ---------------------------------------------------------------------------------------------
// Strategy 1: structured files written by the csv crate, with the round-trip oracle

#[derive(Debug, Clone)]
struct Structured {
    /// Header columns and their names as written (any case, padded).
    header: Vec<(Column, String)>,
    /// Data records as written (a record may be shorter or longer than the header).
    records: Vec<Vec<String>>,
    delimiter: u8,
    /// 0 LF, 1 CRLF, 2 CR.
    terminator: u8,
    quote_all: bool,
    bom: bool,
}

const WRITE_DELIMITERS: [u8; 5] = [b',', b';', b'\t', b':', b'|'];

fn piece() -> BoxedStrategy<String> {
    let fixed: Vec<&'static str> = vec![
        "\"",
        "\"\"",
        ",",
        ";",
        "\t",
        "|",
        ":",
        "\r",
        "\n",
        "\r\n",
        "\0",
        "\u{feff}",
        " ",
        "  ",
        "é",
        "ß",
        "日本",
        "😀",
        "\u{a0}",
        "\u{2028}",
        "\u{200b}",
        "\u{b}",
        "\u{c}",
        "\u{85}",
        "\u{1f}",
        "K",
        "\u{212a}",
        "İ",
        "=1+1",
        "@SUM(A1)",
        "-2",
        "+3",
        "a@b.co",
        "x@example.com",
        "cohort1",
        "username",
    ];
    prop_oneof![
        5 => "[a-z0-9._@-]{1,12}",
        2 => "[A-Za-z]{1,6}",
        4 => proptest::sample::select(fixed).prop_map(str::to_string),
        1 => "\\PC{0,8}",
        1 => (1usize..6000, "[a-z\"]").prop_map(|(n, c)| c.repeat(n)),
    ]
    .boxed()
}

fn free_cell() -> BoxedStrategy<String> {
    prop_oneof![
        2 => Just(String::new()),
        1 => "[ \t]{1,3}",
        6 => proptest::collection::vec(piece(), 1..4).prop_map(|v| v.concat()),
    ]
    .boxed()
}

fn cell_for(column: Column) -> BoxedStrategy<String> {
    match column {
        Column::Username => prop_oneof![
            6 => "[ ]{0,2}[a-zA-Z0-9._@-]{1,10}[ ]{0,2}",
            1 => Just("Alice".to_string()),
            3 => free_cell(),
        ]
        .boxed(),
        Column::Email => prop_oneof![
            3 => "[a-z]{1,6}@[a-z]{1,6}\\.[a-z]{2,3}",
            2 => free_cell(),
        ]
        .boxed(),
        Column::Cohort(_) => prop_oneof![
            4 => proptest::sample::select(vec!["s1", "s2", "007", " Sales ", "sales", "s1 "])
                .prop_map(str::to_string),
            3 => free_cell(),
        ]
        .boxed(),
        // (The fuzzer's headers have no profile_field_… columns.)
        Column::Firstname | Column::Lastname | Column::ProfileField(_) => free_cell(),
    }
}

fn header_strategy() -> impl Strategy<Value = Vec<(Column, String)>> {
    (
        any::<[bool; 3]>(),
        proptest::collection::vec(1u32..40, 0..5),
    )
        .prop_flat_map(|(optional, cohorts)| {
            let mut columns = vec![Column::Username];
            for (on, c) in optional
                .iter()
                .zip([Column::Firstname, Column::Lastname, Column::Email])
            {
                if *on {
                    columns.push(c);
                }
            }
            let mut seen = Vec::new();
            for n in cohorts {
                if !seen.contains(&n) {
                    seen.push(n);
                    columns.push(Column::Cohort(n));
                }
            }
            let n = columns.len();
            (
                Just(columns).prop_shuffle(),
                proptest::collection::vec((any::<u32>(), 0usize..3, 0usize..3), n),
            )
        })
        .prop_map(|(columns, styles)| {
            columns
                .into_iter()
                .zip(styles)
                .map(|(c, (case, left, right))| {
                    let name: String = c
                        .name()
                        .chars()
                        .enumerate()
                        .map(|(i, ch)| {
                            if case >> (i % 32) & 1 == 1 {
                                ch.to_ascii_uppercase()
                            } else {
                                ch
                            }
                        })
                        .collect();
                    (
                        c,
                        format!("{}{name}{}", " ".repeat(left), " ".repeat(right)),
                    )
                })
                .collect()
        })
}

fn structured() -> impl Strategy<Value = Structured> {
    header_strategy().prop_flat_map(|header| {
        let columns: Vec<Column> = header.iter().map(|(c, _)| *c).collect();
        let cells: Vec<BoxedStrategy<String>> = columns.iter().map(|c| cell_for(*c)).collect();
        let n = columns.len();
        let record = (
            cells,
            prop_oneof![8 => Just(0usize), 1 => 1usize..=n, 1 => Just(n + 1)],
            proptest::collection::vec(free_cell(), 1..3),
        )
            .prop_map(move |(mut cells, shape, extras)| {
                if shape >= 1 && shape <= n {
                    cells.truncate(shape);
                } else if shape > n {
                    cells.extend(extras);
                }
                cells
            });
        (
            Just(header),
            proptest::collection::vec(record, 0..10),
            proptest::sample::select(WRITE_DELIMITERS.to_vec()),
            0u8..3,
            proptest::bool::weighted(0.2),
            proptest::bool::weighted(0.2),
        )
            .prop_map(|(header, records, delimiter, terminator, quote_all, bom)| {
                Structured {
                    header,
                    records,
                    delimiter,
                    terminator,
                    quote_all,
                    bom,
                }
            })
    })
}

/// The file's bytes and each data record's starting byte offset.
fn render(s: &Structured) -> (Vec<u8>, Vec<usize>) {
    let mut w = csv::WriterBuilder::new()
        .delimiter(s.delimiter)
        .flexible(true)
        .terminator(match s.terminator {
            0 => csv::Terminator::Any(b'\n'),
            1 => csv::Terminator::CRLF,
            _ => csv::Terminator::Any(b'\r'),
        })
        .quote_style(if s.quote_all {
            csv::QuoteStyle::Always
        } else {
            csv::QuoteStyle::Necessary
        })
        .from_writer(Vec::new());
    let bom = if s.bom { 3 } else { 0 };
    w.write_record(s.header.iter().map(|(_, name)| name.as_str()))
        .expect("write header");
    let mut offsets = Vec::new();
    for record in &s.records {
        w.flush().expect("flush");
        offsets.push(bom + w.get_ref().len());
        w.write_record(record).expect("write record");
    }
    let mut bytes = if s.bom {
        vec![0xEF, 0xBB, 0xBF]
    } else {
        Vec::new()
    };
    bytes.extend(w.into_inner().expect("csv writer"));
    (bytes, offsets)
}

/// Line breaks as an editor counts them: LF, CRLF and a lone CR.
fn line_of(bytes: &[u8], offset: usize) -> u32 {
    let mut line = 1;
    for (i, &b) in bytes[..offset].iter().enumerate() {
        if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
            line += 1;
        }
    }
    line
}

/// The round trip: what the core reads is exactly what was written (trimmed; blank records
/// skipped; short records padded; non-empty cells past the header counted).
fn oracle(s: &Structured, bytes: &[u8], offsets: &[usize]) -> Result<(), String> {
    if s.delimiter == b'|' || bytes.contains(&0) {
        // Not a delimiter the core reads, or not a text file (a NUL byte is a file error); the
        // invariants still ran.
        return Ok(());
    }
    let forced = DelimiterChoice::from_byte(s.delimiter);
    // Detection reads the header line, which has a delimiter only with two or more columns.
    let auto_ok = s.header.len() >= 2 || s.delimiter == b',';
    let choices: &[DelimiterChoice] = if auto_ok {
        &[forced, DelimiterChoice::Auto]
    } else {
        &[forced]
    };
    let columns: Vec<Column> = s.header.iter().map(|(c, _)| *c).collect();
    for &d in choices {
        for e in [EncodingChoice::Auto, EncodingChoice::Utf8] {
            let context = |m: String| format!("round trip (delimiter {d:?}, encoding {e:?}): {m}");
            let p = parse(bytes, d, e).map_err(|err| context(format!("file error {err:?}")))?;
            ensure(p.delimiter == s.delimiter, "delimiter").map_err(context)?;
            ensure(p.columns == columns, format!("columns {:?}", p.columns)).map_err(context)?;
            let mut segment_ids: Vec<String> = Vec::new();
            let mut expected = Vec::new();
            for (record, &offset) in s.records.iter().zip(offsets) {
                if record.iter().all(|c| c.trim().is_empty()) {
                    continue;
                }
                expected.push((record, line_of(bytes, offset)));
            }
            ensure(
                p.rows.len() == expected.len(),
                format!("{} rows read, {} written", p.rows.len(), expected.len()),
            )
            .map_err(context)?;
            for (row, (record, line)) in p.rows.iter().zip(expected) {
                let at = |m: String| context(format!("line {line}: {m}"));
                ensure(row.line == line, format!("read on line {}", row.line)).map_err(at)?;
                let cell = |c: Column| {
                    columns
                        .iter()
                        .position(|x| *x == c)
                        .and_then(|i| record.get(i))
                        .map(|v| v.trim())
                        .filter(|v| !v.is_empty())
                };
                let (state, name) = spec_username(cell(Column::Username).unwrap_or(""));
                ensure(
                    row.username_cell == state && p.username(row) == name,
                    format!(
                        "username {:?} ({:?}), expected {name:?} ({state:?})",
                        p.username(row),
                        row.username_cell
                    ),
                )
                .map_err(at)?;
                for (c, got) in [
                    (Column::Firstname, p.firstname(row)),
                    (Column::Lastname, p.lastname(row)),
                    (Column::Email, p.email(row)),
                ] {
                    ensure(
                        got == cell(c),
                        format!("{} {got:?}, expected {:?}", c.name(), cell(c)),
                    )
                    .map_err(at)?;
                }
                let mut want = Vec::new();
                for (i, c) in columns.iter().enumerate() {
                    if let (Column::Cohort(_), Some(v)) = (c, record.get(i)) {
                        let v = v.trim();
                        if !v.is_empty() {
                            if !segment_ids.iter().any(|x| x == v) {
                                segment_ids.push(v.to_string());
                            }
                            want.push((i as u32, v.to_string()));
                        }
                    }
                }
                let got: Vec<(u32, String)> = p
                    .segment_cells(row)
                    .iter()
                    .map(|c| (c.column, p.segment_ids[c.segment as usize].clone()))
                    .collect();
                ensure(got == want, format!("segments {got:?}, expected {want:?}")).map_err(at)?;
                let extra = record
                    .iter()
                    .skip(columns.len())
                    .filter(|c| !c.trim().is_empty())
                    .count() as u32;
                ensure(
                    row.extra_cells == extra,
                    format!("{} extra cells, expected {extra}", row.extra_cells),
                )
                .map_err(at)?;
            }
            ensure(
                p.segment_ids == segment_ids,
                format!("segment ids {:?}, expected {segment_ids:?}", p.segment_ids),
            )
            .map_err(context)?;
        }
    }
    Ok(())
}

fn check_structured(s: &Structured) -> Result<(), (Vec<u8>, String)> {
    let (bytes, offsets) = render(s);
    let result =
        check(&bytes).and_then(|()| guarded(|| oracle(s, &bytes, &offsets)).and_then(|r| r));
    result.map_err(|m| (bytes, m))
}

// ---------------------------------------------------------------------------------------------
// Strategies 2 and 3: mutated seeds and random bytes

const TOKENS: &[&[u8]] = &[
    b"\"",
    b"\"\"",
    b",",
    b";",
    b"\t",
    b":",
    b"|",
    b"\r",
    b"\n",
    b"\r\n",
    b"\0",
    b"\xEF\xBB\xBF",
    b"\xFF\xFE",
    b"\xFE\xFF",
    b"\x80",
    b"\xFF",
    b"\xC3",
    b"\xC3\xA9",
    b"\xE2\x80\xA8",
    b"username",
    b"cohort1",
    b"cohort99999999999",
    b"cohort0",
    b"firstname",
    b"lastname",
    b"email",
    b"=",
    b"+",
    b"-",
    b"@",
    b" ",
    b"\"\r\n\"",
    b",,,,",
    b"\n\n\n",
];

#[derive(Debug, Clone)]
struct Mutation {
    kind: u8,
    at: Index,
    other: Index,
    len: usize,
    byte: u8,
    token: Index,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    (
        0u8..8,
        any::<Index>(),
        any::<Index>(),
        prop_oneof![3 => 0usize..8, 1 => 0usize..256],
        any::<u8>(),
        any::<Index>(),
    )
        .prop_map(|(kind, at, other, len, byte, token)| Mutation {
            kind,
            at,
            other,
            len,
            byte,
            token,
        })
}

fn mutate(seed: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for m in mutations {
        let at = m.at.index(v.len() + 1);
        let end = (at + m.len).min(v.len());
        let token = TOKENS[m.token.index(TOKENS.len())];
        match m.kind {
            0 => v.insert(at, m.byte),
            1 => {
                v.drain(at..end);
            }
            2 if at < v.len() => v[at] ^= 1 << (m.byte % 8),
            3 => {
                let slice = v[at..end].to_vec();
                let to = m.other.index(v.len() + 1);
                v.splice(to..to, slice);
            }
            4 => {
                v.splice(at..at, token.iter().copied());
            }
            5 => {
                v.splice(at..end, token.iter().copied());
            }
            6 => v.truncate(at.max(1)),
            7 if !v.is_empty() => {
                let b = m.other.index(v.len());
                let a = at.min(v.len() - 1);
                v.swap(a, b);
            }
            _ => v.push(m.byte),
        }
    }
    v
}

const BUILT_IN_SEEDS: &[&[u8]] = &[
    b"username,cohort1,cohort2\njane.doe,sales,leaders-2026\njohn.smith,marketing,\n",
    b"username;firstname;lastname;email;cohort1\r\nzoe;Zo\xEB;M\xFCller;z@example.com;s1\r\n",
    b"\xEF\xBB\xBFUserName\tCOHORT3\tcohort1\r\n Alice \t\"s,1\"\t007\r\n\r\n\"bob\"\t\"a\"\"b\"\t\n",
    b"username,firstname,lastname,email,cohort1\n\"al\nice\",\"=cmd\",\"+1\",-2@x.y,@s\n,,,,\nbob,B,C,b@c.de,s1,extra\n",
    b"username:cohort1:cohort2\rcarol:s1:s2\rdave:\"s:3\":\r",
    b"username,cohort1\nalice,s1\nbob,\"s2\ncarol,s3\n",
    b"username\n\xFF\xFEa\n\"\"\n",
];

/// Seed files: `tests/hostile/` (recursively; the first 64 KiB of each) and the built-ins.
fn seeds() -> Vec<Vec<u8>> {
    fn walk(dir: &Path, out: &mut Vec<Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            if path.is_dir() {
                walk(&path, out);
            } else if let Ok(mut bytes) = std::fs::read(&path) {
                bytes.truncate(64 * 1024);
                out.push(bytes);
            }
        }
    }
    let mut out: Vec<Vec<u8>> = BUILT_IN_SEEDS.iter().map(|s| s.to_vec()).collect();
    walk(&tests_dir().join("hostile"), &mut out);
    out
}

fn bytes_strategy(seeds: Arc<Vec<Vec<u8>>>) -> BoxedStrategy<Vec<u8>> {
    let alphabet: Vec<u8> = b"\",;\t:|\r\n \0aAzZ19@._-=+\xEF\xBB\xBF\xFF\xFE\x80\xC3\xA9".to_vec();
    let mutated = (any::<Index>(), proptest::collection::vec(mutation(), 1..10))
        .prop_map(move |(i, ms)| mutate(&seeds[i.index(seeds.len())], &ms));
    let random = proptest::collection::vec(any::<u8>(), 0..600);
    let csvish = proptest::collection::vec(proptest::sample::select(alphabet), 0..600);
    let headed = (
        proptest::sample::select(vec![
            "username,cohort1,cohort2,firstname,lastname,email\n",
            "username;cohort1\r\n",
            "username\tcohort1\temail\r",
            "username:cohort1:cohort2\n",
        ]),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(h, tail)| {
            let mut v = h.as_bytes().to_vec();
            v.extend(tail);
            v
        });
    prop_oneof![6 => mutated, 2 => random, 2 => csvish, 2 => headed].boxed()
}

// ---------------------------------------------------------------------------------------------
// The time-boxed loop, shrinking and regression files

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn regressions_dir() -> PathBuf {
    tests_dir().join("fuzz-regressions")
}

/// FNV-1a, 64 bits: a stable name for a regression file.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn save_and_fail(bytes: &[u8], message: &str, what: &str) -> ! {
    let dir = regressions_dir();
    std::fs::create_dir_all(&dir).expect("create tests/fuzz-regressions");
    let path = dir.join(format!("{:016x}.bin", fnv(bytes)));
    std::fs::write(&path, bytes).expect("write the regression file");
    let shown = if bytes.len() <= 600 {
        format!("{:?}", String::from_utf8_lossy(bytes))
    } else {
        format!("{} bytes", bytes.len())
    };
    panic!(
        "fuzzing found a failure ({what}): {message}\ninput saved as {}\ninput: {shown}",
        path.display()
    );
}

/// Shrinks a failing value with proptest's value tree; returns the smallest failure found.
fn shrink<T, F>(
    tree: &mut impl ValueTree<Value = T>,
    mut best: F,
    fails: impl Fn(&T) -> Option<F>,
) -> F {
    let deadline = Instant::now() + Duration::from_secs(60);
    if !tree.simplify() {
        return best;
    }
    for _ in 0..5_000 {
        if Instant::now() > deadline {
            break;
        }
        let more = match fails(&tree.current()) {
            Some(f) => {
                best = f;
                tree.simplify()
            }
            None => tree.complicate(),
        };
        if !more {
            break;
        }
    }
    best
}

fn fuzz_seconds() -> f64 {
    std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(3.0)
}

#[test]
fn fuzz_csv_core() {
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &key),
    );
    let seeds = Arc::new(seeds());
    let structured = structured();
    let bytes = bytes_strategy(seeds.clone());
    let budget = Duration::from_secs_f64(fuzz_seconds());
    let start = Instant::now();
    let (mut tried, mut structured_tried, mut total_bytes) = (0u64, 0u64, 0u64);
    while start.elapsed() < budget {
        if tried.is_multiple_of(2) {
            let mut tree = structured.new_tree(&mut runner).expect("structured tree");
            let value = tree.current();
            if let Err(failure) = check_structured(&value) {
                let (bytes, message) = shrink(&mut tree, failure, |s| check_structured(s).err());
                save_and_fail(&bytes, &message, &format!("structured, FUZZ_SEED={seed}"));
            }
            structured_tried += 1;
        } else {
            let mut tree = bytes.new_tree(&mut runner).expect("bytes tree");
            let value = tree.current();
            total_bytes += value.len() as u64;
            if let Err(message) = check(&value) {
                let (bytes, message) = shrink(&mut tree, (value, message), |v| {
                    check(v).err().map(|m| (v.clone(), m))
                });
                save_and_fail(&bytes, &message, &format!("bytes, FUZZ_SEED={seed}"));
            }
        }
        tried += 1;
    }
    println!(
        "fuzz_csv_core: {tried} inputs in {:.1}s ({structured_tried} structured with the round-trip \
         oracle, {} mutated/random averaging {} bytes; {} seed files; FUZZ_SEED={seed})",
        start.elapsed().as_secs_f64(),
        tried - structured_tried,
        total_bytes / (tried - structured_tried).max(1),
        seeds.len(),
    );
}

#[test]
fn fuzz_regressions_replay() {
    let Ok(entries) = std::fs::read_dir(regressions_dir()) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    paths.sort();
    let mut failures = Vec::new();
    for path in &paths {
        let bytes = std::fs::read(path).expect("read regression file");
        if let Err(message) = check(&bytes) {
            failures.push(format!("{}: {message}", path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!("fuzz_regressions_replay: {} files", paths.len());
}
