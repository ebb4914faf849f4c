//! Create and edit a course: one set of fields, two forms.
use super::course_id;
use crate::components::ErrorMessage;
use crate::courses::{get_course, CreateCourse, UpdateCourse};
use leptos::prelude::*;

#[component]
fn CourseFields(shortname: String, fullname: String) -> impl IntoView {
    view! {
        <label for="shortname">"Short name"</label>
        <input id="shortname" name="shortname" type="text" required maxlength="100" value=shortname />
        <label for="fullname">"Full name"</label>
        <input id="fullname" name="fullname" type="text" required maxlength="254" value=fullname />
    }
}

#[component]
pub fn NewCoursePage() -> impl IntoView {
    let create = ServerAction::<CreateCourse>::new();
    view! {
        <h1>"Create course"</h1>
        <ActionForm action=create attr:class="form">
            <CourseFields shortname=String::new() fullname=String::new() />
            <button type="submit">"Save course"</button>
        </ActionForm>
        {move || create.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorMessage error=e /> })}
    }
}

#[component]
pub fn EditCoursePage() -> impl IntoView {
    let id = course_id();
    let update = ServerAction::<UpdateCourse>::new();
    let course = Resource::new(move || id.get(), get_course);
    view! {
        <h1>"Edit course"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match course.await {
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                    Ok(c) => view! {
                        <ActionForm action=update attr:class="form">
                            <input type="hidden" name="id" value=c.id />
                            <CourseFields shortname=c.shortname fullname=c.fullname />
                            <button type="submit">"Save course"</button>
                        </ActionForm>
                    }.into_any(),
                }
            })}
        </Suspense>
        {move || update.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorMessage error=e /> })}
    }
}
