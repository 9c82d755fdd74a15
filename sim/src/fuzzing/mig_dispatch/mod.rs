//! The `mig_dispatch` target: user tasks obtain kobject ports of many types and send them Mach
//! messages with any id, any dispositions and any descriptors; the kernel dispatches through the
//! real MIG table. The ledger audits after every action and at teardown.
//!
//! The harness plays a well-behaved kernel around the user API: it only calls the model the way
//! XNU's own callers do (it never releases a right it does not hold, never touches a freed
//! object, terminates a task's threads before the task). Everything the *input* controls goes
//! through the user API (`mach_msg`, `mach_port_*`), where any value is legal. So any finding is a
//! bug in the modelled kernel (or in the model), never a harness misuse.
//!
//! # What the harness deliberately avoids
//! * Circular messages: a receive right sent (transitively) into its own queue. XNU detects the
//!   cycle at send time and destroys the message (`ipc_port_check_circularity`); the model does
//!   not model that, so such a send is skipped rather than reported as a leak at teardown.
//! * Handing a pinned self port to any space but its owner's, and wrapping a space-labeled port
//!   in a subst-once wrapper: XNU never does either.

mod input;
pub mod seeds;
mod world;

use std::cell::Cell;

pub use input::*;
use kobject::ipc_kobject_mig::{kernel_subsystems, MigRoutineDesc};
use kobject::{catch, Bugs, Finding, Kernel, Platform};
use world::World;

/// Tasks a run may create (alive or terminated).
pub const TASKS_MAX: usize = 4;
/// Threads a run may create.
pub const THREADS_MAX: usize = 4;
/// Semaphores, vouchers and generic objects a run may create.
pub const OBJECTS_MAX: usize = 8;
/// Names a task remembers for [`Name::Recent`] and [`Name::Nth`]; later ones are not
/// remembered (they stay reachable through [`Name::Index`]).
pub const NAMES_MAX: usize = 64;
/// Ports visited when checking a send for circularity.
pub const CIRCULARITY_PORTS_MAX: usize = 64;

/// What a run did (for replay output and seed checks; findings travel as `Err`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub actions_run: u32,
    pub actions_skipped: u32,
    pub sends: u32,
    pub sends_ok: u32,
    pub receives_ok: u32,
    /// `(msgh_id, RetCode)` of the last message received.
    pub last_received: Option<(i32, i32)>,
}

/// What one action did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The action did not apply (nothing to act on, a bound reached, or a harness rule).
    Skipped(&'static str),
    /// A `kern_return_t` / `mach_msg_return_t`.
    Kr(i32),
    /// A name the action put into the task's space (`MACH_PORT_NULL` when refused).
    Named(u32),
    Received {
        id: i32,
        ret_code: i32,
        names: usize,
    },
    Done,
}

/// Every slot of the real routine table in `mig_e[]` order, skips included.
pub fn routine_slots() -> &'static [&'static MigRoutineDesc] {
    static SLOTS: std::sync::OnceLock<Vec<&'static MigRoutineDesc>> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        kernel_subsystems()
            .iter()
            .flat_map(|s| s.routines.iter())
            .collect()
    })
}

/// The msgh_id a [`MsgId`] stands for.
pub fn msgh_id(id: MsgId) -> i32 {
    match id {
        MsgId::Routine(slot) => {
            let slots = routine_slots();
            slots[usize::from(slot) % slots.len()].msgh_id
        }
        MsgId::Raw(id) => id,
    }
}

/// Runs one input on a fresh kernel with `bugs`: `Err` is the first finding.
pub fn run_mig_dispatch(input: &MigDispatchInput, bugs: Bugs) -> Result<Stats, Finding> {
    run_mig_dispatch_logged(input, bugs, None)
}

/// As [`run_mig_dispatch`], appending one line per action to `log`.
pub fn run_mig_dispatch_logged(
    input: &MigDispatchInput,
    bugs: Bugs,
    mut log: Option<&mut Vec<String>>,
) -> Result<Stats, Finding> {
    assert!(input.actions.len() <= ACTIONS_MAX);
    kobject::outcome::quiet_findings();
    let step: Cell<Option<usize>> = Cell::new(None);
    let result = catch(|| {
        let k = Kernel::new(Platform::Native, bugs);
        let mut world = World::new(&k);
        for (i, action) in input.actions.iter().enumerate() {
            step.set(Some(i));
            let outcome = world.step(action);
            if let Some(log) = log.as_deref_mut() {
                log.push(format!("#{i} {action:?} -> {outcome:?}"));
            }
            k.audit(&[])?;
        }
        step.set(None);
        world.teardown()?;
        Ok(world.stats)
    });
    result
        .and_then(|r| r)
        .map_err(|f| locate(f, step.get(), input))
}

/// Prefixes a finding with where it happened, so one line reproduces and explains it.
fn locate(finding: Finding, step: Option<usize>, input: &MigDispatchInput) -> Finding {
    let place = match step {
        Some(i) => format!("at action #{i} of {}", input.actions.len()),
        None => "at teardown".to_string(),
    };
    Finding {
        message: format!("{place}: {}", finding.message),
        ..finding
    }
}
