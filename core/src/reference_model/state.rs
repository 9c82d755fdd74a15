//! The reference model's state and rules: per port its rights, make-send count, references,
//! request, activity and kobject; per object its references and suspension holds. What each
//! step requires (`preconditions`) and does (`apply`) is written from XNU's rules, not from the
//! model's code:
//!
//! * a port is born with one reference (its receive right); each send or send-once right and an
//!   armed no-senders request own one more;
//! * the last send right of an active armed port fires the notification: the type's callback
//!   runs, then the request's reference goes;
//! * destroying a port clears it to inactive with make-send count 0, drops an armed request's
//!   reference silently, nils the kobject (a timer's destroy op lets go of its timer), frees
//!   the label and drops the receive right's reference;
//! * an object's references are its creator's, the ones armed ports were donated, a thread's
//!   hold on its task and a timer port's hold on its timer.
//!
//! # Deliberately absent
//! Message queues (no right is ever queued), the copyout itself after a label check, and the
//! concurrent interleavings (the simulator's job).

use std::fmt;

use super::{PlainType, Transition, LAZY_OBJECTS_MAX, PORTS_MAX, TASKS_MAX, THREADS_MAX};
use super::{PLAIN_ALLOC_OPTIONS, TIMERS_MAX};
use crate::ikot::*;
use crate::mach::*;
use crate::ObjKind;

/// How a port came to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// `ipc_kobject_alloc_port` on a generic object.
    Plain,
    /// The port in a semaphore's or voucher's `port_store`.
    Lazy,
    /// An `IKOT_PORT_SUBST_ONCE` wrapper.
    Wrapper,
    /// A task's or thread's own port, deallocated when it terminates.
    Own,
    /// A task's `itk_resume`, made by `task_suspend2`.
    Resume,
    /// An mk_timer port, whose receive right is in its task's space.
    Timer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RefKobject {
    Null,
    Obj(usize),
    Port(usize),
}

/// What a type's no-senders callback does (the ones `kobjects.rs` registers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Callback {
    None,
    /// `semaphore_no_senders`, `ipc_voucher_no_senders`: the donated reference goes back.
    GiveBack,
    /// The generic handler: deallocate with the notified make-send count, then the donation.
    Dealloc,
    /// `ipc_kobject_subst_once_no_senders`.
    SubstOnce,
}

fn callback(ty: IpcKobjectType) -> Callback {
    match ty {
        IKOT_SEMAPHORE | IKOT_VOUCHER => Callback::GiveBack,
        IKOT_PORT_SUBST_ONCE => Callback::SubstOnce,
        IKOT_NAMED_ENTRY | IKOT_UND_REPLY | IKOT_TASK_ID_TOKEN | IKOT_IOKIT_OBJECT
        | IKOT_IOKIT_CONNECT | IKOT_EVENTLINK => Callback::Dealloc,
        _ => Callback::None,
    }
}

fn stable(ty: IpcKobjectType) -> bool {
    IKOT_INFO[ty as usize].stable
}

/// A task's ports in `TASK_PORT_*` order, and a thread's: type, and whether labeled.
const TASK_PORTS: [(IpcKobjectType, bool); 4] = [
    (IKOT_TASK_CONTROL, true),
    (IKOT_TASK_CONTROL, false),
    (IKOT_TASK_READ, true),
    (IKOT_TASK_NAME, false),
];
const THREAD_PORTS: [(IpcKobjectType, bool); 3] = [
    (IKOT_THREAD_CONTROL, true),
    (IKOT_THREAD_CONTROL, false),
    (IKOT_THREAD_READ, true),
];

