//! The proptest state machine of the kobject port layer (feature `proptest`): random sequences of allocations,
//! rights, arming, deallocation, enable / disable, lazy allocation and subst-once copyouts,
//! checked after every step against a small reference model of rights and references and by
//! the auditor (`Kernel::audit`), and at the end by a full teardown (`Kernel::audit_teardown`).
//!
//! Preconditions are what the kernel's callers guarantee: rights are only released or copied
//! when the reference model holds them, a port is deallocated only where XNU would not panic,
//! a kobject reference is donated whenever a request is armed on a type that expects one.
//! `core/tests/state_machine.rs` runs it as a test (failing cases saved beside that file);
//! `kobjsim bugs` runs it as one of its detection engines.

use std::fmt;

use crate::ikot::*;
use crate::ipc_kobject::LabelCheck;
use crate::ipc_port::{NsRequest, IKO_NULL};
use crate::mach::*;
use crate::outcome::{catch, quiet_findings};
use crate::{
    Bugs, Held, IpcKobject, IpcPort, Kernel, ObjId, ObjKind, Platform, PortId, SpaceId, IP_DEAD,
};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::Union;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest};

/// At most this many ports and lazily allocating objects per case.
pub const PORTS_MAX: usize = 16;
pub const LAZY_OBJECTS_MAX: usize = 3;
pub const STEPS_MAX: usize = 30;
pub const CASES: u32 = 256;

// ---------------------------------------------------------------------------------------------
// Reference model

/// Port types a plain allocation picks from: one unstable type without a no-senders callback
/// (the only one enabled / disabled), one stable type whose callback hands the donated reference
/// back, and a stable and an unstable type whose callback deallocates the port.
const PLAIN_TYPES: [IpcKobjectType; 4] = [
    IKOT_THREAD_CONTROL,
    IKOT_SEMAPHORE,
    IKOT_NAMED_ENTRY,
    IKOT_IOKIT_OBJECT,
];

fn stable(ty: IpcKobjectType) -> bool {
    matches!(ty, IKOT_SEMAPHORE | IKOT_NAMED_ENTRY | IKOT_VOUCHER)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `ipc_kobject_alloc_port` on a generic object.
    Plain,
    /// The port in a semaphore's or voucher's `port_store`.
    Lazy,
    /// An `IKOT_PORT_SUBST_ONCE` wrapper.
    Wrapper,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RefKobject {
    Null,
    Obj(usize),
    Port(usize),
}

#[derive(Clone, Debug)]
struct RefPort {
    kind: Kind,
    ty: IpcKobjectType,
    /// The object a plain or lazy port stands for.
    obj: Option<usize>,
    /// A wrapper's target, until hollowed or deallocated.
    target: Option<usize>,
    /// The pointer as first set (what callers pass to `ipc_kobject_require`).
    original: RefKobject,
    kobject_set: bool,
    active: bool,
    live: bool,
    labeled: bool,
    /// Naked send rights the test holds.
    held_send: u32,
    held_sonce: u32,
    /// Send rights owned by subst-once wrappers.
    wrapped: u32,
    mscount: u32,
    armed: bool,
    refs: u32,
}

impl RefPort {
    fn srights(&self) -> u32 {
        self.held_send + self.wrapped
    }

    /// Whether no-senders requests are used on this port.
    fn armable(&self) -> bool {
        self.kind != Kind::Plain || self.ty != IKOT_THREAD_CONTROL
    }

    /// Whether arming takes a donated kobject reference (given back by the callback).
    fn donates(&self) -> bool {
        self.armable() && self.kind != Kind::Wrapper
    }

    fn kobject(&self) -> RefKobject {
        if !self.kobject_set {
            return RefKobject::Null;
        }
        match self.kind {
            Kind::Wrapper => self.target.map_or(RefKobject::Null, RefKobject::Port),
            _ => self.original,
        }
    }
}

#[derive(Clone, Debug)]
struct RefObj {
    lazy: bool,
    voucher: bool,
    refs: u32,
    alive: bool,
    live: bool,
    lazy_port: Option<usize>,
}

/// What the next call must return, computed by the reference model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Nothing,
    Kr(KernReturn),
    KrMs(KernReturn, u32),
    Port(Option<usize>),
    Kobject(RefKobject),
}

#[derive(Clone)]
pub struct RefState {
    ports: Vec<RefPort>,
    objs: Vec<RefObj>,
    expect: Expect,
}

impl fmt::Debug for RefState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RefState({} ports, {} objects)",
            self.ports.len(),
            self.objs.len()
        )
    }
}

impl RefState {
    fn lazy_objects(&self) -> usize {
        self.objs.iter().filter(|o| o.lazy).count()
    }

    fn new_port(&mut self, port: RefPort) -> usize {
        self.ports.push(port);
        self.ports.len() - 1
    }

    fn new_obj(&mut self, lazy: bool, voucher: bool) -> usize {
        self.objs.push(RefObj {
            lazy,
            voucher,
            refs: 1,
            alive: true,
            live: true,
            lazy_port: None,
        });
        self.objs.len() - 1
    }

