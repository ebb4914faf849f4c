//! Segment automation (SPEC 8) on SQLite and PostgreSQL: each operator's SQL, the invariant
//! across profile changes, uploads, rule changes and repairs (with SPEC 5 following), the save
//! that refuses a stale preview, a property test over random steps, and the CLI.
use crate::common;
use app::automation::service as auto;
use app::automation::{FieldKind, RulePreview, RuleSet};
use app::entities::{segment_member, user};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::json;

async fn user(db: &DatabaseConnection, name: &str, email: &str) -> i32 {
    user::Entity::insert(user::ActiveModel::new_user(
        name,
        "F",
        "L",
        email,
        chrono::Utc::now(),
    ))
    .exec(db)
    .await
    .unwrap()
    .last_insert_id
}

async fn set(db: &DatabaseConnection, user: i32, values: &[(i32, &str)]) {
    let txn = app::sync::begin(db).await.unwrap();
    let values: Vec<(i32, String)> = values.iter().map(|(f, v)| (*f, v.to_string())).collect();
    auto::set_user_values(&txn, user, &values).await.unwrap();
    txn.commit().await.unwrap();
}

async fn automate(
    db: &DatabaseConnection,
    segment: i32,
    rules: serde_json::Value,
) -> Result<auto::RuleChange, app::error::AppError> {
    let set: RuleSet = serde_json::from_value(rules).unwrap();
    let txn = app::sync::begin(db).await.unwrap();
    let r = auto::set_rules(&txn, segment, Some(&set)).await;
    txn.commit().await.unwrap();
    r
}

async fn members(db: &DatabaseConnection, segment: i32) -> Vec<String> {
    user::Entity::find()
        .select_only()
        .column(user::Column::Username)
        .inner_join(segment_member::Entity)
        .filter(segment_member::Column::SegmentId.eq(segment))
        .order_by_asc(user::Column::Username)
        .into_tuple()
        .all(db)
        .await
        .unwrap()
}

/// Every user's id, in id order.
async fn user_ids(db: &DatabaseConnection) -> Vec<i32> {
    user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .order_by_asc(user::Column::Id)
        .into_tuple()
        .all(db)
        .await
        .unwrap()
}

/// Makes the segment hold every user (or none) behind the rules' back, then recomputes it for
/// every user as a list, the way a change to those users does.
async fn reread_listed(db: &DatabaseConnection, segment: i32, from_everyone: bool) {
    let ids = user_ids(db).await;
    let txn = app::sync::begin(db).await.unwrap();
    segment_member::Entity::delete_many()
        .filter(segment_member::Column::SegmentId.eq(segment))
        .exec(&txn)
        .await
        .unwrap();
    if from_everyone {
        segment_member::Entity::insert_many(ids.iter().map(|&user_id| {
            segment_member::ActiveModel {
                segment_id: Set(segment),
                user_id: Set(user_id),
                added_at: Set(chrono::Utc::now()),
                batch_id: Set(None),
            }
        }))
        .exec(&txn)
        .await
        .unwrap();
    }
    auto::users_changed(&txn, &ids).await.unwrap();
    txn.commit().await.unwrap();
}

/// Read for listed users (a change to them), from everyone and from no one: the same members
/// as the whole recompute found, through the per-user probes.
async fn listed_reads_the_same(
    db: &DatabaseConnection,
    segment: i32,
    expected: &[&str],
    what: &str,
) {
    for from_everyone in [true, false] {
        reread_listed(db, segment, from_everyone).await;
        assert_eq!(
            members(db, segment).await,
            expected,
            "listed, from everyone: {from_everyone}, {what}"
        );
    }
}

struct Site {
    dept: i32,
    city: i32,
    mentor: i32,
    start: i32,
    segment: i32,
}

