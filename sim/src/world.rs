//! The one world: what a run keeps beside the kernel, and how each [`Action`] maps onto the
//! model's API. Every engine executes actions here: the simulator's threads, the fuzz targets,
//! the shrinker and replay.
//!
//! A world is a [`Shared`] part, built by a scenario's setup before any thread starts and only
//! read afterwards (its objects, the message targets, the victim), and one [`Actor`] per thread:
//! the tasks, threads and objects that thread made, the names it remembers, and the rights it
//! holds outside any space (its hand). One thread runs natively; several run under shuttle, each
//! with its own actor, so no bookkeeping is shared between simulated threads and every
//! scheduling point is the model's own.
//!
//! The world plays a well-behaved kernel around the user API: it calls the model only the way
//! XNU's own callers do (it never releases a right it does not hold, never touches a freed
//! object, terminates a task's threads before the task). Everything an action's values control
//! goes through the user API (`mach_msg`, `mach_port_*`), where any value is legal, or through a
//! kernel path on a right the actor holds. So any finding is a bug in the modelled kernel (or in
//! the model), never a harness misuse.
//!
//! # What the world deliberately avoids
//! * Circular messages: a receive right sent (transitively) into its own queue. XNU detects the
//!   cycle and destroys the message (`ipc_port_check_circularity`), and so does the model now
//!   (`ipc_kmsg_send`; a port-destroyed notification can close such a loop); the world still
//!   skips such user sends, as it did before the model checked, so recorded runs stay as they
//!   were.
//! * Handing a pinned self port to any space but its owner's, and wrapping a space-labeled port
//!   in a subst-once wrapper: XNU never does either.
//! * Copying a subst-once wrapper out twice (a thread can hold several send rights to one): XNU
//!   makes one send right per wrapper and panics when a second is copied out.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};

use kobject::ikot::*;
use kobject::ipc_kmsg::KDescriptor;
use kobject::ipc_kobject::LabelCheck;
use kobject::ipc_space::IE_BITS_RECEIVE;
use kobject::kernel::IPC_SPACE_KERNEL;
use kobject::kobjects::*;
use kobject::mach::*;
use kobject::mach_msg::{UserDescriptor, UserMsg};
use kobject::{
    Held, IpcKobject, IpcPort, Kernel, ObjId, ObjKind, PortId, SpaceId, IP_NULL, IP_VALID,
};

use crate::lang::*;
use crate::typed::{self, ArgFill};

/// Tasks one actor may create (alive or terminated).
pub const TASKS_MAX: usize = 4;
/// Threads one actor may create.
pub const THREADS_MAX: usize = 4;
/// Semaphores, vouchers and generic objects one actor may create.
pub const OBJECTS_MAX: usize = 8;
/// Names a task remembers for [`Name::Recent`] and [`Name::Nth`]; later ones are not
/// remembered (they stay reachable through [`Name::Index`]).
pub const NAMES_MAX: usize = 64;
/// Ports visited when checking a send for circularity.
pub const CIRCULARITY_PORTS_MAX: usize = 64;
/// Messages a thread receives on each reply port at its end before it destroys its names.
const DRAIN_MAX: usize = 4;

/// What a run's actions did (for replay output and seed checks; findings travel as `Err`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub actions_run: u32,
    pub actions_skipped: u32,
    pub sends: u32,
    pub sends_ok: u32,
    pub receives_ok: u32,
    /// `(msgh_id, RetCode)` of the last message received.
    pub last_received: Option<(i32, i32)>,
    /// Routine ids whose stub passed its checks and ran the routine (recorded by the kernel in
    /// traced native runs only).
    pub routines_reached: BTreeSet<i32>,
}

/// The port-right disposition (`MOVE_RECEIVE` ..= `MAKE_SEND_ONCE`) a joint-copyin deviation's
/// byte picks.
fn joint_disposition(pick: u8) -> MachMsgTypeName {
    MACH_MSG_TYPE_MOVE_RECEIVE + u32::from(pick % 6)
}

/// A typed call's message while a deviation may still change it.
struct CallMsg {
    remote: MachMsgTypeName,
    descriptors: Vec<UserDescriptor>,
    complex: bool,
    /// The reply port and its disposition.
    local: (MachPortName, MachMsgTypeName),
    /// The voucher and its disposition (none: `MACH_PORT_NULL`, 0).
    voucher: (MachPortName, MachMsgTypeName),
    id: i32,
}

/// `mach_port_request_notification`'s message id (mach_port.defs: subsystem 3200, routine 13).
const MACH_PORT_REQUEST_NOTIFICATION_ID: i32 = 3213;

/// What one action did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The action did not apply (nothing to act on, a bound reached, or a world rule).
    Skipped(&'static str),
    /// A `kern_return_t` / `mach_msg_return_t`.
    Kr(i32),
    /// A name the action put into the task's space (`MACH_PORT_NULL` when refused).
    Named(u32),
    /// A value a call returned with `KERN_SUCCESS` (user references, a port type).
    Value(u32),
    Received {
        id: i32,
        ret_code: i32,
        names: usize,
    },
    /// A typed call: the routine, the send's status and, when received at once, the reply.
    Called {
        id: i32,
        kr: i32,
        reply: Option<(i32, i32)>,
    },
    Done,
}

/// A kobject port threads may make send rights on; each thread anchors one right on it, so the
/// port outlives every use even after its owner deallocates it.
#[derive(Clone, Copy, Debug)]
pub struct KPort {
    pub port: PortId,
    pub kobject: IpcKobject,
    pub ty: IpcKobjectType,
}

/// A port messages are sent to, named in every setup-given task's space.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    pub port: PortId,
    /// Its kobject type; `IKOT_NONE` for an ordinary port (a thread's reply port).
    pub ty: IpcKobjectType,
}

/// What [`Action::Terminate`] ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Victim {
    None,
    Thread,
    Task,
    /// The setup's IOKit user client: `terminate` is its `clientDied`, which releases the wake
    /// port and the saved reply right it stores (its port lives until its last send right goes).
    Client,
    /// An ordinary port whose receive right the setup's task holds under this name:
    /// `terminate` destroys the receive right (`mach_port_mod_refs(RECEIVE, -1)`), so the port
    /// dies under the threads' send rights.
    Port(MachPortName),
}

/// The objects a setup shares between threads. Built before the threads start; afterwards only
/// the `terminated` flag changes.
pub struct Shared {
    /// Objects behind a lazily allocated port (semaphores, vouchers).
    pub lazies: Vec<ObjId>,
    /// When set, lazy converts use the labeled variant with this label.
    pub label: Option<IpcLabel>,
    /// The host whose stored-right slot `slot-swap` replaces.
    pub host: Option<ObjId>,
    /// A task and its space (label-copyout target, `terminate` victim).
    pub task: Option<(ObjId, SpaceId)>,
    pub thread: Option<ObjId>,
    pub kports: Vec<KPort>,
    pub victim: Victim,
    /// Ports messages go to ([`Name::Target`]).
    pub targets: Vec<Target>,
    /// An IOKit user client the synthetic `MIG_NO_REPLY` routine saves reply rights in. The
    /// setup holds a reference on it and a send right to its port until teardown.
    pub connect: Option<(ObjId, PortId)>,
    /// Vouchers setup-given tasks hold send rights to ([`Name::Voucher`]).
    pub vouchers: Vec<ObjId>,
    /// Permanent objects (host, main device) whose stored rights teardown releases.
    pub permanent: Vec<ObjId>,
    /// Set by the first `terminate`, so a second one is a no-op rather than a double terminate.
    terminated: AtomicBool,
    /// Subst-once wrappers already copied out (by any thread): XNU hands out one send right per
    /// wrapper and panics if a second is copied out, so the world copies each out once. A std
    /// mutex: no scheduling point.
    subst_claimed: std::sync::Mutex<BTreeSet<PortId>>,
}

impl Shared {
    pub fn new() -> Shared {
        Shared {
            lazies: Vec::new(),
            label: None,
            host: None,
            task: None,
            thread: None,
            kports: Vec::new(),
            victim: Victim::None,
            targets: Vec::new(),
            connect: None,
            vouchers: Vec::new(),
            permanent: Vec::new(),
            terminated: AtomicBool::new(false),
            subst_claimed: std::sync::Mutex::new(BTreeSet::new()),
        }
    }

    /// What the setup itself holds outside the model until teardown (for the setup audit).
    pub fn held(&self) -> Vec<Held> {
        self.connect
            .iter()
            .flat_map(|&(o, p)| [Held::Send(p), Held::ObjectRef(o)])
            .collect()
    }

    /// The owner's teardown of the victim, at most once.
    fn terminate(&self, k: &Kernel) {
        if self.terminated.swap(true, Ordering::Relaxed) {
            return;
        }
        match (self.victim, self.thread, self.task) {
            (Victim::Thread, Some(thread), _) => k.thread_terminate(thread),
            (Victim::Task, _, Some((task, _))) => k.task_terminate(task),
            (Victim::Client, _, _) => {
                if let Some((client, _)) = self.connect {
                    k.mig_object_slots_drain(client);
                }
            }
            (Victim::Port(name), _, Some((_, space))) => {
                let kr = k.mach_port_mod_refs(space, name, MACH_PORT_RIGHT_RECEIVE, -1);
                assert_eq!(
                    kr, KERN_SUCCESS,
                    "the setup's receive right is destroyed once"
                );
            }
            _ => {}
        }
    }

