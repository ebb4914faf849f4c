//! Connecting to the site database: embedded SQLite by default, PostgreSQL via `DATABASE_URL`.
use migrations::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr,
};
use std::time::Duration;

pub const DEFAULT_SQLITE_URL: &str = "sqlite://data/console.db?mode=rwc";

/// Connections in the SQLite pool.
pub const SQLITE_POOL_SIZE: u32 = 4;
/// How long a SQLite connection waits for another writer, on every pooled connection.
pub const SQLITE_BUSY_TIMEOUT_MS: u64 = 30_000;

/// The URL from `DATABASE_URL`, or the embedded default.
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SQLITE_URL.to_string())
}

pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_with_mmap(url, SQLITE_MMAP_BYTES).await
}

/// How much of an SQLite database file its connections read through a memory map (`PRAGMA
/// mmap_size`) instead of copying each page into every connection's own 2 MB page cache. The
/// look-ups probe a username index of tens of megabytes at random; mapped, a page the OS holds
/// costs no system call and no copy. Decided: SQLite's own caveat (an I/O error on a mapped page
/// is a signal, not an error code) is accepted for a local file the console owns.
pub const SQLITE_MMAP_BYTES: u64 = 1 << 30;

/// `connect`, with `mmap_bytes` of an SQLite file mapped (0: none); benchmarks compare the two.
pub async fn connect_with_mmap(url: &str, mmap_bytes: u64) -> Result<DatabaseConnection, DbErr> {
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
        opts.max_connections(SQLITE_POOL_SIZE).min_connections(1);
        // Set through the connect options, so every pooled connection has them (a PRAGMA run
        // once reaches only the connection that ran it). WAL lets readers proceed while a long
        // upload commits; the busy timeout, long enough to wait out another admin's 1M-row
        // commit (~5 s), turns write contention into waiting instead of "database is locked";
        // foreign keys drive the cascades; REGEXP (sqlx's, the regex crate) folds case in Unicode
        // for user-column rules, where SQLite's LOWER folds ASCII only.
        opts.map_sqlx_sqlite_opts(move |o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            o.journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_millis(SQLITE_BUSY_TIMEOUT_MS))
                .foreign_keys(true)
                .synchronous(SqliteSynchronous::Normal)
                .pragma("mmap_size", mmap_bytes.to_string())
                .with_regexp()
        });
    } else {
        opts.max_connections(16);
        // JIT off. PostgreSQL compiles any statement whose estimated cost passes
        // `jit_above_cost`, and a scoped sync statement is costed on a guessed list length (a
        // JSON list counts as 100 rows): a one-user change's group DELETE compiled for 85 ms
        // to run for 0.1 ms (`bench-automation`: 92 -> 2.5 ms). The bulk statements are bound
        // by writes and foreign-key checks, which JIT does not speed (`bench-sync`, README).
        opts.map_sqlx_postgres_opts(|o| o.options([("jit", "off")]));
    }
    let db = Database::connect(opts).await?;
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

/// The `n`th (1-based) bound parameter as the backend writes it: `$n` on PostgreSQL, `?n` on
/// SQLite. The one place raw statements (sync rules, the bulk user update) number their values.
pub fn placeholder(backend: DatabaseBackend, n: usize) -> String {
    match backend {
        DatabaseBackend::Postgres => format!("${n}"),
        _ => format!("?{n}"),
    }
}

/// A `SELECT` of the integers (ids) of the JSON array bound at `placeholder` (already written for
/// the backend, or a `?n` that `sync`'s statements rewrite): a list of any length in one value,
/// for `column IN (…)` in raw statements.
pub fn json_ids(backend: DatabaseBackend, placeholder: &str) -> String {
    match backend {
        DatabaseBackend::Postgres => {
            format!("SELECT value::integer FROM json_array_elements_text({placeholder}::json)")
        }
        _ => format!("SELECT value FROM json_each({placeholder})"),
    }
}

