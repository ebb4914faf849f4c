//! Benchmark (issue 4): add 100,000 users to a segment linked to 10 courses (5 by "User segment
//! sync" with a group, 5 by "User segment members to group", whose users are already enrolled),
//! through the sync module, beside a baseline in the same run that does what per-event observers
//! do: one enrolment and one group insert per user per course. Prints wall time and statements.
//! Also beside the ceiling: the same rows written by the fewest plain set-based statements
//! (`INSERT … SELECT` per table and instance, no rule checked, no conflict handling), which is
//! what the database's storage, indexes and foreign keys cost for them at least.
//!
//! Then a change to a segment that already has members: the same segment and courses, synced
//! for `users` members, grows by a quarter as many (above the 20,000 users past which the sync
//! used to recompute the whole segment), beside the ceiling of the same rows written by plain
//! `INSERT … SELECT`s of the new users' rows alone (an id range, no list to read).
//!
//!     cargo run --release -p server --bin bench-sync -- [--users N] [--postgres URL]
use app::courses::service::{self as courses, SyncGroup};
use app::entities::{enrol_instance, user};
use async_trait::async_trait;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, ExecResult, QueryOrder,
    QueryResult, QuerySelect, Statement, TransactionTrait,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Passes every statement through and counts it.
struct Counting<'a, C> {
    inner: &'a C,
    statements: AtomicU64,
}

#[async_trait]
impl<C: ConnectionTrait + Send + Sync> ConnectionTrait for Counting<'_, C> {
    fn get_database_backend(&self) -> DbBackend {
        self.inner.get_database_backend()
    }
    async fn execute(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.statements.fetch_add(1, Ordering::Relaxed);
        self.inner.execute(stmt).await
    }
    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.statements.fetch_add(1, Ordering::Relaxed);
        self.inner.execute_unprepared(sql).await
    }
    async fn query_one(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.statements.fetch_add(1, Ordering::Relaxed);
        self.inner.query_one(stmt).await
    }
    async fn query_all(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.statements.fetch_add(1, Ordering::Relaxed);
        self.inner.query_all(stmt).await
    }
    fn support_returning(&self) -> bool {
        self.inner.support_returning()
    }
}

const COURSES: usize = 10;

#[tokio::main]
async fn main() {
    let tools::bench::BenchArgs { users, postgres } = tools::bench::args(100_000);
    println!("bench-sync: add {users} users to a segment linked to {COURSES} courses (5 segment sync + group, 5 members-to-group)");
    let dir = tempfile::tempdir().unwrap();
    // BENCH_SKIP_SQLITE=1 runs PostgreSQL alone (the SQLite baseline takes minutes);
    // BENCH_GROW_ONLY=1 runs only the growing segment; BENCH_SKIP_BASELINE=1 skips the
    // per-event loop (minutes) to compare builds by their ratio to the ceiling;
    // BENCH_WITHOUT_FOREIGN_KEYS=1 drops the membership tables' foreign keys in the PostgreSQL
    // databases, to show what the checks cost every side (an experiment: the schema keeps them).
    let grow_only = std::env::var("BENCH_GROW_ONLY").is_ok();
    if std::env::var("BENCH_SKIP_SQLITE").is_err() {
        let url = |name: &str| format!("sqlite://{}/{name}.db?mode=rwc", dir.path().display());
        if !grow_only {
            bench(
                "sqlite",
                [&url("ours"), &url("base"), &url("ceiling")],
                users,
            )
            .await;
        }
        grow("sqlite", [&url("grow"), &url("grow-ceiling")], users).await;
    }
    if let Some(admin_url) = postgres {
        if !grow_only {
            let ours = tools::bench::ScratchDb::create(&admin_url, "bsync").await;
            let base = tools::bench::ScratchDb::create(&admin_url, "bsync").await;
            let ceiling = tools::bench::ScratchDb::create(&admin_url, "bsync").await;
            let label = if without_foreign_keys() {
                "postgres, no foreign keys"
            } else {
                "postgres"
            };
            bench(label, [&ours.url, &base.url, &ceiling.url], users).await;
            ours.drop().await;
            base.drop().await;
            ceiling.drop().await;
        }
        let ours = tools::bench::ScratchDb::create(&admin_url, "bsync").await;
        let ceiling = tools::bench::ScratchDb::create(&admin_url, "bsync").await;
        grow("postgres", [&ours.url, &ceiling.url], users).await;
        ours.drop().await;
        ceiling.drop().await;
    }
}

