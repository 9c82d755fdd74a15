//! The `kobjsim` command line: list, run, replay, shrink, bench, bugs, and from-fuzz (a fuzz
//! input of `mig_dispatch` or `sched_race` into a replayable artifact).
//!
//! Exit codes: 0 when no violation was seen, 1 when one was (or a determinism check diverged),
//! 2 for bad usage or input (clap's own errors included). The wall clock is read here only, for
//! `--seconds`, the progress bar and the summary; never in a scenario's decisions.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use kobject::Bug;
use kobjsim::artifact::Artifact;
use kobjsim::explore::{self, Budget, Exploration, Plan, SchedulerKind};
use kobjsim::{bench, scenario, shrink, trace, Scenario, SCENARIOS};

/// Iterations per scenario when neither --iterations nor --seconds is given.
const DEFAULT_ITERATIONS: u64 = 1000;

#[derive(Parser)]
#[command(
    name = "kobjsim",
    version,
    about = "Races the kobject model's real locking code under shuttle, with exact replay"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the scenarios, schedulers and injectable bugs.
    List {
        /// Print only the bug names, one a line.
        #[arg(long, conflicts_with = "scenarios")]
        bugs: bool,
        /// Print only the scenario names, one a line.
        #[arg(long)]
        scenarios: bool,
    },
    /// Explore schedules of one scenario (or all) and write an artifact for a violation.
    Run(RunArgs),
    /// Replay an artifact exactly.
    Replay {
        file: PathBuf,
        /// Print the interleaving step by step.
        #[arg(long)]
        trace: bool,
        /// Write Chrome trace-event JSON (opens in Perfetto).
        #[arg(long, value_name = "OUT.json")]
        chrome_trace: Option<PathBuf>,
    },
    /// How fast each engine finds each injected bug; the faithful model must stay clean.
    Bugs(BugsArgs),
    /// Make an artifact smaller while the same invariant still fires: fewer threads, actions,
    /// descriptors and deviations. Writes the smallest artifact found.
    Shrink {
        file: PathBuf,
        /// Candidate runs to try, at most.
        #[arg(long, default_value_t = 3000)]
        runs: u64,
        /// Where the shrunk artifact goes.
        #[arg(long, default_value = "target/shrunk")]
        out: PathBuf,
    },
    /// Run a mig_dispatch or sched_race fuzz input and write what it finds as an artifact for
    /// `kobjsim replay` (shrunk too). Exit 0 when an artifact was written, 1 when the input runs
    /// clean (nothing to write).
    FromFuzz {
        file: PathBuf,
        /// The fuzz target the input is for; default: a `mig_dispatch` or `sched_race` component
        /// of the file's path.
        #[arg(long, value_parser = ["mig_dispatch", "sched_race"])]
        target: Option<String>,
        /// The injected bug; default: the file name's `<bug>--` prefix (as in
        /// corpus/regressions/), else $KOBJSIM_BUG, else none.
        #[arg(long)]
        bug: Option<String>,
        /// Where the artifact goes.
        #[arg(long, default_value = "target/fuzz-artifacts")]
        out: PathBuf,
    },
    /// `from-fuzz --target sched_race`.
    FromSchedRace {
        file: PathBuf,
        #[arg(long)]
        bug: Option<String>,
        #[arg(long, default_value = "target/fuzz-artifacts")]
        out: PathBuf,
    },
    /// Schedules per second of each scenario beside a bare-shuttle baseline.
    Bench {
        #[arg(long, default_value_t = 2000)]
        iterations: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value = "all")]
        scenario: String,
    },
}

#[derive(Args)]
struct BugsArgs {
    /// Time budget of one attempt (one bug, one engine, one seed), in seconds.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Seeds per (bug, engine): 1..=N.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=1000))]
    seeds: u64,
    /// Attempts run in parallel (OS threads).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=256))]
    jobs: u64,
    /// Only these engines (repeatable); default all.
    #[arg(long = "engine")]
    engines: Vec<String>,
    /// Only these bugs (repeatable); default all. The faithful model always runs.
    #[arg(long = "bug")]
    bugs: Vec<String>,
    /// Where bugs.json, bugs.md and bugs.svg go.
    #[arg(long, default_value = "target/kobjsim-bugs")]
    out: PathBuf,
}

