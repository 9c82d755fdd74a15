//! The targets by name: decode, describe, run and seed each one from raw bytes, for the replay
//! tests, `scripts/replay.sh` and the corpus generator.
//!
//! Findings travel as `kobjsim::Report` (kind, invariant, message as strings): the kobject
//! targets' `Finding`s convert to it, and the simulator's targets report in it already.

use std::path::Path;

use kobject::{Bug, Bugs, Finding};
#[cfg(feature = "sim")]
use kobjsim::artifact::Artifact;
use kobjsim::Report;

#[cfg(feature = "sim")]
use crate::artifact_parse::{run_artifact_parse, seed_variants};
use crate::kobject_lifecycle::{
    run_kobject_lifecycle, run_kobject_lifecycle_logged, LifecycleInput,
};
use crate::mig_dispatch::{run_mig_dispatch, run_mig_dispatch_logged, MigDispatchInput};
use crate::mig_hash::{run_mig_hash, MigHashInput};
#[cfg(feature = "sim")]
use crate::sched_race::{self, SchedRaceInput};

/// A fuzz target with a library function behind it. The simulator's targets come with feature
/// `sim` (default); without it this table is the single-threaded targets', which is what
/// `scripts/cost.sh` counts their plain functions with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    MigDispatch,
    KobjectLifecycle,
    MigHash,
    #[cfg(feature = "sim")]
    SchedRace,
    #[cfg(feature = "sim")]
    ArtifactParse,
}

/// What a replay saw: the decoded input, one line per step, and the result.
pub struct Replay {
    pub decoded: String,
    pub log: Vec<String>,
    pub result: Result<String, Report>,
}

/// A kobject finding as a report (the simulator's `Report::from_finding` also appends the
/// location of the last panic it silenced, which belongs to simulated runs only).
pub fn report(finding: Finding) -> Report {
    Report {
        kind: finding.kind.name().to_string(),
        invariant: finding.invariant.to_string(),
        message: finding.message,
    }
}

impl Target {
    pub const ALL: &[Target] = &[
        Target::MigDispatch,
        Target::KobjectLifecycle,
        Target::MigHash,
        #[cfg(feature = "sim")]
        Target::SchedRace,
        #[cfg(feature = "sim")]
        Target::ArtifactParse,
    ];

