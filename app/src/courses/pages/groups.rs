//! The groups section: add, rename and delete groups (with a confirm step that says what goes),
//! and add or remove members by hand.
use super::CourseActions;
use crate::components::ErrorMessage;
use crate::courses::{course_groups, DeleteCourseGroup, GroupRow, RemoveGroupMember};
use leptos::prelude::*;

#[component]
pub(super) fn Groups(
    id: Memo<i32>,
    actions: CourseActions,
    course: Resource<Result<crate::courses::CourseRow, crate::error::AppError>>,
) -> impl IntoView {
    let CourseActions {
        add_group: add,
        rename_group: rename,
        delete_group: delete,
        add_member,
        remove_member,
        ..
    } = actions;
    let groups = Resource::new(
        move || (id.get(), actions.changes()),
        |(c, _)| course_groups(c),
    );
    let errors = move || {
        [
            add.value().get().and_then(|r| r.err()),
            rename.value().get().and_then(|r| r.err()),
            delete.value().get().and_then(|r| r.err()),
            add_member.value().get().and_then(|r| r.err()),
            remove_member.value().get().and_then(|r| r.err()),
        ]
        .into_iter()
        .flatten()
        .map(|e| view! { <ErrorMessage error=e /> })
        .collect_view()
    };
    let confirm = RwSignal::new(None::<GroupRow>);
    view! {
        <section id="groups" aria-labelledby="groups-title">
            <h2 id="groups-title">"Groups"</h2>
            // The article's step 2 "in bulk": the group imports, with this course filled in.
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    course.await.ok().map(|c| {
                        let q = crate::components::encode_query(&c.shortname);
                        view! {
                            <p class="meta">
                                <a href=format!("/import/groups?course={q}")>"Bulk create course groups"</a>
                                " · "
                                <a href=format!("/import/group-members?course={q}")>"Bulk add users to course groups"</a>
                            </p>
                        }
                    })
                })}
            </Suspense>
            <ActionForm action=add attr:class="inline">
                <input type="hidden" name="course_id" prop:value=move || id.get() />
                <label for="new-group">"New group name"</label>
                <input id="new-group" name="name" type="text" required />
                <button type="submit">"Add group"</button>
            </ActionForm>
            {errors}
            {move || confirm.get().map(|g| {
                let gid = g.id;
                view! {
                    <div class="confirm" role="alertdialog" aria-labelledby="group-confirm" aria-describedby="group-confirm-text">
                        <h3 id="group-confirm">{format!("Delete group “{}”?", g.name)}</h3>
                        <p id="group-confirm-text">{group_deletion_text(&g)}</p>
                        <button class="danger" on:click=move |_| { delete.dispatch(DeleteCourseGroup { group_id: gid }); confirm.set(None); }>"Confirm delete group"</button>
                        <button on:click=move |_| confirm.set(None)>"Cancel"</button>
                    </div>
                }
            })}
            <Transition fallback=|| view! { <p>"Loading groups…"</p> }>
                {move || Suspend::new(async move {
                    match groups.await {
                        Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p>"No groups yet."</p> }.into_any(),
                        Ok(list) => list.into_iter().map(|g| {
                            let gid = g.id;
                            let row = g.clone();
                            let n = g.members.len();
                            let field = format!("add-to-{gid}");
                            let rename_field = format!("rename-{gid}");
                            let caption = format!("Group: {} ({} members)", g.name, n);
                            let add_label = format!("Add user to {}", g.name);
                            let rename_label = format!("New name for {}", g.name);
                            let delete_label = format!("Delete group {}", g.name);
                            view! {
                                <div class="group">
                                    <table>
                                        <caption>{caption}</caption>
                                        <thead><tr><th scope="col">"Username"</th><th scope="col">"Added by"</th><th scope="col">"Actions"</th></tr></thead>
                                        <tbody>
                                            {g.members.into_iter().map(|m| {
                                                let uid = m.user_id;
                                                let label = format!("Remove {} from group {}", m.username, g.name);
                                                view! {
                                                    <tr>
                                                        <td>{m.username}</td><td>{m.origin}</td>
                                                        <td>{m.manual.then(|| view! {
                                                            <button aria-label=label on:click=move |_| { remove_member.dispatch(RemoveGroupMember { group_id: gid, user_id: uid }); }>"Remove"</button>
                                                        })}</td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                    <ActionForm action=add_member attr:class="inline">
                                        <input type="hidden" name="group_id" value=gid />
                                        <label for=field.clone()>{add_label}</label>
                                        <input id=field name="username" type="text" required />
                                        <button type="submit">"Add to group"</button>
                                    </ActionForm>
                                    <ActionForm action=rename attr:class="inline">
                                        <input type="hidden" name="group_id" value=gid />
                                        <label for=rename_field.clone()>{rename_label}</label>
                                        <input id=rename_field name="name" type="text" required />
                                        <button type="submit">"Rename"</button>
                                        <button type="button" class="danger" on:click=move |_| confirm.set(Some(row.clone()))>{delete_label}</button>
                                    </ActionForm>
                                </div>
                            }
                        }).collect_view().into_any(),
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}

/// What deleting a group takes with it (`service::delete_group` does exactly this). Worded so
/// that no verb has to agree with a count.
fn group_deletion_text(g: &GroupRow) -> String {
    let count = |n: i64, noun: &str| format!("{n} {noun}{}", if n == 1 { "" } else { "s" });
    let mut text = format!(
        "Its {} will leave it.",
        count(g.members.len() as i64, "member")
    );
    if g.members_to_group_methods > 0 {
        text.push_str(&format!(
            " Deleting this group also deletes {} filling it, and their memberships.",
            count(
                g.members_to_group_methods,
                "“User segment members to group” method"
            )
        ));
    }
    if g.sync_methods > 0 {
        text.push_str(&format!(
            " {} putting members in it will keep enrolling, with no group.",
            count(g.sync_methods, "“User segment sync” method")
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::courses::GroupMemberRow;

    fn group(members: usize, to_group: i64, sync: i64) -> GroupRow {
        GroupRow {
            id: 1,
            name: "Team".into(),
            members: (0..members as i32)
                .map(|i| GroupMemberRow {
                    user_id: i,
                    username: format!("u{i}"),
                    origin: "Added by hand".into(),
                    manual: true,
                })
                .collect(),
            members_to_group_methods: to_group,
            sync_methods: sync,
        }
    }

    #[test]
    fn the_group_deletion_confirm_counts_what_goes_and_what_stays() {
        assert_eq!(
            group_deletion_text(&group(1, 0, 0)),
            "Its 1 member will leave it."
        );
        assert_eq!(
            group_deletion_text(&group(2, 1, 2)),
            "Its 2 members will leave it. Deleting this group also deletes 1 “User segment members \
             to group” method filling it, and their memberships. 2 “User segment sync” methods \
             putting members in it will keep enrolling, with no group."
        );
    }
}
