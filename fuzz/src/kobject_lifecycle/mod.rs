//! The `kobject_lifecycle` target: the seed's functions called directly, in any order their
//! callers in XNU may use them, compared after every step with a reference model of rights and
//! references (`reference.rs`) and audited by the ledger.
//!
//! The harness keeps to the conditions XNU's callers keep (it releases only rights it holds,
//! deallocates a stable port only without send rights, disables only an unarmed unstable port,
//! takes an object reference before arming a notification and gives it back when the arming did
//! not happen); an input only chooses among legal calls.

mod input;
mod reference;

use std::cell::Cell;

pub use input::*;
use kobject::ikot::*;
use kobject::ipc_port::NsRequest;
use kobject::mach::*;
use kobject::{catch, Bugs, Finding, Held, IpcKobject, IpcPort, Kernel, ObjId, ObjKind, Platform};
use kobject::{PortId, SpaceId};
pub use reference::{RefObject, RefPort, Reference};

use crate::mig_dispatch::{GenericKind, TaskPortKind, ThreadPortKind};

/// Lazy kobjects (semaphores, vouchers) a run may create.
pub const LAZY_MAX: usize = 4;
/// Generic objects a run may create.
pub const GENERICS_MAX: usize = 4;
pub const TASKS_MAX: usize = 3;
pub const THREADS_MAX: usize = 3;
pub const TIMERS_MAX: usize = 3;
/// Rights the harness holds at once.
pub const HELD_MAX: usize = 24;

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub steps_run: u32,
    pub steps_skipped: u32,
    pub comparisons: u32,
}

#[derive(Clone, Copy)]
struct HeldRight {
    port: PortId,
    once: bool,
}

struct Lazy {
    obj: ObjId,
    ty: IpcKobjectType,
    owner_alive: bool,
}

struct Generic {
    obj: ObjId,
    port: PortId,
    ty: IpcKobjectType,
    owner_alive: bool,
    disabled: bool,
}

struct Task {
    obj: ObjId,
    space: SpaceId,
    ports: [PortId; 4],
    alive: bool,
}

struct Thread {
    obj: ObjId,
    task: usize,
    ports: [PortId; 3],
    alive: bool,
}

struct Timer {
    task: usize,
    name: MachPortName,
    port: PortId,
    alive: bool,
}

struct World<'k> {
    k: &'k Kernel,
    r: Reference,
    held: Vec<HeldRight>,
    lazies: Vec<Lazy>,
    generics: Vec<Generic>,
    tasks: Vec<Task>,
    threads: Vec<Thread>,
    timers: Vec<Timer>,
    stats: Stats,
}

/// Runs one input on a fresh kernel with `bugs`: `Err` is the first disagreement or finding.
pub fn run_kobject_lifecycle(input: &LifecycleInput, bugs: Bugs) -> Result<Stats, Finding> {
    run_kobject_lifecycle_logged(input, bugs, None)
}

/// As [`run_kobject_lifecycle`], appending one line per step to `log`.
pub fn run_kobject_lifecycle_logged(
    input: &LifecycleInput,
    bugs: Bugs,
    mut log: Option<&mut Vec<String>>,
) -> Result<Stats, Finding> {
    assert!(input.actions.len() <= LIFECYCLE_ACTIONS_MAX);
    kobject::outcome::quiet_findings();
    let step: Cell<Option<usize>> = Cell::new(None);
    let result = catch(|| {
        let k = Kernel::new(Platform::Native, bugs);
        let mut w = World::new(&k);
        for (i, action) in input.actions.iter().enumerate() {
            step.set(Some(i));
            let ran = w.step(*action);
            if let Some(log) = log.as_deref_mut() {
                log.push(format!(
                    "#{i} {action:?} -> {}",
                    if ran { "ran" } else { "skipped" }
                ));
            }
            w.compare()?;
        }
        step.set(None);
        w.teardown()?;
        Ok(w.stats)
    });
    result.and_then(|r| r).map_err(|f| {
        let place = match step.get() {
            Some(i) => format!("at step #{i} of {}", input.actions.len()),
            None => "at teardown".to_string(),
        };
        Finding {
            message: format!("{place}: {}", f.message),
            ..f
        }
    })
}