    fn obj_release(&mut self, o: usize) {
        let obj = &mut self.objs[o];
        obj.refs -= 1;
        if obj.refs > 0 {
            return;
        }
        obj.live = false;
        obj.alive = false;
        // semaphore_free / ipc_voucher_free deallocate the lazy port with mscount 0.
        if let Some(lp) = obj.lazy_port {
            if self.ports[lp].active {
                assert!(
                    !self.ports[lp].armed,
                    "model: freed object with an armed port"
                );
                self.destroy_port(lp);
            }
        }
    }

    /// `ipc_kobject_dealloc_port` + `ipc_port_destroy`: inactive, pointer nilled (no type here
    /// has a destroy op), label freed, an armed request dropped silently, the alloc ref gone.
    fn destroy_port(&mut self, p: usize) {
        let port = &mut self.ports[p];
        assert!(port.active, "model: destroying a dead port");
        port.active = false;
        port.mscount = 0;
        port.kobject_set = false;
        port.labeled = false;
        if port.armed {
            port.armed = false;
            port.refs -= 1;
        }
        port.refs -= 1;
    }

    /// One send right goes (the test's or a wrapper's); the no-senders callback runs when it
    /// was the last one of an active, armed port.
    fn drop_send(&mut self, p: usize, wrapped: bool) {
        let port = &mut self.ports[p];
        if wrapped {
            port.wrapped -= 1;
        } else {
            port.held_send -= 1;
        }
        port.refs -= 1;
        if port.active && port.srights() == 0 && port.armed {
            port.armed = false;
            self.no_senders(p);
            self.ports[p].refs -= 1;
        }
    }

    fn no_senders(&mut self, p: usize) {
        let port = self.ports[p].clone();
        match port.ty {
            // semaphore_no_senders / ipc_voucher_no_senders: the donation comes back.
            IKOT_SEMAPHORE | IKOT_VOUCHER => self.obj_release(port.obj.unwrap()),
            // The generic handler deallocates with the notified make-send count.
            IKOT_NAMED_ENTRY | IKOT_IOKIT_OBJECT => {
                self.destroy_port(p);
                if port.kobject_set {
                    self.obj_release(port.obj.unwrap());
                }
            }
            IKOT_PORT_SUBST_ONCE => {
                let target = self.ports[p].target.take();
                self.destroy_port(p);
                if let Some(t) = target {
                    self.drop_send(t, true);
                }
            }
            other => panic!("model: no-senders on {}", ikot_name(other)),
        }
    }

    fn gc(&mut self) {
        for port in &mut self.ports {
            if port.live && port.refs == 0 {
                port.live = false;
            }
        }
    }

    fn port_ok(&self, p: usize) -> bool {
        p < self.ports.len() && self.ports[p].live
    }

    /// `ipc_kobject_dealloc_port(port, mscount, type)` would not panic.
    fn dealloc_legal(&self, p: usize, with_mscount: bool) -> bool {
        let port = &self.ports[p];
        let ms = if with_mscount { port.mscount } else { 0 };
        port.kind == Kind::Plain
            && port.active
            && (port.srights() == 0 || (ms == 0 && !stable(port.ty)))
    }
}

// ---------------------------------------------------------------------------------------------
// Transitions

#[derive(Clone, Debug)]
pub enum Transition {
    /// No operation: only the checks run (keeps the choice non-empty in any state).
    Audit,
    AllocPlain {
        ty: IpcKobjectType,
        options: IpcKobjectAllocOptions,
        labeled: bool,
    },
    CreateLazyObject {
        voucher: bool,
    },
    LazyConvert {
        o: usize,
    },
    DestroyLazyObject {
        o: usize,
    },
    MakeSend {
        p: usize,
    },
    CopySend {
        p: usize,
    },
    ReleaseSend {
        p: usize,
    },
    MakeSendOnce {
        p: usize,
    },
    ReleaseSendOnce {
        p: usize,
        notify: bool,
    },
    NsRequest {
        p: usize,
        sync: u32,
    },
    MakeSendNsRequest {
        p: usize,
        locked: bool,
    },
    Dealloc {
        p: usize,
        with_mscount: bool,
    },
    Disable {
        p: usize,
    },
    Enable {
        p: usize,
    },
    SubstOnce {
        target: usize,
    },
    Copyout {
        w: usize,
    },
}

fn options_strategy(ty: IpcKobjectType) -> impl Strategy<Value = IpcKobjectAllocOptions> {
    let ns_allowed = ty != IKOT_THREAD_CONTROL;
    (0u32..64).prop_map(move |bits| {
        let mut o = bits
            & (IPC_KOBJECT_ALLOC_MAKE_SEND
                | IPC_KOBJECT_ALLOC_NSREQUEST
                | IPC_KOBJECT_ALLOC_NO_GRANT
                | IPC_KOBJECT_ALLOC_IMMOVABLE_SEND
                | IPC_KOBJECT_ALLOC_PINNED);
        if !ns_allowed {
            o &= !IPC_KOBJECT_ALLOC_NSREQUEST;
        }
        o
    })
}

