//! What a program's actions do beyond the calls they make: a repeat runs an earlier action
//! again, and a native run can report the state its actions leave names in.

use kobject::Bugs;
use kobjsim::fuzzing::mig_dispatch::{run_mig_dispatch_observed, MigDispatchInput};
use kobjsim::harness::{NativeRun, Observe};
use kobjsim::lang::{Action, Name, Source, Wrap};
use kobjsim::world::Outcome;

const SEND: u8 = 0;

fn run(actions: Vec<Action>, observe: Observe) -> NativeRun {
    let run = run_mig_dispatch_observed(&MigDispatchInput { actions }, Bugs::NONE, observe);
    assert!(
        run.result.is_ok(),
        "the faithful model raised {:?}",
        run.result.err()
    );
    run
}

fn outcomes(run: &NativeRun) -> Vec<Option<Outcome>> {
    run.spans.iter().map(|s| s.outcome.clone()).collect()
}

fn host() -> Action {
    Action::GetPort {
        task: 0,
        source: Source::Host,
        wrap: Wrap::Plain,
    }
}

fn refs() -> Action {
    Action::GetRefs {
        task: 0,
        name: Name::Recent(0),
        right: SEND,
    }
}

#[test]
fn a_repeat_runs_the_action_it_names_again() {
    let run = run(
        vec![host(), refs(), Action::Repeat { back: 1 }, refs()],
        Observe::ALL,
    );
    let got = outcomes(&run);
    let Some(Outcome::Named(name)) = got[0] else {
        panic!("get-port gave {:?}", got[0]);
    };
    assert_eq!(got[1], Some(Outcome::Value(1)));
    // The repeat is the get-port again: the same name, one more user reference.
    assert_eq!(run.spans[2].action, host());
    assert_eq!(run.spans[2].repeat_of, Some(0));
    assert!(kobjsim::trace::span_text(&run.spans[2]).starts_with("repeat of #0: "));
    assert_eq!(run.spans[0].repeat_of, None);
    assert_eq!(got[2], Some(Outcome::Named(name)));
    assert_eq!(got[3], Some(Outcome::Value(2)));
}

#[test]
fn a_repeat_with_nothing_before_it_is_skipped() {
    let run = run(vec![Action::Repeat { back: 0 }], Observe::ALL);
    assert_eq!(
        outcomes(&run),
        vec![Some(Outcome::Skipped("nothing to repeat"))]
    );
}

/// A pegged user-reference count is a state of its own, though no branch of the model tests for
/// it on the way there; the same run reports the same states.
#[test]
fn state_features_tell_a_pegged_count_from_a_small_one() {
    let program = |delta| {
        vec![
            host(),
            Action::ModRefs {
                task: 0,
                name: Name::Recent(0),
                right: SEND,
                delta,
            },
            refs(),
        ]
    };
    let max = kobject::ipc_space::MACH_PORT_UREFS_MAX as i32;
    let pegged = run(program(max), Observe::ALL);
    assert_eq!(
        outcomes(&pegged)[2],
        Some(Outcome::Value(max as u32)),
        "an overflowing delta pegs the count"
    );
    let small = run(program(1), Observe::ALL);
    let set = |r: &NativeRun| {
        r.features
            .iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert!(!set(&pegged).is_subset(&set(&small)));
    assert_eq!(run(program(max), Observe::ALL).features, pegged.features);
    assert!(run(program(max), Observe::NOTHING).features.is_empty());
}
