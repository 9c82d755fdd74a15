//! The shrinker: makes a finding's run smaller while the same invariant still fires.
//!
//! It removes whole threads (down to one, which then runs natively), single actions, and parts
//! of actions (descriptors, inline words, a typed call's deviation or receive), greedily, for as
//! long as some removal keeps the finding. A candidate with one program runs natively, which is
//! deterministic. A candidate with several needs a schedule: the old one seldom fits a changed
//! program, so each candidate is tried under a few byte schedules (the recorded choices first,
//! then choice bytes from a ChaCha stream per attempt); the first schedule that fires the
//! invariant is kept, and the result is a `sched_race` artifact whose input replays it.

use kobject::{Bug, Bugs};

use crate::artifact::{self, Artifact, Loaded};
use crate::fuzzing::sched_race::{self, SchedRaceInput};
use crate::harness::{self, Report};
use crate::params::Params;
use crate::scenario::Scenario;
use crate::seed::InputRng;

/// Schedules tried per multi-thread candidate.
const SCHEDULES_PER_CANDIDATE: u64 = 24;
/// Choice bytes of each tried schedule.
const CHOICE_BYTES: usize = 512;

/// How big a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    pub threads: usize,
    pub actions: usize,
    /// Descriptors of raw messages and deviations of typed calls.
    pub parts: usize,
}

impl Size {
    pub fn of(params: &Params) -> Size {
        let parts = params
            .programs
            .iter()
            .flatten()
            .map(|a| a.simpler().len())
            .sum();
        Size {
            threads: params.threads(),
            actions: params.actions(),
            parts,
        }
    }
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} threads, {} actions, {} removable parts",
            self.threads, self.actions, self.parts
        )
    }
}

/// What shrinking did.
pub struct Shrunk {
    pub artifact: Artifact,
    pub before: Size,
    pub after: Size,
    /// Candidate runs executed.
    pub runs: u64,
}

/// A candidate that still fires: its parameters and how to replay it.
struct Hit {
    params: Params,
    report: Report,
    /// The `sched_race` input and shuttle schedule of a multi-thread hit.
    race: Option<(SchedRaceInput, String)>,
}

struct Shrinker<'a> {
    scenario: &'static Scenario,
    bug: Option<Bug>,
    invariant: &'a str,
    seed: u64,
    iteration: u64,
    /// The recorded choice bytes, tried first on every candidate.
    recorded: Vec<u8>,
    runs: u64,
    runs_max: u64,
}

impl Shrinker<'_> {
    /// Runs `params` and returns the hit when the same invariant fires.
    fn check(&mut self, params: &Params) -> Option<Hit> {
        if params.threads() == 1 {
            self.runs += 1;
            let outcome =
                harness::execute_native(self.scenario, params, Bugs::one(self.bug), false);
            let (_, report) = outcome.finding?;
            return (report.invariant == self.invariant).then(|| Hit {
                params: params.clone(),
                report,
                race: None,
            });
        }
        for attempt in 0..SCHEDULES_PER_CANDIDATE {
            if self.runs >= self.runs_max {
                return None;
            }
            self.runs += 1;
            let choices = match attempt {
                0 => self.recorded.clone(),
                n => InputRng::new(self.seed ^ n.wrapping_mul(0x9e37_79b9)).exactly(CHOICE_BYTES),
            };
            let input = SchedRaceInput {
                scenario: self.scenario,
                seed: self.seed,
                iteration: self.iteration,
                programs: Some(params.programs.clone()),
                choices,
            };
            if input.params() != *params {
                return None;
            }
            let (run, _) = sched_race::execute(&input, Bugs::one(self.bug), false);
            if let Some((_, report)) = run.outcome.finding {
                if report.invariant == self.invariant {
                    return Some(Hit {
                        params: params.clone(),
                        report,
                        race: Some((input, crate::explore::encode_schedule(&run.schedule))),
                    });
                }
            }
        }
        None
    }

    /// Candidates one step smaller than `params`: without a thread, without an action, with a
    /// simpler action.
    fn candidates(params: &Params) -> Vec<Params> {
        let mut out = Vec::new();
        if params.threads() > 1 {
            for t in 0..params.threads() {
                let mut p = params.clone();
                p.programs.remove(t);
                out.push(p);
            }
        }
        for t in 0..params.threads() {
            for i in (0..params.programs[t].len()).rev() {
                let mut p = params.clone();
                p.programs[t].remove(i);
                out.push(p);
            }
        }
        for t in 0..params.threads() {
            for i in 0..params.programs[t].len() {
                for simpler in params.programs[t][i].simpler() {
                    let mut p = params.clone();
                    p.programs[t][i] = simpler;
                    out.push(p);
                }
            }
        }
        out
    }

    fn run(&mut self, mut best: Hit) -> Hit {
        'pass: loop {
            for candidate in Self::candidates(&best.params) {
                if self.runs >= self.runs_max {
                    break 'pass;
                }
                if candidate.validate(self.scenario.threads_max).is_err() {
                    continue;
                }
                if let Some(hit) = self.check(&candidate) {
                    best = hit;
                    continue 'pass;
                }
            }
            break;
        }
        best
    }
}

/// Shrinks `loaded` within `runs_max` candidate runs. `Err` when the artifact does not reproduce
/// its finding to begin with.
pub fn shrink(loaded: &Loaded, runs_max: u64) -> Result<Shrunk, String> {
    let a = &loaded.artifact;
    let recorded = loaded
        .fuzz_input
        .as_ref()
        .map(|i| i.choices.clone())
        .unwrap_or_default();
    let mut s = Shrinker {
        scenario: loaded.scenario,
        bug: loaded.bug,
        invariant: &a.finding.invariant,
        seed: a.seed,
        iteration: a.iteration,
        recorded,
        runs: 0,
        runs_max,
    };
    let start = match s.check(&a.params) {
        Some(hit) => hit,
        None => {
            let (outcome, _) = loaded.reproduce();
            let (_, report) = outcome.finding.ok_or_else(|| {
                format!(
                    "the artifact no longer finds {}: nothing to shrink",
                    a.finding.invariant
                )
            })?;
            if report.invariant != a.finding.invariant {
                return Err(format!(
                    "the artifact now finds {} instead of {}",
                    report.invariant, a.finding.invariant
                ));
            }
            // Reproduces along its own schedule only: keep that run as the starting point.
            Hit {
                params: a.params.clone(),
                report,
                race: None,
            }
        }
    };
    let best = s.run(start);
    let artifact = match (&best.race, best.params.threads()) {
        (_, 1) => Artifact {
            seed: a.seed,
            iteration: a.iteration,
            ..Artifact::native(
                loaded.scenario,
                best.params.clone(),
                loaded.bug,
                best.report.clone(),
            )
        },
        (Some((input, schedule)), _) => Artifact {
            format_version: artifact::FORMAT_VERSION,
            scenario: loaded.scenario.name.to_string(),
            params: best.params.clone(),
            seed: a.seed,
            iteration: a.iteration,
            scheduler: artifact::SCHED_RACE_SCHEDULER.to_string(),
            depth: 0,
            schedule: schedule.clone(),
            bug: a.bug.clone(),
            finding: best.report.clone(),
            fuzz_input: Some(artifact::hex_encode(&input.to_bytes())),
        },
        (None, _) => a.clone(),
    };
    Ok(Shrunk {
        artifact,
        before: Size::of(&a.params),
        after: Size::of(&best.params),
        runs: s.runs,
    })
}
