//! IPC spaces: osfmk/ipc/ipc_space.c and the entry table of osfmk/ipc/ipc_entry.c
//! (xnu-11215.1.10), reduced to what copyin, copyout and the label checks need.

use std::collections::{BTreeMap, BTreeSet};

use crate::ipc_port::PortId;
use crate::kernel::{Kernel, ObjId, SpaceId, IPC_SPACE_KERNEL, IPC_SPACE_REPLY};
use crate::mach::*;
use crate::sync::{Mutex, MutexGuard, Platform};

/// Right bits of an entry (`IE_BITS_SEND`, ...).
pub const IE_BITS_SEND: u32 = 0x0001_0000;
pub const IE_BITS_RECEIVE: u32 = 0x0002_0000;
pub const IE_BITS_SEND_ONCE: u32 = 0x0004_0000;
pub const IE_BITS_PORT_SET: u32 = 0x0008_0000;
pub const IE_BITS_DEAD_NAME: u32 = 0x0010_0000;
/// The type bits of an entry (`IE_BITS_TYPE_MASK`): its `mach_port_type_t`.
pub const IE_BITS_TYPE_MASK: u32 = 0x001f_0000;
/// User references live in the low 16 bits (`IE_BITS_UREFS_MASK`); at most `MACH_PORT_UREFS_MAX`.
pub const MACH_PORT_UREFS_MAX: u32 = 0xfffe;

/// `mach_port_type_t` values: an entry's type bits are XNU's `MACH_PORT_TYPE(right)`.
pub type MachPortType = u32;
pub const MACH_PORT_TYPE_NONE: MachPortType = 0;
pub const MACH_PORT_TYPE_SEND: MachPortType = IE_BITS_SEND;
pub const MACH_PORT_TYPE_RECEIVE: MachPortType = IE_BITS_RECEIVE;
pub const MACH_PORT_TYPE_SEND_ONCE: MachPortType = IE_BITS_SEND_ONCE;
pub const MACH_PORT_TYPE_PORT_SET: MachPortType = IE_BITS_PORT_SET;
pub const MACH_PORT_TYPE_DEAD_NAME: MachPortType = IE_BITS_DEAD_NAME;
pub const MACH_PORT_TYPE_SEND_RECEIVE: MachPortType = IE_BITS_SEND | IE_BITS_RECEIVE;
/// `MACH_PORT_TYPE_PORT_RIGHTS`: send, send-once or receive.
pub const MACH_PORT_TYPE_PORT_RIGHTS: MachPortType =
    IE_BITS_SEND | IE_BITS_SEND_ONCE | IE_BITS_RECEIVE;
/// `MACH_PORT_TYPE_SEND_RIGHTS`: send or send-once.
pub const MACH_PORT_TYPE_SEND_RIGHTS: MachPortType = IE_BITS_SEND | IE_BITS_SEND_ONCE;

/// `struct ipc_entry`: one name in a space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpcEntry {
    /// The port; `None` for a dead name (and for a port set, whose members are in `is_psets`).
    pub ie_object: Option<PortId>,
    /// Right bits (`IE_BITS_*`).
    pub ie_bits: u32,
    /// User references (`IE_BITS_UREFS`): of the send right or the dead name; 1 for a send-once
    /// right; 0 for a receive right alone and for a port set.
    pub urefs: u32,
    /// The index of the name's dead-name / send-possible request in its port's table
    /// (`ie_request`); `IE_REQ_NONE` (0) for none.
    pub ie_request: u32,
}

/// `IE_REQ_NONE`: an entry without a request.
pub const IE_REQ_NONE: u32 = 0;

impl IpcEntry {
    /// `IE_BITS_TYPE(ie_bits)`.
    pub fn ie_type(&self) -> MachPortType {
        self.ie_bits & IE_BITS_TYPE_MASK
    }
}

/// `MACH_PORT_VALID(name)`: neither `MACH_PORT_NULL` nor `MACH_PORT_DEAD`.
pub const fn mach_port_valid(name: MachPortName) -> bool {
    name != MACH_PORT_NULL && name != MACH_PORT_DEAD
}

/// Fields `is_write_lock` protects.
#[derive(Debug)]
pub struct SpaceLocked {
    pub is_active: bool,
    pub is_label: IpcLabel,
    /// The task whose space this is (`is_task`).
    pub is_task: Option<ObjId>,
    pub is_table: BTreeMap<MachPortName, IpcEntry>,
    /// Port sets of the space and their members' names (see ipc_pset.rs).
    pub is_psets: BTreeMap<MachPortName, BTreeSet<MachPortName>>,
    pub(crate) next_name: MachPortName,
}

impl SpaceLocked {
    #[inline]
    fn fresh() -> SpaceLocked {
        SpaceLocked {
            is_active: false,
            is_label: IPC_LABEL_NONE,
            is_task: None,
            is_table: BTreeMap::new(),
            is_psets: BTreeMap::new(),
            next_name: 0x103,
        }
    }
}

/// `struct ipc_space`.
pub struct IpcSpace {
    pub(crate) lock: Mutex<SpaceLocked>,
}

impl IpcSpace {
    #[inline]
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
    #[inline]
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
    #[inline]
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
    #[inline]
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

    /// `is_write_lock` of a space that may have been freed meanwhile: `None` then (the ledger's
    /// late looks at a name whose space may be gone).
    #[inline]
    pub(crate) fn is_write_lock_if_live(&self, space: SpaceId) -> Option<SpaceGuard<'_>> {
        let live = self.spaces.get_live(space.0).ok()?;
        let state = live.value.lock.lock();
        live.still_live().then_some(SpaceGuard { id: space, state })
    }

    /// `is_write_unlock`.
    pub fn is_write_unlock(&self, guard: SpaceGuard<'_>) {
        drop(guard);
    }
}

impl SpaceGuard<'_> {
    /// Models `ipc_entry_alloc`: the next free name (names step by 4, as XNU's generation
    /// bits make consecutive names of one index differ).
    /// # Deviations
    /// Names carry no index / generation split; the table has no size limit but `u32`.
    pub fn ipc_entry_alloc(&mut self) -> MachPortName {
        while self.is_table.contains_key(&self.next_name) || !mach_port_valid(self.next_name) {
            self.next_name = self.next_name.wrapping_add(4);
        }
        let name = self.next_name;
        self.next_name = self.next_name.wrapping_add(4);
        assert!(mach_port_valid(name));
        name
    }

    /// Removes `name`'s entry if it no longer carries any right (`ipc_entry_dealloc` when the
    /// last type bit is gone), else stores `entry` as its new value.
    pub fn ipc_entry_modified(&mut self, name: MachPortName, entry: IpcEntry) {
        if entry.ie_type() == MACH_PORT_TYPE_NONE {
            self.is_table.remove(&name);
        } else {
            self.is_table.insert(name, entry);
        }
    }
}
