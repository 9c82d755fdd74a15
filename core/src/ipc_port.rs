//! Ports and the right layer beneath ipc_kobject.c: osfmk/ipc/ipc_port.c, the reference macros of
//! osfmk/ipc/ipc_object.h and the right counters of osfmk/ipc/ipc_port.h (xnu-11215.1.10).
//!
//! Every state delta and panic follows the reference semantics; deviations are named where they
//! occur. A port handle carries its arena generation, so touching a port after its final
//! `ip_release` is reported as a use-after-free naming the port.

use std::collections::VecDeque;
use std::fmt;

use crate::arena::Handle;
use crate::ikot::{IpcKobjectType, IKOT_NONE};
use crate::ipc_kmsg::Kmsg;
use crate::ipc_notify::NoSendersToken;
use crate::kernel::{Kernel, ObjId, SpaceId, IPC_SPACE_KERNEL};
use crate::mach::*;
use crate::outcome::{Finding, FindingKind};
use crate::sync::{AtomicU32, BookU32, MemOrder, Mutex, MutexGuard, Platform};

/// A live port's identity: arena slot and generation. Not `ipc_port_t` itself (see [`IpcPort`]).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortId(pub(crate) Handle);

impl fmt::Debug for PortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "port#{}.{}", self.0.idx, self.0.gen)
    }
}

impl fmt::Display for PortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// `ipc_port_t`: a port pointer, `IP_NULL` or `IP_DEAD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IpcPort {
    Null,
    Dead,
    Port(PortId),
}

pub const IP_NULL: IpcPort = IpcPort::Null;
pub const IP_DEAD: IpcPort = IpcPort::Dead;

/// `IP_VALID(port)`: neither `IP_NULL` nor `IP_DEAD`.
#[allow(non_snake_case)]
pub const fn IP_VALID(port: IpcPort) -> bool {
    matches!(port, IpcPort::Port(_))
}

impl IpcPort {
    /// The port behind a valid pointer; panics (a model bug) on `IP_NULL` / `IP_DEAD`.
    pub fn id(self) -> PortId {
        match self {
            IpcPort::Port(p) => p,
            other => panic!("dereferencing {other:?}"),
        }
    }

    /// Encoding for a lazy `port_store` word: 0 is `IP_NULL`, all ones is `IP_DEAD`.
    pub fn to_word(self) -> u64 {
        match self {
            IpcPort::Null => 0,
            IpcPort::Dead => u64::MAX,
            IpcPort::Port(p) => ((p.0.gen as u64) << 32) | (p.0.idx as u64 + 1),
        }
    }

    pub fn from_word(w: u64) -> IpcPort {
        match w {
            0 => IpcPort::Null,
            u64::MAX => IpcPort::Dead,
            w => IpcPort::Port(PortId(Handle {
                idx: (w as u32) - 1,
                gen: (w >> 32) as u32,
            })),
        }
    }
}

impl From<PortId> for IpcPort {
    fn from(p: PortId) -> IpcPort {
        IpcPort::Port(p)
    }
}

/// `ipc_kobject_t`: what a kobject port represents. `IKO_NULL` is [`IpcKobject::Null`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IpcKobject {
    Null,
    /// A kernel object (task, thread, semaphore, voucher, ...).
    Object(ObjId),
    /// A port (the target of an `IKOT_PORT_SUBST_ONCE` wrapper).
    Port(PortId),
}

pub const IKO_NULL: IpcKobject = IpcKobject::Null;

/// `ip_nsrequest`: nothing, the kobject sentinel `IP_KOBJECT_NSREQUEST_ARMED`, or a real
/// notification port (an ordinary port's send-once right).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NsRequest {
    None,
    KobjectArmed,
    Port(PortId),
}

/// Where the receive right is (ipc_port.h): in a space with a name, in transit inside a
/// message, in limbo (kernel-held, no name), or dead with its death timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Receiver {
    InSpace { space: SpaceId, name: MachPortName },
    InTransit,
    Limbo,
    Dead { timestamp: u32 },
}

/// The kobject pointer as stored: the value and the discriminator it was signed with.
/// Models arm64e PAC on `ip_kobject`: the discriminator mixes in the kotype and the immovable
/// bits, so authenticating with another type (or after those bits changed) fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedKobject {
    pub value: IpcKobject,
    pub discriminator: u32,
}

