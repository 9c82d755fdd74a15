//! Every kernel MIG routine id dispatched through `ipc_kobject_server` against a suitable
//! kobject, on its success path and on each failure path of its archetype (the inline failure
//! selector, a target of the wrong type, a wrong descriptor count, a wrong disposition), each
//! followed by a ledger audit and a full teardown; the 52 skip ids; the hand-modelled routines;
//! and the injected MIG ownership bugs, each caught by a general invariant.

use kobject::ikot::*;
use kobject::ipc_kmsg::{KDescriptor, Kmsg};
use kobject::ipc_kobject_mig::{
    kernel_subsystems, MigKind, MigPortArg, MigPortKind, MigRoutineDesc, MACH_MSG_TYPE_POLYMORPHIC,
};
use kobject::ipc_request::{MACH_NOTIFY_DEAD_NAME, MACH_PORT_TYPE_DNREQUEST};
use kobject::kobjects::*;
use kobject::mach::*;
use kobject::mig_routines::*;
use kobject::outcome::{catch, quiet_findings, Finding};
use kobject::{Bug, Bugs, Held, IpcPort, Kernel, ObjId, Platform, PortId, SpaceId, IP_NULL};

// ---------------------------------------------------------------------------------------------
// A small world: one user task (whose space receives the replies), a thread, the host.

struct World {
    k: Kernel,
    task: ObjId,
    space: SpaceId,
    thread: ObjId,
    host: ObjId,
    host_port: PortId,
    priv_port: PortId,
    reply_port: PortId,
    /// Receive rights the test holds (the reply port and user ports).
    receives: Vec<PortId>,
    /// Send rights the test holds on objects it made, so they outlive the request.
    sends: Vec<PortId>,
    /// Objects the test made: their slots are drained at teardown.
    objects: Vec<ObjId>,
    /// Objects whose creator reference the test keeps (vouchers, memory objects).
    owned: Vec<(ObjId, bool)>,
}

impl World {
    fn new(bugs: Bugs) -> World {
        quiet_findings();
        let k = Kernel::new(Platform::Native, bugs);
        World::with_kernel(k)
    }

    fn with_kernel(k: Kernel) -> World {
        let (task, space) = k.task_create(IPC_LABEL_NONE).expect("a task");
        let thread = k.thread_create(task);
        let (host, host_port, priv_port) = k.host_create();
        let IpcPort::Port(reply_port) = k.ipc_port_alloc_special(space, 0) else {
            panic!("no reply port");
        };
        World {
            k,
            task,
            space,
            thread,
            host,
            host_port,
            priv_port,
            reply_port,
            receives: vec![reply_port],
            sends: Vec::new(),
            objects: Vec::new(),
            owned: Vec::new(),
        }
    }

    /// What the test holds outside the model.
    fn held(&self) -> Vec<Held> {
        let mut held: Vec<Held> = self.receives.iter().map(|&p| Held::Receive(p)).collect();
        held.extend(self.sends.iter().map(|&p| Held::Send(p)));
        held
    }

    fn audit(&self, what: &str) {
        if let Err(f) = self.k.audit(&self.held()) {
            panic!("{what}: audit: {f}");
        }
    }

    /// A port received in the task's space, as a user port.
    fn user_port(&mut self) -> PortId {
        let IpcPort::Port(p) = self.k.ipc_port_alloc_special(self.space, 0) else {
            panic!("no user port");
        };
        self.receives.push(p);
        p
    }

    fn send_on(&self, p: PortId) -> IpcPort {
        self.k.ipc_port_make_send_any(IpcPort::Port(p))
    }

    /// A made kobject of type `ty`; the test keeps one send right on it.
    fn object(&mut self, ty: IpcKobjectType) -> (ObjId, PortId) {
        let (o, p) = self.k.mig_object_create(ty);
        self.sends.push(p);
        self.objects.push(o);
        if ty == IKOT_MEMORY_OBJECT {
            self.owned.push((o, true));
        }
        (o, p)
    }

    fn voucher(&mut self) -> PortId {
        let v = self.k.ipc_voucher_create();
        self.k.object_reference(v);
        let port = self.k.convert_lazy_object_to_port(v).id();
        self.sends.push(port);
        self.owned.push((v, false));
        port
    }

    fn semaphore(&mut self) -> PortId {
        let s = self.k.mig_semaphore_create(self.task).expect("a live task");
        let port = self.k.convert_lazy_object_to_port(s).id();
        self.sends.push(port);
        port
    }

    /// A port of type `ty` to send a request to (the first type a target intran accepts).
    fn target(&mut self, ty: IpcKobjectType) -> PortId {
        match ty {
            IKOT_TASK_CONTROL => self.k.object_port(self.task, TASK_PORT_CONTROL).id(),
            IKOT_TASK_READ => self.k.object_port(self.task, TASK_PORT_READ).id(),
            IKOT_TASK_NAME => self.k.object_port(self.task, TASK_PORT_NAME).id(),
            IKOT_THREAD_CONTROL => self.k.object_port(self.thread, THREAD_PORT_CONTROL).id(),
            IKOT_THREAD_READ => self.k.object_port(self.thread, THREAD_PORT_READ).id(),
            IKOT_HOST => self.host_port,
            IKOT_HOST_PRIV => self.priv_port,
            IKOT_VOUCHER => self.voucher(),
            IKOT_TASK_ID_TOKEN => {
                let (_, port) = self
                    .k
                    .task_create_identity_token(self.task)
                    .expect("a task");
                self.sends.push(port);
                port
            }
            _ => self.object(ty).1,
        }
    }

