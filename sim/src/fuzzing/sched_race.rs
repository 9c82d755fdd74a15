//! The `sched_race` target: the input holds a scenario, the threads' programs in the action
//! language and every scheduling decision, through a shuttle [`Scheduler`] that reads the input's
//! bytes. libFuzzer's coverage feedback then steers both the messages and the interleavings.
//! `mig_dispatch` is its one-thread case.
//!
//! # Input layout
//! | bytes | meaning |
//! |---|---|
//! | 0 | the scenario: an index into [`SCENARIOS`], modulo their count |
//! | 1..9 | `seed`, a little-endian `u64` |
//! | 9..17 | `iteration`, a little-endian `u64`: the knobs (and, without a program section, the programs) are `draw(ParamRng::new(seed, iteration))`, as iteration `iteration` of `kobjsim run --seed seed` draws them |
//! | 17..19 | `L`, a little-endian `u16`: the length of the program section |
//! | 19..19+L | the programs: a thread count byte (2 to the scenario's maximum), then each program as a bounded list of actions |
//! | 19+L.. | choice bytes, at most [`CHOICES_MAX`] |
//!
//! Missing header bytes read as zero, so every byte string is an input. Each time two or more
//! simulated threads can run, the next choice byte `b` picks `runnable[b % n]` (shuttle lists the
//! runnable threads in task-id order); a decision with one runnable thread reads no byte. Once the
//! bytes run out, a ChaCha stream keyed by `(seed, iteration)` ([`ChoiceRng`]) makes the rest, so a
//! short input is still a complete, random-looking but deterministic schedule. Random values
//! shuttle asks for come from shuttle's own `RandomDataSource` seeded with `seed`, which is what
//! its `ReplayScheduler` draws from: the recorded schedule replays exactly without the bytes.
//!
//! # Replay
//! [`to_artifact`] runs an input inside `explore.rs`'s recording wrapper and writes a simulator
//! [`Artifact`] (scheduler `sched_race`, the input kept as hex in `fuzz_input`), so a crash replays
//! through `kobjsim replay` (and `kobjsim from-sched-race FILE` writes one).

use std::cell::Cell;
use std::rc::Rc;

use kobject::{Bug, Bugs};
use shuttle::scheduler::{Schedule, Scheduler, Task, TaskId};
use shuttle_engine::scheduler::data::{DataSource, RandomDataSource};
use shuttle_engine::scheduler::ScheduleStep;

use crate::artifact::{self, Artifact};
use crate::explore::{self, ByteRun};
use crate::fuzzing::codec::{encode_bounded_vec, Encode};
use crate::harness::Report;
use crate::lang::Action;
use crate::params::{Params, STEPS_MAX};
use crate::scenario::{Scenario, SCENARIOS};
use crate::seed::{ChoiceRng, ParamRng};

/// Bytes before the program section: scenario, seed, iteration, section length.
pub const HEADER_BYTES: usize = 19;
/// Choice bytes read from one input; the rest is ignored. An execution takes at most
/// `explore::EXECUTION_STEPS_MAX` decisions, so more could never be read.
pub const CHOICES_MAX: usize = explore::EXECUTION_STEPS_MAX;

/// A decoded `sched_race` input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchedRaceInput {
    pub scenario: &'static Scenario,
    pub seed: u64,
    pub iteration: u64,
    /// The threads' programs, when the input carries them (else the scenario draws them).
    pub programs: Option<Vec<Vec<Action>>>,
    pub choices: Vec<u8>,
}

/// Decodes a program section: a thread count, then each program.
fn decode_programs(section: &[u8], threads_max: usize) -> Vec<Vec<Action>> {
    let mut u = arbitrary::Unstructured::new(section);
    let byte: u8 = arbitrary::Arbitrary::arbitrary(&mut u).unwrap_or(0);
    let threads = 2 + usize::from(byte) % (threads_max - 1);
    (0..threads)
        .map(|_| {
            crate::fuzzing::codec::bounded_vec::<Action, STEPS_MAX>(&mut u).unwrap_or_default()
        })
        .collect()
}

