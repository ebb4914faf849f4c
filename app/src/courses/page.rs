//! Course pages: the list, create / edit, and a course's participants, groups and enrolment
//! methods (where "User segment members to group" and "User segment sync" are added).
use super::*;
use crate::components::{use_page_and_search, ErrorMessage, Pager};
use leptos_router::components::{Form, A};
use leptos_router::hooks::use_params_map;

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

fn course_id() -> Memo<i32> {
    let params = use_params_map();
    Memo::new(move |_| {
        params
            .read()
            .get("id")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    })
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

#[component]
pub fn CoursePage() -> impl IntoView {
    let id = course_id();
    let course = Resource::new(move || id.get(), get_course);
    // Any change on the page refreshes every section: sync effects cross them.
    let version = RwSignal::new(0u32);
    view! {
        <Suspense fallback=|| view! { <h1>"Course"</h1> }>
            {move || Suspend::new(async move {
                match course.await {
                    Err(e) => view! { <h1>"Course"</h1> <ErrorMessage error=e /> }.into_any(),
                    Ok(c) => view! {
                        <h1>{format!("Course: {}", c.fullname)}</h1>
                        <p class="meta">"Short name " <code>{c.shortname.clone()}</code> " · " <A href=format!("/courses/{}/edit", c.id)>"Edit course"</A></p>
                    }.into_any(),
                }
            })}
        </Suspense>
        <nav class="sections" aria-label="Course sections">
            <ul>
                <li><a href="#participants">"Participants"</a></li>
                <li><a href="#groups">"Groups"</a></li>
                <li><a href="#methods">"Enrolment methods"</a></li>
            </ul>
        </nav>
        <Participants id version />
        <Groups id version />
        <Methods id version />
    }
}

#[component]
fn Participants(id: Memo<i32>, version: RwSignal<u32>) -> impl IntoView {
    let enrol = ServerAction::<EnrolUser>::new();
    let unenrol = ServerAction::<UnenrolUser>::new();
    let suspend = ServerAction::<SuspendParticipant>::new();
    let reactivate = ServerAction::<ReactivateParticipant>::new();
    let (page, _) = use_page_and_search();
    Effect::new(move |_| {
        enrol.version().get();
        unenrol.version().get();
        suspend.version().get();
        reactivate.version().get();
        version.update(|v| *v += 1);
    });
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
        move || (id.get(), page.get(), version.get()),
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
                                                    ManualStatus::Active => view! {
                                                        <button aria-label=suspend_label on:click=move |_| { suspend.dispatch(SuspendParticipant { course_id: course, user_id }); }>"Suspend"</button>
                                                    }.into_any(),
                                                    ManualStatus::Suspended => view! {
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

#[component]
fn Groups(id: Memo<i32>, version: RwSignal<u32>) -> impl IntoView {
    let add = ServerAction::<AddCourseGroup>::new();
    let rename = ServerAction::<RenameCourseGroup>::new();
    let delete = ServerAction::<DeleteCourseGroup>::new();
    let add_member = ServerAction::<AddGroupMember>::new();
    let remove_member = ServerAction::<RemoveGroupMember>::new();
    Effect::new(move |_| {
        add.version().get();
        rename.version().get();
        delete.version().get();
        add_member.version().get();
        remove_member.version().get();
        version.update(|v| *v += 1);
    });
    let groups = Resource::new(move || (id.get(), version.get()), |(c, _)| course_groups(c));
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

#[component]
fn Methods(id: Memo<i32>, version: RwSignal<u32>) -> impl IntoView {
    let add = ServerAction::<AddEnrolMethod>::new();
    let delete = ServerAction::<DeleteEnrolMethod>::new();
    Effect::new(move |_| {
        add.version().get();
        delete.version().get();
        version.update(|v| *v += 1);
    });
    let instances = Resource::new(
        move || (id.get(), version.get()),
        |(c, _)| course_instances(c),
    );
    let groups = Resource::new(move || (id.get(), version.get()), |(c, _)| course_groups(c));
    let segments = Resource::new(|| (), |_| segment_choices());
    let method = RwSignal::new(SEGMENT_TO_GROUP.to_string());
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
                                                <td>{i.removal_action.clone().unwrap_or_default()}</td>
                                                <td class="num">{i.enrolments}</td>
                                                <td class="num">{i.group_memberships}</td>
                                                <td>{(i.kind != MANUAL).then(|| view! {
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
                <select id="method" name="method" on:change=move |ev| method.set(event_target_value(&ev))>
                    <option value=SEGMENT_TO_GROUP>"User segment members to group"</option>
                    <option value=SEGMENT_SYNC>"User segment sync"</option>
                </select>
                <label for="method-segment">"User segment"</label>
                <select id="method-segment" name="segment_id" required>
                    <Transition>
                        {move || Suspend::new(async move {
                            segments.await.unwrap_or_default().into_iter().map(|(sid, name)| view! { <option value=sid>{name}</option> }).collect_view()
                        })}
                    </Transition>
                </select>
                <label for="method-group">"Group"</label>
                <select id="method-group" name="group">
                    {move || (method.get() == SEGMENT_SYNC).then(|| view! {
                        <option value="">"No group"</option>
                        <option value="new">"Create a new group named after the segment"</option>
                    })}
                    <Transition>
                        {move || Suspend::new(async move {
                            groups.await.unwrap_or_default().into_iter().map(|g| view! { <option value=g.id>{g.name}</option> }).collect_view()
                        })}
                    </Transition>
                </select>
                <label for="method-removal">"When a member leaves the segment"</label>
                <select id="method-removal" name="removal" disabled=move || method.get() != SEGMENT_SYNC>
                    <option value="unenrol">"Unenrol from the course"</option>
                    <option value="suspend">"Keep the enrolment, suspended"</option>
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

#[cfg(test)]
mod tests {
    use super::*;

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
