//! Replays every committed input on stable: each file under `corpus/<target>/` must run clean
//! on the faithful model, and each file under `corpus/regressions/<target>/` must still fail
//! with the bug its name records and pass without it. `sched_race` crashes must also replay
//! through the simulator's artifact, as `kobjsim replay` runs it.

use std::path::{Path, PathBuf};

use kobject::Bugs;
use kobject_fuzz::targets::{regression_bug, Target};

fn corpus_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../corpus")
}

/// Regular files of `dir`, sorted; none when it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable corpus directory").path())
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn committed_corpus_holds_every_seed() {
    for target in Target::ALL {
        let dir = corpus_root().join(target.name());
        for (name, bytes) in target.seeds() {
            let path = dir.join(&name);
            let committed = std::fs::read(&path).unwrap_or_else(|_| {
                panic!(
                    "{} is missing: run `cargo run -p kobject-fuzz --example gen_corpus`",
                    path.display()
                )
            });
            assert!(
                committed == bytes,
                "{} differs from its seed: run `cargo run -p kobject-fuzz --example gen_corpus`",
                path.display()
            );
        }
    }
}

#[test]
fn committed_dictionary_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../mig_dispatch.dict");
    let committed = std::fs::read_to_string(&path).expect("fuzz/mig_dispatch.dict");
    assert!(
        committed == kobject_fuzz::mig_dispatch::seeds::dictionary(),
        "fuzz/mig_dispatch.dict is stale: run `cargo run -p kobject-fuzz --example gen_corpus`"
    );
}

#[test]
fn every_corpus_input_runs_clean_on_the_faithful_model() {
    let mut failures = Vec::new();
    for target in Target::ALL {
        let inputs = files(&corpus_root().join(target.name()));
        assert!(!inputs.is_empty(), "corpus/{} is empty", target.name());
        for path in inputs {
            let data = std::fs::read(&path).expect("readable corpus file");
            if let Err(f) = target.run(&data, Bugs::NONE) {
                failures.push(format!("{}: {f}", path.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} inputs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_regression_still_fails_with_its_bug_and_passes_without() {
    let mut problems = Vec::new();
    for target in Target::ALL {
        for path in files(&corpus_root().join("regressions").join(target.name())) {
            let name = path
                .file_name()
                .expect("a file")
                .to_string_lossy()
                .into_owned();
            let bug = match regression_bug(&name) {
                Ok(bug) => bug,
                Err(e) => {
                    problems.push(format!("{}: {e}", path.display()));
                    continue;
                }
            };
            let data = std::fs::read(&path).expect("readable regression file");
            if let Some(bug) = bug {
                if target.run(&data, Bugs::one(Some(bug))).is_ok() {
                    problems.push(format!("{}: no longer fails with {bug}", path.display()));
                }
            }
            if let Err(f) = target.run(&data, Bugs::NONE) {
                problems.push(format!(
                    "{}: fails on the faithful model: {f}",
                    path.display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The harness's canary: each bug a target is meant to find is found by some committed seed of
/// that target, and each finding names the bug's own invariant family (not a harness misuse).
#[test]
fn every_injected_bug_is_caught_by_the_committed_corpus() {
    use kobject::Bug;
    let expected = [
        (
            Target::MigDispatch,
            &[
                Bug::AddNotificationOolLeak,
                Bug::AsyncWakeDoubleRelease,
                Bug::VoucherSwap,
                Bug::UnknownIdSpoofedNoSenders,
                Bug::ReplyToKernelPort,
                Bug::SkipLabelCheck,
                Bug::NsrequestMissingReference,
            ][..],
        ),
        (
            Target::KobjectLifecycle,
            &[
                Bug::DeallocWrongMscount,
                Bug::NsrequestMissingReference,
                Bug::SkipLabelCheck,
            ][..],
        ),
    ];
    let mut missed = Vec::new();
    for (target, bugs) in expected {
        let inputs: Vec<Vec<u8>> = files(&corpus_root().join(target.name()))
            .iter()
            .map(|p| std::fs::read(p).expect("readable corpus file"))
            .collect();
        for &bug in bugs {
            let caught = inputs
                .iter()
                .find_map(|data| target.run(data, Bugs::one(Some(bug))).err());
            match caught {
                Some(f) => assert_ne!(
                    f.kind,
                    kobject::FindingKind::ModelBug.name(),
                    "{bug}: {} reaches it only as a model bug: {f}",
                    target.name()
                ),
                None => missed.push(format!("{}: {bug}", target.name())),
            }
        }
    }
    assert!(missed.is_empty(), "no committed input finds {missed:?}");
}

/// The `sched_race` canary: every simulator regression artifact recorded with a bug whose
/// schedule still fits the model, turned into the `sched_race` input that takes that schedule,
/// finds the same invariant with that bug. So the byte scheduler can express the interleavings
/// the simulator's schedulers found. (An artifact whose schedule no longer fits replays by
/// re-deriving from its seed; it has no byte form.)
#[test]
fn every_sim_regression_converts_to_a_sched_race_input_that_finds_it() {
    use kobjsim::artifact::Artifact;
    use kobjsim::fuzzing::sched_race;
    let mut problems = Vec::new();
    let mut converted = 0;
    for path in files(&corpus_root().join("regressions").join("sim")) {
        let loaded = Artifact::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let Some(bug) = loaded.bug else { continue };
        let Some(input) = sched_race::from_artifact(&loaded) else {
            continue;
        };
        converted += 1;
        match Target::SchedRace.run(&input.to_bytes(), Bugs::one(Some(bug))) {
            Err(r) if r.invariant == loaded.artifact.finding.invariant => {}
            other => problems.push(format!(
                "{}: {other:?}, recorded [{}]",
                path.display(),
                loaded.artifact.finding.invariant
            )),
        }
    }
    assert!(converted > 0, "no simulator regression recorded with a bug");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A `sched_race` crash replays through `kobjsim replay`: each regression becomes an artifact
/// that the simulator's reader accepts and whose recorded schedule (not the bytes) reproduces
/// the same invariant, with the bug and not without it.
#[test]
fn every_sched_race_regression_replays_as_a_simulator_artifact() {
    use kobjsim::artifact::Artifact;
    use kobjsim::fuzzing::sched_race;
    let dir = corpus_root().join("regressions").join("sched_race");
    let regressions = files(&dir);
    assert!(!regressions.is_empty(), "{} is empty", dir.display());
    for path in regressions {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bug = regression_bug(&name).unwrap_or_else(|e| panic!("{e}"));
        let data = std::fs::read(&path).unwrap();
        let artifact = sched_race::to_artifact(&data, bug).unwrap_or_else(|e| panic!("{e}"));
        let text = serde_json::to_string_pretty(&artifact).unwrap();
        let loaded = Artifact::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (outcome, note) = loaded.reproduce();
        assert!(note.is_none(), "{name}: the schedule did not fit: {note:?}");
        let (_, found) = outcome
            .finding
            .unwrap_or_else(|| panic!("{name}: replays clean"));
        assert_eq!(
            found.invariant, artifact.finding.invariant,
            "{name}: {found}"
        );
        if bug.is_some() {
            let mut clean = loaded;
            clean.bug = None;
            let (outcome, _) = clean.reproduce();
            assert!(outcome.finding.is_none(), "{name}: fails without its bug");
        }
    }
}
