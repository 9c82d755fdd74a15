//! The state a `mig_dispatch` run keeps beside the kernel: its tasks, threads and objects, and
//! how each action maps onto the model's API.

use std::collections::BTreeSet;

use kobject::ikot::*;
use kobject::ipc_kmsg::KDescriptor;
use kobject::ipc_space::IE_BITS_RECEIVE;
use kobject::kernel::IPC_SPACE_KERNEL;
use kobject::kobjects::*;
use kobject::mach::*;
use kobject::mach_msg::{UserDescriptor, UserMsg};
use kobject::{Finding, IpcKobject, IpcPort, Kernel, ObjId, PortId, SpaceId, IP_VALID};

use super::*;

struct TaskSlot {
    task: ObjId,
    space: SpaceId,
    alive: bool,
    /// Names actions gave this task, oldest first, at most `NAMES_MAX`.
    names: Vec<MachPortName>,
}

struct ThreadSlot {
    thread: ObjId,
    task: usize,
    alive: bool,
}

#[derive(Clone, Copy)]
enum ObjectKind {
    Semaphore,
    LabeledSemaphore(IpcLabel),
    Voucher,
    Generic { port: PortId, ty: IpcKobjectType },
}

struct ObjectSlot {
    obj: ObjId,
    kind: ObjectKind,
    /// The creator's reference is still ours (semaphores, vouchers; a generic object's goes to
    /// its armed port at once).
    owner_alive: bool,
}

/// A right the kernel made for the harness, or a name it already put in the space.
enum Made {
    Right {
        port: IpcPort,
        msgt: MachMsgTypeName,
        space_labeled: bool,
    },
    InSpace(MachPortName),
}

const PERMANENT_KINDS: usize = 6;

pub(super) struct World<'k> {
    k: &'k Kernel,
    host: Option<(ObjId, PortId, PortId)>,
    permanent: [Option<(ObjId, PortId)>; PERMANENT_KINDS],
    tasks: Vec<TaskSlot>,
    threads: Vec<ThreadSlot>,
    objects: Vec<ObjectSlot>,
    pub(super) stats: Stats,
}

