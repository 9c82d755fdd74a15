//! Notification requests and the notifications they become (xnu-11215.1.10): the request table
//! of osfmk/ipc/ipc_port.c (`ipc_port_request_alloc`, `_type`, `_cancel`, `ipc_port_nsrequest`,
//! `ipc_port_dnnotify`), `ipc_right_request_alloc` / `ipc_right_request_cancel` of
//! osfmk/ipc/ipc_right.c, `mach_port_request_notification` of osfmk/ipc/mach_port.c, and the
//! messages of osfmk/ipc/ipc_notify.c (`mach_notify_*` as the kernel's MIG user stubs build
//! them, osfmk/mach/notify.h).
//!
//! A request owns one send-once right to its notify port, with that right's reference, until the
//! notification consumes it or the request is cancelled and the right handed back:
//! * a dead-name or send-possible request sits in its port's `ip_requests`, named by the entry's
//!   `ie_request`; the port's death fires it as a dead-name notification
//!   ([`Kernel::ipc_port_dnnotify`]), the name losing its right first cancels it into a
//!   port-deleted notification;
//! * a no-senders request is the port's `ip_nsrequest` (the kobject arm is the seed's own);
//! * a port-destroyed request is the port's `ip_pdrequest`: the port's destruction sends the
//!   receive right itself to the notify port instead of destroying it.
//!
//! # Deviations
//! * The request table grows in place under the port lock, without bound: XNU's
//!   `ipc_port_request_grow` unlocks to allocate (so `ipc_right_request_alloc` retries) and stops
//!   at `CONFIG_IPC_TABLE_REQUEST_SIZE_MAX` with `KERN_NO_SPACE`. A freed slot is reused first
//!   where XNU pops its free list; indices are never visible to a user.
//! * Queues have no limit in the model, so a port is never full: an armed send-possible request
//!   always fires at once, a delayed one fires only as a dead-name notification, and
//!   `ipc_port_spnotify` never runs.
//! * Importance donation, service-port defenses, watchports and host-notify requests
//!   (`IPR_HOST_NOTIFY`) are not modelled.

use crate::ipc_kmsg::{KDescriptor, Kmsg};
use crate::ipc_notify::{MACH_NOTIFY_NO_SENDERS, MACH_NOTIFY_SEND_ONCE};
use crate::ipc_port::*;
use crate::ipc_right::RightCheck;
use crate::ipc_space::*;
use crate::kernel::{Kernel, SpaceId, IPC_SPACE_KERNEL};
use crate::ledger_names::DeadNameEvent;
use crate::mach::*;
use crate::mach_msg::{MACH_MSG_BODY_SIZE, MACH_MSG_KDESCRIPTOR_SIZE, MACH_MSG_KERNEL_HEADER_SIZE};

pub use crate::ipc_notify::{
    MACH_NOTIFY_DEAD_NAME, MACH_NOTIFY_PORT_DELETED, MACH_NOTIFY_PORT_DESTROYED,
    MACH_NOTIFY_SEND_POSSIBLE,
};

/// Request type bits `mach_port_type` adds to a name's type (osfmk/mach/port.h).
pub const MACH_PORT_TYPE_DNREQUEST: MachPortType = 0x8000_0000;
pub const MACH_PORT_TYPE_SPREQUEST: MachPortType = 0x4000_0000;
pub const MACH_PORT_TYPE_SPREQUEST_DELAYED: MachPortType = 0x2000_0000;

/// `ipc_port_request_opts_t`: `IPR_SOR_SPARM_MASK` (send-possible armed) and
/// `IPR_SOR_SPREQ_MASK` (send-possible requested).
pub type IpcPortRequestOpts = u32;
pub const IPR_SOR_SPARM_MASK: IpcPortRequestOpts = 0x01;
pub const IPR_SOR_SPREQ_MASK: IpcPortRequestOpts = 0x02;

/// The NDR record (`NDR_record`) as the two inline words after a notification's header.
const NDR_WORDS: [u32; 2] = [0, 1];

/// One slot of a port's request table (`struct ipc_port_request`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRequest {
    /// The name in the requesting space (`ipr_name`).
    pub ipr_name: MachPortName,
    /// The send-once right the notification consumes (`IPR_SOR_PORT(ipr_soright)`).
    pub ipr_soright: PortId,
    /// The options bits of `ipr_soright` (`IPR_SOR_SP*`).
    pub options: IpcPortRequestOpts,
    /// `ipc_port_dnnotify` has sent the dead-name notification with the right. XNU leaves the
    /// slot as it is, so `ipc_port_request_type` still reports it to `ipc_right_check`; the
    /// model marks it instead of reading a consumed right.
    pub fired: bool,
}

