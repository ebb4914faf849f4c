//! Benchmark: the upload preview's user look-up (issue 13, item 1) on the server side, for a
//! file of 1,000,000 distinct usernames against a database holding them all, beside the ceiling:
//! one prepared `SELECT id FROM users WHERE username = ?1` reused per name in one read
//! transaction through SQLite's C library (`rusqlite`), the fastest raw way to probe the index.
//!
//! Measured, interleaved, medians:
//! - `ceiling`: the prepared probe per name, in the file's order;
//! - `ceiling sorted`: the same with the names sorted first (the index walked in order);
//! - `lookup_users`: the server's service function over the page's batches (`LOOKUP_BATCH`);
//! - `lookup_users sorted`: the same over sorted batches;
//! - `lookup_users, directory`: the same with the server's directory of usernames
//!   (`users::service::Directory`, built once before the runs; its build is timed too), beside
//!   its own ceiling: the same names looked up in a plain `FxHashMap<&str, i32>` of every user;
//! - `wire`: what the server function adds around it, decoding each batch's request and
//!   encoding its reply in their wire form, postcard (the bytes the page sends and receives are
//!   printed too);
//! - the ceiling and `lookup_users` again with the file not memory-mapped (`mmap_size = 0`,
//!   SQLite's default), as the console read it before `db::SQLITE_MMAP_BYTES`.
//!
//!     cargo run --release -p tools --bin bench-lookup -- [--users N]
//!
//! `BENCH_RUNS` sets the runs (default 5).
use app::upload::api::LOOKUP_BATCH;
use app::upload::service::lookup_users;
use app::upload::types::UserLookup;
use std::time::Instant;

#[tokio::main]
async fn main() {
    let tools::bench::BenchArgs { users, .. } = tools::bench::args(1_000_000);
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().unwrap();
    let path = format!("{}/bench.db", dir.path().display());
    let url = format!("sqlite://{path}?mode=rwc");
    let db = app::db::connect_and_migrate(&url).await.expect("database");
    let unmapped = app::db::connect_with_mmap(&url, 0).await.expect("database");
    // Names shaped like scripts/bench-browser.sh's, in an order that is not the index's.
    let names: Vec<String> = (0..users)
        .map(|i| format!("learner.{}.{}@corp", radix36(i), i % 97))
        .collect();
    seed(&path, &names);
    let mut sorted = names.clone();
    sorted.sort_unstable();
    println!("bench-lookup: {users} distinct usernames, all known, {runs} interleaved runs, medians (SQLite)");

    let (mut ceiling, mut ceiling_sorted, mut ours, mut ours_sorted, mut wire) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut ceiling_unmapped, mut ours_unmapped) = (vec![], vec![]);
    let (mut sent, mut received) = (0, 0);
    let directory = app::users::service::Directory::new(db.clone());
    let t = Instant::now();
    let held = directory.refresh().await.expect("directory");
    let built = t.elapsed().as_secs_f64();
    let (_, directory_bytes) = directory.footprint();
    let map: rustc_hash::FxHashMap<&str, i32> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i as i32 + 1))
        .collect();
    let (mut with_directory, mut map_ceiling) = (vec![], vec![]);
    for _ in 0..runs {
        with_directory.push(service_with(&db, Some(&directory), &names).await);
        map_ceiling.push(in_map(&map, &names));
        ceiling.push(probe(&path, &names, app::db::SQLITE_MMAP_BYTES));
        ours.push(service(&db, &names).await);
        ceiling_unmapped.push(probe(&path, &names, 0));
        ours_unmapped.push(service(&unmapped, &names).await);
        ceiling_sorted.push(probe(&path, &sorted, app::db::SQLITE_MMAP_BYTES));
        ours_sorted.push(service(&db, &sorted).await);
        let (t, s, r) = wire_cost(&names);
        wire.push(t);
        (sent, received) = (s, r);
    }
    let (c, cs, o, os, j) = (
        median(ceiling),
        median(ceiling_sorted),
        median(ours),
        median(ours_sorted),
        median(wire),
    );
    println!("ceiling (prepared probe per name)         {c:.3} s");
    println!("ceiling, names sorted                     {cs:.3} s");
    println!(
        "lookup_users, {LOOKUP_BATCH}-name batches          {o:.3} s  ({:.2} of the ceiling's speed)",
        c / o
    );
    println!(
        "lookup_users, sorted batches              {os:.3} s  ({:.2} of the sorted ceiling's speed)",
        cs / os
    );
    let (cu, ou) = (median(ceiling_unmapped), median(ours_unmapped));
    println!("not memory-mapped: ceiling {cu:.3} s, lookup_users {ou:.3} s ({:.2} of that ceiling's speed; the map makes lookup_users {:.2}x as fast)", cu / ou, ou / o);
    let (d, m) = (median(with_directory), median(map_ceiling));
    println!(
        "lookup_users, directory                   {d:.3} s  ({:.2} of the hash map's speed, {m:.3} s; {:.1}x the speed without it)",
        m / d,
        o / d
    );
    println!(
        "directory: {held} names built in {built:.3} s, {:.1} MB held",
        directory_bytes as f64 / 1e6
    );
    println!(
        "server function wire work, postcard (decode the requests, encode the replies) {j:.3} s; {:.1} MB sent, {:.1} MB received",
        sent as f64 / 1e6,
        received as f64 / 1e6
    );
}

