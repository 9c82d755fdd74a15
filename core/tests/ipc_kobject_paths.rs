//! Unit tests, one per XNU path, of each function of osfmk/kern/ipc_kobject.c (xnu-11215.1.10)
//! that `core/src/ipc_kobject.rs` models: every branch, with the exact state afterwards and an
//! audit of rights and references where the state is quiescent.
//!
//! A true compare-and-swap race in the lazy allocators cannot be driven from one thread; the
//! loser's undo is exercised deterministically here (a store holding `IP_DEAD`, and the undo
//! steps in sequence), and the race itself is left to the simulator.

use std::cell::RefCell;

use kobject::ikot::*;
use kobject::ipc_kobject::{IpcKobjectOps, LabelCheck};
use kobject::ipc_port::{IpcKobjectLabel, NsRequest, Receiver, IKO_NULL};
use kobject::kernel::{Limits, IPC_SPACE_KERNEL};
use kobject::kobjects::*;
use kobject::mach::*;
use kobject::outcome::{catch, quiet_findings, Finding, FindingKind};
use kobject::sync::AtomicU64;
use kobject::{
    Bugs, Held, IpcKobject, IpcPort, Kernel, ObjId, ObjKind, Platform, PortId, SpaceId, IP_DEAD,
    IP_NULL,
};

// ---------------------------------------------------------------------------------------------
// Helpers

fn kernel() -> Kernel {
    quiet_findings();
    Kernel::new(Platform::Native, Bugs::NONE)
}

/// The lock-protected counters of a port, as one comparable value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Counts {
    refs: u32,
    srights: u32,
    sorights: u32,
    mscount: u32,
    armed: bool,
}

fn counts(k: &Kernel, p: PortId) -> Counts {
    let g = k.ip_mq_lock(p);
    Counts {
        refs: g.refs(),
        srights: g.ip_srights,
        sorights: g.ip_sorights,
        mscount: g.ip_mscount,
        armed: g.ip_nsrequest == NsRequest::KobjectArmed,
    }
}

fn want(refs: u32, srights: u32, sorights: u32, mscount: u32, armed: bool) -> Counts {
    Counts {
        refs,
        srights,
        sorights,
        mscount,
        armed,
    }
}

/// The kobject value as stored, without authentication.
fn stored_kobject(k: &Kernel, p: PortId) -> IpcKobject {
    k.ip_mq_lock(p).ip_kobject.value
}

/// Runs `f` and returns the finding it must raise.
fn finding<T>(f: impl FnOnce() -> T) -> Finding {
    match catch(f) {
        Ok(_) => panic!("expected a finding, the call returned"),
        Err(f) => f,
    }
}

fn assert_kernel_panic(f: &Finding, message: &str) {
    assert_eq!(f.kind, FindingKind::KernelPanic, "{f}");
    assert_eq!(f.message, message, "{f}");
}

fn assert_xnu_assert(f: &Finding) {
    assert_eq!(f.kind, FindingKind::KernelPanic, "{f}");
    assert_eq!(f.invariant, "xnu-assert", "{f}");
}

fn generic(k: &Kernel) -> ObjId {
    k.object_alloc(ObjKind::Generic, None)
}

fn obj(o: ObjId) -> IpcKobject {
    IpcKobject::Object(o)
}

fn lazy_store(k: &Kernel, word: IpcPort) -> AtomicU64 {
    AtomicU64::new(k.platform(), word.to_word())
}

fn store_port(store: &AtomicU64) -> IpcPort {
    IpcPort::from_word(store.load(std::sync::atomic::Ordering::Acquire))
}

/// A port of an unstable type without callbacks, with `options`.
fn thread_port(k: &Kernel, options: IpcKobjectAllocOptions) -> (ObjId, PortId) {
    let o = generic(k);
    (
        o,
        k.ipc_kobject_alloc_port(obj(o), IKOT_THREAD_CONTROL, options),
    )
}

/// A plain (not lazily allocated) semaphore-typed port, stable, with `options`.
fn sema_port(k: &Kernel, options: IpcKobjectAllocOptions) -> (ObjId, PortId) {
    let o = k.semaphore_create();
    if options & IPC_KOBJECT_ALLOC_NSREQUEST != 0 {
        // The arming donates a kobject reference that the no-senders callback gives back.
        k.object_reference(o);
    }
    (o, k.ipc_kobject_alloc_port(obj(o), IKOT_SEMAPHORE, options))
}

fn user_space(k: &Kernel, label: IpcLabel) -> SpaceId {
    k.ipc_space_create_labeled(label, None).expect("space")
}

// ---------------------------------------------------------------------------------------------
// ipc_kobject_register_startup / ipc_kobject_ops_get

#[test]
fn register_startup_panics_on_second_registration() {
    let mut k = kernel();
    let ops = IpcKobjectOps::define(IKOT_SEMAPHORE, Some(Kernel::semaphore_no_senders), None);
    let f = finding(|| k.ipc_kobject_register_startup(ops));
    assert_kernel_panic(&f, "trying to register kobject(23) twice");
}

#[test]
fn register_startup_fills_an_unregistered_slot_once() {
    let mut k = kernel();
    assert_eq!(k.ipc_kobject_ops_get(IKOT_MIG).iko_op_type, IKOT_NONE);
    let ops = IpcKobjectOps {
        iko_op_type: IKOT_MIG,
        iko_op_name: "IKOT_MIG",
        ..IpcKobjectOps::EMPTY
    };
    k.ipc_kobject_register_startup(ops);
    assert_eq!(k.ipc_kobject_ops_get(IKOT_MIG).iko_op_type, IKOT_MIG);
    let f = finding(|| k.ipc_kobject_register_startup(ops));
    assert_kernel_panic(&f, "trying to register kobject(10) twice");
}

#[test]
fn ops_get_panics_out_of_range() {
    let k = kernel();
    let f = finding(|| {
        k.ipc_kobject_ops_get(IKOT_MAX_TYPE);
    });
    assert_kernel_panic(&f, "invalid kobject type 55");
}

#[test]
fn ops_get_unregistered_in_range_type_is_all_zero() {
    let k = kernel();
    for ty in [IKOT_NONE, IKOT_MIG, IKOT_UNKNOWN] {
        let ops = k.ipc_kobject_ops_get(ty);
        assert_eq!(ops.iko_op_type, IKOT_NONE);
        assert!(!ops.iko_op_stable && !ops.iko_op_permanent);
        assert!(ops.iko_op_no_senders.is_none() && ops.iko_op_destroy.is_none());
    }
}

#[test]
fn ops_get_registered_type_carries_its_flags() {
    let k = kernel();
    let host = k.ipc_kobject_ops_get(IKOT_HOST);
    assert!(host.iko_op_stable && host.iko_op_permanent);
    let sema = k.ipc_kobject_ops_get(IKOT_SEMAPHORE);
    assert!(sema.iko_op_stable && !sema.iko_op_permanent);
    assert!(sema.iko_op_no_senders.is_some());
    let timer = k.ipc_kobject_ops_get(IKOT_TIMER);
    assert!(!timer.iko_op_stable && timer.iko_op_destroy.is_some());
    assert_eq!(timer.iko_op_name, "IKOT_TIMER");
}

// ---------------------------------------------------------------------------------------------
// ipc_kobject_set_raw / ipc_kobject_set_internal / ipc_kobject_get_raw

#[test]
fn get_raw_with_the_signing_type_returns_the_kobject() {
    let k = kernel();
    let (o, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NONE);
    let g = k.ip_mq_lock(p);
    assert_eq!(k.ipc_kobject_get_raw(&g, IKOT_SEMAPHORE), obj(o));
}

#[test]
fn get_raw_with_another_type_is_a_ptrauth_failure() {
    let k = kernel();
    let (_, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NONE);
    let f = finding(|| {
        let g = k.ip_mq_lock(p);
        k.ipc_kobject_get_raw(&g, IKOT_VOUCHER);
    });
    assert_eq!(f.kind, FindingKind::KernelPanic);
    assert_eq!(f.invariant, "ptrauth-failure");
}

#[test]
fn set_raw_resigns_for_its_type_and_leaves_io_bits() {
    let k = kernel();
    let (_, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NONE);
    let other = generic(&k);
    let mut g = k.ip_mq_lock(p);
    k.ipc_kobject_set_raw(&mut g, obj(other), IKOT_VOUCHER);
    assert_eq!(g.ip_kotype(), IKOT_SEMAPHORE);
    assert_eq!(k.ipc_kobject_get_raw(&g, IKOT_VOUCHER), obj(other));
    drop(g);
    let f = finding(|| {
        let g = k.ip_mq_lock(p);
        k.ipc_kobject_get_raw(&g, IKOT_SEMAPHORE);
    });
    assert_eq!(f.invariant, "ptrauth-failure");
}

#[test]
fn get_raw_fails_after_immovable_send_bit_changes() {
    let k = kernel();
    let (_, p) = thread_port(&k, IPC_KOBJECT_ALLOC_NONE);
    k.ip_mq_lock(p).ip_immovable_send = true;
    let f = finding(|| {
        let g = k.ip_mq_lock(p);
        k.ipc_kobject_get_raw(&g, IKOT_THREAD_CONTROL);
    });
    assert_eq!(f.invariant, "ptrauth-failure");
}

#[test]
fn get_raw_fails_after_immovable_receive_bit_changes() {
    let k = kernel();
    let (_, p) = thread_port(&k, IPC_KOBJECT_ALLOC_NONE);
    k.ip_mq_lock(p).ip_immovable_receive = true;
    let f = finding(|| {
        let g = k.ip_mq_lock(p);
        k.ipc_kobject_get_raw(&g, IKOT_THREAD_CONTROL);
    });
    assert_eq!(f.invariant, "ptrauth-failure");
}

#[test]
fn get_raw_succeeds_on_immovable_port_signed_after_the_bit() {
    let k = kernel();
    let (o, p) = thread_port(&k, IPC_KOBJECT_ALLOC_IMMOVABLE_SEND);
    let g = k.ip_mq_lock(p);
    assert!(g.ip_immovable_send);
    assert_eq!(k.ipc_kobject_get_raw(&g, IKOT_THREAD_CONTROL), obj(o));
}

#[test]
fn set_internal_asserts_on_ikot_none() {
    let k = kernel();
    let p = k.ipc_port_alloc_special(IPC_SPACE_KERNEL, 0).id();
    let f = finding(|| {
        let mut g = k.ip_mq_lock(p);
        k.ipc_kobject_set_internal(&mut g, IKO_NULL, IKOT_NONE);
    });
    assert_xnu_assert(&f);
}

