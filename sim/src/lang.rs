//! The action language: every call a run makes, for every engine.
//!
//! One [`Action`] is one user-level call (`mach_msg` with its id, dispositions and descriptors, a
//! `mach_port_*` call, task and thread life, a kobject port obtained through the kernel) or one
//! kernel path a scenario drives directly (a lazy make-send, a label check and copyout, an owner's
//! terminate, ...). A program is a list of actions; a run is a setup, one program per thread and
//! a schedule (`world.rs` executes actions, `harness.rs` runs programs).
//!
//! The same values come from three places: a scenario's generator draws them from its ChaCha
//! stream, a fuzz target decodes them from bytes (`arbitrary`, with the hand-written [`Encode`]
//! mirror for seeds), and an artifact stores them as JSON. So a finding of any engine replays,
//! shrinks and prints through the one world.
//!
//! Indices (`task`, `thread`, `object`, `held`, ...) pick among what exists, modulo its count, so
//! every value is meaningful whatever ran before; an action with nothing to act on is skipped.

use arbitrary::{Arbitrary, Unstructured};
use serde::{Deserialize, Serialize};

use crate::fuzzing::codec::{bounded_vec, encode_bounded_vec, encode_variant, Encode};

/// Actions in one native (one-thread) program; a longer fuzz input's rest is ignored.
pub const ACTIONS_MAX: usize = 32;
/// Descriptors in one raw message (one more than `IPC_KOBJECT_DESC_MAX`, to reach its refusal).
pub const DESCRIPTORS_MAX: usize = 4;
/// Names in one out-of-line ports descriptor.
pub const OOL_PORTS_MAX: usize = 3;
/// Inline data words in one raw message.
pub const INLINE_WORDS_MAX: usize = 2;

/// A space label a new task gets (`IPC_LABEL_*`).
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Label {
    None,
    Dext,
    Platform,
    Special,
}

impl Label {
    pub fn value(self) -> kobject::mach::IpcLabel {
        use kobject::mach::*;
        match self {
            Label::None => IPC_LABEL_NONE,
            Label::Dext => IPC_LABEL_DEXT,
            Label::Platform => IPC_LABEL_PLATFORM,
            Label::Special => IPC_LABEL_SPECIAL,
        }
    }
}

/// A port name in the acting task's space.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Name {
    /// The i-th most recent name actions gave this task (0 = the latest), modulo their count.
    Recent(u8),
    /// The i-th name actions gave this task, counting from the first, modulo their count.
    Nth(u8),
    /// The i-th name of the space in name order, modulo the space's size.
    Index(u8),
    Null,
    Dead,
    Raw(u32),
    /// The task's reply port (a receive right; made on first use).
    Reply,
    /// A second receive right of the task, for message bodies (made on first use).
    Scratch,
    /// The task's name for the setup's i-th message target (modulo their count).
    Target(u8),
    /// The task's name for the setup's i-th voucher (modulo their count).
    Voucher(u8),
}

/// A task's own ports (`TASK_PORT_*` order).
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskPortKind {
    Control,
    SelfPinned,
    Read,
    Name,
}

/// A thread's own ports (`THREAD_PORT_*` order).
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ThreadPortKind {
    Control,
    SelfPinned,
    Read,
}

/// Permanent kernel objects made at boot in XNU, made here on first use.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PermanentKind {
    Processor,
    Pset,
    PsetName,
    Clock,
    ArcadeRegister,
    MainDevice,
    /// The UX exception handler behind the `exception_raise` routines.
    UxHandler,
}

/// Objects whose kobject port is armed for no-senders when made (the IOKit pattern): the port
/// holds a donated object reference until its no-senders notification deallocates it.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GenericKind {
    IokitObject,
    IokitConnect,
    Eventlink,
    UndReply,
    NamedEntry,
    TaskIdToken,
}

/// Where a kernel-made right comes from.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    TaskPort {
        task: u8,
        which: TaskPortKind,
    },
    ThreadPort {
        thread: u8,
        which: ThreadPortKind,
    },
    Host,
    HostPriv,
    Permanent(PermanentKind),
    NewSemaphore,
    NewVoucher,
    NewLabeledSemaphore(Label),
    /// Another send right on an object made earlier (`convert_*_to_port` again).
    Again {
        object: u8,
    },
    NewGeneric(GenericKind),
    /// `mk_timer_create`: a receive right in the acting task's space.
    Timer,
    /// `task_suspend2`: a send-once right to the task's resume port.
    SuspendToken {
        task: u8,
    },
}

/// How the kernel hands the right over.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Wrap {
    Plain,
    /// Inside an `IKOT_PORT_SUBST_ONCE` wrapper (`ipc_kobject_alloc_subst_once`).
    SubstOnce,
    /// As a send-once right instead of a send right.
    SendOnce,
}

/// A message id: a slot of the real routine table (skips included), or any value.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MsgId {
    Routine(u16),
    Raw(i32),
}

/// The complex bit: set when there are descriptors, or forced either way.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Complex {
    Auto,
    Set,
    Clear,
}

/// A body descriptor; dispositions are raw (any byte, valid or not).
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Desc {
    Port {
        name: Name,
        disposition: u8,
    },
    OolPorts {
        #[arbitrary(with = bounded_vec::<Name, OOL_PORTS_MAX>)]
        names: Vec<Name>,
        disposition: u8,
    },
    Ool {
        size: u32,
    },
}

/// One raw `mach_msg` send; the header dispositions are raw bytes, masked to 5 bits as
/// `MACH_MSGH_BITS_SET` does. For malformed messages; a [`Call`] is the typed send.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendMsg {
    pub task: u8,
    pub dest: Name,
    pub remote: u8,
    pub reply: Name,
    pub local: u8,
    pub voucher: Name,
    pub voucher_disposition: u8,
    pub id: MsgId,
    pub complex: Complex,
    #[arbitrary(with = bounded_vec::<Desc, DESCRIPTORS_MAX>)]
    pub descriptors: Vec<Desc>,
    #[arbitrary(with = bounded_vec::<u32, INLINE_WORDS_MAX>)]
    pub inline_data: Vec<u32>,
}

