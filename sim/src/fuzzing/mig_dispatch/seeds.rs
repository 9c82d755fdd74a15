//! The committed `mig_dispatch` seeds: one well-formed request per slot of the real routine table
//! (345 routines, 52 skips) against a kobject of the type its stub converts, and a few scenarios
//! that reach the label checks, subst-once, timers, send-once destinations and queued messages.

use kobject::ipc_kobject_mig::{MigKind, MigPortKind, MigRoutineDesc, MACH_MSG_TYPE_POLYMORPHIC};
use kobject::mach::*;

use super::*;

/// A named seed input.
pub struct Seed {
    /// File name under `corpus/mig_dispatch/` (never 40 hex digits, libFuzzer's own names).
    pub name: String,
    pub input: MigDispatchInput,
    /// For a slot seed: the id sent and whether a routine (not `MIG_BAD_ID`) must answer.
    pub expects: Option<(i32, bool)>,
}

/// Builds an action list whose [`Name::Nth`] references stay right: it counts the names the
/// actions give task 0 (receives add theirs after, so earlier positions never move).
struct Script {
    actions: Vec<Action>,
    names: usize,
}

impl Script {
    fn new() -> Script {
        Script {
            actions: Vec::new(),
            names: 0,
        }
    }

    /// Adds an action that gives task 0 one name; returns that name's position.
    fn named(&mut self, action: Action) -> usize {
        self.actions.push(action);
        self.names += 1;
        assert!(
            self.names <= NAMES_MAX,
            "a seed outgrew the remembered names"
        );
        self.names - 1
    }

    fn act(&mut self, action: Action) {
        self.actions.push(action);
    }

    /// The [`Name`] of the name given at `position`.
    fn name(&self, position: usize) -> Name {
        assert!(position < self.names);
        Name::Nth(u8::try_from(position).expect("fewer than 256 names"))
    }

    fn get(&mut self, source: Source) -> usize {
        self.named(Action::GetPort {
            task: 0,
            source,
            wrap: Wrap::Plain,
        })
    }

    fn port(&mut self) -> usize {
        self.named(Action::AllocatePort { task: 0 })
    }

    fn finish(self) -> MigDispatchInput {
        assert!(self.actions.len() <= ACTIONS_MAX);
        MigDispatchInput {
            actions: self.actions,
        }
    }
}

/// The kobject a stub's target conversion expects, and whether the seed needs a thread.
fn target_source(desc: &MigRoutineDesc, subsystem: &str) -> Source {
    let task = |which| Source::TaskPort { task: 0, which };
    let thread = |which| Source::ThreadPort { thread: 0, which };
    match desc.target_intran {
        "convert_port_to_task_read_mig"
        | "convert_port_to_map_read"
        | "convert_port_to_space_read"
        | "convert_port_to_space_inspect"
        | "convert_port_to_task_inspect_mig" => task(TaskPortKind::Read),
        "convert_port_to_task_name_mig" => task(TaskPortKind::Name),
        "convert_port_to_task_suspension_token_mig" => Source::SuspendToken { task: 0 },
        "convert_port_to_thread" => thread(ThreadPortKind::Control),
        "convert_port_to_thread_read" | "convert_port_to_thread_inspect" => {
            thread(ThreadPortKind::Read)
        }
        "convert_port_to_host" => Source::Host,
        "convert_port_to_host_priv" => Source::HostPriv,
        "convert_port_to_processor" => Source::Permanent(PermanentKind::Processor),
        "convert_port_to_pset" => Source::Permanent(PermanentKind::Pset),
        "convert_port_to_pset_name" => Source::Permanent(PermanentKind::PsetName),
        "convert_port_to_clock" => Source::Permanent(PermanentKind::Clock),
        "convert_port_to_arcade_register" => Source::Permanent(PermanentKind::ArcadeRegister),
        "convert_port_to_voucher" => Source::NewVoucher,
        "convert_port_to_eventlink" => Source::NewGeneric(GenericKind::Eventlink),
        "convert_port_to_UNDReply" => Source::NewGeneric(GenericKind::UndReply),
        "convert_port_to_task_id_token" => Source::NewGeneric(GenericKind::TaskIdToken),
        "iokit_lookup_object_port" => Source::NewGeneric(GenericKind::IokitObject),
        "iokit_lookup_connect_port" => Source::NewGeneric(GenericKind::IokitConnect),
        "null_conversion" => Source::NewGeneric(GenericKind::NamedEntry),
        // `raw` stubs pass the port itself; the routine checks it against its subsystem's type.
        "raw" => match subsystem {
            "mach_host" => Source::Host,
            "is_iokit" => Source::Permanent(PermanentKind::MainDevice),
            "thread_act" => thread(ThreadPortKind::Control),
            _ => task(TaskPortKind::Control),
        },
        // Task conversions (task, space, map, policy) and a skip's target.
        _ => task(TaskPortKind::Control),
    }
}

