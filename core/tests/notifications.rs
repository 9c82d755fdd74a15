//! Notification requests as a user program sees them (xnu-11215.1.10): one test per outcome of
//! `mach_port_request_notification` (osfmk/ipc/mach_port.c) and per notification message kind
//! (osfmk/ipc/ipc_notify.c, osfmk/mach/notify.h). Every test ends with the ledger's audit and a
//! clean teardown.

use kobject::ikot::IKOT_TASK_CONTROL;
use kobject::ipc_notify::{MACH_NOTIFY_NO_SENDERS, MACH_NOTIFY_SEND_ONCE};
use kobject::ipc_request::*;
use kobject::ipc_right::*;
use kobject::ipc_space::*;
use kobject::kobjects::TASK_PORT_CONTROL;
use kobject::mach::*;
use kobject::mach_msg::{ReceivedMsg, MACH_MSG_PORT_DESCRIPTOR};
use kobject::mach_port::{GuardException, MachPortOptions};
use kobject::{IpcKobject, IpcPort, IP_NULL};

mod common;

use common::{two_tasks as world, TwoTasks as World};

impl World {
    /// A notify port `a` receives, and a send-once right to it (as `MAKE_SEND_ONCE` copies in).
    fn notify(&self) -> (MachPortName, IpcPort) {
        let n = self.recv(self.sa());
        (
            n,
            self.k.ipc_port_make_sonce(self.port(self.sa(), n).into()),
        )
    }

    /// A send right in `a` (one user reference) to a port `b` receives: (send name, b's name).
    fn send_from_b(&self) -> (MachPortName, MachPortName) {
        let r = self.recv(self.sb());
        let right = self
            .k
            .ipc_port_make_send_any(self.port(self.sb(), r).into());
        let s = self
            .k
            .ipc_object_copyout(self.sa(), right, MACH_MSG_TYPE_PORT_SEND, 0);
        (s, r)
    }

    fn request(
        &self,
        name: MachPortName,
        id: i32,
        sync: u32,
        notify: IpcPort,
    ) -> Result<IpcPort, KernReturn> {
        self.k
            .mach_port_request_notification(Some(self.sa()), name, id, sync, notify)
    }

    /// A refused request leaves the right with the caller, who destroys it (as MIG does with
    /// the request message): the notify port then gets a send-once notification.
    fn refused(&self, name: MachPortName, id: i32, sync: u32, want: KernReturn) {
        let (n, right) = self.notify();
        assert_eq!(
            self.request(name, id, sync, right),
            Err(want),
            "id {id} on {name:#x}"
        );
        self.k
            .ipc_object_destroy(right, MACH_MSG_TYPE_PORT_SEND_ONCE);
        assert_eq!(self.receive(n).msgh_id, MACH_NOTIFY_SEND_ONCE);
        assert_eq!(self.k.mach_port_destroy(self.sa(), n), KERN_SUCCESS);
    }

    fn receive(&self, name: MachPortName) -> ReceivedMsg {
        self.k
            .mach_msg_receive(self.sa(), name)
            .expect("a notification")
    }

    fn nothing_on(&self, name: MachPortName) {
        assert_eq!(
            self.k.mach_msg_receive(self.sa(), name).unwrap_err(),
            MACH_RCV_TIMED_OUT,
            "no notification expected on {name:#x}"
        );
    }

    /// A hardened task's `MPO_REPLY_PORT` port in `a`.
    fn reply_port(&self) -> MachPortName {
        self.k.set_task_hardened_binary(self.a.0, true);
        let o = MachPortOptions {
            flags: MPO_REPLY_PORT,
            mpl_qlimit: 0,
        };
        self.k.mach_port_construct(self.sa(), o, 0).unwrap()
    }

    fn guards(&self) -> Vec<u32> {
        self.k
            .take_guard_exceptions()
            .into_iter()
            .map(|GuardException { flavor, .. }| flavor)
            .collect()
    }

    fn end(self) {
        self.k.audit(&[]).expect("audit before teardown");
        self.k.task_terminate(self.a.0);
        self.k.task_terminate(self.b.0);
        self.k.audit_teardown().expect("teardown");
    }
}

