//! Messages: the user side of `mach_msg` for the simulated threads.
//!
//! A worker that sends messages owns a task of its own (an [`Outbox`]): a reply port and a
//! scratch port it receives, and send rights, copied out into its space, on the world's message
//! [`Target`]s (kobject ports, and the other workers' reply ports as ordinary ports). A `send`
//! step builds a `UserMsg` from a [`MsgSpec`] drawn before the run and calls `mach_msg_send`, so
//! the whole path runs on the model: copyin, `ipc_kobject_server`, the MIG stub and routine, the
//! reply, and for ordinary ports the queue. A `receive` step copies a message out into the
//! worker's space and deallocates everything it carried at once. At its end a worker drains its
//! reply port and destroys every name it holds; the main thread then terminates its task.
//!
//! Every kernel uses one table: the kernel's MIG subsystems plus the synthetic `MIG_NO_REPLY`
//! routine ([`mig_table`]), built once per process.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use kobject::ikot::{
    IpcKobjectType, IKOT_IOKIT_CONNECT, IKOT_NONE, IKOT_TASK_CONTROL, IKOT_THREAD_CONTROL,
};
use kobject::ipc_kobject_mig::{kernel_subsystems, MigKind, MigPortKind, MigRoutineDesc, MigTable};
use kobject::mach::*;
use kobject::mach_msg::{ReceivedMsg, UserDescriptor, UserMsg};
use kobject::mig_routines::{
    mig_table_with_synthetic, mig_target_kotypes, mig_well_formed_words, MIG_SELECT_ALT,
    MIG_SELECT_FAIL, MIG_SYNTHETIC_DEFERRED_REPLY_ID,
};
use kobject::{IpcPort, Kernel, ObjId, PortId, SpaceId};

use crate::params::{DescKind, DescSpec, Disp, MsgSpec, ReplyTo, Source, MSG_DESCRIPTORS_MAX};
use crate::seed::ParamRng;
use crate::world::World;

/// Messages a worker receives at its end before it destroys its names, at most.
const DRAIN_MAX: usize = 4;
/// Size of an out-of-line region in a message.
const OOL_BYTES: u32 = 64;

/// The MIG table of every simulated kernel: the kernel's subsystems and the synthetic
/// deferred-reply routine, built once per process.
pub fn mig_table() -> &'static MigTable {
    static TABLE: OnceLock<MigTable> = OnceLock::new();
    TABLE.get_or_init(mig_table_with_synthetic)
}

/// The routine `id` names in [`mig_table`].
pub fn routine(id: i32) -> Option<&'static MigRoutineDesc> {
    let table = mig_table();
    table.find_mig_hash_entry(id).map(|e| table.routine(e))
}

/// The routine ids whose target conversion accepts a port of type `ty`, in table order.
pub fn routines_for(ty: IpcKobjectType) -> &'static [i32] {
    static BY_TYPE: OnceLock<BTreeMap<IpcKobjectType, Vec<i32>>> = OnceLock::new();
    let by_type = BY_TYPE.get_or_init(|| {
        let mut by_type: BTreeMap<IpcKobjectType, Vec<i32>> = BTreeMap::new();
        let mut ids: Vec<i32> = mig_table().routines().iter().map(|r| r.msgh_id).collect();
        ids.sort_unstable();
        for id in ids {
            let desc = routine(id).expect("a routine of the table");
            for &ty in mig_target_kotypes(desc) {
                by_type.entry(ty).or_default().push(id);
            }
        }
        by_type
    });
    by_type.get(&ty).map_or(&[], Vec::as_slice)
}

/// Ids no kernel routine answers: the reserved (skip) ids of the subsystems and the two
/// notification ids a pre-2016 kernel mistook a request for.
fn unknown_ids() -> &'static [i32] {
    static IDS: OnceLock<Vec<i32>> = OnceLock::new();
    IDS.get_or_init(|| {
        let mut ids = vec![70, 71];
        ids.extend(
            kernel_subsystems()
                .iter()
                .flat_map(|s| &s.routines)
                .filter(|r| r.kind == MigKind::Skip)
                .map(|r| r.msgh_id),
        );
        ids
    })
}

