//! The ledger's own records: it compares the model's counters with what the reported events
//! say they must be, so a counter changed behind the events' back is a finding, and XNU's
//! dead-destination send (only the reference goes) balances.

use kobject::ipc_kmsg::Kmsg;
use kobject::ipc_port::{IpcPort, NsRequest};
use kobject::ledger::Held;
use kobject::mach::*;
use kobject::{Bugs, Kernel, ObjId, Platform, SpaceId};

fn kernel() -> Kernel {
    kobject::outcome::quiet_findings();
    Kernel::new(Platform::Native, Bugs::NONE)
}

/// A task holding a send right to a fresh semaphore's armed lazy port.
fn setup(k: &Kernel) -> (ObjId, SpaceId, ObjId, kobject::ipc_port::PortId) {
    let (task, space) = k.task_create(IPC_LABEL_NONE).unwrap();
    let sem = k.semaphore_create();
    k.object_reference(sem);
    let port = k.convert_lazy_object_to_port(sem);
    k.ipc_object_copyout(space, port, MACH_MSG_TYPE_PORT_SEND, 0);
    (task, space, sem, port.id())
}

fn invariant(r: Result<(), kobject::outcome::Finding>) -> &'static str {
    r.expect_err("the audit should have failed").invariant
}

#[test]
fn audit_checks_ip_mscount_against_the_make_send_events() {
    let k = kernel();
    let (_, _, _, p) = setup(&k);
    k.audit(&[]).expect("faithful");
    k.ip_mq_lock(p).ip_mscount += 1;
    assert_eq!(invariant(k.audit(&[])), "mscount-mismatch");
}

#[test]
fn audit_checks_ip_nsrequest_against_the_arm_events() {
    let k = kernel();
    let (_, _, _, p) = setup(&k);
    let mut g = k.ip_mq_lock(p);
    assert_eq!(g.ip_nsrequest, NsRequest::KobjectArmed);
    g.ip_nsrequest = NsRequest::None;
    drop(g);
    assert_eq!(invariant(k.audit(&[])), "nsrequest-mismatch");
}

#[test]
fn audit_checks_the_kernel_receive_right_against_its_allocation() {
    let k = kernel();
    let (_, _, _, p) = setup(&k);
    k.ip_mq_lock(p).receiver = kobject::ipc_port::Receiver::Limbo;
    assert_eq!(invariant(k.audit(&[])), "kernel-receive-right");
}

#[test]
fn a_send_to_a_dead_port_drops_only_the_destination_reference() {
    let k = kernel();
    let (task, space) = k.task_create(IPC_LABEL_NONE).unwrap();
    let name = k.mach_port_allocate(space).unwrap();
    let p = k.ipc_entry_lookup(space, name).unwrap().ie_object.unwrap();
    let right = k.ipc_port_make_send_any(IpcPort::Port(p));
    k.ip_reference(p);
    assert_eq!(k.mach_port_destroy(space, name), KERN_SUCCESS);
    let mut kmsg = Kmsg::alloc(32, 0);
    kmsg.msgh_bits = mach_msgh_bits_set(MACH_MSG_TYPE_PORT_SEND, 0, 0, 0);
    kmsg.msgh_remote_port = right;
    k.ipc_kmsg_send(p, kmsg);
    let g = k.ip_mq_lock(p);
    assert_eq!((g.ip_srights, g.refs()), (1, 1), "the right stays counted");
    drop(g);
    k.audit(&[Held::PortRef(p)])
        .expect("the ledger knows the right was abandoned");
    k.ip_release(p);
    k.task_terminate(task);
    k.audit_teardown().expect("teardown");
}
