//! The scenario registry: named workloads, each a generator of programs in the action language
//! and a setup of the objects its threads share.
//!
//! A scenario is two functions. `draw` turns the iteration's ChaCha stream into [`Params`] (one
//! program per thread and a few knobs) before the run, so they go into the artifact. `setup`
//! builds the shared objects on the main thread and gives each thread its actor (its own task
//! with names for the message targets, rights it starts with). `harness.rs` then audits the
//! setup, runs the programs (one natively, several racing under shuttle) and tears down.
//!
//! Scenarios that send messages give every thread a task of its own, with a reply and a scratch
//! port and send rights on the scenario's message targets, whose kobject types are fixed per
//! scenario so that `draw` can pick routines the target's conversion accepts. The `none`
//! scenario shares nothing: its threads build everything through their actions (the fuzz
//! targets' world).

use kobject::ikot::{
    IpcKobjectType, IKOT_HOST_PRIV, IKOT_IOKIT_CONNECT, IKOT_MAIN_DEVICE, IKOT_NONE,
    IKOT_TASK_CONTROL, IKOT_TASK_NAME, IKOT_TASK_READ, IKOT_THREAD_CONTROL, IKOT_THREAD_READ,
};
use kobject::ipc_kobject_mig::MigKind;
use kobject::ipc_notify::{MACH_NOTIFY_NO_SENDERS, MACH_NOTIFY_PORT_DESTROYED};
use kobject::kobjects::{
    TASK_PORT_CONTROL, TASK_PORT_NAME, TASK_PORT_READ, THREAD_PORT_CONTROL, THREAD_PORT_READ,
};
use kobject::mach::*;
use kobject::mig_routines::MIG_SYNTHETIC_DEFERRED_REPLY_ID;
use kobject::{Held, IpcKobject, IpcPort, Kernel, ObjId, PortId};

use crate::lang::*;
use crate::params::{Params, STEPS_MAX, THREADS_MAX};
use crate::seed::ParamRng;
use crate::typed;
use crate::world::{self, Actor, KPort, Shared, Target, Victim};

/// One named workload.
pub struct Scenario {
    pub name: &'static str,
    pub description: &'static str,
    /// Simulated threads, at most (at least 2 when drawn; the main thread comes on top).
    pub threads_max: usize,
    /// Draws the parameters of one iteration.
    pub draw: fn(&mut ParamRng) -> Params,
    /// Builds the shared objects and one actor per program, on the main thread.
    pub setup: fn(&Kernel, &Params) -> (Shared, Vec<Actor>),
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

/// The name of the scenario that shares nothing (the fuzz targets' setup).
pub const NONE: &str = "none";

pub static SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "lazy-alloc-race",
        description: "threads make send rights on one object's empty port_store through \
                      ipc_kobject_make_send_lazy_alloc_port, then release them",
        threads_max: THREADS_MAX,
        draw: draw_lazy_alloc,
        setup: setup_lazy_alloc,
    },
    Scenario {
        name: "lazy-alloc-labeled-race",
        description: "the same race through ipc_kobject_make_send_lazy_alloc_labeled_port",
        threads_max: THREADS_MAX,
        draw: draw_lazy_alloc_labeled,
        setup: setup_lazy_alloc,
    },
    Scenario {
        name: "dealloc-vs-make-send",
        description: "one thread terminates a thread object (its ports are deallocated) while \
                      others make, copy and release send rights to them and send MIG messages \
                      to them",
        threads_max: THREADS_MAX,
        draw: draw_dealloc_vs_make_send,
        setup: setup_dealloc_vs_make_send,
    },
    Scenario {
        name: "no-senders-vs-rearm",
        description: "the last send right is released (notification prepared) while other \
                      threads re-arm with ipc_kobject_make_send_nsrequest",
        threads_max: THREADS_MAX,
        draw: draw_no_senders_vs_rearm,
        setup: setup_no_senders_vs_rearm,
    },
    Scenario {
        name: "subst-once-copyout",
        description: "ipc_kobject_label_check copies out a subst-once wrapper while other \
                      threads release the wrapper's other send rights",
        threads_max: THREADS_MAX,
        draw: draw_subst_once_copyout,
        setup: setup_subst_once_copyout,
    },
    Scenario {
        name: "replace-stored-right",
        description: "threads send host_set_special_port_from_user messages, each carrying a \
                      send right, to the host-priv port: the stored right is replaced through \
                      MIG dispatch",
        threads_max: THREADS_MAX,
        draw: draw_replace_stored_right,
        setup: setup_replace_stored_right,
    },
    Scenario {
        name: "send-once-notify",
        description: "task_suspend2 send-once rights are destroyed from several threads while \
                      one thread runs task_terminate",
        threads_max: THREADS_MAX,
        draw: draw_send_once_notify,
        setup: setup_send_once_notify,
    },
    Scenario {
        name: "dispatch-vs-destroy",
        description: "threads send MIG messages to a task's (a thread's, an IOKit user \
                      client's) ports and drain the replies while one thread terminates the \
                      task (thread, client); deferred MIG_NO_REPLY replies come from other \
                      threads",
        threads_max: THREADS_MAX,
        draw: draw_dispatch_vs_destroy,
        setup: setup_dispatch_vs_destroy,
    },
    Scenario {
        name: "mixed",
        description: "swarm: each thread runs a random program over a random subset of \
                      action kinds on shared semaphores, vouchers, a thread port, a host \
                      slot, IOKit objects and each other's reply ports, with messages",
        threads_max: THREADS_MAX,
        draw: draw_mixed,
        setup: setup_mixed,
    },
    Scenario {
        name: "right-death",
        description: "one thread destroys a port's receive right while others send to it, copy \
                      its send right in (extract, insert, in message bodies), ask its type and \
                      references and deallocate it: every name must turn into a dead name with \
                      XNU's user references",
        threads_max: THREADS_MAX,
        draw: draw_right_death,
        setup: setup_right_death,
    },
    Scenario {
        name: "notify-vs-death",
        description: "threads arm, replace and cancel dead-name and send-possible requests on \
                      their send right to a port (notify port: their own), deallocate that \
                      right, destroy their notify port and receive the notifications, while one \
                      thread destroys the port's receive right: each request must end as \
                      exactly one dead-name, port-deleted or send-once notification",
        threads_max: THREADS_MAX,
        draw: draw_notify_vs_death,
        setup: setup_right_death,
    },
    Scenario {
        name: "nsrequest-vs-dealloc",
        description: "the receiver armed a no-senders and a port-destroyed request on a port; \
                      threads drop, move and copy their send rights to it, message it and ask \
                      for dead-name notifications, while one thread destroys its receive \
                      right, which travels to the port-destroyed request's port",
        threads_max: THREADS_MAX,
        draw: draw_nsrequest_vs_dealloc,
        setup: setup_nsrequest_vs_dealloc,
    },
    Scenario {
        name: NONE,
        description: "nothing shared: each thread makes its own tasks, threads and objects and \
                      calls routines on them with typed calls (the fuzz targets' world; one \
                      program runs natively)",
        threads_max: THREADS_MAX,
        draw: draw_none,
        setup: setup_none,
    },
];

