//! `mach_msg` from a user task: header and body copyin (osfmk/ipc/ipc_kmsg.c
//! `ipc_kmsg_copyin_header` / `_body`), delivery (`ipc_kmsg_send`, with kobject destinations
//! handed to `ipc_kobject_server`), and receive with copyout (xnu-11215.1.10).
//!
//! # Deviations
//! * A send is validated whole before any right moves, so a refused send leaves the sender's
//!   space exactly as it was (XNU may already have consumed body rights on a body error).

use std::collections::BTreeMap;

use crate::ipc_kmsg::{KDescriptor, Kmsg};
use crate::ipc_port::*;
use crate::ipc_space::*;
use crate::kernel::{Kernel, SpaceId, IPC_SPACE_KERNEL};
use crate::mach::*;

/// A user descriptor before copyin.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum UserDescriptor {
    Port {
        name: MachPortName,
        disposition: MachMsgTypeName,
    },
    OolPorts {
        names: Vec<MachPortName>,
        disposition: MachMsgTypeName,
    },
    Ool {
        size: u32,
    },
}

/// A user message as `mach_msg` takes it (names, not ports).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserMsg {
    pub msgh_bits: u32,
    pub msgh_remote_port: MachPortName,
    pub msgh_local_port: MachPortName,
    pub msgh_voucher_port: MachPortName,
    pub msgh_id: i32,
    pub descriptors: Vec<UserDescriptor>,
    pub inline_data: Vec<u32>,
}

/// A received message after copyout (names in the receiver's space).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMsg {
    pub msgh_bits: u32,
    pub msgh_remote_port: MachPortName,
    pub msgh_local_port: MachPortName,
    pub msgh_id: i32,
    pub msgh_size: u32,
    pub ret_code: KernReturn,
    /// Copied-out descriptor rights: (name, disposition), OOL copies as (0, 0).
    pub descriptors: Vec<(MachPortName, MachMsgTypeName)>,
    pub ool: Vec<crate::ipc_kmsg::OolCopy>,
}

/// The disposition a right has inside the kernel (`ipc_object_copyin_type`).
pub fn ipc_object_copyin_type(msgt: MachMsgTypeName) -> MachMsgTypeName {
    match msgt {
        MACH_MSG_TYPE_MOVE_RECEIVE => MACH_MSG_TYPE_PORT_RECEIVE,
        MACH_MSG_TYPE_MOVE_SEND_ONCE | MACH_MSG_TYPE_MAKE_SEND_ONCE => MACH_MSG_TYPE_PORT_SEND_ONCE,
        MACH_MSG_TYPE_MOVE_SEND | MACH_MSG_TYPE_MAKE_SEND | MACH_MSG_TYPE_COPY_SEND => {
            MACH_MSG_TYPE_PORT_SEND
        }
        _ => 0,
    }
}

/// A simulated entry while a send is validated: what the copyins would leave.
type Shadow = BTreeMap<MachPortName, IpcEntry>;

impl Kernel {
    /// Checks that `name` can supply `msgt` given what earlier copyins of the same send took.
    fn copyin_check(
        &self,
        shadow: &mut Shadow,
        space: &SpaceGuard<'_>,
        name: MachPortName,
        msgt: MachMsgTypeName,
    ) -> bool {
        let Some(entry) = shadow
            .get(&name)
            .copied()
            .or_else(|| space.is_table.get(&name).copied())
        else {
            return false;
        };
        let Some(p) = entry.ie_object else {
            return false;
        };
        let mut e = entry;
        let ok = match msgt {
            MACH_MSG_TYPE_MOVE_SEND | MACH_MSG_TYPE_COPY_SEND => {
                e.ie_bits & IE_BITS_SEND != 0 && self.ip_active(p)
            }
            MACH_MSG_TYPE_MAKE_SEND | MACH_MSG_TYPE_MAKE_SEND_ONCE => {
                e.ie_bits & IE_BITS_RECEIVE != 0
            }
            MACH_MSG_TYPE_MOVE_SEND_ONCE => e.ie_bits & IE_BITS_SEND_ONCE != 0 && self.ip_active(p),
            MACH_MSG_TYPE_MOVE_RECEIVE => {
                e.ie_bits & IE_BITS_RECEIVE != 0 && !self.ip_is_kobject(p)
            }
            _ => false,
        };
        if !ok {
            return false;
        }
        match msgt {
            MACH_MSG_TYPE_MOVE_SEND if e.urefs > 1 => e.urefs -= 1,
            MACH_MSG_TYPE_MOVE_SEND => {
                e.ie_bits &= !IE_BITS_SEND;
                e.urefs = 0;
            }
            MACH_MSG_TYPE_MOVE_SEND_ONCE => e.ie_bits &= !IE_BITS_SEND_ONCE,
            MACH_MSG_TYPE_MOVE_RECEIVE => e.ie_bits &= !IE_BITS_RECEIVE,
            _ => {}
        }
        shadow.insert(name, e);
        true
    }