    /// The main thread's teardown once every thread has joined and every actor has ended: the
    /// stored right goes, the owners are destroyed.
    pub fn teardown(&self, k: &Kernel) {
        if let Some(host) = self.host {
            let old = k.object_slot_swap(host, IP_NULL);
            k.ipc_port_release_send(old);
        }
        for &o in self
            .permanent
            .iter()
            .chain(self.connect.iter().map(|c| &c.0))
        {
            k.mig_object_slots_drain(o);
        }
        if let Some((connect, port)) = self.connect {
            // The last send right: its no-senders gives the donated reference back.
            k.ipc_port_release_send(IpcPort::Port(port));
            k.object_release(connect);
        }
        for &v in &self.vouchers {
            k.object_destroy(v);
        }
        for &o in &self.lazies {
            k.object_destroy(o);
        }
        // Threads before their task, as in XNU; the victim may already be gone (once only).
        if let Some(thread) = self.thread {
            match self.victim {
                Victim::Thread => self.terminate(k),
                _ => k.thread_terminate(thread),
            }
        }
        if let Some((task, _)) = self.task {
            match self.victim {
                Victim::Task => self.terminate(k),
                _ => k.task_terminate(task),
            }
        }
    }
}

impl Shared {
    /// Claims the one copyout of subst-once `wrapper`: false if a thread claimed it before.
    fn claim_subst_once(&self, wrapper: PortId) -> bool {
        let mut claimed = self
            .subst_claimed
            .lock()
            .expect("never poisoned: findings unwind");
        claimed.insert(wrapper)
    }
}

impl Default for Shared {
    fn default() -> Shared {
        Shared::new()
    }
}

/// One task an actor acts in.
#[derive(Clone, Debug)]
pub struct TaskSlot {
    pub task: ObjId,
    pub space: SpaceId,
    pub alive: bool,
    /// Names actions gave this task, oldest first, at most `NAMES_MAX`.
    pub names: Vec<MachPortName>,
    /// The task's reply port ([`Name::Reply`]), made on first use.
    pub reply: Option<MachPortName>,
    /// The task's scratch port ([`Name::Scratch`]), made on first use.
    pub scratch: Option<MachPortName>,
    /// The task's names for the setup's targets and vouchers.
    pub targets: Vec<MachPortName>,
    pub vouchers: Vec<MachPortName>,
    /// Made by the setup (then the thread empties its space at its end, as a worker does).
    pub adopted: bool,
}

#[derive(Clone, Debug)]
struct ThreadSlot {
    thread: ObjId,
    task: usize,
    alive: bool,
}

#[derive(Clone, Copy, Debug)]
enum ObjectKind {
    Semaphore,
    LabeledSemaphore(IpcLabel),
    Voucher,
    Generic { port: PortId, ty: IpcKobjectType },
}

#[derive(Clone, Debug)]
struct ObjectSlot {
    obj: ObjId,
    kind: ObjectKind,
    /// The creator's reference is still ours (semaphores, vouchers; a generic object's goes to
    /// its armed port at once).
    owner_alive: bool,
}

/// A right the kernel made for the actor, or a name it already put in the space.
enum Made {
    Right {
        port: IpcPort,
        msgt: MachMsgTypeName,
        space_labeled: bool,
    },
    InSpace(MachPortName),
}

const PERMANENT_KINDS: usize = 7;

/// One thread's side of the world.
#[derive(Clone, Debug, Default)]
pub struct Actor {
    pub tasks: Vec<TaskSlot>,
    threads: Vec<ThreadSlot>,
    objects: Vec<ObjectSlot>,
    host: Option<(ObjId, PortId, PortId)>,
    permanent: [Option<(ObjId, PortId)>; PERMANENT_KINDS],
    /// Rights held outside any space (the kernel paths' operands).
    pub held: Vec<Held>,
    /// Rights held until the end only, so the ports they name outlive every use.
    pub anchors: Vec<Held>,
    /// A `stash` copied a right out: the spaces' label contract is checked at the end.
    stashed: bool,
    pub stats: Stats,
}

impl Actor {
    pub fn new() -> Actor {
        Actor::default()
    }

