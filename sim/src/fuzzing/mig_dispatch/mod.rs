//! The `mig_dispatch` target: the one-thread case of the one world. An input is one program of
//! actions (mostly typed MIG calls, see `lang.rs`), run natively on a fresh kernel with the
//! `none` setup; the ledger audits after every action and at teardown.

pub mod seeds;

use arbitrary::{Arbitrary, Unstructured};
use kobject::{Bugs, Finding};

use crate::harness::{self, Observe};
use crate::lang::{decode_program, encode_program, Action, ACTIONS_MAX};
use crate::params::Params;
use crate::scenario;
pub use crate::world::{routine_slots, Stats};

/// A whole `mig_dispatch` input: one program.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MigDispatchInput {
    pub actions: Vec<Action>,
}

impl<'a> Arbitrary<'a> for MigDispatchInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let rest = u.bytes(u.len())?;
        Ok(MigDispatchInput::from_bytes(rest))
    }

    fn arbitrary_take_rest(u: Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(MigDispatchInput::from_bytes(u.take_rest()))
    }
}

impl MigDispatchInput {
    /// Decodes bytes exactly as the fuzz target does.
    pub fn from_bytes(data: &[u8]) -> MigDispatchInput {
        MigDispatchInput {
            actions: decode_program(data, ACTIONS_MAX),
        }
    }

    /// Bytes that decode to this input.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_program(&self.actions, ACTIONS_MAX)
    }

    /// The run this input is: the `none` setup and one program.
    pub fn params(&self) -> Params {
        let mut p = Params::new();
        p.programs.push(self.actions.clone());
        p
    }
}

/// Runs one input on a fresh kernel with `bugs`: `Err` is the first finding.
pub fn run_mig_dispatch(input: &MigDispatchInput, bugs: Bugs) -> Result<Stats, Finding> {
    harness::run_native(scenario::none(), &input.params(), bugs, Observe::NOTHING).result
}

/// As [`run_mig_dispatch`], recording what `observe` asks for: with `reach`, which routines ran
/// their body (`Stats::routines_reached`; a run that ends in a finding reports none); with
/// `state`, the names' states after each action (`NativeRun::features`).
pub fn run_mig_dispatch_observed(
    input: &MigDispatchInput,
    bugs: Bugs,
    observe: Observe,
) -> harness::NativeRun {
    harness::run_native(scenario::none(), &input.params(), bugs, observe)
}

/// As [`run_mig_dispatch`], appending one line per action to `log`.
pub fn run_mig_dispatch_logged(
    input: &MigDispatchInput,
    bugs: Bugs,
    log: Option<&mut Vec<String>>,
) -> Result<Stats, Finding> {
    let run = harness::run_native(scenario::none(), &input.params(), bugs, Observe::ALL);
    if let Some(log) = log {
        for span in &run.spans {
            log.push(format!(
                "#{} {:?} -> {}",
                span.index,
                span.action,
                crate::trace::outcome_text(span)
            ));
        }
    }
    run.result
}

/// Runs `data` with `bug` and writes what it found as an artifact (scenario `none`, one native
/// program), which `kobjsim replay` replays. `Err` when the input runs clean.
#[cfg(feature = "sim")]
pub fn to_artifact(
    data: &[u8],
    bug: Option<kobject::Bug>,
) -> Result<crate::artifact::Artifact, String> {
    let input = MigDispatchInput::from_bytes(data);
    let outcome = harness::execute_native(scenario::none(), &input.params(), Bugs::one(bug), false);
    let Some((_, finding)) = outcome.finding else {
        return Err(format!(
            "runs clean with bug {}: nothing to replay",
            bug.map_or("none", kobject::Bug::name)
        ));
    };
    Ok(crate::artifact::Artifact::native(
        scenario::none(),
        input.params(),
        bug,
        finding,
    ))
}
