//! The scenario registry: named workloads of 2-4 simulated threads on the real model.
//!
//! A scenario is two functions. `draw` turns the iteration's ChaCha stream into [`Params`] (the
//! worker programs and a few knobs) before the shuttle run, so they go into the artifact. `run`
//! builds the shared objects on the main thread, hands each worker its initial rights, and calls
//! [`Ctx::play`], which audits the setup, races the workers and tears down; `harness::execute`
//! then audits at quiescence (conservation, then leaks at teardown).
//!
//! Scenarios that send messages give every worker an outbox (`msg.rs`): its own task, a reply
//! port, and send rights on the scenario's message targets, whose kobject types are fixed per
//! scenario so that `draw` can pick routine ids the target's conversion accepts.

use kobject::ikot::{
    IpcKobjectType, IKOT_HOST_PRIV, IKOT_IOKIT_CONNECT, IKOT_MAIN_DEVICE, IKOT_NONE,
    IKOT_TASK_CONTROL, IKOT_TASK_NAME, IKOT_TASK_READ, IKOT_THREAD_CONTROL, IKOT_THREAD_READ,
};
use kobject::kobjects::{
    TASK_PORT_CONTROL, TASK_PORT_NAME, TASK_PORT_READ, THREAD_PORT_CONTROL, THREAD_PORT_READ,
};
use kobject::mach::{IpcLabel, IPC_LABEL_DEXT, IPC_LABEL_PLATFORM};
use kobject::{Held, IpcKobject, IpcPort, Kernel, ObjId, PortId};

use crate::harness::Ctx;
use crate::msg::{self, Target};
use crate::params::{Disp, Op, Params, ReplyTo, Step, STEPS_MAX, THREADS_MAX};
use crate::seed::ParamRng;
use crate::world::{self, Hand, KPort, Victim, World};

/// One named workload.
pub struct Scenario {
    pub name: &'static str,
    pub description: &'static str,
    /// Simulated worker threads, at most (at least 2; the main thread comes on top).
    pub threads_max: usize,
    /// Draws the parameters of one iteration.
    pub draw: fn(&mut ParamRng) -> Params,
    /// Runs the workload on the main simulated thread.
    pub run: fn(&Ctx, &Params),
}

impl std::fmt::Debug for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// Scenarios are registered once each, by name.
impl PartialEq for Scenario {
    fn eq(&self, other: &Scenario) -> bool {
        self.name == other.name
    }
}

impl Eq for Scenario {}

pub static SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "lazy-alloc-race",
        description: "threads make send rights on one object's empty port_store through \
                      ipc_kobject_make_send_lazy_alloc_port, then release them",
        threads_max: THREADS_MAX,
        draw: draw_lazy_alloc,
        run: run_lazy_alloc,
    },
    Scenario {
        name: "lazy-alloc-labeled-race",
        description: "the same race through ipc_kobject_make_send_lazy_alloc_labeled_port",
        threads_max: THREADS_MAX,
        draw: draw_lazy_alloc_labeled,
        run: run_lazy_alloc,
    },
    Scenario {
        name: "dealloc-vs-make-send",
        description: "one thread terminates a thread object (its ports are deallocated) while \
                      others make, copy and release send rights to them and send MIG messages \
                      to them",
        threads_max: THREADS_MAX,
        draw: draw_dealloc_vs_make_send,
        run: run_dealloc_vs_make_send,
    },
    Scenario {
        name: "no-senders-vs-rearm",
        description: "the last send right is released (notification prepared) while other \
                      threads re-arm with ipc_kobject_make_send_nsrequest",
        threads_max: THREADS_MAX,
        draw: draw_no_senders_vs_rearm,
        run: run_no_senders_vs_rearm,
    },
    Scenario {
        name: "subst-once-copyout",
        description: "ipc_kobject_label_check copies out a subst-once wrapper while other \
                      threads release the wrapper's other send rights",
        threads_max: THREADS_MAX,
        draw: draw_subst_once_copyout,
        run: run_subst_once_copyout,
    },
    Scenario {
        name: "replace-stored-right",
        description: "threads send host_set_special_port_from_user messages, each carrying a \
                      send right, to the host-priv port: the stored right is replaced through \
                      MIG dispatch",
        threads_max: THREADS_MAX,
        draw: draw_replace_stored_right,
        run: run_replace_stored_right,
    },
    Scenario {
        name: "send-once-notify",
        description: "task_suspend2 send-once rights are destroyed from several threads while \
                      one thread runs task_terminate",
        threads_max: THREADS_MAX,
        draw: draw_send_once_notify,
        run: run_send_once_notify,
    },
    Scenario {
        name: "dispatch-vs-destroy",
        description: "threads send MIG messages to a task's (a thread's, an IOKit user \
                      client's) ports and drain the replies while one thread terminates the \
                      task (thread, client); deferred MIG_NO_REPLY replies come from other \
                      threads",
        threads_max: THREADS_MAX,
        draw: draw_dispatch_vs_destroy,
        run: run_dispatch_vs_destroy,
    },
    Scenario {
        name: "mixed",
        description: "swarm: each thread runs a random program over a random subset of \
                      operation kinds on shared semaphores, vouchers, a thread port, a host \
                      slot, IOKit objects and each other's reply ports, with messages",
        threads_max: THREADS_MAX,
        draw: draw_mixed,
        run: run_mixed,
    },
];

