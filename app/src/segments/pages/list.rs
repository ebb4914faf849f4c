//! The segments list: search, pages, and delete with a confirm step.
use crate::components::{use_page_and_search, ErrorMessage, Pager};
use crate::segments::{list_segments, DeleteSegment, SegmentSummary};
use leptos::prelude::*;
use leptos_router::components::{Form, A};

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
                                        <th scope="col">"Membership"</th>
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
                                                <td>{if seg.automated { "Automated" } else { "Manual" }}</td>
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