impl<'k> World<'k> {
    pub(super) fn new(k: &'k Kernel) -> World<'k> {
        World {
            k,
            host: None,
            permanent: [None; PERMANENT_KINDS],
            tasks: Vec::new(),
            threads: Vec::new(),
            objects: Vec::new(),
            stats: Stats::default(),
        }
    }

    pub(super) fn step(&mut self, action: &Action) -> Outcome {
        let outcome = self.dispatch(action);
        if matches!(outcome, Outcome::Skipped(_)) {
            self.stats.actions_skipped += 1;
        } else {
            self.stats.actions_run += 1;
        }
        outcome
    }

    fn dispatch(&mut self, action: &Action) -> Outcome {
        let k = self.k;
        match *action {
            Action::CreateTask(label) => self.create_task(label.value()),
            Action::TerminateTask { task } => self.terminate_task(task),
            Action::CreateThread { task } => self.create_thread(task),
            Action::TerminateThread { thread } => self.terminate_thread(thread),
            Action::GetPort { task, source, wrap } => self.get_port(task, source, wrap),
            Action::AllocatePort { task } => {
                self.with_task(task, |w, t| match k.mach_port_allocate(w.tasks[t].space) {
                    Ok(name) => w.remember(t, name),
                    Err(kr) => Outcome::Kr(kr),
                })
            }
            Action::InsertSend { task, name } => self.with_task(task, |w, t| {
                let n = w.resolve(t, name);
                Outcome::Kr(k.mach_port_insert_send(w.tasks[t].space, n))
            }),
            Action::Send(ref msg) => self.send(msg),
            Action::Receive { task, name } => self.receive(task, name),
            Action::Deallocate { task, name } => self.with_task(task, |w, t| {
                let n = w.resolve(t, name);
                Outcome::Kr(k.mach_port_deallocate(w.tasks[t].space, n))
            }),
            Action::ModRefs {
                task,
                name,
                right,
                delta,
            } => self.with_task(task, |w, t| {
                let n = w.resolve(t, name);
                let space = w.tasks[t].space;
                Outcome::Kr(k.mach_port_mod_refs(space, n, u32::from(right), i32::from(delta)))
            }),
            Action::DestroyName { task, name } => self.with_task(task, |w, t| {
                let n = w.resolve(t, name);
                Outcome::Kr(k.mach_port_destroy(w.tasks[t].space, n))
            }),
            Action::DestroyObject { object } => self.destroy_object(object),
        }
    }

    // ---- tasks and threads ----

    fn create_task(&mut self, label: IpcLabel) -> Outcome {
        if self.tasks.len() >= TASKS_MAX {
            return Outcome::Skipped("tasks_max reached");
        }
        let Some((task, space)) = self.k.task_create(label) else {
            return Outcome::Skipped("task_create failed");
        };
        self.tasks.push(TaskSlot {
            task,
            space,
            alive: true,
            names: Vec::new(),
        });
        Outcome::Done
    }

    /// The live task `pick` selects; with none alive, a first unlabeled task is made.
    fn task_index(&mut self, pick: u8) -> Option<usize> {
        if !self.tasks.iter().any(|t| t.alive) {
            self.create_task(IPC_LABEL_NONE);
        }
        pick_alive(self.tasks.iter().map(|t| t.alive), pick)
    }

    fn with_task(&mut self, pick: u8, f: impl FnOnce(&mut Self, usize) -> Outcome) -> Outcome {
        match self.task_index(pick) {
            Some(t) => f(self, t),
            None => Outcome::Skipped("no live task"),
        }
    }

    fn terminate_task(&mut self, pick: u8) -> Outcome {
        let Some(t) = pick_alive(self.tasks.iter().map(|t| t.alive), pick) else {
            return Outcome::Skipped("no live task");
        };
        self.terminate_task_at(t);
        Outcome::Done
    }

    /// XNU terminates a task's threads before the task itself.
    fn terminate_task_at(&mut self, t: usize) {
        assert!(self.tasks[t].alive);
        for th in 0..self.threads.len() {
            if self.threads[th].alive && self.threads[th].task == t {
                self.threads[th].alive = false;
                self.k.thread_terminate(self.threads[th].thread);
            }
        }
        self.tasks[t].alive = false;
        self.tasks[t].names.clear();
        self.k.task_terminate(self.tasks[t].task);
    }

    fn create_thread(&mut self, pick: u8) -> Outcome {
        if self.threads.len() >= THREADS_MAX {
            return Outcome::Skipped("threads_max reached");
        }
        let Some(t) = self.task_index(pick) else {
            return Outcome::Skipped("no live task");
        };
        let thread = self.k.thread_create(self.tasks[t].task);
        self.threads.push(ThreadSlot {
            thread,
            task: t,
            alive: true,
        });
        Outcome::Done
    }

    fn terminate_thread(&mut self, pick: u8) -> Outcome {
        let Some(th) = pick_alive(self.threads.iter().map(|t| t.alive), pick) else {
            return Outcome::Skipped("no live thread");
        };
        self.threads[th].alive = false;
        self.k.thread_terminate(self.threads[th].thread);
        Outcome::Done
    }

    // ---- names ----

    fn remember(&mut self, t: usize, name: MachPortName) -> Outcome {
        let names = &mut self.tasks[t].names;
        if name != MACH_PORT_NULL && name != MACH_PORT_DEAD && names.len() < NAMES_MAX {
            names.push(name);
        }
        Outcome::Named(name)
    }

    fn resolve(&self, t: usize, name: Name) -> MachPortName {
        match name {
            Name::Recent(i) => {
                let names = &self.tasks[t].names;
                match names.len() {
                    0 => MACH_PORT_NULL,
                    n => names[n - 1 - usize::from(i) % n],
                }
            }
            Name::Nth(i) => {
                let names = &self.tasks[t].names;
                match names.len() {
                    0 => MACH_PORT_NULL,
                    n => names[usize::from(i) % n],
                }
            }
            Name::Index(i) => {
                let sg = self.k.is_write_lock(self.tasks[t].space);
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
        }
    }

    // ---- kernel-made rights ----

    fn get_port(&mut self, pick: u8, source: Source, wrap: Wrap) -> Outcome {
        let Some(mut t) = self.task_index(pick) else {
            return Outcome::Skipped("no live task");
        };
        let made = match self.kernel_right(&mut t, source) {
            Ok(made) => made,
            Err(why) => return Outcome::Skipped(why),
        };
        let (port, msgt) = match made {
            Made::InSpace(name) => return self.remember(t, name),
            Made::Right {
                port,
                msgt,
                space_labeled,
            } => self.wrap(port, msgt, space_labeled, wrap),
        };
        let name = self.k.ipc_object_copyout(
            self.tasks[t].space,
            port,
            msgt,
            IPC_OBJECT_COPYOUT_FLAGS_NONE,
        );
        self.remember(t, name)
    }

    /// Makes the right `source` names. May redirect `t`: a pinned self port goes only to its
    /// owner's space.
    fn kernel_right(&mut self, t: &mut usize, source: Source) -> Result<Made, &'static str> {
        let k = self.k;
        match source {
            Source::TaskPort { task, which } => {
                let owner = self.task_index(task).ok_or("no live task")?;
                if which == TaskPortKind::SelfPinned {
                    *t = owner;
                }
                let (index, ty) = match which {
                    TaskPortKind::Control => (TASK_PORT_CONTROL, IKOT_TASK_CONTROL),
                    TaskPortKind::SelfPinned => (TASK_PORT_SELF_PINNED, IKOT_TASK_CONTROL),
                    TaskPortKind::Read => (TASK_PORT_READ, IKOT_TASK_READ),
                    TaskPortKind::Name => (TASK_PORT_NAME, IKOT_TASK_NAME),
                };
                self.object_send(self.tasks[owner].task, index, ty)
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
                self.object_send(self.threads[th].thread, index, ty)
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
            Source::Permanent(kind) => Ok(self.permanent_send(kind)),
            Source::NewSemaphore => self.new_lazy(ObjectKind::Semaphore),
            Source::NewVoucher => self.new_lazy(ObjectKind::Voucher),
            Source::NewLabeledSemaphore(label) => {
                self.new_lazy(ObjectKind::LabeledSemaphore(label.value()))
            }
            Source::Again { object } => self.again(object),
            Source::NewGeneric(kind) => self.new_generic(kind),
            Source::Timer => {
                let (name, _) = k
                    .mk_timer_create(self.tasks[*t].space)
                    .ok_or("mk_timer_create failed")?;
                Ok(Made::InSpace(name))
            }
            Source::SuspendToken { task } => {
                let owner = self.task_index(task).ok_or("no live task")?;
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

    /// A send right on one of a task's or thread's own ports (`ipc_kobject_make_send`).
    fn object_send(
        &self,
        o: ObjId,
        index: usize,
        ty: IpcKobjectType,
    ) -> Result<Made, &'static str> {
        let port = self.k.object_port(o, index);
        if !IP_VALID(port) {
            return Err("the object has no such port");
        }
        let right = self
            .k
            .ipc_kobject_make_send(port, IpcKobject::Object(o), ty);
        if !IP_VALID(right) {
            return Err("the port is dead");
        }
        Ok(send_made(right))
    }

    /// A send right on a permanent object's port; the object is made on first use
    /// (`mig_object_create`, which hands its first send right to the caller).
    fn permanent_send(&mut self, kind: PermanentKind) -> Made {
        let k = self.k;
        let ty = match kind {
            PermanentKind::Processor => IKOT_PROCESSOR,
            PermanentKind::Pset => IKOT_PSET,
            PermanentKind::PsetName => IKOT_PSET_NAME,
            PermanentKind::Clock => IKOT_CLOCK,
            PermanentKind::ArcadeRegister => IKOT_ARCADE_REG,
            PermanentKind::MainDevice => IKOT_MAIN_DEVICE,
        };
        if let Some((obj, port)) = self.permanent[kind as usize] {
            return send_made(k.ipc_kobject_make_send(port.into(), IpcKobject::Object(obj), ty));
        }
        let (obj, port) = k.mig_object_create(ty);
        self.permanent[kind as usize] = Some((obj, port));
        send_made(IpcPort::Port(port))
    }

    /// A new semaphore or voucher, and a send right from its lazy port (`convert_*_to_port`).
    fn new_lazy(&mut self, kind: ObjectKind) -> Result<Made, &'static str> {
        if self.objects.len() >= OBJECTS_MAX {
            return Err("objects_max reached");
        }
        let obj = match kind {
            ObjectKind::Voucher => self.k.ipc_voucher_create(),
            _ => self.k.semaphore_create(),
        };
        self.objects.push(ObjectSlot {
            obj,
            kind,
            owner_alive: true,
        });
        self.lazy_send(obj, kind)
    }

    /// One more send right on the lazy port: the caller's reference goes to the convert.
    fn lazy_send(&self, obj: ObjId, kind: ObjectKind) -> Result<Made, &'static str> {
        let k = self.k;
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

    fn again(&mut self, pick: u8) -> Result<Made, &'static str> {
        let k = self.k;
        let usable = self.objects.iter().map(|o| match o.kind {
            ObjectKind::Generic { port, .. } => k.port_is_live(port) && k.ip_active(port),
            _ => o.owner_alive,
        });
        let o = pick_alive(usable, pick).ok_or("no usable object")?;
        let ObjectSlot { obj, kind, .. } = self.objects[o];
        let ObjectKind::Generic { port, ty } = kind else {
            return self.lazy_send(obj, kind);
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
    fn new_generic(&mut self, kind: GenericKind) -> Result<Made, &'static str> {
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
        let (obj, port) = self.k.mig_object_create(ty);
        self.objects.push(ObjectSlot {
            obj,
            kind: ObjectKind::Generic { port, ty },
            owner_alive: false,
        });
        Ok(send_made(IpcPort::Port(port)))
    }

    /// Applies the hand-over: a subst-once wrapper, or a send-once right instead of the send.
    fn wrap(
        &self,
        port: IpcPort,
        msgt: MachMsgTypeName,
        space_labeled: bool,
        wrap: Wrap,
    ) -> (IpcPort, MachMsgTypeName) {
        let k = self.k;
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
                    (IP_NULL_RIGHT, MACH_MSG_TYPE_PORT_SEND_ONCE)
                }
            }
        }
    }

