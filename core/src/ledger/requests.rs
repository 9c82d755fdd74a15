//! The ledger's account of notification requests (crate::ipc_request): each dead-name,
//! send-possible and port-destroyed request owns a send-once right to its notify port, and
//! belongs to one name (or, port-destroyed, to the port itself).
//!
//! The request and cancel / fire events keep, per port, how many requests it carries; the
//! audit compares that with the requests its table and `ip_pdrequest` hold, counts each
//! request's right as a holder of its notify port, and checks that every request of an active
//! port is named by exactly the entry whose `ie_request` points at it (a request left behind by
//! a name that lost its right would fire for a name that may be reused), and that no entry
//! points at a request its port does not have. A port freed while it still carries requests
//! has leaked their rights.

use std::collections::BTreeMap;

use super::Tallies;
use crate::ipc_port::{PortGuard, PortId};
use crate::ipc_space::{IpcEntry, IE_REQ_NONE};
use crate::kernel::{Kernel, SpaceId};
use crate::mach::MachPortName;
use crate::outcome::Finding;

/// The requests entries point at: per port, (request index, space, name).
#[derive(Default)]
pub(super) struct EntryRequests(BTreeMap<PortId, Vec<(u32, SpaceId, MachPortName)>>);

impl EntryRequests {
    /// Notes `entry`'s request, if it has one.
    #[inline]
    pub(super) fn note(&mut self, space: SpaceId, name: MachPortName, entry: &IpcEntry) {
        if let (Some(p), true) = (entry.ie_object, entry.ie_request != IE_REQ_NONE) {
            self.0
                .entry(p)
                .or_default()
                .push((entry.ie_request, space, name));
        }
    }
}

impl Kernel {
    /// `space`'s `name` made request `index` of `p` (`ipc_right_request_alloc`).
    pub(crate) fn ledger_request_named(
        &self,
        p: PortId,
        index: u32,
        space: SpaceId,
        name: MachPortName,
    ) {
        self.ledger
            .state
            .with(|s| s.request_names.insert((p, index), (space, name, false)));
    }

    /// Request `index` of `p` left its name: cancelled (`gone`), or let go by a name turned
    /// dead or dropped with its dead port, to fire for nobody.
    pub(crate) fn ledger_request_unnamed(&self, p: PortId, index: u32, gone: bool) {
        self.ledger.state.with(|s| {
            if gone {
                s.request_names.remove(&(p, index));
            } else if let Some(r) = s.request_names.get_mut(&(p, index)) {
                r.2 = true;
            }
        });
    }

    /// Request `index` of dead `p` fires a dead-name notification for `name`: the name must
    /// still denote `p` with this request, unless it let go of it (or its space died). A
    /// request that outlived its name would tell its owner about a name that may denote
    /// something else by now.
    /// # Conditions
    /// Nothing locked.
    pub(crate) fn ledger_request_fired(&self, p: PortId, index: u32, name: MachPortName) {
        let key = (p, index);
        let Some((space, named, _)) = self
            .ledger
            .state
            .with(|s| s.request_names.get(&key).copied())
        else {
            return;
        };
        // A name that goes after the port died lets go under its space lock: read the record
        // again once that lock is ours.
        let Some(sg) = self.is_write_lock_if_live(space) else {
            return;
        };
        let let_go = self
            .ledger
            .state
            .with(|s| s.request_names.remove(&key).is_none_or(|r| r.2));
        if let_go || named != name || !sg.is_active {
            return;
        }
        let holds = sg
            .is_table
            .get(&name)
            .is_some_and(|e| e.ie_object == Some(p) && e.ie_request == index);
        drop(sg);
        if !holds {
            Finding::violation(
                "request-outlives-name",
                format!(
                    "{p} died and fired request {index} for {space:?} name {name:#x}, which no \
                     longer denotes it: the name lost its right without cancelling the request"
                ),
            )
            .raise();
        }
    }

    /// A request on `target` took (`held`) or gave up its send-once right.
    pub(crate) fn ledger_request_event(&self, target: PortId, held: bool) {
        let underflow = self.ledger.state.with(|s| {
            let r = s.ports.get_mut(target);
            if held {
                r.requests += 1;
                false
            } else {
                let was = r.requests;
                r.requests = was.saturating_sub(1);
                was == 0
            }
        });
        if underflow {
            Finding::violation(
                "request-conservation",
                format!("a request of {target} gave up its send-once right twice"),
            )
            .raise();
        }
    }

    /// A freed port must carry no request: its send-once rights would be leaked.
    pub(super) fn ledger_requests_at_free(p: PortId, requests: u32) {
        if requests != 0 {
            Finding::violation(
                "request-outlives-port",
                format!("{p} freed while {requests} notification request(s) still own a send-once right"),
            )
            .raise();
        }
    }

    /// The requests of locked port `g`: their rights as holders of the notify ports, their
    /// number against the events', and each against the entry that must name it.
    #[inline]
    pub(super) fn audit_port_requests(
        g: &PortGuard<'_>,
        recorded: u32,
        entries: &mut EntryRequests,
        t: &mut Tallies,
    ) -> Result<(), Finding> {
        let p = g.id;
        let mut held = 0;
        if let Some(n) = g.ip_pdrequest {
            t.port(n)?.send_once += 1;
            held += 1;
        }
        for (i, r) in g.ip_requests.iter().enumerate() {
            let Some(r) = r.filter(|r| !r.fired) else {
                continue;
            };
            t.port(r.ipr_soright)?.send_once += 1;
            held += 1;
            let index = i as u32 + 1;
            let named = entries.0.get(&p).is_some_and(|v| {
                v.iter()
                    .any(|&(i, _, name)| i == index && name == r.ipr_name)
            });
            if !named {
                return Err(Finding::violation(
                    "request-orphaned",
                    format!(
                        "{p} carries request {index} for name {:#x}, which no entry with that \
                         name points at: the name lost its right without cancelling it",
                        r.ipr_name
                    ),
                ));
            }
        }
        if held != recorded {
            return Err(Finding::violation(
                "request-conservation",
                format!("{p} carries {held} request(s), but request events say {recorded}"),
            ));
        }
        // Every entry's request must be a slot of its port for its name.
        for &(index, space, name) in entries.0.get(&p).map_or(&[][..], Vec::as_slice) {
            let slot = g.ip_requests.get(index as usize - 1).copied().flatten();
            if slot.is_none_or(|r| r.ipr_name != name) {
                return Err(Finding::violation(
                    "request-orphaned",
                    format!("{space:?} name {name:#x} points at request {index} of {p}, which is not its"),
                ));
            }
        }
        Ok(())
    }
}