/// The one thing a typed call gets wrong on purpose, so that the stubs' and copyin's error
/// paths are reached as often as the routines' bodies.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Deviation {
    /// The destination's disposition is this raw byte instead of `COPY_SEND`.
    DestDisposition(u8),
    /// The i-th descriptor (modulo their count) is left out.
    DropDescriptor(u8),
    /// One more port descriptor than the stub expects.
    ExtraDescriptor,
    /// The i-th port descriptor carries this raw disposition.
    ArgDisposition { arg: u8, disposition: u8 },
    /// The i-th port descriptor names `MACH_PORT_DEAD`.
    ArgDead(u8),
    /// The destination is a port of a kind the routine's conversion refuses.
    WrongTarget,
    /// The destination is `MACH_PORT_DEAD`.
    DeadTarget,
    /// No reply port: the kernel's reply is destroyed.
    NoReply,
    /// `MAKE_SEND` of the reply port instead of `MAKE_SEND_ONCE`.
    SendReply,
    /// The destination's own name as reply port (`COPY_SEND`): a kernel port as reply port.
    KernelReply,
    /// The complex bit cleared although the body has descriptors.
    ClearComplex,
    /// The message id is another (target, descriptors, words and reply kept):
    /// [`typed::wrong_id`](crate::typed::wrong_id) picks a notification id or an id no routine
    /// answers, or another routine's id, so the server's unknown-id and notification paths and
    /// the stubs' checks of a body meant for another routine are reached from typed calls too.
    WrongId(u16),
    /// The message carries a voucher: a `COPY_SEND` (even pick) or `MOVE_SEND` (odd) of one of
    /// the task's voucher names, obtained through the kernel when it has none. The server
    /// releases it whether the routine succeeds or fails.
    Voucher(u8),
    /// The reply port is the destination's own name: `ipc_right_copyin_two`'s joint copyin of
    /// one name (two moved sends take two user references, a moved and a copied send one, ...).
    /// Each byte picks a port-right disposition (`MOVE_RECEIVE` ..= `MAKE_SEND_ONCE`, modulo 6);
    /// a `remote` byte of 0x80 or more first adds one user reference to the destination's send
    /// right (0xc0 or more: two; `mach_port_mod_refs`), so that two moved sends can both succeed,
    /// taking the entry's last references or leaving it some.
    JointCopyin { remote: u8, local: u8 },
}

/// A typed `mach_msg` send: a routine of the MIG table, its destination a port of a kind the
/// routine's conversion accepts, its descriptors and dispositions those its stub checks, filled
/// from rights of the kinds its arguments convert (obtained through the kernel when the task has
/// none), its reply port a send-once right made from the task's reply port.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Call {
    pub task: u8,
    /// Index into the table's routines (skips left out), modulo their count.
    pub routine: u16,
    /// The destination; [`Name::Recent`] and the like pick among the names whose kind the
    /// conversion accepts, [`Name::Target`] names a setup's target as it is.
    pub target: Name,
    /// Which interesting inline value the call carries (0: the routine's well-formed words).
    pub word: u8,
    pub deviation: Option<Deviation>,
    /// Receive the reply at once (else a later `receive` gets it, or nobody).
    pub receive: bool,
}

