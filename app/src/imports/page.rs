//! The four import pages of SPEC 7 ("Bulk create user segments", "Bulk create course groups",
//! "Bulk add users to course groups", "Bulk enrol users into courses"): one component for every
//! kind, as one engine serves them. Components only; the steps are `state.rs`.
use super::report::report_csv;
use super::state::{Analysis, ImportState};
use super::types::Effects;
use super::validate::{ImportSummary, Report, RowResult, TargetBar};
use super::{ImportKind, ImportMode, NotEnrolled};
use crate::components::{encode_query, thousands, ErrorMessage};
use crate::upload::browser::download;
use crate::upload::page::{delimiter_label, FilePicker, Loaded, OptionChoice, Phase, ProgressView};
use crate::upload::{DelimiterChoice, EncodingChoice, OptionValue as _};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use std::sync::Arc;

fn title_case(key: &str) -> String {
    let text = key.replace('_', " ");
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

/// What the page says the file holds.
fn intro(kind: ImportKind) -> &'static str {
    match kind {
        ImportKind::Segments => "Create user segments from a CSV file: idnumber and name columns, optional description and visible (1/0, yes/no, true/false).",
        ImportKind::Groups => "Create course groups from a CSV file: course (its short name) and groupname columns, optional groupidnumber and description.",
        ImportKind::GroupMembers => "Add users to course groups from a CSV file: username and course columns, then group1, group2, … holding group names of that course.",
        ImportKind::Enrolments => "Enrol users into courses from a CSV file: a username column, then course1, course2, … (short names) with optional status1, status2, … (active or suspended). Members of a segment that a \"User segment members to group\" method follows join its group as they enrol.",
    }
}

#[component]
pub fn ImportSegmentsPage() -> impl IntoView {
    view! { <ImportPage kind=ImportKind::Segments /> }
}

#[component]
pub fn ImportGroupsPage() -> impl IntoView {
    view! { <ImportPage kind=ImportKind::Groups /> }
}

#[component]
pub fn ImportGroupMembersPage() -> impl IntoView {
    view! { <ImportPage kind=ImportKind::GroupMembers /> }
}

#[component]
pub fn ImportEnrolmentsPage() -> impl IntoView {
    view! { <ImportPage kind=ImportKind::Enrolments /> }
}

#[component]
fn ImportPage(kind: ImportKind) -> impl IntoView {
    let state = ImportState::new(kind);
    let ImportState {
        options,
        file,
        analysis,
        phase,
        committed,
        ..
    } = state;
    // A course's Groups section links here with its short name: the template comes filled in.
    let query = use_query_map();
    let course = move || {
        query
            .with(|q| q.get("course"))
            .filter(|c| !c.trim().is_empty())
    };
    let template_href = move || {
        format!(
            "data:text/csv;charset=utf-8,{}",
            encode_query(&kind.template_for(course().as_deref()))
        )
    };
    let template_name = format!("{}-template.csv", <&str>::from(kind));
    let committing = Signal::derive(move || phase.with(Phase::is_committing));
    let done = move || matches!(committed.get(), Some(Ok(_)));
    let title = kind.label();

    view! {
        <h1>{title}</h1>
        <p class="meta">
            {intro(kind)}" "
            <a href=template_href download=template_name.clone()>"Download the template CSV"</a>
        </p>
        {move || course().map(|c| view! {
            <p class="meta">{format!("For course {c}: the template has it in its course column.")}</p>
        })}
        <FilePicker
            on_file=move |f: Loaded| state.choose(f)
            chosen=Signal::derive(move || file.get().map(|f| f.name))
            disabled=committing
        />
        <fieldset class="options">
            <legend>"Options"</legend>
            {kind.has_mode().then(|| view! {
                <OptionChoice label="Existing ones" id="import-mode" value=Signal::derive(move || options.get().mode) disabled=committing
                    on_change=Callback::new(move |v: ImportMode| { options.update(|o| o.mode = v); state.revalidate(); }) />
            })}
            {(kind == ImportKind::GroupMembers).then(|| view! {
                <OptionChoice label="Users not enrolled in the course" id="not-enrolled" value=Signal::derive(move || options.get().not_enrolled) disabled=committing
                    on_change=Callback::new(move |v: NotEnrolled| { options.update(|o| o.not_enrolled = v); state.revalidate(); }) />
            })}
            <OptionChoice label="Delimiter" id="delimiter" value=Signal::derive(move || options.get().delimiter) disabled=committing
                on_change=Callback::new(move |v: DelimiterChoice| { options.update(|o| o.delimiter = v); state.reparse(); }) />
            <OptionChoice label="Encoding" id="encoding" value=Signal::derive(move || options.get().encoding) disabled=committing
                on_change=Callback::new(move |v: EncodingChoice| { options.update(|o| o.encoding = v); state.reparse(); }) />
        </fieldset>
        <ProgressView phase />
        {move || match analysis.get() {
            _ if done() => ().into_any(),
            None => ().into_any(),
            Some(Err(message)) => view! {
                <div class="error" role="alert">
                    <strong>"The file cannot be imported: "</strong>{message}" Nothing was changed."
                </div>
            }.into_any(),
            Some(Ok(a)) => view! { <Preview a state kind /> }.into_any(),
        }}
        {move || committed.get().map(|c| match c {
            Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
            Ok(result) => {
                let name = file.get_untracked().map(|f| f.name).unwrap_or_else(|| "import.csv".into());
                let preview = analysis.get_untracked().and_then(Result::ok).map(|a| a.report.summary.clone());
                let differs = preview.is_some_and(|p| {
                    // The preview's effects key comes from the effects call, not validation.
                    let mut p = p;
                    p.counts.remove("group_memberships_added");
                    let mut r = result.summary.clone();
                    r.counts.remove("group_memberships_added");
                    p != r
                });
                let rows = Arc::new(result.rows.clone());
                let report_rows = rows.clone();
                view! {
                    <section aria-labelledby="result-title" class="result">
                        <h2 id="result-title">"Import committed"</h2>
                        <p role="status">
                            {format!("Upload batch {} is committed.", result.batch_id.unwrap_or_default())}
                            " " <a href="/uploads">"See the upload history"</a>
                        </p>
                        {differs.then(|| view! {
                            <p class="meta">"The database changed since the preview: these are the counts of what was committed."</p>
                        })}
                        <SummaryTable kind summary=result.summary.clone() effects=Some(result.effects) title="Result summary" />
                        <p class="actions">
                            <button on:click=move |_| state.reset()>"Continue"</button>
                            <button on:click=move |_| download(&format!("{}-report.csv", name.trim_end_matches(".csv")), &report_csv(&report_rows))>
                                "Download the report (CSV)"
                            </button>
                        </p>
                        <RowsTable rows caption="Committed rows" />
                    </section>
                }.into_any()
            }
        })}
        <p class="template-bottom">
            "Import template: "
            <a href=template_href download=template_name>"Download the CSV template"</a>
        </p>
    }
}

