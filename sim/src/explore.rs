//! Exploration: shuttle's schedulers driven over blocks of iterations, on one or more jobs, with
//! every schedule recorded so a failing one can be written out and replayed exactly.
//!
//! # Blocks
//! Iteration `i` belongs to block `i / BLOCK_ITERATIONS`. A block is one shuttle `Runner` with one
//! scheduler seeded from `(seed, block)`, so the schedule of iteration `i` depends only on the seed
//! and on the iterations before it in its block, which always run in the same order: results are a
//! function of `(seed, iteration)` whatever `--jobs` is. Blocks, not single iterations, because
//! PCT learns the length of an execution from the first one it runs, and because a runner keeps
//! its continuation stacks between executions. Parameters come from `(seed, iteration)` alone.
//!
//! # Stopping
//! The first finding of a block stops it. Across jobs the lowest failing iteration wins: a job
//! finishes every iteration below it and starts none above, so the reported violation does not
//! depend on timing. DFS explores one parameter draw (iteration 0's) on a single job, since
//! exhaustive search assumes the same program every execution.

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use kobject::{Bug, Bugs};
use shuttle::scheduler::{
    DfsScheduler, PctScheduler, RandomScheduler, ReplayScheduler, Schedule, Scheduler, Task, TaskId,
};
use shuttle::{Config, FailurePersistence, MaxSteps, Runner};
use shuttle_engine::scheduler::serialization::{deserialize_schedule, serialize_schedule};

use crate::fuzzing::sched_race::ByteScheduler;
use crate::harness::{self, Outcome, Report};
use crate::params::Params;
use crate::scenario::Scenario;
use crate::seed::{self, ParamRng};

/// Iterations run by one runner and one scheduler.
pub const BLOCK_ITERATIONS: u64 = 64;
/// Scheduling steps one execution may take; the scenarios have no spin loops, so reaching it
/// means the model livelocked.
pub const EXECUTION_STEPS_MAX: usize = 100_000;
/// Stack of each simulated thread: the model's panics format messages while unwinding.
const STACK_BYTES: usize = 256 * 1024;

/// The shuttle configuration of every simulated run: failures are reported by kobjsim, not
/// printed or persisted by shuttle.
pub fn shuttle_config() -> Config {
    let mut config = Config::new();
    config.failure_persistence = FailurePersistence::None;
    config.silence_warnings = true;
    config.max_steps = MaxSteps::FailAfter(EXECUTION_STEPS_MAX);
    config.stack_size = STACK_BYTES;
    config
}

/// shuttle lets this variable override every seed it is given, which would break replay.
pub fn check_environment() -> Result<(), String> {
    match std::env::var_os("SHUTTLE_RANDOM_SEED") {
        Some(_) => Err("SHUTTLE_RANDOM_SEED is set; it overrides kobjsim's seeds, unset it".into()),
        None => Ok(()),
    }
}

/// Which shuttle scheduler explores the schedules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchedulerKind {
    Random,
    Pct,
    Dfs,
}

impl SchedulerKind {
    pub const ALL: [SchedulerKind; 3] = [
        SchedulerKind::Random,
        SchedulerKind::Pct,
        SchedulerKind::Dfs,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SchedulerKind::Random => "random",
            SchedulerKind::Pct => "pct",
            SchedulerKind::Dfs => "dfs",
        }
    }

    pub fn from_name(name: &str) -> Option<SchedulerKind> {
        SchedulerKind::ALL
            .iter()
            .copied()
            .find(|s| s.name() == name)
    }

    pub fn description(self) -> &'static str {
        match self {
            SchedulerKind::Random => "uniformly random choice at every scheduling point",
            SchedulerKind::Pct => "probabilistic concurrency testing, --depth priority changes",
            SchedulerKind::Dfs => "exhaustive depth-first search, bounded by --iterations",
        }
    }
}

/// What to explore.
#[derive(Clone, Copy)]
pub struct Plan {
    pub scenario: &'static Scenario,
    pub scheduler: SchedulerKind,
    pub depth: usize,
    pub seed: u64,
    pub bug: Option<Bug>,
    /// Record traces and compare every block with a second run of itself.
    pub check_determinism: bool,
}

