//! "Bulk upload users" (Site admin > User management) and the upload history.
//! The file is parsed and validated here, in WebAssembly, the moment it is chosen; the server is
//! asked only what it alone knows (which users, segments and memberships exist), in batches.
use super::api::{
    upload_begin, upload_commit, upload_effects, upload_memberships, upload_segments, upload_users,
    UndoBatch, CHUNK_BYTES, EFFECTS_BATCH, LOOKUP_BATCH, LOOKUP_CONCURRENCY, MEMBERSHIPS_WHOLE,
};
use super::browser::{download, now_ms, send_chunk};
use super::options::OptionValue as _;
use super::report::{report_csv, row_view, TEMPLATE_CSV};
use super::types::CommitResult;
use super::validate::{Knowledge, Report, Summary};
use super::{
    parse, validate, DelimiterChoice, EncodingChoice, ExistingDetails, Parsed, UploadOptions,
    UploadType,
};
use crate::components::{thousands, use_page_and_search, ErrorMessage, Pager};
use crate::error::AppError;
use leptos::prelude::*;
use std::sync::Arc;

#[derive(Clone)]
struct Loaded {
    name: String,
    bytes: Arc<Vec<u8>>,
    /// When the admin chose the file, and how long reading it took (ms).
    chosen_at: f64,
    read_ms: f64,
}

#[derive(Clone)]
struct Analysis {
    parsed: Arc<Parsed>,
    known: Arc<Knowledge>,
    /// Whether `known` carries users' stored details (needed by override / fill-missing).
    details: bool,
    /// Segments of the file that enrolment methods follow (their sync effects are previewed).
    synced: Arc<Vec<i32>>,
    report: Arc<Report>,
    parse_ms: f64,
    lookup_ms: f64,
    validate_ms: f64,
    read_ms: f64,
    /// From choosing the file (or changing an option) to a ready preview.
    total_ms: f64,
}

#[derive(Clone, PartialEq)]
enum Phase {
    Idle,
    /// Parsing and asking the server; `total` is 0 until the user batches are known.
    Checking {
        done: usize,
        total: usize,
    },
    Ready,
    Uploading {
        sent: usize,
        total: usize,
    },
    Applying,
    Committed,
}

impl Phase {
    fn is_committing(&self) -> bool {
        matches!(self, Phase::Uploading { .. } | Phase::Applying)
    }
}

#[derive(Clone)]
struct Committed {
    result: CommitResult,
    report: Arc<Report>,
}

/// The enrolments and group memberships a commit would cause (SPEC 5).
#[derive(Clone, Copy, PartialEq)]
struct Effects {
    enrolments: u64,
    group_memberships: u64,
}

/// The upload page's state and everything the admin can do to it; the component only renders.
///
/// Every preview belongs to a generation: choosing a file, changing an option, committing or
/// starting over begins a new one, and work finishing for an older generation is dropped, so a
/// slow look-up or effects call can never overwrite a newer preview.
#[derive(Clone, Copy)]
struct UploadState {
    options: RwSignal<UploadOptions>,
    file: RwSignal<Option<Loaded>>,
    analysis: RwSignal<Option<Result<Analysis, String>>>,
    phase: RwSignal<Phase>,
    committed: RwSignal<Option<Result<Committed, AppError>>>,
    /// None while the server works them out for the current report.
    effects: RwSignal<Option<Result<Effects, AppError>>>,
    generation: StoredValue<u64>,
}

impl UploadState {
    fn new() -> Self {
        Self {
            options: RwSignal::new(UploadOptions::default()),
            file: RwSignal::new(None),
            analysis: RwSignal::new(None),
            phase: RwSignal::new(Phase::Idle),
            committed: RwSignal::new(None),
            effects: RwSignal::new(None),
            generation: StoredValue::new(0),
        }
    }

    fn next_generation(self) -> u64 {
        self.generation.update_value(|g| *g += 1);
        self.generation.get_value()
    }