/// The scenario named `name`.
pub fn find(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}

/// The scenario that shares nothing.
pub fn none() -> &'static Scenario {
    find(NONE).expect("the none scenario is registered")
}

fn threads(rng: &mut ParamRng) -> usize {
    rng.between(2, THREADS_MAX as u32) as usize
}

fn pick<T: Copy>(rng: &mut ParamRng, items: &[T]) -> T {
    items[rng.below(items.len() as u32) as usize]
}

/// The kinds of action a scenario's programs are drawn from; each is made with a small index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Convert,
    Rearm,
    Release,
    CopySend,
    MakeSend,
    MakeSonce,
    SlotSwap,
    Wrap,
    LabelCopyout,
    Terminate,
    Send,
    Receive,
    DeferredReply,
    Stash,
    /// A notification request on a message target, notifying the thread's scratch port.
    Request,
}

impl Kind {
    /// Every kind, in the order the swarm draws them (the order of the first round's operations,
    /// so the random streams stay alike).
    const ALL: [Kind; 15] = [
        Kind::Convert,
        Kind::Rearm,
        Kind::Release,
        Kind::CopySend,
        Kind::MakeSend,
        Kind::MakeSonce,
        Kind::SlotSwap,
        Kind::Wrap,
        Kind::LabelCopyout,
        Kind::Terminate,
        Kind::Send,
        Kind::Receive,
        Kind::DeferredReply,
        Kind::Stash,
        Kind::Request,
    ];
}

/// Draws programs' actions: `send` kinds become messages to the scenario's `targets` (kobject
/// types, then `IKOT_NONE` for ordinary ports).
struct Drawer<'a> {
    rng: &'a mut ParamRng,
    targets: &'a [IpcKobjectType],
}