/// The user disposition that yields the post-copyin disposition a stub checks.
fn user_disposition(post: MachMsgTypeName) -> u32 {
    match post {
        MACH_MSG_TYPE_PORT_RECEIVE => MACH_MSG_TYPE_MOVE_RECEIVE,
        MACH_MSG_TYPE_PORT_SEND_ONCE | MACH_MSG_TYPE_MAKE_SEND_ONCE => MACH_MSG_TYPE_MAKE_SEND_ONCE,
        // PORT_SEND, MOVE_SEND, polymorphic: a send right made from a receive right.
        _ => MACH_MSG_TYPE_MAKE_SEND,
    }
}

/// The kobject a port argument the stub translates expects (its field name, as the MIG
/// definitions name it), if the harness can make one.
fn argument_source(field: &str) -> Option<Source> {
    let task = Source::TaskPort {
        task: 0,
        which: TaskPortKind::Control,
    };
    match field {
        "task" | "src_task" | "into_task" | "from_task" | "owningTask" | "corspe_task" => {
            Some(task)
        }
        "thread" => Some(Source::ThreadPort {
            thread: 0,
            which: ThreadPortKind::Control,
        }),
        "semaphore" => Some(Source::NewSemaphore),
        "voucher" | "new_voucher" | "old_voucher" => Some(Source::NewVoucher),
        "object" | "parent_handle" | "parent_entry" => {
            Some(Source::NewGeneric(GenericKind::NamedEntry))
        }
        "new_set" | "pset" => Some(Source::Permanent(PermanentKind::Pset)),
        "set_name" => Some(Source::Permanent(PermanentKind::PsetName)),
        "connect_to" => Some(Source::NewGeneric(GenericKind::IokitConnect)),
        _ => None,
    }
}

/// How one descriptor of a well-formed request is filled.
struct ArgPlan {
    /// Position of the name it carries in the first request.
    position: usize,
    /// A receive right moves: the second request carries another port.
    second: Option<usize>,
    disposition: u32,
    ool: bool,
}

/// Names for every port argument of `desc`: a kobject of the translated type, or a fresh port
/// of the task's (two for a receive right, which moves). Every name is made before the first
/// receive, whose copied-out names would come after them.
fn plan_arguments(script: &mut Script, desc: &MigRoutineDesc) -> Vec<ArgPlan> {
    let mut plans = Vec::new();
    for arg in &desc.req_ports {
        let post = if arg.disposition == MACH_MSG_TYPE_POLYMORPHIC {
            MACH_MSG_TYPE_PORT_SEND
        } else {
            arg.disposition
        };
        let ool = arg.kind == MigPortKind::OolPorts;
        for _ in 0..arg.count {
            let translated = argument_source(arg.field).filter(|_| post == MACH_MSG_TYPE_PORT_SEND);
            let (position, disposition) = match translated {
                Some(source) => (script.get(source), MACH_MSG_TYPE_COPY_SEND),
                None => (script.port(), user_disposition(post)),
            };
            let receive = post == MACH_MSG_TYPE_PORT_RECEIVE;
            plans.push(ArgPlan {
                position,
                second: receive.then(|| script.port()),
                disposition,
                ool,
            });
        }
    }
    plans
}

/// Whether `desc`'s seed needs a thread (its target or an argument is a thread port).
fn needs_thread(desc: &MigRoutineDesc, target: Source) -> bool {
    matches!(target, Source::ThreadPort { .. })
        || desc
            .req_ports
            .iter()
            .any(|a| matches!(argument_source(a.field), Some(Source::ThreadPort { .. })))
}