    fn is_current(self, gen: u64) -> bool {
        self.generation.get_value() == gen
    }

    /// While a commit is being sent or applied, nothing may start another preview.
    fn committing(self) -> bool {
        self.phase.with_untracked(Phase::is_committing)
    }

    /// A newly chosen file (the same one again included): a fresh preview from fresh look-ups,
    /// the previous preview and result cleared.
    fn choose(self, loaded: Loaded) {
        if self.committing() {
            return;
        }
        self.file.set(Some(Loaded {
            chosen_at: 0.0,
            ..loaded.clone()
        }));
        self.analysis.set(None);
        self.analyse(loaded);
    }

    /// Parses the file under the current options and asks the server about its names. The
    /// previous preview (if any) stays on screen, but Commit is disabled until this one is ready.
    fn analyse(self, loaded: Loaded) {
        let gen = self.next_generation();
        let opts = self.options.get_untracked();
        self.committed.set(None);
        self.effects.set(None);
        self.phase.set(Phase::Checking { done: 0, total: 0 });
        leptos::task::spawn_local(async move {
            let t0 = now_ms();
            // A first analysis counts from the moment the file was chosen; a re-run from now.
            let (started, read_ms) = if loaded.chosen_at > 0.0 {
                (loaded.chosen_at, loaded.read_ms)
            } else {
                (t0, 0.0)
            };
            let parsed = match parse(&loaded.bytes, opts.delimiter, opts.encoding) {
                Ok(p) => Arc::new(p),
                Err(e) => {
                    self.fail(gen, e.to_string());
                    return;
                }
            };
            let parse_ms = now_ms() - t0;
            let names = parsed.distinct_usernames();
            let details = opts.updates_details();
            let progress = move |done, total| {
                if self.is_current(gen) {
                    self.phase.set(Phase::Checking { done, total });
                }
            };
            let (known, synced) = match look_up(&parsed, &names, details, progress).await {
                Ok(k) => k,
                Err(e) => {
                    self.fail(gen, e.to_string());
                    return;
                }
            };
            if !self.is_current(gen) {
                return;
            }
            let t2 = now_ms();
            let lookup_ms = t2 - t0 - parse_ms;
            let report = Arc::new(validate(&parsed, &opts, &known));
            let t3 = now_ms();
            self.start_effects(report.clone(), synced.clone(), gen);
            self.analysis.set(Some(Ok(Analysis {
                parsed,
                known: Arc::new(known),
                synced: Arc::new(synced),
                details,
                report,
                parse_ms,
                lookup_ms,
                validate_ms: t3 - t2,
                read_ms,
                total_ms: t3 - started,
            })));
            self.phase.set(Phase::Ready);
        });
    }

    fn fail(self, gen: u64, message: String) {
        if self.is_current(gen) {
            self.analysis.set(Some(Err(message)));
            self.phase.set(Phase::Idle);
        }
    }

    /// Asks the server for the sync effects of `report`'s new memberships.
    fn start_effects(self, report: Arc<Report>, synced: Vec<i32>, gen: u64) {
        self.effects.set(None);
        leptos::task::spawn_local(async move {
            let result = preview_effects(&report, &synced).await;
            if self.is_current(gen) {
                self.effects.set(Some(result));
            }
        });
    }

    /// Upload type or existing details changed. Validation alone reruns when the look-ups in
    /// hand still describe the database; otherwise (stored details now needed, a commit since,
    /// or a look-up still in flight) the server is asked again.
    fn revalidate(self) {
        if self.committing() {
            return;
        }
        let opts = self.options.get_untracked();
        let fresh =
            self.phase.get_untracked() == Phase::Ready && self.committed.get_untracked().is_none();
        match self.analysis.get_untracked() {
            Some(Ok(a)) if fresh && (a.details || !opts.updates_details()) => {
                let gen = self.next_generation();
                let report = Arc::new(validate(&a.parsed, &opts, &a.known));
                // The rows that would be applied changed, so their sync effects did too.
                self.start_effects(report.clone(), a.synced.to_vec(), gen);
                self.analysis.set(Some(Ok(Analysis { report, ..a })));
            }
            _ => self.reparse(),
        }
    }

