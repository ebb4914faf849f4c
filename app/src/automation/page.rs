//! Pages of automation (SPEC 8): the profile fields (Site admin > User management > Profile
//! fields), a user's profile page with their values, and the rule editor on a segment's page
//! with its preview ("approve changes") and save. Components only.
use super::api::{
    clear_rules, preview_rules, profile_fields, save_rules, segment_rules, set_profile_values,
    user_profile_values, CreateProfileField,
};
use super::rules::{FieldKind, Match, Op, ProfileField, Rule, RuleSet};
use super::types::RulePreview;
use crate::components::ErrorMessage;
use crate::error::AppError;
use crate::upload::OptionValue as _;
use leptos::prelude::*;
use leptos_router::hooks::use_params;
use leptos_router::params::Params;

#[component]
pub fn ProfileFieldsPage() -> impl IntoView {
    let create = ServerAction::<CreateProfileField>::new();
    let fields = Resource::new(move || create.version().get(), |_| profile_fields());
    view! {
        <h1>"Profile fields"</h1>
        <p class="meta">"Custom fields on every user's profile. The bulk upload takes them as profile_field_<shortname> columns, and automated segments filter on them."</p>
        <ActionForm action=create attr:class="stacked">
            <label for="pf-shortname">"Shortname"</label>
            <input id="pf-shortname" name="shortname" type="text" required pattern="[a-z0-9_]+" />
            <label for="pf-name">"Field name"</label>
            <input id="pf-name" name="name" type="text" required />
            <label for="pf-kind">"Type"</label>
            <select id="pf-kind" name="kind">
                {FieldKind::all().iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
            </select>
            <label for="pf-options">"Menu options (one per line)"</label>
            <textarea id="pf-options" name="options" rows="4"></textarea>
            <button type="submit">"Create profile field"</button>
        </ActionForm>
        {move || create.value().get().map(|r| match r {
            Ok(f) => view! { <p class="ok" role="status">{format!("Profile field {} created.", f.shortname)}</p> }.into_any(),
            Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
        })}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match fields.await {
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                    Ok(list) => view! {
                        <table>
                            <caption>"Profile fields"</caption>
                            <thead><tr><th scope="col">"Shortname"</th><th scope="col">"Name"</th><th scope="col">"Type"</th><th scope="col">"Options"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|f| view! {
                                    <tr><td>{f.shortname}</td><td>{f.name}</td><td>{f.kind.label()}</td><td>{f.options.join(", ")}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[derive(Params, PartialEq, Clone)]
struct UserParams {
    id: Option<i32>,
}

/// A user's profile values, each edited with a control that fits its type.
#[component]
pub fn UserProfilePage() -> impl IntoView {
    let params = use_params::<UserParams>();
    let id = Memo::new(move |_| params.with(|p| p.as_ref().ok().and_then(|p| p.id).unwrap_or(0)));
    let save = Action::new(move |values: &Vec<(i32, String)>| {
        let values = values.clone();
        async move { set_profile_values(id.get_untracked(), values).await }
    });
    let data = Resource::new(
        move || (id.get(), save.version().get()),
        |(id, _)| async move {
            Ok::<_, AppError>((profile_fields().await?, user_profile_values(id).await?))
        },
    );
    view! {
        <h1>"User profile"</h1>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                    Ok((fields, values)) if fields.is_empty() => {
                        let _ = values;
                        view! { <p>"No profile fields are defined. " <a href="/profile-fields">"Define them"</a></p> }.into_any()
                    }
                    Ok((fields, values)) => {
                        let edits: Vec<(ProfileField, RwSignal<String>)> = fields.into_iter().map(|f| {
                            let v = values.iter().find(|(id, _)| *id == f.id).map(|(_, v)| v.clone()).unwrap_or_default();
                            (f, RwSignal::new(v))
                        }).collect();
                        let submit = edits.clone();
                        view! {
                            <form class="stacked" on:submit=move |ev| {
                                ev.prevent_default();
                                save.dispatch(submit.iter().map(|(f, v)| (f.id, v.get_untracked())).collect());
                            }>
                                {edits.into_iter().map(|(f, v)| {
                                    let id = format!("pf-{}", f.shortname);
                                    let control = match f.kind {
                                        FieldKind::Menu => view! {
                                            <select id=id.clone() on:change=move |ev| v.set(event_target_value(&ev))>
                                                <option value="" selected=move || v.get().is_empty()>"(none)"</option>
                                                {f.options.iter().map(|o| { let (value, text, o2) = (o.clone(), o.clone(), o.clone()); view! { <option value=value selected=move || v.get() == o2>{text}</option> } }).collect_view()}
                                            </select>
                                        }.into_any(),
                                        FieldKind::Checkbox => view! {
                                            <select id=id.clone() on:change=move |ev| v.set(event_target_value(&ev))>
                                                <option value="" selected=move || v.get().is_empty()>"(none)"</option>
                                                <option value="1" selected=move || v.get() == "1">"Yes"</option>
                                                <option value="0" selected=move || v.get() == "0">"No"</option>
                                            </select>
                                        }.into_any(),
                                        FieldKind::Date => view! { <input id=id.clone() type="date" prop:value=move || v.get() on:input=move |ev| v.set(event_target_value(&ev)) /> }.into_any(),
                                        FieldKind::Text => view! { <input id=id.clone() type="text" prop:value=move || v.get() on:input=move |ev| v.set(event_target_value(&ev)) /> }.into_any(),
                                    };
                                    view! { <label for=id>{f.name.clone()}</label> {control} }
                                }).collect_view()}
                                <button type="submit">"Save profile"</button>
                            </form>
                        }.into_any()
                    }
                }
            })}
        </Transition>
        {move || save.value().get().map(|r| match r {
            Ok(()) => view! { <p class="ok" role="status">"Profile saved. Automated segments were updated."</p> }.into_any(),
            Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
        })}
    }
}

#[derive(Clone, Default, PartialEq)]
struct Line {
    field: String,
    op: String,
    value: String,
}

const BUILTINS: [(&str, FieldKind); 5] = [
    ("username", FieldKind::Text),
    ("email", FieldKind::Text),
    ("firstname", FieldKind::Text),
    ("lastname", FieldKind::Text),
    ("suspended", FieldKind::Checkbox),
];

fn kind_of(field: &str, fields: &[ProfileField]) -> FieldKind {
    BUILTINS
        .iter()
        .find(|(n, _)| *n == field)
        .map(|(_, k)| *k)
        .or_else(|| fields.iter().find(|f| f.shortname == field).map(|f| f.kind))
        .unwrap_or(FieldKind::Text)
}

fn to_rule(l: &Line) -> Rule {
    let value = match l.op.as_str() {
        "in" => serde_json::json!(l
            .value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()),
        "within_last_days" => l
            .value
            .trim()
            .parse::<u64>()
            .map(serde_json::Value::from)
            .unwrap_or(serde_json::json!(l.value)),
        _ => serde_json::json!(l.value),
    };
    Rule {
        field: l.field.clone(),
        op: l.op.clone(),
        value,
    }
}

/// The rule editor of a segment (SPEC 8): match all/any, one line per rule, a preview of who
/// is added and removed (and what follows in courses), then save exactly that.
#[component]
pub fn SegmentRules(id: Memo<i32>) -> impl IntoView {
    let matching = RwSignal::new(Match::All);
    let lines = RwSignal::new(Vec::<Line>::new());
    let preview = RwSignal::new(None::<Result<RulePreview, AppError>>);
    let saved = RwSignal::new(None::<Result<String, AppError>>);
    let version = RwSignal::new(0u32);
    let fields = Resource::new(|| (), |_| profile_fields());
    let stored = Resource::new(
        move || (id.get(), version.get()),
        |(id, _)| segment_rules(id),
    );
    let rules = move || -> RuleSet {
        RuleSet {
            match_: matching.get_untracked(),
            rules: lines.get_untracked().iter().map(to_rule).collect(),
        }
    };
    let do_preview = move || {
        let set = rules();
        saved.set(None);
        preview.set(None);
        leptos::task::spawn_local(async move {
            preview.set(Some(preview_rules(id.get_untracked(), set).await));
        });
    };
    let do_save = move || {
        let Some(Ok(expected)) = preview.get_untracked() else {
            return;
        };
        let set = rules();
        leptos::task::spawn_local(async move {
            match save_rules(id.get_untracked(), set.clone(), expected).await {
                Ok(done) => {
                    saved.set(Some(Ok(format!(
                        "Rules saved: {} added, {} removed.",
                        done.added, done.removed
                    ))));
                    preview.set(None);
                    version.update(|v| *v += 1);
                }
                Err(e) => {
                    // The data changed since the preview: show the new one.
                    saved.set(Some(Err(e)));
                    preview.set(Some(preview_rules(id.get_untracked(), set).await));
                }
            }
        });
    };
    let load = move |set: Option<RuleSet>| {
        if let Some(s) = set {
            matching.set(s.match_);
            lines.set(
                s.rules
                    .iter()
                    .map(|r| Line {
                        field: r.field.clone(),
                        op: r.op.clone(),
                        value: match &r.value {
                            serde_json::Value::String(s) => s.clone(),
                            serde_json::Value::Array(a) => a
                                .iter()
                                .filter_map(|x| x.as_str())
                                .collect::<Vec<_>>()
                                .join(", "),
                            serde_json::Value::Null => String::new(),
                            v => v.to_string(),
                        },
                    })
                    .collect(),
            );
        }
    };
    view! {
        <section aria-labelledby="rules-title">
            <h2 id="rules-title">"Automation"</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let current = stored.await;
                    let automated = matches!(current, Ok(Some(_)));
                    if lines.with_untracked(Vec::is_empty) {
                        load(current.clone().ok().flatten());
                    }
                    view! {
                        <p class="meta">{if automated {
                            "This segment is automated: its members are exactly the users its rules match, kept so as users and profiles change. Members cannot be added or removed by hand."
                        } else {
                            "This segment is manual. Add rules to fill it from users' profiles automatically."
                        }}</p>
                        {automated.then(|| view! {
                            <button on:click=move |_| {
                                leptos::task::spawn_local(async move {
                                    let r = clear_rules(id.get_untracked()).await.map(|_| "The segment is manual again; its members stay.".to_string());
                                    saved.set(Some(r));
                                    lines.set(Vec::new());
                                    version.update(|v| *v += 1);
                                });
                            }>"Make manual"</button>
                        })}
                    }
                })}
            </Transition>
            <div class="choice">
                <label for="rules-match">"Match"</label>
                <select id="rules-match" on:change=move |ev| matching.set(if event_target_value(&ev) == "any" { Match::Any } else { Match::All })>
                    <option value="all" selected=move || matching.get() == Match::All>"All rules"</option>
                    <option value="any" selected=move || matching.get() == Match::Any>"Any rule"</option>
                </select>
            </div>
            <ol class="rules">
                {move || {
                    let f = fields.get().and_then(Result::ok).unwrap_or_default();
                    (0..lines.with(Vec::len)).map(|i| {
                        let line = lines.with(|l| l[i].clone());
                        let n = i + 1;
                        let kind = kind_of(&line.field, &f);
                        let names: Vec<String> = BUILTINS.iter().map(|(n, _)| n.to_string()).chain(f.iter().map(|x| x.shortname.clone())).collect();
                        view! {
                            <li>
                                <label for=format!("rule-{n}-field")>{format!("Rule {n} field")}</label>
                                <select id=format!("rule-{n}-field") on:change=move |ev| { let v = event_target_value(&ev); lines.update(|l| { l[i].field = v; l[i].op = String::new(); }) }>
                                    <option value="" selected=line.field.is_empty()>"(choose)"</option>
                                    {names.into_iter().map(|name| { let sel = name == line.field; let value = name.clone(); view! { <option value=value selected=sel>{name}</option> } }).collect_view()}
                                </select>
                                <label for=format!("rule-{n}-op")>{format!("Rule {n} operator")}</label>
                                <select id=format!("rule-{n}-op") on:change=move |ev| { let v = event_target_value(&ev); lines.update(|l| l[i].op = v) }>
                                    <option value="" selected=line.op.is_empty()>"(choose)"</option>
                                    {Op::allowed(kind).iter().map(|o| { let sel = o.as_str() == line.op; view! { <option value=o.as_str() selected=sel>{o.as_str()}</option> } }).collect_view()}
                                </select>
                                <label for=format!("rule-{n}-value")>{format!("Rule {n} value")}</label>
                                <input id=format!("rule-{n}-value") type="text" prop:value=line.value.clone() on:change=move |ev| { let v = event_target_value(&ev); lines.update(|l| l[i].value = v) } />
                                <button on:click=move |_| lines.update(|l| { l.remove(i); })>{format!("Remove rule {n}")}</button>
                            </li>
                        }
                    }).collect_view()
                }}
            </ol>
            <p class="actions">
                <button on:click=move |_| lines.update(|l| l.push(Line::default()))>"Add rule"</button>
                <button on:click=move |_| do_preview()>"Preview changes"</button>
            </p>
            {move || preview.get().map(|p| match p {
                Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                Ok(p) => {
                    let text = format!(
                        "Saving these rules adds {} users and removes {}; {} enrolments and {} group memberships follow.",
                        p.added, p.removed, p.enrolments_added, p.group_memberships_added
                    );
                    view! {
                        <div role="status" class="preview">
                            <p>{text}</p>
                            {(!p.sample_added.is_empty()).then(|| view! { <p>{format!("Added, for example: {}", p.sample_added.join(", "))}</p> })}
                            {(!p.sample_removed.is_empty()).then(|| view! { <p>{format!("Removed, for example: {}", p.sample_removed.join(", "))}</p> })}
                            <button class="commit" on:click=move |_| do_save()>"Save rules"</button>
                        </div>
                    }.into_any()
                }
            })}
            {move || saved.get().map(|r| match r {
                Ok(m) => view! { <p class="ok" role="status">{m}</p> }.into_any(),
                Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
            })}
        </section>
    }
}