    /// Validates a whole send; `Err` carries XNU's `MACH_SEND_INVALID_*` code.
    fn mach_msg_validate(&self, space: SpaceId, msg: &UserMsg) -> Result<PortId, KernReturn> {
        if msg.msgh_bits & !MACH_MSGH_BITS_USER != 0 {
            return Err(MACH_SEND_INVALID_HEADER);
        }
        let sg = self.is_write_lock(space);
        if !sg.is_active {
            return Err(MACH_SEND_INVALID_DEST);
        }
        let mut shadow = Shadow::new();
        let (r, l, v) = (
            mach_msgh_bits_remote(msg.msgh_bits),
            mach_msgh_bits_local(msg.msgh_bits),
            mach_msgh_bits_voucher(msg.msgh_bits),
        );
        if !(MACH_MSG_TYPE_MOVE_SEND..=MACH_MSG_TYPE_MAKE_SEND_ONCE).contains(&r) {
            return Err(MACH_SEND_INVALID_HEADER);
        }
        if !self.copyin_check(&mut shadow, &sg, msg.msgh_remote_port, r) {
            return Err(MACH_SEND_INVALID_DEST);
        }
        let dest = sg
            .is_table
            .get(&msg.msgh_remote_port)
            .and_then(|e| e.ie_object)
            .expect("checked");
        if msg.msgh_local_port != MACH_PORT_NULL {
            if !(MACH_MSG_TYPE_MOVE_SEND..=MACH_MSG_TYPE_MAKE_SEND_ONCE).contains(&l) {
                return Err(MACH_SEND_INVALID_HEADER);
            }
            if !self.copyin_check(&mut shadow, &sg, msg.msgh_local_port, l) {
                return Err(MACH_SEND_INVALID_REPLY);
            }
        }
        if msg.msgh_voucher_port != MACH_PORT_NULL {
            let is_send = v == MACH_MSG_TYPE_MOVE_SEND || v == MACH_MSG_TYPE_COPY_SEND;
            let is_voucher = sg
                .is_table
                .get(&msg.msgh_voucher_port)
                .and_then(|e| e.ie_object)
                .is_some_and(|p| self.ip_kotype(p) == crate::ikot::IKOT_VOUCHER);
            if !is_send
                || !is_voucher
                || !self.copyin_check(&mut shadow, &sg, msg.msgh_voucher_port, v)
            {
                return Err(MACH_SEND_INVALID_VOUCHER);
            }
        }
        self.mach_msg_validate_body(&mut shadow, &sg, msg, dest)?;
        Ok(dest)
    }

