//! Models osfmk/kern/ipc_kobject.c (xnu-11215.1.10): letting a port represent a kernel object.
//!
//! Functions keep XNU's names and the seed's order, so a reader can hold this file beside the C.
//! The MIG dispatch table (`mig_init`, `find_mig_hash_entry`, `ipc_kobject_set_kobjidx`) sits in
//! `ipc_kobject_mig.rs`; the reply and server functions are at their seed position below.
//! `_locked` functions borrow the held port lock ([`PortGuard`]); `_and_unlock` ones consume it.

use crate::ikot::*;
use crate::ipc_port::*;
use crate::ipc_space::SpaceGuard;
use crate::kernel::{Kernel, IPC_SPACE_KERNEL};
use crate::mach::*;
use crate::sync::{AtomicU64, MemOrder};

/// `iko_op_no_senders`: runs on a no-senders notification with the notified make-send count.
pub type NoSendersFn = fn(&Kernel, PortId, MachPortMscount);
/// `iko_op_destroy`: runs from `ipc_kobject_destroy` once the port is dead.
pub type DestroyFn = fn(&Kernel, PortId);

/// `struct ipc_kobject_ops`.
#[derive(Clone, Copy, Debug)]
pub struct IpcKobjectOps {
    pub iko_op_type: IpcKobjectType,
    pub iko_op_stable: bool,
    pub iko_op_permanent: bool,
    pub iko_op_name: &'static str,
    pub iko_op_no_senders: Option<NoSendersFn>,
    pub iko_op_destroy: Option<DestroyFn>,
}

impl IpcKobjectOps {
    /// An unregistered slot: all zero.
    pub const EMPTY: IpcKobjectOps = IpcKobjectOps {
        iko_op_type: IKOT_NONE,
        iko_op_stable: false,
        iko_op_permanent: false,
        iko_op_name: "",
        iko_op_no_senders: None,
        iko_op_destroy: None,
    };

    /// `IPC_KOBJECT_DEFINE(type, ...)`: flags from the registry facts, callbacks from the caller.
    pub fn define(
        ty: IpcKobjectType,
        no_senders: Option<NoSendersFn>,
        destroy: Option<DestroyFn>,
    ) -> IpcKobjectOps {
        let info = IKOT_INFO[ty as usize];
        assert!(
            info.registered,
            "{} is not registered in xnu-11215",
            info.name
        );
        assert_eq!(
            info.no_senders.is_some(),
            no_senders.is_some(),
            "{} no_senders",
            info.name
        );
        assert_eq!(
            info.destroy.is_some(),
            destroy.is_some(),
            "{} destroy",
            info.name
        );
        IpcKobjectOps {
            iko_op_type: ty,
            iko_op_stable: info.stable,
            iko_op_permanent: info.permanent,
            iko_op_name: info.name,
            iko_op_no_senders: no_senders,
            iko_op_destroy: destroy,
        }
    }
}

/// Outcome of [`Kernel::ipc_kobject_label_check`]: the locks come back unless a substitution
/// consumed the right (and released both locks).
pub enum LabelCheck<'k> {
    Allowed(SpaceGuard<'k>, PortGuard<'k>),
    Refused(SpaceGuard<'k>, PortGuard<'k>),
    /// The right was consumed; `IpcPort` is the substituted send right (maybe `IP_DEAD`).
    Substituted(IpcPort),
}

impl Kernel {
    /// Models ipc_kobject_register_startup (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    /// # Conditions
    /// Boot time. Registering a type twice panics as in XNU.
    #[inline]
    pub fn ipc_kobject_register_startup(&mut self, ops: IpcKobjectOps) {
        let slot = &mut self.ops[ops.iko_op_type as usize];
        if slot.iko_op_type != IKOT_NONE {
            xnu_panic!("trying to register kobject({}) twice", ops.iko_op_type);
        }
        *slot = ops;
    }

    /// Models ipc_kobject_ops_get (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    /// An unregistered in-range type yields the all-zero ops.
    #[inline]
    pub fn ipc_kobject_ops_get(&self, ikot: IpcKobjectType) -> &IpcKobjectOps {
        if ikot >= IKOT_MAX_TYPE {
            xnu_panic!("invalid kobject type {}", ikot);
        }
        &self.ops[ikot as usize]
    }

    // mig_init, find_mig_hash_entry: see ipc_kobject_mig.rs.
    // ipc_kobject_reply_status ... ipc_kobject_server: see ipc_kobject_server.rs.

    /// Models ipc_kobject_set_raw (osfmk/kern/ipc_kobject.c, xnu-11215.1.10): stores the kobject
    /// signed with a discriminator of the type and the port's immovable bits (arm64e PAC).
    /// # Conditions
    /// Port locked (or not yet published).
    pub fn ipc_kobject_set_raw(
        &self,
        g: &mut PortGuard<'_>,
        kobject: IpcKobject,
        ty: IpcKobjectType,
    ) {
        let discriminator = kobject_discriminator(ty, g.ip_immovable_receive, g.ip_immovable_send);
        g.ip_kobject = SignedKobject {
            value: kobject,
            discriminator,
        };
    }

