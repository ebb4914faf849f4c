//! User segments (site-wide cohorts): listing, create / edit / delete, and members.
use crate::components::{use_page_and_search, ErrorMessage, Pager};
use crate::domain::{MemberRow, Page, SegmentSummary};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::components::{Form, A};
use leptos_router::hooks::use_params_map;

#[cfg(feature = "ssr")]
pub mod service;

pub const PER_PAGE: u64 = 25;

#[server(prefix = "/api", endpoint = "list_segments")]
pub async fn list_segments(search: String, page: u64) -> Result<Page<SegmentSummary>, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    service::Query::list(&db, &search, page, PER_PAGE).await
}

#[server(prefix = "/api", endpoint = "get_segment")]
pub async fn get_segment(id: i32) -> Result<SegmentSummary, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    service::Query::get(&db, id).await
}

#[server(prefix = "/api", endpoint = "create_segment")]
pub async fn create_segment(
    id_number: String,
    name: String,
    description: String,
    visible: Option<String>,
) -> Result<(), AppError> {
    let (db, admin) = crate::ssr::admin_db().await?;
    let draft =
        crate::domain::SegmentDraft::parse(&id_number, &name, &description, visible.is_some())
            .map_err(AppError::Invalid)?;
    let id = service::Mutation::create(&db, &draft).await?;
    tracing::info!(admin = %admin.username, segment = %draft.id_number, "segment created");
    leptos_axum::redirect(&format!("/segments/{id}"));
    Ok(())
}

#[server(prefix = "/api", endpoint = "update_segment")]
pub async fn update_segment(
    id: i32,
    id_number: String,
    name: String,
    description: String,
    visible: Option<String>,
) -> Result<(), AppError> {
    let (db, admin) = crate::ssr::admin_db().await?;
    let draft =
        crate::domain::SegmentDraft::parse(&id_number, &name, &description, visible.is_some())
            .map_err(AppError::Invalid)?;
    service::Mutation::update(&db, id, &draft).await?;
    tracing::info!(admin = %admin.username, segment = %draft.id_number, "segment updated");
    leptos_axum::redirect("/segments");
    Ok(())
}

#[server(prefix = "/api", endpoint = "delete_segment")]
pub async fn delete_segment(id: i32) -> Result<(), AppError> {
    use sea_orm::TransactionTrait;
    let (db, admin) = crate::ssr::admin_db().await?;
    let txn = db.begin().await?;
    // Waits for an upload being committed, so the two never interleave.
    crate::db::lock_for_write(&txn).await?;
    service::Mutation::delete(&txn, id).await?;
    txn.commit().await?;
    tracing::info!(admin = %admin.username, segment = id, "segment deleted");
    Ok(())
}

#[server(prefix = "/api", endpoint = "list_members")]
pub async fn list_members(
    segment_id: i32,
    search: String,
    page: u64,
) -> Result<Page<MemberRow>, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    service::Query::members(&db, segment_id, &search, page, PER_PAGE).await
}

#[server(prefix = "/api", endpoint = "add_member")]
pub async fn add_member(segment_id: i32, username: String) -> Result<String, AppError> {
    let (db, admin) = crate::ssr::admin_db().await?;
    let txn = crate::sync::begin(&db).await?;
    let outcome = service::Mutation::add_member_by_username(&txn, segment_id, &username).await?;
    txn.commit().await?;
    let name = username.trim().to_lowercase();
    tracing::info!(admin = %admin.username, segment = segment_id, user = %name, ?outcome, "add member");
    Ok(match outcome {
        service::AddMemberOutcome::Added => format!("Added {name} to the segment."),
        service::AddMemberOutcome::AlreadyMember => format!("{name} is already a member."),
    })
}

#[server(prefix = "/api", endpoint = "remove_member")]
pub async fn remove_member(segment_id: i32, user_id: i32) -> Result<(), AppError> {
    let (db, admin) = crate::ssr::admin_db().await?;
    let txn = crate::sync::begin(&db).await?;
    let removed = service::Mutation::remove_members(&txn, segment_id, &[user_id]).await?;
    txn.commit().await?;
    if removed == 0 {
        return Err(AppError::NotFound("That membership".into()));
    }
    tracing::info!(admin = %admin.username, segment = segment_id, user = user_id, "member removed");
    Ok(())
}

