//! Rights in spaces: the parts of osfmk/ipc/ipc_right.c, ipc_object.c and mach_port.c
//! (xnu-11215.1.10) the message path needs: copyin and copyout of one right, and the
//! `mach_port_*` calls a user task makes on its own names.
//!
//! Model rules (the ledger counts by them): an entry with the send bit owns exactly one send right
//! whatever its user references; each right bit (send, send-once, receive) owns one port reference.

use crate::ipc_kobject::LabelCheck;
use crate::ipc_port::*;
use crate::ipc_space::*;
use crate::kernel::{Kernel, SpaceId};
use crate::mach::*;

/// `mach_port_right_t`.
pub const MACH_PORT_RIGHT_SEND: u32 = 0;
pub const MACH_PORT_RIGHT_RECEIVE: u32 = 1;
pub const MACH_PORT_RIGHT_SEND_ONCE: u32 = 2;
pub const MACH_PORT_RIGHT_DEAD_NAME: u32 = 4;

impl Kernel {
    /// The entry `name` names in `space`, if any.
    pub fn ipc_entry_lookup(&self, space: SpaceId, name: MachPortName) -> Option<IpcEntry> {
        self.is_write_lock(space).is_table.get(&name).copied()
    }

    /// Models `mach_port_allocate(MACH_PORT_RIGHT_RECEIVE)`: a new port received by `space`.
    pub fn mach_port_allocate(&self, space: SpaceId) -> Result<MachPortName, KernReturn> {
        let IpcPort::Port(p) = self.ipc_port_alloc_special(space, 0) else {
            return Err(KERN_RESOURCE_SHORTAGE);
        };
        let mut sg = self.is_write_lock(space);
        if !sg.is_active {
            drop(sg);
            self.ipc_port_release_receive(p);
            return Err(KERN_INVALID_TASK);
        }
        let name = sg.next_name;
        sg.next_name += 4;
        sg.is_table.insert(
            name,
            IpcEntry {
                ie_object: Some(p),
                ie_bits: IE_BITS_RECEIVE,
                urefs: 0,
            },
        );
        drop(sg);
        self.ip_mq_lock(p).receiver = Receiver::InSpace { space, name };
        Ok(name)
    }

    /// Models `mach_port_insert_right(space, name, name, MAKE_SEND)`: a send right on a port the
    /// space receives, under the same name.
    pub fn mach_port_insert_send(&self, space: SpaceId, name: MachPortName) -> KernReturn {
        let mut sg = self.is_write_lock(space);
        let Some(entry) = sg.is_table.get(&name).copied() else {
            return KERN_INVALID_NAME;
        };
        let Some(p) = entry
            .ie_object
            .filter(|_| entry.ie_bits & IE_BITS_RECEIVE != 0)
        else {
            return KERN_INVALID_RIGHT;
        };
        if entry.ie_bits & IE_BITS_SEND != 0 {
            if entry.urefs >= MACH_PORT_UREFS_MAX {
                return KERN_UREFS_OVERFLOW;
            }
            sg.is_table.get_mut(&name).expect("entry").urefs += 1;
            return KERN_SUCCESS;
        }
        let mut g = self.ip_mq_lock(p);
        self.ipc_port_make_send_any_locked(&mut g);
        let e = sg.is_table.get_mut(&name).expect("entry");
        e.ie_bits |= IE_BITS_SEND;
        e.urefs = 1;
        KERN_SUCCESS
    }

    /// Models `mach_port_deallocate`: one user reference of a send right or dead name, or the
    /// send-once right (whose death notifies, as `ipc_right_dealloc` does).
    pub fn mach_port_deallocate(&self, space: SpaceId, name: MachPortName) -> KernReturn {
        let entry = match self.ipc_entry_lookup(space, name) {
            Some(e) => e,
            None => return KERN_INVALID_NAME,
        };
        if entry.ie_bits & IE_BITS_SEND_ONCE != 0 {
            return self.mach_port_mod_refs(space, name, MACH_PORT_RIGHT_SEND_ONCE, -1);
        }
        if entry.ie_bits & IE_BITS_DEAD_NAME != 0 {
            return self.mach_port_mod_refs(space, name, MACH_PORT_RIGHT_DEAD_NAME, -1);
        }
        if entry.ie_bits & IE_BITS_SEND == 0 {
            return KERN_INVALID_RIGHT;
        }
        self.mach_port_mod_refs(space, name, MACH_PORT_RIGHT_SEND, -1)
    }

