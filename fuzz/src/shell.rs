//! What every fuzz target shell shares: the injected bug from `KOBJSIM_BUG`, read once at
//! startup, and the rule that a finding becomes a panic (which libFuzzer saves as a crash).

use std::fmt::Display;
use std::sync::OnceLock;

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

/// Turns a finding into the panic that makes libFuzzer save the input.
pub fn report<T, F: Display>(result: Result<T, F>) {
    if let Err(finding) = result {
        panic!("kobject finding: {finding}");
    }
}