/// A course where everyone is enrolled and `segment` fills a group by "User segment members to
/// group": (the group, every user's id).
async fn grouped_course(db: &DatabaseConnection, segment: i32) -> (i32, Vec<i32>) {
    use app::courses::service as courses;
    let course = courses::create_course(db, "C", "Course").await.unwrap();
    let g = courses::create_group(db, course, "Group").await.unwrap();
    courses::add_segment_to_group(db, course, segment, g)
        .await
        .unwrap();
    let ids = user_ids(db).await;
    courses::enrol(db, course, &ids).await.unwrap();
    (g, ids)
}

/// ann: Sales, Paris, mentor, started 10 days ago; bob: Ops, PARIS-Nord, not mentor, 2020;
/// cy: no values, suspended, email CY@Example.COM.
async fn site(db: &DatabaseConnection) -> Site {
    let f = |s: &str, k, o: &[&str]| {
        let o: Vec<String> = o.iter().map(|x| x.to_string()).collect();
        let s = s.to_string();
        async move {
            auto::create_field(db, &s, &s.to_uppercase(), k, &o)
                .await
                .unwrap()
                .id
        }
    };
    let site = Site {
        dept: f("dept", FieldKind::Menu, &["Sales", "Ops"]).await,
        city: f("city", FieldKind::Text, &[]).await,
        mentor: f("mentor", FieldKind::Checkbox, &[]).await,
        start: f("start", FieldKind::Date, &[]).await,
        segment: common::segment(db, "auto").await,
    };
    let ann = user(db, "ann", "ann@example.com").await;
    let bob = user(db, "bob", "bob@elsewhere.org").await;
    let cy = user(db, "cy", "CY@Example.COM").await;
    let recent = (chrono::Utc::now() - chrono::Duration::days(10))
        .format("%Y-%m-%d")
        .to_string();
    set(
        db,
        ann,
        &[
            (site.dept, "sales"),
            (site.city, "Paris"),
            (site.mentor, "yes"),
            (site.start, &recent),
        ],
    )
    .await;
    set(
        db,
        bob,
        &[
            (site.dept, "Ops"),
            (site.city, "PARIS-Nord"),
            (site.mentor, "0"),
            (site.start, "2020-01-01"),
        ],
    )
    .await;
    user::Entity::update_many()
        .col_expr(
            user::Column::Suspended,
            sea_orm::sea_query::Expr::value(true),
        )
        .filter(user::Column::Id.eq(cy))
        .exec(db)
        .await
        .unwrap();
    site
}

