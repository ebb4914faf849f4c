//! The courses list: search and pages.
use crate::components::{use_page_and_search, ErrorMessage, Pager};
use crate::courses::list_courses;
use leptos::prelude::*;
use leptos_router::components::{Form, A};

#[component]
pub fn CoursesPage() -> impl IntoView {
    let (page, search) = use_page_and_search();
    let courses = Resource::new(
        move || (search.get(), page.get()),
        |(q, p)| list_courses(q, p),
    );
    view! {
        <h1>"Courses"</h1>
        <div class="toolbar">
            <Form method="GET" action="/courses">
                <label for="course-search">"Search courses"</label>
                <input id="course-search" type="search" name="q" prop:value=move || search.get() />
                <button type="submit">"Search"</button>
            </Form>
            <A href="/courses/new" attr:class="button">"Create course"</A>
        </div>
        <Transition fallback=|| view! { <p>"Loading courses…"</p> }>
            {move || Suspend::new(async move {
                match courses.await {
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                    Ok(page) => {
                        let pages = page.page_count();
                        view! {
                            <table>
                                <caption>"Courses"</caption>
                                <thead><tr>
                                    <th scope="col">"Short name"</th><th scope="col">"Full name"</th>
                                    <th scope="col" class="num">"Participants"</th><th scope="col" class="num">"Groups"</th><th scope="col">"Actions"</th>
                                </tr></thead>
                                <tbody>
                                    {page.items.into_iter().map(|c| {
                                        let label = format!("Edit course {}", c.fullname);
                                        view! {
                                            <tr>
                                                <td><code>{c.shortname}</code></td>
                                                <td><A href=format!("/courses/{}", c.id)>{c.fullname}</A></td>
                                                <td class="num">{c.participants}</td>
                                                <td class="num">{c.groups}</td>
                                                <td><A href=format!("/courses/{}/edit", c.id) attr:aria-label=label>"Edit"</A></td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                            {(page.total == 0).then(|| view! { <p>"No courses match."</p> })}
                            <Pager base="/courses".into() search=search.get_untracked() page=page.page pages total=page.total noun="courses" />
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