/// The payload word after the NDR record of a name or count notification.
fn payload(m: &ReceivedMsg) -> u32 {
    assert_eq!(m.inline_data.len(), 3, "NDR record and one word: {m:?}");
    m.inline_data[2]
}

/// A notification's header as `mach_notify_*` builds it: the destination's send-once right
/// consumed, no reply port, 36 bytes for a name or count.
fn check_header(m: &ReceivedMsg, id: i32, notify: MachPortName) {
    assert_eq!(m.msgh_id, id);
    assert_eq!(m.msgh_local_port, notify);
    assert_eq!(m.msgh_remote_port, MACH_PORT_NULL);
    assert_eq!(mach_msgh_bits_remote(m.msgh_bits), 0);
    assert_eq!(
        mach_msgh_bits_local(m.msgh_bits),
        MACH_MSG_TYPE_PORT_SEND_ONCE
    );
    if id != MACH_NOTIFY_PORT_DESTROYED && id != MACH_NOTIFY_SEND_ONCE {
        assert_eq!(m.msgh_size, 36, "{id}");
    }
}

// ---- the checks before the switch ----

#[test]
fn null_space_is_invalid_task() {
    let w = world();
    let (n, right) = w.notify();
    let got =
        w.k.mach_port_request_notification(None, n, MACH_NOTIFY_DEAD_NAME, 0, right);
    assert_eq!(got, Err(KERN_INVALID_TASK));
    w.k.ipc_object_destroy(right, MACH_MSG_TYPE_PORT_SEND_ONCE);
    w.end();
}

#[test]
fn dead_notify_is_invalid_capability() {
    let w = world();
    let (s, _) = w.send_from_b();
    assert_eq!(
        w.request(s, MACH_NOTIFY_DEAD_NAME, 0, kobject::IP_DEAD),
        Err(KERN_INVALID_CAPABILITY)
    );
    w.end();
}

#[test]
fn unknown_ids_are_invalid_value() {
    let w = world();
    let (s, _) = w.send_from_b();
    for id in [MACH_NOTIFY_PORT_DELETED, MACH_NOTIFY_SEND_ONCE, 0, 1000] {
        w.refused(s, id, 0, KERN_INVALID_VALUE);
    }
    w.end();
}

// ---- MACH_NOTIFY_PORT_DESTROYED ----

#[test]
fn port_destroyed_refusals_in_order() {
    let w = world();
    let r = w.recv(w.sa());
    w.refused(r, MACH_NOTIFY_PORT_DESTROYED, 1, KERN_INVALID_VALUE);
    w.refused(
        MACH_PORT_NULL,
        MACH_NOTIFY_PORT_DESTROYED,
        0,
        KERN_INVALID_RIGHT,
    );
    w.refused(0x9990, MACH_NOTIFY_PORT_DESTROYED, 0, KERN_INVALID_NAME);
    let (s, _) = w.send_from_b();
    w.refused(s, MACH_NOTIFY_PORT_DESTROYED, 0, KERN_INVALID_RIGHT);
    assert!(w.guards().is_empty(), "translate failures raise no guard");
    w.end();
}

#[test]
fn port_destroyed_on_reply_port_is_invalid_right_with_guard() {
    let w = world();
    let r = w.reply_port();
    w.refused(r, MACH_NOTIFY_PORT_DESTROYED, 0, KERN_INVALID_RIGHT);
    assert_eq!(w.guards(), vec![K_GUARD_EXC_INVALID_RIGHT]);
    w.end();
}

#[test]
fn port_destroyed_twice_is_kern_failure_with_guard() {
    let w = world();
    let r = w.recv(w.sb());
    let backup = w.recv(w.sa());
    let right = w.k.ipc_port_make_sonce(w.port(w.sa(), backup).into());
    let got =
        w.k.mach_port_request_notification(Some(w.sb()), r, MACH_NOTIFY_PORT_DESTROYED, 0, right);
    assert_eq!(got, Ok(IP_NULL));
    let (n, second) = w.notify();
    let got =
        w.k.mach_port_request_notification(Some(w.sb()), r, MACH_NOTIFY_PORT_DESTROYED, 0, second);
    assert_eq!(got, Err(KERN_FAILURE));
    assert_eq!(w.guards(), vec![K_GUARD_EXC_KERN_FAILURE]);
    w.k.ipc_object_destroy(second, MACH_MSG_TYPE_PORT_SEND_ONCE);
    w.receive(n);
    w.end();
}

