//! kobject-fuzz: the plain functions behind the libFuzzer targets, so `cargo test` on stable can
//! replay every saved input.
//!
//! Each target `T` has an input type (derived `Arbitrary`, bounded: `*_MAX` limits), a function
//! `run_T(&input, bugs) -> Result<Stats, Finding>` and a thin shell in `fuzz_targets/T.rs` that
//! panics with the finding, which is what makes libFuzzer save a crash. See fuzz/README.md.

pub mod codec;
pub mod env;
pub mod kobject_lifecycle;
pub mod mig_dispatch;
pub mod mig_hash;
pub mod shell;
pub mod targets;

pub use env::{bugs_from_env, parse_bug, BUG_ENV};
