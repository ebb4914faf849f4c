//! "Bulk upload users" (Site admin > User management) and the upload history.
//! The file is parsed and validated here, in WebAssembly, the moment it is chosen; the server is
//! asked only what it alone knows (which users, segments and memberships exist), in batches.
//! Components only: the page's state and its steps are `state.rs`. `FilePicker`, `Choice` and
//! `ProgressView` (with the `Loaded` and `Phase` they take) are `pub(crate)` for other pages.
use super::api::UndoBatch;
use super::browser::download;
#[cfg(feature = "hydrate")]
use super::browser::now_ms;
use super::options::OptionValue as _;
use super::report::{report_csv, row_view, TEMPLATE_CSV};
use super::state::UploadState;
pub(crate) use super::state::{Loaded, Phase, Reading};
use super::validate::{Report, Summary};
use super::{DelimiterChoice, EncodingChoice, ExistingDetails, Parsed, UploadType};
use crate::components::{thousands, use_page_and_search, ErrorMessage, Pager};
use leptos::prelude::*;
use std::sync::Arc;

fn template_href() -> String {
    format!(
        "data:text/csv;charset=utf-8,{}",
        crate::components::encode_query(TEMPLATE_CSV)
    )
}

#[component]
pub fn UploadPage() -> impl IntoView {
    let state = UploadState::new();
    let UploadState {
        options,
        file,
        analysis,
        phase,
        committed,
        effects,
        ..
    } = state;
    let committing = Signal::derive(move || phase.with(Phase::is_committing));
    let done = move || matches!(committed.get(), Some(Ok(_)));

    view! {
        <h1>"Bulk upload users"</h1>
        <p class="meta">
            "Add users to user segments from a CSV file: a "<code>"username"</code>" column and "
            <code>"cohort1"</code>", "<code>"cohort2"</code>", … columns holding segment ID numbers; optional "
            <code>"firstname"</code>", "<code>"lastname"</code>", "<code>"email"</code>". "
            <a href=template_href() download="bulk-upload-template.csv">"Download the template CSV"</a>
        </p>
        <FilePicker
            on_file=move |f: Loaded| state.choose(f)
            on_head=Callback::new(move |r: Reading| state.choose_reading(r))
            chosen=Signal::derive(move || file.get().map(|f| f.name))
            disabled=committing
        />
        <fieldset class="options">
            <legend>"Options"</legend>
            <OptionChoice label="Upload type" id="upload-type" value=Signal::derive(move || options.get().upload_type) disabled=committing
                on_change=Callback::new(move |v: UploadType| { options.update(|o| o.upload_type = v); state.revalidate(); }) />
            <OptionChoice label="Existing user details" id="existing-details" value=Signal::derive(move || options.get().existing_details) disabled=committing
                on_change=Callback::new(move |v: ExistingDetails| { options.update(|o| o.existing_details = v); state.revalidate(); }) />
            <OptionChoice label="Delimiter" id="delimiter" value=Signal::derive(move || options.get().delimiter) disabled=committing
                on_change=Callback::new(move |v: DelimiterChoice| { options.update(|o| o.delimiter = v); state.reparse(); }) />
            <OptionChoice label="Encoding" id="encoding" value=Signal::derive(move || options.get().encoding) disabled=committing
                on_change=Callback::new(move |v: EncodingChoice| { options.update(|o| o.encoding = v); state.reparse(); }) />
        </fieldset>
        <ProgressView phase />
        {move || match analysis.get() {
            // Once committed, the preview's counts are history: only the result is shown.
            _ if done() => ().into_any(),
            None => ().into_any(),
            Some(Err(message)) => view! {
                <div class="error" role="alert">
                    <strong>"The file cannot be uploaded: "</strong>{message}" Nothing was changed."
                </div>
            }.into_any(),
            Some(Ok(a)) => {
                let rows_ok = a.report.summary.rows_ok;
                let name = file.get().map(|f| f.name).unwrap_or_default();
                view! {
                    <section aria-labelledby="preview-title">
                        <h2 id="preview-title">"Preview"</h2>
                        <p class="meta">
                            {format!(
                                "{name}: {} rows, {}, delimiter {}, checked in {:.0} ms (read {:.0}, parse {:.0}, server look-ups {:.0}, validate {:.0}). Nothing is written until you upload.",
                                a.parsed.rows.len(),
                                a.parsed.encoding.label(),
                                delimiter_label(a.parsed.delimiter),
                                a.total_ms,
                                a.read_ms,
                                a.parse_ms,
                                a.lookup_ms,
                                a.validate_ms,
                            )}
                        </p>
                        {let base = a.report.summary; let followed = !a.synced.is_empty(); move || {
                            let mut summary = base;
                            let (pending, note) = match effects.get() {
                                None => (true, "Working out the enrolments and group memberships this upload would cause…".to_string()),
                                Some(Ok(fx)) => {
                                    summary.enrolments_added = fx.enrolments;
                                    summary.group_memberships_added = fx.group_memberships;
                                    (false, if !followed { "No enrolment method follows these segments.".to_string() } else { "Enrolment methods follow some of these segments: their effects are included.".to_string() })
                                }
                                Some(Err(e)) => (true, format!("The sync effects could not be worked out: {e}")),
                            };
                            view! { <SummaryView summary title="Preview summary" effects_pending=pending /> <p class="meta">{note}</p> }
                        }}
                        <SegmentBars report=a.report.clone() />
                        <div class="commit-bar">
                            <button class="commit" disabled=move || rows_ok == 0 || phase.get() != Phase::Ready on:click=move |_| state.commit()>
                                "Bulk upload users via CSV"
                                {format!(" ({} {} without errors)", thousands(rows_ok), if rows_ok == 1 { "row" } else { "rows" })}
                            </button>
                        </div>
                        <RowsTable parsed=a.parsed.clone() report=a.report.clone() caption="Rows" />
                    </section>
                }.into_any()
            }
        }}
        {move || committed.get().map(|c| match c {
            Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
            Ok(c) => {
                let Some(Ok(a)) = analysis.get_untracked() else { return ().into_any() };
                let parsed = a.parsed.clone();
                let report = c.report.clone();
                let name = file.get_untracked().map(|f| f.name).unwrap_or_else(|| "upload.csv".into());
                let differs = a.report.summary != c.result.summary;
                view! {
                    <section aria-labelledby="result-title" class="result">
                        <h2 id="result-title">"Upload committed"</h2>
                        <p role="status">
                            {format!("Upload batch {} is committed: {} memberships added.",
                                c.result.batch_id.unwrap_or_default(), c.result.summary.memberships_added)}
                            " " <a href="/uploads">"See the upload history"</a>
                        </p>
                        {differs.then(|| view! {
                            <p class="meta">"The database changed since the preview: these are the counts of what was committed."</p>
                        })}
                        <SummaryView summary=c.result.summary title="Result summary" effects_pending=false />
                        <p class="actions">
                            <button on:click=move |_| state.reset()>"Continue"</button>
                            <button on:click=move |_| download(&format!("{}-report.csv", name.trim_end_matches(".csv")), &report_csv(&parsed, &report))>
                                "Download the report (CSV)"
                            </button>
                        </p>
                        <RowsTable parsed=a.parsed.clone() report=c.report.clone() caption="Committed rows" />
                    </section>
                }.into_any()
            }
        })}
        // The article offers the template "at the bottom of this page" too.
        <p class="template-bottom">
            "Bulk upload template: "
            <a href=template_href() download="bulk-upload-template.csv">"Download the CSV template"</a>
        </p>
    }
}

