//! The user message path: copyin of every disposition, delivery to kobject and ordinary ports,
//! the dispatcher's unknown-id branch, receive with copyout, and rights conservation throughout.

use kobject::ipc_right::MACH_PORT_RIGHT_RECEIVE;
use kobject::mach::*;
use kobject::mach_msg::{UserDescriptor, UserMsg};
use kobject::{Bugs, Kernel, ObjId, Platform, SpaceId};

fn kernel() -> Kernel {
    kobject::outcome::quiet_findings();
    Kernel::new(Platform::Native, Bugs::NONE)
}

/// A task holding a send right to a fresh semaphore's port, and a reply port it receives.
fn setup(k: &Kernel) -> (ObjId, SpaceId, MachPortName, MachPortName, ObjId) {
    let (task, space) = k.task_create(IPC_LABEL_NONE).unwrap();
    let sem = k.semaphore_create();
    k.object_reference(sem);
    let port = k.convert_lazy_object_to_port(sem);
    let sem_name = k.ipc_object_copyout(space, port, MACH_MSG_TYPE_PORT_SEND, 0);
    let reply = k.mach_port_allocate(space).unwrap();
    (task, space, sem_name, reply, sem)
}

fn teardown(k: &Kernel, task: ObjId, sem: ObjId) {
    k.task_terminate(task);
    k.object_destroy(sem);
    k.audit_teardown().expect("teardown");
}

#[test]
fn unknown_id_gets_mig_bad_id_reply_with_id_plus_100() {
    let k = kernel();
    let (task, space, sem_name, reply, sem) = setup(&k);
    let msg = UserMsg {
        msgh_bits: mach_msgh_bits_set(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE, 0, 0),
        msgh_remote_port: sem_name,
        msgh_local_port: reply,
        msgh_id: 123_456,
        ..UserMsg::default()
    };
    assert_eq!(k.mach_msg_send(space, &msg), MACH_MSG_SUCCESS);
    k.audit(&[]).expect("after send");
    let r = k.mach_msg_receive(space, reply).expect("reply queued");
    assert_eq!(r.msgh_id, 123_556);
    assert_eq!(r.ret_code, MIG_BAD_ID);
    assert_eq!(r.msgh_size, MIG_REPLY_ERROR_SIZE);
    assert_eq!(r.msgh_bits & MACH_MSGH_BITS_COMPLEX, 0);
    assert_eq!(
        k.mach_msg_receive(space, reply).unwrap_err(),
        MACH_RCV_TIMED_OUT,
        "delivery used the reply right up without a send-once notification"
    );
    k.audit(&[]).expect("after receive");
    teardown(&k, task, sem);
}

#[test]
fn invalid_dest_copy_receive_and_bad_reply_leave_the_space_unchanged() {
    let k = kernel();
    let (task, space, sem_name, reply, sem) = setup(&k);
    let before: Vec<_> = [sem_name, reply]
        .iter()
        .map(|&n| k.ipc_entry_lookup(space, n))
        .collect();
    let bad_dest = UserMsg {
        msgh_bits: MACH_MSG_TYPE_COPY_SEND,
        msgh_remote_port: 0x9999,
        ..UserMsg::default()
    };
    assert_eq!(k.mach_msg_send(space, &bad_dest), MACH_SEND_INVALID_DEST);
    let copy_receive = UserMsg {
        msgh_bits: MACH_MSG_TYPE_COPY_SEND | MACH_MSGH_BITS_COMPLEX,
        msgh_remote_port: sem_name,
        descriptors: vec![UserDescriptor::Port {
            name: reply,
            disposition: MACH_MSG_TYPE_COPY_RECEIVE,
        }],
        ..UserMsg::default()
    };
    assert_eq!(
        k.mach_msg_send(space, &copy_receive),
        MACH_SEND_INVALID_TYPE
    );
    let bad_reply = UserMsg {
        msgh_bits: mach_msgh_bits_set(MACH_MSG_TYPE_MOVE_SEND, MACH_MSG_TYPE_MOVE_SEND_ONCE, 0, 0),
        msgh_remote_port: sem_name,
        msgh_local_port: reply,
        ..UserMsg::default()
    };
    assert_eq!(k.mach_msg_send(space, &bad_reply), MACH_SEND_INVALID_REPLY);
    let after: Vec<_> = [sem_name, reply]
        .iter()
        .map(|&n| k.ipc_entry_lookup(space, n))
        .collect();
    assert_eq!(before, after);
    k.audit(&[]).expect("after refused sends");
    teardown(&k, task, sem);
}

#[test]
fn message_to_ordinary_port_carries_rights_and_ool_until_received() {
    let k = kernel();
    let (task, space, sem_name, reply, sem) = setup(&k);
    let msg = UserMsg {
        msgh_bits: MACH_MSG_TYPE_MAKE_SEND | MACH_MSGH_BITS_COMPLEX,
        msgh_remote_port: reply,
        msgh_id: 7,
        descriptors: vec![
            UserDescriptor::Port {
                name: sem_name,
                disposition: MACH_MSG_TYPE_MOVE_SEND,
            },
            UserDescriptor::Ool { size: 4096 },
        ],
        ..UserMsg::default()
    };
    assert_eq!(k.mach_msg_send(space, &msg), MACH_MSG_SUCCESS);
    assert!(
        k.ipc_entry_lookup(space, sem_name).is_none(),
        "MOVE_SEND of the last uref empties the name"
    );
    k.audit(&[])
        .expect("rights in a queued message are held by it");
    let r = k.mach_msg_receive(space, reply).unwrap();
    assert_eq!(r.descriptors.len(), 1);
    assert_eq!(r.ool.len(), 1);
    k.audit(&[]).expect("after receive");
    for copy in r.ool {
        k.vm_map_copy_discard(copy);
    }
    teardown(&k, task, sem);
}

