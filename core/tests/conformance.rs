//! Conformance of the right layer with XNU (xnu-11215.1.10): one test per outcome a user program
//! can observe (return code, entry type, user references, counts), each naming the XNU function
//! whose branch fixes it. Every test ends with the ledger's audit and a clean teardown.

use kobject::ikot::{
    IKOT_TASK_CONTROL, IKOT_TASK_ID_TOKEN, IKOT_TASK_NAME, IKOT_TASK_READ, IKOT_THREAD_CONTROL,
    IKOT_THREAD_READ, IKOT_TIMER,
};
use kobject::ipc_right::*;
use kobject::ipc_space::*;
use kobject::kobjects::{
    TASK_PORT_CONTROL, TASK_PORT_NAME, TASK_PORT_READ, THREAD_PORT_CONTROL, THREAD_PORT_READ,
};
use kobject::mach::*;
use kobject::mach_msg::{
    ReceivedMsg, UserDescriptor, UserMsg, MACH_MSG_OOL_DESCRIPTOR, MACH_MSG_OOL_PORTS_DESCRIPTOR,
    MACH_MSG_PORT_DESCRIPTOR,
};
use kobject::mach_port::{GuardException, MachPortOptions, KERN_DENIED};
use kobject::{IpcKobject, ObjId, PortId};

mod common;

/// The two tasks, and the objects a test made (destroyed at its end).
struct World {
    t: common::TwoTasks,
    objects: Vec<ObjId>,
}

impl std::ops::Deref for World {
    type Target = common::TwoTasks;

    fn deref(&self) -> &common::TwoTasks {
        &self.t
    }
}

fn world() -> World {
    World {
        t: common::two_tasks(),
        objects: Vec::new(),
    }
}

impl World {
    /// A send right in `a` with `urefs` user references to a port `b` receives; returns the
    /// send name and `b`'s receive name.
    fn send_from_b(&self, urefs: u32) -> (MachPortName, MachPortName) {
        let r = self.recv(self.sb());
        let p = self.port(self.sb(), r);
        let mut name = MACH_PORT_NULL;
        for _ in 0..urefs {
            let right = self.k.ipc_port_make_send_any(p.into());
            name = self
                .k
                .ipc_object_copyout(self.sa(), right, MACH_MSG_TYPE_PORT_SEND, 0);
        }
        (name, r)
    }

    /// A send-once right in `a` to a port `b` receives.
    fn sonce_from_b(&self) -> (MachPortName, MachPortName) {
        let r = self.recv(self.sb());
        let p = self.port(self.sb(), r);
        let right = self.k.ipc_port_make_sonce(p.into());
        let name = self
            .k
            .ipc_object_copyout(self.sa(), right, MACH_MSG_TYPE_PORT_SEND_ONCE, 0);
        (name, r)
    }

    /// A send right in `a` with `urefs` references to a port that then died.
    fn dead_send(&self, urefs: u32) -> MachPortName {
        let (s, r) = self.send_from_b(urefs);
        assert_eq!(self.k.mach_port_destroy(self.sb(), r), KERN_SUCCESS);
        s
    }

    /// A send and receive right in `a` under one name, with `urefs` send references.
    fn send_recv(&self, urefs: u32) -> MachPortName {
        let r = self.recv(self.sa());
        for _ in 0..urefs {
            assert_eq!(self.k.mach_port_insert_send(self.sa(), r), KERN_SUCCESS);
        }
        r
    }

    /// `a`'s pinned, immovable `mach_task_self()` right (the control port's label substitutes
    /// it in its own task's space).
    fn task_self(&self) -> MachPortName {
        let control = self.k.object_port(self.a.0, TASK_PORT_CONTROL);
        let right = self.k.ipc_kobject_make_send(
            control,
            IpcKobject::Object(self.a.0),
            kobject::ikot::IKOT_TASK_CONTROL,
        );
        let name = self
            .k
            .ipc_object_copyout(self.sa(), right, MACH_MSG_TYPE_PORT_SEND, 0);
        let p = self.port(self.sa(), name);
        let g = self.k.ip_mq_lock(p);
        assert!(
            g.ip_pinned && g.ip_immovable_send,
            "mach_task_self is pinned"
        );
        name
    }

    /// A send right in `a` to a fresh voucher.
    fn voucher(&mut self) -> MachPortName {
        let v = self.k.ipc_voucher_create();
        self.k.object_reference(v);
        self.objects.push(v);
        let port = self.k.convert_lazy_object_to_port(v);
        self.k
            .ipc_object_copyout(self.sa(), port, MACH_MSG_TYPE_PORT_SEND, 0)
    }

    /// A port set in `a`.
    fn set(&self) -> MachPortName {
        let set = self
            .k
            .mach_port_allocate_right(self.sa(), MACH_PORT_RIGHT_PORT_SET);
        set.unwrap()
    }

    fn refs(&self, name: MachPortName, right: MachPortRight) -> u32 {
        self.k.mach_port_get_refs(self.sa(), name, right).unwrap()
    }

    fn guards(&self) -> Vec<(MachPortName, u32, u64)> {
        self.k
            .take_guard_exceptions()
            .into_iter()
            .map(
                |GuardException {
                     name,
                     flavor,
                     subcode,
                     ..
                 }| (name, flavor, subcode),
            )
            .collect()
    }

    fn send(&self, msg: &UserMsg) -> KernReturn {
        self.k.mach_msg_send(self.sa(), msg)
    }

    /// Audits, tears everything down and audits the teardown.
    fn end(self) {
        let World { t, objects } = self;
        t.k.audit(&[]).expect("audit before teardown");
        t.k.task_terminate(t.a.0);
        t.k.task_terminate(t.b.0);
        for o in objects {
            t.k.object_destroy(o);
        }
        t.k.audit_teardown().expect("teardown");
    }
}

fn msg(bits: u32, remote: MachPortName, local: MachPortName) -> UserMsg {
    UserMsg {
        msgh_bits: bits,
        msgh_remote_port: remote,
        msgh_local_port: local,
        ..UserMsg::default()
    }
}

fn hdr(remote: u32, local: u32, voucher: u32) -> u32 {
    mach_msgh_bits_set(remote, local, voucher, 0)
}

// ---- ipc_right_check: dead names on every lookup ----

/// Follows `ipc_right_check` through `ipc_right_info` (`mach_port_type`): a send right whose port
/// died reads as a dead name with the send right's user references, and the port's send count
/// drops.
#[test]
fn dead_port_send_right_reads_as_dead_name_with_its_urefs() {
    let w = world();
    let (s, r) = w.send_from_b(3);
    let p = w.port(w.sa(), s);
    assert_eq!(w.k.mach_port_destroy(w.sb(), r), KERN_SUCCESS);
    assert_eq!(w.ty(s), MACH_PORT_TYPE_DEAD_NAME);
    assert_eq!(w.refs(s, MACH_PORT_RIGHT_DEAD_NAME), 3);
    assert_eq!(w.refs(s, MACH_PORT_RIGHT_SEND), 0);
    assert_eq!(w.k.ipc_entry_lookup(w.sa(), s).unwrap().ie_object, None);
    assert!(!w.k.port_is_live(p), "the dead name let go of the port");
    w.end();
}

/// Follows `ipc_right_check` for a send-once right (`mach_port_get_refs`): a dead name with one
/// user reference.
#[test]
fn dead_port_send_once_right_becomes_dead_name_with_one_uref() {
    let w = world();
    let (so, r) = w.sonce_from_b();
    assert_eq!(w.refs(so, MACH_PORT_RIGHT_SEND_ONCE), 1);
    assert_eq!(w.k.mach_port_destroy(w.sb(), r), KERN_SUCCESS);
    assert_eq!(w.refs(so, MACH_PORT_RIGHT_DEAD_NAME), 1);
    assert_eq!(w.ty(so), MACH_PORT_TYPE_DEAD_NAME);
    w.end();
}

/// Follows `ipc_right_delta` (`MACH_PORT_RIGHT_RECEIVE`, -1) on a send-and-receive name: the
/// send references stay, as a dead name's.
#[test]
fn mod_refs_receive_minus_one_leaves_dead_name_with_send_urefs() {
    let w = world();
    let n = w.send_recv(2);
    assert_eq!(
        w.k.mach_port_mod_refs(w.sa(), n, MACH_PORT_RIGHT_RECEIVE, -1),
        KERN_SUCCESS
    );
    assert_eq!(w.ty(n), MACH_PORT_TYPE_DEAD_NAME);
    assert_eq!(w.refs(n, MACH_PORT_RIGHT_DEAD_NAME), 2);
    w.end();
}

/// Follows `ipc_right_dealloc` (`MACH_PORT_TYPE_DEAD_NAME`): one user reference per call, the
/// last one removes the name.
#[test]
fn deallocate_dead_name_takes_one_uref_then_the_name() {
    let w = world();
    let d = w.dead_send(2);
    assert_eq!(w.k.mach_port_deallocate(w.sa(), d), KERN_SUCCESS);
    assert_eq!(w.refs(d, MACH_PORT_RIGHT_DEAD_NAME), 1);
    assert_eq!(w.k.mach_port_deallocate(w.sa(), d), KERN_SUCCESS);
    assert_eq!(w.k.mach_port_type(w.sa(), d), Err(KERN_INVALID_NAME));
    w.end();
}

/// Follows `ipc_right_dealloc` (`MACH_PORT_TYPE_SEND` through `ipc_right_check`): the
/// deallocation of a send right whose port died takes a dead-name reference.
#[test]
fn deallocate_send_right_of_dead_port_takes_a_dead_name_uref() {
    let w = world();
    let d = w.dead_send(2);
    assert_eq!(w.k.mach_port_deallocate(w.sa(), d), KERN_SUCCESS);
    assert_eq!(w.ty(d), MACH_PORT_TYPE_DEAD_NAME);
    assert_eq!(w.refs(d, MACH_PORT_RIGHT_DEAD_NAME), 1);
    w.end();
}

/// Follows `ipc_right_delta` (`MACH_PORT_RIGHT_DEAD_NAME`): user references of a dead name
/// grow and shrink; an overflow pegs them at `MACH_PORT_UREFS_MAX`, where only
/// `-MACH_PORT_UREFS_MAX` moves them.
#[test]
fn mod_refs_dead_name_adds_and_pegs_at_urefs_max() {
    let w = world();
    let d =
        w.k.mach_port_allocate_right(w.sa(), MACH_PORT_RIGHT_DEAD_NAME)
            .unwrap();
    let m = w.sa();
    assert_eq!(
        w.k.mach_port_mod_refs(m, d, MACH_PORT_RIGHT_DEAD_NAME, 4),
        KERN_SUCCESS
    );
    assert_eq!(w.refs(d, MACH_PORT_RIGHT_DEAD_NAME), 5);
    let max = MACH_PORT_UREFS_MAX as i32;
    assert_eq!(
        w.k.mach_port_mod_refs(m, d, MACH_PORT_RIGHT_DEAD_NAME, max),
        KERN_SUCCESS
    );
    assert_eq!(w.refs(d, MACH_PORT_RIGHT_DEAD_NAME), MACH_PORT_UREFS_MAX);
    assert_eq!(
        w.k.mach_port_mod_refs(m, d, MACH_PORT_RIGHT_DEAD_NAME, -1),
        KERN_SUCCESS
    );
    assert_eq!(
        w.refs(d, MACH_PORT_RIGHT_DEAD_NAME),
        MACH_PORT_UREFS_MAX,
        "pegged"
    );
    assert_eq!(
        w.k.mach_port_mod_refs(m, d, MACH_PORT_RIGHT_DEAD_NAME, -max),
        KERN_SUCCESS
    );
    assert_eq!(w.k.mach_port_type(m, d), Err(KERN_INVALID_NAME));
    w.end();
}

/// Follows `ipc_right_delta` (`MACH_PORT_RIGHT_DEAD_NAME`): a delta beyond
/// `MACH_PORT_UREFS_MAX` or an underflow is `KERN_INVALID_VALUE` (guard exception).
#[test]
fn mod_refs_dead_name_out_of_range_is_invalid_value() {
    let w = world();
    let d =
        w.k.mach_port_allocate_right(w.sa(), MACH_PORT_RIGHT_DEAD_NAME)
            .unwrap();
    let big = MACH_PORT_UREFS_MAX as i32 + 1;
    for delta in [big, -big, -2] {
        let kr =
            w.k.mach_port_mod_refs(w.sa(), d, MACH_PORT_RIGHT_DEAD_NAME, delta);
        assert_eq!(kr, KERN_INVALID_VALUE, "delta {delta}");
    }
    assert_eq!(w.guards(), vec![(d, K_GUARD_EXC_INVALID_VALUE, 0); 3]);
    assert_eq!(w.refs(d, MACH_PORT_RIGHT_DEAD_NAME), 1);
    w.end();
}

/// Follows `ipc_right_delta` (`MACH_PORT_RIGHT_DEAD_NAME` on a live send right):
/// `KERN_INVALID_RIGHT` with a guard exception, the right untouched.
#[test]
fn mod_refs_dead_name_on_live_send_is_invalid_right() {
    let w = world();
    let (s, _) = w.send_from_b(1);
    let kr =
        w.k.mach_port_mod_refs(w.sa(), s, MACH_PORT_RIGHT_DEAD_NAME, -1);
    assert_eq!(kr, KERN_INVALID_RIGHT);
    assert_eq!(w.guards(), vec![(s, K_GUARD_EXC_INVALID_RIGHT, 0)]);
    assert_eq!(w.ty(s), MACH_PORT_TYPE_SEND);
    w.end();
}

/// Follows `ipc_right_delta` (`MACH_PORT_RIGHT_DEAD_NAME` on a send right whose port died): the
/// right becomes the dead name first, then the delta applies.
#[test]
fn mod_refs_dead_name_on_dead_send_converts_then_applies() {
    let w = world();
    let d = w.dead_send(2);
    assert_eq!(
        w.k.mach_port_mod_refs(w.sa(), d, MACH_PORT_RIGHT_DEAD_NAME, 1),
        KERN_SUCCESS
    );
    assert_eq!(w.refs(d, MACH_PORT_RIGHT_DEAD_NAME), 3);
    w.end();
}