/// Indices of live ports satisfying `f`.
fn ports_where(s: &RefState, f: impl Fn(&RefPort) -> bool) -> Vec<usize> {
    (0..s.ports.len())
        .filter(|&i| s.ports[i].live && f(&s.ports[i]))
        .collect()
}

fn push_if(
    out: &mut Vec<(u32, BoxedStrategy<Transition>)>,
    weight: u32,
    candidates: Vec<usize>,
    make: impl Fn(usize) -> BoxedStrategy<Transition> + 'static,
) {
    if !candidates.is_empty() {
        out.push((weight, select(candidates).prop_flat_map(make).boxed()));
    }
}

pub struct KobjectMachine;

impl ReferenceStateMachine for KobjectMachine {
    type State = RefState;
    type Transition = Transition;

    fn init_state() -> BoxedStrategy<RefState> {
        Just(RefState {
            ports: Vec::new(),
            objs: Vec::new(),
            expect: Expect::Nothing,
        })
        .boxed()
    }

    fn transitions(s: &RefState) -> BoxedStrategy<Transition> {
        let mut out: Vec<(u32, BoxedStrategy<Transition>)> =
            vec![(1, Just(Transition::Audit).boxed())];
        if s.ports.len() < PORTS_MAX {
            let alloc = select(PLAIN_TYPES.to_vec())
                .prop_flat_map(|ty| (Just(ty), options_strategy(ty), any::<bool>()))
                .prop_map(|(ty, options, labeled)| Transition::AllocPlain {
                    ty,
                    options,
                    labeled,
                });
            out.push((3, alloc.boxed()));
        }
        if s.lazy_objects() < LAZY_OBJECTS_MAX {
            out.push((
                1,
                any::<bool>()
                    .prop_map(|voucher| Transition::CreateLazyObject { voucher })
                    .boxed(),
            ));
        }
        let alive_lazy: Vec<usize> = (0..s.objs.len())
            .filter(|&o| s.objs[o].lazy && s.objs[o].alive)
            .filter(|&o| s.objs[o].lazy_port.is_some() || s.ports.len() < PORTS_MAX)
            .collect();
        if !alive_lazy.is_empty() {
            let lazy = select(alive_lazy.clone()).prop_map(|o| Transition::LazyConvert { o });
            out.push((4, lazy.boxed()));
        }
        let destroyable: Vec<usize> = alive_lazy
            .into_iter()
            .filter(|&o| {
                s.objs[o]
                    .lazy_port
                    .is_none_or(|lp| s.ports[lp].srights() == 0 && !s.ports[lp].armed)
            })
            .collect();
        if !destroyable.is_empty() {
            let d = select(destroyable).prop_map(|o| Transition::DestroyLazyObject { o });
            out.push((1, d.boxed()));
        }
        push_if(&mut out, 3, ports_where(s, |_| true), |p| {
            Just(Transition::MakeSend { p }).boxed()
        });
        push_if(&mut out, 2, ports_where(s, |p| p.held_send > 0), |p| {
            Just(Transition::CopySend { p }).boxed()
        });
        push_if(&mut out, 5, ports_where(s, |p| p.held_send > 0), |p| {
            Just(Transition::ReleaseSend { p }).boxed()
        });
        push_if(&mut out, 2, ports_where(s, |_| true), |p| {
            Just(Transition::MakeSendOnce { p }).boxed()
        });
        push_if(&mut out, 2, ports_where(s, |p| p.held_sonce > 0), |p| {
            any::<bool>()
                .prop_map(move |notify| Transition::ReleaseSendOnce { p, notify })
                .boxed()
        });
        let armable = ports_where(s, |p| p.armable());
        let mscounts: Vec<u32> = s.ports.iter().map(|p| p.mscount).collect();
        push_if(&mut out, 2, armable.clone(), move |p| {
            (0..=mscounts[p] + 2)
                .prop_map(move |sync| Transition::NsRequest { p, sync })
                .boxed()
        });
        push_if(&mut out, 2, armable, |p| {
            any::<bool>()
                .prop_map(move |locked| Transition::MakeSendNsRequest { p, locked })
                .boxed()
        });
        let deallocs: Vec<(usize, bool)> = (0..s.ports.len())
            .flat_map(|p| [(p, false), (p, true)])
            .filter(|&(p, ms)| s.ports[p].live && s.dealloc_legal(p, ms))
            .collect();
        if !deallocs.is_empty() {
            let d = select(deallocs)
                .prop_map(|(p, with_mscount)| Transition::Dealloc { p, with_mscount });
            out.push((2, d.boxed()));
        }
        let thread_ports = ports_where(s, |p| p.kind == Kind::Plain && p.ty == IKOT_THREAD_CONTROL);
        push_if(&mut out, 1, thread_ports.clone(), |p| {
            Just(Transition::Disable { p }).boxed()
        });
        let enable: Vec<usize> = thread_ports
            .into_iter()
            .filter(|&p| s.ports[p].active)
            .collect();
        push_if(&mut out, 1, enable, |p| {
            Just(Transition::Enable { p }).boxed()
        });
        if s.ports.len() < PORTS_MAX {
            push_if(&mut out, 2, ports_where(s, |p| p.held_send > 0), |target| {
                Just(Transition::SubstOnce { target }).boxed()
            });
        }
        let copyouts = ports_where(s, |p| {
            p.kind == Kind::Wrapper && p.active && p.held_send > 0 && p.target.is_some()
        });
        push_if(&mut out, 3, copyouts, |w| {
            Just(Transition::Copyout { w }).boxed()
        });
        Union::new_weighted(out).boxed()
    }

