//! The same seed gives the same run: whole traces, findings and schedules compared.

mod common;

use kobjsim::explore::{self, SchedulerKind};
use kobjsim::SCENARIOS;

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
