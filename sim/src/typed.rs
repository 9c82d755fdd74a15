//! The MIG table as call descriptions, as syzkaller's descriptions type system calls: for each
//! routine, the kind of port its target conversion accepts, the kinds and dispositions of the
//! port arguments its stub checks, its out-of-line memory, and a small set of interesting inline
//! values. `world.rs` turns an [`Action::Call`](crate::lang::Action::Call) into a message from
//! these, filling each argument from a right of the right kind.
//!
//! Everything here is derived from the table and the model's routine conventions
//! (`mig_target_kotypes`, `mig_well_formed_words`, the selectors), never written per routine or
//! per bug.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use kobject::ikot::*;
use kobject::ipc_kobject_mig::{
    kernel_subsystems, MigKind, MigPortKind, MigRoutineDesc, MigTable, MACH_MSG_TYPE_POLYMORPHIC,
};
use kobject::ipc_notify::{MACH_NOTIFY_DEAD_NAME, MACH_NOTIFY_FIRST};
use kobject::mach::*;
use kobject::mig_routines::{
    mig_table_with_synthetic, mig_target_kotypes, mig_well_formed_words, synthetic_subsystem,
    MIG_SELECT_ALT, MIG_SELECT_FAIL,
};

use crate::lang::{GenericKind, PermanentKind, Source, TaskPortKind, ThreadPortKind};

/// Size of the out-of-line memory a typed call carries.
pub const OOL_BYTES: u32 = 4096;

/// The MIG table every kernel of the one world dispatches through: the kernel's subsystems and
/// the synthetic deferred-reply routine, built once per process.
pub fn mig_table() -> &'static MigTable {
    static TABLE: OnceLock<MigTable> = OnceLock::new();
    TABLE.get_or_init(mig_table_with_synthetic)
}

/// The routine `id` names in [`mig_table`].
pub fn routine(id: i32) -> Option<&'static MigRoutineDesc> {
    let table = mig_table();
    table.find_mig_hash_entry(id).map(|e| table.routine(e))
}

/// The routines a typed call can name (the table's hashed routines: skips are never hashed),
/// in ascending id order (the synthetic routine last).
pub fn call_routines() -> &'static [&'static MigRoutineDesc] {
    static ROUTINES: OnceLock<Vec<&'static MigRoutineDesc>> = OnceLock::new();
    ROUTINES.get_or_init(|| mig_table().routines_by_id().collect())
}

/// The ids of the routines whose target conversion accepts a port of kind `ty`, in table
/// order. Built once: the scenarios' drawers ask on every message they draw.
pub fn routines_for(ty: IpcKobjectType) -> &'static [i32] {
    static BY_KIND: OnceLock<BTreeMap<IpcKobjectType, Vec<i32>>> = OnceLock::new();
    let by_kind = BY_KIND.get_or_init(|| {
        let mut by_kind: BTreeMap<IpcKobjectType, Vec<i32>> = BTreeMap::new();
        for r in call_routines() {
            for &kind in mig_target_kotypes(r) {
                let ids = by_kind.entry(kind).or_default();
                if ids.last() != Some(&r.msgh_id) {
                    ids.push(r.msgh_id);
                }
            }
        }
        by_kind
    });
    by_kind.get(&ty).map_or(&[], Vec::as_slice)
}

/// The routine a call's `routine` index picks.
pub fn call_routine(index: u16) -> &'static MigRoutineDesc {
    let all = call_routines();
    all[usize::from(index) % all.len()]
}

/// The index of routine `id` among [`call_routines`] (sorted by id, so a binary search: the
/// drawers ask on every typed call they draw).
pub fn call_index(id: i32) -> Option<u16> {
    call_routines()
        .binary_search_by_key(&id, |r| r.msgh_id)
        .ok()
        .map(|i| u16::try_from(i).expect("fewer than 65536 routines"))
}

