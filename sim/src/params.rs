//! Scenario parameters: the programs the simulated threads run, drawn from the seed before the
//! shuttle run and stored verbatim in a replay artifact.
//!
//! A step is written `"op arg"` (`"release 1"`) so an artifact stays readable by a person; a
//! `send i` step sends `messages[i]`, a [`MsgSpec`] written out field by field.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Simulated worker threads a scenario may use, at most (the main thread comes on top).
pub const THREADS_MAX: usize = 4;
/// Steps in one worker's program, at most.
pub const STEPS_MAX: usize = 8;
/// Descriptors of one explicitly described message body, at most.
pub const MSG_DESCRIPTORS_MAX: usize = 4;
/// Inline words of one message, at most.
pub const MSG_WORDS_MAX: usize = 4;

/// One model operation a worker can perform (see `world.rs` for what each does).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    /// Lazy convert of object `arg` to its port (`convert_semaphore_to_port` and kin).
    Convert,
    /// `ipc_kobject_make_send_nsrequest` on object `arg`'s published port, donating a reference.
    Rearm,
    /// Releases held right `arg` (a send right, or destroys a send-once right).
    Release,
    /// `ipc_port_copy_send_any` on held send right `arg`.
    CopySend,
    /// `ipc_kobject_make_send` on anchored kobject port `arg`.
    MakeSend,
    /// `ipc_port_make_sonce` on held send right `arg`.
    MakeSonce,
    /// Swaps held send right `arg` into the host's stored-right slot, releasing the old one.
    SlotSwap,
    /// Wraps a copy of held send right `arg` in a subst-once port.
    Wrap,
    /// Copies out held subst-once right `arg` into the task's space (`ipc_kobject_label_check`).
    Copyout,
    /// Terminates the scenario's thread or task (the owner's teardown).
    Terminate,
    /// `mach_msg` send of message `arg` (`Params::messages`) from the worker's own space.
    Send,
    /// `mach_msg` receive on the worker's reply port, up to `1 + arg % 2` messages; what they
    /// carry is deallocated at once.
    Receive,
    /// The later reply of the synthetic `MIG_NO_REPLY` routine (`mig_deferred_reply`), sent.
    DeferredReply,
    /// Copies held send right `arg` out into the worker's own space (`ipc_object_copyout`,
    /// through the label check).
    Stash,
}

impl Op {
    pub const ALL: [Op; 14] = [
        Op::Convert,
        Op::Rearm,
        Op::Release,
        Op::CopySend,
        Op::MakeSend,
        Op::MakeSonce,
        Op::SlotSwap,
        Op::Wrap,
        Op::Copyout,
        Op::Terminate,
        Op::Send,
        Op::Receive,
        Op::DeferredReply,
        Op::Stash,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Op::Convert => "convert",
            Op::Rearm => "rearm",
            Op::Release => "release",
            Op::CopySend => "copy-send",
            Op::MakeSend => "make-send",
            Op::MakeSonce => "make-sonce",
            Op::SlotSwap => "slot-swap",
            Op::Wrap => "wrap",
            Op::Copyout => "copyout",
            Op::Terminate => "terminate",
            Op::Send => "send",
            Op::Receive => "receive",
            Op::DeferredReply => "deferred-reply",
            Op::Stash => "stash",
        }
    }

    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.iter().copied().find(|op| op.name() == name)
    }
}

/// One step of a worker's program: an operation and the index it picks with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Step {
    pub op: Op,
    pub arg: u32,
}

impl Step {
    pub fn new(op: Op, arg: u32) -> Step {
        Step { op, arg }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op.name(), self.arg)
    }
}

impl From<Step> for String {
    fn from(step: Step) -> String {
        step.to_string()
    }
}

impl TryFrom<String> for Step {
    type Error = String;

    fn try_from(text: String) -> Result<Step, String> {
        let (op, arg) = text
            .split_once(' ')
            .ok_or_else(|| format!("step {text:?} is not \"op arg\""))?;
        let op = Op::from_name(op).ok_or_else(|| format!("unknown operation {op:?}"))?;
        let arg = arg
            .parse::<u32>()
            .map_err(|e| format!("step {text:?}: argument: {e}"))?;
        Ok(Step { op, arg })
    }
}

/// A user disposition (`MACH_MSG_TYPE_*`), written by name. Receive rights never travel in the
/// simulator's messages: a receive right queued on its own port (or in a cycle of ports) is never
/// collected, in XNU as in the model, so it would read as a leak at teardown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Disp {
    MoveSend,
    CopySend,
    MakeSend,
    MoveSendOnce,
    MakeSendOnce,
}

