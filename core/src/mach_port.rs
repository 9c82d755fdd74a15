//! The `mach_port_*` calls a user task makes on rights: osfmk/ipc/mach_port.c and
//! `ipc_object_copyin` / `ipc_object_alloc_dead` of osfmk/ipc/ipc_object.c (xnu-11215.1.10), with
//! the guard exceptions they raise recorded as events.
//!
//! Each call takes the target space directly (XNU's MIG stub converts the task port first); a
//! call whose MIG message carries a right (`insert_right`'s right, `extract_right`'s result) has
//! a `caller` space the right comes from or goes to.

use crate::ipc_port::*;
use crate::ipc_right::Released;
use crate::ipc_space::*;
use crate::kernel::{Kernel, SpaceId};
use crate::ledger_names::{DeadNameEvent, UrefsEvent};
use crate::mach::*;
use crate::mach_msg::ipc_object_copyin_type;

/// A Mach port guard exception (`mach_port_guard_exception`): the `EXC_GUARD` XNU raises on the
/// offending thread, as the model records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuardException {
    /// The space of the task whose call raised it.
    pub space: SpaceId,
    /// The name the exception targets.
    pub name: MachPortName,
    /// `kGUARD_EXC_*` flavor.
    pub flavor: u32,
    /// The subcode: the port's guard or `MPG_FLAGS_*`.
    pub subcode: u64,
}

/// `mach_port_options_t` as the model takes it: `flags` (`MPO_*`) and `mpl.mpl_qlimit`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MachPortOptions {
    pub flags: u32,
    pub mpl_qlimit: u32,
}

/// `MACH_PORT_QLIMIT_MAX` (`MACH_PORT_QLIMIT_LARGE`).
pub const MACH_PORT_QLIMIT_MAX: u32 = 1024;
pub const KERN_DENIED: KernReturn = 53;

/// `MACH_MSG_TYPE_PORT_ANY(x)`: a disposition `MOVE_RECEIVE` through `MAKE_SEND_ONCE`.
pub const fn mach_msg_type_port_any(x: MachMsgTypeName) -> bool {
    x >= MACH_MSG_TYPE_MOVE_RECEIVE && x <= MACH_MSG_TYPE_MAKE_SEND_ONCE
}

/// `MACH_MSG_TYPE_PORT_ANY_SEND(x)`: `MOVE_SEND` through `MAKE_SEND_ONCE`.
pub const fn mach_msg_type_port_any_send(x: MachMsgTypeName) -> bool {
    x >= MACH_MSG_TYPE_MOVE_SEND && x <= MACH_MSG_TYPE_MAKE_SEND_ONCE
}

/// `MACH_MSG_TYPE_PORT_ANY_RIGHT(x)`: a right in its kernel form (16, 17 or 18).
pub const fn mach_msg_type_port_any_right(x: MachMsgTypeName) -> bool {
    x >= MACH_MSG_TYPE_PORT_RECEIVE && x <= MACH_MSG_TYPE_PORT_SEND_ONCE
}

impl Kernel {
    /// Models `mach_port_guard_exception` (osfmk/ipc/mach_port.c, xnu-11215.1.10): records the
    /// exception.
    /// # Deviations
    /// Recorded, not delivered: the model has no threads to kill for a fatal one.
    pub fn mach_port_guard_exception(
        &self,
        space: SpaceId,
        name: MachPortName,
        subcode: u64,
        flavor: u32,
    ) {
        let event = GuardException {
            space,
            name,
            flavor,
            subcode,
        };
        self.guard_exceptions.with(|v| v.push(event));
    }

    /// Models `mach_port_guard_exception_pinned`: `kGUARD_EXC_MOD_REFS_NON_FATAL` with the
    /// `MPG_FLAGS_MOD_REFS_PINNED_*` subcode.
    /// # Deviations
    /// Tasks carry no control-port options: every task is soft (`TASK_CONTROL_PORT_PINNED_HARD`
    /// unset), so the flavor is always the non-fatal one.
    pub(crate) fn mach_port_guard_exception_pinned(
        &self,
        space: SpaceId,
        name: MachPortName,
        flags: u64,
    ) {
        self.mach_port_guard_exception(space, name, flags, K_GUARD_EXC_MOD_REFS_NON_FATAL);
    }

