//! The `server` binary's commands of SPEC 6, run as a user would run them.
use crate::common;
use std::process::Command;

fn server(url: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_server"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .env("ADMIN_PASSWORD", "a long enough password")
        .output()
        .expect("run server binary")
}

#[tokio::test]
async fn segment_create_and_list_json() {
    let t = common::fresh_db().await;
    let out = server(&t.url, &["segment", "create", "007", "Secret Agents"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = server(&t.url, &["segment", "create", "007", "Again"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    let out = server(&t.url, &["segment", "create", "  ", "Blank"]);
    assert_eq!(out.status.code(), Some(1));

    let out = server(&t.url, &["create-admin", "Root.Admin"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = server(&t.url, &["segment", "list", "--json"]);
    assert!(out.status.success());
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        list,
        serde_json::json!([{"id_number": "007", "name": "Secret Agents", "members": 0}])
    );
}

/// Runs the binary with its standard output's reader closed before the command has started.
fn with_reader_gone(url: &str, args: &[&str]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run server binary");
    drop(child.stdout.take());
    child.wait_with_output().expect("wait for server binary")
}

/// A command whose report's reader has gone (`| head -3` before the report) ends quietly with
/// success, its work done: the reader here closes before the command has started.
#[tokio::test]
async fn a_command_whose_reader_has_gone_ends_quietly_its_work_done() {
    let t = common::fresh_db().await;
    let out = with_reader_gone(&t.url, &["segment", "create", "007", "Secret Agents"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let out = server(&t.url, &["segment", "list", "--json"]);
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id_number"], "007");

    // A file error's report with its reader gone is still a failure: exit 4.
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let out = with_reader_gone(&t.url, &["upload-users", empty.to_str().unwrap(), "--json"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn seed_demo_twice_and_migrate() {
    let t = common::fresh_db().await;
    assert!(server(&t.url, &["migrate"]).status.success());
    let first = server(&t.url, &["seed-demo"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stdout).contains("5000 users"));
    let second = server(&t.url, &["seed-demo"]);
    assert!(String::from_utf8_lossy(&second.stdout).contains("0 users, 0 segments, 0 memberships"));
    let out = server(&t.url, &["segment", "list", "--json"]);
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.len(), 12);
    assert!(list.iter().all(|s| s["members"].as_i64().unwrap() > 0));
}

#[tokio::test]
async fn create_admin_refuses_a_short_password() {
    let t = common::fresh_db().await;
    let out = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["create-admin", "boss"])
        .env("DATABASE_URL", &t.url)
        .env("ADMIN_PASSWORD", "short")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8"));
}

/// Issue 9: `server serve` honours LEPTOS_SITE_ADDR, the variable the Leptos tooling sets, when
/// LISTEN_ADDR is not set.
#[tokio::test]
async fn serve_listens_on_leptos_site_addr() {
    let t = common::fresh_db().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("serve")
        .env("DATABASE_URL", &t.url)
        .env("RUST_LOG", "warn")
        .env_remove("LISTEN_ADDR")
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .spawn()
        .expect("start server");
    let url = format!("http://127.0.0.1:{port}/login");
    let mut status = None;
    for _ in 0..100 {
        if let Ok(res) = reqwest::get(&url).await {
            status = Some(res.status().as_u16());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    child.kill().ok();
    child.wait().ok();
    assert_eq!(status, Some(200), "nothing answered on LEPTOS_SITE_ADDR");
}

/// Issue 9: `upload-users --dry-run --json` is the CLI's preview, so it reports the sync effects
/// (SPEC 3, 5) that the commit then makes, exactly as the page's preview does.
#[tokio::test]
async fn a_dry_run_reports_the_sync_effects_the_commit_makes() {
    use app::courses::service as courses;
    use app::courses::service::SyncGroup;
    let t = common::fresh_db().await;
    let db = &t.db;
    common::seed_users(db, 0..3).await;
    let segment = |idn: &'static str| async move {
        app::segments::service::Mutation::create(
            db,
            &app::domain::SegmentDraft::parse(idn, idn, "", true).unwrap(),
        )
        .await
        .unwrap()
    };
    let (sales, other) = (segment("sales").await, segment("other").await);
    let c1 = courses::create_course(db, "c1", "C1").await.unwrap();
    let g1 = courses::create_group(db, c1, "G1").await.unwrap();
    courses::add_segment_to_group(db, c1, sales, g1)
        .await
        .unwrap();
    let u0 = courses::user_id(db, "u00000").await.unwrap();
    courses::enrol(db, c1, &[u0]).await.unwrap();
    let c2 = courses::create_course(db, "c2", "C2").await.unwrap();
    courses::add_segment_sync(db, c2, other, SyncGroup::NamedAfterSegment, false)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("u.csv");
    std::fs::write(
        &file,
        "username,cohort1,cohort2\nu00000,sales,other\nu00001,sales,\nu00002,other,\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let summary = |args: &[&str]| {
        let out = server(&t.url, args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        json["summary"].clone()
    };
    let preview = summary(&["upload-users", file, "--dry-run", "--json"]);
    let committed = summary(&["upload-users", file, "--json"]);
    // u00000 (enrolled in c1) joins G1; u00000 and u00002 are enrolled in c2 and put in its
    // group named after "other".
    assert_eq!(preview["group_memberships_added"], 3, "{preview}");
    assert_eq!(preview["enrolments_added"], 2, "{preview}");
    assert_eq!(preview, committed);
    let again = summary(&["upload-users", file, "--dry-run", "--json"]);
    assert_eq!(again["enrolments_added"], 0, "{again}");
    assert_eq!(again["group_memberships_added"], 0, "{again}");
}