/// One well-formed request to `desc` on the name at `target`, then the receive of its reply.
fn request_round(
    script: &mut Script,
    desc: &MigRoutineDesc,
    slot: usize,
    (target, reply, remote): (usize, usize, u32),
    plans: &[ArgPlan],
    first: bool,
) {
    let mut descriptors: Vec<Desc> = plans
        .iter()
        .map(|plan| {
            let position = match plan.second {
                Some(second) if !first => second,
                _ => plan.position,
            };
            let name = script.name(position);
            let disposition = plan.disposition as u8;
            if plan.ool {
                Desc::OolPorts {
                    names: vec![name],
                    disposition,
                }
            } else {
                Desc::Port { name, disposition }
            }
        })
        .collect();
    for _ in 0..desc.req_ool_mem {
        descriptors.push(Desc::Ool { size: 4096 });
    }
    descriptors.truncate(DESCRIPTORS_MAX);
    let mut inline_data = kobject::mig_routines::mig_well_formed_words(desc);
    if !first {
        // The second request takes the routine's alternative branch, where it has one.
        inline_data[0] = kobject::mig_routines::MIG_SELECT_ALT;
    }
    inline_data.truncate(INLINE_WORDS_MAX);
    script.act(Action::Send(SendMsg {
        task: 0,
        dest: script.name(target),
        remote: remote as u8,
        reply: script.name(reply),
        local: MACH_MSG_TYPE_MAKE_SEND_ONCE as u8,
        voucher: Name::Null,
        voucher_disposition: 0,
        id: MsgId::Routine(u16::try_from(slot).expect("fewer than 65536 slots")),
        complex: Complex::Auto,
        descriptors,
        inline_data,
    }));
    script.act(Action::Receive {
        task: 0,
        name: script.name(reply),
    });
}

/// The seed for slot `slot` of [`routine_slots`]: the request twice, the second time with the
/// alternative-branch selector; a routine's second call also meets the state its first call
/// left (a registered port, an armed request, a stored right).
pub fn slot_seed(slot: usize, subsystem: &str) -> Seed {
    let desc = routine_slots()[slot];
    let mut script = Script::new();
    let source = target_source(desc, subsystem);
    if needs_thread(desc, source) {
        script.act(Action::CreateThread { task: 0 });
    }
    let target = script.get(source);
    let reply = script.port();
    let plans = plan_arguments(&mut script, desc);
    let remote = match source {
        Source::SuspendToken { .. } => MACH_MSG_TYPE_MOVE_SEND_ONCE,
        _ => MACH_MSG_TYPE_COPY_SEND,
    };
    let header = (target, reply, remote);
    request_round(&mut script, desc, slot, header, &plans, true);
    if remote == MACH_MSG_TYPE_COPY_SEND {
        request_round(&mut script, desc, slot, header, &plans, false);
    }
    let (prefix, routine) = match desc.kind {
        MigKind::Skip => ("skip", "-"),
        _ => ("routine", desc.name),
    };
    Seed {
        name: format!("{prefix}-{}-{routine}", desc.msgh_id),
        input: script.finish(),
        expects: Some((desc.msgh_id, desc.kind != MigKind::Skip)),
    }
}

/// Every seed: one per slot, then the scenarios.
pub fn seeds() -> Vec<Seed> {
    let mut seeds = Vec::new();
    let mut slot = 0;
    for subsystem in kobject::ipc_kobject_mig::kernel_subsystems() {
        for _ in &subsystem.routines {
            seeds.push(slot_seed(slot, subsystem.name));
            slot += 1;
        }
    }
    assert_eq!(slot, routine_slots().len());
    seeds.extend(scenarios());
    seeds
}

fn scenario(name: &str, actions: Vec<Action>) -> Seed {
    Seed {
        name: format!("scenario-{name}"),
        input: MigDispatchInput { actions },
        expects: None,
    }
}

fn get(source: Source, wrap: Wrap) -> Action {
    Action::GetPort {
        task: 0,
        source,
        wrap,
    }
}

/// A simple message from task 0 (no voucher, no body).
fn message(dest: Name, remote: u32, reply: Name, local: u32, id: MsgId) -> SendMsg {
    SendMsg {
        task: 0,
        dest,
        remote: remote as u8,
        reply,
        local: local as u8,
        voucher: Name::Null,
        voucher_disposition: 0,
        id,
        complex: Complex::Auto,
        descriptors: Vec::new(),
        inline_data: Vec::new(),
    }
}

fn scenarios() -> Vec<Seed> {
    let mut all = task_scenarios();
    all.extend(message_scenarios());
    all.extend(object_scenarios());
    all
}