/// Ids as one JSON text to bind (`[1,2,3]`), for `json_ids`.
pub fn json_list(ids: &[i32]) -> String {
    // Integers always serialise.
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
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

/// Errors that mean "another change got there first", not "the server is broken": decided by
/// the database's own error codes, never by message text (which varies with version and locale).
pub fn is_contention(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    let sqlx = match err {
        DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e))
        | DbErr::Conn(RuntimeErr::SqlxError(e)) => e,
        _ => return false,
    };
    let Some(db_err) = sqlx.as_database_error() else {
        return false;
    };
    let Some(code) = db_err.code() else {
        return false;
    };
    let backend = if db_err
        .try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
        .is_some()
    {
        DatabaseBackend::Sqlite
    } else {
        DatabaseBackend::Postgres
    };
    is_contention_code(backend, &code)
}

/// PostgreSQL: serialization_failure (40001), deadlock_detected (40P01), lock_not_available
/// (55P03, which `lock_timeout` raises). SQLite: SQLITE_BUSY (5) and SQLITE_LOCKED (6), with
/// their extended codes (the primary code is the low byte).
fn is_contention_code(backend: DatabaseBackend, code: &str) -> bool {
    match backend {
        DatabaseBackend::Postgres => matches!(code, "40001" | "40P01" | "55P03"),
        DatabaseBackend::Sqlite => code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6)),
        DatabaseBackend::MySql => false,
    }
}

/// `(SELECT COUNT(*) FROM <fk's table> WHERE <fk> = <outer>)`, built by the query builder: the
/// per-row count of related rows a listing shows beside each row (a segment's members, a user's
/// segments). A correlated sub-select rather than a join with GROUP BY, so two counts on one row
/// do not multiply each other's rows.
pub fn count_related(
    fk: impl sea_orm::ColumnTrait,
    outer: impl sea_orm::ColumnTrait,
) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Asterisk, Expr, Func};
    related_count(Func::count(Expr::col(Asterisk)), fk, outer)
}

/// The same, counting distinct values of `counted` (a course's participants, each once however
/// many enrolment methods enrol them).
pub fn count_distinct_related(
    fk: impl sea_orm::ColumnTrait,
    counted: impl sea_orm::ColumnTrait,
    outer: impl sea_orm::ColumnTrait,
) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Expr, Func};
    let counted = Expr::col((counted.entity_name(), counted));
    related_count(Func::count_distinct(counted), fk, outer)
}

fn related_count(
    count: sea_orm::sea_query::FunctionCall,
    fk: impl sea_orm::ColumnTrait,
    outer: impl sea_orm::ColumnTrait,
) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Expr, Query, SimpleExpr};
    let sub = Query::select()
        .expr(count)
        .from(fk.entity_name())
        .and_where(Expr::col((fk.entity_name(), fk)).equals((outer.entity_name(), outer)))
        .to_owned();
    SimpleExpr::SubQuery(None, Box::new(sub.into_sub_query_statement()))
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

/// Sets many rows' columns in one statement: `UPDATE table SET col = v.columnK, … FROM (VALUES
/// (id, …), …) AS v WHERE table.id = v.column1`. Each row is its integer id, then one value per
/// column of `columns`; `also` sets one more column to one value on every row. Callers chunk the
/// rows under the bound-parameter limit.
pub async fn update_rows(
    db: &impl ConnectionTrait,
    table: &str,
    columns: &[&str],
    also: Option<(&str, sea_orm::Value)>,
    rows: Vec<Vec<sea_orm::Value>>,
) -> Result<u64, DbErr> {
    if rows.is_empty() {
        return Ok(0);
    }
    let backend = db.get_database_backend();
    let mut values: Vec<sea_orm::Value> = Vec::new();
    let mut sets: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = v.column{}", i + 2))
        .collect();
    if let Some((column, value)) = also {
        values.push(value);
        sets.push(format!("{column} = {}", placeholder(backend, 1)));
    }
    let mut tuples = Vec::with_capacity(rows.len());
    for row in rows {
        let mut ph = Vec::with_capacity(row.len());
        for v in row {
            values.push(v);
            ph.push(placeholder(backend, values.len()));
        }
        // The id is cast so both databases compare it as an integer.
        ph[0] = format!("CAST({} AS INTEGER)", ph[0]);
        tuples.push(format!("({})", ph.join(", ")));
    }
    let sql = format!(
        "UPDATE {table} SET {} FROM (VALUES {}) AS v WHERE {table}.id = v.column1",
        sets.join(", "),
        tuples.join(", ")
    );
    Ok(db
        .execute(sea_orm::Statement::from_sql_and_values(
            backend, sql, values,
        ))
        .await?
        .rows_affected())
}

