//! One scenario run inside one shuttle execution: the kernel is built there (shuttle's primitives
//! panic outside an execution), the workers race on simulated threads, and the first finding any
//! of them raises is kept.
//!
//! Findings unwind as `kobject::Finding` panics; every simulated thread's body runs inside
//! `kobject::catch`, so the execution itself always completes and shuttle never sees them. What
//! shuttle does see, a deadlock, is turned into a report by `explore.rs`.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use kobject::kernel::TraceEvent;
use kobject::{catch, Bugs, Finding, FindingKind, Held, Kernel, Platform};
use serde::{Deserialize, Serialize};

use crate::params::{Params, Step};
use crate::scenario::Scenario;
use crate::world::{self, Hand, World};

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

/// What one execution observed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The first finding and the simulated thread (shuttle task id, 0 = main) that raised it.
    pub finding: Option<(u32, Report)>,
    /// Every traced model step, when tracing was on.
    pub trace: Vec<TraceEvent>,
}

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

/// The running simulated thread, as the kernel's trace names it: shuttle's task id.
pub fn actor() -> u32 {
    shuttle::current::try_get_current_task().map_or(u32::MAX, |t| {
        u32::try_from(usize::from(t)).unwrap_or(u32::MAX)
    })
}

/// What a scenario's run function gets: the kernel and the finding slot.
pub struct Ctx {
    pub k: Arc<Kernel>,
    first: Arc<FirstFinding>,
}

impl Ctx {
    pub fn failed(&self) -> bool {
        self.first.raised()
    }

    /// Audits at a quiescent point with `held` outstanding; records a violation. True when clean.
    pub fn audit(&self, held: &[Held]) -> bool {
        match self.k.audit(held) {
            Ok(()) => true,
            Err(f) => {
                self.first.record(actor(), f);
                false
            }
        }
    }

    /// Runs each program on its own simulated thread with its hand, and joins them all. A worker
    /// stops at its next step once any thread has raised a finding.
    pub fn race(&self, world: &Arc<World>, hands: Vec<Hand>, programs: &[Vec<Step>]) {
        assert_eq!(hands.len(), programs.len(), "one hand per program");
        let handles: Vec<_> = hands
            .into_iter()
            .zip(programs.iter().cloned())
            .map(|(hand, program)| self.spawn_worker(world, hand, program))
            .collect();
        for handle in handles {
            if handle.join().is_err() {
                let bug = "a worker panicked outside kobject::catch".to_string();
                self.first.record(0, Finding::violation("harness", bug));
            }
        }
    }

    fn spawn_worker(
        &self,
        world: &Arc<World>,
        mut hand: Hand,
        program: Vec<Step>,
    ) -> shuttle::thread::JoinHandle<()> {
        let k = Arc::clone(&self.k);
        let world = Arc::clone(world);
        let first = Arc::clone(&self.first);
        shuttle::thread::spawn(move || {
            let result = catch(|| {
                for &step in &program {
                    if first.raised() {
                        return;
                    }
                    world::run_step(&k, &world, &mut hand, step);
                }
                world::release_all(&k, &mut hand);
            });
            if let Err(finding) = result {
                first.record(actor(), finding);
            }
        })
    }

    /// The common shape of a scenario: audit the setup, race the workers, tear down.
    pub fn play(&self, params: &Params, mut world: World, hands: Vec<Hand>) {
        let mut held: Vec<Held> = hands.iter().flat_map(Hand::all).collect();
        held.extend(world.held());
        if !self.audit(&held) {
            return;
        }
        world.messages = params.messages.clone();
        let world = Arc::new(world);
        self.race(&world, hands, &params.programs);
        if !self.failed() {
            world::teardown(&self.k, &world);
        }
    }
}

/// Runs `scenario` once. Must be called inside a shuttle execution (its main task).
///
/// Tracing is always on (it is cheap, and a determinism check compares whole traces). It adds
/// no scheduling point: the trace reads a plain copy of `io_references`, never the shuttle
/// atomic, so a traced run schedules exactly like an untraced one.
///
/// Every kernel dispatches through the MIG table with the synthetic `MIG_NO_REPLY` routine
/// ([`crate::msg::mig_table`]); real ids are found the same in it.
pub fn execute(scenario: &Scenario, params: &Params, bugs: Bugs) -> Outcome {
    let mut kernel = Kernel::new(Platform::Shuttle, bugs);
    kernel.set_static_mig_table(crate::msg::mig_table());
    kernel.enable_trace(actor);
    let ctx = Ctx {
        k: Arc::new(kernel),
        first: Arc::new(FirstFinding::default()),
    };
    if let Err(finding) = catch(|| (scenario.run)(&ctx, params)) {
        ctx.first.record(actor(), finding);
    }
    if !ctx.failed() {
        // audit_teardown begins with audit(&[]): conservation first, then leaks.
        match catch(|| ctx.k.audit_teardown()) {
            Ok(Ok(())) => {}
            Ok(Err(finding)) | Err(finding) => ctx.first.record(actor(), finding),
        }
    }
    Outcome {
        finding: ctx
            .first
            .take()
            .map(|(actor, f)| (actor, Report::from_finding(f))),
        trace: ctx.k.take_trace(),
    }
}
