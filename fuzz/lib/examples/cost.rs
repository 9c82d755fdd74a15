//! Measures what one fuzz input costs outside libFuzzer: kernel boot, a run, the audit.
//! `cargo run --release -p kobject-fuzz --example cost [DIR]`

use std::time::Instant;

use kobject::{Bugs, Kernel, Platform};
use kobject_fuzz::mig_dispatch::{run_mig_dispatch, MigDispatchInput};

fn per_call(label: &str, iterations: u32, mut f: impl FnMut()) {
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    let each = start.elapsed() / iterations;
    println!("{label:<40} {:>9.2} us", each.as_secs_f64() * 1e6);
}

fn main() {
    kobject::outcome::quiet_findings();
    per_call("Kernel::new", 20_000, || {
        std::hint::black_box(Kernel::new(Platform::Native, Bugs::NONE));
    });
    let k = Kernel::new(Platform::Native, Bugs::NONE);
    per_call("audit (empty kernel)", 20_000, || {
        k.audit(&[]).unwrap();
    });
    let (task, _space) = k.task_create(0).unwrap();
    per_call("audit (one task)", 20_000, || {
        k.audit(&[]).unwrap();
    });
    k.task_terminate(task);
    let dir = std::env::args().nth(1);
    let Some(dir) = dir else { return };
    let inputs: Vec<MigDispatchInput> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .map(|e| MigDispatchInput::from_bytes(&std::fs::read(e.unwrap().path()).unwrap()))
        .collect();
    let n = inputs.len() as u32;
    let start = Instant::now();
    for input in &inputs {
        let _ = run_mig_dispatch(input, Bugs::NONE);
    }
    let each = start.elapsed() / n.max(1);
    println!(
        "mig_dispatch over {n} inputs: {:.2} us each",
        each.as_secs_f64() * 1e6
    );
}
