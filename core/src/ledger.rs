//! The invariant ledger: an auditor independent of the model's own counters.
//!
//! # What it checks
//! * **Conservation, at quiescence** ([`Kernel::audit`]). It walks every holder the model has:
//!   space entries, messages queued on ports (header rights and descriptors), the kernel's receive
//!   rights, armed no-senders requests and prepared-but-unconsumed notifications, the send right a
//!   subst-once wrapper owns, the rights kernel objects store in their slots, and the rights the
//!   caller says it holds. From those alone it derives, per port, the send rights, send-once
//!   rights and references there must be, and compares them with `ip_srights`, `ip_sorights` and
//!   `io_references`. Per object it derives the references (creator, donated lazy-port
//!   references, a thread's hold on its task, an identity token's hold on its task, a timer
//!   port's hold) and compares with the count.
//!   A holder that names a port or object whose slot was freed (or reused by a newer generation)
//!   is a `dangling-holder`: a use after free waiting to happen.
//! * **Events, always on**: a kobject no-senders callback must consume a notification that
//!   `ipc_notify_no_senders_prepare` produced with `ip_srights` at 0 and the request armed (a
//!   spoofed or doubled callback is caught here); a lazily allocated kobject publishes exactly one
//!   port.
//! * **The label contract**, as copyout enforces it, for every entry of every space (with the
//!   conservation walk, and at any time through [`Kernel::audit_space_labels`]): a send or
//!   send-once right only to a port whose space label bits the space has, and never a send-once
//!   right to a port whose label substitutes.
//! * **Teardown** ([`Kernel::audit_teardown`]): once every task and object owner is gone, only
//!   permanent ports and objects may remain, and no out-of-line copy may be left.
//! * Counter underflow and overflow, double release and use after free are caught where they
//!   happen (checked arithmetic in ipc_port.rs, generations in arena.rs), not here.
//!
//! # What it deliberately does not check
//! * Mid-operation states: rights held in a function's local variables are invisible to it, so
//!   [`Kernel::audit`] is only meaningful when no operation is in flight (sequential callers after
//!   each step, the simulator at quiescence).
//! * `ip_mscount`: XNU itself rewrites it (destroy, the lazy-allocation undo); the auditor only
//!   relies on it through XNU's own dealloc checks.
//! * User reference counts (`urefs`) beyond their bound; receive-right cycles; port sets.

use std::collections::BTreeMap;

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

#[derive(Default)]
struct EventState {
    /// Prepared kobject no-senders notifications not yet delivered, per port.
    tokens: BTreeMap<PortId, u32>,
    /// The port each lazily allocated kobject published.
    published: BTreeMap<IpcKobject, PortId>,
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
}

impl Expected {
    /// Every right owns a reference; so do the kernel's receive right, an armed request and a
    /// prepared notification.
    fn refs(&self) -> u32 {
        self.send + self.send_once + self.receive + self.armed + self.tokens + self.refs_extra
    }
}

impl Kernel {
    pub(crate) fn ledger_port_allocated(&self, _p: PortId) {}

    pub(crate) fn ledger_port_freed(&self, p: PortId) {
        let pending = self.ledger.state.with(|s| s.tokens.remove(&p));
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
        self.ledger
            .state
            .with(|s| s.published.remove(&IpcKobject::Object(o)));
    }

    pub(crate) fn ledger_nsrequest_armed(&self, _p: PortId) {
        self.ledger.state.with(|s| s.armed += 1);
    }

    /// `prepare` moved an armed request into a token.
    pub(crate) fn ledger_nsrequest_fired(&self, p: PortId, srights: u32) {
        if srights != 0 {
            Finding::violation(
                "no-senders-with-senders",
                format!("no-senders prepared on {p} while ip_srights is {srights}"),
            )
            .raise();
        }
        self.ledger.state.with(|s| {
            *s.tokens.entry(p).or_insert(0) += 1;
            s.fired += 1;
        });
    }

    pub(crate) fn ledger_nsrequest_dropped(&self, _p: PortId) {}

