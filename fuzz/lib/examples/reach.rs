//! Routine reach: which of the table's 345 routines ran their body (the stub's checks passed and
//! the routine was called), for the `mig_dispatch` inputs in the given directories (replayed on
//! the faithful model) and the ids listed in `--ids FILE` (one a line, as the fuzz target writes
//! them under `KOBJSIM_REACH_FILE`). `cargo run --release -p kobject-fuzz --example reach --
//! [--ids FILE] [DIR...]`; prints the count, then the routines never reached.
//! `scripts/routine-reach.sh` fuzzes first, then runs it.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use kobject::ipc_kobject_mig::MigKind;
use kobject::Bugs;
use kobject_fuzz::mig_dispatch::{routine_slots, run_mig_dispatch_logged, MigDispatchInput};

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut reached = BTreeSet::new();
    if let Some(at) = args.iter().position(|a| a == "--ids") {
        let Some(file) = args.get(at + 1).cloned() else {
            eprintln!("usage: reach [--ids FILE] [DIR...]");
            return ExitCode::from(2);
        };
        args.drain(at..at + 2);
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("reach: cannot read {file}: {e}");
                return ExitCode::from(2);
            }
        };
        for line in text.lines() {
            match line.trim().parse::<i32>() {
                Ok(id) => {
                    reached.insert(id);
                }
                Err(_) => {
                    eprintln!("reach: {file}: {line:?} is not a routine id");
                    return ExitCode::from(2);
                }
            }
        }
    }
    let dirs: Vec<PathBuf> = args.iter().map(PathBuf::from).collect();
    let mut inputs = 0;
    for dir in &dirs {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                eprintln!("reach: cannot read {}: {e}", dir.display());
                return ExitCode::from(2);
            }
        };
        for entry in entries.flatten() {
            let Ok(data) = std::fs::read(entry.path()) else {
                continue;
            };
            inputs += 1;
            let input = MigDispatchInput::from_bytes(&data);
            let mut log = Vec::new();
            if let Ok(stats) = run_mig_dispatch_logged(&input, Bugs::NONE, Some(&mut log)) {
                reached.extend(stats.routines_reached);
            }
        }
    }
    let routines: Vec<_> = routine_slots()
        .iter()
        .filter(|r| r.kind != MigKind::Skip)
        .collect();
    let missing: Vec<String> = routines
        .iter()
        .filter(|r| !reached.contains(&r.msgh_id))
        .map(|r| format!("{} ({})", r.name, r.msgh_id))
        .collect();
    println!(
        "routines reached: {} of {} (plus {inputs} inputs replayed)",
        routines.len() - missing.len(),
        routines.len()
    );
    for name in &missing {
        println!("  not reached: {name}");
    }
    ExitCode::SUCCESS
}