#[derive(Clone, Debug)]
pub(super) struct RefPort {
    pub(super) kind: Kind,
    pub(super) ty: IpcKobjectType,
    /// The object a non-wrapper port stands for.
    pub(super) obj: Option<usize>,
    /// A wrapper's target, until hollowed or deallocated.
    pub(super) target: Option<usize>,
    /// The pointer as first set (what callers pass to `ipc_kobject_require`).
    pub(super) original: RefKobject,
    pub(super) kobject_set: bool,
    pub(super) active: bool,
    pub(super) live: bool,
    pub(super) labeled: bool,
    /// Naked send rights the test holds.
    pub(super) held_send: u32,
    /// The send right an mk_timer keeps on its own port (`timer->port`).
    pub(super) timer_send: u32,
    pub(super) held_sonce: u32,
    /// Send rights owned by subst-once wrappers.
    pub(super) wrapped: u32,
    pub(super) mscount: u32,
    pub(super) armed: bool,
    pub(super) refs: u32,
}

impl RefPort {
    /// A port as `ipc_kobject_alloc_port` makes it with `options`: the receive right's
    /// reference, and one more for the send right and the armed request it may come with.
    fn alloc(
        kind: Kind,
        ty: IpcKobjectType,
        kobject: RefKobject,
        options: IpcKobjectAllocOptions,
        labeled: bool,
    ) -> RefPort {
        let ms = u32::from(options & IPC_KOBJECT_ALLOC_MAKE_SEND != 0);
        let armed = options & IPC_KOBJECT_ALLOC_NSREQUEST != 0;
        RefPort {
            kind,
            ty,
            obj: match kobject {
                RefKobject::Obj(o) => Some(o),
                _ => None,
            },
            target: match kobject {
                RefKobject::Port(p) => Some(p),
                _ => None,
            },
            original: kobject,
            kobject_set: true,
            active: true,
            live: true,
            labeled,
            held_send: ms,
            timer_send: 0,
            held_sonce: 0,
            wrapped: 0,
            mscount: ms,
            armed,
            refs: 1 + ms + u32::from(armed),
        }
    }

    #[inline]
    pub(super) fn srights(&self) -> u32 {
        self.held_send + self.wrapped + self.timer_send
    }

    /// Whether no-senders requests are used on this port: lazy ports, wrappers, and plain ports
    /// whose type has a callback and whose kobject is set (a disabled port is never armed).
    fn armable(&self) -> bool {
        match self.kind {
            Kind::Lazy | Kind::Wrapper => true,
            Kind::Plain => {
                callback(self.ty) != Callback::None && (self.kobject_set || !self.active)
            }
            Kind::Own | Kind::Resume | Kind::Timer => false,
        }
    }

    /// Whether arming takes a donated kobject reference (given back by the callback).
    pub(super) fn donates(&self) -> bool {
        self.armable() && self.kind != Kind::Wrapper
    }

    #[inline]
    pub(super) fn kobject(&self) -> RefKobject {
        if !self.kobject_set {
            return RefKobject::Null;
        }
        match self.kind {
            Kind::Wrapper => self.target.map_or(RefKobject::Null, RefKobject::Port),
            _ => self.original,
        }
    }
}

#[derive(Clone, Debug)]
pub(super) struct RefObj {
    pub(super) kind: ObjKind,
    pub(super) refs: u32,
    /// Until its owner destroys or terminates it.
    pub(super) alive: bool,
    /// Until its last reference goes.
    pub(super) live: bool,
    /// The port it made on demand (a semaphore's or voucher's `port_store`, `itk_resume`).
    pub(super) lazy_port: Option<usize>,
    /// A plain object's port, a task's or thread's own ports, a timer's port.
    pub(super) ports: Vec<usize>,
    /// A thread's task; the task in whose space a timer's receive right is.
    pub(super) owner: Option<usize>,
    pub(super) suspend_count: u32,
}

impl RefObj {
    fn lazy(&self) -> bool {
        matches!(self.kind, ObjKind::Semaphore | ObjKind::Voucher)
    }
}

/// What the next call must return, computed by the reference model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Expect {
    #[default]
    Nothing,
    Kr(KernReturn),
    KrMs(KernReturn, u32),
    Port(Option<usize>),
    Kobject(RefKobject),
    /// Whether a label check lets the right into the space.
    Allowed(bool),
}

/// Ports and objects as XNU's rules say they must be, by index in creation order; freed ones
/// stay, marked not live.
#[derive(Clone, Default)]
pub struct RefState {
    pub(super) ports: Vec<RefPort>,
    pub(super) objs: Vec<RefObj>,
    pub(super) expect: Expect,
}