    fn mach_msg_validate_body(
        &self,
        shadow: &mut Shadow,
        sg: &SpaceGuard<'_>,
        msg: &UserMsg,
        dest: PortId,
    ) -> Result<(), KernReturn> {
        let complex = msg.msgh_bits & MACH_MSGH_BITS_COMPLEX != 0;
        if !complex {
            return if msg.descriptors.is_empty() {
                Ok(())
            } else {
                Err(MACH_SEND_INVALID_HEADER)
            };
        }
        if self.ip_in_space_noauth(dest, IPC_SPACE_KERNEL)
            && msg.descriptors.len() as u32 > IPC_KOBJECT_DESC_MAX
        {
            return Err(MACH_SEND_TOO_LARGE);
        }
        for d in &msg.descriptors {
            let (names, disp): (&[MachPortName], MachMsgTypeName) = match d {
                UserDescriptor::Port { name, disposition } => {
                    (std::slice::from_ref(name), *disposition)
                }
                UserDescriptor::OolPorts { names, disposition } => (names.as_slice(), *disposition),
                UserDescriptor::Ool { .. } => continue,
            };
            if !(MACH_MSG_TYPE_MOVE_RECEIVE..=MACH_MSG_TYPE_MAKE_SEND_ONCE).contains(&disp) {
                return Err(MACH_SEND_INVALID_TYPE);
            }
            for &name in names {
                if name != MACH_PORT_NULL
                    && name != MACH_PORT_DEAD
                    && !self.copyin_check(shadow, sg, name, disp)
                {
                    return Err(MACH_SEND_INVALID_RIGHT);
                }
            }
        }
        Ok(())
    }

    /// Models `ipc_right_copyin` of one validated right: the right leaves the entry (or is made).
    fn ipc_right_copyin(
        &self,
        space: SpaceId,
        name: MachPortName,
        msgt: MachMsgTypeName,
    ) -> IpcPort {
        if name == MACH_PORT_NULL {
            return IP_NULL;
        }
        if name == MACH_PORT_DEAD {
            return IP_DEAD;
        }
        let mut sg = self.is_write_lock(space);
        let mut e = sg.is_table.get(&name).copied().expect("validated entry");
        let p = e.ie_object.expect("validated port");
        let mut g = self.ip_mq_lock(p);
        match msgt {
            MACH_MSG_TYPE_COPY_SEND => {
                self.ipc_port_copy_send_any_locked(&mut g);
            }
            MACH_MSG_TYPE_MAKE_SEND => {
                self.ipc_port_make_send_any_locked(&mut g);
            }
            MACH_MSG_TYPE_MAKE_SEND_ONCE => {
                self.ipc_port_make_sonce_locked(&mut g);
            }
            MACH_MSG_TYPE_MOVE_SEND if e.urefs > 1 => {
                e.urefs -= 1;
                self.ipc_port_copy_send_any_locked(&mut g);
            }
            MACH_MSG_TYPE_MOVE_SEND => {
                e.ie_bits &= !IE_BITS_SEND;
                e.urefs = 0;
            }
            MACH_MSG_TYPE_MOVE_SEND_ONCE => e.ie_bits &= !IE_BITS_SEND_ONCE,
            MACH_MSG_TYPE_MOVE_RECEIVE => {
                e.ie_bits &= !IE_BITS_RECEIVE;
                self.ipc_port_clear_receiver(&mut g, Receiver::InTransit);
            }
            other => panic!("unvalidated disposition {other}"),
        }
        if e.ie_bits & (IE_BITS_SEND | IE_BITS_RECEIVE | IE_BITS_SEND_ONCE | IE_BITS_DEAD_NAME) == 0
        {
            sg.is_table.remove(&name);
        } else {
            sg.is_table.insert(name, e);
        }
        IpcPort::Port(p)
    }

