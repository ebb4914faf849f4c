//! The bulk imports of SPEC 7 through the engine's commit (`imports::service::run`, the path of
//! the pages and the CLI): each kind's counts, that a dry run reports what the commit then does
//! (effects included), that a second commit changes nothing, exact undo, nothing written on a
//! file error, and the hostile corpus through every kind. SQLite by default;
//! `TEST_DATABASE_URL=postgres://…` for PostgreSQL.
use crate::common;
use app::entities::{course_group, enrolment, group_member, segment, upload_batch};
use app::imports::service::{run, RunMode};
use app::imports::{ImportKind, ImportMode, ImportOptions, ImportResult, NotEnrolled};
use app::upload::service::UploadError;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

async fn import(
    db: &DatabaseConnection,
    options: ImportOptions,
    text: &str,
    mode: RunMode,
) -> ImportResult {
    match run(db, text.as_bytes(), "import.csv", options, None, mode).await {
        Ok(r) => r,
        Err(e) => panic!("import failed: {e}"),
    }
}

fn opts(kind: ImportKind) -> ImportOptions {
    ImportOptions::new(kind)
}

/// (segments, groups, group members, enrolments, batches): every table an import writes.
async fn counts(db: &DatabaseConnection) -> [u64; 5] {
    [
        segment::Entity::find().count(db).await.unwrap(),
        course_group::Entity::find().count(db).await.unwrap(),
        group_member::Entity::find().count(db).await.unwrap(),
        enrolment::Entity::find().count(db).await.unwrap(),
        upload_batch::Entity::find().count(db).await.unwrap(),
    ]
}

async fn undo(db: &DatabaseConnection, batch: i32) -> u64 {
    use sea_orm::TransactionTrait;
    let txn = db.begin().await.unwrap();
    let n = app::upload::service::undo(&txn, batch, None).await.unwrap();
    txn.commit().await.unwrap();
    n
}

#[tokio::test]
async fn segments_are_created_updated_and_undo_restores_them() {
    let t = common::fresh_db().await;
    let db = &t.db;
    let old = common::segment(db, "sales").await;
    let file = "idnumber,name,description,visible\nsales,Sales team,Everyone,0\nhr,HR,,\nhr,HR again,,\n,Nameless,,\n";
    let r = import(db, opts(ImportKind::Segments), file, RunMode::Commit).await;
    assert_eq!(r.summary.get("segments_created"), 1);
    assert_eq!(r.summary.rows_with_errors, 3, "{:?}", r.rows);
    let codes: Vec<_> = r
        .rows
        .iter()
        .map(|x| x.outcomes.first().map(|o| o.code.as_str()))
        .collect();
    assert_eq!(
        codes,
        vec![
            Some("segment_exists"),
            None,
            Some("duplicate_idnumber"),
            Some("missing_idnumber")
        ]
    );

    let mut update = opts(ImportKind::Segments);
    update.mode = ImportMode::CreateAndUpdate;
    let dry = import(db, update, file, RunMode::DryRun).await;
    let done = import(db, update, file, RunMode::Commit).await;
    assert_eq!(dry.summary, done.summary);
    assert_eq!(done.summary.get("segments_updated"), 1);
    assert_eq!(done.summary.get("segments_created"), 0);
    let s = segment::Entity::find_by_id(old)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (s.name.as_str(), s.description.as_str(), s.visible),
        ("Sales team", "Everyone", false)
    );
    // Second commit changes nothing.
    let again = import(db, update, file, RunMode::Commit).await;
    assert_eq!(again.summary.get("segments_updated"), 0);
    assert_eq!(again.rows[0].outcomes[0].code.as_str(), "unchanged");

    // Undo the update: the fields come back; undo the create: the segment goes.
    assert_eq!(undo(db, done.batch_id.unwrap()).await, 1);
    let s = segment::Entity::find_by_id(old)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((s.name.as_str(), s.visible), ("sales", true));
    assert_eq!(undo(db, r.batch_id.unwrap()).await, 1);
    let left: Vec<String> = segment::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id_number)
        .collect();
    assert_eq!(left, vec!["sales"]);
}