fn without_foreign_keys() -> bool {
    std::env::var("BENCH_WITHOUT_FOREIGN_KEYS").is_ok()
}

/// A migrated database; on PostgreSQL under `BENCH_WITHOUT_FOREIGN_KEYS`, with no foreign key
/// left on the three tables the sync writes.
async fn open(url: &str) -> DatabaseConnection {
    let db = app::db::connect_and_migrate(url).await.unwrap();
    if without_foreign_keys() && db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(
            "DO $$ DECLARE r record; BEGIN \
               FOR r IN SELECT conrelid::regclass AS t, conname FROM pg_constraint \
                 WHERE contype = 'f' AND conrelid::regclass::text \
                   IN ('segment_members', 'enrolments', 'group_members') LOOP \
                 EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.t, r.conname); \
               END LOOP; END $$",
        )
        .await
        .unwrap();
    }
    db
}

struct Setup {
    segment: i32,
    user_ids: Vec<i32>,
    /// (course, group, is segment sync, instance: 0 without instances)
    courses: Vec<(i32, i32, bool, i32)>,
    manual_instances: Vec<i32>,
}

async fn setup(db: &DatabaseConnection, users: usize, with_instances: bool) -> Setup {
    let now = chrono::Utc::now();
    let rows: Vec<_> = (0..users)
        .map(|i| user::ActiveModel::new_user(&format!("u{i:07}"), "B", "U", "b@example.com", now))
        .collect();
    for chunk in rows.chunks(4_000) {
        user::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await
            .unwrap();
    }
    // In the order they were made (`grow` splits them there).
    let user_ids: Vec<i32> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .order_by_asc(user::Column::Id)
        .into_tuple()
        .all(db)
        .await
        .unwrap();
    let segment = app::segments::service::Mutation::create(
        db,
        &app::domain::SegmentDraft::parse("bench", "Bench", "", true).unwrap(),
    )
    .await
    .unwrap();
    let mut courses_out = Vec::new();
    let mut manual_instances = Vec::new();
    for c in 0..COURSES {
        let course = courses::create_course(db, &format!("c{c}"), "Course")
            .await
            .unwrap();
        let group = courses::create_group(db, course, "Group").await.unwrap();
        let sync = c < COURSES / 2;
        if !sync {
            // Members-to-group needs active enrolments: everyone is already enrolled by hand.
            courses::enrol(db, course, &user_ids).await.unwrap();
            manual_instances.push(courses::manual_instance(db, course).await.unwrap());
        }
        let mut instance = 0;
        if with_instances {
            instance = if sync {
                courses::add_segment_sync(db, course, segment, SyncGroup::Existing(group), false)
                    .await
                    .unwrap()
                    .0
            } else {
                courses::add_segment_to_group(db, course, segment, group)
                    .await
                    .unwrap()
                    .0
            };
        }
        courses_out.push((course, group, sync, instance));
    }
    Setup {
        segment,
        user_ids,
        courses: courses_out,
        manual_instances,
    }
}

/// The ceiling's writes: the segment's members from `users`, then each instance's enrolment
/// and group rows from those members, by one plain `INSERT … SELECT` per table and instance in
/// one transaction, for the users past id `after` (0: everyone). Returns seconds.
async fn plain_writes(db: &DatabaseConnection, s: &Setup, after: i32) -> f64 {
    let st = |sql: String| Statement::from_string(db.get_database_backend(), sql);
    let seg = s.segment;
    let txn = db.begin().await.unwrap();
    let t = Instant::now();
    txn.execute(st(format!(
        "INSERT INTO segment_members (segment_id, user_id, added_at) \
         SELECT {seg}, id, CURRENT_TIMESTAMP FROM users WHERE id > {after}"
    )))
    .await
    .unwrap();
    let members = format!("segment_members WHERE segment_id = {seg} AND user_id > {after}");
    for &(course, group, sync, inst) in &s.courses {
        if sync {
            txn.execute(st(format!(
                "INSERT INTO enrolments (instance_id, course_id, user_id, status, created_at) \
                 SELECT {inst}, {course}, user_id, 'active', CURRENT_TIMESTAMP FROM {members}"
            )))
            .await
            .unwrap();
        }
        txn.execute(st(format!(
            "INSERT INTO group_members (group_id, user_id, origin_instance_id, added_at) \
             SELECT {group}, user_id, {inst}, CURRENT_TIMESTAMP FROM {members}"
        )))
        .await
        .unwrap();
    }
    txn.commit().await.unwrap();
    t.elapsed().as_secs_f64()
}