impl Disp {
    pub const ALL: [Disp; 5] = [
        Disp::MoveSend,
        Disp::CopySend,
        Disp::MakeSend,
        Disp::MoveSendOnce,
        Disp::MakeSendOnce,
    ];

    /// The `MACH_MSG_TYPE_*` value.
    pub fn value(self) -> u32 {
        use kobject::mach::*;
        match self {
            Disp::MoveSend => MACH_MSG_TYPE_MOVE_SEND,
            Disp::CopySend => MACH_MSG_TYPE_COPY_SEND,
            Disp::MakeSend => MACH_MSG_TYPE_MAKE_SEND,
            Disp::MoveSendOnce => MACH_MSG_TYPE_MOVE_SEND_ONCE,
            Disp::MakeSendOnce => MACH_MSG_TYPE_MAKE_SEND_ONCE,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Disp::MoveSend => "move-send",
            Disp::CopySend => "copy-send",
            Disp::MakeSend => "make-send",
            Disp::MoveSendOnce => "move-send-once",
            Disp::MakeSendOnce => "make-send-once",
        }
    }
}

/// What a message names as its reply port (`msgh_local_port`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplyTo {
    /// No reply port: a kernel reply is destroyed.
    None,
    /// `MAKE_SEND_ONCE` of the worker's reply port (what MIG does).
    SendOnce,
    /// `MAKE_SEND` of the worker's reply port.
    Send,
    /// `COPY_SEND` of the destination's own name: a kernel port as reply port.
    Kernel,
}

/// What a descriptor carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DescKind {
    Port,
    OolPorts,
    /// Out-of-line memory.
    Ool,
}

/// Which of the sender's names a port descriptor names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A port the worker receives, made for message bodies.
    Scratch,
    /// The worker's reply port.
    Reply,
    /// The message's own destination name.
    Dest,
    /// The worker's send right to the world's voucher (when it has one).
    Voucher,
    /// `MACH_PORT_NULL`.
    Null,
    /// `MACH_PORT_DEAD`.
    Dead,
}

/// One descriptor of an explicitly described body, written `"port scratch make-send"`,
/// `"ool-ports reply make-send-once"` or `"ool"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct DescSpec {
    pub kind: DescKind,
    pub source: Source,
    pub disp: Disp,
}

const DESC_KINDS: [(DescKind, &str); 3] = [
    (DescKind::Port, "port"),
    (DescKind::OolPorts, "ool-ports"),
    (DescKind::Ool, "ool"),
];
const SOURCES: [(Source, &str); 6] = [
    (Source::Scratch, "scratch"),
    (Source::Reply, "reply"),
    (Source::Dest, "dest"),
    (Source::Voucher, "voucher"),
    (Source::Null, "null"),
    (Source::Dead, "dead"),
];

impl fmt::Display for DescSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = DESC_KINDS.iter().find(|k| k.0 == self.kind).map(|k| k.1);
        let source = SOURCES.iter().find(|s| s.0 == self.source).map(|s| s.1);
        match self.kind {
            DescKind::Ool => write!(f, "ool"),
            _ => write!(
                f,
                "{} {} {}",
                kind.unwrap_or("?"),
                source.unwrap_or("?"),
                self.disp.name()
            ),
        }
    }
}

impl From<DescSpec> for String {
    fn from(d: DescSpec) -> String {
        d.to_string()
    }
}

impl TryFrom<String> for DescSpec {
    type Error = String;

    fn try_from(text: String) -> Result<DescSpec, String> {
        let words: Vec<&str> = text.split(' ').collect();
        let kind = DESC_KINDS
            .iter()
            .find(|k| k.1 == words[0])
            .map(|k| k.0)
            .ok_or_else(|| format!("descriptor {text:?}: unknown kind"))?;
        if kind == DescKind::Ool {
            return match words.len() {
                1 => Ok(DescSpec {
                    kind,
                    source: Source::Null,
                    disp: Disp::CopySend,
                }),
                _ => Err(format!("descriptor {text:?}: \"ool\" takes no arguments")),
            };
        }
        let [_, source, disp] = words[..] else {
            return Err(format!(
                "descriptor {text:?} is not \"kind source disposition\""
            ));
        };
        let source = SOURCES
            .iter()
            .find(|s| s.1 == source)
            .map(|s| s.0)
            .ok_or_else(|| format!("descriptor {text:?}: unknown source"))?;
        let disp = Disp::ALL
            .iter()
            .copied()
            .find(|d| d.name() == disp)
            .ok_or_else(|| format!("descriptor {text:?}: unknown disposition"))?;
        Ok(DescSpec { kind, source, disp })
    }
}