#[tokio::test]
async fn groups_are_created_and_a_taken_id_number_is_a_row_error() {
    let t = common::fresh_db().await;
    let db = &t.db;
    let math = app::courses::service::create_course(db, "MATH", "Maths")
        .await
        .unwrap();
    let a = app::courses::service::create_group(db, math, "A")
        .await
        .unwrap();
    course_group::Entity::update_many()
        .col_expr(
            course_group::Column::IdNumber,
            sea_orm::sea_query::Expr::value("m-a"),
        )
        .filter(course_group::Column::Id.eq(a))
        .exec(db)
        .await
        .unwrap();
    let file = "course,groupname,groupidnumber,description\nMATH,B,m-b,Morning\nMATH,C,m-a,\nNOPE,D,,\nMATH,A,,\n";
    let dry = import(db, opts(ImportKind::Groups), file, RunMode::DryRun).await;
    let r = import(db, opts(ImportKind::Groups), file, RunMode::Commit).await;
    assert_eq!(dry.summary, r.summary);
    assert_eq!(r.summary.get("groups_created"), 1);
    let codes: Vec<_> = r
        .rows
        .iter()
        .map(|x| x.outcomes.first().map(|o| o.code.as_str()))
        .collect();
    assert_eq!(
        codes,
        vec![
            None,
            Some("groupidnumber_taken"),
            Some("unknown_course"),
            Some("group_exists")
        ]
    );
    let b = course_group::Entity::find()
        .filter(course_group::Column::Name.eq("B"))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (b.id_number.as_deref(), b.description.as_str()),
        (Some("m-b"), "Morning")
    );
    let again = import(db, opts(ImportKind::Groups), file, RunMode::Commit).await;
    assert_eq!(again.summary.get("groups_created"), 0);
    assert_eq!(counts(db).await[1], 2);
    let impact = app::imports::service::undo_impact(db, r.batch_id.unwrap())
        .await
        .unwrap();
    assert_eq!(impact.deletes, 1);
    assert_eq!(undo(db, r.batch_id.unwrap()).await, 1);
    assert_eq!(counts(db).await[1], 1);
}

/// Undo restores a field only while it still holds what its batch wrote: a field changed since
/// (by hand or by a later import) keeps its newer value, newest-first undo walks every change
/// back, and an ID number another group has taken since refuses the undo, which then changes
/// nothing.
#[tokio::test]
async fn undo_restores_only_the_fields_its_batch_still_holds() {
    use sea_orm::sea_query::Expr;
    let t = common::fresh_db().await;
    let db = &t.db;
    let sales = common::segment(db, "sales").await;
    let mut update = opts(ImportKind::Segments);
    update.mode = ImportMode::CreateAndUpdate;
    let name = || async {
        let s = segment::Entity::find_by_id(sales)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        (s.name, s.description)
    };
    let a = import(
        db,
        update,
        "idnumber,name,description\nsales,One,A's\n",
        RunMode::Commit,
    )
    .await;
    let b = import(db, update, "idnumber,name\nsales,Two\n", RunMode::Commit).await;
    // Newest first: each undo restores what its batch found.
    assert_eq!(undo(db, b.batch_id.unwrap()).await, 1);
    assert_eq!(name().await, ("One".into(), "A's".into()));
    assert_eq!(undo(db, a.batch_id.unwrap()).await, 1);
    assert_eq!(name().await, ("sales".into(), "".into()));
    // A rename by hand after the import stays; the description it did not touch comes back.
    let c = import(
        db,
        update,
        "idnumber,name,description\nsales,Three,C's\n",
        RunMode::Commit,
    )
    .await;
    segment::Entity::update_many()
        .col_expr(segment::Column::Name, Expr::value("By hand"))
        .filter(segment::Column::Id.eq(sales))
        .exec(db)
        .await
        .unwrap();
    assert_eq!(undo(db, c.batch_id.unwrap()).await, 1);
    assert_eq!(name().await, ("By hand".into(), "".into()));

    // Group G1's ID number x -> y by one import, then a new group takes x: undoing the first
    // would give G1 a taken ID number, so it is refused and nothing is undone.
    let math = app::courses::service::create_course(db, "MATH", "Maths")
        .await
        .unwrap();
    let g1 = app::courses::service::create_group(db, math, "G1")
        .await
        .unwrap();
    course_group::Entity::update_many()
        .col_expr(course_group::Column::IdNumber, Expr::value("x"))
        .filter(course_group::Column::Id.eq(g1))
        .exec(db)
        .await
        .unwrap();
    let mut groups = opts(ImportKind::Groups);
    groups.mode = ImportMode::CreateAndUpdate;
    let moved = import(
        db,
        groups,
        "course,groupname,groupidnumber\nMATH,G1,y\n",
        RunMode::Commit,
    )
    .await;
    let took = import(
        db,
        groups,
        "course,groupname,groupidnumber\nMATH,G2,x\n",
        RunMode::Commit,
    )
    .await;
    assert_eq!(took.summary.get("groups_created"), 1, "{:?}", took.rows);
    let txn = sea_orm::TransactionTrait::begin(db).await.unwrap();
    let err = app::upload::service::undo(&txn, moved.batch_id.unwrap(), None)
        .await
        .unwrap_err();
    drop(txn);
    assert!(err.to_string().contains("G2"), "{err}");
    let id_number = |id| async move {
        course_group::Entity::find_by_id(id)
            .one(db)
            .await
            .unwrap()
            .unwrap()
            .id_number
    };
    assert_eq!(id_number(g1).await.as_deref(), Some("y"));
    let batch = upload_batch::Entity::find_by_id(moved.batch_id.unwrap())
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        batch.undone_at.is_none(),
        "the refused undo left the batch undoable"
    );
    // Undoing the newer import first frees x; then the first undo goes through.
    assert_eq!(undo(db, took.batch_id.unwrap()).await, 1);
    assert_eq!(undo(db, moved.batch_id.unwrap()).await, 1);
    assert_eq!(id_number(g1).await.as_deref(), Some("x"));
}