/// Follows `ipc_right_delta` (`MACH_PORT_RIGHT_SEND` through `ipc_right_check`): on a dead port
/// the call fails with `KERN_INVALID_RIGHT`, and the name has become a dead name.
#[test]
fn mod_refs_send_on_dead_port_is_invalid_right_and_leaves_dead_name() {
    let w = world();
    let (s, r) = w.send_from_b(1);
    assert_eq!(w.k.mach_port_destroy(w.sb(), r), KERN_SUCCESS);
    let kr = w.k.mach_port_mod_refs(w.sa(), s, MACH_PORT_RIGHT_SEND, -1);
    assert_eq!(kr, KERN_INVALID_RIGHT);
    assert_eq!(
        w.k.ipc_entry_lookup(w.sa(), s).unwrap().ie_bits,
        IE_BITS_DEAD_NAME
    );
    w.end();
}

/// Follows `ipc_right_delta` (`MACH_PORT_RIGHT_SEND`): the user-reference bounds.
#[test]
fn mod_refs_send_bounds() {
    let w = world();
    let (s, _) = w.send_from_b(2);
    let m = w.sa();
    let big = MACH_PORT_UREFS_MAX as i32 + 1;
    assert_eq!(
        w.k.mach_port_mod_refs(m, s, MACH_PORT_RIGHT_SEND, big),
        KERN_INVALID_VALUE
    );
    assert_eq!(
        w.k.mach_port_mod_refs(m, s, MACH_PORT_RIGHT_SEND, -3),
        KERN_INVALID_VALUE
    );
    assert_eq!(w.refs(s, MACH_PORT_RIGHT_SEND), 2);
    let max = MACH_PORT_UREFS_MAX as i32;
    assert_eq!(
        w.k.mach_port_mod_refs(m, s, MACH_PORT_RIGHT_SEND, max),
        KERN_SUCCESS
    );
    assert_eq!(
        w.refs(s, MACH_PORT_RIGHT_SEND),
        MACH_PORT_UREFS_MAX,
        "an overflow pegs"
    );
    assert_eq!(w.k.mach_port_deallocate(m, s), KERN_SUCCESS);
    assert_eq!(
        w.refs(s, MACH_PORT_RIGHT_SEND),
        MACH_PORT_UREFS_MAX,
        "pegged urefs stay"
    );
    assert_eq!(
        w.k.mach_port_mod_refs(m, s, MACH_PORT_RIGHT_SEND, -max),
        KERN_SUCCESS
    );
    assert_eq!(w.k.mach_port_type(m, s), Err(KERN_INVALID_NAME));
    w.end();
}

/// Follows `mach_port_mod_refs`: the right number is checked before the name.
#[test]
fn mod_refs_bad_right_number_is_invalid_value_before_the_name() {
    let w = world();
    for right in [MACH_PORT_RIGHT_NUMBER, 77] {
        let kr = w.k.mach_port_mod_refs(w.sa(), 0x4242, right, -1);
        assert_eq!(kr, KERN_INVALID_VALUE);
    }
    w.end();
}

/// Follows `mach_port_mod_refs`: an invalid name succeeds for send and send-once rights and is
/// `KERN_INVALID_NAME` for the others.
#[test]
fn mod_refs_invalid_name_by_right() {
    let w = world();
    for name in [MACH_PORT_NULL, MACH_PORT_DEAD] {
        for right in 0..MACH_PORT_RIGHT_NUMBER {
            let want = match right {
                MACH_PORT_RIGHT_SEND | MACH_PORT_RIGHT_SEND_ONCE => KERN_SUCCESS,
                _ => KERN_INVALID_NAME,
            };
            assert_eq!(w.k.mach_port_mod_refs(w.sa(), name, right, -1), want);
        }
    }
    w.end();
}

/// Follows `mach_port_mod_refs` (`ipc_right_lookup_write` fails): `KERN_INVALID_NAME` with a
/// `kGUARD_EXC_INVALID_NAME` exception.
#[test]
fn mod_refs_missing_name_is_invalid_name_with_guard() {
    let w = world();
    let kr =
        w.k.mach_port_mod_refs(w.sa(), 0x4243, MACH_PORT_RIGHT_SEND, -1);
    assert_eq!(kr, KERN_INVALID_NAME);
    assert_eq!(w.guards(), vec![(0x4243, K_GUARD_EXC_INVALID_NAME, 0)]);
    w.end();
}

/// Follows `ipc_right_delta` (`MACH_PORT_RIGHT_SEND` on a name without a send right):
/// `KERN_INVALID_RIGHT`, with a guard exception except for a dead name or a receive right asked
/// for +1.
#[test]
fn mod_refs_send_without_send_right() {
    let w = world();
    let r = w.recv(w.sa());
    let d =
        w.k.mach_port_allocate_right(w.sa(), MACH_PORT_RIGHT_DEAD_NAME)
            .unwrap();
    let m = w.sa();
    assert_eq!(
        w.k.mach_port_mod_refs(m, r, MACH_PORT_RIGHT_SEND, 1),
        KERN_INVALID_RIGHT
    );
    assert_eq!(
        w.k.mach_port_mod_refs(m, d, MACH_PORT_RIGHT_SEND, -1),
        KERN_INVALID_RIGHT
    );
    assert!(w.guards().is_empty());
    assert_eq!(
        w.k.mach_port_mod_refs(m, r, MACH_PORT_RIGHT_SEND, -1),
        KERN_INVALID_RIGHT
    );
    assert_eq!(w.guards(), vec![(r, K_GUARD_EXC_INVALID_RIGHT, 0)]);
    w.end();
}

/// Follows `ipc_right_delta` (`MACH_PORT_RIGHT_SEND_ONCE`): only 0 and -1; -1 destroys the
/// right, which notifies its port.
#[test]
fn mod_refs_send_once_deltas() {
    let w = world();
    let (so, r) = w.sonce_from_b();
    let m = w.sa();
    assert_eq!(
        w.k.mach_port_mod_refs(m, so, MACH_PORT_RIGHT_SEND_ONCE, 1),
        KERN_INVALID_VALUE
    );
    assert_eq!(
        w.k.mach_port_mod_refs(m, so, MACH_PORT_RIGHT_SEND_ONCE, -2),
        KERN_INVALID_VALUE
    );
    assert_eq!(
        w.k.mach_port_mod_refs(m, so, MACH_PORT_RIGHT_SEND_ONCE, 0),
        KERN_SUCCESS
    );
    assert_eq!(
        w.k.mach_port_mod_refs(m, so, MACH_PORT_RIGHT_SEND_ONCE, -1),
        KERN_SUCCESS
    );
    assert_eq!(w.k.mach_port_type(m, so), Err(KERN_INVALID_NAME));
    let note =
        w.k.mach_msg_receive(w.sb(), r)
            .expect("a send-once notification");
    assert_eq!(note.msgh_id, kobject::ipc_notify::MACH_NOTIFY_SEND_ONCE);
    w.end();
}

/// Follows `ipc_right_delta` (`MACH_PORT_RIGHT_SEND_ONCE` on a name without one):
/// `KERN_INVALID_RIGHT`, no guard exception.
#[test]
fn mod_refs_send_once_without_right_is_invalid_right() {
    let w = world();
    let r = w.recv(w.sa());
    let kr =
        w.k.mach_port_mod_refs(w.sa(), r, MACH_PORT_RIGHT_SEND_ONCE, -1);
    assert_eq!(kr, KERN_INVALID_RIGHT);
    assert!(w.guards().is_empty());
    w.end();
}

/// Follows `ipc_right_delta` (`MACH_PORT_RIGHT_SEND_ONCE` on a dead port): the right becomes a
/// dead name and the call fails with `KERN_INVALID_RIGHT` and a guard exception.
#[test]
fn mod_refs_send_once_on_dead_port_is_invalid_right() {
    let w = world();
    let (so, r) = w.sonce_from_b();
    assert_eq!(w.k.mach_port_destroy(w.sb(), r), KERN_SUCCESS);
    let kr =
        w.k.mach_port_mod_refs(w.sa(), so, MACH_PORT_RIGHT_SEND_ONCE, -1);
    assert_eq!(kr, KERN_INVALID_RIGHT);
    assert_eq!(w.guards(), vec![(so, K_GUARD_EXC_INVALID_RIGHT, 0)]);
    assert_eq!(w.ty(so), MACH_PORT_TYPE_DEAD_NAME);
    w.end();
}

/// Follows `ipc_right_delta` (`MACH_PORT_RIGHT_RECEIVE`): only 0 and -1, and a name without
/// the receive right is `KERN_INVALID_RIGHT`.
#[test]
fn mod_refs_receive_deltas() {
    let w = world();
    let r = w.recv(w.sa());
    let (s, _) = w.send_from_b(1);
    let m = w.sa();
    assert_eq!(
        w.k.mach_port_mod_refs(m, r, MACH_PORT_RIGHT_RECEIVE, 1),
        KERN_INVALID_VALUE
    );
    assert_eq!(
        w.k.mach_port_mod_refs(m, r, MACH_PORT_RIGHT_RECEIVE, 0),
        KERN_SUCCESS
    );
    assert_eq!(
        w.k.mach_port_mod_refs(m, s, MACH_PORT_RIGHT_RECEIVE, -1),
        KERN_INVALID_RIGHT
    );
    assert_eq!(
        w.k.mach_port_mod_refs(m, r, MACH_PORT_RIGHT_RECEIVE, -1),
        KERN_SUCCESS
    );
    assert_eq!(w.k.mach_port_type(m, r), Err(KERN_INVALID_NAME));
    w.end();
}

/// Follows `ipc_right_delta` (`MACH_PORT_RIGHT_LABELH`): always `KERN_INVALID_RIGHT`.
#[test]
fn mod_refs_labelh_is_invalid_right() {
    let w = world();
    let r = w.recv(w.sa());
    let kr = w.k.mach_port_mod_refs(w.sa(), r, MACH_PORT_RIGHT_LABELH, 0);
    assert_eq!(kr, KERN_INVALID_RIGHT);
    w.end();
}

/// Follows `ipc_right_dealloc` (default arm): a receive right alone cannot be deallocated.
#[test]
fn deallocate_receive_right_is_invalid_right_with_guard() {
    let w = world();
    let r = w.recv(w.sa());
    assert_eq!(w.k.mach_port_deallocate(w.sa(), r), KERN_INVALID_RIGHT);
    assert_eq!(w.guards(), vec![(r, K_GUARD_EXC_INVALID_RIGHT, 0)]);
    w.end();
}

/// Follows `ipc_right_dealloc` (`MACH_PORT_TYPE_SEND_RECEIVE`): the last send reference goes,
/// the receive right stays.
#[test]
fn deallocate_send_receive_keeps_the_receive_right() {
    let w = world();
    let n = w.send_recv(1);
    assert_eq!(w.k.mach_port_deallocate(w.sa(), n), KERN_SUCCESS);
    assert_eq!(w.ty(n), MACH_PORT_TYPE_RECEIVE);
    w.end();
}

/// Follows `mach_port_deallocate` and `mach_port_destroy`: an invalid name succeeds; a missing
/// one is `KERN_INVALID_NAME`.
#[test]
fn deallocate_and_destroy_invalid_and_missing_names() {
    let w = world();
    for name in [MACH_PORT_NULL, MACH_PORT_DEAD] {
        assert_eq!(w.k.mach_port_deallocate(w.sa(), name), KERN_SUCCESS);
        assert_eq!(w.k.mach_port_destroy(w.sa(), name), KERN_SUCCESS);
    }
    assert_eq!(w.k.mach_port_deallocate(w.sa(), 0x777), KERN_INVALID_NAME);
    assert_eq!(w.k.mach_port_destroy(w.sa(), 0x777), KERN_INVALID_NAME);
    w.end();
}

/// Follows `ipc_right_destroy`: a dead name and a send-and-receive name go whole.
#[test]
fn destroy_dead_name_and_send_receive() {
    let w = world();
    let d = w.dead_send(3);
    let n = w.send_recv(2);
    assert_eq!(w.k.mach_port_destroy(w.sa(), d), KERN_SUCCESS);
    assert_eq!(w.k.mach_port_destroy(w.sa(), n), KERN_SUCCESS);
    assert_eq!(w.k.mach_port_type(w.sa(), d), Err(KERN_INVALID_NAME));
    assert_eq!(w.k.mach_port_type(w.sa(), n), Err(KERN_INVALID_NAME));
    w.end();
}

/// Follows `mach_port_get_refs`: bad right numbers, invalid names, and a right the name lacks.
#[test]
fn get_refs_outcomes() {
    let w = world();
    let n = w.send_recv(2);
    let m = w.sa();
    assert_eq!(
        w.k.mach_port_get_refs(m, n, MACH_PORT_RIGHT_NUMBER),
        Err(KERN_INVALID_VALUE)
    );
    assert_eq!(
        w.k.mach_port_get_refs(m, MACH_PORT_NULL, MACH_PORT_RIGHT_SEND),
        Ok(0)
    );
    assert_eq!(
        w.k.mach_port_get_refs(m, MACH_PORT_DEAD, MACH_PORT_RIGHT_RECEIVE),
        Err(KERN_INVALID_NAME)
    );
    assert_eq!(w.refs(n, MACH_PORT_RIGHT_SEND), 2);
    assert_eq!(w.refs(n, MACH_PORT_RIGHT_RECEIVE), 1);
    assert_eq!(w.refs(n, MACH_PORT_RIGHT_SEND_ONCE), 0);
    assert_eq!(
        w.k.mach_port_get_refs(m, 0x999, MACH_PORT_RIGHT_SEND),
        Err(KERN_INVALID_NAME)
    );
    w.end();
}

/// Follows `mach_port_type`: `MACH_PORT_NULL` is `KERN_INVALID_NAME`, `MACH_PORT_DEAD`
/// succeeds.
#[test]
fn type_of_invalid_names() {
    let w = world();
    assert_eq!(
        w.k.mach_port_type(w.sa(), MACH_PORT_NULL),
        Err(KERN_INVALID_NAME)
    );
    assert_eq!(
        w.k.mach_port_type(w.sa(), MACH_PORT_DEAD),
        Ok(MACH_PORT_TYPE_NONE)
    );
    let n = w.send_recv(1);
    assert_eq!(w.ty(n), MACH_PORT_TYPE_SEND_RECEIVE);
    w.end();
}