    /// The name of the fuzz target and of its corpus directory.
    pub fn name(self) -> &'static str {
        match self {
            Target::MigDispatch => "mig_dispatch",
            Target::KobjectLifecycle => "kobject_lifecycle",
            Target::MigHash => "mig_hash",
            #[cfg(feature = "sim")]
            Target::SchedRace => "sched_race",
            #[cfg(feature = "sim")]
            Target::ArtifactParse => "artifact_parse",
        }
    }

    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.iter().copied().find(|t| t.name() == name)
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
                    result: result.map(|s| format!("{s:?}")).map_err(report),
                }
            }
            Target::KobjectLifecycle => {
                let input = LifecycleInput::from_bytes(data);
                let result = run_kobject_lifecycle_logged(&input, bugs, Some(&mut log));
                Replay {
                    decoded: format!("{input:#?}"),
                    log,
                    result: result.map(|s| format!("{s:?}")).map_err(report),
                }
            }
            Target::MigHash => {
                let input = MigHashInput::from_bytes(data);
                let result = run_mig_hash(&input, bugs);
                Replay {
                    decoded: format!("{input:#?}"),
                    log,
                    result: result.map(|s| format!("{s:?}")).map_err(report),
                }
            }
            #[cfg(feature = "sim")]
            Target::SchedRace => replay_sched_race(data, bugs),
            #[cfg(feature = "sim")]
            Target::ArtifactParse => Replay {
                decoded: String::from_utf8_lossy(data).into_owned(),
                log,
                result: run_artifact_parse(data).map(|o| format!("{o:?}")),
            },
        }
    }

    /// Runs `data` as the fuzz target's shell does (no log, no trace): `Err` is the finding.
    pub fn run(self, data: &[u8], bugs: Bugs) -> Result<(), Report> {
        match self {
            // The fuzz targets' own path, without the trace a replay prints.
            Target::MigDispatch => run_mig_dispatch(&MigDispatchInput::from_bytes(data), bugs)
                .map(|_| ())
                .map_err(report),
            Target::KobjectLifecycle => {
                run_kobject_lifecycle(&LifecycleInput::from_bytes(data), bugs)
                    .map(|_| ())
                    .map_err(report)
            }
            Target::MigHash => run_mig_hash(&MigHashInput::from_bytes(data), bugs)
                .map(|_| ())
                .map_err(report),
            #[cfg(feature = "sim")]
            Target::SchedRace => sched_race::run_sched_race(data, bugs).map(|_| ()),
            #[cfg(feature = "sim")]
            Target::ArtifactParse => run_artifact_parse(data).map(|_| ()),
        }
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
            #[cfg(feature = "sim")]
            Target::SchedRace => sched_race::seeds()
                .into_iter()
                .map(|(name, input)| (name, input.to_bytes()))
                .collect(),
            #[cfg(feature = "sim")]
            Target::ArtifactParse => Vec::new(),
        }
    }

    /// Seeds made from the files under `corpus/` (`corpus_root`) as they are now, as
    /// `(file name, bytes)`: for `sched_race`, every simulator regression artifact turned into
    /// the input that takes its schedule (`sim-<stem>`); for `artifact_parse`, every artifact
    /// (and every `sched_race` regression written out as one) with damaged copies
    /// (`<stem>[.<damage>]`). The generator writes them; since they follow files that come and
    /// go, the tests replay them but do not require them to match.
    #[cfg_attr(not(feature = "sim"), allow(unused_variables))]
    pub fn derived_seeds(self, corpus_root: &Path) -> Vec<(String, Vec<u8>)> {
        match self {
            #[cfg(feature = "sim")]
            Target::SchedRace => sim_artifacts(corpus_root)
                .into_iter()
                .filter_map(|(stem, text)| {
                    let loaded = Artifact::parse(&text).ok()?;
                    let input = sched_race::from_artifact(&loaded)?;
                    Some((format!("sim-{stem}"), input.to_bytes()))
                })
                .collect(),
            #[cfg(feature = "sim")]
            Target::ArtifactParse => {
                let mut texts = sim_artifacts(corpus_root);
                texts.extend(sched_race_artifacts(corpus_root));
                texts
                    .iter()
                    .flat_map(|(stem, text)| {
                        seed_variants(text).into_iter().map(move |(suffix, bytes)| {
                            let name = match suffix {
                                "" => stem.clone(),
                                s => format!("{stem}.{s}"),
                            };
                            (name, bytes)
                        })
                    })
                    .collect()
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(feature = "sim")]
/// `(stem, text)` of every artifact under `corpus/regressions/sim/`, sorted by name.
fn sim_artifacts(corpus_root: &Path) -> Vec<(String, String)> {
    let dir = corpus_root.join("regressions").join("sim");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| {
            let stem = p.file_stem()?.to_string_lossy().into_owned();
            Some((stem, std::fs::read_to_string(&p).ok()?))
        })
        .collect()
}

#[cfg(feature = "sim")]
/// Every `sched_race` regression, written out as the artifact `kobjsim from-fuzz` makes.
fn sched_race_artifacts(corpus_root: &Path) -> Vec<(String, String)> {
    let dir = corpus_root.join("regressions").join("sched_race");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            let bug = regression_bug(&name).ok()?;
            let artifact = sched_race::to_artifact(&std::fs::read(&p).ok()?, bug).ok()?;
            let text = serde_json::to_string_pretty(&artifact).ok()?;
            Some((format!("sched-race-{name}"), text + "\n"))
        })
        .collect()
}

#[cfg(feature = "sim")]
/// Replays a `sched_race` input: its decoded header and parameters, the interleaving step by
/// step, and the finding.
fn replay_sched_race(data: &[u8], bugs: Bugs) -> Replay {
    let input = SchedRaceInput::from_bytes(data);
    let (run, stats) = sched_race::execute(&input, bugs, true);
    let params = serde_json::to_string_pretty(&input.params()).unwrap_or_default();
    let decoded = format!("{}\nparams: {params}", input.describe());
    let trace = kobjsim::trace::text(&run.outcome);
    let log = trace.lines().map(str::to_string).collect();
    let result = match run.outcome.finding {
        None => Ok(format!("{stats:?}")),
        Some((_, r)) => Err(Report {
            message: format!("{}: {}", input.describe(), r.message),
            ..r
        }),
    };
    Replay {
        decoded,
        log,
        result,
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
