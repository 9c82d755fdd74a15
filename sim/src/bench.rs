//! Throughput: schedules per second of each scenario beside a bare-shuttle baseline with the same
//! number of threads and about the same number of scheduling points, measured in the same run.
//!
//! The baseline's threads only take and release one shuttle mutex, so the ratio is what the model
//! itself (its locks, arenas, auditor and trace hooks) costs per explored schedule. Its operation
//! count is calibrated from two short probes so that its steps per execution match the
//! scenario's.

use std::sync::Arc;
use std::time::Instant;

use crate::explore::{self, Budget, Plan, SchedulerKind};
use crate::scenario::Scenario;

/// Iterations of each calibration probe.
const PROBE_ITERATIONS: u64 = 64;

/// One scenario's figures.
#[derive(Clone, Debug)]
pub struct Row {
    pub scenario: &'static str,
    pub threads: usize,
    pub steps: f64,
    pub per_sec: f64,
    pub baseline_steps: f64,
    pub baseline_per_sec: f64,
}

impl Row {
    pub fn ratio(&self) -> f64 {
        self.per_sec / self.baseline_per_sec
    }
}

/// Measures `scenario` over `iterations` random-scheduler iterations, then its baseline.
pub fn measure(scenario: &'static Scenario, iterations: u64, seed: u64) -> Row {
    let plan = Plan {
        scenario,
        scheduler: SchedulerKind::Random,
        depth: 3,
        seed,
        bug: None,
        check_determinism: false,
    };
    let start = Instant::now();
    let ex = explore::explore(&plan, Budget::Iterations(iterations), 1, &|_| {});
    let per_sec = ex.iterations as f64 / start.elapsed().as_secs_f64();
    let steps = ex.steps as f64 / ex.iterations.max(1) as f64;
    let draws: usize = (0..iterations).map(|i| plan.params(i).threads()).sum();
    let threads = (draws as f64 / iterations as f64).round().max(1.0) as usize;
    let ops = calibrate(threads, steps, seed);
    let start = Instant::now();
    let (executed, base_steps) = explore::run_plain(seed, iterations, bare(threads, ops));
    Row {
        scenario: scenario.name,
        threads,
        steps,
        per_sec,
        baseline_steps: base_steps as f64 / executed.max(1) as f64,
        baseline_per_sec: executed as f64 / start.elapsed().as_secs_f64(),
    }
}

/// Lock operations per baseline thread so that an execution takes about `steps` steps: steps
/// grow linearly with the operation count, so two probes give the line.
fn calibrate(threads: usize, steps: f64, seed: u64) -> usize {
    let probe = |ops: usize| {
        let (n, s) = explore::run_plain(seed, PROBE_ITERATIONS, bare(threads, ops));
        s as f64 / n.max(1) as f64
    };
    let (low, high) = (probe(1), probe(9));
    let per_op = ((high - low) / 8.0).max(f64::MIN_POSITIVE);
    (1.0 + (steps - low) / per_op).round().max(1.0) as usize
}

/// The baseline body: `threads` shuttle threads, each locking one shared mutex `ops` times.
fn bare(threads: usize, ops: usize) -> Arc<dyn Fn() + Send + Sync> {
    Arc::new(move || {
        let lock = Arc::new(shuttle::sync::Mutex::new(0u64));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let lock = Arc::clone(&lock);
                shuttle::thread::spawn(move || {
                    for _ in 0..ops {
                        *lock.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().expect("baseline thread");
        }
    })
}