/// A course whose group G is filled from segment S ("User segment members to group"), and
/// users ann (in S) and bob (not in S), neither enrolled.
async fn synced_course(db: &DatabaseConnection) -> (i32, i32, Vec<i32>) {
    let users = common::users(db, &["ann", "bob"]).await;
    let s = common::segment(db, "s").await;
    app::segments::service::Mutation::add_members(db, s, &users[..1])
        .await
        .unwrap();
    let course = app::courses::service::create_course(db, "MATH", "Maths")
        .await
        .unwrap();
    let g = app::courses::service::create_group(db, course, "G")
        .await
        .unwrap();
    app::courses::service::add_segment_to_group(db, course, s, g)
        .await
        .unwrap();
    (course, g, users)
}

#[tokio::test]
async fn bulk_enrolment_makes_exactly_the_group_memberships_its_preview_showed() {
    let t = common::fresh_db().await;
    let db = &t.db;
    let (_, g, users) = synced_course(db).await;
    let file = "username,course1,status1\nann,MATH,\nbob,MATH,suspended\nann,MATH,\nzed,MATH,\n";
    let dry = import(db, opts(ImportKind::Enrolments), file, RunMode::DryRun).await;
    assert_eq!(counts(db).await[3], 0, "a dry run writes nothing");
    let r = import(db, opts(ImportKind::Enrolments), file, RunMode::Commit).await;
    assert_eq!(dry.summary, r.summary);
    assert_eq!(dry.effects, r.effects);
    assert_eq!(r.summary.get("enrolments_added"), 2);
    assert_eq!(r.summary.get("duplicate_pairs"), 1);
    assert_eq!(r.summary.rows_with_errors, 1);
    // ann is in S and now enrolled: the article's trigger puts her in G, in the same commit.
    assert_eq!(r.summary.get("group_memberships_added"), 1);
    assert!(common::in_group(db, g, users[0]).await);
    assert!(!common::in_group(db, g, users[1]).await);
    common::assert_consistent(db).await;
    let again = import(db, opts(ImportKind::Enrolments), file, RunMode::Commit).await;
    assert_eq!(again.summary.get("enrolments_added"), 0);
    assert_eq!(
        again.summary.get("already_enrolled"),
        3,
        "an existing enrolment wins over the duplicate"
    );
    // Undo takes the enrolments back, and with them the group membership they caused.
    assert_eq!(undo(db, r.batch_id.unwrap()).await, 2);
    assert!(!common::in_group(db, g, users[0]).await);
    assert_eq!(counts(db).await[3], 0);
    common::assert_consistent(db).await;
}

