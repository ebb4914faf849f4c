//! Server-side plumbing shared by every server function: the database from context and the
//! signed-in admin placed in the request by the access guard.
use crate::domain::CurrentAdmin;
use crate::error::AppError;
use axum::Extension;
use leptos::prelude::use_context;
use sea_orm::DatabaseConnection;

pub fn db() -> Result<DatabaseConnection, AppError> {
    use_context::<DatabaseConnection>()
        .ok_or_else(|| AppError::Internal("no database connection in context".into()))
}

/// Every server function except sign-in and sign-out starts with this. The guard already
/// refused outsiders; this makes a function fail closed even if it were routed around the guard.
pub async fn require_admin() -> Result<CurrentAdmin, AppError> {
    leptos_axum::extract::<Extension<CurrentAdmin>>()
        .await
        .map(|Extension(admin)| admin)
        .map_err(|_| AppError::Unauthorized)
}

/// The database and the admin, the usual opening of a server function.
pub async fn admin_db() -> Result<(DatabaseConnection, CurrentAdmin), AppError> {
    let admin = require_admin().await?;
    Ok((db()?, admin))
}
