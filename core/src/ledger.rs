//! The invariant ledger: an auditor that trusts none of the model's counters.
//!
//! Every quantity it compares a counter with comes from its own records, written by events the
//! model reports where XNU changes the quantity (a make-send, an arm, a fire, a dealloc, a send
//! to a dead port: the `ledger_*` hooks), or from walking the holders themselves. It never reads
//! a counter to decide what that counter should be.
//!
//! # What it checks
//! * **Conservation, at quiescence** ([`Kernel::audit`]). It walks every holder the model has:
//!   space entries, messages queued on ports (header rights and descriptors), the rights kernel
//!   objects store in their slots, real no-senders requests, and the rights the caller says it
//!   holds; to those it adds, from its own records, the kernel's receive rights, armed kobject
//!   requests, prepared-but-unconsumed notifications, the send right each subst-once wrapper
//!   owns on its target and the rights abandoned on dead ports. From those alone it derives,
//!   per port, the send rights, send-once rights and references there must be, and compares
//!   them with `ip_srights`, `ip_sorights` and `io_references`. Per object it derives the
//!   references (creator, the reference donated to each armed request or prepared notification
//!   of a donating type, charged to the object the port named when it was armed, a thread's
//!   hold on its task, an identity token's hold on its task, a timer port's hold) and compares
//!   with the count. A holder that names a freed port or object
//!   is a `dangling-holder`: a use after free waiting to happen.
//! * **Recorded counters, at quiescence**: per port, `ip_mscount` equals the make-send events
//!   since the receive right last left its receiver (`mscount-mismatch`; reset where XNU's
//!   `ipc_port_clear_receiver` resets it, and by the lazy-allocation undo); `ip_nsrequest` is
//!   armed exactly when an arm event is not yet matched by a fire or a drop
//!   (`nsrequest-mismatch`); the kernel space receives the port exactly from its allocation
//!   there to its dealloc (`kernel-receive-right`); a subst-once wrapper points at the target
//!   it owns a right on (`subst-once-target`); a port whose no-senders notification fired,
//!   with no make-send since, has no send right anywhere in the holder walk
//!   (`no-senders-with-senders`, never read from `ip_srights`); and a port armed through
//!   `ipc_kobject_nsrequest_locked` with `sync` at or below its make-send count, which XNU
//!   refuses without senders, still has a send right somewhere (`armed-without-senders`).
//! * **Slots of kernel objects**: every store and take of a slot right is reported under the
//!   object's lock; what is taken must be what the ledger saw stored there, a routine's right
//!   must go to the target its stub converted (not, say, the thread's task), and at quiescence
//!   each live object's send and send-once slots hold exactly the recorded rights
//!   (`slot-mismatch`).
//! * **Events, always on**: a second arm of an armed request; a fire or drop of a request
//!   never armed; a kobject no-senders callback must consume a notification that
//!   `ipc_notify_no_senders_prepare` produced (a spoofed or doubled callback is caught here);
//!   a lazily allocated kobject publishes exactly one port; a no-senders request answered at
//!   once by `mach_port_request_notification` has a `sync` the recorded make-send count has
//!   reached (`no-senders-before-sync`); the kernel deallocates only ports
//!   it receives; a subst-once wrapper is hollowed only while it owns its right.
//! * **The reply contract** (`ledger/reply.rs`), for every reply leaving
//!   `ipc_kobject_server` and every deferred reply, from the request and the MIG table alone:
//!   id = request id + 100, addressed to the request's reply port with its disposition, no
//!   local or voucher port; an error reply is a simple 44-byte `mig_reply_error_t` without
//!   descriptors; a success reply has the routine's `max_reply_msg`, descriptor count and
//!   complex bit; a request with a send-once reply right gets exactly one reply, from the
//!   server or later from a routine that answered `MIG_NO_REPLY` (never both, never two).
//! * **The label contract**, as copyout enforces it, for every entry of every space (with the
//!   conservation walk, and at any time through [`Kernel::audit_space_labels`]): a send or
//!   send-once right only to a port whose space label bits the space has, and never a
//!   send-once right to a port whose label substitutes; and never a send right to a port
//!   that copyout must substitute for that space (a subst-once wrapper; a task or thread
//!   control or read port with an alternate port, of the space's own task), unless a
//!   subst-once wrapper delivered exactly that right to exactly that space (XNU's way of
//!   handing out the non-substituted port, recorded when copyout hollows the wrapper).
//! * **Notification requests** (`ledger/requests.rs`): every dead-name, send-possible and
//!   port-destroyed request's send-once right is a holder of its notify port; the requests a
//!   port's table and `ip_pdrequest` hold equal its request and cancel / fire events
//!   (`request-conservation`); every request of an active port is pointed at by the entry of its
//!   name and every entry's `ie_request` by a request of its port for that name
//!   (`request-orphaned`); a request fired by its port's death still had its name, unless the
//!   name let go of it on a path that sees the port dead (`request-outlives-name`); a port is
//!   never freed with requests on it (`request-outlives-port`).
//! * **User references** (ledger_names.rs), in the same walk of the spaces: every entry's send
//!   or send-once right and its urefs equal what the ledger derived from the user-visible
//!   operations on the name (copyout adds one, pegged at `MACH_PORT_UREFS_MAX` as XNU's
//!   `ipc_right_copyout` leaves it; a moved copyin or dealloc takes one; `mod_refs` applies its
//!   delta with XNU's pegging; destroy, death and termination), and an entry with neither has
//!   none (`urefs-mismatch`); dead names likewise (`dead-name-urefs`), born with the
//!   references the ledger held for the right that died.
//! * **Teardown** ([`Kernel::audit_teardown`]): once every task and object owner is gone, only
//!   permanent ports and objects may remain, and no out-of-line copy may be left.
//! * Counter underflow and overflow, double release and use after free are caught where they
//!   happen (checked arithmetic in ipc_port.rs, generations in arena.rs), not here.
//!
//! # What it cannot see
//! * Mid-operation states: rights held in a function's local variables are invisible to it, so
//!   [`Kernel::audit`] is only meaningful when no operation is in flight (sequential callers after
//!   each step, the simulator at quiescence).
//! * Which of a port's send rights a slot holds: rights of one port are interchangeable, so a
//!   slot store that drops the new right and keeps the old one of the same port balances (as
//!   it does for every reader of the kernel). A kernel path that is not a MIG routine (the
//!   simulator's direct stores) names no target, so only the records judge its stores.
//! * A no-senders notification prepared while a send right existed is judged at the next
//!   audit, not when it fires, and only if no send right was made since (a make-send after
//!   the fire hides it; conservation still sees a counter that disagrees with the holders).
//! * User references of an operation that is refused: a urefs event is reported once the
//!   operation's checks passed, so a check that wrongly refuses (a pinned right, an underflow)
//!   changes neither the entry nor the record; the caller sees the error code.
//! * A call of the wrong path: events come from where XNU changes a quantity, so a copy-send
//!   that calls the make-send path reports a make-send and the count agrees (the reference
//!   model, which knows a copy from a make, sees it), and a move of a receive right that skips
//!   `ipc_port_clear_receiver` skips its reset event too.
//! * Receive-right cycles. Port sets are the names account's (ledger_names.rs).
//! * The user reference a dead name gains for its dead-name notification comes from the same
//!   function that adds it (the `Notified` event of the names account), so a path that skips
//!   both balances.
//! * Which notification a request became: a request cancelled into a port-deleted notification
//!   where XNU would have fired a dead-name one (or the reverse) consumes its right either way.
//!
//! # Where the audit's code is generated
//! The audit's functions, and the kernel accessors they call, are `#[inline]`, so rustc
//! generates their code in the crate that calls them. The simulator and the fuzz targets call
//! them through `kobject-unguided`, which fuzz builds leave uninstrumented: the walks run after
//! every action and would otherwise cost every execution thousands of coverage features and
//! comparison hooks that guide nothing. The event hooks (`ledger_*`) run inside the model's
//! operations and stay here.

