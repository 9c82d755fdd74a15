//! Injectable bugs: real XNU bugs and plausible mutations of the seed, off by default.
//!
//! Each is one `if kernel.bug(Bug::X)` at the place the real code went wrong, so detection has to
//! come from the general invariants (ledger, reply contract, MIG ownership, use-after-free),
//! never from a check that knows the bug. The documentation of each variant says what the real
//! code did and which invariant should fire.

use std::fmt;

macro_rules! bugs {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// One injectable bug.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Bug { $($(#[$doc])* $variant,)* }

        impl Bug {
            pub const ALL: &'static [Bug] = &[$(Bug::$variant,)*];

            pub fn name(self) -> &'static str {
                match self { $(Bug::$variant => $name,)* }
            }
        }
    };
}

bugs! {
    /// Lazy allocation race (design-derived, seed `ipc_kobject_make_send_lazy_alloc_port`): the
    /// compare-and-swap loser skips its undo (`ip_mscount = 0; ip_srights = 0; ip_release_live`).
    /// Expected: `ipc_kobject_dealloc_port` panics on the loser's send right (stable type), or
    /// the loser's port leaks at teardown.
    LazyAllocNoUndo = "lazy-alloc-no-undo",
    /// CVE-2016-7644 (P0 965, 2016): `set_dp_control_port` swapped a stored send right with no
    /// lock, so two threads release the same right. Modelled in the replace-stored-right routine.
    /// Expected: srights underflow, or a ledger mismatch / leak.
    ReplaceStoredRightUnlocked = "replace-stored-right-unlocked",
    /// CVE-2016-7612 (P0 926, 2016): `io_service_add_notification_ool` returned success on a bad
    /// dictionary without consuming the wake port right. Expected: a request right with no owner
    /// after a success reply (ledger leak at teardown).
    AddNotificationOolLeak = "add-notification-ool-leak",
    /// Pre-2016 `ipc_kobject_server` (Ian Beer, mach voucher UAF): an unknown msgh_id fell through
    /// to the no-senders handler. Expected: a no-senders callback with no armed request.
    UnknownIdSpoofedNoSenders = "unknown-id-spoofed-no-senders",
    /// CVE-2017-13861 "async_wake" (P0 1417, 2017): on a duplicate registration the routine
    /// released the incoming port right and then returned an error, so MIG released it again.
    /// Expected: srights underflow / a right released twice.
    AsyncWakeDoubleRelease = "async-wake-double-release",
    /// CVE-2019-6225 "voucher_swap" (P0 1731, 2019): `task_swap_mach_voucher` did
    /// `*in_out_old_voucher = new_voucher` and returned success: leaks the old voucher's input
    /// reference and over-releases the new one. Expected: voucher reference underflow / UAF.
    VoucherSwap = "voucher-swap",
    /// Mutation: `ipc_kobject_nsrequest_locked` arms without taking the port reference.
    /// Expected: reference ledger mismatch, then an underflow when the notification fires.
    NsrequestMissingReference = "nsrequest-missing-reference",
    /// Mutation: a no-senders handler deallocates with a stale make-send count (mscount + 1).
    /// Expected: XNU's "unexpected make-send count" panic.
    DeallocWrongMscount = "dealloc-wrong-mscount",
    /// Mutation: `ipc_kobject_server` forgets the "never reply to a kernel port" check.
    /// Expected: reply contract violation (a reply queued on a kernel-space port).
    ReplyToKernelPort = "reply-to-kernel-port",
    /// Mutation: `ipc_kobject_label_check` skips the space label comparison.
    /// Expected: label contract violation at copyout (a labeled right in an unlabeled space).
    SkipLabelCheck = "skip-label-check",
    /// Mutation (the class of bug where a request outlives its name): `ipc_right_dealloc`
    /// removes a send right's entry without `ipc_right_request_cancel`, so the dead-name request
    /// stays on the port and later fires for a name that may name something else by then.
    /// Expected: an orphaned request (`request-orphaned`).
    RequestLeftBehind = "request-left-behind",
    /// Mutation: `ipc_right_request_alloc` replaces a request and drops the previous one's
    /// send-once right instead of handing it back. Expected: a send-once right no holder owns
    /// (`send-once-right-conservation`).
    ReplacedRequestLeak = "replaced-request-leak",
    /// Mutation: `ipc_port_destroy` sends the port-destroyed notification but leaves
    /// `ip_pdrequest` set, so the send-once right it consumed is still the port's request (and
    /// is consumed again when the port dies for good). Expected: `request-conservation`, or a
    /// send-once right released twice.
    PdrequestNotCleared = "pdrequest-not-cleared",
}

impl Bug {
    pub fn from_name(name: &str) -> Option<Bug> {
        Bug::ALL.iter().copied().find(|b| b.name() == name)
    }
}

impl fmt::Display for Bug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The set of bugs a kernel was built with (a bit set: one test per injection point).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bugs(u32);

impl Bugs {
    pub const NONE: Bugs = Bugs(0);

    pub fn with(self, bug: Bug) -> Bugs {
        Bugs(self.0 | 1 << bug as u32)
    }

    pub fn one(bug: Option<Bug>) -> Bugs {
        bug.map_or(Bugs::NONE, |b| Bugs::NONE.with(b))
    }

    #[inline(always)]
    pub fn has(self, bug: Bug) -> bool {
        self.0 & (1 << bug as u32) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bug_name_round_trips() {
        for &b in Bug::ALL {
            assert_eq!(Bug::from_name(b.name()), Some(b));
            assert!(Bugs::one(Some(b)).has(b));
        }
        assert_eq!(Bug::from_name("no-such-bug"), None);
        assert!(!Bugs::NONE.has(Bug::VoucherSwap));
    }
}