fn radix36(mut n: usize) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = vec![];
    loop {
        out.push(DIGITS[n % 36]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    xs[xs.len() / 2]
}

fn seed(path: &str, names: &[String]) {
    let mut conn = tools::bench::sqlite_like_the_app(path);
    let now = chrono::Utc::now().to_rfc3339();
    let txn = conn.transaction().unwrap();
    {
        let mut st = txn
            .prepare(
                "INSERT INTO users (username, firstname, lastname, email, suspended, created_at, updated_at) \
                 VALUES (?1, 'Bench', 'User', ?1, 0, ?2, ?2)",
            )
            .unwrap();
        for n in names {
            st.execute(rusqlite::params![n, now]).unwrap();
        }
    }
    txn.commit().unwrap();
}

fn probe(path: &str, names: &[String], mmap_bytes: u64) -> f64 {
    let mut conn = tools::bench::sqlite_with_mmap(path, mmap_bytes);
    let t = Instant::now();
    let txn = conn.transaction().unwrap();
    let mut found = 0usize;
    {
        let mut st = txn
            .prepare_cached("SELECT id FROM users WHERE username = ?1")
            .unwrap();
        for n in names {
            let id: Option<i32> = st.query_row([n], |r| r.get(0)).ok();
            found += id.is_some() as usize;
        }
    }
    txn.commit().unwrap();
    let took = t.elapsed().as_secs_f64();
    assert_eq!(found, names.len(), "every name is known");
    took
}

async fn service(db: &sea_orm::DatabaseConnection, names: &[String]) -> f64 {
    service_with(db, None, names).await
}

async fn service_with(
    db: &sea_orm::DatabaseConnection,
    directory: Option<&app::users::service::Directory>,
    names: &[String],
) -> f64 {
    let t = Instant::now();
    let mut found = 0usize;
    for batch in names.chunks(LOOKUP_BATCH) {
        let batch: Vec<&str> = batch.iter().map(String::as_str).collect();
        let reply = lookup_users(db, directory, &batch, &[], false)
            .await
            .expect("look-up");
        found += reply.ids.iter().filter(|&&id| id != 0).count();
    }
    let took = t.elapsed().as_secs_f64();
    assert_eq!(found, names.len(), "every name is known");
    took
}

/// The directory's ceiling: every name looked up in a plain hash map, batch by batch.
fn in_map(map: &rustc_hash::FxHashMap<&str, i32>, names: &[String]) -> f64 {
    let t = Instant::now();
    let mut found = 0usize;
    for batch in names.chunks(LOOKUP_BATCH) {
        let ids: Vec<i32> = batch
            .iter()
            .map(|n| map.get(n.as_str()).copied().unwrap_or(0))
            .collect();
        found += ids.iter().filter(|&&id| id != 0).count();
    }
    let took = t.elapsed().as_secs_f64();
    assert_eq!(found, names.len(), "every name is known");
    took
}

/// The wire work of the `upload_users` server function: its request (the names as one text,
/// a name per line, in postcard) decoded and split, a reply of the same size encoded. Returns
/// the time and the bytes each way.
fn wire_cost(names: &[String]) -> (f64, usize, usize) {
    use app::upload::api::UploadUsers;
    let requests: Vec<Vec<u8>> = names
        .chunks(LOOKUP_BATCH)
        .map(|b| {
            let args = UploadUsers {
                usernames: b.join("\n"),
                segment_ids: vec![],
                details: false,
            };
            postcard::to_allocvec(&args).unwrap()
        })
        .collect();
    let (mut sent, mut received) = (0, 0);
    let t = Instant::now();
    for (i, r) in requests.iter().enumerate() {
        let args: UploadUsers = postcard::from_bytes(r).unwrap();
        sent += r.len();
        let asked = args.usernames.split('\n').count();
        let reply = UserLookup {
            ids: (0..asked as i32)
                .map(|k| k + i as i32 * LOOKUP_BATCH as i32 + 1)
                .collect(),
            ..Default::default()
        };
        received += postcard::to_allocvec(&reply).unwrap().len();
    }
    (t.elapsed().as_secs_f64(), sent, received)
}