    /// Everything held outside the model, for the auditor.
    pub fn hand(&self) -> impl Iterator<Item = Held> + '_ {
        self.held.iter().chain(self.anchors.iter()).copied()
    }

    /// Gives the actor a task the setup made, with names for the setup's targets and vouchers
    /// and a reply and a scratch port.
    pub fn adopt_task(&mut self, k: &Kernel, shared: &Shared, task: ObjId, space: SpaceId) {
        let reply = k.mach_port_allocate(space).expect("a reply port");
        self.adopt_task_with_reply(k, shared, task, space, reply);
    }

    /// As [`Actor::adopt_task`], with a reply port the setup already made (a target itself).
    pub fn adopt_task_with_reply(
        &mut self,
        k: &Kernel,
        shared: &Shared,
        task: ObjId,
        space: SpaceId,
        reply: MachPortName,
    ) {
        let scratch = k.mach_port_allocate(space).expect("a scratch port");
        let targets: Vec<MachPortName> = shared
            .targets
            .iter()
            .map(|target| {
                let right = k.ipc_port_make_send_any(IpcPort::Port(target.port));
                k.ipc_object_copyout(space, right, MACH_MSG_TYPE_PORT_SEND, 0)
            })
            .collect();
        let vouchers: Vec<MachPortName> = shared
            .vouchers
            .iter()
            .map(|&v| {
                k.object_reference(v);
                let right = k.convert_lazy_object_to_port(v);
                k.ipc_object_copyout(space, right, MACH_MSG_TYPE_PORT_SEND, 0)
            })
            .collect();
        self.tasks.push(TaskSlot {
            task,
            space,
            alive: true,
            names: [reply, scratch]
                .into_iter()
                .chain(targets.iter().copied())
                .chain(vouchers.iter().copied())
                .collect(),
            reply: Some(reply),
            scratch: Some(scratch),
            targets,
            vouchers,
            adopted: true,
        });
    }

    /// Calls `feature` once for every name of the actor's live tasks with a number for the
    /// state that name is in after `action` (mixed in through [`state_salt`], then hashed by a
    /// multiplication, whose top bits depend on all of it): its rights, whether it has a
    /// request, its user references, and its port's liveness, send and send-once counts and
    /// no-senders request. Counts go in buckets (0, 1, 2, 3, up to 7, up
    /// to 15, up to 255, up to the limit, the limit), as a fuzzer buckets hit counts, so reaching
    /// a limit such as a pegged `MACH_PORT_UREFS_MAX` is new coverage even where no branch tests
    /// for it, and so is each kind of action run while a name is there.
    ///
    /// Takes the space and port locks: for a native run only (shuttle's would add scheduling
    /// points).
    pub fn state_features(&self, k: &Kernel, action: &Action, feature: &mut impl FnMut(u32)) {
        use kobject::ipc_port::NsRequest;
        use kobject::ipc_space::{IE_BITS_TYPE_MASK, IE_REQ_NONE, MACH_PORT_UREFS_MAX};
        let bucket = |n: u32, max: u32| -> u32 {
            match n {
                0..=3 => n,
                4..=7 => 4,
                8..=15 => 5,
                16..=255 => 6,
                _ if n < max => 7,
                _ if n == max => 8,
                _ => 9,
            }
        };
        let salt = state_salt(action);
        for task in self.tasks.iter().filter(|t| t.alive) {
            let sg = k.is_write_lock(task.space);
            for entry in sg.is_table.values() {
                let mut state = (entry.ie_bits & IE_BITS_TYPE_MASK) >> 16;
                state = state << 1 | u32::from(entry.ie_request != IE_REQ_NONE);
                state = state << 4 | bucket(entry.urefs, MACH_PORT_UREFS_MAX);
                if let Some(p) = entry.ie_object {
                    let g = k.ip_mq_lock(p);
                    state = state << 1 | u32::from(g.ip_active());
                    state = state << 4 | bucket(g.ip_srights, u32::MAX);
                    state = state << 2 | bucket(g.ip_sorights, u32::MAX).min(3);
                    state = state << 1 | u32::from(!matches!(g.ip_nsrequest, NsRequest::None));
                }
                feature((salt ^ state).wrapping_mul(0x9e37_79b1));
            }
        }
    }

    /// Runs one action.
    pub fn step(&mut self, k: &Kernel, shared: &Shared, action: &Action) -> Outcome {
        let outcome = self.dispatch(k, shared, action);
        if matches!(outcome, Outcome::Skipped(_)) {
            self.stats.actions_skipped += 1;
        } else {
            self.stats.actions_run += 1;
        }
        outcome
    }

    fn dispatch(&mut self, k: &Kernel, shared: &Shared, action: &Action) -> Outcome {
        match *action {
            Action::CreateTask(label) => self.create_task(k, label.value()),
            Action::TerminateTask { task } => self.terminate_task(k, task),
            Action::CreateThread { task } => self.create_thread(k, task),
            Action::TerminateThread { thread } => self.terminate_thread(k, thread),
            Action::GetPort { task, source, wrap } => self.get_port(k, task, source, wrap),
            Action::AllocatePort { task } => self.with_task(k, task, |w, t| {
                match k.mach_port_allocate(w.tasks[t].space) {
                    Ok(name) => w.remember(t, name),
                    Err(kr) => Outcome::Kr(kr),
                }
            }),
            Action::InsertSend { task, name } => self.with_task(k, task, |w, t| {
                let n = w.resolve(k, t, name);
                Outcome::Kr(k.mach_port_insert_send(w.tasks[t].space, n))
            }),
            Action::Send(ref msg) => self.send(k, msg),
            Action::Receive { task, name } => self.receive(k, task, name),
            Action::Deallocate { task, name } => self.with_task(k, task, |w, t| {
                let n = w.resolve(k, t, name);
                Outcome::Kr(k.mach_port_deallocate(w.tasks[t].space, n))
            }),
            Action::ModRefs {
                task,
                name,
                right,
                delta,
            } => self.with_task(k, task, |w, t| {
                let n = w.resolve_holding(k, t, name, u32::from(right));
                let space = w.tasks[t].space;
                Outcome::Kr(k.mach_port_mod_refs(space, n, u32::from(right), delta))
            }),
            Action::DestroyName { task, name } => self.with_task(k, task, |w, t| {
                let n = w.resolve(k, t, name);
                Outcome::Kr(k.mach_port_destroy(w.tasks[t].space, n))
            }),
            Action::DestroyObject { object } => self.destroy_object(k, object),
            Action::Call(ref call) => self.call(k, call),
            Action::AllocateRight { .. }
            | Action::Construct { .. }
            | Action::Destruct { .. }
            | Action::InsertRight { .. }
            | Action::ExtractRight { .. }
            | Action::GetRefs { .. }
            | Action::PortType { .. }
            | Action::InsertMember { .. }
            | Action::ExtractMember { .. }
            | Action::MoveMember { .. } => self.port_call(k, action),
            Action::RequestNotification {
                task,
                name,
                id,
                sync,
                notify,
            } => self.request_notification(k, task, name, (id, sync), notify),
            // The harness runs what a repeat repeats ([`crate::lang::repeated`]); one that
            // reaches here had nothing before it.
            Action::Repeat { .. } => Outcome::Skipped("nothing to repeat"),
            _ => self.kernel_path(k, shared, action),
        }
    }

    // ---- tasks and threads ----

    fn create_task(&mut self, k: &Kernel, label: IpcLabel) -> Outcome {
        if self.tasks.len() >= TASKS_MAX {
            return Outcome::Skipped("tasks_max reached");
        }
        let Some((task, space)) = k.task_create(label) else {
            return Outcome::Skipped("task_create failed");
        };
        self.tasks.push(TaskSlot {
            task,
            space,
            alive: true,
            names: Vec::new(),
            reply: None,
            scratch: None,
            targets: Vec::new(),
            vouchers: Vec::new(),
            adopted: false,
        });
        Outcome::Done
    }

    /// The live task `pick` selects; with none alive, a first unlabeled task is made.
    fn task_index(&mut self, k: &Kernel, pick: u8) -> Option<usize> {
        if !self.tasks.iter().any(|t| t.alive) {
            self.create_task(k, IPC_LABEL_NONE);
        }
        pick_alive(self.tasks.iter().map(|t| t.alive), pick)
    }

    fn with_task(
        &mut self,
        k: &Kernel,
        pick: u8,
        f: impl FnOnce(&mut Self, usize) -> Outcome,
    ) -> Outcome {
        match self.task_index(k, pick) {
            Some(t) => f(self, t),
            None => Outcome::Skipped("no live task"),
        }
    }

    fn terminate_task(&mut self, k: &Kernel, pick: u8) -> Outcome {
        let Some(t) = pick_alive(self.tasks.iter().map(|t| t.alive), pick) else {
            return Outcome::Skipped("no live task");
        };
        self.terminate_task_at(k, t);
        Outcome::Done
    }

    /// XNU terminates a task's threads before the task itself.
    fn terminate_task_at(&mut self, k: &Kernel, t: usize) {
        assert!(self.tasks[t].alive);
        for th in 0..self.threads.len() {
            if self.threads[th].alive && self.threads[th].task == t {
                self.threads[th].alive = false;
                k.thread_terminate(self.threads[th].thread);
            }
        }
        let slot = &mut self.tasks[t];
        slot.alive = false;
        slot.names.clear();
        slot.reply = None;
        slot.scratch = None;
        slot.targets.clear();
        slot.vouchers.clear();
        k.task_terminate(slot.task);
    }

    fn create_thread(&mut self, k: &Kernel, pick: u8) -> Outcome {
        if self.threads.len() >= THREADS_MAX {
            return Outcome::Skipped("threads_max reached");
        }
        let Some(t) = self.task_index(k, pick) else {
            return Outcome::Skipped("no live task");
        };
        let thread = k.thread_create(self.tasks[t].task);
        self.threads.push(ThreadSlot {
            thread,
            task: t,
            alive: true,
        });
        Outcome::Done
    }

    fn terminate_thread(&mut self, k: &Kernel, pick: u8) -> Outcome {
        let Some(th) = pick_alive(self.threads.iter().map(|t| t.alive), pick) else {
            return Outcome::Skipped("no live thread");
        };
        self.threads[th].alive = false;
        k.thread_terminate(self.threads[th].thread);
        Outcome::Done
    }

    // ---- names ----

    fn remember(&mut self, t: usize, name: MachPortName) -> Outcome {
        let names = &mut self.tasks[t].names;
        if is_name(name) && names.len() < NAMES_MAX {
            names.push(name);
        }
        Outcome::Named(name)
    }

    /// The task's reply (or scratch) port, allocated and remembered on first use.
    fn own_port(&mut self, k: &Kernel, t: usize, scratch: bool) -> MachPortName {
        let slot = &self.tasks[t];
        if let Some(name) = if scratch { slot.scratch } else { slot.reply } {
            return name;
        }
        let Ok(name) = k.mach_port_allocate(slot.space) else {
            return MACH_PORT_NULL;
        };
        let slot = &mut self.tasks[t];
        *(if scratch {
            &mut slot.scratch
        } else {
            &mut slot.reply
        }) = Some(name);
        self.remember(t, name);
        name
    }

    fn resolve(&mut self, k: &Kernel, t: usize, name: Name) -> MachPortName {
        let nth = |items: &[MachPortName], i: u8| match items.len() {
            0 => MACH_PORT_NULL,
            n => items[usize::from(i) % n],
        };
        let slot = &self.tasks[t];
        match name {
            Name::Recent(i) => match slot.names.len() {
                0 => MACH_PORT_NULL,
                n => slot.names[n - 1 - usize::from(i) % n],
            },
            Name::Nth(i) => nth(&slot.names, i),
            Name::Index(i) => {
                let sg = k.is_write_lock(slot.space);
                match sg.is_table.len() {
                    0 => MACH_PORT_NULL,
                    n => *sg
                        .is_table
                        .keys()
                        .nth(usize::from(i) % n)
                        .expect("index below the table size"),
                }
            }
            Name::Null => MACH_PORT_NULL,
            Name::Dead => MACH_PORT_DEAD,
            Name::Raw(n) => n,
            Name::Reply => self.own_port(k, t, false),
            Name::Scratch => self.own_port(k, t, true),
            Name::Target(i) => nth(&slot.targets, i),
            Name::Voucher(i) => nth(&slot.vouchers, i),
        }
    }

    /// As [`Actor::resolve`] for a call about one right (`mach_port_mod_refs`,
    /// `mach_port_get_refs`): [`Name::Recent`], [`Name::Nth`] and [`Name::Index`] pick among
    /// the names whose entry holds `right`, as a syzkaller resource argument picks among the
    /// resources of its kind. When `right` is no `MACH_PORT_RIGHT_*` or no name holds it, they
    /// pick among all names, so the calls' error paths stay as reachable.
    fn resolve_holding(&mut self, k: &Kernel, t: usize, name: Name, right: u32) -> MachPortName {
        use kobject::ipc_space::{
            IE_BITS_DEAD_NAME, IE_BITS_PORT_SET, IE_BITS_SEND, IE_BITS_SEND_ONCE,
        };
        let bit = match right {
            MACH_PORT_RIGHT_SEND => IE_BITS_SEND,
            MACH_PORT_RIGHT_RECEIVE => IE_BITS_RECEIVE,
            MACH_PORT_RIGHT_SEND_ONCE => IE_BITS_SEND_ONCE,
            MACH_PORT_RIGHT_PORT_SET => IE_BITS_PORT_SET,
            MACH_PORT_RIGHT_DEAD_NAME => IE_BITS_DEAD_NAME,
            _ => return self.resolve(k, t, name),
        };
        let slot = &self.tasks[t];
        let sg = k.is_write_lock(slot.space);
        let holds = |n: &MachPortName| sg.is_table.get(n).is_some_and(|e| e.ie_bits & bit != 0);
        let pick = |items: &mut dyn Iterator<Item = MachPortName>, count: usize, i: u8| {
            items.nth(usize::from(i) % count)
        };
        let count = |names: &[MachPortName]| names.iter().filter(|n| holds(n)).count();
        let picked = match name {
            Name::Recent(i) => match count(&slot.names) {
                0 => None,
                c => pick(&mut slot.names.iter().rev().copied().filter(holds), c, i),
            },
            Name::Nth(i) => match count(&slot.names) {
                0 => None,
                c => pick(&mut slot.names.iter().copied().filter(holds), c, i),
            },
            Name::Index(i) => {
                let held = || sg.is_table.iter().filter(|(_, e)| e.ie_bits & bit != 0);
                match held().count() {
                    0 => None,
                    c => pick(&mut held().map(|(&n, _)| n), c, i),
                }
            }
            _ => None,
        };
        drop(sg);
        picked.unwrap_or_else(|| self.resolve(k, t, name))
    }

    /// The kobject type of the port `name` names in task `t`'s space, if it names a port.
    fn kind_of(&self, k: &Kernel, t: usize, name: MachPortName) -> Option<IpcKobjectType> {
        let port = k.ipc_entry_lookup(self.tasks[t].space, name)?.ie_object?;
        Some(k.ip_kotype(port))
    }

    // ---- kernel-made rights ----

    fn get_port(&mut self, k: &Kernel, pick: u8, source: Source, wrap: Wrap) -> Outcome {
        let Some(t) = self.task_index(k, pick) else {
            return Outcome::Skipped("no live task");
        };
        match self.obtain(k, t, source, wrap) {
            Ok((t, name)) => self.remember(t, name),
            Err(why) => Outcome::Skipped(why),
        }
    }

    /// Makes the right `source` names and copies it out into task `t`'s space (or, for a
    /// pinned self port, its owner's): the task it went to and its name there.
    fn obtain(
        &mut self,
        k: &Kernel,
        mut t: usize,
        source: Source,
        wrap: Wrap,
    ) -> Result<(usize, MachPortName), &'static str> {
        let (port, msgt) = match self.kernel_right(k, &mut t, source)? {
            Made::InSpace(name) => return Ok((t, name)),
            Made::Right {
                port,
                msgt,
                space_labeled,
            } => wrap_right(k, port, msgt, space_labeled, wrap),
        };
        let name = k.ipc_object_copyout(
            self.tasks[t].space,
            port,
            msgt,
            IPC_OBJECT_COPYOUT_FLAGS_NONE,
        );
        Ok((t, name))
    }

    /// Makes the right `source` names. May redirect `t`: a pinned self port goes only to its
    /// owner's space.
    fn kernel_right(
        &mut self,
        k: &Kernel,
        t: &mut usize,
        source: Source,
    ) -> Result<Made, &'static str> {
        match source {
            Source::TaskPort { task, which } => {
                let owner = self.task_index(k, task).ok_or("no live task")?;
                if which == TaskPortKind::SelfPinned {
                    *t = owner;
                }
                let (index, ty) = match which {
                    TaskPortKind::Control => (TASK_PORT_CONTROL, IKOT_TASK_CONTROL),
                    TaskPortKind::SelfPinned => (TASK_PORT_SELF_PINNED, IKOT_TASK_CONTROL),
                    TaskPortKind::Read => (TASK_PORT_READ, IKOT_TASK_READ),
                    TaskPortKind::Name => (TASK_PORT_NAME, IKOT_TASK_NAME),
                };
                object_send(k, self.tasks[owner].task, index, ty)
            }
            Source::ThreadPort { thread, which } => {
                let th = pick_alive(self.threads.iter().map(|t| t.alive), thread)
                    .ok_or("no live thread")?;
                if which == ThreadPortKind::SelfPinned {
                    *t = self.threads[th].task;
                }
                let (index, ty) = match which {
                    ThreadPortKind::Control => (THREAD_PORT_CONTROL, IKOT_THREAD_CONTROL),
                    ThreadPortKind::SelfPinned => (THREAD_PORT_SELF_PINNED, IKOT_THREAD_CONTROL),
                    ThreadPortKind::Read => (THREAD_PORT_READ, IKOT_THREAD_READ),
                };
                object_send(k, self.threads[th].thread, index, ty)
            }
            Source::Host | Source::HostPriv => {
                let (host, host_port, priv_port) =
                    *self.host.get_or_insert_with(|| k.host_create());
                let (p, ty) = match source {
                    Source::Host => (host_port, IKOT_HOST),
                    _ => (priv_port, IKOT_HOST_PRIV),
                };
                Ok(send_made(k.ipc_kobject_make_send(
                    p.into(),
                    IpcKobject::Object(host),
                    ty,
                )))
            }
            Source::Permanent(kind) => Ok(self.permanent_send(k, kind)),
            Source::NewSemaphore => self.new_lazy(k, ObjectKind::Semaphore),
            Source::NewVoucher => self.new_lazy(k, ObjectKind::Voucher),
            Source::NewLabeledSemaphore(label) => {
                self.new_lazy(k, ObjectKind::LabeledSemaphore(label.value()))
            }
            Source::Again { object } => self.again(k, object),
            Source::NewGeneric(kind) => self.new_generic(k, kind),
            Source::Timer => {
                let (name, _) = k
                    .mk_timer_create(self.tasks[*t].space)
                    .ok_or("mk_timer_create failed")?;
                Ok(Made::InSpace(name))
            }
            Source::SuspendToken { task } => {
                let owner = self.task_index(k, task).ok_or("no live task")?;
                let sonce = k.task_suspend2(self.tasks[owner].task);
                if !IP_VALID(sonce) {
                    return Err("task_suspend2 gave no right");
                }
                Ok(Made::Right {
                    port: sonce,
                    msgt: MACH_MSG_TYPE_PORT_SEND_ONCE,
                    space_labeled: false,
                })
            }
        }
    }

    /// A send right on a permanent object's port; the object is made on first use
    /// (`mig_object_create`, which hands its first send right to the caller).
    fn permanent_send(&mut self, k: &Kernel, kind: PermanentKind) -> Made {
        let ty = match kind {
            PermanentKind::Processor => IKOT_PROCESSOR,
            PermanentKind::Pset => IKOT_PSET,
            PermanentKind::PsetName => IKOT_PSET_NAME,
            PermanentKind::Clock => IKOT_CLOCK,
            PermanentKind::ArcadeRegister => IKOT_ARCADE_REG,
            PermanentKind::MainDevice => IKOT_MAIN_DEVICE,
            PermanentKind::UxHandler => IKOT_UX_HANDLER,
        };
        if let Some((obj, port)) = self.permanent[kind as usize] {
            return send_made(k.ipc_kobject_make_send(port.into(), IpcKobject::Object(obj), ty));
        }
        let (obj, port) = k.mig_object_create(ty);
        self.permanent[kind as usize] = Some((obj, port));
        send_made(IpcPort::Port(port))
    }

    /// A new semaphore or voucher, and a send right from its lazy port (`convert_*_to_port`).
    fn new_lazy(&mut self, k: &Kernel, kind: ObjectKind) -> Result<Made, &'static str> {
        if self.objects.len() >= OBJECTS_MAX {
            return Err("objects_max reached");
        }
        let obj = match kind {
            ObjectKind::Voucher => k.ipc_voucher_create(),
            _ => k.semaphore_create(),
        };
        self.objects.push(ObjectSlot {
            obj,
            kind,
            owner_alive: true,
        });
        lazy_send(k, obj, kind)
    }

    fn again(&mut self, k: &Kernel, pick: u8) -> Result<Made, &'static str> {
        let usable = self.objects.iter().map(|o| match o.kind {
            ObjectKind::Generic { port, .. } => k.port_is_live(port) && k.ip_active(port),
            _ => o.owner_alive,
        });
        let o = pick_alive(usable, pick).ok_or("no usable object")?;
        let ObjectSlot { obj, kind, .. } = self.objects[o];
        let ObjectKind::Generic { port, ty } = kind else {
            return lazy_send(k, obj, kind);
        };
        // An active generic port is armed and its donated reference keeps the object: take a
        // reference of our own, donated if the call arms the notification, else given back.
        k.object_reference(obj);
        let kr = k.ipc_kobject_make_send_nsrequest(port.into(), IpcKobject::Object(obj), ty);
        if kr != KERN_SUCCESS {
            k.object_release(obj);
        }
        assert_ne!(kr, KERN_INVALID_RIGHT, "the port was checked active");
        Ok(send_made(IpcPort::Port(port)))
    }

    /// A generic object (`mig_object_create`): its port is made with a send right for us and
    /// an armed notification holding the creator's reference (the IOKit pattern), so the object
    /// lives exactly as long as send rights to it do.
    fn new_generic(&mut self, k: &Kernel, kind: GenericKind) -> Result<Made, &'static str> {
        if self.objects.len() >= OBJECTS_MAX {
            return Err("objects_max reached");
        }
        let ty = match kind {
            GenericKind::IokitObject => IKOT_IOKIT_OBJECT,
            GenericKind::IokitConnect => IKOT_IOKIT_CONNECT,
            GenericKind::Eventlink => IKOT_EVENTLINK,
            GenericKind::UndReply => IKOT_UND_REPLY,
            GenericKind::NamedEntry => IKOT_NAMED_ENTRY,
            GenericKind::TaskIdToken => IKOT_TASK_ID_TOKEN,
        };
        let (obj, port) = k.mig_object_create(ty);
        self.objects.push(ObjectSlot {
            obj,
            kind: ObjectKind::Generic { port, ty },
            owner_alive: false,
        });
        Ok(send_made(IpcPort::Port(port)))
    }

    fn destroy_object(&mut self, k: &Kernel, pick: u8) -> Outcome {
        let Some(o) = pick_alive(self.objects.iter().map(|o| o.owner_alive), pick) else {
            return Outcome::Skipped("no owned object");
        };
        self.objects[o].owner_alive = false;
        k.object_destroy(self.objects[o].obj);
        Outcome::Done
    }

    // ---- messages ----

    fn send(&mut self, k: &Kernel, m: &SendMsg) -> Outcome {
        let Some(t) = self.task_index(k, m.task) else {
            return Outcome::Skipped("no live task");
        };
        let msg = self.user_msg(k, t, m);
        self.send_msg(k, t, &msg)
    }

    fn send_msg(&mut self, k: &Kernel, t: usize, msg: &UserMsg) -> Outcome {
        let space = self.tasks[t].space;
        if is_circular(k, space, msg) {
            return Outcome::Skipped("circular receive right (XNU destroys such a message)");
        }
        self.stats.sends += 1;
        let kr = k.mach_msg_send(space, msg);
        if kr == MACH_MSG_SUCCESS {
            self.stats.sends_ok += 1;
        }
        Outcome::Kr(kr)
    }

    fn user_msg(&mut self, k: &Kernel, t: usize, m: &SendMsg) -> UserMsg {
        let mut descriptors = Vec::with_capacity(m.descriptors.len());
        for d in &m.descriptors {
            descriptors.push(match d {
                Desc::Port { name, disposition } => UserDescriptor::Port {
                    name: self.resolve(k, t, *name),
                    disposition: u32::from(*disposition),
                },
                Desc::OolPorts { names, disposition } => UserDescriptor::OolPorts {
                    names: names.iter().map(|&n| self.resolve(k, t, n)).collect(),
                    disposition: u32::from(*disposition),
                },
                Desc::Ool { size } => UserDescriptor::Ool { size: *size },
            });
        }
        let complex = match m.complex {
            Complex::Auto => !descriptors.is_empty(),
            Complex::Set => true,
            Complex::Clear => false,
        };
        UserMsg {
            msgh_bits: mach_msgh_bits_set(
                u32::from(m.remote),
                u32::from(m.local),
                u32::from(m.voucher_disposition),
                if complex { MACH_MSGH_BITS_COMPLEX } else { 0 },
            ),
            msgh_remote_port: self.resolve(k, t, m.dest),
            msgh_local_port: self.resolve(k, t, m.reply),
            msgh_voucher_port: self.resolve(k, t, m.voucher),
            msgh_id: msgh_id(m.id),
            descriptors,
            inline_data: m.inline_data.clone(),
        }
    }

    fn receive(&mut self, k: &Kernel, pick: u8, name: Name) -> Outcome {
        let Some(t) = self.task_index(k, pick) else {
            return Outcome::Skipped("no live task");
        };
        let n = self.resolve(k, t, name);
        self.receive_on(k, t, n)
    }

    fn receive_on(&mut self, k: &Kernel, t: usize, n: MachPortName) -> Outcome {
        match k.mach_msg_receive(self.tasks[t].space, n) {
            Err(kr) => Outcome::Kr(kr),
            Ok(r) => {
                // The receiver owns the out-of-line memory; it deallocates it at once.
                for copy in r.ool {
                    k.vm_map_copy_discard(copy);
                }
                self.remember(t, r.msgh_remote_port);
                for &(name, _) in &r.descriptors {
                    self.remember(t, name);
                }
                self.stats.receives_ok += 1;
                self.stats.last_received = Some((r.msgh_id, r.ret_code));
                Outcome::Received {
                    id: r.msgh_id,
                    ret_code: r.ret_code,
                    names: r.descriptors.len(),
                }
            }
        }
    }

    // ---- typed calls ----

    /// A name in task `t`'s space for a port of one of `kinds`, other than those in `exclude`:
    /// the `pick`-th such remembered name, or one obtained through the kernel when the task has
    /// none (so the arguments of one message name different objects where the world can make
    /// them, as a real caller's usually do).
    fn name_of_kind(
        &mut self,
        k: &Kernel,
        t: usize,
        kinds: &[IpcKobjectType],
        pick: u8,
        exclude: &[MachPortName],
    ) -> Option<MachPortName> {
        let mut found: Vec<MachPortName> = Vec::new();
        for i in 0..self.tasks[t].names.len() {
            let name = self.tasks[t].names[i];
            if exclude.contains(&name) {
                continue;
            }
            if self
                .kind_of(k, t, name)
                .is_some_and(|ty| kinds.contains(&ty))
            {
                found.push(name);
            }
        }
        if !found.is_empty() {
            return Some(found[usize::from(pick) % found.len()]);
        }
        let ty = *kinds.iter().find(|&&ty| self.source(k, t, ty).is_some())?;
        let source = self.source(k, t, ty)?;
        let (to, name) = self.obtain(k, t, source, Wrap::Plain).ok()?;
        self.remember(to, name);
        (to == t && is_name(name)).then_some(name)
    }

    /// Where a port of kind `ty` for task `t` comes from (a thread of `t` is made if needed).
    fn source(&mut self, k: &Kernel, t: usize, ty: IpcKobjectType) -> Option<Source> {
        let task_pick = self.tasks[..t].iter().filter(|s| s.alive).count() as u8;
        let thread_kind = matches!(
            ty,
            IKOT_THREAD_CONTROL | IKOT_THREAD_READ | IKOT_THREAD_INSPECT
        );
        let mut thread_pick = 0;
        if thread_kind {
            let live = |s: &ThreadSlot| s.alive;
            let mine = self.threads.iter().position(|s| s.alive && s.task == t);
            let th = match mine {
                Some(th) => th,
                None if self.threads.len() < THREADS_MAX => {
                    self.threads.push(ThreadSlot {
                        thread: k.thread_create(self.tasks[t].task),
                        task: t,
                        alive: true,
                    });
                    self.threads.len() - 1
                }
                None => return None,
            };
            thread_pick = self.threads[..th].iter().filter(|s| live(s)).count() as u8;
        }
        typed::source_for(ty, task_pick, thread_pick)
    }

    /// `mach_port_request_notification` as a user program calls it: the MIG request to a task
    /// control port the task holds, carrying `name`, the message id and `sync` inline and a
    /// send-once right made from `notify`; the reply (with the previous request's right) is
    /// received at once.
    fn request_notification(
        &mut self,
        k: &Kernel,
        task: u8,
        name: Name,
        (id, sync): (u8, u8),
        notify: Name,
    ) -> Outcome {
        let Some(t) = self.task_index(k, task) else {
            return Outcome::Skipped("no live task");
        };
        // The names first: obtaining a control port remembers a new name.
        let target = self.resolve(k, t, name);
        let notify = self.resolve(k, t, notify);
        let Some(dest) = self.name_of_kind(k, t, &[IKOT_TASK_CONTROL], 0, &[]) else {
            return Outcome::Skipped("no task control port");
        };
        if !self.tasks[t].alive {
            return Outcome::Skipped("the task died obtaining its control port");
        }
        let reply = self.own_port(k, t, false);
        let msg = UserMsg {
            msgh_bits: mach_msgh_bits_set(
                MACH_MSG_TYPE_COPY_SEND,
                MACH_MSG_TYPE_MAKE_SEND_ONCE,
                0,
                MACH_MSGH_BITS_COMPLEX,
            ),
            msgh_remote_port: dest,
            msgh_local_port: reply,
            msgh_voucher_port: MACH_PORT_NULL,
            msgh_id: MACH_PORT_REQUEST_NOTIFICATION_ID,
            descriptors: vec![UserDescriptor::Port {
                name: notify,
                disposition: MACH_MSG_TYPE_MAKE_SEND_ONCE,
            }],
            inline_data: vec![
                kobject::mig_routines::MIG_SELECT_NORMAL,
                target,
                notify_id(id) as u32,
                u32::from(sync % 4),
            ],
        };
        let kr = match self.send_msg(k, t, &msg) {
            Outcome::Kr(kr) => kr,
            other => return other,
        };
        let reply = (kr == MACH_MSG_SUCCESS && is_name(reply))
            .then(|| self.receive_on(k, t, reply))
            .and_then(|o| match o {
                Outcome::Received { id, ret_code, .. } => Some((id, ret_code)),
                _ => None,
            });
        Outcome::Called {
            id: MACH_PORT_REQUEST_NOTIFICATION_ID,
            kr,
            reply,
        }
    }

    fn call(&mut self, k: &Kernel, call: &Call) -> Outcome {
        let Some(t) = self.task_index(k, call.task) else {
            return Outcome::Skipped("no live task");
        };
        let desc = typed::call_routine(call.routine);
        let kinds = typed::target_kinds(desc);
        let dest = match (call.deviation, call.target) {
            (Some(Deviation::DeadTarget), _) => MACH_PORT_DEAD,
            (Some(Deviation::WrongTarget), _) => self.own_port(k, t, true),
            (_, Name::Recent(i) | Name::Nth(i) | Name::Index(i)) => {
                match self.name_of_kind(k, t, kinds, i, &[]) {
                    Some(name) => name,
                    None => return Outcome::Skipped("no target of a kind the routine accepts"),
                }
            }
            (_, name) => self.resolve(k, t, name),
        };
        if !self.tasks[t].alive {
            return Outcome::Skipped("the task died obtaining the target");
        }
        let dest_kind = self.kind_of(k, t, dest).unwrap_or(IKOT_NONE);
        let descriptors = self.call_body(k, t, desc, dest, dest_kind);
        let reply = self.own_port(k, t, false);
        let mut m = CallMsg {
            remote: typed::target_disposition(dest_kind),
            complex: !descriptors.is_empty(),
            descriptors,
            local: (reply, MACH_MSG_TYPE_MAKE_SEND_ONCE),
            voucher: (MACH_PORT_NULL, 0),
            id: desc.msgh_id,
        };
        if let Some(deviation) = call.deviation {
            self.deviate(k, t, call.routine, dest, deviation, &mut m);
        }
        let id = m.id;
        let msg = UserMsg {
            msgh_bits: mach_msgh_bits_set(
                m.remote,
                m.local.1,
                m.voucher.1,
                if m.complex { MACH_MSGH_BITS_COMPLEX } else { 0 },
            ),
            msgh_remote_port: dest,
            msgh_local_port: m.local.0,
            msgh_voucher_port: m.voucher.0,
            msgh_id: id,
            descriptors: m.descriptors,
            inline_data: typed::inline_words(desc, call.word),
        };
        let kr = match self.send_msg(k, t, &msg) {
            Outcome::Kr(kr) => kr,
            other => return other,
        };
        let reply = (call.receive && kr == MACH_MSG_SUCCESS && is_name(reply))
            .then(|| self.receive_on(k, t, reply))
            .and_then(|o| match o {
                Outcome::Received { id, ret_code, .. } => Some((id, ret_code)),
                _ => None,
            });
        Outcome::Called { id, kr, reply }
    }

    /// Breaks one thing of a typed call's message (the destination's deviations are applied
    /// when it is chosen).
    fn deviate(
        &mut self,
        k: &Kernel,
        t: usize,
        routine: u16,
        dest: MachPortName,
        deviation: Deviation,
        m: &mut CallMsg,
    ) {
        match deviation {
            Deviation::WrongTarget | Deviation::DeadTarget => {}
            Deviation::WrongId(pick) => m.id = typed::wrong_id(routine, pick),
            Deviation::DestDisposition(d) => m.remote = u32::from(d),
            Deviation::DropDescriptor(i) => {
                if !m.descriptors.is_empty() {
                    m.descriptors.remove(usize::from(i) % m.descriptors.len());
                }
            }
            Deviation::ExtraDescriptor => m.descriptors.push(UserDescriptor::Port {
                name: self.own_port(k, t, true),
                disposition: MACH_MSG_TYPE_MAKE_SEND,
            }),
            Deviation::ArgDisposition { arg, disposition } => {
                if let Some(d) = nth_port_descriptor(&mut m.descriptors, arg) {
                    set_disposition(d, u32::from(disposition));
                }
            }
            Deviation::ArgDead(arg) => {
                if let Some(d) = nth_port_descriptor(&mut m.descriptors, arg) {
                    set_name(d, MACH_PORT_DEAD);
                }
            }
            Deviation::NoReply => m.local = (MACH_PORT_NULL, 0),
            Deviation::SendReply => m.local.1 = MACH_MSG_TYPE_MAKE_SEND,
            Deviation::KernelReply => m.local = (dest, MACH_MSG_TYPE_COPY_SEND),
            Deviation::ClearComplex => m.complex = false,
            Deviation::Voucher(pick) => {
                if let Some(v) = self.name_of_kind(k, t, &[IKOT_VOUCHER], pick / 2, &[dest]) {
                    let moved = pick % 2 == 1;
                    m.voucher = (
                        v,
                        if moved {
                            MACH_MSG_TYPE_MOVE_SEND
                        } else {
                            MACH_MSG_TYPE_COPY_SEND
                        },
                    );
                }
            }
            Deviation::JointCopyin { remote, local } => {
                if remote >= 0x80 {
                    // One or two more user references first, so that two moved sends can both
                    // succeed, taking the entry's last references or leaving it some.
                    let more = 1 + i32::from((remote >> 6) & 1);
                    let space = self.tasks[t].space;
                    let _ = k.mach_port_mod_refs(space, dest, MACH_PORT_RIGHT_SEND, more);
                }
                m.remote = joint_disposition(remote);
                m.local = (dest, joint_disposition(local));
            }
        }
    }

    /// The body `desc`'s stub accepts, filled from task `t`'s rights: a right of the kind each
    /// translated argument converts (the destination itself when it is of that kind, a voucher
    /// other than the first for `old_voucher`), a right made from the scratch port for a plain
    /// one, a fresh receive right for a moved one, then the memory.
    fn call_body(
        &mut self,
        k: &Kernel,
        t: usize,
        desc: &kobject::ipc_kobject_mig::MigRoutineDesc,
        dest: MachPortName,
        dest_kind: IpcKobjectType,
    ) -> Vec<UserDescriptor> {
        let mut body = Vec::new();
        let mut used = vec![dest];
        for plan in typed::argument_plans(desc) {
            let (name, disposition) = match plan.fill {
                ArgFill::Kind(ty) if ty == dest_kind => (dest, MACH_MSG_TYPE_COPY_SEND),
                ArgFill::Kind(ty) => {
                    let name = self.name_of_kind(k, t, &[ty], 0, &used);
                    used.extend(name);
                    (name.unwrap_or(MACH_PORT_NULL), MACH_MSG_TYPE_COPY_SEND)
                }
                ArgFill::Scratch(disposition) => (self.own_port(k, t, true), disposition),
                ArgFill::FreshReceive => match k.mach_port_allocate(self.tasks[t].space) {
                    Ok(name) => (name, MACH_MSG_TYPE_MOVE_RECEIVE),
                    Err(_) => (MACH_PORT_NULL, MACH_MSG_TYPE_MOVE_RECEIVE),
                },
            };
            body.push(match plan.ool {
                true => UserDescriptor::OolPorts {
                    names: vec![name],
                    disposition,
                },
                false => UserDescriptor::Port { name, disposition },
            });
        }
        for _ in 0..desc.req_ool_mem {
            body.push(UserDescriptor::Ool {
                size: typed::OOL_BYTES,
            });
        }
        body
    }

    // ---- the mach_port calls on rights ----

    /// The `mach_port_*` calls a user program makes on its own names: every value is legal, the
    /// model answers with XNU's code.
    fn port_call(&mut self, k: &Kernel, action: &Action) -> Outcome {
        let task = match *action {
            Action::AllocateRight { task, .. }
            | Action::Construct { task, .. }
            | Action::Destruct { task, .. }
            | Action::InsertRight { task, .. }
            | Action::ExtractRight { task, .. }
            | Action::GetRefs { task, .. }
            | Action::PortType { task, .. }
            | Action::InsertMember { task, .. }
            | Action::ExtractMember { task, .. }
            | Action::MoveMember { task, .. } => task,
            _ => unreachable!("{action:?} is not a mach_port call"),
        };
        let Some(t) = self.task_index(k, task) else {
            return Outcome::Skipped("no live task");
        };
        let space = self.tasks[t].space;
        let named = |w: &mut Self, r: Result<MachPortName, KernReturn>| match r {
            Ok(name) => w.remember(t, name),
            Err(kr) => Outcome::Kr(kr),
        };
        match *action {
            Action::AllocateRight { right, .. } => {
                let r = k.mach_port_allocate_right(space, u32::from(right));
                named(self, r)
            }
            Action::Construct { flags, .. } => {
                let options = kobject::mach_port::MachPortOptions {
                    flags: u32::from(flags),
                    mpl_qlimit: 0,
                };
                let r = k.mach_port_construct(space, options, 0);
                named(self, r)
            }
            Action::Destruct { name, srdelta, .. } => {
                let n = self.resolve(k, t, name);
                Outcome::Kr(k.mach_port_destruct(space, n, i32::from(srdelta), 0))
            }
            Action::InsertRight {
                name,
                poly,
                disposition,
                ..
            } => {
                let (n, p) = (self.resolve(k, t, name), self.resolve(k, t, poly));
                let kr = k.mach_port_insert_right(space, n, space, p, u32::from(disposition));
                if kr == KERN_SUCCESS {
                    self.remember(t, n);
                }
                Outcome::Kr(kr)
            }
            Action::ExtractRight {
                name, disposition, ..
            } => {
                let n = self.resolve(k, t, name);
                let r = k.mach_port_extract_right(space, n, u32::from(disposition), space);
                named(self, r.map(|(name, _)| name))
            }
            Action::GetRefs { name, right, .. } => {
                let n = self.resolve_holding(k, t, name, u32::from(right));
                match k.mach_port_get_refs(space, n, u32::from(right)) {
                    Ok(refs) => Outcome::Value(refs),
                    Err(kr) => Outcome::Kr(kr),
                }
            }
            Action::PortType { name, .. } => {
                let n = self.resolve(k, t, name);
                match k.mach_port_type(space, n) {
                    Ok(ty) => Outcome::Value(ty),
                    Err(kr) => Outcome::Kr(kr),
                }
            }
            Action::InsertMember { name, set, .. } => {
                let (n, s) = (self.resolve(k, t, name), self.resolve(k, t, set));
                Outcome::Kr(k.mach_port_insert_member(space, n, s))
            }
            Action::ExtractMember { name, set, .. } => {
                let (n, s) = (self.resolve(k, t, name), self.resolve(k, t, set));
                Outcome::Kr(k.mach_port_extract_member(space, n, s))
            }
            Action::MoveMember { member, after, .. } => {
                let (m, a) = (self.resolve(k, t, member), self.resolve(k, t, after));
                Outcome::Kr(k.mach_port_move_member(space, m, a))
            }
            _ => unreachable!("{action:?} is not a mach_port call"),
        }
    }

    // ---- kernel paths on the hand ----

    fn kernel_path(&mut self, k: &Kernel, shared: &Shared, action: &Action) -> Outcome {
        let got = match *action {
            Action::Convert { object } => {
                let o = self.lazy_object(shared, object);
                o.and_then(|o| convert(k, shared.label, o))
            }
            Action::Rearm { object } => {
                let o = self.lazy_object(shared, object);
                o.and_then(|o| rearm(k, o))
            }
            Action::Release { held } => {
                if self.held.is_empty() {
                    return Outcome::Skipped("nothing held");
                }
                let i = usize::from(held) % self.held.len();
                release(k, self.held.remove(i));
                None
            }
            Action::CopySend { held } => self
                .borrow_send(k, held)
                .and_then(|p| send_right(k.ipc_port_copy_send_any(IpcPort::Port(p)))),
            Action::MakeSend { kport } => nth(&shared.kports, kport).and_then(|kp| {
                send_right(k.ipc_kobject_make_send(kp.port.into(), kp.kobject, kp.ty))
            }),
            Action::MakeSonce { held } => self.borrow_send(k, held).and_then(|p| {
                match k.ipc_port_make_sonce(IpcPort::Port(p)) {
                    IpcPort::Port(q) => Some(Held::SendOnce(q)),
                    _ => None,
                }
            }),
            Action::SlotSwap { held } => {
                let Some(host) = shared.host.or(self.host.map(|h| h.0)) else {
                    return Outcome::Skipped("no host slot");
                };
                let Some(p) = self.take_send(k, held, false) else {
                    return Outcome::Skipped("no send right held");
                };
                k.mig_slot_replace(host, IpcPort::Port(p));
                None
            }
            Action::Wrap { held } => self.borrow_send(k, held).and_then(|p| wrap(k, p)),
            Action::LabelCopyout { held } => {
                let space = shared.task.map(|(_, s)| s).or_else(|| {
                    let t = pick_alive(self.tasks.iter().map(|t| t.alive), 0)?;
                    Some(self.tasks[t].space)
                });
                let Some(space) = space else {
                    return Outcome::Skipped("no space");
                };
                let Some(wrapper) = self.take_send(k, held, true) else {
                    return Outcome::Skipped("no subst-once right held");
                };
                if !shared.claim_subst_once(wrapper) {
                    self.held.push(Held::Send(wrapper));
                    return Outcome::Skipped("the subst-once wrapper was copied out already");
                }
                label_copyout(k, space, wrapper)
            }
            Action::Terminate => {
                shared.terminate(k);
                None
            }
            Action::DeferredReply => {
                let Some((connect, _)) = shared.connect else {
                    return Outcome::Skipped("no user client");
                };
                deferred_reply(k, connect);
                None
            }
            Action::Stash { task, held } => {
                let Some(t) = self.task_index(k, task) else {
                    return Outcome::Skipped("no live task");
                };
                let Some(p) = self.take_send(k, held, false) else {
                    return Outcome::Skipped("no send right held");
                };
                let space = self.tasks[t].space;
                let name =
                    k.ipc_object_copyout(space, IpcPort::Port(p), MACH_MSG_TYPE_PORT_SEND, 0);
                self.stashed = true;
                return self.remember(t, name);
            }
            _ => unreachable!("{action:?} is a user-level call"),
        };
        self.held.extend(got);
        Outcome::Done
    }

    /// The `pick`-th lazily ported object: the setup's, then the actor's own live ones (no
    /// allocation: this runs on every lazy action of every simulated execution).
    fn lazy_object(&self, shared: &Shared, pick: u8) -> Option<ObjId> {
        let own = || {
            self.objects.iter().filter(|o| {
                o.owner_alive && matches!(o.kind, ObjectKind::Semaphore | ObjectKind::Voucher)
            })
        };
        let count = shared.lazies.len() + own().count();
        if count == 0 {
            return None;
        }
        let i = usize::from(pick) % count;
        match shared.lazies.get(i) {
            Some(&o) => Some(o),
            None => own().nth(i - shared.lazies.len()).map(|o| o.obj),
        }
    }

    /// A plain (not subst-once) send right held or anchored, to use without giving it up.
    fn borrow_send(&self, k: &Kernel, pick: u8) -> Option<PortId> {
        let all: Vec<Held> = self.hand().collect();
        let i = pick_send(k, &all, pick, false)?;
        match all[i] {
            Held::Send(p) => Some(p),
            _ => None,
        }
    }

    fn take_send(&mut self, k: &Kernel, pick: u8, wrapper: bool) -> Option<PortId> {
        let i = pick_send(k, &self.held, pick, wrapper)?;
        match self.held.remove(i) {
            Held::Send(p) => Some(p),
            other => panic!("picked {other:?} as a send right"),
        }
    }

    // ---- the end ----

    /// A simulated thread's end, on its own thread: it releases what it holds and, for each task
    /// the setup gave it, drains the reply port, checks the label contract of the space when it
    /// stashed rights, and destroys every name in the space. Tasks it made itself die at
    /// teardown with their spaces.
    pub fn finish(&mut self, k: &Kernel) {
        self.release_hand(k);
        for t in 0..self.tasks.len() {
            if !self.tasks[t].alive || !self.tasks[t].adopted {
                continue;
            }
            if let Some(reply) = self.tasks[t].reply {
                for _ in 0..DRAIN_MAX {
                    if !matches!(self.receive_on(k, t, reply), Outcome::Received { .. }) {
                        break;
                    }
                }
            }
            let space = self.tasks[t].space;
            if self.stashed {
                if let Err(finding) = kobject_unguided::audit_space_labels(k, space) {
                    finding.raise();
                }
            }
            let names: Vec<MachPortName> =
                k.is_write_lock(space).is_table.keys().copied().collect();
            for name in names {
                let _ = k.mach_port_destroy(space, name);
            }
        }
    }

    /// Releases the hand, anchors last.
    pub fn release_hand(&mut self, k: &Kernel) {
        for right in self.held.drain(..) {
            release(k, right);
        }
        for right in self.anchors.drain(..) {
            release(k, right);
        }
    }

    /// The actor's part of the machine's shutdown, on the main thread once every thread has
    /// ended: its tasks are terminated, its objects' owners leave.
    pub fn teardown(&mut self, k: &Kernel) {
        self.release_hand(k);
        for t in 0..self.tasks.len() {
            if self.tasks[t].alive {
                self.terminate_task_at(k, t);
            }
        }
        for th in &self.threads {
            assert!(!th.alive, "threads die with their task");
        }
        for o in 0..self.objects.len() {
            if self.objects[o].owner_alive {
                self.objects[o].owner_alive = false;
                k.object_destroy(self.objects[o].obj);
            }
        }
    }
}