/// A port workers send messages to.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    pub port: PortId,
    /// Its kobject type; `IKOT_NONE` for an ordinary port (a worker's reply port).
    pub ty: IpcKobjectType,
}

/// A worker's own task and the names it holds in its space.
#[derive(Clone, Debug)]
pub struct Outbox {
    pub task: ObjId,
    pub space: SpaceId,
    /// The port the worker receives replies (and other workers' messages) on.
    pub reply: MachPortName,
    /// A port the worker receives, whose rights its message bodies carry.
    pub scratch: MachPortName,
    /// Send rights to the world's vouchers, in order.
    pub vouchers: Vec<MachPortName>,
    /// The worker's name for each of the world's targets (`MACH_PORT_NULL` for none).
    pub names: Vec<MachPortName>,
    /// Whether a `stash` copied a right out into the space (then the space's label contract is
    /// checked before its names go).
    pub stashed: bool,
}

/// Gives each of `workers` workers a task, a reply and a scratch port, and a send right on each
/// of `kobjects` (and, with `mailboxes`, on every other worker's reply port, which become
/// targets too). Sets `world.targets` and `world.senders`. Runs on the main thread.
pub fn outboxes(
    k: &Kernel,
    world: &mut World,
    workers: usize,
    kobjects: &[Target],
    mailboxes: bool,
) -> Vec<Outbox> {
    let mut boxes: Vec<Outbox> = (0..workers)
        .map(|_| {
            let (task, space) = k.task_create(IPC_LABEL_NONE).expect("a sender task");
            let reply = k.mach_port_allocate(space).expect("a reply port");
            let scratch = k.mach_port_allocate(space).expect("a scratch port");
            world.senders.push(task);
            Outbox {
                task,
                space,
                reply,
                scratch,
                vouchers: Vec::new(),
                names: Vec::new(),
                stashed: false,
            }
        })
        .collect();
    world.targets = kobjects.to_vec();
    if mailboxes {
        for ob in &boxes {
            let port = k
                .ipc_entry_lookup(ob.space, ob.reply)
                .and_then(|e| e.ie_object)
                .expect("the reply port");
            world.targets.push(Target {
                port,
                ty: IKOT_NONE,
            });
        }
    }
    for (i, ob) in boxes.iter_mut().enumerate() {
        for (t, target) in world.targets.iter().enumerate() {
            let own_mailbox = mailboxes && t == kobjects.len() + i;
            ob.names.push(if own_mailbox {
                ob.reply
            } else {
                let right = k.ipc_port_make_send_any(IpcPort::Port(target.port));
                k.ipc_object_copyout(ob.space, right, MACH_MSG_TYPE_PORT_SEND, 0)
            });
        }
        for &v in &world.vouchers {
            k.object_reference(v);
            let right = k.convert_lazy_object_to_port(v);
            let name = k.ipc_object_copyout(ob.space, right, MACH_MSG_TYPE_PORT_SEND, 0);
            ob.vouchers.push(name);
        }
    }
    boxes
}

// Drawing messages (before the run).