/// `users` added to the segment through the sync module in one transaction: seconds, and the
/// statements it took.
async fn sync_add(db: &DatabaseConnection, segment: i32, users: &[i32]) -> (f64, u64) {
    let txn = db.begin().await.unwrap();
    let t = Instant::now();
    let counting = Counting {
        inner: &txn,
        statements: AtomicU64::new(0),
    };
    app::segments::service::Mutation::add_members(&counting, segment, users)
        .await
        .unwrap();
    let statements = counting.statements.load(Ordering::Relaxed);
    txn.commit().await.unwrap();
    (t.elapsed().as_secs_f64(), statements)
}

/// The ceiling: the rows the sync writes, by `plain_writes`, in a fresh database. Returns
/// seconds.
async fn ceiling(url: &str, users: usize) -> f64 {
    let db = open(url).await;
    let s = setup(&db, users, true).await;
    let secs = plain_writes(&db, &s, 0).await;
    // The same rows the sync makes, and they meet its rules.
    let enrolments = count(&db, "SELECT COUNT(*) FROM enrolments WHERE instance_id IN (SELECT id FROM enrol_instances WHERE kind = 'segment_sync')").await;
    assert_eq!(enrolments as usize, users * COURSES / 2);
    let groups = count(&db, "SELECT COUNT(*) FROM group_members").await;
    assert_eq!(groups as usize, users * COURSES);
    assert!(app::sync::violations(&db).await.unwrap().is_empty());
    db.close().await.ok();
    secs
}