#[tokio::test]
async fn each_operator_matches_as_specified() {
    let t = common::fresh_db().await;
    let db = &t.db;
    let s = site(db).await;
    let cases: Vec<(serde_json::Value, &[&str])> = vec![
        (
            json!([{"field": "dept", "op": "equals", "value": "SALES"}]),
            &["ann"],
        ),
        (
            json!([{"field": "dept", "op": "not_equals", "value": "sales"}]),
            &["bob", "cy"],
        ),
        (
            json!([{"field": "dept", "op": "in", "value": ["sales", "ops"]}]),
            &["ann", "bob"],
        ),
        (
            json!([{"field": "city", "op": "equals", "value": "paris"}]),
            &["ann"],
        ),
        (
            json!([{"field": "city", "op": "not_equals", "value": "paris"}]),
            &["bob", "cy"],
        ),
        (
            json!([{"field": "city", "op": "contains", "value": "PARIS"}]),
            &["ann", "bob"],
        ),
        (
            json!([{"field": "city", "op": "not_contains", "value": "nord"}]),
            &["ann", "cy"],
        ),
        (
            json!([{"field": "city", "op": "starts_with", "value": "par"}]),
            &["ann", "bob"],
        ),
        (
            json!([{"field": "city", "op": "ends_with", "value": "-NORD"}]),
            &["bob"],
        ),
        (
            json!([{"field": "city", "op": "contains", "value": "%"}]),
            &[],
        ),
        (
            json!([{"field": "city", "op": "contains", "value": "_"}]),
            &[],
        ),
        (json!([{"field": "city", "op": "is_empty"}]), &["cy"]),
        (
            json!([{"field": "city", "op": "is_not_empty"}]),
            &["ann", "bob"],
        ),
        (json!([{"field": "mentor", "op": "is_checked"}]), &["ann"]),
        (
            json!([{"field": "mentor", "op": "is_not_checked"}]),
            &["bob", "cy"],
        ),
        (
            json!([{"field": "start", "op": "before", "value": "2021-01-01"}]),
            &["bob"],
        ),
        (
            json!([{"field": "start", "op": "after", "value": "2021-01-01"}]),
            &["ann"],
        ),
        (
            json!([{"field": "start", "op": "within_last_days", "value": 30}]),
            &["ann"],
        ),
        (
            json!([{"field": "email", "op": "ends_with", "value": "@EXAMPLE.com"}]),
            &["ann", "cy"],
        ),
        (
            json!([{"field": "username", "op": "equals", "value": "Bob"}]),
            &["bob"],
        ),
        (json!([{"field": "firstname", "op": "is_empty"}]), &[]),
        (json!([{"field": "suspended", "op": "is_checked"}]), &["cy"]),
        (
            json!([{"field": "suspended", "op": "is_not_checked"}]),
            &["ann", "bob"],
        ),
    ];
    for (rules, expected) in cases {
        for m in ["all", "any"] {
            automate(db, s.segment, json!({"match": m, "rules": rules}))
                .await
                .unwrap();
            assert_eq!(members(db, s.segment).await, expected, "{m} {rules}");
            listed_reads_the_same(db, s.segment, expected, &format!("{m} {rules}")).await;
        }
    }
    // Several rules, some on profile fields and some on the user's own columns.
    let combined: [(serde_json::Value, &[&str]); 4] = [
        (
            json!({"match": "any", "rules": [
                {"field": "dept", "op": "equals", "value": "ops"}, {"field": "mentor", "op": "is_checked"}]}),
            &["ann", "bob"],
        ),
        (
            json!({"match": "all", "rules": [
                {"field": "dept", "op": "equals", "value": "ops"}, {"field": "mentor", "op": "is_checked"}]}),
            &[],
        ),
        (
            json!({"match": "all", "rules": [
                {"field": "dept", "op": "equals", "value": "sales"}, {"field": "mentor", "op": "is_checked"},
                {"field": "city", "op": "not_contains", "value": "nord"}]}),
            &["ann"],
        ),
        (
            json!({"match": "any", "rules": [
                {"field": "city", "op": "contains", "value": "nord"}, {"field": "suspended", "op": "is_checked"}]}),
            &["bob", "cy"],
        ),
    ];
    for (rules, expected) in combined {
        automate(db, s.segment, rules.clone()).await.unwrap();
        assert_eq!(members(db, s.segment).await, expected, "{rules}");
        listed_reads_the_same(db, s.segment, expected, &rules.to_string()).await;
    }
    let err = automate(db, s.segment, json!({"match": "all", "rules": [
        {"field": "city", "op": "equals", "value": "x"}, {"field": "dept", "op": "before", "value": "x"}]})).await.unwrap_err();
    assert!(err.to_string().contains("Rule 2 (dept before)"), "{err}");
    let _ = (s.city, s.start);
}