    /// A translated port argument: a port its intran accepts.
    fn translated_arg(&mut self, field: &str) -> PortId {
        match field {
            "task" | "src_task" | "into_task" | "from_task" | "owningTask" | "corspe_task" => {
                self.target(IKOT_TASK_CONTROL)
            }
            "thread" => self.target(IKOT_THREAD_CONTROL),
            "semaphore" => self.semaphore(),
            "voucher" | "new_voucher" | "old_voucher" => self.voucher(),
            "object" | "parent_handle" | "parent_entry" => self.object(IKOT_NAMED_ENTRY).1,
            "pager" => self.object(IKOT_MEMORY_OBJECT).1,
            "new_set" | "pset" | "set_name" => self.object(IKOT_PSET).1,
            "connect_to" => self.object(IKOT_IOKIT_CONNECT).1,
            "kcdata_object" => self.object(IKOT_KCDATA).1,
            other => panic!("no translated argument for {other}"),
        }
    }

    /// One request port argument: a right of the kind the stub accepts.
    fn arg_right(&mut self, desc: &MigRoutineDesc, arg: &MigPortArg) -> (IpcPort, u32) {
        if desc.stub_releases.contains(&arg.field) {
            let p = self.translated_arg(arg.field);
            return (self.send_on(p), MACH_MSG_TYPE_PORT_SEND);
        }
        let p = self.user_port();
        match arg.disposition {
            MACH_MSG_TYPE_PORT_SEND_ONCE => (
                self.k.ipc_port_make_sonce(IpcPort::Port(p)),
                MACH_MSG_TYPE_PORT_SEND_ONCE,
            ),
            MACH_MSG_TYPE_PORT_SEND | MACH_MSG_TYPE_POLYMORPHIC => {
                (self.send_on(p), MACH_MSG_TYPE_PORT_SEND)
            }
            other => panic!("{}: request disposition {other}", desc.name),
        }
    }

    /// The body a well-formed request carries: port arguments in order, then memory.
    fn body(&mut self, desc: &MigRoutineDesc) -> Vec<KDescriptor> {
        let mut body = Vec::new();
        for arg in &desc.req_ports {
            for _ in 0..arg.count {
                let (name, disposition) = self.arg_right(desc, arg);
                body.push(match arg.kind {
                    MigPortKind::Port => KDescriptor::Port { name, disposition },
                    MigPortKind::OolPorts => KDescriptor::OolPorts {
                        ports: vec![name],
                        disposition,
                    },
                });
            }
        }
        for _ in 0..desc.req_ool_mem {
            body.push(KDescriptor::Ool {
                copy: Some(self.k.vm_map_copy_alloc()),
                size: 64,
            });
        }
        body
    }

    /// A kernel-form request to `port` with a send-once reply right to the reply port.
    fn request(&self, id: i32, dest: (IpcPort, u32), body: Vec<KDescriptor>) -> Kmsg {
        let complex = if body.is_empty() {
            0
        } else {
            MACH_MSGH_BITS_COMPLEX
        };
        let mut kmsg = Kmsg::alloc(64, 0);
        kmsg.msgh_bits = mach_msgh_bits_set(dest.1, MACH_MSG_TYPE_PORT_SEND_ONCE, 0, complex);
        kmsg.msgh_remote_port = dest.0;
        kmsg.msgh_local_port = self.k.ipc_port_make_sonce(IpcPort::Port(self.reply_port));
        kmsg.msgh_id = id;
        kmsg.body = body;
        kmsg.sender_task = Some(self.task);
        kmsg
    }

    /// Dispatches and checks the reply contract; returns the reply's status.
    fn dispatch(&self, desc: &MigRoutineDesc, port: PortId, kmsg: Kmsg) -> (KernReturn, Kmsg) {
        let reply = self
            .k
            .ipc_kobject_server(port, kmsg)
            .unwrap_or_else(|| panic!("{}: no reply", desc.name));
        check_reply(&self.k, desc, &reply, self.reply_port);
        (self.k.ipc_kobject_reply_status(&reply), reply)
    }

    /// Ends everything the test made and checks that nothing but permanent objects remain.
    fn teardown(mut self, what: &str) {
        let k = &self.k;
        for o in [self.task, self.thread, self.host]
            .into_iter()
            .chain(self.objects.iter().copied())
        {
            if k.object_is_live(o) {
                k.mig_object_slots_drain(o);
            }
        }
        for p in self.sends.drain(..) {
            k.ipc_port_release_send(IpcPort::Port(p));
        }
        for (o, is_made) in self.owned.drain(..) {
            if is_made {
                k.mig_object_destroy(o);
            } else {
                k.object_destroy(o);
            }
        }
        k.semaphore_destroy_all(self.task);
        k.thread_terminate(self.thread);
        k.task_terminate(self.task);
        for p in self.receives.drain(..) {
            k.ipc_port_release_receive(p);
        }
        if let Err(f) = k.audit_teardown() {
            panic!("{what}: teardown: {f}");
        }
    }
}

