//! Replay artifacts: one JSON file per violation, holding everything an exact replay needs.
//!
//! An artifact is input from disk, so loading trusts nothing: a truncated or corrupt file, a newer
//! format, an unknown scenario, bug or scheduler, parameters out of bounds or a schedule that is not
//! shuttle's all give an error that names the problem (the CLI exits 2 on it), never a panic.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use kobject::{Bug, Bugs};
use serde::{Deserialize, Serialize};
use shuttle::scheduler::Schedule;

use crate::explore::{self, Plan, SchedulerKind, Violation};
use crate::fuzzing::sched_race::{self, SchedRaceInput};
use crate::harness::{self, Outcome, Report};
use crate::params::Params;
use crate::scenario::{self, Scenario};

/// The artifact format this kobjsim writes. Version 4 holds programs in the one action language
/// (`lang.rs`) for every engine; versions 1 to 3 held the simulator's own step language, which is
/// gone (the last commit that replays them is named in the error).
pub const FORMAT_VERSION: u64 = 4;
/// The `scheduler` of an artifact written from a `sched_race` fuzz input.
pub const SCHED_RACE_SCHEDULER: &str = "sched_race";
/// The `scheduler` of a one-thread run, which runs natively and has no schedule.
pub const NATIVE_SCHEDULER: &str = "native";
/// The oldest format this kobjsim reads.
const FORMAT_VERSION_OLDEST: u64 = 4;
/// The last commit whose kobjsim replays artifacts of formats 1 to 3.
const LAST_COMMIT_OF_FORMAT_3: &str = "cd3acb9";
/// Artifacts larger than this are not ours (a schedule is a few kilobytes).
const ARTIFACT_BYTES_MAX: u64 = 16 * 1024 * 1024;
/// Name collisions tried before giving up on a fresh name.
const NAME_ATTEMPTS_MAX: u32 = 10_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    pub format_version: u64,
    pub scenario: String,
    pub params: Params,
    pub seed: u64,
    pub iteration: u64,
    pub scheduler: String,
    pub depth: u64,
    /// shuttle's schedule string (hex, as shuttle prints it); empty for a native run.
    #[serde(default)]
    pub schedule: String,
    /// The injected bug, by `kobject::Bug` name; `null` for the faithful model.
    pub bug: Option<String>,
    /// What the recorded run found.
    pub finding: Report,
    /// For scheduler `sched_race`: the fuzz input (hex) the schedule came from, so a replay whose
    /// schedule no longer fits the model re-runs the input instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuzz_input: Option<String>,
}

/// A validated artifact, resolved against this build.
#[derive(Debug)]
pub struct Loaded {
    pub artifact: Artifact,
    pub scenario: &'static Scenario,
    pub bug: Option<Bug>,
    /// shuttle's schedule; `None` for a native run.
    pub schedule: Option<Schedule>,
    /// The decoded `fuzz_input` of a `sched_race` artifact.
    pub fuzz_input: Option<SchedRaceInput>,
}

impl Loaded {
    /// The exploration this artifact came from, for re-deriving it from its seed.
    pub fn plan(&self) -> Plan {
        let a = &self.artifact;
        Plan {
            scenario: self.scenario,
            scheduler: SchedulerKind::from_name(&a.scheduler).unwrap_or(SchedulerKind::Random),
            depth: a.depth as usize,
            seed: a.seed,
            bug: self.bug,
            check_determinism: false,
        }
    }

    /// Replays the recorded schedule exactly; when it no longer fits this build of the model,
    /// re-derives the run from its seed and iteration instead, and returns a note saying so.
    pub fn reproduce(&self) -> (Outcome, Option<String>) {
        let a = &self.artifact;
        let Some(schedule) = self.schedule.clone() else {
            let bugs = Bugs::one(self.bug);
            return (
                harness::execute_native(self.scenario, &a.params, bugs, true),
                None,
            );
        };
        match explore::replay(self.scenario, &a.params, self.bug, schedule) {
            Ok(outcome) => (outcome, None),
            Err(why) if self.fuzz_input.is_some() => {
                let input = self.fuzz_input.as_ref().expect("checked");
                let (run, _) = sched_race::execute(input, Bugs::one(self.bug), true);
                let note = format!("{why}; re-ran its sched_race input instead");
                (run.outcome, Some(note))
            }
            Err(why) => {
                let (reached, outcome) = explore::rerun(&self.plan(), a.iteration);
                let note = format!(
                    "{why}; re-derived from seed {} instead (ran to iteration {reached})",
                    a.seed
                );
                (outcome, Some(note))
            }
        }
    }
}

