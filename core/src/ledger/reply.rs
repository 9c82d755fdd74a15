//! The reply contract a client of a kernel object relies on, checked where the reply leaves
//! the kernel and derived only from the request and the MIG table, never from the server's
//! own reply-building code: id = request id + 100, addressed to the request's reply port with
//! its disposition, and the layout of its kind. An error reply is a simple 44-byte
//! `mig_reply_error_t` with no right; a success reply has the routine's `max_reply_msg`, its
//! descriptor count and complex bit. A `MIG_NO_REPLY` request is owed exactly one later reply.

use crate::ipc_kmsg::Kmsg;
use crate::ipc_port::{IpcPort, IP_NULL, IP_VALID};
use crate::kernel::Kernel;
use crate::mach::*;
use crate::outcome::Finding;

/// What the client of one request may rely on for its reply, noted before dispatch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplyExpectation {
    id: i32,
    reply_port: IpcPort,
    reply_disposition: MachMsgTypeName,
}

impl ReplyExpectation {
    /// Whether the request carries a send-once reply right: then exactly one reply is owed.
    fn owes_one(&self) -> bool {
        self.reply_disposition == MACH_MSG_TYPE_PORT_SEND_ONCE && IP_VALID(self.reply_port)
    }
}

/// The layout a reply must have, from the MIG table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layout {
    size: u32,
    descriptors: u32,
    complex: bool,
}

const ERROR_LAYOUT: Layout = Layout {
    size: MIG_REPLY_ERROR_SIZE,
    descriptors: 0,
    complex: false,
};

impl Kernel {
    /// Notes what the reply to `request` owes its client (call before dispatching it). A
    /// request with a send-once reply right is owed one reply: from the server, or later from
    /// a routine that kept the right (`MIG_NO_REPLY`), possibly before the server returns.
    pub(crate) fn ledger_reply_expected(&self, request: &Kmsg) -> ReplyExpectation {
        let expected = ReplyExpectation {
            id: request.msgh_id,
            reply_port: request.msgh_local_port,
            reply_disposition: mach_msgh_bits_local(request.msgh_bits),
        };
        if expected.owes_one() {
            self.ledger.state.with(|s| s.owed.push(expected));
        }
        expected
    }

    /// The server returned `reply` for the request: it must fit the contract, and the request
    /// must not have been answered already.
    pub(crate) fn ledger_reply_returned(&self, expected: &ReplyExpectation, reply: &Kmsg) {
        self.ledger_reply_check(expected, reply);
        if expected.owes_one() && self.ledger_owed_take(|e| e == expected).is_none() {
            reply_violation(format!(
                "request {} was answered twice: by a deferred reply and by the server's reply",
                expected.id
            ));
        }
    }

    /// The later reply of a `MIG_NO_REPLY` routine: it must answer a request still owed one.
    pub(crate) fn ledger_deferred_reply(&self, reply: &Kmsg) {
        let expected = self.ledger_owed_take(|e| {
            e.reply_port == reply.msgh_remote_port && e.id.wrapping_add(100) == reply.msgh_id
        });
        let Some(expected) = expected else {
            reply_violation(format!(
                "a deferred reply (id {}) to {:?}, which no MIG_NO_REPLY request is owed: \
                 a second reply, or a reply nobody asked for",
                reply.msgh_id, reply.msgh_remote_port
            ));
        };
        self.ledger_reply_check(&expected, reply);
    }

    fn ledger_owed_take(
        &self,
        matches: impl Fn(&ReplyExpectation) -> bool,
    ) -> Option<ReplyExpectation> {
        self.ledger.state.with(|s| {
            let i = s.owed.iter().position(matches)?;
            Some(s.owed.swap_remove(i))
        })
    }

    /// Forgets owed replies whose reply right no holder has any longer (it died, and its
    /// send-once notification stood in for the reply). Only at quiescence.
    pub(super) fn ledger_owed_prune(&self, still_held: impl Fn(IpcPort) -> bool) {
        self.ledger
            .state
            .with(|s| s.owed.retain(|e| still_held(e.reply_port)));
    }

    /// Checks a kernel reply against what the client of its request was owed.
    pub(crate) fn ledger_reply_check(&self, expected: &ReplyExpectation, reply: &Kmsg) {
        let want_id = expected.id.wrapping_add(100);
        if reply.msgh_id != want_id {
            reply_violation(format!(
                "reply to request {} has id {}, not {want_id}",
                expected.id, reply.msgh_id
            ));
        }
        let want_bits = mach_msgh_bits_set(expected.reply_disposition, 0, 0, 0);
        if reply.msgh_remote_port != expected.reply_port
            || reply.msgh_bits & !MACH_MSGH_BITS_COMPLEX != want_bits
            || reply.msgh_local_port != IP_NULL
            || reply.msgh_voucher_port != IP_NULL
        {
            reply_violation(format!(
                "reply {want_id} goes to {:?} with bits {:#x} (local {:?}, voucher {:?}); the \
                 request's reply port is {:?} with disposition {}",
                reply.msgh_remote_port,
                reply.msgh_bits,
                reply.msgh_local_port,
                reply.msgh_voucher_port,
                expected.reply_port,
                expected.reply_disposition
            ));
        }
        let success = reply.is_complex() || reply.ret_code == KERN_SUCCESS;
        let want = if success {
            self.reply_layout(expected.id)
        } else {
            Some(ERROR_LAYOUT)
        };
        let got = Layout {
            size: reply.msgh_size,
            descriptors: reply.body.len() as u32,
            complex: reply.is_complex(),
        };
        if want != Some(got) {
            reply_violation(format!(
                "reply {want_id} (status {}) has layout {got:?}; its kind needs {want:?}",
                if success {
                    KERN_SUCCESS
                } else {
                    reply.ret_code
                }
            ));
        }
    }

    /// A success reply's layout from the MIG table (`None`: no routine can succeed on the id).
    fn reply_layout(&self, id: i32) -> Option<Layout> {
        let routine = self.mig_table().routine_by_id(id)?;
        Some(Layout {
            size: routine.max_reply_msg,
            descriptors: routine.reply_descr_count,
            complex: routine.reply_complex,
        })
    }
}

fn reply_violation(message: String) -> ! {
    Finding::violation("reply-contract", message).raise()
}