/// Where the world obtains a right on a port of kind `ty`, if it can make one; `task` and
/// `thread` are the picks of the task and thread whose own ports are wanted.
pub fn source_for(ty: IpcKobjectType, task: u8, thread: u8) -> Option<Source> {
    let task_port = |which| Some(Source::TaskPort { task, which });
    let thread_port = |which| Some(Source::ThreadPort { thread, which });
    match ty {
        IKOT_TASK_CONTROL => task_port(TaskPortKind::Control),
        IKOT_TASK_READ | IKOT_TASK_INSPECT => task_port(TaskPortKind::Read),
        IKOT_TASK_NAME => task_port(TaskPortKind::Name),
        IKOT_TASK_RESUME => Some(Source::SuspendToken { task }),
        IKOT_THREAD_CONTROL => thread_port(ThreadPortKind::Control),
        IKOT_THREAD_READ | IKOT_THREAD_INSPECT => thread_port(ThreadPortKind::Read),
        IKOT_HOST => Some(Source::Host),
        IKOT_HOST_PRIV => Some(Source::HostPriv),
        IKOT_PROCESSOR => Some(Source::Permanent(PermanentKind::Processor)),
        IKOT_PSET => Some(Source::Permanent(PermanentKind::Pset)),
        IKOT_PSET_NAME => Some(Source::Permanent(PermanentKind::PsetName)),
        IKOT_CLOCK => Some(Source::Permanent(PermanentKind::Clock)),
        IKOT_ARCADE_REG => Some(Source::Permanent(PermanentKind::ArcadeRegister)),
        IKOT_MAIN_DEVICE => Some(Source::Permanent(PermanentKind::MainDevice)),
        IKOT_UX_HANDLER => Some(Source::Permanent(PermanentKind::UxHandler)),
        IKOT_SEMAPHORE => Some(Source::NewSemaphore),
        IKOT_VOUCHER => Some(Source::NewVoucher),
        IKOT_EVENTLINK => Some(Source::NewGeneric(GenericKind::Eventlink)),
        IKOT_UND_REPLY => Some(Source::NewGeneric(GenericKind::UndReply)),
        IKOT_NAMED_ENTRY => Some(Source::NewGeneric(GenericKind::NamedEntry)),
        IKOT_TASK_ID_TOKEN => Some(Source::NewGeneric(GenericKind::TaskIdToken)),
        IKOT_IOKIT_OBJECT => Some(Source::NewGeneric(GenericKind::IokitObject)),
        IKOT_IOKIT_CONNECT => Some(Source::NewGeneric(GenericKind::IokitConnect)),
        _ => None,
    }
}

/// The kinds of port `desc`'s target conversion accepts.
pub fn target_kinds(desc: &MigRoutineDesc) -> &'static [IpcKobjectType] {
    mig_target_kotypes(desc)
}

/// The destination disposition a well-formed call uses on a target of kind `ty`.
pub fn target_disposition(ty: IpcKobjectType) -> u32 {
    match ty {
        IKOT_TASK_RESUME => MACH_MSG_TYPE_MOVE_SEND_ONCE,
        _ => MACH_MSG_TYPE_COPY_SEND,
    }
}

/// What fills one port descriptor of a well-formed request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgFill {
    /// A send right on a port of this kind (the stub translates it), `COPY_SEND`.
    Kind(IpcKobjectType),
    /// A right made from the task's scratch port with this user disposition.
    Scratch(u32),
    /// A fresh receive right, moved.
    FreshReceive,
}

/// One port descriptor of a well-formed request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgPlan {
    pub fill: ArgFill,
    pub ool: bool,
}

/// The kind a translated port argument's conversion accepts, by the argument's name (as the MIG
/// definitions name it), when the world can make one.
fn argument_kind(field: &str) -> Option<IpcKobjectType> {
    match field {
        "task" | "src_task" | "into_task" | "from_task" | "owningTask" | "corspe_task" => {
            Some(IKOT_TASK_CONTROL)
        }
        "thread" => Some(IKOT_THREAD_CONTROL),
        "semaphore" => Some(IKOT_SEMAPHORE),
        "voucher" | "new_voucher" | "old_voucher" => Some(IKOT_VOUCHER),
        "object" | "parent_handle" | "parent_entry" => Some(IKOT_NAMED_ENTRY),
        "new_set" | "pset" => Some(IKOT_PSET),
        "set_name" => Some(IKOT_PSET_NAME),
        "connect_to" => Some(IKOT_IOKIT_CONNECT),
        _ => None,
    }
}

/// The user disposition that yields the post-copyin disposition a stub checks.
fn user_disposition(post: MachMsgTypeName) -> u32 {
    match post {
        MACH_MSG_TYPE_PORT_SEND_ONCE | MACH_MSG_TYPE_MAKE_SEND_ONCE => MACH_MSG_TYPE_MAKE_SEND_ONCE,
        // PORT_SEND, MOVE_SEND, polymorphic: a send right made from a receive right.
        _ => MACH_MSG_TYPE_MAKE_SEND,
    }
}

/// The port descriptors of a well-formed request to `desc`, in order.
pub fn argument_plans(desc: &MigRoutineDesc) -> Vec<ArgPlan> {
    let mut plans = Vec::new();
    for arg in &desc.req_ports {
        let post = if arg.disposition == MACH_MSG_TYPE_POLYMORPHIC {
            MACH_MSG_TYPE_PORT_SEND
        } else {
            arg.disposition
        };
        let fill = match argument_kind(arg.field) {
            Some(ty) if post == MACH_MSG_TYPE_PORT_SEND => ArgFill::Kind(ty),
            _ if post == MACH_MSG_TYPE_PORT_RECEIVE => ArgFill::FreshReceive,
            _ => ArgFill::Scratch(user_disposition(post)),
        };
        let ool = arg.kind == MigPortKind::OolPorts;
        plans.extend(std::iter::repeat_n(
            ArgPlan { fill, ool },
            arg.count as usize,
        ));
    }
    plans
}