async fn bench(label: &str, [ours_url, base_url, ceiling_url]: [&str; 3], users: usize) {
    let floor = ceiling(ceiling_url, users).await;
    println!("\n[{label}] ceiling (plain INSERT … SELECT per table and instance): {floor:.2} s");
    // Ours: add everyone to the segment; the sync module does the rest, set-based.
    let db = open(ours_url).await;
    let s = setup(&db, users, true).await;
    let (ours, ours_statements) = sync_add(&db, s.segment, &s.user_ids).await;
    let enrolments = count(&db, "SELECT COUNT(*) FROM enrolments e JOIN enrol_instances i ON i.id = e.instance_id WHERE i.kind = 'segment_sync'").await;
    let groups = count(&db, "SELECT COUNT(*) FROM group_members").await;
    assert_eq!(enrolments as usize, users * COURSES / 2);
    assert_eq!(groups as usize, users * COURSES);
    assert!(app::sync::violations(&db).await.unwrap().is_empty());
    println!(
        "[{label}] sync module: {ours:.2} s, {ours_statements} statements ({enrolments} enrolments + {groups} group memberships made); {:.2} of the ceiling's speed",
        floor / ours
    );
    db.close().await.ok();
    if std::env::var("BENCH_SKIP_BASELINE").is_ok() {
        return;
    }

    // Baseline: per-event observers, one statement per membership, enrolment and group row.
    let db = open(base_url).await;
    let s = setup(&db, users, false).await;
    let sync_instances: Vec<i32> = {
        let mut v = Vec::new();
        for &(course, _, sync, _) in &s.courses {
            if sync {
                v.push(
                    enrol_instance::Entity::insert(enrol_instance::ActiveModel {
                        course_id: sea_orm::Set(course),
                        kind: sea_orm::Set(app::courses::EnrolMethodKind::SegmentSync),
                        segment_id: sea_orm::Set(Some(s.segment)),
                        created_at: sea_orm::Set(chrono::Utc::now()),
                        ..Default::default()
                    })
                    .exec(&db)
                    .await
                    .unwrap()
                    .last_insert_id,
                );
            }
        }
        v
    };
    let _ = &s.manual_instances;
    let backend = db.get_database_backend();
    let ph = |n: usize| -> String {
        (1..=n)
            .map(|i| {
                if backend == DbBackend::Postgres {
                    format!("${i}")
                } else {
                    "?".into()
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let insert_member = format!(
        "INSERT INTO segment_members (segment_id, user_id, added_at) VALUES ({})",
        ph(3)
    );
    let insert_enrolment = format!(
        "INSERT INTO enrolments (instance_id, course_id, user_id, status, created_at) VALUES ({})",
        ph(5)
    );
    let insert_group = format!(
        "INSERT INTO group_members (group_id, user_id, origin_instance_id, added_at) VALUES ({})",
        ph(4)
    );
    let now = chrono::Utc::now();
    let txn = db.begin().await.unwrap();
    let mut statements = 0u64;
    let t = Instant::now();
    for &u in &s.user_ids {
        let st =
            |sql: &str, v: Vec<sea_orm::Value>| Statement::from_sql_and_values(backend, sql, v);
        txn.execute(st(
            &insert_member,
            vec![s.segment.into(), u.into(), now.into()],
        ))
        .await
        .unwrap();
        statements += 1;
        let mut sync_i = 0;
        for &(course, group, sync, _) in &s.courses {
            if sync {
                let inst = sync_instances[sync_i];
                sync_i += 1;
                txn.execute(st(
                    &insert_enrolment,
                    vec![
                        inst.into(),
                        course.into(),
                        u.into(),
                        "active".into(),
                        now.into(),
                    ],
                ))
                .await
                .unwrap();
                txn.execute(st(
                    &insert_group,
                    vec![group.into(), u.into(), inst.into(), now.into()],
                ))
                .await
                .unwrap();
                statements += 2;
            } else {
                txn.execute(st(
                    &insert_group,
                    vec![
                        group.into(),
                        u.into(),
                        Option::<i32>::None.into(),
                        now.into(),
                    ],
                ))
                .await
                .unwrap();
                statements += 1;
            }
        }
    }
    txn.commit().await.unwrap();
    let base = t.elapsed().as_secs_f64();
    println!("[{label}] per-event baseline: {base:.2} s, {statements} statements");
    println!(
        "[{label}] speed-up {:.1}x (target >= 20x: {}); statements {:.0}x fewer",
        base / ours,
        if base / ours >= 20.0 { "met" } else { "MISSED" },
        statements as f64 / ours_statements as f64
    );
    db.close().await.ok();
}

/// `users` users, then `users / 4` more, made members: the first block through the sync (not
/// timed), the second timed, through the sync on `ours_url` and by the ceiling's plain
/// statements on `ceiling_url`.
async fn grow(label: &str, [ours_url, ceiling_url]: [&str; 2], users: usize) {
    let extra = users / 4;
    let prepared = |url: &str| {
        let url = url.to_string();
        async move {
            let db = open(&url).await;
            let s = setup(&db, users + extra, true).await;
            app::segments::service::Mutation::add_members(&db, s.segment, &s.user_ids[..users])
                .await
                .unwrap();
            (db, s)
        }
    };
    let (db, s) = prepared(ceiling_url).await;
    // Users are numbered in the order they were made: the new ones are those past this id.
    let floor = plain_writes(&db, &s, s.user_ids[users - 1]).await;
    let groups = count(&db, "SELECT COUNT(*) FROM group_members").await;
    assert_eq!(groups as usize, (users + extra) * COURSES);
    assert!(app::sync::violations(&db).await.unwrap().is_empty());
    db.close().await.ok();

    let (db, s) = prepared(ours_url).await;
    let (ours, statements) = sync_add(&db, s.segment, &s.user_ids[users..]).await;
    let groups = count(&db, "SELECT COUNT(*) FROM group_members").await;
    assert_eq!(groups as usize, (users + extra) * COURSES);
    assert!(app::sync::violations(&db).await.unwrap().is_empty());
    println!(
        "[{label}] grow a synced segment of {users} members by {extra}: sync module {ours:.2} s, \
         {statements} statements; ceiling {floor:.2} s; {:.2} of the ceiling's speed",
        floor / ours
    );
    db.close().await.ok();
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index(0).unwrap()
}
