//! Rights in spaces: osfmk/ipc/ipc_right.c and the copyout half of ipc_object.c
//! (xnu-11215.1.10): dead-name conversion, destroy / dealloc / delta of one name, copyin of one
//! right (and of two on one name), and copyout.
//!
//! Model rules (the ledger counts by them): an entry with the send bit owns exactly one send right
//! whatever its user references; each right bit (send, send-once, receive) owns one port reference.
//! XNU's send-and-receive entry shares one reference between its two bits; the model gives each
//! bit its own, which changes no count a user program can read.
//!
//! # Deviations (the whole module)
//! * Every path that takes a name's last right of a live port cancels the name's request
//!   (`ipc_right_request_cancel`, crate::ipc_request) and sends its port-deleted notification
//!   after the space unlocks; [`Kernel::ipc_right_terminate`] releases the request's right
//!   instead when its port is dead, as XNU's terminate does, on the destroy path too (where XNU
//!   sends the notification to the dead port, which drops it).
//! * No port guards (`mach_port_guard`, `MPO_CONTEXT_AS_GUARD`): the guard checks of destroy,
//!   delta and copyin never fire.
//! * The guard exceptions XNU raises are recorded as [`crate::mach_port::GuardException`] events
//!   for every space; XNU raises the pinned and immovable ones only in the caller's own space.

use crate::ikot::{IKOT_TASK_CONTROL, IKOT_THREAD_CONTROL};
use crate::ipc_kobject::LabelCheck;
use crate::ipc_port::*;
use crate::ipc_space::*;
use crate::kernel::{Kernel, SpaceId};
use crate::ledger_names::{DeadNameEvent, UrefsEvent};
use crate::mach::*;

pub use crate::mach::{
    MACH_PORT_RIGHT_DEAD_NAME, MACH_PORT_RIGHT_LABELH, MACH_PORT_RIGHT_NUMBER,
    MACH_PORT_RIGHT_PORT_SET, MACH_PORT_RIGHT_RECEIVE, MACH_PORT_RIGHT_SEND,
    MACH_PORT_RIGHT_SEND_ONCE,
};

/// What `ipc_right_check` found.
pub(crate) enum RightCheck<'k> {
    /// The port is active (or a dead send-once right the flags allow): still locked.
    Alive(PortGuard<'k>),
    /// The port died: the entry is now a dead name, and the caller owns the reference the
    /// right held, to release once the space is unlocked.
    Died(PortId),
}

/// `MACH_PORT_UREFS_UNDERFLOW(urefs, delta)`.
fn urefs_underflow(urefs: u32, delta: i32) -> bool {
    delta < 0 && delta.unsigned_abs() > urefs
}

/// `MACH_PORT_UREFS_OVERFLOW(urefs, delta)`.
fn urefs_overflow(urefs: u32, delta: i32) -> bool {
    delta > 0 && urefs as u64 + delta as u64 > MACH_PORT_UREFS_MAX as u64
}

/// One user reference fewer, unless the count is pegged at `MACH_PORT_UREFS_MAX`.
fn urefs_dec_unpegged(urefs: u32) -> u32 {
    if urefs < MACH_PORT_UREFS_MAX {
        urefs - 1
    } else {
        urefs
    }
}

impl Kernel {
    /// The entry `name` names in `space`, if any.
    pub fn ipc_entry_lookup(&self, space: SpaceId, name: MachPortName) -> Option<IpcEntry> {
        self.is_write_lock(space).is_table.get(&name).copied()
    }

