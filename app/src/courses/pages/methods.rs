//! The enrolment methods section: the course's methods with what they made, delete with a
//! confirm step, and the add-method form.
use super::CourseActions;
use crate::components::ErrorMessage;
use crate::courses::{
    course_groups, course_instances, segment_choices, DeleteEnrolMethod, EnrolMethodKind,
    InstanceRow, RemovalAction, SyncGroup,
};
use leptos::prelude::*;

#[component]
pub(super) fn Methods(id: Memo<i32>, actions: CourseActions) -> impl IntoView {
    let CourseActions {
        add_method: add,
        delete_method: delete,
        ..
    } = actions;
    let instances = Resource::new(
        move || (id.get(), actions.changes()),
        |(c, _)| course_instances(c),
    );
    let groups = Resource::new(
        move || (id.get(), actions.changes()),
        |(c, _)| course_groups(c),
    );
    let segments = Resource::new(|| (), |_| segment_choices());
    let method = RwSignal::new(EnrolMethodKind::SegmentToGroup);
    let confirm = RwSignal::new(None::<InstanceRow>);
    view! {
        <section id="methods" aria-labelledby="methods-title">
            <h2 id="methods-title">"Enrolment methods"</h2>
            {move || confirm.get().map(|i| {
                let iid = i.id;
                view! {
                    <div class="confirm" role="alertdialog" aria-labelledby="method-confirm">
                        <h3 id="method-confirm">{format!("Delete “{}”?", i.label)}</h3>
                        <p>{format!("This removes the {} enrolments and {} group memberships this method made. Manual enrolments and memberships stay.", i.enrolments, i.group_memberships)}</p>
                        <button class="danger" on:click=move |_| { delete.dispatch(DeleteEnrolMethod { instance_id: iid }); confirm.set(None); }>"Confirm delete method"</button>
                        <button on:click=move |_| confirm.set(None)>"Cancel"</button>
                    </div>
                }
            })}
            <Transition fallback=|| view! { <p>"Loading methods…"</p> }>
                {move || Suspend::new(async move {
                    match instances.await {
                        Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                        Ok(list) => view! {
                            <table>
                                <caption>"Enrolment methods"</caption>
                                <thead><tr><th scope="col">"Method"</th><th scope="col">"On removal"</th><th scope="col" class="num">"Enrolments"</th><th scope="col" class="num">"Group memberships"</th><th scope="col">"Actions"</th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|i| {
                                        let row = i.clone();
                                        let label = format!("Delete {}", i.label);
                                        view! {
                                            <tr>
                                                <td>{i.label.clone()}</td>
                                                <td>{i.removal_action.map(|r| r.as_str())}</td>
                                                <td class="num">{i.enrolments}</td>
                                                <td class="num">{i.group_memberships}</td>
                                                <td>{(i.kind != EnrolMethodKind::Manual).then(|| view! {
                                                    <button aria-label=label on:click=move |_| confirm.set(Some(row.clone()))>"Delete"</button>
                                                })}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
            <h3>"Add method"</h3>
            <ActionForm action=add attr:class="form">
                <input type="hidden" name="course_id" prop:value=move || id.get() />
                <label for="method">"Method"</label>
                <select
                    id="method"
                    name="method"
                    on:change=move |ev| {
                        if let Ok(kind) = event_target_value(&ev).parse() {
                            method.set(kind);
                        }
                    }
                >
                    <option value=EnrolMethodKind::SegmentToGroup.as_str()>"User segment members to group"</option>
                    <option value=EnrolMethodKind::SegmentSync.as_str()>"User segment sync"</option>
                </select>
                <label for="method-segment">"User segment"</label>
                <select id="method-segment" name="segment_id" required>
                    <Transition>
                        {move || Suspend::new(async move {
                            segments.await.unwrap_or_default().into_iter().map(|s| view! { <option value=s.id>{s.label}</option> }).collect_view()
                        })}
                    </Transition>
                </select>
                <label for="method-group">"Group"</label>
                <select id="method-group" name="group">
                    {move || (method.get() == EnrolMethodKind::SegmentSync).then(|| view! {
                        <option value=SyncGroup::None.to_string()>"No group"</option>
                        <option value=SyncGroup::NamedAfterSegment.to_string()>"Create a new group named after the segment"</option>
                    })}
                    <Transition>
                        {move || Suspend::new(async move {
                            groups.await.unwrap_or_default().into_iter().map(|g| view! { <option value=SyncGroup::Existing(g.id).to_string()>{g.name}</option> }).collect_view()
                        })}
                    </Transition>
                </select>
                <label for="method-removal">"When a member leaves the segment"</label>
                <select id="method-removal" name="removal" disabled=move || method.get() != EnrolMethodKind::SegmentSync>
                    <option value=RemovalAction::Unenrol.as_str()>"Unenrol from the course"</option>
                    <option value=RemovalAction::Suspend.as_str()>"Keep the enrolment, suspended"</option>
                </select>
                <button type="submit">"Add method"</button>
            </ActionForm>
            {move || add.value().get().map(|r| match r {
                Ok(m) => view! { <p class="ok" role="status">{m}</p> }.into_any(),
                Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
            })}
            {move || delete.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorMessage error=e /> })}
        </section>
    }
    .into_any()
}
