//! One run: a scenario's setup, one program per thread, and a schedule. One program runs natively
//! ([`execute_native`], the fuzz targets' path: audited after every action); several race on
//! shuttle's simulated threads inside one execution ([`execute`]: the kernel is built there, since
//! shuttle's primitives panic outside one), and the first finding any thread raises is kept.
//!
//! Findings unwind as `kobject::Finding` panics; every simulated thread's body runs inside
//! `kobject::catch`, so the execution itself always completes and shuttle never sees them. What
//! shuttle does see, a deadlock, is turned into a report by `explore.rs`.

use std::fmt;

use kobject::kernel::TraceEvent;
use kobject::{catch, Bugs, Finding, FindingKind, Held, Kernel, Platform};
use serde::{Deserialize, Serialize};

use crate::lang::Action;
use crate::params::Params;
use crate::scenario::Scenario;
use crate::world::{self, Actor, Outcome as ActionOutcome, Shared, Stats};

#[cfg(feature = "sim")]
mod race;
#[cfg(feature = "sim")]
pub use race::{actor, execute, execute_any};

/// A finding in the form artifacts store and reports print.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// A `kobject::FindingKind` name (`kernel-panic`, `violation`, `use-after-free`,
    /// `model-bug`), or what shuttle saw: `deadlock`, `livelock` (the step bound), `harness`.
    pub kind: String,
    /// The short stable name of what broke (`srights-underflow`, `send-right-leak`, ...).
    pub invariant: String,
    pub message: String,
}

impl Report {
    pub fn from_finding(finding: Finding) -> Report {
        let mut message = finding.message;
        // A model bug is our own assertion: where it fired is the first thing a reader needs.
        if finding.kind == FindingKind::ModelBug {
            if let Some(location) = crate::hooks::last_panic_location() {
                message = format!("{message} (at {location})");
            }
        }
        Report {
            kind: finding.kind.name().to_string(),
            invariant: finding.invariant.to_string(),
            message,
        }
    }

    pub fn deadlock(message: String) -> Report {
        Report {
            kind: "deadlock".to_string(),
            invariant: "deadlock".to_string(),
            message,
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]: {}", self.kind, self.invariant, self.message)
    }
}

/// One action as it ran: on which thread, what it was, what it returned, and the trace events it
/// caused (`start..end` in the run's trace).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// The simulated thread (shuttle task id; the native thread is 1, as the first worker).
    pub actor: u32,
    /// Program and action index.
    pub program: usize,
    pub index: usize,
    pub action: Action,
    /// For a repeat, the index of the action it ran again (`action` is that action).
    pub repeat_of: Option<usize>,
    /// What the action returned; `None` when a finding interrupted it.
    pub outcome: Option<ActionOutcome>,
    pub start: usize,
    pub end: usize,
}

/// What one execution observed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The first finding and the simulated thread (shuttle task id, 0 = main) that raised it.
    pub finding: Option<(u32, Report)>,
    /// Every traced model step, when tracing was on.
    pub trace: Vec<TraceEvent>,
    /// Every action that ran, when tracing was on, in the order they started.
    pub spans: Vec<Span>,
    /// What the actions did, summed over threads.
    pub stats: Stats,
}

/// The native thread's id in traces.
const NATIVE_ACTOR: u32 = 1;

/// Boots the kernel of a run: every kernel of the one world dispatches through the table with the
/// synthetic `MIG_NO_REPLY` routine ([`crate::typed::mig_table`]).
fn boot(platform: Platform, bugs: Bugs, traced: bool) -> Kernel {
    let mut kernel = kobject_unguided::boot(platform, bugs);
    kernel.set_static_mig_table(crate::typed::mig_table());
    if traced {
        // shuttle's task lookup panics outside an execution: a native run names its one thread.
        kernel.enable_trace(match platform {
            Platform::Native => || NATIVE_ACTOR,
            #[cfg(feature = "sim")]
            Platform::Shuttle => actor,
        });
    }
    kernel
}

/// Runs `actions[index]` (what it repeats, for an [`Action::Repeat`]) and, when `spans` is
/// given, records it. The span is recorded before the action runs, so an action a finding
/// interrupts still has one (see [`close_span`]).
fn run_action(
    k: &Kernel,
    shared: &Shared,
    actor_state: &mut Actor,
    (who, program, index): (u32, usize, usize),
    actions: &[Action],
    mut spans: Option<&mut Vec<Span>>,
) {
    let repeat_of = match actions[index] {
        Action::Repeat { .. } => crate::lang::repeated_index(actions, index),
        _ => None,
    };
    let action = &actions[repeat_of.unwrap_or(index)];
    let start = k.trace_len();
    if let Some(spans) = spans.as_deref_mut() {
        spans.push(Span {
            actor: who,
            program,
            index,
            action: action.clone(),
            repeat_of,
            outcome: None,
            start,
            end: start,
        });
    }
    let outcome: ActionOutcome = actor_state.step(k, shared, action);
    if let Some(span) = spans.and_then(|s| s.last_mut()) {
        span.outcome = Some(outcome);
        span.end = k.trace_len();
    }
}

