//! `kobjsim bugs`: how fast each engine finds each injected bug, and proof that the faithful model
//! stays clean under the same budget.
//!
//! An attempt is one (bug, engine, seed) with a wall-clock budget. Every engine runs its whole,
//! bug-agnostic workload (the simulator cycles through every scenario; the fuzz engines run their
//! full input space), so a detection is a general invariant firing, never a search aimed at the
//! bug. The wall clock only decides when to stop starting work; what each iteration does is a
//! function of the seed.

use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kobject::{Bug, Bugs};
use serde::Serialize;

use crate::explore::{self, Budget, Plan, SchedulerKind};
use crate::fuzzing::mig_dispatch::{run_mig_dispatch, MigDispatchInput};
use crate::fuzzing::sched_race::{run_sched_race, HEADER_BYTES};
use crate::harness;
use crate::scenario::SCENARIOS;
use crate::seed::{InputRng, ParamRng};

/// Where the `mig-dispatch` engine finds the committed seeds, relative to the current
/// directory (the repository root); skipped when absent.
pub const MIG_DISPATCH_CORPUS: &str = "corpus/mig_dispatch";
/// Longest random `mig_dispatch` input: 32 actions of up to about 30 bytes.
const MIG_DISPATCH_INPUT_BYTES_MAX: usize = 1024;
/// Longest random run of `sched_race` choice bytes (the fallback stream makes the rest).
const SCHED_RACE_CHOICES_MAX: usize = 512;

/// A detection engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Engine {
    SimRandom,
    SimPct,
    SimDfs,
    /// Plain shuttle (`Runner` + `RandomScheduler`, what `shuttle::check_random` runs) over the
    /// same scenarios, without kobjsim's blocks, PCT or recording: the baseline column.
    ShuttleCheckRandom,
    /// The `mig_dispatch` fuzz target's function in-process without coverage guidance: the
    /// committed corpus, then random inputs decoded by `arbitrary`.
    MigDispatch,
    /// The `sched_race` fuzz target's function in-process: random byte strings (scenario,
    /// parameter draw and every scheduling choice).
    SchedRace,
    /// The proptest state machine of the port layer against its reference model.
    Proptest,
}

impl Engine {
    pub const ALL: &'static [Engine] = &[
        Engine::SimRandom,
        Engine::SimPct,
        Engine::SimDfs,
        Engine::ShuttleCheckRandom,
        Engine::MigDispatch,
        Engine::SchedRace,
        Engine::Proptest,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Engine::SimRandom => "sim-random",
            Engine::SimPct => "sim-pct",
            Engine::SimDfs => "sim-dfs",
            Engine::ShuttleCheckRandom => "shuttle-check-random",
            Engine::MigDispatch => "mig-dispatch",
            Engine::SchedRace => "sched-race",
            Engine::Proptest => "proptest",
        }
    }
}

/// The result of one attempt.
#[derive(Clone, Debug, Serialize)]
pub struct Attempt {
    pub bug: Option<&'static str>,
    pub engine: &'static str,
    pub seed: u64,
    pub detected: bool,
    /// Executions (schedules, cases) run up to and including the detecting one.
    pub iterations: u64,
    pub seconds: f64,
    /// The invariant that fired (`kind/invariant`).
    pub invariant: Option<String>,
}

/// What an engine's step found: `Some(kind/invariant)` on detection.
type Found = Option<String>;

/// Runs one attempt.
pub fn attempt(engine: Engine, bug: Option<Bug>, seed: u64, budget: Duration) -> Attempt {
    crate::hooks::install();
    let start = Instant::now();
    let deadline = start + budget;
    let (iterations, found) = match engine {
        Engine::SimRandom => sim_engine(SchedulerKind::Random, bug, seed, deadline),
        Engine::SimPct => sim_engine(SchedulerKind::Pct, bug, seed, deadline),
        Engine::SimDfs => sim_engine(SchedulerKind::Dfs, bug, seed, deadline),
        Engine::ShuttleCheckRandom => check_random_engine(bug, seed, deadline),
        Engine::MigDispatch => mig_dispatch_engine(bug, seed, deadline),
        Engine::SchedRace => sched_race_engine(bug, seed, deadline),
        Engine::Proptest => proptest_engine(bug, seed, deadline),
    };
    Attempt {
        bug: bug.map(Bug::name),
        engine: engine.name(),
        seed,
        detected: found.is_some(),
        iterations,
        seconds: start.elapsed().as_secs_f64(),
        invariant: found,
    }
}

