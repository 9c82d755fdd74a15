//! The kernel objects behind kobject ports and the callbacks their types register: the parts of
//! osfmk/kern/task.c, thread.c, sync_sema.c, ipc/ipc_voucher.c, mk_timer.c and ipc_host.c that
//! ipc_kobject.c calls into (xnu-11215.1.10), reduced to their effect on rights and references.
//!
//! Reference rules the auditor checks (see ledger.rs): an object is born with one reference owned
//! by its creator (dropped by its destroy / terminate path); a lazily allocated port that is armed
//! holds one more, donated by the caller that armed it and released by the no-senders callback;
//! a thread holds one on its task; an mk_timer port holds one on its timer until its destroy op.

use crate::ikot::*;
use crate::ipc_kobject::IpcKobjectOps;
use crate::ipc_port::*;
use crate::kernel::{KObject, Kernel, ObjId, ObjKind, SpaceId};
use crate::ledger::SlotKind;
use crate::mach::*;
use crate::outcome::Finding;
use crate::sync::MemOrder;

/// Every `IPC_KOBJECT_DEFINE` of the tree, with the model's callbacks where the type has one.
/// Built once per process: every kernel boots from the same list.
pub fn registered_ops() -> &'static [IpcKobjectOps] {
    static OPS: std::sync::OnceLock<Vec<IpcKobjectOps>> = std::sync::OnceLock::new();
    OPS.get_or_init(build_registered_ops)
}

fn build_registered_ops() -> Vec<IpcKobjectOps> {
    let callbacks: &[(
        IpcKobjectType,
        Option<crate::ipc_kobject::NoSendersFn>,
        Option<crate::ipc_kobject::DestroyFn>,
    )] = &[
        (IKOT_TASK_CONTROL, Some(Kernel::task_port_no_senders), None),
        (
            IKOT_PORT_SUBST_ONCE,
            Some(Kernel::ipc_kobject_subst_once_no_senders),
            None,
        ),
        (IKOT_TIMER, None, Some(Kernel::mk_timer_port_destroy)),
        (IKOT_SEMAPHORE, Some(Kernel::semaphore_no_senders), None),
        (IKOT_VOUCHER, Some(Kernel::ipc_voucher_no_senders), None),
        (
            IKOT_TASK_RESUME,
            Some(Kernel::task_suspension_no_senders),
            None,
        ),
    ];
    IKOT_INFO
        .iter()
        .enumerate()
        .filter(|(_, info)| info.registered)
        .map(|(ty, info)| {
            let ty = ty as IpcKobjectType;
            match callbacks.iter().find(|c| c.0 == ty) {
                Some(&(_, ns, destroy)) => IpcKobjectOps::define(ty, ns, destroy),
                // Types whose behaviour the model does not instantiate get a generic no-senders
                // that deallocates the port with the notified make-send count (the IOKit and
                // task-flavor pattern) and drops the armed object's donated reference.
                None if info.no_senders.is_some() => {
                    IpcKobjectOps::define(ty, Some(Kernel::generic_no_senders), None)
                }
                None => IpcKobjectOps::define(ty, None, None),
            }
        })
        .collect()
}

impl Kernel {
    #[inline]
    pub(crate) fn object(&self, o: ObjId) -> &KObject {
        match self.objects.get(o.0) {
            Ok(obj) => obj,
            Err(_) => Finding::use_after_free(format!("{o} used after its final release")).raise(),
        }
    }

    /// Whether `o` still names a live object.
    #[inline]
    pub fn object_is_live(&self, o: ObjId) -> bool {
        self.objects.is_live(o.0)
    }

    #[inline]
    pub fn object_kind(&self, o: ObjId) -> ObjKind {
        crate::kernel::obj_kind_from(self.object(o).kind.load(MemOrder::Relaxed))
    }

    #[inline]
    pub fn object_refs(&self, o: ObjId) -> u32 {
        self.object(o).refs.load(MemOrder::Relaxed)
    }

    /// The object's lazy port word (`semaphore->port`, `iv_port`, `itk_resume`).
    pub fn object_port_store(&self, o: ObjId) -> IpcPort {
        IpcPort::from_word(self.object(o).port_store.load(MemOrder::Acquire))
    }