/// Ends the span of an action a finding interrupted at the trace's current end.
fn close_span(k: &Kernel, spans: &mut [Span]) {
    if let Some(span) = spans.last_mut() {
        if span.end == span.start {
            span.end = k.trace_len();
        }
    }
}

/// What a native run records besides its result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Observe {
    /// The trace and the spans.
    pub trace: bool,
    /// The routines whose body ran (`Stats::routines_reached`).
    pub reach: bool,
    /// The state each action left its names in ([`Actor::state_features`]), for a fuzzer to use
    /// as coverage beside the edges.
    pub state: bool,
}

impl Observe {
    pub const NOTHING: Observe = Observe {
        trace: false,
        reach: false,
        state: false,
    };
    pub const ALL: Observe = Observe {
        trace: true,
        reach: true,
        state: true,
    };
}

/// A native run's result, with the finding as the model raised it.
pub struct NativeRun {
    pub result: Result<Stats, Finding>,
    pub trace: Vec<TraceEvent>,
    pub spans: Vec<Span>,
    /// With [`Observe::state`]: after each action, the state of every name of the actor's tasks
    /// mixed with the action's kind ([`Actor::state_features`]), in no particular order.
    pub features: Vec<u32>,
}

/// Runs one program natively on a fresh kernel with `bugs`, auditing after every action and at
/// teardown, recording what `observe` asks for. A finding's message names the action it
/// happened at.
pub fn run_native(scenario: &Scenario, params: &Params, bugs: Bugs, observe: Observe) -> NativeRun {
    assert_eq!(params.threads(), 1, "a native run has one program");
    // Findings unwind as panics: keep them off the terminal, in front of shuttle's hook too
    // (which a race earlier in the process installed, and which fails outside an execution).
    crate::hooks::install();
    crate::hooks::quietly(|| run_native_quietly(scenario, params, bugs, observe))
}

fn run_native_quietly(
    scenario: &Scenario,
    params: &Params,
    bugs: Bugs,
    observe: Observe,
) -> NativeRun {
    let traced = observe.trace;
    let mut k = boot(Platform::Native, bugs, traced);
    if observe.reach {
        k.enable_reach();
    }
    let mut spans = Vec::new();
    let mut features = Vec::new();
    let mut at: Option<usize> = None;
    let result = catch(|| -> Result<Stats, Finding> {
        let (shared, mut actors) = (scenario.setup)(&k, params);
        let mut held: Vec<Held> = shared.held();
        held.extend(actors[0].hand());
        kobject_unguided::audit(&k, &held)?;
        let actor_state = &mut actors[0];
        let program = &params.programs[0];
        for i in 0..program.len() {
            at = Some(i);
            let spans = traced.then_some(&mut spans);
            run_action(
                &k,
                &shared,
                actor_state,
                (NATIVE_ACTOR, 0, i),
                program,
                spans,
            );
            if observe.state {
                let action = crate::lang::repeated(program, i).unwrap_or(&program[i]);
                actor_state.state_features(&k, action, &mut |f| features.push(f));
            }
            held.clear();
            held.extend(shared.held());
            held.extend(actor_state.hand());
            kobject_unguided::audit(&k, &held)?;
        }
        at = None;
        let mut stats = actor_state.stats.clone();
        stats.routines_reached = k.take_reached();
        end_of_run(&k, &shared, &mut actors, true);
        kobject_unguided::audit_teardown(&k)?;
        Ok(stats)
    });
    close_span(&k, &mut spans);
    let trace = k.take_trace();
    kobject_unguided::dispose(k);
    NativeRun {
        result: result.and_then(|r| r).map_err(|f| locate(f, at, params)),
        trace,
        spans,
        features,
    }
}

/// [`run_native`] as an [`Outcome`].
pub fn execute_native(scenario: &Scenario, params: &Params, bugs: Bugs, traced: bool) -> Outcome {
    let observe = Observe {
        trace: traced,
        reach: traced,
        state: false,
    };
    let run = run_native(scenario, params, bugs, observe);
    let (finding, stats) = match run.result {
        Ok(stats) => (None, stats),
        Err(f) => (
            Some((NATIVE_ACTOR, Report::from_finding(f))),
            Stats::default(),
        ),
    };
    Outcome {
        finding,
        trace: run.trace,
        spans: run.spans,
        stats,
    }
}

/// The end of a run on the main thread: each actor's end (on its own thread for a race, here for
/// a native run), then the machine's shutdown.
fn end_of_run(k: &Kernel, shared: &Shared, actors: &mut [Actor], finish: bool) {
    for a in actors.iter_mut() {
        if finish {
            a.finish(k);
        }
        a.teardown(k);
    }
    shared.teardown(k);
    world::shutdown(k);
}

/// Prefixes a finding with where it happened, so one line reproduces and explains it.
fn locate(finding: Finding, at: Option<usize>, params: &Params) -> Finding {
    let place = match at {
        Some(i) => format!(
            "at action #{i} of {} ({})",
            params.programs[0].len(),
            params.programs[0][i].kind()
        ),
        None => "at teardown".to_string(),
    };
    Finding {
        message: format!("{place}: {}", finding.message),
        ..finding
    }
}
