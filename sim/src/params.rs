//! A run's parameters besides its setup's code and its schedule: one program of actions per
//! simulated thread, and the scenario's knobs. Drawn from the seed before the run (or decoded
//! from a fuzz input) and stored verbatim in an artifact.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::lang::Action;

/// Simulated threads a run may use, at most (the main thread comes on top).
pub const THREADS_MAX: usize = 4;
/// Actions in one thread's program when several threads race, at most.
pub const STEPS_MAX: usize = 16;

/// Everything a run depends on besides the setup's code and the schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// One program per simulated thread; one program runs natively, without shuttle.
    pub programs: Vec<Vec<Action>>,
    /// Scenario settings by name (`"kind"`: 0 semaphore, 1 voucher; `"labeled"`; ...).
    #[serde(default)]
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

    /// Actions over all programs.
    pub fn actions(&self) -> usize {
        self.programs.iter().map(Vec::len).sum()
    }

    /// Checks the bounds every run relies on (a hand-edited artifact may break them).
    pub fn validate(&self, threads_max: usize) -> Result<(), String> {
        let threads = self.programs.len();
        if !(1..=threads_max.min(THREADS_MAX)).contains(&threads) {
            return Err(format!(
                "{threads} programs; this scenario runs 1 to {threads_max}"
            ));
        }
        let max = match threads {
            1 => crate::lang::ACTIONS_MAX,
            _ => STEPS_MAX,
        };
        if let Some(long) = self.programs.iter().find(|p| p.len() > max) {
            return Err(format!(
                "a program of {} actions (at most {max} with {threads} threads)",
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
    fn validate_bounds_threads_and_steps() {
        let mut p = Params::new();
        p.programs = vec![vec![Action::Release { held: 0 }]; 2];
        assert!(p.validate(4).is_ok());
        p.programs.push(vec![]);
        assert!(p.validate(2).is_err());
        p.programs = vec![vec![Action::Release { held: 0 }; STEPS_MAX + 1]; 2];
        assert!(p.validate(4).is_err());
        p.programs.truncate(1);
        assert!(p.validate(4).is_ok(), "one native program may be longer");
        p.programs.clear();
        assert!(p.validate(4).is_err());
    }
}