    /// Delimiter or encoding changed (or the look-ups are stale): parse and look up again.
    fn reparse(self) {
        if self.committing() {
            return;
        }
        if let Some(f) = self.file.get_untracked() {
            self.analyse(f);
        }
    }

    fn commit(self) {
        if self.phase.get_untracked() != Phase::Ready {
            return;
        }
        let (Some(loaded), Some(Ok(a))) =
            (self.file.get_untracked(), self.analysis.get_untracked())
        else {
            return;
        };
        let opts = self.options.get_untracked();
        // Not a new generation: the preview's effects may still be arriving, and a failed commit
        // leaves that preview in place to be tried again.
        let gen = self.generation.get_value();
        let phase = self.phase;
        leptos::task::spawn_local(async move {
            let bytes = loaded.bytes.clone();
            let total = bytes.len().div_ceil(CHUNK_BYTES).max(1);
            phase.set(Phase::Uploading { sent: 0, total });
            let outcome: Result<CommitResult, AppError> = async {
                let stage = upload_begin(loaded.name.clone(), bytes.len() as u64).await?;
                for (seq, chunk) in bytes.chunks(CHUNK_BYTES).enumerate() {
                    send_chunk(&stage, seq, chunk).await?;
                    phase.set(Phase::Uploading {
                        sent: seq + 1,
                        total,
                    });
                }
                if bytes.is_empty() {
                    send_chunk(&stage, 0, &[]).await?;
                }
                phase.set(Phase::Applying);
                upload_commit(stage, opts).await
            }
            .await;
            if !self.is_current(gen) {
                return;
            }
            // A failed commit may be tried again; a done one leaves only the result and Continue.
            phase.set(if outcome.is_ok() {
                Phase::Committed
            } else {
                Phase::Ready
            });
            self.committed.set(Some(outcome.map(|result| {
                let report = result.outcomes.unpack(a.parsed.rows.len(), result.summary);
                Committed {
                    result,
                    report: Arc::new(report),
                }
            })));
        });
    }

    /// "Continue" after a commit: a clean upload page, as a fresh visit would show it.
    fn reset(self) {
        self.next_generation();
        self.options.set(UploadOptions::default());
        self.file.set(None);
        self.analysis.set(None);
        self.committed.set(None);
        self.effects.set(None);
        self.phase.set(Phase::Idle);
    }
}

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
            chosen=Signal::derive(move || file.get().map(|f| f.name))
            disabled=committing
        />
        <fieldset class="options">
            <legend>"Options"</legend>
            <Choice label="Upload type" id="upload-type" choices=UploadType::all().iter().map(|c| (c.as_str(), c.label())).collect()
                value=Signal::derive(move || options.get().upload_type.as_str()) disabled=committing
                on_change=Callback::new(move |v: String| {
                    let Ok(t) = v.parse() else { return };
                    options.update(|o| o.upload_type = t);
                    state.revalidate();
                }) />
            <Choice label="Existing user details" id="existing-details" choices=ExistingDetails::all().iter().map(|c| (c.as_str(), c.label())).collect()
                value=Signal::derive(move || options.get().existing_details.as_str()) disabled=committing
                on_change=Callback::new(move |v: String| {
                    let Ok(d) = v.parse() else { return };
                    options.update(|o| o.existing_details = d);
                    state.revalidate();
                }) />
            <Choice label="Delimiter" id="delimiter" choices=DelimiterChoice::all().iter().map(|c| (c.as_str(), c.label())).collect()
                value=Signal::derive(move || options.get().delimiter.as_str()) disabled=committing
                on_change=Callback::new(move |v: String| {
                    let Ok(d) = v.parse() else { return };
                    options.update(|o| o.delimiter = d);
                    state.reparse();
                }) />
            <Choice label="Encoding" id="encoding" choices=EncodingChoice::all().iter().map(|c| (c.as_str(), c.label())).collect()
                value=Signal::derive(move || options.get().encoding.as_str()) disabled=committing
                on_change=Callback::new(move |v: String| {
                    let Ok(e) = v.parse() else { return };
                    options.update(|o| o.encoding = e);
                    state.reparse();
                }) />
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

