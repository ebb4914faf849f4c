//! Benchmark: the CSV core natively (issue 13, item 2), on the browser bench's generated file
//! (username + 5 segment columns, CRLF), beside the `csv` crate's bare split of the same bytes
//! (every record read into one reused `ByteRecord`, its fields touched), the least any parse
//! built on that crate can do. The browser bench compares the same core in WASM with uDSV; this
//! one runs without a browser, so a profiler (`perf record`) can see where the parse's time goes.
//!
//! Interleaved runs (split, parse, validate, repeat), medians:
//!
//!     cargo run --release -p tools --bin bench-parse -- [--users ROWS]
//!
//! `BENCH_RUNS` sets the runs (default 7); with `--users N` only that size runs. Without it, a
//! last line times the browser bench's re-upload case (`BENCH_SCENARIO=segments`: 1,000,000
//! rows over 200,000 users and 20 segments that already hold every pair of the file), where
//! validation meets a stored membership or a repeated pair in each of its 5,000,000 cells.
use app::upload::{
    every_name_known, parse, validate, DelimiterChoice, EncodingChoice, UploadOptions,
};
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let sizes: Vec<usize> = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [flag, n] if flag == "--users" => vec![n.parse().expect("--users N")],
        [] => vec![10_000, 100_000, 1_000_000, REUPLOAD],
        _ => panic!("usage: bench-parse [--users ROWS]"),
    };
    println!("bench-parse: {runs} interleaved runs per size, medians (ms)");
    println!("rows       MB   split    parse   validate  parse/split  split MB/s  parse MB/s");
    for size in sizes {
        let reupload = size == REUPLOAD;
        let rows = if reupload { 1_000_000 } else { size };
        let bytes = if reupload {
            reupload_file()
        } else {
            file(rows)
        };
        let (mut split, mut parsed, mut valid) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let t = Instant::now();
            let (records, fields) = bare_split(&bytes);
            split.push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!((records, fields), (rows + 1, (rows + 1) * 6));

            let t = Instant::now();
            let p = parse(&bytes, DelimiterChoice::Auto, EncodingChoice::Auto).expect("parses");
            parsed.push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(p.rows.len(), rows);

            let mut known = every_name_known(&p);
            if reupload {
                // Every (segment, user) pair of the file is stored, as the look-ups answer: user
                // `j` has id j + 1 and `seg-n` id n (both numbered in first-seen order).
                known.memberships = (0..200_000)
                    .flat_map(|j| (0..5).map(move |k| ((j + k) % 20, j + 1)))
                    .collect();
            }
            let t = Instant::now();
            let report = validate(&p, &UploadOptions::default(), &known);
            valid.push(t.elapsed().as_secs_f64() * 1e3);
            let added = if reupload { 0 } else { rows * 5 };
            assert_eq!(report.summary.memberships_added, added as u64);
            if reupload {
                assert_eq!(report.summary.already_members, 1_000_000);
            }
        }
        let (s, p, v) = (median(split), median(parsed), median(valid));
        let mb = bytes.len() as f64 / 1e6;
        let label = if reupload {
            "1000000 re-upload".to_string()
        } else {
            rows.to_string()
        };
        println!(
            "{label:<9} {mb:>5.1} {s:>7.1} {p:>8.1} {v:>9.1}  {:>10.2}x  {:>10.0}  {:>10.0}",
            p / s,
            mb / (s / 1e3),
            mb / (p / 1e3)
        );
    }
}

/// `sizes`' marker for the re-upload case.
const REUPLOAD: usize = usize::MAX;

/// scripts/bench-browser.sh's re-upload file (`BENCH_SCENARIO=segments`), byte for byte: row
/// `i` is user `i % 200,000` in segments `seg-(j + k) % 20` for k in 0..5.
fn reupload_file() -> Vec<u8> {
    let mut out = String::from("username,cohort1,cohort2,cohort3,cohort4,cohort5");
    for i in 0..1_000_000 {
        let j = i % 200_000;
        out.push_str(&format!("\r\nlearner.{}.{}@corp", radix36(j), j % 97));
        for k in 0..5 {
            out.push_str(&format!(",seg-{}", (j + k) % 20));
        }
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// The browser bench's file (end2end/bench/browser.bench.ts), byte for byte.
fn file(rows: usize) -> Vec<u8> {
    let mut out = String::from("username,cohort1,cohort2,cohort3,cohort4,cohort5");
    for i in 0..rows {
        out.push_str(&format!(
            "\r\nlearner.{}.{}@corp,dept-{},site-{},role-{},cohort-2026-{},team-{}",
            radix36(i),
            i % 97,
            i % 12,
            i % 7,
            i % 5,
            i % 3,
            i % 40
        ));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

fn radix36(mut n: usize) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    if n == 0 {
        return "0".into();
    }
    let mut out = Vec::new();
    while n > 0 {
        out.push(DIGITS[n % 36]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}

/// Records and fields, read the way the core reads them, with nothing done per field but
/// counting (its length is summed so the reads are not optimised away).
fn bare_split(bytes: &[u8]) -> (usize, usize) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    let (mut records, mut fields, mut len) = (0, 0, 0usize);
    while reader.read_byte_record(&mut record).expect("csv") {
        records += 1;
        fields += record.len();
        len += record.as_slice().len();
    }
    std::hint::black_box(len);
    (records, fields)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    xs[xs.len() / 2]
}