/// Interesting inline values a call's `word` picks from: the routine's well-formed words, then
/// the failing and alternative selectors, then boundary values of its argument word.
pub fn inline_words(desc: &MigRoutineDesc, word: u8) -> Vec<u32> {
    const ARGUMENTS: [u32; 5] = [0, 1, u32::MAX, i32::MAX as u32, 0x8000_0000];
    let mut words = mig_well_formed_words(desc);
    match word % 8 {
        0 => {}
        1 => words[0] = MIG_SELECT_FAIL,
        2 => words[0] = MIG_SELECT_ALT,
        n => words[1] = ARGUMENTS[usize::from(n - 3)],
    }
    words
}

/// Message ids that name no routine of [`mig_table`], or a notification: the Mach notification
/// ids (`MACH_NOTIFY_FIRST + 1` to `MACH_NOTIFY_DEAD_NAME`, the kernel's own no-senders and
/// send-once among them), every skip slot of every subsystem, and the ids just below and just
/// above each subsystem's range that no neighbouring subsystem answers. Ascending, without repeats; derived from the table, so a new
/// subsystem brings its own.
pub fn stray_ids() -> &'static [i32] {
    static IDS: OnceLock<Vec<i32>> = OnceLock::new();
    IDS.get_or_init(|| {
        let mut ids: Vec<i32> = (MACH_NOTIFY_FIRST + 1..=MACH_NOTIFY_DEAD_NAME).collect();
        let synthetic = synthetic_subsystem();
        for subsystem in kernel_subsystems().iter().chain([&synthetic]) {
            ids.push(subsystem.start - 1);
            ids.push(subsystem.end);
            let skips = subsystem
                .routines
                .iter()
                .filter(|r| r.kind == MigKind::Skip);
            ids.extend(skips.map(|r| r.msgh_id));
        }
        // Where two subsystems meet, the id past one is the other's first routine.
        ids.retain(|&id| routine(id).is_none());
        ids.sort_unstable();
        ids.dedup();
        ids
    })
}

/// The id a call to routine `index` (see [`call_routine`]) carries instead of its own when its
/// deviation is a wrong id: an even `pick` names a [`stray_ids`] id, an odd one the routine
/// `1 + pick / 2` places further on in the table (modulo its size, never the call's own), whose
/// stub then reads a body laid out for another.
pub fn wrong_id(index: u16, pick: u16) -> i32 {
    let id = if pick % 2 == 0 {
        let stray = stray_ids();
        stray[usize::from(pick / 2) % stray.len()]
    } else {
        let all = call_routines();
        let own = usize::from(index) % all.len();
        let offset = 1 + usize::from(pick / 2) % (all.len() - 1);
        all[(own + offset) % all.len()].msgh_id
    };
    assert_ne!(id, call_routine(index).msgh_id, "a wrong id is another id");
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_routine_target_has_a_kind_the_world_can_make() {
        let mut missing = Vec::new();
        for desc in call_routines() {
            let kinds = target_kinds(desc);
            if !kinds.iter().any(|&ty| source_for(ty, 0, 0).is_some()) {
                missing.push(desc.name);
            }
        }
        assert!(missing.is_empty(), "no target source for {missing:?}");
        assert_eq!(
            call_routines().len(),
            346,
            "345 routines and the synthetic one"
        );
    }

    #[test]
    fn words_vary_one_value_at_a_time() {
        let desc = call_routines()[0];
        let base = inline_words(desc, 0);
        for word in 1..8 {
            let w = inline_words(desc, word);
            assert_eq!(w.len(), base.len());
            assert!(w.iter().zip(&base).filter(|(a, b)| a != b).count() <= 1);
        }
    }

    #[test]
    fn stray_ids_name_no_routine_but_notifications_are_among_them() {
        let stray = stray_ids();
        assert!(stray.windows(2).all(|w| w[0] < w[1]));
        assert!(stray.iter().all(|&id| routine(id).is_none()));
        assert!(stray.contains(&kobject::ipc_notify::MACH_NOTIFY_NO_SENDERS));
        assert!(stray.contains(&kobject::ipc_notify::MACH_NOTIFY_SEND_ONCE));
        let skips = kernel_subsystems()
            .iter()
            .flat_map(|s| &s.routines)
            .filter(|r| r.kind == MigKind::Skip)
            .count();
        assert!(
            stray.len() > skips,
            "{} stray ids, {skips} skips",
            stray.len()
        );
    }

    #[test]
    fn a_wrong_id_is_a_stray_id_or_another_routine() {
        let all = call_routines();
        for index in [0u16, 1, 200, 345] {
            for pick in 0..1000u16 {
                let id = wrong_id(index, pick);
                let known = routine(id).is_some();
                assert_eq!(known, pick % 2 == 1, "index {index} pick {pick} id {id}");
            }
        }
        let reached: std::collections::BTreeSet<i32> =
            (0..=u16::MAX).map(|pick| wrong_id(0, pick)).collect();
        assert_eq!(reached.len(), stray_ids().len() + all.len() - 1);
    }
}
