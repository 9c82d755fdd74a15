//! Kernel messages: osfmk/ipc/ipc_kmsg.c and the right destruction of osfmk/ipc/ipc_object.c
//! (xnu-11215.1.10), in the kernel's form (ports already copied in, dispositions 16/17/18).

use crate::ipc_port::{IpcPort, IP_NULL, IP_VALID};
use crate::kernel::Kernel;
use crate::mach::*;
use crate::outcome::Finding;

/// An out-of-line memory copy object (`vm_map_copy_t`), tracked so a double discard is caught.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct OolCopy(pub u32);

/// A kernel descriptor (`mach_msg_kdescriptor_t`), dispositions already in their post-copyin form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KDescriptor {
    Port {
        name: IpcPort,
        disposition: MachMsgTypeName,
    },
    Ool {
        copy: Option<OolCopy>,
        size: u32,
    },
    OolPorts {
        ports: Vec<IpcPort>,
        disposition: MachMsgTypeName,
    },
}

/// `ipc_kmsg_t` with its header and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kmsg {
    pub msgh_bits: u32,
    pub msgh_size: u32,
    pub msgh_remote_port: IpcPort,
    pub msgh_local_port: IpcPort,
    pub msgh_voucher_port: IpcPort,
    pub msgh_id: i32,
    pub body: Vec<KDescriptor>,
    /// `RetCode` of a simple reply, read at header + 40 (`mig_reply_error_t`).
    pub ret_code: KernReturn,
    /// Descriptor capacity the kmsg was allocated with (`ipc_kmsg_alloc`'s `desc_count`).
    pub desc_capacity: u32,
    /// Inline data words of the request (routine arguments a stub reads).
    pub inline_data: Vec<u32>,
    /// The sending task (the trailer's audit token, as the kobject filter sees it).
    pub sender_task: Option<crate::kernel::ObjId>,
}

impl Kmsg {
    /// `ipc_kmsg_alloc(size, 0, desc_count, KERNEL|ZERO)`: a zeroed kernel message.
    pub fn alloc(size: u32, desc_count: u32) -> Kmsg {
        Kmsg {
            msgh_bits: 0,
            msgh_size: size,
            msgh_remote_port: IP_NULL,
            msgh_local_port: IP_NULL,
            msgh_voucher_port: IP_NULL,
            msgh_id: 0,
            body: Vec::new(),
            ret_code: KERN_SUCCESS,
            desc_capacity: desc_count,
            inline_data: Vec::new(),
            sender_task: None,
        }
    }

    pub fn is_complex(&self) -> bool {
        self.msgh_bits & MACH_MSGH_BITS_COMPLEX != 0
    }
}

impl Kernel {
    /// Models `ipc_object_destroy(port, disposition)`: releases one right of the given kind.
    pub fn ipc_object_destroy(&self, port: IpcPort, disposition: MachMsgTypeName) {
        let IpcPort::Port(p) = port else { return };
        match disposition {
            MACH_MSG_TYPE_PORT_SEND => self.ipc_port_release_send(port),
            MACH_MSG_TYPE_PORT_SEND_ONCE => {
                let g = self.ip_mq_lock(p);
                self.ipc_notify_send_once_and_unlock(g);
            }
            MACH_MSG_TYPE_PORT_RECEIVE => self.ipc_port_release_receive(p),
            other => xnu_panic!("ipc_object_destroy: strange rights {other}"),
        }
    }

    /// Models `ipc_kmsg_destroy(kmsg, flags)`: every right and copy the message still owns is
    /// released. The deferred reap queue of XNU is collapsed into an immediate reap.
    /// # Deviations
    /// Signing (`NOT_SIGNED`) has no effect: the model has no signatures to validate.
    pub fn ipc_kmsg_destroy(&self, mut kmsg: Kmsg, flags: u32) {
        if flags & IPC_KMSG_DESTROY_SKIP_REMOTE != 0 {
            kmsg.msgh_remote_port = IP_NULL;
        }
        if flags & IPC_KMSG_DESTROY_SKIP_LOCAL != 0 {
            kmsg.msgh_local_port = IP_NULL;
        }
        let bits = kmsg.msgh_bits;
        if IP_VALID(kmsg.msgh_remote_port) {
            match mach_msgh_bits_remote(bits) {
                MACH_MSG_TYPE_PORT_SEND | MACH_MSG_TYPE_PORT_SEND_ONCE => {
                    self.ipc_object_destroy(kmsg.msgh_remote_port, mach_msgh_bits_remote(bits))
                }
                other => xnu_panic!("ipc_object_destroy_dest: strange rights {other}"),
            }
        }
        if IP_VALID(kmsg.msgh_local_port) {
            self.ipc_object_destroy(kmsg.msgh_local_port, mach_msgh_bits_local(bits));
        }
        if IP_VALID(kmsg.msgh_voucher_port) {
            if mach_msgh_bits_voucher(bits) != MACH_MSG_TYPE_PORT_SEND {
                xnu_panic!("ipc_kmsg_clean: voucher disposition is not PORT_SEND");
            }
            self.ipc_object_destroy(kmsg.msgh_voucher_port, MACH_MSG_TYPE_PORT_SEND);
        }
        for desc in kmsg.body.drain(..) {
            self.ipc_kmsg_clean_descriptor(desc);
        }
    }

    fn ipc_kmsg_clean_descriptor(&self, desc: KDescriptor) {
        match desc {
            KDescriptor::Port { name, disposition } => self.ipc_object_destroy(name, disposition),
            KDescriptor::Ool { copy, .. } => {
                if let Some(copy) = copy {
                    self.vm_map_copy_discard(copy);
                }
            }
            KDescriptor::OolPorts { ports, disposition } => {
                for port in ports {
                    self.ipc_object_destroy(port, disposition);
                }
            }
        }
    }

    /// Models `ipc_kmsg_free`: frees memory only, never touches rights; the voucher right must
    /// have been taken out first (XNU asserts it).
    pub fn ipc_kmsg_free(&self, kmsg: Kmsg) {
        xnu_assert!(
            !IP_VALID(kmsg.msgh_voucher_port),
            "ipc_kmsg_free of message {} still holding voucher {:?}",
            kmsg.msgh_id,
            kmsg.msgh_voucher_port
        );
        drop(kmsg);
    }

    /// A new out-of-line copy object owned by whoever receives it.
    pub fn vm_map_copy_alloc(&self) -> OolCopy {
        self.ool.with(|o| {
            o.next += 1;
            o.live.insert(o.next);
            OolCopy(o.next)
        })
    }

    /// `vm_map_copy_discard`: a second discard of the same copy is a double free.
    pub fn vm_map_copy_discard(&self, copy: OolCopy) {
        let was_live = self.ool.with(|o| o.live.remove(&copy.0));
        if !was_live {
            Finding::violation(
                "ool-double-free",
                format!(
                    "vm_map_copy_discard of copy #{} that was already discarded",
                    copy.0
                ),
            )
            .raise();
        }
    }

    /// Number of out-of-line copies still owned by someone.
    #[inline]
    pub fn ool_live_count(&self) -> usize {
        self.ool.with(|o| o.live.len())
    }

    /// Models `ipc_port_release_receive`: destroys a port whose receive right the caller held
    /// (in limbo or in transit), consuming the receive right's reference.
    pub fn ipc_port_release_receive(&self, p: crate::ipc_port::PortId) {
        let mut g = self.ip_mq_lock(p);
        g.receiver = crate::ipc_port::Receiver::Limbo;
        self.ipc_port_destroy(g);
    }
}