    /// Models `mach_port_guard_exception_immovable`: `kGUARD_EXC_IMMOVABLE_NON_FATAL` for a
    /// control port (soft tasks, as above), `kGUARD_EXC_IMMOVABLE` for any other port.
    pub(crate) fn mach_port_guard_exception_immovable(
        &self,
        space: SpaceId,
        name: MachPortName,
        p: PortId,
    ) {
        let flavor = if self.ip_is_control(p) {
            K_GUARD_EXC_IMMOVABLE_NON_FATAL
        } else {
            K_GUARD_EXC_IMMOVABLE
        };
        self.mach_port_guard_exception(space, name, 0, flavor);
    }

    /// The guard exceptions raised since the last call, oldest first.
    pub fn take_guard_exceptions(&self) -> Vec<GuardException> {
        self.guard_exceptions.with(std::mem::take)
    }

    /// Models `mach_port_type` (osfmk/ipc/mach_port.c, xnu-11215.1.10): the name's
    /// `mach_port_type_t` (after the dead-name check). `MACH_PORT_NULL` is `KERN_INVALID_NAME`,
    /// `MACH_PORT_DEAD` succeeds with type 0.
    pub fn mach_port_type(
        &self,
        space: SpaceId,
        name: MachPortName,
    ) -> Result<MachPortType, KernReturn> {
        if name == MACH_PORT_NULL {
            return Err(KERN_INVALID_NAME);
        }
        if name == MACH_PORT_DEAD {
            return Ok(MACH_PORT_TYPE_NONE);
        }
        let sg = self.ipc_right_lookup_write(space, name)?;
        Ok(self.ipc_right_info(sg, name).0)
    }

    /// Models `mach_port_allocate_full` (osfmk/ipc/mach_port.c, xnu-11215.1.10): a receive right,
    /// a port set or a dead name (one user reference), under a new name or under `name`.
    /// Errors: `KERN_INVALID_VALUE` (another right, or an invalid `name`), `KERN_INVALID_TASK`
    /// (space dead), `KERN_NAME_EXISTS` (`name` in use), `KERN_RESOURCE_SHORTAGE` (no port).
    /// # Deviations
    /// No prototype port, no preallocated message buffer.
    pub fn mach_port_allocate_full(
        &self,
        space: SpaceId,
        right: MachPortRight,
        name: Option<MachPortName>,
    ) -> Result<MachPortName, KernReturn> {
        if name.is_some_and(|n| !mach_port_valid(n)) {
            return Err(KERN_INVALID_VALUE);
        }
        match right {
            MACH_PORT_RIGHT_RECEIVE => self.ipc_port_alloc(space, 0, name),
            MACH_PORT_RIGHT_PORT_SET => self.ipc_pset_alloc(space, name),
            MACH_PORT_RIGHT_DEAD_NAME => {
                let (_, name) = self.ipc_entry_alloc_portless(space, name, IE_BITS_DEAD_NAME, 1)?;
                self.ledger_dead_name(space, name, DeadNameEvent::Born(1));
                Ok(name)
            }
            _ => Err(KERN_INVALID_VALUE),
        }
    }

