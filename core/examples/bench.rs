//! Single-threaded throughput of the model's hot paths, in operations per second:
//! `cargo run --release -p kobject --example bench`.
//!
//! A benchmark, not a test: the only place in the package that reads a clock. Each figure runs
//! its loop for about `RUN_SECONDS` and the kernel is audited afterwards (outside the timing), so
//! a fast but wrong path cannot post a figure.

use std::hint::black_box;
use std::time::{Duration, Instant};

use kobject::ikot::IKOT_SEMAPHORE;
use kobject::mach::IPC_KOBJECT_ALLOC_NONE;
use kobject::{Bugs, IpcKobject, Kernel, Platform};

/// How long each figure runs.
const RUN_SECONDS: f64 = 1.0;
/// Iterations between two clock reads.
const BATCH_ITERATIONS: u64 = 4096;

/// Runs `op` in batches until `RUN_SECONDS` have passed; returns operations per second.
// The clock is read here and nowhere else in the package (kobject's own code reads none).
#[allow(clippy::disallowed_methods)]
fn measure(mut op: impl FnMut()) -> f64 {
    // One warm-up batch: first-touch of arena chunks and the branch predictors.
    for _ in 0..BATCH_ITERATIONS {
        op();
    }
    let budget = Duration::from_secs_f64(RUN_SECONDS);
    let start = Instant::now();
    let mut done: u64 = 0;
    loop {
        for _ in 0..BATCH_ITERATIONS {
            op();
        }
        done += BATCH_ITERATIONS;
        let elapsed = start.elapsed();
        if elapsed >= budget {
            return done as f64 / elapsed.as_secs_f64();
        }
    }
}

fn print_figure(name: &str, ops_per_second: f64) {
    if ops_per_second >= 1e6 {
        println!("{name}: {:.1} M ops/s", ops_per_second / 1e6);
    } else {
        println!("{name}: {:.1} k ops/s", ops_per_second / 1e3);
    }
}

/// (a) `ipc_kobject_make_send` then `ipc_port_release_send` on an unarmed semaphore port.
fn make_send_release_cycle(k: &Kernel) -> f64 {
    let sem = k.semaphore_create();
    let ko = IpcKobject::Object(sem);
    let p = k.ipc_kobject_alloc_port(ko, IKOT_SEMAPHORE, IPC_KOBJECT_ALLOC_NONE);
    let rate = measure(|| {
        let right = k.ipc_kobject_make_send(black_box(p.into()), ko, IKOT_SEMAPHORE);
        k.ipc_port_release_send(black_box(right));
    });
    k.audit(&[]).expect("audit after the make-send cycle");
    k.ipc_kobject_dealloc_port(p, 0, IKOT_SEMAPHORE);
    k.object_destroy(sem);
    rate
}

/// (b) The lazy-allocation path of a semaphore: convert to a port (arming, donating a
/// reference), then release the right (the no-senders callback gives the reference back).
fn lazy_alloc_cycle(k: &Kernel) -> f64 {
    let sem = k.semaphore_create();
    let rate = measure(|| {
        k.object_reference(sem);
        let right = k.convert_lazy_object_to_port(black_box(sem));
        k.ipc_port_release_send(black_box(right));
    });
    k.audit(&[]).expect("audit after the lazy-alloc cycle");
    k.object_destroy(sem);
    rate
}

/// (c) `ipc_port_make_send_any_locked` and `ipc_port_release_send_and_unlock` under one lock
/// hold, on an unarmed port: the right layer alone.
fn bare_make_send_any_locked(k: &Kernel) -> f64 {
    let sem = k.semaphore_create();
    let p = k.ipc_kobject_alloc_port(
        IpcKobject::Object(sem),
        IKOT_SEMAPHORE,
        IPC_KOBJECT_ALLOC_NONE,
    );
    let rate = measure(|| {
        let mut g = k.ip_mq_lock(black_box(p));
        k.ipc_port_make_send_any_locked(&mut g);
        k.ipc_port_release_send_and_unlock(g);
    });
    k.audit(&[]).expect("audit after the bare cycle");
    k.ipc_kobject_dealloc_port(p, 0, IKOT_SEMAPHORE);
    k.object_destroy(sem);
    rate
}

fn main() {
    kobject::outcome::quiet_findings();
    if cfg!(debug_assertions) {
        eprintln!("note: a debug build; run with --release for meaningful figures");
    }
    let k = Kernel::new(Platform::Native, Bugs::NONE);
    print_figure("make-send/release cycle", make_send_release_cycle(&k));
    print_figure("lazy-alloc convert/no-senders cycle", lazy_alloc_cycle(&k));
    print_figure(
        "bare make_send_any_locked/release",
        bare_make_send_any_locked(&k),
    );
    k.audit_teardown().expect("teardown after the benchmark");
}