#[component]
fn Preview(a: Analysis, state: ImportState, kind: ImportKind) -> impl IntoView {
    let ImportState {
        file,
        phase,
        effects,
        ..
    } = state;
    let rows_ok = a.report.summary.rows_ok;
    let name = file.get_untracked().map(|f| f.name).unwrap_or_default();
    let summary = a.report.summary.clone();
    let wants_effects = !a.report.plan.enrolments.is_empty();
    view! {
        <section aria-labelledby="preview-title">
            <h2 id="preview-title">"Preview"</h2>
            <p class="meta">
                {format!(
                    "{name}: {} rows, {}, delimiter {}, checked in {:.0} ms (parse {:.0}, server look-ups {:.0}, validate {:.0}). Nothing is written until you commit.",
                    a.table.rows.len(),
                    a.table.encoding.label(),
                    delimiter_label(a.table.delimiter),
                    a.total_ms,
                    a.parse_ms,
                    a.lookup_ms,
                    a.validate_ms,
                )}
            </p>
            {move || {
                let fx = match effects.get() {
                    Some(Ok(e)) => Some(e),
                    _ => None,
                };
                let note = match effects.get() {
                    _ if !wants_effects => "This file enrols nobody, so it causes no enrolment method effects.".to_string(),
                    None => "Working out the group memberships these enrolments would cause…".to_string(),
                    Some(Ok(_)) => "Effects of the courses' enrolment methods (SPEC 5) are included.".to_string(),
                    Some(Err(e)) => format!("The effects could not be worked out: {e}"),
                };
                view! {
                    <SummaryTable kind summary=summary.clone() effects=fx title="Preview summary" />
                    <p class="meta">{note}</p>
                }
            }}
            <TargetBars report=a.report.clone() kind />
            <div class="commit-bar">
                <button class="commit" disabled=move || rows_ok == 0 || phase.get() != Phase::Ready on:click=move |_| state.commit()>
                    {format!("Commit {} ({} {} without errors)", kind.label().to_lowercase(), thousands(rows_ok), if rows_ok == 1 { "row" } else { "rows" })}
                </button>
            </div>
            <RowsTable rows=Arc::new(a.report.rows.clone()) caption="Rows" />
        </section>
    }
}

