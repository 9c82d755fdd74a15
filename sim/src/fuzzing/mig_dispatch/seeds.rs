//! The committed `mig_dispatch` seeds: one typed call per routine of the real table (345
//! routines; a raw request for each of the 52 skips) against a kobject of the type its stub
//! converts, and a few scenarios that reach the label checks, subst-once, timers, send-once
//! destinations and queued messages.

use kobject::ipc_kobject_mig::MigKind;
use kobject::mach::*;

use super::*;
use crate::lang::*;
use crate::typed;

/// A named seed input.
pub struct Seed {
    /// File name under `corpus/mig_dispatch/` (never 40 hex digits, libFuzzer's own names).
    pub name: String,
    pub input: MigDispatchInput,
    /// For a slot seed: the id sent and whether a routine (not `MIG_BAD_ID`) must answer.
    pub expects: Option<(i32, bool)>,
}

/// The seed for slot `slot` of [`routine_slots`]. A routine's seed is two typed calls, each
/// received at once: the well-formed request, then the alternative-branch selector (a routine's
/// second call also meets the state its first call left: a registered port, an armed request, a
/// stored right). The world obtains the target and the arguments of the kinds the table names.
/// A skip slot's seed sends its id raw to a task port.
pub fn slot_seed(slot: usize) -> Seed {
    let desc = routine_slots()[slot];
    let actions = match typed::call_index(desc.msgh_id) {
        Some(routine) if desc.kind != MigKind::Skip => [0, 2]
            .into_iter()
            .map(|word| {
                Action::Call(Call {
                    task: 0,
                    routine,
                    target: Name::Recent(0),
                    word,
                    deviation: None,
                    receive: true,
                })
            })
            .collect(),
        _ => vec![
            get(
                Source::TaskPort {
                    task: 0,
                    which: TaskPortKind::Control,
                },
                Wrap::Plain,
            ),
            Action::Send(message(
                Name::Recent(0),
                MACH_MSG_TYPE_COPY_SEND,
                Name::Reply,
                MACH_MSG_TYPE_MAKE_SEND_ONCE,
                MsgId::Routine(u16::try_from(slot).expect("fewer than 65536 slots")),
            )),
            Action::Receive {
                task: 0,
                name: Name::Reply,
            },
        ],
    };
    let (prefix, routine) = match desc.kind {
        MigKind::Skip => ("skip", "-"),
        _ => ("routine", desc.name),
    };
    Seed {
        name: format!("{prefix}-{}-{routine}", desc.msgh_id),
        input: MigDispatchInput { actions },
        expects: Some((desc.msgh_id, desc.kind != MigKind::Skip)),
    }
}

/// Every seed: one per slot, then the scenarios.
pub fn seeds() -> Vec<Seed> {
    let mut seeds = Vec::new();
    for slot in 0..routine_slots().len() {
        seeds.push(slot_seed(slot));
    }
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
    all.extend(rights_scenarios());
    all.extend(notify_scenarios());
    all
}

