//! Benchmark: commit 1,000,000 memberships (200k users x 5 segments) through the bulk upload
//! path (`upload::service::run`: parse, look-ups, validate and apply in one transaction under
//! the write lock), beside the ceiling: the same pairs, ids already resolved, into the same
//! `segment_members` table (primary key, both indexes, foreign keys enforced, each row naming
//! its batch as the upload's do), by the fastest raw way each database has:
//! - SQLite: the faster of one prepared single-row INSERT reused per pair and one prepared
//!   200-row INSERT reused per chunk, in one transaction through the C library (`rusqlite`);
//! - PostgreSQL: the faster of one prepared INSERT per pair and `INSERT … SELECT FROM UNNEST`
//!   of 50,000-pair arrays, in one transaction.
//!
//! Runs of ours and of the ceiling are interleaved, the table emptied between them; medians are
//! printed, with peak RSS of our commit (`VmHWM`, the process's; the target is checked on the
//! first run's, the only one the earlier runs have not grown), and, sampled during the commit,
//! its two parts: anonymous memory (the heap) and file-backed pages (the program's code and, on
//! SQLite, the memory-mapped database file), each with how much a commit grew it. PostgreSQL's
//! runs are in a process of their own (the bench runs itself again), so the SQLite runs before
//! them do not grow their figures. The same sampling runs during the ceiling's runs, so both
//! sides pay its small cost.
//!
//!     cargo run --release -p tools --bin bench-commit -- [--users N] [--postgres URL]
//!
//! `BENCH_RUNS` sets the runs (default 3).
use app::entities::{segment, user};
use app::upload::service::run;
use app::upload::UploadOptions;
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait,
    QuerySelect, Statement, TransactionTrait,
};
use std::collections::HashMap;
use std::time::Instant;

const SEGMENTS: usize = 5;