/// `ipc_port_destroy` with a port-destroyed request: the port lives on, its receive right in the
/// notification; the receiver gets it as a new receive right, and the old name is gone.
#[test]
fn port_destroyed_notification_carries_the_receive_right() {
    let w = world();
    let r = w.recv(w.sb());
    let p = w.port(w.sb(), r);
    let backup = w.recv(w.sa());
    let right = w.k.ipc_port_make_sonce(w.port(w.sa(), backup).into());
    let got =
        w.k.mach_port_request_notification(Some(w.sb()), r, MACH_NOTIFY_PORT_DESTROYED, 0, right);
    assert_eq!(got, Ok(IP_NULL));
    assert_eq!(w.k.mach_port_destroy(w.sb(), r), KERN_SUCCESS);
    assert!(
        w.k.ip_active(p),
        "the port survives its receive right's destruction"
    );
    let m = w.receive(backup);
    check_header(&m, MACH_NOTIFY_PORT_DESTROYED, backup);
    assert_ne!(m.msgh_bits & MACH_MSGH_BITS_COMPLEX, 0);
    assert_eq!(m.msgh_size, 40);
    assert_eq!(m.body.len(), 1);
    assert_eq!(m.body[0].type_, MACH_MSG_PORT_DESCRIPTOR);
    assert_eq!(m.body[0].disposition, MACH_MSG_TYPE_PORT_RECEIVE);
    let name = m.body[0].names[0];
    assert_eq!(w.ty(name), MACH_PORT_TYPE_RECEIVE);
    assert_eq!(w.port(w.sa(), name), p);
    w.end();
}

/// A send and receive name whose receive right goes to a port-destroyed request keeps its send
/// right (`ipc_right_delta`'s `ipc_port_has_prdrequest` arm).
#[test]
fn port_destroyed_keeps_the_send_right_of_the_name() {
    let w = world();
    let r = w.recv(w.sb());
    assert_eq!(w.k.mach_port_insert_send(w.sb(), r), KERN_SUCCESS);
    let backup = w.recv(w.sa());
    let right = w.k.ipc_port_make_sonce(w.port(w.sa(), backup).into());
    let got =
        w.k.mach_port_request_notification(Some(w.sb()), r, MACH_NOTIFY_PORT_DESTROYED, 0, right);
    assert_eq!(got, Ok(IP_NULL));
    let kr =
        w.k.mach_port_mod_refs(w.sb(), r, MACH_PORT_RIGHT_RECEIVE, -1);
    assert_eq!(kr, KERN_SUCCESS);
    assert_eq!(w.k.mach_port_type(w.sb(), r), Ok(MACH_PORT_TYPE_SEND));
    let m = w.receive(backup);
    assert_eq!(m.msgh_id, MACH_NOTIFY_PORT_DESTROYED);
    w.end();
}

/// A port whose port-destroyed request notifies the port itself: the notification would carry
/// the receive right into its own queue, so it is destroyed (`ipc_port_check_circularity`) and
/// the port dies with it.
#[test]
fn port_destroyed_to_itself_is_circular_and_destroyed() {
    let w = world();
    let r = w.recv(w.sa());
    let p = w.port(w.sa(), r);
    let right = w.k.ipc_port_make_sonce(p.into());
    assert_eq!(
        w.request(r, MACH_NOTIFY_PORT_DESTROYED, 0, right),
        Ok(IP_NULL)
    );
    assert_eq!(w.k.mach_port_destroy(w.sa(), r), KERN_SUCCESS);
    assert!(!w.k.port_is_live(p) || !w.k.ip_active(p), "the port died");
    w.end();
}

// ---- MACH_NOTIFY_NO_SENDERS ----