/// Notification requests (`mach_port_request_notification`) and the notifications they
/// become: dead-name and port-deleted on a kobject send right, port-destroyed carrying a receive
/// right, no-senders (replaced, fired), send-possible at once and on a dead name.
fn notify_scenarios() -> Vec<Seed> {
    let latest = Name::Recent(0);
    let before = Name::Recent(1);
    // `notify_id` picks: 0 dead-name, 1 send-possible, 2 no-senders, 3 port-destroyed.
    let request = |name, id, sync, notify| Action::RequestNotification {
        task: 0,
        name,
        id,
        sync,
        notify,
    };
    let receive = |name| Action::Receive { task: 0, name };
    let scratch = Name::Scratch;
    // A refused request first: it gives the task its scratch, reply and control port names, so
    // the `Recent` names below count only what each scenario makes.
    let warm_up = request(Name::Null, 0, 0, scratch);
    let scenario = |name: &str, mut actions: Vec<Action>| {
        actions.insert(0, warm_up.clone());
        actions.push(receive(scratch));
        scenario(name, actions)
    };
    vec![
        scenario(
            "notify-dead-name-deleted",
            vec![
                Action::GetPort {
                    task: 0,
                    source: Source::NewSemaphore,
                    wrap: Wrap::Plain,
                },
                request(latest, 0, 0, scratch),
                request(latest, 0, 0, scratch),
                Action::Deallocate {
                    task: 0,
                    name: latest,
                },
                Action::Deallocate {
                    task: 0,
                    name: before,
                },
                receive(scratch),
                receive(scratch),
            ],
        ),
        scenario(
            "notify-port-destroyed",
            vec![
                Action::AllocatePort { task: 0 },
                Action::AllocatePort { task: 0 },
                request(before, 3, 0, latest),
                Action::DestroyName {
                    task: 0,
                    name: before,
                },
                receive(latest),
                Action::DestroyName {
                    task: 0,
                    name: latest,
                },
            ],
        ),
        scenario(
            "notify-no-senders",
            vec![
                Action::AllocatePort { task: 0 },
                Action::InsertSend {
                    task: 0,
                    name: latest,
                },
                request(latest, 2, 0, scratch),
                request(before, 2, 1, scratch),
                Action::Deallocate {
                    task: 0,
                    name: latest,
                },
                Action::Deallocate {
                    task: 0,
                    name: latest,
                },
                receive(scratch),
                receive(scratch),
            ],
        ),
        scenario(
            "notify-send-possible-dead-name",
            vec![
                Action::AllocatePort { task: 0 },
                Action::InsertSend {
                    task: 0,
                    name: latest,
                },
                request(latest, 1, 1, scratch),
                request(latest, 1, 0, scratch),
                Action::ModRefs {
                    task: 0,
                    name: latest,
                    right: MACH_PORT_RIGHT_RECEIVE as u8,
                    delta: -1,
                },
                request(latest, 1, 0, scratch),
                receive(scratch),
                receive(scratch),
                receive(scratch),
            ],
        ),
    ]
}

