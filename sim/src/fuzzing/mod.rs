//! The plain functions behind the libFuzzer targets that the simulator runs too: `kobject-fuzz`'s
//! shells call them, and `kobjsim bugs` runs them as engines (in-process, without coverage
//! guidance). They live here rather than in `kobject-fuzz` so the dependency points one way:
//! kobject-fuzz -> kobjsim -> kobject.
//!
//! * [`codec`]: bytes <-> structured inputs (`arbitrary`'s format, encoded by hand for seeds);
//! * [`mig_dispatch`]: user actions through the real MIG table, audited after every action;
//! * [`sched_race`]: a scenario whose every scheduling decision is an input byte;
//! * [`artifact_parse`]: arbitrary bytes through the artifact reader.

#[cfg(feature = "sim")]
pub mod artifact_parse;
pub mod codec;
pub mod mig_dispatch;
#[cfg(feature = "sim")]
pub mod sched_race;