#[test]
fn set_internal_ors_into_existing_type_bits() {
    let k = kernel();
    let (o, p) = thread_port(&k, IPC_KOBJECT_ALLOC_NONE);
    let mut g = k.ip_mq_lock(p);
    k.ipc_kobject_set_internal(&mut g, obj(o), IKOT_TASK_CONTROL);
    // 1 | 2 == 3: the old type bits are never cleared, hence "only on a fresh port".
    assert_eq!(g.ip_kotype(), IKOT_THREAD_CONTROL | IKOT_TASK_CONTROL);
    assert_eq!(g.ip_kotype(), IKOT_HOST);
}

// ---------------------------------------------------------------------------------------------
// ipc_kobject_require / ipc_kobject_require_panic

#[test]
fn require_passes_on_matching_type_and_kobject() {
    let k = kernel();
    let (o, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NONE);
    let g = k.ip_mq_lock(p);
    k.ipc_kobject_require(&g, obj(o), IKOT_SEMAPHORE);
}

#[test]
fn require_panics_on_wrong_type() {
    let k = kernel();
    let (o, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NONE);
    let f = finding(|| {
        let g = k.ip_mq_lock(p);
        k.ipc_kobject_require(&g, obj(o), IKOT_VOUCHER);
    });
    assert_kernel_panic(
        &f,
        &format!("port {p}: invalid kobject type, got 23 wanted 37"),
    );
}

#[test]
fn require_panics_on_wrong_kobject() {
    let k = kernel();
    let (o, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NONE);
    let other = generic(&k);
    let f = finding(|| {
        let g = k.ip_mq_lock(p);
        k.ipc_kobject_require(&g, obj(other), IKOT_SEMAPHORE);
    });
    assert_kernel_panic(
        &f,
        &format!(
            "port {p}: invalid kobject, got {:?} wanted {:?}",
            obj(o),
            obj(other)
        ),
    );
}

#[test]
fn require_allows_a_null_kobject() {
    let k = kernel();
    let (_, p) = thread_port(&k, IPC_KOBJECT_ALLOC_NONE);
    k.ipc_kobject_disable(p, IKOT_THREAD_CONTROL);
    let anything = generic(&k);
    let g = k.ip_mq_lock(p);
    k.ipc_kobject_require(&g, obj(anything), IKOT_THREAD_CONTROL);
    k.ipc_kobject_require(&g, IKO_NULL, IKOT_THREAD_CONTROL);
}

#[test]
fn require_panic_reports_type_before_kobject() {
    let k = kernel();
    let (o, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NONE);
    let f = finding(|| {
        let g = k.ip_mq_lock(p);
        k.ipc_kobject_require_panic(&g, obj(o), IKOT_SEMAPHORE);
    });
    // Type matches, so the kobject message is the one reported.
    assert_kernel_panic(
        &f,
        &format!(
            "port {p}: invalid kobject, got {:?} wanted {:?}",
            obj(o),
            obj(o)
        ),
    );
}

// ---------------------------------------------------------------------------------------------
// ipc_kobject_get_locked / ipc_kobject_get_stable

#[test]
fn get_locked_returns_kobject_when_active_and_typed() {
    let k = kernel();
    let (o, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NONE);
    let g = k.ip_mq_lock(p);
    assert_eq!(k.ipc_kobject_get_locked(&g, IKOT_SEMAPHORE), obj(o));
}

#[test]
fn get_locked_returns_null_for_wrong_type_without_authenticating() {
    let k = kernel();
    let (_, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NONE);
    let g = k.ip_mq_lock(p);
    assert_eq!(k.ipc_kobject_get_locked(&g, IKOT_VOUCHER), IKO_NULL);
}

#[test]
fn get_locked_returns_null_when_inactive() {
    let k = kernel();
    let (o, p) = thread_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    k.ipc_kobject_dealloc_port(p, 0, IKOT_THREAD_CONTROL);
    let mut g = k.ip_mq_lock(p);
    assert!(!g.ip_active());
    // Put a pointer back on the dead port: only the activity test hides it now.
    k.ipc_kobject_set_raw(&mut g, obj(o), IKOT_THREAD_CONTROL);
    assert_eq!(k.ipc_kobject_get_raw(&g, IKOT_THREAD_CONTROL), obj(o));
    assert_eq!(k.ipc_kobject_get_locked(&g, IKOT_THREAD_CONTROL), IKO_NULL);
    drop(g);
    k.ipc_port_release_send(p.into());
    assert!(!k.port_is_live(p));
}

#[test]
fn get_stable_returns_kobject_for_stable_type() {
    let k = kernel();
    let (o, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NONE);
    assert_eq!(k.ipc_kobject_get_stable(p, IKOT_SEMAPHORE), obj(o));
}

#[test]
fn get_stable_asserts_on_unstable_type() {
    let k = kernel();
    let (_, p) = thread_port(&k, IPC_KOBJECT_ALLOC_NONE);
    let f = finding(|| k.ipc_kobject_get_stable(p, IKOT_THREAD_CONTROL));
    assert_xnu_assert(&f);
}

// ---------------------------------------------------------------------------------------------
// ipc_kobject_init_port / ipc_kobject_alloc_port / ipc_kobject_alloc_labeled_port

#[test]
fn alloc_port_none_is_a_naked_kernel_port() {
    let k = kernel();
    let (o, p) = thread_port(&k, IPC_KOBJECT_ALLOC_NONE);
    assert_eq!(counts(&k, p), want(1, 0, 0, 0, false));
    let g = k.ip_mq_lock(p);
    assert!(g.ip_active());
    assert_eq!(g.ip_kotype(), IKOT_THREAD_CONTROL);
    assert_eq!(k.ipc_kobject_get_raw(&g, IKOT_THREAD_CONTROL), obj(o));
    assert_eq!(
        g.receiver,
        Receiver::InSpace {
            space: IPC_SPACE_KERNEL,
            name: MACH_PORT_SPECIAL_DEFAULT
        }
    );
    assert_eq!(g.ip_reply_port_semantics, 4);
    assert!(!g.ip_no_grant && !g.ip_immovable_send && !g.ip_pinned);
    assert!(g.ip_kolabel.is_none() && !g.ip_is_kolabeled());
    drop(g);
    k.audit(&[]).unwrap();
}

#[test]
fn alloc_port_make_send_hands_a_right_to_the_caller() {
    let k = kernel();
    let (_, p) = thread_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    assert_eq!(counts(&k, p), want(2, 1, 0, 1, false));
    k.audit(&[Held::Send(p)]).unwrap();
    assert!(k.audit(&[]).is_err());
}

#[test]
fn alloc_port_nsrequest_arms_with_a_reference() {
    let k = kernel();
    let (_, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NSREQUEST);
    assert_eq!(counts(&k, p), want(2, 0, 0, 0, true));
    k.audit(&[]).unwrap();
}

#[test]
fn alloc_port_make_send_and_nsrequest_has_three_references() {
    let k = kernel();
    let (o, p) = sema_port(
        &k,
        IPC_KOBJECT_ALLOC_MAKE_SEND | IPC_KOBJECT_ALLOC_NSREQUEST,
    );
    assert_eq!(counts(&k, p), want(3, 1, 0, 1, true));
    assert_eq!(k.object_refs(o), 2);
    k.audit(&[Held::Send(p)]).unwrap();
}

#[test]
fn alloc_port_no_grant_sets_the_bit() {
    let k = kernel();
    let (_, p) = thread_port(&k, IPC_KOBJECT_ALLOC_NO_GRANT);
    let g = k.ip_mq_lock(p);
    assert!(g.ip_no_grant && !g.ip_immovable_send && !g.ip_pinned);
    assert_eq!(g.refs(), 1);
}

#[test]
fn alloc_port_immovable_send_sets_the_bit() {
    let k = kernel();
    let (_, p) = thread_port(&k, IPC_KOBJECT_ALLOC_IMMOVABLE_SEND);
    let g = k.ip_mq_lock(p);
    assert!(g.ip_immovable_send && !g.ip_no_grant && !g.ip_pinned);
    assert_eq!(g.refs(), 1);
}

#[test]
fn alloc_port_pinned_sets_the_bit() {
    let k = kernel();
    let (_, p) = thread_port(&k, IPC_KOBJECT_ALLOC_PINNED);
    let g = k.ip_mq_lock(p);
    assert!(g.ip_pinned && !g.ip_no_grant && !g.ip_immovable_send);
    assert_eq!(g.refs(), 1);
}

#[test]
fn alloc_port_label_option_is_not_consulted() {
    let k = kernel();
    let (_, p) = thread_port(&k, IPC_KOBJECT_ALLOC_LABEL);
    assert!(!k.ip_is_kolabeled(p));
    assert_eq!(counts(&k, p), want(1, 0, 0, 0, false));
}

#[test]
fn alloc_port_with_every_option() {
    let k = kernel();
    let all = IPC_KOBJECT_ALLOC_MAKE_SEND
        | IPC_KOBJECT_ALLOC_NSREQUEST
        | IPC_KOBJECT_ALLOC_NO_GRANT
        | IPC_KOBJECT_ALLOC_IMMOVABLE_SEND
        | IPC_KOBJECT_ALLOC_PINNED;
    let (o, p) = sema_port(&k, all);
    assert_eq!(counts(&k, p), want(3, 1, 0, 1, true));
    let g = k.ip_mq_lock(p);
    assert!(g.ip_no_grant && g.ip_immovable_send && g.ip_pinned);
    assert_eq!(k.ipc_kobject_get_raw(&g, IKOT_SEMAPHORE), obj(o));
    drop(g);
    k.audit(&[Held::Send(p)]).unwrap();
}

#[test]
fn alloc_port_panics_when_no_port_can_be_had() {
    quiet_findings();
    let limits = Limits {
        ports_max: 1,
        ..Limits::default()
    };
    let k = Kernel::with_limits(Platform::Native, Bugs::NONE, limits);
    let o = generic(&k);
    let f = finding(|| {
        for _ in 0..=4096 {
            k.ipc_kobject_alloc_port(obj(o), IKOT_THREAD_CONTROL, IPC_KOBJECT_ALLOC_NONE);
        }
    });
    assert_kernel_panic(&f, "ipc_kobject_alloc_port(): failed to allocate port");
}

#[test]
fn alloc_labeled_port_attaches_a_label_with_no_alt_port() {
    let k = kernel();
    let o = generic(&k);
    let p = k.ipc_kobject_alloc_labeled_port(
        obj(o),
        IKOT_UEXT_OBJECT,
        IPC_LABEL_DEXT,
        IPC_KOBJECT_ALLOC_MAKE_SEND,
    );
    assert!(k.ip_is_kolabeled(p));
    let g = k.ip_mq_lock(p);
    assert_eq!(
        g.ip_kolabel,
        Some(IpcKobjectLabel {
            ikol_label: IPC_LABEL_DEXT,
            ikol_alt_port: IP_NULL
        })
    );
    assert_eq!(g.ip_kotype(), IKOT_UEXT_OBJECT);
    drop(g);
    assert_eq!(counts(&k, p), want(2, 1, 0, 1, false));
    k.audit(&[Held::Send(p)]).unwrap();
}

