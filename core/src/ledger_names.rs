//! The ledger's own account of names: the user references each send right, send-once right and
//! dead name must have and the members each set must hold, derived from the operations user
//! programs performed, not read from the entries.
//!
//! # What it checks
//! At every [`Kernel::audit`] (in its walk of the spaces), each entry of every live space with a
//! send or send-once right has exactly the right and the user references this account derived
//! (`urefs-mismatch`), and the account holds no right a space lost. The account applies XNU's
//! rules itself: a send right copied out to a name adds one user reference, none past
//! `MACH_PORT_UREFS_MAX` (`ipc_right_copyout` leaves a pegged count pegged and consumes the
//! right); a send-once right copied out takes a new name with one; a moved copyin or
//! `mach_port_deallocate` takes one send reference unless pegged, and the last one takes the
//! right; `mach_port_mod_refs` on the send right applies the delta with XNU's pegging; destroy,
//! a consumed send-once right and space termination take the name's rights whole.
//!
//! Each dead name of every live space has exactly the user references this account derived,
//! and every name the account holds is a dead name of its space. A dead name is born with the
//! references the account holds for the send right it replaced (1 for a send-once right or a
//! new dead name); a release
//! (`mach_port_deallocate`, a moved copyin) takes one unless the count is pegged at
//! `MACH_PORT_UREFS_MAX`, and the last one removes the name; a delta (`mach_port_mod_refs`)
//! pegs an overflow at the maximum, which only `-MACH_PORT_UREFS_MAX` leaves; destroy and
//! space termination remove names. Each port set holds exactly the members the account derived
//! from allocation, insert / extract / move member, its destruction and its members' receive
//! rights leaving the space, and every member names a receive right of the set's space.
//!
//! # What it deliberately does not check
//! Receive rights and port sets carry no user references of their own here: an entry holding
//! neither a send nor a send-once right must have none, which the walk checks without a record.
//!
//! # Reply ports
//! The account records every reply port `mach_port_construct` makes. Copyin refuses every right
//! to one but send-once rights and the receive right's staying put, so at each audit each such
//! port still live is still marked a reply port, has no send right, and its receive right is
//! not in transit.

use std::collections::{BTreeMap, BTreeSet};

use crate::ipc_port::{PortId, Receiver};
use crate::ipc_space::{
    SpaceGuard, IE_BITS_SEND, IE_BITS_SEND_ONCE, MACH_PORT_TYPE_DEAD_NAME, MACH_PORT_UREFS_MAX,
};
use crate::kernel::{Kernel, SpaceId};
use crate::mach::MachPortName;
use crate::outcome::Finding;

/// What happened to a dead name, as the right layer reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DeadNameEvent {
    /// The name became (or was allocated as) a dead name with these user references.
    Born(u32),
    /// One user reference went.
    Release,
    /// `mach_port_mod_refs(MACH_PORT_RIGHT_DEAD_NAME, delta)` succeeded.
    Delta(i32),
    /// A dead-name notification for the name was sent (or is on its way from the port's death):
    /// one more user reference, unless pegged.
    Notified,
    /// The name went whole (destroy, space termination).
    Gone,
}

/// Dead names' user references, per space and name.
pub(crate) type DeadNames = BTreeMap<(SpaceId, MachPortName), u32>;

/// What happened to the send or send-once right of a name, as the user-visible operation that
/// changed it reports it (never the arithmetic it did).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UrefsEvent {
    /// A send right was copied out (or inserted) to the name.
    SendIn,
    /// A send-once right was copied out to a new name.
    SendOnceIn,
    /// One user reference of the send right left (a moved copyin, a dealloc).
    SendOut,
    /// `mach_port_mod_refs(MACH_PORT_RIGHT_SEND, delta)` succeeded.
    SendDelta(i32),
    /// The name's send or send-once right went whole (destroy, a consumed send-once right).
    Gone,
    /// The right's port died: the name became a dead name with the right's user references.
    Died,
    /// `mach_port_destroy`: whatever right the name held went with it (a receive right alone
    /// holds none the account tracks).
    Destroyed,
}

