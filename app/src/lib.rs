//! The shared crate of the admin console: domain types, pages, server functions, and (behind the
//! `ssr` feature) SeaORM entities and services. The WASM build never links SeaORM.
#![recursion_limit = "256"]

pub mod auth;
pub mod automation;
pub mod bulk;
pub mod components;
pub mod courses;
pub mod domain;
pub mod error;
pub mod imports;
pub mod segments;
pub mod upload;
pub mod users;

#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod demo;
#[cfg(feature = "ssr")]
pub mod entities;
#[cfg(feature = "ssr")]
pub mod search;
#[cfg(feature = "ssr")]
pub mod ssr;
#[cfg(feature = "ssr")]
pub mod sync;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::path;

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser, after hydration: the marker tells end-to-end tests (and
    // anyone debugging) that event handlers are live.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/console.css" />
        <Title text="User segments console" />
        <Router>
            <Routes fallback=|| view! { <main class="content"><h1>"Page not found"</h1><a href="/segments">"Back to user segments"</a></main> }>
                <Route path=path!("/login") view=auth::LoginPage />
                <Route path=path!("/no-access") view=auth::NoAccessPage />
                <ParentRoute path=path!("") view=components::AdminLayout>
                    <Route path=path!("") view=|| view! { <Redirect path="/segments" /> } />
                    <Route path=path!("segments") view=segments::SegmentsPage />
                    <Route path=path!("segments/new") view=segments::NewSegmentPage />
                    <Route path=path!("segments/:id") view=segments::SegmentMembersPage />
                    <Route path=path!("segments/:id/edit") view=segments::EditSegmentPage />
                    <Route path=path!("users") view=users::UsersPage />
                    <Route path=path!("users/:id") view=automation::page::UserProfilePage />
                    <Route path=path!("profile-fields") view=automation::page::ProfileFieldsPage />
                    <Route path=path!("courses") view=courses::CoursesPage />
                    <Route path=path!("courses/new") view=courses::NewCoursePage />
                    <Route path=path!("courses/:id") view=courses::CoursePage />
                    <Route path=path!("courses/:id/edit") view=courses::EditCoursePage />
                    <Route path=path!("upload") view=upload::page::UploadPage />
                    <Route path=path!("uploads") view=upload::page::UploadHistoryPage />
                    <Route path=path!("import/segments") view=imports::page::ImportSegmentsPage />
                    <Route path=path!("import/groups") view=imports::page::ImportGroupsPage />
                    <Route path=path!("import/group-members") view=imports::page::ImportGroupMembersPage />
                    <Route path=path!("import/enrolments") view=imports::page::ImportEnrolmentsPage />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