use std::collections::{BTreeMap, BTreeSet};

use crate::ikot::*;
use crate::ipc_kmsg::{KDescriptor, Kmsg};
use crate::ipc_port::*;
use crate::ipc_space::{SpaceGuard, IE_BITS_RECEIVE, IE_BITS_SEND, IE_BITS_SEND_ONCE};
use crate::kernel::{Kernel, ObjId, ObjKind, SpaceId, IPC_SPACE_KERNEL};
use crate::mach::*;
use crate::outcome::Finding;
use crate::sync::BookLock;

/// A right or reference the caller holds outside the model's own holders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Held {
    Send(PortId),
    SendOnce(PortId),
    Receive(PortId),
    PortRef(PortId),
    ObjectRef(ObjId),
}

/// Where a caller's audits run: the ledger's own [`Kernel::audit`] and
/// [`Kernel::audit_teardown`] by default. The fuzz targets pass the same two functions as
/// generated in the `kobject-unguided` crate, which fuzz builds leave uninstrumented; what is
/// checked is the same either way.
#[derive(Clone, Copy, Debug)]
pub struct Auditor {
    pub audit: fn(&Kernel, &[Held]) -> Result<(), Finding>,
    pub audit_teardown: fn(&Kernel) -> Result<(), Finding>,
}

impl Default for Auditor {
    fn default() -> Auditor {
        Auditor {
            audit: Kernel::audit,
            audit_teardown: Kernel::audit_teardown,
        }
    }
}

/// Which of a kernel object's slots (`ObjLocked::slot`, `ObjLocked::slot_sonce`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SlotKind {
    Send,
    SendOnce,
}

mod records;
mod reply;
mod requests;

use records::PortRecords;
pub use reply::ReplyExpectation;

#[derive(Default)]
struct EventState {
    /// Prepared kobject no-senders notifications not yet delivered, per port.
    tokens: BTreeMap<PortId, u32>,
    /// The port each lazily allocated kobject published.
    published: BTreeMap<IpcKobject, PortId>,
    /// What each live port's counters must be, from events alone.
    ports: PortRecords,
    /// Requests with a send-once reply right not yet answered: in dispatch, or deferred by a
    /// routine that answered `MIG_NO_REPLY`.
    owed: Vec<ReplyExpectation>,
    /// Send rights a subst-once wrapper delivered unsubstituted: (target, space).
    unsubstituted: BTreeSet<(PortId, SpaceId)>,
    /// Whose each dead-name / send-possible request is: (port, request index) -> the space and
    /// name that made it, and whether that name has since let go of it (turned into a dead
    /// name, or dropped with its dead port) so the request fires for nobody's live name.
    request_names: BTreeMap<(PortId, u32), (SpaceId, MachPortName, bool)>,
    /// The right each kernel object's slot holds, from the store and take events alone.
    slots: BTreeMap<(ObjId, SlotKind), PortId>,
    fired: u64,
    armed: u64,
}

/// The event side of the ledger, owned by the kernel.
#[derive(Default)]
pub struct LedgerEvents {
    state: BookLock<EventState>,
}

impl Default for BookLock<EventState> {
    fn default() -> Self {
        BookLock::new(EventState::default())
    }
}