#[tokio::test]
async fn the_invariant_follows_profile_changes_uploads_rules_and_repairs_into_course_groups() {
    let t = common::fresh_db().await;
    let db = &t.db;
    let s = site(db).await;
    let (g, ids) = grouped_course(db, s.segment).await;

    // The preview says what saving does, with the group memberships that follow; saving does it.
    let rules: RuleSet = serde_json::from_value(
        json!({"match": "all", "rules": [{"field": "dept", "op": "equals", "value": "sales"}]}),
    )
    .unwrap();
    let preview = auto::preview(db, s.segment, &rules).await.unwrap();
    assert_eq!(
        (
            preview.added,
            preview.removed,
            preview.group_memberships_added
        ),
        (1, 0, 1)
    );
    assert_eq!(preview.sample_added, ["ann"]);
    assert!(
        members(db, s.segment).await.is_empty(),
        "a preview writes nothing"
    );
    auto::save_rules(db, s.segment, &rules, &preview)
        .await
        .unwrap();
    assert_eq!(members(db, s.segment).await, ["ann"]);
    assert!(common::in_group(db, g, ids[0]).await);

    // A profile change moves bob in, and into the group, in that transaction.
    set(db, ids[1], &[(s.dept, "sales")]).await;
    assert_eq!(members(db, s.segment).await, ["ann", "bob"]);
    assert!(common::in_group(db, g, ids[1]).await);
    set(db, ids[0], &[(s.dept, "")]).await;
    assert_eq!(members(db, s.segment).await, ["bob"]);
    assert!(!common::in_group(db, g, ids[0]).await);
    common::assert_consistent(db).await;

    // A stale preview is refused: the data changed since.
    let stale = RulePreview {
        added: 5,
        removed: 0,
        ..Default::default()
    };
    let err = auto::save_rules(db, s.segment, &rules, &stale)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("changed since the preview"),
        "{err}"
    );

    // Members come from the rules only: by hand and by file is refused.
    let err = app::segments::service::Mutation::add_members(db, s.segment, &[ids[2]])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("automated"));
    let (_, report, _) = app::upload::service::run(
        db,
        b"username,cohort1\ncy,auto\n",
        "f.csv",
        Default::default(),
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(report.summary.rows_with_errors, 1);
    assert_eq!(report.row_outcomes(0)[0].code.as_str(), "automated_segment");

    // Drift (a write behind the console's back) is repaired by `server sync`'s recompute.
    // The group row that follows the member back is drift it fixed, and is reported.
    for table in ["segment_members", "group_members"] {
        db.execute_unprepared(&format!("DELETE FROM {table}"))
            .await
            .unwrap();
    }
    let txn = app::sync::begin(db).await.unwrap();
    let fixed = auto::repair(&txn).await.unwrap();
    assert_eq!((fixed.added, fixed.removed), (1, 0));
    assert_eq!(fixed.drift.group_memberships_added, 1);
    let again = auto::repair(&txn).await.unwrap();
    assert_eq!((again.added, again.removed), (0, 0));
    assert!(again.drift.is_empty());
    txn.commit().await.unwrap();
    common::assert_consistent(db).await;

    // Users created by the CLI's create-admin are matched too; the users list shows values.
    automate(db, s.segment, json!({"match": "any", "rules": [
        {"field": "dept", "op": "equals", "value": "sales"}, {"field": "username", "op": "starts_with", "value": "root"}]})).await.unwrap();
    app::auth::service::create_or_reset_admin(db, "root.admin", "a long enough password")
        .await
        .unwrap();
    assert_eq!(members(db, s.segment).await, ["bob", "root.admin"]);
    let list = app::users::service::Query::list(db, "bob", 0, 25)
        .await
        .unwrap();
    assert_eq!(
        list.items[0].profile[0],
        ("CITY".to_string(), "PARIS-Nord".to_string())
    );

    // Off: manual again, members kept, and manual changes allowed.
    let txn = app::sync::begin(db).await.unwrap();
    auto::set_rules(&txn, s.segment, None).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(members(db, s.segment).await, ["bob", "root.admin"]);
    app::segments::service::Mutation::add_members(db, s.segment, &[ids[2]])
        .await
        .unwrap();
    assert_eq!(members(db, s.segment).await, ["bob", "cy", "root.admin"]);
}