/// The enrolments and group memberships the commit would cause: the new memberships in segments
/// that enrolment methods follow, sorted by user (a user's effects depend only on their own rows)
/// and sent in batches to be tried and rolled back on the server.
async fn preview_effects(report: &Report, synced: &[i32]) -> Result<Effects, AppError> {
    let mut total = Effects {
        enrolments: 0,
        group_memberships: 0,
    };
    for (existing, new) in super::report::effect_batches(report, synced, EFFECTS_BATCH) {
        let (e, g) = upload_effects(existing, new).await?;
        total.enrolments += e;
        total.group_memberships += g;
    }
    Ok(total)
}

/// Asks the server what it knows about the file's names: the segment ID numbers, then the
/// usernames in batches, several in flight at once.
async fn look_up(
    parsed: &Parsed,
    names: &[String],
    details: bool,
    progress: impl Fn(usize, usize),
) -> Result<(Knowledge, Vec<i32>), AppError> {
    let mut known = Knowledge::default();
    let mut synced: Vec<i32> = Vec::new();
    let mut members: i64 = 0;
    for chunk in parsed.segment_ids.chunks(LOOKUP_BATCH) {
        for (id_number, id, count, followed) in upload_segments(chunk.to_vec()).await? {
            known.segments.insert(id_number, id);
            members += count;
            if followed {
                synced.push(id);
            }
        }
    }
    let mut segment_ids: Vec<i32> = known.segments.values().copied().collect();
    // Existing memberships: none to learn for empty segments; small segments come whole in one
    // call; only segments larger than the file are asked about user by user.
    if members == 0 {
        segment_ids.clear();
    } else if members as usize <= MEMBERSHIPS_WHOLE.min(names.len().max(1)) {
        known
            .memberships
            .extend(upload_memberships(segment_ids.clone()).await?);
        segment_ids.clear();
    }
    let batches: Vec<&[String]> = names.chunks(LOOKUP_BATCH).collect();
    let total = batches.len();
    let mut done = 0;
    for group in batches.chunks(LOOKUP_CONCURRENCY) {
        progress(done, total);
        let calls = group
            .iter()
            .map(|b| upload_users(b.to_vec(), segment_ids.clone(), details));
        let replies = futures::future::join_all(calls).await;
        for (batch, reply) in group.iter().zip(replies) {
            reply?.add_to(&mut known, batch);
        }
        done += group.len();
    }
    Ok((known, synced))
}

fn delimiter_label(d: u8) -> &'static str {
    match d {
        b';' => "semicolon",
        b'\t' => "tab",
        b':' => "colon",
        _ => "comma",
    }
}

#[component]
fn FilePicker(
    on_file: impl Fn(Loaded) + Copy + Send + Sync + 'static,
    chosen: Signal<Option<String>>,
    disabled: Signal<bool>,
) -> impl IntoView {
    let dragging = RwSignal::new(false);
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
                        read_and(f, on_file);
                    }
                }
                #[cfg(not(feature = "hydrate"))]
                let _ = (ev, on_file);
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
                                read_and(f, on_file);
                            }
                            // The browser fires `change` only when the selection differs from the
                            // input's value: emptied, choosing the same file again (edited or
                            // just committed) is a new choice with a fresh preview.
                            input.set_value("");
                        }
                    }
                    #[cfg(not(feature = "hydrate"))]
                    let _ = (ev, on_file);
                }
            />
            <span id="csv-file-chosen" class="meta">
                {move || match chosen.get() {
                    Some(name) => format!(" Chosen: {name}. Choose it again to re-check it."),
                    None => " or drop a file here. It is checked in your browser; nothing is sent until you upload.".to_string(),
                }}
            </span>
        </div>
    }
    .into_any()
}