    /// Allocates a live object of `kind` with its creator's reference.
    pub fn object_alloc(&self, kind: ObjKind, owner: Option<ObjId>) -> ObjId {
        let Some((h, obj)) = self.objects.alloc() else {
            xnu_panic!("zalloc: kernel object zone exhausted");
        };
        obj.kind.store(kind as u32, MemOrder::Relaxed);
        obj.refs.store(1, MemOrder::Relaxed);
        obj.port_store.store(0, MemOrder::Relaxed);
        let mut s = obj.lock.lock();
        *s = crate::kernel::ObjLocked::default_live(owner);
        ObjId(h)
    }

    /// Takes a reference (`task_reference`, `semaphore_reference`, ...).
    pub fn object_reference(&self, o: ObjId) {
        let r = self
            .object(o)
            .refs
            .fetch_update(|r| (r != 0).then(|| r + 1));
        if r.is_err() {
            crate::ipc_port::counter_panic(
                "object-refs-resurrection",
                format!("os_refcnt: attempted resurrection of {o}"),
            );
        }
    }

    /// Drops a reference; the last one frees the object (and deallocates its lazy port).
    pub fn object_release(&self, o: ObjId) {
        match self.object(o).refs.fetch_update(|r| r.checked_sub(1)) {
            Ok(1) => self.object_free(o),
            Ok(_) => {}
            Err(_) => crate::ipc_port::counter_panic(
                "object-refs-underflow",
                format!("os_refcnt: underflow of {o} ({:?})", self.object_kind(o)),
            ),
        }
    }

    /// Models `semaphore_free` / `ipc_voucher_free`: the lazy port dies with the object. The
    /// port must still be active with no send right: `ipc_kobject_dealloc_port` panics
    /// ("Using inactive port") on a dead one, as XNU does.
    fn object_free(&self, o: ObjId) {
        // Rights the object stored (special ports, saved reply rights) die with it.
        self.mig_object_slots_drain(o);
        let obj = self.object(o);
        // An identity token's reference on its task goes with the token.
        let token_task = {
            let s = obj.lock.lock();
            s.owner.filter(|_| s.kotype == IKOT_TASK_ID_TOKEN)
        };
        let port = IpcPort::from_word(obj.port_store.swap(0, MemOrder::AcqRel));
        let kind = self.object_kind(o);
        if let IpcPort::Port(p) = port {
            let ty = match kind {
                ObjKind::Semaphore => IKOT_SEMAPHORE,
                ObjKind::Voucher => IKOT_VOUCHER,
                _ => IKOT_NONE,
            };
            if ty != IKOT_NONE {
                xnu_assert!(
                    self.ip_mq_lock(p).ip_srights == 0,
                    "{o} ({kind:?}) freed while its port {p} has send rights"
                );
                self.ipc_kobject_dealloc_port(p, 0, ty);
            }
        }
        obj.kind.store(ObjKind::Free as u32, MemOrder::Relaxed);
        self.ledger_object_freed(o);
        self.objects.free(o.0);
        if let Some(task) = token_task {
            self.object_release(task);
        }
    }

    /// `get_threadtask`: the task a thread belongs to (immutable after creation).
    #[inline]
    pub fn get_threadtask(&self, thread: ObjId) -> Option<ObjId> {
        let obj = self.object(thread);
        if crate::kernel::obj_kind_from(obj.kind.load(MemOrder::Relaxed)) != ObjKind::Thread {
            return None;
        }
        obj.lock.lock().owner
    }

    #[inline]
    pub fn object_state(&self, o: ObjId) -> crate::kernel::ObjLocked {
        self.object(o).lock.lock().clone()
    }

    /// Lazy-port convert (`convert_semaphore_to_port`, `convert_voucher_to_port`): consumes one
    /// caller reference, donated to the port when the call armed its notification.
    pub fn convert_lazy_object_to_port(&self, o: ObjId) -> IpcPort {
        let ty = match self.object_kind(o) {
            ObjKind::Semaphore => IKOT_SEMAPHORE,
            ObjKind::Voucher => IKOT_VOUCHER,
            other => panic!("convert_lazy_object_to_port on {other:?}"),
        };
        let obj = self.object(o);
        let armed = self.ipc_kobject_make_send_lazy_alloc_port(
            &obj.port_store,
            IpcKobject::Object(o),
            ty,
            IPC_KOBJECT_ALLOC_NONE,
        );
        if !armed {
            self.object_release(o);
        }
        self.object_port_store(o)
    }