// ---------------------------------------------------------------------------------------------
// ipc_kobject_alloc_subst_once / ipc_kobject_subst_once_no_senders

#[test]
fn alloc_subst_once_returns_ip_null_unchanged() {
    let k = kernel();
    assert_eq!(k.ipc_kobject_alloc_subst_once(IP_NULL), IP_NULL);
    assert!(k.live_ports().is_empty());
}

#[test]
fn alloc_subst_once_returns_ip_dead_unchanged() {
    let k = kernel();
    assert_eq!(k.ipc_kobject_alloc_subst_once(IP_DEAD), IP_DEAD);
    assert!(k.live_ports().is_empty());
}

#[test]
fn alloc_subst_once_wraps_a_valid_target() {
    let k = kernel();
    let (_, t) = thread_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    let w = k.ipc_kobject_alloc_subst_once(t.into()).id();
    assert_eq!(k.ip_kotype(w), IKOT_PORT_SUBST_ONCE);
    assert_eq!(stored_kobject(&k, w), IpcKobject::Port(t));
    let g = k.ip_mq_lock(w);
    assert_eq!(
        g.ip_kolabel,
        Some(IpcKobjectLabel {
            ikol_label: IPC_LABEL_SUBST_ONCE,
            ikol_alt_port: IP_NULL
        })
    );
    drop(g);
    assert_eq!(counts(&k, w), want(3, 1, 0, 1, true));
    // The target's donated right now belongs to the wrapper.
    assert_eq!(counts(&k, t), want(2, 1, 0, 1, false));
    k.audit(&[Held::Send(w)]).unwrap();
}

#[test]
fn subst_once_no_senders_releases_the_target_right() {
    let k = kernel();
    let (_, t) = thread_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    let w = k.ipc_kobject_alloc_subst_once(t.into());
    let (_, fired) = k.ledger_stats();
    k.ipc_port_release_send(w);
    assert_eq!(k.ledger_stats().1, fired + 1);
    assert!(!k.port_is_live(w.id()));
    assert_eq!(counts(&k, t), want(1, 0, 0, 1, false));
    k.audit(&[]).unwrap();
}

// ---------------------------------------------------------------------------------------------
// ipc_kobject_make_send_lazy_alloc_port

#[test]
fn lazy_alloc_first_call_publishes_an_armed_port() {
    let k = kernel();
    let o = k.semaphore_create();
    let store = lazy_store(&k, IP_NULL);
    k.object_reference(o);
    let armed = k.ipc_kobject_make_send_lazy_alloc_port(
        &store,
        obj(o),
        IKOT_SEMAPHORE,
        IPC_KOBJECT_ALLOC_NONE,
    );
    assert!(armed);
    let p = store_port(&store).id();
    assert_eq!(counts(&k, p), want(3, 1, 0, 1, true));
    assert_eq!(k.ip_kotype(p), IKOT_SEMAPHORE);
    assert_eq!(stored_kobject(&k, p), obj(o));
    assert_eq!(k.object_refs(o), 2);
    k.audit(&[Held::Send(p)]).unwrap();
}

#[test]
fn lazy_alloc_passes_extra_options_to_the_port() {
    let k = kernel();
    let o = k.semaphore_create();
    let store = lazy_store(&k, IP_NULL);
    k.object_reference(o);
    assert!(k.ipc_kobject_make_send_lazy_alloc_port(
        &store,
        obj(o),
        IKOT_SEMAPHORE,
        IPC_KOBJECT_ALLOC_NO_GRANT
    ));
    let p = store_port(&store).id();
    assert!(k.ip_mq_lock(p).ip_no_grant);
    assert_eq!(counts(&k, p), want(3, 1, 0, 1, true));
}

#[test]
fn lazy_alloc_second_call_on_armed_port_returns_false() {
    let k = kernel();
    let o = k.semaphore_create();
    let store = lazy_store(&k, IP_NULL);
    k.object_reference(o);
    assert!(k.ipc_kobject_make_send_lazy_alloc_port(
        &store,
        obj(o),
        IKOT_SEMAPHORE,
        IPC_KOBJECT_ALLOC_NONE
    ));
    let p = store_port(&store).id();
    k.object_reference(o);
    let armed = k.ipc_kobject_make_send_lazy_alloc_port(
        &store,
        obj(o),
        IKOT_SEMAPHORE,
        IPC_KOBJECT_ALLOC_NONE,
    );
    assert!(!armed);
    // Not armed by this call: the caller keeps its reference and drops it.
    k.object_release(o);
    assert_eq!(store_port(&store), p.into());
    assert_eq!(counts(&k, p), want(4, 2, 0, 2, true));
    assert_eq!(k.object_refs(o), 2);
    k.audit(&[Held::Send(p), Held::Send(p)]).unwrap();
}

#[test]
fn lazy_alloc_rearms_after_no_senders() {
    let k = kernel();
    let o = k.semaphore_create();
    let store = lazy_store(&k, IP_NULL);
    for _ in 0..2 {
        k.object_reference(o);
        if !k.ipc_kobject_make_send_lazy_alloc_port(
            &store,
            obj(o),
            IKOT_SEMAPHORE,
            IPC_KOBJECT_ALLOC_NONE,
        ) {
            k.object_release(o);
        }
    }
    let p = store_port(&store);
    k.ipc_port_release_send(p);
    k.ipc_port_release_send(p);
    // The callback gave the donated reference back and the armed port reference went.
    assert_eq!(counts(&k, p.id()), want(1, 0, 0, 2, false));
    assert_eq!(k.object_refs(o), 1);
    k.audit(&[]).unwrap();
    k.object_reference(o);
    let armed = k.ipc_kobject_make_send_lazy_alloc_port(
        &store,
        obj(o),
        IKOT_SEMAPHORE,
        IPC_KOBJECT_ALLOC_NONE,
    );
    assert!(armed);
    assert_eq!(store_port(&store), p);
    assert_eq!(counts(&k, p.id()), want(3, 1, 0, 3, true));
    assert_eq!(k.object_refs(o), 2);
    k.audit(&[Held::Send(p.id())]).unwrap();
}

#[test]
fn lazy_alloc_with_a_dead_store_undoes_its_port_then_asserts() {
    let k = kernel();
    let o = k.semaphore_create();
    let store = lazy_store(&k, IP_DEAD);
    let (armed_before, fired_before) = k.ledger_stats();
    k.object_reference(o);
    let f = finding(|| {
        k.ipc_kobject_make_send_lazy_alloc_port(
            &store,
            obj(o),
            IKOT_SEMAPHORE,
            IPC_KOBJECT_ALLOC_NONE,
        )
    });
    assert_xnu_assert(&f);
    assert!(f.message.contains("returned 17"), "{f}");
    // The loser's port was undone and freed; the store still holds IP_DEAD.
    assert!(k.live_ports().is_empty());
    assert_eq!(store_port(&store), IP_DEAD);
    // Its armed reference was dropped silently: no callback, the caller's reference untouched.
    assert_eq!(k.ledger_stats(), (armed_before + 1, fired_before));
    assert_eq!(k.object_refs(o), 2);
    k.object_release(o);
    k.audit(&[]).unwrap();
}

#[test]
fn lazy_alloc_loser_undo_steps_free_the_port_silently() {
    // The seed's undo, step by step, on a port built exactly as a loser builds it.
    let k = kernel();
    let o = k.semaphore_create();
    let opts = IPC_KOBJECT_ALLOC_MAKE_SEND | IPC_KOBJECT_ALLOC_NSREQUEST;
    let loser = k.ipc_kobject_alloc_port(obj(o), IKOT_SEMAPHORE, opts);
    assert_eq!(counts(&k, loser), want(3, 1, 0, 1, true));
    {
        let mut g = k.ip_mq_lock(loser);
        g.ip_mscount = 0;
        g.ip_srights = 0;
    }
    k.ip_release_live(loser);
    assert_eq!(counts(&k, loser), want(2, 0, 0, 0, true));
    let fired = k.ledger_stats().1;
    let ko = k.ipc_kobject_dealloc_port(loser, 0, IKOT_SEMAPHORE);
    assert_eq!(ko, obj(o));
    assert!(!k.port_is_live(loser));
    assert_eq!(k.ledger_stats().1, fired);
    assert_eq!(k.object_refs(o), 1);
    k.audit(&[]).unwrap();
}

#[test]
fn lazy_alloc_skipped_undo_panics_on_the_losers_send_right() {
    // Negative space of the undo: skipping it (the injected bug) leaves the send right, and
    // the stable type's dealloc panics on it.
    quiet_findings();
    let k = Kernel::new(
        Platform::Native,
        Bugs::one(Some(kobject::Bug::LazyAllocNoUndo)),
    );
    let o = k.semaphore_create();
    let store = lazy_store(&k, IP_DEAD);
    k.object_reference(o);
    let f = finding(|| {
        k.ipc_kobject_make_send_lazy_alloc_port(
            &store,
            obj(o),
            IKOT_SEMAPHORE,
            IPC_KOBJECT_ALLOC_NONE,
        )
    });
    assert_eq!(f.kind, FindingKind::KernelPanic);
    assert!(f.message.starts_with("unexpected send right count"), "{f}");
}

#[test]
fn convert_lazy_object_to_port_donates_only_when_it_armed() {
    let k = kernel();
    let sem = k.semaphore_create();
    k.object_reference(sem);
    let p = k.convert_lazy_object_to_port(sem);
    assert_eq!(k.object_port_store(sem), p);
    assert_eq!(k.object_refs(sem), 2);
    k.object_reference(sem);
    assert_eq!(k.convert_lazy_object_to_port(sem), p);
    assert_eq!(k.object_refs(sem), 2);
    k.audit(&[Held::Send(p.id()), Held::Send(p.id())]).unwrap();
    k.ipc_port_release_send(p);
    k.ipc_port_release_send(p);
    assert_eq!(k.object_refs(sem), 1);
    k.object_destroy(sem);
    assert!(!k.object_is_live(sem));
    assert!(!k.port_is_live(p.id()));
    k.audit_teardown().unwrap();
}

// ---------------------------------------------------------------------------------------------
// ipc_kobject_make_send_lazy_alloc_labeled_port

#[test]
fn lazy_alloc_labeled_first_call_publishes_a_labeled_port() {
    let k = kernel();
    let o = k.semaphore_create();
    let store = lazy_store(&k, IP_NULL);
    k.object_reference(o);
    assert!(k.ipc_kobject_make_send_lazy_alloc_labeled_port(
        &store,
        obj(o),
        IKOT_SEMAPHORE,
        IPC_LABEL_DEXT
    ));
    let p = store_port(&store).id();
    assert_eq!(counts(&k, p), want(3, 1, 0, 1, true));
    assert_eq!(
        k.ip_mq_lock(p).ip_kolabel.map(|l| l.ikol_label),
        Some(IPC_LABEL_DEXT)
    );
    k.audit(&[Held::Send(p)]).unwrap();
}