impl fmt::Debug for RefState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RefState({} ports, {} objects)",
            self.ports.len(),
            self.objs.len()
        )
    }
}

impl RefState {
    /// Nothing made yet.
    pub fn new() -> RefState {
        RefState::default()
    }

    /// One more than the largest index a step may name.
    pub(super) fn indices_max(&self) -> usize {
        self.ports.len().max(self.objs.len())
    }

    fn count(&self, kind: ObjKind) -> usize {
        self.objs.iter().filter(|o| o.kind == kind).count()
    }

    /// Whether `n` more ports fit.
    fn room(&self, n: usize) -> bool {
        self.ports.len() + n <= PORTS_MAX
    }

    fn new_port(&mut self, port: RefPort) -> usize {
        self.ports.push(port);
        self.ports.len() - 1
    }

    fn new_obj(&mut self, kind: ObjKind, owner: Option<usize>) -> usize {
        self.objs.push(RefObj {
            kind,
            refs: 1,
            alive: true,
            live: true,
            lazy_port: None,
            ports: Vec::new(),
            owner,
            suspend_count: 0,
        });
        self.objs.len() - 1
    }

    /// The objects of `kind` whose owner is `owner`.
    pub(super) fn owned_by(&self, owner: usize, kind: ObjKind) -> Vec<usize> {
        (0..self.objs.len())
            .filter(|&o| self.objs[o].kind == kind && self.objs[o].owner == Some(owner))
            .collect()
    }

    fn obj_release(&mut self, o: usize) {
        let obj = &mut self.objs[o];
        obj.refs -= 1;
        if obj.refs > 0 {
            return;
        }
        obj.live = false;
        obj.alive = false;
        // semaphore_free / ipc_voucher_free deallocate the lazy port with mscount 0.
        if let Some(lp) = obj.lazy_port.filter(|_| obj.lazy()) {
            if self.ports[lp].active {
                assert!(
                    !self.ports[lp].armed,
                    "model: freed object with an armed port"
                );
                self.destroy_port(lp);
            }
        }
    }

    /// `ipc_kobject_dealloc_port` + `ipc_port_destroy`, or the destruction of a timer's receive
    /// right: inactive, pointer nilled, label freed, an armed request dropped silently, the
    /// receive right's reference gone; a timer's destroy op releases its timer.
    pub(super) fn destroy_port(&mut self, p: usize) {
        let port = &mut self.ports[p];
        assert!(port.active, "model: destroying a dead port");
        port.active = false;
        port.mscount = 0;
        port.kobject_set = false;
        port.labeled = false;
        if port.armed {
            port.armed = false;
            port.refs -= 1;
        }
        port.refs -= 1;
        if port.kind == Kind::Timer {
            // The timer goes, and with it the send right it kept.
            port.timer_send -= 1;
            port.refs -= 1;
            let timer = port.obj.expect("a timer port names its timer");
            self.obj_release(timer);
        }
    }

    /// One send right goes (the test's or a wrapper's); the no-senders callback runs when it
    /// was the last one of an active, armed port.
    fn drop_send(&mut self, p: usize, wrapped: bool) {
        let port = &mut self.ports[p];
        if wrapped {
            port.wrapped -= 1;
        } else {
            port.held_send -= 1;
        }
        port.refs -= 1;
        if port.active && port.srights() == 0 && port.armed {
            port.armed = false;
            self.no_senders(p);
            self.ports[p].refs -= 1;
        }
    }

    fn no_senders(&mut self, p: usize) {
        let port = self.ports[p].clone();
        match callback(port.ty) {
            Callback::GiveBack => self.obj_release(port.obj.unwrap()),
            Callback::Dealloc => {
                self.destroy_port(p);
                if port.kobject_set {
                    self.obj_release(port.obj.unwrap());
                }
            }
            Callback::SubstOnce => {
                let target = self.ports[p].target.take();
                self.destroy_port(p);
                if let Some(t) = target {
                    self.drop_send(t, true);
                }
            }
            Callback::None => panic!("model: no-senders on {}", ikot_name(port.ty)),
        }
    }