impl Plan {
    /// The parameters of iteration `i` (DFS: always iteration 0's).
    pub fn params(&self, iteration: u64) -> Params {
        let i = if self.scheduler == SchedulerKind::Dfs {
            0
        } else {
            iteration
        };
        (self.scenario.draw)(&mut ParamRng::new(self.seed, i))
    }
}

/// When to stop starting iterations.
#[derive(Clone, Copy, Debug)]
pub enum Budget {
    Iterations(u64),
    /// A wall-clock deadline, checked between executions (never inside a scenario).
    Until(Instant),
}

/// A failing iteration, with all a replay needs.
#[derive(Clone, Debug)]
pub struct Violation {
    pub iteration: u64,
    pub params: Params,
    /// shuttle's schedule string.
    pub schedule: String,
    pub report: Report,
}

/// Where two runs of the same iteration first differed.
#[derive(Clone, Debug)]
pub struct Divergence {
    pub iteration: u64,
    pub step: usize,
    pub first: String,
    pub second: String,
}

/// The result of exploring one plan.
#[derive(Debug, Default)]
pub struct Exploration {
    pub iterations: u64,
    /// Scheduling decisions over all executions (for the benchmark's steps per execution).
    pub steps: u64,
    pub violation: Option<Violation>,
    pub divergence: Option<Divergence>,
}

/// Encodes a schedule as shuttle prints it.
pub fn encode_schedule(schedule: &Schedule) -> String {
    serialize_schedule(schedule)
}

/// Decodes shuttle's schedule string strictly: shuttle's decoder indexes without bounds checks
/// on truncated input, so its panic is caught and reported, and the text must be canonical.
pub fn decode_schedule(text: &str) -> Result<Schedule, String> {
    crate::hooks::install();
    check_schedule_header(text)?;
    let decoded = crate::hooks::quietly(|| panic::catch_unwind(|| deserialize_schedule(text)));
    let schedule = match decoded {
        Ok(Some(schedule)) => schedule,
        Ok(None) => return Err("not a shuttle schedule (bad hex or version byte)".into()),
        Err(_) => return Err("truncated shuttle schedule".into()),
    };
    let canonical = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    if canonical(&serialize_schedule(&schedule)) != canonical(text) {
        return Err("shuttle schedule has trailing or non-canonical data".into());
    }
    Ok(schedule)
}

/// shuttle's decoder reserves room for the step count its header claims before reading a step,
/// so a corrupt count could ask for terabytes (an abort, not a panic). The header is hex of:
/// version byte, varint task-id width, varint step count, varint seed, then at least one bit
/// per step.
fn check_schedule_header(text: &str) -> Result<(), String> {
    let hex: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if hex.len() % 2 != 0 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return Err("shuttle schedule is not hex".into());
    }
    let byte = |i: usize| -> Option<u8> {
        let pair = std::str::from_utf8(hex.get(2 * i..2 * i + 2)?).ok()?;
        u8::from_str_radix(pair, 16).ok()
    };
    let mut at = 1;
    let mut varint = || -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = byte(at)?;
            at += 1;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    };
    let (_width, steps) = (varint(), varint());
    let body_bits = (hex.len() as u64 / 2).saturating_mul(8);
    match steps {
        Some(steps) if steps <= body_bits => Ok(()),
        Some(steps) => Err(format!(
            "shuttle schedule claims {steps} steps in {body_bits} bits"
        )),
        None => Err("truncated shuttle schedule header".into()),
    }
}

/// Decides which executions start: a block's own stop, the lowest failing iteration of any job,
/// the iteration limit and the deadline.
struct Gate {
    next: u64,
    end: u64,
    stop: Arc<AtomicBool>,
    stop_at: Arc<AtomicU64>,
    deadline: Option<Instant>,
}

impl Gate {
    fn admit(&mut self) -> bool {
        let open = self.next < self.end
            && !self.stop.load(Ordering::Relaxed)
            && self.next < self.stop_at.load(Ordering::Relaxed)
            && self.deadline.is_none_or(|d| Instant::now() < d);
        self.next += open as u64;
        open
    }
}

/// The scheduler a recorder wraps.
enum Inner {
    Random(RandomScheduler),
    Pct(PctScheduler),
    Dfs(DfsScheduler),
    Replay(ReplayScheduler),
    /// A `sched_race` fuzz input's bytes.
    Bytes(Box<ByteScheduler>),
}

