//! The upload page's state: the chosen file, the options, the preview and the commit, as
//! signals, and every step the admin can take as a method (choose, re-validate, re-parse,
//! commit, start over). `page.rs` only renders it. The preview's server questions go through the
//! shared look-up protocol (`lookup_client.rs`) over the generated server functions.
use super::api::{
    upload_begin, upload_commit, upload_effects, upload_memberships, upload_segments,
    upload_user_memberships, upload_users, CHUNK_BYTES, EFFECTS_BATCH,
};
use super::browser::{now_ms, pause, send_chunk};
use super::lookup_client::{parse_and_look_up, LookedUp, LookupTransport, Previewed, Source};
use super::report::effect_batches;
use super::types::{CommitResult, SegmentFound, UserLookup};
use super::validate::{Knowledge, Report, Validation};
use super::{validate, Parsed, UploadOptions};
use crate::bulk::CommitProgress;
use crate::error::AppError;
use leptos::prelude::*;
use std::sync::Arc;

/// Rows validated between two pauses of a preview (a few tens of milliseconds).
const VALIDATE_STEP_ROWS: usize = 100_000;

/// A file as the browser read it.
// `pub` in this private module (the crate sees it through `page`): the `#[component]`s that take
// it generate `pub` items, which may not expose a `pub(crate)` type.
#[derive(Clone)]
pub struct Loaded {
    pub name: String,
    pub bytes: Arc<Vec<u8>>,
    /// When the admin chose the file, and how long reading it took (ms).
    pub chosen_at: f64,
    pub read_ms: f64,
}

/// A file whose first slice is read while the browser reads the rest (`browser::read_ahead`).
pub struct Reading {
    pub name: String,
    /// When the admin chose the file, and how long its first slice took to read (ms).
    pub chosen_at: f64,
    pub head_ms: f64,
    pub ahead: super::browser::ReadAhead,
}

/// What a preview reads: a file read whole, or one whose rest is still being read.
enum Input {
    Whole(Loaded),
    Reading(Reading),
}

/// A preview: the parsed file, what the server knows about it, and its validation.
#[derive(Clone)]
pub(super) struct Analysis {
    pub(super) parsed: Arc<Parsed>,
    known: Arc<Knowledge>,
    /// Whether `known` carries users' stored details (needed by override / fill-missing).
    details: bool,
    /// Segments of the file that enrolment methods follow (their sync effects are previewed).
    pub(super) synced: Arc<Vec<i32>>,
    pub(super) report: Arc<Report>,
    pub(super) parse_ms: f64,
    pub(super) lookup_ms: f64,
    pub(super) validate_ms: f64,
    pub(super) read_ms: f64,
    /// From choosing the file (or changing an option) to a ready preview.
    pub(super) total_ms: f64,
}

/// Where a file is between being chosen and being committed (`pub` as `Loaded` is).
#[derive(Clone, PartialEq)]
pub enum Phase {
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
    /// The server is committing; the last progress it reported, once it has.
    Applying(Option<CommitProgress>),
    Committed,
}

impl Phase {
    pub fn is_committing(&self) -> bool {
        matches!(self, Phase::Uploading { .. } | Phase::Applying(_))
    }
}

/// A done commit: the server's answer, its per-row outcomes unpacked.
#[derive(Clone)]
pub(super) struct Committed {
    pub(super) result: CommitResult,
    pub(super) report: Arc<Report>,
}

/// The enrolments and group memberships a commit would cause (SPEC 5).
#[derive(Clone, Copy, PartialEq)]
pub(super) struct Effects {
    pub(super) enrolments: u64,
    pub(super) group_memberships: u64,
}

/// The upload page's state and everything the admin can do to it; the component only renders.
///
/// Every preview belongs to a generation: choosing a file, changing an option, committing or
/// starting over begins a new one, and work finishing for an older generation is dropped, so a
/// slow look-up or effects call can never overwrite a newer preview.
#[derive(Clone, Copy)]
pub(super) struct UploadState {
    pub(super) options: RwSignal<UploadOptions>,
    pub(super) file: RwSignal<Option<Loaded>>,
    pub(super) analysis: RwSignal<Option<Result<Analysis, String>>>,
    pub(super) phase: RwSignal<Phase>,
    pub(super) committed: RwSignal<Option<Result<Committed, AppError>>>,
    /// None while the server works them out for the current report.
    pub(super) effects: RwSignal<Option<Result<Effects, AppError>>>,
    generation: Generation,
}

impl UploadState {
    pub(super) fn new() -> Self {
        Self {
            options: RwSignal::new(UploadOptions::default()),
            file: RwSignal::new(None),
            analysis: RwSignal::new(None),
            phase: RwSignal::new(Phase::Idle),
            committed: RwSignal::new(None),
            effects: RwSignal::new(None),
            generation: Generation::new(),
        }
    }

    fn next_generation(self) -> u64 {
        self.generation.next()
    }

    fn is_current(self, gen: u64) -> bool {
        self.generation.is_current(gen)
    }