/// `struct ipc_kobject_label`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpcKobjectLabel {
    pub ikol_label: IpcLabel,
    /// Substitution target; holds no reference.
    pub ikol_alt_port: IpcPort,
}

/// The fields `ip_mq_lock` protects.
#[derive(Debug)]
pub struct PortLocked {
    pub ip_srights: u32,
    pub ip_sorights: u32,
    pub ip_mscount: MachPortMscount,
    pub ip_nsrequest: NsRequest,
    pub ip_kobject: SignedKobject,
    pub ip_kolabel: Option<IpcKobjectLabel>,
    pub ip_immovable_send: bool,
    pub ip_immovable_receive: bool,
    pub ip_no_grant: bool,
    pub ip_pinned: bool,
    pub ip_specialreply: bool,
    pub ip_reply_port_semantics: u8,
    pub receiver: Receiver,
    /// Messages queued on the port (ordinary ports; kobject ports never queue).
    pub ip_messages: VecDeque<Kmsg>,
    /// The port-destroyed request: a send-once right (with its reference) to the port that gets
    /// the receive right when this one is destroyed (`ip_pdrequest`).
    pub ip_pdrequest: Option<PortId>,
    /// Dead-name and send-possible requests (`ip_requests`); request index `i` is slot `i - 1`,
    /// a free slot is `None` (see [`crate::ipc_request`]).
    pub ip_requests: Vec<Option<crate::ipc_request::PortRequest>>,
    /// While the receive right is in transit: the port whose queue holds the message carrying
    /// it (`ip_destination`); meaningless otherwise.
    pub ip_destination: Option<PortId>,
}

impl PortLocked {
    #[inline]
    fn fresh() -> PortLocked {
        PortLocked {
            ip_srights: 0,
            ip_sorights: 0,
            ip_mscount: 0,
            ip_nsrequest: NsRequest::None,
            ip_kobject: SignedKobject {
                value: IKO_NULL,
                discriminator: 0,
            },
            ip_kolabel: None,
            ip_immovable_send: false,
            ip_immovable_receive: false,
            ip_no_grant: false,
            ip_pinned: false,
            ip_specialreply: false,
            ip_reply_port_semantics: 0,
            receiver: Receiver::Limbo,
            ip_messages: VecDeque::new(),
            ip_pdrequest: None,
            ip_requests: Vec::new(),
            ip_destination: None,
        }
    }
}

/// `struct ipc_port`: `io_bits` (read without the lock, written under it), the atomic
/// `io_references`, and the lock-protected rest.
pub struct Port {
    pub(crate) io_bits: BookU32,
    pub(crate) io_references: AtomicU32,
    /// A plain copy of `io_references`, stored right after each change of it, for the trace:
    /// reading it is never a scheduling point, so a traced run schedules like an untraced one.
    /// Under shuttle nothing runs between the change and the copy; natively it may lag.
    pub(crate) io_references_seen: BookU32,
    pub(crate) lock: Mutex<PortLocked>,
}

impl Port {
    #[inline]
    pub(crate) fn new(platform: Platform) -> Port {
        Port {
            io_bits: BookU32::new(0),
            io_references: AtomicU32::new(platform, 0),
            io_references_seen: BookU32::new(0),
            lock: Mutex::new(platform, PortLocked::fresh()),
        }
    }
}

/// The held port lock (`ip_mq_lock`). `_locked` functions borrow it, `_and_unlock` consume it.
pub struct PortGuard<'k> {
    pub id: PortId,
    pub(crate) port: &'k Port,
    pub(crate) state: MutexGuard<'k, PortLocked>,
}

impl std::ops::Deref for PortGuard<'_> {
    type Target = PortLocked;
    fn deref(&self) -> &PortLocked {
        &self.state
    }
}

impl std::ops::DerefMut for PortGuard<'_> {
    fn deref_mut(&mut self) -> &mut PortLocked {
        &mut self.state
    }
}

