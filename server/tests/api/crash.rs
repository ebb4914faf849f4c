//! Crash safety (issue 5.3): the real server process is killed with SIGKILL in the middle of
//! committing a large upload, at several points of the commit, then restarted. The database must
//! hold the whole batch or none of it, the SPEC 5 sync invariants must hold, and a commit that
//! did not happen can be retried from the still-staged file.
use crate::common;
use app::courses::service as courses;
use app::entities::{segment_member, upload_batch, upload_stage, user};
use app::segments::service::Mutation as Segments;
use app::upload::service::{stage_begin, stage_chunk};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const EXISTING: usize = 12_000;
const NEW: usize = 3_000;
/// Memberships the file adds: every user (existing and new) into both segments.
const MEMBERSHIPS: u64 = 2 * (EXISTING + NEW) as u64;

struct Server {
    child: Child,
    addr: String,
}

impl Server {
    async fn start(url: &str, pause_at: Option<(&str, &std::path::Path)>) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_server"));
        cmd.args(["serve"])
            .env("DATABASE_URL", url)
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .env_remove("CONSOLE_PAUSE_AT")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if let Some((point, mark)) = pause_at {
            cmd.env("CONSOLE_PAUSE_AT", point)
                .env("CONSOLE_PAUSE_MARK", mark);
        }
        let child = cmd.spawn().expect("start the server binary");
        let addr = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            if let Ok(res) = reqwest::get(format!("{addr}/login")).await {
                if res.status().is_success() {
                    break;
                }
            }
            assert!(started.elapsed() < Duration::from_secs(60), "server start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Server { child, addr }
    }

