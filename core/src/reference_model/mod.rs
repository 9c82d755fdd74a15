//! The reference model of the kobject port layer: direct calls of the seed's functions in any
//! order their callers in XNU may make them, each checked against a small model of rights and
//! references (`state.rs`) and by the auditor (`Kernel::audit`), and at the end by a full
//! teardown (`Kernel::audit_teardown`).
//!
//! What it covers: plain kobject ports (allocation with options and labels, label checks,
//! disable / enable, deallocation), lazily allocated semaphore and voucher ports, send and
//! send-once rights made, copied and released, no-senders requests (`ipc_kobject_nsrequest`,
//! `ipc_kobject_make_send_nsrequest`), subst-once wrappers and their copyout, tasks and threads
//! with their own ports, `task_suspend2` and its resume send-once rights, mk_timer ports, and
//! the owners of plain and lazy objects letting go.
//!
//! Preconditions are what the kernel's callers guarantee: rights are only released or copied
//! when the reference model holds them, a port is deallocated only where XNU would not panic,
//! a kobject reference is donated whenever a request is armed on a type that expects one, and
//! only an owner still holding its object makes rights from it, arms or deallocates its port.
//!
//! Three drivers share it: [`Runner`] runs transitions one by one, skipping illegal ones (the
//! `kobject_lifecycle` fuzz target, which draws [`Transition<u8>`]s and resolves their indices
//! with [`RefState::resolve`]); [`run`] runs a fixed legal sequence; and, with feature
//! `proptest`, the state machine (`machine.rs`) that `core/tests/state_machine.rs` and
//! `kobjsim bugs` run.

#[cfg(feature = "proptest")]
mod machine;
mod state;
mod sut;

use crate::ikot::*;
use crate::mach::*;
use crate::outcome::{catch, Finding};
use crate::Bugs;

#[cfg(feature = "proptest")]
pub use machine::{search, KobjectMachine};
pub use state::RefState;
pub use sut::{Sut, Unguided};

/// At most this many ports (live or not) in one run.
pub const PORTS_MAX: usize = 32;
/// At most this many semaphores and vouchers, tasks, threads and timers in one run.
pub const LAZY_OBJECTS_MAX: usize = 3;
pub const TASKS_MAX: usize = 2;
pub const THREADS_MAX: usize = 3;
pub const TIMERS_MAX: usize = 3;
/// Steps and cases of one proptest run.
pub const STEPS_MAX: usize = 30;
pub const CASES: u32 = 256;

/// The allocation options a plain port is made with (any combination).
pub const PLAIN_ALLOC_OPTIONS: IpcKobjectAllocOptions = IPC_KOBJECT_ALLOC_MAKE_SEND
    | IPC_KOBJECT_ALLOC_NSREQUEST
    | IPC_KOBJECT_ALLOC_NO_GRANT
    | IPC_KOBJECT_ALLOC_IMMOVABLE_SEND
    | IPC_KOBJECT_ALLOC_PINNED;

/// Port types a plain allocation picks from: one without a no-senders callback
/// (`ThreadControl`), one whose callback hands the donated reference back (`Semaphore`), and
/// stable and unstable types whose callback deallocates the port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum PlainType {
    ThreadControl,
    Semaphore,
    NamedEntry,
    UndReply,
    TaskIdToken,
    IokitObject,
    IokitConnect,
    Eventlink,
}

impl PlainType {
    pub const ALL: [PlainType; 8] = [
        PlainType::ThreadControl,
        PlainType::Semaphore,
        PlainType::NamedEntry,
        PlainType::UndReply,
        PlainType::TaskIdToken,
        PlainType::IokitObject,
        PlainType::IokitConnect,
        PlainType::Eventlink,
    ];