pub(crate) fn delimiter_label(d: u8) -> &'static str {
    match d {
        b';' => "semicolon",
        b'\t' => "tab",
        b':' => "colon",
        _ => "comma",
    }
}

#[component]
pub(crate) fn FilePicker(
    on_file: impl Fn(Loaded) + Copy + Send + Sync + 'static,
    chosen: Signal<Option<String>>,
    disabled: Signal<bool>,
    /// Given, a file of several slices comes here as soon as its first slice is read (the rest
    /// still being read), not to `on_file`.
    #[prop(optional)]
    on_head: Option<Callback<Reading>>,
) -> impl IntoView {
    let dragging = RwSignal::new(false);
    // The latest choice: a read that ends after a newer choice is dropped.
    let choice = StoredValue::new(0u64);
    // Why the latest choice was refused before reading it.
    let refused = RwSignal::new(None::<String>);
    view! {
        <div
            class="dropzone"
            class:dragging=move || dragging.get()
            on:dragover=move |ev| { ev.prevent_default(); dragging.set(true); }
            on:dragleave=move |_| dragging.set(false)
            on:drop=move |ev| {
                ev.prevent_default();
                dragging.set(false);
                #[cfg(feature = "hydrate")]
                if !disabled.get_untracked() {
                    if let Some(f) = ev.data_transfer().and_then(|d| d.files()).and_then(|l| l.get(0)) {
                        read_and(f, on_file, on_head, choice, refused);
                    }
                }
                #[cfg(not(feature = "hydrate"))]
                let _ = (ev, on_file, on_head, choice);
            }
        >
            <label for="csv-file">"CSV file"</label>
            <input
                id="csv-file"
                type="file"
                accept=".csv,.txt,text/csv,text/plain"
                aria-describedby="csv-file-chosen"
                disabled=move || disabled.get()
                on:change=move |ev| {
                    #[cfg(feature = "hydrate")]
                    {
                        use wasm_bindgen::JsCast;
                        let input = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok());
                        if let Some(input) = input {
                            if let Some(f) = input.files().and_then(|l| l.get(0)) {
                                read_and(f, on_file, on_head, choice, refused);
                            }
                            // The browser fires `change` only when the selection differs from the
                            // input's value: emptied, choosing the same file again (edited or
                            // just committed) is a new choice with a fresh preview.
                            input.set_value("");
                        }
                    }
                    #[cfg(not(feature = "hydrate"))]
                    let _ = (ev, on_file, on_head, choice);
                }
            />
            <span id="csv-file-chosen" class="meta">
                {move || match chosen.get() {
                    Some(name) => format!(" Chosen: {name}. Choose it again to re-check it."),
                    None => " or drop a file here. It is checked in your browser; nothing is sent until you upload.".to_string(),
                }}
            </span>
            {move || refused.get().map(|why| view! { <p class="error" role="alert">{why}</p> })}
        </div>
    }
    .into_any()
}