#[cfg(feature = "hydrate")]
fn read_and(f: web_sys::File, on_file: impl Fn(Loaded) + 'static) {
    let name = f.name();
    let chosen_at = now_ms();
    leptos::task::spawn_local(async move {
        // An unreadable file leaves the page as it was; the browser already told the admin.
        if let Ok(bytes) = super::browser::read_file(&f).await {
            on_file(Loaded {
                name,
                bytes: Arc::new(bytes),
                chosen_at,
                read_ms: now_ms() - chosen_at,
            });
        }
    });
}

/// A labelled select that shows `value`, so starting over shows the defaults again.
#[component]
fn Choice(
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
fn ProgressView(phase: RwSignal<Phase>) -> impl IntoView {
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
        Phase::Applying => view! {
            <div class="progress">
                <label for="commit-progress">"Validating again and applying in one transaction…"</label>
                <progress id="commit-progress"></progress>
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

#[component]
pub fn UploadHistoryPage() -> impl IntoView {
    let (page, _) = use_page_and_search();
    let undo = ServerAction::<UndoBatch>::new();
    let batches = Resource::new(
        move || (page.get(), undo.version().get()),
        |(p, _)| super::api::upload_history(p),
    );
    let confirm = RwSignal::new(None::<(i32, i64)>);
    view! {
        <h1>"Upload history"</h1>
        {move || confirm.get().map(|(id, n)| view! {
            <div class="confirm" role="alertdialog" aria-labelledby="undo-title">
                <h2 id="undo-title">{format!("Undo upload batch {id}?")}</h2>
                <p>{format!("This removes the {n} memberships the batch added that still exist. Users it created or updated are kept.")}</p>
                <button class="danger" on:click=move |_| { undo.dispatch(UndoBatch { id }); confirm.set(None); }>"Confirm undo"</button>
                <button on:click=move |_| confirm.set(None)>"Cancel"</button>
            </div>
        })}
        {move || undo.value().get().map(|r| match r {
            Ok(n) => view! { <p class="ok" role="status">{format!("Undone: {n} memberships removed.")}</p> }.into_any(),
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
                                    <th scope="col">"File"</th><th scope="col">"Options"</th>
                                    <th scope="col" class="num">"Rows"</th><th scope="col" class="num">"Errors"</th>
                                    <th scope="col" class="num">"Added"</th><th scope="col">"Status"</th><th scope="col">"Actions"</th>
                                </tr></thead>
                                <tbody>
                                    {page.items.into_iter().map(|b| {
                                        let s = b.summary.unwrap_or_default();
                                        let opts = b.options.map(|o| format!("{}, {}", o.upload_type.as_str(), o.existing_details.as_str())).unwrap_or_default();
                                        let (id, present) = (b.id, b.still_present);
                                        view! {
                                            <tr>
                                                <td class="num">{b.id}</td>
                                                <td>{b.created_at}</td>
                                                <td>{b.admin.unwrap_or_else(|| "command line".into())}</td>
                                                <td>{b.file_name}</td>
                                                <td>{opts}</td>
                                                <td class="num">{s.rows}</td>
                                                <td class="num">{s.rows_with_errors}</td>
                                                <td class="num">{s.memberships_added}</td>
                                                <td>{match &b.undone_at { Some(t) => format!("Undone {t}"), None => format!("Active ({present} memberships present)") }}</td>
                                                <td>
                                                    {b.undone_at.is_none().then(|| view! {
                                                        <button aria-label=format!("Undo upload batch {id}") on:click=move |_| confirm.set(Some((id, present)))>"Undo"</button>
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