#[test]
fn no_senders_refusals() {
    let w = world();
    w.refused(
        MACH_PORT_DEAD,
        MACH_NOTIFY_NO_SENDERS,
        0,
        KERN_INVALID_RIGHT,
    );
    let (s, _) = w.send_from_b();
    w.refused(s, MACH_NOTIFY_NO_SENDERS, 0, KERN_INVALID_RIGHT);
    let reply = w.reply_port();
    w.guards();
    w.refused(reply, MACH_NOTIFY_NO_SENDERS, 0, KERN_INVALID_RIGHT);
    assert_eq!(w.guards(), vec![K_GUARD_EXC_INVALID_RIGHT]);
    w.end();
}

/// `ipc_port_nsrequest`: armed while a send right exists, fired when the last goes, with the
/// make-send count; a second request hands the first right back.
#[test]
fn no_senders_armed_then_fired_with_the_make_send_count() {
    let w = world();
    let r = w.recv(w.sa());
    assert_eq!(w.k.mach_port_insert_send(w.sa(), r), KERN_SUCCESS);
    let (n, first) = w.notify();
    assert_eq!(w.request(r, MACH_NOTIFY_NO_SENDERS, 0, first), Ok(IP_NULL));
    let (_, second) = w.notify();
    assert_eq!(w.request(r, MACH_NOTIFY_NO_SENDERS, 0, second), Ok(first));
    w.k.ipc_object_destroy(first, MACH_MSG_TYPE_PORT_SEND_ONCE);
    assert_eq!(w.receive(n).msgh_id, MACH_NOTIFY_SEND_ONCE);
    assert_eq!(w.k.mach_port_deallocate(w.sa(), r), KERN_SUCCESS);
    let n2 = w.k.ipc_entry_lookup(w.sa(), n + 4).map(|_| n + 4);
    let notify2 = n2.expect("the second notify port is the next name");
    let m = w.receive(notify2);
    check_header(&m, MACH_NOTIFY_NO_SENDERS, notify2);
    assert_eq!(payload(&m), 1, "one send right was made");
    w.end();
}

/// With no send right and `sync` at or below the make-send count, the notification is sent at
/// once; above it, the request waits.
#[test]
fn no_senders_immediate_only_when_sync_is_reached() {
    let w = world();
    let r = w.recv(w.sa());
    let (n, right) = w.notify();
    assert_eq!(w.request(r, MACH_NOTIFY_NO_SENDERS, 1, right), Ok(IP_NULL));
    w.nothing_on(n);
    let (_, cancel) = (0, IP_NULL);
    assert_eq!(w.request(r, MACH_NOTIFY_NO_SENDERS, 0, cancel), Ok(right));
    assert_eq!(w.request(r, MACH_NOTIFY_NO_SENDERS, 0, right), Ok(IP_NULL));
    let m = w.receive(n);
    assert_eq!((m.msgh_id, payload(&m)), (MACH_NOTIFY_NO_SENDERS, 0));
    w.end();
}

/// A port destroyed with a user no-senders request armed while another space still holds a
/// send right: the request's send-once right dies unused (`ipc_port_destroy`: a send-once
/// notification, not a no-senders one). Destroying a name that holds the last send right too
/// fires no-senders first (`ipc_right_destroy` releases the send right before the port).
#[test]
fn no_senders_request_of_a_destroyed_port_becomes_send_once() {
    let w = world();
    let r = w.recv(w.sa());
    let right = w.k.ipc_port_make_send_any(w.port(w.sa(), r).into());
    w.k.ipc_object_copyout(w.sb(), right, MACH_MSG_TYPE_PORT_SEND, 0);
    let (n, right) = w.notify();
    assert_eq!(w.request(r, MACH_NOTIFY_NO_SENDERS, 0, right), Ok(IP_NULL));
    assert_eq!(w.k.mach_port_destroy(w.sa(), r), KERN_SUCCESS);
    let m = w.receive(n);
    check_header(&m, MACH_NOTIFY_SEND_ONCE, n);
    assert_eq!(m.msgh_size, 24);
    let s = w.recv(w.sa());
    assert_eq!(w.k.mach_port_insert_send(w.sa(), s), KERN_SUCCESS);
    let (n, right) = w.notify();
    assert_eq!(w.request(s, MACH_NOTIFY_NO_SENDERS, 0, right), Ok(IP_NULL));
    assert_eq!(w.k.mach_port_destroy(w.sa(), s), KERN_SUCCESS);
    assert_eq!(w.receive(n).msgh_id, MACH_NOTIFY_NO_SENDERS);
    w.end();
}

