//! A segment's members: the segment's header, add by username (with suggestions), search,
//! remove. Every resource reads the add and remove actions' versions, so a change refetches.
use super::segment_id;
use crate::components::{use_page_and_search, ErrorMessage, Pager};
use crate::segments::{get_segment, list_members, AddMember, RemoveMember};
use leptos::prelude::*;
use leptos_router::components::{Form, A};

#[component]
pub fn SegmentMembersPage() -> impl IntoView {
    let id = segment_id();
    let (page, search) = use_page_and_search();
    let add = ServerAction::<AddMember>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let changes = move || (add.version().get(), remove.version().get());
    let segment = Resource::new(move || (id.get(), changes()), |(id, _)| get_segment(id));
    let members = Resource::new(
        move || (id.get(), search.get(), page.get(), changes()),
        |(id, q, p, _)| list_members(id, q, p),
    );
    let typed = RwSignal::new(String::new());
    let suggestions = Resource::new(
        move || typed.get(),
        |prefix| async move {
            if prefix.trim().is_empty() {
                Ok(Vec::new())
            } else {
                crate::users::suggest_users(prefix).await
            }
        },
    );
    Effect::new(move |_| {
        if let Some(Ok(_)) = add.value().get() {
            typed.set(String::new());
        }
    });

    view! {
        <Suspense fallback=|| view! { <h1>"Segment"</h1> }>
            {move || Suspend::new(async move {
                match segment.await {
                    Err(e) => view! { <h1>"Segment"</h1> <ErrorMessage error=e /> }.into_any(),
                    Ok(seg) => view! {
                        <h1>{format!("Segment: {}", seg.name)}</h1>
                        <p class="meta">
                            "ID number " <code>{seg.id_number.clone()}</code>
                            {format!(" · {} members", seg.members)}
                            " · " <A href=format!("/segments/{}/edit", seg.id)>"Edit segment"</A>
                        </p>
                    }.into_any(),
                }
            })}
        </Suspense>
        <crate::automation::page::SegmentRules id />
        <form
            class="inline"
            on:submit=move |ev| {
                ev.prevent_default();
                add.dispatch(AddMember { segment_id: id.get_untracked(), username: typed.get_untracked() });
            }
        >
            <label for="member-username">"Username"</label>
            <input
                id="member-username"
                type="text"
                list="user-suggestions"
                autocomplete="off"
                required
                prop:value=move || typed.get()
                on:input=move |ev| typed.set(event_target_value(&ev))
            />
            <datalist id="user-suggestions">
                <Transition>
                    {move || Suspend::new(async move {
                        suggestions.await.unwrap_or_default().into_iter()
                            .map(|u| view! { <option value=u.clone()></option> })
                            .collect_view()
                    })}
                </Transition>
            </datalist>
            <button type="submit" disabled=move || add.pending().get()>"Add member"</button>
        </form>
        {move || add.value().get().map(|r| match r {
            Ok(msg) => view! { <p class="ok" role="status">{msg}</p> }.into_any(),
            Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
        })}
        {move || remove.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorMessage error=e /> })}
        <Form method="GET" action="">
            <label for="member-search">"Search members"</label>
            <input id="member-search" type="search" name="q" prop:value=move || search.get() />
            <button type="submit">"Search"</button>
        </Form>
        <Transition fallback=|| view! { <p>"Loading members…"</p> }>
            {move || Suspend::new(async move {
                match members.await {
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                    Ok(page) => {
                        let pages = page.page_count();
                        let segment_id = id.get_untracked();
                        view! {
                            <table>
                                <caption>"Members"</caption>
                                <thead>
                                    <tr>
                                        <th scope="col">"Username"</th>
                                        <th scope="col">"Full name"</th>
                                        <th scope="col">"Email"</th>
                                        <th scope="col">"Actions"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {page.items.into_iter().map(|m| {
                                        let user_id = m.user_id;
                                        view! {
                                            <tr>
                                                <td>{m.username.clone()}</td>
                                                <td>{m.fullname}</td>
                                                <td>{m.email}</td>
                                                <td>
                                                    <button
                                                        aria-label=format!("Remove {} from the segment", m.username)
                                                        on:click=move |_| { remove.dispatch(RemoveMember { segment_id, user_id }); }
                                                    >
                                                        "Remove"
                                                    </button>
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                            {(page.total == 0).then(|| view! { <p>"No members yet."</p> })}
                            <Pager base=format!("/segments/{segment_id}") search=search.get_untracked() page=page.page pages total=page.total noun="members" />
                        }
                        .into_any()
                    }
                }
            })}
        </Transition>
    }
}