/// The reply contract: id + 100, to the request's reply right; a success reply complex and
/// sized per the routine, an error reply simple and 44 bytes.
fn check_reply(k: &Kernel, desc: &MigRoutineDesc, reply: &Kmsg, reply_port: PortId) {
    let name = desc.name;
    assert_eq!(reply.msgh_id, desc.msgh_id + 100, "{name}: reply id");
    assert_eq!(reply.msgh_remote_port, IpcPort::Port(reply_port), "{name}");
    assert_eq!(
        mach_msgh_bits_remote(reply.msgh_bits),
        MACH_MSG_TYPE_PORT_SEND_ONCE,
        "{name}"
    );
    if k.ipc_kobject_reply_status(reply) != KERN_SUCCESS {
        assert!(!reply.is_complex(), "{name}: complex error reply");
        assert_eq!(reply.msgh_size, MIG_REPLY_ERROR_SIZE, "{name}");
        assert!(reply.body.is_empty(), "{name}");
        return;
    }
    assert_eq!(
        reply.is_complex(),
        desc.reply_complex,
        "{name}: complex bit"
    );
    assert_eq!(reply.msgh_size, desc.max_reply_msg, "{name}: size");
    assert_eq!(
        reply.body.len() as u32,
        desc.reply_descr_count,
        "{name}: reply descriptors"
    );
    let mut want = desc.reply_ports.iter().flat_map(|a| {
        let disposition = if a.disposition == MACH_MSG_TYPE_POLYMORPHIC {
            MACH_MSG_TYPE_PORT_SEND
        } else {
            a.disposition
        };
        std::iter::repeat_n((a.kind, disposition), a.count as usize)
    });
    for d in &reply.body {
        match d {
            KDescriptor::Port { disposition, .. } => {
                assert_eq!(
                    want.next(),
                    Some((MigPortKind::Port, *disposition)),
                    "{name}"
                )
            }
            KDescriptor::OolPorts { disposition, .. } => assert_eq!(
                want.next(),
                Some((MigPortKind::OolPorts, *disposition)),
                "{name}"
            ),
            KDescriptor::Ool { copy, .. } => assert!(copy.is_some(), "{name}: empty region"),
        }
    }
    assert_eq!(want.next(), None, "{name}: missing port descriptors");
}

fn routines() -> impl Iterator<Item = &'static MigRoutineDesc> {
    kernel_subsystems()
        .iter()
        .flat_map(|s| &s.routines)
        .filter(|r| r.kind != MigKind::Skip)
}

fn routine(name: &str) -> &'static MigRoutineDesc {
    routines()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no routine {name}"))
}

fn is_swap_voucher(desc: &MigRoutineDesc) -> bool {
    desc.name.ends_with("swap_mach_voucher")
}

/// How a sweep request is spoiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    WellFormed,
    /// `inline_data[0] = MIG_SELECT_FAIL`.
    Selector,
    /// The destination is a kobject no intran accepts.
    WrongTarget,
    /// One descriptor too few (or a complex bit on a simple routine).
    BadCount,
    /// The first typed port argument arrives with the other send disposition.
    BadDisposition,
}

/// Sends one request for `desc` spoiled as `case` and checks status, reply, audit and teardown.
fn run_case(desc: &'static MigRoutineDesc, case: Case) {
    let what = format!("{} ({}) {case:?}", desc.name, desc.msgh_id);
    let result = catch(|| {
        let mut w = World::new(Bugs::NONE);
        let (port, dest) = sweep_destination(&mut w, desc, case);
        let mut body = w.body(desc);
        let mut words = mig_well_formed_words(desc);
        let mut complex_without_body = false;
        match case {
            Case::Selector => words[0] = MIG_SELECT_FAIL,
            Case::BadCount if body.is_empty() => complex_without_body = true,
            Case::BadCount => {
                let dropped = body.pop().expect("a descriptor");
                destroy_descriptor(&w.k, dropped);
            }
            Case::BadDisposition => spoil_disposition(&w.k, &mut body),
            Case::WellFormed | Case::WrongTarget => {}
        }
        let mut kmsg = w.request(desc.msgh_id, dest, body);
        kmsg.inline_data = words;
        if complex_without_body {
            kmsg.msgh_bits |= MACH_MSGH_BITS_COMPLEX;
        }
        let (status, reply) = w.dispatch(desc, port, kmsg);
        check_sweep_status(desc, case, status, &what);
        w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
        w.audit(&what);
        w.teardown(&what);
    });
    if let Err(f) = result {
        panic!("{what}: {f}");
    }
}