/// The scenario named `name`.
pub fn find(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}

fn threads(rng: &mut ParamRng) -> usize {
    rng.between(2, THREADS_MAX as u32) as usize
}

/// A step of a random kind from `ops`, with a small argument.
fn any_of(rng: &mut ParamRng, ops: &[Op]) -> Step {
    let op = ops[rng.below(ops.len() as u32) as usize];
    Step::new(op, rng.below(4))
}

fn lazy_object(k: &Kernel, kind: u32) -> ObjId {
    match kind {
        0 => k.semaphore_create(),
        _ => k.ipc_voucher_create(),
    }
}

fn fresh_hands(params: &Params) -> Vec<Hand> {
    vec![Hand::default(); params.threads()]
}

// lazy-alloc-race, lazy-alloc-labeled-race

fn draw_lazy_alloc(rng: &mut ParamRng) -> Params {
    let mut p = Params::new();
    p.knobs.insert("kind".into(), rng.below(2));
    p.programs = (0..threads(rng)).map(|_| lazy_program(rng)).collect();
    p
}

/// Every program opens with a convert, so two threads can both find `port_store` empty.
fn lazy_program(rng: &mut ParamRng) -> Vec<Step> {
    let mut program = vec![Step::new(Op::Convert, 0)];
    for _ in 0..rng.below(3) {
        program.push(any_of(rng, &[Op::Convert, Op::Release]));
    }
    program
}

fn draw_lazy_alloc_labeled(rng: &mut ParamRng) -> Params {
    let mut p = Params::new();
    p.knobs.insert("labeled".into(), 1);
    p.knobs.insert("label".into(), rng.below(2));
    p.programs = (0..threads(rng)).map(|_| lazy_program(rng)).collect();
    p
}

fn label_knob(params: &Params) -> Option<IpcLabel> {
    let labels = [IPC_LABEL_DEXT, IPC_LABEL_PLATFORM];
    (params.knob("labeled") != 0).then(|| labels[params.knob("label") as usize % labels.len()])
}

fn run_lazy_alloc(ctx: &Ctx, params: &Params) {
    let mut world = World::new();
    world.label = label_knob(params);
    // The labeled variant is only used with semaphores in the model.
    let kind = if world.label.is_some() {
        0
    } else {
        params.knob("kind")
    };
    world.lazies.push(lazy_object(&ctx.k, kind));
    ctx.play(params, world, fresh_hands(params));
}

// dealloc-vs-make-send

const SEND_OPS: [Op; 4] = [Op::MakeSend, Op::CopySend, Op::Release, Op::MakeSonce];

/// The message targets of the thread scenarios: the thread's control and read ports.
const THREAD_TARGETS: [IpcKobjectType; 2] = [IKOT_THREAD_CONTROL, IKOT_THREAD_READ];

fn draw_dealloc_vs_make_send(rng: &mut ParamRng) -> Params {
    let mut p = Params::new();
    let ops = [SEND_OPS.as_slice(), &[Op::Send, Op::Send, Op::Receive]].concat();
    p.programs = (0..threads(rng))
        .map(|_| {
            let len = rng.between(2, 5);
            (0..len).map(|_| any_of(rng, &ops)).collect()
        })
        .collect();
    let at = rng.below(p.programs[0].len() as u32 + 1) as usize;
    p.programs[0].insert(at, Step::new(Op::Terminate, 0));
    number_messages(rng, &mut p, &THREAD_TARGETS);
    p
}