    fn preconditions(s: &RefState, t: &Transition) -> bool {
        match *t {
            Transition::Audit => true,
            Transition::AllocPlain { ty, options, .. } => {
                s.ports.len() < PORTS_MAX
                    && (ty != IKOT_THREAD_CONTROL || options & IPC_KOBJECT_ALLOC_NSREQUEST == 0)
            }
            Transition::CreateLazyObject { .. } => s.lazy_objects() < LAZY_OBJECTS_MAX,
            Transition::LazyConvert { o } => {
                o < s.objs.len()
                    && s.objs[o].lazy
                    && s.objs[o].alive
                    && (s.objs[o].lazy_port.is_some() || s.ports.len() < PORTS_MAX)
            }
            Transition::DestroyLazyObject { o } => {
                o < s.objs.len()
                    && s.objs[o].lazy
                    && s.objs[o].alive
                    && s.objs[o]
                        .lazy_port
                        .is_none_or(|lp| s.ports[lp].srights() == 0 && !s.ports[lp].armed)
            }
            Transition::MakeSend { p } | Transition::MakeSendOnce { p } => s.port_ok(p),
            Transition::CopySend { p } | Transition::ReleaseSend { p } => {
                s.port_ok(p) && s.ports[p].held_send > 0
            }
            Transition::ReleaseSendOnce { p, .. } => s.port_ok(p) && s.ports[p].held_sonce > 0,
            Transition::NsRequest { p, .. } | Transition::MakeSendNsRequest { p, .. } => {
                s.port_ok(p) && s.ports[p].armable()
            }
            Transition::Dealloc { p, with_mscount } => {
                s.port_ok(p) && s.dealloc_legal(p, with_mscount)
            }
            Transition::Disable { p } => {
                s.port_ok(p)
                    && s.ports[p].kind == Kind::Plain
                    && s.ports[p].ty == IKOT_THREAD_CONTROL
            }
            Transition::Enable { p } => {
                s.port_ok(p)
                    && s.ports[p].kind == Kind::Plain
                    && s.ports[p].ty == IKOT_THREAD_CONTROL
                    && s.ports[p].active
            }
            Transition::SubstOnce { target } => {
                s.ports.len() < PORTS_MAX && s.port_ok(target) && s.ports[target].held_send > 0
            }
            Transition::Copyout { w } => {
                s.port_ok(w)
                    && s.ports[w].kind == Kind::Wrapper
                    && s.ports[w].active
                    && s.ports[w].held_send > 0
                    && s.ports[w].target.is_some()
            }
        }
    }