impl Inner {
    fn get(&mut self) -> &mut dyn Scheduler {
        match self {
            Inner::Random(s) => s,
            Inner::Pct(s) => s,
            Inner::Dfs(s) => s,
            Inner::Replay(s) => s,
            Inner::Bytes(s) => s.as_mut(),
        }
    }
}

/// Wraps a scheduler and records its decisions as a shuttle `Schedule` (the engine pushes exactly
/// one schedule step per task it is given and per random value), one per execution.
struct Recorder {
    inner: Inner,
    gate: Gate,
    current: Rc<RefCell<Schedule>>,
    /// Every finished schedule, when a determinism check compares them.
    kept: Option<Rc<RefCell<Vec<Schedule>>>>,
    steps: Rc<RefCell<u64>>,
}

impl Scheduler for Recorder {
    fn new_execution(&mut self) -> Option<Schedule> {
        if !self.gate.admit() {
            return None;
        }
        let schedule = self.inner.get().new_execution()?;
        let finished = self.current.replace(Schedule::new(schedule.seed));
        if let Some(kept) = &self.kept {
            if !finished.steps.is_empty() {
                kept.borrow_mut().push(finished);
            }
        }
        Some(schedule)
    }

    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        let choice = self.inner.get().next_task(runnable, current, is_yielding)?;
        self.current.borrow_mut().push_task(choice);
        *self.steps.borrow_mut() += 1;
        Some(choice)
    }

    fn next_u64(&mut self) -> u64 {
        self.current.borrow_mut().push_random();
        self.inner.get().next_u64()
    }
}

impl Drop for Recorder {
    /// shuttle's random scheduler prints a "failing seed" banner when dropped before it has
    /// declined an execution itself; the gate usually declines first, so let it run out (at most
    /// a block's worth of cheap reseeds).
    fn drop(&mut self) {
        if let Inner::Random(random) = &mut self.inner {
            while random.new_execution().is_some() {}
        }
    }
}

/// What one runner did.
pub(crate) struct Executions {
    pub executed: u64,
    pub steps: u64,
    /// The last schedule started (the failing one when an execution failed).
    pub last_schedule: Schedule,
    pub all_schedules: Vec<Schedule>,
    /// A panic out of shuttle itself (a deadlock, the step bound, a replay mismatch).
    pub shuttle_failure: Option<String>,
}

/// Runs `body(k)` for the k-th admitted execution under `inner`, until the gate closes or
/// `body` returns true (stop).
fn run_executions(
    inner: Inner,
    gate: Gate,
    keep_schedules: bool,
    body: impl Fn(usize) -> bool + Send + Sync + 'static,
) -> Executions {
    let current = Rc::new(RefCell::new(Schedule::new(0)));
    let kept = keep_schedules.then(|| Rc::new(RefCell::new(Vec::new())));
    let steps = Rc::new(RefCell::new(0u64));
    let stop = Arc::clone(&gate.stop);
    let counter = Arc::new(AtomicUsize::new(0));
    let started = Arc::clone(&counter);
    let recorder = Recorder {
        inner,
        gate,
        current: Rc::clone(&current),
        kept: kept.clone(),
        steps: Rc::clone(&steps),
    };
    let runner = Runner::new(recorder, shuttle_config());
    let result = crate::hooks::quietly(|| {
        panic::catch_unwind(AssertUnwindSafe(|| {
            runner.run(move || {
                let k = started.fetch_add(1, Ordering::Relaxed);
                if body(k) {
                    stop.store(true, Ordering::Relaxed);
                }
            })
        }))
    });
    let last_schedule = current.replace(Schedule::new(0));
    let mut all_schedules = kept.map(|k| k.take()).unwrap_or_default();
    if keep_schedules && !last_schedule.steps.is_empty() {
        all_schedules.push(last_schedule.clone());
    }
    Executions {
        executed: counter.load(Ordering::Relaxed) as u64,
        steps: steps.take(),
        last_schedule,
        all_schedules,
        shuttle_failure: result
            .err()
            .map(|payload| crate::hooks::payload_message(payload.as_ref())),
    }
}