/// SPEC 5's property test extended with SPEC 8: random profile changes, rule changes,
/// enrolments and manual membership changes; after every step an automated segment holds
/// exactly its matches (a from-scratch recompute changes nothing) and SPEC 5's rules hold.
#[tokio::test]
async fn random_steps_keep_automated_segments_and_courses_exact() {
    use rand::{rngs::StdRng, Rng, SeedableRng};
    let t = common::fresh_db().await;
    let db = &t.db;
    let s = site(db).await;
    let other = common::segment(db, "manual").await;
    let mut names = vec!["ann", "bob", "cy"];
    for n in ["di", "ed", "fay"] {
        user(db, n, &format!("{n}@example.com")).await;
        names.push(n);
    }
    let ids = user_ids(db).await;
    let course = app::courses::service::create_course(db, "C", "Course")
        .await
        .unwrap();
    let g = app::courses::service::create_group(db, course, "G")
        .await
        .unwrap();
    app::courses::service::add_segment_to_group(db, course, s.segment, g)
        .await
        .unwrap();
    let course2 = app::courses::service::create_course(db, "D", "Course 2")
        .await
        .unwrap();
    app::courses::service::add_segment_sync(
        db,
        course2,
        s.segment,
        app::courses::SyncGroup::None,
        false,
    )
    .await
    .unwrap();
    let rule_sets = [
        json!({"match": "all", "rules": [{"field": "dept", "op": "equals", "value": "sales"}]}),
        json!({"match": "any", "rules": [{"field": "mentor", "op": "is_checked"}, {"field": "city", "op": "contains", "value": "par"}]}),
        json!({"match": "all", "rules": [{"field": "dept", "op": "not_equals", "value": "ops"}, {"field": "suspended", "op": "is_not_checked"}]}),
        // Matches users an upload changed (their email becomes x<step>@…).
        json!({"match": "any", "rules": [{"field": "email", "op": "starts_with", "value": "x"}, {"field": "dept", "op": "equals", "value": "ops"}]}),
    ];
    let mut rng = StdRng::seed_from_u64(12);
    for step in 0..60 {
        let u = ids[rng.gen_range(0..ids.len())];
        let what = rng.gen_range(0..6);
        match what {
            0 => {
                set(
                    db,
                    u,
                    &[(s.dept, ["sales", "ops", ""][rng.gen_range(0..3)])],
                )
                .await
            }
            1 => {
                set(
                    db,
                    u,
                    &[
                        (s.mentor, ["1", "0", ""][rng.gen_range(0..3)]),
                        (s.city, ["Paris", "Lyon", ""][rng.gen_range(0..3)]),
                    ],
                )
                .await
            }
            2 => {
                automate(
                    db,
                    s.segment,
                    rule_sets[rng.gen_range(0..rule_sets.len())].clone(),
                )
                .await
                .unwrap();
            }
            3 => {
                let txn = app::sync::begin(db).await.unwrap();
                if rng.gen_bool(0.5) {
                    app::courses::service::enrol(&txn, course, &[u])
                        .await
                        .unwrap();
                } else {
                    app::courses::service::unenrol(&txn, course, &[u])
                        .await
                        .unwrap();
                }
                txn.commit().await.unwrap();
            }
            4 => {
                let txn = app::sync::begin(db).await.unwrap();
                app::segments::service::Mutation::add_members(&txn, other, &[u])
                    .await
                    .unwrap();
                txn.commit().await.unwrap();
            }
            _ => {
                // A user changed by an upload (details): the automated segments follow.
                let file = format!(
                    "username,firstname,lastname,email\n{},New,Name,x{step}@example.com\n",
                    names[ids.iter().position(|x| *x == u).unwrap()]
                );
                let options = app::upload::UploadOptions {
                    existing_details: app::upload::ExistingDetails::Override,
                    ..Default::default()
                };
                app::upload::service::run(db, file.as_bytes(), "u.csv", options, None, false)
                    .await
                    .unwrap();
            }
        }
        let txn = app::sync::begin(db).await.unwrap();
        let r = auto::repair(&txn).await.unwrap();
        assert_eq!(
            (r.added, r.removed),
            (0, 0),
            "step {step} ({what}): automated segment drifted"
        );
        txn.rollback().await.unwrap();
        common::assert_consistent(db).await;
    }
}