#[cfg(feature = "hydrate")]
fn read_and(
    f: web_sys::File,
    on_file: impl Fn(Loaded) + 'static,
    on_head: Option<Callback<Reading>>,
    choice: StoredValue<u64>,
    refused: RwSignal<Option<String>>,
) {
    let name = f.name();
    let chosen_at = now_ms();
    let this = choice.get_value() + 1;
    choice.set_value(this);
    refused.set(None);
    // Refused unread: reading a file of several GB into the page's memory would end the page.
    if f.size() > super::MAX_FILE_BYTES as f64 {
        let size = f.size() as u64;
        let max = super::MAX_FILE_BYTES as u64;
        let why = super::FileError::TooLarge { size, max };
        refused.set(Some(format!("{name}: {why}")));
        return;
    }
    // A slow read of an earlier choice (a large file) must not replace a later one. (Chromium
    // ended the reads in the order chosen, so no test here could make that happen.)
    let latest = move || choice.get_value() == this;
    leptos::task::spawn_local(async move {
        if let Some(on_head) = on_head {
            match super::browser::read_ahead(&f).await {
                Ok(Some(_)) if !latest() => return,
                Ok(Some(ahead)) => {
                    return on_head.run(Reading {
                        name,
                        chosen_at,
                        head_ms: now_ms() - chosen_at,
                        ahead,
                    })
                }
                Ok(None) => {}
                Err(_) => return,
            }
        }
        match super::browser::read_file(&f).await {
            Ok(bytes) if latest() => on_file(Loaded {
                name,
                bytes: Arc::new(bytes),
                chosen_at,
                read_ms: now_ms() - chosen_at,
            }),
            // An unreadable file leaves the page as it was; the browser already told the admin.
            _ => {}
        }
    });
}