fn check_sweep_status(desc: &MigRoutineDesc, case: Case, status: KernReturn, what: &str) {
    match case {
        // XNU's thread_set_special_port has no slot a user may set with SIP on (slot 0 is
        // no slot at all).
        Case::WellFormed if desc.name == "thread_set_special_port" => {
            assert_eq!(status, KERN_INVALID_ARGUMENT, "{what}")
        }
        // A request for a name needs a name the space has; the table's words name none
        // (`MACH_PORT_NULL`), which `mach_port_request_notification` refuses.
        Case::WellFormed if desc.name == "mach_port_request_notification" => {
            assert_eq!(status, KERN_INVALID_ARGUMENT, "{what}")
        }
        Case::WellFormed => assert_eq!(status, KERN_SUCCESS, "{what}"),
        Case::Selector if is_swap_voucher(desc) => {
            assert_eq!(status, KERN_NOT_SUPPORTED, "{what}")
        }
        Case::Selector => assert_eq!(status, KERN_INVALID_VALUE, "{what}"),
        Case::WrongTarget => assert!(
            status != KERN_SUCCESS && status != MIG_NO_REPLY,
            "{what}: status {status}"
        ),
        Case::BadCount => assert_eq!(status, MIG_BAD_ARGUMENTS, "{what}"),
        Case::BadDisposition => assert_eq!(status, MIG_TYPE_ERROR, "{what}"),
    }
}

/// The destination port and right of a sweep request.
fn sweep_destination(w: &mut World, desc: &MigRoutineDesc, case: Case) -> (PortId, (IpcPort, u32)) {
    if case == Case::WrongTarget {
        let p = w.target(IKOT_EXCLAVES_RESOURCE);
        return (p, (w.send_on(p), MACH_MSG_TYPE_PORT_SEND));
    }
    let ty = mig_target_kotypes(desc)[0];
    if ty == IKOT_TASK_RESUME {
        // A suspension token is a send-once right to itk_resume (task_suspend2).
        let token = w.k.task_suspend2(w.task);
        return (token.id(), (token, MACH_MSG_TYPE_PORT_SEND_ONCE));
    }
    let p = w.target(ty);
    (p, (w.send_on(p), MACH_MSG_TYPE_PORT_SEND))
}

/// Destroys a descriptor the test took out of a body (its right or its region).
fn destroy_descriptor(k: &Kernel, d: KDescriptor) {
    let mut holder = Kmsg::alloc(0, 0);
    holder.body.push(d);
    k.ipc_kmsg_destroy(holder, IPC_KMSG_DESTROY_ALL);
}

/// Replaces the first port argument's right by a right of the other send kind on the same
/// port (send <-> send-once): the stub must refuse it without consuming anything.
fn spoil_disposition(k: &Kernel, body: &mut [KDescriptor]) {
    let Some(d) = body
        .iter_mut()
        .find(|d| matches!(d, KDescriptor::Port { .. }))
    else {
        return;
    };
    let KDescriptor::Port { name, disposition } = d.clone() else {
        unreachable!()
    };
    let (other, right) = if disposition == MACH_MSG_TYPE_PORT_SEND {
        (MACH_MSG_TYPE_PORT_SEND_ONCE, k.ipc_port_make_sonce(name))
    } else {
        (MACH_MSG_TYPE_PORT_SEND, k.ipc_port_make_send_any(name))
    };
    k.ipc_object_destroy(name, disposition);
    *d = KDescriptor::Port {
        name: right,
        disposition: other,
    };
}

/// Whether some port argument has a typed disposition a swapped right would violate.
fn has_typed_port(desc: &MigRoutineDesc) -> bool {
    desc.req_ports
        .iter()
        .take(1)
        .any(|a| a.kind == MigPortKind::Port && a.disposition != MACH_MSG_TYPE_POLYMORPHIC)
}

// ---------------------------------------------------------------------------------------------
// The sweep over every routine id.

#[test]
fn every_routine_id_well_formed_request_succeeds_and_balances() {
    let mut count = 0;
    for desc in routines() {
        run_case(desc, Case::WellFormed);
        count += 1;
    }
    assert_eq!(count, 345);
}

#[test]
fn every_routine_id_failure_selector_consumes_nothing() {
    for desc in routines() {
        run_case(desc, Case::Selector);
    }
}

#[test]
fn every_routine_id_wrong_target_consumes_nothing() {
    for desc in routines() {
        run_case(desc, Case::WrongTarget);
    }
}

#[test]
fn every_routine_id_bad_descriptor_count_is_mig_bad_arguments() {
    for desc in routines() {
        run_case(desc, Case::BadCount);
    }
}

#[test]
fn every_typed_port_argument_bad_disposition_is_mig_type_error() {
    let mut count = 0;
    for desc in routines().filter(|d| has_typed_port(d)) {
        run_case(desc, Case::BadDisposition);
        count += 1;
    }
    assert!(count > 50, "only {count} routines take a typed port");
}