/// One step of a program. `task`, `thread`, `object` and `held` pick among the live ones,
/// modulo their count. The user-level calls come first, then the kernel paths the scenarios
/// drive directly (on rights the thread holds outside any space, its "hand").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    CreateTask(Label),
    TerminateTask {
        task: u8,
    },
    CreateThread {
        task: u8,
    },
    TerminateThread {
        thread: u8,
    },
    /// Copies a kernel-made right out into the task's space (`ipc_object_copyout`).
    GetPort {
        task: u8,
        source: Source,
        wrap: Wrap,
    },
    /// `mach_port_allocate(MACH_PORT_RIGHT_RECEIVE)`.
    AllocatePort {
        task: u8,
    },
    /// `mach_port_insert_right(MAKE_SEND)` on a receive right.
    InsertSend {
        task: u8,
        name: Name,
    },
    Send(SendMsg),
    /// `mach_msg` receive of one message; the names it copies out are remembered.
    Receive {
        task: u8,
        name: Name,
    },
    Deallocate {
        task: u8,
        name: Name,
    },
    ModRefs {
        task: u8,
        name: Name,
        /// Decoded as [`decode_right`]: mostly one of the five `MACH_PORT_RIGHT_*`.
        right: u8,
        /// Decoded as [`decode_delta`]: mostly one of [`MOD_REFS_DELTAS`] (the small deltas and
        /// `ipc_right_delta`'s limits, so a pegged count is one action away), else any `i32`.
        delta: i32,
    },
    DestroyName {
        task: u8,
        name: Name,
    },
    /// The owner of a semaphore, voucher or generic object drops its reference.
    DestroyObject {
        object: u8,
    },
    /// A typed MIG call.
    Call(Call),
    /// Lazy convert of lazily ported object `object` to its port (`convert_semaphore_to_port`
    /// and kin, labeled when the setup says so): a send right into the hand.
    Convert {
        object: u8,
    },
    /// `ipc_kobject_make_send_nsrequest` on object `object`'s published port.
    Rearm {
        object: u8,
    },
    /// Releases held right `held` (a send right, or destroys a send-once right).
    Release {
        held: u8,
    },
    /// `ipc_port_copy_send_any` on a held send right.
    CopySend {
        held: u8,
    },
    /// `ipc_kobject_make_send` on the setup's anchored kobject port `kport`.
    MakeSend {
        kport: u8,
    },
    /// `ipc_port_make_sonce` on a held send right.
    MakeSonce {
        held: u8,
    },
    /// Swaps a held send right into the setup host's stored-right slot, releasing the old one.
    SlotSwap {
        held: u8,
    },
    /// Wraps a copy of a held send right in a subst-once port.
    Wrap {
        held: u8,
    },
    /// Copies a held subst-once right out into the setup task's space through
    /// `ipc_kobject_label_check`.
    LabelCopyout {
        held: u8,
    },
    /// The owner's teardown of the setup's victim (a thread, a task, a user client), once.
    Terminate,
    /// The later reply of the synthetic `MIG_NO_REPLY` routine (`mig_deferred_reply`), sent.
    DeferredReply,
    /// Copies a held send right out into the task's space (`ipc_object_copyout`, through the
    /// label check).
    Stash {
        task: u8,
        held: u8,
    },
    /// `mach_port_allocate` of any right number (receive, port set, dead name, or a bad one).
    AllocateRight {
        task: u8,
        right: u8,
    },
    /// `mach_port_construct` with these `MPO_*` flags (a reply port, a provisional reply port,
    /// an immovable receive right, an inserted send right, ...), queue limit 0.
    Construct {
        task: u8,
        flags: u16,
    },
    /// `mach_port_destruct` with a send-right delta.
    Destruct {
        task: u8,
        name: Name,
        srdelta: i8,
    },
    /// `mach_port_insert_right(task, name, poly, disposition)`, the right taken from the task's
    /// own name `poly`.
    InsertRight {
        task: u8,
        name: Name,
        poly: Name,
        disposition: u8,
    },
    /// `mach_port_extract_right` into the task itself.
    ExtractRight {
        task: u8,
        name: Name,
        disposition: u8,
    },
    GetRefs {
        task: u8,
        name: Name,
        right: u8,
    },
    PortType {
        task: u8,
        name: Name,
    },
    /// `mach_port_insert_member(name, set)`.
    InsertMember {
        task: u8,
        name: Name,
        set: Name,
    },
    /// `mach_port_extract_member(name, set)`.
    ExtractMember {
        task: u8,
        name: Name,
        set: Name,
    },
    /// `mach_port_move_member(member, after)`.
    MoveMember {
        task: u8,
        member: Name,
        after: Name,
    },
    /// `mach_port_request_notification(task, name, id, sync, notify, MAKE_SEND_ONCE)`: the MIG
    /// call to one of the task's control ports, `id` picking the notification
    /// ([`notify_id`]), `notify` a receive right of the task (`Name::Null` cancels); the reply,
    /// with the previous request's send-once right, is received.
    RequestNotification {
        task: u8,
        name: Name,
        id: u8,
        sync: u8,
        notify: Name,
    },
    /// Runs again an earlier action of its program, as written: its names resolve anew
    /// ([`repeated`]). `back` below 0x80 picks one of the four actions just before (0 = the one
    /// just before, `back` modulo 4), any other `back` any earlier action (modulo how many there
    /// are). The same call made twice, mostly with one or two calls between, is how a right is
    /// released twice or a count pegged, so this makes it one mutation away, whatever the call.
    Repeat {
        back: u8,
    },
}

/// The action `program[index]` runs: itself, or for an [`Action::Repeat`] the action it repeats
/// (a repeat of a repeat repeats what that one repeats). `None` for a repeat with nothing before.
pub fn repeated(program: &[Action], index: usize) -> Option<&Action> {
    repeated_index(program, index).map(|i| &program[i])
}

/// The index of the action `program[index]` runs (see [`repeated`]).
pub fn repeated_index(program: &[Action], index: usize) -> Option<usize> {
    let mut index = index;
    loop {
        match program.get(index)? {
            Action::Repeat { back } => {
                if index == 0 {
                    return None;
                }
                let distance = match *back {
                    b @ 0..=0x7f => usize::from(b) % 4,
                    b => usize::from(b),
                };
                index -= 1 + distance % index;
            }
            _ => return Some(index),
        }
    }
}

/// The message id a [`Action::RequestNotification`] asks for: mostly the four kinds
/// `mach_port_request_notification` accepts, now and then two it refuses.
pub fn notify_id(pick: u8) -> i32 {
    use kobject::ipc_notify::*;
    const IDS: [i32; 8] = [
        MACH_NOTIFY_DEAD_NAME,
        MACH_NOTIFY_SEND_POSSIBLE,
        MACH_NOTIFY_NO_SENDERS,
        MACH_NOTIFY_PORT_DESTROYED,
        MACH_NOTIFY_DEAD_NAME,
        MACH_NOTIFY_NO_SENDERS,
        MACH_NOTIFY_PORT_DELETED,
        MACH_NOTIFY_SEND_ONCE,
    ];
    IDS[usize::from(pick) % IDS.len()]
}

/// `Action` variants, for the hand-written decoder.
const ACTION_VARIANTS: u32 = 38;
/// Selector bytes below this decode as a typed [`Call`]: the decoder draws typed calls most of
/// the time, since a random raw message seldom gets past a stub.
const CALL_SELECTORS: u8 = 144;

