//! Replays every committed artifact: one recorded with a bug must still reproduce a finding with
//! the same invariant, one recorded on the faithful model must now pass. Artifacts under
//! `corpus/model-bugs/sim/` are open bugs in the model itself: they must still reproduce until
//! the model is fixed, when they move to `corpus/regressions/sim/`.

mod common;

use kobjsim::artifact::Artifact;

#[test]
fn every_regression_artifact_replays_as_recorded() {
    for path in common::artifacts(&common::corpus("regressions/sim")) {
        let loaded = Artifact::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let (outcome, note) = loaded.reproduce();
        let a = &loaded.artifact;
        let found = outcome.finding.map(|(_, r)| r);
        match &a.bug {
            Some(bug) => {
                let found = found.unwrap_or_else(|| {
                    panic!(
                        "{}: bug {bug} no longer reproduces ({note:?})",
                        path.display()
                    )
                });
                assert_eq!(
                    found.invariant,
                    a.finding.invariant,
                    "{}: {found} ({note:?})",
                    path.display()
                );
            }
            None => assert!(found.is_none(), "{}: {found:?} ({note:?})", path.display()),
        }
    }
}

#[test]
fn open_model_bugs_still_reproduce() {
    for path in common::artifacts(&common::corpus("model-bugs/sim")) {
        let loaded = Artifact::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let (outcome, note) = loaded.reproduce();
        let found = outcome.finding.map(|(_, r)| r.invariant);
        assert_eq!(
            found.as_deref(),
            Some(loaded.artifact.finding.invariant.as_str()),
            "{} no longer reproduces ({note:?}): if the model was fixed, move it to \
             corpus/regressions/sim/ so it keeps passing",
            path.display()
        );
    }
}