    /// The labeled lazy convert (the `ipc_kobject_make_send_lazy_alloc_labeled_port` users).
    pub fn convert_lazy_object_to_labeled_port(&self, o: ObjId, label: IpcLabel) -> IpcPort {
        let obj = self.object(o);
        let armed = self.ipc_kobject_make_send_lazy_alloc_labeled_port(
            &obj.port_store,
            IpcKobject::Object(o),
            IKOT_SEMAPHORE,
            label,
        );
        if !armed {
            self.object_release(o);
        }
        self.object_port_store(o)
    }

    /// `semaphore_create`.
    pub fn semaphore_create(&self) -> ObjId {
        self.object_alloc(ObjKind::Semaphore, None)
    }

    /// `ipc_voucher_create` (a voucher with no attributes).
    pub fn ipc_voucher_create(&self) -> ObjId {
        self.object_alloc(ObjKind::Voucher, None)
    }

    /// `semaphore_destroy` / the voucher owner's release: the creator reference goes.
    pub fn object_destroy(&self, o: ObjId) {
        let was_alive = std::mem::replace(&mut self.object(o).lock.lock().alive, false);
        assert!(was_alive, "{o} destroyed twice by its owner");
        self.object_release(o);
    }

    /// Models `semaphore_no_senders` (osfmk/kern/sync_sema.c): drops the donated reference.
    pub fn semaphore_no_senders(&self, port: PortId, _mscount: MachPortMscount) {
        let o = self.lazy_no_senders_object(port, IKOT_SEMAPHORE);
        self.object_release(o);
    }

    /// Models `ipc_voucher_no_senders` (osfmk/ipc/ipc_voucher.c): drops the donated reference.
    pub fn ipc_voucher_no_senders(&self, port: PortId, _mscount: MachPortMscount) {
        let o = self.lazy_no_senders_object(port, IKOT_VOUCHER);
        self.object_release(o);
    }

    /// The object a semaphore or voucher no-senders callback releases: XNU asserts the port
    /// still names one.
    /// # Deviations
    /// `semaphore_no_senders` also asserts `semaphore->port == port`; the model's path tests
    /// attach ports to semaphores without the lazy store, so that half is left to the ledger
    /// (`lazy-alloc-one-port`).
    fn lazy_no_senders_object(&self, port: PortId, ty: IpcKobjectType) -> ObjId {
        let kobject = self.ipc_kobject_get_stable(port, ty);
        let IpcKobject::Object(o) = kobject else {
            xnu_assert!(
                false,
                "{} no-senders on {port} with no object",
                ikot_name(ty)
            );
            unreachable!()
        };
        o
    }

    /// Generic no-senders for types the model does not instantiate: the port is deallocated
    /// with the notified make-send count unless new rights raced in (then it re-arms).
    pub fn generic_no_senders(&self, port: PortId, mscount: MachPortMscount) {
        let mut g = self.ip_mq_lock(port);
        if !g.ip_active() {
            return;
        }
        if g.ip_srights > 0 {
            let _ = self.ipc_kobject_nsrequest_locked(&mut g, mscount);
            return;
        }
        let ty = g.ip_kotype();
        let mscount = if self.bug(crate::bugs::Bug::DeallocWrongMscount) {
            mscount + 1
        } else {
            mscount
        };
        if let IpcKobject::Object(o) = self.ipc_kobject_dealloc_port_and_unlock(g, mscount, ty) {
            self.object_release(o);
        }
    }

    /// Models `task_port_no_senders` (osfmk/kern/task.c) for a control port.
    /// # Deviations
    /// The model never arms the control port, so this only re-checks staleness.
    pub fn task_port_no_senders(&self, port: PortId, _mscount: MachPortMscount) {
        let g = self.ip_mq_lock(port);
        xnu_assert!(
            g.ip_kotype() == IKOT_TASK_CONTROL,
            "task_port_no_senders on {port} of type {}",
            ikot_name(g.ip_kotype())
        );
    }