/// How `insert_json` reads one field of a row from JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonField {
    Int,
    Text,
    Bool,
    /// A string holding JSON, stored in a JSON column (NULL stays NULL).
    JsonText,
}

/// Inserts rows in one statement from one bound text value, a JSON array of row arrays:
/// `INSERT INTO table (columns…, constants…) SELECT value->>0, …, ?2, … FROM json_each(?1)` on
/// SQLite, `json_array_elements($1::json)` on PostgreSQL. `columns` are read from each row array
/// in order; `constants` are one value for every row (a timestamp, a batch). `tail` follows the
/// select (an `ON CONFLICT …` clause, or nothing). A multi-row `VALUES` list binds a parameter
/// per field, and building and binding those was most of a bulk insert's time; one JSON text per
/// chunk costs the database one parse. Callers chunk the rows (progress, memory).
pub async fn insert_json<R: serde::Serialize>(
    db: &impl ConnectionTrait,
    table: &str,
    columns: &[(&str, JsonField)],
    constants: Vec<(&str, sea_orm::Value)>,
    rows: &[R],
    tail: &str,
) -> Result<u64, DbErr> {
    if rows.is_empty() {
        return Ok(0);
    }
    let backend = db.get_database_backend();
    let json = serde_json::to_string(rows).map_err(|e| DbErr::Custom(format!("rows: {e}")))?;
    let names: Vec<&str> = columns.iter().map(|(c, _)| *c).collect();
    let fields: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, (_, kind))| match (backend, kind) {
            (DatabaseBackend::Postgres, JsonField::Int) => format!("(j.value->>{i})::integer"),
            (DatabaseBackend::Postgres, JsonField::Bool) => format!("(j.value->>{i})::boolean"),
            (DatabaseBackend::Postgres, JsonField::JsonText) => format!("(j.value->>{i})::json"),
            // SQLite's ->> gives a JSON integer as an INTEGER, a string as TEXT and a boolean
            // as 1 or 0, which is how SQLite stores them.
            _ => format!("j.value->>{i}"),
        })
        .collect();
    insert_selected(db, table, names, fields, constants, json, tail).await
}

/// Inserts `(a, b)` pairs of positive integers (ids) like `insert_json`, each pair packed into
/// one JSON integer (`a << 32 | b`) and unpacked by shifts: SQLite reads a plain integer from
/// `json_each` without parsing a nested array per row, which made a 1M-membership insert
/// noticeably slower than binding the values.
pub async fn insert_id_pairs(
    db: &impl ConnectionTrait,
    table: &str,
    (a, b): (&str, &str),
    constants: Vec<(&str, sea_orm::Value)>,
    pairs: &[(i32, i32)],
    tail: &str,
) -> Result<u64, DbErr> {
    if pairs.is_empty() {
        return Ok(0);
    }
    if pairs.iter().any(|&(x, y)| x < 0 || y < 0) {
        return Err(DbErr::Custom("id pairs must not be negative".into()));
    }
    let packed: Vec<i64> = pairs
        .iter()
        .map(|&(x, y)| (i64::from(x) << 32) | i64::from(y))
        .collect();
    let json = serde_json::to_string(&packed).map_err(|e| DbErr::Custom(format!("rows: {e}")))?;
    let fields = match db.get_database_backend() {
        DatabaseBackend::Postgres => vec![
            "((j.value::text::bigint) >> 32)::integer".to_string(),
            "((j.value::text::bigint) & 4294967295)::integer".to_string(),
        ],
        _ => vec![
            "j.value >> 32".to_string(),
            "j.value & 4294967295".to_string(),
        ],
    };
    insert_selected(db, table, vec![a, b], fields, constants, json, tail).await
}