/// Gives every `send` step its own message, to a random one of `targets` (kobject types; then
/// `IKOT_NONE` for each worker's reply port when the scenario has mailboxes).
fn number_messages(rng: &mut ParamRng, p: &mut Params, targets: &[IpcKobjectType]) {
    let mut messages = Vec::new();
    for step in p.programs.iter_mut().flatten() {
        if step.op == Op::Send {
            let target = rng.below(targets.len() as u32);
            step.arg = messages.len() as u32;
            messages.push(msg::draw_message(rng, target, targets[target as usize]));
        }
    }
    p.messages = messages;
}

/// The thread's control and read ports, as (`ObjLocked::ports` index, kobject type).
const THREAD_PORTS: [(usize, IpcKobjectType); 2] = [
    (THREAD_PORT_CONTROL, IKOT_THREAD_CONTROL),
    (THREAD_PORT_READ, IKOT_THREAD_READ),
];

/// A task with one thread; every worker anchors a right on each of the thread's `ports`.
fn thread_world(
    k: &Kernel,
    workers: usize,
    ports: &[(usize, IpcKobjectType)],
) -> (World, Vec<Hand>) {
    let (task, space) = k.task_create(0).expect("task_create");
    let thread = k.thread_create(task);
    let mut world = World::new();
    world.task = Some((task, space));
    world.thread = Some(thread);
    for &(which, ty) in ports {
        let port = k.object_port(thread, which).id();
        let kobject = IpcKobject::Object(thread);
        world.kports.push(KPort { port, kobject, ty });
    }
    let hands = (0..workers)
        .map(|_| Hand {
            held: Vec::new(),
            anchors: world.kports.iter().map(|kp| anchor(k, kp)).collect(),
            outbox: None,
        })
        .collect();
    (world, hands)
}

fn anchor(k: &Kernel, kp: &KPort) -> Held {
    match k.ipc_kobject_make_send(IpcPort::Port(kp.port), kp.kobject, kp.ty) {
        IpcPort::Port(p) => Held::Send(p),
        other => panic!("anchor on live {:?} gave {other:?}", kp.port),
    }
}

/// The world's kobject ports as message targets.
fn kport_targets(world: &World) -> Vec<Target> {
    world
        .kports
        .iter()
        .map(|kp| Target {
            port: kp.port,
            ty: kp.ty,
        })
        .collect()
}

/// Gives every hand an outbox with send rights on `targets`.
fn give_outboxes(
    k: &Kernel,
    world: &mut World,
    hands: &mut [Hand],
    targets: &[Target],
    mail: bool,
) {
    let boxes = msg::outboxes(k, world, hands.len(), targets, mail);
    for (hand, ob) in hands.iter_mut().zip(boxes) {
        hand.outbox = Some(ob);
    }
}

fn run_dealloc_vs_make_send(ctx: &Ctx, params: &Params) {
    let (mut world, mut hands) = thread_world(&ctx.k, params.threads(), &THREAD_PORTS);
    world.victim = Victim::Thread;
    let targets = kport_targets(&world);
    give_outboxes(&ctx.k, &mut world, &mut hands, &targets, false);
    ctx.play(params, world, hands);
}

// no-senders-vs-rearm

fn draw_no_senders_vs_rearm(rng: &mut ParamRng) -> Params {
    let mut p = Params::new();
    p.knobs.insert("kind".into(), rng.below(2));
    p.programs = (0..threads(rng))
        .map(|_| {
            let first = any_of(rng, &[Op::Release, Op::Rearm]);
            let rest = rng.between(1, 3);
            let mut program = vec![first];
            program.extend((0..rest).map(|_| any_of(rng, &[Op::Release, Op::Rearm, Op::Convert])));
            program
        })
        .collect();
    p
}