    /// Models ipc_kobject_set_internal (osfmk/kern/ipc_kobject.c, xnu-11215.1.10): ORs the type
    /// into `io_bits` (never clearing an old one) and stores the pointer.
    pub fn ipc_kobject_set_internal(
        &self,
        g: &mut PortGuard<'_>,
        kobject: IpcKobject,
        ty: IpcKobjectType,
    ) {
        xnu_assert!(
            ty != IKOT_NONE,
            "ipc_kobject_set_internal with IKOT_NONE on {}",
            g.id
        );
        g.io_bits_or(ty);
        self.ipc_kobject_set_raw(g, kobject, ty);
    }

    /// Models ipc_kobject_get_raw (osfmk/kern/ipc_kobject.c, xnu-11215.1.10): authenticates the
    /// stored pointer with `ty`; a mismatch is the arm64e authentication failure (a panic).
    /// # Deviations
    /// XNU reads the word without the lock; the model's state lives behind it, so a guard is taken.
    pub fn ipc_kobject_get_raw(&self, g: &PortGuard<'_>, ty: IpcKobjectType) -> IpcKobject {
        let expected = kobject_discriminator(ty, g.ip_immovable_receive, g.ip_immovable_send);
        if g.ip_kobject.discriminator != expected {
            crate::outcome::Finding {
                kind: crate::outcome::FindingKind::KernelPanic,
                invariant: "ptrauth-failure",
                message: format!(
                    "ptrauth: ip_kobject of {} failed authentication as {} (signed as kotype {})",
                    g.id,
                    ikot_name(ty),
                    ikot_name(g.ip_kobject.discriminator_type())
                ),
            }
            .raise();
        }
        g.ip_kobject.value
    }