/// A message to target `target` of type `ty`: a routine that target's conversion accepts (now
/// and then an id no routine answers, a failing or alternative selector, another disposition or
/// reply port, or a random body); to an ordinary port, a random message.
pub fn draw_message(rng: &mut ParamRng, target: u32, ty: IpcKobjectType) -> MsgSpec {
    if ty == IKOT_NONE {
        return draw_plain(rng, target);
    }
    let routines = routines_for(ty);
    let id = if ty == IKOT_IOKIT_CONNECT && rng.chance(1, 4) {
        MIG_SYNTHETIC_DEFERRED_REPLY_ID
    } else if routines.is_empty() || rng.chance(1, 16) {
        pick(rng, unknown_ids())
    } else {
        pick(rng, routines)
    };
    let dest = match rng.below(16) {
        0 | 1 => Disp::MoveSend,
        2 => Disp::MakeSendOnce,
        _ => Disp::CopySend,
    };
    let reply = match rng.below(16) {
        0 | 1 => ReplyTo::None,
        2 => ReplyTo::Send,
        3 => ReplyTo::Kernel,
        _ => ReplyTo::SendOnce,
    };
    let mut spec = mig_message(target, id, dest, reply);
    match rng.below(16) {
        0 | 1 => spec.words[0] = MIG_SELECT_FAIL,
        2 => spec.words[0] = MIG_SELECT_ALT,
        3 | 4 => {
            spec.mig_body = false;
            spec.descriptors = draw_descriptors(rng);
        }
        _ => {}
    }
    spec
}

/// A well-formed request for routine `id` (or a bare message for an id the table lacks).
pub fn mig_message(target: u32, id: i32, dest: Disp, reply: ReplyTo) -> MsgSpec {
    let desc = routine(id);
    MsgSpec {
        target,
        id,
        routine: desc.map_or(String::new(), |d| d.name.to_string()),
        dest,
        reply,
        words: desc.map_or_else(|| vec![0, 0], mig_well_formed_words),
        mig_body: true,
        descriptors: Vec::new(),
    }
}

fn draw_plain(rng: &mut ParamRng, target: u32) -> MsgSpec {
    let dest = match rng.below(8) {
        0 => Disp::MakeSend,
        1 => Disp::MakeSendOnce,
        2 => Disp::MoveSend,
        _ => Disp::CopySend,
    };
    let reply = match rng.below(4) {
        0 => ReplyTo::None,
        1 => ReplyTo::Send,
        _ => ReplyTo::SendOnce,
    };
    MsgSpec {
        target,
        id: rng.between(1, 1000) as i32,
        routine: String::new(),
        dest,
        reply,
        words: vec![rng.below(4)],
        mig_body: false,
        descriptors: draw_descriptors(rng),
    }
}

fn draw_descriptors(rng: &mut ParamRng) -> Vec<DescSpec> {
    const KINDS: [DescKind; 4] = [
        DescKind::Port,
        DescKind::Port,
        DescKind::OolPorts,
        DescKind::Ool,
    ];
    const SOURCES: [Source; 6] = [
        Source::Scratch,
        Source::Reply,
        Source::Dest,
        Source::Voucher,
        Source::Null,
        Source::Dead,
    ];
    let count = rng.below(MSG_DESCRIPTORS_MAX as u32);
    (0..count)
        .map(|_| {
            let (kind, source, disp) = (
                pick(rng, &KINDS),
                pick(rng, &SOURCES),
                pick(rng, &Disp::ALL),
            );
            match kind {
                // An out-of-line memory descriptor names no port: its source and disposition
                // are drawn (so the stream stays the same) but written as the artifact reads
                // them back, so drawn parameters equal their own round trip through JSON.
                DescKind::Ool => DescSpec {
                    kind,
                    source: Source::Null,
                    disp: Disp::CopySend,
                },
                _ => DescSpec { kind, source, disp },
            }
        })
        .collect()
}

fn pick<T: Copy>(rng: &mut ParamRng, items: &[T]) -> T {
    items[rng.below(items.len() as u32) as usize]
}

// Running them (on the simulated threads).