/// The preview counts a bulk enrolment's group memberships without writing; this checks the count
/// against the commit where it is easiest to get wrong: a member of S already active in MATH but
/// missing from G (drift, as if a row had been lost) is added by the commit's pass when the file
/// names her, in any course, and not otherwise; members the file enrols are added once.
#[tokio::test]
async fn enrolment_effects_counted_without_writing_match_the_commit_with_drift() {
    let t = common::fresh_db().await;
    let db = &t.db;
    let (math, g, _) = synced_course(db).await;
    app::courses::service::create_course(db, "ART", "Art")
        .await
        .unwrap();
    let more = common::users(db, &["dan", "eve", "fay", "gil"]).await;
    let s = segment::Entity::find().one(db).await.unwrap().unwrap().id;
    app::segments::service::Mutation::add_members(db, s, &more)
        .await
        .unwrap();
    // dan and fay: members, enrolled in MATH, then taken out of G behind the sync's back.
    app::courses::service::enrol(db, math, &[more[0], more[2]])
        .await
        .unwrap();
    assert!(common::in_group(db, g, more[0]).await);
    group_member::Entity::delete_many()
        .filter(group_member::Column::UserId.is_in([more[0], more[2]]))
        .exec(db)
        .await
        .unwrap();
    // dan is named (in ART), fay is not; eve joins MATH (active), gil joins MATH suspended.
    let file = "username,course1,status1\ndan,ART,\neve,MATH,\ngil,MATH,suspended\n";
    let dry = import(db, opts(ImportKind::Enrolments), file, RunMode::DryRun).await;
    let done = import(db, opts(ImportKind::Enrolments), file, RunMode::Commit).await;
    assert_eq!(dry.effects, done.effects);
    assert_eq!(done.effects.group_memberships, 2, "eve, and dan's repair");
    assert!(common::in_group(db, g, more[0]).await);
    assert!(common::in_group(db, g, more[1]).await);
    assert!(
        !common::in_group(db, g, more[2]).await,
        "fay was not in the change"
    );
    assert!(!common::in_group(db, g, more[3]).await, "gil is suspended");
}

#[tokio::test]
async fn group_members_need_an_enrolment_or_the_enrol_option() {
    let t = common::fresh_db().await;
    let db = &t.db;
    let (course, g, users) = synced_course(db).await;
    let h = app::courses::service::create_group(db, course, "H")
        .await
        .unwrap();
    let file = "username,course,group1,group2\nbob,MATH,H,\nann,MATH,H,Nope\n";
    let r = import(db, opts(ImportKind::GroupMembers), file, RunMode::Commit).await;
    let codes: Vec<Vec<_>> = r
        .rows
        .iter()
        .map(|x| x.outcomes.iter().map(|o| o.code.as_str()).collect())
        .collect();
    assert_eq!(
        codes,
        vec![vec!["not_enrolled"], vec!["unknown_group", "not_enrolled"]]
    );
    assert_eq!(counts(db).await[2], 0);

    let mut enrol = opts(ImportKind::GroupMembers);
    enrol.not_enrolled = NotEnrolled::Enrol;
    let file = "username,course,group1\nbob,MATH,H\nann,MATH,H\nann,MATH,H\n";
    let dry = import(db, enrol, file, RunMode::DryRun).await;
    let r = import(db, enrol, file, RunMode::Commit).await;
    assert_eq!(dry.summary, r.summary);
    assert_eq!(dry.effects, r.effects);
    assert_eq!(r.summary.get("enrolments_added"), 2);
    assert_eq!(r.summary.get("group_memberships_added"), 2);
    assert_eq!(r.summary.get("duplicate_pairs"), 1);
    // Enrolling ann (a member of S) also put her in G through the method: an effect.
    assert_eq!(r.effects.group_memberships, 1);
    assert!(common::in_group(db, h, users[1]).await && common::in_group(db, g, users[0]).await);
    common::assert_consistent(db).await;
    let again = import(db, enrol, file, RunMode::Commit).await;
    assert_eq!(again.summary.get("group_memberships_added"), 0);
    assert_eq!(again.summary.get("already_in_group"), 3);
    undo(db, r.batch_id.unwrap()).await;
    assert!(!common::in_group(db, h, users[1]).await && !common::in_group(db, g, users[0]).await);
    common::assert_consistent(db).await;
}

