//! What the right-layer test files share: a kernel with two tasks, `a` (the caller) and `b`,
//! and the lookups every test makes.
#![allow(dead_code)]

use kobject::ipc_space::MachPortType;
use kobject::mach::{MachPortName, IPC_LABEL_NONE};
use kobject::{Bugs, Kernel, ObjId, Platform, PortId, SpaceId};

/// A kernel with two tasks: `a` (the caller) and `b`.
pub struct TwoTasks {
    pub k: Kernel,
    pub a: (ObjId, SpaceId),
    pub b: (ObjId, SpaceId),
}

pub fn two_tasks() -> TwoTasks {
    kobject::outcome::quiet_findings();
    let k = Kernel::new(Platform::Native, Bugs::NONE);
    let a = k.task_create(IPC_LABEL_NONE).unwrap();
    let b = k.task_create(IPC_LABEL_NONE).unwrap();
    TwoTasks { k, a, b }
}

impl TwoTasks {
    pub fn sa(&self) -> SpaceId {
        self.a.1
    }

    pub fn sb(&self) -> SpaceId {
        self.b.1
    }

    /// A receive right in `space`.
    pub fn recv(&self, space: SpaceId) -> MachPortName {
        self.k.mach_port_allocate(space).unwrap()
    }

    pub fn port(&self, space: SpaceId, name: MachPortName) -> PortId {
        self.k
            .ipc_entry_lookup(space, name)
            .unwrap()
            .ie_object
            .unwrap()
    }

    /// `mach_port_type` of `a`'s name.
    pub fn ty(&self, name: MachPortName) -> MachPortType {
        self.k.mach_port_type(self.sa(), name).unwrap()
    }
}
