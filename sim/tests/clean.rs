//! The faithful model passes every scenario for a bounded number of iterations, under each
//! scheduler.

mod common;

use kobjsim::explore::SchedulerKind;
use kobjsim::SCENARIOS;

/// Scenarios that reach an open bug of the model itself (see `corpus/model-bugs/sim/`, whose
/// test checks they still do): `task_suspension_send_once` takes its task reference after
/// dropping the port lock, so `task_terminate` can free the task in between. PCT reaches it
/// within a few iterations, the random scheduler within a few thousand. Remove the entry with
/// the fix in the model.
const OPEN_MODEL_BUGS: &[&str] = &[];

fn clean(scheduler: SchedulerKind, iterations: u64) {
    for scenario in SCENARIOS {
        if OPEN_MODEL_BUGS.contains(&scenario.name) {
            continue;
        }
        let plan = common::plan(scenario, scheduler, 1, None);
        let ex = common::explore(&plan, iterations);
        assert!(
            ex.violation.is_none(),
            "{} ({}): {:?}",
            scenario.name,
            scheduler.name(),
            ex.violation
        );
        assert!(ex.iterations > 0);
    }
}

#[test]
fn every_scenario_passes_random() {
    clean(SchedulerKind::Random, 2000);
}

#[test]
fn every_scenario_passes_pct() {
    clean(SchedulerKind::Pct, 1000);
}

#[test]
fn every_scenario_passes_dfs() {
    clean(SchedulerKind::Dfs, 500);
}
