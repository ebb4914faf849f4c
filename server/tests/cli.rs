//! The `server` binary's commands of SPEC 6, run as a user would run them.
mod common;
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