#[tokio::test]
async fn the_cli_creates_fields_and_automates_segments() {
    let t = common::fresh_db().await;
    let db = &t.db;
    common::segment(db, "sales").await;
    let server = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_server"))
            .args(args)
            .env("DATABASE_URL", &t.url)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = server(&[
        "profile-field",
        "create",
        "dept",
        "Department",
        "--type",
        "menu",
        "--options",
        "Sales,Ops",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = server(&["profile-field", "create", "dept", "Again"]);
    assert_eq!(out.status.code(), Some(1));
    // A user column's name would shadow the field in every rule.
    let out = server(&["profile-field", "create", "email", "Work e-mail"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("user column"));
    let fields = auto::fields(db).await.unwrap();
    let ann = user(db, "ann", "a@example.com").await;
    set(db, ann, &[(fields[0].id, "Sales")]).await;
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.json");
    std::fs::write(
        &rules,
        r#"{"match": "all", "rules": [{"field": "dept", "op": "equals", "value": "sales"}]}"#,
    )
    .unwrap();
    let r = rules.to_str().unwrap();
    let dry = server(&["segment", "automate", "sales", r, "--dry-run", "--json"]);
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let dry: serde_json::Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert_eq!(
        dry,
        json!({"added": 1, "removed": 0, "enrolments_added": 0, "group_memberships_added": 0})
    );
    let done = server(&["segment", "automate", "sales", r, "--json"]);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&done.stdout).unwrap(),
        dry
    );
    std::fs::write(
        &rules,
        r#"{"match": "all", "rules": [{"field": "nope", "op": "equals", "value": "x"}]}"#,
    )
    .unwrap();
    let bad = server(&["segment", "automate", "sales", r]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("Rule 1 (nope equals)"));
    // "--off" cannot be previewed: refused, and the segment stays automated.
    let refused = server(&["segment", "automate", "sales", "--off", "--dry-run"]);
    assert!(!refused.status.success());
    assert_eq!(auto::automated(db).await.unwrap().len(), 1);
    let off = server(&["segment", "automate", "sales", "--off", "--json"]);
    assert!(
        off.status.success(),
        "{}",
        String::from_utf8_lossy(&off.stderr)
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&off.stdout).unwrap(),
        json!({"added": 0, "removed": 0, "enrolments_added": 0, "group_memberships_added": 0})
    );
    assert!(auto::automated(db).await.unwrap().is_empty());
    let list = server(&["segment", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(list[0]["members"], 1, "--off keeps the members");
    let sync = server(&["sync"]);
    assert!(String::from_utf8_lossy(&sync.stdout).contains("no drift in automated segments"));
}

/// SPEC 8 through the bulk upload: `profile_field_…` columns create users with their values and
/// the automated segment (and its course group) fills in the same commit; an unknown shortname
/// is a file error; "fill in missing" keeps a stored value, "override" replaces it.
#[tokio::test]
async fn the_upload_sets_profile_values_and_automated_segments_follow() {
    use app::upload::{ExistingDetails, UploadOptions, UploadType};
    let t = common::fresh_db().await;
    let db = &t.db;
    let s = site(db).await;
    automate(
        db,
        s.segment,
        json!({"match": "all", "rules": [{"field": "dept", "op": "equals", "value": "ops"}]}),
    )
    .await
    .unwrap();
    assert_eq!(members(db, s.segment).await, ["bob"]);
    let run = |file: &'static str, options: UploadOptions| async move {
        app::upload::service::run(db, file.as_bytes(), "p.csv", options, None, false).await
    };
    let add = UploadOptions {
        upload_type: UploadType::AddAndUpdate,
        ..Default::default()
    };
    let (_, report, _) = run(
        "username,firstname,lastname,email,profile_field_dept\ndee,D,E,d@example.com,OPS\nann,,,,ops\neve,E,V,e@example.com,HR\n",
        add,
    )
    .await
    .unwrap();
    assert_eq!(report.summary.users_created, 1);
    assert_eq!(
        report.row_outcomes(2)[0].code.as_str(),
        "invalid_profile_value"
    );
    // dee is new (value written); ann exists and "no changes" leaves her value.
    assert_eq!(members(db, s.segment).await, ["bob", "dee"]);
    let fill = UploadOptions {
        existing_details: ExistingDetails::FillMissing,
        ..add
    };
    run("username,profile_field_dept\nann,ops\ncy,ops\n", fill)
        .await
        .unwrap();
    assert_eq!(
        members(db, s.segment).await,
        ["bob", "cy", "dee"],
        "fill in missing: only cy had none"
    );
    let over = UploadOptions {
        existing_details: ExistingDetails::Override,
        ..add
    };
    run("username,profile_field_dept\nann,ops\nbob,sales\n", over)
        .await
        .unwrap();
    assert_eq!(members(db, s.segment).await, ["ann", "cy", "dee"]);
    common::assert_consistent(db).await;
    let err = run("username,profile_field_nope\nann,x\n", over)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("profile_field_nope"), "{err}");
    let txn = app::sync::begin(db).await.unwrap();
    let r = auto::repair(&txn).await.unwrap();
    assert_eq!((r.added, r.removed), (0, 0));
    txn.rollback().await.unwrap();
}

