//! `mach_msg` from a user task: header and body copyin (osfmk/ipc/ipc_kmsg.c
//! `ipc_kmsg_copyin_header` / `_body`), delivery (`ipc_kmsg_send`, with kobject destinations
//! handed to `ipc_kobject_server`), and receive with copyout (xnu-11215.1.10).
//!
//! # Deviations

use crate::ikot::IKOT_VOUCHER;
use crate::ipc_kmsg::{KDescriptor, Kmsg};
use crate::ipc_port::*;
use crate::ipc_right::Released;
use crate::ipc_space::*;
use crate::kernel::{Kernel, SpaceId, IPC_SPACE_KERNEL};
use crate::mach::*;
use crate::mach_port::{mach_msg_type_port_any, mach_msg_type_port_any_send};

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

/// `mach_msg_descriptor_type_t`.
pub const MACH_MSG_PORT_DESCRIPTOR: u32 = 0;
pub const MACH_MSG_OOL_DESCRIPTOR: u32 = 1;
pub const MACH_MSG_OOL_PORTS_DESCRIPTOR: u32 = 2;

/// Sizes of the layouts (64-bit user space, osfmk/mach/message.h): the user header
/// (`mach_msg_user_header_t`), the kernel header, the body count, a kernel descriptor, a user
/// port descriptor (the others are 16 bytes in both layouts).
pub const MACH_MSG_USER_HEADER_SIZE: u32 = 24;
pub const MACH_MSG_KERNEL_HEADER_SIZE: u32 = 32;
pub const MACH_MSG_BODY_SIZE: u32 = 4;
pub const MACH_MSG_KDESCRIPTOR_SIZE: u32 = 16;
pub const MACH_MSG_USER_PORT_DESCRIPTOR_SIZE: u32 = 12;

/// One descriptor of a received message as the receiver reads it: its type, its count (names of
/// an out-of-line ports array, bytes of out-of-line memory, 1 for a port), the disposition of
/// its rights, and the names they got in the receiver's space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedDescriptor {
    pub type_: u32,
    pub count: u32,
    pub disposition: MachMsgTypeName,
    pub names: Vec<MachPortName>,
}

/// A received message after copyout (names in the receiver's space).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMsg {
    pub msgh_bits: u32,
    pub msgh_remote_port: MachPortName,
    pub msgh_local_port: MachPortName,
    pub msgh_id: i32,
    /// The size user space reads (user layout, without the trailer).
    pub msgh_size: u32,
    pub ret_code: KernReturn,
    /// Copied-out descriptor rights: (name, disposition), OOL copies as (0, 0).
    pub descriptors: Vec<(MachPortName, MachMsgTypeName)>,
    /// Each descriptor as the receiver reads it, in order.
    pub body: Vec<ReceivedDescriptor>,
    pub ool: Vec<crate::ipc_kmsg::OolCopy>,
    /// The inline words after the header and descriptors (a notification's NDR record and its
    /// name or make-send count).
    pub inline_data: Vec<u32>,
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

/// The outcome of a header copyin: the message so far, and whether its body may carry
/// immovable send rights (to the kernel, or to a dead destination).
struct HeaderCopyin {
    kmsg: Kmsg,
    allow_immovable_send: bool,
}

impl Kernel {
    /// Models the descriptor checks of `ipc_validate_kmsg_schema_from_user` (osfmk/ipc/ipc_kmsg.c,
    /// xnu-11215.1.10), made before any right moves: a port disposition outside `MOVE_RECEIVE`
    /// through `MAKE_SEND_ONCE` is `MACH_SEND_INVALID_TYPE`.
    /// # Deviations
    /// A message without `MACH_MSGH_BITS_COMPLEX` that carries descriptors is
    /// `MACH_SEND_INVALID_HEADER` (in XNU they are plain data).
    fn ipc_validate_kmsg_schema(msg: &UserMsg) -> Result<(), KernReturn> {
        if msg.msgh_bits & MACH_MSGH_BITS_COMPLEX == 0 {
            return if msg.descriptors.is_empty() {
                Ok(())
            } else {
                Err(MACH_SEND_INVALID_HEADER)
            };
        }
        for d in &msg.descriptors {
            let disposition = match d {
                UserDescriptor::Port { disposition, .. }
                | UserDescriptor::OolPorts { disposition, .. } => *disposition,
                UserDescriptor::Ool { .. } => continue,
            };
            if !mach_msg_type_port_any(disposition) {
                return Err(MACH_SEND_INVALID_TYPE);
            }
        }
        Ok(())
    }