/// Round-robin over every scenario, one block of iterations at a time, each round with fresh
/// parameters (a derived seed).
fn sim_engine(
    scheduler: SchedulerKind,
    bug: Option<Bug>,
    seed: u64,
    deadline: Instant,
) -> (u64, Found) {
    let block = match scheduler {
        SchedulerKind::Dfs => 256,
        _ => explore::BLOCK_ITERATIONS,
    };
    let mut total = 0;
    for round in 0u64.. {
        for scenario in SCENARIOS {
            if Instant::now() >= deadline {
                return (total, None);
            }
            let plan = Plan {
                scenario,
                scheduler,
                depth: 3,
                seed: seed.wrapping_mul(1_000_003).wrapping_add(round),
                bug,
                check_determinism: false,
            };
            let ex = explore::explore(&plan, Budget::Iterations(block), 1, &|_| {});
            match ex.violation {
                Some(v) => {
                    return (
                        total + v.iteration + 1,
                        Some(format!("{}/{}", v.report.kind, v.report.invariant)),
                    )
                }
                None => total += ex.iterations,
            }
        }
    }
    unreachable!()
}

/// shuttle's own random checking on each scenario in turn (`check_random`'s `Runner` and
/// `RandomScheduler`, seeded so the baseline is reproducible, and silent on failure).
fn check_random_engine(bug: Option<Bug>, seed: u64, deadline: Instant) -> (u64, Found) {
    let bugs = Bugs::one(bug);
    let mut total = 0;
    for round in 0u64.. {
        for scenario in SCENARIOS {
            if Instant::now() >= deadline {
                return (total, None);
            }
            let counter = Arc::new(AtomicU64::new(0));
            let first = Arc::new(std::sync::Mutex::new(None::<String>));
            let (c, f) = (Arc::clone(&counter), Arc::clone(&first));
            let base = seed.wrapping_mul(1_000_003).wrapping_add(round) << 8;
            let body = move || {
                let i = c.fetch_add(1, Ordering::Relaxed);
                let params = (scenario.draw)(&mut ParamRng::new(base, i));
                if let Some((_, report)) = harness::execute(scenario, &params, bugs, false).finding
                {
                    let mut slot = f.lock().unwrap_or_else(|e| e.into_inner());
                    slot.get_or_insert(format!("{}/{}", report.kind, report.invariant));
                    panic!("finding");
                }
            };
            let scheduler = shuttle::scheduler::RandomScheduler::new_from_seed(base, 64);
            let runner = shuttle::Runner::new(scheduler, explore::shuttle_config());
            // The finding's panic is expected: keep its backtrace off the terminal.
            let result = crate::hooks::quietly(|| {
                panic::catch_unwind(AssertUnwindSafe(|| runner.run(body)))
            });
            let ran = counter.load(Ordering::Relaxed);
            let found = first.lock().unwrap_or_else(|e| e.into_inner()).take();
            if result.is_err() {
                return (
                    total + ran,
                    Some(found.unwrap_or_else(|| "deadlock/shuttle".into())),
                );
            }
            total += ran;
        }
    }
    unreachable!()
}

/// The committed `mig_dispatch` seeds under [`MIG_DISPATCH_CORPUS`], in name order (none when
/// the directory is not there).
fn mig_dispatch_seeds() -> Vec<Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(MIG_DISPATCH_CORPUS) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// `mig_dispatch` without coverage guidance: the committed seeds first, then random inputs.
fn mig_dispatch_engine(bug: Option<Bug>, seed: u64, deadline: Instant) -> (u64, Found) {
    let bugs = Bugs::one(bug);
    let run = |data: &[u8]| -> Found {
        let input = MigDispatchInput::from_bytes(data);
        let result = crate::hooks::quietly(|| run_mig_dispatch(&input, bugs));
        result
            .err()
            .map(|f| format!("{}/{}", f.kind.name(), f.invariant))
    };
    let mut total = 0;
    for data in mig_dispatch_seeds() {
        if Instant::now() >= deadline {
            return (total, None);
        }
        total += 1;
        if let Some(found) = run(&data) {
            return (total, Some(found));
        }
    }
    let mut rng = InputRng::new(seed);
    while Instant::now() < deadline {
        total += 1;
        if let Some(found) = run(&rng.bytes(MIG_DISPATCH_INPUT_BYTES_MAX)) {
            return (total, Some(found));
        }
    }
    (total, None)
}

/// `sched_race` without coverage guidance: random scenario, parameter draw and choices.
fn sched_race_engine(bug: Option<Bug>, seed: u64, deadline: Instant) -> (u64, Found) {
    let bugs = Bugs::one(bug);
    let mut rng = InputRng::new(seed);
    let mut total = 0;
    while Instant::now() < deadline {
        total += 1;
        let mut data = rng.exactly(HEADER_BYTES);
        data.extend(rng.bytes(SCHED_RACE_CHOICES_MAX));
        if let Err(report) = run_sched_race(&data, bugs) {
            return (total, Some(format!("{}/{}", report.kind, report.invariant)));
        }
    }
    (total, None)
}

