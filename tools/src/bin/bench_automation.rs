//! Benchmark of segment automation (issue 12): a rule change that moves ~100,000 members of a
//! segment among 1,000,000 users, and a one-user profile change, through the real services, beside
//! the fastest raw way to make the same membership change in the same process.
//!
//!     cargo run --release -p tools --bin bench-automation -- [--users N] [--runs R] [--user-runs U] [--postgres URL]
//!
//! Seed (raw, set-based): N users, a menu field `dept` (D0..D9, user id i holds D((i-1) % 10), so
//! ~N/10 per department), a segment, a course with a group and a "User segment members to group"
//! instance on the segment, and the users of D0 and D1 enrolled by hand so the group has members
//! to follow. The segment starts on `dept equals D0`. PostgreSQL is ANALYZEd after the seed (what
//! autovacuum does on a live server; without statistics its plans are far worse); SQLite runs
//! without statistics, as the console does.
//!
//! 1. Rule change: `automation::service::set_rules` in `sync::begin` .. commit, alternating
//!    `dept equals D0` / `dept equals D1` (each run removes ~N/10 members, adds ~N/10, and the
//!    group follows). Baseline, interleaved from the same starting state: one transaction of
//!    `DELETE FROM segment_members WHERE segment_id = ?` + `INSERT … SELECT` the department's users
//!    from the value index, no group sync (SQLite: rusqlite on the same file with the pool's
//!    pragmas; PostgreSQL: the same two statements through the driver). Between the baseline and
//!    ours the segment is set back with `set_rules` (not timed).
//! 2. One-user change: `automation::service::set_user_values` of one enrolled user to D1 and back
//!    to D0, each in `sync::begin` .. commit.
//!
//! Medians are printed with the targets (rule change < 3 s, one-user change < 50 ms) and the
//! median time of each statement the services issued; no timing is asserted.
use app::automation::{FieldKind, Match, Rule, RuleSet};
use async_trait::async_trait;
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DbBackend, DbErr, ExecResult,
    QueryResult, Statement, TransactionTrait,
};
use std::sync::Mutex;
use std::time::Instant;

/// Passes every statement through and records how long it took.
struct Timing<'a, C> {
    inner: &'a C,
    log: Mutex<Vec<(String, f64)>>,
}

impl<'a, C> Timing<'a, C> {
    fn new(inner: &'a C) -> Self {
        Self {
            inner,
            log: Mutex::new(Vec::new()),
        }
    }

    fn record(&self, sql: &str, t: Instant) {
        let secs = t.elapsed().as_secs_f64();
        let words: Vec<&str> = sql.split_whitespace().collect();
        let mut label = words.join(" ");
        if label.len() > 110 {
            let mut cut = 110;
            while !label.is_char_boundary(cut) {
                cut -= 1;
            }
            label.truncate(cut);
            label.push('…');
        }
        self.log.lock().unwrap().push((label, secs));
    }

    fn take(self) -> Vec<(String, f64)> {
        self.log.into_inner().unwrap()
    }
}

#[async_trait]
impl<C: ConnectionTrait + Send + Sync> ConnectionTrait for Timing<'_, C> {
    fn get_database_backend(&self) -> DbBackend {
        self.inner.get_database_backend()
    }
    async fn execute(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let sql = stmt.sql.clone();
        let t = Instant::now();
        let r = self.inner.execute(stmt).await;
        self.record(&sql, t);
        r
    }
    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let t = Instant::now();
        let r = self.inner.execute_unprepared(sql).await;
        self.record(sql, t);
        r
    }
    async fn query_one(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let sql = stmt.sql.clone();
        let t = Instant::now();
        let r = self.inner.query_one(stmt).await;
        self.record(&sql, t);
        r
    }
    async fn query_all(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let sql = stmt.sql.clone();
        let t = Instant::now();
        let r = self.inner.query_all(stmt).await;
        self.record(&sql, t);
        r
    }
    fn support_returning(&self) -> bool {
        self.inner.support_returning()
    }
}

const DEPTS: usize = 10;

