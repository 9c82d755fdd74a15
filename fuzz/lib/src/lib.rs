//! kobject-fuzz: the plain functions behind the libFuzzer targets and what their shells share, so
//! `cargo test` on stable can replay every saved input.
//!
//! Each target `T` has a function `run_T(input, bugs) -> Result<Stats, Finding or Report>` and a
//! thin shell in `fuzz/fuzz_targets/T.rs` that panics with the finding, which is what makes libFuzzer
//! save a crash. See fuzz/README.md. `kobject_lifecycle` and `mig_hash` live here; `mig_dispatch`,
//! `sched_race` and `artifact_parse` live in the simulator's library (`kobjsim::fuzzing`), whose
//! `kobjsim bugs` benchmark runs them too, and are re-exported under their usual paths.
//!
//! The shells themselves are package `kobject-fuzz-targets` (`fuzz/Cargo.toml`, cargo fuzz's
//! package). This library's feature `sim` (default) brings the simulator's targets; the shells of
//! the single-threaded targets build without it.

pub mod env;
pub mod kobject_lifecycle;
pub mod mig_hash;
pub mod shell;
pub mod targets;

pub use env::{bugs_from_env, parse_bug, BUG_ENV};
#[cfg(feature = "sim")]
pub use kobjsim::fuzzing::{artifact_parse, sched_race};
pub use kobjsim::fuzzing::{codec, mig_dispatch};