#[tokio::main]
async fn main() {
    let tools::bench::BenchArgs { users, postgres } = tools::bench::args(200_000);
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    println!(
        "bench-commit: {users} users x {SEGMENTS} segments = {} memberships, {runs} interleaved runs, medians",
        users * SEGMENTS
    );
    // Set in the process this one starts for PostgreSQL's runs.
    const POSTGRES_ONLY: &str = "BENCH_COMMIT_POSTGRES_ONLY";
    if std::env::var_os(POSTGRES_ONLY).is_some() {
        let admin_url = postgres.expect("the same arguments, --postgres among them");
        let scratch = tools::bench::ScratchDb::create(&admin_url, "bench").await;
        bench("postgres", &scratch.url, None, users, runs).await;
        scratch.drop().await;
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = format!("{}/bench.db", dir.path().display());
    let sqlite = format!("sqlite://{path}?mode=rwc");
    bench("sqlite", &sqlite, Some(&path), users, runs).await;
    if postgres.is_some() {
        // PostgreSQL's runs in a fresh process: in this one, the heap the SQLite runs freed and
        // the allocator kept would count in their peak RSS.
        let status = std::process::Command::new(std::env::current_exe().expect("own path"))
            .args(std::env::args_os().skip(1))
            .env(POSTGRES_ONLY, "1")
            .status()
            .expect("runs itself for PostgreSQL");
        assert!(status.success(), "the PostgreSQL runs failed: {status}");
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    xs[xs.len() / 2]
}

async fn bench(label: &str, url: &str, sqlite_path: Option<&str>, users: usize, runs: usize) {
    let db = app::db::connect_and_migrate(url).await.expect("database");
    seed(&db, users).await;
    let csv = csv_file(users);
    println!(
        "\n[{label}] file: {:.1} MB, {users} rows",
        csv.len() as f64 / 1e6
    );
    let pairs = resolved_pairs(&db).await;
    let (mut ours, mut ceiling, mut per_row, mut batched) = (vec![], vec![], vec![], vec![]);
    // Each run's memory. Only the first run's peak is the commit's alone: later runs start in a
    // process that the earlier runs and the ceiling's connection have left bigger (freed heap
    // the allocator keeps, mapped pages of the database file).
    let mut memory: Vec<RunMemory> = vec![];
    for _ in 0..runs {
        reset_peak_rss();
        let (anon_before, file_before) = rss_parts();
        let sampler = RssSampler::start();
        let t = Instant::now();
        let (_, report, _) = run(
            &db,
            &csv,
            "bench.csv",
            UploadOptions::default(),
            None,
            false,
        )
        .await
        .expect("commit");
        ours.push(t.elapsed().as_secs_f64());
        let [peak] = rss_kib(["VmHWM:"]);
        let (anon, file) = sampler.stop();
        memory.push(RunMemory {
            peak,
            anon,
            file,
            grew_anon: anon.saturating_sub(anon_before),
            grew_file: file.saturating_sub(file_before),
        });
        assert_eq!(
            report.summary.memberships_added as usize,
            users * SEGMENTS,
            "every membership was added"
        );
        empty(&db).await;

        // Sampled as ours is, so that both pay the sampler's reads.
        let sampler = RssSampler::start();
        match sqlite_path {
            Some(path) => {
                let (a, b) = sqlite_ceiling(path, &pairs);
                per_row.push(a);
                batched.push(b);
                ceiling.push(a.min(b));
            }
            None => {
                let a = postgres_per_row(&db, &pairs).await;
                empty(&db).await;
                let b = postgres_unnest(&db, &pairs).await;
                per_row.push(a);
                batched.push(b);
                ceiling.push(a.min(b));
            }
        }
        sampler.stop();
        empty(&db).await;
    }
    let (o, c) = (median(ours), median(ceiling));
    let many = if sqlite_path.is_some() {
        "prepared 200-row INSERT reused"
    } else {
        "UNNEST of 50,000-pair arrays"
    };
    println!(
        "[{label}] ceiling candidates: prepared INSERT per pair {:.2} s, {many} {:.2} s",
        median(per_row),
        median(batched)
    );
    let fraction = c / o;
    let first_peak = memory[0].peak;
    // One of each run's figures, in MB.
    let per_run = |kib: fn(&RunMemory) -> u64| {
        let mb: Vec<String> = memory
            .iter()
            .map(|m| format!("{:.0}", kib(m) as f64 / 1024.0))
            .collect();
        mb.join(", ")
    };
    println!(
        "[{label}] upload commit {o:.2} s ({:.0} rows/s), peak RSS {:.0} MB in the first run (each run, MB: {}); ceiling {c:.2} s ({:.0} rows/s); commit runs at {fraction:.2} of the ceiling's speed (target >= 0.80: {}); peak RSS target < 300 MB, first run: {}",
        pairs.len() as f64 / o,
        first_peak as f64 / 1024.0,
        per_run(|m| m.peak),
        pairs.len() as f64 / c,
        if fraction >= 0.8 { "met" } else { "MISSED" },
        if first_peak < 300 * 1024 { "met" } else { "MISSED" }
    );
    println!(
        "[{label}] that peak's parts, sampled every 2 ms during each commit, per run (MB): anonymous memory (the heap) at most {} (grown by {} during the commit); file-backed pages (the program's code and the memory-mapped database file, which the kernel may drop) at most {} (grown by {})",
        per_run(|m| m.anon),
        per_run(|m| m.grew_anon),
        per_run(|m| m.file),
        per_run(|m| m.grew_file),
    );
    db.close().await.ok();
}

async fn empty(db: &DatabaseConnection) {
    db.execute_unprepared("DELETE FROM segment_members")
        .await
        .unwrap();
    // The upload's batches and their change records go too, so every run starts alike.
    db.execute_unprepared("DELETE FROM upload_changes")
        .await
        .unwrap();
    db.execute_unprepared("DELETE FROM upload_batches")
        .await
        .unwrap();
}

/// SQLite's ceiling through the C library, in one transaction: the faster of one prepared
/// single-row INSERT reused per pair and one prepared `ROWS`-row INSERT reused per chunk (what
/// a multi-row statement saves is the per-statement work, which is part of the raw speed).
fn sqlite_ceiling(path: &str, pairs: &[(i32, i32)]) -> (f64, f64) {
    const ROWS: usize = 200;
    let mut conn = tools::bench::sqlite_like_the_app(path);
    let now = chrono::Utc::now().to_rfc3339();
    let insert = "INSERT INTO segment_members (segment_id, user_id, added_at, batch_id) VALUES ";
    // Each row names its batch, as the upload's do (undo needs it): one batch row per run.
    let batch = |txn: &rusqlite::Transaction| -> i64 {
        txn.execute(
            "INSERT INTO upload_batches (created_at, file_name, options, counts) VALUES (?1, 'c.csv', '{}', '{}')",
            [&now],
        )
        .unwrap();
        txn.last_insert_rowid()
    };

    let t = Instant::now();
    let txn = conn.transaction().unwrap();
    {
        let b = batch(&txn);
        let mut st = txn.prepare(&format!("{insert}(?1, ?2, ?3, ?4)")).unwrap();
        for &(s, u) in pairs {
            st.execute(rusqlite::params![s, u, now, b]).unwrap();
        }
    }
    txn.commit().unwrap();
    let per_row = t.elapsed().as_secs_f64();
    conn.execute("DELETE FROM segment_members", []).unwrap();

    let t = Instant::now();
    let txn = conn.transaction().unwrap();
    {
        let b = batch(&txn);
        let rows: Vec<String> = (0..ROWS)
            .map(|i| {
                format!(
                    "(?{}, ?{}, ?{}, ?{})",
                    4 * i + 1,
                    4 * i + 2,
                    4 * i + 3,
                    4 * i + 4
                )
            })
            .collect();
        let mut many = txn
            .prepare(&format!("{insert}{}", rows.join(", ")))
            .unwrap();
        let mut one = txn.prepare(&format!("{insert}(?1, ?2, ?3, ?4)")).unwrap();
        let chunks = pairs.chunks_exact(ROWS);
        let tail = chunks.remainder();
        for chunk in chunks {
            for (i, &(s, u)) in chunk.iter().enumerate() {
                many.raw_bind_parameter(4 * i + 1, s).unwrap();
                many.raw_bind_parameter(4 * i + 2, u).unwrap();
                many.raw_bind_parameter(4 * i + 3, &now).unwrap();
                many.raw_bind_parameter(4 * i + 4, b).unwrap();
            }
            many.raw_execute().unwrap();
        }
        for &(s, u) in tail {
            one.execute(rusqlite::params![s, u, now, b]).unwrap();
        }
    }
    txn.commit().unwrap();
    (per_row, t.elapsed().as_secs_f64())
}

/// PostgreSQL, one prepared INSERT per pair (the driver caches the prepared statement).
async fn postgres_per_row(db: &DatabaseConnection, pairs: &[(i32, i32)]) -> f64 {
    let now = chrono::Utc::now();
    let t = Instant::now();
    let txn = db.begin().await.unwrap();
    let b = postgres_batch(&txn).await;
    for &(s, u) in pairs {
        txn.execute(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "INSERT INTO segment_members (segment_id, user_id, added_at, batch_id) VALUES ($1, $2, $3, $4)",
            [s.into(), u.into(), now.into(), b.into()],
        ))
        .await
        .unwrap();
    }
    txn.commit().await.unwrap();
    t.elapsed().as_secs_f64()
}

/// PostgreSQL, multi-row: `INSERT … SELECT FROM UNNEST(two int arrays)`, 50,000 pairs a
/// statement (the arrays go as two text parameters; the driver here has no array binding).
async fn postgres_unnest(db: &DatabaseConnection, pairs: &[(i32, i32)]) -> f64 {
    let now = chrono::Utc::now();
    let t = Instant::now();
    let txn = db.begin().await.unwrap();
    let b = postgres_batch(&txn).await;
    for chunk in pairs.chunks(50_000) {
        let join = |f: fn(&(i32, i32)) -> i32| {
            let items: Vec<String> = chunk.iter().map(|p| f(p).to_string()).collect();
            format!("{{{}}}", items.join(","))
        };
        txn.execute(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "INSERT INTO segment_members (segment_id, user_id, added_at, batch_id) SELECT s, u, $3, $4 FROM UNNEST($1::int[], $2::int[]) AS p(s, u)",
            [join(|p| p.0).into(), join(|p| p.1).into(), now.into(), b.into()],
        ))
        .await
        .unwrap();
    }
    txn.commit().await.unwrap();
    t.elapsed().as_secs_f64()
}