fn pick(len: usize, pick: u8) -> Option<usize> {
    (len > 0).then(|| usize::from(pick) % len)
}

fn pick_where<T>(items: &[T], pick: u8, ok: impl Fn(&T) -> bool) -> Option<usize> {
    let live: Vec<usize> = (0..items.len()).filter(|&i| ok(&items[i])).collect();
    (!live.is_empty()).then(|| live[usize::from(pick) % live.len()])
}

fn generic_type(kind: GenericKind) -> IpcKobjectType {
    match kind {
        GenericKind::IokitObject => IKOT_IOKIT_OBJECT,
        GenericKind::IokitConnect => IKOT_IOKIT_CONNECT,
        GenericKind::Eventlink => IKOT_EVENTLINK,
        GenericKind::UndReply => IKOT_UND_REPLY,
        GenericKind::NamedEntry => IKOT_NAMED_ENTRY,
        GenericKind::TaskIdToken => IKOT_TASK_ID_TOKEN,
    }
}

fn disagree(message: String) -> Finding {
    Finding::violation("lifecycle-reference", message)
}

impl<'k> World<'k> {
    fn new(k: &'k Kernel) -> World<'k> {
        World {
            k,
            r: Reference::default(),
            held: Vec::new(),
            lazies: Vec::new(),
            generics: Vec::new(),
            tasks: Vec::new(),
            threads: Vec::new(),
            timers: Vec::new(),
            stats: Stats::default(),
        }
    }

    fn step(&mut self, action: LifeAction) -> bool {
        let ran = self.dispatch(action).is_some();
        if ran {
            self.stats.steps_run += 1;
        } else {
            self.stats.steps_skipped += 1;
        }
        ran
    }

    /// `None` when the action does not apply now.
    fn dispatch(&mut self, action: LifeAction) -> Option<()> {
        match action {
            LifeAction::CreateLazy { voucher } => self.create_lazy(voucher),
            LifeAction::Convert { object } => self.convert(object),
            LifeAction::DestroyLazy { object } => {
                let i = pick_where(&self.lazies, object, |l| l.owner_alive)?;
                self.destroy_lazy(i);
                Some(())
            }
            LifeAction::CopySend { right } => self.copy_send(right),
            LifeAction::MakeSendOnce { right } => self.make_sonce(right),
            LifeAction::Release { right, notify } => {
                let i = pick(self.held.len(), right)?;
                let held = self.held.remove(i);
                self.release(held, notify);
                Some(())
            }
            LifeAction::SubstOnce { right } => self.subst_once(right),
            LifeAction::CreateTask => self.create_task(),
            LifeAction::TerminateTask { task } => {
                let t = pick_where(&self.tasks, task, |t| t.alive)?;
                self.terminate_task(t);
                Some(())
            }
            LifeAction::CreateThread { task } => self.create_thread(task),
            LifeAction::TerminateThread { thread } => {
                let th = pick_where(&self.threads, thread, |t| t.alive)?;
                self.terminate_thread(th);
                Some(())
            }
            LifeAction::MakeSendTask { task, which } => self.make_send_task(task, which),
            LifeAction::MakeSendThread { thread, which } => self.make_send_thread(thread, which),
            LifeAction::Suspend { task } => self.suspend(task),
            LifeAction::CreateGeneric {
                kind,
                make_send,
                nsrequest,
            } => self.create_generic(kind, make_send, nsrequest),
            LifeAction::MakeSendNsrequest { generic } => self.make_send_nsrequest(generic),
            LifeAction::Nsrequest { generic, sync } => self.nsrequest(generic, sync),
            LifeAction::DeallocGeneric { generic } => {
                let g = pick_where(&self.generics, generic, |g| g.owner_alive)?;
                self.dealloc_generic(g)
            }
            LifeAction::DisableGeneric { generic } => self.disable_generic(generic, true),
            LifeAction::EnableGeneric { generic } => self.disable_generic(generic, false),
            LifeAction::DestroyGeneric { generic } => {
                let g = pick_where(&self.generics, generic, |g| g.owner_alive)?;
                self.destroy_generic(g)
            }
            LifeAction::CreateTimer { task } => self.create_timer(task),
            LifeAction::DestroyTimer { timer } => self.destroy_timer(timer),
            LifeAction::MakeSendTimer { timer } => self.make_send_timer(timer),
        }
    }

    /// Room for one more held right.
    fn hold(&self) -> Option<()> {
        (self.held.len() < HELD_MAX).then_some(())
    }

    fn is_timer_port(&self, p: PortId) -> bool {
        self.timers.iter().any(|t| t.port == p)
    }

    // ---- lazy kobjects ----

    fn create_lazy(&mut self, voucher: bool) -> Option<()> {
        if self.lazies.len() >= LAZY_MAX {
            return None;
        }
        let (obj, ty) = if voucher {
            (self.k.ipc_voucher_create(), IKOT_VOUCHER)
        } else {
            (self.k.semaphore_create(), IKOT_SEMAPHORE)
        };
        self.r.object_new(obj, ty);
        self.lazies.push(Lazy {
            obj,
            ty,
            owner_alive: true,
        });
        Some(())
    }

    fn convert(&mut self, object: u8) -> Option<()> {
        let i = pick_where(&self.lazies, object, |l| l.owner_alive)?;
        self.hold()?;
        let Lazy { obj, ty, .. } = self.lazies[i];
        self.k.object_reference(obj);
        self.r.object_reference(obj);
        let port = self.k.convert_lazy_object_to_port(obj);
        let IpcPort::Port(p) = port else {
            disagree(format!("convert of live {obj} gave {port:?}")).raise();
        };
        self.r.convert_lazy(obj, Some(p), ty);
        self.held.push(HeldRight {
            port: p,
            once: false,
        });
        Some(())
    }

    fn destroy_lazy(&mut self, i: usize) {
        self.lazies[i].owner_alive = false;
        self.k.object_destroy(self.lazies[i].obj);
        self.r.object_release(self.lazies[i].obj);
    }

    // ---- held rights ----

    fn copy_send(&mut self, right: u8) -> Option<()> {
        let i = pick_where(&self.held, right, |h| !h.once)?;
        self.hold()?;
        let p = self.held[i].port;
        let copy = self.k.ipc_port_copy_send_any(IpcPort::Port(p));
        if self.r.port(p).active {
            self.r.copy_send(p);
            self.held.push(HeldRight {
                port: p,
                once: false,
            });
        } else {
            assert_eq!(copy, IpcPort::Dead, "copy-send of a dead port");
        }
        Some(())
    }

    fn make_sonce(&mut self, right: u8) -> Option<()> {
        let i = pick(self.held.len(), right)?;
        self.hold()?;
        let p = self.held[i].port;
        if self.is_timer_port(p) {
            return None;
        }
        let sonce = self.k.ipc_port_make_sonce(IpcPort::Port(p));
        if self.r.port(p).active {
            self.r.make_sonce(p);
            self.held.push(HeldRight {
                port: p,
                once: true,
            });
        } else {
            assert_eq!(sonce, IpcPort::Dead, "make-send-once of a dead port");
        }
        Some(())
    }

    fn release(&mut self, held: HeldRight, notify: bool) {
        let port = IpcPort::Port(held.port);
        match (held.once, notify) {
            (false, _) => {
                self.k.ipc_port_release_send(port);
                self.r.release_send(held.port);
            }
            (true, false) => {
                self.k.ipc_port_release_sonce(port);
                self.r.release_sonce(held.port);
            }
            (true, true) => {
                self.k
                    .ipc_object_destroy(port, MACH_MSG_TYPE_PORT_SEND_ONCE);
                self.r.destroy_sonce(held.port);
            }
        }
    }

    fn subst_once(&mut self, right: u8) -> Option<()> {
        let i = pick_where(&self.held, right, |h| !h.once)?;
        self.hold()?;
        let p = self.held[i].port;
        if !self.r.port(p).active || self.is_timer_port(p) {
            return None;
        }
        let target = self.k.ipc_port_make_send_any(IpcPort::Port(p));
        self.r.make_send(p);
        let IpcPort::Port(w) = self.k.ipc_kobject_alloc_subst_once(target) else {
            disagree(format!("subst-once of active {p} made no wrapper")).raise();
        };
        self.r.port_new(
            w,
            IKOT_PORT_SUBST_ONCE,
            IpcKobject::Port(p),
            IPC_KOBJECT_ALLOC_MAKE_SEND | IPC_KOBJECT_ALLOC_NSREQUEST,
        );
        self.held.push(HeldRight {
            port: w,
            once: false,
        });
        Some(())
    }

    // ---- tasks, threads, timers ----

    fn create_task(&mut self) -> Option<()> {
        if self.tasks.len() >= TASKS_MAX {
            return None;
        }
        let (obj, space) = self.k.task_create(IPC_LABEL_NONE)?;
        self.r.object_new(obj, IKOT_NONE);
        let kinds = [
            IKOT_TASK_CONTROL,
            IKOT_TASK_CONTROL,
            IKOT_TASK_READ,
            IKOT_TASK_NAME,
        ];
        let mut ports = [None; 4];
        for (i, ty) in kinds.into_iter().enumerate() {
            let p = self.k.object_port(obj, i).id();
            self.r.port_new(p, ty, IpcKobject::Object(obj), 0);
            ports[i] = Some(p);
        }
        self.tasks.push(Task {
            obj,
            space,
            ports: ports.map(|p| p.expect("every task port")),
            alive: true,
        });
        Some(())
    }

    fn terminate_task(&mut self, t: usize) {
        for th in 0..self.threads.len() {
            if self.threads[th].alive && self.threads[th].task == t {
                self.terminate_thread(th);
            }
        }
        self.tasks[t].alive = false;
        let task = self.tasks[t].obj;
        self.k.task_terminate(task);
        // ipc_space_terminate: the timers the space received die first.
        for i in 0..self.timers.len() {
            if self.timers[i].alive && self.timers[i].task == t {
                self.timer_died(i);
            }
        }
        for p in self.tasks[t].ports {
            self.r.dealloc(p);
        }
        let resume = self.r.objects.get(&task).and_then(|o| o.lazy_port);
        if let Some(p) = resume {
            self.r.dealloc(p);
        }
        self.r.object_release(task);
    }

    fn create_thread(&mut self, task: u8) -> Option<()> {
        if self.threads.len() >= THREADS_MAX {
            return None;
        }
        let t = pick_where(&self.tasks, task, |t| t.alive)?;
        let task_obj = self.tasks[t].obj;
        let obj = self.k.thread_create(task_obj);
        self.r.object_reference(task_obj);
        self.r.object_new(obj, IKOT_NONE);
        let kinds = [IKOT_THREAD_CONTROL, IKOT_THREAD_CONTROL, IKOT_THREAD_READ];
        let mut ports = [None; 3];
        for (i, ty) in kinds.into_iter().enumerate() {
            let p = self.k.object_port(obj, i).id();
            self.r.port_new(p, ty, IpcKobject::Object(obj), 0);
            ports[i] = Some(p);
        }
        self.threads.push(Thread {
            obj,
            task: t,
            ports: ports.map(|p| p.expect("every thread port")),
            alive: true,
        });
        Some(())
    }

    fn terminate_thread(&mut self, th: usize) {
        self.threads[th].alive = false;
        let Thread {
            obj, task, ports, ..
        } = self.threads[th];
        self.k.thread_terminate(obj);
        for p in ports {
            self.r.dealloc(p);
        }
        self.r.object_release(obj);
        self.r.object_release(self.tasks[task].obj);
    }

    /// `ipc_kobject_make_send` on an object's own port (a dead port gives `IP_DEAD`).
    fn make_send_kobject(&mut self, o: ObjId, p: PortId, ty: IpcKobjectType) -> Option<()> {
        if !self.r.ports.contains_key(&p) {
            return None;
        }
        self.hold()?;
        let right = self
            .k
            .ipc_kobject_make_send(IpcPort::Port(p), IpcKobject::Object(o), ty);
        if self.r.port(p).active {
            self.r.make_send(p);
            self.held.push(HeldRight {
                port: p,
                once: false,
            });
        } else if right != IpcPort::Dead {
            disagree(format!("make-send on dead {p} gave {right:?}")).raise();
        }
        Some(())
    }

    fn suspend(&mut self, task: u8) -> Option<()> {
        let t = pick_where(&self.tasks, task, |t| t.alive)?;
        self.hold()?;
        let task = self.tasks[t].obj;
        let sonce = self.k.task_suspend2(task);
        let IpcPort::Port(p) = sonce else {
            disagree(format!("task_suspend2 of live {task} gave {sonce:?}")).raise();
        };
        self.r.suspend(task, p);
        self.held.push(HeldRight {
            port: p,
            once: true,
        });
        Some(())
    }

    fn create_timer(&mut self, task: u8) -> Option<()> {
        if self.timers.len() >= TIMERS_MAX {
            return None;
        }
        let t = pick_where(&self.tasks, task, |t| t.alive)?;
        let (name, port) = self.k.mk_timer_create(self.tasks[t].space)?;
        let IpcKobject::Object(timer) = self.k.ip_mq_lock(port).ip_kobject.value else {
            disagree(format!("timer port {port} has no timer")).raise();
        };
        self.r.object_new(timer, IKOT_NONE);
        self.r
            .port_new(port, IKOT_TIMER, IpcKobject::Object(timer), 0);
        self.timers.push(Timer {
            task: t,
            name,
            port,
            alive: true,
        });
        Some(())
    }

    fn timer_died(&mut self, i: usize) {
        self.timers[i].alive = false;
        self.r.destroy(self.timers[i].port);
    }

    fn make_send_task(&mut self, task: u8, which: TaskPortKind) -> Option<()> {
        let t = pick(self.tasks.len(), task)?;
        let (o, p) = (self.tasks[t].obj, self.tasks[t].ports[which as usize]);
        let ty = match which {
            TaskPortKind::Control | TaskPortKind::SelfPinned => IKOT_TASK_CONTROL,
            TaskPortKind::Read => IKOT_TASK_READ,
            TaskPortKind::Name => IKOT_TASK_NAME,
        };
        self.make_send_kobject(o, p, ty)
    }

    fn make_send_thread(&mut self, thread: u8, which: ThreadPortKind) -> Option<()> {
        let th = pick(self.threads.len(), thread)?;
        let (o, p) = (self.threads[th].obj, self.threads[th].ports[which as usize]);
        let ty = match which {
            ThreadPortKind::Read => IKOT_THREAD_READ,
            _ => IKOT_THREAD_CONTROL,
        };
        self.make_send_kobject(o, p, ty)
    }

    fn destroy_timer(&mut self, timer: u8) -> Option<()> {
        let i = pick_where(&self.timers, timer, |t| t.alive)?;
        let Timer { task, name, .. } = self.timers[i];
        let kr = self.k.mach_port_destroy(self.tasks[task].space, name);
        assert_eq!(
            kr, KERN_SUCCESS,
            "the timer's receive right is in the space"
        );
        self.timer_died(i);
        Some(())
    }

    fn make_send_timer(&mut self, timer: u8) -> Option<()> {
        let i = pick_where(&self.timers, timer, |t| t.alive)?;
        self.hold()?;
        let p = self.timers[i].port;
        let right = self.k.ipc_port_make_send_any(IpcPort::Port(p));
        assert_eq!(right, IpcPort::Port(p), "a live timer port is active");
        self.r.make_send(p);
        self.held.push(HeldRight {
            port: p,
            once: false,
        });
        Some(())
    }

    // ---- generic objects ----

    fn create_generic(
        &mut self,
        kind: GenericKind,
        make_send: bool,
        nsrequest: bool,
    ) -> Option<()> {
        if self.generics.len() >= GENERICS_MAX {
            return None;
        }
        self.hold()?;
        let ty = generic_type(kind);
        let options = if make_send {
            IPC_KOBJECT_ALLOC_MAKE_SEND
        } else {
            0
        } | if nsrequest {
            IPC_KOBJECT_ALLOC_NSREQUEST
        } else {
            0
        };
        let k = self.k;
        let obj = k.object_alloc(ObjKind::Generic, None);
        self.r.object_new(obj, IKOT_NONE);
        let port = k.ipc_kobject_alloc_port(IpcKobject::Object(obj), ty, options);
        self.r.port_new(port, ty, IpcKobject::Object(obj), options);
        if nsrequest {
            // The armed request owns a donated object reference.
            k.object_reference(obj);
            self.r.object_reference(obj);
        }
        if make_send {
            self.held.push(HeldRight { port, once: false });
        }
        self.generics.push(Generic {
            obj,
            port,
            ty,
            owner_alive: true,
            disabled: false,
        });
        Some(())
    }

    /// An owned generic whose port is active and enabled.
    fn armable(&self, generic: u8) -> Option<usize> {
        pick_where(&self.generics, generic, |g| {
            g.owner_alive && !g.disabled && self.r.ports.get(&g.port).is_some_and(|p| p.active)
        })
    }

    fn make_send_nsrequest(&mut self, generic: u8) -> Option<()> {
        let g = self.armable(generic)?;
        self.hold()?;
        let Generic { obj, port, ty, .. } = self.generics[g];
        let k = self.k;
        k.object_reference(obj);
        self.r.object_reference(obj);
        let kr =
            k.ipc_kobject_make_send_nsrequest(IpcPort::Port(port), IpcKobject::Object(obj), ty);
        self.r.make_send(port);
        let want = self.r.nsrequest(port, 0);
        self.held.push(HeldRight { port, once: false });
        self.settle_donation(obj, kr, want, "ipc_kobject_make_send_nsrequest")
    }

    fn nsrequest(&mut self, generic: u8, sync: u8) -> Option<()> {
        let g = self.armable(generic)?;
        let Generic { obj, port, .. } = self.generics[g];
        let k = self.k;
        k.object_reference(obj);
        self.r.object_reference(obj);
        let want_mscount = self.r.port(port).mscount;
        let (kr, mscount) = k.ipc_kobject_nsrequest(IpcPort::Port(port), u32::from(sync));
        let want = self.r.nsrequest(port, u32::from(sync));
        if mscount != want_mscount {
            return Err(disagree(format!(
                "ipc_kobject_nsrequest({port}) reported mscount {mscount}, want {want_mscount}"
            )))
            .ok();
        }
        self.settle_donation(obj, kr, want, "ipc_kobject_nsrequest")
    }

    /// The reference taken before arming stays with the request on success, else goes back.
    fn settle_donation(
        &mut self,
        obj: ObjId,
        kr: KernReturn,
        want: KernReturn,
        call: &str,
    ) -> Option<()> {
        if kr != want {
            disagree(format!("{call} returned {kr}, want {want}")).raise();
        }
        if kr != KERN_SUCCESS {
            self.k.object_release(obj);
            self.r.object_release(obj);
        }
        Some(())
    }

    /// `ipc_kobject_dealloc_port`, when XNU's checks allow it; an armed request's donated
    /// reference is given back by the owner.
    fn dealloc_generic(&mut self, g: usize) -> Option<()> {
        let Generic { obj, port, ty, .. } = self.generics[g];
        let rp = *self.r.ports.get(&port).filter(|p| p.active)?;
        if self.k.ipc_kobject_ops_get(ty).iko_op_stable && rp.srights > 0 {
            return None;
        }
        let got = self.k.ipc_kobject_dealloc_port(port, 0, ty);
        let want = self.r.dealloc(port);
        if got != want {
            disagree(format!(
                "ipc_kobject_dealloc_port({port}) returned {got:?}, want {want:?}"
            ))
            .raise();
        }
        if rp.armed {
            self.k.object_release(obj);
            self.r.object_release(obj);
        }
        Some(())
    }

    fn disable_generic(&mut self, generic: u8, disable: bool) -> Option<()> {
        let g = pick_where(&self.generics, generic, |g| {
            g.owner_alive && g.disabled != disable
        })?;
        let Generic { obj, port, ty, .. } = self.generics[g];
        let rp = *self.r.ports.get(&port).filter(|p| p.active)?;
        if self.k.ipc_kobject_ops_get(ty).iko_op_stable || rp.armed {
            return None;
        }
        if disable {
            let got = self.k.ipc_kobject_disable(port, ty);
            if got != IpcKobject::Object(obj) {
                disagree(format!(
                    "ipc_kobject_disable({port}) returned {got:?}, want {obj}"
                ))
                .raise();
            }
            self.r.ports.get_mut(&port).expect("live").kobject = IpcKobject::Null;
        } else {
            self.k.ipc_kobject_enable(port, IpcKobject::Object(obj), ty);
            self.r.ports.get_mut(&port).expect("live").kobject = IpcKobject::Object(obj);
        }
        self.generics[g].disabled = disable;
        Some(())
    }

    /// The owner lets go: the port is deallocated first unless an armed request with send
    /// rights outstanding will do it (and give the object back) when they are gone.
    fn destroy_generic(&mut self, g: usize) -> Option<()> {
        let Generic { obj, port, ty, .. } = self.generics[g];
        if let Some(rp) = self.r.ports.get(&port).filter(|p| p.active).copied() {
            if !rp.armed || rp.srights == 0 {
                let stable = self.k.ipc_kobject_ops_get(ty).iko_op_stable;
                if stable && rp.srights > 0 {
                    return None;
                }
                self.dealloc_generic(g)?;
            }
        }
        self.generics[g].owner_alive = false;
        self.k.object_destroy(obj);
        self.r.object_release(obj);
        Some(())
    }

    // ---- comparison and teardown ----

    /// Compares every port and object the reference knows with the model, then audits.
    fn compare(&mut self) -> Result<(), Finding> {
        self.stats.comparisons += 1;
        let k = self.k;
        for p in std::mem::take(&mut self.r.freed_ports) {
            if k.port_is_live(p) {
                return Err(disagree(format!("{p} should have been freed")));
            }
        }
        for o in std::mem::take(&mut self.r.freed_objects) {
            if k.object_is_live(o) {
                return Err(disagree(format!("{o} should have been freed")));
            }
        }
        for (&p, want) in &self.r.ports {
            self.compare_port(p, want)?;
        }
        for (&o, want) in &self.r.objects {
            self.compare_object(o, want)?;
        }
        let held: Vec<Held> = self
            .held
            .iter()
            .map(|h| {
                if h.once {
                    Held::SendOnce(h.port)
                } else {
                    Held::Send(h.port)
                }
            })
            .collect();
        k.audit(&held)
    }

    fn compare_port(&self, p: PortId, want: &RefPort) -> Result<(), Finding> {
        let k = self.k;
        if !k.port_is_live(p) {
            return Err(disagree(format!(
                "{p} was freed; the reference has {want:?}"
            )));
        }
        let g = k.ip_mq_lock(p);
        let got = RefPort {
            ty: g.ip_kotype(),
            kobject: g.ip_kobject.value,
            srights: g.ip_srights,
            sorights: g.ip_sorights,
            mscount: g.ip_mscount,
            refs: g.refs(),
            armed: g.ip_nsrequest == NsRequest::KobjectArmed,
            active: g.ip_active(),
        };
        drop(g);
        if got != *want {
            return Err(disagree(format!("{p}: model {got:?}, reference {want:?}")));
        }
        Ok(())
    }

    fn compare_object(&self, o: ObjId, want: &RefObject) -> Result<(), Finding> {
        let k = self.k;
        if !k.object_is_live(o) {
            return Err(disagree(format!(
                "{o} was freed; the reference has {want:?}"
            )));
        }
        let refs = k.object_refs(o);
        let suspend_count = k.object_state(o).suspend_count;
        if refs != want.refs || suspend_count != want.suspend_count {
            return Err(disagree(format!(
                "{o} ({:?}): model refs {refs} suspend {suspend_count}, reference {want:?}",
                k.object_kind(o)
            )));
        }
        Ok(())
    }

    /// Drops every held right, ends every task, thread and object, and checks for leaks.
    fn teardown(&mut self) -> Result<(), Finding> {
        while let Some(held) = self.held.pop() {
            self.release(held, true);
        }
        self.compare()?;
        for t in 0..self.tasks.len() {
            if self.tasks[t].alive {
                self.terminate_task(t);
            }
        }
        for g in 0..self.generics.len() {
            if self.generics[g].owner_alive {
                self.destroy_generic(g)
                    .expect("with no rights held, a generic object can always go");
            }
        }
        for i in 0..self.lazies.len() {
            if self.lazies[i].owner_alive {
                self.destroy_lazy(i);
            }
        }
        self.compare()?;
        self.k.audit_teardown()
    }
}

/// Seeds: each family of calls in a short legal order.
pub fn seeds() -> Vec<(String, LifecycleInput)> {
    use LifeAction::*;
    let seq = |name: &str, actions: Vec<LifeAction>| (name.to_string(), LifecycleInput { actions });
    vec![
        seq(
            "lazy-semaphore",
            vec![
                CreateLazy { voucher: false },
                Convert { object: 0 },
                Convert { object: 0 },
                CopySend { right: 0 },
                Release {
                    right: 0,
                    notify: false,
                },
                Release {
                    right: 0,
                    notify: false,
                },
                Release {
                    right: 0,
                    notify: false,
                },
                Convert { object: 0 },
                DestroyLazy { object: 0 },
                Release {
                    right: 0,
                    notify: false,
                },
            ],
        ),
        seq(
            "voucher-and-send-once",
            vec![
                CreateLazy { voucher: true },
                Convert { object: 0 },
                MakeSendOnce { right: 0 },
                Release {
                    right: 1,
                    notify: true,
                },
                SubstOnce { right: 0 },
                Release {
                    right: 0,
                    notify: false,
                },
                Release {
                    right: 0,
                    notify: false,
                },
            ],
        ),
        seq(
            "task-thread-ports",
            vec![
                CreateTask,
                CreateThread { task: 0 },
                MakeSendTask {
                    task: 0,
                    which: TaskPortKind::Control,
                },
                MakeSendTask {
                    task: 0,
                    which: TaskPortKind::Read,
                },
                MakeSendThread {
                    thread: 0,
                    which: ThreadPortKind::Control,
                },
                SubstOnce { right: 0 },
                Suspend { task: 0 },
                Suspend { task: 0 },
                Release {
                    right: 5,
                    notify: true,
                },
                MakeSendTask {
                    task: 0,
                    which: TaskPortKind::Name,
                },
                TerminateThread { thread: 0 },
                TerminateTask { task: 0 },
                MakeSendTask {
                    task: 0,
                    which: TaskPortKind::Name,
                },
                Release {
                    right: 0,
                    notify: false,
                },
            ],
        ),
        seq(
            "generic-arm-dealloc",
            vec![
                CreateGeneric {
                    kind: GenericKind::IokitObject,
                    make_send: true,
                    nsrequest: true,
                },
                MakeSendNsrequest { generic: 0 },
                Release {
                    right: 0,
                    notify: false,
                },
                Release {
                    right: 0,
                    notify: false,
                },
                CreateGeneric {
                    kind: GenericKind::Eventlink,
                    make_send: false,
                    nsrequest: false,
                },
                DisableGeneric { generic: 1 },
                EnableGeneric { generic: 0 },
                Nsrequest {
                    generic: 0,
                    sync: 0,
                },
                Nsrequest {
                    generic: 0,
                    sync: 5,
                },
                DeallocGeneric { generic: 1 },
                CreateGeneric {
                    kind: GenericKind::NamedEntry,
                    make_send: true,
                    nsrequest: false,
                },
                Release {
                    right: 0,
                    notify: false,
                },
                DestroyGeneric { generic: 2 },
                DestroyGeneric { generic: 0 },
            ],
        ),
        seq(
            "timers",
            vec![
                CreateTask,
                CreateTimer { task: 0 },
                MakeSendTimer { timer: 0 },
                DestroyTimer { timer: 0 },
                CreateTimer { task: 0 },
                TerminateTask { task: 0 },
                Release {
                    right: 0,
                    notify: false,
                },
            ],
        ),
    ]
}