#[tokio::main]
async fn main() {
    let mut users = 1_000_000;
    let mut runs = 5;
    let mut user_runs = 21;
    let mut postgres = std::env::var("BENCH_POSTGRES_URL").ok();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--users" => users = args.next().and_then(|v| v.parse().ok()).expect("--users N"),
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).expect("--runs R"),
            "--user-runs" => {
                user_runs = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--user-runs U")
            }
            "--postgres" => postgres = args.next(),
            other => panic!("unknown argument {other}"),
        }
    }
    println!(
        "bench-automation: {users} users, menu field dept D0..D{} (~{} users each), one segment on `dept equals Dx` \
         linked by \"User segment members to group\" to a course where D0 and D1 are enrolled; \
         {runs} rule-change runs, {user_runs} one-user runs; medians",
        DEPTS - 1,
        users / DEPTS
    );
    let dir = tempfile::tempdir().unwrap();
    let path = format!("{}/automation.db", dir.path().display());
    bench(
        "sqlite",
        &format!("sqlite://{path}?mode=rwc"),
        Some(&path),
        users,
        runs,
        user_runs,
    )
    .await;
    if let Some(admin) = &postgres {
        let scratch = tools::bench::ScratchDb::create(admin, "bench_automation").await;
        bench("postgres", &scratch.url, None, users, runs, user_runs).await;
        scratch.drop().await;
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    xs[xs.len() / 2]
}