impl<'a> Arbitrary<'a> for Action {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let selector = u8::arbitrary(u)?;
        if selector < CALL_SELECTORS {
            return Ok(Action::Call(Call::arbitrary(u)?));
        }
        let variant = u32::from(selector - CALL_SELECTORS) % ACTION_VARIANTS;
        Ok(match variant {
            0 => Action::CreateTask(Label::arbitrary(u)?),
            1 => Action::TerminateTask {
                task: u8::arbitrary(u)?,
            },
            2 => Action::CreateThread {
                task: u8::arbitrary(u)?,
            },
            3 => Action::TerminateThread {
                thread: u8::arbitrary(u)?,
            },
            4 => Action::GetPort {
                task: u8::arbitrary(u)?,
                source: Source::arbitrary(u)?,
                wrap: Wrap::arbitrary(u)?,
            },
            5 => Action::AllocatePort {
                task: u8::arbitrary(u)?,
            },
            6 => Action::InsertSend {
                task: u8::arbitrary(u)?,
                name: Name::arbitrary(u)?,
            },
            7 => Action::Send(SendMsg::arbitrary(u)?),
            8 => Action::Receive {
                task: u8::arbitrary(u)?,
                name: Name::arbitrary(u)?,
            },
            9 => Action::Deallocate {
                task: u8::arbitrary(u)?,
                name: Name::arbitrary(u)?,
            },
            10 => Action::ModRefs {
                task: u8::arbitrary(u)?,
                name: Name::arbitrary(u)?,
                right: decode_right(u)?,
                delta: decode_delta(u)?,
            },
            11 => Action::DestroyName {
                task: u8::arbitrary(u)?,
                name: Name::arbitrary(u)?,
            },
            12 => Action::DestroyObject {
                object: u8::arbitrary(u)?,
            },
            13 => Action::Call(Call::arbitrary(u)?),
            14 => Action::Convert {
                object: u8::arbitrary(u)?,
            },
            15 => Action::Rearm {
                object: u8::arbitrary(u)?,
            },
            16 => Action::Release {
                held: u8::arbitrary(u)?,
            },
            17 => Action::CopySend {
                held: u8::arbitrary(u)?,
            },
            18 => Action::MakeSend {
                kport: u8::arbitrary(u)?,
            },
            19 => Action::MakeSonce {
                held: u8::arbitrary(u)?,
            },
            20 => Action::SlotSwap {
                held: u8::arbitrary(u)?,
            },
            21 => Action::Wrap {
                held: u8::arbitrary(u)?,
            },
            22 => Action::LabelCopyout {
                held: u8::arbitrary(u)?,
            },
            23 => Action::Terminate,
            24 => Action::DeferredReply,
            25 => Action::Stash {
                task: u8::arbitrary(u)?,
                held: u8::arbitrary(u)?,
            },
            26 => Action::AllocateRight {
                task: u8::arbitrary(u)?,
                right: u8::arbitrary(u)?,
            },
            27 => Action::Construct {
                task: u8::arbitrary(u)?,
                flags: u16::arbitrary(u)?,
            },
            28 => Action::Destruct {
                task: u8::arbitrary(u)?,
                name: Name::arbitrary(u)?,
                srdelta: i8::arbitrary(u)?,
            },
            29 => Action::InsertRight {
                task: u8::arbitrary(u)?,
                name: Name::arbitrary(u)?,
                poly: Name::arbitrary(u)?,
                disposition: u8::arbitrary(u)?,
            },
            30 => Action::ExtractRight {
                task: u8::arbitrary(u)?,
                name: Name::arbitrary(u)?,
                disposition: u8::arbitrary(u)?,
            },
            31 => Action::GetRefs {
                task: u8::arbitrary(u)?,
                name: Name::arbitrary(u)?,
                right: u8::arbitrary(u)?,
            },
            32 => Action::PortType {
                task: u8::arbitrary(u)?,
                name: Name::arbitrary(u)?,
            },
            33 => Action::InsertMember {
                task: u8::arbitrary(u)?,
                name: Name::arbitrary(u)?,
                set: Name::arbitrary(u)?,
            },
            34 => Action::ExtractMember {
                task: u8::arbitrary(u)?,
                name: Name::arbitrary(u)?,
                set: Name::arbitrary(u)?,
            },
            35 => Action::MoveMember {
                task: u8::arbitrary(u)?,
                member: Name::arbitrary(u)?,
                after: Name::arbitrary(u)?,
            },
            36 => Action::RequestNotification {
                task: u8::arbitrary(u)?,
                name: Name::arbitrary(u)?,
                id: u8::arbitrary(u)?,
                sync: u8::arbitrary(u)?,
                notify: Name::arbitrary(u)?,
            },
            _ => Action::Repeat {
                back: u8::arbitrary(u)?,
            },
        })
    }
}

impl Action {
    /// The action's name in traces and reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::CreateTask(_) => "create-task",
            Action::TerminateTask { .. } => "terminate-task",
            Action::CreateThread { .. } => "create-thread",
            Action::TerminateThread { .. } => "terminate-thread",
            Action::GetPort { .. } => "get-port",
            Action::AllocatePort { .. } => "allocate-port",
            Action::InsertSend { .. } => "insert-send",
            Action::Send(_) => "send",
            Action::Receive { .. } => "receive",
            Action::Deallocate { .. } => "deallocate",
            Action::ModRefs { .. } => "mod-refs",
            Action::DestroyName { .. } => "destroy-name",
            Action::DestroyObject { .. } => "destroy-object",
            Action::Call(_) => "call",
            Action::Convert { .. } => "convert",
            Action::Rearm { .. } => "rearm",
            Action::Release { .. } => "release",
            Action::CopySend { .. } => "copy-send",
            Action::MakeSend { .. } => "make-send",
            Action::MakeSonce { .. } => "make-sonce",
            Action::SlotSwap { .. } => "slot-swap",
            Action::Wrap { .. } => "wrap",
            Action::LabelCopyout { .. } => "label-copyout",
            Action::Terminate => "terminate",
            Action::DeferredReply => "deferred-reply",
            Action::Stash { .. } => "stash",
            Action::AllocateRight { .. } => "allocate-right",
            Action::Construct { .. } => "construct",
            Action::Destruct { .. } => "destruct",
            Action::InsertRight { .. } => "insert-right",
            Action::ExtractRight { .. } => "extract-right",
            Action::GetRefs { .. } => "get-refs",
            Action::PortType { .. } => "port-type",
            Action::InsertMember { .. } => "insert-member",
            Action::ExtractMember { .. } => "extract-member",
            Action::MoveMember { .. } => "move-member",
            Action::RequestNotification { .. } => "request-notification",
            Action::Repeat { .. } => "repeat",
        }
    }

    /// Smaller variants of this action, for the shrinker: fewer descriptors and words, no
    /// deviation, no receive. Each differs from `self`.
    pub fn simpler(&self) -> Vec<Action> {
        let mut out = Vec::new();
        match self {
            Action::Send(m) => {
                for i in 0..m.descriptors.len() {
                    let mut s = m.clone();
                    s.descriptors.remove(i);
                    out.push(Action::Send(s));
                }
                if !m.inline_data.is_empty() {
                    let mut s = m.clone();
                    s.inline_data.clear();
                    out.push(Action::Send(s));
                }
            }
            Action::Call(c) => {
                if c.deviation.is_some() {
                    out.push(Action::Call(Call {
                        deviation: None,
                        ..*c
                    }));
                }
                if c.word != 0 {
                    out.push(Action::Call(Call { word: 0, ..*c }));
                }
                if c.receive {
                    out.push(Action::Call(Call {
                        receive: false,
                        ..*c
                    }));
                }
            }
            _ => {}
        }
        out
    }
}

