//! Shared by the benchmark binaries (`bench-commit`, `bench-sync`): their arguments and the
//! scratch PostgreSQL databases they run in.
use sea_orm::{ConnectionTrait, DatabaseConnection};

pub struct BenchArgs {
    pub users: usize,
    /// A PostgreSQL server to run on as well (`--postgres URL` or `BENCH_POSTGRES_URL`).
    pub postgres: Option<String>,
}

/// `--users N` and `--postgres URL`; anything else stops the benchmark with a message.
pub fn args(default_users: usize) -> BenchArgs {
    let mut out = BenchArgs {
        users: default_users,
        postgres: std::env::var("BENCH_POSTGRES_URL").ok(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--users" => out.users = args.next().and_then(|v| v.parse().ok()).expect("--users N"),
            "--postgres" => out.postgres = args.next(),
            other => panic!("unknown argument {other}"),
        }
    }
    out
}

/// A new, empty database on the server of `admin_url`; `drop` removes it.
pub struct ScratchDb {
    admin: DatabaseConnection,
    name: String,
    pub url: String,
}

impl ScratchDb {
    pub async fn create(admin_url: &str, prefix: &str) -> Self {
        let admin = sea_orm::Database::connect(admin_url)
            .await
            .expect("connect postgres");
        let name = format!("{prefix}_{:08x}", rand::random::<u32>());
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create the scratch database");
        let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
        Self { admin, name, url }
    }

    pub async fn drop(self) {
        self.admin
            .execute_unprepared(&format!("DROP DATABASE {} WITH (FORCE)", self.name))
            .await
            .ok();
    }
}

/// A connection to the bench's SQLite file through the C library, set as the console sets its
/// own (`app::db::connect`): foreign keys enforced, WAL, `synchronous = NORMAL`, a busy
/// timeout, the file memory-mapped. A ceiling that skipped the foreign-key checks would do less
/// work than the commit it is compared with; one without the map would be slower than it need be.
pub fn sqlite_like_the_app(path: &str) -> rusqlite::Connection {
    sqlite_with_mmap(path, app::db::SQLITE_MMAP_BYTES)
}

/// `sqlite_like_the_app` with `mmap_bytes` of the file mapped (0: none).
pub fn sqlite_with_mmap(path: &str, mmap_bytes: u64) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).expect("open the SQLite file");
    conn.busy_timeout(std::time::Duration::from_millis(
        app::db::SQLITE_BUSY_TIMEOUT_MS,
    ))
    .expect("busy timeout");
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         PRAGMA mmap_size = {mmap_bytes};"
    ))
    .expect("pragmas");
    conn
}
