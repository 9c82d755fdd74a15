//! Helpers the integration tests share: plans and the corpus location.

#![allow(dead_code)]

use std::path::PathBuf;

use kobject::Bug;
use kobjsim::explore::{self, Budget, Exploration, Plan, SchedulerKind};
use kobjsim::Scenario;

/// `corpus/` at the workspace root.
pub fn corpus(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("corpus")
        .join(sub)
}

pub fn plan(
    scenario: &'static Scenario,
    scheduler: SchedulerKind,
    seed: u64,
    bug: Option<Bug>,
) -> Plan {
    Plan {
        scenario,
        scheduler,
        depth: 3,
        seed,
        bug,
        check_determinism: false,
    }
}

pub fn explore(plan: &Plan, iterations: u64) -> Exploration {
    explore::explore(plan, Budget::Iterations(iterations), 1, &|_| {})
}

/// The files directly under `dir`, sorted (none when it does not exist).
pub fn files(dir: &std::path::Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    files
}

/// The `.json` files directly under `dir`, sorted (none when it does not exist).
pub fn artifacts(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files = files(dir);
    files.retain(|p| p.extension().is_some_and(|x| x == "json"));
    files
}