/// The send or send-once right a name holds, as the account derived it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NameRight {
    pub(crate) urefs: u32,
    pub(crate) send_once: bool,
}

/// Send and send-once rights' user references, per space and name.
pub(crate) type NameRights = BTreeMap<(SpaceId, MachPortName), NameRight>;

/// What happened to a port set or its membership.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PsetEvent {
    Born(MachPortName),
    Gone(MachPortName),
    /// `member` joined set `set`.
    MemberIn {
        set: MachPortName,
        member: MachPortName,
    },
    /// `member` left set `set`.
    MemberOut {
        set: MachPortName,
        member: MachPortName,
    },
    /// The receive right `member` left the space, and every set.
    ReceiveLeft(MachPortName),
}

/// The account: dead names, and each space's sets with their members.
#[derive(Default)]
pub(crate) struct NamesAccount {
    pub(crate) dead: DeadNames,
    pub(crate) rights: NameRights,
    pub(crate) psets: BTreeMap<SpaceId, BTreeMap<MachPortName, BTreeSet<MachPortName>>>,
    pub(crate) reply_ports: BTreeSet<PortId>,
}

/// The account's own arithmetic for `Delta`: XNU's pegging rules.
fn apply_delta(urefs: u32, delta: i32) -> u32 {
    let max = MACH_PORT_UREFS_MAX as i64;
    let (urefs, delta) = (urefs as i64, delta as i64);
    if urefs == max {
        return if delta == -max { 0 } else { urefs as u32 };
    }
    (urefs + delta).clamp(0, max) as u32
}

/// The account's own rule for one event on a name's right: the right after it, or the message
/// of a finding when the event does not fit what the account holds.
fn apply_urefs_event(
    right: Option<NameRight>,
    event: UrefsEvent,
) -> Result<Option<NameRight>, &'static str> {
    let send = |urefs| {
        Some(NameRight {
            urefs,
            send_once: false,
        })
    };
    match (event, right) {
        (UrefsEvent::SendIn, None) => Ok(send(1)),
        (UrefsEvent::SendIn, Some(r)) if !r.send_once => {
            Ok(send((r.urefs + 1).min(MACH_PORT_UREFS_MAX)))
        }
        (UrefsEvent::SendOnceIn, None) => Ok(Some(NameRight {
            urefs: 1,
            send_once: true,
        })),
        (UrefsEvent::SendOut, Some(r)) if !r.send_once => Ok(match r.urefs {
            MACH_PORT_UREFS_MAX => Some(r),
            1 => None,
            n => send(n - 1),
        }),
        (UrefsEvent::SendDelta(delta), Some(r)) if !r.send_once => {
            Ok(Some(apply_delta(r.urefs, delta))
                .filter(|&n| n > 0)
                .and_then(send))
        }
        (UrefsEvent::Gone | UrefsEvent::Died, Some(_)) | (UrefsEvent::Destroyed, _) => Ok(None),
        (UrefsEvent::SendIn, Some(_)) => Err("a send right joined a send-once name"),
        (UrefsEvent::SendOnceIn, Some(_)) => Err("a send-once right took a name in use"),
        (_, _) => Err("a right left a name that held none of its kind"),
    }
}

impl Kernel {
    /// Records an event of the send or send-once right of `name` in `space`. A death moves the
    /// right's user references to the dead name it leaves.
    pub(crate) fn ledger_urefs(&self, space: SpaceId, name: MachPortName, event: UrefsEvent) {
        let outcome = self.names_account.with(|account| {
            let key = (space, name);
            let before = account.rights.get(&key).copied();
            let after = apply_urefs_event(before, event)?;
            match after {
                Some(r) => account.rights.insert(key, r),
                None => account.rights.remove(&key),
            };
            if let (UrefsEvent::Died, Some(r)) = (event, before) {
                let previous = account.dead.insert(key, r.urefs);
                assert!(
                    previous.is_none(),
                    "{space:?} {name:#x}: dead name born twice"
                );
            }
            Ok::<(), &'static str>(())
        });
        if let Err(what) = outcome {
            Finding::violation(
                "urefs-mismatch",
                format!("{space:?} name {name:#x}: {event:?}, but {what}"),
            )
            .raise();
        }
    }

