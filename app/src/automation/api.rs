//! Server functions of automation: thin wrappers over `service`, each behind `require_admin`.
use super::rules::{ProfileField, RuleSet};
use super::types::RulePreview;
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[server(prefix = "/api", endpoint = "profile_fields")]
pub async fn profile_fields() -> Result<Vec<ProfileField>, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    super::service::fields(&db).await
}

/// `options`: a menu's options, one per line or comma-separated.
#[server(prefix = "/api", endpoint = "create_profile_field")]
pub async fn create_profile_field(
    shortname: String,
    name: String,
    kind: String,
    options: String,
) -> Result<ProfileField, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    let kind: super::FieldKind = kind
        .parse()
        .map_err(|_| AppError::Invalid(format!("Unknown field type \"{kind}\".")))?;
    let options: Vec<String> = options
        .split(['\n', ','])
        .map(|o| o.trim().to_string())
        .filter(|o| !o.is_empty())
        .collect();
    super::service::create_field(&db, &shortname, &name, kind, &options).await
}

/// A user's profile values: (field id, value).
#[server(prefix = "/api", endpoint = "user_profile_values")]
pub async fn user_profile_values(user_id: i32) -> Result<Vec<(i32, String)>, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    super::service::user_values(&db, user_id).await
}

/// Sets a user's values (empty removes one); automated segments and their courses follow in
/// the same transaction.
#[server(prefix = "/api", endpoint = "set_profile_values", input = Json)]
pub async fn set_profile_values(user_id: i32, values: Vec<(i32, String)>) -> Result<(), AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    let txn = crate::sync::begin(&db).await?;
    super::service::set_user_values(&txn, user_id, &values).await?;
    txn.commit().await?;
    Ok(())
}

/// The segment's rule set, if it is automated.
#[server(prefix = "/api", endpoint = "segment_rules")]
pub async fn segment_rules(segment_id: i32) -> Result<Option<RuleSet>, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    use sea_orm::EntityTrait;
    let s = crate::entities::segment::Entity::find_by_id(segment_id)
        .one(&db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("Segment {segment_id}")))?;
    Ok(s.rules.and_then(|r| serde_json::from_value(r).ok()))
}

/// What saving these rules would do; nothing is kept.
#[server(prefix = "/api", endpoint = "preview_rules", input = Json)]
pub async fn preview_rules(segment_id: i32, rules: RuleSet) -> Result<RulePreview, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    super::service::preview(&db, segment_id, &rules).await
}

/// Saves the rules if they still do what the admin's preview showed (`expected`); if the data
/// changed in between, nothing is saved and the answer says so, so the page previews again.
#[server(prefix = "/api", endpoint = "save_rules", input = Json)]
pub async fn save_rules(
    segment_id: i32,
    rules: RuleSet,
    expected: RulePreview,
) -> Result<RulePreview, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    let change = super::service::save_rules(&db, segment_id, &rules, &expected).await?;
    Ok(RulePreview {
        added: change.added,
        removed: change.removed,
        enrolments_added: change.drift.enrolments_added + change.drift.enrolments_reactivated,
        group_memberships_added: change.drift.group_memberships_added,
        ..RulePreview::default()
    })
}

/// Makes the segment manual again, keeping its members.
#[server(prefix = "/api", endpoint = "clear_rules")]
pub async fn clear_rules(segment_id: i32) -> Result<(), AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    let txn = crate::sync::begin(&db).await?;
    super::service::set_rules(&txn, segment_id, None).await?;
    txn.commit().await?;
    Ok(())
}