#[test]
fn every_skip_id_gets_mig_bad_id_and_the_body_is_destroyed() {
    let skips: Vec<i32> = kernel_subsystems()
        .iter()
        .flat_map(|s| &s.routines)
        .filter(|r| r.kind == MigKind::Skip)
        .map(|r| r.msgh_id)
        .collect();
    assert_eq!(skips.len(), 52);
    let mut w = World::new(Bugs::NONE);
    let control = w.target(IKOT_TASK_CONTROL);
    for id in skips {
        let wake = w.user_port();
        let body = vec![KDescriptor::Port {
            name: w.send_on(wake),
            disposition: MACH_MSG_TYPE_PORT_SEND,
        }];
        let kmsg = w.request(id, (w.send_on(control), MACH_MSG_TYPE_PORT_SEND), body);
        let reply = w.k.ipc_kobject_server(control, kmsg).expect("a reply");
        assert_eq!(reply.msgh_id, id + 100);
        assert_eq!(w.k.ipc_kobject_reply_status(&reply), MIG_BAD_ID, "id {id}");
        assert_eq!(reply.msgh_size, MIG_REPLY_ERROR_SIZE);
        w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
        assert_eq!(
            w.k.ip_mq_lock(wake).ip_srights,
            0,
            "id {id}: body right kept"
        );
        w.audit(&format!("skip {id}"));
    }
    w.teardown("skips");
}

// ---------------------------------------------------------------------------------------------
// Hand-modelled routines.

/// Sends `desc` to `port` with `words`, a standard body, and returns the reply.
fn call(w: &mut World, desc: &MigRoutineDesc, port: PortId, words: &[u32]) -> (KernReturn, Kmsg) {
    let body = w.body(desc);
    let dest = (w.send_on(port), MACH_MSG_TYPE_PORT_SEND);
    let mut kmsg = w.request(desc.msgh_id, dest, body);
    kmsg.inline_data = words.to_vec();
    w.dispatch(desc, port, kmsg)
}

fn reply_port_right(reply: &Kmsg) -> IpcPort {
    match reply.body.first() {
        Some(KDescriptor::Port { name, .. }) => *name,
        other => panic!("reply has no port descriptor: {other:?}"),
    }
}

#[test]
fn task_get_special_port_of_self_returns_a_subst_once_wrapper() {
    let mut w = World::new(Bugs::NONE);
    let desc = routine("task_get_special_port_from_user");
    let control = w.target(IKOT_TASK_CONTROL);
    let (status, reply) = call(&mut w, desc, control, &[0, TASK_KERNEL_PORT]);
    assert_eq!(status, KERN_SUCCESS);
    let wrapper = reply_port_right(&reply).id();
    assert_eq!(w.k.ip_kotype(wrapper), IKOT_PORT_SUBST_ONCE);
    w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
    assert!(
        !w.k.port_is_live(wrapper),
        "the wrapper's no-senders frees it"
    );
    w.audit("subst-once");
    w.teardown("subst-once");
}

#[test]
fn task_get_special_port_of_another_task_returns_the_labeled_control_port() {
    let mut w = World::new(Bugs::NONE);
    let desc = routine("task_get_special_port_from_user");
    let control = w.target(IKOT_TASK_CONTROL);
    let body = w.body(desc);
    let mut kmsg = w.request(desc.msgh_id, (w.send_on(control), 17), body);
    kmsg.inline_data = vec![0, TASK_KERNEL_PORT];
    kmsg.sender_task = None;
    let (status, reply) = w.dispatch(desc, control, kmsg);
    assert_eq!(status, KERN_SUCCESS);
    assert_eq!(reply_port_right(&reply), IpcPort::Port(control));
    assert!(w.k.ip_is_kolabeled(control), "copyout will substitute it");
    w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
    w.audit("control");
    w.teardown("control");
}

#[test]
fn task_get_special_port_through_the_read_port_is_limited_to_read_flavors() {
    let mut w = World::new(Bugs::NONE);
    let desc = routine("task_get_special_port_from_user");
    let read = w.target(IKOT_TASK_READ);
    let (status, reply) = call(&mut w, desc, read, &[0, TASK_KERNEL_PORT]);
    assert_eq!(status, KERN_INVALID_CAPABILITY);
    w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
    let (status, reply) = call(&mut w, desc, read, &[0, TASK_NAME_PORT]);
    assert_eq!(status, KERN_SUCCESS);
    let name = w.k.object_port(w.task, TASK_PORT_NAME);
    assert_eq!(reply_port_right(&reply), name);
    w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
    w.audit("read flavors");
    w.teardown("read flavors");
}

#[test]
fn task_set_then_get_special_port_round_trips_the_stored_right() {
    let mut w = World::new(Bugs::NONE);
    let control = w.target(IKOT_TASK_CONTROL);
    let set = routine("task_set_special_port_from_user");
    let (status, reply) = call(&mut w, set, control, &[0, TASK_BOOTSTRAP_PORT]);
    assert_eq!(status, KERN_SUCCESS);
    w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
    let stored = w.k.object_state(w.task).slot;
    assert!(matches!(stored, IpcPort::Port(_)));
    let get = routine("task_get_special_port_from_user");
    let (status, reply) = call(&mut w, get, control, &[0, TASK_BOOTSTRAP_PORT]);
    assert_eq!(status, KERN_SUCCESS);
    assert_eq!(reply_port_right(&reply), stored);
    w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
    let (status, reply) = call(&mut w, set, control, &[0, TASK_KERNEL_PORT]);
    assert_eq!(
        status, KERN_NO_ACCESS,
        "task-self is not settable with SIP on"
    );
    w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
    w.audit("set/get");
    w.teardown("set/get");
}