/// Encodes what [`decode_programs`] decodes.
fn encode_programs(programs: &[Vec<Action>]) -> Vec<u8> {
    assert!(programs.len() >= 2, "a race has two threads or more");
    let mut out = vec![u8::try_from(programs.len() - 2).expect("a few threads")];
    for program in programs {
        encode_bounded_vec(program, STEPS_MAX, &mut out);
    }
    out
}

impl SchedRaceInput {
    /// Decodes bytes exactly as the fuzz target does (never fails).
    pub fn from_bytes(data: &[u8]) -> SchedRaceInput {
        let mut header = [0u8; HEADER_BYTES];
        let header_len = data.len().min(HEADER_BYTES);
        header[..header_len].copy_from_slice(&data[..header_len]);
        let word = |at: usize| {
            u64::from_le_bytes(header[at..at + 8].try_into().expect("eight header bytes"))
        };
        let rest = &data[header_len..];
        let section_len = usize::from(u16::from_le_bytes([header[17], header[18]])).min(rest.len());
        let (section, rest) = rest.split_at(section_len);
        let choices = rest[..rest.len().min(CHOICES_MAX)].to_vec();
        let scenario = &SCENARIOS[usize::from(header[0]) % SCENARIOS.len()];
        let input = SchedRaceInput {
            scenario,
            seed: word(1),
            iteration: word(9),
            programs: (!section.is_empty()).then(|| decode_programs(section, scenario.threads_max)),
            choices,
        };
        assert!(input.choices.len() <= CHOICES_MAX);
        input
    }

    /// The canonical bytes of this input (scenario byte below the scenario count).
    pub fn to_bytes(&self) -> Vec<u8> {
        let index = scenario_index(self.scenario);
        let mut out = Vec::with_capacity(HEADER_BYTES + self.choices.len());
        out.push(u8::try_from(index).expect("fewer than 256 scenarios"));
        out.extend_from_slice(&self.seed.to_le_bytes());
        out.extend_from_slice(&self.iteration.to_le_bytes());
        let section = self
            .programs
            .as_deref()
            .map(encode_programs)
            .unwrap_or_default();
        let len = u16::try_from(section.len()).expect("a program section below 64 KiB");
        len.encode(&mut out);
        assert_eq!(out.len(), HEADER_BYTES);
        out.extend_from_slice(&section);
        out.extend_from_slice(&self.choices);
        out
    }

    /// The parameters this input runs with: the draw's knobs, and its own programs when it
    /// carries them.
    pub fn params(&self) -> Params {
        let mut params = (self.scenario.draw)(&mut ParamRng::new(self.seed, self.iteration));
        if let Some(programs) = &self.programs {
            params.programs = programs.clone();
        }
        params
    }

    /// One line naming the input, for reports.
    pub fn describe(&self) -> String {
        format!(
            "sched_race {} seed {} iteration {} ({} programs, {} choice bytes)",
            self.scenario.name,
            self.seed,
            self.iteration,
            self.params().threads(),
            self.choices.len()
        )
    }
}

fn scenario_index(scenario: &Scenario) -> usize {
    SCENARIOS
        .iter()
        .position(|s| std::ptr::eq(s, scenario))
        .expect("a registered scenario")
}

/// Counters a [`ByteScheduler`] shares with whoever made it (it is moved into shuttle's runner).
#[derive(Clone, Debug, Default)]
pub struct ChoiceCounts {
    pub from_bytes: Rc<Cell<usize>>,
    pub from_fallback: Rc<Cell<usize>>,
}

