//! Replays every committed input on stable: each file under `corpus/<target>/` must run clean
//! on the faithful model, and each file under `corpus/regressions/<target>/` must still fail
//! with the bug its name records and pass without it.

use std::path::{Path, PathBuf};

use kobject::Bugs;
use kobject_fuzz::targets::{regression_bug, Target};

fn corpus_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("corpus")
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
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("mig_dispatch.dict");
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

/// The harness's canary: each bug `mig_dispatch` is meant to find is found by some committed
/// seed, and each finding names the bug's own invariant family (not a harness misuse).
#[test]
fn every_injected_bug_is_caught_by_the_committed_corpus() {
    use kobject::Bug;
    let bugs = [
        Bug::AddNotificationOolLeak,
        Bug::AsyncWakeDoubleRelease,
        Bug::VoucherSwap,
        Bug::UnknownIdSpoofedNoSenders,
        Bug::ReplyToKernelPort,
        Bug::SkipLabelCheck,
        Bug::NsrequestMissingReference,
    ];
    let inputs: Vec<Vec<u8>> = files(&corpus_root().join("mig_dispatch"))
        .iter()
        .map(|p| std::fs::read(p).expect("readable corpus file"))
        .collect();
    let mut missed = Vec::new();
    for bug in bugs {
        let caught = inputs
            .iter()
            .find_map(|data| Target::MigDispatch.run(data, Bugs::one(Some(bug))).err());
        match caught {
            Some(f) => assert_ne!(
                f.kind,
                kobject::FindingKind::ModelBug,
                "{bug}: the corpus reaches it only as a model bug: {f}"
            ),
            None => missed.push(bug.name()),
        }
    }
    assert!(
        missed.is_empty(),
        "no committed mig_dispatch input finds {missed:?}"
    );
}
