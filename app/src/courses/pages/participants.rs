//! The participants section: enrol by username (with suggestions), and unenrol, suspend or
//! reactivate a manual enrolment.
use super::CourseActions;
use crate::components::{use_page_and_search, ErrorMessage, Pager};
use crate::courses::{
    course_participants, EnrolUser, EnrolmentStatus, ReactivateParticipant, SuspendParticipant,
    UnenrolUser,
};
use leptos::prelude::*;

#[component]
pub(super) fn Participants(id: Memo<i32>, actions: CourseActions) -> impl IntoView {
    let CourseActions {
        enrol,
        unenrol,
        suspend,
        reactivate,
        ..
    } = actions;
    let (page, _) = use_page_and_search();
    let errors = move || {
        [
            unenrol.value().get().and_then(|r| r.err()),
            suspend.value().get().and_then(|r| r.err()),
            reactivate.value().get().and_then(|r| r.err()),
        ]
        .into_iter()
        .flatten()
        .map(|e| view! { <ErrorMessage error=e /> })
        .collect_view()
    };
    let list = Resource::new(
        move || (id.get(), page.get(), actions.changes()),
        |(c, p, _)| course_participants(c, p),
    );
    let typed = RwSignal::new(String::new());
    let suggestions = Resource::new(
        move || typed.get(),
        |p| async move {
            if p.trim().is_empty() {
                Ok(vec![])
            } else {
                crate::users::suggest_users(p).await
            }
        },
    );
    view! {
        <section id="participants" aria-labelledby="participants-title">
            <h2 id="participants-title">"Participants"</h2>
            <form class="inline" on:submit=move |ev| {
                ev.prevent_default();
                enrol.dispatch(EnrolUser { course_id: id.get_untracked(), username: typed.get_untracked() });
            }>
                <label for="enrol-username">"Username to enrol"</label>
                <input id="enrol-username" type="text" list="enrol-suggestions" autocomplete="off" required
                    prop:value=move || typed.get() on:input=move |ev| typed.set(event_target_value(&ev)) />
                <datalist id="enrol-suggestions">
                    <Transition>
                        {move || Suspend::new(async move {
                            suggestions.await.unwrap_or_default().into_iter().map(|u| view! { <option value=u.clone()></option> }).collect_view()
                        })}
                    </Transition>
                </datalist>
                <button type="submit">"Enrol user"</button>
            </form>
            {move || enrol.value().get().map(|r| match r {
                Ok(m) => view! { <p class="ok" role="status">{m}</p> }.into_any(),
                Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
            })}
            {errors}
            <Transition fallback=|| view! { <p>"Loading participants…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                        Ok(page) => {
                            let pages = page.page_count();
                            let course = id.get_untracked();
                            view! {
                                <table>
                                    <caption>"Participants"</caption>
                                    <thead><tr><th scope="col">"Username"</th><th scope="col">"Full name"</th><th scope="col">"Enrolled through"</th><th scope="col">"Actions"</th></tr></thead>
                                    <tbody>
                                        {page.items.into_iter().map(|p| {
                                            let label = format!("Unenrol {} (manual enrolment)", p.username);
                                            let suspend_label = format!("Suspend {} (manual enrolment)", p.username);
                                            let reactivate_label = format!("Reactivate {} (manual enrolment)", p.username);
                                            let user_id = p.user_id;
                                            // Only the manual enrolment is the admin's to change; methods manage theirs.
                                            let actions = p.manual.map(|status| view! {
                                                <button aria-label=label on:click=move |_| { unenrol.dispatch(UnenrolUser { course_id: course, user_id }); }>"Unenrol"</button>
                                                {match status {
                                                    EnrolmentStatus::Active => view! {
                                                        <button aria-label=suspend_label on:click=move |_| { suspend.dispatch(SuspendParticipant { course_id: course, user_id }); }>"Suspend"</button>
                                                    }.into_any(),
                                                    EnrolmentStatus::Suspended => view! {
                                                        <button aria-label=reactivate_label on:click=move |_| { reactivate.dispatch(ReactivateParticipant { course_id: course, user_id }); }>"Reactivate"</button>
                                                    }.into_any(),
                                                }}
                                            });
                                            view! {
                                                <tr>
                                                    <td>{p.username}</td><td>{p.fullname}</td><td>{p.methods.join("; ")}</td>
                                                    <td class="actions">{actions}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                {(page.total == 0).then(|| view! { <p>"Nobody is enrolled yet."</p> })}
                                <Pager base=format!("/courses/{course}") search=String::new() page=page.page pages total=page.total noun="participants" />
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}