#[test]
fn thread_get_special_port_of_a_foreign_thread_is_the_control_port() {
    let mut w = World::new(Bugs::NONE);
    let desc = routine("thread_get_special_port_from_user");
    let control = w.target(IKOT_THREAD_CONTROL);
    let body = w.body(desc);
    let mut kmsg = w.request(desc.msgh_id, (w.send_on(control), 17), body);
    kmsg.inline_data = vec![0, THREAD_KERNEL_PORT];
    kmsg.sender_task = None;
    let (status, reply) = w.dispatch(desc, control, kmsg);
    assert_eq!(status, KERN_SUCCESS);
    assert_eq!(reply_port_right(&reply), IpcPort::Port(control));
    w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
    w.teardown("thread control");
}

#[test]
fn host_set_special_port_replaces_and_releases_the_stored_right() {
    let mut w = World::new(Bugs::NONE);
    let desc = routine("host_set_special_port_from_user");
    let priv_port = w.priv_port;
    let mut stored = Vec::new();
    for _ in 0..3 {
        let (status, reply) = call(&mut w, desc, priv_port, &[0, HOST_DYNAMIC_PAGER_PORT]);
        assert_eq!(status, KERN_SUCCESS);
        w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
        stored.push(w.k.object_state(w.host).slot.id());
        w.audit("host special port");
    }
    for p in &stored[..2] {
        assert_eq!(
            w.k.ip_mq_lock(*p).ip_srights,
            0,
            "a replaced right is released"
        );
    }
    let (status, reply) = call(&mut w, desc, priv_port, &[0, HOST_PRIV_PORT]);
    assert_eq!(status, KERN_INVALID_ARGUMENT, "kernel ids are not settable");
    w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
    w.audit("host special port id");
    w.teardown("host special port");
}

#[test]
fn host_set_special_port_without_the_lock_balances_when_nothing_races() {
    // CVE-2016-7644 needs two threads: sequentially the unlocked swap is still balanced,
    // so the simulator, not this test, is what must catch it.
    let mut w = World::new(Bugs::one(Some(Bug::ReplaceStoredRightUnlocked)));
    let desc = routine("host_set_special_port_from_user");
    let priv_port = w.priv_port;
    for _ in 0..2 {
        let (status, reply) = call(&mut w, desc, priv_port, &[0, HOST_DYNAMIC_PAGER_PORT]);
        assert_eq!(status, KERN_SUCCESS);
        w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
    }
    w.audit("unlocked replace");
    w.teardown("unlocked replace");
}

#[test]
fn semaphore_create_then_destroy_through_the_returned_port() {
    let mut w = World::new(Bugs::NONE);
    let control = w.target(IKOT_TASK_CONTROL);
    let (status, mut reply) = call(&mut w, routine("semaphore_create"), control, &[0, 0]);
    assert_eq!(status, KERN_SUCCESS);
    let IpcPort::Port(sem_port) = reply_port_right(&reply) else {
        panic!("no semaphore port");
    };
    assert_eq!(w.k.ip_kotype(sem_port), IKOT_SEMAPHORE);
    // Keep the returned right as a user would after receiving it.
    reply.body.clear();
    w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
    w.sends.push(sem_port);
    w.audit("semaphore created");
    let destroy = routine("semaphore_destroy");
    let dest = (w.send_on(control), MACH_MSG_TYPE_PORT_SEND);
    let body = vec![KDescriptor::Port {
        name: w.send_on(sem_port),
        disposition: MACH_MSG_TYPE_PORT_SEND,
    }];
    let kmsg = w.request(destroy.msgh_id, dest, body);
    let (status, reply) = w.dispatch(destroy, control, kmsg);
    assert_eq!(status, KERN_SUCCESS);
    w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
    w.audit("semaphore destroyed");
    w.k.ipc_port_release_send(IpcPort::Port(sem_port));
    w.sends.retain(|&p| p != sem_port);
    assert!(
        !w.k.port_is_live(sem_port),
        "the semaphore and its port are gone"
    );
    w.teardown("semaphore");
}

#[test]
fn task_swap_mach_voucher_consumes_the_input_and_references_the_output() {
    let mut w = World::new(Bugs::NONE);
    let desc = routine("task_swap_mach_voucher");
    let control = w.target(IKOT_TASK_CONTROL);
    let (status, reply) = call(&mut w, desc, control, &[0, 0]);
    assert_eq!(status, KERN_SUCCESS);
    assert_eq!(w.k.ip_kotype(reply_port_right(&reply).id()), IKOT_VOUCHER);
    w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
    w.audit("voucher swap");
    w.teardown("voucher swap");
}