/// The deltas `mach_port_mod_refs` is worth calling with: the small ones, and the limits
/// `ipc_right_delta` checks (`MACH_PORT_UREFS_MAX` either way, one inside, one past), at
/// which a user reference count pegs or the call is refused.
pub const MOD_REFS_DELTAS: [i32; 12] = {
    let max = kobject::ipc_space::MACH_PORT_UREFS_MAX as i32;
    [
        -1,
        1,
        0,
        -2,
        2,
        max,
        -max,
        max - 1,
        max + 1,
        -(max + 1),
        i32::MIN,
        i32::MAX,
    ]
};

/// A `mod_refs` delta: a byte below 0x80 picks one of [`MOD_REFS_DELTAS`] (modulo their
/// count), any other byte is followed by a raw `i32`.
fn decode_delta(u: &mut Unstructured<'_>) -> arbitrary::Result<i32> {
    let pick = u8::arbitrary(u)?;
    if pick < 0x80 {
        Ok(MOD_REFS_DELTAS[usize::from(pick) % MOD_REFS_DELTAS.len()])
    } else {
        i32::arbitrary(u)
    }
}

/// A `mod_refs` right: a byte below 0x80 picks one of the five `MACH_PORT_RIGHT_*` (modulo 5),
/// any other byte is that raw, invalid right.
fn decode_right(u: &mut Unstructured<'_>) -> arbitrary::Result<u8> {
    let pick = u8::arbitrary(u)?;
    Ok(if pick < 0x80 { pick % 5 } else { pick })
}

/// A byte that [`decode_right`] decodes to `right`; a right it cannot decode to (5 to 0x7f)
/// becomes the invalid 0x80, refused by `mach_port_mod_refs` alike.
fn encode_right(right: u8, out: &mut Vec<u8>) {
    let undecodable = (5..0x80).contains(&right);
    (if undecodable { 0x80 } else { right }).encode(out);
}

/// Bytes that [`decode_delta`] decodes to `delta`.
fn encode_delta(delta: i32, out: &mut Vec<u8>) {
    match MOD_REFS_DELTAS.iter().position(|&d| d == delta) {
        Some(i) => (i as u8).encode(out),
        None => {
            0x80u8.encode(out);
            delta.encode(out);
        }
    }
}

/// Decodes a program of at most `max` actions: actions until the bytes run out.
pub fn decode_program(data: &[u8], max: usize) -> Vec<Action> {
    crate::fuzzing::codec::take_rest_vec(Unstructured::new(data), max)
        .expect("decoding never fails: exhausted bytes read as zeros")
}

/// Bytes that [`decode_program`] decodes to `program`.
pub fn encode_program(program: &[Action], max: usize) -> Vec<u8> {
    crate::fuzzing::codec::encode_take_rest_vec(program, max)
}

// The encoders below mirror the decoders above field by field; `encode_variant`'s second
// argument is the enum's variant count. `decode(encode(x)) == x` is tested for every seed.

macro_rules! encode_unit_enum {
    ($($ty:ty = $count:expr),* $(,)?) => {
        $(impl Encode for $ty {
            fn encode(&self, out: &mut Vec<u8>) {
                encode_variant(out, *self as u32, $count);
            }
        })*
    };
}

encode_unit_enum!(
    Label = 4,
    TaskPortKind = 4,
    ThreadPortKind = 3,
    PermanentKind = 7,
    GenericKind = 6,
    Wrap = 3,
    Complex = 3,
);

impl Encode for Name {
    fn encode(&self, out: &mut Vec<u8>) {
        const N: u32 = 10;
        match *self {
            Name::Recent(i) => {
                encode_variant(out, 0, N);
                i.encode(out);
            }
            Name::Nth(i) => {
                encode_variant(out, 1, N);
                i.encode(out);
            }
            Name::Index(i) => {
                encode_variant(out, 2, N);
                i.encode(out);
            }
            Name::Null => encode_variant(out, 3, N),
            Name::Dead => encode_variant(out, 4, N),
            Name::Raw(n) => {
                encode_variant(out, 5, N);
                n.encode(out);
            }
            Name::Reply => encode_variant(out, 6, N),
            Name::Scratch => encode_variant(out, 7, N),
            Name::Target(i) => {
                encode_variant(out, 8, N);
                i.encode(out);
            }
            Name::Voucher(i) => {
                encode_variant(out, 9, N);
                i.encode(out);
            }
        }
    }
}