    pub fn ikot(self) -> IpcKobjectType {
        match self {
            PlainType::ThreadControl => IKOT_THREAD_CONTROL,
            PlainType::Semaphore => IKOT_SEMAPHORE,
            PlainType::NamedEntry => IKOT_NAMED_ENTRY,
            PlainType::UndReply => IKOT_UND_REPLY,
            PlainType::TaskIdToken => IKOT_TASK_ID_TOKEN,
            PlainType::IokitObject => IKOT_IOKIT_OBJECT,
            PlainType::IokitConnect => IKOT_IOKIT_CONNECT,
            PlainType::Eventlink => IKOT_EVENTLINK,
        }
    }
}

/// One step. `I` is how a step names a port (`p`, `target`, `w`) or an object (`o`, `task`,
/// `thread`): an index into the reference state's ports or objects (`usize`), or, as bytes draw
/// it, a pick among the ones the step is legal on (`u8`, see [`RefState::resolve`]). Every step
/// names at most one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Transition<I = usize> {
    /// No operation: only the checks run (keeps the choice non-empty in any state).
    Audit,
    /// `ipc_kobject_alloc_port` / `ipc_kobject_alloc_labeled_port` (`IPC_LABEL_DEXT`) on a new
    /// generic object; an armed request takes a donated object reference.
    AllocPlain {
        ty: PlainType,
        options: IpcKobjectAllocOptions,
        labeled: bool,
    },
    /// `semaphore_create` / `ipc_voucher_create`.
    CreateLazyObject {
        voucher: bool,
    },
    /// `convert_*_to_port`: `ipc_kobject_make_send_lazy_alloc_port` with a caller reference.
    LazyConvert {
        o: I,
    },
    /// `semaphore_destroy` / the voucher owner's release.
    DestroyLazyObject {
        o: I,
    },
    /// `ipc_kobject_make_send` (`ipc_port_make_send_any` on a timer port, as its user's
    /// `mach_port_insert_right` does).
    MakeSend {
        p: I,
    },
    /// `ipc_kobject_copy_send` of a held send right (`ipc_port_copy_send_any` on a timer port).
    CopySend {
        p: I,
    },
    /// `ipc_port_release_send` of a held send right.
    ReleaseSend {
        p: I,
    },
    /// `ipc_port_make_sonce` (not on timer ports: the kernel does not receive them).
    MakeSendOnce {
        p: I,
    },
    /// A held send-once right dies: `ipc_port_release_sonce`, or `ipc_notify_send_once_and_unlock`.
    ReleaseSendOnce {
        p: I,
        notify: bool,
    },
    /// `ipc_kobject_nsrequest` with make-send count `sync`.
    NsRequest {
        p: I,
        sync: u32,
    },
    /// `ipc_kobject_make_send_nsrequest` (or its `_locked` form).
    MakeSendNsRequest {
        p: I,
        locked: bool,
    },
    /// `ipc_kobject_dealloc_port` with make-send count 0 or the port's own.
    Dealloc {
        p: I,
        with_mscount: bool,
    },
    /// `ipc_kobject_disable` / `ipc_kobject_enable` of an unstable plain port with no request.
    Disable {
        p: I,
    },
    Enable {
        p: I,
    },
    /// `ipc_kobject_alloc_subst_once` donating a held send right.
    SubstOnce {
        target: I,
    },
    /// `ipc_kobject_label_check` of a held send right to a subst-once wrapper.
    Copyout {
        w: I,
    },
    /// `ipc_kobject_label_check` of a held send right to a plain port, into an unlabeled space.
    LabelCheck {
        p: I,
    },
    /// `task_create` with its four ports.
    CreateTask,
    /// `task_terminate`, its threads first.
    TerminateTask {
        task: I,
    },
    /// `thread_create` in a task, with its three ports.
    CreateThread {
        task: I,
    },
    /// `thread_terminate`.
    TerminateThread {
        thread: I,
    },
    /// `task_suspend2`: a hold, and a send-once right to the lazily made resume port.
    Suspend {
        task: I,
    },
    /// `mk_timer_create` in a task's space.
    CreateTimer {
        task: I,
    },
    /// `mach_port_destroy` of a timer's receive right.
    DestroyTimer {
        p: I,
    },
    /// The owner of a plain object lets go: its port is deallocated first unless an armed
    /// request with send rights outstanding will do it.
    DestroyPlainObject {
        o: I,
    },
}

