//! Sign-in, sign-out and the access rules of SPEC 1.
use crate::domain::CurrentAdmin;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[cfg(feature = "ssr")]
pub mod guard;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod session_store;
#[cfg(feature = "ssr")]
pub mod throttle;

/// Session key holding the signed-in user's id.
pub const SESSION_USER_KEY: &str = "uid";

/// Where to go after sign-in: only a local path, so `next` cannot send an admin to another site.
pub fn safe_next(next: &str) -> &str {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.contains(['\r', '\n'])
        && next != "/login";
    if ok {
        next
    } else {
        "/segments"
    }
}

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
    // Refused before the password is checked: no argon2 work for a locked account or address.
    if let Err(refusal) = throttle.check(&db, &username, address, now).await? {
        tracing::warn!(username = %username.trim(), ?address, "sign-in refused: rate limited");
        return Err(AppError::TooManyRequests(refusal.message()));
    }
    let Some(signed_in) = service::verify_credentials(&db, &username, &password).await? else {
        throttle
            .record_failure(&db, &username, address, now)
            .await?;
        tracing::info!(username = %username.trim(), ?address, "failed sign-in");
        return Err(AppError::Invalid("Incorrect username or password.".into()));
    };
    throttle.record_success(&db, &username).await?;
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
        leptos_axum::redirect(safe_next(&next));
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

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let error = move || {
        login
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })
    };
    view! {
        <main class="auth">
            <h1>"Sign in to the admin console"</h1>
            <ActionForm action=login>
                <input type="hidden" name="next" prop:value=next />
                <label for="username">"Username"</label>
                <input id="username" name="username" type="text" autocomplete="username" required />
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    required
                />
                <button type="submit" disabled=move || login.pending().get()>
                    "Sign in"
                </button>
            </ActionForm>
            {error}
        </main>
    }
}

#[component]
pub fn SignOutButton() -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    view! {
        <ActionForm action=logout attr:class="signout">
            <button type="submit">"Sign out"</button>
        </ActionForm>
    }
}

#[component]
pub fn NoAccessPage() -> impl IntoView {
    view! {
        <main class="auth">
            <h1>"No access"</h1>
            <p>
                "You are signed in, but only site administrators may use this console. "
                "Ask a site administrator for access, or sign in with another account."
            </p>
            <SignOutButton />
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_must_be_a_local_path() {
        assert_eq!(safe_next("/segments/3"), "/segments/3");
        assert_eq!(safe_next("/users?q=a"), "/users?q=a");
        for bad in [
            "",
            "https://evil.example",
            "//evil.example",
            "/\\evil",
            "segments",
            "/login",
            "/a\r\nSet-Cookie: x",
        ] {
            assert_eq!(safe_next(bad), "/segments", "{bad:?}");
        }
    }
}