    /// Models `task_suspension_no_senders` (osfmk/kern/task.c): re-arms with the notified count;
    /// when that would fire at once, every hold is released.
    pub fn task_suspension_no_senders(&self, port: PortId, mscount: MachPortMscount) {
        let (kr, _) = self.ipc_kobject_nsrequest(IpcPort::Port(port), mscount);
        if kr == KERN_FAILURE {
            let g = self.ip_mq_lock(port);
            let task = self.ipc_kobject_get_locked(&g, IKOT_TASK_RESUME);
            drop(g);
            if let IpcKobject::Object(t) = task {
                self.object(t).lock.lock().suspend_count = 0;
            }
        }
    }

    /// Models `task_suspension_send_once` (osfmk/kern/task.c): a dying send-once right to
    /// `itk_resume` releases the hold `task_suspend2` placed for it.
    pub fn task_suspension_send_once(&self, port: PortId) {
        // `convert_port_to_task_suspension_token`: the task reference is taken under the port
        // lock, while the active port still proves the task has not dropped its own.
        let g = self.ip_mq_lock(port);
        let task = self.ipc_kobject_get_locked(&g, IKOT_TASK_RESUME);
        let IpcKobject::Object(t) = task else { return };
        self.object_reference(t);
        drop(g);
        {
            let mut s = self.object(t).lock.lock();
            s.suspend_count = s.suspend_count.saturating_sub(1);
        }
        self.object_release(t);
    }

    /// Models `task_suspend2` + `convert_task_suspension_token_to_port`: places a hold and returns
    /// a send-once right to the lazily allocated `itk_resume`, made under the task lock as XNU
    /// does (`task_terminate` deallocates `itk_resume` once it has the lock: a right made after
    /// dropping it could lock a freed port).
    pub fn task_suspend2(&self, task: ObjId) -> IpcPort {
        let obj = self.object(task);
        let mut s = obj.lock.lock();
        if !s.alive {
            return IP_NULL;
        }
        s.suspend_count += 1;
        let mut port = IpcPort::from_word(obj.port_store.load(MemOrder::Acquire));
        if port == IP_NULL {
            let p = self.ipc_kobject_alloc_port(
                IpcKobject::Object(task),
                IKOT_TASK_RESUME,
                IPC_KOBJECT_ALLOC_NONE,
            );
            port = IpcPort::Port(p);
            obj.port_store.store(port.to_word(), MemOrder::Release);
        }
        let sonce = self.ipc_port_make_sonce(port);
        drop(s);
        xnu_assert!(IP_VALID(sonce), "itk_resume {port:?} is dead");
        sonce
    }

    /// Models `mk_timer_create_trap` (osfmk/kern/mk_timer.c, xnu-11215.1.10): a user port
    /// received in `space`, its receive right immovable, upgraded to `IKOT_TIMER`, and a send
    /// right made for the timer to keep (`timer->port`, in the timer's slot). The port's
    /// association holds the timer's only reference.
    /// # Deviations
    /// No preallocated expiry message and no thread call: timers never fire.
    pub fn mk_timer_create(&self, space: SpaceId) -> Option<(MachPortName, PortId)> {
        let name = self.mach_port_allocate(space).ok()?;
        let p = self.ipc_entry_lookup(space, name)?.ie_object?;
        let timer = self.object_alloc(ObjKind::Timer, None);
        let mut g = self.ip_mq_lock(p);
        g.ip_immovable_receive = true;
        self.ipc_kobject_upgrade_mktimer_locked(&mut g, IpcKobject::Object(timer));
        self.ipc_port_make_send_any_locked(&mut g);
        drop(g);
        let previous = self.object_slot_swap(timer, p.into());
        assert_eq!(previous, IP_NULL, "a fresh timer holds no right");
        Some((name, p))
    }

    /// Models `mk_timer_port_destroy` (osfmk/kern/mk_timer.c): the timer loses its port, and its
    /// final release (`mk_timer_unlock_and_destroy`) lets go of its send right (the slot drain).
    pub fn mk_timer_port_destroy(&self, port: PortId) {
        if let IpcKobject::Object(timer) = self.ipc_kobject_disable(port, IKOT_TIMER) {
            self.object_release(timer);
        }
    }
}

