//! The reference model as a proptest state machine (feature `proptest`): a strategy for every
//! step, weighted, over the ports and objects it is legal on; the state-machine test
//! (`core/tests/state_machine.rs`); and [`search`], one detection attempt of `kobjsim bugs`.

use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::Union;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest};

use super::{run, PlainType, RefState, Sut, Transition, PLAIN_ALLOC_OPTIONS, STEPS_MAX};
use crate::mach::*;
use crate::outcome::catch;
use crate::Bugs;
use Transition::*;

type Weighted = Vec<(u32, BoxedStrategy<Transition>)>;
/// A step as a function of the index it names.
type Indexed = fn(usize) -> Transition;

/// `step(i)` for every index `i` on which `legal_for(i)` is legal now, if there is one.
fn push_indexed(
    out: &mut Weighted,
    weight: u32,
    s: &RefState,
    legal_for: impl Fn(usize) -> Transition,
    step: impl Fn(usize) -> BoxedStrategy<Transition> + 'static,
) {
    let candidates = s.legal(legal_for);
    if !candidates.is_empty() {
        out.push((weight, select(candidates).prop_flat_map(step).boxed()));
    }
}

/// `make(i)` for every index `i` on which it is legal now, if there is one.
fn push_each(out: &mut Weighted, weight: u32, s: &RefState, make: Indexed) {
    push_indexed(out, weight, s, make, move |i| Just(make(i)).boxed());
}

/// `t` (which names no index), if it is legal now.
fn push_fixed(out: &mut Weighted, weight: u32, s: &RefState, t: Transition) {
    if s.preconditions(&t) {
        out.push((weight, Just(t).boxed()));
    }
}

fn alloc_plain() -> impl Strategy<Value = Transition> {
    (select(PlainType::ALL.to_vec()), 0u32..64, any::<bool>()).prop_map(|(ty, bits, labeled)| {
        let mut options = bits & PLAIN_ALLOC_OPTIONS;
        if ty == PlainType::ThreadControl {
            options &= !IPC_KOBJECT_ALLOC_NSREQUEST;
        }
        AllocPlain {
            ty,
            options,
            labeled,
        }
    })
}

/// The steps an index alone names, and their weights.
const INDEXED: &[(u32, Indexed)] = &[
    (4, |o| LazyConvert { o }),
    (1, |o| DestroyLazyObject { o }),
    (3, |p| MakeSend { p }),
    (2, |p| CopySend { p }),
    (5, |p| ReleaseSend { p }),
    (2, |p| MakeSendOnce { p }),
    (1, |p| Dealloc {
        p,
        with_mscount: false,
    }),
    (1, |p| Dealloc {
        p,
        with_mscount: true,
    }),
    (1, |p| Disable { p }),
    (1, |p| Enable { p }),
    (2, |target| SubstOnce { target }),
    (3, |w| Copyout { w }),
    (1, |p| LabelCheck { p }),
    (1, |o| DestroyPlainObject { o }),
    (1, |task| TerminateTask { task }),
    (1, |task| CreateThread { task }),
    (1, |thread| TerminateThread { thread }),
    (2, |task| Suspend { task }),
    (1, |task| CreateTimer { task }),
    (1, |p| DestroyTimer { p }),
];

/// The steps that name no index, and those that draw more than their index.
fn push_drawn(out: &mut Weighted, s: &RefState) {
    push_fixed(out, 1, s, Audit);
    push_fixed(out, 1, s, CreateTask);
    let plain = AllocPlain {
        ty: PlainType::ThreadControl,
        options: 0,
        labeled: false,
    };
    if s.preconditions(&plain) {
        out.push((3, alloc_plain().boxed()));
    }
    if s.preconditions(&CreateLazyObject { voucher: false }) {
        let lazy = any::<bool>().prop_map(|voucher| CreateLazyObject { voucher });
        out.push((1, lazy.boxed()));
    }
    let notify = |p| ReleaseSendOnce { p, notify: false };
    push_indexed(out, 2, s, notify, |p| {
        any::<bool>()
            .prop_map(move |notify| ReleaseSendOnce { p, notify })
            .boxed()
    });
    let mscounts: Vec<u32> = s.ports.iter().map(|p| p.mscount).collect();
    let sync = |p| NsRequest { p, sync: 0 };
    push_indexed(out, 2, s, sync, move |p| {
        (0..=mscounts[p] + 2)
            .prop_map(move |sync| NsRequest { p, sync })
            .boxed()
    });
    let locked = |p| MakeSendNsRequest { p, locked: false };
    push_indexed(out, 2, s, locked, |p| {
        any::<bool>()
            .prop_map(move |locked| MakeSendNsRequest { p, locked })
            .boxed()
    });
}

pub struct KobjectMachine;

impl ReferenceStateMachine for KobjectMachine {
    type State = RefState;
    type Transition = Transition;

    fn init_state() -> BoxedStrategy<RefState> {
        Just(RefState::new()).boxed()
    }

    fn transitions(s: &RefState) -> BoxedStrategy<Transition> {
        let mut out = Weighted::new();
        push_drawn(&mut out, s);
        for &(weight, make) in INDEXED {
            push_each(&mut out, weight, s, make);
        }
        Union::new_weighted(out).boxed()
    }

    fn preconditions(s: &RefState, t: &Transition) -> bool {
        s.preconditions(t)
    }

    fn apply(mut s: RefState, t: &Transition) -> RefState {
        s.apply(t);
        s
    }
}

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
            Ok(Err(f)) | Err(f) => panic!("checking: {f}"),
        }
    }

    fn teardown(sut: Sut, s: RefState) {
        match catch(|| sut.teardown(&s)) {
            Ok(Ok(())) => {}
            Ok(Err(f)) | Err(f) => panic!("teardown: {f}"),
        }
    }
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