    fn apply(mut s: RefState, t: &Transition) -> RefState {
        s.expect = Expect::Nothing;
        match *t {
            Transition::Audit => {}
            Transition::AllocPlain {
                ty,
                options,
                labeled,
            } => {
                let o = s.new_obj(false, false);
                let ms = (options & IPC_KOBJECT_ALLOC_MAKE_SEND != 0) as u32;
                let ns = options & IPC_KOBJECT_ALLOC_NSREQUEST != 0;
                s.objs[o].refs += ns as u32;
                s.new_port(RefPort {
                    kind: Kind::Plain,
                    ty,
                    obj: Some(o),
                    target: None,
                    original: RefKobject::Obj(o),
                    kobject_set: true,
                    active: true,
                    live: true,
                    labeled,
                    held_send: ms,
                    held_sonce: 0,
                    wrapped: 0,
                    mscount: ms,
                    armed: ns,
                    refs: 1 + ms + ns as u32,
                });
            }
            Transition::CreateLazyObject { voucher } => {
                s.new_obj(true, voucher);
            }
            Transition::LazyConvert { o } => apply_lazy_convert(&mut s, o),
            Transition::DestroyLazyObject { o } => {
                s.objs[o].alive = false;
                s.obj_release(o);
            }
            Transition::MakeSend { p } => apply_new_right(&mut s, p, Gain::MakeSend),
            Transition::CopySend { p } => apply_new_right(&mut s, p, Gain::CopySend),
            Transition::ReleaseSend { p } => s.drop_send(p, false),
            Transition::MakeSendOnce { p } => apply_new_right(&mut s, p, Gain::MakeSendOnce),
            Transition::ReleaseSendOnce { p, .. } => {
                s.ports[p].held_sonce -= 1;
                s.ports[p].refs -= 1;
            }
            Transition::NsRequest { p, sync } => apply_nsrequest(&mut s, p, sync),
            Transition::MakeSendNsRequest { p, .. } => apply_make_send_nsrequest(&mut s, p),
            Transition::Dealloc { p, .. } => {
                let port = s.ports[p].clone();
                s.expect = Expect::Kobject(port.kobject());
                s.destroy_port(p);
                if port.armed && port.donates() {
                    // The silently dropped request's donation is the owner's to release.
                    s.obj_release(port.obj.unwrap());
                }
            }
            Transition::Disable { p } => {
                s.expect = Expect::Kobject(s.ports[p].kobject());
                s.ports[p].kobject_set = false;
            }
            Transition::Enable { p } => s.ports[p].kobject_set = true,
            Transition::SubstOnce { target } => {
                s.ports[target].held_send -= 1;
                s.ports[target].wrapped += 1;
                s.new_port(RefPort {
                    kind: Kind::Wrapper,
                    ty: IKOT_PORT_SUBST_ONCE,
                    obj: None,
                    target: Some(target),
                    original: RefKobject::Port(target),
                    kobject_set: true,
                    active: true,
                    live: true,
                    labeled: true,
                    held_send: 1,
                    held_sonce: 0,
                    wrapped: 0,
                    mscount: 1,
                    armed: true,
                    refs: 3,
                });
            }
            Transition::Copyout { w } => {
                let t = s.ports[w].target.take().unwrap();
                s.ports[w].kobject_set = false;
                s.ports[t].wrapped -= 1;
                s.ports[t].held_send += 1;
                s.expect = Expect::Port(Some(t));
                s.drop_send(w, false);
            }
        }
        s.gc();
        s
    }
}

/// Which right a make / copy transition gives the caller.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Gain {
    MakeSend,
    CopySend,
    MakeSendOnce,
}

/// A new naked right on an active port (one more reference, and for make-send one more in the
/// make-send count); a dead port yields `IP_DEAD` and no right.
fn apply_new_right(s: &mut RefState, p: usize, gain: Gain) {
    let port = &mut s.ports[p];
    if !port.active {
        s.expect = Expect::Port(None);
        return;
    }
    match gain {
        Gain::MakeSend => {
            port.held_send += 1;
            port.mscount += 1;
        }
        Gain::CopySend => port.held_send += 1,
        Gain::MakeSendOnce => port.held_sonce += 1,
    }
    port.refs += 1;
    s.expect = Expect::Port(Some(p));
}

fn apply_lazy_convert(s: &mut RefState, o: usize) {
    let ty = if s.objs[o].voucher {
        IKOT_VOUCHER
    } else {
        IKOT_SEMAPHORE
    };
    // The caller's reference: kept as the donation when the call armed, dropped otherwise.
    s.objs[o].refs += 1;
    let p = match s.objs[o].lazy_port {
        None => {
            let p = s.new_port(RefPort {
                kind: Kind::Lazy,
                ty,
                obj: Some(o),
                target: None,
                original: RefKobject::Obj(o),
                kobject_set: true,
                active: true,
                live: true,
                labeled: false,
                held_send: 1,
                held_sonce: 0,
                wrapped: 0,
                mscount: 1,
                armed: true,
                refs: 3,
            });
            s.objs[o].lazy_port = Some(p);
            p
        }
        Some(p) => {
            let port = &mut s.ports[p];
            assert!(port.active, "model: lazy port of a live object is dead");
            port.held_send += 1;
            port.mscount += 1;
            port.refs += 1;
            if port.armed {
                s.obj_release(o);
            } else {
                port.armed = true;
                port.refs += 1;
            }
            p
        }
    };
    s.expect = Expect::Port(Some(p));
}

fn apply_nsrequest(s: &mut RefState, p: usize, sync: u32) {
    let port = &mut s.ports[p];
    let kr = if !port.active {
        KERN_INVALID_RIGHT
    } else if port.armed {
        KERN_ALREADY_WAITING
    } else if port.srights() == 0 && sync <= port.mscount {
        KERN_FAILURE
    } else {
        port.armed = true;
        port.refs += 1;
        KERN_SUCCESS
    };
    s.expect = Expect::KrMs(kr, port.mscount);
    if kr == KERN_SUCCESS && port.donates() {
        let o = port.obj.unwrap();
        s.objs[o].refs += 1;
    }
}

fn apply_make_send_nsrequest(s: &mut RefState, p: usize) {
    let port = &mut s.ports[p];
    let kr = if !port.active {
        KERN_INVALID_RIGHT
    } else {
        port.held_send += 1;
        port.mscount += 1;
        port.refs += 1;
        if port.armed {
            KERN_ALREADY_WAITING
        } else {
            port.armed = true;
            port.refs += 1;
            KERN_SUCCESS
        }
    };
    s.expect = Expect::Kr(kr);
    if kr == KERN_SUCCESS && port.donates() {
        let o = port.obj.unwrap();
        s.objs[o].refs += 1;
    }
}

