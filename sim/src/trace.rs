//! Presenting a run: an IPC-level timeline (each action with its thread, call, message id and
//! routine, dispositions and return, and under it the port events it caused), or Chrome
//! trace-event JSON that Perfetto (ui.perfetto.dev) and chrome://tracing open as one track per
//! thread, the actions as spans with their port events inside.
//!
//! The kernel records each step's counts after it; the "before" counts printed here are the
//! port's counts after its previous traced step (a plain `ip_release` is not a traced step, so
//! between two lines a reference may have gone without its own line).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use kobject::ikot::ikot_name;
use kobject::kernel::TraceEvent;
use kobject::PortId;
use serde_json::{json, Value};

use crate::harness::{Outcome, Span};
use crate::lang::{Action, Deviation};
use crate::typed;
use crate::world::msgh_id;

/// The name of a simulated thread: shuttle's task 0 is the main thread, the program threads
/// follow in spawn order (a native run's one thread is `thread0`).
pub fn thread_name(actor: u32) -> String {
    match actor {
        0 => "main".to_string(),
        u32::MAX => "?".to_string(),
        n => format!("thread{}", n - 1),
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

fn event_line(event: &TraceEvent, before: Option<Counts>) -> String {
    format!(
        "{:<40} {:<10} {:<22} srights {:<6} sorights {:<6} mscount {:<6} refs {}",
        event.op,
        event.port.to_string(),
        ikot_name(event.kotype),
        change(before.map(|c| c.srights), event.srights),
        change(before.map(|c| c.sorights), event.sorights),
        change(before.map(|c| c.mscount), event.mscount),
        change(before.map(|c| c.refs), event.refs),
    )
}

/// One line naming an action as a user program would: the call, its message id and routine, its
/// dispositions.
pub fn describe(action: &Action) -> String {
    match action {
        Action::Call(c) => {
            let desc = typed::call_routine(c.routine);
            let deviation = match c.deviation {
                None => String::new(),
                Some(Deviation::DestDisposition(d)) => format!(", destination disposition {d}"),
                Some(Deviation::WrongId(pick)) => {
                    let id = typed::wrong_id(c.routine, pick);
                    let routine = typed::routine(id).map_or("no routine", |d| d.name);
                    format!(", sent as id {id} ({routine})")
                }
                Some(d) => format!(", {d:?}"),
            };
            format!(
                "call {} (id {}) to {:?}, copy-send, reply make-send-once, word {}{deviation}{}",
                desc.name,
                desc.msgh_id,
                c.target,
                c.word,
                if c.receive { ", receive" } else { "" }
            )
        }
        Action::Send(m) => {
            let id = msgh_id(m.id);
            let routine = typed::routine(id).map_or("no routine", |d| d.name);
            format!(
                "send id {id} ({routine}) to {:?} disposition {}, reply {:?} disposition {}, {} descriptors",
                m.dest,
                m.remote,
                m.reply,
                m.local,
                m.descriptors.len()
            )
        }
        other => format!("{other:?}"),
    }
}

/// [`describe`] of the action a span ran, marked when a repeat ran it.
pub fn span_text(span: &Span) -> String {
    match span.repeat_of {
        Some(i) => format!("repeat of #{i}: {}", describe(&span.action)),
        None => describe(&span.action),
    }
}

/// What an action returned, as the timeline prints it.
pub fn outcome_text(span: &Span) -> String {
    match &span.outcome {
        Some(outcome) => format!("{outcome:?}"),
        None => "(interrupted by the finding)".to_string(),
    }
}

/// The model function a finding was raised in: the last traced step of the thread that raised it.
pub fn raising_function(outcome: &Outcome) -> Option<&'static str> {
    let (actor, _) = outcome.finding.as_ref()?;
    outcome
        .trace
        .iter()
        .rev()
        .find(|e| e.actor == *actor)
        .map(|e| e.op)
}

/// The run as an IPC-level timeline: each action, then the port events it caused; events no
/// action caused (setup, teardown) stand on their own.
pub fn text(outcome: &Outcome) -> String {
    let mut last: BTreeMap<PortId, Counts> = BTreeMap::new();
    let mut out = String::new();
    let mut owner: Vec<Option<usize>> = vec![None; outcome.trace.len()];
    for (s, span) in outcome.spans.iter().enumerate() {
        for (e, slot) in owner.iter_mut().enumerate().take(span.end).skip(span.start) {
            if outcome.trace[e].actor == span.actor {
                *slot = Some(s);
            }
        }
    }
    let mut printed = vec![false; outcome.spans.len()];
    let span_line = |out: &mut String, s: usize| {
        let span: &Span = &outcome.spans[s];
        let _ = writeln!(
            out,
            "{:<8} #{}.{:<3} {}\n{:<8}        -> {}",
            thread_name(span.actor),
            span.program,
            span.index,
            span_text(span),
            "",
            outcome_text(span)
        );
    };
    for (step, event) in outcome.trace.iter().enumerate() {
        if let Some(s) = owner[step] {
            if !printed[s] {
                printed[s] = true;
                span_line(&mut out, s);
            }
        }
        let before = last.insert(event.port, Counts::of(event));
        let indent = if owner[step].is_some() { "    " } else { "" };
        let _ = writeln!(
            out,
            "{indent}{step:>5}  {:<8} {}",
            thread_name(event.actor),
            event_line(event, before)
        );
    }
    for (s, done) in printed.iter().enumerate() {
        if !done {
            span_line(&mut out, s);
        }
    }
    if let Some((actor, report)) = &outcome.finding {
        let function = raising_function(outcome).unwrap_or("?");
        let _ = writeln!(
            out,
            "FINDING  {} {report}\n         (last model function on that thread: {function})",
            thread_name(*actor)
        );
    }
    out
}

/// The run as Chrome trace-event JSON: one track per thread, each action a span ("X") from its
/// first to its last event, each port event a one-unit span inside it (`ts` is the event's step),
/// thread names as metadata, and the finding as an instant event ("i") after the last step.
pub fn chrome(outcome: &Outcome) -> Value {
    let (trace, finding) = (&outcome.trace, outcome.finding.as_ref());
    let mut events: Vec<Value> = Vec::new();
    let mut actors: Vec<u32> = trace.iter().map(|e| e.actor).collect();
    actors.extend(outcome.spans.iter().map(|s| s.actor));
    actors.extend(finding.map(|(actor, _)| *actor));
    actors.sort_unstable();
    actors.dedup();
    for actor in actors {
        events.push(json!({
            "name": "thread_name", "ph": "M", "pid": 1, "tid": actor,
            "args": { "name": thread_name(actor) },
        }));
    }
    for span in &outcome.spans {
        events.push(json!({
            "name": span_text(span), "ph": "X", "ts": span.start,
            "dur": (span.end - span.start).max(1), "pid": 1, "tid": span.actor,
            "args": { "program": span.program, "index": span.index, "outcome": outcome_text(span) },
        }));
    }
    for (step, e) in trace.iter().enumerate() {
        events.push(json!({
            "name": e.op, "ph": "X", "ts": step, "dur": 1, "pid": 1, "tid": e.actor,
            "args": {
                "port": e.port.to_string(), "kotype": ikot_name(e.kotype),
                "srights": e.srights, "sorights": e.sorights,
                "mscount": e.mscount, "refs": e.refs,
            },
        }));
    }
    if let Some((actor, report)) = finding {
        events.push(json!({
            "name": format!("{} [{}]", report.kind, report.invariant),
            "ph": "i", "s": "g", "ts": trace.len(), "pid": 1, "tid": actor,
            "args": { "message": report.message, "function": raising_function(outcome) },
        }));
    }
    json!({ "traceEvents": events, "displayTimeUnit": "ns" })
}
