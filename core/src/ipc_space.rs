//! IPC spaces: osfmk/ipc/ipc_space.c and the entry table of osfmk/ipc/ipc_entry.c
//! (xnu-11215.1.10), reduced to what copyin, copyout and the label checks need.

use std::collections::BTreeMap;

use crate::ipc_port::PortId;
use crate::kernel::{Kernel, ObjId, SpaceId, IPC_SPACE_KERNEL, IPC_SPACE_REPLY};
use crate::mach::*;
use crate::sync::{Mutex, MutexGuard, Platform};

/// Right bits of an entry (`IE_BITS_SEND`, ...).
pub const IE_BITS_SEND: u32 = 0x0001_0000;
pub const IE_BITS_RECEIVE: u32 = 0x0002_0000;
pub const IE_BITS_SEND_ONCE: u32 = 0x0004_0000;
pub const IE_BITS_DEAD_NAME: u32 = 0x0010_0000;
/// User references live in the low 16 bits (`IE_BITS_UREFS_MASK`); at most `MACH_PORT_UREFS_MAX`.
pub const MACH_PORT_UREFS_MAX: u32 = 0xfffe;

/// `struct ipc_entry`: one name in a space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpcEntry {
    /// The port; `None` for a dead name.
    pub ie_object: Option<PortId>,
    /// Right bits (`IE_BITS_*`).
    pub ie_bits: u32,
    /// User references of the send or dead-name right.
    pub urefs: u32,
}

/// Fields `is_write_lock` protects.
#[derive(Debug)]
pub struct SpaceLocked {
    pub is_active: bool,
    pub is_label: IpcLabel,
    /// The task whose space this is (`is_task`).
    pub is_task: Option<ObjId>,
    pub is_table: BTreeMap<MachPortName, IpcEntry>,
    pub(crate) next_name: MachPortName,
}

impl SpaceLocked {
    fn fresh() -> SpaceLocked {
        SpaceLocked {
            is_active: false,
            is_label: IPC_LABEL_NONE,
            is_task: None,
            is_table: BTreeMap::new(),
            next_name: 0x103,
        }
    }
}

/// `struct ipc_space`.
pub struct IpcSpace {
    pub(crate) lock: Mutex<SpaceLocked>,
}

impl IpcSpace {
    pub(crate) fn new(platform: Platform) -> IpcSpace {
        IpcSpace {
            lock: Mutex::new(platform, SpaceLocked::fresh()),
        }
    }
}

/// The held space lock (`is_write_lock`).
pub struct SpaceGuard<'k> {
    pub id: SpaceId,
    pub(crate) state: MutexGuard<'k, SpaceLocked>,
}

impl std::ops::Deref for SpaceGuard<'_> {
    type Target = SpaceLocked;
    fn deref(&self) -> &SpaceLocked {
        &self.state
    }
}

impl std::ops::DerefMut for SpaceGuard<'_> {
    fn deref_mut(&mut self) -> &mut SpaceLocked {
        &mut self.state
    }
}

impl Kernel {
    /// Makes `ipc_space_kernel` and `ipc_space_reply` (`ipc_space_create_special`): label
    /// `IPC_LABEL_SPECIAL`, no task.
    pub(crate) fn boot_special_spaces(&self) {
        for expected in [IPC_SPACE_KERNEL, IPC_SPACE_REPLY] {
            let space = self.ipc_space_create_labeled(IPC_LABEL_SPECIAL, None);
            assert_eq!(
                space,
                Some(expected),
                "special spaces must be the first two"
            );
        }
    }

    /// Models `ipc_space_create` with a label and its task; `None` when the space arena is full.
    pub fn ipc_space_create_labeled(
        &self,
        label: IpcLabel,
        task: Option<ObjId>,
    ) -> Option<SpaceId> {
        let (h, space) = self.spaces.alloc()?;
        let mut s = space.lock.lock();
        *s = SpaceLocked::fresh();
        s.is_active = true;
        s.is_label = label;
        s.is_task = task;
        Some(SpaceId(h))
    }

    /// `is_write_lock`.
    pub fn is_write_lock(&self, space: SpaceId) -> SpaceGuard<'_> {
        let Ok(s) = self.spaces.get(space.0) else {
            crate::outcome::Finding::use_after_free(format!("{space:?} used after it was freed"))
                .raise()
        };
        SpaceGuard {
            id: space,
            state: s.lock.lock(),
        }
    }

    /// `is_write_unlock`.
    pub fn is_write_unlock(&self, guard: SpaceGuard<'_>) {
        drop(guard);
    }
}