/// The proptest state machine, in chunks of cases with fresh seeds.
fn proptest_engine(bug: Option<Bug>, seed: u64, deadline: Instant) -> (u64, Found) {
    let mut total = 0u64;
    for round in 0u64.. {
        if Instant::now() >= deadline {
            return (total, None);
        }
        let chunk_seed = seed.wrapping_mul(1_000_003).wrapping_add(round);
        let (ran, failure) = kobject::reference_model::search(Bugs::one(bug), chunk_seed, 64);
        total += u64::from(ran);
        if let Some(message) = failure {
            return (total, Some(classify_proptest(&message)));
        }
    }
    unreachable!()
}

/// The invariant named in a proptest failure message (`kind [invariant]` when a finding fired,
/// otherwise the reference model's own mismatch).
fn classify_proptest(message: &str) -> String {
    for kind in ["kernel-panic", "violation", "use-after-free", "model-bug"] {
        if let Some(rest) = message.split(&format!("{kind} [")).nth(1) {
            let invariant = rest.split(']').next().unwrap_or("?");
            return format!("{kind}/{invariant}");
        }
    }
    "violation/reference-model-mismatch".into()
}

/// All attempts of a benchmark: every bug (and the faithful model) × engine × seed, on `jobs`
/// threads. Results come back in a fixed order whatever the jobs did.
pub fn run_all(
    engines: &[Engine],
    bugs: &[Option<Bug>],
    seeds: u64,
    budget: Duration,
    jobs: usize,
    progress: &(dyn Fn(&Attempt) + Sync),
) -> Vec<Attempt> {
    let work: Vec<(Option<Bug>, Engine, u64)> = bugs
        .iter()
        .flat_map(|&b| {
            engines
                .iter()
                .flat_map(move |&e| (1..=seeds).map(move |s| (b, e, s)))
        })
        .collect();
    let next = AtomicU64::new(0);
    let results = std::sync::Mutex::new(vec![None; work.len()]);
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some(&(bug, engine, seed)) = work.get(i) else {
                    break;
                };
                let a = attempt(engine, bug, seed, budget);
                progress(&a);
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(a);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|a| a.expect("every attempt ran"))
        .collect()
}

/// One row of the table: a bug (or the faithful model) × engine.
#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    pub bug: String,
    pub engine: &'static str,
    pub detected: usize,
    pub attempts: usize,
    pub median_iterations: Option<u64>,
    pub median_seconds: Option<f64>,
    pub max_seconds: Option<f64>,
    pub invariants: Vec<String>,
}

fn median<T: Copy + PartialOrd>(mut v: Vec<T>) -> Option<T> {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v.get(v.len().saturating_sub(1) / 2).copied()
}

pub fn cells(attempts: &[Attempt], engines: &[Engine], bugs: &[Option<Bug>]) -> Vec<Cell> {
    let mut out = Vec::new();
    for &bug in bugs {
        for &engine in engines {
            let mine: Vec<&Attempt> = attempts
                .iter()
                .filter(|a| a.bug == bug.map(Bug::name) && a.engine == engine.name())
                .collect();
            let hits: Vec<&&Attempt> = mine.iter().filter(|a| a.detected).collect();
            let mut invariants: Vec<String> =
                hits.iter().filter_map(|a| a.invariant.clone()).collect();
            invariants.sort();
            invariants.dedup();
            out.push(Cell {
                bug: bug.map_or("(faithful)".to_string(), |b| b.name().to_string()),
                engine: engine.name(),
                detected: hits.len(),
                attempts: mine.len(),
                median_iterations: median(hits.iter().map(|a| a.iterations).collect()),
                median_seconds: median(hits.iter().map(|a| a.seconds).collect()),
                max_seconds: hits
                    .iter()
                    .map(|a| a.seconds)
                    .fold(None, |m, s| Some(m.map_or(s, |m: f64| m.max(s)))),
                invariants,
            });
        }
    }
    out
}