/// A `Choice` over an option enum: its values and labels come from the enum.
#[component]
pub(crate) fn OptionChoice<T>(
    label: &'static str,
    id: &'static str,
    value: Signal<T>,
    disabled: Signal<bool>,
    on_change: Callback<T>,
) -> impl IntoView
where
    T: super::options::OptionValue + Send + Sync,
{
    let choices = T::all().iter().map(|c| (c.as_str(), c.label())).collect();
    view! {
        <Choice label id choices value=Signal::derive(move || value.get().as_str()) disabled
            on_change=Callback::new(move |v: String| {
                if let Ok(t) = v.parse::<T>() {
                    on_change.run(t);
                }
            }) />
    }
}

/// A labelled select that shows `value`, so starting over shows the defaults again.
#[component]
pub(crate) fn Choice(
    label: &'static str,
    id: &'static str,
    choices: Vec<(&'static str, &'static str)>,
    value: Signal<&'static str>,
    disabled: Signal<bool>,
    on_change: Callback<String>,
) -> impl IntoView {
    view! {
        <div class="choice">
            <label for=id>{label}</label>
            <select id=id disabled=move || disabled.get() on:change=move |ev| on_change.run(event_target_value(&ev))>
                {choices.into_iter().map(|(v, text)| view! {
                    <option value=v selected=move || value.get() == v prop:selected=move || value.get() == v>{text}</option>
                }).collect_view()}
            </select>
        </div>
    }
}

#[component]
pub(crate) fn ProgressView(phase: RwSignal<Phase>) -> impl IntoView {
    move || {
        match phase.get() {
        Phase::Checking { total: 0, .. } => view! {
            <p role="status">"Reading the file and checking it with the server…"</p>
        }
        .into_any(),
        Phase::Checking { done, total } => view! {
            <p role="status">{format!("Checking users and segments with the server ({done} of {total})…")}</p>
        }
        .into_any(),
        Phase::Uploading { sent, total } => view! {
            <div class="progress">
                <label for="commit-progress">{format!("Sending the file: part {sent} of {total}")}</label>
                <progress id="commit-progress" max=total value=sent></progress>
            </div>
        }
        .into_any(),
        Phase::Applying(None) => view! {
            <div class="progress">
                <label for="commit-progress">"Validating again and applying in one transaction…"</label>
                <progress id="commit-progress"></progress>
            </div>
        }
        .into_any(),
        Phase::Applying(Some(p)) => view! {
            <div class="progress">
                <label for="commit-progress">{format!("Applying in one transaction. {}", p.describe())}</label>
                <progress id="commit-progress" max=1000 value=p.permille()></progress>
            </div>
        }
        .into_any(),
        Phase::Idle | Phase::Ready | Phase::Committed => ().into_any(),
    }
    }
}

