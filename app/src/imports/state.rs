//! The import page's state and every step an admin can take on it; the component only renders.
//! The same shape as the upload page's (`upload::state`): a file is parsed and validated in
//! WebAssembly the moment it is chosen, the server is asked only what it alone knows, in
//! batches, and every preview belongs to a generation so a slow answer never overwrites a newer
//! preview.
use super::api::{import_commit, import_effects, import_look_up, EFFECTS_BATCH, LOOKUP_BATCH};
use super::table::{parse_table, Table};
use super::types::{Effects, ImportResult, Knowledge, Questions};
use super::validate::{questions, validate, Report};
use super::{ImportKind, ImportOptions};
use crate::error::AppError;
use crate::upload::api::LOOKUP_CONCURRENCY;
use crate::upload::browser::now_ms;
use crate::upload::page::{Loaded, Phase};
use leptos::prelude::*;
use std::sync::Arc;

#[derive(Clone)]
pub(crate) struct Analysis {
    pub table: Arc<Table>,
    pub known: Arc<Knowledge>,
    pub report: Arc<Report>,
    pub parse_ms: f64,
    pub lookup_ms: f64,
    pub validate_ms: f64,
    /// From choosing the file (or changing an option) to a ready preview.
    pub total_ms: f64,
}

#[derive(Clone, Copy)]
pub(crate) struct ImportState {
    pub options: RwSignal<ImportOptions>,
    pub file: RwSignal<Option<Loaded>>,
    pub analysis: RwSignal<Option<Result<Analysis, String>>>,
    pub phase: RwSignal<Phase>,
    pub committed: RwSignal<Option<Result<ImportResult, AppError>>>,
    /// None while the server works them out for the current report.
    pub effects: RwSignal<Option<Result<Effects, AppError>>>,
    generation: crate::upload::state::Generation,
}

impl ImportState {
    pub fn new(kind: ImportKind) -> Self {
        Self {
            options: RwSignal::new(ImportOptions::new(kind)),
            file: RwSignal::new(None),
            analysis: RwSignal::new(None),
            phase: RwSignal::new(Phase::Idle),
            committed: RwSignal::new(None),
            effects: RwSignal::new(None),
            generation: crate::upload::state::Generation::new(),
        }
    }

    fn next_generation(self) -> u64 {
        self.generation.next()
    }

    fn is_current(self, gen: u64) -> bool {
        self.generation.is_current(gen)
    }

    fn committing(self) -> bool {
        self.phase.with_untracked(Phase::is_committing)
    }