#[derive(Args)]
struct RunArgs {
    /// A scenario name, or "all".
    #[arg(long, default_value = "all")]
    scenario: String,
    #[arg(long, default_value = "random", value_parser = ["random", "pct", "dfs"])]
    scheduler: String,
    /// PCT bug depth (priority change points + 1).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=64))]
    depth: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Iterations per scenario (default 1000).
    #[arg(long, conflicts_with = "seconds")]
    iterations: Option<u64>,
    /// Wall-clock seconds per scenario.
    #[arg(long)]
    seconds: Option<f64>,
    /// Parallel jobs (OS threads), each running its own blocks of iterations.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=256))]
    jobs: u64,
    /// Inject a kobject bug by name (see `kobjsim list --bugs`).
    #[arg(long)]
    bug: Option<String>,
    /// Where violation artifacts go.
    #[arg(long, default_value = "corpus/regressions/sim/")]
    out: PathBuf,
    /// Run every iteration twice with tracing on and fail at the first divergence.
    #[arg(long)]
    check_determinism: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::List { bugs, scenarios } => {
            list(bugs, scenarios);
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => run(&args),
        Command::Replay {
            file,
            trace,
            chrome_trace,
        } => replay(&file, trace, chrome_trace.as_deref()),
        Command::Bench {
            iterations,
            seed,
            scenario,
        } => run_bench(iterations, seed, &scenario),
        Command::Bugs(args) => run_bugs(&args),
        Command::Shrink { file, runs, out } => shrink(&file, runs, &out),
        Command::FromFuzz {
            file,
            target,
            bug,
            out,
        } => from_fuzz(&file, target.as_deref(), bug.as_deref(), &out),
        Command::FromSchedRace { file, bug, out } => {
            from_fuzz(&file, Some("sched_race"), bug.as_deref(), &out)
        }
    };
    result.unwrap_or_else(|message| {
        eprintln!("kobjsim: {message}");
        ExitCode::from(2)
    })
}