/// `INSERT INTO table (names…, constants…) SELECT fields…, ?2… FROM` the rows of the JSON
/// array bound as the first value.
async fn insert_selected(
    db: &impl ConnectionTrait,
    table: &str,
    mut names: Vec<&str>,
    mut fields: Vec<String>,
    constants: Vec<(&str, sea_orm::Value)>,
    json: String,
    tail: &str,
) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let mut values: Vec<sea_orm::Value> = vec![json.into()];
    for (name, value) in constants {
        names.push(name);
        values.push(value);
        fields.push(placeholder(backend, values.len()));
    }
    let source = match backend {
        DatabaseBackend::Postgres => "json_array_elements($1::json) AS j(value)",
        _ => "json_each(?1) AS j",
    };
    // `WHERE true`: SQLite needs it to read a following ON CONFLICT as the upsert clause.
    let sql = format!(
        "INSERT INTO {table} ({}) SELECT {} FROM {source} WHERE true {tail}",
        names.join(", "),
        fields.join(", ")
    );
    Ok(db
        .execute(sea_orm::Statement::from_sql_and_values(
            backend, sql, values,
        ))
        .await?
        .rows_affected())
}

/// `column IN (the items of one bound JSON array)`, for a builder's `filter`: one parameter
/// however long the list, where `is_in` binds one per item (and building and binding those
/// was a large part of a 200,000-name look-up). `kind` says how to read the items.
pub fn in_json<T: serde::Serialize>(
    backend: DatabaseBackend,
    column: &str,
    kind: JsonField,
    items: &[T],
) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Alias, Expr, Func, Query};
    let json = serde_json::to_string(items).unwrap_or_else(|_| "[]".into());
    // Built with the query builder, not as text, so the value's placeholder is numbered with
    // the rest of the statement's.
    let mut list = Query::select();
    match backend {
        DatabaseBackend::Postgres => {
            let value = if kind == JsonField::Int {
                Expr::cust("value").cast_as(Alias::new("integer"))
            } else {
                Expr::cust("value")
            };
            list.expr(value).from_function(
                Func::cust(Alias::new("json_array_elements_text"))
                    .arg(Expr::val(json).cast_as(Alias::new("json"))),
                Alias::new("j"),
            )
        }
        _ => list.expr(Expr::cust("value")).from_function(
            Func::cust(Alias::new("json_each")).arg(Expr::val(json)),
            Alias::new("j"),
        ),
    };
    Expr::col(Alias::new(column)).in_subquery(list)
}

/// Names or ids per look-up statement when they go as one JSON list (`in_json`,
/// `ids_in_order`).
pub const JSON_LOOKUP_CHUNK: usize = 50_000;

/// The `id` of the row of `table` whose unique text column `key` equals each of `keys`, 0 where
/// none does, in `keys`' order: one bound JSON text in, one JSON array of integers out. Nothing
/// comes back but the ids, so no key is decoded, allocated or hashed again to put the answer in
/// order (that was most of a 1M-name look-up's time when the names came back with their ids).
///
/// Each id comes folded with its key's position (`position << 32 | id`) and is put in place
/// here: an aggregate `ORDER BY` made the database sort every call's rows, a third of SQLite's
/// time for the statement (25,000 names a call against a million users).
pub async fn ids_in_order(
    db: &impl ConnectionTrait,
    table: &str,
    key: &str,
    keys: &[&str],
) -> Result<Vec<i32>, DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => format!(
            "SELECT COALESCE(json_agg(((j.ord - 1) << 32) | (COALESCE(t.id, 0) & 4294967295)), '[]')::text \
             FROM json_array_elements_text($1::json) WITH ORDINALITY AS j(value, ord) \
             LEFT JOIN {table} AS t ON t.{key} = j.value"
        ),
        _ => format!(
            "SELECT json_group_array((j.key << 32) | (COALESCE(t.id, 0) & 4294967295)) \
             FROM json_each(?1) AS j LEFT JOIN {table} AS t ON t.{key} = j.value"
        ),
    };
    let json = serde_json::to_string(keys).map_err(|e| DbErr::Custom(e.to_string()))?;
    let folded: Vec<i64> = folded(db, sql, vec![json.into()]).await?;
    if folded.len() != keys.len() {
        return Err(DbErr::Custom(format!(
            "{} ids for {} keys",
            folded.len(),
            keys.len()
        )));
    }
    let mut ids = vec![0; keys.len()];
    let mut placed = vec![false; keys.len()];
    for &v in &folded {
        // The id's 32 bits are masked in, so a negative id keeps the position's bits intact.
        let at = (v >> 32) as usize;
        match placed.get_mut(at) {
            Some(seen @ false) => *seen = true,
            _ => {
                return Err(DbErr::Custom(format!(
                    "key position {at} twice or out of range"
                )))
            }
        }
        ids[at] = v as u32 as i32;
    }
    Ok(ids)
}