#[tokio::test]
async fn a_file_error_writes_nothing_for_any_kind() {
    let t = common::fresh_db().await;
    let db = &t.db;
    synced_course(db).await;
    let before = counts(db).await;
    for kind in [
        ImportKind::Segments,
        ImportKind::Groups,
        ImportKind::GroupMembers,
        ImportKind::Enrolments,
    ] {
        for bad in [
            "username,cohort1\nann,s\n",
            "",
            "idnumber,name\n\"x,1\n",
            "a,b\0\n",
        ] {
            let res = run(
                db,
                bad.as_bytes(),
                "bad.csv",
                opts(kind),
                None,
                RunMode::Commit,
            )
            .await;
            assert!(matches!(res, Err(UploadError::File(_))), "{kind:?} {bad:?}");
        }
    }
    assert_eq!(counts(db).await, before);
}

/// The hostile corpus through every kind: as it is (a file error: its header is the membership
/// upload's), and with each kind's own header put first so its rows reach the row rules.
#[tokio::test]
async fn the_hostile_corpus_through_every_kind_panics_nowhere_and_writes_nothing() {
    let t = common::fresh_db().await;
    let db = &t.db;
    synced_course(db).await;
    let before = counts(db).await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/tests/hostile");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("csv") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        files += 1;
        for kind in [
            ImportKind::Segments,
            ImportKind::Groups,
            ImportKind::GroupMembers,
            ImportKind::Enrolments,
        ] {
            let res = run(db, &bytes, "h.csv", opts(kind), None, RunMode::Commit).await;
            if let Ok(r) = &res {
                assert_eq!(r.summary.rows_ok, 0, "{path:?} {kind:?}");
            }
            let header = kind.template().lines().next().unwrap();
            let body = bytes.splitn(2, |b| *b == b'\n').nth(1).unwrap_or_default();
            let mut swapped = format!("{header}\n").into_bytes();
            swapped.extend_from_slice(body);
            let _ = run(db, &swapped, "h.csv", opts(kind), None, RunMode::DryRun).await;
        }
    }
    assert!(files >= 40, "corpus files: {files}");
    let after = counts(db).await;
    // Row-error-only commits record their batch; nothing else may change.
    assert_eq!(after[..4], before[..4]);
}