// ---- copyin and dead names ----

/// Follows `ipc_kmsg_copyin_header` and `ipc_right_copyin` (no `DEADOK` for a destination): a
/// message to a dead port's send right is `MACH_SEND_INVALID_DEST`; the name is a dead name.
#[test]
fn send_to_dead_port_is_invalid_dest_and_leaves_dead_name() {
    let w = world();
    let d = w.dead_send(1);
    assert_eq!(
        w.send(&msg(MACH_MSG_TYPE_COPY_SEND, d, 0)),
        MACH_SEND_INVALID_DEST
    );
    assert_eq!(w.ty(d), MACH_PORT_TYPE_DEAD_NAME);
    assert_eq!(
        w.send(&msg(MACH_MSG_TYPE_MOVE_SEND, d, 0)),
        MACH_SEND_INVALID_DEST
    );
    assert_eq!(w.refs(d, MACH_PORT_RIGHT_DEAD_NAME), 1, "nothing moved");
    w.end();
}

/// Follows `ipc_right_copyin` (`move_dead`, `DEADOK` from `ipc_object_copyin`): a dead name in
/// a port descriptor travels as `MACH_PORT_DEAD` and loses one user reference.
#[test]
fn dead_name_in_body_arrives_as_port_dead() {
    let w = world();
    let d = w.dead_send(2);
    let dest = w.send_recv(1);
    let m = UserMsg {
        msgh_bits: MACH_MSG_TYPE_COPY_SEND | MACH_MSGH_BITS_COMPLEX,
        msgh_remote_port: dest,
        descriptors: vec![UserDescriptor::Port {
            name: d,
            disposition: MACH_MSG_TYPE_MOVE_SEND,
        }],
        ..UserMsg::default()
    };
    assert_eq!(w.send(&m), MACH_MSG_SUCCESS);
    assert_eq!(w.refs(d, MACH_PORT_RIGHT_DEAD_NAME), 1);
    let got = w.k.mach_msg_receive(w.sa(), dest).unwrap();
    assert_eq!(
        got.descriptors,
        vec![(MACH_PORT_DEAD, MACH_MSG_TYPE_PORT_SEND)]
    );
    w.end();
}

/// Follows `ipc_right_copyin_check_reply` (a dead name passes) and `ipc_right_copyin`
/// (`DEADOK`): a dead reply name arrives as `MACH_PORT_DEAD`.
#[test]
fn dead_reply_name_arrives_as_port_dead() {
    let w = world();
    let d = w.dead_send(1);
    let dest = w.send_recv(1);
    let bits = hdr(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MOVE_SEND, 0);
    assert_eq!(w.send(&msg(bits, dest, d)), MACH_MSG_SUCCESS);
    assert_eq!(
        w.k.mach_port_type(w.sa(), d),
        Err(KERN_INVALID_NAME),
        "its last uref moved"
    );
    let got = w.k.mach_msg_receive(w.sa(), dest).unwrap();
    assert_eq!(got.msgh_remote_port, MACH_PORT_DEAD);
    w.end();
}

/// Follows `ipc_right_copyin` (`MOVE_SEND_ONCE` with `ALLOW_DEAD_SEND_ONCE`, the destination's
/// flags): a dead send-once right is still a destination; the message is destroyed.
#[test]
fn dead_send_once_destination_is_accepted() {
    let w = world();
    let (so, r) = w.sonce_from_b();
    assert_eq!(w.k.mach_port_destroy(w.sb(), r), KERN_SUCCESS);
    assert_eq!(
        w.send(&msg(MACH_MSG_TYPE_MOVE_SEND_ONCE, so, 0)),
        MACH_MSG_SUCCESS
    );
    assert_eq!(w.k.mach_port_type(w.sa(), so), Err(KERN_INVALID_NAME));
    w.end();
}

// ---- pinned and immovable rights ----

/// Follows `ipc_right_dealloc` (`MACH_PORT_TYPE_SEND`, last reference of a pinned right):
/// `KERN_INVALID_CAPABILITY` and a `kGUARD_EXC_MOD_REFS_NON_FATAL` exception; the right stays.
#[test]
fn deallocate_last_uref_of_pinned_right_is_invalid_capability() {
    let w = world();
    let me = w.task_self();
    assert_eq!(
        w.k.mach_port_deallocate(w.sa(), me),
        KERN_INVALID_CAPABILITY
    );
    assert_eq!(
        w.guards(),
        vec![(
            me,
            K_GUARD_EXC_MOD_REFS_NON_FATAL,
            MPG_FLAGS_MOD_REFS_PINNED_DEALLOC
        )]
    );
    assert_eq!(w.refs(me, MACH_PORT_RIGHT_SEND), 1);
    w.end();
}

/// Follows `ipc_right_dealloc`: a pinned right with more than one user reference loses one.
#[test]
fn deallocate_pinned_right_with_two_urefs_succeeds() {
    let w = world();
    let me = w.task_self();
    assert_eq!(w.task_self(), me);
    assert_eq!(w.refs(me, MACH_PORT_RIGHT_SEND), 2);
    assert_eq!(w.k.mach_port_deallocate(w.sa(), me), KERN_SUCCESS);
    assert_eq!(w.refs(me, MACH_PORT_RIGHT_SEND), 1);
    w.end();
}

/// Follows `ipc_right_delta` (`MACH_PORT_RIGHT_SEND` reaching 0 on a pinned right).
#[test]
fn mod_refs_pinned_right_to_zero_is_invalid_capability() {
    let w = world();
    let me = w.task_self();
    let kr = w.k.mach_port_mod_refs(w.sa(), me, MACH_PORT_RIGHT_SEND, -1);
    assert_eq!(kr, KERN_INVALID_CAPABILITY);
    assert_eq!(
        w.guards(),
        vec![(
            me,
            K_GUARD_EXC_MOD_REFS_NON_FATAL,
            MPG_FLAGS_MOD_REFS_PINNED_DEALLOC
        )]
    );
    w.end();
}

/// Follows `ipc_right_destroy` (`MACH_PORT_TYPE_SEND` of a pinned port).
#[test]
fn destroy_pinned_right_is_invalid_capability() {
    let w = world();
    let me = w.task_self();
    assert_eq!(w.k.mach_port_destroy(w.sa(), me), KERN_INVALID_CAPABILITY);
    assert_eq!(
        w.guards(),
        vec![(
            me,
            K_GUARD_EXC_MOD_REFS_NON_FATAL,
            MPG_FLAGS_MOD_REFS_PINNED_DESTROY
        )]
    );
    assert_eq!(w.ty(me), MACH_PORT_TYPE_SEND);
    w.end();
}

/// Follows `ipc_right_copyin` (`MOVE_SEND` of the last reference of a pinned right) through
/// `ipc_kmsg_copyin_header`: `MACH_SEND_INVALID_DEST`; `COPY_SEND` to it works.
#[test]
fn pinned_right_as_destination() {
    let w = world();
    let me = w.task_self();
    assert_eq!(
        w.send(&msg(MACH_MSG_TYPE_MOVE_SEND, me, 0)),
        MACH_SEND_INVALID_DEST
    );
    assert_eq!(
        w.guards(),
        vec![(
            me,
            K_GUARD_EXC_MOD_REFS_NON_FATAL,
            MPG_FLAGS_MOD_REFS_PINNED_COPYIN
        )]
    );
    assert_eq!(
        w.send(&msg(MACH_MSG_TYPE_COPY_SEND, me, 0)),
        MACH_MSG_SUCCESS
    );
    assert_eq!(w.refs(me, MACH_PORT_RIGHT_SEND), 1);
    w.end();
}

/// Follows `ipc_right_copyin_check_reply` (immovable send right): `MACH_SEND_INVALID_REPLY`.
#[test]
fn immovable_right_as_reply_is_invalid_reply() {
    let w = world();
    let me = w.task_self();
    let dest = w.send_recv(1);
    let bits = hdr(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_COPY_SEND, 0);
    assert_eq!(w.send(&msg(bits, dest, me)), MACH_SEND_INVALID_REPLY);
    assert_eq!(
        w.guards(),
        vec![
            (me, K_GUARD_EXC_IMMOVABLE_NON_FATAL, 0),
            (me, K_GUARD_EXC_SEND_INVALID_REPLY, 0)
        ]
    );
    w.end();
}

/// Follows `ipc_right_copyin` (immovable send right without `ALLOW_IMMOVABLE_SEND`) through
/// `ipc_kmsg_copyin_body`: to an ordinary port it is `MACH_SEND_INVALID_RIGHT`, and the header's
/// rights are lost (`ipc_kmsg_clean_header`).
#[test]
fn immovable_right_in_body_to_ordinary_port_is_invalid_right() {
    let w = world();
    let me = w.task_self();
    let (dest, _) = w.send_from_b(1);
    let m = UserMsg {
        msgh_bits: MACH_MSG_TYPE_MOVE_SEND | MACH_MSGH_BITS_COMPLEX,
        msgh_remote_port: dest,
        descriptors: vec![UserDescriptor::Port {
            name: me,
            disposition: MACH_MSG_TYPE_COPY_SEND,
        }],
        ..UserMsg::default()
    };
    assert_eq!(w.send(&m), MACH_SEND_INVALID_RIGHT);
    assert_eq!(w.k.mach_port_type(w.sa(), dest), Err(KERN_INVALID_NAME));
    assert_eq!(w.refs(me, MACH_PORT_RIGHT_SEND), 1);
    w.end();
}

/// Follows `ipc_kmsg_copyin_header` (a kobject destination lets the body carry immovable
/// sends): the same descriptor to the kernel is accepted.
#[test]
fn immovable_right_in_body_to_kernel_is_accepted() {
    let w = world();
    let me = w.task_self();
    let m = UserMsg {
        msgh_bits: MACH_MSG_TYPE_COPY_SEND | MACH_MSGH_BITS_COMPLEX,
        msgh_remote_port: me,
        msgh_id: 0x7fff_0000,
        descriptors: vec![UserDescriptor::Port {
            name: me,
            disposition: MACH_MSG_TYPE_COPY_SEND,
        }],
        ..UserMsg::default()
    };
    assert_eq!(w.send(&m), MACH_MSG_SUCCESS);
    w.end();
}

/// Follows `mach_port_extract_right` / `ipc_right_copyin`: an immovable send right is copied
/// out of its own space only by `COPY_SEND`; moving it, or copying it from another task's space,
/// is `KERN_INVALID_CAPABILITY`.
#[test]
fn extract_immovable_right() {
    let w = world();
    let me = w.task_self();
    let (n, t) =
        w.k.mach_port_extract_right(w.sa(), me, MACH_MSG_TYPE_COPY_SEND, w.sa())
            .unwrap();
    assert_eq!((n, t), (me, MACH_MSG_TYPE_PORT_SEND));
    assert_eq!(
        w.k.mach_port_extract_right(w.sa(), me, MACH_MSG_TYPE_MOVE_SEND, w.sa()),
        Err(KERN_INVALID_CAPABILITY)
    );
    assert_eq!(
        w.k.mach_port_extract_right(w.sa(), me, MACH_MSG_TYPE_COPY_SEND, w.sb()),
        Err(KERN_INVALID_CAPABILITY)
    );
    assert_eq!(w.refs(me, MACH_PORT_RIGHT_SEND), 2);
    w.end();
}

/// Follows `ipc_right_copyin` (`MOVE_RECEIVE` of a kobject port, here an mk_timer port):
/// `KERN_INVALID_CAPABILITY` with `kGUARD_EXC_IMMOVABLE`.
#[test]
fn timer_receive_right_is_immovable() {
    let w = world();
    let (name, p) = w.k.mk_timer_create(w.sa()).unwrap();
    assert_eq!(w.k.ip_kotype(p), IKOT_TIMER);
    assert_eq!(
        w.k.mach_port_extract_right(w.sa(), name, MACH_MSG_TYPE_MOVE_RECEIVE, w.sb()),
        Err(KERN_INVALID_CAPABILITY)
    );
    assert_eq!(w.guards(), vec![(name, K_GUARD_EXC_IMMOVABLE, 0)]);
    w.end();
}

/// Follows `ipc_thread_port_unpin` (ipc_tt.c) and `ipc_right_check`: a terminated thread's
/// self port is unpinned and dead, so its last reference deallocates as a dead name.
#[test]
fn terminated_thread_self_right_deallocates() {
    let w = world();
    let thread = w.k.thread_create(w.a.0);
    let control = w.k.object_port(thread, THREAD_PORT_CONTROL);
    let right = w.k.ipc_kobject_make_send(
        control,
        IpcKobject::Object(thread),
        kobject::ikot::IKOT_THREAD_CONTROL,
    );
    let me =
        w.k.ipc_object_copyout(w.sa(), right, MACH_MSG_TYPE_PORT_SEND, 0);
    assert_eq!(
        w.k.mach_port_deallocate(w.sa(), me),
        KERN_INVALID_CAPABILITY
    );
    w.k.thread_terminate(thread);
    assert_eq!(w.k.mach_port_deallocate(w.sa(), me), KERN_SUCCESS);
    assert_eq!(w.k.mach_port_type(w.sa(), me), Err(KERN_INVALID_NAME));
    w.end();
}

// ---- the mach_port calls ----

/// Follows `mach_port_allocate_full`: a dead name has one user reference; an unknown right is
/// `KERN_INVALID_VALUE`.
#[test]
fn allocate_dead_name_and_bad_right() {
    let w = world();
    let d =
        w.k.mach_port_allocate_right(w.sa(), MACH_PORT_RIGHT_DEAD_NAME)
            .unwrap();
    assert_eq!(w.ty(d), MACH_PORT_TYPE_DEAD_NAME);
    assert_eq!(w.refs(d, MACH_PORT_RIGHT_DEAD_NAME), 1);
    for right in [
        MACH_PORT_RIGHT_SEND,
        MACH_PORT_RIGHT_SEND_ONCE,
        MACH_PORT_RIGHT_LABELH,
    ] {
        assert_eq!(
            w.k.mach_port_allocate_right(w.sa(), right),
            Err(KERN_INVALID_VALUE)
        );
    }
    w.end();
}