    fn gc(&mut self) {
        for port in &mut self.ports {
            if port.live && port.refs == 0 {
                port.live = false;
            }
        }
    }

    fn live_port(&self, p: usize) -> Option<&RefPort> {
        self.ports.get(p).filter(|r| r.live)
    }

    /// A live object of `kind` whose owner still holds it.
    fn alive(&self, o: usize, kind: ObjKind) -> Option<&RefObj> {
        self.objs.get(o).filter(|r| r.kind == kind && r.alive)
    }

    /// A semaphore or voucher whose owner still holds it.
    fn lazy(&self, o: usize) -> Option<&RefObj> {
        self.objs.get(o).filter(|r| r.lazy() && r.alive)
    }

    /// Whether the kobject behind `p` still has its owner: only then does the kernel make rights
    /// from it, arm, disable or deallocate its port.
    fn owned(&self, p: usize) -> bool {
        let port = &self.ports[p];
        port.kind != Kind::Plain || self.objs[port.obj.unwrap()].alive
    }

    /// `ipc_kobject_dealloc_port(port, mscount, type)` would not panic.
    fn dealloc_legal(&self, p: usize, with_mscount: bool) -> bool {
        let port = &self.ports[p];
        let ms = if with_mscount { port.mscount } else { 0 };
        port.kind == Kind::Plain
            && port.active
            && (port.srights() == 0 || (ms == 0 && !stable(port.ty)))
    }

    /// A plain port its owner leaves to the no-senders callback, which will deallocate it.
    fn left_to_no_senders(&self, p: usize) -> bool {
        let port = &self.ports[p];
        port.active && port.armed && port.srights() > 0 && callback(port.ty) == Callback::Dealloc
    }

    /// An unstable plain port with no request: `ipc_kobject_disable` / `_enable` apply.
    fn toggleable(&self, p: usize) -> bool {
        let port = &self.ports[p];
        self.owned(p) && port.kind == Kind::Plain && !stable(port.ty) && !port.armed
    }

    /// Whether `t` is legal now: what XNU's callers guarantee before they make its calls.
    pub fn preconditions(&self, t: &Transition) -> bool {
        use Transition::*;
        let port = |p: usize| self.live_port(p);
        let task = |o: usize| self.alive(o, ObjKind::Task);
        match *t {
            Audit => true,
            AllocPlain { ty, options, .. } => {
                let armed = options & IPC_KOBJECT_ALLOC_NSREQUEST != 0;
                self.room(1)
                    && options & !PLAIN_ALLOC_OPTIONS == 0
                    && !(armed && ty == PlainType::ThreadControl)
            }
            CreateLazyObject { .. } => {
                self.objs.iter().filter(|o| o.lazy()).count() < LAZY_OBJECTS_MAX
            }
            LazyConvert { o } => self
                .lazy(o)
                .is_some_and(|r| r.lazy_port.is_some() || self.room(1)),
            DestroyLazyObject { o } => self.lazy(o).is_some_and(|r| {
                r.lazy_port
                    .is_none_or(|lp| self.ports[lp].srights() == 0 && !self.ports[lp].armed)
            }),
            MakeSend { p } => port(p).is_some_and(|r| r.kind != Kind::Resume) && self.owned(p),
            CopySend { p } | ReleaseSend { p } => port(p).is_some_and(|r| r.held_send > 0),
            MakeSendOnce { p } => port(p).is_some_and(|r| r.kind != Kind::Timer),
            ReleaseSendOnce { p, .. } => port(p).is_some_and(|r| r.held_sonce > 0),
            NsRequest { p, .. } | MakeSendNsRequest { p, .. } => {
                port(p).is_some_and(RefPort::armable) && self.owned(p)
            }
            Dealloc { p, with_mscount } => {
                port(p).is_some() && self.owned(p) && self.dealloc_legal(p, with_mscount)
            }
            Disable { p } => port(p).is_some() && self.toggleable(p),
            Enable { p } => port(p).is_some_and(|r| r.active) && self.toggleable(p),
            SubstOnce { target } => self.room(1) && port(target).is_some_and(|r| r.held_send > 0),
            Copyout { w } => port(w).is_some_and(|r| {
                r.kind == Kind::Wrapper && r.active && r.held_send > 0 && r.target.is_some()
            }),
            LabelCheck { p } => {
                port(p).is_some_and(|r| r.kind == Kind::Plain && r.active && r.held_send > 0)
            }
            CreateTask => self.count(ObjKind::Task) < TASKS_MAX && self.room(TASK_PORTS.len()),
            TerminateTask { task: o } => task(o).is_some(),
            CreateThread { task: o } => {
                task(o).is_some()
                    && self.count(ObjKind::Thread) < THREADS_MAX
                    && self.room(THREAD_PORTS.len())
            }
            TerminateThread { thread } => self.alive(thread, ObjKind::Thread).is_some(),
            Suspend { task: o } => task(o).is_some_and(|r| r.lazy_port.is_some() || self.room(1)),
            CreateTimer { task: o } => {
                task(o).is_some() && self.count(ObjKind::Timer) < TIMERS_MAX && self.room(1)
            }
            DestroyTimer { p } => port(p).is_some_and(|r| r.kind == Kind::Timer && r.active),
            DestroyPlainObject { o } => self.alive(o, ObjKind::Generic).is_some_and(|r| {
                let p = r.ports[0];
                !self.ports[p].active || self.left_to_no_senders(p) || self.dealloc_legal(p, false)
            }),
        }
    }