/// The machine shuts down: every object still alive gives back the rights routines stored in its
/// slots. XNU holds them until the object dies, which for a permanent object is never, and for a
/// user client whose wake port is its own connect port is never either: that send right keeps
/// no-senders from ever firing. An object that died without releasing its slots is not drained:
/// its rights stay, and the teardown audit reports them.
/// What [`Actor::state_features`] mixes into a state: the action's kind (FNV-1a: the same in
/// every build, unlike std's hasher). Not a typed call's routine: with it, the states times the
/// 345 routines flood the corpus (7,800 inputs in 60 s where the edges alone keep 3,900) and
/// fewer edges are reached.
pub fn state_salt(action: &Action) -> u32 {
    let fnv = |h: u32, b: u8| (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    action.kind().bytes().fold(0x811c_9dc5, fnv)
}

pub fn shutdown(k: &Kernel) {
    for obj in k.live_objects() {
        if k.object_is_live(obj) {
            k.mig_object_slots_drain(obj);
        }
    }
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

/// Every slot of the real routine table in `mig_e[]` order, skips included.
pub fn routine_slots() -> &'static [&'static kobject::ipc_kobject_mig::MigRoutineDesc] {
    use std::sync::OnceLock;
    static SLOTS: OnceLock<Vec<&'static kobject::ipc_kobject_mig::MigRoutineDesc>> =
        OnceLock::new();
    SLOTS.get_or_init(|| {
        kobject::ipc_kobject_mig::kernel_subsystems()
            .iter()
            .flat_map(|s| s.routines.iter())
            .collect()
    })
}

fn is_name(name: MachPortName) -> bool {
    name != MACH_PORT_NULL && name != MACH_PORT_DEAD
}

fn nth<T: Copy>(items: &[T], pick: u8) -> Option<T> {
    (!items.is_empty()).then(|| items[usize::from(pick) % items.len()])
}

/// The index of the `pick`-th live entry (modulo their count), if any is live.
fn pick_alive(alive: impl Iterator<Item = bool>, pick: u8) -> Option<usize> {
    let live: Vec<usize> = alive
        .enumerate()
        .filter_map(|(i, a)| a.then_some(i))
        .collect();
    nth(&live, pick)
}

/// The index in `rights` of the `pick`-th send right whose wrapper-ness is `wrapper`.
fn pick_send(k: &Kernel, rights: &[Held], pick: u8, wrapper: bool) -> Option<usize> {
    let candidates: Vec<usize> = (0..rights.len())
        .filter(|&i| match rights[i] {
            Held::Send(p) => (k.ip_kotype(p) == IKOT_PORT_SUBST_ONCE) == wrapper,
            _ => false,
        })
        .collect();
    nth(&candidates, pick)
}

fn send_made(port: IpcPort) -> Made {
    Made::Right {
        port,
        msgt: MACH_MSG_TYPE_PORT_SEND,
        space_labeled: false,
    }
}

fn send_right(port: IpcPort) -> Option<Held> {
    match port {
        IpcPort::Port(p) => Some(Held::Send(p)),
        _ => None,
    }
}

/// A send right on one of a task's or thread's own ports (`ipc_kobject_make_send`).
fn object_send(
    k: &Kernel,
    o: ObjId,
    index: usize,
    ty: IpcKobjectType,
) -> Result<Made, &'static str> {
    let port = k.object_port(o, index);
    if !IP_VALID(port) {
        return Err("the object has no such port");
    }
    let right = k.ipc_kobject_make_send(port, IpcKobject::Object(o), ty);
    if !IP_VALID(right) {
        return Err("the port is dead");
    }
    Ok(send_made(right))
}