/// The section 3 counts. With `effects_pending`, the two sync effects are still being worked
/// out for these rows and are shown as such rather than as a number that may be stale.
#[component]
fn SummaryView(summary: Summary, title: &'static str, effects_pending: bool) -> impl IntoView {
    let effect = |n: u64| if effects_pending { None } else { Some(n) };
    let rows = [
        ("Rows", Some(summary.rows)),
        ("Rows without errors", Some(summary.rows_ok)),
        ("Rows with errors", Some(summary.rows_with_errors)),
        ("Users created", Some(summary.users_created)),
        ("Users updated", Some(summary.users_updated)),
        ("Memberships added", Some(summary.memberships_added)),
        ("Already members", Some(summary.already_members)),
        ("Duplicate pairs", Some(summary.duplicate_pairs)),
        ("Enrolments added", effect(summary.enrolments_added)),
        (
            "Group memberships added",
            effect(summary.group_memberships_added),
        ),
    ];
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
    .into_any()
}

#[component]
fn SegmentBars(report: Arc<Report>) -> impl IntoView {
    let max = report
        .segments
        .iter()
        .map(|s| s.to_add + s.already_members + s.unknown)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let shown = report.segments.len().min(60);
    view! {
        <h3>"By segment"</h3>
        <ul class="bars" aria-label="Per-segment breakdown">
            {report.segments.iter().take(shown).map(|s| {
                let pct = |n: u64| format!("width: {:.2}%", n as f64 * 100.0 / max);
                let text = if s.known {
                    format!("{}: {} to add, {} already members", s.id_number, s.to_add, s.already_members)
                } else {
                    format!("{}: unknown segment ({} rows)", s.id_number, s.unknown)
                };
                view! {
                    <li>
                        <span class="bar-label">{text}</span>
                        <span class="bar" aria-hidden="true">
                            <span class="add" style=pct(s.to_add)></span>
                            <span class="already" style=pct(s.already_members)></span>
                            <span class="unknown" style=pct(s.unknown)></span>
                        </span>
                    </li>
                }
            }).collect_view()}
        </ul>
        {(report.segments.len() > shown).then(|| view! { <p class="meta">{format!("… and {} more segments", report.segments.len() - shown)}</p> })}
    }
    .into_any()
}

const ROWS_PER_PAGE: usize = 100;

/// Every row with its outcomes, a page at a time, so a million rows stay smooth.
#[component]
fn RowsTable(parsed: Arc<Parsed>, report: Arc<Report>, caption: &'static str) -> impl IntoView {
    let errors_only = RwSignal::new(false);
    let page = RwSignal::new(0usize);
    let count = {
        let report = report.clone();
        let n = parsed.rows.len();
        move || {
            if errors_only.get() {
                report.error_rows.len()
            } else {
                n
            }
        }
    };
    let pages = {
        let count = count.clone();
        move || count().div_ceil(ROWS_PER_PAGE).max(1)
    };
    let id = format!("errors-only-{}", caption.len());
    let body = {
        let (parsed, report) = (parsed.clone(), report.clone());
        move || {
            let start = page.get() * ROWS_PER_PAGE;
            let indices: Vec<usize> = if errors_only.get() {
                report
                    .error_rows
                    .iter()
                    .skip(start)
                    .take(ROWS_PER_PAGE)
                    .map(|&i| i as usize)
                    .collect()
            } else {
                (start..(start + ROWS_PER_PAGE).min(parsed.rows.len())).collect()
            };
            indices.into_iter().map(|i| {
                let v = row_view(&parsed, &report, i);
                let error = report.row_has_error(i);
                let cells: Vec<String> = parsed.segment_cells(&parsed.rows[i]).iter().map(|c| parsed.segment_ids[c.segment as usize].clone()).collect();
                view! {
                    <tr class:row-error=error>
                        <td class="num">{v.line}</td>
                        <td>{v.username}</td>
                        <td>{cells.join(", ")}</td>
                        <td>{if error { "Error" } else { "OK" }}</td>
                        <td>
                            {v.outcomes.into_iter().map(|o| view! {
                                <div class="outcome">
                                    <span class=format!("badge {}", o.level)>{o.code}</span>" "{o.message}
                                </div>
                            }).collect_view()}
                        </td>
                    </tr>
                }
            }).collect_view()
        }
    };
    let pages_a = pages.clone();
    let count_a = count.clone();
    view! {
        <div class="rows-toolbar">
            <label class="check">
                <input type="checkbox" id=id prop:checked=move || errors_only.get()
                    on:change=move |ev| { errors_only.set(event_target_checked(&ev)); page.set(0); } />
                "Show only rows with errors"
            </label>
            <span class="pager">
                <button disabled=move || page.get() == 0 on:click=move |_| page.update(|p| *p = p.saturating_sub(1))>"Previous rows"</button>
                <span>{move || format!("Page {} of {} ({} rows)", page.get() + 1, pages_a(), count_a())}</span>
                <button disabled=move || { page.get() + 1 >= pages() } on:click=move |_| page.update(|p| *p += 1)>"Next rows"</button>
            </span>
        </div>
        <table class="rows">
            <caption>{caption}</caption>
            <thead>
                <tr>
                    <th scope="col" class="num">"Line"</th>
                    <th scope="col">"Username"</th>
                    <th scope="col">"Segments"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col">"Outcomes"</th>
                </tr>
            </thead>
            <tbody>{body}</tbody>
        </table>
    }
    .into_any()
}

