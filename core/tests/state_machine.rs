//! A proptest state-machine test of the kobject port layer (the machine itself is
//! `kobject::reference_model`, feature `proptest`): random sequences checked after every step
//! against a reference model of rights and references and by the auditor. Failing cases are
//! saved beside this file (`state_machine.proptest-regressions`) and replayed first on every run.

use kobject::mach::*;
use kobject::reference_model::*;
use kobject::{Bug, Bugs};
use proptest::test_runner::{Config, FileFailurePersistence};
use proptest_state_machine::prop_state_machine;

prop_state_machine! {
    #![proptest_config(Config {
        cases: CASES,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..Config::default()
    })]

    #[test]
    fn kobject_ports_match_the_reference_model(sequential 1..STEPS_MAX => Sut);
}

#[test]
fn fixed_sequence_passes_without_bugs() {
    run(Bugs::NONE, &lazy_cycle()).unwrap();
}

#[test]
fn harness_catches_a_missing_nsrequest_reference() {
    let err = run(
        Bugs::one(Some(Bug::NsrequestMissingReference)),
        &lazy_cycle(),
    )
    .unwrap_err();
    assert!(!err.is_empty());
}

#[test]
fn harness_catches_a_no_senders_handler_with_a_stale_mscount() {
    let steps = [
        Transition::AllocPlain {
            ty: PlainType::NamedEntry,
            options: IPC_KOBJECT_ALLOC_MAKE_SEND | IPC_KOBJECT_ALLOC_NSREQUEST,
            labeled: false,
        },
        Transition::ReleaseSend { p: 0 },
    ];
    run(Bugs::NONE, &steps).unwrap();
    let err = run(Bugs::one(Some(Bug::DeallocWrongMscount)), &steps).unwrap_err();
    assert!(err.contains("unexpected make-send count"), "{err}");
}

#[test]
fn harness_catches_a_skipped_label_check() {
    let steps = [
        Transition::AllocPlain {
            ty: PlainType::IokitObject,
            options: IPC_KOBJECT_ALLOC_MAKE_SEND,
            labeled: true,
        },
        Transition::LabelCheck { p: 0 },
    ];
    run(Bugs::NONE, &steps).unwrap();
    let err = run(Bugs::one(Some(Bug::SkipLabelCheck)), &steps).unwrap_err();
    assert!(err.contains("ipc_kobject_label_check"), "{err}");
}
