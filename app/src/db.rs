//! Connecting to the site database: embedded SQLite by default, PostgreSQL via `DATABASE_URL`.
use migrations::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr,
};
use std::time::Duration;

pub const DEFAULT_SQLITE_URL: &str = "sqlite://data/console.db?mode=rwc";

/// The URL from `DATABASE_URL`, or the embedded default.
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SQLITE_URL.to_string())
}

pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let is_sqlite = url.starts_with("sqlite:");
    if is_sqlite {
        ensure_sqlite_dir(url);
    }
    let mut opts = ConnectOptions::new(url.to_string());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30));
    if is_sqlite {
        // One writer at a time is SQLite's rule; a small pool avoids lock churn.
        opts.max_connections(4).min_connections(1);
    } else {
        opts.max_connections(16);
    }
    let db = Database::connect(opts).await?;
    if is_sqlite {
        // WAL lets readers proceed while a long upload commits; busy_timeout turns brief write
        // contention into waiting instead of "database is locked"; foreign keys drive cascades.
        for pragma in [
            "PRAGMA journal_mode = WAL",
            // Long enough to wait out another admin's large commit (1M rows: ~5 s).
            "PRAGMA busy_timeout = 30000",
            "PRAGMA foreign_keys = ON",
            "PRAGMA synchronous = NORMAL",
        ] {
            db.execute_unprepared(pragma).await?;
        }
    }
    Ok(db)
}

/// Connects and applies every pending migration.
pub async fn connect_and_migrate(url: &str) -> Result<DatabaseConnection, DbErr> {
    let db = connect(url).await?;
    Migrator::up(&db, None).await?;
    Ok(db)
}

fn ensure_sqlite_dir(url: &str) {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path.starts_with(':') {
        return;
    }
    if let Some(parent) = std::path::Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            let _ = std::fs::create_dir_all(parent);
        }
    }
}

/// How long a bulk change waits for another one before giving up with a clear message.
pub const WRITE_LOCK_WAIT_SECS: u32 = 30;

/// Called first in a transaction that makes a bulk change (upload commit, undo, segment
/// deletion): such transactions then run one after another, each seeing the previous one's
/// result, so overlapping uploads count exactly and an upload racing a deletion is decided
/// cleanly. SQLite: a first write takes the database's write lock now (a deferred transaction
/// that reads first would fail at its first write if another writer committed meanwhile).
/// PostgreSQL: a transaction-scoped advisory lock, released even if the process dies.
pub async fn lock_for_write(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    match db.get_database_backend() {
        DatabaseBackend::Sqlite => {
            db.execute_unprepared("DELETE FROM upload_stages WHERE 0 = 1")
                .await?;
        }
        DatabaseBackend::Postgres => {
            db.execute_unprepared(&format!(
                "SET LOCAL lock_timeout = '{WRITE_LOCK_WAIT_SECS}s'"
            ))
            .await?;
            db.execute_unprepared("SELECT pg_advisory_xact_lock(7431001)")
                .await?;
        }
        DatabaseBackend::MySql => {}
    }
    Ok(())
}

/// Errors that mean "another change got there first", not "the server is broken".
pub fn is_contention(err: &DbErr) -> bool {
    let text = err.to_string();
    [
        "database is locked",
        "database table is locked",
        "deadlock detected",
        "could not serialize",
        "lock timeout",
        "canceling statement due to lock timeout",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// One page of a listing, for every paged list: counts what `filtered` matches, then reads page
/// `page` (1-based, clamped) of the rows `shape` makes of it (columns, joins, order), mapped.
pub async fn page_of<E, M, T>(
    db: &impl ConnectionTrait,
    filtered: sea_orm::Select<E>,
    shape: impl FnOnce(sea_orm::Select<E>) -> sea_orm::Select<E>,
    page: u64,
    per_page: u64,
    map: impl FnMut(M) -> T,
) -> Result<crate::domain::Page<T>, crate::error::AppError>
where
    E: sea_orm::EntityTrait,
    E::Model: Sync,
    M: sea_orm::FromQueryResult + Send + Sync,
{
    use sea_orm::{PaginatorTrait, QuerySelect};
    let total = filtered.clone().count(db).await?;
    let page = page.max(1);
    let items = shape(filtered)
        .offset((page - 1) * per_page)
        .limit(per_page)
        .into_model::<M>()
        .all(db)
        .await?
        .into_iter()
        .map(map)
        .collect();
    Ok(crate::domain::Page {
        items,
        total,
        page,
        per_page,
    })
}
