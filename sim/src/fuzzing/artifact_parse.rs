//! The `artifact_parse` target: arbitrary bytes through the simulator's artifact reader
//! ([`Artifact::parse`], what `kobjsim replay` runs on a file) must never panic, and an artifact
//! it accepts must survive a round trip: written back out and read again, it reads the same.
//!
//! The bytes are read as UTF-8 lossily (invalid sequences become U+FFFD), as a file read with
//! `String::from_utf8_lossy` would be, so the fuzzer reaches the JSON and validation code with
//! every input rather than stopping at the encoding. The reader is not run further: replaying
//! an accepted artifact is `sched_race`'s job.

use std::panic::{self, AssertUnwindSafe};

use crate::artifact::Artifact;
use crate::harness::Report;

/// Bytes read from one input; a longer input is cut (the reader's own limit is the file size,
/// 16 MiB, far above what a fuzzer produces).
pub const INPUT_BYTES_MAX: usize = 1 << 20;

/// What the reader made of an input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseOutcome {
    /// Read and validated (and read back the same after writing it out).
    Accepted { scenario: String },
    /// Refused, with the reader's message.
    Rejected(String),
}

/// Runs one input through [`Artifact::parse`]: `Err` when it panicked or an accepted artifact
/// did not read back the same.
pub fn run_artifact_parse(data: &[u8]) -> Result<ParseOutcome, Report> {
    crate::hooks::install();
    let text = String::from_utf8_lossy(&data[..data.len().min(INPUT_BYTES_MAX)]);
    let loaded = match parse_quietly(&text)? {
        Ok(loaded) => loaded,
        Err(message) => return Ok(ParseOutcome::Rejected(message)),
    };
    let written = serde_json::to_string_pretty(&loaded.artifact).map_err(|e| {
        harness_report(
            "artifact-round-trip",
            format!("an accepted artifact does not serialize: {e}"),
        )
    })?;
    match parse_quietly(&written)? {
        Ok(again) if again.artifact == loaded.artifact => Ok(ParseOutcome::Accepted {
            scenario: loaded.artifact.scenario,
        }),
        Ok(again) => Err(harness_report(
            "artifact-round-trip",
            format!(
                "read back differently after writing: {:?} became {:?}",
                loaded.artifact, again.artifact
            ),
        )),
        Err(message) => Err(harness_report(
            "artifact-round-trip",
            format!("an accepted artifact is refused once written out: {message}"),
        )),
    }
}

/// [`Artifact::parse`] with a panic caught and reported (silently: the panic hook stays quiet).
fn parse_quietly(text: &str) -> Result<Result<crate::artifact::Loaded, String>, Report> {
    let result =
        crate::hooks::quietly(|| panic::catch_unwind(AssertUnwindSafe(|| Artifact::parse(text))));
    result.map_err(|payload| {
        let message = crate::hooks::payload_message(payload.as_ref());
        let location = crate::hooks::last_panic_location().unwrap_or_default();
        harness_report(
            "artifact-parse-panic",
            format!("Artifact::parse panicked: {message} (at {location})"),
        )
    })
}

fn harness_report(invariant: &str, message: String) -> Report {
    Report {
        kind: "harness".into(),
        invariant: invariant.into(),
        message,
    }
}

/// Seed inputs made from one committed artifact's text: the artifact itself and a few damaged
/// copies (cut in half, cut before its last byte, a corrupt schedule, a newer format, an unknown
/// scenario), as `(suffix, bytes)`.
pub fn seed_variants(text: &str) -> Vec<(&'static str, Vec<u8>)> {
    let bytes = text.as_bytes();
    let mut out = vec![
        ("", bytes.to_vec()),
        ("half", bytes[..bytes.len() / 2].to_vec()),
        ("cut", bytes[..bytes.len().saturating_sub(2)].to_vec()),
    ];
    let edits: [(&str, &str, &str); 3] = [
        ("bad-schedule", "\"schedule\": \"", "\"schedule\": \"ff"),
        ("future", "\"format_version\": ", "\"format_version\": 9"),
        ("bad-scenario", "\"scenario\": \"", "\"scenario\": \"x-"),
    ];
    for (suffix, from, to) in edits {
        if text.contains(from) {
            out.push((suffix, text.replacen(from, to, 1).into_bytes()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_rejected_not_a_finding() {
        for data in [
            &b""[..],
            b"{",
            b"\xff\xfe{}",
            b"{\"format_version\": 2}",
            b"[1,2]",
        ] {
            match run_artifact_parse(data) {
                Ok(ParseOutcome::Rejected(_)) => {}
                other => panic!("{data:?}: {other:?}"),
            }
        }
    }
}