/// A fresh scheduler for block `block` of `len` iterations.
fn block_scheduler(plan: &Plan, block: u64, len: usize) -> Inner {
    let seed = seed::scheduler_seed(plan.seed, block);
    match plan.scheduler {
        SchedulerKind::Random => Inner::Random(RandomScheduler::new_from_seed(seed, len)),
        SchedulerKind::Pct => Inner::Pct(PctScheduler::new_from_seed(seed, plan.depth, len)),
        SchedulerKind::Dfs => Inner::Dfs(DfsScheduler::new(Some(len), false)),
    }
}

/// The report of a panic out of shuttle: a deadlock is a finding like any other.
fn shuttle_report(message: String) -> Report {
    if message.starts_with("deadlock!") {
        Report::deadlock(message)
    } else if message.contains("exceeded max_steps") {
        Report {
            kind: "livelock".into(),
            invariant: "step-bound".into(),
            message,
        }
    } else {
        Report {
            kind: "harness".into(),
            invariant: "shuttle-failure".into(),
            message,
        }
    }
}

/// One block's result.
struct BlockRun {
    executed: u64,
    steps: u64,
    outcomes: Vec<Outcome>,
    schedules: Vec<String>,
    violation: Option<Violation>,
}

/// Runs iterations `first..end` of block `block`, none at or above `stop_at`, none started
/// after `deadline`.
fn run_block(
    plan: &Plan,
    block: u64,
    (first, end): (u64, u64),
    stop_at: &Arc<AtomicU64>,
    deadline: Option<Instant>,
) -> BlockRun {
    // Drawn before the run; DFS explores a single draw, so it needs only one.
    let draws = if plan.scheduler == SchedulerKind::Dfs {
        first + 1
    } else {
        end
    };
    let params: Arc<Vec<Params>> = Arc::new((first..draws).map(|i| plan.params(i)).collect());
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let gate = Gate {
        next: first,
        end,
        stop: Arc::new(AtomicBool::new(false)),
        stop_at: Arc::clone(stop_at),
        deadline,
    };
    let (scenario, bugs, keep) = (plan.scenario, Bugs::one(plan.bug), plan.check_determinism);
    let (body_params, body_outcomes) = (Arc::clone(&params), Arc::clone(&outcomes));
    let inner = block_scheduler(plan, block, (end - first) as usize);
    let run = run_executions(inner, gate, keep, move |k| {
        let params = &body_params[k.min(body_params.len() - 1)];
        // The determinism check compares traces; otherwise a finding's replay traces it again.
        let outcome = harness::execute(scenario, params, bugs, keep);
        let failed = outcome.finding.is_some();
        body_outcomes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(outcome);
        failed
    });
    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap_or_else(|e| e.into_inner()));
    let failing = match (&run.shuttle_failure, outcomes.last()) {
        (Some(message), _) => Some((outcomes.len(), shuttle_report(message.clone()))),
        (
            None,
            Some(Outcome {
                finding: Some((_, report)),
                ..
            }),
        ) => Some((outcomes.len() - 1, report.clone())),
        _ => None,
    };
    let violation = failing.map(|(k, report)| Violation {
        iteration: first + k as u64,
        params: params[k.min(params.len() - 1)].clone(),
        schedule: encode_schedule(&run.last_schedule),
        report,
    });
    BlockRun {
        executed: run.executed,
        steps: run.steps,
        outcomes,
        schedules: run.all_schedules.iter().map(encode_schedule).collect(),
        violation,
    }
}

/// State the jobs share.
struct Shared {
    next_block: AtomicU64,
    stop_at: Arc<AtomicU64>,
    deadline: Option<Instant>,
    limit: u64,
    result: Mutex<Exploration>,
}

impl Shared {
    fn merge(&self, block: BlockRun, divergence: Option<Divergence>) {
        let mut result = self.result.lock().unwrap_or_else(|e| e.into_inner());
        result.iterations += block.executed;
        result.steps += block.steps;
        if let Some(v) = block.violation {
            self.stop_at.fetch_min(v.iteration, Ordering::Relaxed);
            if result
                .violation
                .as_ref()
                .is_none_or(|w| v.iteration < w.iteration)
            {
                result.violation = Some(v);
            }
        }
        if let Some(d) = divergence {
            self.stop_at.store(0, Ordering::Relaxed);
            result.divergence.get_or_insert(d);
        }
    }
}

