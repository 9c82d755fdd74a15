//! The same seed gives the same run: whole traces, findings and schedules compared.

mod common;

use kobjsim::explore::{self, SchedulerKind};
use kobjsim::fuzzing::mig_dispatch::MigDispatchInput;
use kobjsim::{harness, scenario, SCENARIOS};

#[test]
fn same_seed_twice_gives_identical_traces() {
    for scenario in SCENARIOS {
        let plan = common::plan(scenario, SchedulerKind::Random, 7, None);
        for iteration in [0, 5, 63, 64, 130] {
            let (reached_a, a) = explore::rerun(&plan, iteration);
            let (reached_b, b) = explore::rerun(&plan, iteration);
            assert_eq!(reached_a, reached_b, "{}", scenario.name);
            assert!(!a.trace.is_empty(), "{}: no trace", scenario.name);
            assert_eq!(a, b, "{} iteration {iteration}", scenario.name);
        }
    }
}

#[test]
fn check_determinism_finds_no_divergence() {
    for scenario in SCENARIOS {
        for scheduler in [SchedulerKind::Random, SchedulerKind::Pct] {
            let mut plan = common::plan(scenario, scheduler, 3, None);
            plan.check_determinism = true;
            let ex = common::explore(&plan, 100);
            assert!(
                ex.divergence.is_none(),
                "{}: {:?}",
                scenario.name,
                ex.divergence
            );
        }
    }
}

#[test]
fn jobs_do_not_change_the_reported_violation() {
    let scenario = kobjsim::scenario::find("replace-stored-right").unwrap();
    let plan = common::plan(
        scenario,
        SchedulerKind::Random,
        11,
        Some(kobject::Bug::ReplaceStoredRightUnlocked),
    );
    let budget = explore::Budget::Iterations(2000);
    let one = explore::explore(&plan, budget, 1, &|_| {})
        .violation
        .unwrap();
    let two = explore::explore(&plan, budget, 2, &|_| {})
        .violation
        .unwrap();
    assert_eq!(one.iteration, two.iteration);
    assert_eq!(one.schedule, two.schedule);
    assert_eq!(one.report, two.report);
}

/// A native run boots on the arenas of the kernel the thread disposed of last
/// (`kobject_unguided::boot`): every committed `mig_dispatch` input and regression (with its
/// bug) runs the same, trace, handles and generations included, on a kernel booted on new
/// arenas and on one booted on the spares that run left.
#[test]
fn a_reused_kernel_runs_as_a_new_one() {
    let mut files: Vec<(Option<kobject::Bug>, std::path::PathBuf)> = Vec::new();
    for (dir, regressions) in [("mig_dispatch", false), ("regressions/mig_dispatch", true)] {
        for path in common::files(&common::corpus(dir)) {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let bug = match name.split_once("--") {
                Some((bug, _)) if regressions => kobject::Bug::from_name(bug),
                _ => None,
            };
            files.push((bug, path));
        }
    }
    assert!(files.len() > 100, "the corpus is there");
    let mut found = 0;
    for (bug, path) in files {
        let input = MigDispatchInput::from_bytes(&std::fs::read(&path).unwrap());
        let run = || {
            let bugs = kobject::Bugs::one(bug);
            harness::execute_native(scenario::none(), &input.params(), bugs, true)
        };
        kobject_unguided::forget_spare();
        let new = run();
        assert!(kobject_unguided::has_spare(), "the run left its arenas");
        let reused = run();
        assert_eq!(new, reused, "{}", path.display());
        found += usize::from(new.finding.is_some());
    }
    assert!(found > 0, "the regressions' findings are among them");
}
