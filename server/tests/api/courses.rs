//! Course pages' groups and participants (issue 9.8-9.10): what deleting a group does to the
//! enrolment methods that fill it, member counts that count people, and manual suspension
//! through the server functions, with its SPEC 5 effects.
use crate::common::*;
use app::courses::service as courses;
use app::courses::service::SyncGroup;
use app::courses::ManualStatus;
use app::segments::service::Mutation as Segments;

/// Issue 9.8: a "User segment members to group" method cannot run without its group, so it goes
/// with the group (memberships included); a "User segment sync" method keeps enrolling, with no
/// group. The page's confirm step says so with counts.
#[tokio::test]
async fn deleting_a_group_deletes_its_members_to_group_methods_and_ungroups_sync_methods() {
    let t = fresh_db().await;
    let db = &t.db;
    let [alice, bob, carol] = users(db, &["alice", "bob", "carol"]).await[..] else {
        panic!()
    };
    let c = courses::create_course(db, "c", "C").await.unwrap();
    let g = courses::create_group(db, c, "Team").await.unwrap();
    let other = courses::create_group(db, c, "Other").await.unwrap();
    let s = segment(db, "sales").await;
    let s2 = segment(db, "ops").await;
    Segments::add_members(db, s, &[alice]).await.unwrap();
    Segments::add_members(db, s2, &[bob]).await.unwrap();
    courses::enrol(db, c, &[alice]).await.unwrap();
    let (to_team, _) = courses::add_segment_to_group(db, c, s, g).await.unwrap();
    let (to_other, _) = courses::add_segment_to_group(db, c, s, other)
        .await
        .unwrap();
    let (sync_id, _) = courses::add_segment_sync(db, c, s2, SyncGroup::Existing(g), false)
        .await
        .unwrap();
    courses::add_group_member(db, g, carol).await.unwrap();

    let team = courses::groups(db, c)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.id == g)
        .unwrap();
    assert_eq!(
        (team.members_to_group_methods, team.sync_methods),
        (1, 1),
        "what the confirm step counts"
    );

    courses::delete_group(db, g).await.unwrap();
    let left = courses::instances(db, c).await.unwrap();
    assert!(
        left.iter().all(|i| i.id != to_team),
        "the members-to-group method that filled the group went with it: {left:?}"
    );
    assert!(left.iter().any(|i| i.id == to_other), "others stay");
    let sync_row = left.iter().find(|i| i.id == sync_id).expect("sync stays");
    assert_eq!(sync_row.group, None, "the sync method has no group now");
    assert!(in_group(db, other, alice).await);

    // The sync method keeps enrolling new segment members, into no group.
    let [dave] = users(db, &["dave"]).await[..] else {
        panic!()
    };
    Segments::add_members(db, s2, &[dave]).await.unwrap();
    assert_eq!(status(db, sync_id, dave).await.as_deref(), Some("active"));
    assert_consistent(db).await;
}

/// Issue 9.9: one person in a group by hand and through a method is one member, shown once with
/// both origins.
#[tokio::test]
async fn group_members_are_people_not_rows() {
    let t = fresh_db().await;
    let db = &t.db;
    let [alice, bob] = users(db, &["alice", "bob"]).await[..] else {
        panic!()
    };
    let c = courses::create_course(db, "c", "C").await.unwrap();
    let g = courses::create_group(db, c, "Team").await.unwrap();
    let s = segment(db, "sales").await;
    Segments::add_members(db, s, &[alice]).await.unwrap();
    courses::add_segment_sync(db, c, s, SyncGroup::Existing(g), false)
        .await
        .unwrap();
    courses::add_group_member(db, g, alice).await.unwrap();
    courses::add_group_member(db, g, bob).await.unwrap();

    let team = courses::groups(db, c).await.unwrap().remove(0);
    let names: Vec<&str> = team.members.iter().map(|m| m.username.as_str()).collect();
    assert_eq!(names, ["alice", "bob"], "{:?}", team.members);
    assert_eq!(
        team.members[0].origin,
        "Added by hand; User segment sync (sales)"
    );
    assert!(team.members[0].manual, "the hand-made row can be removed");
    assert!(courses::get_course(db, c).await.unwrap().groups == 1);
}

