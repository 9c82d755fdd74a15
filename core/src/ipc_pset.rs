//! Port sets: osfmk/ipc/ipc_pset.c and the member calls of osfmk/ipc/mach_port.c
//! (xnu-11215.1.10), reduced to membership: which receive rights of a space a set holds.
//!
//! # Deviations
//! A set is an entry of its space with no port behind it, and its members are the names of
//! receive rights in that space (`SpaceLocked::is_psets`); XNU links the ports' waitqs to the
//! set's. A port leaves every set when its receive right leaves the space, as
//! `ipc_port_clear_receiver` unlinks it. Receiving on a set takes the first member (in name
//! order) with a message, not the oldest message.

use std::collections::BTreeSet;

use crate::ipc_space::*;
use crate::kernel::{Kernel, SpaceId};
use crate::ledger_names::PsetEvent;
use crate::mach::*;

impl Kernel {
    /// Models `ipc_pset_destroy` (osfmk/ipc/ipc_pset.c, xnu-11215.1.10) with the set entry's
    /// `ipc_entry_dealloc`: the set's name goes and its members are unlinked (they keep their
    /// receive rights).
    pub(crate) fn ipc_pset_destroy(&self, sg: &mut SpaceGuard<'_>, name: MachPortName) {
        let entry = sg.is_table.remove(&name);
        assert!(entry.is_some_and(|e| e.ie_type() == MACH_PORT_TYPE_PORT_SET));
        let members = sg.is_psets.remove(&name);
        assert!(members.is_some(), "set {name:#x} without members' record");
        self.ledger_pset(sg.id, PsetEvent::Gone(name));
    }

    /// `ipc_port_clear_receiver`'s unlink: the receive right `name` leaves every set.
    pub(crate) fn ipc_pset_remove_member(&self, sg: &mut SpaceGuard<'_>, name: MachPortName) {
        for members in sg.is_psets.values_mut() {
            members.remove(&name);
        }
        self.ledger_pset(sg.id, PsetEvent::ReceiveLeft(name));
    }

    /// Models `ipc_pset_alloc` / `ipc_pset_alloc_name` (osfmk/ipc/ipc_pset.c, xnu-11215.1.10):
    /// an empty set under a new name or `name`.
    pub(crate) fn ipc_pset_alloc(
        &self,
        space: SpaceId,
        name: Option<MachPortName>,
    ) -> Result<MachPortName, KernReturn> {
        let (mut sg, name) = self.ipc_entry_alloc_portless(space, name, IE_BITS_PORT_SET, 0)?;
        let fresh = sg.is_psets.insert(name, BTreeSet::new());
        assert!(fresh.is_none(), "set {name:#x} allocated twice");
        self.ledger_pset(space, PsetEvent::Born(name));
        Ok(name)
    }

