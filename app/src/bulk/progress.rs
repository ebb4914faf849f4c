//! How far a staged commit has got, readable while it runs (issue 13, item 3). The commit's
//! transaction reports its own steps here, in the server's memory, not in the database: with
//! SQLite a progress row would be invisible until the commit (and a second writer would wait on
//! the lock the commit holds). The page asks `commit_progress` with the stage it sent, over HTTP,
//! from its own process.
use serde::{Deserialize, Serialize};

/// The steps of `engine::run`, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CommitStep {
    /// Parsing the staged file on the server.
    Reading,
    /// Waiting for another bulk change to finish (they run one at a time).
    Waiting,
    /// Reading what the database holds about the file's names, under the lock.
    LookingUp,
    /// Validating every row again against it.
    Validating,
    /// Writing the rows (`done` of `total` planned writes).
    Writing,
    /// The enrolment methods and automated segments following the change (SPEC 5, 8).
    Syncing,
    /// Making it durable.
    Committing,
    /// Committed.
    Done,
}

impl CommitStep {
    pub const ALL: [CommitStep; 8] = [
        CommitStep::Reading,
        CommitStep::Waiting,
        CommitStep::LookingUp,
        CommitStep::Validating,
        CommitStep::Writing,
        CommitStep::Syncing,
        CommitStep::Committing,
        CommitStep::Done,
    ];

    pub fn label(self) -> &'static str {
        match self {
            CommitStep::Reading => "Reading the file on the server",
            CommitStep::Waiting => "Waiting for another bulk change to finish",
            CommitStep::LookingUp => "Looking up users and segments",
            CommitStep::Validating => "Validating every row again",
            CommitStep::Writing => "Writing",
            CommitStep::Syncing => "Updating enrolments, course groups and automated segments",
            CommitStep::Committing => "Committing the transaction",
            CommitStep::Done => "Committed",
        }
    }

    /// 1-based position among the steps (they are declared in order).
    pub fn number(self) -> usize {
        self as usize + 1
    }
}

/// A commit's progress as the page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitProgress {
    pub step: CommitStep,
    /// Rows written so far and planned, while `Writing` (and after it).
    pub done: u64,
    pub total: u64,
}

impl CommitProgress {
    /// "Step 5 of 8: Writing (25,000 of 1,000,000 changes)".
    pub fn describe(&self) -> String {
        let n = CommitStep::ALL.len();
        let mut out = format!("Step {} of {n}: {}", self.step.number(), self.step.label());
        if self.step == CommitStep::Writing && self.total > 0 {
            out.push_str(&format!(
                " ({} of {} changes)",
                crate::components::thousands(self.done),
                crate::components::thousands(self.total)
            ));
        }
        out
    }

    /// How far along, out of 1,000, for a `<progress>` bar: the steps before the writes count
    /// little, the writes most.
    pub fn permille(&self) -> u64 {
        match self.step {
            CommitStep::Reading => 20,
            CommitStep::Waiting => 40,
            CommitStep::LookingUp => 60,
            CommitStep::Validating => 150,
            CommitStep::Writing => 200 + 650 * self.done.min(self.total) / self.total.max(1),
            CommitStep::Syncing => 860,
            CommitStep::Committing => 960,
            CommitStep::Done => 1000,
        }
    }
}

#[cfg(feature = "ssr")]
pub use tracker::{progress_of, Tracker};

#[cfg(feature = "ssr")]
mod tracker {
    use super::{CommitProgress, CommitStep};
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    use std::time::{Duration, Instant};

    /// How long a finished commit's last state stays readable (a poll may come after the
    /// commit's own reply).
    const KEEP: Duration = Duration::from_secs(300);

    type Board = HashMap<String, (CommitProgress, Instant)>;