/// Tasks, their ports across spaces, and label refusals.
fn task_scenarios() -> Vec<Seed> {
    vec![
        scenario(
            "labeled-semaphore-refused",
            vec![
                Action::CreateTask(Label::None),
                get(Source::NewLabeledSemaphore(Label::Platform), Wrap::Plain),
                Action::CreateTask(Label::Platform),
                Action::GetPort {
                    task: 1,
                    source: Source::Again { object: 0 },
                    wrap: Wrap::Plain,
                },
            ],
        ),
        scenario(
            "task-ports-across-tasks",
            vec![
                Action::CreateTask(Label::None),
                Action::CreateTask(Label::None),
                Action::CreateThread { task: 1 },
                get(
                    Source::TaskPort {
                        task: 1,
                        which: TaskPortKind::Control,
                    },
                    Wrap::Plain,
                ),
                get(
                    Source::TaskPort {
                        task: 1,
                        which: TaskPortKind::Read,
                    },
                    Wrap::Plain,
                ),
                get(
                    Source::TaskPort {
                        task: 1,
                        which: TaskPortKind::Name,
                    },
                    Wrap::Plain,
                ),
                get(
                    Source::TaskPort {
                        task: 0,
                        which: TaskPortKind::Control,
                    },
                    Wrap::Plain,
                ),
                get(
                    Source::TaskPort {
                        task: 0,
                        which: TaskPortKind::Read,
                    },
                    Wrap::Plain,
                ),
                get(
                    Source::ThreadPort {
                        thread: 0,
                        which: ThreadPortKind::Control,
                    },
                    Wrap::Plain,
                ),
                get(
                    Source::ThreadPort {
                        thread: 0,
                        which: ThreadPortKind::Read,
                    },
                    Wrap::Plain,
                ),
                get(
                    Source::TaskPort {
                        task: 0,
                        which: TaskPortKind::Control,
                    },
                    Wrap::SubstOnce,
                ),
                Action::TerminateTask { task: 1 },
            ],
        ),
    ]
}

/// Messages: timers, send-once destinations, bodies, queues, ids, reply ports, vouchers.
fn message_scenarios() -> Vec<Seed> {
    let latest = Name::Recent(0);
    let before = Name::Recent(1);
    let receive = Action::Receive {
        task: 0,
        name: latest,
    };
    let mut with_body = message(
        before,
        MACH_MSG_TYPE_MAKE_SEND,
        Name::Null,
        0,
        MsgId::Raw(7),
    );
    with_body.descriptors = vec![
        Desc::Port {
            name: latest,
            disposition: MACH_MSG_TYPE_COPY_SEND as u8,
        },
        Desc::OolPorts {
            names: vec![latest, Name::Null, Name::Dead],
            disposition: MACH_MSG_TYPE_COPY_SEND as u8,
        },
        Desc::Ool { size: 4096 },
    ];
    let mut with_voucher = message(
        before,
        MACH_MSG_TYPE_COPY_SEND,
        Name::Null,
        0,
        MsgId::Raw(3401),
    );
    with_voucher.voucher = latest;
    with_voucher.voucher_disposition = MACH_MSG_TYPE_COPY_SEND as u8;
    vec![
        scenario(
            "timer-queue-and-destroy",
            vec![
                get(Source::Timer, Wrap::Plain),
                Action::InsertSend {
                    task: 0,
                    name: latest,
                },
                Action::Send(message(
                    latest,
                    MACH_MSG_TYPE_COPY_SEND,
                    Name::Null,
                    0,
                    MsgId::Raw(1),
                )),
                receive.clone(),
                Action::Send(message(
                    latest,
                    MACH_MSG_TYPE_MAKE_SEND,
                    Name::Null,
                    0,
                    MsgId::Raw(2),
                )),
                Action::DestroyName {
                    task: 0,
                    name: latest,
                },
            ],
        ),
        scenario(
            "send-once-destination",
            vec![
                get(Source::NewSemaphore, Wrap::SendOnce),
                Action::AllocatePort { task: 0 },
                Action::Send(message(
                    before,
                    MACH_MSG_TYPE_MOVE_SEND_ONCE,
                    latest,
                    MACH_MSG_TYPE_MAKE_SEND_ONCE,
                    MsgId::Raw(0x0bad),
                )),
                receive.clone(),
                get(Source::SuspendToken { task: 0 }, Wrap::Plain),
                Action::Deallocate {
                    task: 0,
                    name: latest,
                },
            ],
        ),
        scenario(
            "body-to-own-port",
            vec![
                Action::AllocatePort { task: 0 },
                get(Source::NewSemaphore, Wrap::Plain),
                Action::Send(with_body),
                Action::Receive {
                    task: 0,
                    name: before,
                },
                Action::ModRefs {
                    task: 0,
                    name: latest,
                    right: 0,
                    delta: -1,
                },
                Action::DestroyObject { object: 0 },
            ],
        ),
        scenario(
            "queued-then-terminated",
            vec![
                Action::AllocatePort { task: 0 },
                get(Source::NewVoucher, Wrap::Plain),
                Action::Send(SendMsg {
                    descriptors: vec![Desc::Port {
                        name: latest,
                        disposition: MACH_MSG_TYPE_MOVE_SEND as u8,
                    }],
                    ..message(
                        before,
                        MACH_MSG_TYPE_MAKE_SEND,
                        Name::Null,
                        0,
                        MsgId::Raw(9),
                    )
                }),
                Action::TerminateTask { task: 0 },
            ],
        ),
        scenario(
            "unknown-id-to-kobject",
            vec![
                get(Source::NewSemaphore, Wrap::Plain),
                Action::AllocatePort { task: 0 },
                Action::Send(message(
                    before,
                    MACH_MSG_TYPE_COPY_SEND,
                    latest,
                    MACH_MSG_TYPE_MAKE_SEND_ONCE,
                    MsgId::Raw(123_456),
                )),
                receive.clone(),
            ],
        ),
        scenario(
            "reply-port-is-a-kernel-port",
            vec![
                get(Source::NewSemaphore, Wrap::Plain),
                get(Source::Host, Wrap::Plain),
                Action::Send(message(
                    before,
                    MACH_MSG_TYPE_COPY_SEND,
                    latest,
                    MACH_MSG_TYPE_COPY_SEND,
                    MsgId::Raw(5),
                )),
            ],
        ),
        scenario(
            "voucher-in-header",
            vec![
                get(
                    Source::TaskPort {
                        task: 0,
                        which: TaskPortKind::Control,
                    },
                    Wrap::Plain,
                ),
                get(Source::NewVoucher, Wrap::Plain),
                Action::Send(with_voucher),
            ],
        ),
    ]
}