    /// Models `mach_port_mod_refs` for send, send-once, receive and dead-name rights.
    pub fn mach_port_mod_refs(
        &self,
        space: SpaceId,
        name: MachPortName,
        right: u32,
        delta: i32,
    ) -> KernReturn {
        let mut sg = self.is_write_lock(space);
        let Some(mut entry) = sg.is_table.get(&name).copied() else {
            return KERN_INVALID_NAME;
        };
        let bit = match right {
            MACH_PORT_RIGHT_SEND => IE_BITS_SEND,
            MACH_PORT_RIGHT_RECEIVE => IE_BITS_RECEIVE,
            MACH_PORT_RIGHT_SEND_ONCE => IE_BITS_SEND_ONCE,
            MACH_PORT_RIGHT_DEAD_NAME => IE_BITS_DEAD_NAME,
            _ => return KERN_INVALID_VALUE,
        };
        if entry.ie_bits & bit == 0 {
            return if delta == 0 {
                KERN_SUCCESS
            } else {
                KERN_INVALID_RIGHT
            };
        }
        let counted = matches!(right, MACH_PORT_RIGHT_SEND | MACH_PORT_RIGHT_DEAD_NAME);
        let new_urefs = if counted {
            entry.urefs as i64 + delta as i64
        } else {
            1 + delta as i64
        };
        if new_urefs < 0 || (!counted && new_urefs > 1) {
            return KERN_INVALID_VALUE;
        }
        if new_urefs > MACH_PORT_UREFS_MAX as i64 {
            return KERN_UREFS_OVERFLOW;
        }
        if new_urefs > 0 {
            if counted {
                sg.is_table.get_mut(&name).expect("entry").urefs = new_urefs as u32;
            }
            return KERN_SUCCESS;
        }
        entry.ie_bits &= !bit;
        if counted {
            entry.urefs = 0;
        }
        if entry.ie_bits & (IE_BITS_SEND | IE_BITS_RECEIVE | IE_BITS_SEND_ONCE | IE_BITS_DEAD_NAME)
            == 0
        {
            sg.is_table.remove(&name);
        } else {
            sg.is_table.insert(name, entry);
        }
        drop(sg);
        if let Some(p) = entry.ie_object.filter(|_| bit != IE_BITS_DEAD_NAME) {
            self.ipc_right_destroy_one(p, bit);
        }
        KERN_SUCCESS
    }

    /// Releases the one right `bit` stands for (the space lock is already dropped).
    fn ipc_right_destroy_one(&self, p: PortId, bit: u32) {
        match bit {
            IE_BITS_SEND => self.ipc_object_destroy(IpcPort::Port(p), MACH_MSG_TYPE_PORT_SEND),
            IE_BITS_SEND_ONCE => {
                self.ipc_object_destroy(IpcPort::Port(p), MACH_MSG_TYPE_PORT_SEND_ONCE)
            }
            IE_BITS_RECEIVE => self.ipc_port_release_receive(p),
            _ => {}
        }
    }

    /// Models `mach_port_destroy`: every right the name denotes goes.
    pub fn mach_port_destroy(&self, space: SpaceId, name: MachPortName) -> KernReturn {
        let Some(entry) = self.is_write_lock(space).is_table.remove(&name) else {
            return KERN_INVALID_NAME;
        };
        if let Some(p) = entry.ie_object {
            for bit in [IE_BITS_SEND, IE_BITS_SEND_ONCE, IE_BITS_RECEIVE] {
                if entry.ie_bits & bit != 0 {
                    self.ipc_right_destroy_one(p, bit);
                }
            }
        }
        KERN_SUCCESS
    }

