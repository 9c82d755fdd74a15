//! The targets by name: decode, describe, run and seed each one from raw bytes, for the replay
//! tests, `scripts/replay.sh` and the corpus generator.

use std::path::Path;

use kobject::{Bug, Bugs, Finding};

use crate::kobject_lifecycle::{run_kobject_lifecycle_logged, LifecycleInput};
use crate::mig_dispatch::{run_mig_dispatch_logged, MigDispatchInput};
use crate::mig_hash::{run_mig_hash, MigHashInput};

/// A fuzz target with a library function behind it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    MigDispatch,
    KobjectLifecycle,
    MigHash,
}

/// What a replay saw: the decoded input, one line per step, and the result.
pub struct Replay {
    pub decoded: String,
    pub log: Vec<String>,
    pub result: Result<String, Finding>,
}

impl Target {
    pub const ALL: [Target; 3] = [
        Target::MigDispatch,
        Target::KobjectLifecycle,
        Target::MigHash,
    ];

    /// The name of the fuzz target and of its corpus directory.
    pub fn name(self) -> &'static str {
        match self {
            Target::MigDispatch => "mig_dispatch",
            Target::KobjectLifecycle => "kobject_lifecycle",
            Target::MigHash => "mig_hash",
        }
    }

    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The target a file belongs to, from a `<target>` component of its path (as in
    /// `corpus/<target>/`, `corpus/regressions/<target>/`, `fuzz/artifacts/<target>/`).
    pub fn of_path(path: &Path) -> Option<Target> {
        path.parent()?
            .components()
            .rev()
            .find_map(|c| Target::from_name(c.as_os_str().to_str()?))
    }

    /// Decodes `data` as the fuzz target does and runs it.
    pub fn replay(self, data: &[u8], bugs: Bugs) -> Replay {
        let mut log = Vec::new();
        match self {
            Target::MigDispatch => {
                let input = MigDispatchInput::from_bytes(data);
                let result = run_mig_dispatch_logged(&input, bugs, Some(&mut log));
                Replay {
                    decoded: format!("{input:#?}"),
                    log,
                    result: result.map(|s| format!("{s:?}")),
                }
            }
            Target::KobjectLifecycle => {
                let input = LifecycleInput::from_bytes(data);
                let result = run_kobject_lifecycle_logged(&input, bugs, Some(&mut log));
                Replay {
                    decoded: format!("{input:#?}"),
                    log,
                    result: result.map(|s| format!("{s:?}")),
                }
            }
            Target::MigHash => {
                let input = MigHashInput::from_bytes(data);
                let result = run_mig_hash(&input, bugs);
                Replay {
                    decoded: format!("{input:#?}"),
                    log,
                    result: result.map(|s| format!("{s:?}")),
                }
            }
        }
    }

    /// Runs `data` without a log: `Err` is the finding.
    pub fn run(self, data: &[u8], bugs: Bugs) -> Result<(), Finding> {
        self.replay(data, bugs).result.map(|_| ())
    }

    /// The committed seeds as `(file name, bytes)`.
    pub fn seeds(self) -> Vec<(String, Vec<u8>)> {
        match self {
            Target::MigDispatch => crate::mig_dispatch::seeds::seeds()
                .into_iter()
                .map(|s| (s.name, s.input.to_bytes()))
                .collect(),
            Target::KobjectLifecycle => crate::kobject_lifecycle::seeds()
                .into_iter()
                .map(|(name, input)| (name, input.to_bytes()))
                .collect(),
            Target::MigHash => crate::mig_hash::seeds()
                .into_iter()
                .map(|(name, input)| (name, input.to_bytes()))
                .collect(),
        }
    }
}

/// The bug a regression file was recorded with, from its name `<bug>--<anything>`: `None` for
/// `none--...` (a model bug since fixed: the file must now pass), an error for any other name.
pub fn regression_bug(file_name: &str) -> Result<Option<Bug>, String> {
    let Some((bug, _)) = file_name.split_once("--") else {
        return Err(format!(
            "regression file {file_name:?} is not named <bug>--<name> (bug: a kobject::Bug name or none)"
        ));
    };
    crate::parse_bug(bug)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_target() {
        let t = |p: &str| Target::of_path(Path::new(p));
        assert_eq!(
            t("corpus/mig_dispatch/routine-3400-x"),
            Some(Target::MigDispatch)
        );
        assert_eq!(
            t("corpus/regressions/mig_hash/none--x"),
            Some(Target::MigHash)
        );
        assert_eq!(
            t("/w/fuzz/artifacts/kobject_lifecycle/crash-00"),
            Some(Target::KobjectLifecycle)
        );
        assert_eq!(t("crash-00"), None);
    }

    #[test]
    fn regression_names_carry_their_bug() {
        assert_eq!(
            regression_bug("voucher-swap--crash-1"),
            Ok(Some(Bug::VoucherSwap))
        );
        assert_eq!(regression_bug("none--crash-1"), Ok(None));
        assert!(regression_bug("crash-1").is_err());
        assert!(regression_bug("no-such-bug--crash-1").is_err());
    }
}