/// One more send right on the lazy port: the caller's reference goes to the convert.
fn lazy_send(k: &Kernel, obj: ObjId, kind: ObjectKind) -> Result<Made, &'static str> {
    k.object_reference(obj);
    let (port, space_labeled) = match kind {
        ObjectKind::LabeledSemaphore(label) => (
            k.convert_lazy_object_to_labeled_port(obj, label),
            label & IPC_LABEL_SPACE_MASK != 0,
        ),
        _ => (k.convert_lazy_object_to_port(obj), false),
    };
    if !IP_VALID(port) {
        return Err("convert gave no right");
    }
    Ok(Made::Right {
        port,
        msgt: MACH_MSG_TYPE_PORT_SEND,
        space_labeled,
    })
}

/// Applies the hand-over: a subst-once wrapper, or a send-once right instead of the send.
fn wrap_right(
    k: &Kernel,
    port: IpcPort,
    msgt: MachMsgTypeName,
    space_labeled: bool,
    wrap: Wrap,
) -> (IpcPort, MachMsgTypeName) {
    if msgt != MACH_MSG_TYPE_PORT_SEND {
        return (port, msgt);
    }
    match wrap {
        Wrap::Plain => (port, msgt),
        Wrap::SubstOnce if space_labeled => (port, msgt),
        Wrap::SubstOnce => (k.ipc_kobject_alloc_subst_once(port), msgt),
        Wrap::SendOnce => {
            let sonce = k.ipc_port_make_sonce(port);
            k.ipc_port_release_send(port);
            if IP_VALID(sonce) {
                (sonce, MACH_MSG_TYPE_PORT_SEND_ONCE)
            } else {
                (IpcPort::Null, MACH_MSG_TYPE_PORT_SEND_ONCE)
            }
        }
    }
}

