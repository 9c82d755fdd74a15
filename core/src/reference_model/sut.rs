//! The system under test: a kernel on which each step makes the calls XNU's callers make,
//! compared with the reference state after every step and audited; its teardown releases
//! everything and requires that nothing remains.

use std::collections::BTreeMap;
use std::fmt::Debug;

use super::state::{Expect, Kind, RefKobject, RefState};
use super::Transition;
use crate::ikot::IpcKobjectType;
use crate::ipc_kobject::LabelCheck;
use crate::ipc_port::{NsRequest, IKO_NULL};
use crate::mach::*;
use crate::outcome::{quiet_findings, Finding};
use crate::{Auditor, SpaceId, IP_DEAD};
use crate::{Bugs, Held, IpcKobject, IpcPort, Kernel, ObjId, ObjKind, Platform, PortId};

/// A disagreement between the kernel and the reference model.
fn disagree(message: String) -> Finding {
    Finding::violation("reference-model", message)
}

fn expect_eq<T: PartialEq + Debug>(got: T, want: T, call: &str) {
    if got != want {
        disagree(format!("{call}: kernel {got:?}, reference {want:?}")).raise();
    }
}

/// What a run does around the steps, which no fuzzer is guided through: the kernel's boot, the
/// comparison of the kernel with the reference after each step, the ledger's audits and the
/// kernel's disposal. By default these are `kobject`'s own functions; the `kobject_lifecycle`
/// fuzz target passes the same functions generated in the `kobject-unguided` crate, which fuzz
/// builds leave uninstrumented. What is checked is the same either way.
#[derive(Clone, Copy, Debug)]
pub struct Unguided {
    pub boot: fn(Platform, Bugs) -> Kernel,
    pub check: fn(&Sut, &RefState) -> Result<(), Finding>,
    pub auditor: Auditor,
    pub dispose: fn(Kernel),
}

impl Default for Unguided {
    fn default() -> Unguided {
        Unguided {
            boot: Kernel::new,
            check: Sut::check,
            auditor: Auditor::default(),
            dispose: drop,
        }
    }
}

/// A kernel and the handles of what the steps made, by the reference state's indices.
pub struct Sut {
    k: Kernel,
    ports: Vec<PortId>,
    objs: Vec<ObjId>,
    /// The unlabeled user space copyouts and label checks go to.
    space: SpaceId,
    /// Each task's space, by object index.
    spaces: BTreeMap<usize, SpaceId>,
    /// Each timer's receive right in its task's space, by port index.
    timer_names: BTreeMap<usize, MachPortName>,
    unguided: Unguided,
}

impl Sut {
    pub fn new(bugs: Bugs) -> Sut {
        Sut::with_unguided(bugs, Unguided::default())
    }

    /// A kernel booted, compared, audited and disposed of through `unguided`.
    pub fn with_unguided(bugs: Bugs, unguided: Unguided) -> Sut {
        quiet_findings();
        let k = (unguided.boot)(Platform::Native, bugs);
        let space = k
            .ipc_space_create_labeled(IPC_LABEL_NONE, None)
            .expect("a user space");
        Sut {
            k,
            ports: Vec::new(),
            objs: Vec::new(),
            space,
            spaces: BTreeMap::new(),
            timer_names: BTreeMap::new(),
            unguided,
        }
    }

    /// Checks the kernel against `s` through the run's [`Unguided::check`] (by default
    /// [`Sut::check`]).
    pub fn check_unguided(&self, s: &RefState) -> Result<(), Finding> {
        (self.unguided.check)(self, s)
    }

    /// Gives the kernel to the run's [`Unguided::dispose`].
    pub fn dispose(self) {
        (self.unguided.dispose)(self.k);
    }

    #[inline]
    fn kobject(&self, r: RefKobject) -> IpcKobject {
        match r {
            RefKobject::Null => IKO_NULL,
            RefKobject::Obj(o) => IpcKobject::Object(self.objs[o]),
            RefKobject::Port(p) => IpcKobject::Port(self.ports[p]),
        }
    }

    fn port(&self, r: Option<usize>) -> IpcPort {
        r.map_or(IP_DEAD, |p| IpcPort::Port(self.ports[p]))
    }