    /// Models `ipc_right_lookup_write` (osfmk/ipc/ipc_right.c, xnu-11215.1.10): the space
    /// locked, or `KERN_INVALID_TASK` (space dead) / `KERN_INVALID_NAME` (no such entry).
    pub(crate) fn ipc_right_lookup_write(
        &self,
        space: SpaceId,
        name: MachPortName,
    ) -> Result<SpaceGuard<'_>, KernReturn> {
        let sg = self.is_write_lock(space);
        if !sg.is_active {
            return Err(KERN_INVALID_TASK);
        }
        if !sg.is_table.contains_key(&name) {
            return Err(KERN_INVALID_NAME);
        }
        Ok(sg)
    }

    /// `ip_is_reply_port`: read without the lock (never changes after creation).
    pub fn ip_is_reply_port(&self, p: PortId) -> bool {
        self.ip_mq_lock(p).ip_reply_port_semantics == PORT_MARK_REPLY_PORT
    }

    /// Models `ipc_right_check` (osfmk/ipc/ipc_right.c, xnu-11215.1.10): a send or send-once
    /// entry whose port died becomes a dead name (same user references; 1 for send-once) and the
    /// right's count goes; with `IPC_OBJECT_COPYIN_FLAGS_ALLOW_DEAD_SEND_ONCE` a dead send-once
    /// right stays.
    /// # Conditions
    /// Space locked and active; the entry has a send or send-once right and no receive right.
    pub(crate) fn ipc_right_check<'k>(
        &'k self,
        sg: &mut SpaceGuard<'k>,
        name: MachPortName,
        flags: IpcObjectCopyinFlags,
    ) -> RightCheck<'k> {
        let mut entry = sg.is_table[&name];
        xnu_assert!(sg.is_active, "ipc_right_check on a dead space");
        let p = entry.ie_object.expect("a send right names its port");
        let mut g = self.ip_mq_lock(p);
        let sonce = entry.ie_bits & IE_BITS_SEND_ONCE != 0;
        let keep_dead_sonce = flags & IPC_OBJECT_COPYIN_FLAGS_ALLOW_DEAD_SEND_ONCE != 0
            && entry.ie_request == IE_REQ_NONE
            && sonce;
        if g.ip_active() || keep_dead_sonce {
            return RightCheck::Alive(g);
        }
        xnu_assert!(
            entry.ie_bits & IE_BITS_RECEIVE == 0,
            "ipc_right_check: {name:#x} receives dead {p}"
        );
        xnu_assert!(entry.urefs > 0, "ipc_right_check: {name:#x} without urefs");
        if entry.ie_bits & IE_BITS_SEND != 0 {
            self.ip_srights_dec(&mut g);
        } else {
            xnu_assert!(entry.urefs == 1, "send-once {name:#x} with urefs");
            self.ip_sorights_dec(&mut g);
        }
        entry.ie_bits = (entry.ie_bits & !IE_BITS_TYPE_MASK) | IE_BITS_DEAD_NAME;
        entry.ie_object = None;
        sg.is_table.insert(name, entry);
        self.ledger_urefs(sg.id, name, UrefsEvent::Died);
        // The dead-name notification already on its way carries one more user reference.
        self.ipc_right_dead_name_notified(&g, sg.id, name, &mut entry);
        sg.is_table.insert(name, entry);
        drop(g);
        RightCheck::Died(p)
    }

    /// A name whose port died while it had a request becomes a dead name with one more user
    /// reference (unless pegged): the one the dead-name notification carries. `ie_request` is
    /// cleared so it counts once.
    /// # Conditions
    /// Space and port locked.
    fn ipc_right_dead_name_notified(
        &self,
        g: &PortGuard<'_>,
        space: SpaceId,
        name: MachPortName,
        entry: &mut IpcEntry,
    ) {
        if entry.ie_request == IE_REQ_NONE {
            return;
        }
        self.ledger_request_unnamed(g.id, entry.ie_request, false);
        if self.ipc_port_request_type(g, name, entry.ie_request) != 0 {
            if entry.urefs < MACH_PORT_UREFS_MAX {
                entry.urefs += 1;
            }
            self.ledger_dead_name(space, name, DeadNameEvent::Notified);
        }
        entry.ie_request = IE_REQ_NONE;
    }

    /// Models `ipc_right_terminate` for an entry of a dying space (and the port arm of
    /// `ipc_right_destroy`): each right goes without the pinned check; a request of a live
    /// port is cancelled and becomes a port-deleted notification, or its right is released when
    /// the notify port is dead.
    /// # Conditions
    /// Nothing locked; the entry is already out of its space.
    fn ipc_right_terminate(&self, name: MachPortName, mut entry: IpcEntry) {
        let Some(p) = entry.ie_object else { return };
        let request = if entry.ie_request != IE_REQ_NONE {
            let mut g = self.ip_mq_lock(p);
            self.ipc_right_take_request(&mut g, name, &mut entry)
        } else {
            None
        };
        for bit in [IE_BITS_SEND, IE_BITS_SEND_ONCE, IE_BITS_RECEIVE] {
            if entry.ie_bits & bit != 0 {
                self.ipc_right_destroy_one(p, bit);
            }
        }
        self.ipc_right_request_deleted(request, name);
    }

    /// The request of an entry that is going: cancelled while its port is active; a dead
    /// port's request is left to fire (or fired) for nobody's name.
    /// # Conditions
    /// Port locked; the space locked unless it is dead.
    fn ipc_right_take_request(
        &self,
        g: &mut PortGuard<'_>,
        name: MachPortName,
        entry: &mut IpcEntry,
    ) -> Option<PortId> {
        if g.ip_active() {
            return self.ipc_right_request_cancel(g, name, entry);
        }
        if entry.ie_request != IE_REQ_NONE {
            self.ledger_request_unnamed(g.id, entry.ie_request, false);
            entry.ie_request = IE_REQ_NONE;
        }
        None
    }

    /// `ipc_right_terminate`'s delivery of a cancelled request: a port-deleted notification, or
    /// the right released when the notify port is dead.
    fn ipc_right_request_deleted(&self, request: Option<PortId>, name: MachPortName) {
        if let Some(request) = request {
            let g = self.ip_mq_lock(request);
            if g.ip_active() {
                drop(g);
                self.ipc_notify_port_deleted(request, name);
            } else {
                self.ipc_port_release_sonce_and_unlock(g);
            }
        }
    }

    /// Releases the one right `bit` stands for (the space lock is already dropped).
    fn ipc_right_destroy_one(&self, p: PortId, bit: u32) {
        match bit {
            IE_BITS_SEND => self.ipc_object_destroy(IpcPort::Port(p), MACH_MSG_TYPE_PORT_SEND),
            IE_BITS_SEND_ONCE => {
                self.ipc_object_destroy(IpcPort::Port(p), MACH_MSG_TYPE_PORT_SEND_ONCE)
            }
            IE_BITS_RECEIVE => self.ipc_port_release_receive(p),
            _ => {}
        }
    }

    /// Models `ipc_right_destroy` (osfmk/ipc/ipc_right.c, xnu-11215.1.10): every right the name
    /// denotes goes. A pinned send right alone is refused with `KERN_INVALID_CAPABILITY` and a
    /// `kGUARD_EXC_MOD_REFS` exception.
    /// # Conditions
    /// Space locked and active, `name` in it; the lock is consumed.
    /// # Deviations
    /// The right of a dead port is released with its count decremented (XNU drops only the
    /// reference and leaves `ip_srights` counting it on the dead port; no user can read it).
    pub(crate) fn ipc_right_destroy(
        &self,
        mut sg: SpaceGuard<'_>,
        name: MachPortName,
    ) -> KernReturn {
        let entry = sg.is_table[&name];
        let space = sg.id;
        match entry.ie_type() {
            MACH_PORT_TYPE_DEAD_NAME => {
                sg.is_table.remove(&name);
                self.ledger_dead_name(space, name, DeadNameEvent::Gone);
            }
            MACH_PORT_TYPE_PORT_SET => self.ipc_pset_destroy(&mut sg, name),
            MACH_PORT_TYPE_SEND
            | MACH_PORT_TYPE_RECEIVE
            | MACH_PORT_TYPE_SEND_RECEIVE
            | MACH_PORT_TYPE_SEND_ONCE => {
                let p = entry.ie_object.expect("a right names its port");
                let mut g = self.ip_mq_lock(p);
                let pinned = entry.ie_type() == MACH_PORT_TYPE_SEND && g.ip_pinned;
                if pinned && g.ip_active() {
                    drop(g);
                    drop(sg);
                    self.mach_port_guard_exception_pinned(
                        space,
                        name,
                        MPG_FLAGS_MOD_REFS_PINNED_DESTROY,
                    );
                    return KERN_INVALID_CAPABILITY;
                }
                // The request goes with the entry, under the space lock.
                let mut entry = entry;
                let request = self.ipc_right_take_request(&mut g, name, &mut entry);
                drop(g);
                sg.is_table.remove(&name);
                self.ledger_urefs(space, name, UrefsEvent::Destroyed);
                self.ipc_pset_remove_member(&mut sg, name);
                drop(sg);
                self.ipc_right_terminate(name, entry);
                self.ipc_right_request_deleted(request, name);
            }
            other => xnu_panic!("ipc_right_destroy: strange type {other:#x}"),
        }
        KERN_SUCCESS
    }

    /// Models `ipc_right_dealloc` (osfmk/ipc/ipc_right.c, xnu-11215.1.10): one user reference of
    /// a send right or dead name, the send-once right (whose death notifies), or a port set.
    /// The last reference of a pinned send right is refused (`KERN_INVALID_CAPABILITY`, guard
    /// exception); a receive right alone is `KERN_INVALID_RIGHT` (guard exception).
    /// # Conditions
    /// Space locked and active, `name` in it; the lock is consumed.
    pub(crate) fn ipc_right_dealloc<'k>(
        &'k self,
        mut sg: SpaceGuard<'k>,
        name: MachPortName,
    ) -> KernReturn {
        let entry = sg.is_table[&name];
        let space = sg.id;
        match entry.ie_type() {
            MACH_PORT_TYPE_PORT_SET => self.ipc_pset_destroy(&mut sg, name),
            MACH_PORT_TYPE_DEAD_NAME => {
                self.ipc_right_dealloc_dead_name(&mut sg, name);
            }
            ty @ (MACH_PORT_TYPE_SEND_ONCE | MACH_PORT_TYPE_SEND) => {
                match self.ipc_right_check(&mut sg, name, 0) {
                    RightCheck::Died(p) => {
                        self.ipc_right_dealloc_dead_name(&mut sg, name);
                        drop(sg);
                        self.ip_release(p);
                    }
                    RightCheck::Alive(mut g) if ty == MACH_PORT_TYPE_SEND_ONCE => {
                        let mut entry = sg.is_table.remove(&name).expect("the name is there");
                        self.ledger_urefs(space, name, UrefsEvent::Gone);
                        let request = self.ipc_right_request_cancel(&mut g, name, &mut entry);
                        drop(sg);
                        self.ipc_notify_send_once_and_unlock(g);
                        self.ipc_notify_port_deleted_opt(request, name);
                    }
                    RightCheck::Alive(g) => return self.ipc_right_dealloc_send(sg, g, name),
                }
            }
            MACH_PORT_TYPE_SEND_RECEIVE => {
                let p = entry.ie_object.expect("a right names its port");
                let g = self.ip_mq_lock(p);
                self.require_ip_active(&g);
                self.ledger_urefs(space, name, UrefsEvent::SendOut);
                let mut e = entry;
                if entry.urefs > 1 {
                    e.urefs = urefs_dec_unpegged(e.urefs);
                    sg.is_table.insert(name, e);
                    return KERN_SUCCESS;
                }
                e.ie_bits &= !IE_BITS_SEND;
                e.urefs = 0;
                sg.is_table.insert(name, e);
                drop(sg);
                self.ipc_port_release_send_and_unlock(g);
            }
            _ => {
                drop(sg);
                self.mach_port_guard_exception(space, name, 0, K_GUARD_EXC_INVALID_RIGHT);
                return KERN_INVALID_RIGHT;
            }
        }
        KERN_SUCCESS
    }

    /// The live send arm of `ipc_right_dealloc`: one user reference, or the right unless it is
    /// pinned.
    fn ipc_right_dealloc_send<'k>(
        &'k self,
        mut sg: SpaceGuard<'k>,
        mut g: PortGuard<'k>,
        name: MachPortName,
    ) -> KernReturn {
        let mut entry = sg.is_table[&name];
        let space = sg.id;
        if entry.urefs == 1 && g.ip_pinned {
            drop(g);
            drop(sg);
            self.mach_port_guard_exception_pinned(space, name, MPG_FLAGS_MOD_REFS_PINNED_DEALLOC);
            return KERN_INVALID_CAPABILITY;
        }
        self.ledger_urefs(space, name, UrefsEvent::SendOut);
        if entry.urefs > 1 {
            entry.urefs = urefs_dec_unpegged(entry.urefs);
            sg.is_table.insert(name, entry);
            return KERN_SUCCESS;
        }
        let request = if self.bug(crate::Bug::RequestLeftBehind) {
            None
        } else {
            self.ipc_right_request_cancel(&mut g, name, &mut entry)
        };
        sg.is_table.remove(&name);
        drop(sg);
        self.ipc_port_release_send_and_unlock(g);
        self.ipc_notify_port_deleted_opt(request, name);
        KERN_SUCCESS
    }

    /// The dead-name arm of `ipc_right_dealloc`: one user reference, or the entry.
    fn ipc_right_dealloc_dead_name(&self, sg: &mut SpaceGuard<'_>, name: MachPortName) {
        self.ledger_dead_name(sg.id, name, DeadNameEvent::Release);
        let mut e = sg.is_table[&name];
        xnu_assert!(e.urefs > 0, "dead name {name:#x} without urefs");
        xnu_assert!(e.ie_object.is_none(), "dead name {name:#x} names a port");
        if e.urefs == 1 {
            sg.is_table.remove(&name);
        } else {
            e.urefs = urefs_dec_unpegged(e.urefs);
            sg.is_table.insert(name, e);
        }
    }

    /// Models `ipc_right_delta` (osfmk/ipc/ipc_right.c, xnu-11215.1.10): changes the user
    /// references of one right of `name` by `delta`, with XNU's checks in XNU's order.
    /// # Conditions
    /// Space locked and active, `name` in it, `right < MACH_PORT_RIGHT_NUMBER`; the lock is
    /// consumed.
    /// # Deviations
    /// No `MACH_PORT_TYPE_EX_RECEIVE` bit: a receive-less name gets the guard exception XNU
    /// skips for names whose receive right was moved away. The dead port's reference that
    /// XNU's `MACH_PORT_RIGHT_DEAD_NAME` arm keeps on a `KERN_INVALID_VALUE` return (a leak) is
    /// released. Destroying the receive right of a send-and-receive name releases the send
    /// right's count (XNU leaves it on the dead port).
    pub(crate) fn ipc_right_delta<'k>(
        &'k self,
        sg: SpaceGuard<'k>,
        name: MachPortName,
        right: MachPortRight,
        delta: i32,
    ) -> KernReturn {
        let bits = sg.is_table[&name].ie_bits;
        let space = sg.id;
        let invalid_right = |sg: SpaceGuard<'_>, guard: bool| {
            drop(sg);
            if guard {
                self.mach_port_guard_exception(space, name, 0, K_GUARD_EXC_INVALID_RIGHT);
            }
            KERN_INVALID_RIGHT
        };
        match right {
            MACH_PORT_RIGHT_PORT_SET => {
                if bits & IE_BITS_PORT_SET == 0 {
                    return invalid_right(sg, true);
                }
                self.ipc_right_delta_single(sg, name, delta)
            }
            MACH_PORT_RIGHT_RECEIVE => {
                if bits & IE_BITS_RECEIVE == 0 {
                    return invalid_right(sg, true);
                }
                self.ipc_right_delta_single(sg, name, delta)
            }
            MACH_PORT_RIGHT_SEND_ONCE => {
                if bits & IE_BITS_SEND_ONCE == 0 {
                    return invalid_right(sg, false);
                }
                self.ipc_right_delta_send_once(sg, name, delta)
            }
            MACH_PORT_RIGHT_DEAD_NAME => self.ipc_right_delta_dead_name(sg, name, delta),
            MACH_PORT_RIGHT_SEND => {
                if bits & IE_BITS_SEND == 0 {
                    // No exception when the name is dead, or a receive right asked for +1.
                    let quiet = bits & IE_BITS_DEAD_NAME != 0
                        || (bits & IE_BITS_RECEIVE != 0 && delta == 1);
                    return invalid_right(sg, !quiet);
                }
                self.ipc_right_delta_send(sg, name, delta)
            }
            MACH_PORT_RIGHT_LABELH => invalid_right(sg, false),
            other => xnu_panic!("ipc_right_delta: strange right {other} for {name:#x}"),
        }
    }

    /// `KERN_INVALID_VALUE` with its guard exception (`ipc_right_delta`'s `invalid_value`).
    fn ipc_right_invalid_value(&self, space: SpaceId, name: MachPortName) -> KernReturn {
        self.mach_port_guard_exception(space, name, 0, K_GUARD_EXC_INVALID_VALUE);
        KERN_INVALID_VALUE
    }

    /// The port-set and receive arms of `ipc_right_delta`: only 0 and -1 are meaningful.
    fn ipc_right_delta_single(
        &self,
        mut sg: SpaceGuard<'_>,
        name: MachPortName,
        delta: i32,
    ) -> KernReturn {
        let space = sg.id;
        if delta == 0 {
            return KERN_SUCCESS;
        }
        if delta != -1 {
            drop(sg);
            return self.ipc_right_invalid_value(space, name);
        }
        let mut entry = sg.is_table[&name];
        if entry.ie_type() == MACH_PORT_TYPE_PORT_SET {
            self.ipc_pset_destroy(&mut sg, name);
            return KERN_SUCCESS;
        }
        let p = entry.ie_object.expect("a receive right names its port");
        let mut g = self.ip_mq_lock(p);
        self.require_ip_active(&g);
        self.ipc_pset_remove_member(&mut sg, name);
        let mut request = None;
        if entry.ie_bits & IE_BITS_SEND != 0 && g.ip_pdrequest.is_some() {
            // The receive right goes to the port-destroyed request's port, not to its death:
            // the name keeps its send right (and its request).
            entry.ie_bits &= !IE_BITS_RECEIVE;
            sg.is_table.insert(name, entry);
        } else if entry.ie_bits & IE_BITS_SEND != 0 {
            // The send right's user references survive as a dead name's, with one more for
            // the dead-name notification the port's death sends for its request.
            entry.ie_bits = (entry.ie_bits & !IE_BITS_TYPE_MASK) | IE_BITS_DEAD_NAME;
            entry.ie_object = None;
            sg.is_table.insert(name, entry);
            self.ledger_urefs(space, name, UrefsEvent::Died);
            self.ipc_right_dead_name_notified(&g, space, name, &mut entry);
            sg.is_table.insert(name, entry);
            self.ip_srights_dec(&mut g);
            self.ip_release_live(p);
        } else {
            request = self.ipc_right_request_cancel(&mut g, name, &mut entry);
            sg.is_table.remove(&name);
        }
        drop(sg);
        g.receiver = Receiver::Limbo;
        self.ipc_port_destroy(g);
        self.ipc_notify_port_deleted_opt(request, name);
        KERN_SUCCESS
    }

    /// The send-once arm of `ipc_right_delta`.
    fn ipc_right_delta_send_once<'k>(
        &'k self,
        mut sg: SpaceGuard<'k>,
        name: MachPortName,
        delta: i32,
    ) -> KernReturn {
        let space = sg.id;
        match self.ipc_right_check(&mut sg, name, 0) {
            RightCheck::Died(p) => {
                drop(sg);
                self.ip_release(p);
                self.mach_port_guard_exception(space, name, 0, K_GUARD_EXC_INVALID_RIGHT);
                KERN_INVALID_RIGHT
            }
            RightCheck::Alive(mut g) => {
                if !(-1..=0).contains(&delta) {
                    drop(g);
                    drop(sg);
                    return self.ipc_right_invalid_value(space, name);
                }
                if delta == 0 {
                    return KERN_SUCCESS;
                }
                let mut entry = sg.is_table.remove(&name).expect("the name is there");
                self.ledger_urefs(space, name, UrefsEvent::Gone);
                let request = self.ipc_right_request_cancel(&mut g, name, &mut entry);
                drop(sg);
                self.ipc_notify_send_once_and_unlock(g);
                self.ipc_notify_port_deleted_opt(request, name);
                KERN_SUCCESS
            }
        }
    }

    /// The user-reference arithmetic shared by the send and dead-name arms of
    /// `ipc_right_delta`: `None` for an underflow (`KERN_INVALID_VALUE`), else the new count,
    /// pegged at `MACH_PORT_UREFS_MAX` (which only `-MACH_PORT_UREFS_MAX` leaves).
    fn urefs_after_delta(urefs: u32, delta: i32) -> Option<u32> {
        let max = MACH_PORT_UREFS_MAX as i32;
        if delta > max || delta < -max {
            return None;
        }
        let delta = if urefs == MACH_PORT_UREFS_MAX {
            if delta == -max {
                delta
            } else {
                0
            }
        } else if urefs_underflow(urefs, delta) {
            return None;
        } else if urefs_overflow(urefs, delta) {
            (MACH_PORT_UREFS_MAX - urefs) as i32
        } else {
            delta
        };
        Some((urefs as i64 + delta as i64) as u32)
    }

    /// The dead-name arm of `ipc_right_delta`: a send right whose port died becomes the dead
    /// name first; a live one is `KERN_INVALID_RIGHT`.
    fn ipc_right_delta_dead_name<'k>(
        &'k self,
        mut sg: SpaceGuard<'k>,
        name: MachPortName,
        delta: i32,
    ) -> KernReturn {
        let space = sg.id;
        let bits = sg.is_table[&name].ie_bits;
        let mut relport = None;
        if bits & MACH_PORT_TYPE_SEND_RIGHTS != 0 && bits & IE_BITS_RECEIVE == 0 {
            match self.ipc_right_check(&mut sg, name, 0) {
                RightCheck::Alive(g) => {
                    drop(g);
                    drop(sg);
                    self.mach_port_guard_exception(space, name, 0, K_GUARD_EXC_INVALID_RIGHT);
                    return KERN_INVALID_RIGHT;
                }
                RightCheck::Died(p) => relport = Some(p),
            }
        } else if bits & IE_BITS_DEAD_NAME == 0 {
            drop(sg);
            self.mach_port_guard_exception(space, name, 0, K_GUARD_EXC_INVALID_RIGHT);
            return KERN_INVALID_RIGHT;
        }
        let mut entry = sg.is_table[&name];
        xnu_assert!(
            entry.ie_type() == MACH_PORT_TYPE_DEAD_NAME,
            "{name:#x} is not dead"
        );
        let after = Self::urefs_after_delta(entry.urefs, delta);
        if after.is_some() {
            self.ledger_dead_name(space, name, DeadNameEvent::Delta(delta));
        }
        match after {
            Some(0) => {
                sg.is_table.remove(&name);
            }
            Some(n) => {
                entry.urefs = n;
                sg.is_table.insert(name, entry);
            }
            None => {}
        }
        drop(sg);
        if let Some(p) = relport {
            self.ip_release(p);
        }
        match after {
            Some(_) => KERN_SUCCESS,
            None => self.ipc_right_invalid_value(space, name),
        }
    }

    /// The send arm of `ipc_right_delta`: a dead port's right becomes a dead name and the call
    /// fails; the last reference of a pinned right is refused.
    fn ipc_right_delta_send<'k>(
        &'k self,
        mut sg: SpaceGuard<'k>,
        name: MachPortName,
        delta: i32,
    ) -> KernReturn {
        let space = sg.id;
        let bits = sg.is_table[&name].ie_bits;
        let mut g = if bits & IE_BITS_RECEIVE != 0 {
            let g = self.ip_mq_lock(sg.is_table[&name].ie_object.expect("port"));
            self.require_ip_active(&g);
            g
        } else {
            match self.ipc_right_check(&mut sg, name, 0) {
                RightCheck::Alive(g) => g,
                RightCheck::Died(p) => {
                    drop(sg);
                    self.ip_release(p);
                    return KERN_INVALID_RIGHT;
                }
            }
        };
        let mut entry = sg.is_table[&name];
        let Some(after) = Self::urefs_after_delta(entry.urefs, delta) else {
            drop(g);
            drop(sg);
            return self.ipc_right_invalid_value(space, name);
        };
        if after == 0 && g.ip_pinned {
            drop(g);
            drop(sg);
            self.mach_port_guard_exception_pinned(space, name, MPG_FLAGS_MOD_REFS_PINNED_DEALLOC);
            return KERN_INVALID_CAPABILITY;
        }
        self.ledger_urefs(space, name, UrefsEvent::SendDelta(delta));
        if after > 0 {
            entry.urefs = after;
            sg.is_table.insert(name, entry);
            return KERN_SUCCESS;
        }
        entry.ie_bits &= !IE_BITS_SEND;
        entry.urefs = 0;
        let request = if entry.ie_bits & IE_BITS_RECEIVE == 0 {
            self.ipc_right_request_cancel(&mut g, name, &mut entry)
        } else {
            None
        };
        sg.ipc_entry_modified(name, entry);
        drop(sg);
        self.ipc_port_release_send_and_unlock(g);
        self.ipc_notify_port_deleted_opt(request, name);
        KERN_SUCCESS
    }

    /// Models `ipc_right_info` (osfmk/ipc/ipc_right.c, xnu-11215.1.10): the name's type and user
    /// references, after the dead-name check of a send or send-once right.
    /// # Conditions
    /// Space locked and active, `name` in it; the lock is consumed.
    pub(crate) fn ipc_right_info<'k>(
        &'k self,
        mut sg: SpaceGuard<'k>,
        name: MachPortName,
    ) -> (MachPortType, u32) {
        let entry = sg.is_table[&name];
        let mut released = None;
        let mut request_type = 0;
        if entry.ie_bits & IE_BITS_RECEIVE != 0 {
            if entry.ie_request != IE_REQ_NONE {
                let g = self.ip_mq_lock(entry.ie_object.expect("a receive right names its port"));
                self.require_ip_active(&g);
                request_type = self.ipc_port_request_type(&g, name, entry.ie_request);
            }
        } else if entry.ie_bits & MACH_PORT_TYPE_SEND_RIGHTS != 0 {
            match self.ipc_right_check(&mut sg, name, 0) {
                RightCheck::Died(p) => released = Some(p),
                RightCheck::Alive(g) if entry.ie_request != IE_REQ_NONE => {
                    request_type = self.ipc_port_request_type(&g, name, entry.ie_request);
                }
                RightCheck::Alive(_) => {}
            }
        }
        let entry = sg.is_table[&name];
        drop(sg);
        if let Some(p) = released {
            self.ip_release(p);
        }
        (entry.ie_type() | request_type, entry.urefs)
    }

    /// Models `ipc_space_terminate`: the space dies and every right in it goes
    /// (`ipc_right_terminate`, no pinned check).
    pub fn ipc_space_terminate(&self, space: SpaceId) {
        let entries: Vec<(MachPortName, IpcEntry)> = {
            let mut sg = self.is_write_lock(space);
            if !sg.is_active {
                return;
            }
            sg.is_active = false;
            std::mem::take(&mut sg.is_table).into_iter().collect()
        };
        self.ledger_names_space_gone(space);
        // Port sets hold no rights: they go with the space.
        for (name, entry) in entries {
            self.ipc_right_terminate(name, entry);
        }
        self.spaces.free(space.0);
    }

    /// Models `ipc_object_copyout` of one right into `space` (`ipc_right_copyout`), through
    /// `ipc_kobject_label_check`. Returns the name, `MACH_PORT_DEAD` for a dead port (the right is
    /// released), or `MACH_PORT_NULL` when the label check refused it (the right is destroyed).
    /// `IPC_OBJECT_COPYOUT_FLAGS_PINNED` pins the port (`ipc_port_copyout_send_pinned`).
    pub fn ipc_object_copyout(
        &self,
        space: SpaceId,
        port: IpcPort,
        msgt_name: MachMsgTypeName,
        mut flags: IpcObjectCopyoutFlags,
    ) -> MachPortName {
        let IpcPort::Port(p) = port else {
            return if port == IP_DEAD {
                MACH_PORT_DEAD
            } else {
                MACH_PORT_NULL
            };
        };
        let sg = self.is_write_lock(space);
        let g = self.ip_mq_lock(p);
        if !g.ip_active() || !sg.is_active {
            drop(g);
            drop(sg);
            self.ipc_object_destroy(port, msgt_name);
            return MACH_PORT_DEAD;
        }
        match self.ipc_kobject_label_check(sg, g, msgt_name, &mut flags) {
            LabelCheck::Allowed(sg, g) => self.ipc_right_copyout(sg, g, msgt_name, flags, None),
            LabelCheck::Refused(sg, g) => {
                drop(g);
                drop(sg);
                self.ipc_object_destroy(port, msgt_name);
                MACH_PORT_NULL
            }
            LabelCheck::Substituted(subst) => {
                self.ipc_object_copyout(space, subst, msgt_name, flags)
            }
        }
    }

    /// Models `ipc_object_copyout_name` (osfmk/ipc/ipc_object.c, xnu-11215.1.10): the right goes
    /// into `space` under `name`. Errors, in XNU's order: `KERN_INVALID_TASK` (space dead),
    /// `KERN_INVALID_CAPABILITY` (port dead or kobject-labeled), `KERN_RIGHT_EXISTS` (the space
    /// already names the port otherwise), `KERN_NAME_EXISTS` (the name holds another right).
    /// On an error the right is the caller's still.
    /// # Deviations
    /// Names have no generation, so `ipc_entry_alloc_name` never fails for a stale generation.
    pub fn ipc_object_copyout_name(
        &self,
        space: SpaceId,
        p: PortId,
        msgt_name: MachMsgTypeName,
        name: MachPortName,
    ) -> KernReturn {
        xnu_assert!(mach_port_valid(name), "copyout_name to {name:#x}");
        let sg = self.is_write_lock(space);
        if !sg.is_active {
            return KERN_INVALID_TASK;
        }
        let g = self.ip_mq_lock(p);
        if !g.ip_active() || g.ip_is_kolabeled() {
            return KERN_INVALID_CAPABILITY;
        }
        let reverse = (msgt_name != MACH_MSG_TYPE_PORT_SEND_ONCE)
            .then(|| Self::ipc_right_reverse(&sg, p))
            .flatten();
        match reverse {
            Some(oname) if oname != name => return KERN_RIGHT_EXISTS,
            Some(_) => {}
            None if sg.is_table.contains_key(&name) => return KERN_NAME_EXISTS,
            None => {}
        }
        self.ipc_right_copyout(sg, g, msgt_name, IPC_OBJECT_COPYOUT_FLAGS_NONE, Some(name));
        KERN_SUCCESS
    }

    /// Models `ipc_right_reverse`: the name under which the space holds a send or receive right
    /// to `p` (XNU's reverse hash; the model searches the table).
    fn ipc_right_reverse(sg: &SpaceGuard<'_>, p: PortId) -> Option<MachPortName> {
        sg.is_table
            .iter()
            .find(|(_, e)| {
                e.ie_object == Some(p) && e.ie_bits & (IE_BITS_SEND | IE_BITS_RECEIVE) != 0
            })
            .map(|(&n, _)| n)
    }

    /// Models `ipc_right_copyout` (osfmk/ipc/ipc_right.c, xnu-11215.1.10): merge into the
    /// existing entry for the port (send, receive) or take `name` / a new name.
    fn ipc_right_copyout(
        &self,
        mut sg: SpaceGuard<'_>,
        mut g: PortGuard<'_>,
        msgt_name: MachMsgTypeName,
        flags: IpcObjectCopyoutFlags,
        name: Option<MachPortName>,
    ) -> MachPortName {
        let p = g.id;
        let bit = match msgt_name {
            MACH_MSG_TYPE_PORT_SEND => IE_BITS_SEND,
            MACH_MSG_TYPE_PORT_SEND_ONCE => IE_BITS_SEND_ONCE,
            MACH_MSG_TYPE_PORT_RECEIVE => IE_BITS_RECEIVE,
            other => xnu_panic!("ipc_right_copyout: strange rights {other}"),
        };
        if flags & IPC_OBJECT_COPYOUT_FLAGS_PINNED != 0 {
            xnu_assert!(g.ip_immovable_send, "pinning a movable {p}");
            g.ip_pinned = true;
        }
        if bit == IE_BITS_RECEIVE && (g.ip_kotype() != 0 || g.ip_is_kolabeled()) {
            xnu_panic!("ipc_right_copyout: Copyout kobject/kolabel as receive right");
        }
        let existing = (bit != IE_BITS_SEND_ONCE)
            .then(|| Self::ipc_right_reverse(&sg, p))
            .flatten();
        let name = match (existing, name) {
            (Some(n), _) | (None, Some(n)) => n,
            (None, None) => sg.ipc_entry_alloc(),
        };
        match bit {
            IE_BITS_SEND => self.ledger_urefs(sg.id, name, UrefsEvent::SendIn),
            IE_BITS_SEND_ONCE => self.ledger_urefs(sg.id, name, UrefsEvent::SendOnceIn),
            _ => {}
        }
        let entry = sg.is_table.entry(name).or_insert(IpcEntry {
            ie_object: Some(p),
            ie_bits: 0,
            urefs: 0,
            ie_request: IE_REQ_NONE,
        });
        xnu_assert!(
            entry.ie_object == Some(p),
            "copyout onto {name:#x} of another port"
        );
        if bit == IE_BITS_SEND && entry.ie_bits & IE_BITS_SEND != 0 {
            // The entry already owns a send right: fold this one into a user reference. At
            // MACH_PORT_UREFS_MAX the count stays pegged and the right and its reference are
            // still consumed, as XNU's ipc_right_copyout does (the ledger derives the same).
            entry.urefs = (entry.urefs + 1).min(MACH_PORT_UREFS_MAX);
            self.ip_srights_dec(&mut g);
            self.ip_release_live(p);
        } else {
            entry.ie_bits |= bit;
            if bit != IE_BITS_RECEIVE {
                entry.urefs = 1;
            }
        }
        if bit == IE_BITS_RECEIVE {
            g.receiver = Receiver::InSpace { space: sg.id, name };
        }
        name
    }

    /// The kobject label of `p` (`ikol_label`), if it has one, read under the port lock (for
    /// the auditor's label contract).
    #[inline]
    pub(crate) fn port_kolabel(&self, p: PortId) -> Option<IpcLabel> {
        self.ip_mq_lock(p).ip_kolabel.map(|l| l.ikol_label)
    }

    /// `ip_is_control`: a task or thread control port.
    pub fn ip_is_control(&self, p: PortId) -> bool {
        matches!(self.ip_kotype(p), IKOT_TASK_CONTROL | IKOT_THREAD_CONTROL)
    }
}

