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
    // User space reads the user layout: its header is 8 bytes shorter than the kernel's.
    assert_eq!(r.msgh_size, MIG_REPLY_ERROR_SIZE - 8);
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

/// A task with two ports it receives, a send right and a send-once right to the first.
struct Rights {
    task: ObjId,
    space: SpaceId,
    recv: MachPortName,
    recv2: MachPortName,
    send: MachPortName,
    sonce: MachPortName,
}

fn rights(k: &Kernel) -> Rights {
    let (task, space) = k.task_create(IPC_LABEL_NONE).unwrap();
    let recv = k.mach_port_allocate(space).unwrap();
    let recv2 = k.mach_port_allocate(space).unwrap();
    let port = k.ipc_entry_lookup(space, recv).unwrap().ie_object.unwrap();
    let send = k.ipc_object_copyout(
        space,
        k.ipc_port_make_send_any(port.into()),
        MACH_MSG_TYPE_PORT_SEND,
        0,
    );
    assert_eq!(
        send, recv,
        "a send right to a port the space receives takes the receive right's name"
    );
    let sonce = k.ipc_object_copyout(
        space,
        k.ipc_port_make_sonce(port.into()),
        MACH_MSG_TYPE_PORT_SEND_ONCE,
        0,
    );
    Rights {
        task,
        space,
        recv,
        recv2,
        send,
        sonce,
    }
}

/// The name that can supply disposition `d` (any name for an invalid one).
fn name_for(r: &Rights, d: MachMsgTypeName) -> MachPortName {
    match d {
        MACH_MSG_TYPE_MOVE_SEND_ONCE => r.sonce,
        MACH_MSG_TYPE_MOVE_RECEIVE => r.recv2,
        MACH_MSG_TYPE_MAKE_SEND | MACH_MSG_TYPE_MAKE_SEND_ONCE => r.recv,
        _ => r.send,
    }
}

/// Sends `msg`, checks the result code, drains what arrived on `recv` and audits.
fn send_and_check(k: &Kernel, r: &Rights, msg: &UserMsg, want: KernReturn, what: &str) {
    assert_eq!(k.mach_msg_send(r.space, msg), want, "{what}");
    k.audit(&[]).unwrap_or_else(|f| panic!("{what}: {f}"));
    while let Ok(m) = k.mach_msg_receive(r.space, r.recv) {
        for (name, _) in m.descriptors {
            if name != MACH_PORT_NULL && name != MACH_PORT_DEAD {
                let _ = k.mach_port_destroy(r.space, name);
            }
        }
    }
    k.task_terminate(r.task);
    k.audit_teardown()
        .unwrap_or_else(|f| panic!("{what}: teardown: {f}"));
}

#[test]
fn every_remote_disposition_is_accepted_or_refused_as_xnu_does() {
    let k = kernel();
    for d in 0..32u32 {
        let r = rights(&k);
        let valid = (MACH_MSG_TYPE_MOVE_SEND..=MACH_MSG_TYPE_MAKE_SEND_ONCE).contains(&d);
        let msg = UserMsg {
            msgh_bits: d,
            msgh_remote_port: name_for(&r, d),
            ..UserMsg::default()
        };
        let want = if valid {
            MACH_MSG_SUCCESS
        } else {
            MACH_SEND_INVALID_HEADER
        };
        send_and_check(&k, &r, &msg, want, &format!("remote disposition {d}"));
    }
}

#[test]
fn every_reply_disposition_is_accepted_or_refused_as_xnu_does() {
    let k = kernel();
    for d in 0..32u32 {
        let r = rights(&k);
        let valid = (MACH_MSG_TYPE_MOVE_SEND..=MACH_MSG_TYPE_MAKE_SEND_ONCE).contains(&d);
        // The destination is the second port (made sendable), so the reply right is separate.
        let dest = k
            .ipc_entry_lookup(r.space, r.recv2)
            .unwrap()
            .ie_object
            .unwrap();
        let _ = k.ipc_object_copyout(
            r.space,
            k.ipc_port_make_send_any(dest.into()),
            MACH_MSG_TYPE_PORT_SEND,
            0,
        );
        let msg = UserMsg {
            msgh_bits: mach_msgh_bits_set(MACH_MSG_TYPE_COPY_SEND, d, 0, 0),
            msgh_remote_port: r.recv2,
            msgh_local_port: if d == MACH_MSG_TYPE_MOVE_RECEIVE {
                r.recv
            } else {
                name_for(&r, d)
            },
            ..UserMsg::default()
        };
        let want = if valid {
            MACH_MSG_SUCCESS
        } else {
            MACH_SEND_INVALID_HEADER
        };
        send_and_check(&k, &r, &msg, want, &format!("reply disposition {d}"));
    }
}

#[test]
fn every_descriptor_disposition_is_accepted_or_refused_as_xnu_does() {
    let k = kernel();
    for d in 0..32u32 {
        for ool_ports in [false, true] {
            let r = rights(&k);
            let valid = (MACH_MSG_TYPE_MOVE_RECEIVE..=MACH_MSG_TYPE_MAKE_SEND_ONCE).contains(&d);
            let name = name_for(&r, d);
            let desc = if ool_ports {
                UserDescriptor::OolPorts {
                    names: vec![name, MACH_PORT_NULL],
                    disposition: d,
                }
            } else {
                UserDescriptor::Port {
                    name,
                    disposition: d,
                }
            };
            let msg = UserMsg {
                msgh_bits: MACH_MSG_TYPE_MAKE_SEND | MACH_MSGH_BITS_COMPLEX,
                msgh_remote_port: r.recv,
                descriptors: vec![desc],
                ..UserMsg::default()
            };
            let want = if valid {
                MACH_MSG_SUCCESS
            } else {
                MACH_SEND_INVALID_TYPE
            };
            send_and_check(
                &k,
                &r,
                &msg,
                want,
                &format!("descriptor disposition {d} (ool_ports {ool_ports})"),
            );
        }
    }
}

#[test]
fn a_name_without_the_right_a_disposition_needs_is_refused_and_nothing_moves() {
    let k = kernel();
    let r = rights(&k);
    let before = k.ipc_entry_lookup(r.space, r.sonce);
    // MAKE_SEND needs the receive right; the send-once name has none.
    let msg = UserMsg {
        msgh_bits: MACH_MSG_TYPE_COPY_SEND | MACH_MSGH_BITS_COMPLEX,
        msgh_remote_port: r.send,
        descriptors: vec![UserDescriptor::Port {
            name: r.sonce,
            disposition: MACH_MSG_TYPE_MAKE_SEND,
        }],
        ..UserMsg::default()
    };
    assert_eq!(k.mach_msg_send(r.space, &msg), MACH_SEND_INVALID_RIGHT);
    assert_eq!(k.ipc_entry_lookup(r.space, r.sonce), before);
    send_and_check(
        &k,
        &r,
        &UserMsg {
            msgh_bits: MACH_MSG_TYPE_COPY_SEND,
            msgh_remote_port: r.send,
            ..UserMsg::default()
        },
        MACH_MSG_SUCCESS,
        "a plain send afterwards",
    );
}