#[test]
fn task_resume2_releases_the_hold_of_its_token() {
    let mut w = World::new(Bugs::NONE);
    let control = w.target(IKOT_TASK_CONTROL);
    let (status, mut reply) = call(&mut w, routine("task_suspend2_mig"), control, &[0, 0]);
    assert_eq!(status, KERN_SUCCESS);
    let token = reply_port_right(&reply);
    reply.body.clear();
    w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
    assert_eq!(w.k.object_state(w.task).suspend_count, 1);
    let resume = routine("task_resume2_mig");
    let kmsg = w.request(
        resume.msgh_id,
        (token, MACH_MSG_TYPE_PORT_SEND_ONCE),
        Vec::new(),
    );
    let (status, reply) = w.dispatch(resume, token.id(), kmsg);
    assert_eq!(status, KERN_SUCCESS);
    w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
    assert_eq!(w.k.object_state(w.task).suspend_count, 0);
    w.audit("resume2");
    w.teardown("resume2");
}

#[test]
fn mach_port_request_notification_returns_the_previous_send_once_right() {
    let mut w = World::new(Bugs::NONE);
    let desc = routine("mach_port_request_notification");
    let control = w.target(IKOT_TASK_CONTROL);
    let name = w.k.mach_port_allocate(w.space).expect("a receive right");
    assert_eq!(w.k.mach_port_insert_send(w.space, name), KERN_SUCCESS);
    let words = [MIG_SELECT_NORMAL, name, MACH_NOTIFY_DEAD_NAME as u32, 0];
    let (status, reply) = call(&mut w, desc, control, &words);
    assert_eq!(status, KERN_SUCCESS);
    assert_eq!(reply_port_right(&reply), IP_NULL);
    w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
    let ty = w.k.mach_port_type(w.space, name).expect("the name");
    assert_ne!(ty & MACH_PORT_TYPE_DNREQUEST, 0, "type {ty:#x}");
    let (status, reply) = call(&mut w, desc, control, &words);
    assert_eq!(status, KERN_SUCCESS);
    let previous = reply_port_right(&reply);
    assert!(
        matches!(previous, IpcPort::Port(p) if w.receives.contains(&p)),
        "the previous request's right comes back: {previous:?}"
    );
    w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
    assert_eq!(w.k.mach_port_destroy(w.space, name), KERN_SUCCESS);
    w.audit("request notification");
    w.teardown("request notification");
}

#[test]
fn async_method_duplicate_registration_fails_with_nothing_consumed() {
    let mut w = World::new(Bugs::NONE);
    let desc = routine("io_connect_async_method");
    let (_, connect) = w.object(IKOT_IOKIT_CONNECT);
    let (status, reply) = call(&mut w, desc, connect, &[0, 0]);
    assert_eq!(status, KERN_SUCCESS);
    w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
    let (status, reply) = call(&mut w, desc, connect, &[0, 0]);
    assert_eq!(status, KERN_FAILURE);
    w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
    w.audit("async duplicate");
    w.teardown("async duplicate");
}

#[test]
fn add_notification_ool_bad_dictionary_reports_success_and_drops_the_wake_port() {
    let mut w = World::new(Bugs::NONE);
    let desc = routine("io_service_add_notification_ool");
    let (_, main) = w.object(IKOT_MAIN_DEVICE);
    let (status, reply) = call(&mut w, desc, main, &[MIG_SELECT_ALT, 0]);
    assert_eq!(status, KERN_SUCCESS);
    assert_eq!(reply_port_right(&reply), IP_NULL);
    w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
    w.audit("bad dictionary");
    w.teardown("bad dictionary");
    let mut w = World::new(Bugs::NONE);
    let plain = routine("io_service_add_notification");
    let (_, main) = w.object(IKOT_MAIN_DEVICE);
    let (status, reply) = call(&mut w, plain, main, &[MIG_SELECT_ALT, 0]);
    assert_eq!(status, K_IO_RETURN_BAD_ARGUMENT, "the plain variant fails");
    w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
    w.audit("bad dictionary, plain");
    w.teardown("bad dictionary, plain");
}

#[test]
fn deferred_reply_answers_mig_no_reply_and_replies_later() {
    quiet_findings();
    let mut k = Kernel::new(Platform::Native, Bugs::NONE);
    k.set_mig_table(mig_table_with_synthetic());
    let mut w = World::with_kernel(k);
    let desc =
        w.k.mig_table()
            .routines()
            .iter()
            .find(|r| r.msgh_id == MIG_SYNTHETIC_DEFERRED_REPLY_ID)
            .expect("the synthetic routine")
            .clone();
    let (connect_obj, connect) = w.object(IKOT_IOKIT_CONNECT);
    let dest = (w.send_on(connect), MACH_MSG_TYPE_PORT_SEND);
    let kmsg = w.request(desc.msgh_id, dest, Vec::new());
    assert!(
        w.k.ipc_kobject_server(connect, kmsg).is_none(),
        "MIG_NO_REPLY"
    );
    assert_eq!(
        w.k.ip_mq_lock(w.reply_port).ip_sorights,
        1,
        "the routine kept it"
    );
    w.audit("deferred: saved");
    // A second request while one is pending is refused and replied to at once.
    let kmsg = w.request(desc.msgh_id, (w.send_on(connect), 17), Vec::new());
    let (status, reply) = w.dispatch(&desc, connect, kmsg);
    assert_eq!(status, KERN_ALREADY_WAITING);
    w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
    let later =
        w.k.mig_deferred_reply(connect_obj, KERN_SUCCESS)
            .expect("a saved reply right");
    check_reply(&w.k, &desc, &later, w.reply_port);
    assert_eq!(w.k.ipc_kobject_reply_status(&later), KERN_SUCCESS);
    assert!(w.k.mig_deferred_reply(connect_obj, KERN_SUCCESS).is_none());
    w.k.ipc_kmsg_destroy(later, IPC_KMSG_DESTROY_ALL);
    w.audit("deferred: replied");
    w.teardown("deferred");
}

