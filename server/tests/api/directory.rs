//! The directory of usernames the upload page's look-ups answer from (`users::service::Directory`):
//! its answers are the database's whatever happened to `users` since it was built.
use crate::common;
use app::db::ids_in_order;
use app::users::service::Directory;
use sea_orm::{ConnectionTrait, DatabaseConnection};

async fn truth(db: &DatabaseConnection, names: &[&str]) -> Vec<i32> {
    ids_in_order(db, "users", "username", names).await.unwrap()
}

#[tokio::test]
async fn a_deleted_or_renamed_user_is_not_answered_from_memory() {
    let t = common::fresh_db().await;
    let ids = common::users(&t.db, &["ann", "bob", "cy"]).await;
    let directory = Directory::new(t.db.clone());
    assert_eq!(directory.refresh().await.unwrap(), 3);
    assert_eq!(
        directory.ids(&["cy", "nobody", "ann"]).await.unwrap(),
        vec![ids[2], 0, ids[0]]
    );

    // Outside the app (the app never deletes or renames a user): the triggers of m0007 see it.
    t.db.execute_unprepared("DELETE FROM users WHERE username = 'bob'")
        .await
        .unwrap();
    assert_eq!(
        directory.ids(&["bob", "cy"]).await.unwrap(),
        vec![0, ids[2]]
    );
    directory.refresh().await.unwrap();
    assert_eq!(directory.ids(&["bob"]).await.unwrap(), vec![0]);

    t.db.execute_unprepared("UPDATE users SET username = 'ann2' WHERE username = 'ann'")
        .await
        .unwrap();
    assert_eq!(
        directory.ids(&["ann", "ann2"]).await.unwrap(),
        vec![0, ids[0]]
    );
    directory.refresh().await.unwrap();
    assert_eq!(
        directory.ids(&["ann", "ann2"]).await.unwrap(),
        vec![0, ids[0]]
    );

    if t.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        // TRUNCATE fires no delete trigger; its own statement trigger moves the epoch.
        t.db.execute_unprepared("TRUNCATE users CASCADE")
            .await
            .unwrap();
        assert_eq!(directory.ids(&["cy", "ann2"]).await.unwrap(), vec![0, 0]);
    }
}

#[tokio::test]
async fn users_made_after_the_build_are_found_and_then_held() {
    let t = common::fresh_db().await;
    common::seed_users(&t.db, 0..100).await;
    let directory = Directory::new(t.db.clone());
    // Not built yet: answered by the database.
    assert_eq!(
        directory.ids(&["u00007", "u00100"]).await.unwrap(),
        truth(&t.db, &["u00007", "u00100"]).await
    );
    assert_eq!(directory.refresh().await.unwrap(), 100);
    common::seed_users(&t.db, 100..150).await;
    let asked = ["u00149", "u00003", "u00150"];
    let expected = truth(&t.db, &asked).await;
    assert!(expected[0] != 0 && expected[1] != 0 && expected[2] == 0);
    assert_eq!(directory.ids(&asked).await.unwrap(), expected);
    // The users past the highest id held are added, not the whole directory read again.
    assert_eq!(directory.refresh().await.unwrap(), 150);
    assert_eq!(directory.footprint().0, 150);
    assert_eq!(directory.ids(&asked).await.unwrap(), expected);
}

#[tokio::test]
async fn a_commit_of_many_users_is_added_past_the_highest_id_held() {
    let t = common::fresh_db().await;
    common::seed_users(&t.db, 0..10).await;
    let directory = Directory::new(t.db.clone());
    assert_eq!(directory.refresh().await.unwrap(), 10);
    // More than are added in place under the lock: these go to a copy, then replace it.
    common::seed_users(&t.db, 10..2_510).await;
    assert_eq!(directory.refresh().await.unwrap(), 2_510);
    let asked = ["u02509", "u00000", "u01234", "u02510"];
    assert_eq!(
        directory.ids(&asked).await.unwrap(),
        truth(&t.db, &asked).await
    );
}

/// A database put back to an earlier state under a running server (a restore): the count of
/// deletes and renames reads as it did, but the highest id has fallen.
#[tokio::test]
async fn a_database_restored_under_it_is_not_answered_from_memory() {
    let t = common::fresh_db().await;
    let ids = common::users(&t.db, &["ann", "bob"]).await;
    let directory = Directory::new(t.db.clone());
    directory.refresh().await.unwrap();
    let epoch = "(SELECT epoch FROM username_epoch WHERE id = 1)";
    let before: i64 =
        t.db.query_one(sea_orm::Statement::from_string(
            t.db.get_database_backend(),
            format!("SELECT {epoch} AS epoch"),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "epoch")
        .unwrap();
    t.db.execute_unprepared(&format!(
        "DELETE FROM users WHERE id = {}; UPDATE username_epoch SET epoch = {before} WHERE id = 1",
        ids[1]
    ))
    .await
    .unwrap();
    assert_eq!(
        directory.ids(&["bob", "ann"]).await.unwrap(),
        vec![0, ids[0]]
    );
}

/// Random inserts, deletes, renames and refreshes (awaited, or left to the background ones the
/// look-ups start), each followed by a look-up of every name ever used and some never used: the
/// directory answers as the database does after every step.
#[tokio::test]
async fn the_directory_answers_as_the_database_does_through_random_changes() {
    use rand::{rngs::StdRng, Rng, SeedableRng};
    let t = common::fresh_db().await;
    let directory = Directory::new(t.db.clone());
    let mut rng = StdRng::seed_from_u64(7);
    let mut ever: Vec<String> = (0..5).map(|i| format!("never{i}")).collect();
    let mut next = 0;
    for step in 0..60 {
        match rng.gen_range(0..5) {
            0 | 1 => {
                let made: Vec<String> = (0..rng.gen_range(1..20))
                    .map(|_| {
                        next += 1;
                        format!("user{next}")
                    })
                    .collect();
                let names: Vec<&str> = made.iter().map(String::as_str).collect();
                common::users(&t.db, &names).await;
                ever.extend(made);
            }
            2 => {
                let victim = &ever[rng.gen_range(0..ever.len())];
                t.db.execute_unprepared(&format!("DELETE FROM users WHERE username = '{victim}'"))
                    .await
                    .unwrap();
            }
            3 => {
                let old = ever[rng.gen_range(0..ever.len())].clone();
                next += 1;
                let new = format!("renamed{next}");
                t.db.execute_unprepared(&format!(
                    "UPDATE users SET username = '{new}' WHERE username = '{old}'"
                ))
                .await
                .unwrap();
                ever.push(new);
            }
            _ => {
                directory.refresh().await.unwrap();
            }
        }
        let mut asked: Vec<&str> = ever.iter().map(String::as_str).collect();
        // Shuffled, so the answer's order is checked too.
        for i in (1..asked.len()).rev() {
            asked.swap(i, rng.gen_range(0..=i));
        }
        assert_eq!(
            directory.ids(&asked).await.unwrap(),
            truth(&t.db, &asked).await,
            "step {step}"
        );
    }
}