#[component]
pub fn SegmentsPage() -> impl IntoView {
    let (page, search) = use_page_and_search();
    let delete = ServerAction::<DeleteSegment>::new();
    let segments = Resource::new(
        move || (search.get(), page.get(), delete.version().get()),
        |(q, p, _)| list_segments(q, p),
    );
    let to_delete = RwSignal::new(None::<SegmentSummary>);

    let confirm = move || {
        to_delete.get().map(|seg| {
            let id = seg.id;
            view! {
                <div class="confirm" role="alertdialog" aria-labelledby="confirm-title" aria-describedby="confirm-text">
                    <h2 id="confirm-title">{format!("Delete segment “{}”?", seg.name)}</h2>
                    <p id="confirm-text">
                        {format!(
                            "Segment {} and its {} memberships will be removed, with any enrolment methods that use it. This cannot be undone.",
                            seg.id_number,
                            seg.members,
                        )}
                    </p>
                    <button
                        class="danger"
                        on:click=move |_| {
                            delete.dispatch(DeleteSegment { id });
                            to_delete.set(None);
                        }
                    >
                        "Confirm delete"
                    </button>
                    <button on:click=move |_| to_delete.set(None)>"Cancel"</button>
                </div>
            }
        })
    };

    view! {
        <h1>"User segments"</h1>
        <div class="toolbar">
            <Form method="GET" action="/segments">
                <label for="segment-search">"Search segments"</label>
                <input id="segment-search" type="search" name="q" prop:value=move || search.get() />
                <button type="submit">"Search"</button>
            </Form>
            <A href="/segments/new" attr:class="button">"Create segment"</A>
        </div>
        {confirm}
        {move || delete.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorMessage error=e /> })}
        <Transition fallback=|| view! { <p>"Loading segments…"</p> }>
            {move || Suspend::new(async move {
                match segments.await {
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                    Ok(page) => {
                        let pages = page.page_count();
                        view! {
                            <table>
                                <caption>"User segments"</caption>
                                <thead>
                                    <tr>
                                        <th scope="col">"ID number"</th>
                                        <th scope="col">"Name"</th>
                                        <th scope="col">"Visible"</th>
                                        <th scope="col" class="num">"Members"</th>
                                        <th scope="col">"Actions"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {page.items.into_iter().map(|seg| {
                                        let row = seg.clone();
                                        let edit_label = format!("Edit segment {}", seg.name);
                                        let delete_label = format!("Delete segment {}", seg.name);
                                        view! {
                                            <tr>
                                                <td><code>{seg.id_number.clone()}</code></td>
                                                <td><A href=format!("/segments/{}", seg.id)>{seg.name}</A></td>
                                                <td>{if seg.visible { "Yes" } else { "No" }}</td>
                                                <td class="num">{seg.members}</td>
                                                <td class="actions">
                                                    <A href=format!("/segments/{}/edit", seg.id) attr:aria-label=edit_label>"Edit"</A>
                                                    <button
                                                        aria-label=delete_label
                                                        on:click=move |_| to_delete.set(Some(row.clone()))
                                                    >
                                                        "Delete"
                                                    </button>
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                            {(page.total == 0).then(|| view! { <p>"No segments match."</p> })}
                            <Pager base="/segments".into() search=search.get_untracked() page=page.page pages total=page.total noun="segments" />
                        }
                        .into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn SegmentFields(
    id_number: String,
    name: String,
    description: String,
    visible: bool,
) -> impl IntoView {
    view! {
        <label for="id_number">"ID number"</label>
        <input id="id_number" name="id_number" type="text" required maxlength="100" value=id_number />
        <label for="name">"Name"</label>
        <input id="name" name="name" type="text" required maxlength="254" value=name />
        <label for="description">"Description"</label>
        <textarea id="description" name="description" rows="3">{description}</textarea>
        <label class="check">
            <input type="checkbox" name="visible" checked=visible />
            "Visible"
        </label>
    }
}

#[component]
pub fn NewSegmentPage() -> impl IntoView {
    let create = ServerAction::<CreateSegment>::new();
    view! {
        <h1>"Create segment"</h1>
        <ActionForm action=create attr:class="form">
            <SegmentFields id_number=String::new() name=String::new() description=String::new() visible=true />
            <button type="submit" disabled=move || create.pending().get()>"Save segment"</button>
        </ActionForm>
        {move || create.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorMessage error=e /> })}
    }
}

#[component]
pub fn EditSegmentPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| {
        params
            .read()
            .get("id")
            .and_then(|s| s.parse::<i32>().ok())
            .unwrap_or(0)
    });
    let update = ServerAction::<UpdateSegment>::new();
    let segment = Resource::new(move || id.get(), get_segment);
    view! {
        <h1>"Edit segment"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match segment.await {
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                    Ok(seg) => view! {
                        <ActionForm action=update attr:class="form">
                            <input type="hidden" name="id" value=seg.id />
                            <SegmentFields id_number=seg.id_number name=seg.name description=seg.description visible=seg.visible />
                            <button type="submit" disabled=move || update.pending().get()>"Save segment"</button>
                        </ActionForm>
                    }.into_any(),
                }
            })}
        </Suspense>
        {move || update.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorMessage error=e /> })}
    }
}

#[component]
pub fn SegmentMembersPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| {
        params
            .read()
            .get("id")
            .and_then(|s| s.parse::<i32>().ok())
            .unwrap_or(0)
    });
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
