//! The model's code that no fuzzer is guided through, generated in a crate of its own.
//!
//! A fuzz build instruments code so that libFuzzer learns from its edges and comparisons, and
//! every instrumented edge or comparison an execution runs costs it: a feature to collect, a
//! hook to call. The ledger's audit runs after every action and walks every port, space and
//! object, and so does the reference model's comparison in `kobject_lifecycle`; the kernel's
//! boot and disposal run once per execution and do the same thing every time: thousands of edges and comparisons per execution that tell the fuzzer nothing about
//! which input reached a new path of the model. So the repository's rustc wrapper
//! (scripts/rustc-wrapper.sh) builds this crate without coverage instrumentation, and the
//! functions these paths run in `kobject` are `#[inline]`: rustc generates an inline function's
//! code, like a generic's, in the crate that calls it, which for the simulator and the fuzz
//! targets is this one.
//!
//! What is checked is `kobject`'s (its `ledger` module); this crate only decides where the code
//! is generated. `kobject` keeps its own copies of the same functions, instrumented, for the
//! model's operations: the accessors the audit shares with them (`ip_mq_lock`,
//! `is_write_lock`, ...) are instrumented where the model calls them and not where the audit
//! does. The ledger's event hooks run inside the model's operations and stay instrumented.
//!
//! [`dispose`] keeps a native kernel's arenas, emptied, for the thread's next [`boot`], which
//! boots the same kernel on them ([`Kernel::reboot`]) without allocating or building their
//! chunks again.

use std::cell::RefCell;

use kobject::kernel::{Limits, Spare};
use kobject::reference_model::{RefState, Sut, Unguided};
use kobject::{Auditor, Bugs, Finding, Held, Kernel, Platform, SpaceId};

/// [`Kernel::audit`]: conservation of rights and references at a quiescent point.
pub fn audit(k: &Kernel, held: &[Held]) -> Result<(), Finding> {
    k.audit(held)
}

/// [`Kernel::audit_teardown`]: conservation, then nothing but permanent ports and objects left.
pub fn audit_teardown(k: &Kernel) -> Result<(), Finding> {
    k.audit_teardown()
}

/// [`Kernel::audit_space_labels`]: the label contract for every entry of one space.
pub fn audit_space_labels(k: &Kernel, space: SpaceId) -> Result<(), Finding> {
    k.audit_space_labels(space)
}

/// The two audits as a [`kobject::reference_model::Runner`] takes them.
pub const AUDITOR: Auditor = Auditor {
    audit,
    audit_teardown,
};

/// [`Sut::check`]: the reference model's comparison of the kernel with its state after a step,
/// then the audit.
pub fn check_reference(sut: &Sut, s: &RefState) -> Result<(), Finding> {
    sut.check(s)
}

/// What a [`kobject::reference_model::Runner`] runs around the steps (boot, the comparison
/// with the reference, the audits, the disposal), generated here.
pub const UNGUIDED: Unguided = Unguided {
    boot,
    check: check_reference,
    auditor: AUDITOR,
    dispose,
};

thread_local! {
    /// The arenas of the last native kernel with the default limits this thread disposed of.
    static SPARE: RefCell<Option<Spare>> = const { RefCell::new(None) };
}

/// [`Kernel::new`]: a booted kernel (its arenas, the registered kobject types, the special
/// spaces), the same every time, so the fuzzer has nothing to learn from it. A native kernel
/// boots on the arenas of the last one this thread disposed of, when there is one
/// ([`Kernel::reboot`]: the same kernel, without allocating or building their chunks again).
pub fn boot(platform: Platform, bugs: Bugs) -> Kernel {
    match platform {
        Platform::Native => match SPARE.with(RefCell::take) {
            Some(spare) => Kernel::reboot(spare, bugs),
            None => Kernel::new(platform, bugs),
        },
        #[allow(unreachable_patterns)] // Platform::Shuttle exists with kobject's `shuttle`
        _ => Kernel::new(platform, bugs),
    }
}

/// Disposes of a kernel: its arenas' slots, queued messages and records are dropped here, by
/// drop glue generated in this crate. A native kernel with the default limits keeps its arenas,
/// emptied, for this thread's next [`boot`].
pub fn dispose(k: Kernel) {
    if k.platform() == Platform::Native && k.limits() == Limits::default() {
        let spare = k.into_spare();
        SPARE.with(|s| *s.borrow_mut() = Some(spare));
    } else {
        drop(k);
    }
}

/// Whether this thread holds a disposed kernel's arenas for its next [`boot`].
pub fn has_spare() -> bool {
    SPARE.with(|s| s.borrow().is_some())
}

/// Drops the arenas this thread holds, so that its next [`boot`] builds new ones.
pub fn forget_spare() {
    SPARE.with(|s| s.borrow_mut().take());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The audits here are the ledger's: the same verdict on a balanced kernel, on a holder list
    /// that claims a right nobody made, and at teardown with a leaked right.
    #[test]
    fn the_audits_are_the_ledgers() {
        kobject::outcome::quiet_findings();
        let k = boot(Platform::Native, Bugs::NONE);
        let sem = k.semaphore_create();
        k.object_reference(sem);
        let p = k.convert_lazy_object_to_port(sem).id();
        let held = [Held::Send(p)];
        assert_eq!(audit(&k, &held), k.audit(&held));
        assert!(audit(&k, &held).is_ok());
        let claimed = [Held::Send(p), Held::Send(p)];
        let finding = audit(&k, &claimed).expect_err("a send right nobody made");
        assert_eq!(finding.invariant, "send-right-overcount");
        assert_eq!(Err(finding), k.audit(&claimed));
        let leaked = audit_teardown(&k).expect_err("the semaphore and its right remain");
        assert_eq!(Err(leaked), k.audit_teardown());
        for a in [AUDITOR, Auditor::default()] {
            assert!((a.audit)(&k, &held).is_ok());
            assert!((a.audit)(&k, &claimed).is_err());
        }
        dispose(k);
    }

    /// A reference-model run through [`UNGUIDED`] reaches the verdict of one through
    /// `kobject`'s own functions, step by step, on the faithful model and with every injected
    /// bug.
    #[test]
    fn an_unguided_runner_is_a_runner() {
        use kobject::reference_model::{lazy_cycle, Runner};
        use kobject::Bug;
        kobject::outcome::quiet_findings();
        let bugs = std::iter::once(None).chain(Bug::ALL.iter().copied().map(Some));
        let mut disagreed = 0;
        for bug in bugs {
            let run = |mut r: Runner| {
                let steps: Vec<_> = lazy_cycle().iter().map(|t| r.step(t)).collect();
                let failed = steps.iter().any(Result::is_err);
                (steps, (!failed).then(|| r.finish()))
            };
            let own = run(Runner::new(Bugs::one(bug)));
            let here = run(Runner::with_unguided(Bugs::one(bug), UNGUIDED));
            assert_eq!(own, here, "bug {bug:?}");
            disagreed += usize::from(own.0.iter().any(Result::is_err));
        }
        assert!(disagreed > 0, "some bug shows in the lazy cycle");
    }
}