/// Expected holdings of one port, derived from its holders.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Expected {
    send: u32,
    send_once: u32,
    receive: u32,
    armed: u32,
    tokens: u32,
    refs_extra: u32,
    /// Rights counted on a dead port that own no reference (see `PortRecord::abandoned_send`).
    abandoned: u32,
}

impl Expected {
    /// Every right owns a reference (but an abandoned one); so do the kernel's receive right,
    /// an armed request and a prepared notification.
    #[inline]
    fn refs(&self) -> u32 {
        (self.send + self.send_once + self.receive + self.armed + self.tokens + self.refs_extra)
            .saturating_sub(self.abandoned)
    }
}

impl Kernel {
    /// A port was allocated, received by `space`.
    pub(crate) fn ledger_port_allocated(&self, p: PortId, space: SpaceId) {
        self.ledger.state.with(|s| {
            s.ports.fresh(p).kernel_receive = space == IPC_SPACE_KERNEL;
        });
    }

    pub(crate) fn ledger_port_freed(&self, p: PortId) {
        let (pending, requests) = self.ledger.state.with(|s| {
            let requests = s.ports.get(p).requests;
            s.ports.forget(p);
            if !s.unsubstituted.is_empty() {
                s.unsubstituted.retain(|&(target, _)| target != p);
            }
            (s.tokens.remove(&p), requests)
        });
        Self::ledger_requests_at_free(p, requests);
        if let Some(n) = pending.filter(|&n| n > 0) {
            Finding::violation(
                "notification-ref",
                format!(
                    "{p} freed while {n} prepared no-senders notification(s) still own a reference"
                ),
            )
            .raise();
        }
    }

    pub(crate) fn ledger_object_freed(&self, o: ObjId) {
        self.ledger.state.with(|s| {
            s.published.remove(&IpcKobject::Object(o));
            s.slots.remove(&(o, SlotKind::Send));
            s.slots.remove(&(o, SlotKind::SendOnce));
        });
    }

    /// Under `o`'s lock, its `kind` slot gave up `taken` and now holds `stored`. `call_target`
    /// is the target a routine's stub converted, when a routine stores: a routine's right goes
    /// to its own target. What was taken must be what the ledger saw stored.
    pub(crate) fn ledger_slot_swapped(
        &self,
        o: ObjId,
        kind: SlotKind,
        taken: IpcPort,
        stored: IpcPort,
        call_target: Option<ObjId>,
    ) {
        if let Some(target) = call_target.filter(|&t| t != o) {
            Finding::violation(
                "slot-mismatch",
                format!("a routine on {target} stored {stored:?} in {kind:?} slot of {o}"),
            )
            .raise();
        }
        let recorded = self.ledger.state.with(|s| match stored {
            IpcPort::Port(p) => s.slots.insert((o, kind), p),
            _ => s.slots.remove(&(o, kind)),
        });
        let taken = match taken {
            IpcPort::Port(p) => Some(p),
            _ => None,
        };
        if recorded != taken {
            Finding::violation(
                "slot-mismatch",
                format!(
                    "{kind:?} slot of {o} gave up {taken:?}, but the ledger saw {recorded:?} stored"
                ),
            )
            .raise();
        }
    }

    /// A send right was made (`ip_mscount` counts it).
    pub(crate) fn ledger_make_send(&self, p: PortId) {
        self.ledger.state.with(|s| {
            let r = s.ports.get_mut(p);
            r.mscount = r.mscount.wrapping_add(1);
        });
    }

    /// The port's receive right left its receiver (`ipc_port_clear_receiver`): the make-send
    /// count starts again.
    pub(crate) fn ledger_mscount_reset(&self, p: PortId) {
        self.ledger.state.with(|s| {
            let r = s.ports.get_mut(p);
            r.mscount = 0;
            r.fired_at = None;
        });
    }

    /// The kernel gave up the receive right it was allocated with (`ipc_port_dealloc_special`).
    pub(crate) fn ledger_kernel_receive_released(&self, p: PortId) {
        let held = self
            .ledger
            .state
            .with(|s| std::mem::take(&mut s.ports.get_mut(p).kernel_receive));
        if !held {
            Finding::violation(
                "kernel-receive-right",
                format!("{p} deallocated by the kernel space, which never received it"),
            )
            .raise();
        }
    }

    /// A kobject no-senders request was armed; `sync` is the make-send count an
    /// `ipc_kobject_nsrequest_locked` caller passed (`None` when armed at allocation). The
    /// port's kobject and type at the arm name the object a donating type's request owns a
    /// reference on, from then until its notification is consumed.
    pub(crate) fn ledger_nsrequest_armed(
        &self,
        p: PortId,
        sync: Option<MachPortMscount>,
        kobject: IpcKobject,
        ty: IpcKobjectType,
    ) {
        let was_armed = self.ledger.state.with(|s| {
            s.armed += 1;
            let r = s.ports.get_mut(p);
            r.donee = match kobject {
                IpcKobject::Object(o) if donates_on_arm(ty) => Some(o),
                _ => None,
            };
            let was = std::mem::replace(&mut r.armed, true);
            r.armed_needs_sender = sync.is_some_and(|sync| sync <= r.mscount);
            was
        });
        if was_armed {
            Finding::violation(
                "nsrequest-double-arm",
                format!("{p}: a no-senders request armed while one already is"),
            )
            .raise();
        }
    }

    /// `prepare` moved an armed request into a token. Whether a send right was left is judged
    /// at the next audit, from the holders (see `PortRecord::fired_at`).
    pub(crate) fn ledger_nsrequest_fired(&self, p: PortId) {
        let was_armed = self.ledger.state.with(|s| {
            *s.tokens.entry(p).or_insert(0) += 1;
            s.fired += 1;
            let r = s.ports.get_mut(p);
            r.fired_at = Some(r.mscount);
            std::mem::take(&mut r.armed)
        });
        self.ledger_require_armed(p, was_armed, "fired");
    }

