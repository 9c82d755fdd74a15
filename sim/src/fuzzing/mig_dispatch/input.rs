//! The `mig_dispatch` input: a bounded sequence of user-level actions, decoded by `arbitrary` and
//! encoded by hand (see `codec.rs`).

use arbitrary::{Arbitrary, Unstructured};

use crate::fuzzing::codec::{
    bounded_vec, encode_bounded_vec, encode_take_rest_vec, encode_variant, take_rest_vec, Encode,
};

/// Actions in one input; the rest of a longer input is ignored.
pub const ACTIONS_MAX: usize = 32;
/// Descriptors in one message (one more than `IPC_KOBJECT_DESC_MAX`, to reach its refusal).
pub const DESCRIPTORS_MAX: usize = 4;
/// Names in one out-of-line ports descriptor.
pub const OOL_PORTS_MAX: usize = 3;
/// Inline data words in one message.
pub const INLINE_WORDS_MAX: usize = 2;

/// A space label a new task gets (`IPC_LABEL_*`).
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
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
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
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
}

/// A task's own ports (`TASK_PORT_*` order).
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskPortKind {
    Control,
    SelfPinned,
    Read,
    Name,
}

/// A thread's own ports (`THREAD_PORT_*` order).
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadPortKind {
    Control,
    SelfPinned,
    Read,
}

/// Permanent kernel objects made at boot in XNU, made here on first use.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PermanentKind {
    Processor,
    Pset,
    PsetName,
    Clock,
    ArcadeRegister,
    MainDevice,
}

/// Objects whose kobject port is armed for no-senders when made (the IOKit pattern): the port
/// holds a donated object reference until its no-senders notification deallocates it.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenericKind {
    IokitObject,
    IokitConnect,
    Eventlink,
    UndReply,
    NamedEntry,
    TaskIdToken,
}

/// Where a kernel-made right comes from.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
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
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wrap {
    Plain,
    /// Inside an `IKOT_PORT_SUBST_ONCE` wrapper (`ipc_kobject_alloc_subst_once`).
    SubstOnce,
    /// As a send-once right instead of a send right.
    SendOnce,
}

/// A message id: a slot of the real routine table (skips included), or any value.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsgId {
    Routine(u16),
    Raw(i32),
}

/// The complex bit: set when there are descriptors, or forced either way.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Complex {
    Auto,
    Set,
    Clear,
}

/// A body descriptor; dispositions are raw (any byte, valid or not).
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
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

/// One `mach_msg` send; the header dispositions are raw bytes, masked to 5 bits as
/// `MACH_MSGH_BITS_SET` does.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
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

/// One step of a `mig_dispatch` run. `task`, `thread` and `object` pick among the live ones,
/// modulo their count.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
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
        right: u8,
        delta: i8,
    },
    DestroyName {
        task: u8,
        name: Name,
    },
    /// The owner of a semaphore, voucher or generic object drops its reference.
    DestroyObject {
        object: u8,
    },
}

/// A whole `mig_dispatch` input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MigDispatchInput {
    pub actions: Vec<Action>,
}

impl<'a> Arbitrary<'a> for MigDispatchInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let rest = u.bytes(u.len())?;
        Self::arbitrary_take_rest(Unstructured::new(rest))
    }

    fn arbitrary_take_rest(u: Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(MigDispatchInput {
            actions: take_rest_vec(u, ACTIONS_MAX)?,
        })
    }
}

impl MigDispatchInput {
    /// Decodes bytes exactly as the fuzz target does.
    pub fn from_bytes(data: &[u8]) -> MigDispatchInput {
        Self::arbitrary_take_rest(Unstructured::new(data))
            .expect("decoding never fails: exhausted bytes read as zeros")
    }

    /// Bytes that decode to this input.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_take_rest_vec(&self.actions, ACTIONS_MAX)
    }
}

// The encoders below mirror the derives above field by field; `encode_variant`'s second argument
// is the enum's variant count. `decode(encode(x)) == x` is tested for every seed.

impl Encode for Label {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_variant(out, *self as u32, 4);
    }
}

impl Encode for Name {
    fn encode(&self, out: &mut Vec<u8>) {
        match *self {
            Name::Recent(i) => {
                encode_variant(out, 0, 6);
                i.encode(out);
            }
            Name::Nth(i) => {
                encode_variant(out, 1, 6);
                i.encode(out);
            }
            Name::Index(i) => {
                encode_variant(out, 2, 6);
                i.encode(out);
            }
            Name::Null => encode_variant(out, 3, 6),
            Name::Dead => encode_variant(out, 4, 6),
            Name::Raw(n) => {
                encode_variant(out, 5, 6);
                n.encode(out);
            }
        }
    }
}

impl Encode for TaskPortKind {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_variant(out, *self as u32, 4);
    }
}

impl Encode for ThreadPortKind {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_variant(out, *self as u32, 3);
    }
}

impl Encode for PermanentKind {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_variant(out, *self as u32, 6);
    }
}

impl Encode for GenericKind {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_variant(out, *self as u32, 6);
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

impl Encode for Wrap {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_variant(out, *self as u32, 3);
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

impl Encode for Complex {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_variant(out, *self as u32, 3);
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

impl Encode for Action {
    fn encode(&self, out: &mut Vec<u8>) {
        const N: u32 = 13;
        match self {
            Action::CreateTask(label) => {
                encode_variant(out, 0, N);
                label.encode(out);
            }
            Action::TerminateTask { task } => {
                encode_variant(out, 1, N);
                task.encode(out);
            }
            Action::CreateThread { task } => {
                encode_variant(out, 2, N);
                task.encode(out);
            }
            Action::TerminateThread { thread } => {
                encode_variant(out, 3, N);
                thread.encode(out);
            }
            Action::GetPort { task, source, wrap } => {
                encode_variant(out, 4, N);
                task.encode(out);
                source.encode(out);
                wrap.encode(out);
            }
            Action::AllocatePort { task } => {
                encode_variant(out, 5, N);
                task.encode(out);
            }
            Action::InsertSend { task, name } => {
                encode_variant(out, 6, N);
                task.encode(out);
                name.encode(out);
            }
            Action::Send(msg) => {
                encode_variant(out, 7, N);
                msg.encode(out);
            }
            Action::Receive { task, name } => {
                encode_variant(out, 8, N);
                task.encode(out);
                name.encode(out);
            }
            Action::Deallocate { task, name } => {
                encode_variant(out, 9, N);
                task.encode(out);
                name.encode(out);
            }
            Action::ModRefs {
                task,
                name,
                right,
                delta,
            } => {
                encode_variant(out, 10, N);
                task.encode(out);
                name.encode(out);
                right.encode(out);
                delta.encode(out);
            }
            Action::DestroyName { task, name } => {
                encode_variant(out, 11, N);
                task.encode(out);
                name.encode(out);
            }
            Action::DestroyObject { object } => {
                encode_variant(out, 12, N);
                object.encode(out);
            }
        }
    }
}