/// The ports a task owns (`itk_*`), in `ObjLocked::ports` order.
pub const TASK_PORT_CONTROL: usize = 0;
pub const TASK_PORT_SELF_PINNED: usize = 1;
pub const TASK_PORT_READ: usize = 2;
pub const TASK_PORT_NAME: usize = 3;
/// The ports a thread owns.
pub const THREAD_PORT_CONTROL: usize = 0;
pub const THREAD_PORT_SELF_PINNED: usize = 1;
pub const THREAD_PORT_READ: usize = 2;

impl Kernel {
    /// Models `task_create` + `ipc_task_init` + `ipc_task_enable`: a task with its space (label
    /// `label`) and its ports. The movable control port is labeled `IPC_LABEL_SUBST_TASK` with the
    /// pinned immovable self port as its alternate; the read port is labeled
    /// `IPC_LABEL_SUBST_TASK_READ` with the control port as its alternate (developer mode off),
    /// and its send rights are immovable (`IPC_KOBJECT_ALLOC_IMMOVABLE_SEND`, as
    /// `convert_task_to_port_with_flavor` allocates it). The pinned self port is immovable and
    /// pinned (`ipc_task_set_immovable_pinned`, the task opted in); the control and name ports are
    /// plain, as `ipc_task_init` makes them.
    /// # Deviations
    /// The read port is made at creation and without a no-senders request; XNU makes it on first
    /// use (`convert_task_to_port_with_flavor`) with `MAKE_SEND | NSREQUEST` as well. There is no
    /// inspect port.
    pub fn task_create(&self, label: IpcLabel) -> Option<(ObjId, SpaceId)> {
        let task = self.object_alloc(ObjKind::Task, None);
        let Some(space) = self.ipc_space_create_labeled(label, Some(task)) else {
            self.object_destroy(task);
            return None;
        };
        let ko = IpcKobject::Object(task);
        let pinned = self.ipc_kobject_alloc_port(
            ko,
            IKOT_TASK_CONTROL,
            IPC_KOBJECT_ALLOC_IMMOVABLE_SEND | IPC_KOBJECT_ALLOC_PINNED,
        );
        let control = self.ipc_kobject_alloc_labeled_port(
            ko,
            IKOT_TASK_CONTROL,
            IPC_LABEL_SUBST_TASK,
            IPC_KOBJECT_ALLOC_NONE,
        );
        let read = self.ipc_kobject_alloc_labeled_port(
            ko,
            IKOT_TASK_READ,
            IPC_LABEL_SUBST_TASK_READ,
            IPC_KOBJECT_ALLOC_IMMOVABLE_SEND,
        );
        let name = self.ipc_kobject_alloc_port(ko, IKOT_TASK_NAME, IPC_KOBJECT_ALLOC_NONE);
        self.set_alt_port(control, pinned);
        self.set_alt_port(read, control);
        let mut s = self.object(task).lock.lock();
        s.ports = [control.into(), pinned.into(), read.into(), name.into()];
        s.space = Some(space);
        Some((task, space))
    }

    /// Models `thread_create` + `ipc_thread_init` for a task the caller knows is alive (see
    /// [`Kernel::thread_create_internal`]).
    pub fn thread_create(&self, task: ObjId) -> ObjId {
        let thread = self.thread_create_internal(task);
        let thread = thread.unwrap_or_else(|| panic!("thread_create in the terminated {task}"));
        self.object_release(thread);
        thread
    }