    /// Models `ipc_kmsg_copyin_header` + `_body` for a validated send.
    fn ipc_kmsg_copyin(&self, space: SpaceId, msg: &UserMsg) -> Kmsg {
        let bits = msg.msgh_bits;
        let (r, l, v) = (
            mach_msgh_bits_remote(bits),
            mach_msgh_bits_local(bits),
            mach_msgh_bits_voucher(bits),
        );
        let mut kmsg = Kmsg::alloc(32, msg.descriptors.len() as u32);
        kmsg.msgh_remote_port = self.ipc_right_copyin(space, msg.msgh_remote_port, r);
        kmsg.msgh_local_port = self.ipc_right_copyin(space, msg.msgh_local_port, l);
        kmsg.msgh_voucher_port = self.ipc_right_copyin(space, msg.msgh_voucher_port, v);
        let local = if IP_VALID(kmsg.msgh_local_port) {
            ipc_object_copyin_type(l)
        } else {
            0
        };
        let voucher = if IP_VALID(kmsg.msgh_voucher_port) {
            ipc_object_copyin_type(v)
        } else {
            0
        };
        kmsg.msgh_bits = mach_msgh_bits_set(
            ipc_object_copyin_type(r),
            local,
            voucher,
            bits & MACH_MSGH_BITS_COMPLEX,
        );
        kmsg.msgh_id = msg.msgh_id;
        kmsg.inline_data = msg.inline_data.clone();
        kmsg.sender_task = self.is_write_lock(space).is_task;
        for d in &msg.descriptors {
            let kd = match d {
                UserDescriptor::Port { name, disposition } => KDescriptor::Port {
                    name: self.ipc_right_copyin(space, *name, *disposition),
                    disposition: ipc_object_copyin_type(*disposition),
                },
                UserDescriptor::OolPorts { names, disposition } => KDescriptor::OolPorts {
                    ports: names
                        .iter()
                        .map(|&n| self.ipc_right_copyin(space, n, *disposition))
                        .collect(),
                    disposition: ipc_object_copyin_type(*disposition),
                },
                UserDescriptor::Ool { size } => KDescriptor::Ool {
                    copy: Some(self.vm_map_copy_alloc()),
                    size: *size,
                },
            };
            kmsg.body.push(kd);
        }
        kmsg.msgh_size = 32 + 16 * kmsg.body.len() as u32 + 4 * kmsg.inline_data.len() as u32;
        kmsg
    }

    /// `mach_msg(MACH_SEND_MSG)` from `space`: copyin, then delivery. A kobject destination is
    /// served synchronously and its reply delivered to the reply port.
    pub fn mach_msg_send(&self, space: SpaceId, msg: &UserMsg) -> KernReturn {
        let dest = match self.mach_msg_validate(space, msg) {
            Ok(dest) => dest,
            Err(kr) => return kr,
        };
        let kmsg = self.ipc_kmsg_copyin(space, msg);
        self.ipc_kmsg_send(dest, kmsg);
        MACH_MSG_SUCCESS
    }

    /// Models `ipc_kmsg_send`: dead destination → destroyed; kernel-received → served, and the
    /// reply sent on with [`Kernel::ipc_kmsg_send_reply`]; otherwise queued.
    pub fn ipc_kmsg_send(&self, dest: PortId, kmsg: Kmsg) {
        let mut g = self.ip_mq_lock(dest);
        if !g.ip_active() {
            drop(g);
            self.ipc_kmsg_send_to_dead(dest, kmsg);
            return;
        }
        if matches!(g.receiver, Receiver::InSpace { space, .. } if space == IPC_SPACE_KERNEL) {
            drop(g);
            if let Some(reply) = self.ipc_kobject_server(dest, kmsg) {
                let reply_dest = reply.msgh_remote_port.id();
                self.ipc_kmsg_send_reply(reply_dest, reply);
            }
            return;
        }
        g.ip_messages.push_back(kmsg);
    }