/// Explores `plan` within `budget` on `jobs` threads; `progress` hears of every finished block.
pub fn explore(
    plan: &Plan,
    budget: Budget,
    jobs: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> Exploration {
    crate::hooks::install();
    let (limit, deadline) = match budget {
        Budget::Iterations(n) => (n, None),
        Budget::Until(t) => (u64::MAX, Some(t)),
    };
    // DFS is one search over one program: a single block on a single job.
    let (jobs, block_len) = match plan.scheduler {
        SchedulerKind::Dfs => (1, limit),
        _ => (jobs.max(1), BLOCK_ITERATIONS),
    };
    let shared = Shared {
        next_block: AtomicU64::new(0),
        stop_at: Arc::new(AtomicU64::new(u64::MAX)),
        deadline,
        limit,
        result: Mutex::new(Exploration::default()),
    };
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| job(plan, block_len, &shared, progress));
        }
    });
    shared
        .result
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
}

/// One job: takes blocks in order until the budget or a violation stops it.
fn job(plan: &Plan, block_len: u64, shared: &Shared, progress: &(dyn Fn(u64) + Sync)) {
    loop {
        let block = shared.next_block.fetch_add(1, Ordering::Relaxed);
        let first = block.saturating_mul(block_len);
        let end = first.saturating_add(block_len).min(shared.limit);
        let stopped = first >= shared.stop_at.load(Ordering::Relaxed);
        let late = shared.deadline.is_some_and(|d| Instant::now() >= d);
        if first >= end || stopped || late {
            return;
        }
        let run = run_block(plan, block, (first, end), &shared.stop_at, shared.deadline);
        // The second run gets the same iterations whatever the other jobs did meanwhile.
        let divergence = plan.check_determinism.then(|| {
            let again = (first, first + run.executed);
            let unbounded = Arc::new(AtomicU64::new(u64::MAX));
            compare(
                first,
                &run,
                &run_block(plan, block, again, &unbounded, None),
            )
        });
        progress(run.executed);
        shared.merge(run, divergence.flatten());
    }
}

/// The first difference between two runs of the same block: schedule, finding or trace.
fn compare(first: u64, a: &BlockRun, b: &BlockRun) -> Option<Divergence> {
    let count = a.outcomes.len().max(b.outcomes.len());
    (0..count).find_map(|k| {
        let iteration = first + k as u64;
        let (oa, ob) = (a.outcomes.get(k), b.outcomes.get(k));
        let (sa, sb) = (a.schedules.get(k), b.schedules.get(k));
        let (Some(oa), Some(ob)) = (oa, ob) else {
            return Some(divergence(iteration, 0, "an execution", "no execution"));
        };
        if let Some(step) =
            (0..oa.trace.len().max(ob.trace.len())).find(|&s| oa.trace.get(s) != ob.trace.get(s))
        {
            return Some(divergence(
                iteration,
                step,
                &format!("{:?}", oa.trace.get(step)),
                &format!("{:?}", ob.trace.get(step)),
            ));
        }
        if oa.finding != ob.finding || sa != sb {
            let end = oa.trace.len();
            let first = format!("{:?} / schedule {sa:?}", oa.finding);
            let second = format!("{:?} / schedule {sb:?}", ob.finding);
            return Some(divergence(iteration, end, &first, &second));
        }
        None
    })
}

fn divergence(iteration: u64, step: usize, first: &str, second: &str) -> Divergence {
    Divergence {
        iteration,
        step,
        first: first.to_string(),
        second: second.to_string(),
    }
}

/// What a single execution under one scheduler saw.
struct Single {
    /// `None` when shuttle failed before the scenario returned (see `shuttle_failure`).
    outcome: Option<Outcome>,
    shuttle_failure: Option<String>,
    schedule: Schedule,
    steps: u64,
}

/// Runs `scenario` with `params` once under `inner`, recording the schedule it took.
fn execute_single(
    inner: Inner,
    scenario: &'static Scenario,
    params: &Params,
    bugs: Bugs,
    traced: bool,
) -> Single {
    crate::hooks::install();
    let outcome = Arc::new(Mutex::new(None));
    let (slot, params) = (Arc::clone(&outcome), params.clone());
    let gate = Gate {
        next: 0,
        end: 1,
        stop: Arc::new(AtomicBool::new(false)),
        stop_at: Arc::new(AtomicU64::new(u64::MAX)),
        deadline: None,
    };
    let run = run_executions(inner, gate, false, move |_| {
        let result = harness::execute(scenario, &params, bugs, traced);
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
        true
    });
    let recorded = outcome.lock().unwrap_or_else(|e| e.into_inner()).take();
    assert!(run.executed <= 1, "a single execution ran {}", run.executed);
    Single {
        outcome: recorded,
        shuttle_failure: run.shuttle_failure,
        schedule: run.last_schedule,
        steps: run.steps,
    }
}