/// One message a `send` step sends: where, which id, which rights, which body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MsgSpec {
    /// Index into the world's message targets (kobject ports, then the workers' reply ports).
    pub target: u32,
    /// `msgh_id`.
    pub id: i32,
    /// The routine `id` names, for a reader ("" for an id the table lacks); not used.
    #[serde(default)]
    pub routine: String,
    /// The destination's disposition.
    pub dest: Disp,
    pub reply: ReplyTo,
    /// Inline words (`mig_well_formed_words`, or a failure / alternative selector).
    #[serde(default)]
    pub words: Vec<u32>,
    /// The body the routine's stub expects, built from the table at run time (then
    /// `descriptors` is empty).
    pub mig_body: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub descriptors: Vec<DescSpec>,
}

/// Everything a scenario run depends on besides the schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// One program per simulated worker thread.
    pub programs: Vec<Vec<Step>>,
    /// Scenario settings by name (`"kind"`: 0 semaphore, 1 voucher; `"labeled"`; ...).
    pub knobs: BTreeMap<String, u32>,
    /// The messages `send` steps send.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<MsgSpec>,
}

impl Params {
    pub fn new() -> Params {
        Params {
            programs: Vec::new(),
            knobs: BTreeMap::new(),
            messages: Vec::new(),
        }
    }

    pub fn knob(&self, name: &str) -> u32 {
        self.knobs.get(name).copied().unwrap_or(0)
    }

    pub fn threads(&self) -> usize {
        self.programs.len()
    }

    /// Checks the bounds every scenario relies on (a hand-edited artifact may break them).
    pub fn validate(&self, threads_max: usize) -> Result<(), String> {
        let threads = self.programs.len();
        if !(2..=threads_max.min(THREADS_MAX)).contains(&threads) {
            return Err(format!(
                "{threads} worker programs; this scenario runs 2 to {threads_max}"
            ));
        }
        if let Some(long) = self.programs.iter().find(|p| p.len() > STEPS_MAX) {
            return Err(format!(
                "a program of {} steps (at most {STEPS_MAX})",
                long.len()
            ));
        }
        let sends = self.programs.iter().flatten().filter(|s| s.op == Op::Send);
        if let Some(bad) = sends
            .clone()
            .find(|s| s.arg as usize >= self.messages.len())
        {
            return Err(format!(
                "step \"{bad}\" names one of {} messages",
                self.messages.len()
            ));
        }
        for (i, m) in self.messages.iter().enumerate() {
            if m.descriptors.len() > MSG_DESCRIPTORS_MAX || m.words.len() > MSG_WORDS_MAX {
                return Err(format!("message {i}: too many descriptors or words"));
            }
            if m.mig_body && !m.descriptors.is_empty() {
                return Err(format!("message {i}: mig_body with descriptors"));
            }
        }
        Ok(())
    }
}

impl Default for Params {
    fn default() -> Params {
        Params::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_round_trips_through_its_text() {
        for op in Op::ALL {
            let step = Step::new(op, 3);
            let text: String = step.into();
            assert_eq!(Step::try_from(text).unwrap(), step);
        }
        assert!(Step::try_from("fly 1".to_string()).is_err());
        assert!(Step::try_from("release".to_string()).is_err());
        assert!(Step::try_from("release -1".to_string()).is_err());
    }

    #[test]
    fn descriptor_round_trips_through_its_text() {
        for text in [
            "port scratch make-send",
            "ool-ports reply make-send-once",
            "ool",
        ] {
            let d = DescSpec::try_from(text.to_string()).unwrap();
            assert_eq!(String::from(d), text);
        }
        for bad in [
            "ool 1",
            "port scratch",
            "port nowhere copy-send",
            "pipe dest copy-send",
        ] {
            assert!(DescSpec::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }

    #[test]
    fn validate_bounds_threads_and_steps() {
        let mut p = Params::new();
        p.programs = vec![vec![Step::new(Op::Release, 0)]; 2];
        assert!(p.validate(4).is_ok());
        p.programs.push(vec![]);
        assert!(p.validate(2).is_err());
        p.programs = vec![vec![Step::new(Op::Release, 0); STEPS_MAX + 1]; 2];
        assert!(p.validate(4).is_err());
    }
}