/// The right layer's calls: dead names, reply ports, port sets, extract and insert, pinned rights.
fn rights_scenarios() -> Vec<Seed> {
    let latest = Name::Recent(0);
    let before = Name::Recent(1);
    let right = |task, right: u32| Action::AllocateRight {
        task,
        right: right as u8,
    };
    vec![
        scenario(
            "rights-user-references",
            vec![
                Action::AllocatePort { task: 0 },
                Action::InsertSend {
                    task: 0,
                    name: latest,
                },
                Action::InsertSend {
                    task: 0,
                    name: latest,
                },
                Action::InsertSend {
                    task: 0,
                    name: latest,
                },
                Action::Deallocate {
                    task: 0,
                    name: latest,
                },
                Action::ModRefs {
                    task: 0,
                    name: latest,
                    right: MACH_PORT_RIGHT_SEND as u8,
                    delta: 3,
                },
                Action::Send(message(
                    latest,
                    MACH_MSG_TYPE_MOVE_SEND,
                    latest,
                    MACH_MSG_TYPE_MOVE_SEND,
                    MsgId::Raw(1),
                )),
                Action::Receive {
                    task: 0,
                    name: latest,
                },
                Action::Send(message(
                    latest,
                    MACH_MSG_TYPE_MOVE_SEND,
                    Name::Null,
                    0,
                    MsgId::Raw(2),
                )),
                Action::GetRefs {
                    task: 0,
                    name: latest,
                    right: MACH_PORT_RIGHT_SEND as u8,
                },
            ],
        ),
        scenario(
            "rights-dead-name",
            vec![
                Action::AllocatePort { task: 0 },
                Action::InsertRight {
                    task: 0,
                    name: latest,
                    poly: latest,
                    disposition: MACH_MSG_TYPE_MAKE_SEND as u8,
                },
                Action::ExtractRight {
                    task: 0,
                    name: latest,
                    disposition: MACH_MSG_TYPE_MAKE_SEND as u8,
                },
                Action::ModRefs {
                    task: 0,
                    name: before,
                    right: MACH_PORT_RIGHT_RECEIVE as u8,
                    delta: -1,
                },
                Action::PortType {
                    task: 0,
                    name: before,
                },
                Action::GetRefs {
                    task: 0,
                    name: before,
                    right: MACH_PORT_RIGHT_DEAD_NAME as u8,
                },
                Action::Send(message(
                    latest,
                    MACH_MSG_TYPE_COPY_SEND,
                    Name::Null,
                    0,
                    MsgId::Raw(1),
                )),
                Action::ModRefs {
                    task: 0,
                    name: latest,
                    right: MACH_PORT_RIGHT_DEAD_NAME as u8,
                    delta: -1,
                },
                right(0, MACH_PORT_RIGHT_DEAD_NAME),
                Action::Deallocate {
                    task: 0,
                    name: latest,
                },
            ],
        ),
        scenario(
            "rights-construct-reply-ports",
            vec![
                Action::Construct {
                    task: 0,
                    flags: MPO_REPLY_PORT as u16,
                },
                Action::Construct {
                    task: 0,
                    flags: MPO_PROVISIONAL_REPLY_PORT as u16,
                },
                Action::Construct {
                    task: 0,
                    flags: (MPO_INSERT_SEND_RIGHT | MPO_IMMOVABLE_RECEIVE) as u16,
                },
                Action::Send(message(
                    Name::Recent(0),
                    MACH_MSG_TYPE_COPY_SEND,
                    Name::Recent(2),
                    MACH_MSG_TYPE_MAKE_SEND_ONCE,
                    MsgId::Raw(5),
                )),
                Action::Receive {
                    task: 0,
                    name: Name::Recent(0),
                },
                Action::Destruct {
                    task: 0,
                    name: Name::Nth(2),
                    srdelta: -1,
                },
                Action::Destruct {
                    task: 0,
                    name: Name::Nth(0),
                    srdelta: 0,
                },
            ],
        ),
        scenario(
            "rights-port-set",
            vec![
                right(0, MACH_PORT_RIGHT_PORT_SET),
                Action::AllocatePort { task: 0 },
                Action::InsertMember {
                    task: 0,
                    name: latest,
                    set: before,
                },
                Action::Send(message(
                    latest,
                    MACH_MSG_TYPE_MAKE_SEND,
                    Name::Null,
                    0,
                    MsgId::Raw(9),
                )),
                Action::Receive {
                    task: 0,
                    name: Name::Nth(0),
                },
                Action::MoveMember {
                    task: 0,
                    member: Name::Nth(1),
                    after: Name::Null,
                },
                Action::ExtractMember {
                    task: 0,
                    name: Name::Nth(1),
                    set: Name::Nth(0),
                },
                Action::PortType {
                    task: 0,
                    name: Name::Nth(0),
                },
                Action::DestroyName {
                    task: 0,
                    name: Name::Nth(0),
                },
            ],
        ),
        scenario(
            "rights-pinned-self",
            vec![
                get(
                    Source::TaskPort {
                        task: 0,
                        which: TaskPortKind::SelfPinned,
                    },
                    Wrap::Plain,
                ),
                Action::AllocatePort { task: 0 },
                Action::Send(SendMsg {
                    descriptors: vec![Desc::Port {
                        name: before,
                        disposition: MACH_MSG_TYPE_COPY_SEND as u8,
                    }],
                    ..message(
                        latest,
                        MACH_MSG_TYPE_MAKE_SEND,
                        Name::Null,
                        0,
                        MsgId::Raw(3),
                    )
                }),
                Action::Deallocate {
                    task: 0,
                    name: before,
                },
                Action::ModRefs {
                    task: 0,
                    name: before,
                    right: MACH_PORT_RIGHT_SEND as u8,
                    delta: -1,
                },
                Action::DestroyName {
                    task: 0,
                    name: before,
                },
            ],
        ),
    ]
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