// ---------------------------------------------------------------------------------------------
// System under test

pub struct Sut {
    k: Kernel,
    ports: Vec<PortId>,
    objs: Vec<ObjId>,
    space: SpaceId,
}

impl Sut {
    fn new(bugs: Bugs) -> Sut {
        quiet_findings();
        let k = Kernel::new(Platform::Native, bugs);
        let space = k
            .ipc_space_create_labeled(IPC_LABEL_NONE, None)
            .expect("a user space");
        Sut {
            k,
            ports: Vec::new(),
            objs: Vec::new(),
            space,
        }
    }

    fn kobject(&self, r: RefKobject) -> IpcKobject {
        match r {
            RefKobject::Null => IKO_NULL,
            RefKobject::Obj(o) => IpcKobject::Object(self.objs[o]),
            RefKobject::Port(p) => IpcKobject::Port(self.ports[p]),
        }
    }

    fn port(&self, r: Option<usize>) -> IpcPort {
        r.map_or(IP_DEAD, |p| IpcPort::Port(self.ports[p]))
    }

    fn step(&mut self, s: &RefState, t: &Transition) {
        let k = &self.k;
        match *t {
            Transition::Audit => {}
            Transition::AllocPlain {
                ty,
                options,
                labeled,
            } => {
                let o = k.object_alloc(ObjKind::Generic, None);
                if options & IPC_KOBJECT_ALLOC_NSREQUEST != 0 {
                    k.object_reference(o);
                }
                let ko = IpcKobject::Object(o);
                let p = if labeled {
                    k.ipc_kobject_alloc_labeled_port(ko, ty, IPC_LABEL_DEXT, options)
                } else {
                    k.ipc_kobject_alloc_port(ko, ty, options)
                };
                self.objs.push(o);
                self.ports.push(p);
            }
            Transition::CreateLazyObject { voucher } => {
                let o = if voucher {
                    k.ipc_voucher_create()
                } else {
                    k.semaphore_create()
                };
                self.objs.push(o);
            }
            Transition::LazyConvert { o } => {
                let obj = self.objs[o];
                k.object_reference(obj);
                let port = k.convert_lazy_object_to_port(obj);
                let Expect::Port(Some(rp)) = s.expect else {
                    unreachable!()
                };
                if rp == self.ports.len() {
                    self.ports.push(port.id());
                }
                assert_eq!(port, self.port(Some(rp)), "lazy port");
            }
            Transition::DestroyLazyObject { o } => k.object_destroy(self.objs[o]),
            Transition::MakeSend { p } => {
                let r = &s.ports[p];
                let got =
                    k.ipc_kobject_make_send(self.ports[p].into(), self.kobject(r.original), r.ty);
                self.expect_port(s, got);
            }
            Transition::CopySend { p } => {
                let r = &s.ports[p];
                let got =
                    k.ipc_kobject_copy_send(self.ports[p].into(), self.kobject(r.original), r.ty);
                self.expect_port(s, got);
            }
            Transition::ReleaseSend { p } => k.ipc_port_release_send(self.ports[p].into()),
            Transition::MakeSendOnce { p } => {
                let got = k.ipc_port_make_sonce(self.ports[p].into());
                self.expect_port(s, got);
            }
            Transition::ReleaseSendOnce { p, notify } => {
                if notify {
                    let g = k.ip_mq_lock(self.ports[p]);
                    k.ipc_notify_send_once_and_unlock(g);
                } else {
                    k.ipc_port_release_sonce(self.ports[p].into());
                }
            }
            Transition::NsRequest { p, sync } => {
                let got = k.ipc_kobject_nsrequest(self.ports[p].into(), sync);
                let Expect::KrMs(kr, ms) = s.expect else {
                    unreachable!()
                };
                assert_eq!(got, (kr, ms), "ipc_kobject_nsrequest");
                self.donate(s, p, kr);
            }
            Transition::MakeSendNsRequest { p, locked } => {
                let r = &s.ports[p];
                let ko = self.kobject(r.original);
                let kr = if locked {
                    let mut g = k.ip_mq_lock(self.ports[p]);
                    k.ipc_kobject_make_send_nsrequest_locked(&mut g, ko, r.ty)
                } else {
                    k.ipc_kobject_make_send_nsrequest(self.ports[p].into(), ko, r.ty)
                };
                assert_eq!(Expect::Kr(kr), s.expect, "make_send_nsrequest");
                self.donate(s, p, kr);
            }
            Transition::Dealloc { p, .. } => self.dealloc(s, t, p),
            Transition::Disable { p } => {
                let got = k.ipc_kobject_disable(self.ports[p], s.ports[p].ty);
                assert_eq!(Expect::Kobject(self.k_kobject_ref(got)), s.expect);
            }
            Transition::Enable { p } => {
                let ko = self.kobject(s.ports[p].original);
                k.ipc_kobject_enable(self.ports[p], ko, s.ports[p].ty);
            }
            Transition::SubstOnce { target } => {
                let w = k.ipc_kobject_alloc_subst_once(self.ports[target].into());
                self.ports.push(w.id());
            }
            Transition::Copyout { w } => self.copyout(s, w),
        }
    }