/// SPEC 7's summary of `kind`, with the effects when known ("being worked out…" otherwise).
#[component]
fn SummaryTable(
    kind: ImportKind,
    summary: ImportSummary,
    effects: Option<Effects>,
    title: &'static str,
) -> impl IntoView {
    let mut rows: Vec<(String, Option<u64>)> = vec![
        ("Rows".into(), Some(summary.rows)),
        ("Rows without errors".into(), Some(summary.rows_ok)),
        ("Rows with errors".into(), Some(summary.rows_with_errors)),
    ];
    for key in kind.summary_keys() {
        let value = if kind == ImportKind::Enrolments && *key == "group_memberships_added" {
            effects.map(|e| e.group_memberships)
        } else {
            Some(summary.get(key))
        };
        rows.push((title_case(key), value));
    }
    if kind == ImportKind::GroupMembers {
        rows.push((
            "Group memberships caused by enrolment methods".into(),
            effects.map(|e| e.group_memberships),
        ));
    }
    view! {
        <table class="summary" aria-label=title>
            <tbody>
                {rows.into_iter().map(|(k, v)| view! {
                    <tr>
                        <th scope="row">{k}</th>
                        <td class="num">{match v { Some(n) => n.to_string(), None => "being worked out…".to_string() }}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// One bar per course or group (the file's targets), scaled to the largest.
#[component]
fn TargetBars(report: Arc<Report>, kind: ImportKind) -> impl IntoView {
    let bars: Vec<TargetBar> = report.targets.clone();
    if bars.is_empty() {
        return ().into_any();
    }
    let max = bars
        .iter()
        .map(|b| b.added + b.info + b.errors)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let shown = bars.len().min(60);
    let heading = match kind {
        ImportKind::GroupMembers => "By group",
        _ => "By course",
    };
    view! {
        <h3>{heading}</h3>
        <ul class="bars" aria-label=format!("{heading} breakdown")>
            {bars.iter().take(shown).map(|b| {
                let pct = |n: u64| format!("width: {:.2}%", n as f64 * 100.0 / max);
                let text = format!("{}: {} to add, {} already there or repeated, {} with errors", b.label, b.added, b.info, b.errors);
                view! {
                    <li>
                        <span class="bar-label">{text}</span>
                        <span class="bar" aria-hidden="true">
                            <span class="add" style=pct(b.added)></span>
                            <span class="already" style=pct(b.info)></span>
                            <span class="unknown" style=pct(b.errors)></span>
                        </span>
                    </li>
                }
            }).collect_view()}
        </ul>
        {(bars.len() > shown).then(|| view! { <p class="meta">{format!("… and {} more", bars.len() - shown)}</p> })}
    }
    .into_any()
}

const ROWS_PER_PAGE: usize = 100;

/// Every row with its outcomes, a page at a time, with the errors-only filter.
#[component]
fn RowsTable(rows: Arc<Vec<RowResult>>, caption: &'static str) -> impl IntoView {
    let errors_only = RwSignal::new(false);
    let page = RwSignal::new(0usize);
    let error_rows: Arc<Vec<usize>> = Arc::new(
        rows.iter()
            .enumerate()
            .filter(|(_, r)| r.has_error())
            .map(|(i, _)| i)
            .collect(),
    );
    let count = {
        let (n, e) = (rows.len(), error_rows.len());
        move || if errors_only.get() { e } else { n }
    };
    let pages = move || count().div_ceil(ROWS_PER_PAGE).max(1);
    let body = move || {
        let start = page.get() * ROWS_PER_PAGE;
        let indices: Vec<usize> = if errors_only.get() {
            error_rows
                .iter()
                .skip(start)
                .take(ROWS_PER_PAGE)
                .copied()
                .collect()
        } else {
            (start..(start + ROWS_PER_PAGE).min(rows.len())).collect()
        };
        indices
            .into_iter()
            .map(|i| {
                let r = rows[i].clone();
                let error = r.has_error();
                view! {
                    <tr class:row-error=error>
                        <td class="num">{r.line}</td>
                        <td>{r.key}</td>
                        <td>{if error { "Error" } else { "OK" }}</td>
                        <td>
                            {r.outcomes.into_iter().map(|o| view! {
                                <div class="outcome">
                                    <span class=format!("badge {}", o.code.level().as_str())>{o.code.as_str()}</span>
                                    " "{o.message}
                                    {(!o.value.is_empty()).then(|| format!(" ({}: {})", o.column, o.value))}
                                </div>
                            }).collect_view()}
                        </td>
                    </tr>
                }
            })
            .collect_view()
    };
    let id = format!("errors-only-{}", caption.len());
    view! {
        <div class="rows-toolbar">
            <label class="check">
                <input type="checkbox" id=id prop:checked=move || errors_only.get()
                    on:change=move |ev| { errors_only.set(event_target_checked(&ev)); page.set(0); } />
                "Show only rows with errors"
            </label>
            <span class="pager">
                <button disabled=move || page.get() == 0 on:click=move |_| page.update(|p| *p = p.saturating_sub(1))>"Previous rows"</button>
                <span>{move || format!("Page {} of {} ({} rows)", page.get() + 1, pages(), count())}</span>
                <button disabled=move || page.get() + 1 >= pages() on:click=move |_| page.update(|p| *p += 1)>"Next rows"</button>
            </span>
        </div>
        <table class="rows">
            <caption>{caption}</caption>
            <thead>
                <tr>
                    <th scope="col" class="num">"Line"</th>
                    <th scope="col">"Row"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col">"Outcomes"</th>
                </tr>
            </thead>
            <tbody>{body}</tbody>
        </table>
    }
}
