//! Benchmark: commit 1,000,000 memberships (200k users x 5 segments) through the bulk upload
//! path, beside a baseline that inserts the same resolved pairs with one prepared statement in
//! one transaction (the ceiling). Prints wall time, rows/s, peak RSS and the ratio.
//!
//!     cargo run --release -p server --bin bench-commit -- [--users N] [--postgres URL]
//!
//! SQLite always runs (a temp file); PostgreSQL runs when `--postgres` (or BENCH_POSTGRES_URL)
//! names a server where a throwaway database can be created.
use app::entities::{segment, user};
use app::upload::service::run;
use app::upload::UploadOptions;
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait, QuerySelect, Statement,
    TransactionTrait,
};
use std::collections::HashMap;
use std::time::Instant;

const SEGMENTS: usize = 5;

#[tokio::main]
async fn main() {
    let tools::bench::BenchArgs { users, postgres } = tools::bench::args(200_000);
    println!(
        "bench-commit: {users} users x {SEGMENTS} segments = {} memberships",
        users * SEGMENTS
    );
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
    bench("sqlite", &sqlite, users).await;
    if let Some(admin_url) = postgres {
        let scratch = tools::bench::ScratchDb::create(&admin_url, "bench").await;
        bench("postgres", &scratch.url, users).await;
        scratch.drop().await;
    }
}

async fn bench(label: &str, url: &str, users: usize) {
    let db = app::db::connect_and_migrate(url).await.expect("database");
    seed(&db, users).await;
    let csv = csv_file(users);
    println!(
        "\n[{label}] file: {:.1} MB, {users} rows",
        csv.len() as f64 / 1e6
    );

    reset_peak_rss();
    let rss_before = rss_kib("VmRSS");
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
    let ours = t.elapsed().as_secs_f64();
    let peak = rss_kib("VmHWM");
    let added = report.summary.memberships_added;
    assert_eq!(
        added as usize,
        users * SEGMENTS,
        "every membership was added"
    );
    println!(
        "[{label}] upload commit (parse + validate + apply, one transaction): {ours:.2} s, {:.0} rows/s, peak RSS {:.0} MB (before {:.0} MB)",
        added as f64 / ours,
        peak as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );

    // The ceiling: the same pairs, already resolved to ids, one prepared INSERT per row.
    let pairs = resolved_pairs(&db).await;
    db.execute_unprepared("DELETE FROM segment_members")
        .await
        .unwrap();
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            "INSERT INTO segment_members (segment_id, user_id, added_at) VALUES ($1, $2, $3)"
        }
        _ => "INSERT INTO segment_members (segment_id, user_id, added_at) VALUES (?, ?, ?)",
    };
    let now = chrono::Utc::now();
    let t = Instant::now();
    let txn = db.begin().await.unwrap();
    for &(s, u) in &pairs {
        txn.execute(Statement::from_sql_and_values(
            backend,
            sql,
            [s.into(), u.into(), now.into()],
        ))
        .await
        .unwrap();
    }
    txn.commit().await.unwrap();
    let base = t.elapsed().as_secs_f64();
    println!(
        "[{label}] baseline (one prepared INSERT per pair, one transaction, ids pre-resolved): {base:.2} s, {:.0} rows/s",
        pairs.len() as f64 / base
    );
    let ratio = (added as f64 / ours) / (pairs.len() as f64 / base);
    println!(
        "[{label}] ratio upload/baseline rate: {ratio:.2}x (target >= 0.50x: {}); peak RSS target < 300 MB: {}",
        if ratio >= 0.5 { "met" } else { "MISSED" },
        if peak < 300 * 1024 { "met" } else { "MISSED" }
    );
    db.close().await.ok();
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

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
