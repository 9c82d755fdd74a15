//! The racing half of the harness: several programs on shuttle's simulated threads inside one
//! execution. Built with feature `sim` only, since shuttle's primitives exist only there.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use kobject::{catch, Bugs, Finding, Held, Kernel, Platform};

use super::{boot, close_span, end_of_run, execute_native, run_action, Outcome, Report, Span};
use crate::lang::Action;
use crate::params::Params;
use crate::scenario::Scenario;
use crate::world::{Actor, Shared, Stats};

/// The first finding of a run; later ones are dropped, since what follows a broken invariant is
/// damage, not news. A std mutex is enough: no shuttle operation runs while it is held.
#[derive(Default)]
struct FirstFinding {
    raised: AtomicBool,
    slot: Mutex<Option<(u32, Finding)>>,
}

impl FirstFinding {
    fn record(&self, actor: u32, finding: Finding) {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some((actor, finding));
        }
        self.raised.store(true, Ordering::Relaxed);
    }

    fn raised(&self) -> bool {
        self.raised.load(Ordering::Relaxed)
    }

    fn take(&self) -> Option<(u32, Finding)> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// The running simulated thread, as the kernel's trace names it: shuttle's task id. Only inside
/// a shuttle execution.
pub fn actor() -> u32 {
    shuttle::current::try_get_current_task().map_or(u32::MAX, |t| {
        u32::try_from(usize::from(t)).unwrap_or(u32::MAX)
    })
}

/// What a race's main thread works with: the kernel and the finding slot.
struct Ctx {
    k: Arc<Kernel>,
    first: Arc<FirstFinding>,
}

impl Ctx {
    fn failed(&self) -> bool {
        self.first.raised()
    }

    /// Audits at a quiescent point with `held` outstanding; records a violation. True when clean.
    fn audit(&self, held: &[Held]) -> bool {
        match kobject_unguided::audit(&self.k, held) {
            Ok(()) => true,
            Err(f) => {
                self.first.record(actor(), f);
                false
            }
        }
    }

    /// Runs each program on its own simulated thread with its actor, and joins them all; the
    /// actors come back for the teardown. A thread stops at its next action once any thread has
    /// raised a finding.
    fn race(
        &self,
        shared: &Arc<Shared>,
        actors: Vec<Actor>,
        programs: &[Vec<Action>],
    ) -> (Vec<Actor>, Vec<Span>) {
        assert_eq!(actors.len(), programs.len(), "one actor per program");
        let handles: Vec<_> = actors
            .into_iter()
            .zip(programs.iter().cloned())
            .enumerate()
            .map(|(i, (a, program))| self.spawn(shared, a, i, program))
            .collect();
        let mut back = Vec::new();
        let mut spans = Vec::new();
        for handle in handles {
            match handle.join() {
                Ok((a, s)) => {
                    back.push(a);
                    spans.extend(s);
                }
                Err(_) => {
                    let bug = "a thread panicked outside kobject::catch".to_string();
                    self.first.record(0, Finding::violation("harness", bug));
                }
            }
        }
        spans.sort_by_key(|s| (s.start, s.actor));
        (back, spans)
    }

    fn spawn(
        &self,
        shared: &Arc<Shared>,
        mut a: Actor,
        program_index: usize,
        program: Vec<Action>,
    ) -> shuttle::thread::JoinHandle<(Actor, Vec<Span>)> {
        let k = Arc::clone(&self.k);
        let shared = Arc::clone(shared);
        let first = Arc::clone(&self.first);
        shuttle::thread::spawn(move || {
            let mut spans = Vec::new();
            let me = actor();
            let result = catch(|| {
                for i in 0..program.len() {
                    if first.raised() {
                        return;
                    }
                    let at = (me, program_index, i);
                    run_action(&k, &shared, &mut a, at, &program, Some(&mut spans));
                }
                a.finish(&k);
            });
            if let Err(mut finding) = result {
                close_span(&k, &mut spans);
                if let Some(span) = spans.last() {
                    finding.message = format!(
                        "at action #{} of thread {} ({}): {}",
                        span.index,
                        span.program,
                        span.action.kind(),
                        finding.message
                    );
                }
                first.record(me, finding);
            }
            (a, spans)
        })
    }
}

/// Runs `scenario` with `params` once, its programs racing on simulated threads. Must be called
/// inside a shuttle execution (its main task).
///
/// `traced` keeps the kernel's port events, which the actions' spans then bound, for a
/// replay's timeline and the determinism check, which compares whole traces (untraced, the
/// spans are still kept, empty, for the finding's "at action" prefix). The trace adds no
/// scheduling point (it reads a plain copy of `io_references`, never the shuttle atomic), so a
/// traced run schedules and ends exactly like an untraced one; exploration leaves it off, since
/// a finding's replay traces it again.
pub fn execute(scenario: &Scenario, params: &Params, bugs: Bugs, traced: bool) -> Outcome {
    let ctx = Ctx {
        k: Arc::new(boot(Platform::Shuttle, bugs, traced)),
        first: Arc::new(FirstFinding::default()),
    };
    let mut spans = Vec::new();
    let mut stats = Stats::default();
    let run = catch(|| {
        let (shared, actors) = (scenario.setup)(&ctx.k, params);
        let mut held: Vec<Held> = actors.iter().flat_map(Actor::hand).collect();
        held.extend(shared.held());
        if !ctx.audit(&held) {
            return;
        }
        let shared = Arc::new(shared);
        let (mut actors, s) = ctx.race(&shared, actors, &params.programs);
        spans = s;
        for a in &actors {
            stats.actions_run += a.stats.actions_run;
            stats.actions_skipped += a.stats.actions_skipped;
        }
        if !ctx.failed() {
            end_of_run(&ctx.k, &shared, &mut actors, false);
        }
    });
    if let Err(finding) = run {
        ctx.first.record(actor(), finding);
    }
    if !ctx.failed() {
        // audit_teardown begins with audit(&[]): conservation first, then leaks.
        match catch(|| kobject_unguided::audit_teardown(&ctx.k)) {
            Ok(Ok(())) => {}
            Ok(Err(finding)) | Err(finding) => ctx.first.record(actor(), finding),
        }
    }
    let outcome = Outcome {
        finding: ctx
            .first
            .take()
            .map(|(actor, f)| (actor, Report::from_finding(f))),
        trace: ctx.k.take_trace(),
        spans,
        stats,
    };
    if let Ok(k) = Arc::try_unwrap(ctx.k) {
        kobject_unguided::dispose(k);
    }
    outcome
}

/// Runs `params` the way its thread count says: one program natively, several under shuttle
/// (which must then be running).
pub fn execute_any(scenario: &Scenario, params: &Params, bugs: Bugs, traced: bool) -> Outcome {
    match params.threads() {
        1 => execute_native(scenario, params, bugs, traced),
        _ => execute(scenario, params, bugs, traced),
    }
}