    fn expect_port(&self, s: &RefState, got: IpcPort) {
        let Expect::Port(want) = s.expect else {
            unreachable!()
        };
        assert_eq!(got, self.port(want), "returned right");
    }

    /// A caller that armed a request donates a kobject reference.
    fn donate(&self, s: &RefState, p: usize, kr: KernReturn) {
        if kr == KERN_SUCCESS && s.ports[p].donates() {
            self.k.object_reference(self.objs[s.ports[p].obj.unwrap()]);
        }
    }

    fn dealloc(&self, s: &RefState, t: &Transition, p: usize) {
        let Transition::Dealloc { with_mscount, .. } = *t else {
            unreachable!()
        };
        let k = &self.k;
        let (ms, armed) = {
            let g = k.ip_mq_lock(self.ports[p]);
            (g.ip_mscount, g.ip_nsrequest == NsRequest::KobjectArmed)
        };
        let ms = if with_mscount { ms } else { 0 };
        let got = k.ipc_kobject_dealloc_port(self.ports[p], ms, s.ports[p].ty);
        assert_eq!(Expect::Kobject(self.k_kobject_ref(got)), s.expect);
        if armed && s.ports[p].donates() {
            k.object_release(self.objs[s.ports[p].obj.unwrap()]);
        }
    }

    fn copyout(&self, s: &RefState, w: usize) {
        let k = &self.k;
        let sg = k.is_write_lock(self.space);
        let g = k.ip_mq_lock(self.ports[w]);
        let mut flags = IPC_OBJECT_COPYOUT_FLAGS_NONE;
        let got = match k.ipc_kobject_label_check(sg, g, MACH_MSG_TYPE_PORT_SEND, &mut flags) {
            LabelCheck::Substituted(port) => port,
            LabelCheck::Allowed(..) => panic!("subst-once copyout allowed without substitution"),
            LabelCheck::Refused(..) => panic!("subst-once copyout refused"),
        };
        assert_eq!(flags, IPC_OBJECT_COPYOUT_FLAGS_NO_LABEL_CHECK);
        self.expect_port(s, got);
    }

    /// Translates a kernel kobject back into reference-model terms.
    fn k_kobject_ref(&self, ko: IpcKobject) -> RefKobject {
        match ko {
            IpcKobject::Null => RefKobject::Null,
            IpcKobject::Object(o) => RefKobject::Obj(
                self.objs
                    .iter()
                    .position(|&x| x == o)
                    .expect("unknown object"),
            ),
            IpcKobject::Port(p) => RefKobject::Port(
                self.ports
                    .iter()
                    .position(|&x| x == p)
                    .expect("unknown port"),
            ),
        }
    }

    /// Compares every counter with the reference model, then audits conservation.
    fn check(&self, s: &RefState) -> Result<(), String> {
        let k = &self.k;
        let mut held = Vec::new();
        for (i, r) in s.ports.iter().enumerate() {
            let id = self.ports[i];
            if !r.live {
                if k.port_is_live(id) {
                    return Err(format!("port {i} ({id}) should have been freed"));
                }
                continue;
            }
            if !k.port_is_live(id) {
                return Err(format!("port {i} ({id}) was freed early: {r:?}"));
            }
            let g = k.ip_mq_lock(id);
            let got = (
                g.ip_active(),
                g.ip_srights,
                g.ip_sorights,
                g.ip_mscount,
                g.ip_nsrequest == NsRequest::KobjectArmed,
                g.refs(),
                g.ip_kotype(),
                g.ip_kobject.value,
                g.ip_is_kolabeled(),
            );
            let want = (
                r.active,
                r.srights(),
                r.held_sonce,
                r.mscount,
                r.armed,
                r.refs,
                r.ty,
                self.kobject(r.kobject()),
                r.labeled,
            );
            if got != want {
                return Err(format!(
                    "port {i} ({id}): kernel (active, srights, sorights, mscount, armed, refs, \
                     kotype, kobject, labeled) = {got:?}, reference {want:?}"
                ));
            }
            held.extend(std::iter::repeat_n(Held::Send(id), r.held_send as usize));
            held.extend(std::iter::repeat_n(
                Held::SendOnce(id),
                r.held_sonce as usize,
            ));
        }
        for (i, r) in s.objs.iter().enumerate() {
            let id = self.objs[i];
            if !r.live {
                if k.object_is_live(id) {
                    return Err(format!("object {i} ({id}) should have been freed"));
                }
            } else if !k.object_is_live(id) {
                return Err(format!("object {i} ({id}) was freed early"));
            } else if k.object_refs(id) != r.refs {
                return Err(format!(
                    "object {i} ({id}): kernel refs {}, reference {}",
                    k.object_refs(id),
                    r.refs
                ));
            }
        }
        k.audit(&held).map_err(|f| f.to_string())
    }

