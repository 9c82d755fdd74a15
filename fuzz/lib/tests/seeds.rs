//! The seed generators: every seed decodes back to itself, runs clean on the faithful model and
//! reaches what it was written for; the committed corpus holds every seed byte for byte.

use kobject::mach::{MIG_BAD_ARGUMENTS, MIG_BAD_ID, MIG_TYPE_ERROR};
use kobject::Bugs;
use kobject_fuzz::mig_dispatch::{routine_slots, run_mig_dispatch_logged, seeds, MigDispatchInput};

#[test]
fn mig_dispatch_seeds_round_trip_and_reach_their_routine() {
    let all = seeds::seeds();
    assert_eq!(
        all.iter().filter(|s| s.expects.is_some()).count(),
        routine_slots().len()
    );
    let mut failures = Vec::new();
    for seed in &all {
        let bytes = seed.input.to_bytes();
        assert_eq!(
            MigDispatchInput::from_bytes(&bytes),
            seed.input,
            "{}",
            seed.name
        );
        let mut log = Vec::new();
        let stats = match run_mig_dispatch_logged(&seed.input, Bugs::NONE, Some(&mut log)) {
            Ok(stats) => stats,
            Err(f) => {
                failures.push(format!("{}: {f}\n  {}", seed.name, log.join("\n  ")));
                continue;
            }
        };
        let Some((id, routine)) = seed.expects else {
            continue;
        };
        let want_bad_id = !routine;
        // A routine's seed must get past its stub's checks (descriptor count, types and
        // dispositions) into the routine itself.
        let refused_by_stub = |ret: i32| ret == MIG_BAD_ARGUMENTS || ret == MIG_TYPE_ERROR;
        match stats.last_received {
            Some((reply_id, ret))
                if reply_id == id + 100
                    && (ret == MIG_BAD_ID) == want_bad_id
                    && !refused_by_stub(ret) => {}
            other => failures.push(format!(
                "{}: reply {other:?} (want id {}, {}MIG_BAD_ID, past the stub's checks)\n  {}",
                seed.name,
                id + 100,
                if want_bad_id { "" } else { "not " },
                log.join("\n  ")
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} seeds failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every step of every seed decodes back to itself, the seeds use every kind of step (so each
/// arm of the hand-written encoder is checked), and each seed runs every step clean.
#[test]
fn kobject_lifecycle_seeds_round_trip_and_agree_with_the_reference() {
    use kobject_fuzz::kobject_lifecycle::{
        run_kobject_lifecycle_logged, seeds, LifecycleInput, TRANSITION_VARIANTS,
    };
    let kinds: std::collections::BTreeSet<String> = seeds()
        .iter()
        .flat_map(|(_, input)| &input.steps)
        .map(|step| format!("{:?}", std::mem::discriminant(step)))
        .collect();
    assert_eq!(kinds.len(), TRANSITION_VARIANTS as usize, "{kinds:?}");
    for (name, input) in seeds() {
        assert_eq!(
            LifecycleInput::from_bytes(&input.to_bytes()),
            input,
            "{name}"
        );
        let mut log = Vec::new();
        let r = run_kobject_lifecycle_logged(&input, Bugs::NONE, Some(&mut log));
        let stats = r.unwrap_or_else(|f| panic!("{name}: {f}\n  {}", log.join("\n  ")));
        assert_eq!(
            stats.steps_skipped,
            0,
            "{name}: every step applies\n  {}",
            log.join("\n  ")
        );
    }
}

#[test]
fn mig_hash_seeds_round_trip_and_reach_each_refusal() {
    use kobject_fuzz::mig_hash::{run_mig_hash, seeds, MigHashInput};
    let mut refusals = Vec::new();
    for (name, input) in seeds() {
        assert_eq!(MigHashInput::from_bytes(&input.to_bytes()), input, "{name}");
        let stats = run_mig_hash(&input, Bugs::NONE).unwrap_or_else(|f| panic!("{name}: {f}"));
        refusals.push((name, stats.refused));
    }
    let refused = |n: &str| refusals.iter().find(|(name, _)| name == n).unwrap().1;
    assert_eq!(refused("real-kernel-table-head"), None);
    assert_eq!(refused("small-clean"), None);
    assert_eq!(refused("duplicate-id"), Some("multiple entries"));
    assert_eq!(refused("table-full"), Some("the mig dispatch table"));
    assert_eq!(refused("zero-reply-size"), Some("kroutine must have"));
    assert_eq!(
        refused("too-many-reply-descriptors"),
        Some("assertion failed")
    );
    assert_eq!(refused("reversed-range"), Some("the msgh_ids in mig_e[]"));
    assert_eq!(refused("start-zero"), Some("the msgh_ids in mig_e[]"));
    assert_eq!(refused("replies-too-large"), Some("mig subsystem"));
    assert_eq!(refused("negative-ids"), Some("mig_init:"));
}