    /// Records an event of dead name `name` of `space`.
    pub(crate) fn ledger_dead_name(
        &self,
        space: SpaceId,
        name: MachPortName,
        event: DeadNameEvent,
    ) {
        self.names_account.with(|account| {
            let names = &mut account.dead;
            let key = (space, name);
            match event {
                DeadNameEvent::Born(urefs) => {
                    let previous = names.insert(key, urefs);
                    assert!(previous.is_none(), "{space:?} {name:#x}: dead name born twice");
                }
                DeadNameEvent::Gone => {
                    names.remove(&key);
                }
                DeadNameEvent::Release | DeadNameEvent::Delta(_) | DeadNameEvent::Notified => {
                    let Some(&urefs) = names.get(&key) else {
                        panic!("{space:?} {name:#x}: event {event:?} on a name the ledger never saw die");
                    };
                    let after = match event {
                        DeadNameEvent::Release if urefs == MACH_PORT_UREFS_MAX => urefs,
                        DeadNameEvent::Release => urefs - 1,
                        DeadNameEvent::Delta(delta) => apply_delta(urefs, delta),
                        DeadNameEvent::Notified => apply_delta(urefs, 1),
                        _ => unreachable!(),
                    };
                    if after == 0 {
                        names.remove(&key);
                    } else {
                        names.insert(key, after);
                    }
                }
            }
        });
    }

    /// Records a port-set event of `space`.
    pub(crate) fn ledger_pset(&self, space: SpaceId, event: PsetEvent) {
        self.names_account.with(|account| {
            let sets = account.psets.entry(space).or_default();
            match event {
                PsetEvent::Born(set) => {
                    let fresh = sets.insert(set, BTreeSet::new()).is_none();
                    assert!(fresh, "{space:?} set {set:#x} born twice");
                }
                PsetEvent::Gone(set) => {
                    sets.remove(&set);
                }
                PsetEvent::MemberIn { set, member } => {
                    sets.entry(set).or_default().insert(member);
                }
                PsetEvent::MemberOut { set, member } => {
                    sets.entry(set).or_default().remove(&member);
                }
                PsetEvent::ReceiveLeft(member) => {
                    for members in sets.values_mut() {
                        members.remove(&member);
                    }
                }
            }
        });
    }

    /// Records a reply port `mach_port_construct` made.
    pub(crate) fn ledger_reply_port(&self, p: PortId) {
        self.names_account
            .with(|account| account.reply_ports.insert(p));
    }

    /// Checks the recorded reply ports (see the module header); freed ones are forgotten.
    #[inline]
    pub(crate) fn audit_reply_ports(&self) -> Result<(), Finding> {
        let ports: Vec<PortId> = self
            .names_account
            .with(|account| account.reply_ports.iter().copied().collect());
        for p in ports {
            if !self.port_is_live(p) {
                self.names_account
                    .with(|account| account.reply_ports.remove(&p));
                continue;
            }
            let g = self.ip_mq_lock(p);
            let broken = if g.ip_reply_port_semantics != crate::mach::PORT_MARK_REPLY_PORT {
                Some("is no longer marked a reply port")
            } else if g.ip_srights != 0 {
                Some("has a send right")
            } else if g.receiver == Receiver::InTransit {
                Some("has its receive right in transit")
            } else {
                None
            };
            if let Some(what) = broken {
                let message = format!("reply port {p} {what}");
                return Err(Finding::violation("reply-port-state", message));
            }
        }
        Ok(())
    }

    /// Forgets every dead name and set of a dying space.
    pub(crate) fn ledger_names_space_gone(&self, space: SpaceId) {
        self.names_account.with(|account| {
            account.dead.retain(|&(s, _), _| s != space);
            account.rights.retain(|&(s, _), _| s != space);
            account.psets.remove(&space);
        });
    }

    /// The account's dead names, to be checked space by space during the audit's walk.
    #[inline]
    pub(crate) fn dead_names_expected(&self) -> DeadNames {
        self.names_account.with(|account| account.dead.clone())
    }