#[test]
fn lazy_alloc_labeled_second_call_returns_false() {
    let k = kernel();
    let o = k.semaphore_create();
    let store = lazy_store(&k, IP_NULL);
    k.object_reference(o);
    assert!(k.ipc_kobject_make_send_lazy_alloc_labeled_port(
        &store,
        obj(o),
        IKOT_SEMAPHORE,
        IPC_LABEL_DEXT
    ));
    k.object_reference(o);
    assert!(!k.ipc_kobject_make_send_lazy_alloc_labeled_port(
        &store,
        obj(o),
        IKOT_SEMAPHORE,
        IPC_LABEL_DEXT
    ));
    k.object_release(o);
    let p = store_port(&store).id();
    assert_eq!(counts(&k, p), want(4, 2, 0, 2, true));
    k.audit(&[Held::Send(p), Held::Send(p)]).unwrap();
}

#[test]
fn lazy_alloc_labeled_with_a_dead_store_undoes_then_asserts() {
    let k = kernel();
    let o = k.semaphore_create();
    let store = lazy_store(&k, IP_DEAD);
    let f = finding(|| {
        k.ipc_kobject_make_send_lazy_alloc_labeled_port(
            &store,
            obj(o),
            IKOT_SEMAPHORE,
            IPC_LABEL_DEXT,
        )
    });
    assert_xnu_assert(&f);
    assert!(k.live_ports().is_empty());
    assert_eq!(k.object_refs(o), 1);
    k.audit(&[]).unwrap();
}

#[test]
fn convert_lazy_object_to_labeled_port_labels_the_semaphore_port() {
    let k = kernel();
    let sem = k.semaphore_create();
    k.object_reference(sem);
    let p = k.convert_lazy_object_to_labeled_port(sem, IPC_LABEL_PLATFORM);
    assert!(k.ip_is_kolabeled(p.id()));
    k.audit(&[Held::Send(p.id())]).unwrap();
    k.ipc_port_release_send(p);
    k.object_destroy(sem);
    k.audit_teardown().unwrap();
}

// ---------------------------------------------------------------------------------------------
// ipc_kobject_nsrequest_locked / ipc_kobject_nsrequest

#[test]
fn nsrequest_locked_already_armed_is_already_waiting() {
    let k = kernel();
    let (_, p) = sema_port(
        &k,
        IPC_KOBJECT_ALLOC_MAKE_SEND | IPC_KOBJECT_ALLOC_NSREQUEST,
    );
    let before = counts(&k, p);
    let mut g = k.ip_mq_lock(p);
    assert_eq!(
        k.ipc_kobject_nsrequest_locked(&mut g, 0),
        KERN_ALREADY_WAITING
    );
    drop(g);
    assert_eq!(counts(&k, p), before);
}

#[test]
fn nsrequest_locked_fails_when_it_would_fire_immediately() {
    let k = kernel();
    let (_, p) = sema_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    k.ipc_port_release_send(p.into());
    assert_eq!(counts(&k, p), want(1, 0, 0, 1, false));
    let mut g = k.ip_mq_lock(p);
    assert_eq!(k.ipc_kobject_nsrequest_locked(&mut g, 0), KERN_FAILURE);
    assert_eq!(k.ipc_kobject_nsrequest_locked(&mut g, 1), KERN_FAILURE);
    drop(g);
    assert_eq!(counts(&k, p), want(1, 0, 0, 1, false));
}

#[test]
fn nsrequest_locked_arms_with_send_rights() {
    let k = kernel();
    let (o, p) = sema_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    let mut g = k.ip_mq_lock(p);
    assert_eq!(k.ipc_kobject_nsrequest_locked(&mut g, 0), KERN_SUCCESS);
    drop(g);
    k.object_reference(o);
    assert_eq!(counts(&k, p), want(3, 1, 0, 1, true));
    k.audit(&[Held::Send(p)]).unwrap();
}

#[test]
fn nsrequest_locked_arms_without_senders_for_a_future_mscount() {
    let k = kernel();
    let (o, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NONE);
    let mut g = k.ip_mq_lock(p);
    assert_eq!(k.ipc_kobject_nsrequest_locked(&mut g, 1), KERN_SUCCESS);
    drop(g);
    k.object_reference(o);
    assert_eq!(counts(&k, p), want(2, 0, 0, 0, true));
    k.audit(&[]).unwrap();
    // The request fires once a right made later goes away.
    let s = k.ipc_kobject_make_send(p.into(), obj(o), IKOT_SEMAPHORE);
    k.ipc_port_release_send(s);
    assert_eq!(counts(&k, p), want(1, 0, 0, 1, false));
    assert_eq!(k.object_refs(o), 1);
    k.audit(&[]).unwrap();
}

#[test]
fn nsrequest_on_null_and_dead_pointers_is_invalid_right() {
    let k = kernel();
    assert_eq!(k.ipc_kobject_nsrequest(IP_NULL, 0), (KERN_INVALID_RIGHT, 0));
    assert_eq!(k.ipc_kobject_nsrequest(IP_DEAD, 7), (KERN_INVALID_RIGHT, 0));
}

#[test]
fn nsrequest_on_a_dead_port_is_invalid_right_with_mscount_zero() {
    let k = kernel();
    let (_, p) = thread_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    k.ipc_port_make_send_any(p.into());
    assert_eq!(counts(&k, p).mscount, 2);
    k.ipc_kobject_dealloc_port(p, 0, IKOT_THREAD_CONTROL);
    // The destroy path zeroed the make-send count; nsrequest reports it as it is.
    assert_eq!(
        k.ipc_kobject_nsrequest(p.into(), 0),
        (KERN_INVALID_RIGHT, 0)
    );
    assert_eq!(counts(&k, p), want(2, 2, 0, 0, false));
    k.audit(&[Held::Send(p), Held::Send(p)]).unwrap();
}

#[test]
fn nsrequest_reports_mscount_for_every_outcome() {
    let k = kernel();
    let (o, p) = sema_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    k.ipc_kobject_make_send(p.into(), obj(o), IKOT_SEMAPHORE);
    assert_eq!(k.ipc_kobject_nsrequest(p.into(), 0), (KERN_SUCCESS, 2));
    k.object_reference(o);
    assert_eq!(
        k.ipc_kobject_nsrequest(p.into(), 0),
        (KERN_ALREADY_WAITING, 2)
    );
    assert_eq!(counts(&k, p), want(4, 2, 0, 2, true));
    k.audit(&[Held::Send(p), Held::Send(p)]).unwrap();
}

// ---------------------------------------------------------------------------------------------
// ipc_kobject_copy_send / ipc_kobject_make_send

#[test]
fn copy_send_on_a_valid_port_adds_a_right_without_a_make_send() {
    let k = kernel();
    let (o, p) = sema_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    let r = k.ipc_kobject_copy_send(p.into(), obj(o), IKOT_SEMAPHORE);
    assert_eq!(r, p.into());
    assert_eq!(counts(&k, p), want(3, 2, 0, 1, false));
    k.audit(&[Held::Send(p), Held::Send(p)]).unwrap();
}

#[test]
fn copy_send_without_a_right_is_a_violation() {
    let k = kernel();
    let (o, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NONE);
    let f = finding(|| k.ipc_kobject_copy_send(p.into(), obj(o), IKOT_SEMAPHORE));
    assert_eq!(f.kind, FindingKind::Violation);
    assert_eq!(f.invariant, "copy-send-without-right");
}

#[test]
fn copy_send_on_a_dead_port_returns_ip_dead() {
    let k = kernel();
    let (o, p) = thread_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    k.ipc_kobject_dealloc_port(p, 0, IKOT_THREAD_CONTROL);
    let before = counts(&k, p);
    assert_eq!(
        k.ipc_kobject_copy_send(p.into(), obj(o), IKOT_THREAD_CONTROL),
        IP_DEAD
    );
    assert_eq!(counts(&k, p), before);
}

#[test]
fn copy_send_on_invalid_pointers_returns_them() {
    let k = kernel();
    let o = generic(&k);
    assert_eq!(
        k.ipc_kobject_copy_send(IP_NULL, obj(o), IKOT_SEMAPHORE),
        IP_NULL
    );
    assert_eq!(
        k.ipc_kobject_copy_send(IP_DEAD, obj(o), IKOT_SEMAPHORE),
        IP_DEAD
    );
}

#[test]
fn copy_send_panics_on_the_wrong_kobject() {
    let k = kernel();
    let (_, p) = sema_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    let other = generic(&k);
    let f = finding(|| k.ipc_kobject_copy_send(p.into(), obj(other), IKOT_SEMAPHORE));
    assert_eq!(f.kind, FindingKind::KernelPanic);
    assert!(f.message.contains("invalid kobject, got"), "{f}");
}

#[test]
fn make_send_on_a_valid_port_bumps_mscount() {
    let k = kernel();
    let (o, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NONE);
    assert_eq!(
        k.ipc_kobject_make_send(p.into(), obj(o), IKOT_SEMAPHORE),
        p.into()
    );
    assert_eq!(
        k.ipc_kobject_make_send(p.into(), obj(o), IKOT_SEMAPHORE),
        p.into()
    );
    assert_eq!(counts(&k, p), want(3, 2, 0, 2, false));
    k.audit(&[Held::Send(p), Held::Send(p)]).unwrap();
}

#[test]
fn make_send_on_a_dead_port_returns_ip_dead() {
    let k = kernel();
    let (o, p) = thread_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    k.ipc_kobject_dealloc_port(p, 0, IKOT_THREAD_CONTROL);
    let before = counts(&k, p);
    assert_eq!(
        k.ipc_kobject_make_send(p.into(), obj(o), IKOT_THREAD_CONTROL),
        IP_DEAD
    );
    assert_eq!(counts(&k, p), before);
}

#[test]
fn make_send_on_invalid_pointers_returns_them() {
    let k = kernel();
    let o = generic(&k);
    assert_eq!(
        k.ipc_kobject_make_send(IP_NULL, obj(o), IKOT_SEMAPHORE),
        IP_NULL
    );
    assert_eq!(
        k.ipc_kobject_make_send(IP_DEAD, obj(o), IKOT_SEMAPHORE),
        IP_DEAD
    );
}

#[test]
fn make_send_panics_on_the_wrong_type() {
    let k = kernel();
    let (o, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NONE);
    let f = finding(|| k.ipc_kobject_make_send(p.into(), obj(o), IKOT_VOUCHER));
    assert_kernel_panic(
        &f,
        &format!("port {p}: invalid kobject type, got 23 wanted 37"),
    );
    assert_eq!(counts(&k, p), want(1, 0, 0, 0, false));
}

// ---------------------------------------------------------------------------------------------
// ipc_kobject_make_send_nsrequest / ipc_kobject_make_send_nsrequest_locked