    /// Applies a legal step (see [`RefState::preconditions`]).
    pub fn apply(&mut self, t: &Transition) {
        use Transition::*;
        self.expect = Expect::Nothing;
        match *t {
            Audit => {}
            AllocPlain {
                ty,
                options,
                labeled,
            } => self.apply_alloc_plain(ty, options, labeled),
            CreateLazyObject { voucher } => {
                let kind = if voucher {
                    ObjKind::Voucher
                } else {
                    ObjKind::Semaphore
                };
                self.new_obj(kind, None);
            }
            LazyConvert { o } => self.apply_lazy_convert(o),
            DestroyLazyObject { o } => {
                self.objs[o].alive = false;
                self.obj_release(o);
            }
            MakeSend { p } => self.apply_new_right(p, Gain::MakeSend),
            CopySend { p } => self.apply_new_right(p, Gain::CopySend),
            ReleaseSend { p } => self.drop_send(p, false),
            MakeSendOnce { p } => self.apply_new_right(p, Gain::MakeSendOnce),
            ReleaseSendOnce { p, notify } => self.apply_release_sonce(p, notify),
            NsRequest { p, sync } => self.apply_nsrequest(p, sync),
            MakeSendNsRequest { p, .. } => self.apply_make_send_nsrequest(p),
            Dealloc { p, .. } => self.apply_dealloc(p),
            Disable { p } => {
                self.expect = Expect::Kobject(self.ports[p].kobject());
                self.ports[p].kobject_set = false;
            }
            Enable { p } => self.ports[p].kobject_set = true,
            SubstOnce { target } => self.apply_subst_once(target),
            Copyout { w } => self.apply_copyout(w),
            LabelCheck { p } => self.expect = Expect::Allowed(!self.ports[p].labeled),
            CreateTask => {
                let task = self.new_obj(ObjKind::Task, None);
                self.new_own_ports(task, &TASK_PORTS);
            }
            TerminateTask { task } => self.apply_terminate_task(task),
            CreateThread { task } => {
                self.objs[task].refs += 1;
                let thread = self.new_obj(ObjKind::Thread, Some(task));
                self.new_own_ports(thread, &THREAD_PORTS);
            }
            TerminateThread { thread } => self.apply_terminate_thread(thread),
            Suspend { task } => self.apply_suspend(task),
            CreateTimer { task } => {
                let timer = self.new_obj(ObjKind::Timer, Some(task));
                let mut port =
                    RefPort::alloc(Kind::Timer, IKOT_TIMER, RefKobject::Obj(timer), 0, false);
                // mk_timer_create_trap makes a send right for the timer to keep.
                port.timer_send = 1;
                port.mscount = 1;
                port.refs += 1;
                let p = self.new_port(port);
                self.objs[timer].ports.push(p);
            }
            DestroyTimer { p } => self.destroy_port(p),
            DestroyPlainObject { o } => self.apply_destroy_plain_object(o),
        }
        self.gc();
    }