/// Automating a segment hands its members over to the rules: undoing the upload that first
/// added them takes back none of them, so a member the rules match keeps her place and her
/// course (SPEC 8: the members are exactly the matches; the undo only takes back what its
/// batch still owns).
#[tokio::test]
async fn undoing_an_upload_leaves_the_members_the_rules_took_over() {
    use app::courses::service::{self as courses, SyncGroup};
    let t = common::fresh_db().await;
    let db = &t.db;
    let s = site(db).await;
    let course = courses::create_course(db, "c1", "Course").await.unwrap();
    let group = courses::create_group(db, course, "G").await.unwrap();
    let (instance, _) =
        courses::add_segment_sync(db, course, s.segment, SyncGroup::Existing(group), false)
            .await
            .unwrap();
    let (_, _, batch) = app::upload::service::run(
        db,
        b"username,cohort1\nann,auto\nbob,auto\n",
        "m.csv",
        Default::default(),
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(members(db, s.segment).await, ["ann", "bob"]);
    // The rules keep ann (Sales) and take bob out.
    automate(
        db,
        s.segment,
        json!({"match": "all", "rules": [{"field": "dept", "op": "equals", "value": "sales"}]}),
    )
    .await
    .unwrap();
    assert_eq!(members(db, s.segment).await, ["ann"]);
    let batched = || async {
        segment_member::Entity::find()
            .filter(segment_member::Column::BatchId.is_not_null())
            .count(db)
            .await
            .unwrap()
    };
    assert_eq!(
        batched().await,
        0,
        "automating handed ann over to the rules"
    );
    // A database automated before that hand-over (migration m0008 clears these) still has the
    // row under its batch: the undo leaves it all the same.
    db.execute_unprepared(&format!(
        "UPDATE segment_members SET batch_id = {} WHERE segment_id = {}",
        batch.unwrap(),
        s.segment
    ))
    .await
    .unwrap();
    assert_eq!(batched().await, 1);
    let txn = app::sync::begin(db).await.unwrap();
    let removed = app::upload::service::undo(&txn, batch.unwrap(), None)
        .await
        .unwrap();
    txn.commit().await.unwrap();
    assert_eq!(removed, 0);
    assert_eq!(members(db, s.segment).await, ["ann"], "the rules match ann");
    let ann: i32 = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::Username.eq("ann"))
        .into_tuple()
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        common::status(db, instance, ann).await.as_deref(),
        Some("active")
    );
    assert!(common::in_group(db, group, ann).await);
    common::assert_consistent(db).await;
}

