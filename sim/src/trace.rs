//! Presenting a run's trace: one text line per model step, or Chrome trace-event JSON that
//! Perfetto (ui.perfetto.dev) and chrome://tracing open as a per-thread timeline.
//!
//! The kernel records each step's counts after it; the "before" counts printed here are the
//! port's counts after its previous traced step (a plain `ip_release` is not a traced step, so
//! between two lines a reference may have gone without its own line).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use kobject::kernel::TraceEvent;
use kobject::PortId;
use serde_json::{json, Value};

use crate::harness::Report;

/// The name of a simulated thread: shuttle's task 0 is the main thread, workers follow in spawn
/// order.
pub fn thread_name(actor: u32) -> String {
    match actor {
        0 => "main".to_string(),
        u32::MAX => "?".to_string(),
        n => format!("worker{}", n - 1),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct Counts {
    srights: u32,
    sorights: u32,
    mscount: u32,
    refs: u32,
}

impl Counts {
    fn of(event: &TraceEvent) -> Counts {
        Counts {
            srights: event.srights,
            sorights: event.sorights,
            mscount: event.mscount,
            refs: event.refs,
        }
    }
}

fn change(before: Option<u32>, after: u32) -> String {
    match before {
        Some(b) if b != after => format!("{b}->{after}"),
        Some(_) => format!("{after}"),
        None => format!("?->{after}"),
    }
}

/// The trace as text, one line per step.
pub fn text(trace: &[TraceEvent], finding: Option<&(u32, Report)>) -> String {
    let mut last: BTreeMap<PortId, Counts> = BTreeMap::new();
    let mut out = String::new();
    for (step, event) in trace.iter().enumerate() {
        let before = last.insert(event.port, Counts::of(event));
        let _ = writeln!(
            out,
            "{step:>5}  {:<8} {:<40} {:<10} srights {:<6} sorights {:<6} mscount {:<6} refs {}",
            thread_name(event.actor),
            event.op,
            event.port.to_string(),
            change(before.map(|c| c.srights), event.srights),
            change(before.map(|c| c.sorights), event.sorights),
            change(before.map(|c| c.mscount), event.mscount),
            change(before.map(|c| c.refs), event.refs),
        );
    }
    if let Some((actor, report)) = finding {
        let _ = writeln!(
            out,
            "{:>5}  {:<8} {report}",
            trace.len(),
            thread_name(*actor)
        );
    }
    out
}

/// The trace as Chrome trace-event JSON: one complete event ("X") per step at `ts = step`, thread
/// names as metadata, and the finding as an instant event ("i") after the last step.
pub fn chrome(trace: &[TraceEvent], finding: Option<&(u32, Report)>) -> Value {
    let mut events: Vec<Value> = Vec::new();
    let mut actors: Vec<u32> = trace.iter().map(|e| e.actor).collect();
    actors.extend(finding.map(|(actor, _)| *actor));
    actors.sort_unstable();
    actors.dedup();
    for actor in actors {
        events.push(json!({
            "name": "thread_name", "ph": "M", "pid": 1, "tid": actor,
            "args": { "name": thread_name(actor) },
        }));
    }
    for (step, e) in trace.iter().enumerate() {
        events.push(json!({
            "name": e.op, "ph": "X", "ts": step, "dur": 1, "pid": 1, "tid": e.actor,
            "args": {
                "port": e.port.to_string(), "srights": e.srights, "sorights": e.sorights,
                "mscount": e.mscount, "refs": e.refs,
            },
        }));
    }
    if let Some((actor, report)) = finding {
        events.push(json!({
            "name": format!("{} [{}]", report.kind, report.invariant),
            "ph": "i", "s": "g", "ts": trace.len(), "pid": 1, "tid": actor,
            "args": { "message": report.message },
        }));
    }
    json!({ "traceEvents": events, "displayTimeUnit": "ns" })
}