impl Encode for Source {
    fn encode(&self, out: &mut Vec<u8>) {
        const N: u32 = 12;
        match *self {
            Source::TaskPort { task, which } => {
                encode_variant(out, 0, N);
                task.encode(out);
                which.encode(out);
            }
            Source::ThreadPort { thread, which } => {
                encode_variant(out, 1, N);
                thread.encode(out);
                which.encode(out);
            }
            Source::Host => encode_variant(out, 2, N),
            Source::HostPriv => encode_variant(out, 3, N),
            Source::Permanent(kind) => {
                encode_variant(out, 4, N);
                kind.encode(out);
            }
            Source::NewSemaphore => encode_variant(out, 5, N),
            Source::NewVoucher => encode_variant(out, 6, N),
            Source::NewLabeledSemaphore(label) => {
                encode_variant(out, 7, N);
                label.encode(out);
            }
            Source::Again { object } => {
                encode_variant(out, 8, N);
                object.encode(out);
            }
            Source::NewGeneric(kind) => {
                encode_variant(out, 9, N);
                kind.encode(out);
            }
            Source::Timer => encode_variant(out, 10, N),
            Source::SuspendToken { task } => {
                encode_variant(out, 11, N);
                task.encode(out);
            }
        }
    }
}

impl Encode for MsgId {
    fn encode(&self, out: &mut Vec<u8>) {
        match *self {
            MsgId::Routine(slot) => {
                encode_variant(out, 0, 2);
                slot.encode(out);
            }
            MsgId::Raw(id) => {
                encode_variant(out, 1, 2);
                id.encode(out);
            }
        }
    }
}

impl Encode for Desc {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Desc::Port { name, disposition } => {
                encode_variant(out, 0, 3);
                name.encode(out);
                disposition.encode(out);
            }
            Desc::OolPorts { names, disposition } => {
                encode_variant(out, 1, 3);
                encode_bounded_vec(names, OOL_PORTS_MAX, out);
                disposition.encode(out);
            }
            Desc::Ool { size } => {
                encode_variant(out, 2, 3);
                size.encode(out);
            }
        }
    }
}

impl Encode for SendMsg {
    fn encode(&self, out: &mut Vec<u8>) {
        self.task.encode(out);
        self.dest.encode(out);
        self.remote.encode(out);
        self.reply.encode(out);
        self.local.encode(out);
        self.voucher.encode(out);
        self.voucher_disposition.encode(out);
        self.id.encode(out);
        self.complex.encode(out);
        encode_bounded_vec(&self.descriptors, DESCRIPTORS_MAX, out);
        encode_bounded_vec(&self.inline_data, INLINE_WORDS_MAX, out);
    }
}

impl Encode for Deviation {
    fn encode(&self, out: &mut Vec<u8>) {
        const N: u32 = 14;
        match *self {
            Deviation::DestDisposition(d) => {
                encode_variant(out, 0, N);
                d.encode(out);
            }
            Deviation::DropDescriptor(i) => {
                encode_variant(out, 1, N);
                i.encode(out);
            }
            Deviation::ExtraDescriptor => encode_variant(out, 2, N),
            Deviation::ArgDisposition { arg, disposition } => {
                encode_variant(out, 3, N);
                arg.encode(out);
                disposition.encode(out);
            }
            Deviation::ArgDead(i) => {
                encode_variant(out, 4, N);
                i.encode(out);
            }
            Deviation::WrongTarget => encode_variant(out, 5, N),
            Deviation::DeadTarget => encode_variant(out, 6, N),
            Deviation::NoReply => encode_variant(out, 7, N),
            Deviation::SendReply => encode_variant(out, 8, N),
            Deviation::KernelReply => encode_variant(out, 9, N),
            Deviation::ClearComplex => encode_variant(out, 10, N),
            Deviation::WrongId(pick) => {
                encode_variant(out, 11, N);
                pick.encode(out);
            }
            Deviation::Voucher(pick) => {
                encode_variant(out, 12, N);
                pick.encode(out);
            }
            Deviation::JointCopyin { remote, local } => {
                encode_variant(out, 13, N);
                remote.encode(out);
                local.encode(out);
            }
        }
    }
}

impl Encode for Call {
    fn encode(&self, out: &mut Vec<u8>) {
        self.task.encode(out);
        self.routine.encode(out);
        self.target.encode(out);
        self.word.encode(out);
        self.deviation.encode(out);
        self.receive.encode(out);
    }
}

/// The selector byte of a non-call variant.
fn selector(out: &mut Vec<u8>, variant: u8) {
    debug_assert!(u32::from(variant) < ACTION_VARIANTS && variant != 13);
    out.push(CALL_SELECTORS + variant);
}