/// Every worker starts with one send right made by the first convert (which arms) or a later one.
fn run_no_senders_vs_rearm(ctx: &Ctx, params: &Params) {
    let mut world = World::new();
    world.lazies.push(lazy_object(&ctx.k, params.knob("kind")));
    let hands = (0..params.threads())
        .map(|_| Hand {
            held: world::convert(&ctx.k, &world, world.lazies[0])
                .into_iter()
                .collect(),
            anchors: Vec::new(),
            outbox: None,
        })
        .collect();
    ctx.play(params, world, hands);
}

// subst-once-copyout

fn draw_subst_once_copyout(rng: &mut ParamRng) -> Params {
    let mut p = Params::new();
    let workers = threads(rng);
    let mut copier = vec![Step::new(Op::Copyout, 0)];
    if rng.chance(1, 2) {
        copier.push(Step::new(Op::Release, 0));
    }
    p.programs.push(copier);
    for _ in 1..workers {
        let mut program = vec![Step::new(Op::Release, rng.below(2))];
        let extra = rng.below(3) as usize;
        for _ in 0..extra {
            let at = rng.below(program.len() as u32 + 1) as usize;
            program.insert(at, any_of(rng, &[Op::Convert, Op::Release]));
        }
        p.programs.push(program);
    }
    p
}

/// A subst-once wrapper around a semaphore's send right: worker 0 holds the wrapper's own right
/// and copies it out; every other worker holds a copy and releases it.
fn run_subst_once_copyout(ctx: &Ctx, params: &Params) {
    let k = &ctx.k;
    let mut world = World::new();
    world.task = Some(k.task_create(0).expect("task_create"));
    world.lazies.push(k.semaphore_create());
    let Some(Held::Send(target)) = world::convert(k, &world, world.lazies[0]) else {
        panic!("convert of a live semaphore made no right");
    };
    let wrapper = k.ipc_kobject_alloc_subst_once(IpcPort::Port(target)).id();
    let mut hands = fresh_hands(params);
    hands[0].held.push(Held::Send(wrapper));
    for hand in hands.iter_mut().skip(1) {
        let copy = k.ipc_port_copy_send_any(IpcPort::Port(wrapper));
        hand.held.push(Held::Send(copy.id()));
    }
    ctx.play(params, world, hands);
}

// replace-stored-right

/// The msgh_id of `name` in the kernel's table.
fn routine_id(name: &str) -> i32 {
    msg::mig_table()
        .routines()
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no routine {name}"))
        .msgh_id
}

/// Every worker sends 1-3 `host_set_special_port_from_user` requests (a send right on its
/// scratch port in the port descriptor), with or without a reply port, and drains replies.
fn draw_replace_stored_right(rng: &mut ParamRng) -> Params {
    let mut p = Params::new();
    let id = routine_id("host_set_special_port_from_user");
    for _ in 0..threads(rng) {
        let mut program = Vec::new();
        for _ in 0..rng.between(1, 3) {
            let reply = if rng.chance(1, 2) {
                ReplyTo::SendOnce
            } else {
                ReplyTo::None
            };
            program.push(Step::new(Op::Send, p.messages.len() as u32));
            p.messages
                .push(msg::mig_message(0, id, Disp::CopySend, reply));
            if reply == ReplyTo::SendOnce && rng.chance(1, 2) {
                program.push(Step::new(Op::Receive, 0));
            }
        }
        p.programs.push(program);
    }
    p
}

/// A host whose slot starts with a right to a semaphore; each worker a send right on the
/// host-priv port in its own space.
fn run_replace_stored_right(ctx: &Ctx, params: &Params) {
    let k = &ctx.k;
    let mut world = World::new();
    let (host, _, priv_port) = k.host_create();
    world.host = Some(host);
    world.permanent.push(host);
    world.lazies.push(k.semaphore_create());
    let Some(Held::Send(p)) = world::convert(k, &world, world.lazies[0]) else {
        panic!("convert of a live semaphore made no right");
    };
    let old = k.object_slot_swap(host, IpcPort::Port(p));
    assert_eq!(old, kobject::IP_NULL, "a fresh host slot is empty");
    let mut hands = fresh_hands(params);
    let targets = [Target {
        port: priv_port,
        ty: IKOT_HOST_PRIV,
    }];
    give_outboxes(k, &mut world, &mut hands, &targets, false);
    ctx.play(params, world, hands);
}

// dispatch-vs-destroy

