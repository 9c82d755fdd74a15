//! kobjsim: a seeded scheduler simulator that runs the kobject model's own locking code on
//! several simulated threads under shuttle, checks the model's invariants at quiescence, and
//! replays any failing interleaving exactly from an artifact.
//!
//! The pieces, in the order a run uses them:
//! * [`seed`] expands `(seed, iteration)` with ChaCha into scenario parameters and scheduler seeds;
//! * [`lang`] is the action language every engine speaks, [`typed`] the MIG table as call
//!   descriptions, [`world`] the one world that executes actions on the model;
//! * [`scenario`] is the registry of named workloads: generators of programs and setups;
//! * [`harness`] runs a setup and its programs (one natively, several inside one shuttle
//!   execution) and reports the first finding; [`shrink`] makes a finding smaller;
//! * [`explore`] drives shuttle's schedulers over blocks of iterations, on one or more jobs;
//! * [`artifact`] writes and validates the replay files, [`trace`] prints or exports a run;
//! * [`hooks`] keeps expected panics (findings) off the terminal, [`bench`] measures throughput;
//! * [`fuzzing`] holds the plain functions of the fuzz targets the simulator also runs
//!   (`mig_dispatch`, `sched_race`, `artifact_parse`), [`bugbench`] the known-bug benchmark.
//!
//! Feature `sim` (default) is the simulator proper: everything that runs under shuttle, the
//! artifacts, the shrinker and the benchmarks. Without it, what is left is the one world run
//! natively, which the single-threaded fuzz targets link: their kernels' locks then have no
//! shuttle arm to test on every lock and unlock, and the binaries carry no shuttle or proptest.

#[cfg(feature = "sim")]
pub mod artifact;
#[cfg(feature = "sim")]
pub mod bench;
#[cfg(feature = "sim")]
pub mod bugbench;
#[cfg(feature = "sim")]
pub mod explore;
pub mod fuzzing;
pub mod harness;
pub mod hooks;
pub mod lang;
pub mod params;
pub mod scenario;
pub mod seed;
#[cfg(feature = "sim")]
pub mod shrink;
pub mod trace;
pub mod typed;
pub mod world;

#[cfg(feature = "sim")]
pub use explore::{SchedulerKind, Violation};
pub use harness::Report;
pub use params::Params;
pub use scenario::{Scenario, SCENARIOS};
