//! The sync effects (SPEC 5) a commit would cause, worked out before it: applied in a
//! transaction that is rolled back. The page, the load tool and the CLI's dry run ask the same way.
use super::{CHUNK, LOOKUP_CHUNK};
use crate::entities::{segment_member, user};
use crate::error::AppError;
use crate::upload::validate::Report;
use chrono::Utc;
use sea_orm::sea_query::{OnConflict, Query as SqlQuery};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
    TransactionTrait,
};
use std::collections::HashMap;

/// The sync effects (SPEC 5) that adding these memberships would cause, computed exactly: the
/// memberships (and any new users) are written, the sync runs, and the transaction is rolled back.
/// `existing`: (segment id, user id); `new`: (segment id, username of a user the commit creates).
pub async fn simulate_effects(
    db: &DatabaseConnection,
    existing: &[(i32, i32)],
    new: &[(i32, String)],
) -> Result<crate::sync::Drift, AppError> {
    let txn = db.begin().await?;
    let now = Utc::now();
    let mut pairs: Vec<(i32, i32)> = existing.to_vec();
    let mut names: Vec<String> = new.iter().map(|(_, u)| u.clone()).collect();
    names.sort();
    names.dedup();
    for chunk in names.chunks(1_000) {
        user::Entity::insert_many(
            chunk
                .iter()
                .map(|u| user::ActiveModel::new_user(u, "", "", "", now)),
        )
        .on_conflict(
            OnConflict::column(user::Column::Username)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    let mut ids: HashMap<String, i32> = HashMap::new();
    for chunk in names.chunks(LOOKUP_CHUNK) {
        let found: Vec<(String, i32)> = user::Entity::find()
            .select_only()
            .columns([user::Column::Username, user::Column::Id])
            .filter(user::Column::Username.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(&txn)
            .await?;
        ids.extend(found);
    }
    pairs.extend(
        new.iter()
            .filter_map(|(s, u)| ids.get(u).map(|id| (*s, *id))),
    );
    for chunk in pairs.chunks(CHUNK) {
        let mut insert = SqlQuery::insert();
        insert.into_table(segment_member::Entity).columns([
            segment_member::Column::SegmentId,
            segment_member::Column::UserId,
            segment_member::Column::AddedAt,
        ]);
        for &(s, u) in chunk {
            insert.values_panic([s.into(), u.into(), now.into()]);
        }
        insert.on_conflict(
            OnConflict::columns([
                segment_member::Column::SegmentId,
                segment_member::Column::UserId,
            ])
            .do_nothing()
            .to_owned(),
        );
        txn.execute(txn.get_database_backend().build(&insert))
            .await?;
    }
    let mut segments: Vec<i32> = pairs.iter().map(|p| p.0).collect();
    segments.sort_unstable();
    segments.dedup();
    let drift = crate::sync::segments_changed(&txn, &segments).await?;
    txn.rollback().await?;
    Ok(drift)
}

/// The enrolments (added or reactivated) and group memberships committing `report` would cause
/// through the methods that follow `segments`: the page's batches, each simulated on its own.
pub async fn preview_effects(
    db: &DatabaseConnection,
    report: &Report,
    segments: &[i32],
) -> Result<(u64, u64), AppError> {
    let (mut enrolments, mut groups) = (0, 0);
    for (existing, new) in
        crate::upload::report::effect_batches(report, segments, crate::upload::api::EFFECTS_BATCH)
    {
        let drift = simulate_effects(db, &existing, &new).await?;
        enrolments += drift.enrolments_added + drift.enrolments_reactivated;
        groups += drift.group_memberships_added;
    }
    Ok((enrolments, groups))
}