impl Drawer<'_> {
    fn action(&mut self, kind: Kind) -> Action {
        let arg = self.rng.below(4) as u8;
        match kind {
            Kind::Convert => Action::Convert { object: arg },
            Kind::Rearm => Action::Rearm { object: arg },
            Kind::Release => Action::Release { held: arg },
            Kind::CopySend => Action::CopySend { held: arg },
            Kind::MakeSend => Action::MakeSend { kport: arg },
            Kind::MakeSonce => Action::MakeSonce { held: arg },
            Kind::SlotSwap => Action::SlotSwap { held: arg },
            Kind::Wrap => Action::Wrap { held: arg },
            Kind::LabelCopyout => Action::LabelCopyout { held: arg },
            Kind::Terminate => Action::Terminate,
            Kind::Send => self.message(),
            Kind::Receive => Action::Receive {
                task: 0,
                name: Name::Reply,
            },
            Kind::DeferredReply => Action::DeferredReply,
            Kind::Stash => Action::Stash { task: 0, held: arg },
            Kind::Request => Action::RequestNotification {
                task: 0,
                name: Name::Target(self.rng.below(self.targets.len().max(1) as u32) as u8),
                id: arg,
                sync: self.rng.below(2) as u8,
                notify: if self.rng.chance(1, 4) {
                    Name::Null
                } else {
                    Name::Scratch
                },
            },
        }
    }

    fn any_of(&mut self, kinds: &[Kind]) -> Action {
        let kind = pick(self.rng, kinds);
        self.action(kind)
    }

    /// A message to a random target: a typed call to a routine the target's conversion accepts
    /// (now and then an id no routine answers, a failing or alternative selector, another
    /// disposition or reply port, or a random body); to an ordinary port, a random message.
    fn message(&mut self) -> Action {
        let target = self.rng.below(self.targets.len() as u32) as u8;
        let ty = self.targets[usize::from(target)];
        if ty == IKOT_NONE {
            return self.plain(target);
        }
        let rng = &mut *self.rng;
        let routines = typed::routines_for(ty);
        let id = if ty == IKOT_IOKIT_CONNECT && rng.chance(1, 4) {
            Some(MIG_SYNTHETIC_DEFERRED_REPLY_ID)
        } else if routines.is_empty() || rng.chance(1, 16) {
            None
        } else {
            Some(pick(rng, routines))
        };
        let dest = match rng.below(16) {
            0 | 1 => Some(Deviation::DestDisposition(MACH_MSG_TYPE_MOVE_SEND as u8)),
            2 => Some(Deviation::DestDisposition(
                MACH_MSG_TYPE_MAKE_SEND_ONCE as u8,
            )),
            _ => None,
        };
        let reply = match rng.below(16) {
            0 | 1 => Some(Deviation::NoReply),
            2 => Some(Deviation::SendReply),
            3 => Some(Deviation::KernelReply),
            _ => None,
        };
        let (word, raw_body) = match rng.below(16) {
            0 | 1 => (1, false),
            2 => (2, false),
            3 | 4 => (0, true),
            _ => (0, false),
        };
        match id {
            Some(id) if !raw_body => Action::Call(Call {
                task: 0,
                routine: typed::call_index(id).expect("a routine of the table"),
                target: Name::Target(target),
                word,
                deviation: dest.or(reply),
                receive: false,
            }),
            _ => {
                let id = id.unwrap_or_else(|| pick(rng, unknown_ids()));
                let mut msg = raw_message(target, id, dest, reply);
                if raw_body {
                    msg.descriptors = self.descriptors(target);
                }
                Action::Send(msg)
            }
        }
    }

    fn plain(&mut self, target: u8) -> Action {
        let rng = &mut *self.rng;
        let remote = pick(
            rng,
            &[
                MACH_MSG_TYPE_MAKE_SEND,
                MACH_MSG_TYPE_MAKE_SEND_ONCE,
                MACH_MSG_TYPE_MOVE_SEND,
                MACH_MSG_TYPE_COPY_SEND,
                MACH_MSG_TYPE_COPY_SEND,
                MACH_MSG_TYPE_COPY_SEND,
                MACH_MSG_TYPE_COPY_SEND,
                MACH_MSG_TYPE_COPY_SEND,
            ],
        );
        let (reply, local) = match rng.below(4) {
            0 => (Name::Null, 0),
            1 => (Name::Reply, MACH_MSG_TYPE_MAKE_SEND),
            _ => (Name::Reply, MACH_MSG_TYPE_MAKE_SEND_ONCE),
        };
        let id = rng.between(1, 1000) as i32;
        let word = rng.below(4);
        let descriptors = self.descriptors(target);
        Action::Send(SendMsg {
            remote: remote as u8,
            reply,
            local: local as u8,
            descriptors,
            inline_data: vec![word],
            ..message_to(target, id)
        })
    }

    /// A random body: ports named from the thread's own ports, the destination or a voucher,
    /// with any send-side disposition (receive rights never travel: one queued on its own port,
    /// or in a cycle, is never collected, in XNU either, and would read as a leak).
    fn descriptors(&mut self, target: u8) -> Vec<Desc> {
        const DISPOSITIONS: [u32; 5] = [
            MACH_MSG_TYPE_MOVE_SEND,
            MACH_MSG_TYPE_COPY_SEND,
            MACH_MSG_TYPE_MAKE_SEND,
            MACH_MSG_TYPE_MOVE_SEND_ONCE,
            MACH_MSG_TYPE_MAKE_SEND_ONCE,
        ];
        let rng = &mut *self.rng;
        let names = [
            Name::Scratch,
            Name::Reply,
            Name::Target(target),
            Name::Voucher(0),
            Name::Null,
            Name::Dead,
        ];
        let count = rng.below(DESCRIPTORS_MAX as u32);
        (0..count)
            .map(|_| {
                let kind = rng.below(4);
                let (name, disposition) = (pick(rng, &names), pick(rng, &DISPOSITIONS) as u8);
                match kind {
                    0 | 1 => Desc::Port { name, disposition },
                    2 => Desc::OolPorts {
                        names: vec![name],
                        disposition,
                    },
                    _ => Desc::Ool { size: 64 },
                }
            })
            .collect()
    }
}

/// A raw message to target `target` with id `id`, the destination's and the reply's
/// dispositions following the deviations drawn.
fn raw_message(target: u8, id: i32, dest: Option<Deviation>, reply: Option<Deviation>) -> SendMsg {
    let remote = match dest {
        Some(Deviation::DestDisposition(d)) => d,
        _ => MACH_MSG_TYPE_COPY_SEND as u8,
    };
    let (reply, local) = match reply {
        Some(Deviation::NoReply) => (Name::Null, 0),
        Some(Deviation::SendReply) => (Name::Reply, MACH_MSG_TYPE_MAKE_SEND),
        Some(Deviation::KernelReply) => (Name::Target(target), MACH_MSG_TYPE_COPY_SEND),
        _ => (Name::Reply, MACH_MSG_TYPE_MAKE_SEND_ONCE),
    };
    let words = typed::routine(id).map_or_else(|| vec![0, 0], |d| typed::inline_words(d, 0));
    SendMsg {
        remote,
        reply,
        local: local as u8,
        inline_data: words,
        ..message_to(target, id)
    }
}

