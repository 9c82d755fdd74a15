//! The objects a scenario shares between its simulated threads, and the model operations the
//! threads run on them, one [`Step`] at a time.
//!
//! Every operation goes through the model's public functions, so each lock and atomic it takes
//! is a shuttle scheduling point. A thread only touches a port it holds a right on (or one whose
//! owner is alive until teardown), as XNU callers do; a right it obtains goes into its [`Hand`]
//! and is released at its end, so the run can end at quiescence with nothing outstanding.

use std::sync::atomic::{AtomicBool, Ordering};

use kobject::ikot::{IpcKobjectType, IKOT_PORT_SUBST_ONCE, IKOT_SEMAPHORE, IKOT_VOUCHER};
use kobject::ipc_kobject::LabelCheck;
use kobject::mach::{
    IpcLabel, IPC_OBJECT_COPYOUT_FLAGS_NONE, KERN_ALREADY_WAITING, KERN_SUCCESS,
    MACH_MSG_TYPE_PORT_SEND, MACH_MSG_TYPE_PORT_SEND_ONCE,
};
use kobject::{Held, IpcKobject, IpcPort, Kernel, ObjId, ObjKind, PortId, SpaceId, IP_NULL};

use crate::msg::{self, Outbox, Target};
use crate::params::{MsgSpec, Op, Step};

/// A kobject port workers may make send rights on; each worker anchors one right on it, so the
/// port outlives every use even after its owner deallocates it.
#[derive(Clone, Copy, Debug)]
pub struct KPort {
    pub port: PortId,
    pub kobject: IpcKobject,
    pub ty: IpcKobjectType,
}

/// What `terminate` ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Victim {
    None,
    Thread,
    Task,
    /// The world's IOKit user client: `terminate` is its `clientDied`, which releases the wake
    /// port and the saved reply right it stores (its port lives until its last send right goes).
    Client,
}

/// The shared objects of one run. Built by the main thread before the workers start.
pub struct World {
    /// Objects behind a lazily allocated port (semaphores, vouchers).
    pub lazies: Vec<ObjId>,
    /// When set, lazy converts use the labeled variant with this label.
    pub label: Option<IpcLabel>,
    /// The host whose stored-right slot `slot-swap` replaces.
    pub host: Option<ObjId>,
    /// A task and its space (copyout target, `terminate` victim).
    pub task: Option<(ObjId, SpaceId)>,
    pub thread: Option<ObjId>,
    pub kports: Vec<KPort>,
    pub victim: Victim,
    /// Ports `send` steps send to (kobject ports, then the workers' reply ports).
    pub targets: Vec<Target>,
    /// The messages of the run's `send` steps (`Params::messages`).
    pub messages: Vec<MsgSpec>,
    /// The workers' own tasks (one per outbox), terminated at teardown.
    pub senders: Vec<ObjId>,
    /// An IOKit user client the synthetic `MIG_NO_REPLY` routine saves reply rights in. The
    /// world holds a reference on it and a send right to its port until teardown.
    pub connect: Option<(ObjId, PortId)>,
    /// Vouchers the workers hold send rights to (for routines' voucher arguments).
    pub vouchers: Vec<ObjId>,
    /// Permanent objects (host, main device) whose stored rights teardown releases.
    pub permanent: Vec<ObjId>,
    /// Set by the first `terminate`, so a second one is a no-op rather than a double terminate.
    terminated: AtomicBool,
}

impl World {
    pub fn new() -> World {
        World {
            lazies: Vec::new(),
            label: None,
            host: None,
            task: None,
            thread: None,
            kports: Vec::new(),
            victim: Victim::None,
            targets: Vec::new(),
            messages: Vec::new(),
            senders: Vec::new(),
            connect: None,
            vouchers: Vec::new(),
            permanent: Vec::new(),
            terminated: AtomicBool::new(false),
        }
    }
}

impl World {
    /// What the world itself holds outside the model until teardown (for the setup audit).
    pub fn held(&self) -> Vec<Held> {
        self.connect
            .iter()
            .flat_map(|&(o, p)| [Held::Send(p), Held::ObjectRef(o)])
            .collect()
    }
}

impl Default for World {
    fn default() -> World {
        World::new()
    }
}

/// The rights one simulated thread holds. `anchors` are only released at the end; the
/// `outbox`'s rights live in the worker's own space.
#[derive(Clone, Debug, Default)]
pub struct Hand {
    pub held: Vec<Held>,
    pub anchors: Vec<Held>,
    pub outbox: Option<Outbox>,
}

impl Hand {
    /// Everything held, for the auditor.
    pub fn all(&self) -> impl Iterator<Item = Held> + '_ {
        self.held.iter().chain(self.anchors.iter()).copied()
    }
}

