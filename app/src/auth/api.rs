//! Sign-in, sign-out and "who am I": the server functions of SPEC 1's access rules.
#[cfg(feature = "ssr")]
use super::{next::safe_next, service, throttle, SESSION_USER_KEY};
use crate::domain::CurrentAdmin;
use crate::error::AppError;
use leptos::prelude::*;

#[server(prefix = "/api", endpoint = "login")]
pub async fn login(username: String, password: String, next: String) -> Result<(), AppError> {
    use tower_sessions::Session;
    let db = crate::ssr::db()?;
    let session = leptos_axum::extract::<Session>()
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let throttle = use_context::<throttle::SignInThrottle>().unwrap_or_default();
    let address = client_address().await;
    let now = throttle::now_ms();
    // Reserved (counted as a failure) before the password is checked, in one atomic step, so
    // simultaneous guesses cannot all slip under the limit; refused ones cost no argon2 work.
    let attempt = match throttle.reserve(&db, &username, address, now).await? {
        Ok(attempt) => attempt,
        Err(refusal) => {
            tracing::warn!(username = %username.trim(), ?address, "sign-in refused: rate limited");
            return Err(AppError::TooManyRequests(refusal.message()));
        }
    };
    let Some(signed_in) = service::verify_credentials(&db, &username, &password).await? else {
        throttle.record_failure(&db, attempt).await?;
        tracing::info!(username = %username.trim(), ?address, "failed sign-in");
        return Err(AppError::Invalid("Incorrect username or password.".into()));
    };
    throttle.record_success(&db, &username, attempt).await?;
    // A new id at sign-in defeats session fixation.
    session
        .cycle_id()
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    session
        .insert(SESSION_USER_KEY, signed_in.user_id)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    tracing::info!(user = %signed_in.username, admin = signed_in.site_admin, "signed in");
    if signed_in.site_admin {
        leptos_axum::redirect(&safe_next(&next));
    } else {
        leptos_axum::redirect("/no-access");
    }
    Ok(())
}

/// The caller's address: the socket peer, or with `TRUST_FORWARDED_FOR=true` (only behind a
/// reverse proxy that sets it) the last `X-Forwarded-For` entry, which that proxy appended.
#[cfg(feature = "ssr")]
async fn client_address() -> Option<std::net::IpAddr> {
    use axum::extract::ConnectInfo;
    if matches!(
        std::env::var("TRUST_FORWARDED_FOR").as_deref(),
        Ok("1") | Ok("true") | Ok("yes")
    ) {
        let headers = leptos_axum::extract::<http::HeaderMap>().await.ok()?;
        let forwarded = headers.get("x-forwarded-for")?.to_str().ok()?;
        return forwarded.rsplit(',').next()?.trim().parse().ok();
    }
    leptos_axum::extract::<ConnectInfo<std::net::SocketAddr>>()
        .await
        .ok()
        .map(|ConnectInfo(a)| a.ip())
}

#[server(prefix = "/api", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use tower_sessions::Session;
    let session = leptos_axum::extract::<Session>()
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    // flush deletes the record from the store, so the old cookie is worthless afterwards.
    session
        .flush()
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    leptos_axum::redirect("/login");
    Ok(())
}

#[server(prefix = "/api", endpoint = "who_am_i")]
pub async fn who_am_i() -> Result<CurrentAdmin, AppError> {
    crate::ssr::require_admin().await
}