/// SPEC 7's engine property: whatever the file, the preview's summary equals the committed one
/// when the database did not change in between. Files are drawn from a small vocabulary so
/// duplicates, unknowns and conflicts are frequent.
#[tokio::test]
async fn dry_run_equals_commit_for_random_files_of_every_kind() {
    use rand::{rngs::StdRng, Rng, SeedableRng};
    let t = common::fresh_db().await;
    let db = &t.db;
    synced_course(db).await;
    common::users(db, &["cy", "di"]).await;
    app::courses::service::create_course(db, "ART", "Art")
        .await
        .unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let pick = |rng: &mut StdRng, xs: &[&'static str]| xs[rng.gen_range(0..xs.len())];
    for round in 0..24 {
        let kind = [
            ImportKind::Segments,
            ImportKind::Groups,
            ImportKind::GroupMembers,
            ImportKind::Enrolments,
        ][round % 4];
        let mut options = opts(kind);
        if rng.gen_bool(0.5) {
            options.mode = ImportMode::CreateAndUpdate;
            options.not_enrolled = NotEnrolled::Enrol;
        }
        let mut file = kind.template().lines().next().unwrap().to_string() + "\n";
        for _ in 0..rng.gen_range(1..12) {
            let u = pick(&mut rng, &["ann", "bob", "cy", "di", "zed", "", "B@d"]);
            let c = pick(&mut rng, &["MATH", "ART", "NOPE", ""]);
            let g = pick(&mut rng, &["G", "H", "A", ""]);
            let row = match kind {
                ImportKind::Segments => format!(
                    "{},{},{},{}",
                    pick(&mut rng, &["s", "t", "u", ""]),
                    pick(&mut rng, &["S", "T", ""]),
                    pick(&mut rng, &["", "d"]),
                    pick(&mut rng, &["", "1", "0", "x"])
                ),
                ImportKind::Groups => format!(
                    "{c},{g},{},{}",
                    pick(&mut rng, &["", "i1", "i2"]),
                    pick(&mut rng, &["", "d"])
                ),
                ImportKind::GroupMembers => format!("{u},{c},{g},"),
                ImportKind::Enrolments => format!(
                    "{u},{c},{},{}",
                    pick(&mut rng, &["", "active", "suspended", "x"]),
                    pick(&mut rng, &["MATH", "ART", ""])
                ),
            };
            file += &row;
            file += "\n";
        }
        let dry = import(db, options, &file, RunMode::DryRun).await;
        let done = import(db, options, &file, RunMode::Commit).await;
        assert_eq!(dry.summary, done.summary, "round {round} {kind:?}\n{file}");
        assert_eq!(dry.effects, done.effects, "round {round} {kind:?}\n{file}");
        assert_eq!(dry.rows, done.rows, "round {round} {kind:?}\n{file}");
        common::assert_consistent(db).await;
        // A second commit of the same file adds nothing.
        let again = import(db, options, &file, RunMode::Commit).await;
        for key in [
            "segments_created",
            "groups_created",
            "group_memberships_added",
            "enrolments_added",
        ] {
            assert_eq!(again.summary.get(key), 0, "round {round} {key}\n{file}");
        }
    }
}

#[tokio::test]
async fn the_cli_imports_with_json_dry_run_and_exit_codes() {
    let t = common::fresh_db().await;
    synced_course(&t.db).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("enrol.csv");
    std::fs::write(&file, "username,course1\nann,MATH\nghost,MATH\n").unwrap();
    let server = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_server"))
            .args(args)
            .env("DATABASE_URL", &t.url)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let f = file.to_str().unwrap();
    let dry = server(&["import", "enrolments", f, "--dry-run", "--json"]);
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let dry: serde_json::Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert_eq!(dry["summary"]["enrolments_added"], 1);
    assert_eq!(dry["summary"]["group_memberships_added"], 1);
    assert_eq!(dry["rows"][1]["outcomes"][0]["code"], "unknown_user");
    assert_eq!(dry["rows"][1]["outcomes"][0]["level"], "error");
    assert_eq!(dry["rows"][1]["line"], 3);
    assert_eq!(
        dry["rows"][1]["username"], "ghost",
        "upload-users' row shape"
    );
    // A report that cannot be written is refused before anything is committed.
    let nowhere = dir.path().join("no such dir").join("r.csv");
    let refused = server(&[
        "import",
        "enrolments",
        f,
        "--report",
        nowhere.to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--report"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(
        enrolment::Entity::find()
            .filter(enrolment::Column::BatchId.is_not_null())
            .count(&t.db)
            .await
            .unwrap(),
        0,
        "nothing committed"
    );
    let report = dir.path().join("r.csv");
    let done = server(&[
        "import",
        "enrolments",
        f,
        "--json",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert!(done.status.success());
    let done: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(done["summary"], dry["summary"]);
    assert!(std::fs::read_to_string(&report)
        .unwrap()
        .contains("unknown_user"));
    std::fs::write(&file, "idnumber,name\nhr,HR\n").unwrap();
    let segments = server(&["import", "segments", f, "--json"]);
    let segments: serde_json::Value = serde_json::from_slice(&segments.stdout).unwrap();
    assert!(segments["rows"][0].as_object().unwrap()["username"].is_null());
    assert_eq!(segments["rows"][0]["key"], "hr");
    std::fs::write(&file, "username,cohort1\nann,s\n").unwrap();
    // A command that fails leaves an earlier report as it was.
    let bad = server(&[
        "import",
        "group-members",
        f,
        "--json",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(4));
    assert!(std::fs::read_to_string(&report)
        .unwrap()
        .contains("unknown_user"));
    let bad: serde_json::Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!(bad["error"]["kind"], "file");
}

#[tokio::test]
async fn import_server_functions_refuse_anonymous_callers() {
    let app = common::spawn_app().await;
    let res = common::client()
        .post(format!("{}/api/import_look_up", app.addr))
        .json(&serde_json::json!({"questions": {"usernames": [], "courses": [], "segments": [], "course_ids": []}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}
