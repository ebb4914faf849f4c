//! The sign-in page, the sign-out button and the "no access" page.
use super::api::{Login, Logout};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

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
