//! Decodes one saved input, prints it as actions, replays it and prints what it found:
//! `scripts/replay.sh FILE [--target T] [--bug B]`.
//!
//! The target comes from the path (`corpus/<target>/`, `corpus/regressions/<target>/`,
//! `.../artifacts/<target>/`) unless `--target` names it; the bug from `--bug`, else from a
//! regression file's `<bug>--` prefix, else from `KOBJSIM_BUG`. Exit status: 0 no finding,
//! 1 a finding, 2 a usage error.

use std::path::PathBuf;
use std::process::ExitCode;

use kobject::Bugs;
use kobject_fuzz::targets::{regression_bug, Target};

struct Args {
    file: PathBuf,
    target: Option<Target>,
    bug: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let (mut file, mut target, mut bug) = (None, None, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--target" => {
                let name = args.next().ok_or("--target needs a name")?;
                let names: Vec<_> = Target::ALL.iter().map(|t| t.name()).collect();
                target = Some(Target::from_name(&name).ok_or_else(|| {
                    format!("unknown target {name:?}; targets: {}", names.join(", "))
                })?);
            }
            "--bug" => bug = Some(args.next().ok_or("--bug needs a name")?),
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}")),
            _ if file.is_none() => file = Some(PathBuf::from(arg)),
            _ => return Err(format!("unexpected argument {arg}")),
        }
    }
    let file = file.ok_or("no input file")?;
    Ok(Args { file, target, bug })
}

fn bug_for(args: &Args) -> Result<Bugs, String> {
    if let Some(name) = &args.bug {
        return kobject_fuzz::parse_bug(name).map(Bugs::one);
    }
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    let in_regressions = args
        .file
        .components()
        .any(|c| c.as_os_str() == "regressions");
    if let (true, Some(name)) = (in_regressions, name) {
        return regression_bug(&name).map(Bugs::one);
    }
    let env = std::env::var(kobject_fuzz::BUG_ENV).unwrap_or_default();
    kobject_fuzz::parse_bug(&env).map(Bugs::one)
}

/// The name `--bug` takes for `bugs` (at most one bug is ever selected here).
fn bug_name(bugs: Bugs) -> &'static str {
    kobject::Bug::ALL
        .iter()
        .copied()
        .find(|&b| bugs.has(b))
        .map_or("none", kobject::Bug::name)
}

fn main() -> ExitCode {
    kobject::outcome::quiet_findings();
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("replay: {e}\nusage: scripts/replay.sh FILE [--target T] [--bug B]");
            return ExitCode::from(2);
        }
    };
    let Some(target) = args.target.or_else(|| Target::of_path(&args.file)) else {
        eprintln!(
            "replay: cannot tell the target from {}; pass --target",
            args.file.display()
        );
        return ExitCode::from(2);
    };
    let bugs = match bug_for(&args) {
        Ok(bugs) => bugs,
        Err(e) => {
            eprintln!("replay: {e}");
            return ExitCode::from(2);
        }
    };
    let data = match std::fs::read(&args.file) {
        Ok(data) => data,
        Err(e) => {
            eprintln!("replay: {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let replay = target.replay(&data, bugs);
    println!(
        "target {}, {} bytes, bugs {bugs:?}",
        target.name(),
        data.len()
    );
    println!("input:\n{}", replay.decoded);
    if !replay.log.is_empty() {
        println!("steps:\n  {}", replay.log.join("\n  "));
    }
    match replay.result {
        Ok(stats) => {
            println!("no finding: {stats}");
            ExitCode::SUCCESS
        }
        Err(finding) => {
            println!("FINDING: {finding}");
            if matches!(target, Target::SchedRace | Target::MigDispatch) {
                println!(
                    "as an artifact (shrunk too): cargo run --release -p kobjsim -- from-fuzz {} --target {} --bug {}",
                    args.file.display(),
                    target.name(),
                    bug_name(bugs)
                );
            }
            ExitCode::from(1)
        }
    }
}
