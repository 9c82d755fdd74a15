//! The binary's contract: exit codes, `list --bugs`, the replay line, and clear errors on bad
//! artifacts.

use std::path::PathBuf;
use std::process::{Command, Output};

fn kobjsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kobjsim"))
        .args(args)
        .output()
        .expect("run kobjsim")
}

/// A fresh directory under the target dir for this test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn list_bugs_prints_every_bug_name() {
    let out = kobjsim(&["list", "--bugs"]);
    assert!(out.status.success());
    let names: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    let expected: Vec<String> = kobject::Bug::ALL
        .iter()
        .map(|b| b.name().to_string())
        .collect();
    assert_eq!(names, expected);
}

#[test]
fn bad_usage_exits_2() {
    let out = kobjsim(&["run", "--bug", "no-such-bug"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("lazy-alloc-no-undo"),
        "lists the valid names"
    );
    assert_eq!(
        kobjsim(&["run", "--scenario", "nope"]).status.code(),
        Some(2)
    );
    assert_eq!(kobjsim(&["run", "--jobs", "0"]).status.code(), Some(2));
    assert_eq!(kobjsim(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn clean_run_exits_0() {
    let dir = scratch("clean");
    let out = kobjsim(&["run", "--iterations", "50", "--out", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let total = format!("total: {} iterations", 50 * kobjsim::SCENARIOS.len());
    assert!(text(&out.stdout).contains(&total));
}

#[test]
fn violation_exits_1_and_its_replay_line_replays_it() {
    let dir = scratch("violation");
    let out = kobjsim(&[
        "run",
        "--scenario",
        "lazy-alloc-race",
        "--bug",
        "lazy-alloc-no-undo",
        "--iterations",
        "10000",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let line: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("replay: "))
        .collect();
    assert_eq!(
        line.len(),
        2,
        "the artifact's and the shrunk one's: {stdout}"
    );
    assert!(stdout.contains("shrunk: 3 threads"), "{stdout}");
    let shrunk = line[1].trim_start_matches("replay: kobjsim replay ");
    let out = kobjsim(&["replay", shrunk]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("reproduces the recorded finding"));
    let path = line[0].trim_start_matches("replay: kobjsim replay ");
    let chrome = dir.join("trace.json");
    let out = kobjsim(&[
        "replay",
        path,
        "--trace",
        "--chrome-trace",
        chrome.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("reproduces the recorded finding"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&chrome).unwrap()).unwrap();
    assert!(json["traceEvents"].as_array().is_some_and(|e| e.len() > 3));
    // A second violation with the same name never overwrites the first.
    let again = kobjsim(&[
        "run",
        "--scenario",
        "lazy-alloc-race",
        "--bug",
        "lazy-alloc-no-undo",
        "--iterations",
        "10000",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(1));
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(files, 5, "two artifacts, two shrunk ones and the trace");
}

#[test]
fn corrupt_truncated_and_future_artifacts_exit_2() {
    let dir = scratch("corrupt");
    let cases = [
        ("garbage.json", "this is not json".to_string()),
        ("truncated.json", "{\"format_version\": 1, \"scenario\": \"lazy".to_string()),
        ("future.json", "{\"format_version\": 99}".to_string()),
        ("empty.json", String::new()),
        (
            "bad-schedule.json",
            r#"{"format_version":1,"scenario":"lazy-alloc-race","params":{"programs":[["convert 0"],["convert 0"]],"knobs":{}},"seed":1,"iteration":0,"scheduler":"random","depth":3,"schedule":"91ff","bug":null,"finding":{"kind":"x","invariant":"y","message":"z"}}"#.to_string(),
        ),
    ];
    for (name, content) in cases {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        let out = kobjsim(&["replay", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = text(&out.stderr);
        assert!(stderr.starts_with("kobjsim: "), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
}

/// A crash `sched_race` found (a committed regression, its bug in the file name) becomes an
/// artifact that `kobjsim replay` replays with the same invariant; a clean input writes nothing.
#[test]
fn a_sched_race_crash_replays_through_kobjsim_replay() {
    let regressions =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../corpus/regressions/sched_race");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&regressions)
        .expect("corpus/regressions/sched_race")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for file in files {
        let dir = scratch("from-sched-race");
        let out = kobjsim(&[
            "from-sched-race",
            file.to_str().unwrap(),
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        let stdout = text(&out.stdout);
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix("replay: kobjsim replay "))
            .unwrap_or_else(|| panic!("no replay line: {stdout}"));
        let replay = kobjsim(&["replay", line]);
        assert_eq!(replay.status.code(), Some(1), "{}", text(&replay.stderr));
        assert!(
            text(&replay.stdout).contains("reproduces the recorded finding"),
            "{}",
            text(&replay.stdout)
        );
        assert!(
            text(&replay.stderr).is_empty(),
            "replayed exactly: {}",
            text(&replay.stderr)
        );
    }
    let dir = scratch("from-sched-race-clean");
    let clean = dir.join("input");
    std::fs::write(&clean, [5u8]).unwrap();
    let out = kobjsim(&[
        "from-sched-race",
        clean.to_str().unwrap(),
        "--bug",
        "none",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("runs clean"));
}

/// `kobjsim shrink` makes a committed finding smaller and writes an artifact that replays it;
/// an artifact that finds nothing is refused with exit 2.
#[test]
fn shrink_writes_a_smaller_artifact_that_replays() {
    let regressions = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../corpus/regressions/sim");
    // The unshrunk artifact of the spoofed no-senders bug (its iteration moves when the
    // regressions are re-recorded; the shrunk one ends in `-1.json`).
    let prefix = "dispatch-vs-destroy-unknown-id-spoofed-no-senders-seed1-iter";
    let original = std::fs::read_dir(&regressions)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(prefix) && !name.ends_with("-1.json")
        })
        .expect("the committed spoofed no-senders regression");
    let dir = scratch("shrink");
    let out = kobjsim(&[
        "shrink",
        original.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("-> 1 threads"), "{stdout}");
    let path = stdout
        .lines()
        .find_map(|l| l.strip_prefix("replay: kobjsim replay "))
        .unwrap_or_else(|| panic!("no replay line: {stdout}"));
    let replay = kobjsim(&["replay", path, "--trace"]);
    assert_eq!(replay.status.code(), Some(1));
    let shown = text(&replay.stdout);
    assert!(shown.contains("reproduces the recorded finding"), "{shown}");
    assert!(
        shown.contains("FINDING"),
        "the timeline ends in the finding: {shown}"
    );
    let clean = regressions.join("not-there.json");
    assert_eq!(
        kobjsim(&["shrink", clean.to_str().unwrap()]).status.code(),
        Some(2)
    );
}