/// Follows `mach_port_allocate_name`: an invalid name is `KERN_INVALID_VALUE`, a name in use
/// `KERN_NAME_EXISTS`; otherwise the right takes the chosen name.
#[test]
fn allocate_name_outcomes() {
    let w = world();
    let m = w.sa();
    assert_eq!(
        w.k.mach_port_allocate_name(m, MACH_PORT_RIGHT_RECEIVE, 0),
        KERN_INVALID_VALUE
    );
    assert_eq!(
        w.k.mach_port_allocate_name(m, MACH_PORT_RIGHT_RECEIVE, MACH_PORT_DEAD),
        KERN_INVALID_VALUE
    );
    assert_eq!(
        w.k.mach_port_allocate_name(m, MACH_PORT_RIGHT_RECEIVE, 0x5003),
        KERN_SUCCESS
    );
    assert_eq!(w.ty(0x5003), MACH_PORT_TYPE_RECEIVE);
    assert_eq!(
        w.k.mach_port_allocate_name(m, MACH_PORT_RIGHT_DEAD_NAME, 0x5003),
        KERN_NAME_EXISTS
    );
    assert_eq!(
        w.k.mach_port_allocate_name(m, MACH_PORT_RIGHT_DEAD_NAME, 0x6003),
        KERN_SUCCESS
    );
    assert_eq!(w.ty(0x6003), MACH_PORT_TYPE_DEAD_NAME);
    w.end();
}

/// Follows `mach_port_insert_right` and `ipc_right_copyout`: every `MAKE_SEND` is a make-send
/// (`ip_mscount` grows), and the user references add up.
#[test]
fn insert_right_make_send_twice_bumps_mscount() {
    let w = world();
    let r = w.recv(w.sa());
    let p = w.port(w.sa(), r);
    for urefs in 1..=2 {
        let kr =
            w.k.mach_port_insert_right(w.sa(), r, w.sa(), r, MACH_MSG_TYPE_MAKE_SEND);
        assert_eq!(kr, KERN_SUCCESS);
        assert_eq!(w.refs(r, MACH_PORT_RIGHT_SEND), urefs);
        assert_eq!(w.k.ip_mq_lock(p).ip_mscount, urefs);
    }
    assert_eq!(w.k.ip_mq_lock(p).ip_srights, 1, "one send right per entry");
    w.end();
}

/// Follows `ipc_object_copyout_name`: a port the space already names elsewhere is
/// `KERN_RIGHT_EXISTS`; a name holding another right is `KERN_NAME_EXISTS`; the right offered
/// is destroyed with the request.
#[test]
fn insert_right_name_conflicts() {
    let w = world();
    let r = w.recv(w.sa());
    let other = w.recv(w.sb());
    let (m, b) = (w.sa(), w.sb());
    let make = MACH_MSG_TYPE_MAKE_SEND;
    assert_eq!(
        w.k.mach_port_insert_right(m, 0x8003, m, r, make),
        KERN_RIGHT_EXISTS
    );
    assert_eq!(
        w.k.mach_port_insert_right(b, other, m, r, make),
        KERN_NAME_EXISTS
    );
    let p = w.port(m, r);
    assert_eq!(
        w.k.ip_mq_lock(p).ip_srights,
        0,
        "the refused rights were destroyed"
    );
    assert_eq!(w.refs(r, MACH_PORT_RIGHT_SEND), 0);
    w.end();
}

/// Follows `mach_port_insert_right`: an invalid name is `KERN_INVALID_VALUE`, a null or dead
/// right `KERN_INVALID_CAPABILITY`, a dead port `KERN_INVALID_CAPABILITY`
/// (`ipc_object_copyout_name`).
#[test]
fn insert_right_invalid_arguments() {
    let w = world();
    let r = w.recv(w.sa());
    let (m, b) = (w.sa(), w.sb());
    let make = MACH_MSG_TYPE_MAKE_SEND;
    assert_eq!(
        w.k.mach_port_insert_right(b, MACH_PORT_NULL, m, r, make),
        KERN_INVALID_VALUE
    );
    assert_eq!(
        w.k.mach_port_insert_right(b, 0x103, m, MACH_PORT_NULL, make),
        KERN_INVALID_CAPABILITY
    );
    assert_eq!(
        w.k.mach_port_insert_right(b, 0x103, m, MACH_PORT_DEAD, MACH_MSG_TYPE_COPY_SEND),
        KERN_INVALID_CAPABILITY
    );
    assert_eq!(
        w.k.mach_port_insert_right(b, 0x103, m, r, 0),
        MACH_SEND_INVALID_TYPE
    );
    assert_eq!(
        w.k.mach_port_insert_right(b, 0x103, m, 0x999, make),
        MACH_SEND_INVALID_RIGHT
    );
    w.end();
}

/// Follows `mach_port_insert_right` with each disposition into another space under a chosen
/// name.
#[test]
fn insert_right_every_disposition() {
    let w = world();
    let (m, b) = (w.sa(), w.sb());
    let r = w.send_recv(2);
    let cases = [
        (MACH_MSG_TYPE_MAKE_SEND, 0x1003, MACH_PORT_TYPE_SEND),
        (MACH_MSG_TYPE_COPY_SEND, 0x1003, MACH_PORT_TYPE_SEND),
        (MACH_MSG_TYPE_MOVE_SEND, 0x1003, MACH_PORT_TYPE_SEND),
        (
            MACH_MSG_TYPE_MAKE_SEND_ONCE,
            0x2003,
            MACH_PORT_TYPE_SEND_ONCE,
        ),
        (
            MACH_MSG_TYPE_MOVE_RECEIVE,
            0x1003,
            MACH_PORT_TYPE_SEND_RECEIVE,
        ),
    ];
    for (msgt, name, want) in cases {
        assert_eq!(
            w.k.mach_port_insert_right(b, name, m, r, msgt),
            KERN_SUCCESS,
            "{msgt}"
        );
        assert_eq!(w.k.mach_port_type(b, name), Ok(want), "{msgt}");
    }
    assert_eq!(
        w.k.mach_port_get_refs(b, 0x1003, MACH_PORT_RIGHT_SEND),
        Ok(3)
    );
    assert_eq!(
        w.ty(r),
        MACH_PORT_TYPE_SEND,
        "the receive right and one send uref moved"
    );
    assert_eq!(w.refs(r, MACH_PORT_RIGHT_SEND), 1);
    w.end();
}

/// Follows `mach_port_extract_right`: a non-port disposition is `KERN_INVALID_VALUE`, an
/// invalid name `KERN_INVALID_RIGHT`, a missing one `KERN_INVALID_NAME`; a dead name copies as
/// `MACH_PORT_DEAD`.
#[test]
fn extract_right_outcomes() {
    let w = world();
    let (m, b) = (w.sa(), w.sb());
    let d = w.dead_send(2);
    let copy = MACH_MSG_TYPE_COPY_SEND;
    assert_eq!(
        w.k.mach_port_extract_right(m, d, 0, b),
        Err(KERN_INVALID_VALUE)
    );
    assert_eq!(
        w.k.mach_port_extract_right(m, d, MACH_MSG_TYPE_COPY_RECEIVE, b),
        Err(KERN_INVALID_VALUE)
    );
    assert_eq!(
        w.k.mach_port_extract_right(m, MACH_PORT_NULL, copy, b),
        Err(KERN_INVALID_RIGHT)
    );
    assert_eq!(
        w.k.mach_port_extract_right(m, 0x999, copy, b),
        Err(KERN_INVALID_NAME)
    );
    assert_eq!(
        w.k.mach_port_extract_right(m, d, copy, b),
        Ok((MACH_PORT_DEAD, MACH_MSG_TYPE_PORT_SEND))
    );
    assert_eq!(
        w.k.mach_port_extract_right(m, d, MACH_MSG_TYPE_MOVE_SEND, b),
        Ok((MACH_PORT_DEAD, MACH_MSG_TYPE_PORT_SEND))
    );
    assert_eq!(
        w.refs(d, MACH_PORT_RIGHT_DEAD_NAME),
        1,
        "only the move took a uref"
    );
    let r = w.recv(m);
    assert_eq!(
        w.k.mach_port_extract_right(m, r, copy, b),
        Err(KERN_INVALID_RIGHT)
    );
    w.end();
}

/// Follows `mach_port_extract_right` with every disposition a receive right's name allows.
#[test]
fn extract_right_every_disposition() {
    let w = world();
    let (m, b) = (w.sa(), w.sb());
    let r = w.send_recv(2);
    let (so, _) = w.sonce_from_b();
    for (name, msgt, want) in [
        (r, MACH_MSG_TYPE_MAKE_SEND, MACH_MSG_TYPE_PORT_SEND),
        (r, MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_PORT_SEND),
        (r, MACH_MSG_TYPE_MOVE_SEND, MACH_MSG_TYPE_PORT_SEND),
        (
            r,
            MACH_MSG_TYPE_MAKE_SEND_ONCE,
            MACH_MSG_TYPE_PORT_SEND_ONCE,
        ),
        (
            so,
            MACH_MSG_TYPE_MOVE_SEND_ONCE,
            MACH_MSG_TYPE_PORT_SEND_ONCE,
        ),
        (r, MACH_MSG_TYPE_MOVE_RECEIVE, MACH_MSG_TYPE_PORT_RECEIVE),
    ] {
        let (n, t) = w.k.mach_port_extract_right(m, name, msgt, b).unwrap();
        assert_eq!(t, want, "{msgt}");
        assert!(w.k.mach_port_type(b, n).is_ok(), "{msgt}");
    }
    assert_eq!(
        w.ty(r),
        MACH_PORT_TYPE_SEND,
        "a send uref stays without the receive right"
    );
    assert_eq!(w.k.mach_port_type(m, so), Err(KERN_INVALID_NAME));
    w.end();
}

/// Follows `ipc_right_copyin` (`MOVE_SEND_ONCE` on a send right, `MOVE_SEND` on a send-once
/// right): `KERN_INVALID_RIGHT`.
#[test]
fn extract_wrong_send_kind_is_invalid_right() {
    let w = world();
    let (m, b) = (w.sa(), w.sb());
    let (s, _) = w.send_from_b(1);
    let (so, _) = w.sonce_from_b();
    let once = MACH_MSG_TYPE_MOVE_SEND_ONCE;
    assert_eq!(
        w.k.mach_port_extract_right(m, s, once, b),
        Err(KERN_INVALID_RIGHT)
    );
    let mv = MACH_MSG_TYPE_MOVE_SEND;
    assert_eq!(
        w.k.mach_port_extract_right(m, so, mv, b),
        Err(KERN_INVALID_RIGHT)
    );
    w.end();
}

/// Follows `mach_port_construct`: exclusive flag groups are `KERN_INVALID_ARGUMENT`, block
/// tracking `KERN_DENIED`, a queue limit above `MACH_PORT_QLIMIT_MAX` `KERN_INVALID_VALUE`.
#[test]
fn construct_refusals() {
    let w = world();
    let opts = |flags, mpl_qlimit| MachPortOptions { flags, mpl_qlimit };
    let m = w.sa();
    let bad = [
        (
            opts(MPO_REPLY_PORT | MPO_PROVISIONAL_REPLY_PORT, 0),
            KERN_INVALID_ARGUMENT,
        ),
        (
            opts(MPO_SERVICE_PORT | MPO_CONNECTION_PORT, 0),
            KERN_INVALID_ARGUMENT,
        ),
        (opts(MPO_TG_BLOCK_TRACKING, 0), KERN_DENIED),
        (opts(MPO_QLIMIT, 1025), KERN_INVALID_VALUE),
    ];
    for (o, want) in bad {
        assert_eq!(w.k.mach_port_construct(m, o, 0), Err(want), "{o:?}");
    }
    let n =
        w.k.mach_port_construct(m, opts(MPO_QLIMIT | MPO_INSERT_SEND_RIGHT, 1024), 0)
            .unwrap();
    assert_eq!(w.ty(n), MACH_PORT_TYPE_SEND_RECEIVE);
    assert_eq!(w.refs(n, MACH_PORT_RIGHT_SEND), 1);
    w.end();
}

/// Follows `mach_port_construct` (`MPO_EXCEPTION_PORT`) and `ipc_right_copyin`: an exception
/// port's receive right is immovable.
#[test]
fn construct_exception_port_receive_is_immovable() {
    let w = world();
    let o = MachPortOptions {
        flags: MPO_EXCEPTION_PORT,
        mpl_qlimit: 0,
    };
    let n = w.k.mach_port_construct(w.sa(), o, 0).unwrap();
    assert_eq!(
        w.k.mach_port_extract_right(w.sa(), n, MACH_MSG_TYPE_MOVE_RECEIVE, w.sb()),
        Err(KERN_INVALID_CAPABILITY)
    );
    w.end();
}

/// Follows `mach_port_destruct` / `ipc_right_destruct`: the argument checks.
#[test]
fn destruct_refusals() {
    let w = world();
    let m = w.sa();
    let r = w.recv(m);
    let (s, _) = w.send_from_b(1);
    assert_eq!(
        w.k.mach_port_destruct(m, MACH_PORT_NULL, 0, 0),
        KERN_INVALID_NAME
    );
    assert_eq!(w.k.mach_port_destruct(m, 0x999, 0, 0), KERN_INVALID_NAME);
    assert_eq!(w.k.mach_port_destruct(m, s, 0, 0), KERN_INVALID_RIGHT);
    assert_eq!(
        w.k.mach_port_destruct(m, r, -1, 0),
        KERN_INVALID_RIGHT,
        "no send right"
    );
    let n = w.send_recv(1);
    assert_eq!(w.k.mach_port_destruct(m, n, 1, 0), KERN_INVALID_VALUE);
    assert_eq!(w.k.mach_port_destruct(m, n, -2, 0), KERN_INVALID_VALUE);
    assert_eq!(w.ty(n), MACH_PORT_TYPE_SEND_RECEIVE);
    w.end();
}