/// The kobject type of a lazily ported object.
pub fn lazy_type(k: &Kernel, o: ObjId) -> IpcKobjectType {
    match k.object_kind(o) {
        ObjKind::Semaphore => IKOT_SEMAPHORE,
        ObjKind::Voucher => IKOT_VOUCHER,
        other => panic!("{o} ({other:?}) has no lazy port"),
    }
}

/// `convert_semaphore_to_port` (or the labeled variant): one send right; the caller's object
/// reference is donated when the call armed the notification.
pub fn convert(k: &Kernel, world: &World, o: ObjId) -> Option<Held> {
    k.object_reference(o);
    let port = match world.label {
        Some(label) => k.convert_lazy_object_to_labeled_port(o, label),
        None => k.convert_lazy_object_to_port(o),
    };
    send_right(port)
}

/// Re-arms the published port of `o` with `ipc_kobject_make_send_nsrequest`, donating a reference
/// only when this call armed it (`KERN_SUCCESS`).
pub fn rearm(k: &Kernel, o: ObjId) -> Option<Held> {
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
pub fn release(k: &Kernel, right: Held) {
    match right {
        Held::Send(p) => k.ipc_port_release_send(IpcPort::Port(p)),
        Held::SendOnce(p) => k.ipc_object_destroy(IpcPort::Port(p), MACH_MSG_TYPE_PORT_SEND_ONCE),
        other => panic!("a worker never holds {other:?}"),
    }
}

/// `host_set_special_port`-style replacement of the send right stored in `host`'s slot, through
/// the model's `mig_slot_replace` (which carries `replace-stored-right-unlocked`, CVE-2016-7644:
/// without the lock two callers can release one old right).
pub fn set_special_port(k: &Kernel, host: ObjId, right: IpcPort) {
    k.mig_slot_replace(host, right);
}

/// Wraps a copy of a held send right in a subst-once port (`ipc_kobject_alloc_subst_once`).
pub fn wrap(k: &Kernel, p: PortId) -> Option<Held> {
    let target = k.ipc_port_copy_send_any(IpcPort::Port(p));
    if !matches!(target, IpcPort::Port(_)) {
        return None;
    }
    send_right(k.ipc_kobject_alloc_subst_once(target))
}

/// Copies a send right to a subst-once wrapper out into `space`, as `ipc_object_copyout` does:
/// space write lock, then port lock, then `ipc_kobject_label_check`. The wrapper right is consumed
/// and the wrapped target right comes back in its place.
pub fn copyout(k: &Kernel, space: SpaceId, wrapper: PortId) -> Option<Held> {
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

/// The owner's teardown of the world's victim, at most once.
pub fn terminate(k: &Kernel, world: &World) {
    if world.terminated.swap(true, Ordering::Relaxed) {
        return;
    }
    match (world.victim, world.thread, world.task) {
        (Victim::Thread, Some(thread), _) => k.thread_terminate(thread),
        (Victim::Task, _, Some((task, _))) => k.task_terminate(task),
        (Victim::Client, _, _) => {
            if let Some((client, _)) = world.connect {
                k.mig_object_slots_drain(client);
            }
        }
        _ => {}
    }
}

fn send_right(port: IpcPort) -> Option<Held> {
    match port {
        IpcPort::Port(p) => Some(Held::Send(p)),
        _ => None,
    }
}

/// The index in `rights` of the `arg`-th send right whose wrapper-ness is `wrapper`.
fn pick_send(k: &Kernel, rights: &[Held], arg: u32, wrapper: bool) -> Option<usize> {
    let candidates: Vec<usize> = (0..rights.len())
        .filter(|&i| match rights[i] {
            Held::Send(p) => (k.ip_kotype(p) == IKOT_PORT_SUBST_ONCE) == wrapper,
            _ => false,
        })
        .collect();
    (!candidates.is_empty()).then(|| candidates[arg as usize % candidates.len()])
}

/// A plain (not subst-once) send right held or anchored, to use without giving it up.
fn borrow_send(k: &Kernel, hand: &Hand, arg: u32) -> Option<PortId> {
    let all: Vec<Held> = hand.all().collect();
    let i = pick_send(k, &all, arg, false)?;
    match all[i] {
        Held::Send(p) => Some(p),
        _ => None,
    }
}

fn take_send(k: &Kernel, hand: &mut Hand, arg: u32, wrapper: bool) -> Option<PortId> {
    let i = pick_send(k, &hand.held, arg, wrapper)?;
    match hand.held.remove(i) {
        Held::Send(p) => Some(p),
        other => panic!("picked {other:?} as a send right"),
    }
}

fn nth<T: Copy>(items: &[T], arg: u32) -> Option<T> {
    (!items.is_empty()).then(|| items[arg as usize % items.len()])
}

/// Runs one step of a worker's program.
pub fn run_step(k: &Kernel, world: &World, hand: &mut Hand, step: Step) {
    let got = match step.op {
        Op::Convert => nth(&world.lazies, step.arg).and_then(|o| convert(k, world, o)),
        Op::Rearm => nth(&world.lazies, step.arg).and_then(|o| rearm(k, o)),
        Op::Release => {
            if !hand.held.is_empty() {
                let i = step.arg as usize % hand.held.len();
                release(k, hand.held.remove(i));
            }
            None
        }
        Op::CopySend => borrow_send(k, hand, step.arg)
            .and_then(|p| send_right(k.ipc_port_copy_send_any(IpcPort::Port(p)))),
        Op::MakeSend => nth(&world.kports, step.arg)
            .and_then(|kp| send_right(k.ipc_kobject_make_send(kp.port.into(), kp.kobject, kp.ty))),
        Op::MakeSonce => borrow_send(k, hand, step.arg).and_then(|p| {
            match k.ipc_port_make_sonce(IpcPort::Port(p)) {
                IpcPort::Port(q) => Some(Held::SendOnce(q)),
                _ => None,
            }
        }),
        Op::SlotSwap => slot_swap(k, world, hand, step.arg),
        Op::Wrap => borrow_send(k, hand, step.arg).and_then(|p| wrap(k, p)),
        Op::Copyout => world_copyout(k, world, hand, step.arg),
        Op::Terminate => {
            terminate(k, world);
            None
        }
        Op::Send => {
            if let (Some(ob), Some(spec)) = (&hand.outbox, world.messages.get(step.arg as usize)) {
                msg::send(k, world, ob, spec);
            }
            None
        }
        Op::Receive => {
            if let Some(ob) = &hand.outbox {
                msg::receive(k, ob, 1 + step.arg as usize % 2);
            }
            None
        }
        Op::DeferredReply => {
            msg::deferred_reply(k, world);
            None
        }
        Op::Stash => {
            if hand.outbox.is_some() {
                if let Some(p) = take_send(k, hand, step.arg, false) {
                    msg::stash(k, hand.outbox.as_mut().expect("checked"), p);
                }
            }
            None
        }
    };
    hand.held.extend(got);
}

fn slot_swap(k: &Kernel, world: &World, hand: &mut Hand, arg: u32) -> Option<Held> {
    let host = world.host?;
    let p = take_send(k, hand, arg, false)?;
    set_special_port(k, host, IpcPort::Port(p));
    None
}

fn world_copyout(k: &Kernel, world: &World, hand: &mut Hand, arg: u32) -> Option<Held> {
    let (_, space) = world.task?;
    let wrapper = take_send(k, hand, arg, true)?;
    copyout(k, space, wrapper)
}

/// Releases everything a worker still holds, anchors last, then empties its space.
pub fn release_all(k: &Kernel, hand: &mut Hand) {
    for right in hand.held.drain(..) {
        release(k, right);
    }
    for right in hand.anchors.drain(..) {
        release(k, right);
    }
    if let Some(ob) = hand.outbox.take() {
        msg::release(k, &ob);
    }
}

/// The main thread's teardown once every worker has joined: the stored right goes, the owners
/// are destroyed. After it nothing but permanent objects may remain.
pub fn teardown(k: &Kernel, world: &World) {
    // The workers' tasks first: their spaces hold rights on everything else.
    for &task in &world.senders {
        k.task_terminate(task);
    }
    if let Some(host) = world.host {
        let old = k.object_slot_swap(host, IP_NULL);
        k.ipc_port_release_send(old);
    }
    for &o in world
        .permanent
        .iter()
        .chain(world.connect.iter().map(|c| &c.0))
    {
        k.mig_object_slots_drain(o);
    }
    if let Some((connect, port)) = world.connect {
        // The last send right: its no-senders gives the donated reference back.
        k.ipc_port_release_send(IpcPort::Port(port));
        k.object_release(connect);
    }
    for &v in &world.vouchers {
        k.object_destroy(v);
    }
    for &o in &world.lazies {
        k.object_destroy(o);
    }
    // Threads before their task, as in XNU; the victim may already be gone (`terminate` is once).
    if let Some(thread) = world.thread {
        match world.victim {
            Victim::Thread => terminate(k, world),
            _ => k.thread_terminate(thread),
        }
    }
    if let Some((task, _)) = world.task {
        match world.victim {
            Victim::Task => terminate(k, world),
            _ => k.task_terminate(task),
        }
    }
}