impl Kernel {
    /// Models `ipc_port_request_alloc`: a slot for `name`'s request, owning `soright`.
    /// Returns its index (never `IE_REQ_NONE`).
    /// # Conditions
    /// Port locked and active.
    pub(crate) fn ipc_port_request_alloc(
        &self,
        g: &mut PortGuard<'_>,
        name: MachPortName,
        soright: PortId,
        options: IpcPortRequestOpts,
    ) -> u32 {
        self.require_ip_active(g);
        xnu_assert!(name != MACH_PORT_NULL, "a request for MACH_PORT_NULL");
        let request = Some(PortRequest {
            ipr_name: name,
            ipr_soright: soright,
            options,
            fired: false,
        });
        let slot = match g.ip_requests.iter().position(Option::is_none) {
            Some(free) => free,
            None => {
                g.ip_requests.push(None);
                g.ip_requests.len() - 1
            }
        };
        g.ip_requests[slot] = request;
        self.ledger_request_event(g.id, true);
        slot as u32 + 1
    }

    /// The request at `index`, which must be `name`'s (XNU asserts it).
    fn ipc_port_request_get(g: &PortGuard<'_>, name: MachPortName, index: u32) -> PortRequest {
        xnu_assert!(
            index != IE_REQ_NONE,
            "request index IE_REQ_NONE for {name:#x}"
        );
        let request = g.ip_requests.get(index as usize - 1).copied().flatten();
        match request {
            Some(r) if r.ipr_name == name => r,
            other => xnu_panic!(
                "ipc_port_request: {} index {index} holds {other:?}, not {name:#x}'s request",
                g.id
            ),
        }
    }

    /// Models `ipc_port_request_type`: the `MACH_PORT_TYPE_*REQUEST*` bits of `name`'s request.
    /// # Conditions
    /// Port locked (or inactive); `index` is `name`'s request.
    pub(crate) fn ipc_port_request_type(
        &self,
        g: &PortGuard<'_>,
        name: MachPortName,
        index: u32,
    ) -> MachPortType {
        let r = Self::ipc_port_request_get(g, name, index);
        let mut ty = MACH_PORT_TYPE_DNREQUEST;
        if r.options & IPR_SOR_SPREQ_MASK != 0 {
            ty |= MACH_PORT_TYPE_SPREQUEST;
            if r.options & IPR_SOR_SPARM_MASK == 0 {
                ty |= MACH_PORT_TYPE_SPREQUEST_DELAYED;
            }
        }
        ty
    }

    /// Models `ipc_port_request_cancel`: frees `name`'s slot and hands back its send-once right.
    /// # Conditions
    /// Port locked and active; `index` is `name`'s request.
    pub(crate) fn ipc_port_request_cancel(
        &self,
        g: &mut PortGuard<'_>,
        name: MachPortName,
        index: u32,
    ) -> PortId {
        self.require_ip_active(g);
        let r = Self::ipc_port_request_get(g, name, index);
        g.ip_requests[index as usize - 1] = None;
        self.ledger_request_event(g.id, false);
        self.ledger_request_unnamed(g.id, index, true);
        r.ipr_soright
    }

    /// Models `ipc_right_request_cancel`: the entry's request, cancelled, and `ie_request`
    /// cleared.
    /// # Conditions
    /// Space and port locked, port active.
    pub(crate) fn ipc_right_request_cancel(
        &self,
        g: &mut PortGuard<'_>,
        name: MachPortName,
        entry: &mut IpcEntry,
    ) -> Option<PortId> {
        let index = std::mem::replace(&mut entry.ie_request, IE_REQ_NONE);
        (index != IE_REQ_NONE).then(|| self.ipc_port_request_cancel(g, name, index))
    }