/// Ports whose references copyin freed (rights found dead by `ipc_right_check`), released once
/// the space is unlocked (XNU's `releasep`).
#[derive(Default)]
pub(crate) struct Released {
    /// References of ports found dead, released once the space is unlocked.
    refs: Vec<PortId>,
    /// Requests cancelled because their name lost its right: each becomes a port-deleted
    /// notification once the space is unlocked (XNU's `*sorightp`).
    deleted: Vec<(PortId, MachPortName)>,
}

impl Released {
    pub(crate) fn new() -> Released {
        Released::default()
    }

    pub(crate) fn push(&mut self, p: PortId) {
        self.refs.push(p);
    }

    fn deleted(&mut self, request: Option<PortId>, name: MachPortName) {
        if let Some(request) = request {
            self.deleted.push((request, name));
        }
    }
}

impl Kernel {
    /// What a copyin left for after the space unlock: the references of ports found dead, then
    /// the port-deleted notifications of the requests it cancelled.
    pub(crate) fn ipc_released_flush(&self, released: Released) {
        for p in released.refs {
            self.ip_release(p);
        }
        for (request, name) in released.deleted {
            self.ipc_notify_port_deleted(request, name);
        }
    }
}

impl Kernel {
    /// Refuses the copyin of a reply port's right other than the allowed send-once forms
    /// (`kGUARD_EXC_INVALID_RIGHT`, `KERN_INVALID_CAPABILITY`).
    fn copyin_refuse(&self, space: SpaceId, name: MachPortName, reason: u32) -> KernReturn {
        self.mach_port_guard_exception(space, name, 0, reason);
        KERN_INVALID_CAPABILITY
    }

