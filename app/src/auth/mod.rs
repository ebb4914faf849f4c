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

/// Where to go after sign-in when `next` is missing or refused.
pub const DEFAULT_NEXT: &str = "/segments";

/// Where to go after sign-in: a path on this site, decided the way a browser will read `next`.
///
/// Browsers parse a redirect target with the WHATWG URL rules: they drop tabs and newlines,
/// read `\` as `/`, and resolve `/.//host` to a network path. Matching the text misses those
/// forms (`/\t/host` passed an earlier check), so `next` is resolved against the site's own
/// origin by the `url` crate, which implements those rules, and accepted only if the result
/// keeps that origin. What is returned is the resolved path, query and fragment, re-serialized,
/// never the raw text.
#[cfg(feature = "ssr")]
pub fn safe_next(next: &str) -> String {
    // Any host works: only "same origin as this base or not" is decided.
    const BASE: &str = "http://console.invalid/";
    if next.is_empty() || next.chars().any(char::is_control) {
        return DEFAULT_NEXT.to_string();
    }
    let base = url::Url::parse(BASE).expect("valid base URL");
    let Ok(target) = base.join(next) else {
        return DEFAULT_NEXT.to_string();
    };
    if target.origin() != base.origin() || target.username() != "" || target.password().is_some() {
        return DEFAULT_NEXT.to_string();
    }
    let path = target.path();
    // A path that itself begins with two slashes would be read as another host when sent on.
    if path.starts_with("//") || path == "/login" {
        return DEFAULT_NEXT.to_string();
    }
    let mut out = path.to_string();
    if let Some(query) = target.query() {
        out.push('?');
        out.push_str(query);
    }
    if let Some(fragment) = target.fragment() {
        out.push('#');
        out.push_str(fragment);
    }
    out
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

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::{safe_next, DEFAULT_NEXT};

    #[test]
    fn local_paths_are_kept() {
        assert_eq!(safe_next("/segments/3"), "/segments/3");
        assert_eq!(safe_next("/users?q=a"), "/users?q=a");
        assert_eq!(safe_next("/courses/2#groups"), "/courses/2#groups");
        // Percent-encoded slashes are a path on this site, not a host.
        assert_eq!(safe_next("/%2F%2Fevil.example"), "/%2F%2Fevil.example");
    }

    /// Every form a browser would read as another site, or that is not a plain path here.
    #[test]
    fn next_never_leaves_the_site() {
        for bad in [
            "",
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\tevil",
            "/\t/evil.example:8080/x",
            "/%09/evil.example",
            "/\n/evil.example",
            "\t//evil.example",
            " //evil.example",
            "/.//evil.example",
            "/x/..//evil.example",
            "http:evil.example",
            "javascript:alert(1)",
            "data:text/html,hi",
            "http://user@console.invalid/x",
            "/login",
            "/a\r\nSet-Cookie: x",
        ] {
            let next = safe_next(bad);
            assert!(
                next.starts_with('/') && !next.starts_with("//") && !next.contains('\\'),
                "{bad:?} gave {next:?}"
            );
            // What is sent on must itself stay on the site when a browser resolves it.
            let base = url::Url::parse("https://site.example/").unwrap();
            let landed = base.join(&next).unwrap();
            assert_eq!(landed.origin(), base.origin(), "{bad:?} gave {next:?}");
        }
        assert_eq!(safe_next("/login"), DEFAULT_NEXT);
        assert_eq!(safe_next("//evil.example"), DEFAULT_NEXT);
        assert_eq!(safe_next("/\t/evil.example:8080/x"), DEFAULT_NEXT);
    }
}