    /// The destroy path dropped an armed request with its reference.
    pub(crate) fn ledger_nsrequest_dropped(&self, p: PortId) {
        let was_armed = self
            .ledger
            .state
            .with(|s| std::mem::take(&mut s.ports.get_mut(p).armed));
        self.ledger_require_armed(p, was_armed, "dropped");
    }

    fn ledger_require_armed(&self, p: PortId, was_armed: bool, what: &str) {
        if !was_armed {
            Finding::violation(
                "nsrequest-mismatch",
                format!("no-senders request of {p} {what}, but none was armed"),
            )
            .raise();
        }
    }

    /// `ipc_port_nsrequest` sends a no-senders notification at once, at request time. XNU does
    /// that only when the make-send count has reached the requester's `sync`, and arms the
    /// request otherwise. The count compared is the ledger's own, from the make-send events.
    pub(crate) fn ledger_no_senders_at_once(&self, p: PortId, sync: MachPortMscount) {
        let mscount = self.ledger.state.with(|s| s.ports.get_mut(p).mscount);
        if sync > mscount {
            Finding::violation(
                "no-senders-before-sync",
                format!(
                    "{p}: a no-senders notification sent at request time with sync {sync} above \
                     the make-send count {mscount}; XNU arms the request instead"
                ),
            )
            .raise();
        }
    }