    /// Models `thread_create_internal` + `ipc_thread_init`: a thread of `task` holding a task
    /// reference, on the task's thread list (`task->threads`), with a control port labeled
    /// `IPC_LABEL_SUBST_THREAD` (alternate: its pinned self port) and a read port labeled
    /// `IPC_LABEL_SUBST_THREAD_READ` (alternate: the control port). The thread joins the list
    /// last, under the task lock, and is returned with a reference for the caller (which
    /// `convert_thread_to_port` consumes in XNU); `None` (XNU: `KERN_FAILURE`, the new thread
    /// torn down) when the task's terminate path has begun.
    /// # Deviations
    /// As for tasks: the read port is eager (XNU: lazy and armed), with immovable send rights as
    /// XNU's; no inspect port.
    pub fn thread_create_internal(&self, task: ObjId) -> Option<ObjId> {
        assert_eq!(self.object_kind(task), ObjKind::Task);
        self.object_reference(task);
        let thread = self.object_alloc(ObjKind::Thread, Some(task));
        let ko = IpcKobject::Object(thread);
        let pinned = self.ipc_kobject_alloc_port(
            ko,
            IKOT_THREAD_CONTROL,
            IPC_KOBJECT_ALLOC_IMMOVABLE_SEND | IPC_KOBJECT_ALLOC_PINNED,
        );
        let control = self.ipc_kobject_alloc_labeled_port(
            ko,
            IKOT_THREAD_CONTROL,
            IPC_LABEL_SUBST_THREAD,
            IPC_KOBJECT_ALLOC_NONE,
        );
        let read = self.ipc_kobject_alloc_labeled_port(
            ko,
            IKOT_THREAD_READ,
            IPC_LABEL_SUBST_THREAD_READ,
            IPC_KOBJECT_ALLOC_IMMOVABLE_SEND,
        );
        self.set_alt_port(control, pinned);
        self.set_alt_port(read, control);
        self.object(thread).lock.lock().ports =
            [control.into(), pinned.into(), read.into(), IP_NULL];
        // Joining the list is the last step: from then on a terminating task ends the thread.
        let joined = {
            let mut task_state = self.object(task).lock.lock();
            if task_state.alive {
                task_state.threads.push(thread);
                self.object_reference(thread);
            }
            task_state.alive
        };
        if !joined {
            self.thread_terminate_internal(thread);
            return None;
        }
        Some(thread)
    }

    /// The task's threads (`task->threads`) taken under the task lock, each with a reference the
    /// caller releases; `None` once the task's terminate path began (`task_threads_internal`).
    pub fn task_threads_referenced(&self, task: ObjId) -> Option<Vec<ObjId>> {
        let s = self.object(task).lock.lock();
        if !s.alive {
            return None;
        }
        for &thread in &s.threads {
            self.object_reference(thread);
        }
        Some(s.threads.clone())
    }

    /// Takes a reference on `o` if its terminate path has not begun (`task_reference` under the
    /// task lock after an `active` check).
    pub fn object_reference_if_alive(&self, o: ObjId) -> bool {
        let s = self.object(o).lock.lock();
        if s.alive {
            self.object_reference(o);
        }
        s.alive
    }

    fn set_alt_port(&self, port: PortId, alt: PortId) {
        let mut g = self.ip_mq_lock(port);
        let label = g
            .ip_kolabel
            .as_mut()
            .expect("alternate port on an unlabeled port");
        label.ikol_alt_port = IpcPort::Port(alt);
    }

    /// Marks `task` as a hardened binary or not (`task_is_hardened_binary`, set at exec in
    /// XNU): its `MPO_REPLY_PORT` ports become true reply ports.
    pub fn set_task_hardened_binary(&self, task: ObjId, hardened: bool) {
        let mut s = self.object(task).lock.lock();
        assert!(s.alive, "{task} is dead");
        s.hardened_binary = hardened;
    }

    /// The object's owned port `which` (see the `TASK_PORT_*` / `THREAD_PORT_*` indices).
    pub fn object_port(&self, o: ObjId, which: usize) -> IpcPort {
        self.object(o).lock.lock().ports[which]
    }

    /// Models `thread_terminate` of a thread still on its task's list: it leaves the list, then
    /// ends as [`Kernel::thread_terminate_internal`] says.
    /// # Conditions
    /// The thread's task has not terminated it already (callers end a task's threads before the
    /// task, or leave them to [`Kernel::task_terminate`]).
    pub fn thread_terminate(&self, thread: ObjId) {
        let task = self.get_threadtask(thread).expect("a thread has a task");
        {
            let mut task_state = self.object(task).lock.lock();
            let at = task_state.threads.iter().position(|&t| t == thread);
            let at = at.unwrap_or_else(|| panic!("{thread} is not on {task}'s thread list"));
            task_state.threads.remove(at);
        }
        self.thread_terminate_internal(thread);
    }

