//! Scenario parameters: the programs the simulated threads run, drawn from the seed before the
//! shuttle run and stored verbatim in a replay artifact.
//!
//! A step is written `"op arg"` (`"release 1"`) so an artifact stays readable by a person.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Simulated worker threads a scenario may use, at most (the main thread comes on top).
pub const THREADS_MAX: usize = 4;
/// Steps in one worker's program, at most.
pub const STEPS_MAX: usize = 8;

/// One model operation a worker can perform (see `world.rs` for what each does).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    /// Lazy convert of object `arg` to its port (`convert_semaphore_to_port` and kin).
    Convert,
    /// `ipc_kobject_make_send_nsrequest` on object `arg`'s published port, donating a reference.
    Rearm,
    /// Releases held right `arg` (a send right, or destroys a send-once right).
    Release,
    /// `ipc_port_copy_send_any` on held send right `arg`.
    CopySend,
    /// `ipc_kobject_make_send` on anchored kobject port `arg`.
    MakeSend,
    /// `ipc_port_make_sonce` on held send right `arg`.
    MakeSonce,
    /// Swaps held send right `arg` into the host's stored-right slot, releasing the old one.
    SlotSwap,
    /// Wraps a copy of held send right `arg` in a subst-once port.
    Wrap,
    /// Copies out held subst-once right `arg` into the task's space (`ipc_kobject_label_check`).
    Copyout,
    /// Terminates the scenario's thread or task (the owner's teardown).
    Terminate,
}

impl Op {
    pub const ALL: [Op; 10] = [
        Op::Convert,
        Op::Rearm,
        Op::Release,
        Op::CopySend,
        Op::MakeSend,
        Op::MakeSonce,
        Op::SlotSwap,
        Op::Wrap,
        Op::Copyout,
        Op::Terminate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Op::Convert => "convert",
            Op::Rearm => "rearm",
            Op::Release => "release",
            Op::CopySend => "copy-send",
            Op::MakeSend => "make-send",
            Op::MakeSonce => "make-sonce",
            Op::SlotSwap => "slot-swap",
            Op::Wrap => "wrap",
            Op::Copyout => "copyout",
            Op::Terminate => "terminate",
        }
    }

    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.iter().copied().find(|op| op.name() == name)
    }
}

/// One step of a worker's program: an operation and the index it picks with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Step {
    pub op: Op,
    pub arg: u32,
}

impl Step {
    pub fn new(op: Op, arg: u32) -> Step {
        Step { op, arg }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op.name(), self.arg)
    }
}

impl From<Step> for String {
    fn from(step: Step) -> String {
        step.to_string()
    }
}

impl TryFrom<String> for Step {
    type Error = String;

    fn try_from(text: String) -> Result<Step, String> {
        let (op, arg) = text
            .split_once(' ')
            .ok_or_else(|| format!("step {text:?} is not \"op arg\""))?;
        let op = Op::from_name(op).ok_or_else(|| format!("unknown operation {op:?}"))?;
        let arg = arg
            .parse::<u32>()
            .map_err(|e| format!("step {text:?}: argument: {e}"))?;
        Ok(Step { op, arg })
    }
}

/// Everything a scenario run depends on besides the schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// One program per simulated worker thread.
    pub programs: Vec<Vec<Step>>,
    /// Scenario settings by name (`"kind"`: 0 semaphore, 1 voucher; `"labeled"`; ...).
    pub knobs: BTreeMap<String, u32>,
}

impl Params {
    pub fn new() -> Params {
        Params {
            programs: Vec::new(),
            knobs: BTreeMap::new(),
        }
    }

    pub fn knob(&self, name: &str) -> u32 {
        self.knobs.get(name).copied().unwrap_or(0)
    }

    pub fn threads(&self) -> usize {
        self.programs.len()
    }

    /// Checks the bounds every scenario relies on (a hand-edited artifact may break them).
    pub fn validate(&self, threads_max: usize) -> Result<(), String> {
        let threads = self.programs.len();
        if !(2..=threads_max.min(THREADS_MAX)).contains(&threads) {
            return Err(format!(
                "{threads} worker programs; this scenario runs 2 to {threads_max}"
            ));
        }
        if let Some(long) = self.programs.iter().find(|p| p.len() > STEPS_MAX) {
            return Err(format!(
                "a program of {} steps (at most {STEPS_MAX})",
                long.len()
            ));
        }
        Ok(())
    }
}

impl Default for Params {
    fn default() -> Params {
        Params::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_round_trips_through_its_text() {
        for op in Op::ALL {
            let step = Step::new(op, 3);
            let text: String = step.into();
            assert_eq!(Step::try_from(text).unwrap(), step);
        }
        assert!(Step::try_from("fly 1".to_string()).is_err());
        assert!(Step::try_from("release".to_string()).is_err());
        assert!(Step::try_from("release -1".to_string()).is_err());
    }

    #[test]
    fn validate_bounds_threads_and_steps() {
        let mut p = Params::new();
        p.programs = vec![vec![Step::new(Op::Release, 0)]; 2];
        assert!(p.validate(4).is_ok());
        p.programs.push(vec![]);
        assert!(p.validate(2).is_err());
        p.programs = vec![vec![Step::new(Op::Release, 0); STEPS_MAX + 1]; 2];
        assert!(p.validate(4).is_err());
    }
}