    /// A kobject no-senders callback is about to run: it must consume a prepared notification.
    pub(crate) fn ledger_nsrequest_consumed(&self, p: PortId) {
        let ok = self.ledger.state.with(|s| match s.tokens.get_mut(&p) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
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
    pub fn audit(&self, held: &[Held]) -> Result<(), Finding> {
        let mut t = Tallies::sized(self.ports.high_water(), self.objects.high_water());
        self.audit_spaces(&mut t)?;
        let seen = self.audit_ports(&mut t)?;
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
        for (p, seen) in &seen {
            let e = t.take_port(*p);
            if !seen.balances(&e) {
                return Err(self.port_mismatch(*p, seen, e));
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
        Ok(())
    }

    fn audit_spaces(&self, t: &mut Tallies) -> Result<(), Finding> {
        // Dead names' user references and port sets: a separate account (ledger_names.rs),
        // checked in the same walk so the audit takes no extra lock.
        let mut dead_names = self.dead_names_expected();
        for space in self.iter_live_spaces() {
            let sg = self.is_write_lock(space);
            Self::audit_dead_names_of(&sg, &mut dead_names)?;
            self.audit_psets_of(&sg)?;
            for (&name, entry) in &sg.is_table {
                let Some(p) = entry.ie_object else { continue };
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
        self.audit_reply_ports()
    }

    /// Tallies what each port holds (queued messages, a subst-once target, armed requests and
    /// donated object references) and snapshots its own counters for the comparison.
    fn audit_ports(&self, t: &mut Tallies) -> Result<Vec<(PortId, Seen)>, Finding> {
        // Prepared notifications are rare; most audits find none to copy.
        let tokens = self
            .ledger
            .state
            .with(|s| (!s.tokens.is_empty()).then(|| s.tokens.clone()))
            .unwrap_or_default();
        let mut seen = Vec::with_capacity(self.ports.live_count() as usize);
        for p in self.iter_live_ports() {
            let g = self.ip_mq_lock(p);
            for kmsg in &g.ip_messages {
                count_kmsg_rights(kmsg, t)?;
            }
            if let NsRequest::Port(n) = g.ip_nsrequest {
                t.port(n)?.send_once += 1;
            }
            let ty = g.ip_kotype();
            let armed = g.ip_nsrequest == NsRequest::KobjectArmed;
            let pending = tokens.get(&p).copied().unwrap_or(0);
            let kernel_received =
                matches!(g.receiver, Receiver::InSpace { space, .. } if space == IPC_SPACE_KERNEL);
            let e = t.port(p)?;
            e.receive += (g.ip_active() && kernel_received) as u32;
            e.armed += armed as u32;
            e.tokens += pending;
            match g.ip_kobject.value {
                IpcKobject::Port(target) if ty == IKOT_PORT_SUBST_ONCE => t.port(target)?.send += 1,
                IpcKobject::Object(o) if ty == IKOT_TIMER => *t.object(o)? += 1,
                // An armed request, or a prepared notification, owns the donated reference.
                IpcKobject::Object(o) if donates_on_arm(ty) => {
                    *t.object(o)? += armed as u32 + pending
                }
                _ => {}
            }
            seen.push((
                p,
                Seen {
                    srights: g.ip_srights,
                    sorights: g.ip_sorights,
                    refs: g.refs(),
                    kotype: ty,
                },
            ));
        }
        Ok(seen)
    }

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
                 notification + {} other)",
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
                e.refs_extra
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
}

impl Seen {
    /// Whether the counters are exactly what the holders account for.
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
    fn sized(ports: u32, objects: u32) -> Tallies {
        Tallies {
            ports: vec![(0, Expected::default()); ports as usize],
            objects: vec![(0, 0); objects as usize],
        }
    }

    fn port(&mut self, p: PortId) -> Result<&mut Expected, Finding> {
        tally_slot(&mut self.ports, p.0.idx, p.0.gen, &|| format!("{p}"))
    }

    fn object(&mut self, o: ObjId) -> Result<&mut u32, Finding> {
        tally_slot(&mut self.objects, o.0.idx, o.0.gen, &|| format!("{o}"))
    }

    /// The tally of a live port, cleared so that what remains afterwards is dangling.
    fn take_port(&mut self, p: PortId) -> Expected {
        match self.ports.get_mut(p.0.idx as usize) {
            Some(slot) if slot.0 == p.0.gen => std::mem::take(slot).1,
            _ => Expected::default(),
        }
    }

    fn take_object(&mut self, o: ObjId) -> u32 {
        match self.objects.get_mut(o.0.idx as usize) {
            Some(slot) if slot.0 == o.0.gen => std::mem::take(slot).1,
            _ => 0,
        }
    }

    /// After every live port and object took its tally, any tally left names a freed one.
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