    /// Releases everything the test holds, fires pending requests, deallocates the owned ports
    /// and destroys the objects; then nothing may remain.
    fn teardown(&self, s: &RefState) -> Result<(), String> {
        let k = &self.k;
        for (i, r) in s.ports.iter().enumerate() {
            for _ in 0..r.held_sonce {
                k.ipc_port_release_sonce(self.ports[i].into());
            }
        }
        for (i, r) in s.ports.iter().enumerate() {
            for _ in 0..r.held_send {
                k.ipc_port_release_send(self.ports[i].into());
            }
        }
        // Requests armed without senders fire once a right comes and goes.
        for (i, r) in s.ports.iter().enumerate() {
            let id = self.ports[i];
            if !k.port_is_live(id) || !k.ip_active(id) {
                continue;
            }
            let armed = k.ip_mq_lock(id).ip_nsrequest == NsRequest::KobjectArmed;
            if armed {
                let right = k.ipc_kobject_make_send(id.into(), self.kobject(r.original), r.ty);
                k.ipc_port_release_send(right);
            }
        }
        for (i, r) in s.ports.iter().enumerate() {
            let id = self.ports[i];
            if r.kind == Kind::Plain && k.port_is_live(id) && k.ip_active(id) {
                k.ipc_kobject_dealloc_port(id, 0, r.ty);
            }
        }
        for (i, r) in s.objs.iter().enumerate() {
            if r.alive {
                k.object_destroy(self.objs[i]);
            }
        }
        k.audit_teardown().map_err(|f| f.to_string())
    }
}

// ---------------------------------------------------------------------------------------------
// The test

impl StateMachineTest for Sut {
    type SystemUnderTest = Sut;
    type Reference = KobjectMachine;

    fn init_test(_: &RefState) -> Sut {
        Sut::new(Bugs::NONE)
    }

    fn apply(mut sut: Sut, s: &RefState, t: Transition) -> Sut {
        if let Err(f) = catch(|| sut.step(s, &t)) {
            panic!("{t:?} raised {f}");
        }
        sut
    }

    fn check_invariants(sut: &Sut, s: &RefState) {
        match catch(|| sut.check(s)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("{e}"),
            Err(f) => panic!("checking raised {f}"),
        }
    }

    fn teardown(sut: Sut, s: RefState) {
        match catch(|| sut.teardown(&s)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("teardown: {e}"),
            Err(f) => panic!("teardown raised {f}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The harness catches what it is meant to catch (a canary, in TigerBeetle's sense).

/// Runs `steps` through the reference model and a kernel built with `bugs`, checking after
/// each; returns the first failure.
pub fn run(bugs: Bugs, steps: &[Transition]) -> Result<(), String> {
    let mut s = RefState {
        ports: Vec::new(),
        objs: Vec::new(),
        expect: Expect::Nothing,
    };
    let mut sut = Sut::new(bugs);
    for t in steps {
        assert!(
            KobjectMachine::preconditions(&s, t),
            "{t:?} is not legal here"
        );
        s = KobjectMachine::apply(s, t);
        catch(|| sut.step(&s, t)).map_err(|f| format!("{t:?}: {f}"))?;
        catch(|| sut.check(&s)).map_err(|f| f.to_string())??;
    }
    catch(|| sut.teardown(&s)).map_err(|f| f.to_string())?
}

pub fn lazy_cycle() -> Vec<Transition> {
    vec![
        Transition::CreateLazyObject { voucher: false },
        Transition::LazyConvert { o: 0 },
        Transition::LazyConvert { o: 0 },
        Transition::ReleaseSend { p: 0 },
        Transition::ReleaseSend { p: 0 },
        Transition::LazyConvert { o: 0 },
        Transition::SubstOnce { target: 0 },
        Transition::Copyout { w: 1 },
        Transition::ReleaseSend { p: 0 },
        Transition::DestroyLazyObject { o: 0 },
    ]
}

/// One detection attempt for `kobjsim bugs`: up to `cases` random sequences (deterministic in
/// `seed`) through a kernel built with `bugs`. Returns the number of cases run, and the first
/// failure (after proptest's shrinking) if one was found.
pub fn search(bugs: Bugs, seed: u64, cases: u32) -> (u32, Option<String>) {
    use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
    use std::cell::Cell;
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let ran = Cell::new(0u32);
    let result = runner.run(
        &KobjectMachine::sequential_strategy(1..STEPS_MAX),
        |(_, steps, _)| {
            ran.set(ran.get() + 1);
            run(bugs, &steps).map_err(TestCaseError::fail)
        },
    );
    (ran.get(), result.err().map(|e| e.to_string()))
}