impl PortGuard<'_> {
    #[inline]
    pub fn ip_active(&self) -> bool {
        self.port.io_bits.load(MemOrder::Relaxed) & IO_BITS_ACTIVE != 0
    }

    #[inline]
    pub fn ip_kotype(&self) -> IpcKobjectType {
        self.port.io_bits.load(MemOrder::Relaxed) & IO_BITS_KOTYPE
    }

    #[inline]
    pub fn ip_is_kolabeled(&self) -> bool {
        self.port.io_bits.load(MemOrder::Relaxed) & IO_BITS_KOLABEL != 0
    }

    pub fn io_bits_or(&self, bits: u32) {
        let b = self.port.io_bits.load(MemOrder::Relaxed);
        self.port.io_bits.store(b | bits, MemOrder::Relaxed);
    }

    pub fn io_bits_andnot(&self, bits: u32) {
        let b = self.port.io_bits.load(MemOrder::Relaxed);
        self.port.io_bits.store(b & !bits, MemOrder::Relaxed);
    }

    #[inline]
    pub fn refs(&self) -> u32 {
        self.port.io_references.load(MemOrder::Relaxed)
    }

    /// `io_references` as last stored, without a scheduling point (for the trace).
    pub(crate) fn refs_seen(&self) -> u32 {
        self.port.io_references_seen.load(MemOrder::Relaxed)
    }
}

/// Raises a kernel panic whose invariant is named, so tables can say which counter broke.
pub(crate) fn counter_panic(invariant: &'static str, message: String) -> ! {
    Finding {
        kind: FindingKind::KernelPanic,
        invariant,
        message,
    }
    .raise()
}

/// Discriminator for a signed kobject pointer (stands for `ptrauth_blend_discriminator`).
pub(crate) fn kobject_discriminator(
    ty: IpcKobjectType,
    immovable_receive: bool,
    immovable_send: bool,
) -> u32 {
    const OS_PTRAUTH_DISCRIMINATOR_IP_KOBJECT: u32 = 0xb7a9;
    (ty | (immovable_receive as u32) << 14 | (immovable_send as u32) << 15)
        ^ OS_PTRAUTH_DISCRIMINATOR_IP_KOBJECT
}

impl Kernel {
    /// The port behind `p`; a stale handle is a use-after-free finding.
    pub fn port(&self, p: PortId) -> &Port {
        match self.ports.get(p.0) {
            Ok(port) => port,
            Err(_) => port_used_after_free(p),
        }
    }

    /// Whether `p` still names a live (not yet freed) port.
    #[inline]
    pub fn port_is_live(&self, p: PortId) -> bool {
        self.ports.is_live(p.0)
    }