#[test]
fn destroying_a_receive_right_with_queued_messages_releases_their_rights() {
    let k = kernel();
    let (task, space, sem_name, reply, sem) = setup(&k);
    let msg = UserMsg {
        msgh_bits: MACH_MSG_TYPE_MAKE_SEND | MACH_MSGH_BITS_COMPLEX,
        msgh_remote_port: reply,
        descriptors: vec![UserDescriptor::Port {
            name: sem_name,
            disposition: MACH_MSG_TYPE_COPY_SEND,
        }],
        ..UserMsg::default()
    };
    assert_eq!(k.mach_msg_send(space, &msg), MACH_MSG_SUCCESS);
    assert_eq!(
        k.mach_port_mod_refs(space, reply, MACH_PORT_RIGHT_RECEIVE, -1),
        KERN_SUCCESS
    );
    k.audit(&[]).expect("after destroying the queue");
    teardown(&k, task, sem);
}

#[test]
fn send_to_a_name_whose_port_died_is_invalid_dest() {
    let k = kernel();
    let (task, space, sem_name, _reply, sem) = setup(&k);
    k.object_destroy(sem);
    assert!(
        k.object_is_live(sem),
        "the armed notification's donated reference keeps it"
    );
    assert_eq!(k.mach_port_deallocate(space, sem_name), KERN_SUCCESS);
    assert!(
        !k.object_is_live(sem),
        "no-senders gave the donated reference back"
    );
    let msg = UserMsg {
        msgh_bits: MACH_MSG_TYPE_COPY_SEND,
        msgh_remote_port: sem_name,
        ..UserMsg::default()
    };
    assert_eq!(k.mach_msg_send(space, &msg), MACH_SEND_INVALID_DEST);
    k.task_terminate(task);
    k.audit_teardown().expect("teardown");
}

#[test]
fn skipped_label_check_breaks_the_label_contract() {
    kobject::outcome::quiet_findings();
    let k = Kernel::new(
        Platform::Native,
        Bugs::one(Some(kobject::Bug::SkipLabelCheck)),
    );
    let (task, space) = k.task_create(IPC_LABEL_NONE).unwrap();
    let sem = k.semaphore_create();
    k.object_reference(sem);
    let port = k.convert_lazy_object_to_labeled_port(sem, IPC_LABEL_PLATFORM);
    let name = k.ipc_object_copyout(space, port, MACH_MSG_TYPE_PORT_SEND, 0);
    assert_ne!(name, MACH_PORT_NULL);
    let f = k.audit(&[]).unwrap_err();
    assert_eq!(f.invariant, "label-contract");
    let _ = task;
}

#[test]
fn a_kernel_reply_port_gets_no_reply_and_with_the_bug_breaks_the_reply_contract() {
    // A request whose reply port is a kernel port (COPY_SEND of the destination itself).
    let request = |sem_name| UserMsg {
        msgh_bits: mach_msgh_bits_set(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_COPY_SEND, 0, 0),
        msgh_remote_port: sem_name,
        msgh_local_port: sem_name,
        msgh_id: 123_456,
        ..UserMsg::default()
    };
    let k = kernel();
    let (task, space, sem_name, _reply, sem) = setup(&k);
    assert_eq!(k.mach_msg_send(space, &request(sem_name)), MACH_MSG_SUCCESS);
    k.audit(&[]).expect("the reply was dropped with its right");
    teardown(&k, task, sem);

    let k = Kernel::new(
        Platform::Native,
        Bugs::one(Some(kobject::Bug::ReplyToKernelPort)),
    );
    let (_task, space, sem_name, _reply, _sem) = setup(&k);
    let f = kobject::catch(|| k.mach_msg_send(space, &request(sem_name))).unwrap_err();
    assert_eq!(f.invariant, "reply-contract", "{f}");
}

#[test]
fn audit_space_labels_checks_one_space_at_any_time() {
    kobject::outcome::quiet_findings();
    let k = Kernel::new(
        Platform::Native,
        Bugs::one(Some(kobject::Bug::SkipLabelCheck)),
    );
    let (_task, space) = k.task_create(IPC_LABEL_NONE).unwrap();
    k.audit_space_labels(space).expect("an empty space");
    let sem = k.semaphore_create();
    k.object_reference(sem);
    let port = k.convert_lazy_object_to_labeled_port(sem, IPC_LABEL_PLATFORM);
    k.ipc_object_copyout(space, port, MACH_MSG_TYPE_PORT_SEND, 0);
    let f = k.audit_space_labels(space).unwrap_err();
    assert_eq!(f.invariant, "label-contract");
}
