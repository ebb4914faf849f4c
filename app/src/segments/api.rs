//! Segment server functions: thin, each `admin_db()` first (the access check), then the service.
use super::{MemberRow, SegmentSummary};
use crate::domain::Page;
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::service;

pub const PER_PAGE: u64 = 25;

#[server(prefix = "/api", endpoint = "list_segments")]
pub async fn list_segments(search: String, page: u64) -> Result<Page<SegmentSummary>, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    service::Query::list(&db, &search, page, PER_PAGE).await
}

#[server(prefix = "/api", endpoint = "get_segment")]
pub async fn get_segment(id: i32) -> Result<SegmentSummary, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    service::Query::get(&db, id).await
}

#[server(prefix = "/api", endpoint = "create_segment")]
pub async fn create_segment(
    id_number: String,
    name: String,
    description: String,
    visible: Option<String>,
) -> Result<(), AppError> {
    let (db, admin) = crate::ssr::admin_db().await?;
    let draft =
        crate::domain::SegmentDraft::parse(&id_number, &name, &description, visible.is_some())
            .map_err(AppError::Invalid)?;
    let id = service::Mutation::create(&db, &draft).await?;
    tracing::info!(admin = %admin.username, segment = %draft.id_number, "segment created");
    leptos_axum::redirect(&format!("/segments/{id}"));
    Ok(())
}

#[server(prefix = "/api", endpoint = "update_segment")]
pub async fn update_segment(
    id: i32,
    id_number: String,
    name: String,
    description: String,
    visible: Option<String>,
) -> Result<(), AppError> {
    let (db, admin) = crate::ssr::admin_db().await?;
    let draft =
        crate::domain::SegmentDraft::parse(&id_number, &name, &description, visible.is_some())
            .map_err(AppError::Invalid)?;
    service::Mutation::update(&db, id, &draft).await?;
    tracing::info!(admin = %admin.username, segment = %draft.id_number, "segment updated");
    leptos_axum::redirect("/segments");
    Ok(())
}

#[server(prefix = "/api", endpoint = "delete_segment")]
pub async fn delete_segment(id: i32) -> Result<(), AppError> {
    use sea_orm::TransactionTrait;
    let (db, admin) = crate::ssr::admin_db().await?;
    let txn = db.begin().await?;
    // Waits for an upload being committed, so the two never interleave.
    crate::db::lock_for_write(&txn).await?;
    service::Mutation::delete(&txn, id).await?;
    txn.commit().await?;
    tracing::info!(admin = %admin.username, segment = id, "segment deleted");
    Ok(())
}

#[server(prefix = "/api", endpoint = "list_members")]
pub async fn list_members(
    segment_id: i32,
    search: String,
    page: u64,
) -> Result<Page<MemberRow>, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    service::Query::members(&db, segment_id, &search, page, PER_PAGE).await
}

#[server(prefix = "/api", endpoint = "add_member")]
pub async fn add_member(segment_id: i32, username: String) -> Result<String, AppError> {
    let (db, admin) = crate::ssr::admin_db().await?;
    let txn = crate::sync::begin(&db).await?;
    let outcome = service::Mutation::add_member_by_username(&txn, segment_id, &username).await?;
    txn.commit().await?;
    let name = username.trim().to_lowercase();
    tracing::info!(admin = %admin.username, segment = segment_id, user = %name, ?outcome, "add member");
    Ok(match outcome {
        service::AddMemberOutcome::Added => format!("Added {name} to the segment."),
        service::AddMemberOutcome::AlreadyMember => format!("{name} is already a member."),
    })
}

#[server(prefix = "/api", endpoint = "remove_member")]
pub async fn remove_member(segment_id: i32, user_id: i32) -> Result<(), AppError> {
    let (db, admin) = crate::ssr::admin_db().await?;
    let txn = crate::sync::begin(&db).await?;
    let removed = service::Mutation::remove_members(&txn, segment_id, &[user_id]).await?;
    txn.commit().await?;
    if removed == 0 {
        return Err(AppError::NotFound("That membership".into()));
    }
    tracing::info!(admin = %admin.username, segment = segment_id, user = user_id, "member removed");
    Ok(())
}
