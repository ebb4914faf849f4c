//! Create and edit a segment: one set of fields, two forms.
use super::segment_id;
use crate::components::ErrorMessage;
use crate::segments::{get_segment, CreateSegment, UpdateSegment};
use leptos::prelude::*;

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
    let id = segment_id();
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