#[test]
fn make_send_nsrequest_arms_an_unarmed_port() {
    let k = kernel();
    let (o, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NONE);
    assert_eq!(
        k.ipc_kobject_make_send_nsrequest(p.into(), obj(o), IKOT_SEMAPHORE),
        KERN_SUCCESS
    );
    k.object_reference(o);
    assert_eq!(counts(&k, p), want(3, 1, 0, 1, true));
    k.audit(&[Held::Send(p)]).unwrap();
}

#[test]
fn make_send_nsrequest_on_an_armed_port_is_already_waiting() {
    let k = kernel();
    let (o, p) = sema_port(
        &k,
        IPC_KOBJECT_ALLOC_MAKE_SEND | IPC_KOBJECT_ALLOC_NSREQUEST,
    );
    assert_eq!(
        k.ipc_kobject_make_send_nsrequest(p.into(), obj(o), IKOT_SEMAPHORE),
        KERN_ALREADY_WAITING
    );
    assert_eq!(counts(&k, p), want(4, 2, 0, 2, true));
    k.audit(&[Held::Send(p), Held::Send(p)]).unwrap();
}

#[test]
fn make_send_nsrequest_on_invalid_pointers_is_invalid_right() {
    let k = kernel();
    let o = generic(&k);
    assert_eq!(
        k.ipc_kobject_make_send_nsrequest(IP_NULL, obj(o), IKOT_SEMAPHORE),
        KERN_INVALID_RIGHT
    );
    assert_eq!(
        k.ipc_kobject_make_send_nsrequest(IP_DEAD, obj(o), IKOT_SEMAPHORE),
        KERN_INVALID_RIGHT
    );
}

#[test]
fn make_send_nsrequest_on_a_dead_port_is_invalid_right_without_a_right() {
    let k = kernel();
    let (o, p) = thread_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    k.ipc_kobject_dealloc_port(p, 0, IKOT_THREAD_CONTROL);
    let before = counts(&k, p);
    assert_eq!(
        k.ipc_kobject_make_send_nsrequest(p.into(), obj(o), IKOT_THREAD_CONTROL),
        KERN_INVALID_RIGHT
    );
    assert_eq!(counts(&k, p), before);
}

#[test]
fn make_send_nsrequest_locked_arms_under_the_callers_lock() {
    let k = kernel();
    let (o, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NONE);
    let mut g = k.ip_mq_lock(p);
    assert_eq!(
        k.ipc_kobject_make_send_nsrequest_locked(&mut g, obj(o), IKOT_SEMAPHORE),
        KERN_SUCCESS
    );
    assert_eq!(
        k.ipc_kobject_make_send_nsrequest_locked(&mut g, obj(o), IKOT_SEMAPHORE),
        KERN_ALREADY_WAITING
    );
    drop(g);
    k.object_reference(o);
    assert_eq!(counts(&k, p), want(4, 2, 0, 2, true));
    k.audit(&[Held::Send(p), Held::Send(p)]).unwrap();
}

#[test]
fn make_send_nsrequest_locked_on_an_inactive_port_is_invalid_right() {
    let k = kernel();
    let (o, p) = thread_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    k.ipc_kobject_dealloc_port(p, 0, IKOT_THREAD_CONTROL);
    let mut g = k.ip_mq_lock(p);
    assert_eq!(
        k.ipc_kobject_make_send_nsrequest_locked(&mut g, obj(o), IKOT_THREAD_CONTROL),
        KERN_INVALID_RIGHT
    );
    drop(g);
    assert_eq!(counts(&k, p), want(1, 1, 0, 0, false));
}

#[test]
fn make_send_nsrequest_panics_on_the_wrong_kobject_before_any_right() {
    let k = kernel();
    let (_, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NONE);
    let other = generic(&k);
    let f = finding(|| k.ipc_kobject_make_send_nsrequest(p.into(), obj(other), IKOT_SEMAPHORE));
    assert_eq!(f.kind, FindingKind::KernelPanic);
    assert_eq!(counts(&k, p), want(1, 0, 0, 0, false));
}

// ---------------------------------------------------------------------------------------------
// ipc_kobject_dealloc_port(_and_unlock), ipc_kobject_disable_internal and its panics

#[test]
fn dealloc_port_panics_on_the_wrong_type() {
    let k = kernel();
    let (_, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NONE);
    let f = finding(|| k.ipc_kobject_dealloc_port(p, 0, IKOT_VOUCHER));
    assert_kernel_panic(&f, &format!("port {p} of type 23, expecting 37"));
}

#[test]
fn dealloc_port_panics_on_stale_mscount() {
    let k = kernel();
    let (_, p) = sema_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    k.ipc_port_release_send(p.into());
    let f = finding(|| k.ipc_kobject_dealloc_port(p, 2, IKOT_SEMAPHORE));
    assert_kernel_panic(&f, &format!("unexpected make-send count: {p}[23], 1, 2"));
}

#[test]
fn dealloc_port_panics_on_send_rights_with_an_mscount() {
    let k = kernel();
    let (_, p) = thread_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    let f = finding(|| k.ipc_kobject_dealloc_port(p, 1, IKOT_THREAD_CONTROL));
    assert_kernel_panic(&f, &format!("unexpected send right count: {p}[1], 1"));
}

#[test]
fn dealloc_port_panics_on_stable_type_with_send_rights() {
    let k = kernel();
    let (_, p) = sema_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    let f = finding(|| k.ipc_kobject_dealloc_port(p, 0, IKOT_SEMAPHORE));
    assert_kernel_panic(&f, &format!("unexpected send right count: {p}[23], 1"));
}

#[test]
fn dealloc_port_panics_on_an_inactive_port() {
    let k = kernel();
    let (_, p) = thread_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    k.ipc_kobject_dealloc_port(p, 0, IKOT_THREAD_CONTROL);
    let f = finding(|| k.ipc_kobject_dealloc_port(p, 0, IKOT_THREAD_CONTROL));
    assert_eq!(f.kind, FindingKind::KernelPanic);
    assert!(f.message.contains("require_ip_active"), "{f}");
}

#[test]
fn dealloc_port_with_matching_mscount_and_no_senders_frees_the_port() {
    let k = kernel();
    let (o, p) = sema_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    k.ipc_port_release_send(p.into());
    assert_eq!(k.ipc_kobject_dealloc_port(p, 1, IKOT_SEMAPHORE), obj(o));
    assert!(!k.port_is_live(p));
    k.audit(&[]).unwrap();
}

#[test]
fn dealloc_port_unstable_type_keeps_send_rights_as_dead_names() {
    let k = kernel();
    let (o, p) = thread_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    assert_eq!(
        k.ipc_kobject_dealloc_port(p, 0, IKOT_THREAD_CONTROL),
        obj(o)
    );
    let g = k.ip_mq_lock(p);
    assert!(!g.ip_active());
    assert_eq!(
        g.ip_kotype(),
        IKOT_THREAD_CONTROL,
        "kobject-ness is retained"
    );
    assert_eq!(
        g.ip_kobject.value, IKO_NULL,
        "no destroy op: pointer nilled"
    );
    assert!(matches!(g.receiver, Receiver::Dead { .. }));
    drop(g);
    assert_eq!(counts(&k, p), want(1, 1, 0, 0, false));
    k.audit(&[Held::Send(p)]).unwrap();
    // The last right of a dead port goes without a notification.
    let fired = k.ledger_stats().1;
    k.ipc_port_release_send(p.into());
    assert_eq!(k.ledger_stats().1, fired);
    assert!(!k.port_is_live(p));
}

#[test]
fn dealloc_port_drops_an_armed_request_without_a_callback() {
    let k = kernel();
    let (o, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NSREQUEST);
    let fired = k.ledger_stats().1;
    k.ipc_kobject_dealloc_port(p, 0, IKOT_SEMAPHORE);
    assert!(!k.port_is_live(p));
    assert_eq!(k.ledger_stats().1, fired);
    // The donation was never given back: its owner must drop it itself.
    assert_eq!(k.object_refs(o), 2);
    k.object_release(o);
    k.audit(&[]).unwrap();
}

#[test]
fn dealloc_port_keeps_kobject_for_a_destroy_op_type() {
    let k = kernel();
    let timer = k.object_alloc(ObjKind::Timer, None);
    let p = k.ipc_kobject_alloc_port(obj(timer), IKOT_TIMER, IPC_KOBJECT_ALLOC_NONE);
    k.audit(&[]).unwrap();
    // The seed returns IKO_NULL when the type has a destroy op; the op itself gets the pointer.
    assert_eq!(k.ipc_kobject_dealloc_port(p, 0, IKOT_TIMER), IKO_NULL);
    assert!(!k.port_is_live(p));
    assert!(
        !k.object_is_live(timer),
        "mk_timer_port_destroy released the timer"
    );
    k.audit_teardown().unwrap();
}

thread_local! {
    static DESTROY_SAW: RefCell<Vec<IpcKobject>> = const { RefCell::new(Vec::new()) };
}

fn record_destroy(k: &Kernel, p: PortId) {
    let value = k.ip_mq_lock(p).ip_kobject.value;
    DESTROY_SAW.with(|s| s.borrow_mut().push(value));
}

#[test]
fn dealloc_port_pointer_survives_into_the_destroy_op() {
    let mut k = kernel();
    k.ipc_kobject_register_startup(IpcKobjectOps {
        iko_op_type: IKOT_MIG,
        iko_op_name: "IKOT_MIG",
        iko_op_destroy: Some(record_destroy),
        ..IpcKobjectOps::EMPTY
    });
    let o = generic(&k);
    let p = k.ipc_kobject_alloc_port(obj(o), IKOT_MIG, IPC_KOBJECT_ALLOC_MAKE_SEND);
    assert_eq!(k.ipc_kobject_dealloc_port(p, 0, IKOT_MIG), IKO_NULL);
    assert_eq!(DESTROY_SAW.with(|s| s.borrow().clone()), vec![obj(o)]);
    assert_eq!(stored_kobject(&k, p), obj(o), "kept on the dead port");
    k.ipc_port_release_send(p.into());
}

#[test]
fn dealloc_port_clears_the_label_alt_port_and_frees_the_label() {
    let k = kernel();
    let o = generic(&k);
    let (_, alt) = thread_port(&k, IPC_KOBJECT_ALLOC_NONE);
    let p = k.ipc_kobject_alloc_labeled_port(
        obj(o),
        IKOT_THREAD_CONTROL,
        IPC_LABEL_SUBST_THREAD,
        IPC_KOBJECT_ALLOC_MAKE_SEND,
    );
    k.ip_mq_lock(p).ip_kolabel.as_mut().unwrap().ikol_alt_port = alt.into();
    k.ipc_kobject_dealloc_port(p, 0, IKOT_THREAD_CONTROL);
    let g = k.ip_mq_lock(p);
    assert!(g.ip_kolabel.is_none());
    assert!(!g.ip_is_kolabeled());
    drop(g);
    k.audit(&[Held::Send(p)]).unwrap();
}