#[test]
fn synthetic_subsystem_is_outside_every_real_range() {
    let synthetic = synthetic_subsystem();
    for s in kernel_subsystems() {
        assert!(
            synthetic.end <= s.start || synthetic.start >= s.end,
            "{}",
            s.name
        );
    }
    let table = mig_table_with_synthetic();
    assert_eq!(table.routines().len(), 346);
    assert!(table
        .find_mig_hash_entry(MIG_SYNTHETIC_DEFERRED_REPLY_ID)
        .is_some());
}

// ---------------------------------------------------------------------------------------------
// Injected MIG ownership bugs: each caught by a general invariant.

/// Runs `f` and returns the finding it raised or the audit finding after it.
fn finding_of(f: impl FnOnce() -> Result<(), Finding>) -> Finding {
    match catch(f) {
        Ok(Ok(())) => panic!("the bug went unnoticed"),
        Ok(Err(f)) | Err(f) => f,
    }
}

#[test]
fn bug_add_notification_ool_leak_is_a_send_right_leak() {
    let f = finding_of(|| {
        let mut w = World::new(Bugs::one(Some(Bug::AddNotificationOolLeak)));
        let desc = routine("io_service_add_notification_ool");
        let (_, main) = w.object(IKOT_MAIN_DEVICE);
        let (status, reply) = call(&mut w, desc, main, &[MIG_SELECT_ALT, 0]);
        assert_eq!(status, KERN_SUCCESS);
        w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
        w.k.audit(&w.held())
    });
    assert_eq!(f.invariant, "send-right-leak", "{f}");
}

#[test]
fn bug_async_wake_double_release_underflows_the_wake_port() {
    let f = finding_of(|| {
        let mut w = World::new(Bugs::one(Some(Bug::AsyncWakeDoubleRelease)));
        let desc = routine("io_connect_async_method");
        let (_, connect) = w.object(IKOT_IOKIT_CONNECT);
        for _ in 0..2 {
            let (_, reply) = call(&mut w, desc, connect, &[0, 0]);
            w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
        }
        w.k.audit(&w.held())
    });
    assert_eq!(f.invariant, "srights-underflow", "{f}");
}

#[test]
fn bug_async_wake_double_release_on_a_shared_port_breaks_the_ledger() {
    let f = finding_of(|| {
        let mut w = World::new(Bugs::one(Some(Bug::AsyncWakeDoubleRelease)));
        let desc = routine("io_connect_async_method");
        let (_, connect) = w.object(IKOT_IOKIT_CONNECT);
        let wake = w.user_port();
        for _ in 0..2 {
            let body = vec![KDescriptor::Port {
                name: w.send_on(wake),
                disposition: MACH_MSG_TYPE_PORT_SEND,
            }];
            let kmsg = w.request(desc.msgh_id, (w.send_on(connect), 17), body);
            let (_, reply) = w.dispatch(desc, connect, kmsg);
            w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
        }
        w.k.audit(&w.held())
    });
    assert_eq!(f.invariant, "send-right-overcount", "{f}");
}

#[test]
fn bug_voucher_swap_breaks_the_voucher_references() {
    let f = finding_of(|| {
        let mut w = World::new(Bugs::one(Some(Bug::VoucherSwap)));
        let desc = routine("task_swap_mach_voucher");
        let control = w.target(IKOT_TASK_CONTROL);
        let (status, reply) = call(&mut w, desc, control, &[0, 0]);
        assert_eq!(status, KERN_SUCCESS);
        w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
        w.k.audit(&w.held())
    });
    assert!(
        f.invariant.starts_with("object-reference-"),
        "unexpected finding {f}"
    );
}

#[test]
fn bug_voucher_swap_does_not_touch_thread_swap_mach_voucher() {
    let mut w = World::new(Bugs::one(Some(Bug::VoucherSwap)));
    let desc = routine("thread_swap_mach_voucher");
    let thread = w.target(IKOT_THREAD_CONTROL);
    let (status, reply) = call(&mut w, desc, thread, &[0, 0]);
    assert_eq!(status, KERN_SUCCESS);
    w.k.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
    w.audit("thread swap");
    w.teardown("thread swap");
}