    /// Models `ipc_port_dnnotify`: every request of a dead port becomes a dead-name
    /// notification carrying its name.
    /// # Conditions
    /// Nothing locked; the port is inactive and the caller holds a reference.
    pub(crate) fn ipc_port_dnnotify(&self, p: PortId) {
        let fired: Vec<(u32, PortId, MachPortName)> = {
            let mut g = self.ip_mq_lock(p);
            xnu_assert!(!g.ip_active(), "ipc_port_dnnotify on active {p}");
            let mut fired = Vec::new();
            for (i, r) in g.ip_requests.iter_mut().enumerate() {
                if let Some(r) = r.as_mut().filter(|r| !r.fired) {
                    r.fired = true;
                    fired.push((i as u32 + 1, r.ipr_soright, r.ipr_name));
                }
            }
            fired
        };
        for (index, soright, name) in fired {
            self.ledger_request_event(p, false);
            self.ledger_request_fired(p, index, name);
            self.ipc_notify_dead_name(soright, name);
        }
    }

    /// Models `ipc_port_nsrequest`: arms (or, with `notify` null, cancels) the no-senders
    /// request of an ordinary port and returns the previous one's send-once right. With no send
    /// right left and `sync` at or below the make-send count, the notification goes at once.
    /// # Conditions
    /// Port locked and active, not the kernel's; the lock is consumed. `notify`'s right is
    /// consumed, the previous right is the caller's.
    pub(crate) fn ipc_port_nsrequest(
        &self,
        mut g: PortGuard<'_>,
        sync: MachPortMscount,
        notify: Option<PortId>,
    ) -> Option<PortId> {
        self.require_ip_active(&g);
        xnu_assert!(
            !matches!(g.receiver, Receiver::InSpace { space, .. } if space == IPC_SPACE_KERNEL),
            "ipc_port_nsrequest on kernel port {}",
            g.id
        );
        let previous = match g.ip_nsrequest {
            NsRequest::None => None,
            NsRequest::Port(previous) => Some(previous),
            NsRequest::KobjectArmed => {
                xnu_panic!("ipc_port_nsrequest on armed kobject port {}", g.id)
            }
        };
        let mscount = g.ip_mscount;
        match notify {
            Some(notify) if g.ip_srights == 0 && sync <= mscount => {
                self.ledger_no_senders_at_once(g.id, sync);
                g.ip_nsrequest = NsRequest::None;
                drop(g);
                self.ipc_notify_message(notify, MACH_NOTIFY_NO_SENDERS, &[mscount], Vec::new());
            }
            _ => g.ip_nsrequest = notify.map_or(NsRequest::None, NsRequest::Port),
        }
        previous
    }