/// The victim's ports workers send to: a task's control, read and name ports, or a thread's
/// control and read ports.
const TASK_TARGETS: [IpcKobjectType; 3] = [IKOT_TASK_CONTROL, IKOT_TASK_READ, IKOT_TASK_NAME];

fn draw_dispatch_vs_destroy(rng: &mut ParamRng) -> Params {
    let mut p = Params::new();
    let victim = rng.below(3);
    p.knobs.insert("victim".into(), victim);
    let ops: &[Op] = if victim == 2 {
        &[Op::Send, Op::Send, Op::Receive, Op::DeferredReply]
    } else {
        &[Op::Send, Op::Send, Op::Receive]
    };
    p.programs = (0..threads(rng))
        .map(|_| {
            let len = rng.between(2, 6);
            let mut program: Vec<Step> = (0..len).map(|_| any_of(rng, ops)).collect();
            if program.iter().all(|s| s.op != Op::Send) {
                program[0] = Step::new(Op::Send, 0);
            }
            program
        })
        .collect();
    let at = rng.below(p.programs[0].len() as u32 + 1) as usize;
    p.programs[0].insert(at, Step::new(Op::Terminate, 0));
    let targets: &[IpcKobjectType] = match victim {
        0 => &TASK_TARGETS,
        1 => &THREAD_TARGETS,
        _ => &[IKOT_IOKIT_CONNECT],
    };
    number_messages(rng, &mut p, targets);
    p
}

/// A victim task (knob `victim` 0), a thread of a task (1) or an IOKit user client (2), two
/// vouchers for the routines' voucher arguments, and an outbox per worker with send rights on
/// the victim's ports.
fn run_dispatch_vs_destroy(ctx: &Ctx, params: &Params) {
    let k = &ctx.k;
    let mut world = World::new();
    let (task, space) = k.task_create(0).expect("task_create");
    world.task = Some((task, space));
    let ports: Vec<(PortId, IpcKobjectType)> = match params.knob("victim") {
        0 => {
            world.victim = Victim::Task;
            [TASK_PORT_CONTROL, TASK_PORT_READ, TASK_PORT_NAME]
                .iter()
                .zip(TASK_TARGETS)
                .map(|(&which, ty)| (k.object_port(task, which).id(), ty))
                .collect()
        }
        1 => {
            let thread = k.thread_create(task);
            world.thread = Some(thread);
            world.victim = Victim::Thread;
            THREAD_PORTS
                .iter()
                .map(|&(which, ty)| (k.object_port(thread, which).id(), ty))
                .collect()
        }
        _ => {
            let (client, port) = k.mig_object_create(IKOT_IOKIT_CONNECT);
            k.object_reference(client);
            world.connect = Some((client, port));
            world.victim = Victim::Client;
            vec![(port, IKOT_IOKIT_CONNECT)]
        }
    };
    world.vouchers = vec![k.ipc_voucher_create(), k.ipc_voucher_create()];
    let targets: Vec<Target> = ports
        .into_iter()
        .map(|(port, ty)| Target { port, ty })
        .collect();
    let mut hands = fresh_hands(params);
    give_outboxes(k, &mut world, &mut hands, &targets, false);
    ctx.play(params, world, hands);
}

// send-once-notify

fn draw_send_once_notify(rng: &mut ParamRng) -> Params {
    let mut p = Params::new();
    p.programs = (0..threads(rng))
        .map(|_| {
            let rights = rng.between(1, 2);
            (0..rights)
                .map(|_| Step::new(Op::Release, rng.below(2)))
                .collect()
        })
        .collect();
    let at = rng.below(p.programs[0].len() as u32 + 1) as usize;
    p.programs[0].insert(at, Step::new(Op::Terminate, 0));
    p
}

/// Each worker holds one `task_suspend2` send-once right per release in its program.
fn run_send_once_notify(ctx: &Ctx, params: &Params) {
    let k = &ctx.k;
    let mut world = World::new();
    let (task, space) = k.task_create(0).expect("task_create");
    world.task = Some((task, space));
    world.victim = Victim::Task;
    let hands = params
        .programs
        .iter()
        .map(|program| {
            let rights = program.iter().filter(|s| s.op == Op::Release).count();
            Hand {
                held: (0..rights)
                    .map(|_| Held::SendOnce(k.task_suspend2(task).id()))
                    .collect(),
                anchors: Vec::new(),
                outbox: None,
            }
        })
        .collect();
    ctx.play(params, world, hands);
}