/// The kobject type of a lazily ported object.
fn lazy_type(k: &Kernel, o: ObjId) -> IpcKobjectType {
    match k.object_kind(o) {
        ObjKind::Semaphore => IKOT_SEMAPHORE,
        ObjKind::Voucher => IKOT_VOUCHER,
        other => panic!("{o} ({other:?}) has no lazy port"),
    }
}

/// `convert_semaphore_to_port` (or the labeled variant): one send right; the caller's object
/// reference is donated when the call armed the notification.
pub fn convert(k: &Kernel, label: Option<IpcLabel>, o: ObjId) -> Option<Held> {
    k.object_reference(o);
    let port = match label {
        Some(label) if k.object_kind(o) == ObjKind::Semaphore => {
            k.convert_lazy_object_to_labeled_port(o, label)
        }
        _ => k.convert_lazy_object_to_port(o),
    };
    send_right(port)
}

/// Re-arms the published port of `o` with `ipc_kobject_make_send_nsrequest`, donating a reference
/// only when this call armed it (`KERN_SUCCESS`).
fn rearm(k: &Kernel, o: ObjId) -> Option<Held> {
    let port = k.object_port_store(o);
    if !matches!(port, IpcPort::Port(_)) {
        return None;
    }
    k.object_reference(o);
    let kr = k.ipc_kobject_make_send_nsrequest(port, IpcKobject::Object(o), lazy_type(k, o));
    if kr != KERN_SUCCESS {
        k.object_release(o);
    }
    (kr == KERN_SUCCESS || kr == KERN_ALREADY_WAITING).then(|| Held::Send(port.id()))
}