    /// Models `ipc_space_terminate`: the space dies and every right in it is destroyed.
    pub fn ipc_space_terminate(&self, space: SpaceId) {
        let entries: Vec<MachPortName> = {
            let mut sg = self.is_write_lock(space);
            if !sg.is_active {
                return;
            }
            sg.is_active = false;
            sg.is_table.keys().copied().collect()
        };
        for name in entries {
            let _ = self.mach_port_destroy(space, name);
        }
        self.spaces.free(space.0);
    }

    /// Models `ipc_object_copyout` of one right into `space` (`ipc_right_copyout`), through
    /// `ipc_kobject_label_check`. Returns the name, `MACH_PORT_DEAD` for a dead port (the right is
    /// released), or `MACH_PORT_NULL` when the label check refused it (the right is destroyed).
    pub fn ipc_object_copyout(
        &self,
        space: SpaceId,
        port: IpcPort,
        msgt_name: MachMsgTypeName,
        mut flags: IpcObjectCopyoutFlags,
    ) -> MachPortName {
        let IpcPort::Port(p) = port else {
            return if port == IP_DEAD {
                MACH_PORT_DEAD
            } else {
                MACH_PORT_NULL
            };
        };
        let sg = self.is_write_lock(space);
        let g = self.ip_mq_lock(p);
        if !g.ip_active() || !sg.is_active {
            drop(g);
            drop(sg);
            self.ipc_object_destroy(port, msgt_name);
            return MACH_PORT_DEAD;
        }
        match self.ipc_kobject_label_check(sg, g, msgt_name, &mut flags) {
            LabelCheck::Allowed(sg, g) => self.ipc_right_copyout(sg, g, msgt_name),
            LabelCheck::Refused(sg, g) => {
                drop(g);
                drop(sg);
                self.ipc_object_destroy(port, msgt_name);
                MACH_PORT_NULL
            }
            LabelCheck::Substituted(subst) => {
                self.ipc_object_copyout(space, subst, msgt_name, flags)
            }
        }
    }

    /// Models `ipc_right_copyout`: merge into an existing entry for the port or make a new name.
    fn ipc_right_copyout(
        &self,
        mut sg: SpaceGuard<'_>,
        mut g: PortGuard<'_>,
        msgt_name: MachMsgTypeName,
    ) -> MachPortName {
        let p = g.id;
        let bit = match msgt_name {
            MACH_MSG_TYPE_PORT_SEND => IE_BITS_SEND,
            MACH_MSG_TYPE_PORT_SEND_ONCE => IE_BITS_SEND_ONCE,
            MACH_MSG_TYPE_PORT_RECEIVE => IE_BITS_RECEIVE,
            other => xnu_panic!("ipc_right_copyout: strange rights {other}"),
        };
        let existing = (bit != IE_BITS_SEND_ONCE)
            .then(|| {
                sg.is_table
                    .iter()
                    .find(|(_, e)| e.ie_object == Some(p))
                    .map(|(&n, _)| n)
            })
            .flatten();
        let name = existing.unwrap_or_else(|| {
            let n = sg.next_name;
            sg.next_name += 4;
            n
        });
        let entry = sg.is_table.entry(name).or_insert(IpcEntry {
            ie_object: Some(p),
            ie_bits: 0,
            urefs: 0,
        });
        if bit == IE_BITS_SEND && entry.ie_bits & IE_BITS_SEND != 0 {
            // The entry already owns a send right: fold this one into a user reference.
            entry.urefs = (entry.urefs + 1).min(MACH_PORT_UREFS_MAX);
            self.ip_srights_dec(&mut g);
            self.ip_release_live(p);
        } else {
            entry.ie_bits |= bit;
            if bit == IE_BITS_SEND {
                entry.urefs = 1;
            }
        }
        if bit == IE_BITS_RECEIVE {
            g.receiver = Receiver::InSpace { space: sg.id, name };
        }
        name
    }

    /// The kobject label of `p` (`ikol_label`), if it has one, read under the port lock (for
    /// the auditor's label contract).
    pub(crate) fn port_kolabel(&self, p: PortId) -> Option<IpcLabel> {
        self.ip_mq_lock(p).ip_kolabel.map(|l| l.ikol_label)
    }
}
