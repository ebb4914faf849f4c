//! Small pieces shared by the pages: the admin layout, the pager, error display.
use crate::auth::SignOutButton;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::components::{Outlet, A};
use leptos_router::hooks::use_query_map;

#[component]
pub fn AdminLayout() -> impl IntoView {
    let me = Resource::new(|| (), |_| crate::auth::who_am_i());
    view! {
        <header class="topbar">
            <span class="brand">"Site admin"</span>
            // Grouped as in the help articles ("Site admin" > "User management" > "Bulk upload
            // users"), so an admin following them finds each step by its words.
            <nav aria-label="Site admin">
                <div class="nav-group">
                    <span class="nav-title" id="nav-user-management">"User management"</span>
                    <ul aria-labelledby="nav-user-management">
                        <li><A href="/segments">"Manage user segments"</A></li>
                        <li><A href="/upload">"Bulk upload users"</A></li>
                        <li><A href="/import/segments">"Bulk create user segments"</A></li>
                        <li><A href="/uploads">"Upload history"</A></li>
                        <li><A href="/users">"Users"</A></li>
                        <li><A href="/profile-fields">"Profile fields"</A></li>
                    </ul>
                </div>
                <div class="nav-group">
                    <span class="nav-title" id="nav-courses">"Courses"</span>
                    <ul aria-labelledby="nav-courses">
                        <li><A href="/courses">"Manage courses"</A></li>
                        <li><A href="/import/groups">"Bulk create course groups"</A></li>
                        <li><A href="/import/group-members">"Bulk add users to course groups"</A></li>
                        <li><A href="/import/enrolments">"Bulk enrol users into courses"</A></li>
                    </ul>
                </div>
            </nav>
            <span class="whoami">
                <Suspense>
                    {move || Suspend::new(async move {
                        me.await.map(|a| view! { <span>"Signed in as " <strong>{a.username}</strong></span> }).ok()
                    })}
                </Suspense>
            </span>
            <SignOutButton />
        </header>
        <main class="content">
            <Outlet />
        </main>
    }
}

/// Reads `?page=` (1-based) and `?q=` from the URL, so listings can be bookmarked and shared.
pub fn use_page_and_search() -> (Memo<u64>, Memo<String>) {
    let query = use_query_map();
    let page = Memo::new(move |_| {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<u64>().ok())
            .unwrap_or(1)
            .max(1)
    });
    let search = Memo::new(move |_| query.read().get("q").unwrap_or_default());
    (page, search)
}

/// "Previous / Page x of y / Next" links that keep the search term.
#[component]
pub fn Pager(
    base: String,
    search: String,
    page: u64,
    pages: u64,
    total: u64,
    noun: &'static str,
) -> impl IntoView {
    let href = move |p: u64| {
        let mut h = format!("{base}?page={p}");
        if !search.is_empty() {
            h.push_str("&q=");
            h.push_str(&encode_query(&search));
        }
        h
    };
    let prev = (page > 1).then(|| href(page - 1));
    let next = (page < pages).then(|| href(page + 1));
    view! {
        <nav class="pager" aria-label="Pages">
            {prev.map(|h| view! { <A href=h>"Previous page"</A> })}
            <span>{format!("Page {page} of {pages} ({total} {noun})")}</span>
            {next.map(|h| view! { <A href=h>"Next page"</A> })}
        </nav>
    }
}

#[component]
pub fn ErrorMessage(error: AppError) -> impl IntoView {
    let sign_in = matches!(error, AppError::Unauthorized);
    view! {
        <p class="error" role="alert">
            {error.to_string()}
            {sign_in.then(|| view! { " " <a href="/login">"Sign in"</a> })}
        </p>
    }
}

/// Everything but RFC 3986's unreserved characters is percent-encoded: safe in a query value
/// and in a `data:` URL.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a query value (or a `data:` URL's text).
pub fn encode_query(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, QUERY_VALUE).to_string()
}

/// The same, with `/` kept readable: for a local path and query sent as `next=`.
const PATH_VALUE: &percent_encoding::AsciiSet = &QUERY_VALUE.remove(b'/');

/// Percent-encodes a local path and query for a `next=` value.
pub fn encode_path(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, PATH_VALUE).to_string()
}

/// A count with thousands separators ("1,234"), as the page shows row counts.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_and_paths_are_percent_encoded() {
        assert_eq!(encode_query("a b&c=d/é~"), "a%20b%26c%3Dd%2F%C3%A9~");
        assert_eq!(
            encode_path("/segments?q=a b&x"),
            "/segments%3Fq%3Da%20b%26x"
        );
    }

    #[test]
    fn thousands_groups_digits_in_threes() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }
}
