//! The `kobject_lifecycle` input: direct calls of the seed's functions, picked by index among
//! the live things they apply to.

use arbitrary::{Arbitrary, Unstructured};

use crate::codec::{encode_take_rest_vec, encode_variant, take_rest_vec, Encode};
use crate::mig_dispatch::{GenericKind, TaskPortKind, ThreadPortKind};

/// Steps in one input.
pub const LIFECYCLE_ACTIONS_MAX: usize = 48;

/// One direct call (or a short legal sequence of them, as XNU's callers make it).
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LifeAction {
    /// `semaphore_create` / `ipc_voucher_create`.
    CreateLazy {
        voucher: bool,
    },
    /// `convert_*_to_port`: `ipc_kobject_make_send_lazy_alloc_port` with a donated reference.
    Convert {
        object: u8,
    },
    /// The owner's reference goes (`semaphore_destroy`).
    DestroyLazy {
        object: u8,
    },
    /// `ipc_port_copy_send_any` of a held send right.
    CopySend {
        right: u8,
    },
    /// `ipc_port_make_sonce` on the port of a held right (kernel-received ports only).
    MakeSendOnce {
        right: u8,
    },
    /// Drops a held right: `ipc_port_release_send`, or for a send-once right
    /// `ipc_port_release_sonce` (`notify` false) / `ipc_notify_send_once_and_unlock` (true).
    Release {
        right: u8,
        notify: bool,
    },
    /// `ipc_kobject_alloc_subst_once(ipc_port_make_send_any(port))` of a held send right.
    SubstOnce {
        right: u8,
    },
    CreateTask,
    TerminateTask {
        task: u8,
    },
    CreateThread {
        task: u8,
    },
    TerminateThread {
        thread: u8,
    },
    /// `ipc_kobject_make_send` on a task's own port.
    MakeSendTask {
        task: u8,
        which: TaskPortKind,
    },
    MakeSendThread {
        thread: u8,
        which: ThreadPortKind,
    },
    /// `task_suspend2`: a hold and a send-once right to the lazily made resume port.
    Suspend {
        task: u8,
    },
    /// `ipc_kobject_alloc_port` for a generic object, with or without a send right and an
    /// armed notification (which takes a donated object reference).
    CreateGeneric {
        kind: GenericKind,
        make_send: bool,
        nsrequest: bool,
    },
    /// `ipc_kobject_make_send_nsrequest`.
    MakeSendNsrequest {
        generic: u8,
    },
    /// `ipc_kobject_nsrequest` with a make-send count to synchronise with.
    Nsrequest {
        generic: u8,
        sync: u8,
    },
    /// `ipc_kobject_dealloc_port` (where XNU's checks allow it).
    DeallocGeneric {
        generic: u8,
    },
    /// `ipc_kobject_disable` / `ipc_kobject_enable` (unstable types, no armed request).
    DisableGeneric {
        generic: u8,
    },
    EnableGeneric {
        generic: u8,
    },
    /// The owner's reference goes, its port first when nothing else will deallocate it.
    DestroyGeneric {
        generic: u8,
    },
    /// `mk_timer_create` in a task's space (`ipc_kobject_upgrade_mktimer_locked`).
    CreateTimer {
        task: u8,
    },
    /// `mach_port_destroy` of the timer's receive right (`mk_timer_port_destroy`).
    DestroyTimer {
        timer: u8,
    },
    /// `ipc_port_make_send_any` on a timer port.
    MakeSendTimer {
        timer: u8,
    },
}

/// A whole `kobject_lifecycle` input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LifecycleInput {
    pub actions: Vec<LifeAction>,
}

impl<'a> Arbitrary<'a> for LifecycleInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let rest = u.bytes(u.len())?;
        Self::arbitrary_take_rest(Unstructured::new(rest))
    }

    fn arbitrary_take_rest(u: Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(LifecycleInput {
            actions: take_rest_vec(u, LIFECYCLE_ACTIONS_MAX)?,
        })
    }
}

impl LifecycleInput {
    pub fn from_bytes(data: &[u8]) -> LifecycleInput {
        Self::arbitrary_take_rest(Unstructured::new(data))
            .expect("decoding never fails: exhausted bytes read as zeros")
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        encode_take_rest_vec(&self.actions, LIFECYCLE_ACTIONS_MAX)
    }
}

impl Encode for LifeAction {
    fn encode(&self, out: &mut Vec<u8>) {
        const N: u32 = 24;
        match *self {
            LifeAction::CreateLazy { voucher } => {
                encode_variant(out, 0, N);
                voucher.encode(out);
            }
            LifeAction::Convert { object } => {
                encode_variant(out, 1, N);
                object.encode(out);
            }
            LifeAction::DestroyLazy { object } => {
                encode_variant(out, 2, N);
                object.encode(out);
            }
            LifeAction::CopySend { right } => {
                encode_variant(out, 3, N);
                right.encode(out);
            }
            LifeAction::MakeSendOnce { right } => {
                encode_variant(out, 4, N);
                right.encode(out);
            }
            LifeAction::Release { right, notify } => {
                encode_variant(out, 5, N);
                right.encode(out);
                notify.encode(out);
            }
            LifeAction::SubstOnce { right } => {
                encode_variant(out, 6, N);
                right.encode(out);
            }
            LifeAction::CreateTask => encode_variant(out, 7, N),
            LifeAction::TerminateTask { task } => {
                encode_variant(out, 8, N);
                task.encode(out);
            }
            LifeAction::CreateThread { task } => {
                encode_variant(out, 9, N);
                task.encode(out);
            }
            LifeAction::TerminateThread { thread } => {
                encode_variant(out, 10, N);
                thread.encode(out);
            }
            LifeAction::MakeSendTask { task, which } => {
                encode_variant(out, 11, N);
                task.encode(out);
                which.encode(out);
            }
            LifeAction::MakeSendThread { thread, which } => {
                encode_variant(out, 12, N);
                thread.encode(out);
                which.encode(out);
            }
            LifeAction::Suspend { task } => {
                encode_variant(out, 13, N);
                task.encode(out);
            }
            LifeAction::CreateGeneric {
                kind,
                make_send,
                nsrequest,
            } => {
                encode_variant(out, 14, N);
                kind.encode(out);
                make_send.encode(out);
                nsrequest.encode(out);
            }
            LifeAction::MakeSendNsrequest { generic } => {
                encode_variant(out, 15, N);
                generic.encode(out);
            }
            LifeAction::Nsrequest { generic, sync } => {
                encode_variant(out, 16, N);
                generic.encode(out);
                sync.encode(out);
            }
            LifeAction::DeallocGeneric { generic } => {
                encode_variant(out, 17, N);
                generic.encode(out);
            }
            LifeAction::DisableGeneric { generic } => {
                encode_variant(out, 18, N);
                generic.encode(out);
            }
            LifeAction::EnableGeneric { generic } => {
                encode_variant(out, 19, N);
                generic.encode(out);
            }
            LifeAction::DestroyGeneric { generic } => {
                encode_variant(out, 20, N);
                generic.encode(out);
            }
            LifeAction::CreateTimer { task } => {
                encode_variant(out, 21, N);
                task.encode(out);
            }
            LifeAction::DestroyTimer { timer } => {
                encode_variant(out, 22, N);
                timer.encode(out);
            }
            LifeAction::MakeSendTimer { timer } => {
                encode_variant(out, 23, N);
                timer.encode(out);
            }
        }
    }
}