// mixed

/// The operation kinds `mixed` draws from: every kind but `Terminate` (the swarm keeps its
/// shared objects alive until teardown), in `Op::ALL` order so the random stream is stable.
fn mixed_ops() -> impl Iterator<Item = Op> {
    Op::ALL.into_iter().filter(|&op| op != Op::Terminate)
}

/// The kobject message targets of `mixed`: the thread's control port, the host-priv port, an
/// IOKit user client (the synthetic `MIG_NO_REPLY` routine's target) and the main device port;
/// each worker's reply port follows as an ordinary port.
const MIXED_TARGETS: [IpcKobjectType; 4] = [
    IKOT_THREAD_CONTROL,
    IKOT_HOST_PRIV,
    IKOT_IOKIT_CONNECT,
    IKOT_MAIN_DEVICE,
];

fn draw_mixed(rng: &mut ParamRng) -> Params {
    let mut p = Params::new();
    p.knobs.insert("labeled".into(), rng.below(2));
    p.knobs.insert("label".into(), rng.below(2));
    p.programs = (0..threads(rng)).map(|_| swarm_program(rng)).collect();
    let mut targets = MIXED_TARGETS.to_vec();
    targets.extend(std::iter::repeat_n(IKOT_NONE, p.threads()));
    number_messages(rng, &mut p, &targets);
    p
}

/// Swarm testing: a random non-empty subset of the operation kinds, then a program over it.
fn swarm_program(rng: &mut ParamRng) -> Vec<Step> {
    let all: Vec<Op> = mixed_ops().collect();
    let mut kinds: Vec<Op> = all.iter().copied().filter(|_| rng.chance(1, 2)).collect();
    if kinds.is_empty() {
        kinds.push(all[rng.below(all.len() as u32) as usize]);
    }
    let len = rng.between(2, STEPS_MAX as u32 - 2);
    (0..len).map(|_| any_of(rng, &kinds)).collect()
}

/// Two lazily ported objects (a semaphore and a voucher, or two labeled semaphores), a host
/// slot, a task with a thread whose control port every worker anchors, an IOKit user client and
/// a main device; every worker has an outbox with send rights on those four kobject ports and
/// on every other worker's reply port.
fn run_mixed(ctx: &Ctx, params: &Params) {
    let k = &ctx.k;
    let (mut world, mut hands) = thread_world(k, params.threads(), &THREAD_PORTS[..1]);
    world.label = label_knob(params);
    let second = if world.label.is_some() { 0 } else { 1 };
    world.lazies = vec![lazy_object(k, 0), lazy_object(k, second)];
    let (host, _, priv_port) = k.host_create();
    world.host = Some(host);
    let (connect, connect_port) = k.mig_object_create(IKOT_IOKIT_CONNECT);
    k.object_reference(connect);
    world.connect = Some((connect, connect_port));
    let (device, device_port) = k.mig_object_create(IKOT_MAIN_DEVICE);
    world.permanent = vec![host, device];
    let mut targets = kport_targets(&world);
    targets.push(Target {
        port: priv_port,
        ty: IKOT_HOST_PRIV,
    });
    targets.push(Target {
        port: connect_port,
        ty: IKOT_IOKIT_CONNECT,
    });
    targets.push(Target {
        port: device_port,
        ty: IKOT_MAIN_DEVICE,
    });
    give_outboxes(k, &mut world, &mut hands, &targets, true);
    k.ipc_port_release_send(IpcPort::Port(device_port));
    ctx.play(params, world, hands);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_draw_is_valid_for_its_scenario() {
        for scenario in SCENARIOS {
            for iteration in 0..200 {
                let params = (scenario.draw)(&mut ParamRng::new(1, iteration));
                params
                    .validate(scenario.threads_max)
                    .unwrap_or_else(|e| panic!("{}: {e}", scenario.name));
            }
        }
    }

    #[test]
    fn names_are_unique() {
        for (i, a) in SCENARIOS.iter().enumerate() {
            assert!(SCENARIOS[i + 1..].iter().all(|b| b.name != a.name));
            assert_eq!(find(a.name).map(|s| s.name), Some(a.name));
        }
    }
}