/// Follows `ipc_right_destruct`: send references left after the delta become a dead name's.
#[test]
fn destruct_leaves_remaining_send_urefs_as_dead_name() {
    let w = world();
    let n = w.send_recv(3);
    assert_eq!(w.k.mach_port_destruct(w.sa(), n, -1, 0), KERN_SUCCESS);
    assert_eq!(w.ty(n), MACH_PORT_TYPE_DEAD_NAME);
    assert_eq!(w.refs(n, MACH_PORT_RIGHT_DEAD_NAME), 2);
    let r = w.send_recv(1);
    assert_eq!(w.k.mach_port_destruct(w.sa(), r, -1, 0), KERN_SUCCESS);
    assert_eq!(w.k.mach_port_type(w.sa(), r), Err(KERN_INVALID_NAME));
    w.end();
}

// ---- reply ports ----

/// A hardened task's `MPO_REPLY_PORT` port in `a`.
fn reply_port(w: &World) -> MachPortName {
    w.k.object_state(w.a.0);
    w.k.set_task_hardened_binary(w.a.0, true);
    let o = MachPortOptions {
        flags: MPO_REPLY_PORT,
        mpl_qlimit: 0,
    };
    w.k.mach_port_construct(w.sa(), o, 0).unwrap()
}

/// Follows `ipc_right_copyin` (`MAKE_SEND`, `MOVE_RECEIVE` of a reply port):
/// `KERN_INVALID_CAPABILITY`.
#[test]
fn reply_port_refuses_make_send_and_move_receive() {
    let w = world();
    let rp = reply_port(&w);
    let (m, b) = (w.sa(), w.sb());
    assert_eq!(
        w.k.mach_port_extract_right(m, rp, MACH_MSG_TYPE_MAKE_SEND, b),
        Err(KERN_INVALID_CAPABILITY)
    );
    assert_eq!(
        w.k.mach_port_extract_right(m, rp, MACH_MSG_TYPE_MOVE_RECEIVE, b),
        Err(KERN_INVALID_CAPABILITY)
    );
    assert_eq!(
        w.k.mach_port_insert_right(m, rp, m, rp, MACH_MSG_TYPE_MAKE_SEND),
        MACH_SEND_INVALID_RIGHT
    );
    assert_eq!(
        w.guards(),
        vec![
            (rp, K_GUARD_EXC_INVALID_RIGHT, 0),
            (rp, K_GUARD_EXC_IMMOVABLE, 0),
            (rp, K_GUARD_EXC_INVALID_RIGHT, 0)
        ]
    );
    w.end();
}

/// Follows `ipc_right_copyin_check_reply` (a reply port only as `MAKE_SEND_ONCE`) and
/// `ipc_kmsg_copyin_header`: `MAKE_SEND_ONCE` works, `MAKE_SEND` is `MACH_SEND_INVALID_REPLY`.
#[test]
fn reply_port_as_reply_only_make_send_once() {
    let w = world();
    let rp = reply_port(&w);
    let dest = w.send_recv(1);
    let good = hdr(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE, 0);
    assert_eq!(w.send(&msg(good, dest, rp)), MACH_MSG_SUCCESS);
    let bad = hdr(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND, 0);
    assert_eq!(w.send(&msg(bad, dest, rp)), MACH_SEND_INVALID_REPLY);
    w.end();
}

/// Follows `ipc_port_init` (a provisional reply port for a task that is not hardened): its
/// send rights can be made.
#[test]
fn provisional_reply_port_allows_make_send() {
    let w = world();
    for flags in [MPO_REPLY_PORT, MPO_PROVISIONAL_REPLY_PORT] {
        let o = MachPortOptions {
            flags,
            mpl_qlimit: 0,
        };
        let n = w.k.mach_port_construct(w.sa(), o, 0).unwrap();
        assert_eq!(w.k.mach_port_insert_send(w.sa(), n), KERN_SUCCESS);
    }
    w.end();
}

/// Follows `ipc_right_copyin_two` through the destination-is-reply case of
/// `ipc_kmsg_copyin_header`: a reply port's `MAKE_SEND` destination is refused as
/// `MACH_SEND_INVALID_REPLY` (`KERN_INVALID_CAPABILITY`).
#[test]
fn reply_port_as_own_destination_is_invalid_reply() {
    let w = world();
    let rp = reply_port(&w);
    let bits = hdr(MACH_MSG_TYPE_MAKE_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE, 0);
    assert_eq!(w.send(&msg(bits, rp, rp)), MACH_SEND_INVALID_REPLY);
    let ok = hdr(
        MACH_MSG_TYPE_MAKE_SEND_ONCE,
        MACH_MSG_TYPE_MAKE_SEND_ONCE,
        0,
    );
    assert_eq!(w.send(&msg(ok, rp, rp)), MACH_MSG_SUCCESS);
    w.end();
}

// ---- ipc_kmsg_copyin_header ----

/// Follows `ipc_kmsg_copyin_header`'s first checks: `MACH_SEND_INVALID_HEADER` for a
/// non-send destination type, a reply type without a send disposition (even with a null name)
/// and a reply name without a type; `MACH_SEND_INVALID_DEST` for an invalid or missing
/// destination.
#[test]
fn header_shape_errors() {
    let w = world();
    let dest = w.send_recv(1);
    let r = w.recv(w.sa());
    let copy = MACH_MSG_TYPE_COPY_SEND;
    let cases = [
        (
            msg(MACH_MSG_TYPE_MOVE_RECEIVE, dest, 0),
            MACH_SEND_INVALID_HEADER,
        ),
        (
            msg(hdr(copy, MACH_MSG_TYPE_MOVE_RECEIVE, 0), dest, 0),
            MACH_SEND_INVALID_HEADER,
        ),
        (msg(hdr(copy, 0, 0), dest, r), MACH_SEND_INVALID_HEADER),
        (msg(copy, MACH_PORT_NULL, 0), MACH_SEND_INVALID_DEST),
        (msg(copy, MACH_PORT_DEAD, 0), MACH_SEND_INVALID_DEST),
        (msg(copy, 0x999, 0), MACH_SEND_INVALID_DEST),
        (msg(copy, r, 0), MACH_SEND_INVALID_DEST),
    ];
    for (m, want) in cases {
        assert_eq!(w.send(&m), want, "{m:?}");
    }
    w.end();
}

/// Follows `ipc_kmsg_copyin_header`'s voucher checks: a dead name, a non-send type, a missing
/// name or a port that is not a voucher is `MACH_SEND_INVALID_VOUCHER` with its guard exception;
/// a voucher name without voucher bits is ignored.
#[test]
fn header_voucher_errors() {
    let mut w = world();
    let v = w.voucher();
    let dest = w.send_recv(1);
    let copy = MACH_MSG_TYPE_COPY_SEND;
    let with_voucher = |vt, name| UserMsg {
        msgh_voucher_port: name,
        ..msg(hdr(copy, 0, vt), dest, 0)
    };
    for (vt, name) in [
        (copy, MACH_PORT_DEAD),
        (MACH_MSG_TYPE_MAKE_SEND, v),
        (copy, 0x999),
        (copy, dest),
    ] {
        assert_eq!(
            w.send(&with_voucher(vt, name)),
            MACH_SEND_INVALID_VOUCHER,
            "{vt} {name:#x}"
        );
        assert_eq!(
            w.guards(),
            vec![(name, K_GUARD_EXC_SEND_INVALID_VOUCHER, 0)]
        );
    }
    assert_eq!(w.send(&with_voucher(0, 0x999)), MACH_MSG_SUCCESS);
    assert_eq!(w.send(&with_voucher(copy, v)), MACH_MSG_SUCCESS);
    assert_eq!(w.refs(v, MACH_PORT_RIGHT_SEND), 1);
    while w.k.mach_msg_receive(w.sa(), dest).is_ok() {}
    w.end();
}

/// Follows `ipc_right_copyin_two` (destination and voucher on one name): `MOVE_SEND` +
/// `COPY_SEND` of the last user reference is legal and consumes it.
#[test]
fn dest_and_voucher_move_plus_copy_on_one_uref() {
    let mut w = world();
    let v = w.voucher();
    let m = UserMsg {
        msgh_voucher_port: v,
        msgh_id: 0x7fff_0000,
        ..msg(
            hdr(MACH_MSG_TYPE_MOVE_SEND, 0, MACH_MSG_TYPE_COPY_SEND),
            v,
            0,
        )
    };
    assert_eq!(w.send(&m), MACH_MSG_SUCCESS);
    assert_eq!(w.k.mach_port_type(w.sa(), v), Err(KERN_INVALID_NAME));
    w.end();
}

/// Follows `ipc_right_copyin_two_move_sends` through `ipc_kmsg_copyin_header`: two moves of a
/// single user reference are the destination's error, `MACH_SEND_INVALID_DEST`.
#[test]
fn dest_and_voucher_two_moves_on_one_uref_is_invalid_dest() {
    let mut w = world();
    let v = w.voucher();
    let mv = MACH_MSG_TYPE_MOVE_SEND;
    let m = UserMsg {
        msgh_voucher_port: v,
        ..msg(hdr(mv, 0, mv), v, 0)
    };
    assert_eq!(w.send(&m), MACH_SEND_INVALID_DEST);
    assert_eq!(w.refs(v, MACH_PORT_RIGHT_SEND), 1);
    w.end();
}

/// Follows `ipc_right_copyin_two_move_sends` (destination and reply on one name): two moves
/// need two user references; with two the name goes.
#[test]
fn dest_and_reply_two_moves() {
    let w = world();
    let (s, r) = w.send_from_b(1);
    let mv = MACH_MSG_TYPE_MOVE_SEND;
    assert_eq!(w.send(&msg(hdr(mv, mv, 0), s, s)), MACH_SEND_INVALID_DEST);
    let (s2, _) = (w.send_from_b(0), ());
    let _ = s2;
    let p = w.port(w.sa(), s);
    let right = w.k.ipc_port_make_send_any(p.into());
    w.k.ipc_object_copyout(w.sa(), right, MACH_MSG_TYPE_PORT_SEND, 0);
    assert_eq!(w.refs(s, MACH_PORT_RIGHT_SEND), 2);
    assert_eq!(w.send(&msg(hdr(mv, mv, 0), s, s)), MACH_MSG_SUCCESS);
    assert_eq!(w.k.mach_port_type(w.sa(), s), Err(KERN_INVALID_NAME));
    let got = w.k.mach_msg_receive(w.sb(), r).unwrap();
    assert_eq!(
        w.k.mach_port_type(w.sb(), got.msgh_remote_port),
        Ok(MACH_PORT_TYPE_SEND_RECEIVE)
    );
    w.end();
}

/// Follows `ipc_right_copyin_two` (a `MOVE_SEND_ONCE` among the two): `KERN_INVALID_RIGHT`, the
/// destination's error.
#[test]
fn dest_and_reply_send_once_twice_is_invalid_dest() {
    let w = world();
    let (so, _) = w.sonce_from_b();
    let once = MACH_MSG_TYPE_MOVE_SEND_ONCE;
    assert_eq!(
        w.send(&msg(hdr(once, once, 0), so, so)),
        MACH_SEND_INVALID_DEST
    );
    assert_eq!(w.ty(so), MACH_PORT_TYPE_SEND_ONCE);
    w.end();
}

/// Follows `ipc_kmsg_copyin_header`: a reply on the voucher's name, or a missing reply name, is
/// `MACH_SEND_INVALID_REPLY` with `kGUARD_EXC_SEND_INVALID_REPLY`.
#[test]
fn reply_on_voucher_name_or_missing_is_invalid_reply() {
    let mut w = world();
    let v = w.voucher();
    let dest = w.send_recv(1);
    let copy = MACH_MSG_TYPE_COPY_SEND;
    let m = UserMsg {
        msgh_voucher_port: v,
        ..msg(hdr(copy, copy, copy), dest, v)
    };
    assert_eq!(w.send(&m), MACH_SEND_INVALID_REPLY);
    assert_eq!(
        w.send(&msg(hdr(copy, copy, 0), dest, 0x999)),
        MACH_SEND_INVALID_REPLY
    );
    assert_eq!(
        w.guards(),
        vec![
            (v, K_GUARD_EXC_SEND_INVALID_REPLY, 0),
            (0x999, K_GUARD_EXC_SEND_INVALID_REPLY, 0)
        ]
    );
    w.end();
}

/// Follows `ipc_right_copyin_check_reply`: a reply name without the right its type needs is
/// `MACH_SEND_INVALID_REPLY`, and nothing moves.
#[test]
fn reply_without_the_right_is_invalid_reply() {
    let w = world();
    let dest = w.send_recv(1);
    let (s, _) = w.send_from_b(1);
    let (so, _) = w.sonce_from_b();
    let copy = MACH_MSG_TYPE_COPY_SEND;
    for (rt, name) in [
        (MACH_MSG_TYPE_MAKE_SEND, s),
        (MACH_MSG_TYPE_MAKE_SEND_ONCE, so),
        (MACH_MSG_TYPE_MOVE_SEND_ONCE, s),
        (MACH_MSG_TYPE_MOVE_SEND, so),
    ] {
        assert_eq!(
            w.send(&msg(hdr(MACH_MSG_TYPE_MOVE_SEND, rt, 0), dest, name)),
            MACH_SEND_INVALID_REPLY
        );
    }
    let _ = copy;
    assert_eq!(w.refs(dest, MACH_PORT_RIGHT_SEND), 1);
    w.end();
}

/// Follows `ipc_kmsg_copyin_body` (a failed descriptor): `MACH_SEND_INVALID_RIGHT`; the header's
/// rights and earlier descriptors' rights are lost, later ones stay.
#[test]
fn body_failure_loses_header_and_earlier_descriptors() {
    let w = world();
    let (dest, _) = w.send_from_b(1);
    let (first, _) = w.send_from_b(1);
    let (last, _) = w.send_from_b(1);
    let desc = |name| UserDescriptor::Port {
        name,
        disposition: MACH_MSG_TYPE_MOVE_SEND,
    };
    let m = UserMsg {
        msgh_bits: MACH_MSG_TYPE_MOVE_SEND | MACH_MSGH_BITS_COMPLEX,
        msgh_remote_port: dest,
        descriptors: vec![desc(first), desc(0x999), desc(last)],
        ..UserMsg::default()
    };
    assert_eq!(w.send(&m), MACH_SEND_INVALID_RIGHT);
    assert_eq!(w.k.mach_port_type(w.sa(), dest), Err(KERN_INVALID_NAME));
    assert_eq!(w.k.mach_port_type(w.sa(), first), Err(KERN_INVALID_NAME));
    assert_eq!(w.ty(last), MACH_PORT_TYPE_SEND);
    w.end();
}