/// Releases one right: `ipc_port_release_send`, or `ipc_object_destroy` of a send-once right
/// (which sends the send-once notification a kobject sees).
fn release(k: &Kernel, right: Held) {
    match right {
        Held::Send(p) => k.ipc_port_release_send(IpcPort::Port(p)),
        Held::SendOnce(p) => k.ipc_object_destroy(IpcPort::Port(p), MACH_MSG_TYPE_PORT_SEND_ONCE),
        other => panic!("a hand never holds {other:?}"),
    }
}

/// Wraps a copy of a held send right in a subst-once port (`ipc_kobject_alloc_subst_once`).
fn wrap(k: &Kernel, p: PortId) -> Option<Held> {
    let target = k.ipc_port_copy_send_any(IpcPort::Port(p));
    if !matches!(target, IpcPort::Port(_)) {
        return None;
    }
    send_right(k.ipc_kobject_alloc_subst_once(target))
}

/// Copies a send right to a subst-once wrapper out into `space`, as `ipc_object_copyout` does:
/// space write lock, then port lock, then `ipc_kobject_label_check`. The wrapper right is consumed
/// and the wrapped target right comes back in its place.
fn label_copyout(k: &Kernel, space: SpaceId, wrapper: PortId) -> Option<Held> {
    let sg = k.is_write_lock(space);
    let g = k.ip_mq_lock(wrapper);
    let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NONE;
    match k.ipc_kobject_label_check(sg, g, MACH_MSG_TYPE_PORT_SEND, &mut flags) {
        LabelCheck::Substituted(port) => send_right(port),
        // Not consumed: the right stays the caller's.
        LabelCheck::Allowed(sg, g) | LabelCheck::Refused(sg, g) => {
            drop(g);
            drop(sg);
            Some(Held::Send(wrapper))
        }
    }
}

