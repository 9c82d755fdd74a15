//! Models the dispatch half of osfmk/kern/ipc_kobject.c (xnu-11215.1.10): reply status and
//! initialisation, `ipc_kobject_server_internal` and `ipc_kobject_server`, in the seed's order.
//!
//! The ledger checks every reply against the client's contract as it leaves
//! `ipc_kobject_server` (see `ledger/reply.rs`), from the request and the MIG table alone; rights
//! conservation across the whole round trip is the ledger's audit.

use crate::ikot::IKOT_UEXT_OBJECT;
use crate::ipc_kmsg::Kmsg;
use crate::ipc_kobject_mig::{MigHash, MigTable, KOBJ_IDX_NOT_SET};
use crate::ipc_port::{PortId, IP_NULL, IP_VALID};
use crate::kernel::{Kernel, ObjId, IPC_SPACE_KERNEL};
use crate::mach::*;

/// `mac_task_kobj_msg_evaluate`: the MACF policy consulted for a filtered kobject call.
pub type KobjMsgEvaluate = fn(task: Option<ObjId>, msgh_id: i32, kobjidx: i32) -> KernReturn;

/// The MIG table a kernel dispatches through: the shared static table, or a private copy when a
/// test sets kobject filter indices or adds a synthetic subsystem.
pub enum MigTableRef {
    Static(&'static MigTable),
    Owned(Box<MigTable>),
}

impl std::ops::Deref for MigTableRef {
    type Target = MigTable;
    fn deref(&self) -> &MigTable {
        match self {
            MigTableRef::Static(t) => t,
            MigTableRef::Owned(t) => t,
        }
    }
}

impl Kernel {
    /// Models ipc_kobject_reply_status (osfmk/kern/ipc_kobject.c, xnu-11215.1.10): a complex
    /// reply implies success; otherwise `RetCode` sits right after the header.
    pub fn ipc_kobject_reply_status(&self, reply: &Kmsg) -> KernReturn {
        if reply.msgh_bits & MACH_MSGH_BITS_COMPLEX != 0 {
            return KERN_SUCCESS;
        }
        reply.ret_code
    }

    /// Models ipc_kobject_set_reply_error_status (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    fn ipc_kobject_set_reply_error_status(&self, reply: &mut Kmsg, kr: KernReturn) {
        xnu_assert!(
            !reply.is_complex(),
            "error status written into a complex reply"
        );
        reply.ret_code = kr;
    }

    /// Models ipc_kobject_init_reply (osfmk/kern/ipc_kobject.c, xnu-11215.1.10): a simple
    /// `mig_reply_error_t` to the request's reply port, id + 100. The reply right moves from the
    /// request's local port into the reply's remote port.
    fn ipc_kobject_init_reply(&self, reply: &mut Kmsg, request: &Kmsg, kr: KernReturn) {
        reply.msgh_size = MIG_REPLY_ERROR_SIZE;
        reply.msgh_bits = mach_msgh_bits_set(mach_msgh_bits_local(request.msgh_bits), 0, 0, 0);
        reply.msgh_remote_port = request.msgh_local_port;
        reply.msgh_local_port = IP_NULL;
        reply.msgh_voucher_port = IP_NULL;
        reply.msgh_id = request.msgh_id.wrapping_add(100);
        reply.ret_code = kr;
    }

