//! Notifications: osfmk/ipc/ipc_notify.c (xnu-11215.1.10), the no-senders prepare / emit pair and
//! the send-once destruction path, as a kobject port sees them.

use crate::ipc_port::{IpcPort, NsRequest, PortGuard, IP_NULL};
use crate::kernel::{Kernel, IPC_SPACE_KERNEL};
use crate::mach::MachPortMscount;

/// `ipc_notify_nsenders_t`: carries the armed reference (kobject) or the notify send-once right
/// (ordinary port) from under the port lock to after the unlock.
#[must_use = "a prepared no-senders token owns a reference and must be emitted or consumed"]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoSendersToken {
    pub ns_notify: IpcPort,
    pub ns_mscount: MachPortMscount,
    pub ns_is_kobject: bool,
}

impl NoSendersToken {
    pub const NONE: NoSendersToken = NoSendersToken {
        ns_notify: IP_NULL,
        ns_mscount: 0,
        ns_is_kobject: false,
    };
}

/// The Mach notification message ids (osfmk/mach/notify.h): `MACH_NOTIFY_FIRST` plus an offset.
/// The kernel sends no-senders and send-once notifications to kobject ports itself; the others
/// are ids a user may send to any port, a kobject port included.
pub const MACH_NOTIFY_FIRST: i32 = 64;
pub const MACH_NOTIFY_PORT_DELETED: i32 = MACH_NOTIFY_FIRST + 1;
pub const MACH_NOTIFY_SEND_POSSIBLE: i32 = MACH_NOTIFY_FIRST + 2;
pub const MACH_NOTIFY_PORT_DESTROYED: i32 = MACH_NOTIFY_FIRST + 5;
pub const MACH_NOTIFY_NO_SENDERS: i32 = MACH_NOTIFY_FIRST + 6;
pub const MACH_NOTIFY_SEND_ONCE: i32 = MACH_NOTIFY_FIRST + 7;
pub const MACH_NOTIFY_DEAD_NAME: i32 = MACH_NOTIFY_FIRST + 8;

impl Kernel {
    /// Models `ipc_notify_no_senders_prepare`.
    /// # Conditions
    /// Port locked. An armed kobject request on an active port moves its reference into the
    /// token; on an inactive port that reference is dropped silently (`ip_release_live`).
    pub fn ipc_notify_no_senders_prepare(&self, g: &mut PortGuard<'_>) -> NoSendersToken {
        match g.ip_nsrequest {
            NsRequest::None => NoSendersToken::NONE,
            NsRequest::KobjectArmed => {
                g.ip_nsrequest = NsRequest::None;
                if g.ip_active() {
                    self.ledger_nsrequest_fired(g.id);
                    NoSendersToken {
                        ns_notify: IpcPort::Port(g.id),
                        ns_mscount: g.ip_mscount,
                        ns_is_kobject: true,
                    }
                } else {
                    self.ledger_nsrequest_dropped(g.id);
                    self.ip_release_live(g.id);
                    NoSendersToken::NONE
                }
            }
            NsRequest::Port(notify) => {
                g.ip_nsrequest = NsRequest::None;
                NoSendersToken {
                    ns_notify: IpcPort::Port(notify),
                    ns_mscount: g.ip_mscount,
                    ns_is_kobject: false,
                }
            }
        }
    }

    /// Models `ipc_notify_no_senders_emit`.
    /// # Conditions
    /// Nothing locked.
    pub fn ipc_notify_no_senders_emit(&self, token: NoSendersToken) {
        let IpcPort::Port(port) = token.ns_notify else {
            return;
        };
        if token.ns_is_kobject {
            self.ipc_kobject_notify_no_senders(port, token.ns_mscount);
        } else {
            self.ipc_notify_message(
                port,
                MACH_NOTIFY_NO_SENDERS,
                &[token.ns_mscount],
                Vec::new(),
            );
        }
    }

    /// Models `ipc_notify_send_once_and_unlock`: one send-once right (and its reference) is
    /// consumed. Dead port: silent release. Kernel-received port: the kobject callback.
    /// Otherwise a MACH_NOTIFY_SEND_ONCE message goes to the port.
    pub fn ipc_notify_send_once_and_unlock(&self, g: PortGuard<'_>) {
        if !g.ip_active() {
            self.ipc_port_release_sonce_and_unlock(g);
        } else if matches!(g.receiver, crate::ipc_port::Receiver::InSpace { space, .. } if space == IPC_SPACE_KERNEL)
        {
            self.ipc_kobject_notify_send_once_and_unlock(g);
        } else {
            let p = g.id;
            drop(g);
            self.ipc_notify_send_once(p);
        }
    }
}