    /// While a commit is being sent or applied, nothing may start another preview.
    fn committing(self) -> bool {
        self.phase.with_untracked(Phase::is_committing)
    }

    /// A newly chosen file (the same one again included): a fresh preview from fresh look-ups,
    /// the previous preview and result cleared.
    pub(super) fn choose(self, loaded: Loaded) {
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

    /// A newly chosen file whose first slice is read: its preview starts on that slice while
    /// the browser reads the rest. The previous file is dropped at once, so nothing re-checks it
    /// meanwhile; the new one is kept once read. An option changed meanwhile (with no file to
    /// re-check, the change did nothing) previews it again under the new options.
    pub(super) fn choose_reading(self, reading: Reading) {
        if self.committing() {
            return;
        }
        self.file.set(None);
        self.analysis.set(None);
        let (name, rest) = (reading.name.clone(), reading.ahead.rest.clone());
        let opts = self.options.get_untracked();
        let gen = self.preview(Input::Reading(reading));
        leptos::task::spawn_local(async move {
            // A file that could not be read: the preview says so.
            let Ok(bytes) = rest.await else {
                return;
            };
            if !self.is_current(gen) {
                return; // another file was chosen, or the page started over
            }
            let loaded = Loaded {
                name,
                bytes,
                chosen_at: 0.0,
                read_ms: 0.0,
            };
            self.file.set(Some(loaded.clone()));
            if self.options.get_untracked() != opts {
                self.analyse(loaded);
            }
        });
    }

    /// Parses the file under the current options and asks the server about its names. The
    /// previous preview (if any) stays on screen, but Commit is disabled until this one is ready.
    fn analyse(self, loaded: Loaded) {
        self.preview(Input::Whole(loaded));
    }

    /// `analyse` of a file read whole or still being read; gives the preview's generation.
    fn preview(self, input: Input) -> u64 {
        let gen = self.next_generation();
        let opts = self.options.get_untracked();
        self.committed.set(None);
        self.effects.set(None);
        self.phase.set(Phase::Checking { done: 0, total: 0 });
        leptos::task::spawn_local(async move {
            if matches!(input, Input::Reading(_)) {
                pause().await; // the head's copy and its first parse step: two tasks, not one
            }
            let t0 = now_ms();
            // A first analysis counts from the moment the file was chosen (its read, or its
            // first slice's when the rest is read meanwhile); a re-run from now.
            let (started, read_ms) = match &input {
                Input::Whole(l) if l.chosen_at > 0.0 => (l.chosen_at, l.read_ms),
                Input::Whole(_) => (t0, 0.0),
                Input::Reading(r) => (r.chosen_at, r.head_ms),
            };
            let source = match &input {
                Input::Whole(l) => Source::Whole(&l.bytes[..]),
                Input::Reading(r) => Source::Reading {
                    head: &r.ahead.head,
                    size: r.ahead.size,
                    rest: r.ahead.rest.clone(),
                },
            };
            let details = opts.updates_details();
            let progress = move |done, total| {
                if self.is_current(gen) {
                    self.phase.set(Phase::Checking { done, total });
                }
            };
            // The names of each step of a large file are asked about while the next parses; a
            // newer preview stops this one at its next step.
            let go_on = move || async move {
                pause().await;
                self.is_current(gen)
            };
            let Previewed {
                parsed,
                looked_up: LookedUp { mut known, synced },
                parse_ms,
            } = match parse_and_look_up(&ServerFns, source, &opts, progress, go_on).await {
                Ok(p) => p,
                Err(e) => {
                    self.fail(gen, e.to_string());
                    return;
                }
            };
            let parsed = Arc::new(parsed);
            // profile_field_… columns (SPEC 8): the site's fields, and an unknown one is a
            // file error, as the commit will say.
            if !parsed.profile_fields.is_empty() {
                match crate::automation::api::profile_fields().await {
                    Ok(fields) => {
                        let defined: Vec<String> =
                            fields.iter().map(|f| f.shortname.clone()).collect();
                        if let Err(e) = super::parse::unknown_profile_fields(&parsed, &defined) {
                            self.fail(gen, e.to_string());
                            return;
                        }
                        known.profile_fields = fields;
                    }
                    Err(e) => {
                        self.fail(gen, e.to_string());
                        return;
                    }
                }
            }
            if !self.is_current(gen) {
                return;
            }
            let t2 = now_ms();
            let lookup_ms = t2 - t0 - parse_ms;
            // In steps, so a million-row file's validation does not hold the page's thread;
            // `validate_ms` counts the set-up, steps and summary, not the pauses between them.
            let mut validation = Validation::new(&parsed, &opts, &known);
            let mut validate_ms = now_ms() - t2;
            loop {
                let t = now_ms();
                let more = validation.step(VALIDATE_STEP_ROWS);
                validate_ms += now_ms() - t;
                if !more {
                    break;
                }
                pause().await;
                if !self.is_current(gen) {
                    return;
                }
            }
            let t = now_ms();
            let report = Arc::new(validation.finish());
            let t3 = now_ms();
            validate_ms += t3 - t;
            self.start_effects(report.clone(), synced.clone(), gen);
            self.analysis.set(Some(Ok(Analysis {
                parsed,
                known: Arc::new(known),
                synced: Arc::new(synced),
                details,
                report,
                parse_ms,
                lookup_ms,
                validate_ms,
                read_ms,
                total_ms: t3 - started,
            })));
            self.phase.set(Phase::Ready);
        });
        gen
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
    pub(super) fn revalidate(self) {
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
    pub(super) fn reparse(self) {
        if self.committing() {
            return;
        }
        if let Some(f) = self.file.get_untracked() {
            self.analyse(f);
        }
    }

    pub(super) fn commit(self) {
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
        let gen = self.generation.current();
        let phase = self.phase;
        leptos::task::spawn_local(async move {
            let outcome: Result<CommitResult, AppError> = async {
                let stage = stage_file(&loaded, phase).await?;
                with_commit_progress(stage.clone(), phase, upload_commit(stage, opts)).await
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
    pub(super) fn reset(self) {
        self.next_generation();
        self.options.set(UploadOptions::default());
        self.file.set(None);
        self.analysis.set(None);
        self.committed.set(None);
        self.effects.set(None);
        self.phase.set(Phase::Idle);
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
    for (existing, new) in effect_batches(report, synced, EFFECTS_BATCH) {
        let (e, g) = upload_effects(existing, new).await?;
        total.enrolments += e;
        total.group_memberships += g;
    }
    Ok(total)
}

/// The page asks through the generated server functions.
struct ServerFns;

impl LookupTransport for ServerFns {
    type Error = AppError;

    async fn segments(&self, id_numbers: Vec<String>) -> Result<Vec<SegmentFound>, AppError> {
        upload_segments(id_numbers).await
    }

    async fn memberships(&self, segment_ids: Vec<i32>) -> Result<Vec<(i32, i32)>, AppError> {
        Ok(upload_memberships(segment_ids).await?.0)
    }

    async fn users(
        &self,
        usernames: String,
        segment_ids: Vec<i32>,
        details: bool,
    ) -> Result<UserLookup, AppError> {
        upload_users(usernames, segment_ids, details).await
    }

    async fn user_memberships(
        &self,
        user_ids: Vec<i32>,
        segment_ids: Vec<i32>,
    ) -> Result<Vec<(i32, i32)>, AppError> {
        Ok(upload_user_memberships(user_ids, segment_ids).await?.0)
    }
}

/// Sends a chosen file to the server in `CHUNK_BYTES` chunks, showing progress in `phase`, and
/// returns its stage; `Applying` once it is all there. Every bulk page commits this way.
pub(crate) async fn stage_file(
    loaded: &Loaded,
    phase: RwSignal<Phase>,
) -> Result<String, AppError> {
    let bytes = loaded.bytes.clone();
    let total = bytes.len().div_ceil(CHUNK_BYTES).max(1);
    phase.set(Phase::Uploading { sent: 0, total });
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
    phase.set(Phase::Applying(None));
    Ok(stage)
}

/// Runs `commit` (the server function committing `stage`) while asking the server how far it
/// has got, a few times a second, into `phase`.
pub(crate) async fn with_commit_progress<T>(
    stage: String,
    phase: RwSignal<Phase>,
    commit: impl std::future::Future<Output = T>,
) -> T {
    use std::cell::Cell;
    use std::rc::Rc;
    let asking = Rc::new(Cell::new(false));
    let poll = move || {
        // One question at a time: a slow answer is not queued behind by more.
        if asking.replace(true) {
            return;
        }
        let (stage, asking) = (stage.clone(), asking.clone());
        leptos::task::spawn_local(async move {
            if let Ok(Some(p)) = crate::bulk::api::progress_of_commit(stage).await {
                // The commit's own answer may have come first.
                if matches!(phase.get_untracked(), Phase::Applying(_)) {
                    phase.set(Phase::Applying(Some(p)));
                }
            }
            asking.set(false);
        });
    };
    let timer = set_interval_with_handle(poll, std::time::Duration::from_millis(300)).ok();
    let out = commit.await;
    if let Some(t) = timer {
        t.clear();
    }
    out
}

/// The generation counter of a bulk page: each new preview (a file chosen, an option changed, a
/// fresh start) begins one, and work finishing for an older one is dropped.
#[derive(Clone, Copy)]
pub(crate) struct Generation(StoredValue<u64>);

impl Generation {
    pub fn new() -> Self {
        Self(StoredValue::new(0))
    }

    /// Begins a new generation and returns it.
    pub fn next(self) -> u64 {
        self.0.update_value(|g| *g += 1);
        self.0.get_value()
    }

    pub fn current(self) -> u64 {
        self.0.get_value()
    }

    pub fn is_current(self, gen: u64) -> bool {
        self.0.get_value() == gen
    }
}