impl Encode for Action {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Action::Call(c) => {
                out.push(0);
                c.encode(out);
            }
            Action::CreateTask(label) => {
                selector(out, 0);
                label.encode(out);
            }
            Action::TerminateTask { task } => {
                selector(out, 1);
                task.encode(out);
            }
            Action::CreateThread { task } => {
                selector(out, 2);
                task.encode(out);
            }
            Action::TerminateThread { thread } => {
                selector(out, 3);
                thread.encode(out);
            }
            Action::GetPort { task, source, wrap } => {
                selector(out, 4);
                task.encode(out);
                source.encode(out);
                wrap.encode(out);
            }
            Action::AllocatePort { task } => {
                selector(out, 5);
                task.encode(out);
            }
            Action::InsertSend { task, name } => {
                selector(out, 6);
                task.encode(out);
                name.encode(out);
            }
            Action::Send(msg) => {
                selector(out, 7);
                msg.encode(out);
            }
            Action::Receive { task, name } => {
                selector(out, 8);
                task.encode(out);
                name.encode(out);
            }
            Action::Deallocate { task, name } => {
                selector(out, 9);
                task.encode(out);
                name.encode(out);
            }
            Action::ModRefs {
                task,
                name,
                right,
                delta,
            } => {
                selector(out, 10);
                task.encode(out);
                name.encode(out);
                encode_right(*right, out);
                encode_delta(*delta, out);
            }
            Action::DestroyName { task, name } => {
                selector(out, 11);
                task.encode(out);
                name.encode(out);
            }
            Action::DestroyObject { object } => {
                selector(out, 12);
                object.encode(out);
            }
            Action::Convert { object } => {
                selector(out, 14);
                object.encode(out);
            }
            Action::Rearm { object } => {
                selector(out, 15);
                object.encode(out);
            }
            Action::Release { held } => {
                selector(out, 16);
                held.encode(out);
            }
            Action::CopySend { held } => {
                selector(out, 17);
                held.encode(out);
            }
            Action::MakeSend { kport } => {
                selector(out, 18);
                kport.encode(out);
            }
            Action::MakeSonce { held } => {
                selector(out, 19);
                held.encode(out);
            }
            Action::SlotSwap { held } => {
                selector(out, 20);
                held.encode(out);
            }
            Action::Wrap { held } => {
                selector(out, 21);
                held.encode(out);
            }
            Action::LabelCopyout { held } => {
                selector(out, 22);
                held.encode(out);
            }
            Action::Terminate => selector(out, 23),
            Action::DeferredReply => selector(out, 24),
            Action::Stash { task, held } => {
                selector(out, 25);
                task.encode(out);
                held.encode(out);
            }
            Action::AllocateRight { task, right } => {
                selector(out, 26);
                task.encode(out);
                right.encode(out);
            }
            Action::Construct { task, flags } => {
                selector(out, 27);
                task.encode(out);
                flags.encode(out);
            }
            Action::Destruct {
                task,
                name,
                srdelta,
            } => {
                selector(out, 28);
                task.encode(out);
                name.encode(out);
                srdelta.encode(out);
            }
            Action::InsertRight {
                task,
                name,
                poly,
                disposition,
            } => {
                selector(out, 29);
                task.encode(out);
                name.encode(out);
                poly.encode(out);
                disposition.encode(out);
            }
            Action::ExtractRight {
                task,
                name,
                disposition,
            } => {
                selector(out, 30);
                task.encode(out);
                name.encode(out);
                disposition.encode(out);
            }
            Action::GetRefs { task, name, right } => {
                selector(out, 31);
                task.encode(out);
                name.encode(out);
                right.encode(out);
            }
            Action::PortType { task, name } => {
                selector(out, 32);
                task.encode(out);
                name.encode(out);
            }
            Action::InsertMember { task, name, set } => {
                selector(out, 33);
                task.encode(out);
                name.encode(out);
                set.encode(out);
            }
            Action::ExtractMember { task, name, set } => {
                selector(out, 34);
                task.encode(out);
                name.encode(out);
                set.encode(out);
            }
            Action::MoveMember {
                task,
                member,
                after,
            } => {
                selector(out, 35);
                task.encode(out);
                member.encode(out);
                after.encode(out);
            }
            Action::RequestNotification {
                task,
                name,
                id,
                sync,
                notify,
            } => {
                selector(out, 36);
                task.encode(out);
                name.encode(out);
                id.encode(out);
                sync.encode(out);
                notify.encode(out);
            }
            Action::Repeat { back } => {
                selector(out, 37);
                back.encode(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repeat names an earlier action modulo how many there are; a repeat of a repeat runs what
    /// that one runs.
    #[test]
    fn a_repeat_resolves_to_an_earlier_action_that_is_not_a_repeat() {
        let program = [
            Action::Terminate,
            Action::DeferredReply,
            Action::Repeat { back: 0 },
            Action::Repeat { back: 6 },
            Action::Repeat { back: 0x85 },
            Action::Repeat { back: 0x7f },
        ];
        assert_eq!(repeated(&program, 0), Some(&Action::Terminate));
        assert_eq!(repeated(&program, 2), Some(&Action::DeferredReply));
        // back 6 is distance 2 (modulo 4): index 0.
        assert_eq!(repeated(&program, 3), Some(&Action::Terminate));
        // back 0x85 (133) modulo the four earlier actions is 1: index 2, which repeats index 1.
        assert_eq!(repeated(&program, 4), Some(&Action::DeferredReply));
        // back 0x7f is distance 3 (modulo 4): index 1.
        assert_eq!(repeated(&program, 5), Some(&Action::DeferredReply));
        assert_eq!(repeated(&[Action::Repeat { back: 1 }], 0), None);
        assert_eq!(repeated(&program, 6), None);
    }

    /// Every variant of `Action` decodes back from its encoding, through JSON too.
    #[test]
    fn every_action_round_trips_through_bytes_and_json() {
        let call = Call {
            task: 1,
            routine: 300,
            target: Name::Target(2),
            word: 3,
            deviation: Some(Deviation::ArgDisposition {
                arg: 1,
                disposition: 20,
            }),
            receive: true,
        };
        let msg = SendMsg {
            task: 0,
            dest: Name::Recent(1),
            remote: 19,
            reply: Name::Reply,
            local: 21,
            voucher: Name::Voucher(0),
            voucher_disposition: 19,
            id: MsgId::Routine(7),
            complex: Complex::Set,
            descriptors: vec![
                Desc::Port {
                    name: Name::Scratch,
                    disposition: 20,
                },
                Desc::OolPorts {
                    names: vec![Name::Dead, Name::Raw(5)],
                    disposition: 17,
                },
                Desc::Ool { size: 64 },
            ],
            inline_data: vec![1, 2],
        };
        let program = vec![
            Action::CreateTask(Label::Platform),
            Action::TerminateTask { task: 1 },
            Action::CreateThread { task: 2 },
            Action::TerminateThread { thread: 3 },
            Action::GetPort {
                task: 0,
                source: Source::SuspendToken { task: 1 },
                wrap: Wrap::SubstOnce,
            },
            Action::AllocatePort { task: 0 },
            Action::InsertSend {
                task: 0,
                name: Name::Index(4),
            },
            Action::Send(msg),
            Action::Receive {
                task: 0,
                name: Name::Nth(2),
            },
            Action::Deallocate {
                task: 0,
                name: Name::Null,
            },
            Action::ModRefs {
                task: 0,
                name: Name::Recent(0),
                right: 1,
                delta: -1,
            },
            Action::DestroyName {
                task: 0,
                name: Name::Recent(0),
            },
            Action::DestroyObject { object: 1 },
            Action::Call(call),
            Action::Convert { object: 0 },
            Action::Rearm { object: 1 },
            Action::Release { held: 2 },
            Action::CopySend { held: 3 },
            Action::MakeSend { kport: 1 },
            Action::MakeSonce { held: 0 },
            Action::SlotSwap { held: 1 },
            Action::Wrap { held: 2 },
            Action::LabelCopyout { held: 3 },
            Action::Terminate,
            Action::DeferredReply,
            Action::Stash { task: 0, held: 1 },
            Action::AllocateRight { task: 0, right: 3 },
            Action::Construct {
                task: 0,
                flags: 0x1000,
            },
            Action::Destruct {
                task: 0,
                name: Name::Recent(0),
                srdelta: -1,
            },
            Action::InsertRight {
                task: 0,
                name: Name::Raw(0x1003),
                poly: Name::Recent(1),
                disposition: 20,
            },
            Action::ExtractRight {
                task: 1,
                name: Name::Nth(0),
                disposition: 17,
            },
            Action::GetRefs {
                task: 0,
                name: Name::Dead,
                right: 4,
            },
            Action::PortType {
                task: 0,
                name: Name::Recent(2),
            },
            Action::InsertMember {
                task: 0,
                name: Name::Recent(0),
                set: Name::Recent(1),
            },
            Action::ExtractMember {
                task: 0,
                name: Name::Recent(0),
                set: Name::Recent(1),
            },
            Action::MoveMember {
                task: 0,
                member: Name::Recent(0),
                after: Name::Null,
            },
            Action::RequestNotification {
                task: 0,
                name: Name::Target(0),
                id: 3,
                sync: 1,
                notify: Name::Scratch,
            },
            Action::Repeat { back: 2 },
        ];
        let kinds: std::collections::BTreeSet<&str> = program.iter().map(Action::kind).collect();
        assert_eq!(kinds.len(), ACTION_VARIANTS as usize);
        let mut program = program;
        program.extend(every_deviation().map(|d| {
            Action::Call(Call {
                deviation: Some(d),
                ..call
            })
        }));
        let bytes = encode_program(&program, program.len());
        assert_eq!(decode_program(&bytes, program.len()), program);
        let json = serde_json::to_string(&program).unwrap();
        let back: Vec<Action> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, program);
    }

    /// One of each `Deviation` variant, in declaration order.
    fn every_deviation() -> impl Iterator<Item = Deviation> {
        let all = [
            Deviation::DestDisposition(17),
            Deviation::DropDescriptor(1),
            Deviation::ExtraDescriptor,
            Deviation::ArgDisposition {
                arg: 0,
                disposition: 18,
            },
            Deviation::ArgDead(2),
            Deviation::WrongTarget,
            Deviation::DeadTarget,
            Deviation::NoReply,
            Deviation::SendReply,
            Deviation::KernelReply,
            Deviation::ClearComplex,
            Deviation::WrongId(513),
            Deviation::Voucher(1),
            Deviation::JointCopyin {
                remote: 17,
                local: 17,
            },
        ];
        // The match fails to compile when a variant is added; the ranks show none is missing.
        let rank = |d: &Deviation| match d {
            Deviation::DestDisposition(_) => 0,
            Deviation::DropDescriptor(_) => 1,
            Deviation::ExtraDescriptor => 2,
            Deviation::ArgDisposition { .. } => 3,
            Deviation::ArgDead(_) => 4,
            Deviation::WrongTarget => 5,
            Deviation::DeadTarget => 6,
            Deviation::NoReply => 7,
            Deviation::SendReply => 8,
            Deviation::KernelReply => 9,
            Deviation::ClearComplex => 10,
            Deviation::WrongId(_) => 11,
            Deviation::Voucher(_) => 12,
            Deviation::JointCopyin { .. } => 13,
        };
        assert!(all.iter().map(rank).eq(0..all.len()));
        all.into_iter()
    }

    /// Every right a byte can decode to encodes back to it.
    #[test]
    fn mod_refs_rights_round_trip() {
        for right in (0..5).chain(0x80..=0xff) {
            let mut bytes = Vec::new();
            encode_right(right, &mut bytes);
            assert_eq!(decode_right(&mut Unstructured::new(&bytes)).unwrap(), right);
        }
    }

    /// A limit delta takes one byte, any other delta five; both decode back.
    #[test]
    fn mod_refs_deltas_round_trip() {
        for delta in MOD_REFS_DELTAS.into_iter().chain([12345, -7, i32::MIN + 1]) {
            let mut bytes = Vec::new();
            encode_delta(delta, &mut bytes);
            let limit = MOD_REFS_DELTAS.contains(&delta);
            assert_eq!(bytes.len(), if limit { 1 } else { 5 }, "{delta}");
            assert_eq!(decode_delta(&mut Unstructured::new(&bytes)).unwrap(), delta);
        }
    }

    #[test]
    fn most_selector_bytes_decode_as_typed_calls() {
        let calls = (0..=255u8)
            .filter(|&b| matches!(decode_program(&[b], 1)[..], [Action::Call(_)]))
            .count();
        assert!(calls > 128, "{calls} of 256");
    }
}