fn bug_names() -> String {
    Bug::ALL
        .iter()
        .map(|b| b.name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn list(bugs_only: bool, scenarios_only: bool) {
    if bugs_only {
        for bug in Bug::ALL {
            println!("{}", bug.name());
        }
        return;
    }
    if scenarios_only {
        for s in SCENARIOS {
            println!("{}", s.name);
        }
        return;
    }
    println!("scenarios:");
    for s in SCENARIOS {
        println!(
            "  {:<26} 2-{} threads  {}",
            s.name, s.threads_max, s.description
        );
    }
    println!("schedulers:");
    for s in SchedulerKind::ALL {
        println!("  {:<26} {}", s.name(), s.description());
    }
    println!("bugs (--bug NAME):");
    for bug in Bug::ALL {
        println!("  {}", bug.name());
    }
}

/// The scenarios `name` selects.
fn select(name: &str) -> Result<Vec<&'static Scenario>, String> {
    if name == "all" {
        return Ok(SCENARIOS.iter().collect());
    }
    scenario::find(name).map(|s| vec![s]).ok_or_else(|| {
        let names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
        format!(
            "unknown scenario {name:?}; valid: all, {}",
            names.join(", ")
        )
    })
}

fn parse_bug(name: Option<&str>) -> Result<Option<Bug>, String> {
    name.map(|n| {
        Bug::from_name(n).ok_or_else(|| format!("unknown bug {n:?}; valid: {}", bug_names()))
    })
    .transpose()
}

fn run(args: &RunArgs) -> Result<ExitCode, String> {
    let scenarios = select(&args.scenario)?;
    let bug = parse_bug(args.bug.as_deref())?;
    let scheduler = SchedulerKind::from_name(&args.scheduler).ok_or("unknown scheduler")?;
    if args.seconds.is_some_and(|s| !(s > 0.0 && s.is_finite())) {
        return Err("--seconds must be a positive number".into());
    }
    explore::check_environment()?;
    if scheduler == SchedulerKind::Dfs && args.jobs > 1 {
        eprintln!("kobjsim: dfs is one search; running it on a single job");
    }
    let mut totals = Totals::default();
    for scenario in scenarios {
        let plan = Plan {
            scenario,
            scheduler,
            depth: args.depth as usize,
            seed: args.seed,
            bug,
            check_determinism: args.check_determinism,
        };
        run_one(&plan, args, &mut totals)?;
    }
    totals.print();
    Ok(if totals.failures > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(Default)]
struct Totals {
    iterations: u64,
    elapsed: Duration,
    failures: u64,
}

impl Totals {
    fn print(&self) {
        println!(
            "total: {} iterations, {:.0} schedules/s, {} violations",
            self.iterations,
            rate(self.iterations, self.elapsed),
            self.failures
        );
    }
}

fn rate(iterations: u64, elapsed: Duration) -> f64 {
    iterations as f64 / elapsed.as_secs_f64().max(1e-9)
}

fn run_one(plan: &Plan, args: &RunArgs, totals: &mut Totals) -> Result<(), String> {
    let start = Instant::now();
    let budget = match args.seconds {
        Some(s) => Budget::Until(start + Duration::from_secs_f64(s)),
        None => Budget::Iterations(args.iterations.unwrap_or(DEFAULT_ITERATIONS)),
    };
    let bar = progress_bar(plan.scenario.name, budget);
    let ex = explore::explore(plan, budget, args.jobs as usize, &|n| bar.inc(n));
    bar.finish_and_clear();
    let elapsed = start.elapsed();
    let failed = ex.violation.is_some() || ex.divergence.is_some();
    println!(
        "{:<26} {:>8} iterations {:>8.0} schedules/s {:>3} violations",
        plan.scenario.name,
        ex.iterations,
        rate(ex.iterations, elapsed),
        failed as u32
    );
    report_failure(plan, &ex, &args.out)?;
    totals.iterations += ex.iterations;
    totals.elapsed += elapsed;
    totals.failures += failed as u64;
    Ok(())
}

fn progress_bar(name: &str, budget: Budget) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match budget {
        Budget::Iterations(n) => ProgressBar::new(n),
        Budget::Until(_) => ProgressBar::new_spinner(),
    };
    let template = match budget {
        Budget::Iterations(_) => "{msg:<26} [{bar:40}] {pos}/{len} {per_sec}",
        Budget::Until(_) => "{msg:<26} {spinner} {pos} iterations {per_sec}",
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(name.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Prints a violation (and writes its artifact) or a divergence.
fn report_failure(plan: &Plan, ex: &Exploration, out: &Path) -> Result<(), String> {
    if let Some(d) = &ex.divergence {
        println!(
            "{}: nondeterminism at iteration {} step {} (seed {}): first run {}, second run {}",
            plan.scenario.name, d.iteration, d.step, plan.seed, d.first, d.second
        );
    }
    let Some(v) = &ex.violation else {
        return Ok(());
    };
    println!(
        "{}: violation at iteration {} (seed {}, {}): {}",
        plan.scenario.name,
        v.iteration,
        plan.seed,
        plan.scheduler.name(),
        v.report
    );
    let artifact = Artifact::new(plan, v);
    let path = artifact.write_fresh(out)?;
    println!("replay: kobjsim replay {}", path.display());
    write_shrunk(&path, out)?;
    Ok(())
}

/// Runs shrunk by `run` and `from-fuzz`, at most.
const SAVE_SHRINK_RUNS: u64 = 1500;

/// Shrinks the artifact at `path` and writes the result beside it (when smaller).
fn write_shrunk(path: &Path, out: &Path) -> Result<(), String> {
    let loaded = Artifact::load(path)?;
    match shrink::shrink(&loaded, SAVE_SHRINK_RUNS) {
        Ok(s) if s.after != s.before => {
            let shrunk = s.artifact.write_fresh(out)?;
            println!("shrunk: {} -> {} ({} runs)", s.before, s.after, s.runs);
            println!("replay: kobjsim replay {}", shrunk.display());
        }
        Ok(s) => println!(
            "shrunk: nothing smaller fires ({}, {} runs)",
            s.after, s.runs
        ),
        Err(why) => println!("shrunk: {why}"),
    }
    Ok(())
}

fn shrink(file: &Path, runs: u64, out: &Path) -> Result<ExitCode, String> {
    let loaded = Artifact::load(file)?;
    let s = shrink::shrink(&loaded, runs)?;
    println!(
        "{}: {} -> {} ({} runs)",
        file.display(),
        s.before,
        s.after,
        s.runs
    );
    println!("finding: {}", s.artifact.finding);
    let path = s.artifact.write_fresh(out)?;
    println!("replay: kobjsim replay {}", path.display());
    Ok(ExitCode::SUCCESS)
}

fn replay(file: &Path, show: bool, chrome: Option<&Path>) -> Result<ExitCode, String> {
    let loaded = Artifact::load(file)?;
    let a = &loaded.artifact;
    let (outcome, note) = loaded.reproduce();
    if let Some(note) = note {
        eprintln!("kobjsim: {note}");
    }
    if show {
        print!("{}", trace::text(&outcome));
    }
    if let Some(path) = chrome {
        let json = trace::chrome(&outcome);
        std::fs::write(path, format!("{json}\n"))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let bug = a.bug.as_deref().unwrap_or("none");
    let what = format!(
        "{} seed {} iteration {} bug {bug}",
        a.scenario, a.seed, a.iteration
    );
    match &outcome.finding {
        Some((_, report)) => {
            let same = report.invariant == a.finding.invariant;
            let verdict = if same { "reproduces" } else { "differs from" };
            println!("{what}: {report}");
            println!("{verdict} the recorded finding [{}]", a.finding.invariant);
            Ok(ExitCode::from(1))
        }
        None => {
            println!("{what}: clean (recorded: {})", a.finding);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn run_bench(iterations: u64, seed: u64, name: &str) -> Result<ExitCode, String> {
    let scenarios = select(name)?;
    explore::check_environment()?;
    if iterations == 0 {
        return Err("--iterations must be at least 1".into());
    }
    println!(
        "{:<26} {:>7} {:>10} {:>12} {:>10} {:>12} {:>7}",
        "scenario", "threads", "steps/exec", "schedules/s", "base steps", "base sched/s", "ratio"
    );
    for scenario in scenarios {
        let row = bench::measure(scenario, iterations, seed);
        println!(
            "{:<26} {:>7} {:>10.1} {:>12.0} {:>10.1} {:>12.0} {:>7.2}",
            row.scenario,
            row.threads,
            row.steps,
            row.per_sec,
            row.baseline_steps,
            row.baseline_per_sec,
            row.ratio()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn run_bugs(args: &BugsArgs) -> Result<ExitCode, String> {
    use kobjsim::bugbench::{self, Engine};
    if !(args.seconds > 0.0 && args.seconds.is_finite()) {
        return Err("--seconds must be a positive number".into());
    }
    explore::check_environment()?;
    let engines: Vec<Engine> = if args.engines.is_empty() {
        Engine::ALL.to_vec()
    } else {
        args.engines
            .iter()
            .map(|n| {
                Engine::ALL
                    .iter()
                    .copied()
                    .find(|e| e.name() == n)
                    .ok_or_else(|| {
                        let names: Vec<&str> = Engine::ALL.iter().map(|e| e.name()).collect();
                        format!("unknown engine {n:?}; valid: {}", names.join(", "))
                    })
            })
            .collect::<Result<_, _>>()?
    };
    let mut bugs: Vec<Option<Bug>> = vec![None];
    if args.bugs.is_empty() {
        bugs.extend(Bug::ALL.iter().copied().map(Some));
    } else {
        for n in &args.bugs {
            bugs.push(Some(parse_bug(Some(n))?.expect("a name")));
        }
    }
    let budget = std::time::Duration::from_secs_f64(args.seconds);
    let total = engines.len() * bugs.len() * args.seeds as usize;
    let done = std::sync::atomic::AtomicUsize::new(0);
    let attempts = bugbench::run_all(
        &engines,
        &bugs,
        args.seeds,
        budget,
        args.jobs as usize,
        &|a| {
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            eprintln!(
                "[{n}/{total}] {:<30} {:<21} seed {:<3} {}",
                a.bug.unwrap_or("(faithful)"),
                a.engine,
                a.seed,
                if a.detected {
                    format!(
                        "found in {} it, {:.3} s: {}",
                        a.iterations,
                        a.seconds,
                        a.invariant.as_deref().unwrap_or("?")
                    )
                } else {
                    format!("not found ({} it)", a.iterations)
                }
            );
        },
    );
    let cells = bugbench::cells(&attempts, &engines, &bugs);
    println!("{}", bugbench::markdown(&cells, &engines));
    bugbench::write_reports(&args.out, &attempts, &cells, &engines, budget)?;
    println!("reports: {}/bugs.{{json,md,svg}}", args.out.display());
    match bugbench::verdict(&attempts, &bugs, args.seeds) {
        Ok(()) => {
            println!("verdict: every bug found in every seed; the faithful model stayed clean");
            Ok(ExitCode::SUCCESS)
        }
        Err(problems) => {
            for p in problems {
                println!("verdict: {p}");
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// The bug a fuzz input ran with: `--bug`, else its file name's `<bug>--` prefix, else
/// `$KOBJSIM_BUG`; `none` or empty is the faithful model.
fn fuzz_input_bug(file: &Path, bug: Option<&str>) -> Result<Option<Bug>, String> {
    let prefix = file
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split_once("--"))
        .map(|(bug, _)| bug.to_string());
    let name = match (bug, prefix) {
        (Some(name), _) => name.to_string(),
        (None, Some(prefix)) => prefix,
        (None, None) => std::env::var("KOBJSIM_BUG").unwrap_or_default(),
    };
    match name.trim() {
        "" | "none" => Ok(None),
        name => parse_bug(Some(name)),
    }
}

fn from_fuzz(
    file: &Path,
    target: Option<&str>,
    bug: Option<&str>,
    out: &Path,
) -> Result<ExitCode, String> {
    use kobjsim::fuzzing::{mig_dispatch, sched_race};
    let bug = fuzz_input_bug(file, bug)?;
    let data = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let in_path = |name: &str| file.components().any(|c| c.as_os_str() == name);
    let target = match target {
        Some(t) => t,
        None if in_path("mig_dispatch") => "mig_dispatch",
        None if in_path("sched_race") => "sched_race",
        None => {
            return Err(format!(
                "{}: say --target mig_dispatch or sched_race",
                file.display()
            ))
        }
    };
    let made = match target {
        "mig_dispatch" => mig_dispatch::to_artifact(&data, bug),
        _ => sched_race::to_artifact(&data, bug),
    };
    let artifact = match made {
        Ok(artifact) => artifact,
        Err(clean) => {
            println!("{}: {clean}", file.display());
            return Ok(ExitCode::from(1));
        }
    };
    println!(
        "{}: {} {} bug {}: {}",
        file.display(),
        target,
        artifact.scenario,
        bug.map_or("none", Bug::name),
        artifact.finding
    );
    let path = artifact.write_fresh(out)?;
    println!("replay: kobjsim replay {}", path.display());
    write_shrunk(&path, out)?;
    Ok(ExitCode::SUCCESS)
}