    /// Models `ipc_kmsg_copyin_header` (osfmk/ipc/ipc_kmsg.c, xnu-11215.1.10): destination, reply
    /// and voucher rights leave the sender's space, with XNU's checks in XNU's order. Errors:
    /// `MACH_SEND_INVALID_HEADER` (bits outside the user mask, a destination type that is not a
    /// send disposition, a reply type that is not one or a reply name without a type),
    /// `MACH_SEND_INVALID_DEST` (invalid or missing destination name, dead space, destination
    /// copyin failure, including a dead name and the joint copyins of destination and voucher),
    /// `MACH_SEND_INVALID_VOUCHER` (dead name, non-send type, missing entry, no send right, not a
    /// voucher port; guard exception), `MACH_SEND_INVALID_REPLY` (reply on the voucher's name,
    /// missing entry, `ipc_right_copyin_check_reply` refusal, or a joint destination and reply
    /// copyin refused with `KERN_INVALID_CAPABILITY`; guard exception). Nothing moves on an error,
    /// but rights found dead have become dead names.
    /// # Deviations
    /// No strict-reply option, importance, QoS, notify-on-full or port-deleted requests.
    fn ipc_kmsg_copyin_header(
        &self,
        space: SpaceId,
        msg: &UserMsg,
    ) -> Result<HeaderCopyin, KernReturn> {
        let bits = msg.msgh_bits;
        let (dest_type, reply_type) = (mach_msgh_bits_remote(bits), mach_msgh_bits_local(bits));
        let (dest_name, reply_name) = (msg.msgh_remote_port, msg.msgh_local_port);
        let reply_bad = if reply_type == 0 {
            reply_name != MACH_PORT_NULL
        } else {
            !mach_msg_type_port_any_send(reply_type)
        };
        if bits & !MACH_MSGH_BITS_USER != 0 || !mach_msg_type_port_any_send(dest_type) || reply_bad
        {
            return Err(MACH_SEND_INVALID_HEADER);
        }
        if !mach_port_valid(dest_name) {
            return Err(MACH_SEND_INVALID_DEST);
        }
        let mut sg = self.is_write_lock(space);
        if !sg.is_active {
            return Err(MACH_SEND_INVALID_DEST);
        }
        let (voucher_name, voucher_type) = match self.ipc_kmsg_copyin_voucher_check(&sg, msg) {
            Ok(v) => v,
            Err(name) => {
                drop(sg);
                self.mach_port_guard_exception(space, name, 0, K_GUARD_EXC_SEND_INVALID_VOUCHER);
                return Err(MACH_SEND_INVALID_VOUCHER);
            }
        };
        let mut released = Released::new();
        let copied = self.ipc_kmsg_copyin_header_rights(
            &mut sg,
            msg,
            (voucher_name, voucher_type),
            &mut released,
        );
        drop(sg);
        self.ipc_released_flush(released);
        let (dest, reply, voucher) = match copied {
            Ok(rights) => rights,
            Err(MACH_SEND_INVALID_REPLY) => {
                self.mach_port_guard_exception(
                    space,
                    reply_name,
                    0,
                    K_GUARD_EXC_SEND_INVALID_REPLY,
                );
                return Err(MACH_SEND_INVALID_REPLY);
            }
            Err(kr) => return Err(kr),
        };
        let dport = dest.id();
        let allow_immovable_send = {
            let g = self.ip_mq_lock(dport);
            let kernel_kobject = g.ip_kotype() != 0
                && matches!(g.receiver, Receiver::InSpace { space, .. } if space == IPC_SPACE_KERNEL);
            !g.ip_active() || kernel_kobject
        };
        let mut kmsg = Kmsg::alloc(32, msg.descriptors.len() as u32);
        kmsg.msgh_remote_port = dest;
        kmsg.msgh_local_port = reply;
        kmsg.msgh_voucher_port = voucher;
        let local = if reply_type != 0 {
            ipc_object_copyin_type(reply_type)
        } else {
            0
        };
        let voucher_bits = if IP_VALID(voucher) {
            MACH_MSG_TYPE_PORT_SEND
        } else {
            0
        };
        kmsg.msgh_bits = mach_msgh_bits_set(
            ipc_object_copyin_type(dest_type),
            local,
            voucher_bits,
            bits & MACH_MSGH_BITS_COMPLEX,
        );
        Ok(HeaderCopyin {
            kmsg,
            allow_immovable_send,
        })
    }