    /// The space locked for a new entry: `KERN_INVALID_TASK` if dead, `KERN_NAME_EXISTS` if the
    /// chosen name is in use (`ipc_entry_alloc` / `ipc_entry_alloc_name`).
    pub(crate) fn ipc_entry_alloc_name(
        &self,
        space: SpaceId,
        name: Option<MachPortName>,
    ) -> Result<SpaceGuard<'_>, KernReturn> {
        let sg = self.is_write_lock(space);
        if !sg.is_active {
            return Err(KERN_INVALID_TASK);
        }
        if name.is_some_and(|n| sg.is_table.contains_key(&n)) {
            return Err(KERN_NAME_EXISTS);
        }
        Ok(sg)
    }

    /// A new entry with no port behind it (a dead name, `ipc_object_alloc_dead`, or a port
    /// set), under `name` or a new name; the space stays locked.
    pub(crate) fn ipc_entry_alloc_portless(
        &self,
        space: SpaceId,
        name: Option<MachPortName>,
        ie_bits: u32,
        urefs: u32,
    ) -> Result<(SpaceGuard<'_>, MachPortName), KernReturn> {
        let mut sg = self.ipc_entry_alloc_name(space, name)?;
        let name = name.unwrap_or_else(|| sg.ipc_entry_alloc());
        let entry = IpcEntry {
            ie_object: None,
            ie_bits,
            urefs,
            ie_request: IE_REQ_NONE,
        };
        sg.is_table.insert(name, entry);
        Ok((sg, name))
    }

    /// Models `ipc_port_alloc` / `ipc_port_alloc_name` (osfmk/ipc/ipc_port.c): a port received
    /// by `space` under a new name or `name`, initialised with `ipc_port_init`'s `flags`.
    /// # Deviations
    /// Returns `KERN_RESOURCE_SHORTAGE` when the port arena is full (XNU's zone would block).
    pub(crate) fn ipc_port_alloc(
        &self,
        space: SpaceId,
        flags: u32,
        name: Option<MachPortName>,
    ) -> Result<MachPortName, KernReturn> {
        let mut sg = self.ipc_entry_alloc_name(space, name)?;
        let IpcPort::Port(p) = self.ipc_port_alloc_special(space, flags) else {
            return Err(KERN_RESOURCE_SHORTAGE);
        };
        let name = name.unwrap_or_else(|| sg.ipc_entry_alloc());
        sg.is_table.insert(
            name,
            IpcEntry {
                ie_object: Some(p),
                ie_bits: IE_BITS_RECEIVE,
                urefs: 0,
                ie_request: IE_REQ_NONE,
            },
        );
        self.ip_mq_lock(p).receiver = Receiver::InSpace { space, name };
        Ok(name)
    }

    /// Models `mach_port_allocate(MACH_PORT_RIGHT_RECEIVE)`: a new port received by `space`.
    pub fn mach_port_allocate(&self, space: SpaceId) -> Result<MachPortName, KernReturn> {
        self.mach_port_allocate_full(space, MACH_PORT_RIGHT_RECEIVE, None)
    }

    /// Models `mach_port_allocate` (osfmk/ipc/mach_port.c, xnu-11215.1.10) for any right.
    pub fn mach_port_allocate_right(
        &self,
        space: SpaceId,
        right: MachPortRight,
    ) -> Result<MachPortName, KernReturn> {
        self.mach_port_allocate_full(space, right, None)
    }

    /// Models `mach_port_allocate_name` (osfmk/ipc/mach_port.c, xnu-11215.1.10): `right` under
    /// the chosen `name` (`KERN_INVALID_VALUE` for `MACH_PORT_NULL` / `MACH_PORT_DEAD`).
    pub fn mach_port_allocate_name(
        &self,
        space: SpaceId,
        right: MachPortRight,
        name: MachPortName,
    ) -> KernReturn {
        if !mach_port_valid(name) {
            return KERN_INVALID_VALUE;
        }
        match self.mach_port_allocate_full(space, right, Some(name)) {
            Ok(_) => KERN_SUCCESS,
            Err(kr) => kr,
        }
    }

    /// Models `mach_port_destroy` (osfmk/ipc/mach_port.c, xnu-11215.1.10): an invalid name
    /// succeeds, a missing one is `KERN_INVALID_NAME` (guard exception), else
    /// `ipc_right_destroy`.
    pub fn mach_port_destroy(&self, space: SpaceId, name: MachPortName) -> KernReturn {
        if !mach_port_valid(name) {
            return KERN_SUCCESS;
        }
        match self.ipc_right_lookup_write(space, name) {
            Ok(sg) => self.ipc_right_destroy(sg, name),
            Err(kr) => {
                self.mach_port_guard_exception(space, name, 0, K_GUARD_EXC_INVALID_NAME);
                kr
            }
        }
    }

    /// Models `mach_port_deallocate` (osfmk/ipc/mach_port.c, xnu-11215.1.10): an invalid name
    /// succeeds, a missing one is `KERN_INVALID_NAME` (guard exception), else
    /// `ipc_right_dealloc`.
    pub fn mach_port_deallocate(&self, space: SpaceId, name: MachPortName) -> KernReturn {
        if !mach_port_valid(name) {
            return KERN_SUCCESS;
        }
        match self.ipc_right_lookup_write(space, name) {
            Ok(sg) => self.ipc_right_dealloc(sg, name),
            Err(kr) => {
                self.mach_port_guard_exception(space, name, 0, K_GUARD_EXC_INVALID_NAME);
                kr
            }
        }
    }

    /// Models `mach_port_get_refs` (osfmk/ipc/mach_port.c, xnu-11215.1.10): the user references
    /// of one right of `name` (1 for a send-once, receive or port-set right; 0 if the name lacks
    /// the right). `KERN_INVALID_VALUE` for a right number out of range; an invalid name gives 0
    /// for send and send-once, else `KERN_INVALID_NAME`.
    pub fn mach_port_get_refs(
        &self,
        space: SpaceId,
        name: MachPortName,
        right: MachPortRight,
    ) -> Result<u32, KernReturn> {
        if right >= MACH_PORT_RIGHT_NUMBER {
            return Err(KERN_INVALID_VALUE);
        }
        if !mach_port_valid(name) {
            return match right {
                MACH_PORT_RIGHT_SEND | MACH_PORT_RIGHT_SEND_ONCE => Ok(0),
                _ => Err(KERN_INVALID_NAME),
            };
        }
        let sg = self.ipc_right_lookup_write(space, name)?;
        let (ty, urefs) = self.ipc_right_info(sg, name);
        if ty & mach_port_type(right) == 0 {
            return Ok(0);
        }
        Ok(match right {
            MACH_PORT_RIGHT_SEND | MACH_PORT_RIGHT_DEAD_NAME => {
                xnu_assert!(urefs > 0, "{name:#x}: right without urefs");
                urefs
            }
            _ => 1,
        })
    }

    /// Models `mach_port_mod_refs` (osfmk/ipc/mach_port.c, xnu-11215.1.10): the right number is
    /// checked before the name (`KERN_INVALID_VALUE`); an invalid name succeeds for send and
    /// send-once, else `KERN_INVALID_NAME`; a missing one is `KERN_INVALID_NAME` (guard
    /// exception); then `ipc_right_delta`.
    pub fn mach_port_mod_refs(
        &self,
        space: SpaceId,
        name: MachPortName,
        right: MachPortRight,
        delta: i32,
    ) -> KernReturn {
        if right >= MACH_PORT_RIGHT_NUMBER {
            return KERN_INVALID_VALUE;
        }
        if !mach_port_valid(name) {
            return match right {
                MACH_PORT_RIGHT_SEND | MACH_PORT_RIGHT_SEND_ONCE => KERN_SUCCESS,
                _ => KERN_INVALID_NAME,
            };
        }
        match self.ipc_right_lookup_write(space, name) {
            Ok(sg) => self.ipc_right_delta(sg, name, right, delta),
            Err(kr) => {
                self.mach_port_guard_exception(space, name, 0, K_GUARD_EXC_INVALID_NAME);
                kr
            }
        }
    }

    /// Models `ipc_object_copyin` (osfmk/ipc/ipc_object.c, xnu-11215.1.10): one right of `name`
    /// out of `space` for the caller, dead names allowed (`IP_DEAD`). Only
    /// `IPC_OBJECT_COPYIN_FLAGS_ALLOW_IMMOVABLE_SEND` of `flags` is honoured, as in XNU.
    pub fn ipc_object_copyin(
        &self,
        space: SpaceId,
        name: MachPortName,
        msgt: MachMsgTypeName,
        flags: IpcObjectCopyinFlags,
    ) -> Result<IpcPort, KernReturn> {
        let mask =
            (flags & IPC_OBJECT_COPYIN_FLAGS_ALLOW_IMMOVABLE_SEND) | IPC_OBJECT_COPYIN_FLAGS_DEADOK;
        let mut sg = self.ipc_right_lookup_write(space, name)?;
        let mut released = Released::new();
        let result = self.ipc_right_copyin(&mut sg, name, msgt, mask, &mut released);
        drop(sg);
        self.ipc_released_flush(released);
        result
    }

    /// Models the user call `mach_port_insert_right(task, name, poly, polyPoly)`: the right
    /// `poly_name` / `msgt` of the `caller`'s space travels in the MIG request (a port
    /// descriptor to the kernel, so immovable sends and dead names are copied in), then
    /// `mach_port_insert_right` (osfmk/ipc/mach_port.c, xnu-11215.1.10) puts it into `space`
    /// under `name` (`ipc_object_copyout_name`). Errors in order: the request's copyin
    /// (`MACH_SEND_INVALID_TYPE`, `MACH_SEND_INVALID_RIGHT`), `KERN_INVALID_VALUE` (invalid
    /// `name`), `KERN_INVALID_CAPABILITY` (null or dead right), then `ipc_object_copyout_name`'s.
    /// A right the routine refused is destroyed with the request, as MIG does.
    pub fn mach_port_insert_right(
        &self,
        space: SpaceId,
        name: MachPortName,
        caller: SpaceId,
        poly_name: MachPortName,
        msgt: MachMsgTypeName,
    ) -> KernReturn {
        if !mach_msg_type_port_any(msgt) {
            return MACH_SEND_INVALID_TYPE;
        }
        let poly = if mach_port_valid(poly_name) {
            let flags = IPC_OBJECT_COPYIN_FLAGS_ALLOW_IMMOVABLE_SEND;
            match self.ipc_object_copyin(caller, poly_name, msgt, flags) {
                Ok(port) => port,
                Err(_) => return MACH_SEND_INVALID_RIGHT,
            }
        } else if poly_name == MACH_PORT_DEAD {
            IP_DEAD
        } else {
            IP_NULL
        };
        let poly_poly = ipc_object_copyin_type(msgt);
        let kr = self.mach_port_insert_right_kernel(space, name, poly, poly_poly);
        if kr != KERN_SUCCESS {
            self.ipc_object_destroy(poly, poly_poly);
        }
        kr
    }

    /// Models `mach_port_insert_right` (osfmk/ipc/mach_port.c, xnu-11215.1.10) itself: the
    /// right `poly` (kernel form `poly_poly`) goes into `space` under `name`; consumed on success
    /// only.
    pub fn mach_port_insert_right_kernel(
        &self,
        space: SpaceId,
        name: MachPortName,
        poly: IpcPort,
        poly_poly: MachMsgTypeName,
    ) -> KernReturn {
        if !mach_port_valid(name) || !mach_msg_type_port_any_right(poly_poly) {
            return KERN_INVALID_VALUE;
        }
        let IpcPort::Port(p) = poly else {
            return KERN_INVALID_CAPABILITY;
        };
        self.ipc_object_copyout_name(space, p, poly_poly, name)
    }

    /// `mach_port_insert_right(space, name, name, MACH_MSG_TYPE_MAKE_SEND)` from the space's own
    /// task: a send right to a port the space receives, under the receive right's name.
    pub fn mach_port_insert_send(&self, space: SpaceId, name: MachPortName) -> KernReturn {
        self.mach_port_insert_right(space, name, space, name, MACH_MSG_TYPE_MAKE_SEND)
    }

    /// Models the user call `mach_port_extract_right(task, name, msgt)`:
    /// `mach_port_extract_right` (osfmk/ipc/mach_port.c, xnu-11215.1.10) copies the right out of
    /// `space` (`ipc_object_copyin`, dead names allowed; `COPY_SEND` of an immovable right only
    /// from the caller's own space), and the MIG reply carries it into `caller`'s space. Returns
    /// the caller's name (`MACH_PORT_DEAD` for a dead name) and the right's kernel disposition.
    /// Errors: `KERN_INVALID_VALUE` (not a port disposition), `KERN_INVALID_RIGHT` (invalid
    /// name), then `ipc_object_copyin`'s.
    pub fn mach_port_extract_right(
        &self,
        space: SpaceId,
        name: MachPortName,
        msgt: MachMsgTypeName,
        caller: SpaceId,
    ) -> Result<(MachPortName, MachMsgTypeName), KernReturn> {
        if !mach_msg_type_port_any(msgt) {
            return Err(KERN_INVALID_VALUE);
        }
        if !mach_port_valid(name) {
            return Err(KERN_INVALID_RIGHT);
        }
        let flags = if space == caller && msgt == MACH_MSG_TYPE_COPY_SEND {
            IPC_OBJECT_COPYIN_FLAGS_ALLOW_IMMOVABLE_SEND
        } else {
            IPC_OBJECT_COPYIN_FLAGS_NONE
        };
        let port = self.ipc_object_copyin(space, name, msgt, flags)?;
        let ty = ipc_object_copyin_type(msgt);
        let out = self.ipc_object_copyout(caller, port, ty, IPC_OBJECT_COPYOUT_FLAGS_NONE);
        Ok((out, ty))
    }

    /// Models `mach_port_construct` (osfmk/ipc/mach_port.c, xnu-11215.1.10): a receive right with
    /// options. Checks in XNU's order: at most one of `MPO_SERVICE_PORT` / `MPO_CONNECTION_PORT`
    /// / `MPO_TG_BLOCK_TRACKING` and at most one of `MPO_REPLY_PORT` /
    /// `MPO_ENFORCE_REPLY_PORT_SEMANTICS` / `MPO_EXCEPTION_PORT` / `MPO_PROVISIONAL_REPLY_PORT`
    /// (`KERN_INVALID_ARGUMENT`), then a dead space (`KERN_INVALID_TASK`), block tracking
    /// (`KERN_DENIED`), service and connection ports, and the queue limit (`KERN_INVALID_VALUE`
    /// above `MACH_PORT_QLIMIT_MAX`). `MPO_REPLY_PORT` makes a reply port (immovable receive)
    /// for a hardened task and a provisional reply port otherwise; `MPO_PROVISIONAL_REPLY_PORT`
    /// a provisional one; `MPO_EXCEPTION_PORT` an immovable receive right;
    /// `MPO_INSERT_SEND_RIGHT` a send right under the same name.
    /// # Deviations
    /// No service ports (`MPO_SERVICE_PORT` is refused as if its info were missing,
    /// `MPO_CONNECTION_PORT` as if its service port were invalid), no queue limits, importance or
    /// guards (`MPO_CONTEXT_AS_GUARD`, `MPO_IMMOVABLE_RECEIVE` and `context` have no effect); no
    /// task is a graphics server.
    pub fn mach_port_construct(
        &self,
        space: SpaceId,
        options: MachPortOptions,
        context: u64,
    ) -> Result<MachPortName, KernReturn> {
        let _ = context;
        let f = options.flags;
        let one_of = |mask: u32| (f & mask).count_ones() <= 1;
        if !one_of(MPO_SERVICE_PORT | MPO_CONNECTION_PORT | MPO_TG_BLOCK_TRACKING)
            || !one_of(
                MPO_REPLY_PORT
                    | MPO_ENFORCE_REPLY_PORT_SEMANTICS
                    | MPO_EXCEPTION_PORT
                    | MPO_PROVISIONAL_REPLY_PORT,
            )
        {
            return Err(KERN_INVALID_ARGUMENT);
        }
        if !self.spaces.is_live(space.0) {
            return Err(KERN_INVALID_TASK);
        }
        if f & MPO_TG_BLOCK_TRACKING != 0 {
            return Err(KERN_DENIED);
        }
        if f & (MPO_SERVICE_PORT | MPO_CONNECTION_PORT) != 0 {
            return Err(KERN_INVALID_ARGUMENT);
        }
        if f & MPO_QLIMIT != 0 && options.mpl_qlimit > MACH_PORT_QLIMIT_MAX {
            return Err(KERN_INVALID_VALUE);
        }
        let name = self.ipc_port_alloc(space, 0, None)?;
        let p = self.ipc_entry_lookup(space, name).and_then(|e| e.ie_object);
        let p = p.expect("a new receive right names its port");
        let hardened = self.space_task_is_hardened(space);
        {
            let mut g = self.ip_mq_lock(p);
            if f & MPO_REPLY_PORT != 0 && hardened {
                g.ip_immovable_receive = true;
                g.ip_reply_port_semantics = PORT_MARK_REPLY_PORT;
                self.ledger_reply_port(p);
            } else if f & (MPO_REPLY_PORT | MPO_PROVISIONAL_REPLY_PORT) != 0 {
                g.ip_reply_port_semantics = PORT_MARK_PROVISIONAL_REPLY_PORT;
            } else if f & MPO_ENFORCE_REPLY_PORT_SEMANTICS != 0 {
                g.ip_reply_port_semantics = PORT_ENFORCE_REPLY_PORT_SEMANTICS;
            } else if f & MPO_EXCEPTION_PORT != 0 {
                g.ip_reply_port_semantics = PORT_MARK_EXCEPTION_PORT;
                g.ip_immovable_receive = true;
            }
            if f & MPO_INSERT_SEND_RIGHT != 0 {
                self.ipc_port_make_send_any_locked(&mut g);
            }
        }
        if f & MPO_INSERT_SEND_RIGHT != 0 {
            let mut sg = self.is_write_lock(space);
            let e = sg.is_table.get_mut(&name).expect("the new entry");
            e.ie_bits |= IE_BITS_SEND;
            e.urefs = 1;
            self.ledger_urefs(space, name, UrefsEvent::SendIn);
        }
        Ok(name)
    }

    /// Whether the task of `space` is a hardened binary (`task_is_hardened_binary`).
    fn space_task_is_hardened(&self, space: SpaceId) -> bool {
        let task = self.is_write_lock(space).is_task;
        task.is_some_and(|t| self.object(t).lock.lock().hardened_binary)
    }

    /// Models `mach_port_destruct` (osfmk/ipc/mach_port.c) and `ipc_right_destruct`
    /// (osfmk/ipc/ipc_right.c, xnu-11215.1.10): the receive right of `name` goes, after
    /// `srdelta` (0 or negative) user references of its send right. Errors:
    /// `KERN_INVALID_NAME` (invalid or missing name, guard exception for a missing one),
    /// `KERN_INVALID_RIGHT` (no receive right, or a send delta without a send right; guard
    /// exception), `KERN_INVALID_VALUE` (positive delta, or an underflow; guard exception).
    /// Send references left over become a dead name's.
    /// # Deviations
    /// No guards: `guard` is not compared. The send delta and the receive right's destruction
    /// run as two `ipc_right_delta` calls, each under the space lock, not under one hold of it.
    pub fn mach_port_destruct(
        &self,
        space: SpaceId,
        name: MachPortName,
        srdelta: i32,
        guard: u64,
    ) -> KernReturn {
        let _ = guard;
        if !mach_port_valid(name) {
            return KERN_INVALID_NAME;
        }
        let sg = match self.ipc_right_lookup_write(space, name) {
            Ok(sg) => sg,
            Err(kr) => {
                self.mach_port_guard_exception(space, name, 0, K_GUARD_EXC_INVALID_NAME);
                return kr;
            }
        };
        let entry = sg.is_table[&name];
        let invalid = |sg: SpaceGuard<'_>, flavor: u32, kr: KernReturn| {
            drop(sg);
            self.mach_port_guard_exception(space, name, 0, flavor);
            kr
        };
        if entry.ie_bits & IE_BITS_RECEIVE == 0
            || (srdelta != 0 && entry.ie_bits & IE_BITS_SEND == 0)
        {
            return invalid(sg, K_GUARD_EXC_INVALID_RIGHT, KERN_INVALID_RIGHT);
        }
        if srdelta > 0 {
            return invalid(sg, K_GUARD_EXC_INVALID_VALUE, KERN_INVALID_VALUE);
        }
        if srdelta != 0 {
            let urefs = entry.urefs;
            if srdelta.unsigned_abs() > urefs {
                return invalid(sg, K_GUARD_EXC_INVALID_VALUE, KERN_INVALID_VALUE);
            }
            let pegged = urefs == MACH_PORT_UREFS_MAX && srdelta != -(MACH_PORT_UREFS_MAX as i32);
            if !pegged {
                drop(sg);
                // The send references go first, as a delta would take them.
                let kr = self.mach_port_mod_refs(space, name, MACH_PORT_RIGHT_SEND, srdelta);
                xnu_assert!(kr == KERN_SUCCESS, "destruct's send delta failed: {kr}");
                return self.mach_port_mod_refs(space, name, MACH_PORT_RIGHT_RECEIVE, -1);
            }
        }
        drop(sg);
        self.mach_port_mod_refs(space, name, MACH_PORT_RIGHT_RECEIVE, -1)
    }
}