    /// Models `ipc_port_translate_receive` (`ipc_object_translate` for the receive right): the
    /// port `name` receives, locked and active. `KERN_INVALID_TASK` for a dead space,
    /// `KERN_INVALID_NAME` for no entry, `KERN_INVALID_RIGHT` for a name without the receive
    /// right.
    pub(crate) fn ipc_port_translate_receive(
        &self,
        space: SpaceId,
        name: MachPortName,
    ) -> Result<PortGuard<'_>, KernReturn> {
        let sg = self.ipc_right_lookup_write(space, name)?;
        let entry = &sg.is_table[&name];
        if entry.ie_bits & IE_BITS_RECEIVE == 0 {
            return Err(KERN_INVALID_RIGHT);
        }
        let g = self.ip_mq_lock(entry.ie_object.expect("a receive right names its port"));
        drop(sg);
        self.require_ip_active(&g);
        Ok(g)
    }

    /// Models `ipc_right_request_alloc`: cancels `name`'s dead-name / send-possible request
    /// (handing back its right) and, with a `notify` right, makes a new one. An armed
    /// send-possible request fires at once; one on a dead name fires a dead-name notification at
    /// once (and the name gains the user reference that notification carries); a dead-name
    /// request on a dead name is `KERN_INVALID_ARGUMENT`, on a name without a port right
    /// `KERN_INVALID_RIGHT`.
    /// # Conditions
    /// Nothing locked. `notify`'s right is consumed on success, the previous right is the
    /// caller's.
    pub(crate) fn ipc_right_request_alloc(
        &self,
        space: SpaceId,
        name: MachPortName,
        options: IpcPortRequestOpts,
        notify: Option<PortId>,
    ) -> Result<Option<PortId>, KernReturn> {
        let mut sg = self.ipc_right_lookup_write(space, name)?;
        if notify.is_none() && sg.is_table[&name].ie_request == IE_REQ_NONE {
            return Ok(None);
        }
        let mut dead_port = None;
        if sg.is_table[&name].ie_bits & MACH_PORT_TYPE_PORT_RIGHTS != 0 {
            match self.ipc_right_check(&mut sg, name, 0) {
                RightCheck::Alive(mut g) => {
                    let mut entry = sg.is_table[&name];
                    let mut previous = self.ipc_right_request_cancel(&mut g, name, &mut entry);
                    if notify.is_some() && self.bug(crate::Bug::ReplacedRequestLeak) {
                        previous = None;
                    }
                    let Some(notify) = notify else {
                        sg.is_table.insert(name, entry);
                        return Ok(previous);
                    };
                    // Never full in the model: an armed send-possible request fires now.
                    if options == IPR_SOR_SPARM_MASK | IPR_SOR_SPREQ_MASK {
                        sg.is_table.insert(name, entry);
                        drop(g);
                        drop(sg);
                        self.ipc_notify_message(notify, MACH_NOTIFY_SEND_POSSIBLE, &[name], vec![]);
                        return Ok(previous);
                    }
                    entry.ie_request = self.ipc_port_request_alloc(&mut g, name, notify, options);
                    self.ledger_request_named(g.id, entry.ie_request, space, name);
                    sg.is_table.insert(name, entry);
                    return Ok(previous);
                }
                RightCheck::Died(p) => dead_port = Some(p),
            }
        }
        let mut entry = sg.is_table[&name];
        let result = match notify {
            Some(notify) if options != 0 && entry.ie_bits & IE_BITS_DEAD_NAME != 0 => {
                xnu_assert!(entry.urefs > 0, "dead name {name:#x} without urefs");
                if entry.urefs < MACH_PORT_UREFS_MAX {
                    entry.urefs += 1;
                }
                sg.is_table.insert(name, entry);
                self.ledger_dead_name(space, name, DeadNameEvent::Notified);
                Ok(Some(notify))
            }
            _ if entry.ie_bits & (MACH_PORT_TYPE_PORT_RIGHTS | IE_BITS_DEAD_NAME) != 0 => {
                Err(KERN_INVALID_ARGUMENT)
            }
            _ => Err(KERN_INVALID_RIGHT),
        };
        drop(sg);
        if let Some(p) = dead_port {
            self.ip_release(p);
        }
        let notify = result?;
        if let Some(notify) = notify {
            self.ipc_notify_message(notify, MACH_NOTIFY_DEAD_NAME, &[name], Vec::new());
        }
        Ok(None)
    }

    /// Models `mach_port_request_notification` (osfmk/ipc/mach_port.c, xnu-11215.1.10), with
    /// its checks and return codes in XNU's order. `notify` is the send-once right the request
    /// carried (`IP_NULL` to cancel); on success it is consumed and the previous request's
    /// right returned (`IP_NULL` for none), on failure it is still the caller's.
    pub fn mach_port_request_notification(
        &self,
        space: Option<SpaceId>,
        name: MachPortName,
        id: i32,
        sync: MachPortMscount,
        notify: IpcPort,
    ) -> Result<IpcPort, KernReturn> {
        let Some(space) = space else {
            return Err(KERN_INVALID_TASK);
        };
        if notify == IP_DEAD {
            return Err(KERN_INVALID_CAPABILITY);
        }
        let notify_port = match notify {
            IpcPort::Port(p) => Some(p),
            _ => None,
        };
        let previous = match id {
            MACH_NOTIFY_PORT_DESTROYED => {
                if sync != 0 {
                    return Err(KERN_INVALID_VALUE);
                }
                if !mach_port_valid(name) {
                    return Err(KERN_INVALID_RIGHT);
                }
                let mut g = self.ipc_port_translate_receive(space, name)?;
                let refused = g.ip_kotype() != 0
                    || g.ip_is_kolabeled()
                    || g.ip_specialreply
                    || g.ip_reply_port_semantics == PORT_MARK_REPLY_PORT;
                let code = if refused {
                    Some((K_GUARD_EXC_INVALID_RIGHT, KERN_INVALID_RIGHT))
                } else if g.ip_pdrequest.is_some() {
                    Some((K_GUARD_EXC_KERN_FAILURE, KERN_FAILURE))
                } else {
                    None
                };
                if let Some((exc, kr)) = code {
                    drop(g);
                    self.mach_port_guard_exception(space, name, 0, exc);
                    return Err(kr);
                }
                g.ip_pdrequest = notify_port;
                if notify_port.is_some() {
                    self.ledger_request_event(g.id, true);
                }
                None
            }
            MACH_NOTIFY_NO_SENDERS => {
                if !mach_port_valid(name) {
                    return Err(KERN_INVALID_RIGHT);
                }
                let g = self.ipc_port_translate_receive(space, name)?;
                if g.ip_reply_port_semantics == PORT_MARK_REPLY_PORT {
                    drop(g);
                    self.mach_port_guard_exception(space, name, 0, K_GUARD_EXC_INVALID_RIGHT);
                    return Err(KERN_INVALID_RIGHT);
                }
                self.ipc_port_nsrequest(g, sync, notify_port)
            }
            MACH_NOTIFY_SEND_POSSIBLE | MACH_NOTIFY_DEAD_NAME => {
                if !mach_port_valid(name) {
                    return Err(KERN_INVALID_ARGUMENT);
                }
                let mut options = 0;
                if id == MACH_NOTIFY_SEND_POSSIBLE {
                    options |= IPR_SOR_SPREQ_MASK;
                    if sync != 0 {
                        options |= IPR_SOR_SPARM_MASK;
                    }
                }
                self.ipc_right_request_alloc(space, name, options, notify_port)?
            }
            _ => return Err(KERN_INVALID_VALUE),
        };
        Ok(previous.map_or(IP_NULL, IpcPort::Port))
    }

    /// Sends a kernel notification (`mach_notify_*`, as MIG's user stubs build it): `id`, the
    /// NDR record and `words` inline, `body` as descriptors, to `notify` with the send-once right
    /// the caller owns; delivered like any message (`ipc_kmsg_send`).
    pub(crate) fn ipc_notify_message(
        &self,
        notify: PortId,
        id: i32,
        words: &[u32],
        body: Vec<KDescriptor>,
    ) {
        let mut kmsg = Kmsg::alloc(0, body.len() as u32);
        let complex = if body.is_empty() {
            0
        } else {
            MACH_MSGH_BITS_COMPLEX
        };
        kmsg.msgh_bits = mach_msgh_bits_set(MACH_MSG_TYPE_PORT_SEND_ONCE, 0, 0, complex);
        kmsg.msgh_remote_port = IpcPort::Port(notify);
        kmsg.msgh_id = id;
        if !words.is_empty() {
            kmsg.inline_data = NDR_WORDS.iter().chain(words).copied().collect();
        }
        let body_count = if body.is_empty() {
            0
        } else {
            MACH_MSG_BODY_SIZE
        };
        kmsg.msgh_size = MACH_MSG_KERNEL_HEADER_SIZE
            + body_count
            + MACH_MSG_KDESCRIPTOR_SIZE * body.len() as u32
            + 4 * kmsg.inline_data.len() as u32;
        kmsg.body = body;
        self.ipc_kmsg_send(notify, kmsg);
    }

    /// Models `ipc_notify_port_deleted`: the name lost its right before its port died.
    pub(crate) fn ipc_notify_port_deleted(&self, notify: PortId, name: MachPortName) {
        self.ipc_notify_message(notify, MACH_NOTIFY_PORT_DELETED, &[name], Vec::new());
    }

    /// Models `ipc_notify_dead_name`: the port `name` denoted died.
    pub(crate) fn ipc_notify_dead_name(&self, notify: PortId, name: MachPortName) {
        self.ipc_notify_message(notify, MACH_NOTIFY_DEAD_NAME, &[name], Vec::new());
    }

    /// Models `ipc_notify_port_destroyed`: the receive right of `right` (in transit) travels to
    /// the port-destroyed request's port.
    pub(crate) fn ipc_notify_port_destroyed(&self, notify: PortId, right: PortId) {
        let body = vec![KDescriptor::Port {
            name: IpcPort::Port(right),
            disposition: MACH_MSG_TYPE_PORT_RECEIVE,
        }];
        self.ipc_notify_message(notify, MACH_NOTIFY_PORT_DESTROYED, &[], body);
    }

    /// Models `mach_notify_send_once`: a send-once right died unused.
    pub(crate) fn ipc_notify_send_once(&self, notify: PortId) {
        self.ipc_notify_message(notify, MACH_NOTIFY_SEND_ONCE, &[], Vec::new());
    }

    /// The port-deleted notification of a request a name's last right took with it, if it had
    /// one (`if (request != IP_NULL) ipc_notify_port_deleted(request, name)`).
    pub(crate) fn ipc_notify_port_deleted_opt(&self, request: Option<PortId>, name: MachPortName) {
        if let Some(request) = request {
            self.ipc_notify_port_deleted(request, name);
        }
    }
}