impl Artifact {
    pub fn new(plan: &Plan, violation: &Violation) -> Artifact {
        Artifact {
            format_version: FORMAT_VERSION,
            scenario: plan.scenario.name.to_string(),
            params: violation.params.clone(),
            seed: plan.seed,
            iteration: violation.iteration,
            scheduler: plan.scheduler.name().to_string(),
            depth: plan.depth as u64,
            schedule: violation.schedule.clone(),
            bug: plan.bug.map(|b| b.name().to_string()),
            finding: violation.report.clone(),
            fuzz_input: None,
        }
    }

    /// An artifact of a native (one-thread) run: no scheduler, no schedule.
    pub fn native(
        scenario: &Scenario,
        params: Params,
        bug: Option<Bug>,
        finding: Report,
    ) -> Artifact {
        Artifact {
            format_version: FORMAT_VERSION,
            scenario: scenario.name.to_string(),
            params,
            seed: 0,
            iteration: 0,
            scheduler: NATIVE_SCHEDULER.to_string(),
            depth: 0,
            schedule: String::new(),
            bug: bug.map(|b| b.name().to_string()),
            finding,
            fuzz_input: None,
        }
    }

    /// Writes the artifact under `dir` (created if missing) with a name no existing file has.
    pub fn write_fresh(&self, dir: &Path) -> Result<PathBuf, String> {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        text.push('\n');
        let from = match self.scheduler.as_str() {
            SCHED_RACE_SCHEDULER => "sched_race-",
            _ => "",
        };
        let stem = format!(
            "{from}{}-{}-seed{}-iter{}",
            self.scenario,
            self.bug.as_deref().unwrap_or("faithful"),
            self.seed,
            self.iteration
        );
        for attempt in 0..NAME_ATTEMPTS_MAX {
            let name = match attempt {
                0 => format!("{stem}.json"),
                n => format!("{stem}-{n}.json"),
            };
            let path = dir.join(name);
            // create_new checks and creates in one step, so a concurrent writer cannot collide.
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    file.write_all(text.as_bytes())
                        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                    return Ok(path);
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
            }
        }
        Err(format!(
            "no free artifact name for {stem} in {}",
            dir.display()
        ))
    }

    /// Reads and validates an artifact.
    pub fn load(path: &Path) -> Result<Loaded, String> {
        let size = fs::metadata(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?
            .len();
        if size > ARTIFACT_BYTES_MAX {
            return Err(format!(
                "{} is {size} bytes: not a kobjsim artifact",
                path.display()
            ));
        }
        let text =
            fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Artifact::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses and validates artifact text.
    pub fn parse(text: &str) -> Result<Loaded, String> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| format!("corrupt or truncated artifact (not JSON: {e})"))?;
        check_version(&value)?;
        let artifact: Artifact =
            serde_json::from_value(value).map_err(|e| format!("corrupt artifact: {e}"))?;
        artifact.resolve()
    }

    fn resolve(self) -> Result<Loaded, String> {
        let scenario = scenario::find(&self.scenario)
            .ok_or_else(|| format!("unknown scenario {:?}", self.scenario))?;
        let bug = match &self.bug {
            None => None,
            Some(name) => {
                Some(Bug::from_name(name).ok_or_else(|| format!("unknown bug {name:?}"))?)
            }
        };
        self.params
            .validate(scenario.threads_max)
            .map_err(|e| format!("parameters out of bounds for {}: {e}", scenario.name))?;
        let fuzz_input = self.resolve_fuzz_input(scenario)?;
        let native = self.scheduler == NATIVE_SCHEDULER;
        if native != (self.params.threads() == 1) {
            return Err(format!(
                "scheduler {:?} with {} programs: one program runs natively, several under shuttle",
                self.scheduler,
                self.params.threads()
            ));
        }
        let schedule = match native {
            true if self.schedule.is_empty() => None,
            true => return Err("a native run has no schedule".into()),
            false => Some(explore::decode_schedule(&self.schedule)?),
        };
        Ok(Loaded {
            artifact: self,
            scenario,
            bug,
            schedule,
            fuzz_input,
        })
    }

    /// A `sched_race` artifact carries its input, which must name the same run; any other
    /// artifact names one of the simulator's schedulers and carries none.
    fn resolve_fuzz_input(&self, scenario: &Scenario) -> Result<Option<SchedRaceInput>, String> {
        if self.scheduler != SCHED_RACE_SCHEDULER {
            if self.scheduler == NATIVE_SCHEDULER {
                return match self.fuzz_input {
                    None => Ok(None),
                    Some(_) => Err("fuzz_input in a native artifact".into()),
                };
            }
            SchedulerKind::from_name(&self.scheduler)
                .ok_or_else(|| format!("unknown scheduler {:?}", self.scheduler))?;
            return match self.fuzz_input {
                None => Ok(None),
                Some(_) => Err(format!(
                    "fuzz_input in an artifact of scheduler {:?}",
                    self.scheduler
                )),
            };
        }
        let hex = self
            .fuzz_input
            .as_deref()
            .ok_or("a sched_race artifact without its fuzz_input")?;
        let input = SchedRaceInput::from_bytes(&hex_decode(hex)?);
        let same_run = input.scenario.name == scenario.name
            && input.seed == self.seed
            && input.iteration == self.iteration;
        if !same_run {
            return Err(format!(
                "fuzz_input is {}, not this artifact's run",
                input.describe()
            ));
        }
        if input.params() != self.params {
            return Err("params differ from the fuzz_input's parameter draw".into());
        }
        Ok(Some(input))
    }
}

