//! Bulk upload commit, undo and CLI (SPEC 2-4, 6) on a fresh database per test.
use crate::common;
use app::entities::{segment_member, upload_batch, user};
use app::error::AppError;
use app::segments::service::Mutation as Segments;
use app::upload::service::{
    commit_staged, run, stage_begin, stage_chunk, stage_read, undo, UploadError,
};
use app::upload::{ExistingDetails, FileError, UploadOptions, UploadType};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

async fn setup(db: &DatabaseConnection) {
    let now = chrono::Utc::now();
    for (name, first) in [("alice", "Alice"), ("bob", ""), ("carol", "Carol")] {
        user::Entity::insert(user::ActiveModel {
            username: sea_orm::Set(name.into()),
            firstname: sea_orm::Set(first.into()),
            lastname: sea_orm::Set("Old".into()),
            email: sea_orm::Set(format!("{name}@old.example")),
            suspended: sea_orm::Set(false),
            created_at: sea_orm::Set(now),
            updated_at: sea_orm::Set(now),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap();
    }
    for (idn, name) in [("sales", "Sales"), ("007", "Bond"), ("ops", "Ops")] {
        Segments::create(
            db,
            &app::domain::SegmentDraft::parse(idn, name, "", true).unwrap(),
        )
        .await
        .unwrap();
    }
}

async fn members(db: &DatabaseConnection) -> u64 {
    segment_member::Entity::find().count(db).await.unwrap()
}

const GOOD: &str = "username,cohort1,cohort2\nalice,sales,007\nBOB,sales,\ncarol,ops,ops\n";

#[tokio::test]
async fn a_good_file_commits_once_and_a_second_commit_changes_nothing() {
    let t = common::fresh_db().await;
    setup(&t.db).await;
    let (_, report, batch) = run(
        &t.db,
        GOOD.as_bytes(),
        "good.csv",
        UploadOptions::default(),
        None,
        false,
    )
    .await
    .unwrap();
    let s = report.summary;
    assert_eq!(
        (s.rows, s.rows_ok, s.memberships_added, s.duplicate_pairs),
        (3, 3, 4, 1)
    );
    assert!(batch.is_some());
    assert_eq!(members(&t.db).await, 4);

    let (_, again, _) = run(
        &t.db,
        GOOD.as_bytes(),
        "good.csv",
        UploadOptions::default(),
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(
        (
            again.summary.memberships_added,
            again.summary.already_members
        ),
        (0, 4)
    );
    assert_eq!(members(&t.db).await, 4);
    assert_eq!(
        upload_batch::Entity::find().count(&t.db).await.unwrap(),
        2,
        "each commit is recorded"
    );
}

#[tokio::test]
async fn rows_with_errors_are_skipped_whole_and_the_rest_applied() {
    let t = common::fresh_db().await;
    setup(&t.db).await;
    let data = "username,cohort1,cohort2\nalice,sales,nope\nghost,sales,\nbob,007,\n";
    let (_, report, _) = run(
        &t.db,
        data.as_bytes(),
        "mixed.csv",
        UploadOptions::default(),
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(
        (
            report.summary.rows_with_errors,
            report.summary.memberships_added
        ),
        (2, 1)
    );
    assert_eq!(
        members(&t.db).await,
        1,
        "alice's valid 'sales' cell is not applied: her row has an error"
    );
}

#[tokio::test]
async fn file_errors_and_dry_runs_write_nothing() {
    let t = common::fresh_db().await;
    setup(&t.db).await;
    let bad = run(
        &t.db,
        b"username,cohort1\nalice,\"sales\n",
        "bad.csv",
        UploadOptions::default(),
        None,
        false,
    )
    .await;
    assert!(matches!(
        bad,
        Err(UploadError::File(FileError::UnterminatedQuote { line: 2 }))
    ));
    let (_, report, batch) = run(
        &t.db,
        GOOD.as_bytes(),
        "good.csv",
        UploadOptions::default(),
        None,
        true,
    )
    .await
    .unwrap();
    assert_eq!((report.summary.memberships_added, batch), (4, None));
    assert_eq!(members(&t.db).await, 0);
    assert_eq!(upload_batch::Entity::find().count(&t.db).await.unwrap(), 0);
}

#[tokio::test]
async fn add_new_creates_users_and_override_updates_details() {
    let t = common::fresh_db().await;
    setup(&t.db).await;
    let add = UploadOptions {
        upload_type: UploadType::AddAndUpdate,
        existing_details: ExistingDetails::Override,
        ..Default::default()
    };
    let data = "username,firstname,lastname,email,cohort1\nnew.person,New,Person,new@example.com,sales\nbob,Robert,,,ops\nnew.person,,,,007\n";
    let (_, report, _) = run(&t.db, data.as_bytes(), "people.csv", add, None, false)
        .await
        .unwrap();
    let s = report.summary;
    assert_eq!(
        (s.users_created, s.users_updated, s.memberships_added),
        (1, 1, 3)
    );
    let created = user::Entity::find()
        .filter(user::Column::Username.eq("new.person"))
        .one(&t.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (created.firstname.as_str(), created.email.as_str()),
        ("New", "new@example.com")
    );
    let bob = user::Entity::find()
        .filter(user::Column::Username.eq("bob"))
        .one(&t.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (bob.firstname.as_str(), bob.lastname.as_str()),
        ("Robert", "Old"),
        "empty cells never erase"
    );

    let fill = UploadOptions {
        existing_details: ExistingDetails::FillMissing,
        ..Default::default()
    };
    let (_, report, _) = run(
        &t.db,
        b"username,firstname\ncarol,Caroline\n",
        "f.csv",
        fill,
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(
        report.summary.users_updated, 0,
        "carol has a first name already"
    );
}

#[tokio::test]
async fn undo_removes_exactly_what_the_batch_added_that_still_exists() {
    let t = common::fresh_db().await;
    setup(&t.db).await;
    // bob is in sales by hand before the upload: the batch must not take him out.
    let sales = app::segments::service::Query::list(&t.db, "sales", 1, 5)
        .await
        .unwrap()
        .items[0]
        .id;
    let bob = user::Entity::find()
        .filter(user::Column::Username.eq("bob"))
        .one(&t.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    Segments::add_members(&t.db, sales, &[bob]).await.unwrap();

    let (_, report, batch) = run(
        &t.db,
        GOOD.as_bytes(),
        "good.csv",
        UploadOptions::default(),
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(report.summary.memberships_added, 3);
    let alice = user::Entity::find()
        .filter(user::Column::Username.eq("alice"))
        .one(&t.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    // One of the batch's memberships is removed by hand before the undo.
    Segments::remove_members(&t.db, sales, &[alice])
        .await
        .unwrap();

    // History counts what is still there: 3 added, 1 removed by hand since.
    let page = app::upload::service::history(&t.db, 1, 25).await.unwrap();
    assert_eq!(page.items[0].still_present, 2);

    let removed = undo(&t.db, batch.unwrap(), None).await.unwrap();
    assert_eq!(removed, 2);
    let page = app::upload::service::history(&t.db, 1, 25).await.unwrap();
    assert_eq!(page.items[0].still_present, 0);
    assert!(page.items[0].undone_at.is_some());
    assert_eq!(
        members(&t.db).await,
        1,
        "only bob's manual membership is left"
    );
    assert!(matches!(
        undo(&t.db, batch.unwrap(), None).await,
        Err(AppError::Conflict(_))
    ));
    assert!(matches!(
        undo(&t.db, 999, None).await,
        Err(AppError::NotFound(_))
    ));
}

#[tokio::test]
async fn staged_chunks_reassemble_in_order_and_only_for_their_owner() {
    let t = common::fresh_db().await;
    let admin = common::create_admin(&t.db).await;
    let data = GOOD.as_bytes();
    let stage = stage_begin(&t.db, admin, "../../etc/good.csv", data.len() as u64)
        .await
        .unwrap();
    stage_chunk(&t.db, &stage, admin, 1, data[10..].to_vec())
        .await
        .unwrap();
    assert!(matches!(
        stage_chunk(&t.db, &stage, admin + 1, 0, data[..10].to_vec()).await,
        Err(AppError::NotFound(_))
    ));
    assert!(
        matches!(
            stage_read(&t.db, &stage, admin).await,
            Err(AppError::Invalid(_))
        ),
        "chunk 0 missing"
    );
    stage_chunk(&t.db, &stage, admin, 0, data[..10].to_vec())
        .await
        .unwrap();
    let (name, bytes) = stage_read(&t.db, &stage, admin).await.unwrap();
    assert_eq!((name.as_str(), bytes.as_slice()), ("good.csv", data));
    // Reading does not consume: a failed commit can be retried without sending the file again.
    assert!(stage_read(&t.db, &stage, admin).await.is_ok());
    let (_, _, batch) = commit_staged(&t.db, &stage, admin, UploadOptions::default())
        .await
        .unwrap();
    assert!(batch.is_some());
    assert!(
        commit_staged(&t.db, &stage, admin, UploadOptions::default())
            .await
            .is_err(),
        "a stage is committed once"
    );
    assert_eq!(
        app::entities::upload_batch::Entity::find()
            .count(&t.db)
            .await
            .unwrap(),
        1
    );
}

fn server(url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

#[tokio::test]
async fn cli_upload_users_json_report_and_exit_codes() {
    let t = common::fresh_db().await;
    setup(&t.db).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.csv");
    std::fs::write(
        &file,
        "username;cohort1\r\nalice;sales\r\n=cmd|' /C calc'!A0;sales\r\n",
    )
    .unwrap();
    let report = dir.path().join("out.csv");
    let f = file.to_str().unwrap();

    let out = server(&t.url, &["upload-users", f, "--json", "--dry-run"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["rows"], 2);
    assert_eq!(json["summary"]["memberships_added"], 1);
    assert_eq!(json["rows"][1]["line"], 3);
    assert_eq!(json["rows"][1]["outcomes"][0]["code"], "invalid_username");
    assert_eq!(json["rows"][1]["outcomes"][0]["level"], "error");
    assert_eq!(members(&t.db).await, 0, "dry run");

    let out = server(
        &t.url,
        &[
            "upload-users",
            f,
            "--delimiter",
            "semicolon",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(members(&t.db).await, 1);
    let csv = std::fs::read_to_string(&report).unwrap();
    assert!(csv.contains("'=cmd|"), "formula neutralised: {csv}");
    assert!(
        !csv.lines().any(|l| l.starts_with('=') || l.contains(",=")),
        "{csv}"
    );

    std::fs::write(&file, "username,department\nalice,x\n").unwrap();
    let out = server(&t.url, &["upload-users", f]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Unknown column \"department\""));
    let out = server(&t.url, &["upload-users", f, "--upload-type", "bogus"]);
    assert_eq!(out.status.code(), Some(2), "clap usage error");
}

#[tokio::test]
async fn the_pages_look_ups_give_the_same_outcomes_as_the_commit_path() {
    use app::upload::service::{
        lookup_segments_with_counts, lookup_users, segment_memberships, user_memberships,
    };
    use app::upload::{parse, validate, Knowledge};
    let t = common::fresh_db().await;
    setup(&t.db).await;
    // Some existing memberships, so already_member outcomes appear.
    run(
        &t.db,
        b"username,cohort1\nalice,sales\nbob,ops\n",
        "pre.csv",
        UploadOptions::default(),
        None,
        false,
    )
    .await
    .unwrap();
    let data = "username,cohort1,cohort2,firstname\nalice,sales,007,A\nBOB,ops,nope,\nghost,sales,,\nalice,sales,,\nbad name,ops,,\ncarol,007,ops,C\n";
    for options in [
        UploadOptions::default(),
        UploadOptions {
            upload_type: UploadType::AddAndUpdate,
            existing_details: ExistingDetails::Override,
            ..Default::default()
        },
    ] {
        let (_, commit_view, _) = run(&t.db, data.as_bytes(), "same.csv", options, None, true)
            .await
            .unwrap();
        let parsed = parse(data.as_bytes(), options.delimiter, options.encoding).unwrap();
        let names: Vec<&str> = parsed.usernames().collect();
        let segments = lookup_segments_with_counts(&t.db, &parsed.segment_ids)
            .await
            .unwrap();
        let ids: Vec<i32> = segments.iter().map(|s| s.id).collect();
        // The page asks for memberships with the users, whole segments when they are small,
        // or (after a stepped parse) by the known users' ids.
        for route in ["with users", "whole", "by id"] {
            let mut known = Knowledge::default();
            known
                .segments
                .extend(segments.iter().map(|s| (s.id_number.clone(), s.id)));
            let per_user_segments = if route == "with users" {
                ids.clone()
            } else {
                vec![]
            };
            if route == "whole" {
                known.memberships.extend(
                    segment_memberships(&t.db, &ids, u64::MAX >> 1)
                        .await
                        .unwrap(),
                );
            }
            let reply = lookup_users(
                &t.db,
                None,
                &names,
                &per_user_segments,
                options.updates_details(),
            )
            .await
            .unwrap();
            if route == "by id" {
                let users: Vec<i32> = reply.ids.iter().copied().filter(|&i| i != 0).collect();
                let pairs = user_memberships(&t.db, &users, &ids).await.unwrap();
                assert!(!pairs.is_empty(), "the file's known users have memberships");
                known.memberships.extend(pairs);
            }
            reply.add_to(&mut known);
            let page_view = validate(&parsed, &options, &known);
            assert_eq!(
                page_view.summary, commit_view.summary,
                "{options:?} {route}"
            );
            assert_eq!(
                page_view.outcomes, commit_view.outcomes,
                "{options:?} {route}"
            );
        }
    }
}

/// `user_memberships` gives exactly the asked users' memberships in the asked segments, whether
/// it probes the index per segment (few segments) or reads each user's rows (many).
#[tokio::test]
async fn memberships_by_user_id_are_exact_for_few_and_many_segments() {
    use app::upload::service::user_memberships;
    let t = common::fresh_db().await;
    let db = &t.db;
    let users = common::users(db, &["u0", "u1", "u2", "u3"]).await;
    let mut segments = Vec::new();
    for i in 0..6 {
        segments.push(common::segment(db, &format!("s{i}")).await);
    }
    // User k is in segments k.. (u0 in all six, u3 in s3..s5).
    let mut all = Vec::new();
    for (k, &u) in users.iter().enumerate() {
        for &s in &segments[k..] {
            Segments::add_members(db, s, &[u]).await.unwrap();
            all.push((s, u));
        }
    }
    let asked_users = [users[0], users[2], users[3]];
    for asked_segments in [&segments[..2], &segments[1..]] {
        let mut got = user_memberships(db, &asked_users, asked_segments)
            .await
            .unwrap();
        got.sort_unstable();
        let mut want: Vec<(i32, i32)> = all
            .iter()
            .filter(|(s, u)| asked_segments.contains(s) && asked_users.contains(u))
            .copied()
            .collect();
        want.sort_unstable();
        assert!(!want.is_empty());
        assert_eq!(got, want, "{} segments asked", asked_segments.len());
    }
}

/// `segment_memberships` gives no more pairs than it is asked for (`upload_memberships` asks one
/// past its cap, so a segment too large to send whole is refused after a bounded read), and every
/// membership of the asked segments, and only theirs, when they fit.
#[tokio::test]
async fn whole_memberships_read_no_more_than_asked() {
    use app::upload::service::segment_memberships;
    let t = common::fresh_db().await;
    let db = &t.db;
    let users = common::users(db, &["u0", "u1", "u2", "u3"]).await;
    let big = common::segment(db, "big").await;
    let small = common::segment(db, "small").await;
    let other = common::segment(db, "other").await;
    Segments::add_members(db, big, &users).await.unwrap();
    Segments::add_members(db, small, &users[..1]).await.unwrap();
    Segments::add_members(db, other, &users[1..2])
        .await
        .unwrap();
    let mut want: Vec<(i32, i32)> = users.iter().map(|&u| (big, u)).collect();
    want.push((small, users[0]));
    want.sort_unstable();
    for at_most in [5, 6] {
        let mut all = segment_memberships(db, &[big, small], at_most)
            .await
            .unwrap();
        all.sort_unstable();
        assert_eq!(all, want, "all five fit in {at_most}, none of `other`'s");
    }
    for at_most in [4, 1] {
        let some = segment_memberships(db, &[big, small], at_most)
            .await
            .unwrap();
        assert_eq!(some.len() as u64, at_most, "{at_most} asked");
        assert!(some.iter().all(|p| want.contains(p)), "{some:?}");
    }
}

/// `upload_memberships` over HTTP: more segment ids than a batch is a clear refusal (the page
/// sends a batch a call), a batch is answered.
#[tokio::test]
async fn upload_memberships_refuses_more_than_a_batch_of_segments() {
    use app::upload::api::LOOKUP_BATCH;
    let (app, client) = common::signed_in_admin().await;
    let post = |ids: Vec<i32>| {
        client
            .post(format!("{}/api/upload_memberships", app.addr))
            .json(&serde_json::json!({ "segment_ids": ids }))
            .send()
    };
    let res = post((1..=LOOKUP_BATCH as i32 + 1).collect()).await.unwrap();
    assert_eq!(res.status().as_u16(), 422, "AppError::Invalid");
    let text = res.text().await.unwrap();
    assert!(text.contains("at most 25000 segments"), "{text:?}");
    let res = post((1..=LOOKUP_BATCH as i32).collect()).await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
}

/// The look-ups over HTTP in their wire form, postcard, as the page and the load tool send them:
/// `upload_users` answers ids aligned with the names (0 for an unknown one) and the found
/// users' memberships, `upload_user_memberships` the memberships by id, `upload_memberships`
/// (a JSON question) the pairs packed; a JSON question to `upload_users` is refused, not misread.
#[tokio::test]
async fn look_ups_travel_as_postcard() {
    use app::upload::api::{UploadUserMemberships, UploadUsers, LOOKUP_BATCH};
    use app::upload::types::{Pairs, UserLookup};
    let (app, client) = common::signed_in_admin().await;
    let ids = common::users(&app.db, &["ann", "bob"]).await;
    let (ann, bob) = (ids[0], ids[1]);
    let seg = common::segment(&app.db, "s1").await;
    Segments::add_members(&app.db, seg, &[bob]).await.unwrap();
    let ask = |endpoint: &str, body: Vec<u8>| {
        client
            .post(format!("{}/api/{endpoint}", app.addr))
            .header(reqwest::header::CONTENT_TYPE, "application/x-postcard")
            .body(body)
            .send()
    };
    let question = UploadUsers {
        usernames: "bob\nnobody\nann".into(),
        segment_ids: vec![seg],
        details: false,
    };
    let res = ask("upload_users", postcard::to_allocvec(&question).unwrap())
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let answer: UserLookup = postcard::from_bytes(&res.bytes().await.unwrap()).unwrap();
    assert_eq!(answer.ids, vec![bob, 0, ann]);
    assert_eq!(answer.memberships, vec![(seg, bob)]);

    let question = UploadUserMemberships {
        user_ids: vec![ann, bob],
        segment_ids: vec![seg],
    };
    let res = ask(
        "upload_user_memberships",
        postcard::to_allocvec(&question).unwrap(),
    )
    .await
    .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let pairs: Pairs = postcard::from_bytes(&res.bytes().await.unwrap()).unwrap();
    assert_eq!(pairs.0, vec![(seg, bob)]);

    let res = client
        .post(format!("{}/api/upload_memberships", app.addr))
        .json(&serde_json::json!({ "segment_ids": [seg] }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let pairs: Pairs = postcard::from_bytes(&res.bytes().await.unwrap()).unwrap();
    assert_eq!(pairs.0, vec![(seg, bob)]);

    // An error still comes back readable: more names than a batch.
    let question = UploadUsers {
        usernames: vec!["ann"; LOOKUP_BATCH + 1].join("\n"),
        segment_ids: vec![],
        details: false,
    };
    let res = ask("upload_users", postcard::to_allocvec(&question).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 422, "AppError::Invalid");
    let text = res.text().await.unwrap();
    assert!(text.contains("at most 25000 names"), "{text:?}");

    let res = client
        .post(format!("{}/api/upload_users", app.addr))
        .json(&serde_json::json!({ "usernames": "ann", "segment_ids": [], "details": false }))
        .send()
        .await
        .unwrap();
    let status = res.status();
    assert!(
        !status.is_success() && status.as_u16() != 401,
        "a JSON question: {status}"
    );
}

/// Issue 9: add-and-update with "Override with file", a new user on two rows with different
/// details. The first commit creates the user from the first row; the second commit must not
/// then override from the last row: the first valid row decides, so it changes nothing.
#[tokio::test]
async fn committing_the_same_file_twice_under_override_changes_nothing_the_second_time() {
    let t = common::fresh_db().await;
    let db = &t.db;
    setup(db).await;
    let data = "username,firstname,lastname,email,cohort1\n\
                dora,Dora,First,dora@first.example,sales\n\
                dora,Dorothy,Last,dora@last.example,ops\n\
                alice,Ally,,ally@first.example,sales\n\
                alice,Alicia,Later,alicia@last.example,ops\n";
    let options = UploadOptions {
        upload_type: UploadType::AddAndUpdate,
        existing_details: ExistingDetails::Override,
        ..Default::default()
    };
    let (_, first, _) = run(db, data.as_bytes(), "d.csv", options, None, false)
        .await
        .unwrap();
    assert_eq!(first.summary.users_created, 1);
    assert_eq!(first.summary.users_updated, 1);
    let details = |name: &'static str| async move {
        let u = user::Entity::find()
            .filter(user::Column::Username.eq(name))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        (u.firstname, u.lastname, u.email)
    };
    let dora = details("dora").await;
    let alice = details("alice").await;
    assert_eq!(
        dora,
        ("Dora".into(), "First".into(), "dora@first.example".into())
    );
    assert_eq!(
        alice,
        ("Ally".into(), "Later".into(), "ally@first.example".into())
    );

    let (_, second, _) = run(db, data.as_bytes(), "d.csv", options, None, false)
        .await
        .unwrap();
    assert_eq!(second.summary.users_created, 0);
    assert_eq!(second.summary.users_updated, 0, "{:?}", second.updates);
    assert_eq!(second.summary.memberships_added, 0);
    assert_eq!(details("dora").await, dora);
    assert_eq!(details("alice").await, alice);
}

/// `db::int_pairs` folds each row into one integer and back: every i32 on both sides survives,
/// negative and extreme ones included, on either database.
#[tokio::test]
async fn int_pairs_carry_every_i32_pair() {
    use sea_orm::sea_query::{Alias, Query};
    use sea_orm::ConnectionTrait;
    let t = common::fresh_db().await;
    t.db.execute_unprepared("CREATE TABLE pair_probe (a integer NOT NULL, b integer NOT NULL)")
        .await
        .unwrap();
    let want = [
        (1, 2),
        (0, 0),
        (-1, -1),
        (i32::MAX, i32::MIN),
        (i32::MIN, i32::MAX),
        (-7, 123_456),
    ];
    for (a, b) in want {
        t.db.execute_unprepared(&format!("INSERT INTO pair_probe VALUES ({a}, {b})"))
            .await
            .unwrap();
    }
    let select = Query::select()
        .columns([Alias::new("a"), Alias::new("b")])
        .from(Alias::new("pair_probe"))
        .to_owned();
    let mut got = app::db::int_pairs(&t.db, &select, ["a", "b"])
        .await
        .unwrap();
    got.sort_unstable();
    let mut want = want.to_vec();
    want.sort_unstable();
    assert_eq!(got, want);
    let none = Query::select()
        .columns([Alias::new("a"), Alias::new("b")])
        .from(Alias::new("pair_probe"))
        .and_where(sea_orm::sea_query::Expr::col(Alias::new("a")).eq(42))
        .to_owned();
    assert!(app::db::int_pairs(&t.db, &none, ["a", "b"])
        .await
        .unwrap()
        .is_empty());
}

/// `db::ids_in_order` answers each key in its own place (unknown ones 0, a repeated key at each
/// of its places), ids from negative ones to `i32::MAX` included, on either database, whatever order the keys
/// come in against the index's.
#[tokio::test]
async fn ids_in_order_answers_each_key_in_its_place() {
    use sea_orm::ConnectionTrait;
    let t = common::fresh_db().await;
    t.db.execute_unprepared(
        "CREATE TABLE key_probe (id integer PRIMARY KEY, k text NOT NULL UNIQUE)",
    )
    .await
    .unwrap();
    let mut rows = vec![
        (1, "a".to_string()),
        (i32::MAX, "c".to_string()),
        (-5, "neg".to_string()),
    ];
    rows.extend((0..3000).map(|i| (10 + i, format!("k{i:04}"))));
    let values: Vec<String> = rows
        .iter()
        .map(|(id, k)| format!("({id}, '{k}')"))
        .collect();
    t.db.execute_unprepared(&format!(
        "INSERT INTO key_probe VALUES {}",
        values.join(", ")
    ))
    .await
    .unwrap();
    let ids = |keys: Vec<String>| {
        let db = t.db.clone();
        async move {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            app::db::ids_in_order(&db, "key_probe", "k", &keys)
                .await
                .unwrap()
        }
    };
    let asked = ["c", "zz", "a", "a", "k0005", "", "neg"]
        .map(String::from)
        .to_vec();
    assert_eq!(ids(asked).await, [i32::MAX, 0, 1, 1, 15, 0, -5]);
    assert!(ids(vec![]).await.is_empty());
    // The keys backwards, every other one unknown.
    let asked: Vec<String> = (0..6000)
        .rev()
        .map(|i| {
            if i % 2 == 0 {
                format!("k{:04}", i / 2)
            } else {
                format!("none{i}")
            }
        })
        .collect();
    let want: Vec<i32> = (0..6000)
        .rev()
        .map(|i| if i % 2 == 0 { 10 + i / 2 } else { 0 })
        .collect();
    assert_eq!(ids(asked).await, want);
}