    /// Makes the calls of step `t`; `s` is the reference state after it.
    pub fn step(&mut self, s: &RefState, t: &Transition) {
        use Transition::*;
        let k = &self.k;
        match *t {
            Audit => {}
            AllocPlain {
                ty,
                options,
                labeled,
            } => self.alloc_plain(ty.ikot(), options, labeled),
            CreateLazyObject { voucher } => self.create_lazy_object(voucher),
            LazyConvert { o } => {
                k.object_reference(self.objs[o]);
                let port = k.convert_lazy_object_to_port(self.objs[o]);
                self.expect_new_port(s, port);
            }
            DestroyLazyObject { o } => k.object_destroy(self.objs[o]),
            MakeSend { p } => self.send_right(s, p, false),
            CopySend { p } => self.send_right(s, p, true),
            ReleaseSend { p } => k.ipc_port_release_send(self.ports[p].into()),
            MakeSendOnce { p } => {
                let got = k.ipc_port_make_sonce(self.ports[p].into());
                self.expect_port(s, got);
            }
            ReleaseSendOnce { p, notify: false } => {
                k.ipc_port_release_sonce(self.ports[p].into());
            }
            ReleaseSendOnce { p, notify: true } => {
                let g = k.ip_mq_lock(self.ports[p]);
                k.ipc_notify_send_once_and_unlock(g);
            }
            NsRequest { p, sync } => {
                let (kr, ms) = k.ipc_kobject_nsrequest(self.ports[p].into(), sync);
                expect_eq(Expect::KrMs(kr, ms), s.expect, "ipc_kobject_nsrequest");
                self.donate(s, p, kr);
            }
            MakeSendNsRequest { p, locked } => self.make_send_nsrequest(s, p, locked),
            Dealloc { p, with_mscount } => self.dealloc(s, p, with_mscount),
            Disable { p } => {
                let got = self.k_kobject_ref(k.ipc_kobject_disable(self.ports[p], s.ports[p].ty));
                expect_eq(Expect::Kobject(got), s.expect, "ipc_kobject_disable");
            }
            Enable { p } => {
                let ko = self.kobject(s.ports[p].original);
                k.ipc_kobject_enable(self.ports[p], ko, s.ports[p].ty);
            }
            SubstOnce { target } => {
                let w = k.ipc_kobject_alloc_subst_once(self.ports[target].into());
                self.ports.push(w.id());
            }
            Copyout { w } => self.copyout(s, w),
            LabelCheck { p } => self.label_check(s, p),
            CreateTask => self.create_task(),
            TerminateTask { task } => self.terminate_task(s, task),
            CreateThread { task } => self.create_thread(task),
            TerminateThread { thread } => k.thread_terminate(self.objs[thread]),
            Suspend { task } => {
                let sonce = k.task_suspend2(self.objs[task]);
                self.expect_new_port(s, sonce);
            }
            CreateTimer { task } => self.create_timer(task),
            DestroyTimer { p } => self.destroy_timer(s, p),
            DestroyPlainObject { o } => self.destroy_plain_object(s, o),
        }
    }

    fn create_lazy_object(&mut self, voucher: bool) {
        let o = if voucher {
            self.k.ipc_voucher_create()
        } else {
            self.k.semaphore_create()
        };
        self.objs.push(o);
    }

    /// The owner lets go: the reference deallocated the port first unless it was dead already
    /// or left to its no-senders callback.
    fn destroy_plain_object(&self, s: &RefState, o: usize) {
        if let Expect::Kobject(_) = s.expect {
            self.dealloc(s, s.objs[o].ports[0], false);
        }
        self.k.object_destroy(self.objs[o]);
    }

    /// A generic object and its port, with the donation an armed request takes.
    fn alloc_plain(&mut self, ty: IpcKobjectType, options: IpcKobjectAllocOptions, labeled: bool) {
        let k = &self.k;
        let o = k.object_alloc(ObjKind::Generic, None);
        if options & IPC_KOBJECT_ALLOC_NSREQUEST != 0 {
            k.object_reference(o);
        }
        let ko = IpcKobject::Object(o);
        let p = if labeled {
            k.ipc_kobject_alloc_labeled_port(ko, ty, IPC_LABEL_DEXT, options)
        } else {
            k.ipc_kobject_alloc_port(ko, ty, options)
        };
        self.objs.push(o);
        self.ports.push(p);
    }