    /// Models `ipc_thread_terminate` + the thread's final release: the pinned self port is
    /// unpinned (`ipc_thread_port_unpin`: terminated threads are unpinned), ports die
    /// (outstanding send rights become dead names), the task reference goes.
    fn thread_terminate_internal(&self, thread: ObjId) {
        let (ports, task) = {
            let mut s = self.object(thread).lock.lock();
            assert!(s.alive, "{thread} terminated twice");
            s.alive = false;
            (std::mem::replace(&mut s.ports, [IP_NULL; 4]), s.owner)
        };
        if let IpcPort::Port(p) = ports[THREAD_PORT_SELF_PINNED] {
            self.ip_mq_lock(p).ip_pinned = false;
        }
        self.dealloc_owned_ports(&ports);
        self.mig_object_slots_drain(thread);
        self.object_release(thread);
        if let Some(task) = task {
            self.object_release(task);
        }
    }

    /// Models `task_terminate_internal` + `ipc_task_terminate`: the threads still on the task's
    /// list are terminated first (`thread_terminate_internal` of each), then ports (and
    /// `itk_resume`) die; holds placed by `task_suspend2` stay until their send-once rights die;
    /// the creator reference goes.
    pub fn task_terminate(&self, task: ObjId) {
        let (ports, space, threads) = {
            let mut s = self.object(task).lock.lock();
            assert!(s.alive, "{task} terminated twice");
            s.alive = false;
            (
                std::mem::replace(&mut s.ports, [IP_NULL; 4]),
                s.space.take(),
                std::mem::take(&mut s.threads),
            )
        };
        for thread in threads {
            self.thread_terminate_internal(thread);
        }
        if let Some(space) = space {
            self.ipc_space_terminate(space);
        }
        self.semaphore_destroy_all(task);
        self.mig_object_slots_drain(task);
        self.dealloc_owned_ports(&ports);
        let resume = IpcPort::from_word(self.object(task).port_store.swap(0, MemOrder::AcqRel));
        if let IpcPort::Port(p) = resume {
            self.ipc_kobject_dealloc_port(p, 0, IKOT_TASK_RESUME);
        }
        self.object_release(task);
    }

    fn dealloc_owned_ports(&self, ports: &[IpcPort]) {
        for &port in ports {
            if let IpcPort::Port(p) = port {
                let ty = self.ip_kotype(p);
                self.ipc_kobject_dealloc_port(p, 0, ty);
            }
        }
    }

    /// Models the host ports made at boot (`ipc_host_init`): permanent, stable, never destroyed.
    pub fn host_create(&self) -> (ObjId, PortId, PortId) {
        let host = self.object_alloc(ObjKind::Host, None);
        let host_port = self.ipc_kobject_alloc_port(
            IpcKobject::Object(host),
            IKOT_HOST,
            IPC_KOBJECT_ALLOC_NONE,
        );
        let priv_port = self.ipc_kobject_alloc_port(
            IpcKobject::Object(host),
            IKOT_HOST_PRIV,
            IPC_KOBJECT_ALLOC_NONE,
        );
        self.object(host).lock.lock().ports =
            [host_port.into(), priv_port.into(), IP_NULL, IP_NULL];
        (host, host_port, priv_port)
    }

    /// Replaces the send right stored in the object's slot under the object's lock, returning the
    /// previous one for the caller to release (the `host_set_special_port` pattern).
    pub fn object_slot_swap(&self, o: ObjId, right: IpcPort) -> IpcPort {
        self.object_slot_swap_for(o, right, None)
    }

    /// [`Kernel::object_slot_swap`] on behalf of a routine whose stub converted its target to
    /// `call_target`: the ledger checks the right goes to that object.
    pub(crate) fn object_slot_swap_for(
        &self,
        o: ObjId,
        right: IpcPort,
        call_target: Option<ObjId>,
    ) -> IpcPort {
        let mut s = self.object(o).lock.lock();
        let old = std::mem::replace(&mut s.slot, right);
        self.ledger_slot_swapped(o, SlotKind::Send, old, right, call_target);
        old
    }

    /// Reads the slot without its lock and writes it back later: the CVE-2016-7644 pattern.
    pub fn object_slot_read_unlocked(&self, o: ObjId) -> IpcPort {
        self.object(o).lock.lock().slot
    }

    pub fn object_slot_write_unlocked(&self, o: ObjId, right: IpcPort) {
        let mut s = self.object(o).lock.lock();
        let old = std::mem::replace(&mut s.slot, right);
        self.ledger_slot_swapped(o, SlotKind::Send, old, right, None);
    }
}