    /// A kobject no-senders callback is about to run: it must consume a prepared notification.
    /// A subst-once wrapper's callback takes over the send right its wrapper owned.
    pub(crate) fn ledger_nsrequest_consumed(&self, p: PortId) {
        let ok = self.ledger.state.with(|s| {
            s.ports.get_mut(p).subst_target = None;
            match s.tokens.get_mut(&p) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    true
                }
                _ => false,
            }
        });
        if !ok {
            let (srights, armed) = {
                let g = self.ip_mq_lock(p);
                (g.ip_srights, g.ip_nsrequest == NsRequest::KobjectArmed)
            };
            Finding::violation(
                "no-senders-without-request",
                format!(
                    "ipc_kobject_notify_no_senders on {p} ({}) without a prepared notification \
                     (ip_srights {srights}, armed {armed}): it would consume a reference nobody donated",
                    ikot_name(self.ip_kotype(p))
                ),
            )
            .raise();
        }
    }

    /// A subst-once wrapper was made around a send right on `target`.
    pub(crate) fn ledger_subst_once_stored(&self, wrapper: PortId, target: PortId) {
        self.ledger
            .state
            .with(|s| s.ports.get_mut(wrapper).subst_target = Some(target));
    }

    /// Copyout into `space` hollowed a subst-once wrapper: the target's send right left it for
    /// the space, which may hold it unsubstituted.
    pub(crate) fn ledger_subst_once_taken(&self, wrapper: PortId, space: SpaceId) {
        let had = self.ledger.state.with(|s| {
            let target = s.ports.get_mut(wrapper).subst_target.take();
            if let Some(target) = target {
                s.unsubstituted.insert((target, space));
            }
            target
        });
        if had.is_none() {
            Finding::violation(
                "subst-once-target",
                format!("subst-once wrapper {wrapper} hollowed, but it owned no right"),
            )
            .raise();
        }
    }

    /// A message to dead `p` left its destination right counted but unowned: XNU's
    /// `ipc_kmsg_send` drops only the reference.
    pub(crate) fn ledger_right_abandoned(&self, p: PortId, disposition: MachMsgTypeName) {
        self.ledger.state.with(|s| {
            let r = s.ports.get_mut(p);
            match disposition {
                MACH_MSG_TYPE_PORT_SEND => r.abandoned_send += 1,
                _ => r.abandoned_sonce += 1,
            }
        });
    }

    pub(crate) fn ledger_lazy_published(&self, kobject: IpcKobject, p: PortId) {
        let previous = self.ledger.state.with(|s| s.published.insert(kobject, p));
        if let Some(old) = previous.filter(|&old| old != p) {
            Finding::violation(
                "lazy-alloc-one-port",
                format!(
                    "{kobject:?} published a second port {p} (first {old}) through its port_store"
                ),
            )
            .raise();
        }
    }

    /// Counts of armed requests and fired notifications so far.
    pub fn ledger_stats(&self) -> (u64, u64) {
        self.ledger.state.with(|s| (s.armed, s.fired))
    }

    /// Checks conservation of rights and references at a quiescent point. `held` lists what the
    /// caller holds outside the model (naked rights a test or driver keeps).
    #[inline]
    pub fn audit(&self, held: &[Held]) -> Result<(), Finding> {
        let mut t = Tallies::sized(self.ports.high_water(), self.objects.high_water());
        let mut requests = requests::EntryRequests::default();
        self.audit_spaces(&mut t, &mut requests)?;
        let seen = self.audit_ports(&mut t, &mut requests)?;
        self.audit_objects(&mut t)?;
        for h in held {
            match *h {
                Held::Send(p) => t.port(p)?.send += 1,
                Held::SendOnce(p) => t.port(p)?.send_once += 1,
                Held::Receive(p) => t.port(p)?.receive += 1,
                Held::PortRef(p) => t.port(p)?.refs_extra += 1,
                Held::ObjectRef(o) => *t.object(o)? += 1,
            }
        }
        self.ledger_owed_prune(|port| match port {
            IpcPort::Port(p) => t.peek_port(p).send_once > 0,
            _ => false,
        });
        for (p, seen) in &seen {
            let e = t.take_port(*p);
            if !seen.balances(&e) {
                return Err(self.port_mismatch(*p, seen, e));
            }
            if seen.quiet_since_fire && e.send != 0 {
                return Err(Finding::violation(
                    "no-senders-with-senders",
                    format!(
                        "{p} ({}): its no-senders notification fired and no send right was made \
                         since, yet holders have {} send right(s)",
                        ikot_name(seen.kotype),
                        e.send
                    ),
                ));
            }
            if seen.needs_sender && e.send == 0 {
                return Err(Finding::violation(
                    "armed-without-senders",
                    format!(
                        "{p} ({}) is active and armed with no send right anywhere: the request \
                         was armed with sync at or below the make-send count, which \
                         ipc_kobject_nsrequest_locked refuses (KERN_FAILURE) without senders",
                        ikot_name(seen.kotype)
                    ),
                ));
            }
        }
        for o in self.iter_live_objects() {
            let want = t.take_object(o);
            let refs = self.object_refs(o);
            if refs != want {
                return Err(self.object_mismatch(o, refs, want));
            }
        }
        t.no_dangling_holders()
    }

    /// The label contract (see the module header) for every entry of one space. Labels never change, so unlike [`Kernel::audit`] this holds at any
    /// point, not only at quiescence: a thread may check the space it alone changes.
    #[inline]
    pub fn audit_space_labels(&self, space: SpaceId) -> Result<(), Finding> {
        let sg = self.is_write_lock(space);
        for (&name, entry) in &sg.is_table {
            if let Some(p) = entry.ie_object {
                self.check_entry_label(&sg, name, entry.ie_bits, p)?;
            }
        }
        Ok(())
    }

    /// The label contract of one entry, as copyout enforces it: a send or send-once right only
    /// to a port whose space label bits the space has, and never a send-once right to a port
    /// whose label substitutes (the label check refuses every right but a send right there).
    #[inline]
    fn check_entry_label(
        &self,
        sg: &SpaceGuard<'_>,
        name: MachPortName,
        ie_bits: u32,
        p: PortId,
    ) -> Result<(), Finding> {
        if ie_bits & (IE_BITS_SEND | IE_BITS_SEND_ONCE) == 0 {
            return Ok(());
        }
        let Some(label) = self.port_kolabel(p) else {
            return Ok(());
        };
        let need = label & IPC_LABEL_SPACE_MASK;
        if need & sg.is_label != need {
            return Err(Finding::violation(
                "label-contract",
                format!(
                    "{:?} (label {:#x}) holds name {name:#x} for labeled {p} whose label it lacks",
                    sg.id, sg.is_label
                ),
            ));
        }
        if ie_bits & IE_BITS_SEND_ONCE != 0 && label & IPC_LABEL_SUBST_MASK != 0 {
            return Err(Finding::violation(
                "label-contract",
                format!(
                    "{:?} holds name {name:#x}, a send-once right to {p} whose label {label:#x} \
                     substitutes: the label check refuses all but send rights to such a port",
                    sg.id
                ),
            ));
        }
        if ie_bits & IE_BITS_SEND != 0
            && self.copyout_substitutes(sg, p, label)
            && !self
                .ledger
                .state
                .with(|s| s.unsubstituted.contains(&(p, sg.id)))
        {
            return Err(Finding::violation(
                "label-contract",
                format!(
                    "{:?} holds name {name:#x}, a send right to {p} (label {label:#x}) that copyout \
                     must substitute for this space, and no subst-once wrapper delivered it",
                    sg.id
                ),
            ));
        }
        Ok(())
    }

    /// Whether copyout into `sg` must replace a send right to `p` (labeled `label`): a
    /// subst-once wrapper always, a task or thread port (or their read ports) with an alternate
    /// port when its task is the space's own.
    #[inline]
    fn copyout_substitutes(&self, sg: &SpaceGuard<'_>, p: PortId, label: IpcLabel) -> bool {
        let subst = label & IPC_LABEL_SUBST_MASK;
        if subst == 0 {
            return false;
        }
        let g = self.ip_mq_lock(p);
        if !g.ip_active() {
            return false;
        }
        if subst == IPC_LABEL_SUBST_ONCE {
            return true;
        }
        let has_alt = g.ip_kolabel.is_some_and(|l| IP_VALID(l.ikol_alt_port));
        let IpcKobject::Object(o) = g.ip_kobject.value else {
            return false;
        };
        drop(g);
        let task = match subst {
            IPC_LABEL_SUBST_THREAD | IPC_LABEL_SUBST_THREAD_READ => self.get_threadtask(o),
            _ => Some(o),
        };
        has_alt && task.is_some() && task == sg.is_task
    }

    #[inline]
    fn audit_spaces(
        &self,
        t: &mut Tallies,
        requests: &mut requests::EntryRequests,
    ) -> Result<(), Finding> {
        // Dead names' user references and port sets: a separate account (ledger_names.rs),
        // checked in the same walk so the audit takes no extra lock.
        let mut dead_names = self.dead_names_expected();
        let mut rights_matched = 0;
        for space in self.iter_live_spaces() {
            let sg = self.is_write_lock(space);
            Self::audit_dead_names_of(&sg, &mut dead_names)?;
            self.audit_urefs_of(&sg, &mut rights_matched)?;
            self.audit_psets_of(&sg)?;
            for (&name, entry) in &sg.is_table {
                let Some(p) = entry.ie_object else { continue };
                requests.note(space, name, entry);
                let bits = entry.ie_bits;
                if bits & (IE_BITS_SEND | IE_BITS_SEND_ONCE | IE_BITS_RECEIVE) == 0 {
                    continue;
                }
                self.check_entry_label(&sg, name, bits, p)?;
                let e = t.port(p)?;
                e.send += (bits & IE_BITS_SEND != 0) as u32;
                e.send_once += (bits & IE_BITS_SEND_ONCE != 0) as u32;
                e.receive += (bits & IE_BITS_RECEIVE != 0) as u32;
            }
        }
        Self::audit_dead_names_left(dead_names)?;
        self.audit_urefs_left(rights_matched)?;
        self.audit_reply_ports()
    }

    /// Tallies what each port holds (queued messages, a subst-once target, armed requests and
    /// donated object references), all from the ledger's own records, checks the port's
    /// counters that are not conserved quantities (make-send count, armed request, kernel
    /// receive right, subst-once target) against those records, and snapshots the rest for
    /// the comparison.
    #[inline]
    fn audit_ports(
        &self,
        t: &mut Tallies,
        requests: &mut requests::EntryRequests,
    ) -> Result<Vec<(PortId, Seen)>, Finding> {
        // Prepared notifications are rare; most audits find none to copy.
        let (tokens, records) = self.ledger.state.with(|s| {
            let tokens = (!s.tokens.is_empty()).then(|| s.tokens.clone());
            (tokens.unwrap_or_default(), s.ports.clone())
        });
        let mut seen = Vec::with_capacity(self.ports.live_count() as usize);
        for p in self.iter_live_ports() {
            let g = self.ip_mq_lock(p);
            for kmsg in &g.ip_messages {
                count_kmsg_rights(kmsg, t)?;
            }
            if let NsRequest::Port(n) = g.ip_nsrequest {
                t.port(n)?.send_once += 1;
            }
            let r = records.get(p);
            check_port_record(&g, &r)?;
            Self::audit_port_requests(&g, r.requests, requests, t)?;
            let ty = g.ip_kotype();
            let pending = tokens.get(&p).copied().unwrap_or(0);
            let e = t.port(p)?;
            e.receive += r.kernel_receive as u32;
            e.armed += r.armed as u32;
            e.tokens += pending;
            e.send += r.abandoned_send;
            e.send_once += r.abandoned_sonce;
            e.abandoned += r.abandoned_send + r.abandoned_sonce;
            if let Some(target) = r.subst_target {
                t.port(target)?.send += 1;
            }
            if let (IpcKobject::Object(o), IKOT_TIMER) = (g.ip_kobject.value, ty) {
                *t.object(o)? += 1;
            }
            // An armed request, or a prepared notification, owns the reference donated at the arm.
            if let Some(o) = r.donee.filter(|_| r.armed || pending > 0) {
                *t.object(o)? += r.armed as u32 + pending;
            }
            seen.push((
                p,
                Seen {
                    srights: g.ip_srights,
                    sorights: g.ip_sorights,
                    refs: g.refs(),
                    kotype: ty,
                    needs_sender: r.armed && r.armed_needs_sender && g.ip_active(),
                    quiet_since_fire: r.fired_at == Some(r.mscount),
                },
            ));
        }
        Ok(seen)
    }

    #[inline]
    fn audit_objects(&self, t: &mut Tallies) -> Result<(), Finding> {
        for o in self.iter_live_objects() {
            let kind = self.object_kind(o);
            let obj = self.object(o);
            let s = obj.lock.lock();
            // A timer's creator hands its only reference to the port association
            // (mk_timer_create), which `audit_ports` already counts: no creator reference here.
            *t.object(o)? += (s.alive && kind != ObjKind::Timer) as u32;
            if let IpcPort::Port(p) = s.slot {
                t.port(p)?.send += 1;
            }
            if let IpcPort::Port(p) = s.slot_sonce {
                t.port(p)?.send_once += 1;
            }
            self.check_slots(o, s.slot, s.slot_sonce)?;
            if let (ObjKind::Thread, true, Some(task)) = (kind, s.alive, s.owner) {
                *t.object(task)? += 1;
            }
            // An identity token holds a reference on the task it names until it is freed.
            if let (ObjKind::Generic, IKOT_TASK_ID_TOKEN, Some(task)) = (kind, s.kotype, s.owner) {
                *t.object(task)? += 1;
            }
        }
        Ok(())
    }

    /// An object's slots against the rights the ledger saw stored there.
    #[inline]
    fn check_slots(&self, o: ObjId, send: IpcPort, sonce: IpcPort) -> Result<(), Finding> {
        let (want_send, want_sonce) = self.ledger.state.with(|s| {
            (
                s.slots.get(&(o, SlotKind::Send)).copied(),
                s.slots.get(&(o, SlotKind::SendOnce)).copied(),
            )
        });
        for (kind, held, want) in [
            (SlotKind::Send, send, want_send),
            (SlotKind::SendOnce, sonce, want_sonce),
        ] {
            let held = match held {
                IpcPort::Port(p) => Some(p),
                _ => None,
            };
            if held != want {
                return Err(Finding::violation(
                    "slot-mismatch",
                    format!(
                        "{kind:?} slot of {o} ({:?}) holds {held:?}, the ledger saw {want:?} stored",
                        self.object_kind(o)
                    ),
                ));
            }
        }
        Ok(())
    }

    fn port_mismatch(&self, p: PortId, seen: &Seen, e: Expected) -> Finding {
        let want_refs = e.refs();
        let invariant = if seen.srights != e.send {
            if seen.srights > e.send {
                "send-right-leak"
            } else {
                "send-right-overcount"
            }
        } else if seen.sorights != e.send_once {
            "send-once-right-conservation"
        } else if seen.refs > want_refs {
            "reference-leak"
        } else {
            "reference-overrelease"
        };
        Finding::violation(
            invariant,
            format!(
                "{p} ({}): ip_srights {} (holders {}), ip_sorights {} (holders {}), io_references {} \
                 (holders {want_refs}: {} send + {} send-once + {} receive + {} armed + {} pending \
                 notification + {} other - {} abandoned on a dead port)",
                ikot_name(seen.kotype),
                seen.srights,
                e.send,
                seen.sorights,
                e.send_once,
                seen.refs,
                e.send,
                e.send_once,
                e.receive,
                e.armed,
                e.tokens,
                e.refs_extra,
                e.abandoned
            ),
        )
    }

    fn object_mismatch(&self, o: ObjId, refs: u32, want: u32) -> Finding {
        let invariant = if refs > want {
            "object-reference-leak"
        } else {
            "object-reference-overrelease"
        };
        Finding::violation(
            invariant,
            format!(
                "{o} ({:?}): {refs} references, holders account for {want}",
                self.object_kind(o)
            ),
        )
    }

    /// Teardown check: with every owner gone, only permanent ports and objects may remain.
    #[inline]
    pub fn audit_teardown(&self) -> Result<(), Finding> {
        self.audit(&[])?;
        for p in self.live_ports() {
            let ty = self.ip_kotype(p);
            if self.ipc_kobject_ops_get(ty).iko_op_permanent && self.ip_active(p) {
                continue;
            }
            let g = self.ip_mq_lock(p);
            return Err(Finding::violation(
                "leak-at-teardown",
                format!(
                    "{p} ({}) is still allocated at teardown: active {}, ip_srights {}, ip_sorights {}, io_references {}",
                    ikot_name(ty), g.ip_active(), g.ip_srights, g.ip_sorights, g.refs()
                ),
            ));
        }
        for o in self.live_objects() {
            let kind = self.object_kind(o);
            if matches!(
                kind,
                ObjKind::Host
                    | ObjKind::HostPriv
                    | ObjKind::Processor
                    | ObjKind::Pset
                    | ObjKind::Clock
            ) {
                continue;
            }
            return Err(Finding::violation(
                "leak-at-teardown",
                format!(
                    "{o} ({kind:?}) is still allocated at teardown with {} references",
                    self.object_refs(o)
                ),
            ));
        }
        if self.ool_live_count() != 0 {
            return Err(Finding::violation(
                "ool-leak",
                format!(
                    "{} out-of-line copies are still owned at teardown",
                    self.ool_live_count()
                ),
            ));
        }
        Ok(())
    }
}