    fn expect_port(&self, s: &RefState, got: IpcPort) {
        let Expect::Port(want) = s.expect else {
            unreachable!("the reference expects a right")
        };
        expect_eq(got, self.port(want), "returned right");
    }

    /// As [`Sut::expect_port`], learning the port when the reference made a new one.
    fn expect_new_port(&mut self, s: &RefState, got: IpcPort) {
        if s.expect == Expect::Port(Some(self.ports.len())) {
            let IpcPort::Port(p) = got else {
                disagree(format!("a new port was due, the kernel returned {got:?}")).raise()
            };
            self.ports.push(p);
        }
        self.expect_port(s, got);
    }

    /// `ipc_kobject_make_send` / `ipc_kobject_copy_send`; the user of a timer port makes and
    /// copies rights without its kobject, as `mach_port_insert_right` does
    /// (`ipc_port_make_send_any` / `ipc_port_copy_send_any`).
    fn send_right(&self, s: &RefState, p: usize, copy: bool) {
        let (k, r) = (&self.k, &s.ports[p]);
        let (port, ko) = (self.ports[p].into(), self.kobject(r.original));
        let got = match (r.kind == Kind::Timer, copy) {
            (false, false) => k.ipc_kobject_make_send(port, ko, r.ty),
            (false, true) => k.ipc_kobject_copy_send(port, ko, r.ty),
            (true, false) => k.ipc_port_make_send_any(port),
            (true, true) => k.ipc_port_copy_send_any(port),
        };
        self.expect_port(s, got);
    }

    fn make_send_nsrequest(&self, s: &RefState, p: usize, locked: bool) {
        let k = &self.k;
        let r = &s.ports[p];
        let ko = self.kobject(r.original);
        let kr = if locked {
            let mut g = k.ip_mq_lock(self.ports[p]);
            k.ipc_kobject_make_send_nsrequest_locked(&mut g, ko, r.ty)
        } else {
            k.ipc_kobject_make_send_nsrequest(self.ports[p].into(), ko, r.ty)
        };
        expect_eq(Expect::Kr(kr), s.expect, "ipc_kobject_make_send_nsrequest");
        self.donate(s, p, kr);
    }

    /// A caller that armed a request donates a kobject reference.
    fn donate(&self, s: &RefState, p: usize, kr: KernReturn) {
        if kr == KERN_SUCCESS && s.ports[p].donates() {
            self.k.object_reference(self.objs[s.ports[p].obj.unwrap()]);
        }
    }

    /// `ipc_kobject_dealloc_port`; the owner releases the donation of a request it dropped.
    fn dealloc(&self, s: &RefState, p: usize, with_mscount: bool) {
        let k = &self.k;
        let (ms, armed) = {
            let g = k.ip_mq_lock(self.ports[p]);
            (g.ip_mscount, g.ip_nsrequest == NsRequest::KobjectArmed)
        };
        let ms = if with_mscount { ms } else { 0 };
        let got = k.ipc_kobject_dealloc_port(self.ports[p], ms, s.ports[p].ty);
        let got = Expect::Kobject(self.k_kobject_ref(got));
        expect_eq(got, s.expect, "ipc_kobject_dealloc_port");
        if armed && s.ports[p].donates() {
            k.object_release(self.objs[s.ports[p].obj.unwrap()]);
        }
    }