// ---------------------------------------------------------------------------------------------
// ipc_kobject_enable / ipc_kobject_disable_locked / ipc_kobject_disable

#[test]
fn enable_asserts_on_a_stable_type() {
    let k = kernel();
    let (o, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NONE);
    let f = finding(|| k.ipc_kobject_enable(p, obj(o), IKOT_SEMAPHORE));
    assert_xnu_assert(&f);
}

#[test]
fn enable_panics_on_the_wrong_type() {
    let k = kernel();
    let o = generic(&k);
    let p = k.ipc_kobject_alloc_port(obj(o), IKOT_TASK_NAME, IPC_KOBJECT_ALLOC_NONE);
    let f = finding(|| k.ipc_kobject_enable(p, obj(o), IKOT_THREAD_CONTROL));
    assert_kernel_panic(
        &f,
        &format!("ipc_kobject_enable: unexpected kotype of port {p}: want 1, got 20"),
    );
}

#[test]
fn enable_panics_on_an_inactive_port() {
    let k = kernel();
    let (o, p) = thread_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    k.ipc_kobject_dealloc_port(p, 0, IKOT_THREAD_CONTROL);
    let f = finding(|| k.ipc_kobject_enable(p, obj(o), IKOT_THREAD_CONTROL));
    assert!(f.message.contains("require_ip_active"), "{f}");
}

#[test]
fn enable_sets_the_kobject_of_a_disabled_port() {
    let k = kernel();
    let (o, p) = thread_port(&k, IPC_KOBJECT_ALLOC_NONE);
    assert_eq!(k.ipc_kobject_disable(p, IKOT_THREAD_CONTROL), obj(o));
    let other = generic(&k);
    k.ipc_kobject_enable(p, obj(other), IKOT_THREAD_CONTROL);
    let g = k.ip_mq_lock(p);
    assert_eq!(k.ipc_kobject_get_raw(&g, IKOT_THREAD_CONTROL), obj(other));
    assert_eq!(g.refs(), 1);
}

#[test]
fn disable_locked_returns_and_nils_the_kobject_and_alt_port() {
    let k = kernel();
    let o = generic(&k);
    let (_, alt) = thread_port(&k, IPC_KOBJECT_ALLOC_NONE);
    let p = k.ipc_kobject_alloc_labeled_port(
        obj(o),
        IKOT_THREAD_CONTROL,
        IPC_LABEL_SUBST_THREAD,
        IPC_KOBJECT_ALLOC_NONE,
    );
    let mut g = k.ip_mq_lock(p);
    g.ip_kolabel.as_mut().unwrap().ikol_alt_port = alt.into();
    assert_eq!(
        k.ipc_kobject_disable_locked(&mut g, IKOT_THREAD_CONTROL),
        obj(o)
    );
    assert_eq!(g.ip_kobject.value, IKO_NULL);
    assert_eq!(g.ip_kolabel.unwrap().ikol_alt_port, IP_NULL);
    assert_eq!(
        k.ipc_kobject_disable_locked(&mut g, IKOT_THREAD_CONTROL),
        IKO_NULL
    );
}

#[test]
fn disable_locked_asserts_on_an_active_stable_port() {
    let k = kernel();
    let (_, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NONE);
    let f = finding(|| {
        let mut g = k.ip_mq_lock(p);
        k.ipc_kobject_disable_locked(&mut g, IKOT_SEMAPHORE);
    });
    assert_xnu_assert(&f);
}

#[test]
fn disable_locked_allows_a_stable_type_once_inactive() {
    let k = kernel();
    let (_, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NONE);
    // A send-once right keeps the dead port's memory (stable dealloc only checks send rights).
    k.ipc_port_make_sonce(p.into());
    k.ipc_kobject_dealloc_port(p, 0, IKOT_SEMAPHORE);
    let mut g = k.ip_mq_lock(p);
    assert_eq!(
        k.ipc_kobject_disable_locked(&mut g, IKOT_SEMAPHORE),
        IKO_NULL
    );
    drop(g);
    assert_eq!(counts(&k, p), want(1, 0, 1, 0, false));
    k.ipc_port_release_sonce(p.into());
    assert!(!k.port_is_live(p));
}

#[test]
fn disable_locked_panics_on_the_wrong_type() {
    let k = kernel();
    let (_, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NONE);
    let f = finding(|| {
        let mut g = k.ip_mq_lock(p);
        k.ipc_kobject_disable_locked(&mut g, IKOT_THREAD_CONTROL);
    });
    assert_kernel_panic(&f, &format!("port {p} of type 23, expecting 1"));
}

#[test]
fn disable_takes_and_drops_the_lock() {
    let k = kernel();
    let (o, p) = thread_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    assert_eq!(k.ipc_kobject_disable(p, IKOT_THREAD_CONTROL), obj(o));
    assert_eq!(stored_kobject(&k, p), IKO_NULL);
    assert_eq!(counts(&k, p), want(2, 1, 0, 1, false));
    k.audit(&[Held::Send(p)]).unwrap();
}

// ---------------------------------------------------------------------------------------------
// ipc_kobject_upgrade_mktimer_locked

#[test]
fn upgrade_mktimer_locked_makes_an_ordinary_port_a_timer() {
    let k = kernel();
    let space = user_space(&k, IPC_LABEL_NONE);
    let p = k.ipc_port_alloc_special(space, 0).id();
    assert_eq!(k.ip_kotype(p), IKOT_NONE);
    let timer = k.object_alloc(ObjKind::Timer, None);
    let mut g = k.ip_mq_lock(p);
    k.ipc_kobject_upgrade_mktimer_locked(&mut g, obj(timer));
    assert_eq!(g.ip_kotype(), IKOT_TIMER);
    assert_eq!(k.ipc_kobject_get_raw(&g, IKOT_TIMER), obj(timer));
    assert_eq!(g.refs(), 1);
}

#[test]
fn mk_timer_create_upgrades_a_user_received_port() {
    let k = kernel();
    let space = user_space(&k, IPC_LABEL_NONE);
    let (_, p) = k.mk_timer_create(space).unwrap();
    assert_eq!(k.ip_kotype(p), IKOT_TIMER);
    assert!(!k.ip_in_kernel_space(p));
    k.audit(&[]).unwrap();
}

// ---------------------------------------------------------------------------------------------
// ipc_kobject_notify_no_senders

#[test]
fn notify_no_senders_runs_the_callback_and_consumes_the_armed_reference() {
    let k = kernel();
    let (o, p) = sema_port(
        &k,
        IPC_KOBJECT_ALLOC_MAKE_SEND | IPC_KOBJECT_ALLOC_NSREQUEST,
    );
    let (_, fired) = k.ledger_stats();
    k.ipc_port_release_send(p.into());
    assert_eq!(k.ledger_stats().1, fired + 1);
    assert_eq!(counts(&k, p), want(1, 0, 0, 1, false));
    assert_eq!(
        k.object_refs(o),
        1,
        "semaphore_no_senders gave the donation back"
    );
    k.audit(&[]).unwrap();
}

#[test]
fn notify_no_senders_by_prepare_and_emit() {
    let k = kernel();
    let (o, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NSREQUEST);
    let mut g = k.ip_mq_lock(p);
    let token = k.ipc_notify_no_senders_prepare(&mut g);
    drop(g);
    assert!(token.ns_is_kobject);
    assert_eq!(token.ns_mscount, 0);
    assert_eq!(counts(&k, p), want(2, 0, 0, 0, false));
    k.ipc_notify_no_senders_emit(token);
    assert_eq!(counts(&k, p), want(1, 0, 0, 0, false));
    assert_eq!(k.object_refs(o), 1);
    k.audit(&[]).unwrap();
}

#[test]
fn notify_no_senders_without_a_prepared_notification_is_a_violation() {
    let k = kernel();
    let (_, p) = sema_port(
        &k,
        IPC_KOBJECT_ALLOC_MAKE_SEND | IPC_KOBJECT_ALLOC_NSREQUEST,
    );
    let f = finding(|| k.ipc_kobject_notify_no_senders(p, 1));
    assert_eq!(f.kind, FindingKind::Violation);
    assert_eq!(f.invariant, "no-senders-without-request");
}

#[test]
fn notify_no_senders_prepared_with_senders_is_a_violation() {
    let k = kernel();
    let (_, p) = sema_port(
        &k,
        IPC_KOBJECT_ALLOC_MAKE_SEND | IPC_KOBJECT_ALLOC_NSREQUEST,
    );
    let mut g = k.ip_mq_lock(p);
    let token = k.ipc_notify_no_senders_prepare(&mut g);
    drop(g);
    assert!(token.ns_is_kobject);
    // Judged from the holders, not from the ip_srights that guarded the prepare.
    let f = k.audit(&[Held::Send(p)]).unwrap_err();
    assert_eq!(f.kind, FindingKind::Violation);
    assert_eq!(f.invariant, "no-senders-with-senders");
}

// ---------------------------------------------------------------------------------------------
// ipc_kobject_notify_send_once_and_unlock

#[test]
fn notify_send_once_on_task_resume_releases_a_suspension_hold() {
    let k = kernel();
    let (task, _space) = k.task_create(IPC_LABEL_NONE).unwrap();
    let s1 = k.task_suspend2(task);
    let s2 = k.task_suspend2(task);
    assert_eq!(s1, s2);
    let p = s1.id();
    assert_eq!(k.ip_kotype(p), IKOT_TASK_RESUME);
    assert_eq!(k.object_state(task).suspend_count, 2);
    assert_eq!(counts(&k, p), want(3, 0, 2, 0, false));
    k.audit(&[Held::SendOnce(p), Held::SendOnce(p)]).unwrap();
    let g = k.ip_mq_lock(p);
    k.ipc_kobject_notify_send_once_and_unlock(g);
    assert_eq!(k.object_state(task).suspend_count, 1);
    assert_eq!(counts(&k, p), want(2, 0, 1, 0, false));
    k.audit(&[Held::SendOnce(p)]).unwrap();
    // Through the generic send-once destruction: an active kernel port routes to the kobject.
    let g = k.ip_mq_lock(p);
    k.ipc_notify_send_once_and_unlock(g);
    assert_eq!(k.object_state(task).suspend_count, 0);
    assert_eq!(counts(&k, p), want(1, 0, 0, 0, false));
    k.task_terminate(task);
    k.audit_teardown().unwrap();
}

#[test]
fn notify_send_once_on_another_type_only_drops_the_right() {
    let k = kernel();
    let (o, p) = sema_port(&k, IPC_KOBJECT_ALLOC_NONE);
    k.ipc_port_make_sonce(p.into());
    assert_eq!(counts(&k, p), want(2, 0, 1, 0, false));
    let g = k.ip_mq_lock(p);
    k.ipc_kobject_notify_send_once_and_unlock(g);
    assert_eq!(counts(&k, p), want(1, 0, 0, 0, false));
    assert_eq!(k.object_refs(o), 1);
    assert!(k.ip_mq_lock(p).ip_messages.is_empty());
    k.audit(&[]).unwrap();
}