    // ---- messages ----

    fn send(&mut self, m: &SendMsg) -> Outcome {
        let Some(t) = self.task_index(m.task) else {
            return Outcome::Skipped("no live task");
        };
        let msg = self.user_msg(t, m);
        let space = self.tasks[t].space;
        if self.is_circular(space, &msg) {
            return Outcome::Skipped("circular receive right (XNU destroys such a message)");
        }
        self.stats.sends += 1;
        let kr = self.k.mach_msg_send(space, &msg);
        if kr == MACH_MSG_SUCCESS {
            self.stats.sends_ok += 1;
        }
        Outcome::Kr(kr)
    }

    fn user_msg(&self, t: usize, m: &SendMsg) -> UserMsg {
        let descriptors: Vec<UserDescriptor> = m
            .descriptors
            .iter()
            .map(|d| match d {
                Desc::Port { name, disposition } => UserDescriptor::Port {
                    name: self.resolve(t, *name),
                    disposition: u32::from(*disposition),
                },
                Desc::OolPorts { names, disposition } => UserDescriptor::OolPorts {
                    names: names.iter().map(|&n| self.resolve(t, n)).collect(),
                    disposition: u32::from(*disposition),
                },
                Desc::Ool { size } => UserDescriptor::Ool { size: *size },
            })
            .collect();
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
            msgh_remote_port: self.resolve(t, m.dest),
            msgh_local_port: self.resolve(t, m.reply),
            msgh_voucher_port: self.resolve(t, m.voucher),
            msgh_id: msgh_id(m.id),
            descriptors,
            inline_data: m.inline_data.clone(),
        }
    }

    /// Whether the send would move a receive right into a queue it (transitively) holds: the
    /// destination is the moved port itself, or in transit inside the moved port's queue.
    fn is_circular(&self, space: SpaceId, msg: &UserMsg) -> bool {
        let k = self.k;
        let port_of = |name| k.ipc_entry_lookup(space, name).and_then(|e| e.ie_object);
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
        let receive_rights = moved
            .filter(|&(_, d)| d == MACH_MSG_TYPE_MOVE_RECEIVE)
            .filter_map(|(name, _)| {
                k.ipc_entry_lookup(space, name)
                    .filter(|e| e.ie_bits & IE_BITS_RECEIVE != 0)
                    .and_then(|e| e.ie_object)
            });
        receive_rights
            .into_iter()
            .any(|x| x == dest || self.holds_in_transit(x, dest))
    }

    /// Whether `target`'s receive right sits (transitively) in a message queued on `root`.
    fn holds_in_transit(&self, root: PortId, target: PortId) -> bool {
        let k = self.k;
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
                            inner.extend(name_port(*name));
                        }
                        KDescriptor::OolPorts { ports, disposition }
                            if *disposition == MACH_MSG_TYPE_PORT_RECEIVE =>
                        {
                            inner.extend(ports.iter().filter_map(|&q| name_port(q)));
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

    fn receive(&mut self, pick: u8, name: Name) -> Outcome {
        let Some(t) = self.task_index(pick) else {
            return Outcome::Skipped("no live task");
        };
        let k = self.k;
        let n = self.resolve(t, name);
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

    // ---- objects and teardown ----

    fn destroy_object(&mut self, pick: u8) -> Outcome {
        let Some(o) = pick_alive(self.objects.iter().map(|o| o.owner_alive), pick) else {
            return Outcome::Skipped("no owned object");
        };
        self.objects[o].owner_alive = false;
        self.k.object_destroy(self.objects[o].obj);
        Outcome::Done
    }

    /// Terminates every thread and task, drops every owner reference, then checks for leaks.
    pub(super) fn teardown(&mut self) -> Result<(), Finding> {
        for t in 0..self.tasks.len() {
            if self.tasks[t].alive {
                self.terminate_task_at(t);
            }
        }
        for th in 0..self.threads.len() {
            assert!(!self.threads[th].alive, "threads die with their task");
        }
        for o in 0..self.objects.len() {
            if self.objects[o].owner_alive {
                self.objects[o].owner_alive = false;
                self.k.object_destroy(self.objects[o].obj);
            }
        }
        // The machine shuts down: every object still alive gives back the rights routines
        // stored in its slots. XNU holds them until the object dies, which for a permanent
        // object is never, and for a user client whose wake port is its own connect port is
        // never either: that send right keeps no-senders from ever firing.
        for obj in self.k.live_objects() {
            if self.k.object_is_live(obj) {
                self.k.mig_object_slots_drain(obj);
            }
        }
        self.k.audit_teardown()
    }
}

/// `IP_NULL`, as the right a failed hand-over leaves (copyout gives `MACH_PORT_NULL` for it).
const IP_NULL_RIGHT: IpcPort = IpcPort::Null;

fn send_made(port: IpcPort) -> Made {
    Made::Right {
        port,
        msgt: MACH_MSG_TYPE_PORT_SEND,
        space_labeled: false,
    }
}

fn name_port(port: IpcPort) -> Option<PortId> {
    match port {
        IpcPort::Port(p) => Some(p),
        _ => None,
    }
}

/// The index of the `pick`-th live entry (modulo their count), if any is live.
fn pick_alive(alive: impl Iterator<Item = bool>, pick: u8) -> Option<usize> {
    let live: Vec<usize> = alive
        .enumerate()
        .filter_map(|(i, a)| a.then_some(i))
        .collect();
    match live.len() {
        0 => None,
        n => Some(live[usize::from(pick) % n]),
    }
}