    fn apply_alloc_plain(&mut self, ty: PlainType, options: IpcKobjectAllocOptions, labeled: bool) {
        let o = self.new_obj(ObjKind::Generic, None);
        let port = RefPort::alloc(Kind::Plain, ty.ikot(), RefKobject::Obj(o), options, labeled);
        // The armed request's donated reference.
        self.objs[o].refs += u32::from(port.armed);
        let p = self.new_port(port);
        self.objs[o].ports.push(p);
    }

    /// A new naked right on an active port (one more reference, and for make-send one more in
    /// the make-send count); a dead port yields `IP_DEAD` and no right.
    fn apply_new_right(&mut self, p: usize, gain: Gain) {
        let port = &mut self.ports[p];
        if !port.active {
            self.expect = Expect::Port(None);
            return;
        }
        match gain {
            Gain::MakeSend => {
                port.held_send += 1;
                port.mscount += 1;
            }
            Gain::CopySend => port.held_send += 1,
            Gain::MakeSendOnce => port.held_sonce += 1,
        }
        port.refs += 1;
        self.expect = Expect::Port(Some(p));
    }

    fn apply_lazy_convert(&mut self, o: usize) {
        let ty = if self.objs[o].kind == ObjKind::Voucher {
            IKOT_VOUCHER
        } else {
            IKOT_SEMAPHORE
        };
        // The caller's reference: kept as the donation when the call armed, dropped otherwise.
        self.objs[o].refs += 1;
        let p = match self.objs[o].lazy_port {
            None => {
                let options = IPC_KOBJECT_ALLOC_MAKE_SEND | IPC_KOBJECT_ALLOC_NSREQUEST;
                let p = self.new_port(RefPort::alloc(
                    Kind::Lazy,
                    ty,
                    RefKobject::Obj(o),
                    options,
                    false,
                ));
                self.objs[o].lazy_port = Some(p);
                p
            }
            Some(p) => {
                let port = &mut self.ports[p];
                assert!(port.active, "model: lazy port of a live object is dead");
                port.held_send += 1;
                port.mscount += 1;
                port.refs += 1;
                if port.armed {
                    self.obj_release(o);
                } else {
                    port.armed = true;
                    port.refs += 1;
                }
                p
            }
        };
        self.expect = Expect::Port(Some(p));
    }

    /// `ipc_port_release_sonce`, or the send-once notification: on an active `itk_resume`,
    /// `task_suspension_send_once` releases one hold.
    fn apply_release_sonce(&mut self, p: usize, notify: bool) {
        let port = &mut self.ports[p];
        port.held_sonce -= 1;
        port.refs -= 1;
        if notify && port.kind == Kind::Resume && port.active {
            let task = &mut self.objs[port.obj.unwrap()];
            task.suspend_count = task.suspend_count.saturating_sub(1);
        }
    }

    fn apply_nsrequest(&mut self, p: usize, sync: u32) {
        let port = &mut self.ports[p];
        let kr = if !port.active {
            KERN_INVALID_RIGHT
        } else if port.armed {
            KERN_ALREADY_WAITING
        } else if port.srights() == 0 && sync <= port.mscount {
            KERN_FAILURE
        } else {
            port.armed = true;
            port.refs += 1;
            KERN_SUCCESS
        };
        self.expect = Expect::KrMs(kr, port.mscount);
        if kr == KERN_SUCCESS && port.donates() {
            let o = port.obj.unwrap();
            self.objs[o].refs += 1;
        }
    }