impl<I> Transition<I> {
    /// The same step naming `f(i)` where this one names `i`.
    pub fn map_index<J>(self, f: impl FnOnce(I) -> J) -> Transition<J> {
        use Transition::*;
        match self {
            Audit => Audit,
            AllocPlain {
                ty,
                options,
                labeled,
            } => AllocPlain {
                ty,
                options,
                labeled,
            },
            CreateLazyObject { voucher } => CreateLazyObject { voucher },
            LazyConvert { o } => LazyConvert { o: f(o) },
            DestroyLazyObject { o } => DestroyLazyObject { o: f(o) },
            MakeSend { p } => MakeSend { p: f(p) },
            CopySend { p } => CopySend { p: f(p) },
            ReleaseSend { p } => ReleaseSend { p: f(p) },
            MakeSendOnce { p } => MakeSendOnce { p: f(p) },
            ReleaseSendOnce { p, notify } => ReleaseSendOnce { p: f(p), notify },
            NsRequest { p, sync } => NsRequest { p: f(p), sync },
            MakeSendNsRequest { p, locked } => MakeSendNsRequest { p: f(p), locked },
            Dealloc { p, with_mscount } => Dealloc {
                p: f(p),
                with_mscount,
            },
            Disable { p } => Disable { p: f(p) },
            Enable { p } => Enable { p: f(p) },
            SubstOnce { target } => SubstOnce { target: f(target) },
            Copyout { w } => Copyout { w: f(w) },
            LabelCheck { p } => LabelCheck { p: f(p) },
            CreateTask => CreateTask,
            TerminateTask { task } => TerminateTask { task: f(task) },
            CreateThread { task } => CreateThread { task: f(task) },
            TerminateThread { thread } => TerminateThread { thread: f(thread) },
            Suspend { task } => Suspend { task: f(task) },
            CreateTimer { task } => CreateTimer { task: f(task) },
            DestroyTimer { p } => DestroyTimer { p: f(p) },
            DestroyPlainObject { o } => DestroyPlainObject { o: f(o) },
        }
    }

    /// The port or object the step names, if any.
    pub fn index(self) -> Option<I> {
        let mut index = None;
        self.map_index(|i| index = Some(i));
        index
    }
}

impl RefState {
    /// The legal step a byte-driven caller drew, or `None` when there is none: the drawn index
    /// picks, modulo their number, among the ports or objects on which that step is legal now;
    /// the options of a plain allocation are cut down to [`PLAIN_ALLOC_OPTIONS`].
    pub fn resolve(&self, draw: Transition<u8>) -> Option<Transition> {
        let draw = match draw {
            Transition::AllocPlain {
                ty,
                options,
                labeled,
            } => Transition::AllocPlain {
                ty,
                options: options & PLAIN_ALLOC_OPTIONS,
                labeled,
            },
            other => other,
        };
        let Some(pick) = draw.index() else {
            let t = draw.map_index(usize::from);
            return self.preconditions(&t).then_some(t);
        };
        let legal = self.legal(|i| draw.map_index(|_| i));
        let i = *legal.get(usize::from(pick) % legal.len().max(1))?;
        Some(draw.map_index(|_| i))
    }

    /// The draw that [`RefState::resolve`] turns into the legal step `t`; `None` if `t` is not
    /// legal now.
    pub fn draw(&self, t: Transition) -> Option<Transition<u8>> {
        if !self.preconditions(&t) {
            return None;
        }
        let legal = self.legal(|i| t.map_index(|_| i));
        Some(t.map_index(|i| {
            let pick = legal.iter().position(|&l| l == i).expect("t is legal");
            u8::try_from(pick).expect("fewer than 256 candidates")
        }))
    }

