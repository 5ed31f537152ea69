//! How many of a task instance's upstreams are in each state: the input of
//! every trigger rule. Mirrors Airflow's `_UpstreamTIStates`
//! (`airflow-core/src/airflow/ti_deps/deps/trigger_rule_dep.py`), with the
//! upstream totals folded in and a few task ids kept so a reason can name
//! names. Pure data: the scheduler gathers the states, nothing here does I/O.

use crate::model::TaskInstanceState;

/// Where one upstream task instance stands, for counting. Airflow's
/// "finished" states (`State.finished`) each get a bucket; every other state,
/// and no state at all, is `Unfinished`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tally {
    Success,
    Skipped,
    Failed,
    UpstreamFailed,
    Removed,
    Unfinished,
}

impl Tally {
    /// The bucket a state is counted in. The match is exhaustive on purpose:
    /// a new state must be placed here deliberately.
    pub fn of(state: Option<TaskInstanceState>) -> Self {
        use TaskInstanceState as S;
        match state {
            Some(S::Success) => Self::Success,
            Some(S::Skipped) => Self::Skipped,
            Some(S::Failed) => Self::Failed,
            Some(S::UpstreamFailed) => Self::UpstreamFailed,
            Some(S::Removed) => Self::Removed,
            None
            | Some(
                S::Scheduled
                | S::Queued
                | S::Running
                | S::UpForRetry
                | S::UpForReschedule
                | S::Deferred
                | S::Restarting,
            ) => Self::Unfinished,
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Success => 0,
            Self::Skipped => 1,
            Self::Failed => 2,
            Self::UpstreamFailed => 3,
            Self::Removed => 4,
            Self::Unfinished => 5,
        }
    }
}

/// The first upstream task id seen in each bucket, so a reason can say
/// "upstream 'extract' was skipped" rather than "1 upstream task was skipped".
/// Empty when the counts were built without names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Examples {
    first: [Option<String>; 6],
}

impl Examples {
    pub fn get(&self, tally: Tally) -> Option<&str> {
        self.first[tally.index()].as_deref()
    }

    fn note(&mut self, tally: Tally, task_id: &str) {
        let slot = &mut self.first[tally.index()];
        if slot.is_none() {
            *slot = Some(task_id.to_owned());
        }
    }
}

/// The upstream task instances of one task instance, counted by state.
///
/// One entry per relevant upstream task instance (a mapped upstream
/// contributes one per map index, as Airflow's count query does). The
/// `setup_*` fields count the subset of those upstreams that are setup tasks;
/// like Airflow's counter they are inclusive: a skipped setup adds one to
/// both `skipped` and `setup_skipped`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpstreamCounts {
    /// All upstream task instances, finished or not (Airflow's `upstream`).
    pub total: u32,
    pub success: u32,
    pub skipped: u32,
    pub failed: u32,
    pub upstream_failed: u32,
    pub removed: u32,
    /// Upstreams that are setup tasks (Airflow's `upstream_setup`).
    pub setup_total: u32,
    pub setup_success: u32,
    pub setup_skipped: u32,
    pub setup_failed: u32,
    pub setup_upstream_failed: u32,
    pub setup_removed: u32,
    pub examples: Examples,
}

impl UpstreamCounts {
    /// Counts `(state, is_setup)` pairs, one per upstream task instance.
    pub fn from_states<I>(upstreams: I) -> Self
    where
        I: IntoIterator<Item = (Option<TaskInstanceState>, bool)>,
    {
        let mut counts = Self::default();
        for (state, is_setup) in upstreams {
            counts.record(Tally::of(state), is_setup);
        }
        counts
    }