/// Where a [`ByteScheduler`]'s choices come from.
#[derive(Debug)]
enum Source {
    /// An input's choice bytes.
    Bytes { choices: Vec<u8>, next: usize },
    /// A recorded schedule to follow, writing down the choice byte each decision would need:
    /// turns a simulator artifact into a `sched_race` input.
    Guided {
        schedule: Schedule,
        next: usize,
        written: Rc<std::cell::RefCell<Vec<u8>>>,
    },
}

/// A shuttle scheduler whose decisions are the bytes of a fuzz input (see the module header).
#[derive(Debug)]
pub struct ByteScheduler {
    source: Source,
    fallback: ChoiceRng,
    data_source: RandomDataSource,
    started: bool,
    counts: ChoiceCounts,
}

impl ByteScheduler {
    /// A scheduler for `input`'s choices.
    pub fn new(input: &SchedRaceInput, counts: ChoiceCounts) -> ByteScheduler {
        ByteScheduler {
            source: Source::Bytes {
                choices: input.choices.clone(),
                next: 0,
            },
            fallback: ChoiceRng::new(input.seed, input.iteration),
            data_source: RandomDataSource::initialize(input.seed),
            started: false,
            counts,
        }
    }

    /// A scheduler that follows `schedule` and writes the choice bytes it took into `written`.
    fn guided(
        input: &SchedRaceInput,
        schedule: Schedule,
        written: Rc<std::cell::RefCell<Vec<u8>>>,
        counts: ChoiceCounts,
    ) -> ByteScheduler {
        ByteScheduler {
            source: Source::Guided {
                schedule,
                next: 0,
                written,
            },
            fallback: ChoiceRng::new(input.seed, input.iteration),
            data_source: RandomDataSource::initialize(input.seed),
            started: false,
            counts,
        }
    }

    /// The index into `runnable` of the next decision, when the source still has one.
    fn source_choice(&mut self, runnable: &[&Task]) -> Option<usize> {
        match &mut self.source {
            Source::Bytes { choices, next } => {
                let byte = *choices.get(*next)?;
                *next += 1;
                Some(usize::from(byte) % runnable.len())
            }
            Source::Guided {
                schedule,
                next,
                written,
            } => {
                // Single-choice steps of the recording take no byte; skip to the next task step.
                let ScheduleStep::Task(id) = *schedule.steps.get(*next)? else {
                    return None;
                };
                let index = runnable.iter().position(|t| t.id() == id)?;
                *next += 1;
                written
                    .borrow_mut()
                    .push(u8::try_from(index).expect("fewer than 256 runnable threads"));
                Some(index)
            }
        }
    }
}

impl Scheduler for ByteScheduler {
    fn new_execution(&mut self) -> Option<Schedule> {
        if self.started {
            return None;
        }
        self.started = true;
        Some(Schedule::new(self.data_source.reinitialize()))
    }

    fn next_task(
        &mut self,
        runnable: &[&Task],
        _current: Option<TaskId>,
        _is_yielding: bool,
    ) -> Option<TaskId> {
        assert!(
            !runnable.is_empty(),
            "shuttle asks only with a runnable task"
        );
        if runnable.len() == 1 {
            // Follow a guiding schedule past its single-choice step too.
            if let Source::Guided { schedule, next, .. } = &mut self.source {
                if matches!(schedule.steps.get(*next), Some(ScheduleStep::Task(id)) if *id == runnable[0].id())
                {
                    *next += 1;
                }
            }
            return Some(runnable[0].id());
        }
        let index = match self.source_choice(runnable) {
            Some(index) => {
                self.counts.from_bytes.set(self.counts.from_bytes.get() + 1);
                index
            }
            None => {
                self.counts
                    .from_fallback
                    .set(self.counts.from_fallback.get() + 1);
                self.fallback.below(runnable.len())
            }
        };
        assert!(index < runnable.len());
        Some(runnable[index].id())
    }

    fn next_u64(&mut self) -> u64 {
        if let Source::Guided { schedule, next, .. } = &mut self.source {
            if matches!(schedule.steps.get(*next), Some(ScheduleStep::Random)) {
                *next += 1;
            }
        }
        self.data_source.next_u64()
    }
}