/// The batch row the ceiling's memberships name, as the upload's do.
async fn postgres_batch(txn: &impl ConnectionTrait) -> i32 {
    let row = txn
        .query_one(Statement::from_string(
            DatabaseBackend::Postgres,
            "INSERT INTO upload_batches (created_at, file_name, options, counts) VALUES (now(), 'c.csv', '{}', '{}') RETURNING id",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index(0).unwrap()
}

async fn seed(db: &DatabaseConnection, users: usize) {
    let now = chrono::Utc::now();
    let rows: Vec<_> = (0..users)
        .map(|i| user::ActiveModel {
            username: Set(format!("user{i:07}")),
            firstname: Set("Bench".into()),
            lastname: Set(format!("User {i}")),
            email: Set(format!("user{i:07}@example.com")),
            suspended: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .collect();
    for chunk in rows.chunks(4_000) {
        user::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await
            .unwrap();
    }
    for s in 0..SEGMENTS {
        segment::Entity::insert(segment::ActiveModel {
            id_number: Set(format!("seg-{s}")),
            name: Set(format!("Segment {s}")),
            description: Set(String::new()),
            visible: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap();
    }
}

/// `username,cohort1..cohort5`, every user in every segment.
pub fn csv_file(users: usize) -> Vec<u8> {
    let mut out = String::from("username,cohort1,cohort2,cohort3,cohort4,cohort5\n");
    for i in 0..users {
        out.push_str(&format!("user{i:07},seg-0,seg-1,seg-2,seg-3,seg-4\n"));
    }
    out.into_bytes()
}

async fn resolved_pairs(db: &DatabaseConnection) -> Vec<(i32, i32)> {
    let users: Vec<i32> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .into_tuple()
        .all(db)
        .await
        .unwrap();
    let segs: HashMap<String, i32> = segment::Entity::find()
        .select_only()
        .columns([segment::Column::IdNumber, segment::Column::Id])
        .into_tuple()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let mut seg_ids: Vec<i32> = segs.values().copied().collect();
    seg_ids.sort();
    users
        .iter()
        .flat_map(|&u| seg_ids.iter().map(move |&s| (s, u)))
        .collect()
}

/// The `/proc/self/status` fields named, in KiB (0 where one is missing), from one read.
fn rss_kib<const N: usize>(fields: [&str; N]) -> [u64; N] {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    fields.map(|field| {
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    })
}

/// Resident anonymous memory and resident file-backed memory (`RssFile` + `RssShmem`), KiB.
fn rss_parts() -> (u64, u64) {
    let [anon, file, shmem] = rss_kib(["RssAnon:", "RssFile:", "RssShmem:"]);
    (anon, file + shmem)
}

/// One commit's memory, KiB: its peak RSS (`VmHWM`) and that peak's parts as sampled, each
/// with how much the commit grew it over what the process held when it began.
struct RunMemory {
    peak: u64,
    anon: u64,
    file: u64,
    grew_anon: u64,
    grew_file: u64,
}

/// The most anonymous and file-backed resident memory (`RssAnon`, `RssFile` + `RssShmem`, KiB)
/// seen by a thread reading `/proc/self/status` every 2 ms: `VmHWM` gives only their sum's peak.
struct RssSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<(u64, u64)>,
}

impl RssSampler {
    fn start() -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let (mut anon, mut file) = (0, 0);
            loop {
                let (a, f) = rss_parts();
                (anon, file) = (anon.max(a), file.max(f));
                if stopped.load(std::sync::atomic::Ordering::Relaxed) {
                    return (anon, file);
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        });
        RssSampler { stop, thread }
    }

    fn stop(self) -> (u64, u64) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

/// Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