/// The later reply of the synthetic `MIG_NO_REPLY` routine on user client `connect`, sent to the
/// reply right the routine saved, as the server sends a reply it returns.
fn deferred_reply(k: &Kernel, connect: ObjId) {
    if let Some(reply) = k.mig_deferred_reply(connect, KERN_SUCCESS) {
        let dest = reply.msgh_remote_port.id();
        k.ipc_kmsg_send_reply(dest, reply);
    }
}

fn nth_port_descriptor(body: &mut [UserDescriptor], pick: u8) -> Option<&mut UserDescriptor> {
    let ports: Vec<usize> = (0..body.len())
        .filter(|&i| !matches!(body[i], UserDescriptor::Ool { .. }))
        .collect();
    let i = nth(&ports, pick)?;
    Some(&mut body[i])
}

fn set_disposition(d: &mut UserDescriptor, value: u32) {
    match d {
        UserDescriptor::Port { disposition, .. } | UserDescriptor::OolPorts { disposition, .. } => {
            *disposition = value;
        }
        UserDescriptor::Ool { .. } => {}
    }
}

fn set_name(d: &mut UserDescriptor, value: MachPortName) {
    match d {
        UserDescriptor::Port { name, .. } => *name = value,
        UserDescriptor::OolPorts { names, .. } => names.iter_mut().for_each(|n| *n = value),
        UserDescriptor::Ool { .. } => {}
    }
}

/// Whether the send would move a receive right into a queue it (transitively) holds: the
/// destination is the moved port itself, or in transit inside the moved port's queue.
fn is_circular(k: &Kernel, space: SpaceId, msg: &UserMsg) -> bool {
    let port_of = |name| k.ipc_entry_lookup(space, name).and_then(|e| e.ie_object);
    let moves_receive = msg.descriptors.iter().any(|d| match d {
        UserDescriptor::Port { disposition, .. } | UserDescriptor::OolPorts { disposition, .. } => {
            *disposition == MACH_MSG_TYPE_MOVE_RECEIVE
        }
        UserDescriptor::Ool { .. } => false,
    });
    if !moves_receive {
        return false;
    }
    let Some(dest) = port_of(msg.msgh_remote_port) else {
        return false;
    };
    if k.ip_in_space_noauth(dest, IPC_SPACE_KERNEL) {
        return false;
    }
    let moved = msg.descriptors.iter().flat_map(|d| match d {
        UserDescriptor::Port { name, disposition } => vec![(*name, *disposition)],
        UserDescriptor::OolPorts { names, disposition } => {
            names.iter().map(|&n| (n, *disposition)).collect()
        }
        UserDescriptor::Ool { .. } => Vec::new(),
    });
    let receive_rights: Vec<PortId> = moved
        .filter(|&(_, d)| d == MACH_MSG_TYPE_MOVE_RECEIVE)
        .filter_map(|(name, _)| {
            k.ipc_entry_lookup(space, name)
                .filter(|e| e.ie_bits & IE_BITS_RECEIVE != 0)
                .and_then(|e| e.ie_object)
        })
        .collect();
    receive_rights
        .into_iter()
        .any(|x| x == dest || holds_in_transit(k, x, dest))
}

/// Whether `target`'s receive right sits (transitively) in a message queued on `root`.
fn holds_in_transit(k: &Kernel, root: PortId, target: PortId) -> bool {
    let mut seen = BTreeSet::from([root]);
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        assert!(
            seen.len() <= CIRCULARITY_PORTS_MAX * 4,
            "circularity walk bound"
        );
        let g = k.ip_mq_lock(p);
        let mut inner = Vec::new();
        for kmsg in &g.ip_messages {
            for d in &kmsg.body {
                match d {
                    KDescriptor::Port { name, disposition }
                        if *disposition == MACH_MSG_TYPE_PORT_RECEIVE =>
                    {
                        inner.extend(port_id(*name));
                    }
                    KDescriptor::OolPorts { ports, disposition }
                        if *disposition == MACH_MSG_TYPE_PORT_RECEIVE =>
                    {
                        inner.extend(ports.iter().filter_map(|&q| port_id(q)));
                    }
                    _ => {}
                }
            }
        }
        drop(g);
        for q in inner {
            if q == target {
                return true;
            }
            if seen.len() < CIRCULARITY_PORTS_MAX && seen.insert(q) {
                frontier.push(q);
            }
        }
    }
    false
}

fn port_id(port: IpcPort) -> Option<PortId> {
    match port {
        IpcPort::Port(p) => Some(p),
        _ => None,
    }
}
