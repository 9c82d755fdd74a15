//! The ledger's own account of dead names and port sets: the user references each dead name
//! must have and the members each set must hold, derived from the operations user programs
//! performed, not read from the entries.
//!
//! # What it checks
//! At every [`Kernel::audit`] (in its walk of the spaces), each dead name of every live space has exactly the user
//! references this account derived, and every name the account holds is a dead name of its
//! space. The account applies XNU's rules itself: a dead name is born with the references of
//! the send right it replaced (1 for a send-once right or a new dead name); a release
//! (`mach_port_deallocate`, a moved copyin) takes one unless the count is pegged at
//! `MACH_PORT_UREFS_MAX`, and the last one removes the name; a delta (`mach_port_mod_refs`)
//! pegs an overflow at the maximum, which only `-MACH_PORT_UREFS_MAX` leaves; destroy and
//! space termination remove names. Each port set holds exactly the members the account derived
//! from allocation, insert / extract / move member, its destruction and its members' receive
//! rights leaving the space, and every member names a receive right of the set's space.
//!
//! # What it deliberately does not check
//! The references a dead name is born with are the send right's, as the model counted them: the
//! account does not track send rights' user references.
//!
//! # Reply ports
//! The account records every reply port `mach_port_construct` makes. Copyin refuses every right
//! to one but send-once rights and the receive right's staying put, so at each audit each such
//! port still live is still marked a reply port, has no send right, and its receive right is
//! not in transit.

use std::collections::{BTreeMap, BTreeSet};

use crate::ipc_port::{PortId, Receiver};
use crate::ipc_space::{SpaceGuard, MACH_PORT_TYPE_DEAD_NAME, MACH_PORT_UREFS_MAX};
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

impl Kernel {
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
            account.psets.remove(&space);
        });
    }

    /// The account's dead names, to be checked space by space during the audit's walk.
    pub(crate) fn dead_names_expected(&self) -> DeadNames {
        self.names_account.with(|account| account.dead.clone())
    }

    /// Checks one locked space's port sets against the account: the same sets with the same
    /// members, each member a receive right of the space.
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

    /// Checks the dead names of one locked space against the account, striking them off.
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
