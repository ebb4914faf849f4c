//! The axum application: Leptos pages and server functions behind sessions and the access guard.
//! Split from `main.rs` so integration tests spawn the real app on a random port.
use app::auth::guard::{guard, GuardState};
use app::auth::session_store::DbSessionStore;
use app::auth::throttle::{Limits, SignInThrottle};
use app::users::service::Directory;
use app::{shell, App};
use axum::extract::{FromRef, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, handle_server_fns_with_context, LeptosRoutes};
use sea_orm::DatabaseConnection;
use std::net::SocketAddr;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

pub mod cli;

/// Largest request body accepted (a 4 MiB upload chunk plus form overhead, with room to spare).
pub const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: DatabaseConnection,
    pub throttle: SignInThrottle,
    /// The usernames held in memory for the upload page's look-ups.
    pub directory: Directory,
}

/// Leptos options for the site built by cargo-leptos (`target/site` unless `LEPTOS_SITE_ROOT`).
pub fn leptos_options(listen: SocketAddr) -> LeptosOptions {
    let site_root = std::env::var("LEPTOS_SITE_ROOT").unwrap_or_else(|_| "target/site".into());
    let env = match std::env::var("LEPTOS_ENV").as_deref() {
        Ok("PROD") | Ok("prod") | Ok("production") => leptos::config::Env::PROD,
        _ => leptos::config::Env::DEV,
    };
    LeptosOptions::builder()
        .output_name("console")
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .site_addr(listen)
        .env(env)
        .build()
}

#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Mark the session cookie `Secure` (set when the console is served over TLS).
    pub cookie_secure: bool,
    /// Failed sign-ins allowed per account and per address in a window.
    pub sign_in_limits: Limits,
    /// A session ends after this long without a request (sliding: every request restarts it).
    pub session_idle: time::Duration,
}

/// Sessions end after 8 hours of inactivity.
pub const SESSION_IDLE: time::Duration = time::Duration::hours(8);

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            cookie_secure: false,
            sign_in_limits: Limits::default(),
            session_idle: SESSION_IDLE,
        }
    }
}

impl WebConfig {
    pub fn from_env() -> Self {
        Self {
            cookie_secure: matches!(
                std::env::var("COOKIE_SECURE").as_deref(),
                Ok("1") | Ok("true") | Ok("yes")
            ),
            sign_in_limits: Limits::default(),
            session_idle: SESSION_IDLE,
        }
    }
}

/// The app's routes over `db`; `directory` is that database's (`serve` starts building it
/// before the first request).
pub fn router(
    db: DatabaseConnection,
    leptos_options: LeptosOptions,
    web: &WebConfig,
    directory: Directory,
) -> Router {
    let routes = generate_route_list(App);
    let state = AppState {
        leptos_options,
        db: db.clone(),
        throttle: SignInThrottle::new(web.sign_in_limits),
        directory,
    };
    let sessions = SessionManagerLayer::new(DbSessionStore::new(db.clone()))
        .with_name("console_session")
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_secure(web.cookie_secure)
        .with_expiry(Expiry::OnInactivity(web.session_idle));
    Router::new()
        .route(
            "/api/{*fn_name}",
            get(server_fn_handler).post(server_fn_handler),
        )
        .leptos_routes_with_handler(routes, get(page_handler))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(
            GuardState {
                db,
                session_idle: web.session_idle.unsigned_abs(),
            },
            guard,
        ))
        .layer(sessions)
        // Upload chunks are 4 MiB; nothing legitimate is larger than this.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            MAX_REQUEST_BYTES,
        ))
        .layer(axum::middleware::map_response(explain_too_large))
        .with_state(state)
}

/// What a request over `MAX_REQUEST_BYTES` is told (the limit layer's own body is terse).
pub const TOO_LARGE_MESSAGE: &str = "This request is larger than the 16 MiB the server accepts; \
    nothing was changed. Upload CSV files from the Bulk upload page, which sends them in 4 MiB \
    parts (files up to 256 MiB are accepted).";

async fn explain_too_large(res: Response) -> Response {
    if res.status() != axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        return res;
    }
    (
        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        TOO_LARGE_MESSAGE,
    )
        .into_response()
}

async fn server_fn_handler(State(state): State<AppState>, req: Request) -> Response {
    let res = handle_server_fns_with_context(
        move || {
            provide_context(state.db.clone());
            provide_context(state.throttle);
            provide_context(state.directory.clone());
        },
        req,
    )
    .await
    .into_response();
    with_error_status(res).await
}

/// Server functions answer every error with 500; give each `AppError` its real status (422,
/// 409, 429…) so scripts, proxies and logs can tell a refused request from a broken server.
async fn with_error_status(res: Response) -> Response {
    if res.status() != axum::http::StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    // Error bodies are small JSON; anything larger is passed on untouched as far as read.
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    if let Ok(err) = serde_json::from_slice::<app::error::AppError>(&bytes) {
        if let Ok(status) = axum::http::StatusCode::from_u16(err.status()) {
            parts.status = status;
        }
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

async fn page_handler(State(state): State<AppState>, req: Request) -> Response {
    let options = state.leptos_options.clone();
    let handler = leptos_axum::render_app_to_stream_with_context(
        move || provide_context(state.db.clone()),
        move || shell(options.clone()),
    );
    handler(req).await.into_response()
}

/// Serves until the listener fails or the process is told to stop.
pub async fn serve(
    db: DatabaseConnection,
    listener: tokio::net::TcpListener,
    web: WebConfig,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    // Built in the background (a million users: about a second), so the first previews after a
    // start need not ask the database name by name; until then they do.
    let directory = Directory::new(db.clone());
    directory.refresh_in_background();
    let app = router(db.clone(), leptos_options(addr), &web, directory);
    tokio::spawn(follow_the_calendar(db.clone()));
    tokio::spawn(delete_expired_sessions(db));
    // Peer addresses feed the per-address sign-in limit.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
}

/// SPEC 8 for rules that read the calendar (`within_last_days`): their segments are recomputed
/// at start and whenever the UTC date turns (looked at every 5 minutes), under the write lock
/// every change that runs the sync takes. Several servers sharing PostgreSQL each do it; the
/// lock orders them and the later ones find nothing to move.
async fn follow_the_calendar(db: DatabaseConnection) {
    let mut done_for = None;
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
    loop {
        tick.tick().await;
        let today = chrono::Utc::now().date_naive();
        if done_for == Some(today) {
            continue;
        }
        let run = async {
            let txn = app::sync::begin(&db).await?;
            let change = app::automation::service::the_date_turned(&txn).await?;
            txn.commit().await?;
            Ok::<_, app::error::AppError>(change)
        };
        match run.await {
            Ok(change) => {
                done_for = Some(today);
                if change.added + change.removed > 0 {
                    tracing::info!(
                        added = change.added,
                        removed = change.removed,
                        "the date turned: segments whose rules read it recomputed"
                    );
                }
            }
            // Tried again at the next tick.
            Err(e) => tracing::warn!(error = %e, "could not recompute date rules"),
        }
    }
}

async fn delete_expired_sessions(db: DatabaseConnection) {
    use tower_sessions::session_store::ExpiredDeletion;
    let store = DbSessionStore::new(db);
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        if let Err(e) = store.delete_expired().await {
            tracing::warn!(error = %e, "could not delete expired sessions");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