// ---- MACH_NOTIFY_DEAD_NAME and MACH_NOTIFY_SEND_POSSIBLE ----

#[test]
fn dead_name_request_refusals() {
    let w = world();
    w.refused(
        MACH_PORT_NULL,
        MACH_NOTIFY_DEAD_NAME,
        0,
        KERN_INVALID_ARGUMENT,
    );
    w.refused(
        MACH_PORT_DEAD,
        MACH_NOTIFY_SEND_POSSIBLE,
        0,
        KERN_INVALID_ARGUMENT,
    );
    w.refused(0x9990, MACH_NOTIFY_DEAD_NAME, 0, KERN_INVALID_NAME);
    let set =
        w.k.mach_port_allocate_right(w.sa(), MACH_PORT_RIGHT_PORT_SET)
            .unwrap();
    w.refused(set, MACH_NOTIFY_DEAD_NAME, 0, KERN_INVALID_RIGHT);
    w.end();
}

/// This XNU answers a dead-name request on a name that is already dead with
/// `KERN_INVALID_ARGUMENT` (only a send-possible request fires at once there).
#[test]
fn dead_name_request_on_a_dead_name_is_invalid_argument() {
    let w = world();
    let (s, r) = w.send_from_b();
    assert_eq!(w.k.mach_port_destroy(w.sb(), r), KERN_SUCCESS);
    w.refused(s, MACH_NOTIFY_DEAD_NAME, 0, KERN_INVALID_ARGUMENT);
    assert_eq!(w.ty(s), MACH_PORT_TYPE_DEAD_NAME);
    assert_eq!(
        w.k.mach_port_get_refs(w.sa(), s, MACH_PORT_RIGHT_DEAD_NAME),
        Ok(1)
    );
    w.end();
}

/// The port dies: the request becomes a dead-name notification carrying the name, and the name
/// gains the user reference the notification stands for.
#[test]
fn dead_name_notification_on_port_death() {
    let w = world();
    let (s, r) = w.send_from_b();
    let (n, right) = w.notify();
    assert_eq!(w.request(s, MACH_NOTIFY_DEAD_NAME, 0, right), Ok(IP_NULL));
    assert_eq!(w.ty(s), MACH_PORT_TYPE_SEND | MACH_PORT_TYPE_DNREQUEST);
    assert_eq!(w.k.mach_port_destroy(w.sb(), r), KERN_SUCCESS);
    let m = w.receive(n);
    check_header(&m, MACH_NOTIFY_DEAD_NAME, n);
    assert_eq!(payload(&m), s);
    assert_eq!(w.ty(s), MACH_PORT_TYPE_DEAD_NAME);
    assert_eq!(
        w.k.mach_port_get_refs(w.sa(), s, MACH_PORT_RIGHT_DEAD_NAME),
        Ok(2)
    );
    w.end();
}

/// A second request replaces the first and hands its right back; a null notify cancels.
#[test]
fn dead_name_request_replaced_then_cancelled() {
    let w = world();
    let (s, _) = w.send_from_b();
    let (n1, first) = w.notify();
    let (n2, second) = w.notify();
    assert_eq!(w.request(s, MACH_NOTIFY_DEAD_NAME, 0, first), Ok(IP_NULL));
    assert_eq!(w.request(s, MACH_NOTIFY_DEAD_NAME, 0, second), Ok(first));
    assert_eq!(w.request(s, MACH_NOTIFY_DEAD_NAME, 0, IP_NULL), Ok(second));
    assert_eq!(w.ty(s), MACH_PORT_TYPE_SEND);
    assert_eq!(w.request(s, MACH_NOTIFY_DEAD_NAME, 0, IP_NULL), Ok(IP_NULL));
    for (n, right) in [(n1, first), (n2, second)] {
        w.k.ipc_object_destroy(right, MACH_MSG_TYPE_PORT_SEND_ONCE);
        assert_eq!(w.receive(n).msgh_id, MACH_NOTIFY_SEND_ONCE);
    }
    w.end();
}

