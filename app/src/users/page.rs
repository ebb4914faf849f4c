//! The users list: search and pages.
use crate::components::{use_page_and_search, ErrorMessage, Pager};
use crate::users::list_users;
use leptos::prelude::*;
use leptos_router::components::Form;

#[component]
pub fn UsersPage() -> impl IntoView {
    let (page, search) = use_page_and_search();
    let users = Resource::new(
        move || (search.get(), page.get()),
        |(q, p)| list_users(q, p),
    );
    view! {
        <h1>"Users"</h1>
        <div class="toolbar">
            <Form method="GET" action="/users">
                <label for="user-search">"Search users"</label>
                <input id="user-search" type="search" name="q" prop:value=move || search.get() />
                <button type="submit">"Search"</button>
            </Form>
        </div>
        <Transition fallback=|| view! { <p>"Loading users…"</p> }>
            {move || Suspend::new(async move {
                match users.await {
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                    Ok(page) => {
                        let pages = page.page_count();
                        view! {
                            <table>
                                <caption>"Users"</caption>
                                <thead>
                                    <tr>
                                        <th scope="col">"Username"</th>
                                        <th scope="col">"First name"</th>
                                        <th scope="col">"Last name"</th>
                                        <th scope="col">"Email"</th>
                                        <th scope="col">"Status"</th>
                                        <th scope="col" class="num">"Segments"</th>
                                        <th scope="col">"Profile"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {page.items.into_iter().map(|u| view! {
                                        <tr>
                                            <td><a href=format!("/users/{}", u.id)>{u.username}</a></td>
                                            <td>{u.firstname}</td>
                                            <td>{u.lastname}</td>
                                            <td>{u.email}</td>
                                            <td>{if u.suspended { "Suspended" } else { "Active" }}</td>
                                            <td class="num">{u.segments}</td>
                                            <td>{u.profile.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("; ")}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            {(page.total == 0).then(|| view! { <p>"No users match."</p> })}
                            <Pager base="/users".into() search=search.get_untracked() page=page.page pages total=page.total noun="users" />
                        }
                        .into_any()
                    }
                }
            })}
        </Transition>
    }
}