    /// A newly chosen file (the same one again included): a fresh preview from fresh look-ups.
    pub fn choose(self, loaded: Loaded) {
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

    fn analyse(self, loaded: Loaded) {
        let gen = self.next_generation();
        let opts = self.options.get_untracked();
        self.committed.set(None);
        self.effects.set(None);
        self.phase.set(Phase::Checking { done: 0, total: 0 });
        leptos::task::spawn_local(async move {
            let t0 = now_ms();
            let started = if loaded.chosen_at > 0.0 {
                loaded.chosen_at
            } else {
                t0
            };
            let table = match parse_table(&loaded.bytes, &opts) {
                Ok(t) => Arc::new(t),
                Err(e) => return self.fail(gen, e.to_string()),
            };
            let parse_ms = now_ms() - t0;
            let progress = move |done, total| {
                if self.is_current(gen) {
                    self.phase.set(Phase::Checking { done, total });
                }
            };
            let known = match look_up(questions(&table), progress).await {
                Ok(k) => Arc::new(k),
                Err(e) => return self.fail(gen, e.to_string()),
            };
            if !self.is_current(gen) {
                return;
            }
            let t2 = now_ms();
            let report = Arc::new(validate(&table, &opts, &known));
            let t3 = now_ms();
            self.start_effects(report.clone(), gen);
            self.analysis.set(Some(Ok(Analysis {
                table,
                known,
                report,
                parse_ms,
                lookup_ms: t2 - t0 - parse_ms,
                validate_ms: t3 - t2,
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

    fn start_effects(self, report: Arc<Report>, gen: u64) {
        self.effects.set(None);
        leptos::task::spawn_local(async move {
            let mut total = Effects::default();
            let mut result = Ok(());
            for batch in report.plan.enrolments.chunks(EFFECTS_BATCH) {
                match import_effects(batch.to_vec()).await {
                    Ok(e) => {
                        total.enrolments += e.enrolments;
                        total.group_memberships += e.group_memberships;
                    }
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            if self.is_current(gen) {
                self.effects.set(Some(result.map(|_| total)));
            }
        });
    }

    /// Mode or "not enrolled" changed: the look-ups do not depend on them, so validation alone
    /// reruns, unless the preview is stale (a commit since, or a look-up in flight).
    pub fn revalidate(self) {
        if self.committing() {
            return;
        }
        let opts = self.options.get_untracked();
        let fresh =
            self.phase.get_untracked() == Phase::Ready && self.committed.get_untracked().is_none();
        match self.analysis.get_untracked() {
            Some(Ok(a)) if fresh => {
                let gen = self.next_generation();
                let report = Arc::new(validate(&a.table, &opts, &a.known));
                self.start_effects(report.clone(), gen);
                self.analysis.set(Some(Ok(Analysis { report, ..a })));
            }
            _ => self.reparse(),
        }
    }

    /// Delimiter or encoding changed (or the look-ups are stale): parse and look up again.
    pub fn reparse(self) {
        if self.committing() {
            return;
        }
        if let Some(f) = self.file.get_untracked() {
            self.analyse(f);
        }
    }

    pub fn commit(self) {
        if self.phase.get_untracked() != Phase::Ready {
            return;
        }
        let Some(loaded) = self.file.get_untracked() else {
            return;
        };
        let opts = self.options.get_untracked();
        let gen = self.generation.current();
        let phase = self.phase;
        leptos::task::spawn_local(async move {
            let outcome: Result<ImportResult, AppError> = async {
                let stage = crate::upload::state::stage_file(&loaded, phase).await?;
                crate::upload::state::with_commit_progress(
                    stage.clone(),
                    phase,
                    import_commit(stage, opts),
                )
                .await
            }
            .await;
            if !self.is_current(gen) {
                return;
            }
            phase.set(if outcome.is_ok() {
                Phase::Committed
            } else {
                Phase::Ready
            });
            self.committed.set(Some(outcome));
        });
    }

    /// "Continue" after a commit: a clean page, as a fresh visit would show it.
    pub fn reset(self) {
        let kind = self.options.get_untracked().kind;
        self.next_generation();
        self.options.set(ImportOptions::new(kind));
        self.file.set(None);
        self.analysis.set(None);
        self.committed.set(None);
        self.effects.set(None);
        self.phase.set(Phase::Idle);
    }
}

/// Asks the server what it knows about the file's names: courses and segments first (their
/// groups come with the courses), then the usernames in batches, several in flight at once,
/// each with the courses' ids so the users' enrolments and group memberships come back too.
async fn look_up(q: Questions, progress: impl Fn(usize, usize)) -> Result<Knowledge, AppError> {
    let mut known = Knowledge::default();
    let longest = q.courses.len().max(q.segments.len());
    for i in (0..longest).step_by(LOOKUP_BATCH) {
        let part = |v: &Vec<String>| v.iter().skip(i).take(LOOKUP_BATCH).cloned().collect();
        let ask = Questions {
            courses: part(&q.courses),
            segments: part(&q.segments),
            ..Questions::default()
        };
        known.merge(import_look_up(ask).await?);
    }
    let course_ids: Vec<i32> = known.courses.values().copied().collect();
    crate::bulk::in_batches(
        &q.usernames,
        LOOKUP_BATCH,
        LOOKUP_CONCURRENCY,
        progress,
        |b| {
            import_look_up(Questions {
                usernames: b.to_vec(),
                course_ids: course_ids.clone(),
                ..Questions::default()
            })
        },
        |_, reply| known.merge(reply),
    )
    .await?;
    Ok(known)
}