/// Lower-case hex of `bytes`.
pub fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes of hex text (either case, no separators).
pub fn hex_decode(text: &str) -> Result<Vec<u8>, String> {
    if text.len() % 2 != 0 {
        return Err("fuzz_input: odd number of hex digits".into());
    }
    // from_str_radix alone would take a sign ("+f").
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("fuzz_input is not hex".into());
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| "fuzz_input is not hex".to_string())
        })
        .collect()
}

fn check_version(value: &serde_json::Value) -> Result<(), String> {
    let version = value
        .get("format_version")
        .ok_or("corrupt artifact: no format_version")?
        .as_u64()
        .ok_or("corrupt artifact: format_version is not a whole number")?;
    match version {
        FORMAT_VERSION_OLDEST..=FORMAT_VERSION => Ok(()),
        v if v > FORMAT_VERSION => Err(format!(
            "artifact format_version {v} is newer than this kobjsim reads ({FORMAT_VERSION}); \
             update kobjsim"
        )),
        1..=3 => Err(format!(
            "artifact format_version {version} holds the simulator's old step language; \
             replay it with kobjsim at commit {LAST_COMMIT_OF_FORMAT_3}, or re-record it"
        )),
        v => Err(format!("artifact format_version {v} is not supported")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_garbage_truncation_and_future_versions() {
        assert!(Artifact::parse("").unwrap_err().contains("truncated"));
        assert!(Artifact::parse("{\"format_version\": 1, \"scen")
            .unwrap_err()
            .contains("truncated"));
        assert!(Artifact::parse("{\"format_version\": 5}")
            .unwrap_err()
            .contains("newer"));
        assert!(Artifact::parse("{\"format_version\": 3}")
            .unwrap_err()
            .contains("old step language"));
        assert!(Artifact::parse("{\"format_version\": \"1\"}")
            .unwrap_err()
            .contains("whole number"));
        assert!(Artifact::parse("{\"format_version\": 4}")
            .unwrap_err()
            .contains("corrupt artifact"));
    }

    #[test]
    fn rejects_a_bad_schedule() {
        for bad in ["", "zz", "91", "9101"] {
            assert!(explore::decode_schedule(bad).is_err(), "{bad:?} decoded");
        }
    }
}