/// Types whose armed notification owns a donated object reference, given back by the callback.
pub(crate) fn donates_on_arm(ty: IpcKobjectType) -> bool {
    !matches!(
        ty,
        IKOT_TASK_CONTROL | IKOT_TASK_RESUME | IKOT_PORT_SUBST_ONCE | IKOT_NONE
    ) && IKOT_INFO
        .get(ty as usize)
        .is_some_and(|i| i.no_senders.is_some())
}

#[inline]
fn count_right(t: &mut Tallies, port: IpcPort, disposition: u32) -> Result<(), Finding> {
    let IpcPort::Port(p) = port else {
        return Ok(());
    };
    let e = t.port(p)?;
    match disposition {
        MACH_MSG_TYPE_PORT_SEND => e.send += 1,
        MACH_MSG_TYPE_PORT_SEND_ONCE => e.send_once += 1,
        MACH_MSG_TYPE_PORT_RECEIVE => e.receive += 1,
        _ => {}
    }
    Ok(())
}

/// Rights a queued message owns.
#[inline]
fn count_kmsg_rights(kmsg: &Kmsg, t: &mut Tallies) -> Result<(), Finding> {
    let bits = kmsg.msgh_bits;
    count_right(t, kmsg.msgh_remote_port, mach_msgh_bits_remote(bits))?;
    count_right(t, kmsg.msgh_local_port, mach_msgh_bits_local(bits))?;
    count_right(t, kmsg.msgh_voucher_port, mach_msgh_bits_voucher(bits))?;
    for d in &kmsg.body {
        match d {
            KDescriptor::Port { name, disposition } => count_right(t, *name, *disposition)?,
            KDescriptor::OolPorts { ports, disposition } => {
                for &p in ports {
                    count_right(t, p, *disposition)?;
                }
            }
            KDescriptor::Ool { .. } => {}
        }
    }
    Ok(())
}