// ---- port sets ----

/// Follows `mach_port_allocate_full` (`MACH_PORT_RIGHT_PORT_SET`), `mach_port_insert_member`,
/// `mach_port_extract_member` and `mach_port_get_refs` on a set.
#[test]
fn port_set_membership() {
    let w = world();
    let m = w.sa();
    let set = w.set();
    let r = w.recv(m);
    assert_eq!(w.ty(set), MACH_PORT_TYPE_PORT_SET);
    assert_eq!(w.refs(set, MACH_PORT_RIGHT_PORT_SET), 1);
    assert_eq!(w.k.mach_port_insert_member(m, r, set), KERN_SUCCESS);
    assert_eq!(w.k.mach_port_insert_member(m, r, set), KERN_ALREADY_IN_SET);
    assert_eq!(w.k.mach_port_get_set_status(m, set), Ok(vec![r]));
    assert_eq!(w.k.mach_port_extract_member(m, r, set), KERN_SUCCESS);
    assert_eq!(w.k.mach_port_extract_member(m, r, set), KERN_NOT_IN_SET);
    assert_eq!(
        w.k.mach_port_move_member(m, r, MACH_PORT_NULL),
        KERN_NOT_IN_SET
    );
    assert_eq!(w.k.mach_port_move_member(m, r, set), KERN_SUCCESS);
    assert_eq!(
        w.k.mach_port_move_member(m, r, MACH_PORT_NULL),
        KERN_SUCCESS
    );
    w.end();
}

/// Follows `ipc_object_translate_two` (`mach_port_insert_member`): invalid names are
/// `KERN_INVALID_RIGHT`, missing ones `KERN_INVALID_NAME`, wrong kinds `KERN_INVALID_RIGHT`.
#[test]
fn port_set_member_errors() {
    let w = world();
    let m = w.sa();
    let set = w.set();
    let r = w.recv(m);
    assert_eq!(
        w.k.mach_port_insert_member(m, MACH_PORT_NULL, set),
        KERN_INVALID_RIGHT
    );
    assert_eq!(
        w.k.mach_port_insert_member(m, 0x999, set),
        KERN_INVALID_NAME
    );
    assert_eq!(w.k.mach_port_insert_member(m, set, r), KERN_INVALID_RIGHT);
    assert_eq!(
        w.k.mach_port_move_member(m, r, MACH_PORT_DEAD),
        KERN_INVALID_RIGHT
    );
    w.end();
}

/// Follows `ipc_right_delta` (`MACH_PORT_RIGHT_PORT_SET`), `ipc_right_dealloc` and
/// `ipc_right_destroy` on set names: only 0 and -1; a member leaves the set when its receive
/// right goes.
#[test]
fn port_set_names_go_by_mod_refs_deallocate_and_destroy() {
    let w = world();
    let m = w.sa();
    let s1 = w.set();
    let s2 = w.set();
    let s3 = w.set();
    let r = w.recv(m);
    assert_eq!(w.k.mach_port_insert_member(m, r, s1), KERN_SUCCESS);
    assert_eq!(
        w.k.mach_port_mod_refs(m, s1, MACH_PORT_RIGHT_PORT_SET, 1),
        KERN_INVALID_VALUE
    );
    assert_eq!(
        w.k.mach_port_mod_refs(m, r, MACH_PORT_RIGHT_PORT_SET, 0),
        KERN_INVALID_RIGHT
    );
    assert_eq!(
        w.k.mach_port_mod_refs(m, r, MACH_PORT_RIGHT_RECEIVE, -1),
        KERN_SUCCESS
    );
    assert_eq!(w.k.mach_port_get_set_status(m, s1), Ok(vec![]));
    assert_eq!(
        w.k.mach_port_mod_refs(m, s1, MACH_PORT_RIGHT_PORT_SET, -1),
        KERN_SUCCESS
    );
    assert_eq!(w.k.mach_port_deallocate(m, s2), KERN_SUCCESS);
    assert_eq!(w.k.mach_port_destroy(m, s3), KERN_SUCCESS);
    for s in [s1, s2, s3] {
        assert_eq!(w.k.mach_port_type(m, s), Err(KERN_INVALID_NAME));
    }
    w.end();
}

/// Follows `ipc_mqueue_copyin` / receive on a set: a message queued on a member is received
/// through the set's name.
#[test]
fn receive_on_a_port_set() {
    let w = world();
    let m = w.sa();
    let set = w.set();
    let r = w.send_recv(1);
    assert_eq!(w.k.mach_port_insert_member(m, r, set), KERN_SUCCESS);
    assert_eq!(
        w.k.mach_msg_receive(m, set).map(|_| ()),
        Err(MACH_RCV_TIMED_OUT)
    );
    assert_eq!(
        w.send(&msg(MACH_MSG_TYPE_COPY_SEND, r, 0)),
        MACH_MSG_SUCCESS
    );
    let got = w.k.mach_msg_receive(m, set).unwrap();
    assert_eq!(got.msgh_local_port, r);
    w.end();
}

// ---- received messages ----

/// Follows `ipc_kmsg_copyout` and the user layout (`mach_msg_user_header_t`, 24 bytes; a body
/// count; 12-byte port descriptors and 16-byte out-of-line descriptors): the `msgh_size` a
/// receiver reads, and each descriptor's type, count and disposition.
#[test]
fn received_message_reads_as_user_space_sees_it() {
    let w = world();
    let dest = w.send_recv(1);
    let (s, _) = w.send_from_b(2);
    let m = UserMsg {
        msgh_bits: MACH_MSG_TYPE_COPY_SEND | MACH_MSGH_BITS_COMPLEX,
        msgh_remote_port: dest,
        descriptors: vec![
            UserDescriptor::Port {
                name: s,
                disposition: MACH_MSG_TYPE_COPY_SEND,
            },
            UserDescriptor::OolPorts {
                names: vec![s, MACH_PORT_NULL],
                disposition: MACH_MSG_TYPE_MOVE_SEND,
            },
            UserDescriptor::Ool { size: 64 },
        ],
        inline_data: vec![7, 8],
        ..UserMsg::default()
    };
    assert_eq!(w.send(&m), MACH_MSG_SUCCESS);
    let got = w.k.mach_msg_receive(w.sa(), dest).unwrap();
    assert_eq!(got.msgh_size, 24 + 4 + 12 + 16 + 16 + 8);
    let kinds: Vec<_> = got
        .body
        .iter()
        .map(|d| (d.type_, d.count, d.disposition))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (MACH_MSG_PORT_DESCRIPTOR, 1, MACH_MSG_TYPE_PORT_SEND),
            (MACH_MSG_OOL_PORTS_DESCRIPTOR, 2, MACH_MSG_TYPE_PORT_SEND),
            (MACH_MSG_OOL_DESCRIPTOR, 64, 0),
        ]
    );
    assert_eq!(got.body[1].names, vec![s, MACH_PORT_NULL]);
    for copy in got.ool {
        w.k.vm_map_copy_discard(copy);
    }
    w.end();
}

// ---- mk_timer ----

/// Follows `mk_timer_create_trap` (osfmk/kern/mk_timer.c): the receive right is the user's and
/// immovable, and the kernel keeps one send right (`ip_srights` 1, `ip_mscount` 1) that goes
/// with the timer when the receive right is destroyed.
#[test]
fn timer_port_carries_the_kernels_send_right() {
    let w = world();
    let (name, p) = w.k.mk_timer_create(w.sa()).unwrap();
    assert_eq!(w.ty(name), MACH_PORT_TYPE_RECEIVE);
    {
        let g = w.k.ip_mq_lock(p);
        assert_eq!((g.ip_srights, g.ip_mscount), (1, 1));
        assert!(g.ip_immovable_receive);
    }
    assert_eq!(w.k.mach_port_insert_send(w.sa(), name), KERN_SUCCESS);
    assert_eq!(w.k.ip_mq_lock(p).ip_srights, 2);
    assert_eq!(w.k.mach_port_deallocate(w.sa(), name), KERN_SUCCESS);
    assert!(
        w.k.mach_msg_receive(w.sa(), name).is_err(),
        "no no-senders: the kernel's right stays"
    );
    w.k.audit(&[]).expect("the timer's right is counted");
    assert_eq!(w.k.mach_port_destroy(w.sa(), name), KERN_SUCCESS);
    assert!(
        !w.k.port_is_live(p),
        "the timer let go of its right and the port"
    );
    w.end();
}

/// Follows `ipc_right_copyin` (`MOVE_SEND_ONCE` of a reply port's right without
/// `IPC_OBJECT_COPYIN_FLAGS_ALLOW_REPLY_MOVE_SEND_ONCE`): in a descriptor it is refused
/// (`MACH_SEND_INVALID_RIGHT`), as a destination it is allowed.
#[test]
fn reply_port_send_once_moves_only_as_destination() {
    let w = world();
    let rp = reply_port(&w);
    let dest = w.send_recv(1);
    assert_eq!(
        w.k.mach_port_extract_right(w.sa(), rp, MACH_MSG_TYPE_MAKE_SEND_ONCE, w.sa()),
        Err(KERN_INVALID_CAPABILITY),
        "only a message's reply makes send-once rights to a reply port"
    );
    let bits = hdr(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE, 0);
    assert_eq!(w.send(&msg(bits, dest, rp)), MACH_MSG_SUCCESS);
    let so = w.k.mach_msg_receive(w.sa(), dest).unwrap().msgh_remote_port;
    let m = UserMsg {
        msgh_bits: MACH_MSG_TYPE_COPY_SEND | MACH_MSGH_BITS_COMPLEX,
        msgh_remote_port: dest,
        descriptors: vec![UserDescriptor::Port {
            name: so,
            disposition: MACH_MSG_TYPE_MOVE_SEND_ONCE,
        }],
        ..UserMsg::default()
    };
    assert_eq!(w.send(&m), MACH_SEND_INVALID_RIGHT);
    assert_eq!(w.ty(so), MACH_PORT_TYPE_SEND_ONCE);
    assert_eq!(
        w.send(&msg(MACH_MSG_TYPE_MOVE_SEND_ONCE, so, 0)),
        MACH_MSG_SUCCESS
    );
    assert!(w.k.mach_msg_receive(w.sa(), rp).is_ok());
    w.end();
}

// ---- the ledger's account of dead names ----

/// The ledger derives each dead name's user references from the operations on it (here:
/// conversion with 3, a release, a +2 delta), and a count the model changed behind its back is
/// a `dead-name-urefs` violation.
#[test]
fn ledger_catches_dead_name_urefs_it_did_not_derive() {
    let w = world();
    let d = w.dead_send(3);
    assert_eq!(w.ty(d), MACH_PORT_TYPE_DEAD_NAME);
    assert_eq!(w.k.mach_port_deallocate(w.sa(), d), KERN_SUCCESS);
    assert_eq!(
        w.k.mach_port_mod_refs(w.sa(), d, MACH_PORT_RIGHT_DEAD_NAME, 2),
        KERN_SUCCESS
    );
    w.k.audit(&[]).expect("the account agrees");
    w.k.is_write_lock(w.sa())
        .is_table
        .get_mut(&d)
        .unwrap()
        .urefs += 1;
    let finding = w.k.audit(&[]).unwrap_err();
    assert_eq!(finding.invariant, "dead-name-urefs");
    w.k.is_write_lock(w.sa())
        .is_table
        .get_mut(&d)
        .unwrap()
        .urefs -= 1;
    w.k.is_write_lock(w.sa()).is_table.remove(&d);
    let finding = w.k.audit(&[]).unwrap_err();
    assert_eq!(finding.invariant, "dead-name-urefs", "a vanished dead name");
    let restored = IpcEntry {
        ie_object: None,
        ie_bits: IE_BITS_DEAD_NAME,
        urefs: 4,
        ie_request: IE_REQ_NONE,
    };
    w.k.is_write_lock(w.sa()).is_table.insert(d, restored);
    w.end();
}

/// Follows `ipc_right_dealloc` (`MACH_PORT_TYPE_SEND_RECEIVE` with several user references):
/// one goes, the send right stays.
#[test]
fn deallocate_send_receive_name_takes_one_uref() {
    let w = world();
    let r = w.send_recv(3);
    assert_eq!(w.k.mach_port_deallocate(w.sa(), r), KERN_SUCCESS);
    w.k.audit(&[])
        .expect("the ledger derived the same user references");
    assert_eq!(w.refs(r, MACH_PORT_RIGHT_SEND), 2);
    w.end();
}

/// Follows `ipc_right_copyin` (`MOVE_SEND` of a name with several user references) and
/// `ipc_right_copyin_two_move_sends` (two at once): each moved right takes one.
#[test]
fn copyin_move_send_takes_one_uref_per_right() {
    let w = world();
    let (s, r) = w.send_from_b(4);
    let p = w.port(w.sb(), r);
    let moved = w.k.ipc_object_copyin(w.sa(), s, MACH_MSG_TYPE_MOVE_SEND, 0);
    assert_eq!(moved, Ok(kobject::IpcPort::Port(p)));
    w.k.audit(&[kobject::Held::Send(p)])
        .expect("the ledger derived the same user references");
    assert_eq!(w.refs(s, MACH_PORT_RIGHT_SEND), 3);
    let mv = MACH_MSG_TYPE_MOVE_SEND;
    assert_eq!(w.send(&msg(hdr(mv, mv, 0), s, s)), MACH_MSG_SUCCESS);
    w.k.audit(&[kobject::Held::Send(p)])
        .expect("the ledger derived the same user references");
    assert_eq!(w.refs(s, MACH_PORT_RIGHT_SEND), 1);
    w.k.ipc_port_release_send(kobject::IpcPort::Port(p));
    w.end();
}