/// Generic objects: another right, the owner leaving, the last right going.
fn object_scenarios() -> Vec<Seed> {
    let latest = Name::Recent(0);
    let before = Name::Recent(1);
    vec![scenario(
        "generic-object-again-and-destroyed",
        vec![
            get(Source::NewGeneric(GenericKind::IokitObject), Wrap::Plain),
            get(Source::Again { object: 0 }, Wrap::SubstOnce),
            Action::DestroyObject { object: 0 },
            Action::Deallocate {
                task: 0,
                name: latest,
            },
            Action::Deallocate {
                task: 0,
                name: before,
            },
        ],
    )]
}

/// The libFuzzer dictionary of `fuzz/mig_dispatch.dict`: every msgh_id of the real table (skips
/// included) and the reply ids as little-endian `int`s, the notification ids, and every
/// disposition byte.
pub fn dictionary() -> String {
    let mut out = String::from(
        "# mig_dispatch.dict: generated by `cargo run -p kobject-fuzz --example gen_corpus`.\n\
         # msgh_ids of the kernel routine table (little-endian int), then dispositions.\n",
    );
    let hex = |bytes: &[u8]| -> String { bytes.iter().map(|b| format!("\\x{b:02x}")).collect() };
    for desc in routine_slots() {
        let id = desc.msgh_id;
        out.push_str(&format!("id_{id}=\"{}\"\n", hex(&id.to_le_bytes())));
    }
    for id in [70i32, 71, 72] {
        out.push_str(&format!("notify_{id}=\"{}\"\n", hex(&id.to_le_bytes())));
    }
    use kobject::mig_routines::{MIG_SELECT_ALT, MIG_SELECT_FAIL};
    for (name, word) in [
        ("select_fail", MIG_SELECT_FAIL),
        ("select_alt", MIG_SELECT_ALT),
    ] {
        out.push_str(&format!("{name}=\"{}\"\n", hex(&word.to_le_bytes())));
    }
    for (name, value) in [
        ("move_receive", MACH_MSG_TYPE_MOVE_RECEIVE),
        ("move_send", MACH_MSG_TYPE_MOVE_SEND),
        ("move_send_once", MACH_MSG_TYPE_MOVE_SEND_ONCE),
        ("copy_send", MACH_MSG_TYPE_COPY_SEND),
        ("make_send", MACH_MSG_TYPE_MAKE_SEND),
        ("make_send_once", MACH_MSG_TYPE_MAKE_SEND_ONCE),
        ("copy_receive", MACH_MSG_TYPE_COPY_RECEIVE),
    ] {
        out.push_str(&format!("disp_{name}=\"{}\"\n", hex(&[value as u8])));
    }
    out
}