    /// Checks one locked space's port sets against the account: the same sets with the same
    /// members, each member a receive right of the space.
    #[inline]
    pub(crate) fn audit_psets_of(&self, sg: &SpaceGuard<'_>) -> Result<(), Finding> {
        let space = sg.id;
        let want = self
            .names_account
            .with(|account| account.psets.get(&space).cloned().unwrap_or_default());
        let violation = |message: String| Err(Finding::violation("pset-membership", message));
        if want != sg.is_psets {
            return violation(format!(
                "{space:?} sets {:?}, the ledger derived {want:?}",
                sg.is_psets
            ));
        }
        for (set, members) in &sg.is_psets {
            for member in members {
                let receives = sg
                    .is_table
                    .get(member)
                    .is_some_and(|e| e.ie_bits & crate::ipc_space::IE_BITS_RECEIVE != 0);
                if !receives {
                    return violation(format!(
                        "{space:?} set {set:#x} holds {member:#x}, which is no receive right"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Checks the send and send-once rights of one locked space against the account (see the
    /// module header); `matched` counts the account's rights found, for
    /// [`Kernel::audit_urefs_left`]. Allocates nothing: one lookup per entry with a right.
    #[inline]
    pub(crate) fn audit_urefs_of(
        &self,
        sg: &SpaceGuard<'_>,
        matched: &mut usize,
    ) -> Result<(), Finding> {
        let space = sg.id;
        self.names_account.with(|account| {
            for (&name, entry) in &sg.is_table {
                let ty = entry.ie_type();
                if ty == MACH_PORT_TYPE_DEAD_NAME {
                    continue;
                }
                let want = account.rights.get(&(space, name)).copied();
                *matched += want.is_some() as usize;
                let send_once = ty & IE_BITS_SEND_ONCE != 0;
                let has = ty & (IE_BITS_SEND | IE_BITS_SEND_ONCE) != 0;
                let fits = match want {
                    None => !has && entry.urefs == 0,
                    Some(r) => has && r.send_once == send_once && r.urefs == entry.urefs,
                };
                if !fits {
                    return Err(Finding::violation(
                        "urefs-mismatch",
                        format!(
                            "{space:?} name {name:#x} (type {ty:#x}) has {} user references, \
                             the ledger derived {want:?} from the operations on it",
                            entry.urefs
                        ),
                    ));
                }
            }
            Ok(())
        })
    }

    /// After every space: a right the account still holds that no entry matched has vanished
    /// from its space.
    #[inline]
    pub(crate) fn audit_urefs_left(&self, matched: usize) -> Result<(), Finding> {
        let lost = self.names_account.with(|account| {
            (account.rights.len() != matched).then(|| account.rights.len() - matched)
        });
        match lost {
            None => Ok(()),
            Some(n) => Err(Finding::violation(
                "urefs-mismatch",
                format!(
                    "{n} send or send-once right(s) the ledger derived vanished from their spaces"
                ),
            )),
        }
    }

    /// Checks the dead names of one locked space against the account, striking them off.
    #[inline]
    pub(crate) fn audit_dead_names_of(
        sg: &SpaceGuard<'_>,
        want: &mut DeadNames,
    ) -> Result<(), Finding> {
        let space = sg.id;
        for (&name, entry) in &sg.is_table {
            if entry.ie_type() != MACH_PORT_TYPE_DEAD_NAME {
                continue;
            }
            match want.remove(&(space, name)) {
                Some(urefs) if urefs == entry.urefs => {}
                expected => {
                    return Err(Finding::violation(
                        "dead-name-urefs",
                        format!(
                            "{space:?} dead name {name:#x} has {} user references, the ledger \
                             derived {expected:?}",
                            entry.urefs
                        ),
                    ))
                }
            }
        }
        Ok(())
    }

    /// After every space: a dead name the account still holds has vanished from its space.
    #[inline]
    pub(crate) fn audit_dead_names_left(want: DeadNames) -> Result<(), Finding> {
        match want.into_iter().next() {
            None => Ok(()),
            Some(((space, name), urefs)) => Err(Finding::violation(
                "dead-name-urefs",
                format!("{space:?} lost dead name {name:#x}, which had {urefs} user references"),
            )),
        }
    }
}