/// A port's own counters, read once under its lock.
struct Seen {
    srights: u32,
    sorights: u32,
    refs: u32,
    kotype: IpcKobjectType,
    /// Armed where XNU arms only with a sender (see `PortRecord::armed_needs_sender`).
    needs_sender: bool,
    /// Fired with no make-send since (see `PortRecord::fired_at`).
    quiet_since_fire: bool,
}

/// The port's counters that the conservation walk does not cover, against the ledger's record.
#[inline]
fn check_port_record(g: &PortGuard<'_>, r: &records::PortRecord) -> Result<(), Finding> {
    let p = g.id;
    if g.ip_mscount != r.mscount {
        return Err(Finding::violation(
            "mscount-mismatch",
            format!(
                "{p} ({}): ip_mscount {}, but {} send right(s) were made since its receive \
                 right last moved",
                ikot_name(g.ip_kotype()),
                g.ip_mscount,
                r.mscount
            ),
        ));
    }
    let armed = g.ip_nsrequest == NsRequest::KobjectArmed;
    if armed != r.armed {
        return Err(Finding::violation(
            "nsrequest-mismatch",
            format!(
                "{p} ({}): ip_nsrequest armed {armed}, but the arm and fire events say {}",
                ikot_name(g.ip_kotype()),
                r.armed
            ),
        ));
    }
    let kernel_received = g.ip_active()
        && matches!(g.receiver, Receiver::InSpace { space, .. } if space == IPC_SPACE_KERNEL);
    if kernel_received != r.kernel_receive {
        return Err(Finding::violation(
            "kernel-receive-right",
            format!(
                "{p} ({}): the kernel space receives it {kernel_received}, but its allocation \
                 and dealloc events say {}",
                ikot_name(g.ip_kotype()),
                r.kernel_receive
            ),
        ));
    }
    let stored = match g.ip_kobject.value {
        IpcKobject::Port(target) if g.ip_kotype() == IKOT_PORT_SUBST_ONCE => Some(target),
        _ => None,
    };
    if stored != r.subst_target {
        return Err(Finding::violation(
            "subst-once-target",
            format!(
                "{p}: the subst-once wrapper points at {stored:?}, but it owns a send right on {:?}",
                r.subst_target
            ),
        ));
    }
    Ok(())
}