/// Replays one execution of `scenario` with `params` along `schedule`. `Err` when the schedule
/// does not fit the run (an edited artifact, or a model that changed since it was recorded).
pub fn replay(
    scenario: &'static Scenario,
    params: &Params,
    bug: Option<Bug>,
    schedule: Schedule,
) -> Result<Outcome, String> {
    // A schedule that does not fit must stop the execution, not panic inside whichever simulated
    // thread happens to be switching: there `kobject::catch` would take it for a model bug.
    let mut replayer = ReplayScheduler::new_from_schedule(schedule);
    replayer.set_allow_incomplete();
    let run = execute_single(
        Inner::Replay(replayer),
        scenario,
        params,
        Bugs::one(bug),
        true,
    );
    match (run.shuttle_failure, run.outcome) {
        (Some(message), _) => match shuttle_report(message) {
            report if report.kind == "harness" => {
                // shuttle's message goes on to dump every runnable task; the first clause says it.
                let why = report
                    .message
                    .split(", but choices were")
                    .next()
                    .unwrap_or("");
                Err(format!(
                    "the recorded schedule does not fit this run ({why})"
                ))
            }
            report => Ok(Outcome {
                finding: Some((u32::MAX, report)),
                trace: Vec::new(),
                ..Outcome::default()
            }),
        },
        (None, Some(outcome)) => Ok(outcome),
        (None, None) => Err(
            "the recorded schedule does not fit this run (it ran out or named \
             a thread that could not run)"
                .into(),
        ),
    }
}

/// One execution under a [`ByteScheduler`]: what it found and the schedule it took.
#[derive(Clone, Debug)]
pub struct ByteRun {
    /// A deadlock or the step bound is a finding like any other here; so is any other failure
    /// of shuttle's, which would be a bug of the byte scheduler itself (kind `harness`).
    pub outcome: Outcome,
    /// The schedule shuttle took, which `kobjsim replay` replays without the bytes. Encoded
    /// ([`encode_schedule`]) only where an artifact needs it: encoding costs about a tenth of a
    /// `sched_race` execution's instructions.
    pub schedule: Schedule,
    /// Scheduling decisions taken.
    pub steps: u64,
}

/// Runs `scenario` with `params` once, every scheduling choice made by `scheduler`; `traced`
/// as for [`harness::execute`].
pub fn execute_bytes(
    scenario: &'static Scenario,
    params: &Params,
    bugs: Bugs,
    scheduler: ByteScheduler,
    traced: bool,
) -> ByteRun {
    let inner = Inner::Bytes(Box::new(scheduler));
    let run = execute_single(inner, scenario, params, bugs, traced);
    let outcome = match (run.shuttle_failure, run.outcome) {
        (Some(message), _) => Outcome {
            finding: Some((u32::MAX, shuttle_report(message))),
            trace: Vec::new(),
            ..Outcome::default()
        },
        (None, Some(outcome)) => outcome,
        (None, None) => Outcome {
            finding: Some((
                u32::MAX,
                shuttle_report("the byte scheduler ran no execution".into()),
            )),
            ..Outcome::default()
        },
    };
    ByteRun {
        outcome,
        schedule: run.schedule,
        steps: run.steps,
    }
}

