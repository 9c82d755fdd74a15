//! The ledger's own record of each port, written only by the model's events (a make-send, an
//! arm, a dealloc, a send to a dead port): the values the audit compares the port's counters
//! against. Nothing here is ever read back from a port.

use crate::ipc_port::PortId;
use crate::kernel::ObjId;
use crate::outcome::Finding;

/// What the ledger knows about one port from events alone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PortRecord {
    /// The port's generation; 0 for a slot with no live port.
    pub gen: u32,
    /// Make-send events since the last reset (`ip_mscount` as XNU keeps it).
    pub mscount: u32,
    /// An armed kobject no-senders request, owning one port reference.
    pub armed: bool,
    /// Armed through `ipc_kobject_nsrequest_locked` with `sync <= mscount`: XNU arms then only
    /// while a send right exists, and the last one leaving fires the request, so while this
    /// stays armed on an active port some holder must have a send right.
    pub armed_needs_sender: bool,
    /// The object whose reference the armed request (and each notification it fired) owns,
    /// named at the arm: the kobject of a type that donates one (see `donates_on_arm`).
    pub donee: Option<ObjId>,
    /// The make-send count when the request last fired, until the count resets: while no
    /// send right was made since, no holder may have one (the fire meant none was left).
    pub fired_at: Option<u32>,
    /// The kernel space receives the port (from its allocation there to its dealloc).
    pub kernel_receive: bool,
    /// The target a subst-once wrapper owns a send right on, until that right is taken.
    pub subst_target: Option<PortId>,
    /// Send rights a message to this dead port left counted in `ip_srights` without a holder
    /// or a reference (XNU's `ipc_kmsg_send` drops only the destination's reference).
    pub abandoned_send: u32,
    /// The same for send-once rights.
    pub abandoned_sonce: u32,
    /// Notification requests the port carries (dead-name, send-possible, port-destroyed), each
    /// owning a send-once right to its notify port.
    pub requests: u32,
}

/// Records per port arena slot: the index is the slot, the record names its generation.
#[derive(Clone, Default)]
pub(crate) struct PortRecords(pub Vec<PortRecord>);

impl PortRecords {
    /// A port was allocated: its slot starts a fresh record.
    pub fn fresh(&mut self, p: PortId) -> &mut PortRecord {
        let i = p.0.idx as usize;
        if self.0.len() <= i {
            self.0.resize(i + 1, PortRecord::default());
        }
        self.0[i] = PortRecord {
            gen: p.0.gen,
            ..PortRecord::default()
        };
        &mut self.0[i]
    }

    /// The record of a live port; an event on a port the ledger never saw allocated (or saw
    /// freed) is a use after free the model's own checks missed.
    pub fn get_mut(&mut self, p: PortId) -> &mut PortRecord {
        match self.0.get_mut(p.0.idx as usize) {
            Some(r) if r.gen == p.0.gen => r,
            _ => Finding::violation(
                "dangling-holder",
                format!("an event names {p}, which the ledger has no live record of"),
            )
            .raise(),
        }
    }

    /// The record of `p` for the audit (a default one if it has none).
    #[inline]
    pub fn get(&self, p: PortId) -> PortRecord {
        match self.0.get(p.0.idx as usize) {
            Some(r) if r.gen == p.0.gen => *r,
            _ => PortRecord::default(),
        }
    }

    /// The port was freed.
    pub fn forget(&mut self, p: PortId) {
        if let Some(r) = self.0.get_mut(p.0.idx as usize) {
            if r.gen == p.0.gen {
                *r = PortRecord::default();
            }
        }
    }
}