impl Seen {
    /// Whether the counters are exactly what the holders account for.
    #[inline]
    fn balances(&self, e: &Expected) -> bool {
        self.srights == e.send && self.sorights == e.send_once && self.refs == e.refs()
    }
}

/// Tallies per arena slot (no map lookups on the fuzzer's hot path). A slot remembers the
/// generation its holders named: two generations, or a holder of a slot no live port has, is a
/// dangling holder, a use after free waiting to happen.
#[derive(Default)]
struct Tallies {
    ports: Vec<(u32, Expected)>,
    objects: Vec<(u32, u32)>,
}

fn tally_slot<'a, T: Default>(
    v: &'a mut Vec<(u32, T)>,
    idx: u32,
    gen: u32,
    what: &dyn Fn() -> String,
) -> Result<&'a mut T, Finding> {
    let i = idx as usize;
    if v.len() <= i {
        v.resize_with(i + 1, || (0, T::default()));
    }
    let slot = &mut v[i];
    if slot.0 == 0 {
        slot.0 = gen;
    } else if slot.0 != gen {
        return Err(Finding::violation(
            "dangling-holder",
            format!(
                "{} is named by holders of two generations ({} and {gen})",
                what(),
                slot.0
            ),
        ));
    }
    Ok(&mut slot.1)
}

impl Tallies {
    /// Room for every slot index handed out so far, so the walk never grows the tables.
    #[inline]
    fn sized(ports: u32, objects: u32) -> Tallies {
        Tallies {
            ports: vec![(0, Expected::default()); ports as usize],
            objects: vec![(0, 0); objects as usize],
        }
    }

    #[inline]
    fn port(&mut self, p: PortId) -> Result<&mut Expected, Finding> {
        tally_slot(&mut self.ports, p.0.idx, p.0.gen, &|| format!("{p}"))
    }

    #[inline]
    fn object(&mut self, o: ObjId) -> Result<&mut u32, Finding> {
        tally_slot(&mut self.objects, o.0.idx, o.0.gen, &|| format!("{o}"))
    }

    /// The tally of `p` so far, left in place.
    #[inline]
    fn peek_port(&self, p: PortId) -> Expected {
        match self.ports.get(p.0.idx as usize) {
            Some(slot) if slot.0 == p.0.gen => slot.1,
            _ => Expected::default(),
        }
    }

    /// The tally of a live port, cleared so that what remains afterwards is dangling.
    #[inline]
    fn take_port(&mut self, p: PortId) -> Expected {
        match self.ports.get_mut(p.0.idx as usize) {
            Some(slot) if slot.0 == p.0.gen => std::mem::take(slot).1,
            _ => Expected::default(),
        }
    }

    #[inline]
    fn take_object(&mut self, o: ObjId) -> u32 {
        match self.objects.get_mut(o.0.idx as usize) {
            Some(slot) if slot.0 == o.0.gen => std::mem::take(slot).1,
            _ => 0,
        }
    }

    /// After every live port and object took its tally, any tally left names a freed one.
    #[inline]
    fn no_dangling_holders(&self) -> Result<(), Finding> {
        if let Some((idx, (gen, e))) = self.ports.iter().enumerate().find(|(_, (g, _))| *g != 0) {
            return Err(Finding::violation(
                "dangling-holder",
                format!(
                    "port slot {idx} (generation {gen}) is freed, yet holders still name it: {e:?}"
                ),
            ));
        }
        if let Some((idx, (gen, n))) = self.objects.iter().enumerate().find(|(_, (g, _))| *g != 0) {
            return Err(Finding::violation(
                "dangling-holder",
                format!("object slot {idx} (generation {gen}) is freed, yet {n} holder(s) still name it"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::IPC_SPACE_KERNEL;
    use crate::outcome::catch;
    use crate::sync::Platform;
    use crate::Bugs;

    /// A no-senders notification at request time is judged by the ledger's own make-send count:
    /// `sync` at or below it passes, above it is a finding.
    #[test]
    fn no_senders_at_once_needs_its_sync_reached() {
        let k = Kernel::new(Platform::Native, Bugs::NONE);
        let p = k.ipc_port_alloc_special(IPC_SPACE_KERNEL, 0).id();
        k.ledger_make_send(p);
        assert!(catch(|| k.ledger_no_senders_at_once(p, 1)).is_ok());
        let f = catch(|| k.ledger_no_senders_at_once(p, 2)).expect_err("sync 2 above 1");
        assert_eq!(f.invariant, "no-senders-before-sync");
    }
}