/// The ledger derives every send right's user references from the operations on it: copyout,
/// a moved copyin, dealloc, mod_refs (pegging at `MACH_PORT_UREFS_MAX`, which copyout leaves
/// pegged as `ipc_right_copyout` does), and catches an entry whose count it did not derive.
#[test]
fn ledger_catches_send_urefs_it_did_not_derive() {
    let w = world();
    let (s, r) = w.send_from_b(3);
    let p = w.port(w.sb(), r);
    assert_eq!(w.k.mach_port_deallocate(w.sa(), s), KERN_SUCCESS);
    let moved = w.k.ipc_object_copyin(w.sa(), s, MACH_MSG_TYPE_MOVE_SEND, 0);
    assert_eq!(moved, Ok(kobject::IpcPort::Port(p)));
    w.k.audit(&[kobject::Held::Send(p)])
        .expect("the account agrees");
    let max = MACH_PORT_UREFS_MAX as i32;
    assert_eq!(
        w.k.mach_port_mod_refs(w.sa(), s, MACH_PORT_RIGHT_SEND, max),
        KERN_SUCCESS
    );
    let name =
        w.k.ipc_object_copyout(w.sa(), moved.unwrap(), MACH_MSG_TYPE_PORT_SEND, 0);
    assert_eq!(name, s);
    assert_eq!(
        w.k.ipc_entry_lookup(w.sa(), s).unwrap().urefs,
        MACH_PORT_UREFS_MAX
    );
    w.k.audit(&[])
        .expect("copyout leaves a pegged count pegged");
    w.k.is_write_lock(w.sa())
        .is_table
        .get_mut(&s)
        .unwrap()
        .urefs -= 1;
    let finding = w.k.audit(&[]).unwrap_err();
    assert_eq!(finding.invariant, "urefs-mismatch");
    w.k.is_write_lock(w.sa())
        .is_table
        .get_mut(&s)
        .unwrap()
        .urefs += 1;
    assert_eq!(
        w.k.mach_port_mod_refs(w.sa(), s, MACH_PORT_RIGHT_SEND, -max),
        KERN_SUCCESS
    );
    w.k.audit(&[])
        .expect("only -MACH_PORT_UREFS_MAX leaves a pegged count");
    w.end();
}

// ---- routines that store rights ----

/// Sends routine `id` to `dest` (a copied send right) with a port descriptor per right and `words`,
/// and returns the reply's return code.
fn call_with_rights(
    w: &World,
    id: i32,
    dest: MachPortName,
    rights: &[MachPortName],
    words: &[u32],
) -> KernReturn {
    call_for_reply(w, id, dest, rights, words).ret_code
}

/// [`call_with_rights`], returning the whole reply as `a` receives it.
fn call_for_reply(
    w: &World,
    id: i32,
    dest: MachPortName,
    rights: &[MachPortName],
    words: &[u32],
) -> ReceivedMsg {
    let reply = w.recv(w.sa());
    let complex = if rights.is_empty() {
        0
    } else {
        MACH_MSGH_BITS_COMPLEX
    };
    let m = UserMsg {
        msgh_bits: hdr(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE, 0) | complex,
        msgh_remote_port: dest,
        msgh_local_port: reply,
        msgh_id: id,
        descriptors: rights
            .iter()
            .map(|&name| UserDescriptor::Port {
                name,
                disposition: MACH_MSG_TYPE_COPY_SEND,
            })
            .collect(),
        inline_data: words.to_vec(),
        ..UserMsg::default()
    };
    assert_eq!(w.send(&m), MACH_MSG_SUCCESS);
    let got = w.k.mach_msg_receive(w.sa(), reply).expect("a reply");
    assert_eq!(w.k.mach_port_destroy(w.sa(), reply), KERN_SUCCESS);
    got
}

/// Follows `thread_set_special_port` (osfmk/kern/ipc_tt.c): an immovable send right is
/// `KERN_INVALID_RIGHT` before the slot is looked at; a movable one for
/// `THREAD_KERNEL_PORT` is `KERN_NO_ACCESS` (SIP on).
#[test]
fn thread_set_special_port_refuses_immovable_rights() {
    let w = world();
    let me = w.task_self();
    let thread = w.k.thread_create(w.a.0);
    let control = w.k.object_port(thread, THREAD_PORT_CONTROL);
    let right = w.k.ipc_kobject_make_send(
        control,
        IpcKobject::Object(thread),
        kobject::ikot::IKOT_THREAD_CONTROL,
    );
    let th =
        w.k.ipc_object_copyout(w.sa(), right, MACH_MSG_TYPE_PORT_SEND, 0);
    let (movable, _) = w.send_from_b(1);
    let which = kobject::mig_routines::THREAD_KERNEL_PORT;
    assert_eq!(
        call_with_rights(&w, 3611, th, &[me], &[0, which]),
        KERN_INVALID_RIGHT
    );
    assert_eq!(
        call_with_rights(&w, 3611, th, &[movable], &[0, which]),
        KERN_NO_ACCESS
    );
    assert_eq!(
        call_with_rights(&w, 3611, th, &[movable], &[0, 9]),
        KERN_INVALID_ARGUMENT
    );
    assert_eq!(
        w.refs(me, MACH_PORT_RIGHT_SEND),
        1,
        "the copied right went with the request"
    );
    w.k.thread_terminate(thread);
    w.end();
}

/// Follows `_kernelrpc_mach_ports_register3` (osfmk/kern/ipc_tt.c): an immovable send right is
/// `KERN_INVALID_RIGHT`; a movable one is stored.
#[test]
fn mach_ports_register_refuses_immovable_rights() {
    let w = world();
    let me = w.task_self();
    let (movable, _) = w.send_from_b(1);
    assert_eq!(
        call_with_rights(&w, 3403, me, &[movable, me, 0], &[0]),
        KERN_INVALID_RIGHT
    );
    assert_eq!(
        call_with_rights(&w, 3403, me, &[movable, 0, 0], &[0]),
        KERN_SUCCESS
    );
    w.end();
}

/// Follows `ipc_right_copyin_check_reply` (a port-set destination passes the reply check) and
/// `ipc_right_copyin` (a set has no send right): the destination's error, not the reply's.
#[test]
fn port_set_destination_is_invalid_dest_before_the_reply_port_rule() {
    let w = world();
    let rp = reply_port(&w);
    let set = w.set();
    let bits = hdr(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND, 0);
    assert_eq!(w.send(&msg(bits, set, rp)), MACH_SEND_INVALID_DEST);
    let dest = w.send_recv(1);
    assert_eq!(w.send(&msg(bits, dest, rp)), MACH_SEND_INVALID_REPLY);
    w.end();
}

/// Follows `ipc_right_copyin`'s `invalid_right` exits through `mach_port_extract_right`: a
/// receive right or a made right from a name without the receive right, a send right from a
/// send-once name, and a send-once right from a dead send-once right (`move_dead` with
/// `DEADOK`: `MACH_PORT_DEAD`, the name consumed).
#[test]
fn copyin_right_kind_errors_and_dead_send_once() {
    let w = world();
    let (m, b) = (w.sa(), w.sb());
    let (s, _) = w.send_from_b(1);
    let (so, r) = w.sonce_from_b();
    for (name, msgt) in [
        (s, MACH_MSG_TYPE_MOVE_RECEIVE),
        (s, MACH_MSG_TYPE_MAKE_SEND),
        (s, MACH_MSG_TYPE_MAKE_SEND_ONCE),
        (so, MACH_MSG_TYPE_COPY_SEND),
    ] {
        let got = w.k.mach_port_extract_right(m, name, msgt, b);
        assert_eq!(got, Err(KERN_INVALID_RIGHT), "{name:#x} {msgt}");
    }
    assert_eq!(w.k.mach_port_destroy(b, r), KERN_SUCCESS);
    assert_eq!(
        w.k.mach_port_extract_right(m, so, MACH_MSG_TYPE_MOVE_SEND_ONCE, b),
        Ok((MACH_PORT_DEAD, MACH_MSG_TYPE_PORT_SEND_ONCE))
    );
    assert_eq!(w.k.mach_port_type(m, so), Err(KERN_INVALID_NAME));
    w.end();
}

/// Follows `ipc_kmsg_copyin_header`: bits outside `MACH_MSGH_BITS_USER` are
/// `MACH_SEND_INVALID_HEADER`, and a send-once destination consumed by one send is gone for the
/// next (`MACH_SEND_INVALID_DEST`).
#[test]
fn header_bits_and_used_send_once_destination() {
    let w = world();
    let (so, _) = w.sonce_from_b();
    let stray = MACH_MSG_TYPE_MOVE_SEND_ONCE | 0x0100_0000;
    assert_eq!(w.send(&msg(stray, so, 0)), MACH_SEND_INVALID_HEADER);
    assert_eq!(
        w.send(&msg(MACH_MSG_TYPE_MOVE_SEND_ONCE, so, 0)),
        MACH_MSG_SUCCESS
    );
    assert_eq!(
        w.send(&msg(MACH_MSG_TYPE_MOVE_SEND_ONCE, so, 0)),
        MACH_SEND_INVALID_DEST
    );
    w.end();
}

/// The ledger derives each port set's members from the member calls and the members' receive
/// rights leaving; a member the model added behind its back is a `pset-membership` violation.
#[test]
fn ledger_catches_set_members_it_did_not_derive() {
    let w = world();
    let m = w.sa();
    let set = w.set();
    let (r1, r2) = (w.recv(m), w.recv(m));
    assert_eq!(w.k.mach_port_insert_member(m, r1, set), KERN_SUCCESS);
    assert_eq!(w.k.mach_port_move_member(m, r2, set), KERN_SUCCESS);
    assert_eq!(
        w.k.mach_port_extract_right(m, r2, MACH_MSG_TYPE_MOVE_RECEIVE, w.sb())
            .map(|(_, t)| t),
        Ok(MACH_MSG_TYPE_PORT_RECEIVE)
    );
    w.k.audit(&[]).expect("the account agrees");
    let r3 = w.recv(m);
    w.k.is_write_lock(m)
        .is_psets
        .get_mut(&set)
        .unwrap()
        .insert(r3);
    let finding = w.k.audit(&[]).unwrap_err();
    assert_eq!(finding.invariant, "pset-membership");
    w.k.is_write_lock(m)
        .is_psets
        .get_mut(&set)
        .unwrap()
        .remove(&r3);
    w.end();
}

/// The ledger records each reply port `mach_port_construct` makes; a send right to one (which
/// no copyin makes) is a `reply-port-state` violation.
#[test]
fn ledger_catches_a_send_right_to_a_reply_port() {
    let w = world();
    let rp = reply_port(&w);
    w.k.audit(&[]).expect("a fresh reply port");
    let p = w.port(w.sa(), rp);
    let right = w.k.ipc_port_make_send_any(p.into());
    let finding = w.k.audit(&[kobject::Held::Send(p)]).unwrap_err();
    assert_eq!(finding.invariant, "reply-port-state");
    w.k.ipc_port_release_send(right);
    w.end();
}

// ---- routines that hand out rights, and the conversions of their targets ----

/// Ids in the task subsystem (osfmk/mach/task.defs).
const THREAD_CREATE_FROM_USER: i32 = 3411;
const THREAD_CREATE_RUNNING_FROM_USER: i32 = 3412;
const TASK_THREADS_FROM_USER: i32 = 3402;
const TASK_CREATE_IDENTITY_TOKEN: i32 = 3457;
const TASK_IDENTITY_TOKEN_GET_TASK_PORT: i32 = 3458;

impl World {
    /// A send right in `a` to `b`'s port `which` (control, read or name), of kotype `ty`.
    fn b_port(&self, which: usize, ty: kobject::ikot::IpcKobjectType) -> MachPortName {
        self.object_port_name(self.b.0, which, ty)
    }

    /// A send right in `a` to object `o`'s port `which`, of kotype `ty`.
    fn object_port_name(
        &self,
        o: ObjId,
        which: usize,
        ty: kobject::ikot::IpcKobjectType,
    ) -> MachPortName {
        let port = self.k.object_port(o, which);
        let right = self
            .k
            .ipc_kobject_make_send(port, IpcKobject::Object(o), ty);
        self.k
            .ipc_object_copyout(self.sa(), right, MACH_MSG_TYPE_PORT_SEND, 0)
    }

    /// `b`'s threads, in creation order.
    fn b_threads(&self) -> Vec<ObjId> {
        let threads = self
            .k
            .task_threads_referenced(self.b.0)
            .expect("b is alive");
        for &thread in &threads {
            self.k.object_release(thread);
        }
        threads
    }

    /// The single port right a successful reply carries.
    fn only_port(&self, reply: &ReceivedMsg) -> PortId {
        assert_eq!(reply.ret_code, KERN_SUCCESS);
        assert_eq!(reply.descriptors.len(), 1, "{reply:?}");
        let (name, disposition) = reply.descriptors[0];
        assert_eq!(disposition, MACH_MSG_TYPE_PORT_SEND);
        self.port(self.sa(), name)
    }
}

/// `task_identity_token_get_task_port` of `flavor` through the token `a` names.
fn token_get_task_port(w: &World, token: MachPortName, flavor: u32) -> ReceivedMsg {
    call_for_reply(
        w,
        TASK_IDENTITY_TOKEN_GET_TASK_PORT,
        token,
        &[],
        &[0, flavor],
    )
}

/// Follows `thread_create_from_user` / `thread_create_running_from_user` (osfmk/kern/thread.c)
/// and `convert_thread_to_port` (osfmk/kern/ipc_tt.c): each call makes a new thread of the
/// target task and hands out a send right to that thread's control port; the threads die with
/// their task (`task_terminate_internal`), leaving dead names.
#[test]
fn thread_create_hands_out_the_new_threads_control_port() {
    let w = world();
    let control = w.b_port(TASK_PORT_CONTROL, IKOT_TASK_CONTROL);
    let mut names = Vec::new();
    for id in [THREAD_CREATE_FROM_USER, THREAD_CREATE_RUNNING_FROM_USER] {
        let reply = call_for_reply(&w, id, control, &[], &[0]);
        let port = w.only_port(&reply);
        let thread = *w.b_threads().last().expect("a new thread");
        assert_eq!(port, w.k.object_port(thread, THREAD_PORT_CONTROL).id());
        assert_eq!(w.k.ip_kotype(port), IKOT_THREAD_CONTROL);
        names.push(reply.descriptors[0].0);
    }
    assert_eq!(w.b_threads().len(), 2);
    w.k.task_terminate(w.b.0);
    for name in names {
        assert_eq!(w.ty(name), MACH_PORT_TYPE_DEAD_NAME);
    }
    w.k.audit(&[]).expect("the threads went with their task");
    w.k.task_terminate(w.a.0);
    w.k.audit_teardown().expect("teardown");
}

