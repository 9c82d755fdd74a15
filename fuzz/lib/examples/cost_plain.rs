//! Runs each given input of a target once through `Target::run`, outside libFuzzer, after the
//! startup the fuzz shells do (`shell::init`): what `scripts/cost.sh` counts the plain
//! function's instructions per execution with.
//! `cargo run --release -p kobject-fuzz --example cost_plain -- TARGET [--no-run] FILE...`
//!
//! TARGET is a fuzz target's name or `empty` (the input is only handed to `black_box`).
//! The empty input runs once first, as libFuzzer runs it before any other, so one-time
//! initialisation (lazily built tables) is not counted against the inputs. `--no-run` reads the
//! files and runs only that empty input: the baseline whose count `scripts/cost.sh` subtracts,
//! so startup and reading the inputs are not counted either. Exit status: 0, 1 a finding,
//! 2 a usage error.

use std::process::ExitCode;

use kobject_fuzz::shell;
use kobject_fuzz::targets::Target;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(name) = args.next() else {
        eprintln!("usage: cost_plain TARGET [--no-run] FILE...");
        return ExitCode::from(2);
    };
    let target = match name.as_str() {
        "empty" => None,
        _ => match Target::from_name(&name) {
            Some(t) => Some(t),
            None => {
                eprintln!("cost_plain: unknown target {name:?}");
                return ExitCode::from(2);
            }
        },
    };
    let mut run = true;
    let mut inputs = Vec::new();
    for arg in args {
        if arg == "--no-run" {
            run = false;
            continue;
        }
        match std::fs::read(&arg) {
            Ok(data) => inputs.push(data),
            Err(e) => {
                eprintln!("cost_plain: {arg}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    shell::init();
    let run_one = |data: &[u8]| match target {
        None => {
            std::hint::black_box(data);
            true
        }
        Some(t) => match t.run(data, shell::bugs()) {
            Ok(()) => true,
            Err(report) => {
                eprintln!("cost_plain: finding: {report:?}");
                false
            }
        },
    };
    let warm = run_one(&[]);
    if !run {
        std::hint::black_box(&inputs);
        return ExitCode::SUCCESS;
    }
    let mut clean = warm;
    for data in &inputs {
        clean &= run_one(data);
    }
    if !clean {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