#[test]
fn notify_send_once_on_a_dead_kobject_port_releases_silently() {
    let k = kernel();
    let (task, _space) = k.task_create(IPC_LABEL_NONE).unwrap();
    let p = k.task_suspend2(task).id();
    k.task_terminate(task);
    assert!(!k.ip_active(p));
    let g = k.ip_mq_lock(p);
    k.ipc_notify_send_once_and_unlock(g);
    assert!(!k.port_is_live(p));
    // The task is gone already; its resume port died first, so nothing is called back.
    k.audit_teardown().unwrap();
}

// ---------------------------------------------------------------------------------------------
// ipc_kobject_destroy

#[test]
fn destroy_panics_on_a_permanent_port() {
    let k = kernel();
    let (_, host_port, _) = k.host_create();
    let f = finding(|| k.ipc_kobject_destroy(host_port));
    assert_kernel_panic(
        &f,
        &format!("trying to destroy an permanent port {host_port}"),
    );
}

#[test]
fn dealloc_of_a_permanent_port_panics_in_destroy() {
    let k = kernel();
    let (_, _, priv_port) = k.host_create();
    let f = finding(|| k.ipc_kobject_dealloc_port(priv_port, 0, IKOT_HOST_PRIV));
    assert_kernel_panic(
        &f,
        &format!("trying to destroy an permanent port {priv_port}"),
    );
}

#[test]
fn destroy_frees_the_label_and_clears_the_bit() {
    let k = kernel();
    let o = generic(&k);
    let p = k.ipc_kobject_alloc_labeled_port(
        obj(o),
        IKOT_TASK_NAME,
        IPC_LABEL_DEXT,
        IPC_KOBJECT_ALLOC_MAKE_SEND,
    );
    k.ipc_kobject_dealloc_port(p, 0, IKOT_TASK_NAME);
    assert!(!k.ip_is_kolabeled(p));
    assert!(k.ip_mq_lock(p).ip_kolabel.is_none());
    assert_eq!(k.ip_kotype(p), IKOT_TASK_NAME);
}

#[test]
fn destroy_asserts_when_the_alt_port_is_still_set() {
    let k = kernel();
    let o = generic(&k);
    let (_, alt) = thread_port(&k, IPC_KOBJECT_ALLOC_NONE);
    let p = k.ipc_kobject_alloc_labeled_port(
        obj(o),
        IKOT_THREAD_CONTROL,
        IPC_LABEL_SUBST_THREAD,
        IPC_KOBJECT_ALLOC_NONE,
    );
    k.ip_mq_lock(p).ip_kolabel.as_mut().unwrap().ikol_alt_port = alt.into();
    let f = finding(|| k.ipc_kobject_destroy(p));
    assert_xnu_assert(&f);
}

#[test]
fn destroy_of_an_unlabeled_non_kobject_port_does_nothing() {
    let k = kernel();
    let p = k.ipc_port_alloc_special(IPC_SPACE_KERNEL, 0).id();
    k.ipc_kobject_destroy(p);
    assert_eq!(counts(&k, p), want(1, 0, 0, 0, false));
    assert!(k.ip_active(p));
}

// ---------------------------------------------------------------------------------------------
// ipc_kobject_label_check and the four substitutions

fn check<'k>(
    k: &'k Kernel,
    space: SpaceId,
    p: PortId,
    msgt: MachMsgTypeName,
    flags: &mut IpcObjectCopyoutFlags,
) -> LabelCheck<'k> {
    let sg = k.is_write_lock(space);
    let g = k.ip_mq_lock(p);
    k.ipc_kobject_label_check(sg, g, msgt, flags)
}

fn allowed(r: LabelCheck<'_>) -> bool {
    match r {
        LabelCheck::Allowed(..) => true,
        LabelCheck::Refused(..) => false,
        LabelCheck::Substituted(p) => panic!("unexpected substitution to {p:?}"),
    }
}

fn substituted(r: LabelCheck<'_>) -> IpcPort {
    match r {
        LabelCheck::Substituted(p) => p,
        LabelCheck::Allowed(..) => panic!("allowed, expected a substitution"),
        LabelCheck::Refused(..) => panic!("refused, expected a substitution"),
    }
}

#[test]
fn label_check_allows_an_unlabeled_port() {
    let k = kernel();
    let space = user_space(&k, IPC_LABEL_NONE);
    let (_, p) = thread_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NONE;
    assert!(allowed(check(
        &k,
        space,
        p,
        MACH_MSG_TYPE_PORT_SEND,
        &mut flags
    )));
    assert!(allowed(check(
        &k,
        space,
        p,
        MACH_MSG_TYPE_PORT_RECEIVE,
        &mut flags
    )));
    assert_eq!(flags, IPC_OBJECT_COPYOUT_FLAGS_NONE);
    assert_eq!(counts(&k, p), want(2, 1, 0, 1, false));
}

#[test]
fn label_check_panics_on_the_receive_right_of_a_labeled_port() {
    let k = kernel();
    let space = user_space(&k, IPC_LABEL_SPECIAL);
    let o = generic(&k);
    let p = k.ipc_kobject_alloc_labeled_port(
        obj(o),
        IKOT_UEXT_OBJECT,
        IPC_LABEL_DEXT,
        IPC_KOBJECT_ALLOC_NONE,
    );
    let f = finding(|| {
        let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NONE;
        allowed(check(&k, space, p, MACH_MSG_TYPE_PORT_RECEIVE, &mut flags))
    });
    assert_kernel_panic(
        &f,
        "ipc_kobject_label_check: attempted receive right copyout for labeled kobject",
    );
}

#[test]
fn label_check_refuses_a_non_send_right_with_a_subst_label() {
    let k = kernel();
    let (task, space) = k.task_create(IPC_LABEL_NONE).unwrap();
    let control = k.object_port(task, TASK_PORT_CONTROL).id();
    k.ipc_port_make_sonce(control.into());
    let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NONE;
    assert!(!allowed(check(
        &k,
        space,
        control,
        MACH_MSG_TYPE_PORT_SEND_ONCE,
        &mut flags
    )));
    assert_eq!(counts(&k, control), want(2, 0, 1, 0, false));
    k.audit(&[Held::SendOnce(control)]).unwrap();
}

#[test]
fn label_check_no_label_check_flag_skips_substitution() {
    let k = kernel();
    let (task, space) = k.task_create(IPC_LABEL_NONE).unwrap();
    let control = k.object_port(task, TASK_PORT_CONTROL).id();
    k.ipc_kobject_make_send(control.into(), obj(task), IKOT_TASK_CONTROL);
    let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NO_LABEL_CHECK;
    // Space bits of SUBST_TASK are empty, so the space comparison allows it.
    assert!(allowed(check(
        &k,
        space,
        control,
        MACH_MSG_TYPE_PORT_SEND,
        &mut flags
    )));
    assert!(allowed(check(
        &k,
        space,
        control,
        MACH_MSG_TYPE_PORT_SEND_ONCE,
        &mut flags
    )));
    assert_eq!(counts(&k, control), want(2, 1, 0, 1, false));
}

#[test]
fn label_check_subst_once_hollows_the_wrapper_and_returns_the_target() {
    let k = kernel();
    let space = user_space(&k, IPC_LABEL_NONE);
    let (_, t) = thread_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    let w = k.ipc_kobject_alloc_subst_once(t.into()).id();
    let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NONE;
    let r = substituted(check(&k, space, w, MACH_MSG_TYPE_PORT_SEND, &mut flags));
    assert_eq!(r, t.into());
    assert_eq!(flags, IPC_OBJECT_COPYOUT_FLAGS_NO_LABEL_CHECK);
    // The wrapper's last right went: its no-senders deallocated it and found nothing to release.
    assert!(!k.port_is_live(w));
    assert_eq!(counts(&k, t), want(2, 1, 0, 1, false));
    k.audit(&[Held::Send(t)]).unwrap();
}

#[test]
fn label_check_subst_once_keeps_a_hollow_wrapper_with_other_rights() {
    let k = kernel();
    let space = user_space(&k, IPC_LABEL_NONE);
    let (_, t) = thread_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    let w = k.ipc_kobject_alloc_subst_once(t.into()).id();
    k.ipc_port_copy_send_any(w.into());
    let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NONE;
    assert_eq!(
        substituted(check(&k, space, w, MACH_MSG_TYPE_PORT_SEND, &mut flags)),
        t.into()
    );
    assert_eq!(stored_kobject(&k, w), IKO_NULL);
    assert_eq!(counts(&k, w), want(3, 1, 0, 1, true));
    k.audit(&[Held::Send(w), Held::Send(t)]).unwrap();
    k.ipc_port_release_send(w.into());
    assert!(!k.port_is_live(w));
    k.audit(&[Held::Send(t)]).unwrap();
}

#[test]
fn label_check_subst_once_consumed_twice_panics() {
    let k = kernel();
    let space = user_space(&k, IPC_LABEL_NONE);
    let (_, t) = thread_port(&k, IPC_KOBJECT_ALLOC_MAKE_SEND);
    let w = k.ipc_kobject_alloc_subst_once(t.into()).id();
    k.ipc_port_copy_send_any(w.into());
    let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NONE;
    substituted(check(&k, space, w, MACH_MSG_TYPE_PORT_SEND, &mut flags));
    let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NONE;
    let f = finding(|| {
        substituted(check(&k, space, w, MACH_MSG_TYPE_PORT_SEND, &mut flags));
    });
    assert_kernel_panic(&f, &format!("subst-once port {w} was consumed twice"));
}

#[test]
fn label_check_substitutes_task_control_in_its_own_space() {
    let k = kernel();
    let (task, space) = k.task_create(IPC_LABEL_NONE).unwrap();
    let control = k.object_port(task, TASK_PORT_CONTROL).id();
    let pinned = k.object_port(task, TASK_PORT_SELF_PINNED).id();
    k.ipc_kobject_make_send(control.into(), obj(task), IKOT_TASK_CONTROL);
    let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NONE;
    let r = substituted(check(
        &k,
        space,
        control,
        MACH_MSG_TYPE_PORT_SEND,
        &mut flags,
    ));
    assert_eq!(r, pinned.into());
    assert_eq!(flags, IPC_OBJECT_COPYOUT_FLAGS_NONE);
    assert_eq!(counts(&k, control), want(1, 0, 0, 1, false));
    assert_eq!(counts(&k, pinned), want(2, 1, 0, 1, false));
    k.audit(&[Held::Send(pinned)]).unwrap();
    k.ipc_port_release_send(r);
    k.task_terminate(task);
    k.audit_teardown().unwrap();
}

