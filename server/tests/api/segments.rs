//! Segment and user services on a fresh database per test (SQLite, or PostgreSQL with
//! TEST_DATABASE_URL).
use crate::common::fresh_db;
use app::domain::SegmentDraft;
use app::error::AppError;
use app::segments::service::{AddMemberOutcome, Mutation, Query};
use chrono_free::*;
use sea_orm::{ActiveValue::Set, EntityTrait, PaginatorTrait};

mod chrono_free {
    /// Inserts plain users without going through the admin path.
    pub async fn users(db: &sea_orm::DatabaseConnection, names: &[&str]) -> Vec<i32> {
        use app::entities::user;
        use sea_orm::{ActiveValue::Set, EntityTrait};
        let now = sea_orm::prelude::DateTimeUtc::default();
        let mut ids = Vec::new();
        for n in names {
            let res = user::Entity::insert(user::ActiveModel {
                username: Set(n.to_string()),
                firstname: Set(format!("First {n}")),
                lastname: Set("Last".into()),
                email: Set(format!("{n}@example.com")),
                suspended: Set(false),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
            .exec(db)
            .await
            .unwrap();
            ids.push(res.last_insert_id);
        }
        ids
    }
}

fn draft(idn: &str, name: &str) -> SegmentDraft {
    SegmentDraft::parse(idn, name, "", true).unwrap()
}

#[tokio::test]
async fn id_numbers_are_unique_exact_and_never_internal_keys() {
    let t = fresh_db().await;
    let a = Mutation::create(&t.db, &draft("007", "Bond"))
        .await
        .unwrap();
    let b = Mutation::create(&t.db, &draft("7", "Seven")).await.unwrap();
    let c = Mutation::create(&t.db, &draft("Sales", "Sales"))
        .await
        .unwrap();
    let d = Mutation::create(&t.db, &draft("sales", "sales lower"))
        .await
        .unwrap();
    assert_eq!(
        [a, b, c, d]
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len(),
        4
    );
    let dup = Mutation::create(&t.db, &draft("007", "Other"))
        .await
        .unwrap_err();
    assert_eq!(
        dup,
        AppError::Conflict("A segment with ID number \"007\" already exists.".into())
    );
    // Renaming onto a taken ID number is a conflict too, and leaves the row unchanged.
    let clash = Mutation::update(&t.db, b, &draft("007", "Seven"))
        .await
        .unwrap_err();
    assert!(matches!(clash, AppError::Conflict(_)));
    assert_eq!(Query::get(&t.db, b).await.unwrap().id_number, "7");
    Mutation::update(
        &t.db,
        b,
        &SegmentDraft::parse("0007", "Seven renamed", "desc", false).unwrap(),
    )
    .await
    .unwrap();
    let got = Query::get(&t.db, b).await.unwrap();
    assert_eq!(
        (got.id_number.as_str(), got.name.as_str(), got.visible),
        ("0007", "Seven renamed", false)
    );
}

#[tokio::test]
async fn list_searches_case_insensitively_and_pages_with_counts() {
    let t = fresh_db().await;
    for i in 0..30 {
        Mutation::create(
            &t.db,
            &draft(&format!("dept-{i:02}"), &format!("Department {i:02}")),
        )
        .await
        .unwrap();
    }
    Mutation::create(&t.db, &draft("pct", "100% Club"))
        .await
        .unwrap();
    let ids = users(&t.db, &["ann", "bob"]).await;
    let first = Query::list(&t.db, "", 1, 25).await.unwrap();
    assert_eq!(
        (first.total, first.items.len(), first.page_count()),
        (31, 25, 2)
    );
    let second = Query::list(&t.db, "", 2, 25).await.unwrap();
    assert_eq!(second.items.len(), 6);

    let dept = Query::list(&t.db, "DEPARTMENT 1", 1, 25).await.unwrap();
    assert_eq!(dept.total, 10);
    // '%' is taken literally, not as a wildcard.
    let pct = Query::list(&t.db, "0%", 1, 25).await.unwrap();
    assert_eq!(
        pct.items
            .iter()
            .map(|s| s.id_number.as_str())
            .collect::<Vec<_>>(),
        vec!["pct"]
    );
    let by_id = Query::list(&t.db, "DEPT-0", 1, 25).await.unwrap();
    assert_eq!(by_id.total, 10);

    assert_eq!(first.items[0].name, "100% Club", "ordered by name");
    let seg = Query::list(&t.db, "Department 00", 1, 25)
        .await
        .unwrap()
        .items[0]
        .id;
    assert_eq!(Mutation::add_members(&t.db, seg, &ids).await.unwrap(), 2);
    let listed = Query::list(&t.db, "Department 00", 1, 25).await.unwrap();
    assert_eq!((listed.total, listed.items[0].members), (1, 2));
}

#[tokio::test]
async fn members_are_added_once_removed_exactly_and_cascade_on_delete() {
    let t = fresh_db().await;
    let seg = Mutation::create(&t.db, &draft("s1", "One")).await.unwrap();
    let other = Mutation::create(&t.db, &draft("s2", "Two")).await.unwrap();
    let ids = users(&t.db, &["ann", "bob", "cat"]).await;

    assert_eq!(
        Mutation::add_members(&t.db, seg, &ids[..2]).await.unwrap(),
        2
    );
    assert_eq!(
        Mutation::add_members(&t.db, seg, &ids).await.unwrap(),
        1,
        "only cat is new"
    );
    assert_eq!(
        Mutation::add_members(&t.db, other, &ids[..1])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        Mutation::add_member_by_username(&t.db, seg, " ANN ")
            .await
            .unwrap(),
        AddMemberOutcome::AlreadyMember
    );
    assert!(matches!(
        Mutation::add_member_by_username(&t.db, seg, "zed").await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        Mutation::add_member_by_username(&t.db, seg, "not valid!").await,
        Err(AppError::Invalid(_))
    ));

    let members = Query::members(&t.db, seg, "", 1, 2).await.unwrap();
    assert_eq!(
        (members.total, members.items[0].username.as_str()),
        (3, "ann")
    );
    assert_eq!(
        Query::members(&t.db, seg, "BO", 1, 25).await.unwrap().total,
        1
    );

    assert_eq!(
        Mutation::remove_members(&t.db, seg, &[ids[1]])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        Mutation::remove_members(&t.db, seg, &[ids[1]])
            .await
            .unwrap(),
        0
    );
    assert_eq!(Query::get(&t.db, seg).await.unwrap().members, 2);

    Mutation::delete(&t.db, seg).await.unwrap();
    assert!(matches!(
        Mutation::delete(&t.db, seg).await,
        Err(AppError::NotFound(_))
    ));
    // Only the deleted segment's memberships went; the other segment and the users stay.
    assert_eq!(
        app::entities::segment_member::Entity::find()
            .count(&t.db)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        app::entities::user::Entity::find()
            .count(&t.db)
            .await
            .unwrap(),
        3
    );
}

#[tokio::test]
async fn add_members_handles_many_users_in_bounded_statements() {
    let t = fresh_db().await;
    let seg = Mutation::create(&t.db, &draft("big", "Big")).await.unwrap();
    let now = sea_orm::prelude::DateTimeUtc::default();
    let rows = (0..12_000).map(|i| app::entities::user::ActiveModel {
        username: Set(format!("u{i}")),
        firstname: Set(String::new()),
        lastname: Set(String::new()),
        email: Set(String::new()),
        suspended: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    });
    let rows: Vec<_> = rows.collect();
    for chunk in rows.chunks(2_000) {
        app::entities::user::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&t.db)
            .await
            .unwrap();
    }
    let ids: Vec<i32> = {
        use sea_orm::QuerySelect;
        app::entities::user::Entity::find()
            .select_only()
            .column(app::entities::user::Column::Id)
            .into_tuple()
            .all(&t.db)
            .await
            .unwrap()
    };
    assert_eq!(
        Mutation::add_members(&t.db, seg, &ids).await.unwrap(),
        12_000
    );
    assert_eq!(Mutation::add_members(&t.db, seg, &ids).await.unwrap(), 0);
    assert_eq!(
        Mutation::remove_members(&t.db, seg, &ids[..7_000])
            .await
            .unwrap(),
        7_000
    );
    assert_eq!(Query::get(&t.db, seg).await.unwrap().members, 5_000);
}

#[tokio::test]
async fn users_list_and_suggestions() {
    let t = fresh_db().await;
    let ids = users(&t.db, &["alice", "alan", "bob", "al_x", "alpha"]).await;
    let seg = Mutation::create(&t.db, &draft("s", "S")).await.unwrap();
    Mutation::add_members(&t.db, seg, &ids[..1]).await.unwrap();
    use app::users::service::Query as Users;
    assert_eq!(
        Users::suggest(&t.db, "AL", 3).await.unwrap(),
        vec!["al_x", "alan", "alice"]
    );
    // '_' is literal: "al_" must not match "ala…".
    assert_eq!(
        Users::suggest(&t.db, "al_", 10).await.unwrap(),
        vec!["al_x"]
    );
    assert!(Users::suggest(&t.db, "  ", 10).await.unwrap().is_empty());
    let page = Users::list(&t.db, "example.com", 1, 2).await.unwrap();
    assert_eq!((page.total, page.items.len()), (5, 2));
    let alice = Users::list(&t.db, "alice", 1, 10).await.unwrap();
    assert_eq!(alice.items[0].segments, 1);
}

#[tokio::test]
async fn demo_seed_is_idempotent() {
    let t = fresh_db().await;
    let first = app::demo::seed(&t.db).await.unwrap();
    assert_eq!(first.users, app::demo::DEMO_USERS as u64);
    assert_eq!(first.segments, app::demo::SEGMENTS.len() as u64);
    assert!(first.memberships > first.users);
    assert!(first.courses >= 5 && first.groups >= 10 && first.enrolments > 100);
    let second = app::demo::seed(&t.db).await.unwrap();
    assert_eq!(second, app::demo::SeedReport::default());
    assert_eq!(
        app::entities::segment_member::Entity::find()
            .count(&t.db)
            .await
            .unwrap(),
        first.memberships
    );
}

/// A second seed puts back a member removed since through the segment's own add, so the course
/// that segment syncs to follows (SPEC 5); it leaves an automated segment to its rules (SPEC 8).
#[tokio::test]
async fn demo_seed_runs_the_sync_and_leaves_automated_segments_alone() {
    use app::courses::service::{self as courses, SyncGroup};
    use app::entities::segment_member;
    use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
    let t = fresh_db().await;
    let db = &t.db;
    app::demo::seed(db).await.unwrap();
    let segments = Query::all(db).await.unwrap();
    let id = |idn: &str| segments.iter().find(|s| s.id_number == idn).unwrap().id;
    let (sales, managers) = (id("sales"), id("managers"));
    let course = courses::create_course(db, "synced", "Synced")
        .await
        .unwrap();
    let (instance, _) = courses::add_segment_sync(db, course, sales, SyncGroup::None, false)
        .await
        .unwrap();
    let member: i32 = segment_member::Entity::find()
        .select_only()
        .column(segment_member::Column::UserId)
        .filter(segment_member::Column::SegmentId.eq(sales))
        .into_tuple()
        .one(db)
        .await
        .unwrap()
        .unwrap();
    Mutation::remove_members(db, sales, &[member])
        .await
        .unwrap();
    assert_eq!(crate::common::status(db, instance, member).await, None);
    let nobody: app::automation::RuleSet = serde_json::from_value(serde_json::json!(
        {"match": "all", "rules": [{"field": "username", "op": "equals", "value": "nobody"}]}
    ))
    .unwrap();
    app::automation::service::set_rules(db, managers, Some(&nobody))
        .await
        .unwrap();

    let again = app::demo::seed(db).await.unwrap();
    assert_eq!(again.memberships, 1, "the removed member only");
    assert_eq!(
        crate::common::status(db, instance, member).await.as_deref(),
        Some("active")
    );
    let managers_left = segment_member::Entity::find()
        .filter(segment_member::Column::SegmentId.eq(managers))
        .count(db)
        .await
        .unwrap();
    assert_eq!(managers_left, 0, "the rules own the automated segment");
    crate::common::assert_consistent(db).await;
}

#[tokio::test]
async fn sessions_round_trip_expire_and_delete() {
    use tower_sessions::session::{Id, Record};
    use tower_sessions::session_store::{ExpiredDeletion, SessionStore};
    let t = fresh_db().await;
    let store = app::auth::session_store::DbSessionStore::new(t.db.clone());
    let mut data = std::collections::HashMap::new();
    data.insert("uid".to_string(), serde_json::json!(42));
    let mut live = Record {
        id: Id::default(),
        data: data.clone(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    store.create(&mut live).await.unwrap();
    let loaded = store.load(&live.id).await.unwrap().unwrap();
    assert_eq!(loaded.data, data);
    let mut dead = Record {
        id: Id::default(),
        data,
        expiry_date: time::OffsetDateTime::now_utc() - time::Duration::seconds(1),
    };
    store.create(&mut dead).await.unwrap();
    assert!(
        store.load(&dead.id).await.unwrap().is_none(),
        "expired sessions never load"
    );
    store.delete_expired().await.unwrap();
    assert_eq!(
        app::entities::session::Entity::find()
            .count(&t.db)
            .await
            .unwrap(),
        1
    );
    store.delete(&live.id).await.unwrap();
    assert!(store.load(&live.id).await.unwrap().is_none());
}