    /// The voucher checks of `ipc_kmsg_copyin_header`: the voucher's name and type (`MOVE_SEND`
    /// for a null name with a type, none without a type), or the name to raise the
    /// `MACH_SEND_INVALID_VOUCHER` guard exception on.
    fn ipc_kmsg_copyin_voucher_check(
        &self,
        sg: &SpaceGuard<'_>,
        msg: &UserMsg,
    ) -> Result<(MachPortName, MachMsgTypeName), MachPortName> {
        let voucher_type = mach_msgh_bits_voucher(msg.msgh_bits);
        if voucher_type == 0 {
            return Ok((MACH_PORT_NULL, 0));
        }
        let name = msg.msgh_voucher_port;
        let send =
            voucher_type == MACH_MSG_TYPE_MOVE_SEND || voucher_type == MACH_MSG_TYPE_COPY_SEND;
        if name == MACH_PORT_DEAD || !send {
            return Err(name);
        }
        if name == MACH_PORT_NULL {
            return Ok((MACH_PORT_NULL, MACH_MSG_TYPE_MOVE_SEND));
        }
        let is_voucher = sg
            .is_table
            .get(&name)
            .filter(|e| e.ie_bits & IE_BITS_SEND != 0)
            .and_then(|e| e.ie_object)
            .is_some_and(|p| self.ip_kotype(p) == IKOT_VOUCHER);
        if is_voucher {
            Ok((name, voucher_type))
        } else {
            Err(name)
        }
    }