#[test]
fn label_check_keeps_task_control_in_another_space() {
    let k = kernel();
    let (task, _) = k.task_create(IPC_LABEL_NONE).unwrap();
    let (_, other_space) = k.task_create(IPC_LABEL_NONE).unwrap();
    let control = k.object_port(task, TASK_PORT_CONTROL).id();
    k.ipc_kobject_make_send(control.into(), obj(task), IKOT_TASK_CONTROL);
    let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NONE;
    assert!(allowed(check(
        &k,
        other_space,
        control,
        MACH_MSG_TYPE_PORT_SEND,
        &mut flags
    )));
    assert_eq!(counts(&k, control), want(2, 1, 0, 1, false));
    // A space without a task never substitutes either.
    let anonymous = user_space(&k, IPC_LABEL_NONE);
    assert!(allowed(check(
        &k,
        anonymous,
        control,
        MACH_MSG_TYPE_PORT_SEND,
        &mut flags
    )));
    k.audit(&[Held::Send(control)]).unwrap();
}

#[test]
fn label_check_substitutes_task_read_in_its_own_space() {
    let k = kernel();
    let (task, space) = k.task_create(IPC_LABEL_NONE).unwrap();
    let read = k.object_port(task, TASK_PORT_READ).id();
    let control = k.object_port(task, TASK_PORT_CONTROL).id();
    k.ipc_kobject_make_send(read.into(), obj(task), IKOT_TASK_READ);
    let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NONE;
    let r = substituted(check(&k, space, read, MACH_MSG_TYPE_PORT_SEND, &mut flags));
    assert_eq!(r, control.into());
    assert_eq!(counts(&k, read), want(1, 0, 0, 1, false));
    assert_eq!(counts(&k, control), want(2, 1, 0, 1, false));
    k.audit(&[Held::Send(control)]).unwrap();
}

#[test]
fn label_check_keeps_task_read_in_another_space() {
    let k = kernel();
    let (task, _) = k.task_create(IPC_LABEL_NONE).unwrap();
    let (_, other_space) = k.task_create(IPC_LABEL_NONE).unwrap();
    let read = k.object_port(task, TASK_PORT_READ).id();
    k.ipc_kobject_make_send(read.into(), obj(task), IKOT_TASK_READ);
    let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NONE;
    assert!(allowed(check(
        &k,
        other_space,
        read,
        MACH_MSG_TYPE_PORT_SEND,
        &mut flags
    )));
    k.audit(&[Held::Send(read)]).unwrap();
}

#[test]
fn label_check_substitutes_thread_control_in_its_tasks_space() {
    let k = kernel();
    let (task, space) = k.task_create(IPC_LABEL_NONE).unwrap();
    let thread = k.thread_create(task);
    let control = k.object_port(thread, THREAD_PORT_CONTROL).id();
    let pinned = k.object_port(thread, THREAD_PORT_SELF_PINNED).id();
    k.ipc_kobject_make_send(control.into(), obj(thread), IKOT_THREAD_CONTROL);
    let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NONE;
    let r = substituted(check(
        &k,
        space,
        control,
        MACH_MSG_TYPE_PORT_SEND,
        &mut flags,
    ));
    assert_eq!(r, pinned.into());
    assert_eq!(counts(&k, control), want(1, 0, 0, 1, false));
    assert_eq!(counts(&k, pinned), want(2, 1, 0, 1, false));
    k.audit(&[Held::Send(pinned)]).unwrap();
    k.ipc_port_release_send(r);
    k.thread_terminate(thread);
    k.task_terminate(task);
    k.audit_teardown().unwrap();
}

#[test]
fn label_check_keeps_thread_control_in_another_space() {
    let k = kernel();
    let (task, _) = k.task_create(IPC_LABEL_NONE).unwrap();
    let (_, other_space) = k.task_create(IPC_LABEL_NONE).unwrap();
    let thread = k.thread_create(task);
    let control = k.object_port(thread, THREAD_PORT_CONTROL).id();
    k.ipc_kobject_make_send(control.into(), obj(thread), IKOT_THREAD_CONTROL);
    let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NONE;
    assert!(allowed(check(
        &k,
        other_space,
        control,
        MACH_MSG_TYPE_PORT_SEND,
        &mut flags
    )));
    k.audit(&[Held::Send(control)]).unwrap();
}

#[test]
fn label_check_substitutes_thread_read_in_its_tasks_space() {
    let k = kernel();
    let (task, space) = k.task_create(IPC_LABEL_NONE).unwrap();
    let thread = k.thread_create(task);
    let read = k.object_port(thread, THREAD_PORT_READ).id();
    let control = k.object_port(thread, THREAD_PORT_CONTROL).id();
    k.ipc_kobject_make_send(read.into(), obj(thread), IKOT_THREAD_READ);
    let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NONE;
    let r = substituted(check(&k, space, read, MACH_MSG_TYPE_PORT_SEND, &mut flags));
    assert_eq!(r, control.into());
    assert_eq!(counts(&k, control), want(2, 1, 0, 1, false));
    k.audit(&[Held::Send(control)]).unwrap();
}

#[test]
fn label_check_keeps_thread_read_in_another_space() {
    let k = kernel();
    let (task, _) = k.task_create(IPC_LABEL_NONE).unwrap();
    let (_, other_space) = k.task_create(IPC_LABEL_NONE).unwrap();
    let thread = k.thread_create(task);
    let read = k.object_port(thread, THREAD_PORT_READ).id();
    k.ipc_kobject_make_send(read.into(), obj(thread), IKOT_THREAD_READ);
    let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NONE;
    assert!(allowed(check(
        &k,
        other_space,
        read,
        MACH_MSG_TYPE_PORT_SEND,
        &mut flags
    )));
    k.audit(&[Held::Send(read)]).unwrap();
}

#[test]
fn label_check_without_an_alt_port_does_not_substitute() {
    let k = kernel();
    let (task, space) = k.task_create(IPC_LABEL_NONE).unwrap();
    let control = k.object_port(task, TASK_PORT_CONTROL).id();
    k.ipc_kobject_make_send(control.into(), obj(task), IKOT_TASK_CONTROL);
    k.ip_mq_lock(control)
        .ip_kolabel
        .as_mut()
        .unwrap()
        .ikol_alt_port = IP_NULL;
    let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NONE;
    assert!(allowed(check(
        &k,
        space,
        control,
        MACH_MSG_TYPE_PORT_SEND,
        &mut flags
    )));
    k.audit(&[Held::Send(control)]).unwrap();
}

#[test]
fn label_check_without_a_kobject_does_not_substitute() {
    let k = kernel();
    let (task, space) = k.task_create(IPC_LABEL_NONE).unwrap();
    let control = k.object_port(task, TASK_PORT_CONTROL).id();
    k.ipc_kobject_make_send(control.into(), obj(task), IKOT_TASK_CONTROL);
    {
        // Disable (as ipc_task_disable does) but put the alt port back, so only TASK_NULL stops it.
        let mut g = k.ip_mq_lock(control);
        let alt = g.ip_kolabel.unwrap().ikol_alt_port;
        k.ipc_kobject_disable_locked(&mut g, IKOT_TASK_CONTROL);
        g.ip_kolabel.as_mut().unwrap().ikol_alt_port = alt;
    }
    let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NONE;
    assert!(allowed(check(
        &k,
        space,
        control,
        MACH_MSG_TYPE_PORT_SEND,
        &mut flags
    )));
}

#[test]
fn label_check_substitution_to_a_dead_alt_port_yields_ip_dead() {
    let k = kernel();
    let (task, space) = k.task_create(IPC_LABEL_NONE).unwrap();
    let control = k.object_port(task, TASK_PORT_CONTROL).id();
    let pinned = k.object_port(task, TASK_PORT_SELF_PINNED).id();
    // Keep the pinned port's memory with a right, then kill it.
    k.ipc_kobject_make_send(pinned.into(), obj(task), IKOT_TASK_CONTROL);
    k.ipc_kobject_dealloc_port(pinned, 0, IKOT_TASK_CONTROL);
    k.ipc_kobject_make_send(control.into(), obj(task), IKOT_TASK_CONTROL);
    let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NONE;
    let r = substituted(check(
        &k,
        space,
        control,
        MACH_MSG_TYPE_PORT_SEND,
        &mut flags,
    ));
    assert_eq!(r, IP_DEAD);
    assert_eq!(counts(&k, control), want(1, 0, 0, 1, false));
    assert_eq!(counts(&k, pinned), want(1, 1, 0, 0, false));
    k.audit(&[Held::Send(pinned)]).unwrap();
}

#[test]
fn label_check_space_label_comparison_allows_a_superset() {
    let k = kernel();
    let o = generic(&k);
    let p = k.ipc_kobject_alloc_labeled_port(
        obj(o),
        IKOT_UEXT_OBJECT,
        IPC_LABEL_DEXT,
        IPC_KOBJECT_ALLOC_MAKE_SEND,
    );
    let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NONE;
    for label in [IPC_LABEL_DEXT, IPC_LABEL_SPECIAL] {
        let space = user_space(&k, label);
        assert!(allowed(check(
            &k,
            space,
            p,
            MACH_MSG_TYPE_PORT_SEND,
            &mut flags
        )));
        assert!(allowed(check(
            &k,
            space,
            p,
            MACH_MSG_TYPE_PORT_SEND_ONCE,
            &mut flags
        )));
    }
    k.audit(&[Held::Send(p)]).unwrap();
}

#[test]
fn label_check_space_label_comparison_refuses_a_missing_bit() {
    let k = kernel();
    let o = generic(&k);
    let p = k.ipc_kobject_alloc_labeled_port(
        obj(o),
        IKOT_UEXT_OBJECT,
        IPC_LABEL_SPECIAL,
        IPC_KOBJECT_ALLOC_MAKE_SEND,
    );
    let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NONE;
    for label in [IPC_LABEL_NONE, IPC_LABEL_DEXT, IPC_LABEL_PLATFORM] {
        let space = user_space(&k, label);
        assert!(!allowed(check(
            &k,
            space,
            p,
            MACH_MSG_TYPE_PORT_SEND,
            &mut flags
        )));
    }
    let special = user_space(&k, IPC_LABEL_SPECIAL);
    assert!(allowed(check(
        &k,
        special,
        p,
        MACH_MSG_TYPE_PORT_SEND,
        &mut flags
    )));
    assert_eq!(counts(&k, p), want(2, 1, 0, 1, false));
}

#[test]
fn label_check_panics_on_an_unknown_substitution_kind() {
    let k = kernel();
    let space = user_space(&k, IPC_LABEL_NONE);
    let o = generic(&k);
    let p = k.ipc_kobject_alloc_labeled_port(
        obj(o),
        IKOT_UEXT_OBJECT,
        0x0600,
        IPC_KOBJECT_ALLOC_MAKE_SEND,
    );
    let f = finding(|| {
        let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NONE;
        allowed(check(&k, space, p, MACH_MSG_TYPE_PORT_SEND, &mut flags))
    });
    // XNU prints the label with %llx: no 0x prefix.
    assert_kernel_panic(&f, "unexpected label: 600");
}