/// What a clean run did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchedRaceStats {
    pub scenario: &'static str,
    /// Scheduling decisions, single-choice ones included.
    pub steps: u64,
    /// Decisions among two or more threads made by input bytes, and by the fallback stream.
    pub from_bytes: usize,
    pub from_fallback: usize,
}

/// One run of a decoded input and its recorded schedule; with its trace when `traced` (a
/// replay's timeline; the fuzzer and the shrinker need only the finding).
pub fn execute(input: &SchedRaceInput, bugs: Bugs, traced: bool) -> (ByteRun, SchedRaceStats) {
    let counts = ChoiceCounts::default();
    let scheduler = ByteScheduler::new(input, counts.clone());
    let params = input.params();
    let run = explore::execute_bytes(input.scenario, &params, bugs, scheduler, traced);
    let stats = SchedRaceStats {
        scenario: input.scenario.name,
        steps: run.steps,
        from_bytes: counts.from_bytes.get(),
        from_fallback: counts.from_fallback.get(),
    };
    (run, stats)
}

/// Runs one input with `bugs`: `Err` is the first finding, prefixed with the input's line.
pub fn run_sched_race(data: &[u8], bugs: Bugs) -> Result<SchedRaceStats, Report> {
    let input = SchedRaceInput::from_bytes(data);
    let (run, stats) = execute(&input, bugs, false);
    match run.outcome.finding {
        None => Ok(stats),
        Some((_, report)) => Err(Report {
            message: format!("{}: {}", input.describe(), report.message),
            ..report
        }),
    }
}

/// The one bug `bugs` holds (an artifact names at most one).
pub fn single_bug(bugs: Bugs) -> Result<Option<Bug>, String> {
    let mut held = Bug::ALL.iter().copied().filter(|&b| bugs.has(b));
    match (held.next(), held.next()) {
        (first, None) => Ok(first),
        (Some(a), Some(b)) => Err(format!(
            "an artifact names one bug, not {} and {}",
            a.name(),
            b.name()
        )),
        (None, Some(_)) => unreachable!("an iterator yields after it ended"),
    }
}

/// Runs `data` with `bug` and writes what it found as a simulator artifact, which
/// `kobjsim replay` replays through the recorded shuttle schedule (not the bytes). `Err` when the
/// input runs clean: there is nothing to replay.
pub fn to_artifact(data: &[u8], bug: Option<Bug>) -> Result<Artifact, String> {
    let input = SchedRaceInput::from_bytes(data);
    let (run, _) = execute(&input, Bugs::one(bug), false);
    let Some((_, finding)) = run.outcome.finding else {
        return Err(format!(
            "{} runs clean with bug {}: nothing to replay",
            input.describe(),
            bug.map_or("none", Bug::name)
        ));
    };
    Ok(Artifact {
        format_version: artifact::FORMAT_VERSION,
        scenario: input.scenario.name.to_string(),
        params: input.params(),
        seed: input.seed,
        iteration: input.iteration,
        scheduler: artifact::SCHED_RACE_SCHEDULER.to_string(),
        depth: 0,
        schedule: explore::encode_schedule(&run.schedule),
        bug: bug.map(|b| b.name().to_string()),
        finding,
        fuzz_input: Some(artifact::hex_encode(&input.to_bytes())),
    })
}