/// Sends `spec` from the worker's space; returns `mach_msg`'s status (a send to a target the
/// worker has no name for is `MACH_SEND_INVALID_DEST` without a call).
pub fn send(k: &Kernel, world: &World, ob: &Outbox, spec: &MsgSpec) -> KernReturn {
    if world.targets.is_empty() {
        return MACH_SEND_INVALID_DEST;
    }
    let t = spec.target as usize % world.targets.len();
    let dest = ob.names[t];
    if dest == MACH_PORT_NULL {
        return MACH_SEND_INVALID_DEST;
    }
    let (local, local_disp) = match spec.reply {
        ReplyTo::None => (MACH_PORT_NULL, 0),
        ReplyTo::SendOnce => (ob.reply, MACH_MSG_TYPE_MAKE_SEND_ONCE),
        ReplyTo::Send => (ob.reply, MACH_MSG_TYPE_MAKE_SEND),
        ReplyTo::Kernel => (dest, MACH_MSG_TYPE_COPY_SEND),
    };
    let descriptors = match (spec.mig_body, routine(spec.id)) {
        (true, Some(desc)) => mig_body(ob, dest, world.targets[t].ty, desc),
        (true, None) => Vec::new(),
        (false, _) => spec
            .descriptors
            .iter()
            .map(|d| descriptor(ob, dest, d))
            .collect(),
    };
    let complex = if descriptors.is_empty() {
        0
    } else {
        MACH_MSGH_BITS_COMPLEX
    };
    let msg = UserMsg {
        msgh_bits: mach_msgh_bits_set(spec.dest.value(), local_disp, 0, complex),
        msgh_remote_port: dest,
        msgh_local_port: local,
        msgh_voucher_port: MACH_PORT_NULL,
        msgh_id: spec.id,
        descriptors,
        inline_data: spec.words.clone(),
    };
    k.mach_msg_send(ob.space, &msg)
}

/// The body `desc`'s stub accepts: a right its conversion translates for each translated
/// argument the worker can supply (a voucher, the second one for `old_voucher` so an in-out
/// voucher differs from the new one; the destination itself for a task or thread argument sent
/// to a task or thread), a right on the scratch port otherwise (which then does not translate,
/// and the routine fails), one scratch right per raw argument, then the memory.
fn mig_body(
    ob: &Outbox,
    dest: MachPortName,
    ty: IpcKobjectType,
    desc: &MigRoutineDesc,
) -> Vec<UserDescriptor> {
    let mut body = Vec::new();
    for arg in &desc.req_ports {
        let (name, disposition) = if desc.stub_releases.contains(&arg.field) {
            match arg.field {
                "old_voucher" if ob.vouchers.len() > 1 => (ob.vouchers[1], MACH_MSG_TYPE_COPY_SEND),
                "voucher" | "new_voucher" | "old_voucher" if !ob.vouchers.is_empty() => {
                    (ob.vouchers[0], MACH_MSG_TYPE_COPY_SEND)
                }
                "task" | "src_task" | "into_task" | "from_task" | "owningTask"
                    if ty == IKOT_TASK_CONTROL =>
                {
                    (dest, MACH_MSG_TYPE_COPY_SEND)
                }
                "thread" if ty == IKOT_THREAD_CONTROL => (dest, MACH_MSG_TYPE_COPY_SEND),
                _ => (ob.scratch, MACH_MSG_TYPE_MAKE_SEND),
            }
        } else if arg.disposition == MACH_MSG_TYPE_PORT_SEND_ONCE {
            (ob.scratch, MACH_MSG_TYPE_MAKE_SEND_ONCE)
        } else {
            (ob.scratch, MACH_MSG_TYPE_MAKE_SEND)
        };
        for _ in 0..arg.count {
            body.push(match arg.kind {
                MigPortKind::Port => UserDescriptor::Port { name, disposition },
                MigPortKind::OolPorts => UserDescriptor::OolPorts {
                    names: vec![name],
                    disposition,
                },
            });
        }
    }
    for _ in 0..desc.req_ool_mem {
        body.push(UserDescriptor::Ool { size: OOL_BYTES });
    }
    body
}

fn descriptor(ob: &Outbox, dest: MachPortName, d: &DescSpec) -> UserDescriptor {
    let name = match d.source {
        Source::Scratch => ob.scratch,
        Source::Reply => ob.reply,
        Source::Dest => dest,
        Source::Voucher => ob.vouchers.first().copied().unwrap_or(MACH_PORT_NULL),
        Source::Null => MACH_PORT_NULL,
        Source::Dead => MACH_PORT_DEAD,
    };
    let disposition = d.disp.value();
    match d.kind {
        DescKind::Port => UserDescriptor::Port { name, disposition },
        DescKind::OolPorts => UserDescriptor::OolPorts {
            names: vec![name],
            disposition,
        },
        DescKind::Ool => UserDescriptor::Ool { size: OOL_BYTES },
    }
}

