//! What every fuzz target shell shares: the injected bug from `KOBJSIM_BUG`, read once at
//! startup, and the rule that a finding becomes a panic (which libFuzzer saves as a crash).

use std::collections::BTreeSet;
use std::fmt::Display;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use kobject::Bugs;

static BUGS: OnceLock<Bugs> = OnceLock::new();

/// Startup (libFuzzer's `LLVMFuzzerInitialize`, after it installed its aborting panic hook):
/// reads `KOBJSIM_BUG` (panicking on an unknown name) and silences the model's internal
/// finding panics, which the plain functions catch and return. The simulator's hook
/// (`kobjsim::hooks`) goes on top, for the targets that run shuttle: it silences the panics a
/// simulated run expects and catches, and passes every other one on to libFuzzer's abort.
pub fn init() {
    let bugs = crate::bugs_from_env();
    BUGS.set(bugs).expect("init runs once");
    if let Ok(name) = std::env::var(crate::BUG_ENV) {
        eprintln!("kobject-fuzz: {}={name}", crate::BUG_ENV);
    }
    kobject::outcome::quiet_findings();
    kobjsim::hooks::install();
}

/// The bugs [`init`] read.
pub fn bugs() -> Bugs {
    *BUGS.get().expect("fuzz target shell called init")
}

/// Where `KOBJSIM_REACH_FILE` asks the `mig_dispatch` shell to write the routine ids whose body
/// ran, one a line, rewritten each time the set grows (what `scripts/routine-reach.sh` reads).
static REACH: OnceLock<Option<(PathBuf, Mutex<BTreeSet<i32>>)>> = OnceLock::new();

/// Whether `mig_dispatch` reports the states its actions leave names in as extra coverage: on
/// unless `KOBJSIM_STATE_FEATURES=0` (see fuzz/README.md for what it costs and finds).
static STATE: OnceLock<bool> = OnceLock::new();

/// Runs a `mig_dispatch` input: the names' states after each action become libFuzzer extra
/// counters ([`kobjsim::world::Actor::state_features`]; `KOBJSIM_STATE_FEATURES=0` turns them
/// off), and routine reach is recorded when `KOBJSIM_REACH_FILE` is set.
pub fn mig_dispatch(
    input: &crate::mig_dispatch::MigDispatchInput,
) -> Result<crate::mig_dispatch::Stats, kobject::Finding> {
    let reach = REACH.get_or_init(|| {
        std::env::var_os("KOBJSIM_REACH_FILE")
            .map(|p| (PathBuf::from(p), Mutex::new(BTreeSet::new())))
    });
    let state =
        *STATE.get_or_init(|| std::env::var_os("KOBJSIM_STATE_FEATURES").is_none_or(|v| v != "0"));
    let observe = kobjsim::harness::Observe {
        trace: false,
        reach: reach.is_some(),
        state,
    };
    let run = crate::mig_dispatch::run_mig_dispatch_observed(input, bugs(), observe);
    run.features
        .iter()
        .copied()
        .for_each(kobject_fuzz_counters::hit);
    if let (Some((path, seen)), Ok(stats)) = (reach, &run.result) {
        let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
        let before = seen.len();
        seen.extend(stats.routines_reached.iter().copied());
        if seen.len() > before {
            let text: String = seen.iter().map(|id| format!("{id}\n")).collect();
            let _ = std::fs::write(path, text);
        }
    }
    run.result
}

/// Turns a finding into the panic that makes libFuzzer save the input.
pub fn report<T, F: Display>(result: Result<T, F>) {
    if let Err(finding) = result {
        panic!("kobject finding: {finding}");
    }
}
