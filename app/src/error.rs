//! The one error type that crosses the server-function boundary. It serialises to the browser, so
//! it carries messages meant for an admin, never database internals.
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Please sign in to continue.")]
    Unauthorized,
    #[error("You do not have access to the admin console.")]
    Forbidden,
    #[error("{0} was not found.")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("Something went wrong on the server; nothing was changed. ({0})")]
    Internal(String),
    #[error("The request failed: {0}")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

#[cfg(feature = "ssr")]
impl From<sea_orm::TryGetError> for AppError {
    fn from(err: sea_orm::TryGetError) -> Self {
        sea_orm::DbErr::from(err).into()
    }
}

#[cfg(feature = "ssr")]
impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        // Log the detail for operators; the admin gets a stable, non-leaky message.
        if crate::db::is_contention(&err) {
            tracing::warn!(error = %err, "write contention");
            return AppError::Conflict(
                "Another change was being saved at the same time and this one could not wait \
                 for it, so nothing was changed. Please try again."
                    .into(),
            );
        }
        if let Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) = err.sql_err() {
            tracing::warn!(error = %err, "write raced a deletion");
            return AppError::Conflict(
                "Something this change refers to was deleted at the same moment, so nothing \
                 was changed. Reload the page and try again."
                    .into(),
            );
        }
        tracing::error!(error = %err, "database error");
        AppError::Internal("database error".into())
    }
}

impl AppError {
    /// HTTP status the server answers with, so scripts and the access tests see real codes.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthorized => 401,
            AppError::Forbidden => 403,
            AppError::NotFound(_) => 404,
            AppError::Invalid(_) => 422,
            AppError::Conflict(_) => 409,
            AppError::TooManyRequests(_) => 429,
            AppError::Internal(_) | AppError::Transport(_) => 500,
        }
    }
}