/// Follows `convert_port_to_task_mig` (osfmk/kern/ipc_tt.c): `thread_create`'s target must be a
/// control port; through the read or name port the conversion yields nothing and the routine
/// answers `KERN_INVALID_ARGUMENT`, with no thread made.
#[test]
fn thread_create_through_a_read_or_name_port_is_invalid_argument() {
    let w = world();
    for (which, ty) in [
        (TASK_PORT_READ, IKOT_TASK_READ),
        (TASK_PORT_NAME, IKOT_TASK_NAME),
    ] {
        let dest = w.b_port(which, ty);
        let got = call_with_rights(&w, THREAD_CREATE_FROM_USER, dest, &[], &[0]);
        assert_eq!(
            got,
            KERN_INVALID_ARGUMENT,
            "{}",
            kobject::ikot::ikot_name(ty)
        );
    }
    assert!(w.b_threads().is_empty());
    w.end();
}

/// Follows `task_threads_from_user` + `task_threads_internal` (osfmk/kern/task.c): through the
/// control port the reply's out-of-line ports are the threads' control ports, through the read
/// port their read ports; the name port does not convert (`convert_port_to_task_inspect_no_eval`):
/// `KERN_INVALID_ARGUMENT`.
#[test]
fn task_threads_hands_out_thread_ports_of_the_ports_flavor() {
    let w = world();
    let threads = [w.k.thread_create(w.b.0), w.k.thread_create(w.b.0)];
    for (which, ty, thread_which, thread_ty) in [
        (
            TASK_PORT_CONTROL,
            IKOT_TASK_CONTROL,
            THREAD_PORT_CONTROL,
            IKOT_THREAD_CONTROL,
        ),
        (
            TASK_PORT_READ,
            IKOT_TASK_READ,
            THREAD_PORT_READ,
            IKOT_THREAD_READ,
        ),
    ] {
        let dest = w.b_port(which, ty);
        let reply = call_for_reply(&w, TASK_THREADS_FROM_USER, dest, &[], &[0]);
        assert_eq!(reply.ret_code, KERN_SUCCESS);
        assert_eq!(reply.body.len(), 1);
        assert_eq!(reply.body[0].type_, MACH_MSG_OOL_PORTS_DESCRIPTOR);
        let got: Vec<PortId> = reply.body[0]
            .names
            .iter()
            .map(|&name| w.port(w.sa(), name))
            .collect();
        let want: Vec<PortId> = threads
            .iter()
            .map(|&t| w.k.object_port(t, thread_which).id())
            .collect();
        assert_eq!(got, want, "{}", kobject::ikot::ikot_name(ty));
        assert!(got.iter().all(|&p| w.k.ip_kotype(p) == thread_ty));
    }
    let name = w.b_port(TASK_PORT_NAME, IKOT_TASK_NAME);
    assert_eq!(
        call_with_rights(&w, TASK_THREADS_FROM_USER, name, &[], &[0]),
        KERN_INVALID_ARGUMENT
    );
    w.end();
}

/// Follows `task_create_identity_token` and `task_identity_token_get_task_port`
/// (osfmk/kern/task_ident.c): the token names the task it was made from and gives that task's
/// port of the asked flavor; a flavor out of range is `KERN_INVALID_ARGUMENT`; once the task is
/// gone, `KERN_NOT_FOUND`. Made through a name port, the token is refused by
/// `convert_port_to_task_mig`: `KERN_INVALID_ARGUMENT`.
#[test]
fn identity_token_gives_its_tasks_ports() {
    use kobject::mig_routines::{TASK_FLAVOR_CONTROL, TASK_FLAVOR_NAME, TASK_FLAVOR_READ};
    let w = world();
    let name = w.b_port(TASK_PORT_NAME, IKOT_TASK_NAME);
    assert_eq!(
        call_with_rights(&w, TASK_CREATE_IDENTITY_TOKEN, name, &[], &[0]),
        KERN_INVALID_ARGUMENT
    );
    let control = w.b_port(TASK_PORT_CONTROL, IKOT_TASK_CONTROL);
    let reply = call_for_reply(&w, TASK_CREATE_IDENTITY_TOKEN, control, &[], &[0]);
    assert_eq!(w.k.ip_kotype(w.only_port(&reply)), IKOT_TASK_ID_TOKEN);
    let token = reply.descriptors[0].0;
    for (flavor, which) in [
        (TASK_FLAVOR_CONTROL, TASK_PORT_CONTROL),
        (TASK_FLAVOR_READ, TASK_PORT_READ),
        (TASK_FLAVOR_NAME, TASK_PORT_NAME),
    ] {
        let reply = token_get_task_port(&w, token, flavor);
        assert_eq!(
            w.only_port(&reply),
            w.k.object_port(w.b.0, which).id(),
            "{flavor}"
        );
    }
    assert_eq!(
        token_get_task_port(&w, token, 7).ret_code,
        KERN_INVALID_ARGUMENT
    );
    w.k.task_terminate(w.b.0);
    assert_eq!(token_get_task_port(&w, token, 1).ret_code, KERN_NOT_FOUND);
    w.k.audit(&[])
        .expect("the token keeps its task's reference");
    w.k.task_terminate(w.a.0);
    w.k.audit_teardown().expect("teardown");
}

/// Follows `task_identity_token_get_task_port` (osfmk/kern/task_ident.c): the caller's own task
/// asked for the control flavor gets its pinned self port (`convert_task_to_port_pinned`).
#[test]
fn identity_token_of_the_callers_task_gives_the_pinned_self_port() {
    let w = world();
    let me = w.task_self();
    let reply = call_for_reply(&w, TASK_CREATE_IDENTITY_TOKEN, me, &[], &[0]);
    let token = reply.descriptors[0].0;
    let flavor = kobject::mig_routines::TASK_FLAVOR_CONTROL;
    let reply = token_get_task_port(&w, token, flavor);
    assert_eq!(reply.ret_code, KERN_SUCCESS);
    assert_eq!(reply.descriptors[0].0, me, "the pinned self right's name");
    assert_eq!(w.refs(me, MACH_PORT_RIGHT_SEND), 2);
    w.end();
}

/// Follows the conversions the raw getters apply to their target (osfmk/kern/ipc_tt.c,
/// osfmk/ipc/mach_port.c): `task_get_exception_ports_from_user` (`convert_port_to_task`) takes a
/// control port only, `task_get_exception_ports_info` (`convert_port_to_task_read_no_eval`) a
/// control or read port, `thread_get_exception_ports_from_user` (`convert_port_to_thread`) a
/// thread control port, `thread_get_exception_ports_info` a thread control or read port, and
/// `mach_port_get_attributes_from_user` (`convert_port_to_space_read_no_eval`) a task control or
/// read port. Anything else converts to nothing: `KERN_INVALID_ARGUMENT`.
#[test]
fn raw_getters_refuse_the_port_kinds_their_conversion_refuses() {
    let w = world();
    let thread = w.k.thread_create(w.b.0);
    let task_control = w.b_port(TASK_PORT_CONTROL, IKOT_TASK_CONTROL);
    let task_read = w.b_port(TASK_PORT_READ, IKOT_TASK_READ);
    let task_name = w.b_port(TASK_PORT_NAME, IKOT_TASK_NAME);
    let thread_control = w.object_port_name(thread, THREAD_PORT_CONTROL, IKOT_THREAD_CONTROL);
    let thread_read = w.object_port_name(thread, THREAD_PORT_READ, IKOT_THREAD_READ);
    // (routine id, accepted ports, refused ports)
    let cases: [(i32, &[MachPortName], &[MachPortName]); 5] = [
        (3414, &[task_control], &[task_read, task_name]),
        (3460, &[task_control, task_read], &[task_name]),
        (3614, &[thread_control], &[thread_read]),
        (3630, &[thread_control, thread_read], &[task_control]),
        (3217, &[task_control, task_read], &[task_name]),
    ];
    for (id, accepted, refused) in cases {
        for &dest in accepted {
            assert_eq!(
                call_with_rights(&w, id, dest, &[], &[0]),
                KERN_SUCCESS,
                "{id}"
            );
        }
        for &dest in refused {
            let got = call_with_rights(&w, id, dest, &[], &[0]);
            assert_eq!(got, KERN_INVALID_ARGUMENT, "{id} {dest:#x}");
        }
    }
    w.end();
}

/// Follows `convert_port_to_space` (osfmk/kern/ipc_tt.c) under `mach_port_allocate`
/// (osfmk/ipc/mach_port.c, a null space is `KERN_INVALID_TASK`) and `convert_port_to_host_priv`
/// (osfmk/kern/ipc_host.c) under `host_priv_statistics` (a null host is `KERN_INVALID_HOST`): a
/// read or name port where a control port is needed, and the host port where the privileged one
/// is, get the routine's own code.
#[test]
fn refused_targets_get_the_routines_own_code() {
    let w = world();
    let control = w.b_port(TASK_PORT_CONTROL, IKOT_TASK_CONTROL);
    let read = w.b_port(TASK_PORT_READ, IKOT_TASK_READ);
    let name = w.b_port(TASK_PORT_NAME, IKOT_TASK_NAME);
    const MACH_PORT_ALLOCATE: i32 = 3204;
    assert_eq!(
        call_with_rights(&w, MACH_PORT_ALLOCATE, control, &[], &[0]),
        KERN_SUCCESS
    );
    for dest in [read, name] {
        let got = call_with_rights(&w, MACH_PORT_ALLOCATE, dest, &[], &[0]);
        assert_eq!(got, KERN_INVALID_TASK, "{dest:#x}");
    }
    let (_, host_port, priv_port) = w.k.host_create();
    let copyout = |p: PortId| {
        let right = w.k.ipc_port_make_send_any(p.into());
        w.k.ipc_object_copyout(w.sa(), right, MACH_MSG_TYPE_PORT_SEND, 0)
    };
    const HOST_PRIV_STATISTICS: i32 = 402;
    let (host, host_priv) = (copyout(host_port), copyout(priv_port));
    assert_eq!(
        call_with_rights(&w, HOST_PRIV_STATISTICS, host_priv, &[], &[0]),
        KERN_SUCCESS
    );
    assert_eq!(
        call_with_rights(&w, HOST_PRIV_STATISTICS, host, &[], &[0]),
        kobject::mig_routines::KERN_INVALID_HOST
    );
    w.end();
}

/// Follows `convert_task_to_port_with_flavor` / `convert_thread_to_port_with_flavor`
/// (osfmk/kern/ipc_tt.c: read ports are allocated `IPC_KOBJECT_ALLOC_IMMOVABLE_SEND`) and
/// `ipc_right_copyin` (an immovable send right without `ALLOW_IMMOVABLE_SEND`): a task or thread
/// read right in a body to an ordinary port is `MACH_SEND_INVALID_RIGHT`; to the kernel (the
/// destination of `_kernelrpc_mach_ports_register3`) it is accepted, and that routine refuses
/// it (`KERN_INVALID_RIGHT`); a control right travels anywhere.
#[test]
fn read_port_rights_are_immovable() {
    let w = world();
    let thread = w.k.thread_create(w.b.0);
    let task_read = w.b_port(TASK_PORT_READ, IKOT_TASK_READ);
    let thread_read = w.object_port_name(thread, THREAD_PORT_READ, IKOT_THREAD_READ);
    let control = w.b_port(TASK_PORT_CONTROL, IKOT_TASK_CONTROL);
    let body = |right: MachPortName, dest: MachPortName| UserMsg {
        msgh_bits: MACH_MSG_TYPE_COPY_SEND | MACH_MSGH_BITS_COMPLEX,
        msgh_remote_port: dest,
        descriptors: vec![UserDescriptor::Port {
            name: right,
            disposition: MACH_MSG_TYPE_COPY_SEND,
        }],
        ..UserMsg::default()
    };
    for right in [task_read, thread_read] {
        let (dest, _) = w.send_from_b(2);
        assert_eq!(
            w.send(&body(right, dest)),
            MACH_SEND_INVALID_RIGHT,
            "{right:#x}"
        );
        assert_eq!(w.refs(right, MACH_PORT_RIGHT_SEND), 1);
    }
    let (dest, _) = w.send_from_b(2);
    assert_eq!(w.send(&body(control, dest)), MACH_MSG_SUCCESS);
    assert_eq!(
        call_with_rights(&w, 3403, control, &[task_read, 0, 0], &[0]),
        KERN_INVALID_RIGHT,
        "copied in to the kernel, refused by the routine"
    );
    w.end();
}

/// Follows `convert_port_to_task_read_mig` (osfmk/kern/ipc_tt.c), the intran of
/// `task_map_corpse_info_64`'s `task_read_t` argument: a read port converts, a name port does not
/// and the routine answers `KERN_INVALID_ARGUMENT`.
#[test]
fn task_read_argument_takes_a_read_port_and_refuses_a_name_port() {
    let w = world();
    const TASK_MAP_CORPSE_INFO_64: i32 = 3450;
    let control = w.b_port(TASK_PORT_CONTROL, IKOT_TASK_CONTROL);
    let read = w.b_port(TASK_PORT_READ, IKOT_TASK_READ);
    let name = w.b_port(TASK_PORT_NAME, IKOT_TASK_NAME);
    assert_eq!(
        call_with_rights(&w, TASK_MAP_CORPSE_INFO_64, control, &[read], &[0]),
        KERN_SUCCESS
    );
    assert_eq!(
        call_with_rights(&w, TASK_MAP_CORPSE_INFO_64, control, &[name], &[0]),
        KERN_INVALID_ARGUMENT
    );
    w.end();
}