/// A message from task 0 to target `target` with id `id`: copy-send, no reply port, no
/// voucher, no body, no words (what the drawers then change).
fn message_to(target: u8, id: i32) -> SendMsg {
    SendMsg {
        task: 0,
        dest: Name::Target(target),
        remote: MACH_MSG_TYPE_COPY_SEND as u8,
        reply: Name::Null,
        local: 0,
        voucher: Name::Null,
        voucher_disposition: 0,
        id: MsgId::Raw(id),
        complex: Complex::Auto,
        descriptors: Vec::new(),
        inline_data: Vec::new(),
    }
}

/// Ids no kernel routine answers: the reserved (skip) ids of the subsystems and the two
/// notification ids a pre-2016 kernel mistook a request for.
fn unknown_ids() -> &'static [i32] {
    static IDS: std::sync::OnceLock<Vec<i32>> = std::sync::OnceLock::new();
    IDS.get_or_init(|| {
        let mut ids = vec![70, 71];
        ids.extend(
            kobject::ipc_kobject_mig::kernel_subsystems()
                .iter()
                .flat_map(|s| &s.routines)
                .filter(|r| r.kind == MigKind::Skip)
                .map(|r| r.msgh_id),
        );
        ids
    })
}

fn lazy_object(k: &Kernel, kind: u32) -> ObjId {
    match kind {
        0 => k.semaphore_create(),
        _ => k.ipc_voucher_create(),
    }
}

fn fresh_actors(params: &Params) -> Vec<Actor> {
    vec![Actor::new(); params.threads()]
}

/// Gives every actor a task of its own with names for the shared targets and vouchers.
fn adopt_tasks(k: &Kernel, shared: &Shared, actors: &mut [Actor]) {
    for a in actors.iter_mut() {
        let (task, space) = k.task_create(IPC_LABEL_NONE).expect("a sender task");
        a.adopt_task(k, shared, task, space);
    }
}

/// Draws programs of `len` actions over `kinds` for a random number of threads.
fn programs(
    rng: &mut ParamRng,
    targets: &[IpcKobjectType],
    len: (u32, u32),
    kinds: &[Kind],
) -> Vec<Vec<Action>> {
    let n = threads(rng);
    let mut d = Drawer { rng, targets };
    (0..n)
        .map(|_| {
            let count = d.rng.between(len.0, len.1);
            (0..count).map(|_| d.any_of(kinds)).collect()
        })
        .collect()
}

/// Inserts the victim's `terminate` at a random place of the first program.
fn insert_terminate(rng: &mut ParamRng, p: &mut Params) {
    let at = rng.below(p.programs[0].len() as u32 + 1) as usize;
    p.programs[0].insert(at, Action::Terminate);
}

// lazy-alloc-race, lazy-alloc-labeled-race

fn draw_lazy_alloc(rng: &mut ParamRng) -> Params {
    let mut p = Params::new();
    p.knobs.insert("kind".into(), rng.below(2));
    p.programs = (0..threads(rng)).map(|_| lazy_program(rng)).collect();
    p
}