    fn apply_make_send_nsrequest(&mut self, p: usize) {
        let port = &mut self.ports[p];
        let kr = if !port.active {
            KERN_INVALID_RIGHT
        } else {
            port.held_send += 1;
            port.mscount += 1;
            port.refs += 1;
            if port.armed {
                KERN_ALREADY_WAITING
            } else {
                port.armed = true;
                port.refs += 1;
                KERN_SUCCESS
            }
        };
        self.expect = Expect::Kr(kr);
        if kr == KERN_SUCCESS && port.donates() {
            let o = port.obj.unwrap();
            self.objs[o].refs += 1;
        }
    }

    fn apply_dealloc(&mut self, p: usize) {
        let port = self.ports[p].clone();
        self.expect = Expect::Kobject(port.kobject());
        self.destroy_port(p);
        if port.armed && port.donates() {
            // The silently dropped request's donation is the owner's to release.
            self.obj_release(port.obj.unwrap());
        }
    }

    fn apply_subst_once(&mut self, target: usize) {
        self.ports[target].held_send -= 1;
        self.ports[target].wrapped += 1;
        let options = IPC_KOBJECT_ALLOC_MAKE_SEND | IPC_KOBJECT_ALLOC_NSREQUEST;
        let kobject = RefKobject::Port(target);
        self.new_port(RefPort::alloc(
            Kind::Wrapper,
            IKOT_PORT_SUBST_ONCE,
            kobject,
            options,
            true,
        ));
    }

    fn apply_copyout(&mut self, w: usize) {
        let t = self.ports[w].target.take().unwrap();
        self.ports[w].kobject_set = false;
        self.ports[t].wrapped -= 1;
        self.ports[t].held_send += 1;
        self.expect = Expect::Port(Some(t));
        self.drop_send(w, false);
    }

    fn new_own_ports(&mut self, o: usize, ports: &[(IpcKobjectType, bool)]) {
        for &(ty, labeled) in ports {
            let p = self.new_port(RefPort::alloc(
                Kind::Own,
                ty,
                RefKobject::Obj(o),
                0,
                labeled,
            ));
            self.objs[o].ports.push(p);
        }
    }

    /// `task_terminate`, its live threads first: the timers in its space die with it, then its
    /// ports and `itk_resume`, then its creator's reference.
    fn apply_terminate_task(&mut self, task: usize) {
        for thread in self.owned_by(task, ObjKind::Thread) {
            if self.objs[thread].alive {
                self.apply_terminate_thread(thread);
            }
        }
        self.objs[task].alive = false;
        for timer in self.owned_by(task, ObjKind::Timer) {
            let p = self.objs[timer].ports[0];
            if self.ports[p].active {
                self.destroy_port(p);
            }
        }
        for p in self.objs[task].ports.clone() {
            self.destroy_port(p);
        }
        if let Some(p) = self.objs[task].lazy_port {
            self.destroy_port(p);
        }
        self.obj_release(task);
    }

    fn apply_terminate_thread(&mut self, thread: usize) {
        self.objs[thread].alive = false;
        for p in self.objs[thread].ports.clone() {
            self.destroy_port(p);
        }
        self.obj_release(thread);
        self.obj_release(self.objs[thread].owner.expect("a thread's task"));
    }

    fn apply_suspend(&mut self, task: usize) {
        self.objs[task].suspend_count += 1;
        let p = match self.objs[task].lazy_port {
            Some(p) => p,
            None => {
                let resume = RefPort::alloc(
                    Kind::Resume,
                    IKOT_TASK_RESUME,
                    RefKobject::Obj(task),
                    0,
                    false,
                );
                let p = self.new_port(resume);
                self.objs[task].lazy_port = Some(p);
                p
            }
        };
        self.apply_new_right(p, Gain::MakeSendOnce);
    }

    fn apply_destroy_plain_object(&mut self, o: usize) {
        let p = self.objs[o].ports[0];
        if self.ports[p].active && !self.left_to_no_senders(p) {
            self.apply_dealloc(p);
        }
        self.objs[o].alive = false;
        self.obj_release(o);
    }
}

/// Which right a make / copy step gives the caller.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Gain {
    MakeSend,
    CopySend,
    MakeSendOnce,
}