/// The name loses its right before the port dies: a port-deleted notification with the name.
#[test]
fn port_deleted_notification_when_the_name_goes() {
    let w = world();
    let (s, _) = w.send_from_b();
    let (n, right) = w.notify();
    assert_eq!(w.request(s, MACH_NOTIFY_DEAD_NAME, 0, right), Ok(IP_NULL));
    assert_eq!(w.k.mach_port_deallocate(w.sa(), s), KERN_SUCCESS);
    let m = w.receive(n);
    check_header(&m, MACH_NOTIFY_PORT_DELETED, n);
    assert_eq!(payload(&m), s);
    w.end();
}

/// Space termination cancels the requests of its names into port-deleted notifications.
#[test]
fn port_deleted_notification_when_the_space_dies() {
    let w = world();
    let r = w.recv(w.sb());
    let right = w.k.ipc_port_make_send_any(w.port(w.sb(), r).into());
    let (bt, bs) = w.k.task_create(IPC_LABEL_NONE).unwrap();
    let s =
        w.k.ipc_object_copyout(bs, right, MACH_MSG_TYPE_PORT_SEND, 0);
    let (n, notify) = w.notify();
    let got =
        w.k.mach_port_request_notification(Some(bs), s, MACH_NOTIFY_DEAD_NAME, 0, notify);
    assert_eq!(got, Ok(IP_NULL));
    w.k.task_terminate(bt);
    let m = w.receive(n);
    assert_eq!((m.msgh_id, payload(&m)), (MACH_NOTIFY_PORT_DELETED, s));
    w.end();
}

/// Moving the name's last send right in a message cancels its request (copyin's `*sorightp`).
#[test]
fn port_deleted_notification_when_the_right_is_moved() {
    let w = world();
    let (s, _) = w.send_from_b();
    let (n, right) = w.notify();
    assert_eq!(w.request(s, MACH_NOTIFY_DEAD_NAME, 0, right), Ok(IP_NULL));
    let moved =
        w.k.ipc_object_copyin(w.sa(), s, MACH_MSG_TYPE_MOVE_SEND, 0)
            .expect("the send right");
    let m = w.receive(n);
    assert_eq!((m.msgh_id, payload(&m)), (MACH_NOTIFY_PORT_DELETED, s));
    w.k.ipc_object_destroy(moved, MACH_MSG_TYPE_PORT_SEND);
    w.end();
}

#[test]
fn send_possible_armed_fires_at_once() {
    let w = world();
    let (s, _) = w.send_from_b();
    let (n, right) = w.notify();
    assert_eq!(
        w.request(s, MACH_NOTIFY_SEND_POSSIBLE, 1, right),
        Ok(IP_NULL)
    );
    let m = w.receive(n);
    check_header(&m, MACH_NOTIFY_SEND_POSSIBLE, n);
    assert_eq!(payload(&m), s);
    assert_eq!(w.ty(s), MACH_PORT_TYPE_SEND);
    w.end();
}

#[test]
fn send_possible_delayed_waits_and_fires_as_dead_name() {
    let w = world();
    let (s, r) = w.send_from_b();
    let (n, right) = w.notify();
    assert_eq!(
        w.request(s, MACH_NOTIFY_SEND_POSSIBLE, 0, right),
        Ok(IP_NULL)
    );
    let want = MACH_PORT_TYPE_SEND
        | MACH_PORT_TYPE_DNREQUEST
        | MACH_PORT_TYPE_SPREQUEST
        | MACH_PORT_TYPE_SPREQUEST_DELAYED;
    assert_eq!(w.ty(s), want);
    w.nothing_on(n);
    assert_eq!(w.k.mach_port_destroy(w.sb(), r), KERN_SUCCESS);
    let m = w.receive(n);
    assert_eq!((m.msgh_id, payload(&m)), (MACH_NOTIFY_DEAD_NAME, s));
    w.end();
}