    /// The three cases of `ipc_kmsg_copyin_header` once the voucher is checked: destination on
    /// the voucher's name, destination on the reply's name, or three names. Returns the
    /// destination, reply and voucher ports, or the `MACH_SEND_INVALID_*` code.
    fn ipc_kmsg_copyin_header_rights<'k>(
        &'k self,
        sg: &mut SpaceGuard<'k>,
        msg: &UserMsg,
        (voucher_name, voucher_type): (MachPortName, MachMsgTypeName),
        released: &mut Released,
    ) -> Result<(IpcPort, IpcPort, IpcPort), KernReturn> {
        let (dest_type, reply_type) = (
            mach_msgh_bits_remote(msg.msgh_bits),
            mach_msgh_bits_local(msg.msgh_bits),
        );
        let (dest_name, reply_name) = (msg.msgh_remote_port, msg.msgh_local_port);
        let dest_flags = IPC_OBJECT_COPYIN_FLAGS_ALLOW_REPLY_MAKE_SEND_ONCE
            | IPC_OBJECT_COPYIN_FLAGS_ALLOW_REPLY_MOVE_SEND_ONCE;
        let reply_flags = IPC_OBJECT_COPYIN_FLAGS_ALLOW_REPLY_MAKE_SEND_ONCE;
        let reply_valid = mach_port_valid(reply_name);
        // The reply's checks, shared by the voucher and three-name cases.
        let check_reply = |sg: &SpaceGuard<'_>| -> Result<(), KernReturn> {
            if !reply_valid {
                return Ok(());
            }
            if reply_name == voucher_name || !sg.is_table.contains_key(&reply_name) {
                return Err(MACH_SEND_INVALID_REPLY);
            }
            if !self.ipc_right_copyin_check_reply(sg, reply_name, reply_type, dest_name) {
                return Err(MACH_SEND_INVALID_REPLY);
            }
            Ok(())
        };
        let reply_deadok = IPC_OBJECT_COPYIN_FLAGS_DEADOK | reply_flags;
        if dest_name == voucher_name {
            if !sg.is_table.contains_key(&dest_name) {
                return Err(MACH_SEND_INVALID_DEST);
            }
            check_reply(sg)?;
            let flags = (IPC_OBJECT_COPYIN_FLAGS_NONE, IPC_OBJECT_COPYIN_FLAGS_NONE);
            let dest = self
                .ipc_right_copyin_two(sg, dest_name, dest_type, voucher_type, flags, released)
                .map_err(|_| MACH_SEND_INVALID_DEST)?;
            let reply =
                self.ipc_kmsg_copyin_reply(sg, reply_name, reply_type, reply_deadok, released);
            return Ok((dest, reply, dest));
        }
        if dest_name == reply_name {
            if !sg.is_table.contains_key(&dest_name) {
                return Err(MACH_SEND_INVALID_DEST);
            }
            if !self.ipc_right_copyin_check_reply(sg, reply_name, reply_type, dest_name) {
                return Err(MACH_SEND_INVALID_REPLY);
            }
            let flags = (dest_flags, reply_flags);
            let dest = self
                .ipc_right_copyin_two(sg, dest_name, dest_type, reply_type, flags, released)
                .map_err(|kr| match kr {
                    KERN_INVALID_CAPABILITY => MACH_SEND_INVALID_REPLY,
                    _ => MACH_SEND_INVALID_DEST,
                })?;
            let voucher = self.ipc_kmsg_copyin_voucher(sg, voucher_name, voucher_type, released);
            return Ok((dest, dest, voucher));
        }
        if !sg.is_table.contains_key(&dest_name) {
            return Err(MACH_SEND_INVALID_DEST);
        }
        check_reply(sg)?;
        let flags = IPC_OBJECT_COPYIN_FLAGS_ALLOW_IMMOVABLE_SEND
            | IPC_OBJECT_COPYIN_FLAGS_ALLOW_DEAD_SEND_ONCE
            | dest_flags;
        let dest = self
            .ipc_right_copyin(sg, dest_name, dest_type, flags, released)
            .map_err(|_| MACH_SEND_INVALID_DEST)?;
        let reply = self.ipc_kmsg_copyin_reply(sg, reply_name, reply_type, reply_deadok, released);
        let voucher = self.ipc_kmsg_copyin_voucher(sg, voucher_name, voucher_type, released);
        Ok((dest, reply, voucher))
    }

    /// The reply's copyin once checked (it cannot fail); an invalid name stands for itself.
    fn ipc_kmsg_copyin_reply<'k>(
        &'k self,
        sg: &mut SpaceGuard<'k>,
        name: MachPortName,
        reply_type: MachMsgTypeName,
        flags: IpcObjectCopyinFlags,
        released: &mut Released,
    ) -> IpcPort {
        if !mach_port_valid(name) {
            return if name == MACH_PORT_DEAD {
                IP_DEAD
            } else {
                IP_NULL
            };
        }
        let reply = self.ipc_right_copyin(sg, name, reply_type, flags, released);
        xnu_assert!(
            reply.is_ok(),
            "checked reply {name:#x} failed copyin: {reply:?}"
        );
        reply.unwrap_or(IP_NULL)
    }

    /// The voucher's copyin once checked (it cannot fail).
    fn ipc_kmsg_copyin_voucher<'k>(
        &'k self,
        sg: &mut SpaceGuard<'k>,
        name: MachPortName,
        voucher_type: MachMsgTypeName,
        released: &mut Released,
    ) -> IpcPort {
        if name == MACH_PORT_NULL {
            return IP_NULL;
        }
        let voucher = self.ipc_right_copyin(sg, name, voucher_type, 0, released);
        xnu_assert!(
            matches!(voucher, Ok(IpcPort::Port(_))),
            "checked voucher {name:#x} failed copyin: {voucher:?}"
        );
        voucher.unwrap_or(IP_NULL)
    }

    /// One name of a port descriptor (`ipc_kmsg_copyin_port_descriptor`): an invalid name stands
    /// for itself; a copyin failure is `MACH_SEND_INVALID_RIGHT` (guard exception for
    /// `KERN_INVALID_RIGHT`).
    fn ipc_kmsg_copyin_descriptor_name(
        &self,
        space: SpaceId,
        name: MachPortName,
        disposition: MachMsgTypeName,
        flags: IpcObjectCopyinFlags,
    ) -> Result<IpcPort, KernReturn> {
        if !mach_port_valid(name) {
            return Ok(if name == MACH_PORT_DEAD {
                IP_DEAD
            } else {
                IP_NULL
            });
        }
        self.ipc_object_copyin(space, name, disposition, flags)
            .map_err(|kr| {
                if kr == KERN_INVALID_RIGHT {
                    self.mach_port_guard_exception(space, name, 0, K_GUARD_EXC_SEND_INVALID_RIGHT);
                }
                MACH_SEND_INVALID_RIGHT
            })
    }

    /// Models `ipc_kmsg_copyin_body` (osfmk/ipc/ipc_kmsg.c, xnu-11215.1.10): each descriptor's
    /// rights in order (dead names allowed; immovable send rights only when `allow_immovable`).
    /// On a failure the message is destroyed: its header rights and the descriptors copied in
    /// so far are lost to the sender, as `ipc_kmsg_clean_header` and
    /// `ipc_kmsg_clean_descriptors` lose them; later descriptors' rights stay.
    /// # Deviations
    /// The circularity check of a moved receive right runs when the message is queued
    /// ([`Kernel::ipc_kmsg_send`]), not here.
    fn ipc_kmsg_copyin_body(
        &self,
        space: SpaceId,
        msg: &UserMsg,
        mut kmsg: Kmsg,
        allow_immovable: bool,
    ) -> Result<Kmsg, KernReturn> {
        let flags = if allow_immovable {
            IPC_OBJECT_COPYIN_FLAGS_ALLOW_IMMOVABLE_SEND
        } else {
            IPC_OBJECT_COPYIN_FLAGS_NONE
        };
        for d in &msg.descriptors {
            let kd = match d {
                UserDescriptor::Port { name, disposition } => {
                    match self.ipc_kmsg_copyin_descriptor_name(space, *name, *disposition, flags) {
                        Ok(port) => KDescriptor::Port {
                            name: port,
                            disposition: ipc_object_copyin_type(*disposition),
                        },
                        Err(kr) => {
                            self.ipc_kmsg_destroy(kmsg, IPC_KMSG_DESTROY_ALL);
                            return Err(kr);
                        }
                    }
                }
                UserDescriptor::OolPorts { names, disposition } => {
                    let mut ports = Vec::with_capacity(names.len());
                    for &n in names {
                        match self.ipc_kmsg_copyin_descriptor_name(space, n, *disposition, flags) {
                            Ok(port) => ports.push(port),
                            Err(kr) => {
                                let kd = ipc_object_copyin_type(*disposition);
                                for port in ports {
                                    self.ipc_object_destroy(port, kd);
                                }
                                self.ipc_kmsg_destroy(kmsg, IPC_KMSG_DESTROY_ALL);
                                return Err(kr);
                            }
                        }
                    }
                    KDescriptor::OolPorts {
                        ports,
                        disposition: ipc_object_copyin_type(*disposition),
                    }
                }
                UserDescriptor::Ool { size } => KDescriptor::Ool {
                    copy: Some(self.vm_map_copy_alloc()),
                    size: *size,
                },
            };
            kmsg.body.push(kd);
        }
        Ok(kmsg)
    }

    /// `mach_msg(MACH_SEND_MSG)` from `space` (`ipc_kmsg_copyin_from_user`, then delivery): the
    /// descriptor schema, the header's rights, the kobject descriptor limit
    /// (`MACH_SEND_TOO_LARGE`, header rights destroyed), the body's rights. A kobject
    /// destination is served synchronously and its reply delivered to the reply port.
    pub fn mach_msg_send(&self, space: SpaceId, msg: &UserMsg) -> KernReturn {
        if msg.msgh_bits & !MACH_MSGH_BITS_USER != 0 {
            return MACH_SEND_INVALID_HEADER;
        }
        if let Err(kr) = Self::ipc_validate_kmsg_schema(msg) {
            return kr;
        }
        let header = match self.ipc_kmsg_copyin_header(space, msg) {
            Ok(h) => h,
            Err(kr) => return kr,
        };
        let mut kmsg = header.kmsg;
        let dest = kmsg.msgh_remote_port.id();
        let complex = msg.msgh_bits & MACH_MSGH_BITS_COMPLEX != 0;
        if complex
            && self.ip_in_space_noauth(dest, IPC_SPACE_KERNEL)
            && msg.descriptors.len() as u32 > IPC_KOBJECT_DESC_MAX
        {
            self.ipc_kmsg_destroy(kmsg, IPC_KMSG_DESTROY_ALL);
            return MACH_SEND_TOO_LARGE;
        }
        if complex {
            kmsg = match self.ipc_kmsg_copyin_body(space, msg, kmsg, header.allow_immovable_send) {
                Ok(k) => k,
                Err(kr) => return kr,
            };
        }
        kmsg.msgh_id = msg.msgh_id;
        kmsg.inline_data = msg.inline_data.clone();
        kmsg.sender_task = self.is_write_lock(space).is_task;
        let body_count = if complex { MACH_MSG_BODY_SIZE } else { 0 };
        kmsg.msgh_size = MACH_MSG_KERNEL_HEADER_SIZE
            + body_count
            + MACH_MSG_KDESCRIPTOR_SIZE * kmsg.body.len() as u32
            + 4 * kmsg.inline_data.len() as u32;
        self.ipc_kmsg_send(dest, kmsg);
        MACH_MSG_SUCCESS
    }

    /// Models `ipc_kmsg_send`: dead destination → destroyed; kernel-received → served, and the
    /// reply sent on with [`Kernel::ipc_kmsg_send_reply`]; otherwise queued.
    pub fn ipc_kmsg_send(&self, dest: PortId, kmsg: Kmsg) {
        let g = self.ip_mq_lock(dest);
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
        let receives: Vec<PortId> = kmsg
            .body
            .iter()
            .flat_map(|d| match d {
                KDescriptor::Port {
                    name,
                    disposition: MACH_MSG_TYPE_PORT_RECEIVE,
                } => std::slice::from_ref(name),
                KDescriptor::OolPorts {
                    ports,
                    disposition: MACH_MSG_TYPE_PORT_RECEIVE,
                } => ports.as_slice(),
                _ => &[],
            })
            .filter_map(|&p| match p {
                IpcPort::Port(p) => Some(p),
                _ => None,
            })
            .collect();
        // Only a message carrying receive rights leaves the destination's lock for the
        // circularity walk: the others queue under the lock taken above.
        let mut g = g;
        if !receives.is_empty() {
            drop(g);
            if receives
                .iter()
                .any(|&p| self.ipc_port_check_circularity(p, dest))
            {
                // `MACH_MSGH_BITS_CIRCULAR`: the message would hold its own destination's
                // receive right (directly or through a chain of messages); it is destroyed.
                self.ipc_kmsg_destroy(kmsg, IPC_KMSG_DESTROY_ALL);
                return;
            }
            for &p in &receives {
                self.ip_mq_lock(p).ip_destination = Some(dest);
            }
            g = self.ip_mq_lock(dest);
            if !g.ip_active() {
                drop(g);
                self.ipc_kmsg_send_to_dead(dest, kmsg);
                return;
            }
        }
        g.ip_messages.push_back(kmsg);
    }

    /// Models `ipc_port_check_circularity` (osfmk/ipc/ipc_port.c): whether queueing receive right
    /// `port` in a message for `dest` closes a loop: `dest` is `port`, or is in transit in a
    /// message queued (through such a chain) on `port`.
    /// # Deviations
    /// The model checks when the message is queued (`ipc_kmsg_send`), where XNU checks at copyin
    /// and destroys the message at send; the outcome is the same. The chain is walked one port
    /// lock at a time, without `ipc_port_multiple_lock`.
    fn ipc_port_check_circularity(&self, port: PortId, dest: PortId) -> bool {
        let mut at = dest;
        for _ in 0..=self.ports.live_count() {
            if at == port {
                return true;
            }
            let Some(g) = self.ip_mq_lock_if_live(at) else {
                return false;
            };
            match (g.ip_active(), g.receiver, g.ip_destination) {
                (true, Receiver::InTransit, Some(next)) => at = next,
                _ => return false,
            }
        }
        false
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

    /// `mach_msg(MACH_RCV_MSG)` on `name`, a receive right or a port set (the first member, in
    /// name order, with a message): dequeues one message and copies it out.
    /// `MACH_RCV_INVALID_NAME` for a name that is neither, `MACH_RCV_TIMED_OUT` for an empty
    /// queue (the model never blocks).
    pub fn mach_msg_receive(
        &self,
        space: SpaceId,
        name: MachPortName,
    ) -> Result<ReceivedMsg, KernReturn> {
        let members: Vec<(MachPortName, PortId)> = {
            let sg = self.is_write_lock(space);
            let entry = sg.is_table.get(&name).ok_or(MACH_RCV_INVALID_NAME)?;
            if entry.ie_bits & IE_BITS_PORT_SET != 0 {
                let set = &sg.is_psets[&name];
                set.iter()
                    .map(|m| (*m, sg.is_table[m].ie_object.expect("a member receives")))
                    .collect()
            } else {
                let p = entry
                    .ie_object
                    .filter(|_| entry.ie_bits & IE_BITS_RECEIVE != 0)
                    .ok_or(MACH_RCV_INVALID_NAME)?;
                vec![(name, p)]
            }
        };
        for (member, p) in members {
            let kmsg = self.ip_mq_lock(p).ip_messages.pop_front();
            if let Some(kmsg) = kmsg {
                return Ok(self.ipc_kmsg_copyout(space, member, kmsg));
            }
        }
        Err(MACH_RCV_TIMED_OUT)
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
            msgh_size: ipc_kmsg_user_size(&kmsg),
            ret_code: kmsg.ret_code,
            descriptors: Vec::new(),
            body: Vec::new(),
            ool: Vec::new(),
            inline_data: kmsg.inline_data,
        };
        for d in kmsg.body {
            let rd = match d {
                KDescriptor::Port {
                    name: port,
                    disposition,
                } => {
                    let name = self.ipc_object_copyout(space, port, disposition, 0);
                    out.descriptors.push((name, disposition));
                    ReceivedDescriptor {
                        type_: MACH_MSG_PORT_DESCRIPTOR,
                        count: 1,
                        disposition,
                        names: vec![name],
                    }
                }
                KDescriptor::OolPorts { ports, disposition } => {
                    let mut names = Vec::with_capacity(ports.len());
                    for port in ports {
                        let name = self.ipc_object_copyout(space, port, disposition, 0);
                        out.descriptors.push((name, disposition));
                        names.push(name);
                    }
                    ReceivedDescriptor {
                        type_: MACH_MSG_OOL_PORTS_DESCRIPTOR,
                        count: names.len() as u32,
                        disposition,
                        names,
                    }
                }
                KDescriptor::Ool { copy, size } => {
                    out.ool.extend(copy);
                    ReceivedDescriptor {
                        type_: MACH_MSG_OOL_DESCRIPTOR,
                        count: size,
                        disposition: 0,
                        names: Vec::new(),
                    }
                }
            };
            out.body.push(rd);
        }
        out
    }
}

/// Models the size `ipc_kmsg_deflate` gives a message for user space: the kernel size less the
/// longer kernel header and, per port descriptor, the longer kernel descriptor.
pub fn ipc_kmsg_user_size(kmsg: &Kmsg) -> u32 {
    let ports = kmsg
        .body
        .iter()
        .filter(|d| matches!(d, KDescriptor::Port { .. }))
        .count() as u32;
    let shrink = (MACH_MSG_KERNEL_HEADER_SIZE - MACH_MSG_USER_HEADER_SIZE)
        + ports * (MACH_MSG_KDESCRIPTOR_SIZE - MACH_MSG_USER_PORT_DESCRIPTOR_SIZE);
    xnu_assert!(
        kmsg.msgh_size >= shrink + MACH_MSG_USER_HEADER_SIZE,
        "kmsg of {} bytes",
        kmsg.msgh_size
    );
    kmsg.msgh_size - shrink
}