    /// Models the `kernel_reply` fall-through of `ipc_kmsg_send`: a kernel reply is queued on its
    /// destination as it is, never served as a request. A destination the kernel receives breaks
    /// the reply contract (`ipc_kobject_server` drops such a reply): XNU would queue it where
    /// nothing ever receives it. The reply is destroyed and a `reply-contract` violation raised.
    pub fn ipc_kmsg_send_reply(&self, dest: PortId, reply: Kmsg) {
        let mut g = self.ip_mq_lock(dest);
        if !g.ip_active() {
            drop(g);
            self.ipc_kmsg_send_to_dead(dest, reply);
            return;
        }
        if matches!(g.receiver, Receiver::InSpace { space, .. } if space == IPC_SPACE_KERNEL) {
            drop(g);
            let id = reply.msgh_id;
            self.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_ALL);
            crate::outcome::Finding::violation(
                "reply-contract",
                format!("reply {id} queued on {dest}, which the kernel space receives"),
            )
            .raise();
        }
        g.ip_messages.push_back(reply);
    }

    /// The dead-destination branch of `ipc_kmsg_send`: XNU drops only the destination right's
    /// reference (leaving the right counted in `ip_srights` / `ip_sorights` of the dead port,
    /// where nothing reads it again) and destroys the rest of the message. The ledger records
    /// the abandoned right, so a path that also released it would show as an overrelease.
    fn ipc_kmsg_send_to_dead(&self, dest: PortId, kmsg: Kmsg) {
        self.ledger_right_abandoned(dest, mach_msgh_bits_remote(kmsg.msgh_bits));
        self.ip_release(dest);
        self.ipc_kmsg_destroy(kmsg, IPC_KMSG_DESTROY_SKIP_REMOTE);
    }

    /// `mach_msg(MACH_RCV_MSG)` on `name`: dequeues one message and copies it out.
    pub fn mach_msg_receive(
        &self,
        space: SpaceId,
        name: MachPortName,
    ) -> Result<ReceivedMsg, KernReturn> {
        let entry = self
            .ipc_entry_lookup(space, name)
            .ok_or(MACH_RCV_INVALID_NAME)?;
        let p = entry
            .ie_object
            .filter(|_| entry.ie_bits & IE_BITS_RECEIVE != 0)
            .ok_or(MACH_RCV_INVALID_NAME)?;
        let kmsg = self
            .ip_mq_lock(p)
            .ip_messages
            .pop_front()
            .ok_or(MACH_RCV_TIMED_OUT)?;
        Ok(self.ipc_kmsg_copyout(space, name, kmsg))
    }

    /// Models `ipc_kmsg_copyout`: the destination right is consumed (`ipc_object_copyout_dest`),
    /// the reply and body rights go into the receiver's space through the label check.
    fn ipc_kmsg_copyout(&self, space: SpaceId, name: MachPortName, kmsg: Kmsg) -> ReceivedMsg {
        let bits = kmsg.msgh_bits;
        // `ipc_object_copyout_dest`: the destination right is used up by the delivery itself,
        // without a notification.
        match mach_msgh_bits_remote(bits) {
            MACH_MSG_TYPE_PORT_SEND_ONCE => self.ipc_port_release_sonce(kmsg.msgh_remote_port),
            _ => self.ipc_port_release_send(kmsg.msgh_remote_port),
        }
        let reply_name =
            self.ipc_object_copyout(space, kmsg.msgh_local_port, mach_msgh_bits_local(bits), 0);
        if IP_VALID(kmsg.msgh_voucher_port) {
            self.ipc_object_destroy(kmsg.msgh_voucher_port, MACH_MSG_TYPE_PORT_SEND);
        }
        let mut out = ReceivedMsg {
            msgh_bits: mach_msgh_bits_set(
                mach_msgh_bits_local(bits),
                mach_msgh_bits_remote(bits),
                0,
                bits & MACH_MSGH_BITS_COMPLEX,
            ),
            msgh_remote_port: reply_name,
            msgh_local_port: name,
            msgh_id: kmsg.msgh_id,
            msgh_size: kmsg.msgh_size,
            ret_code: kmsg.ret_code,
            descriptors: Vec::new(),
            ool: Vec::new(),
        };
        for d in kmsg.body {
            match d {
                KDescriptor::Port {
                    name: port,
                    disposition,
                } => {
                    out.descriptors.push((
                        self.ipc_object_copyout(space, port, disposition, 0),
                        disposition,
                    ));
                }
                KDescriptor::OolPorts { ports, disposition } => {
                    for port in ports {
                        out.descriptors.push((
                            self.ipc_object_copyout(space, port, disposition, 0),
                            disposition,
                        ));
                    }
                }
                KDescriptor::Ool { copy, .. } => out.ool.extend(copy),
            }
        }
        out
    }
}