async fn signed_in() -> (TestApp, reqwest::Client) {
    let app = spawn_app().await;
    create_admin(&app.db).await;
    let web = client();
    assert!(sign_in(&web, &app, ADMIN, PASSWORD)
        .await
        .status()
        .is_success());
    (app, web)
}

async fn manual_status(db: &sea_orm::DatabaseConnection, c: i32) -> Vec<Option<ManualStatus>> {
    courses::participants(db, c, 1, 50)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|p| p.manual)
        .collect()
}

/// Issue 9.10: the participants table suspends and reactivates manual enrolments through server
/// functions; a suspended participant leaves method-made groups and returns when reactivated.
#[tokio::test]
async fn suspend_and_reactivate_through_the_server_functions() {
    let (app, web) = signed_in().await;
    let db = &app.db;
    let [alice] = users(db, &["alice"]).await[..] else {
        panic!()
    };
    let c = courses::create_course(db, "c", "C").await.unwrap();
    let g = courses::create_group(db, c, "Team").await.unwrap();
    let s = segment(db, "sales").await;
    courses::add_segment_to_group(db, c, s, g).await.unwrap();
    Segments::add_members(db, s, &[alice]).await.unwrap();
    courses::enrol(db, c, &[alice]).await.unwrap();
    assert!(in_group(db, g, alice).await);
    assert_eq!(manual_status(db, c).await, [Some(ManualStatus::Active)]);
    let form = [("course_id", c.to_string()), ("user_id", alice.to_string())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let res = call(&web, &app, "suspend_participant", &form).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert!(!in_group(db, g, alice).await, "suspended: not active");
    assert_eq!(manual_status(db, c).await, [Some(ManualStatus::Suspended)]);
    assert_consistent(db).await;

    let res = call(&web, &app, "reactivate_participant", &form).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert!(in_group(db, g, alice).await, "back in the group");
    assert_eq!(manual_status(db, c).await, [Some(ManualStatus::Active)]);
    assert_consistent(db).await;

    // Only a manual enrolment can be suspended by hand; the methods manage theirs.
    let [bob] = users(db, &["bob"]).await[..] else {
        panic!()
    };
    let (_, _) = courses::add_segment_sync(db, c, s, SyncGroup::None, false)
        .await
        .unwrap();
    Segments::add_members(db, s, &[bob]).await.unwrap();
    let form = [("course_id", c.to_string()), ("user_id", bob.to_string())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = call(&web, &app, "suspend_participant", &form).await;
    assert_eq!(res.status(), 404, "{}", res.text().await.unwrap());
}

/// The course list counts participants as people (one enrolled by hand and by a method counts
/// once) and groups as groups: the counts the query builder's sub-selects make.
#[tokio::test]
async fn the_course_list_counts_people_and_groups() {
    let t = fresh_db().await;
    let db = &t.db;
    let [alice, bob] = users(db, &["alice", "bob"]).await[..] else {
        panic!()
    };
    let s = segment(db, "sales").await;
    Segments::add_members(db, s, &[alice]).await.unwrap();
    let c = courses::create_course(db, "c1", "C1").await.unwrap();
    courses::create_course(db, "c2", "C2").await.unwrap();
    courses::create_group(db, c, "G1").await.unwrap();
    courses::create_group(db, c, "G2").await.unwrap();
    courses::enrol(db, c, &[alice, bob]).await.unwrap();
    courses::add_segment_sync(db, c, s, SyncGroup::None, false)
        .await
        .unwrap();
    let page = courses::list_courses(db, "", 1, 50).await.unwrap();
    let counts: Vec<(String, i64, i64)> = page
        .items
        .into_iter()
        .map(|r| (r.shortname, r.participants, r.groups))
        .collect();
    assert_eq!(counts, vec![("c1".into(), 2, 2), ("c2".into(), 0, 0)]);
}