/// Runs a select and returns its rows as tuples (`T`, e.g. `(String, i32)`), folded by the
/// database into one JSON array in one row; `columns` names the select's output columns, in
/// the tuple's order. Look-ups return tens of thousands of small rows, and the driver's cost per
/// row (a message per row from SQLite's worker thread, a decode per row) was most of a
/// look-up's time; one text value per call is not.
pub async fn tuples<T: serde::de::DeserializeOwned>(
    db: &impl ConnectionTrait,
    select: &sea_orm::sea_query::SelectStatement,
    columns: &[&str],
) -> Result<Vec<T>, DbErr> {
    let cols: Vec<String> = columns.iter().map(|c| format!("t.\"{c}\"")).collect();
    let cols = cols.join(", ");
    folded_rows(db, select, |backend| match backend {
        DatabaseBackend::Postgres => format!("json_build_array({cols})"),
        _ => format!("json_array({cols})"),
    })
    .await
}

/// `tuples` for two integer columns: each row folds into one integer, `a << 32 | b` (b's 32
/// bits), not a JSON array of two. Making the small array per row was most of the database's
/// time for a look-up's memberships: 78 against 45 ms for 125,000 rows on SQLite.
pub async fn int_pairs(
    db: &impl ConnectionTrait,
    select: &sea_orm::sea_query::SelectStatement,
    [a, b]: [&str; 2],
) -> Result<Vec<(i32, i32)>, DbErr> {
    let packed: Vec<i64> = folded_rows(db, select, |backend| match backend {
        DatabaseBackend::Postgres => {
            format!("(t.\"{a}\"::bigint << 32) | (t.\"{b}\"::bigint & 4294967295)")
        }
        _ => format!("(t.\"{a}\" << 32) | (t.\"{b}\" & 4294967295)"),
    })
    .await?;
    Ok(packed
        .into_iter()
        .map(|v| ((v >> 32) as i32, v as u32 as i32))
        .collect())
}

/// Runs `select` and folds its rows, each made into one JSON value by `row` (an expression
/// over `t`, the select's row, for the backend), into one JSON array read as `Vec<T>`.
async fn folded_rows<T: serde::de::DeserializeOwned>(
    db: &impl ConnectionTrait,
    select: &sea_orm::sea_query::SelectStatement,
    row: impl Fn(DatabaseBackend) -> String,
) -> Result<Vec<T>, DbErr> {
    let backend = db.get_database_backend();
    let (inner, values) = match backend {
        DatabaseBackend::Postgres => select.build(sea_orm::sea_query::PostgresQueryBuilder),
        _ => select.build(sea_orm::sea_query::SqliteQueryBuilder),
    };
    let row = row(backend);
    let sql = match backend {
        DatabaseBackend::Postgres => {
            format!("SELECT COALESCE(json_agg({row}), '[]')::text FROM ({inner}) AS t")
        }
        _ => format!("SELECT json_group_array({row}) FROM ({inner}) AS t"),
    };
    folded(db, sql, values.0).await
}