/// Rules that read the calendar follow it with no change to anyone: when the date turns, a
/// member whose date has left "within the last 30 days" leaves the segment, and its course group
/// with her. Time passing is played by moving her stored date back behind the console's back.
/// A segment whose rules do not read the calendar is not recomputed then (its drift is
/// `server sync`'s).
#[tokio::test]
async fn the_turning_date_recomputes_the_segments_whose_rules_read_it() {
    let t = common::fresh_db().await;
    let db = &t.db;
    let s = site(db).await;
    let (g, ids) = grouped_course(db, s.segment).await;
    automate(
        db,
        s.segment,
        json!({"match": "all", "rules": [{"field": "start", "op": "within_last_days", "value": 30}]}),
    )
    .await
    .unwrap();
    let by_dept = common::segment(db, "by-dept").await;
    automate(
        db,
        by_dept,
        json!({"match": "all", "rules": [{"field": "dept", "op": "equals", "value": "sales"}]}),
    )
    .await
    .unwrap();
    assert_eq!(members(db, s.segment).await, ["ann"]);
    assert!(common::in_group(db, g, ids[0]).await);
    let txn = app::sync::begin(db).await.unwrap();
    let none = auto::the_date_turned(&txn).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!((none.added, none.removed), (0, 0), "nothing turned yet");

    let ann = ids[0];
    db.execute_unprepared(&format!(
        "UPDATE user_profile_values SET value = '2001-01-01', folded = '2001-01-01' \
         WHERE field_id = {} AND user_id = {ann}",
        s.start
    ))
    .await
    .unwrap();
    db.execute_unprepared(&format!(
        "DELETE FROM segment_members WHERE segment_id = {by_dept}"
    ))
    .await
    .unwrap();
    let txn = app::sync::begin(db).await.unwrap();
    let turned = auto::the_date_turned(&txn).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!((turned.added, turned.removed), (0, 1));
    assert_eq!(turned.drift.group_memberships_removed, 1);
    assert!(members(db, s.segment).await.is_empty());
    assert!(!common::in_group(db, g, ann).await);
    assert!(
        members(db, by_dept).await.is_empty(),
        "rules that do not read the calendar wait for a change or `server sync`"
    );
}

/// Rules on the user's own columns fold case in Unicode on both databases (SQLite's LOWER and
/// LIKE fold ASCII only, so there they match through REGEXP): "Émile" is matched by its own
/// spelling, by any case of it and by parts of it, and a regex character in a value is literal.
#[tokio::test]
async fn user_column_rules_fold_non_ascii_case_on_both_databases() {
    let t = common::fresh_db().await;
    let db = &t.db;
    let seg = common::segment(db, "names").await;
    for (name, first, last) in [
        ("emile", "Émile", "Zola"),
        ("eve", "émilie", "Ørsted"),
        ("bob", "Bob", "A.B"),
    ] {
        user::Entity::insert(user::ActiveModel::new_user(
            name,
            first,
            last,
            "x@example.com",
            chrono::Utc::now(),
        ))
        .exec(db)
        .await
        .unwrap();
    }
    let cases: Vec<(serde_json::Value, &[&str])> = vec![
        (
            json!({"field": "firstname", "op": "equals", "value": "Émile"}),
            &["emile"],
        ),
        (
            json!({"field": "firstname", "op": "equals", "value": "ÉMILE"}),
            &["emile"],
        ),
        (
            json!({"field": "firstname", "op": "not_equals", "value": "émile"}),
            &["bob", "eve"],
        ),
        (
            json!({"field": "firstname", "op": "starts_with", "value": "ÉMIL"}),
            &["emile", "eve"],
        ),
        (
            json!({"field": "firstname", "op": "contains", "value": "MIL"}),
            &["emile", "eve"],
        ),
        (
            json!({"field": "firstname", "op": "not_contains", "value": "mil"}),
            &["bob"],
        ),
        (
            json!({"field": "lastname", "op": "equals", "value": "ørsted"}),
            &["eve"],
        ),
        (
            json!({"field": "lastname", "op": "ends_with", "value": "STED"}),
            &["eve"],
        ),
        (
            json!({"field": "lastname", "op": "contains", "value": "."}),
            &["bob"],
        ),
        (
            json!({"field": "lastname", "op": "equals", "value": "a?b"}),
            &[],
        ),
    ];
    for (rule, want) in cases {
        automate(db, seg, json!({"match": "all", "rules": [rule.clone()]}))
            .await
            .unwrap();
        assert_eq!(members(db, seg).await, want, "{rule}");
    }
}