fn runs_list(xs: &[f64]) -> String {
    xs.iter()
        .map(|x| format!("{x:.3}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

async fn exec(db: &impl ConnectionTrait, sql: &str) {
    db.execute_unprepared(sql).await.unwrap();
}

async fn scalar(db: &impl ConnectionTrait, sql: &str) -> i64 {
    let row = db
        .query_one(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    // PostgreSQL's COUNT is a bigint, an id an integer.
    row.try_get_by_index::<i64>(0)
        .or_else(|_| row.try_get_by_index::<i32>(0).map(i64::from))
        .unwrap()
}

fn rule(dept: usize) -> RuleSet {
    RuleSet {
        match_: Match::All,
        rules: vec![Rule {
            field: "dept".into(),
            op: "equals".into(),
            value: serde_json::json!(format!("D{dept}")),
        }],
    }
}

struct Seeded {
    field: i32,
    segment: i32,
    /// Users enrolled in the course (D0 and D1).
    enrolled: i64,
}

/// Everything raw and set-based except the field (the service writes its options).
async fn seed(db: &DatabaseConnection, users: usize) -> Seeded {
    let now = chrono::Utc::now().to_rfc3339();
    let t = match db.get_database_backend() {
        DatabaseBackend::Postgres => format!("'{now}'::timestamptz"),
        _ => format!("'{now}'"),
    };
    for start in (0..users).step_by(5_000) {
        let values: Vec<String> = (start..(start + 5_000).min(users))
            .map(|i| format!("('u{i:07}', 'F', 'L', 'u{i}@example.com', false, {t}, {t})"))
            .collect();
        exec(db, &format!("INSERT INTO users (username, firstname, lastname, email, suspended, created_at, updated_at) VALUES {}", values.join(","))).await;
    }
    let options: Vec<String> = (0..DEPTS).map(|d| format!("D{d}")).collect();
    let field =
        app::automation::service::create_field(db, "dept", "Department", FieldKind::Menu, &options)
            .await
            .unwrap()
            .id;
    exec(db, &format!("INSERT INTO user_profile_values (field_id, user_id, value, folded) SELECT {field}, id, 'D' || ((id - 1) % {DEPTS}), 'd' || ((id - 1) % {DEPTS}) FROM users")).await;
    exec(db, &format!("INSERT INTO segments (id_number, name, description, visible, created_at, updated_at) VALUES ('dept', 'By department', '', true, {t}, {t})")).await;
    let segment = scalar(db, "SELECT id FROM segments WHERE id_number = 'dept'").await;
    exec(
        db,
        &format!(
            "INSERT INTO courses (shortname, fullname, created_at) VALUES ('C1', 'Course 1', {t})"
        ),
    )
    .await;
    let course = scalar(db, "SELECT id FROM courses WHERE shortname = 'C1'").await;
    exec(db, &format!("INSERT INTO course_groups (course_id, name, created_at) VALUES ({course}, 'Followers', {t})")).await;
    let group = scalar(
        db,
        &format!("SELECT id FROM course_groups WHERE course_id = {course}"),
    )
    .await;
    exec(db, &format!("INSERT INTO enrol_instances (course_id, kind, created_at) VALUES ({course}, 'manual', {t})")).await;
    let manual = scalar(
        db,
        &format!("SELECT id FROM enrol_instances WHERE course_id = {course} AND kind = 'manual'"),
    )
    .await;
    exec(db, &format!("INSERT INTO enrol_instances (course_id, kind, segment_id, group_id, created_at) VALUES ({course}, 'segment_to_group', {segment}, {group}, {t})")).await;
    exec(db, &format!("INSERT INTO enrolments (instance_id, course_id, user_id, status, created_at) SELECT {manual}, {course}, user_id, 'active', {t} FROM user_profile_values WHERE field_id = {field} AND folded IN ('d0', 'd1')")).await;
    let enrolled = scalar(db, "SELECT COUNT(*) FROM enrolments").await;
    if db.get_database_backend() == DatabaseBackend::Postgres {
        // What autovacuum's analyze would have done by now on a live server; SQLite runs
        // without statistics, as the console does.
        exec(db, "ANALYZE").await;
    }
    Seeded {
        field,
        segment: segment as i32,
        enrolled,
    }
}

/// Ours: the rules set to `dept equals D{dept}` through the service, begin to commit.
async fn set_rules(
    db: &DatabaseConnection,
    segment: i32,
    dept: usize,
) -> (
    f64,
    app::automation::service::RuleChange,
    Vec<(String, f64)>,
) {
    let t = Instant::now();
    let txn = app::sync::begin(db).await.unwrap();
    let timing = Timing::new(&txn);
    let change = app::automation::service::set_rules(&timing, segment, Some(&rule(dept)))
        .await
        .unwrap();
    let log = timing.take();
    txn.commit().await.unwrap();
    (t.elapsed().as_secs_f64(), change, log)
}

/// Ours: one user's department through the service, begin to commit.
async fn set_value(
    db: &DatabaseConnection,
    user: i32,
    field: i32,
    dept: usize,
) -> (f64, app::sync::Drift, Vec<(String, f64)>) {
    let t = Instant::now();
    let txn = app::sync::begin(db).await.unwrap();
    let timing = Timing::new(&txn);
    let drift =
        app::automation::service::set_user_values(&timing, user, &[(field, format!("D{dept}"))])
            .await
            .unwrap();
    let log = timing.take();
    txn.commit().await.unwrap();
    (t.elapsed().as_secs_f64(), drift, log)
}

/// The baseline on SQLite: the C library (rusqlite) on the same file, the pool's pragmas, one
/// transaction of the two statements. Returns (seconds, deleted, inserted).
fn sqlite_baseline(
    conn: &mut rusqlite::Connection,
    segment: i32,
    field: i32,
    dept: usize,
) -> (f64, usize, usize) {
    let now = chrono::Utc::now().to_rfc3339();
    let t = Instant::now();
    let txn = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    let deleted = txn
        .execute(
            "DELETE FROM segment_members WHERE segment_id = ?1",
            rusqlite::params![segment],
        )
        .unwrap();
    let inserted = txn
        .execute(
            "INSERT INTO segment_members (segment_id, user_id, added_at) \
             SELECT ?1, user_id, ?2 FROM user_profile_values WHERE field_id = ?3 AND folded = ?4",
            rusqlite::params![segment, now, field, format!("d{dept}")],
        )
        .unwrap();
    txn.commit().unwrap();
    (t.elapsed().as_secs_f64(), deleted, inserted)
}

/// The baseline on PostgreSQL: the same two statements through the driver in one transaction.
async fn driver_baseline(
    db: &DatabaseConnection,
    segment: i32,
    field: i32,
    dept: usize,
) -> (f64, usize, usize) {
    let b = db.get_database_backend();
    let t = Instant::now();
    let txn = db.begin().await.unwrap();
    let deleted = txn
        .execute(Statement::from_sql_and_values(
            b,
            "DELETE FROM segment_members WHERE segment_id = $1",
            [segment.into()],
        ))
        .await
        .unwrap()
        .rows_affected();
    let inserted = txn
        .execute(Statement::from_sql_and_values(
            b,
            "INSERT INTO segment_members (segment_id, user_id, added_at) \
             SELECT $1, user_id, $2 FROM user_profile_values WHERE field_id = $3 AND folded = $4",
            [
                segment.into(),
                chrono::Utc::now().into(),
                field.into(),
                format!("d{dept}").into(),
            ],
        ))
        .await
        .unwrap()
        .rows_affected();
    txn.commit().await.unwrap();
    (
        t.elapsed().as_secs_f64(),
        deleted as usize,
        inserted as usize,
    )
}

/// The median time of each statement, by position (the services issue the same ones each run).
fn print_statements(label: &str, logs: &[Vec<(String, f64)>]) {
    let Some(first) = logs.first() else { return };
    if logs.iter().any(|l| l.len() != first.len()) {
        println!("[{label}]     (statement lists differ between runs; showing the first run)");
        for (sql, s) in first {
            println!("[{label}]     {:>9.2} ms  {sql}", s * 1e3);
        }
        return;
    }
    for (i, (sql, _)) in first.iter().enumerate() {
        let m = median(logs.iter().map(|l| l[i].1).collect());
        println!("[{label}]     {:>9.2} ms  {sql}", m * 1e3);
    }
}

async fn bench(
    label: &str,
    url: &str,
    sqlite_path: Option<&str>,
    users: usize,
    runs: usize,
    user_runs: usize,
) {
    let db = app::db::connect_and_migrate(url).await.expect("database");
    let t = Instant::now();
    let s = seed(&db, users).await;
    println!(
        "\n[{label}] seed: {users} users, {users} dept values, {} enrolments (D0 + D1) in {:.1} s",
        s.enrolled,
        t.elapsed().as_secs_f64()
    );
    let (secs, first, _) = set_rules(&db, s.segment, 0).await;
    println!(
        "[{label}] first fill (set_rules dept = D0 on the empty segment, not a measured run): {secs:.2} s, \
         +{} members, +{} group memberships",
        first.added, first.drift.group_memberships_added
    );
    let members = |dept: usize| scalar_members(&db, s.segment, dept);

    let mut conn = sqlite_path.map(tools::bench::sqlite_like_the_app);

    // 1. Rule changes, each from the state the previous one left; the baseline first, from that
    // same state, then the segment set back (not timed) and ours.
    let (mut ours, mut base) = (vec![], vec![]);
    let mut logs = vec![];
    let mut changes = vec![];
    let mut base_rows = (0, 0);
    let mut prev = 0;
    for _ in 0..runs {
        let target = 1 - prev;
        let (secs, deleted, inserted) = match conn.take() {
            Some(mut c) => {
                let (field, segment) = (s.field, s.segment);
                let (c, r) = tokio::task::spawn_blocking(move || {
                    let r = sqlite_baseline(&mut c, segment, field, target);
                    (c, r)
                })
                .await
                .unwrap();
                conn = Some(c);
                r
            }
            None => driver_baseline(&db, s.segment, s.field, target).await,
        };
        base.push(secs);
        base_rows = (deleted, inserted);
        assert_eq!(members(target).await, (inserted as i64, inserted as i64));
        let (_, back, _) = set_rules(&db, s.segment, prev).await;
        assert_eq!(
            back.drift,
            app::sync::Drift::default(),
            "setting back changes no group"
        );
        assert_eq!(members(prev).await.0, members(prev).await.1);

        let (secs, change, log) = set_rules(&db, s.segment, target).await;
        ours.push(secs);
        logs.push(log);
        changes.push(change);
        let (n, matching) = members(target).await;
        assert_eq!(n, matching, "the segment holds exactly D{target}");
        prev = target;
    }
    let (o, b) = (median(ours.clone()), median(base.clone()));
    let c = changes[changes.len() / 2];
    println!(
        "[{label}] 1. rule change dept = D0 <-> D1 (set_rules in sync::begin .. commit): median {o:.3} s \
         (runs: {}) target < 3 s: {}",
        runs_list(&ours),
        met(o < 3.0)
    );
    println!(
        "[{label}]    per run: members +{} -{}, group memberships +{} -{} (drift)",
        c.added, c.removed, c.drift.group_memberships_added, c.drift.group_memberships_removed
    );
    println!(
        "[{label}]    baseline ({}: one transaction, DELETE the segment's {} members + INSERT..SELECT the {} users of the department from the value index; no group sync): median {b:.3} s (runs: {}); ours/baseline {:.2}x",
        if sqlite_path.is_some() {
            "rusqlite on the same file"
        } else {
            "the same statements through the driver"
        },
        base_rows.0,
        base_rows.1,
        runs_list(&base),
        o / b
    );
    println!("[{label}]    ours by statement (median ms of each, in order):");
    print_statements(label, &logs);

    // 2. One user's department, to D1 and back to D0; the segment is on D{prev}, so the user
    // leaves or joins it (and the group) each time.
    let user = scalar(
        &db,
        &format!(
            "SELECT MIN(user_id) FROM user_profile_values WHERE field_id = {} AND folded = 'd0'",
            s.field
        ),
    )
    .await as i32;
    let (mut to1, mut to0) = (vec![], vec![]);
    let (mut logs1, mut logs0) = (vec![], vec![]);
    let (mut d1, mut d0) = (Default::default(), Default::default());
    for _ in 0..user_runs {
        let (secs, d, log) = set_value(&db, user, s.field, 1).await;
        to1.push(secs);
        logs1.push(log);
        d1 = d;
        let (secs, d, log) = set_value(&db, user, s.field, 0).await;
        to0.push(secs);
        logs0.push(log);
        d0 = d;
    }
    let (m1, m0) = (median(to1), median(to0));
    println!(
        "[{label}] 2. one-user change (set_user_values of user {user}, enrolled, in sync::begin .. commit; the segment is on D{prev}): \
         D0 -> D1 median {:.2} ms (group +{} -{}), D1 -> D0 median {:.2} ms (group +{} -{}); target < 50 ms: {}",
        m1 * 1e3,
        d1.group_memberships_added,
        d1.group_memberships_removed,
        m0 * 1e3,
        d0.group_memberships_added,
        d0.group_memberships_removed,
        met(m1.max(m0) < 0.05)
    );
    println!("[{label}]    D0 -> D1 by statement (median ms):");
    print_statements(label, &logs1);
    println!("[{label}]    D1 -> D0 by statement (median ms):");
    print_statements(label, &logs0);

    let t = Instant::now();
    let v = app::sync::violations(&db).await.unwrap();
    assert!(v.is_empty(), "{v:?}");
    println!(
        "[{label}] sync::violations: none ({:.1} s to check)",
        t.elapsed().as_secs_f64()
    );
    drop(conn);
    db.close().await.ok();
}

/// (the segment's members, how many of them hold D{dept}) — equal when it holds only D{dept}
/// users; the first is also compared with the department's size by the callers.
async fn scalar_members(db: &DatabaseConnection, segment: i32, dept: usize) -> (i64, i64) {
    let all = scalar(
        db,
        &format!("SELECT COUNT(*) FROM segment_members WHERE segment_id = {segment}"),
    )
    .await;
    let matching = scalar(db, &format!("SELECT COUNT(*) FROM segment_members sm JOIN user_profile_values v ON v.user_id = sm.user_id WHERE sm.segment_id = {segment} AND v.folded = 'd{dept}'")).await;
    (all, matching)
}
