//! One course: its header and three sections (participants, groups, enrolment methods).
use super::groups::Groups;
use super::methods::Methods;
use super::participants::Participants;
use super::{course_id, CourseActions};
use crate::components::ErrorMessage;
use crate::courses::get_course;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn CoursePage() -> impl IntoView {
    let id = course_id();
    let course = Resource::new(move || id.get(), get_course);
    let actions = CourseActions::new();
    view! {
        <Suspense fallback=|| view! { <h1>"Course"</h1> }>
            {move || Suspend::new(async move {
                match course.await {
                    Err(e) => view! { <h1>"Course"</h1> <ErrorMessage error=e /> }.into_any(),
                    Ok(c) => view! {
                        <h1>{format!("Course: {}", c.fullname)}</h1>
                        <p class="meta">"Short name " <code>{c.shortname.clone()}</code> " · " <A href=format!("/courses/{}/edit", c.id)>"Edit course"</A></p>
                    }.into_any(),
                }
            })}
        </Suspense>
        <nav class="sections" aria-label="Course sections">
            <ul>
                <li><a href="#participants">"Participants"</a></li>
                <li><a href="#groups">"Groups"</a></li>
                <li><a href="#methods">"Enrolment methods"</a></li>
            </ul>
        </nav>
        <Participants id actions />
        <Groups id actions course />
        <Methods id actions />
    }
}
