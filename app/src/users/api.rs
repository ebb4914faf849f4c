//! User server functions: thin, each `admin_db()` first (the access check), then the service.
use super::UserSummary;
use crate::domain::Page;
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::service;

pub const PER_PAGE: u64 = 50;

#[server(prefix = "/api", endpoint = "list_users")]
pub async fn list_users(search: String, page: u64) -> Result<Page<UserSummary>, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    service::Query::list(&db, &search, page, PER_PAGE).await
}

#[server(prefix = "/api", endpoint = "suggest_users")]
pub async fn suggest_users(prefix: String) -> Result<Vec<String>, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    service::Query::suggest(&db, &prefix, 10).await
}