/// Every program opens with a convert, so two threads can both find `port_store` empty.
fn lazy_program(rng: &mut ParamRng) -> Vec<Action> {
    let mut d = Drawer { rng, targets: &[] };
    let mut program = vec![Action::Convert { object: 0 }];
    for _ in 0..d.rng.below(3) {
        program.push(d.any_of(&[Kind::Convert, Kind::Release]));
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

fn setup_lazy_alloc(k: &Kernel, params: &Params) -> (Shared, Vec<Actor>) {
    let mut shared = Shared::new();
    shared.label = label_knob(params);
    // The labeled variant is only used with semaphores in the model.
    let kind = if shared.label.is_some() {
        0
    } else {
        params.knob("kind")
    };
    shared.lazies.push(lazy_object(k, kind));
    (shared, fresh_actors(params))
}

// dealloc-vs-make-send

const SEND_KINDS: [Kind; 4] = [
    Kind::MakeSend,
    Kind::CopySend,
    Kind::Release,
    Kind::MakeSonce,
];

/// The message targets of the thread scenarios: the thread's control and read ports.
const THREAD_TARGETS: [IpcKobjectType; 2] = [IKOT_THREAD_CONTROL, IKOT_THREAD_READ];

fn draw_dealloc_vs_make_send(rng: &mut ParamRng) -> Params {
    let mut p = Params::new();
    let kinds = [
        SEND_KINDS.as_slice(),
        &[Kind::Send, Kind::Send, Kind::Receive],
    ]
    .concat();
    p.programs = programs(rng, &THREAD_TARGETS, (2, 5), &kinds);
    insert_terminate(rng, &mut p);
    p
}

/// The thread's control and read ports, as (`ObjLocked::ports` index, kobject type).
const THREAD_PORTS: [(usize, IpcKobjectType); 2] = [
    (THREAD_PORT_CONTROL, IKOT_THREAD_CONTROL),
    (THREAD_PORT_READ, IKOT_THREAD_READ),
];

/// A task with one thread; every actor anchors a right on each of the thread's `ports`.
fn thread_setup(
    k: &Kernel,
    params: &Params,
    ports: &[(usize, IpcKobjectType)],
) -> (Shared, Vec<Actor>) {
    let (task, space) = k.task_create(0).expect("task_create");
    let thread = k.thread_create(task);
    let mut shared = Shared::new();
    shared.task = Some((task, space));
    shared.thread = Some(thread);
    for &(which, ty) in ports {
        let port = k.object_port(thread, which).id();
        let kobject = IpcKobject::Object(thread);
        shared.kports.push(KPort { port, kobject, ty });
    }
    let mut actors = fresh_actors(params);
    for a in &mut actors {
        a.anchors = shared.kports.iter().map(|kp| anchor(k, kp)).collect();
    }
    (shared, actors)
}

fn anchor(k: &Kernel, kp: &KPort) -> Held {
    match k.ipc_kobject_make_send(IpcPort::Port(kp.port), kp.kobject, kp.ty) {
        IpcPort::Port(p) => Held::Send(p),
        other => panic!("anchor on live {:?} gave {other:?}", kp.port),
    }
}

/// The shared kobject ports as message targets.
fn kport_targets(shared: &Shared) -> Vec<Target> {
    shared
        .kports
        .iter()
        .map(|kp| Target {
            port: kp.port,
            ty: kp.ty,
        })
        .collect()
}

fn setup_dealloc_vs_make_send(k: &Kernel, params: &Params) -> (Shared, Vec<Actor>) {
    let (mut shared, mut actors) = thread_setup(k, params, &THREAD_PORTS);
    shared.victim = Victim::Thread;
    shared.targets = kport_targets(&shared);
    adopt_tasks(k, &shared, &mut actors);
    (shared, actors)
}

// no-senders-vs-rearm

fn draw_no_senders_vs_rearm(rng: &mut ParamRng) -> Params {
    let mut p = Params::new();
    p.knobs.insert("kind".into(), rng.below(2));
    let n = threads(rng);
    let mut d = Drawer { rng, targets: &[] };
    p.programs = (0..n)
        .map(|_| {
            let first = d.any_of(&[Kind::Release, Kind::Rearm]);
            let rest = d.rng.between(1, 3);
            let mut program = vec![first];
            program
                .extend((0..rest).map(|_| d.any_of(&[Kind::Release, Kind::Rearm, Kind::Convert])));
            program
        })
        .collect();
    p
}

/// Every actor starts with one send right made by the first convert (which arms) or a later one.
fn setup_no_senders_vs_rearm(k: &Kernel, params: &Params) -> (Shared, Vec<Actor>) {
    let mut shared = Shared::new();
    shared.lazies.push(lazy_object(k, params.knob("kind")));
    let mut actors = fresh_actors(params);
    for a in &mut actors {
        a.held
            .extend(world::convert(k, shared.label, shared.lazies[0]));
    }
    (shared, actors)
}

// subst-once-copyout

fn draw_subst_once_copyout(rng: &mut ParamRng) -> Params {
    let mut p = Params::new();
    let workers = threads(rng);
    let mut copier = vec![Action::LabelCopyout { held: 0 }];
    if rng.chance(1, 2) {
        copier.push(Action::Release { held: 0 });
    }
    p.programs.push(copier);
    let mut d = Drawer { rng, targets: &[] };
    for _ in 1..workers {
        let mut program = vec![Action::Release {
            held: d.rng.below(2) as u8,
        }];
        let extra = d.rng.below(3) as usize;
        for _ in 0..extra {
            let at = d.rng.below(program.len() as u32 + 1) as usize;
            let action = d.any_of(&[Kind::Convert, Kind::Release]);
            program.insert(at, action);
        }
        p.programs.push(program);
    }
    p
}

/// A subst-once wrapper around a semaphore's send right: thread 0 holds the wrapper's own right
/// and copies it out; every other thread holds a copy and releases it.
fn setup_subst_once_copyout(k: &Kernel, params: &Params) -> (Shared, Vec<Actor>) {
    let mut shared = Shared::new();
    shared.task = Some(k.task_create(0).expect("task_create"));
    shared.lazies.push(k.semaphore_create());
    let Some(Held::Send(target)) = world::convert(k, shared.label, shared.lazies[0]) else {
        panic!("convert of a live semaphore made no right");
    };
    let wrapper = k.ipc_kobject_alloc_subst_once(IpcPort::Port(target)).id();
    let mut actors = fresh_actors(params);
    actors[0].held.push(Held::Send(wrapper));
    for a in actors.iter_mut().skip(1) {
        let copy = k.ipc_port_copy_send_any(IpcPort::Port(wrapper));
        a.held.push(Held::Send(copy.id()));
    }
    (shared, actors)
}

// replace-stored-right

/// The msgh_id of `name` in the kernel's table.
fn routine_id(name: &str) -> i32 {
    typed::call_routines()
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no routine {name}"))
        .msgh_id
}

/// Every thread sends 1-3 `host_set_special_port_from_user` requests (a send right on its
/// scratch port in the port descriptor), with or without a reply port, and drains replies.
fn draw_replace_stored_right(rng: &mut ParamRng) -> Params {
    let mut p = Params::new();
    let routine = typed::call_index(routine_id("host_set_special_port_from_user"))
        .expect("a routine of the table");
    for _ in 0..threads(rng) {
        let mut program = Vec::new();
        for _ in 0..rng.between(1, 3) {
            let with_reply = rng.chance(1, 2);
            program.push(Action::Call(Call {
                task: 0,
                routine,
                target: Name::Target(0),
                word: 0,
                deviation: (!with_reply).then_some(Deviation::NoReply),
                receive: false,
            }));
            if with_reply && rng.chance(1, 2) {
                program.push(Action::Receive {
                    task: 0,
                    name: Name::Reply,
                });
            }
        }
        p.programs.push(program);
    }
    p
}

/// A host whose slot starts with a right to a semaphore; each thread a send right on the
/// host-priv port in its own space.
fn setup_replace_stored_right(k: &Kernel, params: &Params) -> (Shared, Vec<Actor>) {
    let mut shared = Shared::new();
    let (host, _, priv_port) = k.host_create();
    shared.host = Some(host);
    shared.permanent.push(host);
    shared.lazies.push(k.semaphore_create());
    let Some(Held::Send(p)) = world::convert(k, shared.label, shared.lazies[0]) else {
        panic!("convert of a live semaphore made no right");
    };
    let old = k.object_slot_swap(host, IpcPort::Port(p));
    assert_eq!(old, kobject::IP_NULL, "a fresh host slot is empty");
    shared.targets = vec![Target {
        port: priv_port,
        ty: IKOT_HOST_PRIV,
    }];
    let mut actors = fresh_actors(params);
    adopt_tasks(k, &shared, &mut actors);
    (shared, actors)
}

// dispatch-vs-destroy

/// The victim's ports threads send to: a task's control, read and name ports.
const TASK_TARGETS: [IpcKobjectType; 3] = [IKOT_TASK_CONTROL, IKOT_TASK_READ, IKOT_TASK_NAME];

fn draw_dispatch_vs_destroy(rng: &mut ParamRng) -> Params {
    let mut p = Params::new();
    let victim = rng.below(3);
    p.knobs.insert("victim".into(), victim);
    let kinds: &[Kind] = if victim == 2 {
        &[
            Kind::Send,
            Kind::Send,
            Kind::Receive,
            Kind::DeferredReply,
            Kind::Request,
        ]
    } else {
        &[Kind::Send, Kind::Send, Kind::Receive, Kind::Request]
    };
    let targets: &[IpcKobjectType] = match victim {
        0 => &TASK_TARGETS,
        1 => &THREAD_TARGETS,
        _ => &[IKOT_IOKIT_CONNECT],
    };
    p.programs = programs(rng, targets, (2, 6), kinds);
    for program in &mut p.programs {
        if !program.iter().any(is_message) {
            program[0] = Drawer { rng, targets }.message();
        }
    }
    insert_terminate(rng, &mut p);
    p
}

fn is_message(action: &Action) -> bool {
    matches!(action, Action::Send(_) | Action::Call(_))
}

/// A victim task (knob `victim` 0), a thread of a task (1) or an IOKit user client (2), two
/// vouchers for the routines' voucher arguments, and a task per thread with send rights on the
/// victim's ports.
fn setup_dispatch_vs_destroy(k: &Kernel, params: &Params) -> (Shared, Vec<Actor>) {
    let mut shared = Shared::new();
    let (task, space) = k.task_create(0).expect("task_create");
    shared.task = Some((task, space));
    let ports: Vec<(PortId, IpcKobjectType)> = match params.knob("victim") {
        0 => {
            shared.victim = Victim::Task;
            [TASK_PORT_CONTROL, TASK_PORT_READ, TASK_PORT_NAME]
                .iter()
                .zip(TASK_TARGETS)
                .map(|(&which, ty)| (k.object_port(task, which).id(), ty))
                .collect()
        }
        1 => {
            let thread = k.thread_create(task);
            shared.thread = Some(thread);
            shared.victim = Victim::Thread;
            THREAD_PORTS
                .iter()
                .map(|&(which, ty)| (k.object_port(thread, which).id(), ty))
                .collect()
        }
        _ => {
            let (client, port) = k.mig_object_create(IKOT_IOKIT_CONNECT);
            k.object_reference(client);
            shared.connect = Some((client, port));
            shared.victim = Victim::Client;
            vec![(port, IKOT_IOKIT_CONNECT)]
        }
    };
    shared.vouchers = vec![k.ipc_voucher_create(), k.ipc_voucher_create()];
    shared.targets = ports
        .into_iter()
        .map(|(port, ty)| Target { port, ty })
        .collect();
    let mut actors = fresh_actors(params);
    adopt_tasks(k, &shared, &mut actors);
    (shared, actors)
}

// send-once-notify

fn draw_send_once_notify(rng: &mut ParamRng) -> Params {
    let mut p = Params::new();
    p.programs = (0..threads(rng))
        .map(|_| {
            let rights = rng.between(1, 2);
            (0..rights)
                .map(|_| Action::Release {
                    held: rng.below(2) as u8,
                })
                .collect()
        })
        .collect();
    insert_terminate(rng, &mut p);
    p
}

/// Each thread holds one `task_suspend2` send-once right per release in its program.
fn setup_send_once_notify(k: &Kernel, params: &Params) -> (Shared, Vec<Actor>) {
    let mut shared = Shared::new();
    let (task, space) = k.task_create(0).expect("task_create");
    shared.task = Some((task, space));
    shared.victim = Victim::Task;
    let actors = params
        .programs
        .iter()
        .map(|program| {
            let rights = program
                .iter()
                .filter(|a| matches!(a, Action::Release { .. }))
                .count();
            let mut a = Actor::new();
            a.held = (0..rights)
                .map(|_| Held::SendOnce(k.task_suspend2(task).id()))
                .collect();
            a
        })
        .collect();
    (shared, actors)
}

// mixed

/// The kobject message targets of `mixed`: the thread's control port, the host-priv port, an
/// IOKit user client (the synthetic `MIG_NO_REPLY` routine's target) and the main device port;
/// each thread's reply port follows as an ordinary port.
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
    let n = threads(rng);
    let mut targets = MIXED_TARGETS.to_vec();
    targets.extend(std::iter::repeat_n(IKOT_NONE, n));
    let mut d = Drawer {
        rng,
        targets: &targets,
    };
    p.programs = (0..n).map(|_| swarm_program(&mut d)).collect();
    p
}

/// Swarm testing: a random non-empty subset of the action kinds (all but `terminate`: the
/// swarm keeps its shared objects alive until teardown), then a program over it.
fn swarm_program(d: &mut Drawer<'_>) -> Vec<Action> {
    let all: Vec<Kind> = Kind::ALL
        .into_iter()
        .filter(|&k| k != Kind::Terminate)
        .collect();
    let mut kinds: Vec<Kind> = all.iter().copied().filter(|_| d.rng.chance(1, 2)).collect();
    if kinds.is_empty() {
        kinds.push(pick(d.rng, &all));
    }
    let len = d.rng.between(2, 6);
    (0..len).map(|_| d.any_of(&kinds)).collect()
}

/// Two lazily ported objects (a semaphore and a voucher, or two labeled semaphores), a host
/// slot, a task with a thread whose control port every thread anchors, an IOKit user client and
/// a main device; every thread has a task with send rights on those four kobject ports and on
/// every thread's reply port.
fn setup_mixed(k: &Kernel, params: &Params) -> (Shared, Vec<Actor>) {
    let (mut shared, mut actors) = thread_setup(k, params, &THREAD_PORTS[..1]);
    shared.label = label_knob(params);
    let second = if shared.label.is_some() { 0 } else { 1 };
    shared.lazies = vec![lazy_object(k, 0), lazy_object(k, second)];
    let (host, _, priv_port) = k.host_create();
    shared.host = Some(host);
    let (connect, connect_port) = k.mig_object_create(IKOT_IOKIT_CONNECT);
    k.object_reference(connect);
    shared.connect = Some((connect, connect_port));
    let (device, device_port) = k.mig_object_create(IKOT_MAIN_DEVICE);
    shared.permanent = vec![host, device];
    shared.targets = kport_targets(&shared);
    for (port, ty) in [
        (priv_port, IKOT_HOST_PRIV),
        (connect_port, IKOT_IOKIT_CONNECT),
        (device_port, IKOT_MAIN_DEVICE),
    ] {
        shared.targets.push(Target { port, ty });
    }
    // Each thread's reply port is a target too: made before the tasks are adopted, so every
    // task gets a name for every reply port.
    let mut mailboxes = Vec::new();
    for _ in 0..actors.len() {
        let (task, space) = k.task_create(IPC_LABEL_NONE).expect("a sender task");
        let reply = k.mach_port_allocate(space).expect("a reply port");
        let port = k
            .ipc_entry_lookup(space, reply)
            .and_then(|e| e.ie_object)
            .expect("the reply port");
        shared.targets.push(Target {
            port,
            ty: IKOT_NONE,
        });
        mailboxes.push((task, space, reply));
    }
    for (a, (task, space, reply)) in actors.iter_mut().zip(mailboxes) {
        a.adopt_task_with_reply(k, &shared, task, space, reply);
    }
    k.ipc_port_release_send(IpcPort::Port(device_port));
    (shared, actors)
}

// right-death

fn draw_right_death(rng: &mut ParamRng) -> Params {
    let mut p = Params::new();
    let n = threads(rng);
    let dying = Name::Target(0);
    p.programs = (0..n)
        .map(|_| {
            let len = rng.between(2, 6);
            (0..len)
                .map(|_| match rng.below(9) {
                    0 | 1 => Drawer {
                        rng,
                        targets: &[IKOT_NONE],
                    }
                    .message(),
                    2 => Action::Deallocate {
                        task: 0,
                        name: dying,
                    },
                    3 => Action::ModRefs {
                        task: 0,
                        name: dying,
                        right: MACH_PORT_RIGHT_SEND as u8,
                        delta: pick(rng, &[-1, 1]),
                    },
                    4 => Action::ExtractRight {
                        task: 0,
                        name: dying,
                        disposition: pick(rng, &[MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MOVE_SEND])
                            as u8,
                    },
                    5 => Action::InsertRight {
                        task: 0,
                        name: Name::Raw(0x7003),
                        poly: dying,
                        disposition: MACH_MSG_TYPE_COPY_SEND as u8,
                    },
                    6 => Action::GetRefs {
                        task: 0,
                        name: dying,
                        right: pick(rng, &[MACH_PORT_RIGHT_SEND, MACH_PORT_RIGHT_DEAD_NAME]) as u8,
                    },
                    7 => Action::PortType {
                        task: 0,
                        name: dying,
                    },
                    _ => Action::Receive {
                        task: 0,
                        name: Name::Reply,
                    },
                })
                .collect()
        })
        .collect();
    insert_terminate(rng, &mut p);
    p
}

/// A server task holding a port's receive right; every thread a task with a send right to it
/// (its target 0), which dies when thread 0 terminates the receive right.
fn setup_right_death(k: &Kernel, params: &Params) -> (Shared, Vec<Actor>) {
    let mut shared = Shared::new();
    let (task, space) = k.task_create(IPC_LABEL_NONE).expect("a server task");
    let name = k.mach_port_allocate(space).expect("the dying port");
    let port = k
        .ipc_entry_lookup(space, name)
        .and_then(|e| e.ie_object)
        .expect("the dying port");
    shared.task = Some((task, space));
    shared.victim = Victim::Port(name);
    shared.targets = vec![Target {
        port,
        ty: IKOT_NONE,
    }];
    let mut actors = fresh_actors(params);
    adopt_tasks(k, &shared, &mut actors);
    (shared, actors)
}

// notify-vs-death, nsrequest-vs-dealloc

/// A request of kind `id` (see [`notify_id`]) on the thread's send right to target 0, notify
/// port its scratch port, or (one time in four) a cancel.
fn request_on_target(rng: &mut ParamRng, ids: &[u8]) -> Action {
    Action::RequestNotification {
        task: 0,
        name: Name::Target(0),
        id: pick(rng, ids),
        sync: rng.below(2) as u8,
        notify: if rng.chance(1, 4) {
            Name::Null
        } else {
            Name::Scratch
        },
    }
}

fn draw_notify_vs_death(rng: &mut ParamRng) -> Params {
    let mut p = Params::new();
    let dying = Name::Target(0);
    p.programs = (0..threads(rng))
        .map(|_| {
            let mut program = vec![request_on_target(rng, &[0, 1])];
            for _ in 0..rng.between(1, 5) {
                program.push(match rng.below(8) {
                    0 | 1 => request_on_target(rng, &[0, 1]),
                    2 => Action::Deallocate {
                        task: 0,
                        name: dying,
                    },
                    3 => Action::DestroyName {
                        task: 0,
                        name: Name::Scratch,
                    },
                    4 => Action::Deallocate {
                        task: 0,
                        name: Name::Recent(0),
                    },
                    5 => Action::PortType {
                        task: 0,
                        name: dying,
                    },
                    _ => Action::Receive {
                        task: 0,
                        name: Name::Scratch,
                    },
                });
            }
            program
        })
        .collect();
    insert_terminate(rng, &mut p);
    p
}

fn draw_nsrequest_vs_dealloc(rng: &mut ParamRng) -> Params {
    let mut p = Params::new();
    let target = Name::Target(0);
    p.programs = (0..threads(rng))
        .map(|_| {
            (0..rng.between(2, 6))
                .map(|_| match rng.below(8) {
                    0 | 1 => Action::Deallocate {
                        task: 0,
                        name: target,
                    },
                    2 => Action::ExtractRight {
                        task: 0,
                        name: target,
                        disposition: pick(rng, &[MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MOVE_SEND])
                            as u8,
                    },
                    3 => Drawer {
                        rng,
                        targets: &[IKOT_NONE],
                    }
                    .message(),
                    4 => request_on_target(rng, &[0]),
                    5 => Action::Deallocate {
                        task: 0,
                        name: Name::Recent(0),
                    },
                    _ => Action::Receive {
                        task: 0,
                        name: Name::Scratch,
                    },
                })
                .collect()
        })
        .collect();
    insert_terminate(rng, &mut p);
    p
}

/// As right-death's setup; the server has armed a no-senders request (fired when the threads'
/// send rights are gone) and a port-destroyed request (the receive right goes to a backup port
/// of the server when thread 0 destroys it), both notifying its backup port.
fn setup_nsrequest_vs_dealloc(k: &Kernel, params: &Params) -> (Shared, Vec<Actor>) {
    let (shared, actors) = setup_right_death(k, params);
    let (_, space) = shared.task.expect("the server task");
    let Victim::Port(name) = shared.victim else {
        unreachable!("right-death's victim is its port")
    };
    let backup = k.mach_port_allocate(space).expect("a backup port");
    let backup_port = k
        .ipc_entry_lookup(space, backup)
        .and_then(|e| e.ie_object)
        .expect("the backup port");
    for id in [MACH_NOTIFY_NO_SENDERS, MACH_NOTIFY_PORT_DESTROYED] {
        let notify = k.ipc_port_make_sonce(IpcPort::Port(backup_port));
        let previous = k.mach_port_request_notification(Some(space), name, id, 0, notify);
        assert_eq!(previous, Ok(kobject::IP_NULL), "the server's {id} request");
    }
    (shared, actors)
}

// none

/// Random programs decoded from the iteration's stream, as a fuzz target decodes its input.
fn draw_none(rng: &mut ParamRng) -> Params {
    let mut p = Params::new();
    let n = threads(rng);
    p.programs = (0..n)
        .map(|_| {
            let bytes: Vec<u8> = (0..96).map(|_| rng.below(256) as u8).collect();
            decode_program(&bytes, STEPS_MAX)
        })
        .collect();
    p
}

fn setup_none(_: &Kernel, params: &Params) -> (Shared, Vec<Actor>) {
    (Shared::new(), fresh_actors(params))
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