    /// `ip_mq_lock`. The generation is checked again once the lock is held, since a racing
    /// final release may have freed the port while this thread waited.
    #[inline]
    pub fn ip_mq_lock(&self, p: PortId) -> PortGuard<'_> {
        let Ok(live) = self.ports.get_live(p.0) else {
            port_used_after_free(p)
        };
        let state = live.value.lock.lock();
        if !live.still_live() {
            drop(state);
            Finding::use_after_free(format!("{p} locked after its final ip_release")).raise();
        }
        PortGuard {
            id: p,
            port: live.value,
            state,
        }
    }

    /// `ip_mq_lock` of a port that may have been freed meanwhile (a chain the caller holds no
    /// reference along): `None` then.
    #[inline]
    pub(crate) fn ip_mq_lock_if_live(&self, p: PortId) -> Option<PortGuard<'_>> {
        let live = self.ports.get_live(p.0).ok()?;
        let state = live.value.lock.lock();
        live.still_live().then_some(PortGuard {
            id: p,
            port: live.value,
            state,
        })
    }

    /// `ip_mq_unlock`.
    pub fn ip_mq_unlock(&self, guard: PortGuard<'_>) {
        drop(guard);
    }

    /// `ip_active`, read without the lock as XNU allows.
    #[inline]
    pub fn ip_active(&self, p: PortId) -> bool {
        self.port(p).io_bits.load(MemOrder::Relaxed) & IO_BITS_ACTIVE != 0
    }

    /// `ip_kotype`, read without the lock.
    #[inline]
    pub fn ip_kotype(&self, p: PortId) -> IpcKobjectType {
        self.port(p).io_bits.load(MemOrder::Relaxed) & IO_BITS_KOTYPE
    }

    /// `ip_is_kolabeled`, read without the lock.
    pub fn ip_is_kolabeled(&self, p: PortId) -> bool {
        self.port(p).io_bits.load(MemOrder::Relaxed) & IO_BITS_KOLABEL != 0
    }

    /// `io_references` (for audits and tests).
    pub fn ip_references(&self, p: PortId) -> u32 {
        self.port(p).io_references.load(MemOrder::Relaxed)
    }

    /// Models `ip_reference` (`os_ref_retain_raw`).
    /// # Conditions
    /// The caller holds a reference (the count is not 0).
    pub fn ip_reference(&self, p: PortId) {
        let port = self.port(p);
        let old = port
            .io_references
            .fetch_update(|r| (r != 0 && r < OS_REFCNT_MAX_COUNT).then_some(r + 1));
        match old {
            Ok(r) => port.io_references_seen.store(r + 1, MemOrder::Relaxed),
            Err(0) => counter_panic(
                "refs-resurrection",
                format!("os_refcnt: attempted resurrection of {p} (ip_reference)"),
            ),
            Err(r) => counter_panic(
                "refs-overflow",
                format!("os_refcnt: overflow of {p} at {r} (ip_reference)"),
            ),
        }
    }

    /// Models `ip_release` (`os_ref_release_raw`): at 0 the port is finalized and freed.
    pub fn ip_release(&self, p: PortId) {
        let port = self.port(p);
        let old = port.io_references.fetch_update(|r| r.checked_sub(1));
        if let Ok(r) = old {
            port.io_references_seen.store(r - 1, MemOrder::Relaxed);
        }
        match old {
            Ok(1) => self.ipc_port_finalize(p),
            Ok(_) => {}
            Err(_) => counter_panic(
                "refs-underflow",
                format!("os_refcnt: underflow of {p} (ip_release)"),
            ),
        }
    }

    /// Models `ip_release_live`: must not drop the final reference.
    pub fn ip_release_live(&self, p: PortId) {
        let port = self.port(p);
        let old = port.io_references.fetch_update(|r| (r > 1).then(|| r - 1));
        if let Ok(r) = old {
            port.io_references_seen.store(r - 1, MemOrder::Relaxed);
        }
        if let Err(r) = old {
            counter_panic(
                "refs-release-live",
                format!("os_refcnt: unexpected release of final reference of {p} (refs {r})"),
            );
        }
    }

    /// Models `ipc_port_finalize` and the zone free: the port must be dead.
    fn ipc_port_finalize(&self, p: PortId) {
        let port = self.port(p);
        let mut state = port.lock.lock();
        if port.io_bits.load(MemOrder::Relaxed) & IO_BITS_ACTIVE != 0 {
            drop(state);
            xnu_panic!("ipc_port_finalize: {p} still active at its final release");
        }
        assert!(
            state.ip_messages.is_empty(),
            "{p} freed with queued messages"
        );
        *state = PortLocked::fresh();
        port.io_bits.store(0, MemOrder::Relaxed);
        drop(state);
        self.ledger_port_freed(p);
        self.ports.free(p.0);
    }

    /// `ip_srights_inc`.
    pub fn ip_srights_inc(&self, g: &mut PortGuard<'_>) {
        g.ip_srights = g.ip_srights.checked_add(1).unwrap_or_else(|| {
            counter_panic(
                "srights-overflow",
                format!("{}: send right count overflow", g.id),
            )
        });
    }

    /// `ip_srights_dec`: an underflow is a double release.
    pub fn ip_srights_dec(&self, g: &mut PortGuard<'_>) {
        g.ip_srights = g.ip_srights.checked_sub(1).unwrap_or_else(|| {
            counter_panic(
                "srights-underflow",
                format!("{}: send right count underflow", g.id),
            )
        });
    }

    /// `ip_sorights_inc`.
    pub fn ip_sorights_inc(&self, g: &mut PortGuard<'_>) {
        g.ip_sorights = g.ip_sorights.checked_add(1).unwrap_or_else(|| {
            counter_panic(
                "sorights-overflow",
                format!("{}: send-once right count overflow", g.id),
            )
        });
    }

    /// `ip_sorights_dec`.
    pub fn ip_sorights_dec(&self, g: &mut PortGuard<'_>) {
        g.ip_sorights = g.ip_sorights.checked_sub(1).unwrap_or_else(|| {
            counter_panic(
                "sorights-underflow",
                format!("{}: send-once right count underflow", g.id),
            )
        });
    }

    /// `require_ip_active`.
    /// # Deviations
    /// The message names the port by its handle and the check (XNU prints its address).
    pub fn require_ip_active(&self, g: &PortGuard<'_>) {
        if !g.ip_active() {
            xnu_panic!("Using inactive port {} (require_ip_active)", g.id);
        }
    }

    /// Models `ipc_port_clear_receiver` as far as the model keeps its state: the receive right
    /// leaves its receiver (for `receiver`) and the make-send count starts again.
    /// # Conditions
    /// Port locked.
    /// # Deviations
    /// Port-set membership and the message queue's sync state are not modelled.
    pub fn ipc_port_clear_receiver(&self, g: &mut PortGuard<'_>, receiver: Receiver) {
        g.receiver = receiver;
        g.ip_mscount = 0;
        self.ledger_mscount_reset(g.id);
    }

    /// Models `ipc_port_make_send_any_locked` (osfmk/ipc/ipc_port.c).
    /// # Conditions
    /// Port locked and active (panics otherwise). No kotype validation.
    pub fn ipc_port_make_send_any_locked(&self, g: &mut PortGuard<'_>) -> PortId {
        self.require_ip_active(g);
        let before = g.ip_srights;
        g.ip_mscount = g.ip_mscount.wrapping_add(1);
        self.ledger_make_send(g.id);
        self.ip_srights_inc(g);
        self.ip_reference(g.id);
        assert_eq!(g.ip_srights, before + 1);
        self.trace_port("ipc_port_make_send_any_locked", g);
        g.id
    }

    /// Models `ipc_port_copy_send_any_locked`.
    /// # Conditions
    /// Port locked; the caller holds a send right (XNU only debug-asserts it, and checks no
    /// activity: a copy on a dead port still makes a right).
    pub fn ipc_port_copy_send_any_locked(&self, g: &mut PortGuard<'_>) -> PortId {
        if g.ip_srights == 0 {
            Finding::violation(
                "copy-send-without-right",
                format!("{}: ipc_port_copy_send_any_locked with ip_srights 0", g.id),
            )
            .raise();
        }
        self.ip_srights_inc(g);
        self.ip_reference(g.id);
        self.trace_port("ipc_port_copy_send_any_locked", g);
        g.id
    }

    /// Models `ipc_port_make_send_any`: `IP_DEAD` for a dead port, the input for an invalid one.
    pub fn ipc_port_make_send_any(&self, port: IpcPort) -> IpcPort {
        let IpcPort::Port(p) = port else { return port };
        let mut g = self.ip_mq_lock(p);
        if g.ip_active() {
            self.ipc_port_make_send_any_locked(&mut g);
            port
        } else {
            IP_DEAD
        }
    }

    /// Models `ipc_port_copy_send_any`.
    pub fn ipc_port_copy_send_any(&self, port: IpcPort) -> IpcPort {
        let IpcPort::Port(p) = port else { return port };
        let mut g = self.ip_mq_lock(p);
        if g.ip_active() {
            self.ipc_port_copy_send_any_locked(&mut g);
            port
        } else {
            IP_DEAD
        }
    }

    /// Models `ipc_port_release_send_and_unlock`: the no-senders notification is prepared under
    /// the lock (only while the port is active) and emitted after the right's reference is gone.
    pub fn ipc_port_release_send_and_unlock(&self, mut g: PortGuard<'_>) {
        let p = g.id;
        self.ip_srights_dec(&mut g);
        let token = if g.ip_active() && g.ip_srights == 0 {
            self.ipc_notify_no_senders_prepare(&mut g)
        } else {
            NoSendersToken::NONE
        };
        self.trace_port("ipc_port_release_send_and_unlock", &g);
        drop(g);
        self.ip_release(p);
        self.ipc_notify_no_senders_emit(token);
    }

    /// Models `ipc_port_release_send`.
    pub fn ipc_port_release_send(&self, port: IpcPort) {
        if let IpcPort::Port(p) = port {
            let g = self.ip_mq_lock(p);
            self.ipc_port_release_send_and_unlock(g);
        }
    }

    /// Models `ipc_port_make_sonce_locked`.
    pub fn ipc_port_make_sonce_locked(&self, g: &mut PortGuard<'_>) -> PortId {
        self.require_ip_active(g);
        self.ip_sorights_inc(g);
        self.ip_reference(g.id);
        self.trace_port("ipc_port_make_sonce_locked", g);
        g.id
    }

    /// Models `ipc_port_make_sonce`.
    pub fn ipc_port_make_sonce(&self, port: IpcPort) -> IpcPort {
        let IpcPort::Port(p) = port else { return port };
        let mut g = self.ip_mq_lock(p);
        if g.ip_active() {
            self.ipc_port_make_sonce_locked(&mut g);
            port
        } else {
            IP_DEAD
        }
    }

    /// Models `ipc_port_release_sonce_and_unlock`: no notification of any kind.
    /// # Deviations
    /// Special reply ports are not modelled; their linkage reset is omitted.
    pub fn ipc_port_release_sonce_and_unlock(&self, mut g: PortGuard<'_>) {
        let p = g.id;
        self.ip_sorights_dec(&mut g);
        self.trace_port("ipc_port_release_sonce_and_unlock", &g);
        drop(g);
        self.ip_release(p);
    }

    /// Models `ipc_port_release_sonce`.
    pub fn ipc_port_release_sonce(&self, port: IpcPort) {
        if let IpcPort::Port(p) = port {
            let g = self.ip_mq_lock(p);
            self.ipc_port_release_sonce_and_unlock(g);
        }
    }

    /// Models `ipc_port_alloc_special`: an active port in `space` named
    /// `MACH_PORT_SPECIAL_DEFAULT`, one reference (the kernel's receive right).
    /// # Deviations
    /// Returns `IP_NULL` when the arena is full (XNU's zone would block or panic).
    pub fn ipc_port_alloc_special(&self, space: SpaceId, flags: u32) -> IpcPort {
        let exclusive = flags
            & (IPC_PORT_ENFORCE_REPLY_PORT_SEMANTICS
                | IPC_PORT_ENFORCE_RIGID_REPLY_PORT_SEMANTICS
                | IPC_PORT_INIT_EXCEPTION_PORT
                | IPC_PORT_INIT_PROVISIONAL_REPLY);
        if exclusive.count_ones() > 1 {
            return IP_NULL;
        }
        let Some((h, port)) = self.ports.alloc() else {
            return IP_NULL;
        };
        let p = PortId(h);
        let mut state = port.lock.lock();
        *state = PortLocked::fresh();
        state.receiver = Receiver::InSpace {
            space,
            name: MACH_PORT_SPECIAL_DEFAULT,
        };
        if flags & IPC_PORT_ENFORCE_RIGID_REPLY_PORT_SEMANTICS != 0 {
            state.ip_reply_port_semantics = 4;
        }
        port.io_bits.store(IO_BITS_ACTIVE, MemOrder::Relaxed);
        port.io_references.store(1, MemOrder::Relaxed);
        port.io_references_seen.store(1, MemOrder::Relaxed);
        drop(state);
        self.ledger_port_allocated(p, space);
        IpcPort::Port(p)
    }

    /// Models `ipc_port_dealloc_special_and_unlock`: into limbo, mscount 0, then destroyed.
    /// # Conditions
    /// Port locked and active (panics otherwise), received by `space`.
    pub fn ipc_port_dealloc_special_and_unlock(&self, mut g: PortGuard<'_>, space: SpaceId) {
        self.require_ip_active(&g);
        xnu_assert!(
            matches!(g.receiver, Receiver::InSpace { space: s, .. } if s == space),
            "{} deallocated by {space:?}, which does not receive it",
            g.id
        );
        if space == IPC_SPACE_KERNEL {
            self.ledger_kernel_receive_released(g.id);
        }
        self.ipc_port_clear_receiver(&mut g, Receiver::Limbo);
        self.ipc_port_destroy(g);
    }

    /// Models `ipc_port_destroy`: with a port-destroyed request the port lives on, its receive
    /// right in transit inside the notification to the request's port. Otherwise it clears
    /// the receiver and ACTIVE, drops an armed kobject no-senders reference silently, destroys
    /// queued messages, sends a user no-senders request's send-once notification, fires the
    /// dead-name requests (`ipc_port_dnnotify`), runs `ipc_kobject_destroy`, and consumes the
    /// caller's reference.
    /// # Conditions
    /// Port locked and active; the caller's reference (the receive right's) is consumed.
    /// # Deviations
    /// Port sets are not modelled here (the right layer removes members first).
    pub fn ipc_port_destroy(&self, mut g: PortGuard<'_>) {
        let p = g.id;
        self.require_ip_active(&g);
        let pdrequest = if g.ip_specialreply {
            None
        } else if self.bug(crate::Bug::PdrequestNotCleared) {
            g.ip_pdrequest
        } else {
            g.ip_pdrequest.take()
        };
        if let Some(pdrequest) = pdrequest {
            self.ledger_request_event(p, false);
            self.ipc_port_clear_receiver(&mut g, Receiver::InTransit);
            self.trace_port("ipc_port_destroy", &g);
            drop(g);
            // The notification carries the receive right and our reference.
            self.ipc_notify_port_destroyed(pdrequest, p);
            return;
        }
        g.io_bits_andnot(IO_BITS_ACTIVE);
        let dead = Receiver::Dead {
            timestamp: self.next_timestamp(),
        };
        self.ipc_port_clear_receiver(&mut g, dead);
        let queued: Vec<Kmsg> = g.ip_messages.drain(..).collect();
        let token = self.ipc_notify_no_senders_prepare(&mut g);
        self.trace_port("ipc_port_destroy", &g);
        drop(g);
        for kmsg in queued {
            self.ipc_kmsg_destroy(kmsg, IPC_KMSG_DESTROY_ALL);
        }
        // On an inactive port prepare only ever yields a real (non-kobject) request, whose
        // send-once right dies unused.
        if let IpcPort::Port(notify) = token.ns_notify {
            let ng = self.ip_mq_lock(notify);
            self.ipc_notify_send_once_and_unlock(ng);
        }
        self.ipc_port_dnnotify(p);
        self.ipc_kobject_destroy(p);
        self.ip_release(p);
    }

    /// Models `ipc_port_set_label`: attaches a fresh kobject label.
    /// # Conditions
    /// Freshly made port, not yet labeled (XNU debug-asserts it); no lock taken in XNU. The model
    /// takes the port lock because its state lives behind it.
    pub fn ipc_port_set_label(&self, port: IpcPort, label: IpcLabel) {
        let mut g = self.ip_mq_lock(port.id());
        assert!(
            g.ip_kolabel.is_none(),
            "{}: ipc_port_set_label on a labeled port",
            g.id
        );
        g.ip_kolabel = Some(IpcKobjectLabel {
            ikol_label: label,
            ikol_alt_port: IP_NULL,
        });
        g.io_bits_or(IO_BITS_KOLABEL);
        assert!(g.ip_is_kolabeled());
    }

    /// `ip_in_space_noauth(port, space)`: a raw comparison of the receiver slot, no activity check.
    pub fn ip_in_space_noauth(&self, p: PortId, space: SpaceId) -> bool {
        let g = self.ip_mq_lock(p);
        matches!(g.receiver, Receiver::InSpace { space: s, .. } if s == space)
    }

    /// Whether the port is a kobject (`ip_is_kobject`).
    pub fn ip_is_kobject(&self, p: PortId) -> bool {
        self.ip_kotype(p) != IKOT_NONE
    }

    /// Whether the port's receive right sits in the kernel's space.
    pub fn ip_in_kernel_space(&self, p: PortId) -> bool {
        self.ip_in_space_noauth(p, IPC_SPACE_KERNEL)
    }
}

/// The finding of a handle to a port whose slot was freed.
fn port_used_after_free(p: PortId) -> ! {
    Finding::use_after_free(format!(
        "{p} used after its final ip_release (slot {} was freed)",
        p.0.idx
    ))
    .raise()
}