    /// The indices `i` for which `make(i)` is legal now.
    pub(crate) fn legal(&self, make: impl Fn(usize) -> Transition) -> Vec<usize> {
        (0..self.indices_max())
            .filter(|&i| self.preconditions(&make(i)))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Running without proptest

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub steps_run: u32,
    pub steps_skipped: u32,
    /// Comparisons of the kernel with the reference (after each step run, and at teardown).
    pub comparisons: u32,
}

/// The reference model and a kernel side by side: each legal step runs on both and is compared
/// at once; an illegal one is skipped.
pub struct Runner {
    state: RefState,
    sut: Sut,
    stats: Stats,
}

impl Runner {
    pub fn new(bugs: Bugs) -> Runner {
        Runner::with_unguided(bugs, Unguided::default())
    }

    /// A runner whose kernel is booted, compared, audited and disposed of through `unguided`.
    pub fn with_unguided(bugs: Bugs, unguided: Unguided) -> Runner {
        Runner {
            state: RefState::new(),
            sut: Sut::with_unguided(bugs, unguided),
            stats: Stats::default(),
        }
    }

    pub fn state(&self) -> &RefState {
        &self.state
    }

    /// Runs `t` if it is legal now (`Ok(true)`), else skips it (`Ok(false)`). `Err` is the
    /// first finding, or the first disagreement with the reference, naming `t`.
    pub fn step(&mut self, t: &Transition) -> Result<bool, Finding> {
        if !self.state.preconditions(t) {
            self.stats.steps_skipped += 1;
            return Ok(false);
        }
        self.state.apply(t);
        self.stats.steps_run += 1;
        self.stats.comparisons += 1;
        let (sut, state) = (&mut self.sut, &self.state);
        catch(|| {
            sut.step(state, t);
            sut.check_unguided(state)
        })
        .and_then(|checked| checked)
        .map_err(|f| Finding {
            message: format!("{t:?}: {}", f.message),
            ..f
        })?;
        Ok(true)
    }

    /// Resolves `draw` against the current state ([`RefState::resolve`]) and runs the step, or
    /// skips it when none is legal. Returns the step run.
    pub fn step_drawn(&mut self, draw: Transition<u8>) -> Result<Option<Transition>, Finding> {
        let Some(t) = self.state.resolve(draw) else {
            self.stats.steps_skipped += 1;
            return Ok(None);
        };
        let ran = self.step(&t)?;
        assert!(ran, "a resolved step is legal");
        Ok(Some(t))
    }

    /// Releases everything, ends every object and checks that nothing remains; then the kernel
    /// goes to [`Unguided::dispose`].
    pub fn finish(mut self) -> Result<Stats, Finding> {
        self.stats.comparisons += 1;
        let (sut, state) = (&self.sut, &self.state);
        let torn_down = catch(|| sut.teardown(state)).and_then(|torn_down| torn_down);
        self.sut.dispose();
        torn_down.map(|()| self.stats)
    }
}

/// Runs `steps` through the reference model and a kernel built with `bugs`, checking after
/// each; returns the first failure.
///
/// # Panics
/// When a step is not legal where it stands.
pub fn run(bugs: Bugs, steps: &[Transition]) -> Result<(), String> {
    let mut runner = Runner::new(bugs);
    for t in steps {
        let ran = runner.step(t).map_err(|f| f.to_string())?;
        assert!(ran, "{t:?} is not legal here");
    }
    runner.finish().map(drop).map_err(|f| f.to_string())
}

/// A semaphore's lazy port made, re-armed, wrapped, copied out and released.
pub fn lazy_cycle() -> Vec<Transition> {
    vec![
        Transition::CreateLazyObject { voucher: false },
        Transition::LazyConvert { o: 0 },
        Transition::LazyConvert { o: 0 },
        Transition::ReleaseSend { p: 0 },
        Transition::ReleaseSend { p: 0 },
        Transition::LazyConvert { o: 0 },
        Transition::SubstOnce { target: 0 },
        Transition::Copyout { w: 1 },
        Transition::ReleaseSend { p: 0 },
        Transition::DestroyLazyObject { o: 0 },
    ]
}
