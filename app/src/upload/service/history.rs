//! Upload history and exact undo: a batch's recorded changes are what undo takes back.
use crate::entities::{segment, segment_member, upload_batch, user};
use crate::error::AppError;
use crate::upload::types::BatchRow;
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};
use std::collections::HashMap;

use super::commit::USERS;

/// Undoes a batch: removes the memberships it added that still exist (for an import of SPEC 7,
/// what `imports::service::undo` takes back). Returns how many.
pub async fn undo(
    db: &impl ConnectionTrait,
    batch_id: i32,
    admin: Option<i32>,
) -> Result<u64, AppError> {
    // Claim the batch first, so two admins undoing at once cannot both proceed.
    let claimed = upload_batch::Entity::update_many()
        .col_expr(upload_batch::Column::UndoneAt, Expr::value(Utc::now()))
        .col_expr(upload_batch::Column::UndoneBy, Expr::value(admin))
        .filter(upload_batch::Column::Id.eq(batch_id))
        .filter(upload_batch::Column::UndoneAt.is_null())
        .exec(db)
        .await?
        .rows_affected;
    if claimed == 0 {
        return Err(
            match upload_batch::Entity::find_by_id(batch_id).one(db).await? {
                None => AppError::NotFound(format!("Upload batch {batch_id}")),
                Some(_) => {
                    AppError::Conflict(format!("Upload batch {batch_id} has already been undone."))
                }
            },
        );
    }
    let kind = upload_batch::Entity::find_by_id(batch_id)
        .one(db)
        .await?
        .map(|b| b.kind)
        .unwrap_or_default();
    if kind != USERS {
        // An import of SPEC 7: its own exact undo.
        let changed = crate::imports::service::undo(db, batch_id).await?;
        tracing::info!(batch = batch_id, kind, changed, "import undone");
        return Ok(changed);
    }
    // The batch's memberships, read before they go (folded into one value, as the look-ups
    // read theirs: an upload can hold a million): the sync then looks at their users only, so
    // undoing a small upload into a large segment costs O(upload).
    // An automated segment's members are its rules' (SPEC 8): automating hands them over
    // (`batch_id` cleared), and this keeps any row that still names the batch there.
    let manual = || {
        segment_member::Column::SegmentId.not_in_subquery(
            sea_orm::sea_query::Query::select()
                .column(segment::Column::Id)
                .from(segment::Entity)
                .and_where(segment::Column::Rules.is_not_null())
                .to_owned(),
        )
    };
    let select = segment_member::Entity::find()
        .select_only()
        .column(segment_member::Column::SegmentId)
        .column(segment_member::Column::UserId)
        .filter(segment_member::Column::BatchId.eq(batch_id))
        .filter(manual())
        .into_query();
    let pairs = crate::db::int_pairs(db, &select, ["segment_id", "user_id"]).await?;
    let removed = segment_member::Entity::delete_many()
        .filter(segment_member::Column::BatchId.eq(batch_id))
        .filter(manual())
        .exec(db)
        .await?
        .rows_affected;
    let mut segments: Vec<i32> = pairs.iter().map(|p| p.0).collect();
    segments.sort_unstable();
    segments.dedup();
    let users = pairs.into_iter().map(|p| p.1).collect();
    crate::sync::segments_changed_by(db, &segments, users, crate::sync::Moved::Out).await?;
    tracing::info!(batch = batch_id, removed, "upload undone");
    Ok(removed)
}

pub async fn history(
    db: &impl ConnectionTrait,
    page: u64,
    per_page: u64,
) -> Result<crate::domain::Page<BatchRow>, AppError> {
    let batches: crate::domain::Page<upload_batch::Model> = crate::db::page_of(
        db,
        upload_batch::Entity::find(),
        |q| q.order_by_desc(upload_batch::Column::Id),
        page,
        per_page,
        |b| b,
    )
    .await?;
    let admin_ids: Vec<i32> = batches
        .items
        .iter()
        .filter_map(|b| b.admin_user_id)
        .collect();
    let names: HashMap<i32, String> = user::Entity::find()
        .select_only()
        .columns([user::Column::Id, user::Column::Username])
        .filter(user::Column::Id.is_in(admin_ids))
        .into_tuple::<(i32, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    // One grouped count for the page, not one query per batch.
    let present: HashMap<i32, i64> = segment_member::Entity::find()
        .select_only()
        .column(segment_member::Column::BatchId)
        .column_as(segment_member::Column::UserId.count(), "n")
        .filter(segment_member::Column::BatchId.is_in(batches.items.iter().map(|b| b.id)))
        .group_by(segment_member::Column::BatchId)
        .into_tuple::<(i32, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let imports: Vec<i32> = batches
        .items
        .iter()
        .filter(|b| b.kind != USERS)
        .map(|b| b.id)
        .collect();
    let mut present = present;
    for (batch, n) in crate::imports::service::still_present(db, &imports).await? {
        present.insert(batch, n);
    }
    Ok(batches.map(|b| BatchRow {
        still_present: present.get(&b.id).copied().unwrap_or(0),
        kind: b.kind.clone(),
        id: b.id,
        created_at: b.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        admin: b.admin_user_id.and_then(|id| names.get(&id).cloned()),
        file_name: b.file_name,
        options: (b.kind == USERS)
            .then(|| serde_json::from_value(b.options.clone()).ok())
            .flatten(),
        summary: (b.kind == USERS)
            .then(|| serde_json::from_value(b.counts.clone()).ok())
            .flatten(),
        import_options: (b.kind != USERS)
            .then(|| serde_json::from_value(b.options).ok())
            .flatten(),
        import_summary: (b.kind != USERS)
            .then(|| serde_json::from_value(b.counts).ok())
            .flatten(),
        undone_at: b
            .undone_at
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
    }))
}