/// The verdict: every bug found by some engine in every seed, the faithful model clean.
pub fn verdict(attempts: &[Attempt], bugs: &[Option<Bug>], seeds: u64) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    for a in attempts.iter().filter(|a| a.bug.is_none() && a.detected) {
        problems.push(format!(
            "the faithful model reported {} under {} (seed {})",
            a.invariant.as_deref().unwrap_or("?"),
            a.engine,
            a.seed
        ));
    }
    for bug in bugs.iter().flatten() {
        for seed in 1..=seeds {
            let found = attempts
                .iter()
                .any(|a| a.bug == Some(bug.name()) && a.seed == seed && a.detected);
            if !found {
                problems.push(format!(
                    "{} was not found by any engine with seed {seed}",
                    bug.name()
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

pub fn markdown(cells: &[Cell], engines: &[Engine]) -> String {
    let mut s = String::from("| bug |");
    for e in engines {
        let _ = write!(s, " {} |", e.name());
    }
    s.push_str("\n|---|");
    s.push_str(&"---|".repeat(engines.len()));
    s.push('\n');
    let mut bugs: Vec<&str> = cells.iter().map(|c| c.bug.as_str()).collect();
    bugs.dedup();
    for bug in bugs {
        let _ = write!(s, "| {bug} |");
        for e in engines {
            let c = cells
                .iter()
                .find(|c| c.bug == bug && c.engine == e.name())
                .expect("cell");
            let _ = write!(s, " {} |", cell_text(c));
        }
        s.push('\n');
    }
    s.push_str("\nEach cell: detected/attempts, median iterations and seconds to detection, the invariants that fired.\n");
    s
}

fn cell_text(c: &Cell) -> String {
    match (c.median_iterations, c.median_seconds) {
        (Some(it), Some(sec)) => format!(
            "{}/{} · {} it · {:.3} s · {}",
            c.detected,
            c.attempts,
            it,
            sec,
            c.invariants.join(", ")
        ),
        _ => format!("{}/{}", c.detected, c.attempts),
    }
}

/// A grouped bar chart of median seconds to detection (log scale), one group per bug.
pub fn svg(cells: &[Cell], engines: &[Engine], budget: Duration) -> String {
    let colors = [
        "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
    ];
    let mut bugs: Vec<&str> = cells
        .iter()
        .map(|c| c.bug.as_str())
        .filter(|b| *b != "(faithful)")
        .collect();
    bugs.dedup();
    let (left, top, row, bar) = (260.0, 40.0, 14.0 * engines.len() as f64 + 10.0, 12.0);
    let width = 900.0;
    let height = top + row * bugs.len() as f64 + 60.0;
    let (lo, hi) = (1e-4f64.log10(), budget.as_secs_f64().max(1e-3).log10());
    let x = |sec: f64| left + (sec.max(1e-4).log10() - lo) / (hi - lo) * (width - left - 40.0);
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(
        s,
        r#"<text x="10" y="20" font-size="14">Median seconds to detection per bug and engine (log scale; no bar: not found within the budget)</text>"#
    );
    for exp in (lo.ceil() as i32)..=(hi.floor() as i32) {
        let v = 10f64.powi(exp);
        let _ = write!(
            s,
            r##"<line x1="{0}" y1="{top}" x2="{0}" y2="{1}" stroke="#ddd"/><text x="{0}" y="{2}" text-anchor="middle">{v}s</text>"##,
            x(v),
            height - 45.0,
            height - 30.0
        );
    }
    for (i, bug) in bugs.iter().enumerate() {
        let y0 = top + row * i as f64;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{bug}</text>"#,
            left - 8.0,
            y0 + row / 2.0
        );
        for (j, e) in engines.iter().enumerate() {
            let c = cells
                .iter()
                .find(|c| c.bug == *bug && c.engine == e.name())
                .expect("cell");
            if let Some(sec) = c.median_seconds {
                let _ = write!(
                    s,
                    r#"<rect x="{left}" y="{}" width="{:.1}" height="{bar}" fill="{}"><title>{} {}: {:.4} s</title></rect>"#,
                    y0 + 14.0 * j as f64,
                    (x(sec) - left).max(1.0),
                    colors[j % colors.len()],
                    bug,
                    e.name(),
                    sec
                );
            }
        }
    }
    let mut lx = 20.0;
    for (j, e) in engines.iter().enumerate() {
        let _ = write!(
            s,
            r#"<rect x="{lx}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            height - 18.0,
            colors[j % colors.len()],
            lx + 14.0,
            height - 9.0,
            e.name()
        );
        lx += 30.0 + 6.5 * e.name().len() as f64;
    }
    s.push_str("</svg>\n");
    s
}

/// Writes `bugs.json`, `bugs.md` and `bugs.svg` into `dir`.
pub fn write_reports(
    dir: &Path,
    attempts: &[Attempt],
    cells: &[Cell],
    engines: &[Engine],
    budget: Duration,
) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let json = serde_json::json!({ "budget_seconds": budget.as_secs_f64(), "attempts": attempts, "cells": cells });
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write(
        "bugs.json",
        serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?,
    )?;
    write("bugs.md", markdown(cells, engines))?;
    write("bugs.svg", svg(cells, engines, budget))
}
