//! Test support: a fresh database per test and the real app on a random port.
#![allow(dead_code)]
use sea_orm::{ConnectionTrait, DatabaseConnection};

pub struct TestDb {
    pub db: DatabaseConnection,
    pub url: String,
    // Keeps the SQLite file alive for the test's duration.
    _dir: Option<tempfile::TempDir>,
}

/// `TEST_DATABASE_URL=postgres://…` runs the test on a new PostgreSQL database on that server;
/// otherwise on a new embedded SQLite file.
pub async fn fresh_db() -> TestDb {
    match std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
    {
        Some(admin_url) => {
            let name = format!("t_{:016x}", rand::random::<u64>());
            let admin = sea_orm::Database::connect(&admin_url)
                .await
                .expect("connect to TEST_DATABASE_URL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create test database");
            admin.close().await.ok();
            let url = replace_db_name(&admin_url, &name);
            let db = app::db::connect_and_migrate(&url)
                .await
                .expect("migrate postgres");
            TestDb {
                db,
                url,
                _dir: None,
            }
        }
        None => {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("sqlite://{}/test.db?mode=rwc", dir.path().display());
            let db = app::db::connect_and_migrate(&url)
                .await
                .expect("migrate sqlite");
            TestDb {
                db,
                url,
                _dir: Some(dir),
            }
        }
    }
}

fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let cut = base.rfind('/').expect("database url has a path");
    let mut out = format!("{}/{}", &base[..cut], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

pub struct TestApp {
    pub addr: String,
    pub db: DatabaseConnection,
    pub test_db: TestDb,
}

/// Spawns the real router (guard, sessions, server functions) on 127.0.0.1:0.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(server::WebConfig {
        cookie_secure: false,
        sign_in_limits: Default::default(),
        ..Default::default()
    })
    .await
}

pub async fn spawn_app_with(web: server::WebConfig) -> TestApp {
    let test_db = fresh_db().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let db = test_db.db.clone();
    tokio::spawn(server::serve(db.clone(), listener, web));
    TestApp { addr, db, test_db }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub const ADMIN: &str = "admin";
pub const PASSWORD: &str = "correct horse battery";

pub async fn create_admin(db: &DatabaseConnection) -> i32 {
    app::auth::service::create_or_reset_admin(db, ADMIN, PASSWORD)
        .await
        .unwrap()
}

/// Posts to a server function as a browser form would.
pub async fn call(
    client: &reqwest::Client,
    app: &TestApp,
    endpoint: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(format!("{}/api/{endpoint}", app.addr))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// A fresh app and a client signed in as its admin.
pub async fn signed_in_admin() -> (TestApp, reqwest::Client) {
    let app = spawn_app().await;
    let client = client();
    create_admin(&app.db).await;
    let res = sign_in(&client, &app, ADMIN, PASSWORD).await;
    assert!(res.status().is_success() || res.status().is_redirection());
    (app, client)
}

pub async fn sign_in(
    client: &reqwest::Client,
    app: &TestApp,
    username: &str,
    password: &str,
) -> reqwest::Response {
    call(
        client,
        app,
        "login",
        &[("username", username), ("password", password), ("next", "")],
    )
    .await
}

/// Users u00000, u00001, … for the numbers in `range`, inserted 1,000 per statement.
pub async fn seed_users(db: &DatabaseConnection, range: std::ops::Range<usize>) {
    use sea_orm::EntityTrait;
    let now = chrono::Utc::now();
    for chunk in range.collect::<Vec<_>>().chunks(1_000) {
        app::entities::user::Entity::insert_many(chunk.iter().map(|i| {
            app::entities::user::ActiveModel::new_user(
                &format!("u{i:05}"),
                "F",
                "L",
                "u@example.com",
                now,
            )
        }))
        .exec_without_returning(db)
        .await
        .unwrap();
    }
}

/// `seed_users` for the numbers in `range`, their ids in the same order.
pub async fn seeded_ids(db: &DatabaseConnection, range: std::ops::Range<usize>) -> Vec<i32> {
    seed_users(db, range.clone()).await;
    let names: Vec<String> = range.map(|i| format!("u{i:05}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    app::db::ids_in_order(db, "users", "username", &names)
        .await
        .unwrap()
}

// ---- SPEC 5 fixtures and checks, shared by the sync and course tests ----

/// Users with these usernames; their ids in the same order.
pub async fn users(db: &DatabaseConnection, names: &[&str]) -> Vec<i32> {
    use sea_orm::EntityTrait;
    let now = chrono::Utc::now();
    let mut ids = Vec::new();
    for n in names {
        let id = app::entities::user::Entity::insert(app::entities::user::ActiveModel::new_user(
            n,
            "F",
            "L",
            "e@example.com",
            now,
        ))
        .exec(db)
        .await
        .unwrap()
        .last_insert_id;
        ids.push(id);
    }
    ids
}

/// A segment whose ID number and name are `idn`.
pub async fn segment(db: &DatabaseConnection, idn: &str) -> i32 {
    app::segments::service::Mutation::create(
        db,
        &app::domain::SegmentDraft::parse(idn, idn, "", true).unwrap(),
    )
    .await
    .unwrap()
}

/// Whether the user is in the group, by any origin.
pub async fn in_group(db: &DatabaseConnection, group: i32, user: i32) -> bool {
    use app::entities::group_member;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    group_member::Entity::find()
        .filter(group_member::Column::GroupId.eq(group))
        .filter(group_member::Column::UserId.eq(user))
        .count(db)
        .await
        .unwrap()
        > 0
}

/// The status of the user's enrolment through this instance, if any.
pub async fn status(db: &DatabaseConnection, instance: i32, user: i32) -> Option<String> {
    use app::entities::enrolment;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    enrolment::Entity::find()
        .filter(enrolment::Column::InstanceId.eq(instance))
        .filter(enrolment::Column::UserId.eq(user))
        .one(db)
        .await
        .unwrap()
        .map(|e| e.status.to_string())
}

/// SPEC 5's rules hold and a from-scratch recompute finds nothing to change.
pub async fn assert_consistent(db: &DatabaseConnection) {
    assert_eq!(
        app::sync::violations(db).await.unwrap(),
        Vec::<String>::new()
    );
    assert!(
        app::sync::repair(db).await.unwrap().is_empty(),
        "incremental sync left drift"
    );
}