/// A send-possible request on a dead name is answered at once with a dead-name notification
/// and one more user reference.
#[test]
fn send_possible_on_a_dead_name_fires_dead_name_at_once() {
    let w = world();
    let (s, r) = w.send_from_b();
    assert_eq!(w.k.mach_port_destroy(w.sb(), r), KERN_SUCCESS);
    let (n, right) = w.notify();
    assert_eq!(
        w.request(s, MACH_NOTIFY_SEND_POSSIBLE, 0, right),
        Ok(IP_NULL)
    );
    let m = w.receive(n);
    assert_eq!((m.msgh_id, payload(&m)), (MACH_NOTIFY_DEAD_NAME, s));
    assert_eq!(
        w.k.mach_port_get_refs(w.sa(), s, MACH_PORT_RIGHT_DEAD_NAME),
        Ok(2)
    );
    w.end();
}

// ---- kobject ports ----

/// A user may ask for a dead-name notification on a kobject port it holds a send right to; the
/// task's death fires it. No-senders and port-destroyed need the receive right, which only the
/// kernel has.
#[test]
fn kobject_port_dead_name_fires_when_the_task_dies() {
    let w = world();
    let (bt, _) = w.k.task_create(IPC_LABEL_NONE).unwrap();
    let control = w.k.object_port(bt, TASK_PORT_CONTROL);
    let right =
        w.k.ipc_kobject_make_send(control, IpcKobject::Object(bt), IKOT_TASK_CONTROL);
    let s =
        w.k.ipc_object_copyout(w.sa(), right, MACH_MSG_TYPE_PORT_SEND, 0);
    w.refused(s, MACH_NOTIFY_NO_SENDERS, 0, KERN_INVALID_RIGHT);
    w.refused(s, MACH_NOTIFY_PORT_DESTROYED, 0, KERN_INVALID_RIGHT);
    let (n, notify) = w.notify();
    assert_eq!(w.request(s, MACH_NOTIFY_DEAD_NAME, 0, notify), Ok(IP_NULL));
    w.k.task_terminate(bt);
    let m = w.receive(n);
    assert_eq!((m.msgh_id, payload(&m)), (MACH_NOTIFY_DEAD_NAME, s));
    w.end();
}

/// A notification to a notify port that died meanwhile is dropped with its send-once right.
#[test]
fn notification_to_a_dead_notify_port_is_disposed_of() {
    let w = world();
    let (s, r) = w.send_from_b();
    let (n, right) = w.notify();
    assert_eq!(w.request(s, MACH_NOTIFY_DEAD_NAME, 0, right), Ok(IP_NULL));
    assert_eq!(w.k.mach_port_destroy(w.sa(), n), KERN_SUCCESS);
    assert_eq!(w.k.mach_port_destroy(w.sb(), r), KERN_SUCCESS);
    w.k.audit(&[])
        .expect("the notification's right is accounted for");
    assert_eq!(
        w.k.mach_port_get_refs(w.sa(), s, MACH_PORT_RIGHT_DEAD_NAME),
        Ok(2)
    );
    w.end();
}

/// The ledger sees a request left behind by a name that lost its right.
#[test]
fn ledger_catches_an_orphaned_request() {
    let w = world();
    let (s, _) = w.send_from_b();
    let (_, right) = w.notify();
    assert_eq!(w.request(s, MACH_NOTIFY_DEAD_NAME, 0, right), Ok(IP_NULL));
    let entry = w.k.ipc_entry_lookup(w.sa(), s).unwrap();
    w.k.is_write_lock(w.sa()).is_table.insert(
        s,
        IpcEntry {
            ie_request: IE_REQ_NONE,
            ..entry
        },
    );
    let finding = w.k.audit(&[]).unwrap_err();
    assert_eq!(finding.invariant, "request-orphaned");
    w.k.is_write_lock(w.sa()).is_table.insert(s, entry);
    w.end();
}