/// Receives up to `max` messages on the worker's reply port and deallocates what each carried.
/// Returns how many it received.
pub fn receive(k: &Kernel, ob: &Outbox, max: usize) -> usize {
    for n in 0..max {
        match k.mach_msg_receive(ob.space, ob.reply) {
            Ok(m) => dispose(k, ob.space, m),
            Err(_) => return n,
        }
    }
    max
}

fn is_name(name: MachPortName) -> bool {
    name != MACH_PORT_NULL && name != MACH_PORT_DEAD
}

/// Gives back every right a received message put into `space`, and its memory.
fn dispose(k: &Kernel, space: SpaceId, m: ReceivedMsg) {
    if is_name(m.msgh_remote_port) {
        let _ = k.mach_port_deallocate(space, m.msgh_remote_port);
    }
    for (name, _) in m.descriptors {
        if is_name(name) {
            let _ = k.mach_port_deallocate(space, name);
        }
    }
    for copy in m.ool {
        k.vm_map_copy_discard(copy);
    }
}

/// The later reply of the synthetic `MIG_NO_REPLY` routine on the world's user client, sent to
/// the reply right the routine saved, as the server sends a reply it returns.
pub fn deferred_reply(k: &Kernel, world: &World) {
    let Some((connect, _)) = world.connect else {
        return;
    };
    if let Some(reply) = k.mig_deferred_reply(connect, KERN_SUCCESS) {
        let dest = reply.msgh_remote_port.id();
        k.ipc_kmsg_send_reply(dest, reply);
    }
}

/// Copies a held send right out into the worker's space (consumed: a name, a dead name, or
/// destroyed when the label check refuses it).
pub fn stash(k: &Kernel, ob: &mut Outbox, right: PortId) {
    k.ipc_object_copyout(ob.space, IpcPort::Port(right), MACH_MSG_TYPE_PORT_SEND, 0);
    ob.stashed = true;
}

/// The worker's end: drains its reply port, checks its space's label contract when it stashed
/// rights there (the ledger's check, which holds at any time for a space one thread changes;
/// the names are gone before the next quiescent audit), then destroys every name in its space.
pub fn release(k: &Kernel, ob: &Outbox) {
    receive(k, ob, DRAIN_MAX);
    if ob.stashed {
        if let Err(finding) = k.audit_space_labels(ob.space) {
            finding.raise();
        }
    }
    let names: Vec<MachPortName> = k.is_write_lock(ob.space).is_table.keys().copied().collect();
    for name in names {
        let _ = k.mach_port_destroy(ob.space, name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kobject::ikot::*;

    #[test]
    fn every_target_type_of_the_scenarios_has_routines() {
        for ty in [
            IKOT_TASK_CONTROL,
            IKOT_TASK_READ,
            IKOT_TASK_NAME,
            IKOT_THREAD_CONTROL,
            IKOT_THREAD_READ,
            IKOT_HOST_PRIV,
            IKOT_IOKIT_CONNECT,
            IKOT_MAIN_DEVICE,
        ] {
            let ids = routines_for(ty);
            eprintln!(
                "{}: {} routines: {:?}",
                ikot_name(ty),
                ids.len(),
                ids.iter()
                    .map(|&id| routine(id).unwrap().name)
                    .collect::<Vec<_>>()
            );
            assert!(!ids.is_empty(), "{}", ikot_name(ty));
        }
        assert!(routines_for(IKOT_IOKIT_CONNECT).contains(&MIG_SYNTHETIC_DEFERRED_REPLY_ID));
        assert!(unknown_ids().iter().all(|&id| routine(id).is_none()));
    }
}