    /// Models ipc_kobject_init_new_reply (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    fn ipc_kobject_init_new_reply(&self, new_reply: &mut Kmsg, old_reply: &Kmsg, kr: KernReturn) {
        new_reply.msgh_size = MIG_REPLY_ERROR_SIZE;
        new_reply.msgh_bits = old_reply.msgh_bits & !MACH_MSGH_BITS_COMPLEX;
        new_reply.msgh_remote_port = old_reply.msgh_remote_port;
        new_reply.msgh_local_port = IP_NULL;
        new_reply.msgh_voucher_port = IP_NULL;
        new_reply.msgh_id = old_reply.msgh_id;
        new_reply.ret_code = kr;
    }

    /// Models ipc_kobject_alloc_mig_error (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    fn ipc_kobject_alloc_mig_error(&self) -> Kmsg {
        Kmsg::alloc(MIG_REPLY_ERROR_SIZE, 0)
    }

    /// Models ipc_kobject_server_internal (osfmk/kern/ipc_kobject.c, xnu-11215.1.10): looks the
    /// id up, pre-initialises the reply, applies the kobject filter, runs the stub, and shrinks an
    /// oversized error reply. Returns the reply (`None` for `MIG_NO_REPLY`).
    /// # Conditions
    /// Nothing locked.
    fn ipc_kobject_server_internal(&self, _port: PortId, request: &mut Kmsg) -> Option<Kmsg> {
        let table = &*self.mig;
        let entry = table.find_mig_hash_entry(request.msgh_id).cloned();
        let (reply_size, reply_desc_cnt) = entry.as_ref().map_or((MIG_REPLY_ERROR_SIZE, 0), |e| {
            (e.kreply_size, e.kreply_desc_cnt)
        });
        xnu_assert!(
            reply_size >= MIG_REPLY_ERROR_SIZE,
            "reply size {reply_size} below 44"
        );
        let mut reply = Kmsg::alloc(reply_size, reply_desc_cnt);
        let Some(entry) = entry else {
            if self.bug(crate::bugs::Bug::UnknownIdSpoofedNoSenders) {
                // The pre-2016 fall-through: an unknown id is treated as a notification.
                self.ipc_kobject_notify_no_senders(request.msgh_remote_port.id(), 0);
            }
            self.ipc_kobject_init_reply(&mut reply, request, MIG_BAD_ID);
            return Some(reply);
        };
        self.ipc_kobject_init_reply(&mut reply, request, KERN_SUCCESS);
        if let Some(kr) = self.kobject_filter_verdict(&entry, request) {
            self.ipc_kobject_set_reply_error_status(&mut reply, kr);
        } else {
            let desc = table.routine(&entry);
            crate::mig_routines::mig_stub(self, desc, request, &mut reply);
        }
        let reply_status = self.ipc_kobject_reply_status(&reply);
        if reply_status == MIG_NO_REPLY {
            self.ipc_kmsg_free(reply);
            return None;
        }
        if reply_status != KERN_SUCCESS && reply_size > MIG_REPLY_ERROR_SIZE {
            xnu_assert!(
                reply.msgh_size == MIG_REPLY_ERROR_SIZE,
                "error reply has size {}",
                reply.msgh_size
            );
            let mut new_reply = self.ipc_kobject_alloc_mig_error();
            self.ipc_kobject_init_new_reply(&mut new_reply, &reply, reply_status);
            xnu_assert!(!reply.is_complex(), "error reply is complex");
            xnu_assert!(
                reply.msgh_local_port == IP_NULL,
                "error reply has a local port"
            );
            xnu_assert!(
                reply.msgh_voucher_port == IP_NULL,
                "error reply has a voucher"
            );
            self.ipc_kmsg_free(reply);
            reply = new_reply;
        }
        Some(reply)
    }

    /// The CONFIG_MACF kobject filter: `Some(verdict)` when the policy refused the call.
    fn kobject_filter_verdict(&self, entry: &MigHash, request: &Kmsg) -> Option<KernReturn> {
        let evaluate = self.mac_task_kobj_msg_evaluate?;
        let idx = entry.kobjidx;
        if idx == KOBJ_IDX_NOT_SET {
            return None;
        }
        let task = request.sender_task?;
        let mask = self.object_state(task).kobj_filter_mask?;
        let allowed = mask
            .get(idx as usize / 8)
            .is_some_and(|byte| byte & (1 << (idx % 8)) != 0);
        if allowed {
            return None;
        }
        let kr = evaluate(Some(task), request.msgh_id, idx);
        (kr != KERN_SUCCESS).then_some(kr)
    }

    /// Models ipc_kobject_server (osfmk/kern/ipc_kobject.c, xnu-11215.1.10): dispatches, releases
    /// the destination and voucher rights, frees or destroys the request, and drops a reply that
    /// has nowhere valid to go. Ownership of the request's rights passes to the routine on
    /// success; on error the request is destroyed without its local and remote rights.
    /// # Conditions
    /// Nothing locked.
    /// # Deviations
    /// `IKOT_UEXT_OBJECT` (DriverKit) is an extension point: the model answers
    /// `KERN_INVALID_NAME`, which `uext_server` returns for a port that is not a server.
    pub fn ipc_kobject_server(&self, port: PortId, mut request: Kmsg) -> Option<Kmsg> {
        let expected = self.ledger_reply_expected(&request);
        let mut reply = if self.ip_kotype(port) == IKOT_UEXT_OBJECT {
            let mut reply = self.ipc_kobject_alloc_mig_error();
            self.ipc_kobject_init_reply(&mut reply, &request, KERN_INVALID_NAME);
            Some(reply)
        } else {
            self.ipc_kobject_server_internal(port, &mut request)
        };
        match mach_msgh_bits_remote(request.msgh_bits) {
            MACH_MSG_TYPE_PORT_SEND => self.ipc_port_release_send(request.msgh_remote_port),
            MACH_MSG_TYPE_PORT_SEND_ONCE => self.ipc_port_release_sonce(request.msgh_remote_port),
            _ => xnu_panic!("ipc_kobject_server: strange destination rights"),
        }
        let voucher = request.msgh_voucher_port;
        if IP_VALID(voucher) {
            xnu_assert!(
                mach_msgh_bits_voucher(request.msgh_bits) == MACH_MSG_TYPE_PORT_SEND,
                "voucher right is not a send right"
            );
            self.ipc_port_release_send(voucher);
            request.msgh_voucher_port = IP_NULL;
        }
        let success = reply
            .as_ref()
            .is_none_or(|r| self.ipc_kobject_reply_status(r) == KERN_SUCCESS);
        if success {
            self.ipc_kmsg_free(request);
        } else {
            self.ipc_kmsg_destroy(
                request,
                IPC_KMSG_DESTROY_SKIP_LOCAL | IPC_KMSG_DESTROY_SKIP_REMOTE,
            );
        }
        let r = reply.take()?;
        self.ledger_reply_returned(&expected, &r);
        let reply_port = r.msgh_remote_port;
        if !IP_VALID(reply_port) {
            self.ipc_kmsg_destroy(r, IPC_KMSG_DESTROY_NOT_SIGNED);
            return None;
        }
        if self.ip_in_space_noauth(reply_port.id(), IPC_SPACE_KERNEL)
            && !self.bug(crate::bugs::Bug::ReplyToKernelPort)
        {
            self.ipc_kmsg_destroy(r, IPC_KMSG_DESTROY_NOT_SIGNED);
            return None;
        }
        Some(r)
    }

    /// The table this kernel dispatches through.
    pub fn mig_table(&self) -> &MigTable {
        &self.mig
    }

    /// Gives the kernel a private copy of its MIG table (to set filter indices).
    pub fn mig_table_mut(&mut self) -> &mut MigTable {
        if let MigTableRef::Static(t) = self.mig {
            self.mig = MigTableRef::Owned(Box::new(t.clone()));
        }
        match &mut self.mig {
            MigTableRef::Owned(t) => t,
            MigTableRef::Static(_) => unreachable!(),
        }
    }

    /// Installs the MACF `mac_task_kobj_msg_evaluate` hook.
    pub fn set_mac_task_kobj_msg_evaluate(&mut self, hook: Option<KobjMsgEvaluate>) {
        self.mac_task_kobj_msg_evaluate = hook;
    }
}