/// Runs `sql`, an aggregate whose one row is one JSON text, and reads that text as `T`.
async fn folded<T: serde::de::DeserializeOwned>(
    db: &impl ConnectionTrait,
    sql: String,
    values: Vec<sea_orm::Value>,
) -> Result<T, DbErr> {
    let row = db
        .query_one(sea_orm::Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            values,
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("an aggregate returned no row".into()))?;
    let text: String = row.try_get_by_index(0)?;
    serde_json::from_str(&text).map_err(|e| DbErr::Custom(format!("folded rows: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::TransactionTrait;

    #[test]
    fn contention_codes_by_backend() {
        for code in ["40001", "40P01", "55P03"] {
            assert!(
                is_contention_code(DatabaseBackend::Postgres, code),
                "{code}"
            );
        }
        for code in ["23505", "23503", "57014", "5", "6"] {
            assert!(
                !is_contention_code(DatabaseBackend::Postgres, code),
                "{code}"
            );
        }
        // SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT (517), SQLITE_LOCKED, SQLITE_LOCKED_SHAREDCACHE (262).
        for code in ["5", "517", "6", "262"] {
            assert!(is_contention_code(DatabaseBackend::Sqlite, code), "{code}");
        }
        // SQLITE_CONSTRAINT_UNIQUE (2067), SQLITE_CONSTRAINT_FOREIGNKEY (787), SQLITE_FULL (13).
        for code in ["2067", "787", "13", "40001"] {
            assert!(!is_contention_code(DatabaseBackend::Sqlite, code), "{code}");
        }
    }

    /// A real SQLITE_BUSY (another connection holds the write lock, no busy wait) is contention;
    /// a real constraint violation is not.
    #[tokio::test]
    async fn a_real_busy_error_is_contention_and_a_constraint_error_is_not() {
        let dir = std::env::temp_dir().join(format!("contention-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}/c.db?mode=rwc", dir.display());
        let holder = connect(&url).await.unwrap();
        holder
            .execute_unprepared("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY)")
            .await
            .unwrap();
        let mut opts = ConnectOptions::new(url.clone());
        opts.sqlx_logging(false)
            .map_sqlx_sqlite_opts(|o| o.busy_timeout(Duration::ZERO));
        let impatient = Database::connect(opts).await.unwrap();
        let txn = holder.begin().await.unwrap();
        txn.execute_unprepared("INSERT INTO t (id) VALUES (1)")
            .await
            .unwrap();
        let busy = impatient
            .execute_unprepared("INSERT INTO t (id) VALUES (2)")
            .await
            .unwrap_err();
        assert!(is_contention(&busy), "{busy:?}");
        txn.commit().await.unwrap();
        let duplicate = impatient
            .execute_unprepared("INSERT INTO t (id) VALUES (1)")
            .await
            .unwrap_err();
        assert!(!is_contention(&duplicate), "{duplicate:?}");
        std::fs::remove_dir_all(&dir).ok();
    }

    /// Every pooled SQLite connection has the settings, not only the one that ran a PRAGMA.
    #[tokio::test]
    async fn every_pooled_sqlite_connection_has_the_settings() {
        let dir = std::env::temp_dir().join(format!("pragmas-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = connect(&format!("sqlite://{}/p.db?mode=rwc", dir.display()))
            .await
            .unwrap();
        // Holding SQLITE_POOL_SIZE transactions at once takes every connection in the pool.
        let mut held = Vec::new();
        for _ in 0..SQLITE_POOL_SIZE {
            held.push(db.begin().await.unwrap());
        }
        for txn in &held {
            let pragma = |name: &'static str| async move {
                txn.query_one(sea_orm::Statement::from_string(
                    DatabaseBackend::Sqlite,
                    format!("PRAGMA {name}"),
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get_by_index::<i64>(0)
                .unwrap()
            };
            assert_eq!(pragma("busy_timeout").await, SQLITE_BUSY_TIMEOUT_MS as i64);
            assert_eq!(pragma("foreign_keys").await, 1);
            assert_eq!(pragma("synchronous").await, 1, "NORMAL");
            assert_eq!(pragma("mmap_size").await, SQLITE_MMAP_BYTES as i64);
        }
        drop(held);
        std::fs::remove_dir_all(&dir).ok();
    }

    /// Every pooled PostgreSQL connection runs without JIT (see `connect_with_mmap`). Runs when
    /// `TEST_DATABASE_URL` names a PostgreSQL server, as the test command's second pass does.
    #[tokio::test]
    async fn every_pooled_postgres_connection_has_jit_off() {
        let Some(url) = std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| u.starts_with("postgres"))
        else {
            return;
        };
        let db = connect(&url).await.unwrap();
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(db.begin().await.unwrap());
        }
        for txn in &held {
            let jit: String = txn
                .query_one(sea_orm::Statement::from_string(
                    DatabaseBackend::Postgres,
                    "SELECT current_setting('jit')",
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get_by_index(0)
                .unwrap();
            assert_eq!(jit, "off");
        }
    }
}