/// The `sched_race` input that takes the recorded schedule of a simulator artifact: same
/// scenario and knobs, its programs, the choice bytes its schedule needs. `None` for a native
/// (one-thread) artifact, when its knobs are not the draw of its seed and iteration (a
/// hand-edited artifact), or when its schedule no longer fits the model.
pub fn from_artifact(loaded: &artifact::Loaded) -> Option<SchedRaceInput> {
    let a = &loaded.artifact;
    let schedule = loaded.schedule.clone()?;
    let mut input = SchedRaceInput {
        scenario: loaded.scenario,
        seed: a.seed,
        iteration: a.iteration,
        programs: Some(a.params.programs.clone()),
        choices: Vec::new(),
    };
    if input.params() != a.params {
        return None;
    }
    let written = Rc::new(std::cell::RefCell::new(Vec::new()));
    let counts = ChoiceCounts::default();
    let scheduler = ByteScheduler::guided(&input, schedule, Rc::clone(&written), counts.clone());
    explore::execute_bytes(
        input.scenario,
        &a.params,
        Bugs::one(loaded.bug),
        scheduler,
        false,
    );
    if counts.from_fallback.get() > 0 {
        return None;
    }
    input.choices = written.take();
    Some(input)
}

/// The committed seeds: three per scenario (choices all from the fallback stream, all zero, and
/// counting up), each with its own parameter draw.
pub fn seeds() -> Vec<(String, SchedRaceInput)> {
    let mut out = Vec::new();
    for scenario in SCENARIOS.iter().filter(|s| s.name != crate::scenario::NONE) {
        let patterns: [(&str, Vec<u8>); 3] = [
            ("fallback", Vec::new()),
            ("lowest", vec![0; 64]),
            ("counting", (0..=255).collect()),
        ];
        for (k, (pattern, choices)) in patterns.into_iter().enumerate() {
            let mut input = SchedRaceInput {
                scenario,
                seed: 1 + k as u64,
                iteration: 0,
                programs: None,
                choices,
            };
            input.programs = Some(input.params().programs);
            out.push((format!("{}-{pattern}", scenario.name), input));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_string_decodes_and_canonical_bytes_round_trip() {
        for data in [&[][..], &[200], &[3, 1, 2], &[9; 40]] {
            let input = SchedRaceInput::from_bytes(data);
            assert_eq!(SchedRaceInput::from_bytes(&input.to_bytes()), input);
        }
        for (name, input) in seeds() {
            assert_eq!(
                SchedRaceInput::from_bytes(&input.to_bytes()),
                input,
                "{name}"
            );
        }
    }

    #[test]
    fn the_same_input_takes_the_same_schedule() {
        let data = [
            2u8, 7, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0,
        ];
        let input = SchedRaceInput::from_bytes(&data);
        let (a, sa) = execute(&input, Bugs::NONE, true);
        let (b, sb) = execute(&input, Bugs::NONE, true);
        assert_eq!(a.schedule, b.schedule);
        assert_eq!(a.outcome, b.outcome);
        assert_eq!(sa, sb);
        assert!(sa.from_bytes <= input.choices.len());
    }

    /// The trace observes and never schedules: with it off, an input takes the same schedule
    /// to the same finding, clean or not.
    #[test]
    fn tracing_does_not_change_a_run() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../corpus/regressions/sched_race"
        );
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .expect("the committed sched_race regressions")
            .map(|e| e.expect("a directory entry").path())
            .collect();
        files.sort();
        let (mut events, mut found) = (0, 0);
        for path in &files {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let bug = Bug::from_name(name.split("--").next().unwrap_or_default());
            let input = SchedRaceInput::from_bytes(&std::fs::read(path).expect("readable"));
            let (traced, st) = execute(&input, Bugs::one(bug), true);
            let (plain, sp) = execute(&input, Bugs::one(bug), false);
            assert!(plain.outcome.trace.is_empty(), "{name}");
            assert_eq!(traced.schedule, plain.schedule, "{name}");
            assert_eq!(traced.outcome.finding, plain.outcome.finding, "{name}");
            assert_eq!(
                (st.steps, st.from_bytes),
                (sp.steps, sp.from_bytes),
                "{name}"
            );
            events += traced.outcome.trace.len();
            found += usize::from(plain.outcome.finding.is_some());
        }
        assert!(events > 0, "no traced run recorded a port event");
        assert_eq!(found, files.len(), "every regression still finds its bug");
    }
}