/// How the history names a batch's kind.
fn kind_label(kind: &str) -> &'static str {
    match kind.parse::<crate::imports::ImportKind>() {
        Ok(k) => k.label(),
        Err(_) => "Bulk upload users",
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What undoing an import batch takes back, as its confirm step says it.
fn import_undo_text(kind: &str, i: &crate::imports::UndoImpact) -> String {
    if kind == "segments" || kind == "groups" {
        format!(
            "This deletes {} it created, with the {}, {} and {} that go with them, and restores the fields of {} it changed (a field changed since keeps its newer value).",
            plural(i.deletes, "segment or group", "segments or groups"),
            plural(i.memberships, "segment membership", "segment memberships"),
            plural(i.enrolment_methods, "enrolment method", "enrolment methods"),
            plural(i.group_members, "group member", "group members"),
            plural(i.restores, "one", "others"),
        )
    } else {
        format!(
            "This removes the {} and {} the batch made that still exist; group memberships the enrolment methods made for those enrolments follow.",
            plural(i.group_members, "group membership", "group memberships"),
            plural(i.enrolments, "enrolment", "enrolments"),
        )
    }
}

#[component]
pub fn UploadHistoryPage() -> impl IntoView {
    let (page, _) = use_page_and_search();
    let undo = ServerAction::<UndoBatch>::new();
    let batches = Resource::new(
        move || (page.get(), undo.version().get()),
        |(p, _)| super::api::upload_history(p),
    );
    // (batch, memberships still present, kind)
    let confirm = RwSignal::new(None::<(i32, i64, String)>);
    let undone_kind = RwSignal::new(String::new());
    let impact = Resource::new(
        move || confirm.get().filter(|c| c.2 != "users").map(|c| c.0),
        |id| async move {
            match id {
                Some(id) => crate::imports::api::import_undo_impact(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    view! {
        <h1>"Upload history"</h1>
        {move || confirm.get().map(|(id, n, kind)| {
            let is_users = kind == "users";
            let k = kind.clone();
            view! {
                <div class="confirm" role="alertdialog" aria-labelledby="undo-title">
                    <h2 id="undo-title">{format!("Undo upload batch {id}?")}</h2>
                    {if is_users {
                        view! { <p>{format!("This removes the {n} memberships the batch added that still exist. Users it created or updated are kept.")}</p> }.into_any()
                    } else {
                        view! {
                            <Suspense fallback=|| view! { <p>"Working out what goes with it…"</p> }>
                                {let k = k.clone(); move || { let k = k.clone(); Suspend::new(async move {
                                    match impact.await {
                                        Ok(Some(i)) => view! { <p>{import_undo_text(&k, &i)}</p> }.into_any(),
                                        Ok(None) => ().into_any(),
                                        Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                                    }
                                })}}
                            </Suspense>
                        }.into_any()
                    }}
                    <button class="danger" on:click=move |_| { undone_kind.set(kind.clone()); undo.dispatch(UndoBatch { id }); confirm.set(None); }>"Confirm undo"</button>
                    <button on:click=move |_| confirm.set(None)>"Cancel"</button>
                </div>
            }
        })}
        {move || undo.value().get().map(|r| match r {
            Ok(n) if undone_kind.get() == "users" => view! { <p class="ok" role="status">{format!("Undone: {n} memberships removed.")}</p> }.into_any(),
            Ok(n) => view! { <p class="ok" role="status">{format!("Undone: {n} changes taken back.")}</p> }.into_any(),
            Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
        })}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match batches.await {
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                    Ok(page) => {
                        let pages = page.page_count();
                        view! {
                            <table>
                                <caption>"Upload batches"</caption>
                                <thead><tr>
                                    <th scope="col">"Batch"</th><th scope="col">"When"</th><th scope="col">"By"</th>
                                    <th scope="col">"Kind"</th><th scope="col">"File"</th><th scope="col">"Options"</th>
                                    <th scope="col" class="num">"Rows"</th><th scope="col" class="num">"Errors"</th>
                                    <th scope="col" class="num">"Added"</th><th scope="col">"Status"</th><th scope="col">"Actions"</th>
                                </tr></thead>
                                <tbody>
                                    {page.items.into_iter().map(|b| {
                                        let (rows, errors, added, opts) = match (&b.summary, &b.import_summary) {
                                            (_, Some(s)) => {
                                                let added: u64 = s.counts.iter().filter(|(k, _)| k.ends_with("_created") || k.ends_with("_updated") || k.ends_with("_added")).map(|(_, v)| *v).sum();
                                                let o = b.import_options.map(|o| {
                                                    let mut parts = Vec::new();
                                                    if o.kind.has_mode() { parts.push(o.mode.as_str()); }
                                                    if o.kind == crate::imports::ImportKind::GroupMembers { parts.push(o.not_enrolled.as_str()); }
                                                    parts.join(", ")
                                                }).unwrap_or_default();
                                                (s.rows, s.rows_with_errors, added, o)
                                            }
                                            (s, None) => {
                                                let s = s.unwrap_or_default();
                                                let o = b.options.map(|o| format!("{}, {}", o.upload_type.as_str(), o.existing_details.as_str())).unwrap_or_default();
                                                (s.rows, s.rows_with_errors, s.memberships_added, o)
                                            }
                                        };
                                        let (id, present) = (b.id, b.still_present);
                                        let kind = b.kind.clone();
                                        let is_users = kind == "users";
                                        view! {
                                            <tr>
                                                <td class="num">{b.id}</td>
                                                <td>{b.created_at}</td>
                                                <td>{b.admin.unwrap_or_else(|| "command line".into())}</td>
                                                <td>{kind_label(&b.kind)}</td>
                                                <td>{b.file_name}</td>
                                                <td>{opts}</td>
                                                <td class="num">{rows}</td>
                                                <td class="num">{errors}</td>
                                                <td class="num">{added}</td>
                                                <td>{match &b.undone_at {
                                                    Some(t) => format!("Undone {t}"),
                                                    None if is_users => format!("Active ({present} memberships present)"),
                                                    None => format!("Active ({present} records present)"),
                                                }}</td>
                                                <td>
                                                    {b.undone_at.is_none().then(|| view! {
                                                        <button aria-label=format!("Undo upload batch {id}") on:click=move |_| confirm.set(Some((id, present, kind.clone())))>"Undo"</button>
                                                    })}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                            {(page.total == 0).then(|| view! { <p>"No uploads yet."</p> })}
                            <Pager base="/uploads".into() search=String::new() page=page.page pages total=page.total noun="batches" />
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