    /// Models ipc_kobject_require_panic (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    pub fn ipc_kobject_require_panic(
        &self,
        g: &PortGuard<'_>,
        kobject: IpcKobject,
        kotype: IpcKobjectType,
    ) -> ! {
        if g.ip_kotype() != kotype {
            xnu_panic!(
                "port {}: invalid kobject type, got {} wanted {}",
                g.id,
                g.ip_kotype(),
                kotype
            );
        }
        xnu_panic!(
            "port {}: invalid kobject, got {:?} wanted {:?}",
            g.id,
            self.ipc_kobject_get_raw(g, kotype),
            kobject
        );
    }

    /// Models ipc_kobject_require (osfmk/kern/ipc_kobject.c, xnu-11215.1.10): the port must be
    /// of `kotype` and point at `kobject` (or at nothing, once disabled).
    pub fn ipc_kobject_require(
        &self,
        g: &PortGuard<'_>,
        kobject: IpcKobject,
        kotype: IpcKobjectType,
    ) {
        if g.ip_kotype() != kotype {
            self.ipc_kobject_require_panic(g, kobject, kotype);
        }
        let cur = self.ipc_kobject_get_raw(g, kotype);
        if cur != IKO_NULL && cur != kobject {
            self.ipc_kobject_require_panic(g, kobject, kotype);
        }
    }

    /// Models ipc_kobject_get_locked (osfmk/kern/ipc_kobject.c, xnu-11215.1.10):
    /// `IKO_NULL` unless the port is active and of type `ty`.
    /// # Conditions
    /// Port locked, or the association is stable while rights are outstanding.
    pub fn ipc_kobject_get_locked(&self, g: &PortGuard<'_>, ty: IpcKobjectType) -> IpcKobject {
        if g.ip_active() && ty == g.ip_kotype() {
            self.ipc_kobject_get_raw(g, ty)
        } else {
            IKO_NULL
        }
    }

    /// Models ipc_kobject_get_stable (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    /// # Deviations
    /// Takes the port lock to read the model's state; XNU relies on the stable association.
    pub fn ipc_kobject_get_stable(&self, port: PortId, ty: IpcKobjectType) -> IpcKobject {
        xnu_assert!(
            self.ipc_kobject_ops_get(ty).iko_op_stable,
            "ipc_kobject_get_stable on unstable {}",
            ikot_name(ty)
        );
        let g = self.ip_mq_lock(port);
        self.ipc_kobject_get_locked(&g, ty)
    }

    /// Models ipc_kobject_init_port (osfmk/kern/ipc_kobject.c, xnu-11215.1.10): make-send, arm,
    /// flag bits, then the type and pointer (immovable bits first: they sign the pointer).
    fn ipc_kobject_init_port(
        &self,
        g: &mut PortGuard<'_>,
        kobject: IpcKobject,
        ty: IpcKobjectType,
        options: IpcKobjectAllocOptions,
    ) {
        if options & IPC_KOBJECT_ALLOC_MAKE_SEND != 0 {
            self.ipc_port_make_send_any_locked(g);
        }
        if options & IPC_KOBJECT_ALLOC_NSREQUEST != 0 {
            g.ip_nsrequest = NsRequest::KobjectArmed;
            self.ip_reference(g.id);
            self.ledger_nsrequest_armed(g.id, None, kobject, ty);
        }
        if options & IPC_KOBJECT_ALLOC_NO_GRANT != 0 {
            g.ip_no_grant = true;
        }
        if options & IPC_KOBJECT_ALLOC_IMMOVABLE_SEND != 0 {
            g.ip_immovable_send = true;
        }
        if options & IPC_KOBJECT_ALLOC_PINNED != 0 {
            g.ip_pinned = true;
        }
        self.ipc_kobject_set_internal(g, kobject, ty);
    }

    /// Models ipc_kobject_alloc_port (osfmk/kern/ipc_kobject.c, xnu-11215.1.10): a kobject port
    /// received by the kernel space. Never fails (panics when no port can be had).
    /// # Conditions
    /// No locks held.
    pub fn ipc_kobject_alloc_port(
        &self,
        kobject: IpcKobject,
        ty: IpcKobjectType,
        options: IpcKobjectAllocOptions,
    ) -> PortId {
        let port = self.ipc_port_alloc_special(
            IPC_SPACE_KERNEL,
            IPC_PORT_ENFORCE_RIGID_REPLY_PORT_SEMANTICS,
        );
        let IpcPort::Port(p) = port else {
            xnu_panic!("ipc_kobject_alloc_port(): failed to allocate port");
        };
        let mut g = self.ip_mq_lock(p);
        self.ipc_kobject_init_port(&mut g, kobject, ty, options);
        xnu_assert!(
            g.ip_kotype() == ty,
            "{} allocated as {}",
            g.id,
            ikot_name(ty)
        );
        self.trace_port("ipc_kobject_alloc_port", &g);
        p
    }

    /// Models ipc_kobject_alloc_labeled_port (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    pub fn ipc_kobject_alloc_labeled_port(
        &self,
        kobject: IpcKobject,
        ty: IpcKobjectType,
        label: IpcLabel,
        options: IpcKobjectAllocOptions,
    ) -> PortId {
        let p = self.ipc_kobject_alloc_port(kobject, ty, options);
        self.ipc_port_set_label(IpcPort::Port(p), label);
        p
    }

    /// Models ipc_kobject_subst_once_no_senders (osfmk/kern/ipc_kobject.c, xnu-11215.1.10):
    /// deallocates the wrapper and releases the target's send right unless a copyout hollowed it.
    pub fn ipc_kobject_subst_once_no_senders(&self, port: PortId, mscount: MachPortMscount) {
        let ko_port = self.ipc_kobject_dealloc_port(port, mscount, IKOT_PORT_SUBST_ONCE);
        if let IpcKobject::Port(target) = ko_port {
            self.ipc_port_release_send(IpcPort::Port(target));
        }
    }

    /// Models ipc_kobject_alloc_subst_once (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    /// # Conditions
    /// `target` carries a send right donated to the wrapper (released by its no-senders).
    pub fn ipc_kobject_alloc_subst_once(&self, target: IpcPort) -> IpcPort {
        let IpcPort::Port(t) = target else {
            return target;
        };
        let wrapper = self.ipc_kobject_alloc_labeled_port(
            IpcKobject::Port(t),
            IKOT_PORT_SUBST_ONCE,
            IPC_LABEL_SUBST_ONCE,
            IPC_KOBJECT_ALLOC_MAKE_SEND | IPC_KOBJECT_ALLOC_NSREQUEST,
        );
        self.ledger_subst_once_stored(wrapper, t);
        IpcPort::Port(wrapper)
    }

    /// Models ipc_kobject_make_send_lazy_alloc_port (osfmk/kern/ipc_kobject.c,
    /// xnu-11215.1.10): makes a send right on the port in `port_store`, allocating and
    /// publishing it with a compare-and-swap if there is none; the loser of a racing publish
    /// undoes its port. Returns true when a notification was armed: the caller then donates a
    /// kobject reference.
    /// # Conditions
    /// Nothing locked. The load has dependency ordering and the swap release ordering in XNU;
    /// under shuttle both are SeqCst.
    pub fn ipc_kobject_make_send_lazy_alloc_port(
        &self,
        port_store: &AtomicU64,
        kobject: IpcKobject,
        ty: IpcKobjectType,
        alloc_opts: IpcKobjectAllocOptions,
    ) -> bool {
        let alloc_opts = alloc_opts | IPC_KOBJECT_ALLOC_MAKE_SEND | IPC_KOBJECT_ALLOC_NSREQUEST;
        let mut port = IpcPort::from_word(port_store.load(MemOrder::Acquire));
        if !IP_VALID(port) {
            let fresh = self.ipc_kobject_alloc_port(kobject, ty, alloc_opts);
            match self.lazy_port_publish(port_store, kobject, fresh) {
                Ok(()) => return true,
                Err(previous) => {
                    self.lazy_port_undo(fresh, ty);
                    port = previous;
                }
            }
        }
        let kr = self.ipc_kobject_make_send_nsrequest(port, kobject, ty);
        xnu_assert!(
            kr == KERN_SUCCESS || kr == KERN_ALREADY_WAITING,
            "lazy make-send on {port:?} returned {kr}"
        );
        kr == KERN_SUCCESS
    }

    /// The compare-and-swap of `IP_NULL` to `fresh`, reported to the ledger on success.
    fn lazy_port_publish(
        &self,
        port_store: &AtomicU64,
        kobject: IpcKobject,
        fresh: PortId,
    ) -> Result<(), IpcPort> {
        let word = IpcPort::Port(fresh).to_word();
        match port_store.compare_exchange(0, word, MemOrder::Release, MemOrder::Acquire) {
            Ok(_) => {
                self.ledger_lazy_published(kobject, fresh);
                Ok(())
            }
            Err(previous) => Err(IpcPort::from_word(previous)),
        }
    }

    /// The loser's undo: forget the never-published send right, then deallocate the port (the
    /// armed reference is dropped silently by the destroy path).
    fn lazy_port_undo(&self, fresh: PortId, ty: IpcKobjectType) {
        if !self.bug(crate::bugs::Bug::LazyAllocNoUndo) {
            let mut g = self.ip_mq_lock(fresh);
            g.ip_mscount = 0;
            self.ledger_mscount_reset(fresh);
            g.ip_srights = 0;
            drop(g);
            self.ip_release_live(fresh);
        }
        self.ipc_kobject_dealloc_port(fresh, 0, ty);
    }

    /// Models ipc_kobject_make_send_lazy_alloc_labeled_port (osfmk/kern/ipc_kobject.c,
    /// xnu-11215.1.10): as the unlabeled variant, with a labeled port and no extra options.
    pub fn ipc_kobject_make_send_lazy_alloc_labeled_port(
        &self,
        port_store: &AtomicU64,
        kobject: IpcKobject,
        ty: IpcKobjectType,
        label: IpcLabel,
    ) -> bool {
        let mut port = IpcPort::from_word(port_store.load(MemOrder::Acquire));
        if !IP_VALID(port) {
            let fresh = self.ipc_kobject_alloc_labeled_port(
                kobject,
                ty,
                label,
                IPC_KOBJECT_ALLOC_MAKE_SEND | IPC_KOBJECT_ALLOC_NSREQUEST,
            );
            match self.lazy_port_publish(port_store, kobject, fresh) {
                Ok(()) => return true,
                Err(previous) => {
                    self.lazy_port_undo(fresh, ty);
                    port = previous;
                    xnu_assert!(
                        IP_VALID(port) && self.ip_is_kolabeled(port.id()),
                        "lazy labeled port {port:?} is not labeled"
                    );
                }
            }
        }
        let kr = self.ipc_kobject_make_send_nsrequest(port, kobject, ty);
        xnu_assert!(
            kr == KERN_SUCCESS || kr == KERN_ALREADY_WAITING,
            "lazy labeled make-send on {port:?} returned {kr}"
        );
        kr == KERN_SUCCESS
    }

    /// Models ipc_kobject_nsrequest_locked (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    /// # Conditions
    /// Port locked and active.
    pub fn ipc_kobject_nsrequest_locked(
        &self,
        g: &mut PortGuard<'_>,
        sync: MachPortMscount,
    ) -> KernReturn {
        if g.ip_nsrequest == NsRequest::KobjectArmed {
            return KERN_ALREADY_WAITING;
        }
        if g.ip_srights == 0 && sync <= g.ip_mscount {
            return KERN_FAILURE;
        }
        g.ip_nsrequest = NsRequest::KobjectArmed;
        if !self.bug(crate::bugs::Bug::NsrequestMissingReference) {
            self.ip_reference(g.id);
        }
        self.ledger_nsrequest_armed(g.id, Some(sync), g.ip_kobject.value, g.ip_kotype());
        self.trace_port("ipc_kobject_nsrequest_locked", g);
        KERN_SUCCESS
    }

    /// Models ipc_kobject_nsrequest (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    /// Returns the kern_return_t and the port's make-send count (0 for an invalid port).
    pub fn ipc_kobject_nsrequest(
        &self,
        port: IpcPort,
        sync: MachPortMscount,
    ) -> (KernReturn, MachPortMscount) {
        let IpcPort::Port(p) = port else {
            return (KERN_INVALID_RIGHT, 0);
        };
        let mut g = self.ip_mq_lock(p);
        let mscount = g.ip_mscount;
        let kr = if g.ip_active() {
            self.ipc_kobject_nsrequest_locked(&mut g, sync)
        } else {
            KERN_INVALID_RIGHT
        };
        (kr, mscount)
    }

    /// Models ipc_kobject_copy_send (osfmk/kern/ipc_kobject.c, xnu-11215.1.10): `IP_DEAD` for
    /// a dead port, the input for an invalid one.
    pub fn ipc_kobject_copy_send(
        &self,
        port: IpcPort,
        kobject: IpcKobject,
        kotype: IpcKobjectType,
    ) -> IpcPort {
        let IpcPort::Port(p) = port else { return port };
        let mut g = self.ip_mq_lock(p);
        if g.ip_active() {
            self.ipc_kobject_require(&g, kobject, kotype);
            self.ipc_port_copy_send_any_locked(&mut g);
            port
        } else {
            IP_DEAD
        }
    }

    /// Models ipc_kobject_make_send (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    pub fn ipc_kobject_make_send(
        &self,
        port: IpcPort,
        kobject: IpcKobject,
        kotype: IpcKobjectType,
    ) -> IpcPort {
        let IpcPort::Port(p) = port else { return port };
        let mut g = self.ip_mq_lock(p);
        if g.ip_active() {
            self.ipc_kobject_require(&g, kobject, kotype);
            self.ipc_port_make_send_any_locked(&mut g);
            port
        } else {
            IP_DEAD
        }
    }

    /// Models ipc_kobject_make_send_nsrequest (osfmk/kern/ipc_kobject.c, xnu-11215.1.10):
    /// a send right plus arming; `KERN_INVALID_RIGHT` (no right made) for an invalid or dead port.
    pub fn ipc_kobject_make_send_nsrequest(
        &self,
        port: IpcPort,
        kobject: IpcKobject,
        kotype: IpcKobjectType,
    ) -> KernReturn {
        let IpcPort::Port(p) = port else {
            return KERN_INVALID_RIGHT;
        };
        let mut g = self.ip_mq_lock(p);
        self.ipc_kobject_make_send_nsrequest_locked(&mut g, kobject, kotype)
    }

    /// Models ipc_kobject_make_send_nsrequest_locked (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    /// # Conditions
    /// Port locked.
    pub fn ipc_kobject_make_send_nsrequest_locked(
        &self,
        g: &mut PortGuard<'_>,
        kobject: IpcKobject,
        kotype: IpcKobjectType,
    ) -> KernReturn {
        if !g.ip_active() {
            return KERN_INVALID_RIGHT;
        }
        self.ipc_kobject_require(g, kobject, kotype);
        self.ipc_port_make_send_any_locked(g);
        let kr = self.ipc_kobject_nsrequest_locked(g, 0);
        xnu_assert!(
            kr != KERN_FAILURE,
            "arming {} failed with a send right made",
            g.id
        );
        kr
    }

    /// Models ipc_kobject_disable_internal (osfmk/kern/ipc_kobject.c, xnu-11215.1.10): nils the
    /// pointer and the label's alternate port; returns the old pointer.
    fn ipc_kobject_disable_internal(
        &self,
        g: &mut PortGuard<'_>,
        ty: IpcKobjectType,
    ) -> IpcKobject {
        let kobject = self.ipc_kobject_get_raw(g, ty);
        self.ipc_kobject_set_raw(g, IKO_NULL, ty);
        if g.ip_is_kolabeled() {
            if let Some(label) = g.ip_kolabel.as_mut() {
                label.ikol_alt_port = IP_NULL;
            }
        }
        kobject
    }

    /// Models __ipc_kobject_dealloc_bad_type_panic (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    fn __ipc_kobject_dealloc_bad_type_panic(&self, g: &PortGuard<'_>, ty: IpcKobjectType) -> ! {
        xnu_panic!("port {} of type {}, expecting {}", g.id, g.ip_kotype(), ty);
    }

    /// Models __ipc_kobject_dealloc_bad_mscount_panic (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    fn __ipc_kobject_dealloc_bad_mscount_panic(
        &self,
        g: &PortGuard<'_>,
        mscount: MachPortMscount,
        ty: IpcKobjectType,
    ) -> ! {
        xnu_panic!(
            "unexpected make-send count: {}[{}], {}, {}",
            g.id,
            ty,
            g.ip_mscount,
            mscount
        );
    }

    /// Models __ipc_kobject_dealloc_bad_srights_panic (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    fn __ipc_kobject_dealloc_bad_srights_panic(&self, g: &PortGuard<'_>, ty: IpcKobjectType) -> ! {
        xnu_panic!(
            "unexpected send right count: {}[{}], {}",
            g.id,
            ty,
            g.ip_srights
        );
    }

    /// Models ipc_kobject_dealloc_port_and_unlock (osfmk/kern/ipc_kobject.c, xnu-11215.1.10):
    /// checks type, make-send count and send rights, nils the pointer unless the type has a
    /// destroy op, and destroys the port. Returns the pointer set before the call.
    /// # Conditions
    /// Port locked and active; unlocked and inactive on return.
    pub fn ipc_kobject_dealloc_port_and_unlock(
        &self,
        mut g: PortGuard<'_>,
        mscount: MachPortMscount,
        ty: IpcKobjectType,
    ) -> IpcKobject {
        let ops = *self.ipc_kobject_ops_get(ty);
        self.require_ip_active(&g);
        if g.ip_kotype() != ty {
            self.__ipc_kobject_dealloc_bad_type_panic(&g, ty);
        }
        if mscount != 0 && g.ip_mscount != mscount {
            self.__ipc_kobject_dealloc_bad_mscount_panic(&g, mscount, ty);
        }
        if (mscount != 0 || ops.iko_op_stable) && g.ip_srights != 0 {
            self.__ipc_kobject_dealloc_bad_srights_panic(&g, ty);
        }
        let kobject = if ops.iko_op_destroy.is_none() {
            self.ipc_kobject_disable_internal(&mut g, ty)
        } else {
            IKO_NULL
        };
        self.trace_port("ipc_kobject_dealloc_port_and_unlock", &g);
        self.ipc_port_dealloc_special_and_unlock(g, IPC_SPACE_KERNEL);
        kobject
    }

    /// Models ipc_kobject_dealloc_port (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    /// # Conditions
    /// Nothing locked; the port is active (inactive on return).
    pub fn ipc_kobject_dealloc_port(
        &self,
        port: PortId,
        mscount: MachPortMscount,
        ty: IpcKobjectType,
    ) -> IpcKobject {
        let g = self.ip_mq_lock(port);
        self.ipc_kobject_dealloc_port_and_unlock(g, mscount, ty)
    }

    /// Models ipc_kobject_enable (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    /// # Conditions
    /// Nothing locked; port active and already of type `ty`; the type is not stable.
    pub fn ipc_kobject_enable(&self, port: PortId, kobject: IpcKobject, ty: IpcKobjectType) {
        xnu_assert!(
            !self.ipc_kobject_ops_get(ty).iko_op_stable,
            "ipc_kobject_enable on stable {}",
            ikot_name(ty)
        );
        let mut g = self.ip_mq_lock(port);
        self.require_ip_active(&g);
        if ty != g.ip_kotype() {
            xnu_panic!(
                "ipc_kobject_enable: unexpected kotype of port {}: want {}, got {}",
                g.id,
                ty,
                g.ip_kotype()
            );
        }
        self.ipc_kobject_set_raw(&mut g, kobject, ty);
    }

    /// Models ipc_kobject_disable_locked (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    /// # Conditions
    /// Port locked. Returns the pointer before the call.
    pub fn ipc_kobject_disable_locked(
        &self,
        g: &mut PortGuard<'_>,
        ty: IpcKobjectType,
    ) -> IpcKobject {
        if g.ip_active() {
            xnu_assert!(
                !self.ipc_kobject_ops_get(ty).iko_op_stable,
                "ipc_kobject_disable_locked on active stable {}",
                ikot_name(ty)
            );
        }
        if g.ip_kotype() != ty {
            xnu_panic!("port {} of type {}, expecting {}", g.id, g.ip_kotype(), ty);
        }
        self.ipc_kobject_disable_internal(g, ty)
    }

    /// Models ipc_kobject_disable (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    pub fn ipc_kobject_disable(&self, port: PortId, ty: IpcKobjectType) -> IpcKobject {
        let mut g = self.ip_mq_lock(port);
        self.ipc_kobject_disable_locked(&mut g, ty)
    }

    /// Models ipc_kobject_upgrade_mktimer_locked (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    /// # Conditions
    /// Port locked; its kotype is still `IKOT_NONE` (the type bits are ORed in).
    pub fn ipc_kobject_upgrade_mktimer_locked(&self, g: &mut PortGuard<'_>, kobject: IpcKobject) {
        self.ipc_kobject_set_internal(g, kobject, IKOT_TIMER);
    }

    /// Models ipc_kobject_notify_no_senders (osfmk/kern/ipc_kobject.c, xnu-11215.1.10): runs the
    /// type's callback and consumes the reference the armed request left.
    /// # Conditions
    /// Nothing locked; the caller's token owns one port reference.
    pub fn ipc_kobject_notify_no_senders(&self, port: PortId, mscount: MachPortMscount) {
        self.ledger_nsrequest_consumed(port);
        let ops = *self.ipc_kobject_ops_get(self.ip_kotype(port));
        let Some(no_senders) = ops.iko_op_no_senders else {
            xnu_assert!(
                false,
                "no-senders notification to {port} whose type has no callback"
            );
            unreachable!()
        };
        no_senders(self, port, mscount);
        self.ip_release(port);
    }

    /// Models ipc_kobject_notify_send_once_and_unlock (osfmk/kern/ipc_kobject.c,
    /// xnu-11215.1.10): drops the send-once right under the lock, then runs the
    /// `IKOT_TASK_RESUME` callout holding the right's reference, then drops it.
    /// # Conditions
    /// Port locked; unlocked on return.
    pub fn ipc_kobject_notify_send_once_and_unlock(&self, mut g: PortGuard<'_>) {
        xnu_assert!(
            !g.ip_specialreply,
            "kobject {} is a special reply port",
            g.id
        );
        let p = g.id;
        self.ip_sorights_dec(&mut g);
        let kotype = g.ip_kotype();
        self.trace_port("ipc_kobject_notify_send_once_and_unlock", &g);
        drop(g);
        if kotype == IKOT_TASK_RESUME {
            self.task_suspension_send_once(p);
        }
        self.ip_release(p);
    }

    /// Models ipc_kobject_destroy (osfmk/kern/ipc_kobject.c, xnu-11215.1.10): panics for
    /// permanent types, runs the destroy op, frees the kobject label.
    /// # Conditions
    /// Port dead and unlocked. The model takes the lock to reach the label.
    pub fn ipc_kobject_destroy(&self, port: PortId) {
        let ops = *self.ipc_kobject_ops_get(self.ip_kotype(port));
        if ops.iko_op_permanent {
            xnu_panic!("trying to destroy an permanent port {}", port);
        }
        if let Some(destroy) = ops.iko_op_destroy {
            destroy(self, port);
        }
        let mut g = self.ip_mq_lock(port);
        if g.ip_is_kolabeled() {
            let label = g.ip_kolabel.take();
            xnu_assert!(label.is_some(), "{port} has IO_BITS_KOLABEL but no label");
            xnu_assert!(
                label.is_some_and(|l| l.ikol_alt_port == IP_NULL),
                "{port} destroyed with a live alternate port"
            );
            xnu_assert!(
                g.ip_kotype() != IKOT_NONE,
                "labeled {port} is not a kobject"
            );
            g.io_bits_andnot(IO_BITS_KOLABEL);
        }
    }

    /// Models ipc_kobject_label_substitute_task (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    fn ipc_kobject_label_substitute_task(
        &self,
        space: &SpaceGuard<'_>,
        kolabel: IpcKobjectLabel,
        g: &PortGuard<'_>,
    ) -> IpcPort {
        self.label_substitute_owned_by(space, kolabel, g, IKOT_TASK_CONTROL, false)
    }

    /// Models ipc_kobject_label_substitute_task_read (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    fn ipc_kobject_label_substitute_task_read(
        &self,
        space: &SpaceGuard<'_>,
        kolabel: IpcKobjectLabel,
        g: &PortGuard<'_>,
    ) -> IpcPort {
        self.label_substitute_owned_by(space, kolabel, g, IKOT_TASK_READ, false)
    }

    /// Models ipc_kobject_label_substitute_thread (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    fn ipc_kobject_label_substitute_thread(
        &self,
        space: &SpaceGuard<'_>,
        kolabel: IpcKobjectLabel,
        g: &PortGuard<'_>,
    ) -> IpcPort {
        self.label_substitute_owned_by(space, kolabel, g, IKOT_THREAD_CONTROL, true)
    }

    /// Models ipc_kobject_label_substitute_thread_read (osfmk/kern/ipc_kobject.c,
    /// xnu-11215.1.10).
    fn ipc_kobject_label_substitute_thread_read(
        &self,
        space: &SpaceGuard<'_>,
        kolabel: IpcKobjectLabel,
        g: &PortGuard<'_>,
    ) -> IpcPort {
        self.label_substitute_owned_by(space, kolabel, g, IKOT_THREAD_READ, true)
    }

    /// The shared body of the four substitutions: the alternate port when the object (a task,
    /// or a thread's task) is the receiving space's task.
    fn label_substitute_owned_by(
        &self,
        space: &SpaceGuard<'_>,
        kolabel: IpcKobjectLabel,
        g: &PortGuard<'_>,
        ty: IpcKobjectType,
        is_thread: bool,
    ) -> IpcPort {
        let IpcKobject::Object(obj) = self.ipc_kobject_get_raw(g, ty) else {
            return IP_NULL;
        };
        let task = if is_thread {
            self.get_threadtask(obj)
        } else {
            Some(obj)
        };
        if task.is_some() && task == space.is_task {
            return kolabel.ikol_alt_port;
        }
        IP_NULL
    }

    /// Models ipc_kobject_label_check (osfmk/kern/ipc_kobject.c, xnu-11215.1.10): may the space
    /// hold this right? Performs subst-once and the task / thread substitutions.
    /// # Conditions
    /// Space write-locked and active, port locked and active. On substitution both locks are
    /// released and the right is consumed ([`LabelCheck::Substituted`]).
    pub fn ipc_kobject_label_check<'k>(
        &'k self,
        space: SpaceGuard<'k>,
        g: PortGuard<'k>,
        msgt_name: MachMsgTypeName,
        flags: &mut IpcObjectCopyoutFlags,
    ) -> LabelCheck<'k> {
        xnu_assert!(space.is_active, "label check in inactive {:?}", space.id);
        xnu_assert!(g.ip_active(), "label check of inactive {}", g.id);
        if !g.ip_is_kolabeled() {
            return LabelCheck::Allowed(space, g);
        }
        if msgt_name == MACH_MSG_TYPE_PORT_RECEIVE {
            xnu_panic!(
                "ipc_kobject_label_check: attempted receive right copyout for labeled kobject"
            );
        }
        let kolabel = g.ip_kolabel.expect("IO_BITS_KOLABEL without a label");
        let label = kolabel.ikol_label;
        if *flags & IPC_OBJECT_COPYOUT_FLAGS_NO_LABEL_CHECK == 0
            && label & IPC_LABEL_SUBST_MASK != 0
        {
            if msgt_name != MACH_MSG_TYPE_PORT_SEND {
                return LabelCheck::Refused(space, g);
            }
            if label & IPC_LABEL_SUBST_MASK == IPC_LABEL_SUBST_ONCE {
                return self.label_check_subst_once(space, g, flags);
            }
            let subst = match label & IPC_LABEL_SUBST_MASK {
                IPC_LABEL_SUBST_TASK => self.ipc_kobject_label_substitute_task(&space, kolabel, &g),
                IPC_LABEL_SUBST_TASK_READ => {
                    self.ipc_kobject_label_substitute_task_read(&space, kolabel, &g)
                }
                IPC_LABEL_SUBST_THREAD => {
                    self.ipc_kobject_label_substitute_thread(&space, kolabel, &g)
                }
                IPC_LABEL_SUBST_THREAD_READ => {
                    self.ipc_kobject_label_substitute_thread_read(&space, kolabel, &g)
                }
                // XNU prints the label with %llx: lower-case hex, no 0x prefix.
                _ => xnu_panic!("unexpected label: {:x}", label),
            };
            if let IpcPort::Port(alt) = subst {
                return LabelCheck::Substituted(self.label_check_substitute(space, g, alt));
            }
        }
        let allowed = self.bug(crate::bugs::Bug::SkipLabelCheck)
            || (label & space.is_label & IPC_LABEL_SPACE_MASK) == (label & IPC_LABEL_SPACE_MASK);
        if allowed {
            LabelCheck::Allowed(space, g)
        } else {
            LabelCheck::Refused(space, g)
        }
    }

    /// Subst-once: hollow the wrapper, steal its donated send right, release the wrapper right.
    fn label_check_subst_once<'k>(
        &'k self,
        space: SpaceGuard<'k>,
        mut g: PortGuard<'k>,
        flags: &mut IpcObjectCopyoutFlags,
    ) -> LabelCheck<'k> {
        *flags |= IPC_OBJECT_COPYOUT_FLAGS_NO_LABEL_CHECK;
        let subst = self.ipc_kobject_disable_locked(&mut g, IKOT_PORT_SUBST_ONCE);
        let wrapper = g.id;
        if subst != IKO_NULL {
            self.ledger_subst_once_taken(wrapper, space.id);
        }
        drop(space);
        self.ipc_port_release_send_and_unlock(g);
        let IpcKobject::Port(target) = subst else {
            xnu_panic!("subst-once port {} was consumed twice", wrapper);
        };
        LabelCheck::Substituted(IpcPort::Port(target))
    }

    /// Task / thread substitution: a fresh send right on the alternate port replaces the one
    /// being copied out (the alternate port's holders use no no-senders notification).
    fn label_check_substitute(
        &self,
        space: SpaceGuard<'_>,
        g: PortGuard<'_>,
        alt: PortId,
    ) -> IpcPort {
        self.ip_reference(alt);
        drop(space);
        self.ipc_port_release_send_and_unlock(g);
        let port = self.ipc_port_make_send_any(IpcPort::Port(alt));
        self.ip_release(alt);
        port
    }
}

impl SignedKobject {
    /// The kotype a discriminator was made with (for messages).
    pub fn discriminator_type(&self) -> IpcKobjectType {
        (self.discriminator ^ 0xb7a9) & IO_BITS_KOTYPE
    }
}
