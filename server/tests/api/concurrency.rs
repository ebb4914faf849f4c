//! Concurrent bulk changes over real HTTP (issue 5.4): two admins committing overlapping files at
//! once, an upload racing the deletion of one of its segments, and one file committed twice at
//! once. Run on SQLite by default and on PostgreSQL with TEST_DATABASE_URL.
use crate::common::*;
use app::courses::service as courses;
use app::entities::{segment_member, upload_batch};
use app::segments::service::Mutation as Segments;
use app::upload::service::{stage_begin, stage_chunk};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::Value;

async fn segment(db: &DatabaseConnection, idn: &str) -> i32 {
    Segments::create(
        db,
        &app::domain::SegmentDraft::parse(idn, idn, "", true).unwrap(),
    )
    .await
    .unwrap()
}

fn file(users: std::ops::Range<usize>, segments: &[&str]) -> Vec<u8> {
    let mut out = String::from("username");
    for (i, _) in segments.iter().enumerate() {
        out.push_str(&format!(",cohort{}", i + 1));
    }
    out.push('\n');
    for u in users {
        out.push_str(&format!("u{u:05}"));
        for s in segments {
            out.push(',');
            out.push_str(s);
        }
        out.push('\n');
    }
    out.into_bytes()
}

/// Stages a file for `admin` (as the browser's chunked upload does) and returns the stage id.
async fn stage(db: &DatabaseConnection, admin: i32, bytes: &[u8]) -> String {
    let id = stage_begin(db, admin, "file.csv", bytes.len() as u64)
        .await
        .unwrap();
    for (seq, chunk) in bytes.chunks(1 << 20).enumerate() {
        stage_chunk(db, &id, admin, seq as i32, chunk.to_vec())
            .await
            .unwrap();
    }
    id
}