    fn board() -> &'static Mutex<Board> {
        static BOARD: OnceLock<Mutex<Board>> = OnceLock::new();
        BOARD.get_or_init(Default::default)
    }

    /// What the commit of `stage` last reported, if it is running or finished recently.
    pub fn progress_of(stage: &str) -> Option<CommitProgress> {
        let board = board().lock().unwrap_or_else(|e| e.into_inner());
        board.get(stage).map(|(p, _)| *p)
    }

    /// The reporting end, held by one commit. Without a stage (the CLI, a dry run) it records
    /// nothing.
    pub struct Tracker {
        stage: Option<String>,
    }

    impl Tracker {
        pub fn new(stage: Option<&str>) -> Self {
            Self {
                stage: stage.map(str::to_string),
            }
        }

        pub fn step(&self, step: CommitStep) {
            self.set(|p| {
                p.step = step;
            });
        }

        /// Starts counting an apply's `total` planned writes (reported as `Writing`).
        pub fn writes(&self, total: usize) -> Writes<'_> {
            self.rows(0, total as u64);
            Writes {
                tracker: self,
                done: 0,
                total: total as u64,
            }
        }

        /// `done` of `total` planned writes made.
        fn rows(&self, done: u64, total: u64) {
            self.set(|p| {
                p.step = CommitStep::Writing;
                p.done = done;
                p.total = total;
            });
        }

        fn set(&self, change: impl FnOnce(&mut CommitProgress)) {
            let Some(stage) = &self.stage else { return };
            let now = Instant::now();
            let mut board = board().lock().unwrap_or_else(|e| e.into_inner());
            board.retain(|_, (_, at)| now.duration_since(*at) < KEEP);
            let entry = board.entry(stage.clone()).or_insert((
                CommitProgress {
                    step: CommitStep::Reading,
                    done: 0,
                    total: 0,
                },
                now,
            ));
            change(&mut entry.0);
            entry.1 = now;
        }
    }

    /// An apply's count of writes made, from `Tracker::writes`.
    pub struct Writes<'a> {
        tracker: &'a Tracker,
        done: u64,
        total: u64,
    }

    impl Writes<'_> {
        /// `n` more planned writes made.
        pub fn wrote(&mut self, n: usize) {
            self.done += n as u64;
            self.tracker.rows(self.done, self.total);
        }
    }

    impl Drop for Tracker {
        /// A commit that failed leaves no progress behind: the stage can be committed again.
        fn drop(&mut self) {
            let Some(stage) = &self.stage else { return };
            let mut board = board().lock().unwrap_or_else(|e| e.into_inner());
            if board
                .get(stage)
                .is_some_and(|(p, _)| p.step != CommitStep::Done)
            {
                board.remove(stage);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_only_moves_forward_through_the_steps_and_the_writes() {
        let mut seen = vec![];
        for step in CommitStep::ALL {
            if step == CommitStep::Writing {
                for done in [0, 1, 500, 999, 1000] {
                    seen.push(
                        CommitProgress {
                            step,
                            done,
                            total: 1000,
                        }
                        .permille(),
                    );
                }
            } else {
                seen.push(
                    CommitProgress {
                        step,
                        done: 0,
                        total: 0,
                    }
                    .permille(),
                );
            }
        }
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
        assert_eq!(seen.last(), Some(&1000));
        let p = CommitProgress {
            step: CommitStep::Writing,
            done: 25_000,
            total: 1_000_000,
        };
        assert_eq!(
            p.describe(),
            "Step 5 of 8: Writing (25,000 of 1,000,000 changes)"
        );
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_tracker_reports_under_its_stage_and_a_failed_commit_leaves_nothing() {
        let stage = format!("test-{}", rand::random::<u64>());
        {
            let t = Tracker::new(Some(&stage));
            t.step(CommitStep::LookingUp);
            assert_eq!(progress_of(&stage).unwrap().step, CommitStep::LookingUp);
            let mut writes = t.writes(40);
            assert_eq!(progress_of(&stage).unwrap().done, 0);
            writes.wrote(10);
            let p = progress_of(&stage).unwrap();
            assert_eq!((p.step, p.done, p.total), (CommitStep::Writing, 10, 40));
        }
        assert_eq!(progress_of(&stage), None, "dropped before Done");
        {
            let t = Tracker::new(Some(&stage));
            t.writes(40).wrote(40);
            t.step(CommitStep::Done);
        }
        let p = progress_of(&stage).unwrap();
        assert_eq!((p.step, p.done, p.total), (CommitStep::Done, 40, 40));
    }
}