    /// As [`Self::from_states`], keeping the first task id in each state so
    /// the reasons can name it.
    pub fn from_named<'a, I>(upstreams: I) -> Self
    where
        I: IntoIterator<Item = (&'a str, Option<TaskInstanceState>, bool)>,
    {
        let mut counts = Self::default();
        for (task_id, state, is_setup) in upstreams {
            let tally = Tally::of(state);
            counts.record(tally, is_setup);
            counts.examples.note(tally, task_id);
        }
        counts
    }

    fn record(&mut self, tally: Tally, is_setup: bool) {
        self.total += 1;
        self.setup_total += u32::from(is_setup);
        let (all, setup) = match tally {
            Tally::Success => (&mut self.success, &mut self.setup_success),
            Tally::Skipped => (&mut self.skipped, &mut self.setup_skipped),
            Tally::Failed => (&mut self.failed, &mut self.setup_failed),
            Tally::UpstreamFailed => (&mut self.upstream_failed, &mut self.setup_upstream_failed),
            Tally::Removed => (&mut self.removed, &mut self.setup_removed),
            Tally::Unfinished => return,
        };
        *all += 1;
        *setup += u32::from(is_setup);
    }

    /// Finished upstreams: success, skipped, failed, upstream_failed or
    /// removed (Airflow's `done`).
    pub fn done(&self) -> u32 {
        self.success
            .saturating_add(self.skipped)
            .saturating_add(self.failed)
            .saturating_add(self.upstream_failed)
            .saturating_add(self.removed)
    }

    /// Upstreams not finished yet (running, queued, no state…).
    pub fn unfinished(&self) -> u32 {
        self.total.saturating_sub(self.done())
    }

    /// Every upstream is finished (Airflow's `upstream_done = done >= upstream`).
    pub fn all_done(&self) -> bool {
        self.done() >= self.total
    }

    /// How many upstreams are in `tally`'s bucket.
    pub fn count(&self, tally: Tally) -> u32 {
        match tally {
            Tally::Success => self.success,
            Tally::Skipped => self.skipped,
            Tally::Failed => self.failed,
            Tally::UpstreamFailed => self.upstream_failed,
            Tally::Removed => self.removed,
            Tally::Unfinished => self.unfinished(),
        }
    }

    /// "upstream 'extract' was skipped", "upstream 'extract' and 2 others
    /// were skipped" or, without names, "3 upstream tasks were skipped".
    /// `noun` names the kind of task ("upstream", "setup"); `verbs` is the
    /// (singular, plural) predicate.
    pub(crate) fn describe(&self, tally: Tally, noun: &str, verbs: (&str, &str)) -> String {
        let n = self.count(tally);
        let verb = if n == 1 { verbs.0 } else { verbs.1 };
        match (self.examples.get(tally), n) {
            (Some(id), 1) => format!("{noun} '{id}' {verb}"),
            (Some(id), 2) => format!("{noun} '{id}' and 1 other {verb}"),
            (Some(id), _) => format!("{noun} '{id}' and {} others {verb}", n.saturating_sub(1)),
            (None, 1) => format!("1 {noun} task {verb}"),
            (None, _) => format!("{n} {noun} tasks {verb}"),
        }
    }

    /// Describes the failed and upstream_failed upstreams together, e.g.
    /// "upstream 'load' failed and upstream 'report' is upstream_failed".
    pub(crate) fn describe_failures(&self, noun: &str) -> String {
        let failed = self.describe(Tally::Failed, noun, ("failed", "failed"));
        let upstream_failed = self.describe(
            Tally::UpstreamFailed,
            noun,
            ("is upstream_failed", "are upstream_failed"),
        );
        match (self.failed > 0, self.upstream_failed > 0) {
            (true, true) => format!("{failed} and {upstream_failed}"),
            (false, true) => upstream_failed,
            _ => failed,
        }
    }

    /// "2 of 3 upstream tasks are done, 'transform' is not", or for a
    /// single upstream "the upstream task is not done yet".
    pub(crate) fn progress(&self) -> String {
        let unfinished = self.unfinished();
        let waiting_on = match self.examples.get(Tally::Unfinished) {
            Some(id) if unfinished == 1 => format!(", '{id}' is not"),
            Some(id) if unfinished > 1 => format!(", '{id}' and {} more are not", unfinished - 1),
            _ => String::new(),
        };
        match (self.total, self.examples.get(Tally::Unfinished)) {
            (1, Some(id)) => format!("upstream '{id}' is not done yet"),
            (1, None) => "the upstream task is not done yet".to_owned(),
            (total, _) => format!(
                "{} of {total} upstream tasks are done{waiting_on}",
                self.done()
            ),
        }
    }
}