    /// Models `ipc_object_translate_two(RECEIVE, PORT_SET)` (osfmk/ipc/ipc_object.c): the space
    /// locked with `name` a receive right and `psname` a set. Errors: `KERN_INVALID_TASK`,
    /// `KERN_INVALID_NAME` (either missing), `KERN_INVALID_RIGHT` (guard exception).
    fn ipc_pset_translate_two(
        &self,
        space: SpaceId,
        name: MachPortName,
        psname: MachPortName,
    ) -> Result<SpaceGuard<'_>, KernReturn> {
        let sg = self.is_write_lock(space);
        if !sg.is_active {
            return Err(KERN_INVALID_TASK);
        }
        let (Some(&e1), Some(&e2)) = (sg.is_table.get(&name), sg.is_table.get(&psname)) else {
            return Err(KERN_INVALID_NAME);
        };
        for (n, e, bit) in [(name, e1, IE_BITS_RECEIVE), (psname, e2, IE_BITS_PORT_SET)] {
            if e.ie_bits & bit == 0 {
                drop(sg);
                self.mach_port_guard_exception(space, n, 0, K_GUARD_EXC_INVALID_RIGHT);
                return Err(KERN_INVALID_RIGHT);
            }
        }
        Ok(sg)
    }

    /// The membership change `change` of the receive right `name` and set `psname`, after the
    /// checks `mach_port_insert_member` and `mach_port_extract_member` share.
    fn ipc_pset_member_change(
        &self,
        space: SpaceId,
        name: MachPortName,
        psname: MachPortName,
        change: impl FnOnce(&mut BTreeSet<MachPortName>) -> KernReturn,
    ) -> KernReturn {
        if !mach_port_valid(name) || !mach_port_valid(psname) {
            return KERN_INVALID_RIGHT;
        }
        match self.ipc_pset_translate_two(space, name, psname) {
            Ok(mut sg) => change(sg.is_psets.get_mut(&psname).expect("a set has members")),
            Err(kr) => kr,
        }
    }

    /// Models `mach_port_insert_member` (osfmk/ipc/mach_port.c, xnu-11215.1.10): the receive
    /// right `name` joins set `psname`. `KERN_INVALID_RIGHT` for an invalid name,
    /// `KERN_ALREADY_IN_SET` for a member, else `ipc_object_translate_two`'s errors.
    pub fn mach_port_insert_member(
        &self,
        space: SpaceId,
        name: MachPortName,
        psname: MachPortName,
    ) -> KernReturn {
        let kr = self.ipc_pset_member_change(space, name, psname, |members| {
            if members.insert(name) {
                KERN_SUCCESS
            } else {
                KERN_ALREADY_IN_SET
            }
        });
        if kr == KERN_SUCCESS {
            let event = PsetEvent::MemberIn {
                set: psname,
                member: name,
            };
            self.ledger_pset(space, event);
        }
        kr
    }

    /// Models `mach_port_extract_member` (osfmk/ipc/mach_port.c, xnu-11215.1.10): the receive
    /// right `name` leaves set `psname` (`KERN_NOT_IN_SET` if it was not in it).
    pub fn mach_port_extract_member(
        &self,
        space: SpaceId,
        name: MachPortName,
        psname: MachPortName,
    ) -> KernReturn {
        let kr = self.ipc_pset_member_change(space, name, psname, |members| {
            if members.remove(&name) {
                KERN_SUCCESS
            } else {
                KERN_NOT_IN_SET
            }
        });
        if kr == KERN_SUCCESS {
            let event = PsetEvent::MemberOut {
                set: psname,
                member: name,
            };
            self.ledger_pset(space, event);
        }
        kr
    }

    /// Models `mach_port_move_member` (osfmk/ipc/mach_port.c, xnu-11215.1.10): the receive right
    /// `member` leaves every set and joins `after` (or none for `MACH_PORT_NULL`, when
    /// `KERN_NOT_IN_SET` says it was in none).
    pub fn mach_port_move_member(
        &self,
        space: SpaceId,
        member: MachPortName,
        after: MachPortName,
    ) -> KernReturn {
        if !mach_port_valid(member) || after == MACH_PORT_DEAD {
            return KERN_INVALID_RIGHT;
        }
        let mut sg = if after != MACH_PORT_NULL {
            match self.ipc_pset_translate_two(space, member, after) {
                Ok(sg) => sg,
                Err(kr) => return kr,
            }
        } else {
            let sg = self.is_write_lock(space);
            if !sg.is_active {
                return KERN_INVALID_TASK;
            }
            match sg.is_table.get(&member) {
                None => return KERN_INVALID_NAME,
                Some(e) if e.ie_bits & IE_BITS_RECEIVE == 0 => return KERN_INVALID_RIGHT,
                Some(_) => sg,
            }
        };
        let was_member = sg.is_psets.values().any(|m| m.contains(&member));
        self.ipc_pset_remove_member(&mut sg, member);
        if after != MACH_PORT_NULL {
            sg.is_psets.get_mut(&after).expect("a set").insert(member);
            let event = PsetEvent::MemberIn { set: after, member };
            self.ledger_pset(space, event);
            return KERN_SUCCESS;
        }
        if was_member {
            KERN_SUCCESS
        } else {
            KERN_NOT_IN_SET
        }
    }

    /// The members of set `psname` in `space`, in name order (`mach_port_get_set_status`).
    pub fn mach_port_get_set_status(
        &self,
        space: SpaceId,
        psname: MachPortName,
    ) -> Result<Vec<MachPortName>, KernReturn> {
        let sg = self.is_write_lock(space);
        if !sg.is_active {
            return Err(KERN_INVALID_TASK);
        }
        let entry = sg.is_table.get(&psname).ok_or(KERN_INVALID_NAME)?;
        if entry.ie_bits & IE_BITS_PORT_SET == 0 {
            return Err(KERN_INVALID_RIGHT);
        }
        Ok(sg.is_psets[&psname].iter().copied().collect())
    }
}