/// Runs `iterations` executions of `body` in blocks under the random scheduler, exactly as
/// `explore` runs a scenario on one job; returns (executions, scheduling steps). The benchmark's
/// bare-shuttle baseline.
pub fn run_plain(seed: u64, iterations: u64, body: Arc<dyn Fn() + Send + Sync>) -> (u64, u64) {
    crate::hooks::install();
    let (mut executed, mut steps) = (0, 0);
    for block in 0..iterations.div_ceil(BLOCK_ITERATIONS) {
        let first = block * BLOCK_ITERATIONS;
        let end = (first + BLOCK_ITERATIONS).min(iterations);
        let gate = Gate {
            next: first,
            end,
            stop: Arc::new(AtomicBool::new(false)),
            stop_at: Arc::new(AtomicU64::new(u64::MAX)),
            deadline: None,
        };
        let inner = Inner::Random(RandomScheduler::new_from_seed(
            seed::scheduler_seed(seed, block),
            (end - first) as usize,
        ));
        let body = Arc::clone(&body);
        let run = run_executions(inner, gate, false, move |_| {
            body();
            false
        });
        assert!(
            run.shuttle_failure.is_none(),
            "baseline failed: {:?}",
            run.shuttle_failure
        );
        executed += run.executed;
        steps += run.steps;
    }
    (executed, steps)
}

/// Re-derives iteration `iteration` of `plan` from the seed: its block runs from the start up to
/// it. A replay falls back on this when the recorded schedule no longer fits the model (a lock
/// added or removed on the path since it was recorded). Returns the iteration the run ended at
/// (an earlier one when that already failed) and its outcome.
pub fn rerun(plan: &Plan, iteration: u64) -> (u64, Outcome) {
    crate::hooks::install();
    let block_len = match plan.scheduler {
        SchedulerKind::Dfs => iteration.saturating_add(1),
        _ => BLOCK_ITERATIONS,
    };
    let block = iteration / block_len;
    let first = block * block_len;
    let keep = Plan {
        check_determinism: true,
        ..*plan
    };
    let unbounded = Arc::new(AtomicU64::new(u64::MAX));
    let mut run = run_block(&keep, block, (first, iteration + 1), &unbounded, None);
    let reached = first + run.executed.saturating_sub(1);
    let outcome = match run.violation {
        Some(v) if run.outcomes.len() as u64 <= v.iteration - first => Outcome {
            finding: Some((u32::MAX, v.report)),
            trace: Vec::new(),
            ..Outcome::default()
        },
        _ => run.outcomes.pop().unwrap_or(Outcome {
            finding: None,
            trace: Vec::new(),
            ..Outcome::default()
        }),
    };
    (reached, outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::Report;

    fn gate(end: u64) -> Gate {
        Gate {
            next: 0,
            end,
            stop: Arc::new(AtomicBool::new(false)),
            stop_at: Arc::new(AtomicU64::new(u64::MAX)),
            deadline: None,
        }
    }

    #[test]
    fn a_deadlock_is_reported_with_its_schedule() {
        crate::hooks::install();
        let inner = Inner::Random(RandomScheduler::new_from_seed(1, 1));
        let run = run_executions(inner, gate(1), false, |_| {
            let lock = Arc::new(shuttle::sync::Mutex::new(()));
            let held = lock.lock().unwrap();
            let other = Arc::clone(&lock);
            let child = shuttle::thread::spawn(move || drop(other.lock()));
            child.join().unwrap();
            drop(held);
            false
        });
        let report = shuttle_report(run.shuttle_failure.expect("deadlock"));
        assert_eq!(report.kind, "deadlock");
        assert!(!run.last_schedule.steps.is_empty());
        assert!(decode_schedule(&encode_schedule(&run.last_schedule)).is_ok());
    }

    fn outcome(finding: Option<&str>) -> Outcome {
        Outcome {
            finding: finding.map(|f| (1, Report::deadlock(f.to_string()))),
            trace: Vec::new(),
            ..Outcome::default()
        }
    }

    fn block(outcomes: Vec<Outcome>) -> BlockRun {
        BlockRun {
            executed: outcomes.len() as u64,
            steps: 0,
            schedules: vec![String::new(); outcomes.len()],
            outcomes,
            violation: None,
        }
    }

    #[test]
    fn compare_names_the_first_differing_iteration() {
        let a = block(vec![outcome(None), outcome(None), outcome(Some("x"))]);
        let b = block(vec![outcome(None), outcome(Some("y")), outcome(Some("x"))]);
        assert_eq!(compare(64, &a, &b).map(|d| d.iteration), Some(65));
        let short = block(vec![outcome(None)]);
        assert_eq!(compare(0, &a, &short).map(|d| d.iteration), Some(1));
        assert!(compare(0, &a, &block(a.outcomes.clone())).is_none());
    }
}
