//! The access guard in front of every route: pages send signed-out visitors to sign-in and
//! non-admins to "no access"; server functions answer 401 / 403 and never run. It is the first
//! line; server functions still call `require_admin`, so a route mounted outside the guard fails
//! closed.
use super::service::{access_for, Access};
use super::SESSION_USER_KEY;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use sea_orm::DatabaseConnection;
use tower_sessions::Session;

/// Paths anyone may reach: the sign-in page and its server functions, and static assets.
pub fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/login" | "/api/login" | "/api/logout" | "/favicon.ico" | "/robots.txt"
    ) || path.starts_with("/pkg/")
}

fn is_server_fn(path: &str) -> bool {
    path.starts_with("/api/")
}

/// What the guard needs: the database and how long a session may sit idle.
#[derive(Clone)]
pub struct GuardState {
    pub db: DatabaseConnection,
    pub session_idle: std::time::Duration,
}

/// Session key holding when the session last had its expiry pushed back (Unix ms).
const SESSION_SEEN_KEY: &str = "seen";

/// Makes "N hours of inactivity" sliding. tower-sessions saves (and so re-dates) a session only
/// when it changes, so an unchanged session expired N hours after sign-in however busy the
/// admin was. Touching it changes it; doing so at most once per 1/480 of the idle time (a
/// minute of 8 hours) keeps that to one write a minute, not one per request.
async fn keep_alive(session: &Session, idle: std::time::Duration) {
    let now = chrono::Utc::now().timestamp_millis();
    let step = (idle.as_millis() / 480).max(1) as i64;
    let seen = session.get::<i64>(SESSION_SEEN_KEY).await.ok().flatten();
    if seen.is_none_or(|t| now - t >= step) {
        if let Err(e) = session.insert(SESSION_SEEN_KEY, now).await {
            tracing::warn!(error = %e, "could not refresh the session");
        }
    }
}

pub async fn guard(
    State(GuardState { db, session_idle }): State<GuardState>,
    session: Session,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_string();
    if is_public(&path) {
        return next.run(req).await;
    }
    let user_id = match session.get::<i32>(SESSION_USER_KEY).await {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!(error = %e, "unreadable session");
            None
        }
    };
    let access = match access_for(&db, user_id).await {
        Ok(a) => a,
        Err(e) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
        }
    };
    match access {
        Access::Admin(admin) => {
            keep_alive(&session, session_idle).await;
            req.extensions_mut().insert(admin);
            next.run(req).await
        }
        Access::NotAdmin if is_server_fn(&path) => refuse(StatusCode::FORBIDDEN),
        Access::NotAdmin if path == "/no-access" => next.run(req).await,
        Access::NotAdmin => Redirect::to("/no-access").into_response(),
        Access::SignedOut if is_server_fn(&path) => refuse(StatusCode::UNAUTHORIZED),
        Access::SignedOut => {
            let target = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into());
            let to = if target == "/" || target == "/no-access" {
                "/login".to_string()
            } else {
                format!("/login?next={}", crate::components::encode_path(&target))
            };
            Redirect::to(&to).into_response()
        }
    }
}

fn refuse(status: StatusCode) -> Response {
    let err = if status == StatusCode::UNAUTHORIZED {
        crate::error::AppError::Unauthorized
    } else {
        crate::error::AppError::Forbidden
    };
    // The body is the serialised AppError, so the browser shows the same message as any other
    // server-function failure.
    let body = serde_json::to_string(&err).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sign_in_and_assets_are_public() {
        for p in ["/login", "/api/login", "/api/logout", "/pkg/console.wasm"] {
            assert!(is_public(p), "{p}");
        }
        for p in [
            "/",
            "/segments",
            "/api/list_segments",
            "/login/../segments",
            "/pkgx",
            "/no-access",
        ] {
            assert!(!is_public(p), "{p}");
        }
    }
}