    fn kill(mut self) {
        // std's kill is SIGKILL on Unix: no destructors, no graceful shutdown, no rollback.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

async fn signed_in(server: &Server) -> reqwest::Client {
    let c = common::client();
    let res = c
        .post(format!("{}/api/login", server.addr))
        .form(&[
            ("username", common::ADMIN),
            ("password", common::PASSWORD),
            ("next", ""),
        ])
        .send()
        .await
        .unwrap();
    assert!(!res.status().is_server_error());
    c
}

fn commit_request(c: &reqwest::Client, server: &Server, stage: &str) -> reqwest::RequestBuilder {
    let options = app::upload::UploadOptions {
        upload_type: app::upload::UploadType::AddAndUpdate,
        ..Default::default()
    };
    c.post(format!("{}/api/upload_commit", server.addr))
        .json(&serde_json::json!({ "stage": stage, "options": options }))
}

/// Users u00000.. exist; n00000.. are created by the file; everyone goes into both segments.
fn the_file() -> Vec<u8> {
    let mut out = String::from("username,firstname,lastname,email,cohort1,cohort2\n");
    for i in 0..EXISTING {
        out.push_str(&format!("u{i:05},,,,alpha,beta\n"));
    }
    for i in 0..NEW {
        out.push_str(&format!("n{i:05},New,User,n{i}@example.com,alpha,beta\n"));
    }
    out.into_bytes()
}

async fn seed(db: &DatabaseConnection) -> (i32, i32) {
    let admin = common::create_admin(db).await;
    common::seed_users(db, 0..EXISTING).await;
    let mut segments = Vec::new();
    for idn in ["alpha", "beta"] {
        segments.push(
            Segments::create(
                db,
                &app::domain::SegmentDraft::parse(idn, idn, "", true).unwrap(),
            )
            .await
            .unwrap(),
        );
    }
    // Both enrolment methods follow the segments, so a commit also writes enrolments and group
    // memberships that must land (or not) with it.
    let course = courses::create_course(db, "c1", "Course").await.unwrap();
    let g1 = courses::create_group(db, course, "Alpha").await.unwrap();
    let g2 = courses::create_group(db, course, "Beta").await.unwrap();
    courses::add_segment_sync(
        db,
        course,
        segments[0],
        courses::SyncGroup::Existing(g1),
        false,
    )
    .await
    .unwrap();
    courses::add_segment_to_group(db, course, segments[1], g2)
        .await
        .unwrap();
    let bytes = the_file();
    let stage = stage_begin(db, admin, "big.csv", bytes.len() as u64)
        .await
        .unwrap();
    for (seq, chunk) in bytes.chunks(4 << 20).enumerate() {
        stage_chunk(db, &stage, admin, seq as i32, chunk.to_vec())
            .await
            .unwrap();
    }
    (admin, segments[0])
}

async fn stage_id(db: &DatabaseConnection) -> Option<String> {
    upload_stage::Entity::find()
        .one(db)
        .await
        .unwrap()
        .map(|s| s.id)
}

/// Whole or nothing: returns whether the batch is there.
async fn assert_whole_or_nothing(db: &DatabaseConnection, point: &str) -> bool {
    let batches = upload_batch::Entity::find().all(db).await.unwrap();
    let members = segment_member::Entity::find().count(db).await.unwrap();
    let created = user::Entity::find()
        .filter(user::Column::Username.starts_with("n"))
        .count(db)
        .await
        .unwrap();
    let committed = match batches.len() {
        0 => {
            assert_eq!(
                (members, created),
                (0, 0),
                "{point}: partial batch left behind"
            );
            false
        }
        1 => {
            let in_batch = segment_member::Entity::find()
                .filter(segment_member::Column::BatchId.eq(batches[0].id))
                .count(db)
                .await
                .unwrap();
            assert_eq!(
                (in_batch, members, created),
                (MEMBERSHIPS, MEMBERSHIPS, NEW as u64),
                "{point}: batch recorded but not whole"
            );
            assert_eq!(
                batches[0].counts["memberships_added"], MEMBERSHIPS,
                "{point}: the recorded counts are the final ones"
            );
            true
        }
        n => panic!("{point}: {n} batches from one file"),
    };
    assert_eq!(
        app::sync::violations(db).await.unwrap(),
        Vec::<String>::new(),
        "{point}: sync invariants"
    );
    assert!(
        app::sync::repair(db).await.unwrap().is_empty(),
        "{point}: drift after restart"
    );
    committed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_killed_at_any_point_leaves_all_or_nothing_and_can_be_retried() {
    // Pause points inside the commit (see `checkpoint` in upload::service), in order, then kills
    // by the clock at fractions (in %) of how long an uninterrupted commit took here (the first
    // retry measures it), so they land wherever the commit happens to be on this machine.
    let points = [
        "batch_created",
        "users_created",
        "memberships_started",
        "memberships_added",
        "synced",
        "before_commit",
        "after_commit",
        "timer:20",
        "timer:50",
        "timer:80",
        "timer:95",
        "timer:150",
        "timer:250",
    ];
    let mut survived = 0;
    let mut whole_commit = Duration::from_millis(500);
    let (mut timed_before, mut timed_after) = (0, 0);
    for point in points {
        let t = common::fresh_db().await;
        let db = &t.db;
        seed(db).await;
        let stage = stage_id(db).await.expect("staged");
        let dir = tempfile::tempdir().unwrap();
        let mark = dir.path().join("paused");
        let pause = (!point.starts_with("timer:")).then_some((point, mark.as_path()));
        let server = Server::start(&t.url, pause).await;
        let c = signed_in(&server).await;
        let request = commit_request(&c, &server, &stage).send();
        let in_flight = tokio::spawn(request);
        let started = Instant::now();
        match point.strip_prefix("timer:") {
            Some(pct) => {
                let pct: u32 = pct.parse().unwrap();
                tokio::time::sleep(whole_commit * pct / 100).await
            }
            None => {
                while !mark.exists() {
                    assert!(
                        started.elapsed() < Duration::from_secs(120),
                        "{point}: never reached"
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        server.kill();
        let _ = in_flight.await;

        // After the restart (a fresh process on the same database): whole or nothing.
        let server = Server::start(&t.url, None).await;
        let committed = assert_whole_or_nothing(db, point).await;
        if point == "after_commit" {
            assert!(committed, "a commit that returned from COMMIT is durable");
        } else if !point.starts_with("timer:") {
            assert!(!committed, "{point}: killed before COMMIT yet applied");
        }
        if !committed {
            // Nothing was lost either: the file is still staged and the retry applies it whole.
            assert_eq!(stage_id(db).await.as_deref(), Some(stage.as_str()));
            let c = signed_in(&server).await;
            let retry_started = Instant::now();
            let res = commit_request(&c, &server, &stage).send().await.unwrap();
            assert_eq!(res.status(), 200, "{point}: retry");
            if point == "batch_created" {
                whole_commit = retry_started.elapsed();
                eprintln!("an uninterrupted commit takes {whole_commit:?}");
            }
            assert!(
                assert_whole_or_nothing(db, point).await,
                "{point}: retry applied"
            );
        } else {
            assert_eq!(
                stage_id(db).await,
                None,
                "{point}: stage consumed with the commit"
            );
        }
        server.kill();
        if point.starts_with("timer:") {
            if committed {
                timed_after += 1;
            } else {
                timed_before += 1;
            }
        }
        survived += 1;
        eprintln!("kill point {point}: survived (batch committed before kill: {committed})");
    }
    eprintln!(
        "{survived} kill points survived; timed kills landed {timed_before} before and \
         {timed_after} after COMMIT"
    );
}
