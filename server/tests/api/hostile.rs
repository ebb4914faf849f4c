//! The hostile-input corpus (`app/tests/hostile/`) through the server: every file committed with
//! `run(…, dry_run = false)` has the outcome the core has, and writes nothing beyond what the
//! manifest documents; over-size requests and files are refused with clear messages; the 100 MB
//! file staged in 4 MiB chunks over HTTP gives its documented outcome and writes nothing.
//! SQLite by default; `TEST_DATABASE_URL=postgres://…` for PostgreSQL.
use crate::common;
#[path = "../../../app/tests/hostile/support.rs"]
mod support;

use app::entities::{
    enrolment, group_member, segment, segment_member, upload_batch, upload_change, user,
};
use app::segments::service::Mutation as Segments;
use app::upload::service::{run, UploadError};
use app::upload::types::CommitResult;
use app::upload::UploadOptions;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use std::path::PathBuf;
use support::{check, Case, Manifest};

fn dir() -> PathBuf {
    support::corpus_dir(env!("CARGO_MANIFEST_DIR"), "../app/tests/hostile")
}

/// The manifest's knowledge, in the database: users and segments in order (ids 1, 2, … on a
/// fresh database, as the core test assumes), no memberships.
async fn seed(db: &DatabaseConnection, m: &Manifest) {
    let now = chrono::Utc::now();
    for name in &m.knowledge.users {
        user::Entity::insert(user::ActiveModel::new_user(
            name,
            &support::capitalise(name),
            "Known",
            &format!("{name}@example.com"),
            now,
        ))
        .exec(db)
        .await
        .unwrap();
    }
    for (i, idn) in m.knowledge.segments.iter().enumerate() {
        let id = Segments::create(
            db,
            &app::domain::SegmentDraft::parse(idn, &support::capitalise(idn), "", true).unwrap(),
        )
        .await
        .unwrap();
        let stored = segment::Entity::find_by_id(id).one(db).await.unwrap();
        assert!(stored.is_some());
        // Case 50 relies on the internal ids being the digits it writes.
        assert_eq!(id, i as i32 + 1, "segment {idn} has internal id {id}");
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    users: u64,
    members: u64,
    batches: u64,
    changes: u64,
    enrolments: u64,
    group_members: u64,
}

async fn counts(db: &DatabaseConnection) -> Counts {
    Counts {
        users: user::Entity::find().count(db).await.unwrap(),
        members: segment_member::Entity::find().count(db).await.unwrap(),
        batches: upload_batch::Entity::find().count(db).await.unwrap(),
        changes: upload_change::Entity::find().count(db).await.unwrap(),
        enrolments: enrolment::Entity::find().count(db).await.unwrap(),
        group_members: group_member::Entity::find().count(db).await.unwrap(),
    }
}

/// Commits one case and checks its outcome and everything it wrote.
async fn commit_case(db: &DatabaseConnection, case: &Case, bytes: &[u8]) -> Result<(), String> {
    let before = counts(db).await;
    let result = run(db, bytes, &case.name, case.options(), None, false).await;
    let after = counts(db).await;
    let file_error = match &result {
        Ok((parsed, report, batch)) => {
            check(case, Ok((parsed, report)))?;
            if batch.is_none() {
                return Err("a commit that ran recorded no batch".into());
            }
            false
        }
        Err(UploadError::File(e)) => {
            check(case, Err(e))?;
            true
        }
        Err(UploadError::App(e)) => return Err(format!("server error: {e}")),
    };
    let created = case.stored.users.len() as u64;
    let want = Counts {
        users: before.users + created,
        members: before.members + case.stored.memberships.len() as u64,
        batches: before.batches + u64::from(!file_error),
        changes: before.changes + created,
        ..before
    };
    if after != want {
        return Err(format!("wrote {after:?}, documented {want:?}"));
    }
    let writes = (after.users - before.users) + (after.members - before.members);
    if writes != case.writes {
        return Err(format!("wrote {writes}, documented {}", case.writes));
    }
    for u in &case.stored.users {
        let Some(got) = user::Entity::find()
            .filter(user::Column::Username.eq(u.username.as_str()))
            .one(db)
            .await
            .unwrap()
        else {
            return Err(format!("user {} was not stored", u.username));
        };
        let got = (got.firstname, got.lastname, got.email);
        if got != (u.firstname.clone(), u.lastname.clone(), u.email.clone()) {
            return Err(format!("user {} stored as {got:?}", u.username));
        }
    }
    for (username, idn) in &case.stored.memberships {
        let uid = user::Entity::find()
            .filter(user::Column::Username.eq(username.as_str()))
            .one(db)
            .await
            .unwrap()
            .map(|u| u.id);
        let sid = segment::Entity::find()
            .filter(segment::Column::IdNumber.eq(idn.as_str()))
            .one(db)
            .await
            .unwrap()
            .map(|s| s.id);
        let (Some(uid), Some(sid)) = (uid, sid) else {
            return Err(format!("no user {username} or segment {idn}"));
        };
        let found = segment_member::Entity::find()
            .filter(segment_member::Column::UserId.eq(uid))
            .filter(segment_member::Column::SegmentId.eq(sid))
            .count(db)
            .await
            .unwrap();
        if found != 1 {
            return Err(format!("membership ({username}, {idn}) is not stored"));
        }
    }
    Ok(())
}

#[tokio::test]
async fn every_corpus_case_commits_with_its_documented_outcome_and_writes() {
    let m = support::load(&dir());
    let shared = common::fresh_db().await;
    seed(&shared.db, &m).await;
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in &m.cases {
        // The 100 MB file goes through HTTP below.
        if case.name.starts_with("59-") {
            continue;
        }
        let bytes = case.bytes(&dir());
        // A case that writes gets a database of its own, so later cases see the same knowledge.
        let own = if case.writes > 0 {
            let t = common::fresh_db().await;
            seed(&t.db, &m).await;
            Some(t)
        } else {
            None
        };
        let db = own.as_ref().map_or(&shared.db, |t| &t.db);
        if let Err(e) = commit_case(db, case, &bytes).await {
            failures.push(format!("{}: {e}", case.name));
        }
        checked += 1;
    }
    assert!(checked >= 40);
    assert!(
        failures.is_empty(),
        "{} of {checked} cases differ from the manifest:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Signed-in admin client on the real app, with the manifest's knowledge seeded.
async fn signed_in() -> (common::TestApp, reqwest::Client, Manifest) {
    let app = common::spawn_app().await;
    let m = support::load(&dir());
    // The admin is created after the knowledge, so the segment ids stay 1 and 2.
    seed(&app.db, &m).await;
    common::create_admin(&app.db).await;
    let client = common::client();
    let res = common::sign_in(&client, &app, common::ADMIN, common::PASSWORD).await;
    assert!(res.status().is_redirection() || res.status().is_success());
    (app, client, m)
}

const BOUNDARY: &str = "hostile-corpus-boundary-7MA4YWxkTrZu0gW";

/// A multipart `upload_chunk` body, as the page's FormData sends it.
fn chunk_body(stage: &str, seq: usize, data: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"stage\"\r\n\r\n{stage}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"seq\"\r\n\r\n{seq}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"data\"; filename=\"chunk\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn post_chunk(
    client: &reqwest::Client,
    app: &common::TestApp,
    body: Vec<u8>,
) -> reqwest::Response {
    client
        .post(format!("{}/api/upload_chunk", app.addr))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .expect("send chunk")
}

#[tokio::test]
async fn a_request_over_16_mib_gets_413_with_a_clear_message() {
    let (app, client, _) = signed_in().await;
    let before = counts(&app.db).await;
    let body = chunk_body("x", 0, &vec![b'a'; server::MAX_REQUEST_BYTES + 1]);
    let res = post_chunk(&client, &app, body).await;
    assert_eq!(res.status().as_u16(), 413);
    assert!(res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain")));
    let text = res.text().await.unwrap();
    assert!(
        text.contains("larger than the 16 MiB the server accepts"),
        "413 body: {text:?}"
    );
    assert_eq!(counts(&app.db).await, before);
}

#[tokio::test]
async fn upload_begin_refuses_a_file_over_256_mib_before_any_byte_is_sent() {
    let (app, client, m) = signed_in().await;
    let case = m
        .cases
        .iter()
        .find(|c| c.name.starts_with("60-"))
        .expect("case 60");
    let size = (app::upload::MAX_FILE_BYTES + 1).to_string();
    let res = common::call(
        &client,
        &app,
        "upload_begin",
        &[("file_name", "huge.csv"), ("size", &size)],
    )
    .await;
    assert_eq!(res.status().as_u16(), 422, "AppError::Invalid");
    let text = res.text().await.unwrap();
    let want = case.expect.file_error.as_deref().unwrap();
    assert!(text.contains(want), "refusal: {text:?}");
    assert!(text.contains(&format!("The file is {size} bytes")));
    assert_eq!(
        app::entities::upload_stage::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn the_100_mb_file_staged_in_4_mib_chunks_has_its_outcome_and_writes_nothing() {
    let (app, client, m) = signed_in().await;
    let case = m
        .cases
        .iter()
        .find(|c| c.name.starts_with("59-"))
        .expect("case 59");
    let bytes = case.bytes(&dir());
    assert!(bytes.len() > server::MAX_REQUEST_BYTES * 6);
    let before = counts(&app.db).await;

    let res = common::call(
        &client,
        &app,
        "upload_begin",
        &[
            ("file_name", &case.name),
            ("size", &bytes.len().to_string()),
        ],
    )
    .await;
    assert!(res.status().is_success(), "upload_begin: {}", res.status());
    let stage: String = serde_json::from_str(&res.text().await.unwrap()).unwrap();
    let chunks = bytes.chunks(app::upload::api::CHUNK_BYTES);
    assert_eq!(chunks.len(), bytes.len().div_ceil(4 << 20));
    for (seq, chunk) in chunks.enumerate() {
        let res = post_chunk(&client, &app, chunk_body(&stage, seq, chunk)).await;
        assert!(res.status().is_success(), "chunk {seq}: {}", res.status());
    }
    let res = client
        .post(format!("{}/api/upload_commit", app.addr))
        .json(&serde_json::json!({ "stage": stage, "options": UploadOptions::default() }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "upload_commit: {}", res.status());
    let result: CommitResult = res.json().await.unwrap();
    assert!(result.batch_id.is_some());
    let report = result.outcomes.unpack(result.rows as usize, result.summary);
    let s = result.summary;
    assert_eq!(
        (s.rows, s.rows_ok, s.rows_with_errors),
        (
            case.expect.rows.unwrap(),
            case.expect.rows_ok.unwrap(),
            case.expect.rows_with_errors.unwrap()
        )
    );
    let want: std::collections::BTreeSet<String> =
        case.expect.codes.clone().unwrap().into_iter().collect();
    assert_eq!(support::codes(&report), want);
    assert_eq!(s.memberships_added + s.users_created, case.writes);
    let after = counts(&app.db).await;
    assert_eq!(
        after,
        Counts {
            batches: before.batches + 1,
            ..before
        },
        "only the batch record is written"
    );
    assert_eq!(
        app::entities::upload_stage_chunk::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0,
        "the staged chunks are removed"
    );
}