async fn commit(c: &reqwest::Client, app: &TestApp, stage: &str) -> (u16, Value) {
    let res = c
        .post(format!("{}/api/upload_commit", app.addr))
        .json(&serde_json::json!({
            "stage": stage,
            "options": app::upload::UploadOptions::default(),
        }))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

async fn members(db: &DatabaseConnection, segment: i32) -> u64 {
    segment_member::Entity::find()
        .filter(segment_member::Column::SegmentId.eq(segment))
        .count(db)
        .await
        .unwrap()
}

async fn batch_rows(db: &DatabaseConnection, batch: i64) -> u64 {
    segment_member::Entity::find()
        .filter(segment_member::Column::BatchId.eq(batch as i32))
        .count(db)
        .await
        .unwrap()
}

async fn second_admin(app: &TestApp) -> i32 {
    app::auth::service::create_or_reset_admin(&app.db, "admin2", PASSWORD)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_admins_committing_overlapping_files_add_each_membership_once() {
    let app = spawn_app().await;
    let db = &app.db;
    let first_admin = create_admin(db).await;
    let other_admin = second_admin(&app).await;
    seed_users(db, 0..3_000).await;
    let a = segment(db, "alpha").await;
    let b = segment(db, "beta").await;
    // A method follows segment alpha, so the sync runs inside both commits too.
    let course = courses::create_course(db, "c1", "Course").await.unwrap();
    let group = courses::create_group(db, course, "G").await.unwrap();
    courses::add_segment_sync(db, course, a, courses::SyncGroup::Existing(group), false)
        .await
        .unwrap();

    for round in 0..3 {
        // Users 0..2000 and 1000..3000 into both segments: 2,000 users overlap.
        let (lo, hi) = (round * 3_000, round * 3_000 + 3_000);
        if round > 0 {
            seed_users(db, lo..hi).await;
        }
        let s1 = stage(db, first_admin, &file(lo..lo + 2_000, &["alpha", "beta"])).await;
        let s2 = stage(db, other_admin, &file(lo + 1_000..hi, &["alpha", "beta"])).await;
        let (c1, c2) = (client(), client());
        sign_in(&c1, &app, ADMIN, PASSWORD).await;
        sign_in(&c2, &app, "admin2", PASSWORD).await;
        let ((st1, r1), (st2, r2)) = tokio::join!(commit(&c1, &app, &s1), commit(&c2, &app, &s2));
        assert_eq!((st1, st2), (200, 200), "round {round}: {r1} / {r2}");
        let added1 = r1["summary"]["memberships_added"].as_u64().unwrap();
        let added2 = r2["summary"]["memberships_added"].as_u64().unwrap();
        // Exact: the union is 3,000 users × 2 segments, each counted by exactly one commit.
        assert_eq!(added1 + added2, 6_000, "round {round}");
        assert!(
            (added1, added2) == (4_000, 2_000) || (added1, added2) == (2_000, 4_000),
            "one commit saw the other's result: {added1} / {added2}"
        );
        // What each reported is what it wrote (and undo would remove).
        for r in [&r1, &r2] {
            let batch = r["batch_id"].as_i64().unwrap();
            assert_eq!(
                batch_rows(db, batch).await,
                r["summary"]["memberships_added"].as_u64().unwrap()
            );
        }
        assert_eq!(members(db, a).await, hi as u64);
        assert_eq!(members(db, b).await, hi as u64);
    }
    // Nothing lost, nothing doubled, and the sync followed every commit.
    assert_eq!(
        segment_member::Entity::find().count(db).await.unwrap(),
        18_000
    );
    assert_eq!(
        app::sync::violations(db).await.unwrap(),
        Vec::<String>::new()
    );
    assert!(app::sync::repair(db).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_upload_racing_the_deletion_of_its_segment_is_all_or_nothing_per_segment() {
    let app = spawn_app().await;
    let db = &app.db;
    let admin = create_admin(db).await;
    seed_users(db, 0..2_000).await;
    let c = client();
    sign_in(&c, &app, ADMIN, PASSWORD).await;
    let (mut upload_first, mut deletion_first) = (0, 0);
    // Different head starts for the deletion, so both orders occur.
    for (round, delay_ms) in [0u64, 2, 5, 10, 20, 40, 80, 0].into_iter().enumerate() {
        let keep = format!("keep{round}");
        let doomed = format!("doomed{round}");
        let k = segment(db, &keep).await;
        let d = segment(db, &doomed).await;
        let s = stage(db, admin, &file(0..2_000, &[&keep, &doomed])).await;
        let deleter = client();
        sign_in(&deleter, &app, ADMIN, PASSWORD).await;
        let delete = async {
            tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
            let res = call(&deleter, &app, "delete_segment", &[("id", &d.to_string())]).await;
            res.status().as_u16()
        };
        let ((status, r), deleted) = tokio::join!(commit(&c, &app, &s), delete);
        assert_eq!(deleted, 200, "round {round}: the deletion goes through");
        assert_eq!(status, 200, "round {round}: {r}");
        let added = r["summary"]["memberships_added"].as_u64().unwrap();
        let errors = r["summary"]["rows_with_errors"].as_u64().unwrap();
        match added {
            // The upload went first: both segments filled, then the deletion took its members.
            4_000 => {
                assert_eq!(errors, 0);
                upload_first += 1;
            }
            // The deletion went first: every row names a segment that no longer exists, and a
            // row with an error is applied not at all (SPEC 3), so nothing is added.
            0 => {
                assert_eq!(errors, 2_000, "round {round}");
                let result: app::upload::types::CommitResult =
                    serde_json::from_value(r.clone()).unwrap();
                let report = result.outcomes.unpack(result.rows as usize, result.summary);
                let unknown = report
                    .outcomes
                    .iter()
                    .filter(|o| o.code == app::upload::Code::UnknownSegment)
                    .count();
                assert_eq!(
                    unknown, 2_000,
                    "round {round}: each row names the deleted segment"
                );
                deletion_first += 1;
            }
            other => panic!("round {round}: half-applied? {other} memberships added"),
        }
        let kept = if added == 4_000 { 2_000 } else { 0 };
        assert_eq!(members(db, k).await, kept, "round {round}");
        assert_eq!(members(db, d).await, 0, "round {round}: no orphans");
    }
    eprintln!("upload first: {upload_first}, deletion first: {deletion_first}");
    assert_eq!(
        app::sync::violations(db).await.unwrap(),
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_file_committed_twice_at_once_is_applied_once_and_the_loser_is_told_why() {
    let app = spawn_app().await;
    let db = &app.db;
    let admin = create_admin(db).await;
    seed_users(db, 0..1_000).await;
    segment(db, "alpha").await;
    let s = stage(db, admin, &file(0..1_000, &["alpha"])).await;
    let (c1, c2) = (client(), client());
    sign_in(&c1, &app, ADMIN, PASSWORD).await;
    sign_in(&c2, &app, ADMIN, PASSWORD).await;
    let ((st1, r1), (st2, r2)) = tokio::join!(commit(&c1, &app, &s), commit(&c2, &app, &s));
    let mut statuses = [st1, st2];
    statuses.sort();
    assert_eq!(statuses[0], 200, "{r1} / {r2}");
    let (winner, loser) = if st1 == 200 { (&r1, &r2) } else { (&r2, &r1) };
    assert_eq!(winner["summary"]["memberships_added"], 1_000);
    // The loser either found the stage consumed inside its transaction (409) or already gone
    // when it started (404); either way it says so plainly.
    let message = loser.to_string();
    assert!(
        (statuses[1] == 409 && message.contains("already been committed"))
            || (statuses[1] == 404 && message.contains("That upload was not found")),
        "{} {message}",
        statuses[1]
    );
    assert_eq!(upload_batch::Entity::find().count(db).await.unwrap(), 1);
    assert_eq!(
        segment_member::Entity::find().count(db).await.unwrap(),
        1_000
    );
}

/// What the page's progress bar reads (issue 13): while a commit runs, even while it waits
/// for another writer's lock, `commit_progress` answers from the server's memory; the steps
/// only move forward, and the last one is Done with every planned write counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commit_progress_is_readable_while_a_commit_waits_and_runs() {
    use app::bulk::{CommitProgress, CommitStep};
    use sea_orm::TransactionTrait;
    let app = spawn_app().await;
    let db = &app.db;
    let admin = create_admin(db).await;
    seed_users(db, 0..30_000).await;
    segment(db, "alpha").await;
    segment(db, "beta").await;
    let s = stage(db, admin, &file(0..30_000, &["alpha", "beta"])).await;
    let c = client();
    sign_in(&c, &app, ADMIN, PASSWORD).await;
    let ask = |stage: String| {
        let (c, app) = (c.clone(), &app);
        async move {
            let res = call(&c, app, "commit_progress", &[("stage", &stage)]).await;
            assert_eq!(res.status(), 200);
            res.json::<Option<CommitProgress>>().await.unwrap()
        }
    };
    assert_eq!(ask(s.clone()).await, None, "nothing before the commit");

    // Another writer holds the lock, so the commit has to wait for it; the holder lets go once
    // the waiting has been seen.
    let mut holder = Some(db.begin().await.unwrap());
    app::db::lock_for_write(holder.as_ref().unwrap())
        .await
        .unwrap();
    let committing = commit(&c, &app, &s);
    tokio::pin!(committing);
    let mut seen: Vec<CommitProgress> = vec![];
    let (status, reply) = loop {
        tokio::select! {
            done = &mut committing => break done,
            p = ask(s.clone()) => {
                if let Some(p) = p {
                    if p.step == CommitStep::Waiting {
                        if let Some(h) = holder.take() {
                            h.commit().await.unwrap();
                        }
                    }
                    seen.push(p);
                }
            }
        }
    };
    assert!(
        holder.is_none(),
        "never saw the commit waiting: {status} {reply} {seen:?}"
    );
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["summary"]["memberships_added"], 60_000);
    let last = ask(s.clone())
        .await
        .expect("the finished commit's progress");
    assert_eq!(
        (last.step, last.done, last.total),
        (CommitStep::Done, 60_000, 60_000)
    );
    seen.push(last);
    assert!(
        seen.windows(2)
            .all(|w| (w[0].step, w[0].done) <= (w[1].step, w[1].done)),
        "progress went backwards: {seen:?}"
    );
}