    /// Models `ipc_right_copyin` (osfmk/ipc/ipc_right.c, xnu-11215.1.10): one right of `name`
    /// for a message. Returns the port, or `IP_DEAD` for a dead name copied in with
    /// `IPC_OBJECT_COPYIN_FLAGS_DEADOK`. Errors: `KERN_INVALID_RIGHT` (the name lacks the right,
    /// or is dead without `DEADOK`), `KERN_INVALID_CAPABILITY` (a reply port's right other than
    /// an allowed send-once, an immovable send right without
    /// `IPC_OBJECT_COPYIN_FLAGS_ALLOW_IMMOVABLE_SEND`, the last reference of a pinned right, an
    /// immovable, kobject or reply port's receive right). A right found dead becomes a dead name
    /// even when the copyin then fails.
    /// # Conditions
    /// Space locked and active, `name` in it.
    /// # Deviations
    /// No port guards, service ports or libxpc connection ports: only kobject, kolabeled,
    /// `ip_immovable_receive`, reply and special reply ports refuse `MOVE_RECEIVE`.
    pub(crate) fn ipc_right_copyin<'k>(
        &'k self,
        sg: &mut SpaceGuard<'k>,
        name: MachPortName,
        msgt: MachMsgTypeName,
        flags: IpcObjectCopyinFlags,
        released: &mut Released,
    ) -> Result<IpcPort, KernReturn> {
        let entry = sg.is_table[&name];
        let bits = entry.ie_bits;
        let space = sg.id;
        match msgt {
            MACH_MSG_TYPE_MAKE_SEND | MACH_MSG_TYPE_MAKE_SEND_ONCE => {
                if bits & IE_BITS_RECEIVE == 0 {
                    return Err(KERN_INVALID_RIGHT);
                }
                let p = entry.ie_object.expect("a receive right names its port");
                let allowed = msgt == MACH_MSG_TYPE_MAKE_SEND_ONCE
                    && flags & IPC_OBJECT_COPYIN_FLAGS_ALLOW_REPLY_MAKE_SEND_ONCE != 0;
                if self.ip_is_reply_port(p) && !allowed {
                    return Err(self.copyin_refuse(space, name, K_GUARD_EXC_INVALID_RIGHT));
                }
                let mut g = self.ip_mq_lock(p);
                self.require_ip_active(&g);
                if msgt == MACH_MSG_TYPE_MAKE_SEND {
                    self.ipc_port_make_send_any_locked(&mut g);
                } else {
                    self.ipc_port_make_sonce_locked(&mut g);
                }
                Ok(IpcPort::Port(p))
            }
            MACH_MSG_TYPE_MOVE_RECEIVE => self.ipc_right_copyin_receive(sg, name, released),
            MACH_MSG_TYPE_COPY_SEND | MACH_MSG_TYPE_MOVE_SEND | MACH_MSG_TYPE_MOVE_SEND_ONCE => {
                self.ipc_right_copyin_send(sg, name, msgt, flags, released)
            }
            _ => Err(KERN_INVALID_RIGHT),
        }
    }

    /// The `MOVE_RECEIVE` arm of `ipc_right_copyin`.
    fn ipc_right_copyin_receive<'k>(
        &'k self,
        sg: &mut SpaceGuard<'k>,
        name: MachPortName,
        released: &mut Released,
    ) -> Result<IpcPort, KernReturn> {
        let mut entry = sg.is_table[&name];
        let space = sg.id;
        if entry.ie_bits & IE_BITS_RECEIVE == 0 {
            return Err(KERN_INVALID_RIGHT);
        }
        let p = entry.ie_object.expect("a receive right names its port");
        let mut g = self.ip_mq_lock(p);
        self.require_ip_active(&g);
        let immovable = g.ip_kotype() != 0
            || g.ip_is_kolabeled()
            || g.ip_immovable_receive
            || g.ip_reply_port_semantics == PORT_MARK_REPLY_PORT
            || g.ip_specialreply;
        if immovable {
            drop(g);
            return Err(self.copyin_refuse(space, name, K_GUARD_EXC_IMMOVABLE));
        }
        entry.ie_bits &= !IE_BITS_RECEIVE;
        if entry.ie_bits & IE_BITS_SEND == 0 {
            let request = self.ipc_right_request_cancel(&mut g, name, &mut entry);
            released.deleted(request, name);
        }
        sg.ipc_entry_modified(name, entry);
        self.ipc_pset_remove_member(sg, name);
        self.ipc_port_clear_receiver(&mut g, Receiver::InTransit);
        Ok(IpcPort::Port(p))
    }

    /// The send-right arms of `ipc_right_copyin` (`COPY_SEND`, `MOVE_SEND`,
    /// `MOVE_SEND_ONCE`), with the dead-name outcomes `copy_dead` / `move_dead`.
    fn ipc_right_copyin_send<'k>(
        &'k self,
        sg: &mut SpaceGuard<'k>,
        name: MachPortName,
        msgt: MachMsgTypeName,
        flags: IpcObjectCopyinFlags,
        released: &mut Released,
    ) -> Result<IpcPort, KernReturn> {
        let bits = sg.is_table[&name].ie_bits;
        if bits & IE_BITS_DEAD_NAME == 0 {
            if bits & MACH_PORT_TYPE_SEND_RIGHTS == 0 {
                return Err(KERN_INVALID_RIGHT);
            }
            let check_flags = if msgt == MACH_MSG_TYPE_MOVE_SEND_ONCE {
                flags
            } else {
                0
            };
            let g = if bits & IE_BITS_RECEIVE != 0 {
                self.ip_mq_lock(sg.is_table[&name].ie_object.expect("port"))
            } else {
                match self.ipc_right_check(sg, name, check_flags) {
                    RightCheck::Alive(g) => g,
                    RightCheck::Died(p) => {
                        released.push(p);
                        return self.ipc_right_copyin_dead(sg, name, msgt, flags);
                    }
                }
            };
            return self.ipc_right_copyin_live_send(sg, g, name, (msgt, flags), released);
        }
        self.ipc_right_copyin_dead(sg, name, msgt, flags)
    }

    /// `copy_dead` / `move_dead` of `ipc_right_copyin`: `IP_DEAD` with `DEADOK` (a move takes one
    /// user reference of the dead name), else `KERN_INVALID_RIGHT`.
    fn ipc_right_copyin_dead(
        &self,
        sg: &mut SpaceGuard<'_>,
        name: MachPortName,
        msgt: MachMsgTypeName,
        flags: IpcObjectCopyinFlags,
    ) -> Result<IpcPort, KernReturn> {
        let entry = sg.is_table[&name];
        xnu_assert!(
            entry.ie_type() == MACH_PORT_TYPE_DEAD_NAME,
            "{name:#x} is not dead"
        );
        if flags & IPC_OBJECT_COPYIN_FLAGS_DEADOK == 0 {
            return Err(KERN_INVALID_RIGHT);
        }
        if msgt != MACH_MSG_TYPE_COPY_SEND {
            self.ipc_right_dealloc_dead_name(sg, name);
        }
        Ok(IP_DEAD)
    }

    /// The live-port part of the send arms of `ipc_right_copyin`: right kind, reply port,
    /// immovable and pinned checks, then the right leaves the entry (or is copied).
    fn ipc_right_copyin_live_send<'k>(
        &'k self,
        sg: &mut SpaceGuard<'k>,
        mut g: PortGuard<'k>,
        name: MachPortName,
        (msgt, flags): (MachMsgTypeName, IpcObjectCopyinFlags),
        released: &mut Released,
    ) -> Result<IpcPort, KernReturn> {
        let space = sg.id;
        let mut entry = sg.is_table[&name];
        let p = g.id;
        let sonce = msgt == MACH_MSG_TYPE_MOVE_SEND_ONCE;
        let has = if sonce {
            IE_BITS_SEND_ONCE
        } else {
            IE_BITS_SEND
        };
        if entry.ie_bits & has == 0 {
            return Err(KERN_INVALID_RIGHT);
        }
        let reply_allowed =
            sonce && flags & IPC_OBJECT_COPYIN_FLAGS_ALLOW_REPLY_MOVE_SEND_ONCE != 0;
        if g.ip_reply_port_semantics == PORT_MARK_REPLY_PORT && !reply_allowed {
            drop(g);
            return Err(self.copyin_refuse(space, name, K_GUARD_EXC_INVALID_RIGHT));
        }
        if g.ip_immovable_send && flags & IPC_OBJECT_COPYIN_FLAGS_ALLOW_IMMOVABLE_SEND == 0 {
            drop(g);
            self.mach_port_guard_exception_immovable(space, name, p);
            return Err(KERN_INVALID_CAPABILITY);
        }
        let last = entry.urefs == 1;
        if msgt == MACH_MSG_TYPE_MOVE_SEND
            && last
            && entry.ie_bits & IE_BITS_RECEIVE == 0
            && g.ip_pinned
        {
            drop(g);
            self.mach_port_guard_exception_pinned(space, name, MPG_FLAGS_MOD_REFS_PINNED_COPYIN);
            return Err(KERN_INVALID_CAPABILITY);
        }
        match msgt {
            MACH_MSG_TYPE_COPY_SEND => {
                self.ipc_port_copy_send_any_locked(&mut g);
            }
            MACH_MSG_TYPE_MOVE_SEND if !last => {
                self.ledger_urefs(space, name, UrefsEvent::SendOut);
                self.ipc_port_copy_send_any_locked(&mut g);
                entry.urefs = urefs_dec_unpegged(entry.urefs);
                sg.is_table.insert(name, entry);
            }
            MACH_MSG_TYPE_MOVE_SEND => {
                self.ledger_urefs(space, name, UrefsEvent::SendOut);
                entry.ie_bits &= !IE_BITS_SEND;
                entry.urefs = 0;
                if entry.ie_bits & IE_BITS_RECEIVE == 0 {
                    let request = self.ipc_right_request_cancel(&mut g, name, &mut entry);
                    released.deleted(request, name);
                }
                sg.ipc_entry_modified(name, entry);
            }
            _ => {
                self.ledger_urefs(space, name, UrefsEvent::Gone);
                let request = self.ipc_right_request_cancel(&mut g, name, &mut entry);
                released.deleted(request, name);
                sg.is_table.remove(&name);
            }
        }
        Ok(IpcPort::Port(p))
    }

    /// Models `ipc_right_copyin_check_reply` (osfmk/ipc/ipc_right.c, xnu-11215.1.10): whether
    /// the reply right can be copied in (no change yet). A dead name, or a right whose port
    /// died, passes; an immovable send right fails with its guard exception; a reply port
    /// passes only as `MAKE_SEND_ONCE`.
    /// # Deviations
    /// Ports that require reply-port semantics of their senders' reply ports
    /// (`PORT_ENFORCE_*_REPLY_PORT_SEMANTICS`) only produce telemetry in XNU's default
    /// configuration; the model does not check them.
    pub(crate) fn ipc_right_copyin_check_reply(
        &self,
        sg: &SpaceGuard<'_>,
        reply_name: MachPortName,
        reply_type: MachMsgTypeName,
        dest_name: MachPortName,
    ) -> bool {
        let entry = sg.is_table[&reply_name];
        let bits = entry.ie_bits;
        match reply_type {
            MACH_MSG_TYPE_MAKE_SEND | MACH_MSG_TYPE_MAKE_SEND_ONCE => {
                if bits & IE_BITS_RECEIVE == 0 {
                    return false;
                }
            }
            MACH_MSG_TYPE_MOVE_RECEIVE => return false,
            MACH_MSG_TYPE_COPY_SEND | MACH_MSG_TYPE_MOVE_SEND | MACH_MSG_TYPE_MOVE_SEND_ONCE => {
                if bits & IE_BITS_DEAD_NAME != 0 {
                    return true;
                }
                if bits & MACH_PORT_TYPE_SEND_RIGHTS == 0 {
                    return false;
                }
                let p = entry.ie_object.expect("a send right names its port");
                let g = self.ip_mq_lock(p);
                if !g.ip_active() {
                    return true;
                }
                if g.ip_immovable_send {
                    drop(g);
                    self.mach_port_guard_exception_immovable(sg.id, reply_name, p);
                    return false;
                }
                let need = if reply_type == MACH_MSG_TYPE_MOVE_SEND_ONCE {
                    IE_BITS_SEND_ONCE
                } else {
                    IE_BITS_SEND
                };
                if bits & need == 0 {
                    return false;
                }
            }
            other => xnu_panic!("ipc_right_copyin_check: strange rights {other}"),
        }
        let dest_is_set = sg.is_table[&dest_name].ie_type() == MACH_PORT_TYPE_PORT_SET;
        if dest_is_set || entry.ie_type() == MACH_PORT_TYPE_PORT_SET {
            return true;
        }
        let Some(p) = entry.ie_object else {
            return true;
        };
        let g = self.ip_mq_lock(p);
        !(g.ip_active()
            && g.ip_reply_port_semantics == PORT_MARK_REPLY_PORT
            && reply_type != MACH_MSG_TYPE_MAKE_SEND_ONCE)
    }

    /// Models `ipc_right_copyin_two` (osfmk/ipc/ipc_right.c, xnu-11215.1.10): two send rights of
    /// one name for one message (destination and reply, or destination and voucher). Returns the
    /// port, which then carries both rights.
    /// # Conditions
    /// Space locked and active, `name` in it; both types send dispositions.
    pub(crate) fn ipc_right_copyin_two<'k>(
        &'k self,
        sg: &mut SpaceGuard<'k>,
        name: MachPortName,
        one: MachMsgTypeName,
        two: MachMsgTypeName,
        flags: (IpcObjectCopyinFlags, IpcObjectCopyinFlags),
        released: &mut Released,
    ) -> Result<IpcPort, KernReturn> {
        let either = |t| one == t || two == t;
        if either(MACH_MSG_TYPE_MOVE_SEND_ONCE) {
            return Err(KERN_INVALID_RIGHT);
        }
        if either(MACH_MSG_TYPE_MAKE_SEND) || either(MACH_MSG_TYPE_MAKE_SEND_ONCE) {
            let first = flags.0 | IPC_OBJECT_COPYIN_FLAGS_ALLOW_IMMOVABLE_SEND;
            let port = self.ipc_right_copyin(sg, name, one, first, released)?;
            let second = self.ipc_right_copyin(sg, name, two, flags.1, released);
            xnu_assert!(second == Ok(port), "copyin_two: second copyin of {name:#x}");
            return Ok(port);
        }
        if one == MACH_MSG_TYPE_MOVE_SEND && two == MACH_MSG_TYPE_MOVE_SEND {
            return self.ipc_right_copyin_two_move_sends(sg, name, released);
        }
        let msgt = if either(MACH_MSG_TYPE_MOVE_SEND) {
            MACH_MSG_TYPE_MOVE_SEND
        } else {
            MACH_MSG_TYPE_COPY_SEND
        };
        let flags = IPC_OBJECT_COPYIN_FLAGS_ALLOW_IMMOVABLE_SEND;
        let port = self.ipc_right_copyin(sg, name, msgt, flags, released)?;
        let mut g = self.ip_mq_lock(port.id());
        self.ipc_port_copy_send_any_locked(&mut g);
        Ok(port)
    }

    /// Models `ipc_right_copyin_two_move_sends`: two user references of a send right leave.
    fn ipc_right_copyin_two_move_sends<'k>(
        &'k self,
        sg: &mut SpaceGuard<'k>,
        name: MachPortName,
        released: &mut Released,
    ) -> Result<IpcPort, KernReturn> {
        let mut entry = sg.is_table[&name];
        let space = sg.id;
        if entry.ie_bits & IE_BITS_SEND == 0 || entry.urefs < 2 {
            return Err(KERN_INVALID_RIGHT);
        }
        let p = entry.ie_object.expect("a send right names its port");
        if self.ip_is_reply_port(p) {
            return Err(self.copyin_refuse(space, name, K_GUARD_EXC_INVALID_RIGHT));
        }
        let mut g = if entry.ie_bits & IE_BITS_RECEIVE != 0 {
            self.ip_mq_lock(p)
        } else {
            match self.ipc_right_check(sg, name, 0) {
                RightCheck::Alive(g) => g,
                RightCheck::Died(p) => {
                    released.push(p);
                    return Err(KERN_INVALID_RIGHT);
                }
            }
        };
        xnu_assert!(!g.ip_immovable_send, "moving two sends of immovable {p}");
        self.ledger_urefs(space, name, UrefsEvent::SendOut);
        self.ledger_urefs(space, name, UrefsEvent::SendOut);
        self.ipc_port_copy_send_any_locked(&mut g);
        if entry.urefs > 2 {
            self.ipc_port_copy_send_any_locked(&mut g);
            if entry.urefs < MACH_PORT_UREFS_MAX {
                entry.urefs -= 2;
            }
            sg.is_table.insert(name, entry);
        } else {
            // The entry's own send right is the second one.
            entry.ie_bits &= !IE_BITS_SEND;
            entry.urefs = 0;
            if entry.ie_bits & IE_BITS_RECEIVE == 0 {
                let request = self.ipc_right_request_cancel(&mut g, name, &mut entry);
                released.deleted(request, name);
            }
            sg.ipc_entry_modified(name, entry);
        }
        Ok(IpcPort::Port(p))
    }
}