    /// `ipc_kobject_label_check` of a send right to port `p` into the test's space.
    fn label_check_send(&self, p: usize, flags: &mut IpcObjectCopyoutFlags) -> LabelCheck<'_> {
        let sg = self.k.is_write_lock(self.space);
        let g = self.k.ip_mq_lock(self.ports[p]);
        self.k
            .ipc_kobject_label_check(sg, g, MACH_MSG_TYPE_PORT_SEND, flags)
    }

    fn copyout(&self, s: &RefState, w: usize) {
        let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NONE;
        let got = match self.label_check_send(w, &mut flags) {
            LabelCheck::Substituted(port) => port,
            LabelCheck::Allowed(..) => {
                disagree("subst-once copyout allowed without substitution".into()).raise()
            }
            LabelCheck::Refused(..) => disagree("subst-once copyout refused".into()).raise(),
        };
        let want = IPC_OBJECT_COPYOUT_FLAGS_NO_LABEL_CHECK;
        expect_eq(flags, want, "copyout flags");
        self.expect_port(s, got);
    }

    /// # Deviations
    /// Only the decision is compared: the right stays held, neither copied out nor destroyed.
    fn label_check(&self, s: &RefState, p: usize) {
        let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NONE;
        let allowed = match self.label_check_send(p, &mut flags) {
            LabelCheck::Allowed(..) => true,
            LabelCheck::Refused(..) => false,
            LabelCheck::Substituted(port) => {
                disagree(format!("label check of a plain port substituted {port:?}")).raise()
            }
        };
        expect_eq(
            Expect::Allowed(allowed),
            s.expect,
            "ipc_kobject_label_check",
        );
    }

    fn create_task(&mut self) {
        let (task, space) = self.k.task_create(IPC_LABEL_NONE).expect("task_create");
        self.spaces.insert(self.objs.len(), space);
        self.objs.push(task);
        self.push_own_ports(task, 4);
    }

    fn create_thread(&mut self, task: usize) {
        let thread = self.k.thread_create(self.objs[task]);
        self.objs.push(thread);
        self.push_own_ports(thread, 3);
    }

    fn push_own_ports(&mut self, o: ObjId, count: usize) {
        for which in 0..count {
            let port = self.k.object_port(o, which);
            self.ports.push(port.id());
        }
    }

    /// `task_terminate` after `thread_terminate` of its threads still alive.
    fn terminate_task(&self, s: &RefState, task: usize) {
        let k = &self.k;
        for thread in s.owned_by(task, ObjKind::Thread) {
            let id = self.objs[thread];
            if k.object_is_live(id) && k.object_state(id).alive {
                k.thread_terminate(id);
            }
        }
        k.task_terminate(self.objs[task]);
    }

    fn create_timer(&mut self, task: usize) {
        let (name, port) = self
            .k
            .mk_timer_create(self.spaces[&task])
            .expect("mk_timer_create in a live task's space");
        let IpcKobject::Object(timer) = self.k.ip_mq_lock(port).ip_kobject.value else {
            disagree(format!("timer port {port} has no timer")).raise()
        };
        self.objs.push(timer);
        self.timer_names.insert(self.ports.len(), name);
        self.ports.push(port);
    }

    fn destroy_timer(&self, s: &RefState, p: usize) {
        let timer = s.ports[p].obj.expect("a timer port names its timer");
        let task = s.objs[timer].owner.expect("a timer's task");
        let kr = self
            .k
            .mach_port_destroy(self.spaces[&task], self.timer_names[&p]);
        expect_eq(kr, KERN_SUCCESS, "mach_port_destroy of a timer");
    }

    /// Translates a kernel kobject back into reference-model terms.
    fn k_kobject_ref(&self, ko: IpcKobject) -> RefKobject {
        match ko {
            IpcKobject::Null => RefKobject::Null,
            IpcKobject::Object(o) => RefKobject::Obj(
                self.objs
                    .iter()
                    .position(|&x| x == o)
                    .unwrap_or_else(|| disagree(format!("unknown object {o}")).raise()),
            ),
            IpcKobject::Port(p) => RefKobject::Port(
                self.ports
                    .iter()
                    .position(|&x| x == p)
                    .unwrap_or_else(|| disagree(format!("unknown port {p}")).raise()),
            ),
        }
    }

    /// Compares every port's counters and every object's references and holds with the
    /// reference model, then audits conservation with the rights the test holds. `#[inline]`,
    /// with what it calls, so that its code is generated where [`Unguided::check`] names it.
    #[inline]
    pub fn check(&self, s: &RefState) -> Result<(), Finding> {
        let k = &self.k;
        let mut held = Vec::new();
        for (i, r) in s.ports.iter().enumerate() {
            let id = self.ports[i];
            if !r.live {
                if k.port_is_live(id) {
                    return Err(disagree(format!("port {i} ({id}) should have been freed")));
                }
                continue;
            }
            if !k.port_is_live(id) {
                return Err(disagree(format!("port {i} ({id}) was freed early: {r:?}")));
            }
            let g = k.ip_mq_lock(id);
            let got = (
                g.ip_active(),
                g.ip_srights,
                g.ip_sorights,
                g.ip_mscount,
                g.ip_nsrequest == NsRequest::KobjectArmed,
                g.refs(),
                g.ip_kotype(),
                g.ip_kobject.value,
                g.ip_is_kolabeled(),
            );
            let want = (
                r.active,
                r.srights(),
                r.held_sonce,
                r.mscount,
                r.armed,
                r.refs,
                r.ty,
                self.kobject(r.kobject()),
                r.labeled,
            );
            if got != want {
                return Err(disagree(format!(
                    "port {i} ({id}): kernel (active, srights, sorights, mscount, armed, refs, \
                     kotype, kobject, labeled) = {got:?}, reference {want:?}"
                )));
            }
            held.extend(std::iter::repeat_n(Held::Send(id), r.held_send as usize));
            held.extend(std::iter::repeat_n(
                Held::SendOnce(id),
                r.held_sonce as usize,
            ));
        }
        self.check_objects(s)?;
        (self.unguided.auditor.audit)(k, &held)
    }

    #[inline]
    fn check_objects(&self, s: &RefState) -> Result<(), Finding> {
        let k = &self.k;
        for (i, r) in s.objs.iter().enumerate() {
            let id = self.objs[i];
            if !r.live {
                if k.object_is_live(id) {
                    return Err(disagree(format!(
                        "object {i} ({id}) should have been freed"
                    )));
                }
                continue;
            }
            if !k.object_is_live(id) {
                return Err(disagree(format!("object {i} ({id}) was freed early")));
            }
            let got = (k.object_refs(id), k.object_state(id).suspend_count);
            let want = (r.refs, r.suspend_count);
            if got != want {
                return Err(disagree(format!(
                    "object {i} ({id}, {:?}): kernel (refs, suspend count) = {got:?}, \
                     reference {want:?}",
                    r.kind
                )));
            }
        }
        Ok(())
    }

    /// Releases everything the test holds, fires pending requests, terminates the tasks (their
    /// threads and timers with them), deallocates the owned plain ports and destroys the
    /// objects; then nothing may remain.
    pub fn teardown(&self, s: &RefState) -> Result<(), Finding> {
        let k = &self.k;
        for (i, r) in s.ports.iter().enumerate() {
            for _ in 0..r.held_sonce {
                k.ipc_port_release_sonce(self.ports[i].into());
            }
        }
        for (i, r) in s.ports.iter().enumerate() {
            for _ in 0..r.held_send {
                k.ipc_port_release_send(self.ports[i].into());
            }
        }
        // Requests armed without senders fire once a right comes and goes.
        for (i, r) in s.ports.iter().enumerate() {
            let id = self.ports[i];
            if !k.port_is_live(id) || !k.ip_active(id) {
                continue;
            }
            let armed = k.ip_mq_lock(id).ip_nsrequest == NsRequest::KobjectArmed;
            if armed {
                let right = k.ipc_kobject_make_send(id.into(), self.kobject(r.original), r.ty);
                k.ipc_port_release_send(right);
            }
        }
        for (task, r) in s.objs.iter().enumerate() {
            if r.kind == ObjKind::Task && r.alive {
                self.terminate_task(s, task);
            }
        }
        for (i, r) in s.ports.iter().enumerate() {
            let id = self.ports[i];
            if r.kind == Kind::Plain && k.port_is_live(id) && k.ip_active(id) {
                k.ipc_kobject_dealloc_port(id, 0, r.ty);
            }
        }
        for (i, r) in s.objs.iter().enumerate() {
            let owned = matches!(
                r.kind,
                ObjKind::Generic | ObjKind::Semaphore | ObjKind::Voucher
            );
            if owned && r.alive {
                k.object_destroy(self.objs[i]);
            }
        }
        (self.unguided.auditor.audit_teardown)(k)
    }
}
