//! The MIG-generated kernel stubs and the routines behind them, as the model gives them behaviour:
//! what each `*_server.c` stub that MIG generates for a `mig_e[]` subsystem does around its
//! routine, and a small set of routine archetypes, for xnu-11215.1.10.
//!
//! # The stub ([`mig_stub`])
//! 1. Type check (`__MIG_check__Request__*`): the complex bit iff the routine takes descriptors,
//!    the exact descriptor count (`MIG_BAD_ARGUMENTS`), then each descriptor's type and, for a
//!    typed port, its post-copyin disposition (`MIG_TYPE_ERROR`). Nothing is consumed on failure.
//! 2. Target intran (`convert_port_to_task_mig`, `iokit_lookup_connect_port`, ...; `raw` and
//!    `null_conversion` routines convert the port themselves, modelled the same way): an active
//!    port of an accepted kotype yields its object with a reference, anything else `NULL`.
//! 3. In-parameter intran for the port arguments the stub releases after success
//!    (`stub_releases`): the routine borrows the object (Azad's rule 3).
//! 4. The routine. It owns every raw right (`mach_port_t`, send-once, receive, poly) and every
//!    out-of-line region only if it returns success (rules 1 and 2), and out parameters carry a
//!    reference or right (rule 4); an in-out object's input reference is the routine's (rule 5).
//! 5. Destructors of the target and the in-parameters, on success and failure alike.
//! 6. Success: the stub releases the translated arguments' send rights, runs the outtrans and
//!    writes a complex reply of exactly `reply_descr_count` descriptors (or a simple one), sized
//!    `max_reply_msg`. Failure: only `RetCode` (the dispatcher shrinks the reply).
//!
//! # Archetypes (chosen from the routine's shape in the table, not per id)
//! * **status** routines (no port or memory arguments): convert, check, answer.
//! * **borrow**: translated port arguments; a valid right that does not translate fails the call.
//! * **store or release**: a raw send right is stored in the target's slot (routines that set,
//!   register, add, insert, swap, adopt, ...: [`mig_routine_stores`]), replacing and releasing
//!   the previous one, or handed back in a `previous` / `old_*` out parameter; otherwise the
//!   routine consumes it by releasing it. Raw send-once rights go to the target's send-once slot,
//!   raw receive rights are destroyed.
//! * **memory in**: out-of-line regions are consumed (copied out and discarded).
//! * **out parameters**: a semaphore or voucher port made lazily (the seed's
//!   `ipc_kobject_make_send_lazy_alloc_port`), a fresh IOKit object / named entry / eventlink
//!   with an armed port, a copy of the slot's right, or a send right on the
//!   target's own port (so task and thread ports exercise the label substitutions at copyout);
//!   out-of-line memory comes from [`Kernel::vm_map_copy_alloc`].
//!
//! Hand-modelled routines (by name): `semaphore_create`, `semaphore_destroy`,
//! `host_set_special_port_from_user` / `host_get_special_port_from_user`,
//! `thread_create_from_user` / `thread_create_running_from_user` (a new thread of the target
//! task), `task_threads_from_user` (the task's threads' ports of the flavor of the port used),
//! `task_create_identity_token` / `task_identity_token_get_task_port` (a token tied to its task),
//! `task_set_special_port_from_user`, `task_get_special_port_from_user` and
//! `thread_get_special_port_from_user` (the self-port getters return an `IKOT_PORT_SUBST_ONCE`
//! wrapper, as XNU's `task_get_non_substituted_self` does), `task_swap_mach_voucher` /
//! `thread_swap_mach_voucher`, `mach_port_request_notification` (the request layer of
//! [`crate::ipc_request`]; inline words 1 to 3 are the name, message id and `sync`), the
//! `io_service_add_notification*` family, the async IOKit
//! methods, `task_suspend2_mig` / `task_resume2_mig`, and the synthetic deferred-reply routine
//! ([`synthetic_subsystem`]) that answers `MIG_NO_REPLY` and replies later
//! ([`Kernel::mig_deferred_reply`]).
//!
//! # Inline words
//! `inline_data[0]` selects the routine's branch: [`MIG_SELECT_FAIL`] makes it fail with
//! `KERN_INVALID_VALUE` before it touches anything (after the target check), [`MIG_SELECT_ALT`]
//! takes a routine's alternative branch (the bad-dictionary branch of the `_ool` notification
//! routines). `inline_data[1]` is the routine's first integer argument (`which`, `id`). Missing
//! words read as 0. [`mig_well_formed_words`] gives words a routine accepts.
//!
//! # Deviations
//! * The request's inline size is not checked (the table records descriptors, not sizes), and
//!   the order of memory and port descriptors is not checked: ports are matched to the routine's
//!   port arguments in order, memory descriptors are counted.
//! * An object has one send-right slot and one send-once slot: all of a routine family's special
//!   ports, exception ports and registered ports share them.
//! * Task inspect ports and `itk_settable_self` are not modelled: getters make a send right on
//!   the control / read / name port where XNU copies the settable right or allocates lazily.
//! * Spaces and maps have no reference counts here: their intrans take a task reference.
//! * Semaphores created for a non-task owner (IOKit) live as long as their port; XNU owns them
//!   by the kernel task and destroys them when the user client goes.

use crate::bugs::Bug;
use crate::ikot::*;
use crate::ipc_kmsg::{KDescriptor, Kmsg, OolCopy};
use crate::ipc_kobject_mig::{
    kernel_subsystems, mig_init, MigKind, MigPortArg, MigPortKind, MigRoutineDesc, MigSubsystem,
    MigTable, MACH_MSG_TYPE_POLYMORPHIC,
};
use crate::ipc_kobject_server::MigTableRef;
use crate::ipc_port::{IpcKobject, IpcPort, PortId, IP_DEAD, IP_NULL, IP_VALID};
use crate::kernel::{KObject, Kernel, ObjId, ObjKind, IPC_SPACE_KERNEL};
use crate::kobjects::{
    TASK_PORT_CONTROL, TASK_PORT_NAME, TASK_PORT_READ, TASK_PORT_SELF_PINNED, THREAD_PORT_CONTROL,
    THREAD_PORT_READ,
};
use crate::ledger::SlotKind;
use crate::mach::*;
use crate::outcome::Finding;

/// `inline_data[0]`: the routine's ordinary branch.
pub const MIG_SELECT_NORMAL: u32 = 0;
/// `inline_data[0]`: the routine fails with `KERN_INVALID_VALUE` before touching anything.
pub const MIG_SELECT_FAIL: u32 = 1;
/// `inline_data[0]`: the routine's alternative branch, where it has one.
pub const MIG_SELECT_ALT: u32 = 2;

/// The id of the synthetic deferred-reply routine, outside every real subsystem's range.
pub const MIG_SYNTHETIC_DEFERRED_REPLY_ID: i32 = 999_000;
/// Its name in the table.
pub const MIG_SYNTHETIC_DEFERRED_REPLY_NAME: &str = "kobjsim_deferred_reply";

/// `kIOReturnBadArgument` (iokit/IOKit/IOReturn.h): `iokit_common_err(0x2c2)`.
pub const K_IO_RETURN_BAD_ARGUMENT: KernReturn = 0xe000_02c2_u32 as i32;
/// `KERN_INVALID_HOST` (osfmk/mach/kern_return.h).
pub const KERN_INVALID_HOST: KernReturn = 22;

/// Special port selectors (osfmk/mach/task_special_ports.h, thread_special_ports.h,
/// host_special_ports.h).
pub const TASK_KERNEL_PORT: u32 = 1;
pub const TASK_HOST_PORT: u32 = 2;
pub const TASK_NAME_PORT: u32 = 3;
pub const TASK_BOOTSTRAP_PORT: u32 = 4;
pub const TASK_INSPECT_PORT: u32 = 5;
pub const TASK_READ_PORT: u32 = 6;
pub const TASK_ACCESS_PORT: u32 = 9;
pub const TASK_DEBUG_CONTROL_PORT: u32 = 10;
pub const TASK_RESOURCE_NOTIFY_PORT: u32 = 11;
/// Task port flavors (osfmk/mach/task_special_ports.h), as `task_identity_token_get_task_port`
/// takes them.
pub const TASK_FLAVOR_CONTROL: u32 = 0;
pub const TASK_FLAVOR_READ: u32 = 1;
pub const TASK_FLAVOR_INSPECT: u32 = 2;
pub const TASK_FLAVOR_NAME: u32 = 3;
pub const THREAD_KERNEL_PORT: u32 = 1;
pub const THREAD_INSPECT_PORT: u32 = 2;
pub const THREAD_READ_PORT: u32 = 3;
pub const HOST_PORT: u32 = 1;
pub const HOST_PRIV_PORT: u32 = 2;
pub const HOST_MAX_SPECIAL_KERNEL_PORT: u32 = 7;
/// `HOST_DYNAMIC_PAGER_PORT`: the slot `set_dp_control_port` managed (CVE-2016-7644).
pub const HOST_DYNAMIC_PAGER_PORT: u32 = 1 + HOST_MAX_SPECIAL_KERNEL_PORT;
/// `HOST_MAX_SPECIAL_PORT` (`HOST_MEMORY_ERROR_PORT`, 26 + the kernel range).
pub const HOST_MAX_SPECIAL_PORT: u32 = 26 + HOST_MAX_SPECIAL_KERNEL_PORT;

/// Name fragments of routines that keep a raw right they are given (see [`mig_routine_stores`]).
const MIG_STORE_MARKS: [&str; 9] = [
    "set_",
    "register",
    "swap_",
    "add_",
    "insert",
    "alarm",
    "request_notification",
    "adopt",
    "default_memory_manager",
];

/// A port argument of the request, as the stub hands it over.
#[derive(Clone, Copy, Debug)]
struct MigPortIn {
    field: &'static str,
    port: IpcPort,
    disposition: MachMsgTypeName,
    /// The stub translates this argument and releases its right after success.
    is_translated: bool,
    /// The translated object, with the reference the stub's destructor drops (`None` when the
    /// right did not translate, or when an in-out routine took the reference).
    translated: Option<ObjId>,
}

/// Everything the stub hands a routine.
struct MigCall<'r> {
    desc: &'r MigRoutineDesc,
    /// The destination (kobject) port; the dispatcher releases its right after the stub.
    port: PortId,
    /// The destination's kotype when the stub converted it.
    kotype: IpcKobjectType,
    /// The converted target, with a reference the stub's destructor drops.
    target: Option<ObjId>,
    /// What the routine returns when the target did not convert.
    null_code: KernReturn,
    ports: Vec<MigPortIn>,
    ool: Vec<Option<OolCopy>>,
    words: &'r [u32],
    sender_task: Option<ObjId>,
    reply_port: IpcPort,
    reply_disposition: MachMsgTypeName,
}

impl MigCall<'_> {
    fn word(&self, i: usize) -> u32 {
        self.words.get(i).copied().unwrap_or(0)
    }

    /// The converted target, or the routine's NULL-target status.
    fn target(&self) -> Result<ObjId, KernReturn> {
        self.target.ok_or(self.null_code)
    }

    /// The failure selector: `MIG_SELECT_FAIL` fails before anything is touched.
    fn selector(&self) -> Result<u32, KernReturn> {
        match self.word(0) {
            MIG_SELECT_FAIL => Err(KERN_INVALID_VALUE),
            other => Ok(other),
        }
    }

    fn arg_index(&self, field: &str) -> usize {
        let found = self.ports.iter().position(|a| a.field == field);
        found.unwrap_or_else(|| panic!("{}: no port argument {field}", self.desc.name))
    }

    fn arg(&self, field: &str) -> MigPortIn {
        self.ports[self.arg_index(field)]
    }
}

/// One out parameter before the stub's outtran.
#[derive(Debug)]
enum MigOut {
    /// A naked right already made (`ipc_port_t` out parameters).
    Port {
        name: IpcPort,
        disposition: MachMsgTypeName,
    },
    /// An out-of-line ports array.
    Ports {
        names: Vec<IpcPort>,
        disposition: MachMsgTypeName,
    },
    /// An out-of-line memory region.
    Memory(OolCopy),
    /// A semaphore or voucher with a reference the outtran (`convert_semaphore_to_port`,
    /// `convert_voucher_to_port`) consumes.
    Lazy(Option<ObjId>),
}

/// What a routine answers on success.
enum MigReturn {
    Reply(Vec<MigOut>),
    /// `MIG_NO_REPLY`: the routine kept the reply right.
    NoReply,
}

type MigResult = Result<MigReturn, KernReturn>;
type MigRoutineFn = fn(&Kernel, &mut MigCall<'_>) -> MigResult;

/// Rights a store-and-return routine took out of the target's slots.
#[derive(Clone, Copy, Debug)]
struct Previous {
    send: IpcPort,
    sonce: IpcPort,
}

/// Models the generated kernel stub of `desc` (the `_X<routine>` functions of the `*_server.c`
/// files MIG generates for the `mig_e[]` subsystems): type check, target and argument intran,
/// the routine, destructors, and the reply. On an error status the request's body is untouched.
/// # Conditions
/// Called by `ipc_kobject_server_internal` after `ipc_kobject_init_reply`; nothing locked. The
/// request's destination right stays valid until the dispatcher releases it after the stub.
pub fn mig_stub(k: &Kernel, desc: &MigRoutineDesc, request: &mut Kmsg, reply: &mut Kmsg) {
    assert_ne!(desc.kind, MigKind::Skip, "a skip slot has no stub");
    assert_eq!(reply.ret_code, KERN_SUCCESS, "reply not pre-initialised");
    let request: &Kmsg = request;
    if let Err(kr) = mig_check_request(desc, request) {
        reply.ret_code = kr;
        return;
    }
    k.note_reached(desc.msgh_id);
    let mut call = k.mig_call_begin(desc, request);
    let result = mig_routine(desc)(k, &mut call);
    k.mig_call_end(&mut call);
    match result {
        Err(kr) => {
            assert!(
                kr != KERN_SUCCESS && kr != MIG_NO_REPLY,
                "{}: routine failed with {kr}",
                desc.name
            );
            reply.ret_code = kr;
        }
        Ok(MigReturn::NoReply) => reply.ret_code = MIG_NO_REPLY,
        Ok(MigReturn::Reply(outs)) => {
            k.mig_stub_release_translated(&call);
            k.mig_reply_success(desc, reply, outs);
        }
    }
}

/// The stub's `__MIG_check__Request__<routine>_t`: counts first (`MIG_BAD_ARGUMENTS`), then each
/// descriptor's type and disposition (`MIG_TYPE_ERROR`).
fn mig_check_request(desc: &MigRoutineDesc, request: &Kmsg) -> Result<(), KernReturn> {
    if request.is_complex() != (desc.req_descs > 0) || request.body.len() as u32 != desc.req_descs {
        return Err(MIG_BAD_ARGUMENTS);
    }
    let mut args = mig_expand_args(&desc.req_ports);
    let mut ool = 0u32;
    for d in &request.body {
        let ok = match d {
            KDescriptor::Port { disposition, .. } => args
                .next()
                .is_some_and(|a| a.kind == MigPortKind::Port && mig_accepts(a, *disposition)),
            KDescriptor::OolPorts { disposition, .. } => args
                .next()
                .is_some_and(|a| a.kind == MigPortKind::OolPorts && mig_accepts(a, *disposition)),
            KDescriptor::Ool { .. } => {
                ool += 1;
                ool <= desc.req_ool_mem
            }
        };
        if !ok {
            return Err(MIG_TYPE_ERROR);
        }
    }
    assert!(args.next().is_none() && ool == desc.req_ool_mem);
    Ok(())
}

/// Port arguments expanded to one entry per descriptor (`field[N]` takes N).
fn mig_expand_args(args: &[MigPortArg]) -> impl Iterator<Item = &MigPortArg> {
    args.iter()
        .flat_map(|a| std::iter::repeat_n(a, a.count as usize))
}

/// Whether a typed port argument accepts a post-copyin disposition (`poly` accepts any).
fn mig_accepts(arg: &MigPortArg, disposition: MachMsgTypeName) -> bool {
    arg.disposition == MACH_MSG_TYPE_POLYMORPHIC
        || arg.disposition == disposition
        || arg.alt_disposition == Some(disposition)
}

/// The routine behind a stub: hand-modelled ones by name, the generic archetypes otherwise.
fn mig_routine(desc: &MigRoutineDesc) -> MigRoutineFn {
    match desc.name {
        "semaphore_create" => routine_semaphore_create,
        "semaphore_destroy" => routine_semaphore_destroy,
        "host_set_special_port_from_user" => routine_host_set_special_port,
        "host_get_special_port_from_user" => routine_host_get_special_port,
        "task_set_special_port_from_user" => routine_task_set_special_port,
        "task_get_special_port_from_user" => routine_task_get_special_port,
        "thread_get_special_port_from_user" => routine_thread_get_special_port,
        "thread_set_special_port" => routine_thread_set_special_port,
        "_kernelrpc_mach_ports_register3" => routine_mach_ports_register3,
        "task_swap_mach_voucher" | "thread_swap_mach_voucher" => routine_swap_mach_voucher,
        "thread_create_from_user" | "thread_create_running_from_user" => routine_thread_create,
        "task_threads_from_user" => routine_task_threads,
        "task_create_identity_token" => routine_task_create_identity_token,
        "task_identity_token_get_task_port" => routine_task_identity_token_get_task_port,
        "task_suspend2_mig" => routine_task_suspend2,
        "mach_port_request_notification" => routine_mach_port_request_notification,
        "task_resume2_mig" => routine_task_resume2,
        "io_service_add_notification"
        | "io_service_add_notification_64"
        | "io_service_add_notification_bin"
        | "io_service_add_notification_bin_64"
        | "io_service_add_notification_ool"
        | "io_service_add_notification_ool_64" => routine_io_service_add_notification,
        "io_connect_async_method"
        | "io_async_method_scalarI_scalarO"
        | "io_async_method_scalarI_structureO"
        | "io_async_method_scalarI_structureI"
        | "io_async_method_structureI_structureO" => routine_io_async_method,
        MIG_SYNTHETIC_DEFERRED_REPLY_NAME => routine_deferred_reply,
        _ => routine_generic,
    }
}

/// Whether a routine keeps (stores) the raw rights it is given rather than releasing them:
/// setters, registrations, notifications, insertions and swaps.
pub fn mig_routine_stores(name: &str) -> bool {
    MIG_STORE_MARKS.iter().any(|m| name.contains(m))
}

/// Whether a reply port argument hands back what the routine's slot held: `previous`, the
/// exception handler arrays, or a raw in-out argument.
fn mig_is_previous_field(desc: &MigRoutineDesc, arg: &MigPortArg) -> bool {
    arg.field == "previous"
        || arg.field.starts_with("old_handler")
        || desc
            .req_ports
            .iter()
            .any(|r| r.field == arg.field && !desc.stub_releases.contains(&r.field))
}

/// What the model's conventions derive from a routine's name and conversion (see
/// [`MigDerived`](crate::ipc_kobject_mig::MigDerived)).
#[derive(Clone, Debug)]
pub struct MigFacts {
    /// [`mig_routine_stores`] of the routine's name.
    pub stores: bool,
    /// The kotypes its target conversion accepts.
    pub target_kotypes: &'static [IpcKobjectType],
    /// What it returns when its target did not convert.
    pub null_code: KernReturn,
}

/// The facts of `desc`, derived on its first call.
pub fn mig_facts(desc: &MigRoutineDesc) -> &MigFacts {
    desc.derived.get_or_init(|| MigFacts {
        stores: mig_routine_stores(desc.name),
        target_kotypes: target_kotypes_by_name(desc),
        null_code: mig_null_code(desc),
    })
}

/// The kotypes the target intran of `desc` accepts (for `raw` routines: the conversion the
/// routine itself applies).
pub fn mig_target_kotypes(desc: &MigRoutineDesc) -> &'static [IpcKobjectType] {
    mig_facts(desc).target_kotypes
}

fn target_kotypes_by_name(desc: &MigRoutineDesc) -> &'static [IpcKobjectType] {
    const TASK_ALL: &[IpcKobjectType] = &[
        IKOT_TASK_CONTROL,
        IKOT_TASK_READ,
        IKOT_TASK_INSPECT,
        IKOT_TASK_NAME,
    ];
    const TASK_INSPECT: &[IpcKobjectType] = &[IKOT_TASK_CONTROL, IKOT_TASK_READ, IKOT_TASK_INSPECT];
    const TASK_READ: &[IpcKobjectType] = &[IKOT_TASK_CONTROL, IKOT_TASK_READ];
    const THREAD_INSPECT: &[IpcKobjectType] =
        &[IKOT_THREAD_CONTROL, IKOT_THREAD_READ, IKOT_THREAD_INSPECT];
    match desc.target_intran {
        "convert_port_to_task_mig" | "convert_port_to_map" | "convert_port_to_space" => {
            &[IKOT_TASK_CONTROL]
        }
        "convert_port_to_task_policy_set_mig" => &[IKOT_TASK_CONTROL],
        "convert_port_to_task_read_mig" | "convert_port_to_map_read" => TASK_READ,
        "convert_port_to_space_read" => TASK_READ,
        "convert_port_to_task_inspect_mig" | "convert_port_to_space_inspect" => TASK_INSPECT,
        "convert_port_to_task_policy_get_mig" => TASK_INSPECT,
        "convert_port_to_task_name_mig" => TASK_ALL,
        "convert_port_entry_to_map" => &[IKOT_NAMED_ENTRY, IKOT_TASK_CONTROL],
        "convert_port_to_task_suspension_token_mig" => &[IKOT_TASK_RESUME],
        "convert_port_to_task_id_token" => &[IKOT_TASK_ID_TOKEN],
        "convert_port_to_thread" => &[IKOT_THREAD_CONTROL],
        "convert_port_to_thread_read" => &[IKOT_THREAD_CONTROL, IKOT_THREAD_READ],
        "convert_port_to_thread_inspect" => THREAD_INSPECT,
        "convert_port_to_host" => &[IKOT_HOST, IKOT_HOST_PRIV],
        "convert_port_to_host_priv" => &[IKOT_HOST_PRIV],
        "convert_port_to_processor" => &[IKOT_PROCESSOR],
        "convert_port_to_pset" => &[IKOT_PSET],
        "convert_port_to_pset_name" => &[IKOT_PSET, IKOT_PSET_NAME],
        "convert_port_to_clock" => &[IKOT_CLOCK],
        "convert_port_to_voucher" => &[IKOT_VOUCHER],
        "convert_port_to_eventlink" => &[IKOT_EVENTLINK],
        "convert_port_to_UNDReply" => &[IKOT_UND_REPLY],
        "convert_port_to_arcade_register" => &[IKOT_ARCADE_REG],
        "iokit_lookup_object_port" => &[IKOT_IOKIT_OBJECT],
        "iokit_lookup_connect_port" => &[IKOT_IOKIT_CONNECT],
        "null_conversion" => &[IKOT_NAMED_ENTRY],
        "raw" => mig_raw_target_kotypes(desc.name),
        other => panic!("{}: unknown target intran {other}", desc.name),
    }
}

/// The conversion a `raw` routine applies to its `mach_port_t` target: the exception-port getters
/// convert as `convert_port_to_task` / `convert_port_to_thread` (control only) and their `_info`
/// twins as the `_read_no_eval` conversions (control or read), the special-port getters and
/// `task_threads_from_user` as `convert_port_to_*_inspect_no_eval`, the `mach_port_*_from_user`
/// calls as `convert_port_to_space_read_no_eval` (osfmk/kern/ipc_tt.c, osfmk/ipc/mach_port.c).
/// # Deviations
/// `task_info_from_user` accepts every task port (XNU: the name conversion, a control port for
/// `TASK_DYLD_INFO`), `mach_vm_purgable_control_external` a control port only (XNU: a read port
/// suffices for `VM_PURGABLE_GET_STATE`): the model's conversion does not read the flavor word.
fn mig_raw_target_kotypes(name: &str) -> &'static [IpcKobjectType] {
    const TASK_READ: &[IpcKobjectType] = &[IKOT_TASK_CONTROL, IKOT_TASK_READ];
    const THREAD_READ: &[IpcKobjectType] = &[IKOT_THREAD_CONTROL, IKOT_THREAD_READ];
    match name {
        "task_get_exception_ports_from_user" => &[IKOT_TASK_CONTROL],
        "thread_get_exception_ports_from_user" => &[IKOT_THREAD_CONTROL],
        "task_get_exception_ports_info" => TASK_READ,
        "thread_get_exception_ports_info" => THREAD_READ,
        "task_get_special_port_from_user" | "task_threads_from_user" => {
            &[IKOT_TASK_CONTROL, IKOT_TASK_READ, IKOT_TASK_INSPECT]
        }
        "thread_get_special_port_from_user" => {
            &[IKOT_THREAD_CONTROL, IKOT_THREAD_READ, IKOT_THREAD_INSPECT]
        }
        "task_info_from_user" => &[
            IKOT_TASK_CONTROL,
            IKOT_TASK_READ,
            IKOT_TASK_INSPECT,
            IKOT_TASK_NAME,
        ],
        _ if name.starts_with("io_") => &[IKOT_MAIN_DEVICE],
        _ if name.starts_with("mach_port_") => TASK_READ,
        _ if name.starts_with("mach_vm_") => &[IKOT_TASK_CONTROL],
        _ if name.starts_with("mach_zone_") || name == "mach_memory_info" => {
            &[IKOT_HOST, IKOT_HOST_PRIV]
        }
        _ if name.contains("exception_raise") => &[IKOT_UX_HANDLER],
        _ => panic!("raw routine {name} has no modelled conversion"),
    }
}

/// The kotypes a translated port argument's intran accepts, by the argument's name: a `task_t` or
/// `vm_map_t` argument converts as `convert_port_to_task` / `convert_port_to_map` (control only),
/// the `task_read_t` corpse of `task_map_corpse_info` as `convert_port_to_task_read_mig`.
fn mig_arg_kotypes(field: &str) -> &'static [IpcKobjectType] {
    match field {
        "task" | "src_task" | "into_task" | "from_task" | "owningTask" => &[IKOT_TASK_CONTROL],
        "corspe_task" => &[IKOT_TASK_CONTROL, IKOT_TASK_READ],
        "thread" => &[IKOT_THREAD_CONTROL],
        "semaphore" => &[IKOT_SEMAPHORE],
        "voucher" | "new_voucher" | "old_voucher" => &[IKOT_VOUCHER],
        "object" | "parent_handle" | "parent_entry" => &[IKOT_NAMED_ENTRY],
        "pager" => &[IKOT_MEMORY_OBJECT],
        "new_set" | "pset" => &[IKOT_PSET],
        "set_name" => &[IKOT_PSET, IKOT_PSET_NAME],
        "connect_to" => &[IKOT_IOKIT_CONNECT],
        "kcdata_object" => &[IKOT_KCDATA],
        other => panic!("no intran modelled for port argument {other}"),
    }
}

/// What a routine returns when its target did not convert.
fn mig_null_code(desc: &MigRoutineDesc) -> KernReturn {
    let intran = desc.target_intran;
    if intran.starts_with("iokit_") || (intran == "raw" && desc.name.starts_with("io_")) {
        K_IO_RETURN_BAD_ARGUMENT
    } else if intran.starts_with("convert_port_to_space") {
        KERN_INVALID_TASK
    } else if intran.starts_with("convert_port_to_host") {
        KERN_INVALID_HOST
    } else {
        KERN_INVALID_ARGUMENT
    }
}

/// The kotype of a fresh object a generic routine returns for an out parameter, by its name.
fn mig_out_kotype(field: &str) -> Option<IpcKobjectType> {
    match field {
        "object_handle" | "entry_handle" => Some(IKOT_NAMED_ENTRY),
        "connection" => Some(IKOT_IOKIT_CONNECT),
        "notification" | "iterator" | "object" | "service" | "existing" | "registry_entry"
        | "root" => Some(IKOT_IOKIT_OBJECT),
        "eventlink_pair" => Some(IKOT_EVENTLINK),
        _ => None,
    }
}

/// Inline words a well-formed request for `desc` carries: the normal selector and the
/// `which` / `id` argument the hand-modelled routines accept.
pub fn mig_well_formed_words(desc: &MigRoutineDesc) -> Vec<u32> {
    let argument = match desc.name {
        "host_set_special_port_from_user" | "host_get_special_port_from_user" => {
            HOST_DYNAMIC_PAGER_PORT
        }
        "task_set_special_port_from_user" | "task_get_special_port_from_user" => {
            TASK_BOOTSTRAP_PORT
        }
        "thread_get_special_port_from_user" => THREAD_KERNEL_PORT,
        // The name word; the message id and `sync` follow.
        "mach_port_request_notification" => {
            let id = crate::ipc_request::MACH_NOTIFY_DEAD_NAME as u32;
            return vec![MIG_SELECT_NORMAL, MACH_PORT_NULL, id, 0];
        }
        _ => 0,
    };
    vec![MIG_SELECT_NORMAL, argument]
}

/// The kernel object behind `o` (a stale handle is a use-after-free).
fn kobj(k: &Kernel, o: ObjId) -> &KObject {
    match k.objects.get(o.0) {
        Ok(obj) => obj,
        Err(_) => Finding::use_after_free(format!("{o} used after its final release")).raise(),
    }
}

impl Kernel {
    /// The stub's conversions: the target and the translated in-parameters, each with a
    /// reference; raw rights and memory are passed through.
    fn mig_call_begin<'r>(&self, desc: &'r MigRoutineDesc, request: &'r Kmsg) -> MigCall<'r> {
        let IpcPort::Port(port) = request.msgh_remote_port else {
            panic!("{}: a kobject request without a destination", desc.name);
        };
        let types = mig_target_kotypes(desc);
        let (kotype, target) = self.mig_convert_port(request.msgh_remote_port, types);
        let mut args = mig_expand_args(&desc.req_ports);
        let mut ports = Vec::new();
        let mut ool = Vec::new();
        for d in &request.body {
            match d {
                KDescriptor::Port { name, disposition } => {
                    let arg = args.next().expect("checked by mig_check_request");
                    ports.push(self.mig_port_in(desc, arg, *name, *disposition));
                }
                KDescriptor::OolPorts {
                    ports: names,
                    disposition,
                } => {
                    let arg = args.next().expect("checked by mig_check_request");
                    ports.extend(names.iter().map(|&port| MigPortIn {
                        field: arg.field,
                        port,
                        disposition: *disposition,
                        is_translated: false,
                        translated: None,
                    }));
                }
                KDescriptor::Ool { copy, .. } => ool.push(*copy),
            }
        }
        MigCall {
            desc,
            port,
            kotype,
            target,
            null_code: mig_facts(desc).null_code,
            ports,
            ool,
            words: &request.inline_data,
            sender_task: request.sender_task,
            reply_port: request.msgh_local_port,
            reply_disposition: mach_msgh_bits_local(request.msgh_bits),
        }
    }

    /// One port argument: translated when the stub releases it after success.
    fn mig_port_in(
        &self,
        desc: &MigRoutineDesc,
        arg: &MigPortArg,
        port: IpcPort,
        disposition: MachMsgTypeName,
    ) -> MigPortIn {
        let is_translated =
            desc.stub_releases.contains(&arg.field) && disposition == MACH_MSG_TYPE_PORT_SEND;
        let translated = if is_translated {
            self.mig_convert_port(port, mig_arg_kotypes(arg.field)).1
        } else {
            None
        };
        MigPortIn {
            field: arg.field,
            port,
            disposition,
            is_translated,
            translated,
        }
    }

    /// Models the intrans (`convert_port_to_task`, `iokit_lookup_object_port`, ...): under the
    /// port lock, an active port of an accepted kotype yields its object with a reference.
    /// Returns the kotype seen and the object (`None` for a NULL conversion).
    /// # Deviations
    /// The conversion policies (`task_conversion_eval`, the corpse and kernel-task checks) are
    /// not modelled.
    fn mig_convert_port(
        &self,
        port: IpcPort,
        types: &[IpcKobjectType],
    ) -> (IpcKobjectType, Option<ObjId>) {
        let IpcPort::Port(p) = port else {
            return (IKOT_NONE, None);
        };
        let g = self.ip_mq_lock(p);
        let ty = g.ip_kotype();
        if !g.ip_active() || !types.contains(&ty) {
            return (ty, None);
        }
        match self.ipc_kobject_get_locked(&g, ty) {
            IpcKobject::Object(o) => {
                self.object_reference(o);
                (ty, Some(o))
            }
            _ => (ty, None),
        }
    }

    /// The stub's destructors (`task_deallocate_mig`, `ipc_voucher_release`, ...), run after
    /// the routine whatever it returned.
    fn mig_call_end(&self, call: &mut MigCall<'_>) {
        if let Some(o) = call.target.take() {
            self.object_release(o);
        }
        for arg in &mut call.ports {
            if let Some(o) = arg.translated.take() {
                self.object_release(o);
            }
        }
    }

    /// After `KERN_SUCCESS`, the stub releases the send right of every translated argument.
    fn mig_stub_release_translated(&self, call: &MigCall<'_>) {
        for arg in call.ports.iter().filter(|a| a.is_translated) {
            if IP_VALID(arg.port) {
                self.ipc_port_release_send(arg.port);
            }
        }
    }

    /// A successful reply: the outtrans, then exactly `reply_descr_count` descriptors in a
    /// complex reply (or `RetCode` 0 in a simple one), sized `max_reply_msg`.
    fn mig_reply_success(&self, desc: &MigRoutineDesc, reply: &mut Kmsg, outs: Vec<MigOut>) {
        assert_eq!(
            outs.len() as u32,
            desc.reply_descr_count,
            "{}: routine produced a wrong number of reply descriptors",
            desc.name
        );
        let body: Vec<KDescriptor> = outs.into_iter().map(|o| self.mig_outtran(o)).collect();
        if desc.reply_complex {
            reply.msgh_bits |= MACH_MSGH_BITS_COMPLEX;
            reply.body = body;
        } else {
            assert!(body.is_empty());
            reply.ret_code = KERN_SUCCESS;
        }
        reply.msgh_size = desc.max_reply_msg;
        assert!(reply.body.len() as u32 <= reply.desc_capacity);
    }

    /// The stub's outtran of one out parameter into a reply descriptor.
    fn mig_outtran(&self, out: MigOut) -> KDescriptor {
        match out {
            MigOut::Port { name, disposition } => KDescriptor::Port { name, disposition },
            MigOut::Ports { names, disposition } => KDescriptor::OolPorts {
                ports: names,
                disposition,
            },
            MigOut::Memory(copy) => KDescriptor::Ool {
                copy: Some(copy),
                size: 0,
            },
            MigOut::Lazy(object) => KDescriptor::Port {
                name: object.map_or(IP_NULL, |o| self.convert_lazy_object_to_port(o)),
                disposition: MACH_MSG_TYPE_PORT_SEND,
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Objects, slots and out parameters.

impl Kernel {
    /// Whether a routine may still act on `o`: a task or thread until its terminate path ran;
    /// any other object while it is reachable.
    pub fn mig_object_active(&self, o: ObjId) -> bool {
        let active = kobj(self, o).lock.lock().alive;
        match self.object_kind(o) {
            ObjKind::Task | ObjKind::Thread => active,
            _ => true,
        }
    }

    /// Models the stored-right replacement of `host_set_special_port` (osfmk/kern/host.c) and
    /// the other special-port setters: under the object's lock the new right replaces the old
    /// one, which is released once the lock is dropped.
    /// # Deviations
    /// With [`Bug::ReplaceStoredRightUnlocked`] this is `set_dp_control_port` before its fix
    /// (CVE-2016-7644): read, release and store with no lock held across them.
    pub fn mig_slot_replace(&self, o: ObjId, right: IpcPort) {
        self.mig_slot_replace_for(o, right, None)
    }

    /// [`Kernel::mig_slot_replace`] on behalf of a routine whose stub converted its target to
    /// `call_target` (the ledger checks the right goes there).
    fn mig_slot_replace_for(&self, o: ObjId, right: IpcPort, call_target: Option<ObjId>) {
        if self.bug(Bug::ReplaceStoredRightUnlocked) {
            let old = self.object_slot_read_unlocked(o);
            if IP_VALID(old) {
                self.ipc_port_release_send(old);
            }
            self.object_slot_write_unlocked(o, right);
            return;
        }
        let old = self.object_slot_swap_for(o, right, call_target);
        self.ipc_port_release_send(old);
    }

    /// Swaps the object's send-once slot, returning the previous right to the caller.
    pub fn mig_slot_sonce_swap(&self, o: ObjId, right: IpcPort) -> IpcPort {
        self.mig_slot_sonce_swap_for(o, right, None)
    }

    fn mig_slot_sonce_swap_for(
        &self,
        o: ObjId,
        right: IpcPort,
        call_target: Option<ObjId>,
    ) -> IpcPort {
        let mut s = kobj(self, o).lock.lock();
        let old = std::mem::replace(&mut s.slot_sonce, right);
        self.ledger_slot_swapped(o, SlotKind::SendOnce, old, right, call_target);
        old
    }

    /// A send right on whatever the object's slot holds (`ipc_port_copy_send_any` of a stored
    /// special port).
    /// # Deviations
    /// Makes the right after dropping the object lock, holding a port reference taken under it:
    /// the model's label check takes an object lock under a port lock, so the opposite nesting
    /// could deadlock. Making rather than copying bumps the port's make-send count.
    pub fn mig_slot_copy(&self, o: ObjId) -> IpcPort {
        let slot = {
            let s = kobj(self, o).lock.lock();
            if let IpcPort::Port(p) = s.slot {
                self.ip_reference(p);
            }
            s.slot
        };
        let IpcPort::Port(p) = slot else { return slot };
        let right = self.ipc_port_make_send_any(slot);
        self.ip_release(p);
        right
    }

    /// Releases the rights an object's slots hold (what an object's teardown must do before
    /// its last reference goes; see the report on `object_free`).
    pub fn mig_object_slots_drain(&self, o: ObjId) {
        let (send, sonce) = {
            let mut s = kobj(self, o).lock.lock();
            let send = std::mem::replace(&mut s.slot, IP_NULL);
            let sonce = std::mem::replace(&mut s.slot_sonce, IP_NULL);
            self.ledger_slot_swapped(o, SlotKind::Send, send, IP_NULL, None);
            self.ledger_slot_swapped(o, SlotKind::SendOnce, sonce, IP_NULL, None);
            (send, sonce)
        };
        self.ipc_port_release_send(send);
        self.ipc_object_destroy(sonce, MACH_MSG_TYPE_PORT_SEND_ONCE);
    }

    /// Hands the creator's reference of a fresh object to whoever takes it next (an armed
    /// port or an out parameter): its lifetime is then its references alone.
    fn mig_object_disown(&self, o: ObjId) {
        let was_alive = std::mem::replace(&mut kobj(self, o).lock.lock().alive, false);
        assert!(was_alive, "{o} disowned twice");
    }

    /// Makes the kernel object behind a kobject port of type `ty` and returns it with its port,
    /// carrying one send right for the caller.
    ///
    /// Permanent types (host, processor, pset, clock, main device, UX handler, arcade) get an
    /// object of a permanent kind that lives forever. Types with a no-senders notification get
    /// a generic object whose creator reference is donated to the armed port: it goes when the
    /// last send right does (`generic_no_senders`). Other types keep the creator reference;
    /// [`Kernel::mig_object_destroy`] ends them.
    /// # Conditions
    /// Not for tasks, threads, semaphores or vouchers, which have their own constructors.
    pub fn mig_object_create(&self, ty: IpcKobjectType) -> (ObjId, PortId) {
        assert!(
            !matches!(
                ty,
                IKOT_TASK_CONTROL
                    | IKOT_TASK_READ
                    | IKOT_TASK_INSPECT
                    | IKOT_TASK_NAME
                    | IKOT_TASK_RESUME
                    | IKOT_THREAD_CONTROL
                    | IKOT_THREAD_READ
                    | IKOT_THREAD_INSPECT
                    | IKOT_SEMAPHORE
                    | IKOT_VOUCHER
                    | IKOT_PORT_SUBST_ONCE
                    | IKOT_TIMER
                    | IKOT_NONE
            ),
            "mig_object_create of {}",
            ikot_name(ty)
        );
        let ops = *self.ipc_kobject_ops_get(ty);
        let kind = match ty {
            IKOT_PROCESSOR => ObjKind::Processor,
            IKOT_PSET | IKOT_PSET_NAME => ObjKind::Pset,
            IKOT_CLOCK => ObjKind::Clock,
            _ if ops.iko_op_permanent => ObjKind::Host,
            _ => ObjKind::Generic,
        };
        let o = self.object_alloc(kind, None);
        kobj(self, o).lock.lock().kotype = ty;
        let armed = !ops.iko_op_permanent && crate::ledger::donates_on_arm(ty);
        let options = if armed {
            IPC_KOBJECT_ALLOC_MAKE_SEND | IPC_KOBJECT_ALLOC_NSREQUEST
        } else {
            IPC_KOBJECT_ALLOC_MAKE_SEND
        };
        let port = self.ipc_kobject_alloc_port(IpcKobject::Object(o), ty, options);
        if armed {
            self.mig_object_disown(o);
        }
        kobj(self, o).lock.lock().ports[0] = IpcPort::Port(port);
        (o, port)
    }

    /// Ends an object [`Kernel::mig_object_create`] left with its creator reference (a type
    /// with no no-senders notification): its port dies, its slots are released, the creator
    /// reference goes.
    pub fn mig_object_destroy(&self, o: ObjId) {
        let (port, ty) = {
            let s = kobj(self, o).lock.lock();
            (s.ports[0], s.kotype)
        };
        if let IpcPort::Port(p) = port {
            if self.ip_active(p) {
                self.ipc_kobject_dealloc_port(p, 0, ty);
            }
        }
        self.mig_object_slots_drain(o);
        self.object_destroy(o);
    }

    /// Models `semaphore_create` (osfmk/kern/sync_sema.c): a semaphore on its owner's list (the
    /// list holds the creator reference) plus one reference for the caller. A non-task owner
    /// (an IOKit user client) gets a semaphore that lives by its references alone.
    /// Returns `None` when the owning task is terminating.
    pub fn mig_semaphore_create(&self, owner: ObjId) -> Option<ObjId> {
        let s = self.semaphore_create();
        if self.object_kind(owner) != ObjKind::Task {
            self.mig_object_disown(s);
            return Some(s);
        }
        {
            let mut owner_state = kobj(self, owner).lock.lock();
            if owner_state.alive {
                kobj(self, s).lock.lock().owner = Some(owner);
                owner_state.semaphores.push(s);
                self.object_reference(s);
                return Some(s);
            }
        }
        self.object_destroy(s);
        None
    }

    /// Models `semaphore_destroy_all` (osfmk/kern/sync_sema.c), which task termination calls:
    /// every semaphore still on the task's list is destroyed. The list is taken under the task
    /// lock, so a concurrent `semaphore_destroy` and this never both take one semaphore off it.
    pub fn semaphore_destroy_all(&self, task: ObjId) {
        let list = std::mem::take(&mut kobj(self, task).lock.lock().semaphores);
        for s in list {
            self.mig_semaphore_end(s);
        }
    }

    /// Takes a semaphore off `task`'s list (under the task lock, as `semaphore_destroy` does)
    /// and drops the list's reference.
    fn mig_semaphore_disown_from(&self, s: ObjId, task: ObjId) -> KernReturn {
        {
            let mut task_state = kobj(self, task).lock.lock();
            let Some(i) = task_state.semaphores.iter().position(|&o| o == s) else {
                return KERN_INVALID_RIGHT;
            };
            task_state.semaphores.remove(i);
        }
        self.mig_semaphore_end(s);
        KERN_SUCCESS
    }

    /// A semaphore just taken off its task's list: no owner, not alive, the list's reference
    /// dropped.
    fn mig_semaphore_end(&self, s: ObjId) {
        {
            let mut state = kobj(self, s).lock.lock();
            state.owner = None;
            state.alive = false;
        }
        self.object_release(s);
    }

    /// Models the token `task_create_identity_token` (osfmk/kern/task_ident.c) makes: `None`
    /// once `task`'s terminate path began; otherwise a token holding a task reference (see
    /// [`routine_task_create_identity_token`]) and its armed port with one send right for the
    /// caller.
    pub fn task_create_identity_token(&self, task: ObjId) -> Option<(ObjId, PortId)> {
        assert_eq!(self.object_kind(task), ObjKind::Task);
        if !self.object_reference_if_alive(task) {
            return None;
        }
        let (token, port) = self.mig_object_create(IKOT_TASK_ID_TOKEN);
        let previous = kobj(self, token).lock.lock().owner.replace(task);
        assert!(previous.is_none(), "a fresh token names no task");
        Some((token, port))
    }

    /// `ipc_create_mach_voucher` reduced: a voucher whose creation reference is the caller's.
    fn mig_voucher_create(&self) -> ObjId {
        let v = self.ipc_voucher_create();
        self.mig_object_disown(v);
        v
    }
}

// ---------------------------------------------------------------------------------------------
// The generic archetypes.

/// Status, borrow, store-or-release, memory-in and out-parameter routines (module docs).
fn routine_generic(k: &Kernel, call: &mut MigCall<'_>) -> MigResult {
    let target = call.target()?;
    call.selector()?;
    let untranslated = call
        .ports
        .iter()
        .any(|a| a.is_translated && IP_VALID(a.port) && a.translated.is_none());
    if untranslated {
        return Err(KERN_INVALID_ARGUMENT);
    }
    if !k.mig_object_active(target) {
        return Err(KERN_FAILURE);
    }
    // From here on the routine cannot fail: it owns every raw right and every region.
    let mut previous = k.mig_consume_raw_ports(call, target);
    k.mig_consume_ool(call);
    let outs = k.mig_generic_outs(call, target, &mut previous);
    k.ipc_port_release_send(previous.send);
    k.ipc_object_destroy(previous.sonce, MACH_MSG_TYPE_PORT_SEND_ONCE);
    Ok(MigReturn::Reply(outs))
}

impl Kernel {
    /// Consumes the raw rights of a succeeding routine: the first send right and the first
    /// send-once right of a storing routine go to the target's slots (the displaced rights are
    /// returned when the routine hands them back, released otherwise); every other raw right is
    /// released (send), notified (send-once) or destroyed (receive).
    fn mig_consume_raw_ports(&self, call: &MigCall<'_>, target: ObjId) -> Previous {
        let desc = call.desc;
        let stores = mig_facts(desc).stores;
        let keep = stores
            && desc
                .reply_ports
                .iter()
                .any(|a| mig_is_previous_field(desc, a));
        let mut previous = Previous {
            send: IP_NULL,
            sonce: IP_NULL,
        };
        let (mut send_stored, mut sonce_stored) = (false, false);
        for arg in call.ports.iter().filter(|a| !a.is_translated) {
            match arg.disposition {
                MACH_MSG_TYPE_PORT_SEND if stores && !send_stored => {
                    send_stored = true;
                    if keep {
                        previous.send = self.object_slot_swap_for(target, arg.port, call.target);
                    } else {
                        self.mig_slot_replace_for(target, arg.port, call.target);
                    }
                }
                MACH_MSG_TYPE_PORT_SEND_ONCE if stores && !sonce_stored => {
                    sonce_stored = true;
                    let old = self.mig_slot_sonce_swap_for(target, arg.port, call.target);
                    if keep {
                        previous.sonce = old;
                    } else {
                        self.ipc_object_destroy(old, MACH_MSG_TYPE_PORT_SEND_ONCE);
                    }
                }
                disposition => self.ipc_object_destroy(arg.port, disposition),
            }
        }
        previous
    }

    /// A succeeding routine copies its out-of-line regions out (here: discards them).
    fn mig_consume_ool(&self, call: &MigCall<'_>) {
        for copy in call.ool.iter().flatten() {
            self.vm_map_copy_discard(*copy);
        }
    }

    /// The out parameters of a generic routine, one per reply descriptor.
    fn mig_generic_outs(
        &self,
        call: &MigCall<'_>,
        target: ObjId,
        previous: &mut Previous,
    ) -> Vec<MigOut> {
        let desc = call.desc;
        let mut outs = Vec::with_capacity(desc.reply_descr_count as usize);
        for arg in &desc.reply_ports {
            match arg.kind {
                MigPortKind::OolPorts => outs.push(MigOut::Ports {
                    names: vec![self.ipc_port_make_send_any(IpcPort::Port(call.port))],
                    disposition: MACH_MSG_TYPE_PORT_SEND,
                }),
                MigPortKind::Port => {
                    for i in 0..arg.count {
                        outs.push(self.mig_generic_out(call, target, arg, i, previous));
                    }
                }
            }
        }
        while (outs.len() as u32) < desc.reply_descr_count {
            outs.push(MigOut::Memory(self.vm_map_copy_alloc()));
        }
        outs
    }

    /// One port out parameter (element `i` of a fixed array).
    fn mig_generic_out(
        &self,
        call: &MigCall<'_>,
        target: ObjId,
        arg: &MigPortArg,
        i: u32,
        previous: &mut Previous,
    ) -> MigOut {
        let disposition = if arg.disposition == MACH_MSG_TYPE_POLYMORPHIC {
            MACH_MSG_TYPE_PORT_SEND
        } else {
            arg.disposition
        };
        let port = |name| MigOut::Port { name, disposition };
        if mig_is_previous_field(call.desc, arg) {
            if i > 0 {
                return port(IP_NULL);
            }
            if !mig_facts(call.desc).stores {
                return port(self.mig_slot_copy(target));
            }
            let slot = if disposition == MACH_MSG_TYPE_PORT_SEND_ONCE {
                &mut previous.sonce
            } else {
                &mut previous.send
            };
            return port(std::mem::replace(slot, IP_NULL));
        }
        match arg.field {
            "semaphore" => MigOut::Lazy(self.mig_semaphore_create(target)),
            "voucher" => MigOut::Lazy(Some(self.mig_voucher_create())),
            field => match mig_out_kotype(field) {
                Some(ty) => port(IpcPort::Port(self.mig_object_create(ty).1)),
                None => port(self.ipc_port_make_send_any(IpcPort::Port(call.port))),
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Hand-modelled routines.

/// Models `semaphore_create` (osfmk/kern/sync_sema.c) behind the task subsystem's stub: the
/// out parameter's reference is consumed by `convert_semaphore_to_port`, which allocates the
/// semaphore's port lazily and arms it.
fn routine_semaphore_create(k: &Kernel, call: &mut MigCall<'_>) -> MigResult {
    let task = call.target()?;
    call.selector()?;
    let semaphore = k.mig_semaphore_create(task).ok_or(KERN_INVALID_TASK)?;
    Ok(MigReturn::Reply(vec![MigOut::Lazy(Some(semaphore))]))
}

/// Models `semaphore_destroy` (osfmk/kern/sync_sema.c): only the owning task destroys a
/// semaphore; the list's reference goes. The translated semaphore reference is dropped after
/// the routine (`semaphore_consume_ref_t`: XNU's routine consumes it, to the same effect).
fn routine_semaphore_destroy(k: &Kernel, call: &mut MigCall<'_>) -> MigResult {
    let semaphore = call.arg("semaphore").translated;
    let task = call.target()?;
    let semaphore = semaphore.ok_or(KERN_INVALID_ARGUMENT)?;
    call.selector()?;
    match k.mig_semaphore_disown_from(semaphore, task) {
        KERN_SUCCESS => Ok(MigReturn::Reply(Vec::new())),
        kr => Err(kr),
    }
}

/// Models `host_set_special_port_from_user` + `host_set_special_port` (osfmk/kern/host.c):
/// replaces the stored right under the host lock and releases the old one (the
/// `set_dp_control_port` pattern; [`Kernel::mig_slot_replace`] carries CVE-2016-7644).
fn routine_host_set_special_port(k: &Kernel, call: &mut MigCall<'_>) -> MigResult {
    let host = call.target()?;
    call.selector()?;
    let id = call.word(1);
    if id <= HOST_MAX_SPECIAL_KERNEL_PORT || id > HOST_MAX_SPECIAL_PORT {
        return Err(KERN_INVALID_ARGUMENT);
    }
    let port = call.arg("port").port;
    if let IpcPort::Port(p) = port {
        let g = k.ip_mq_lock(p);
        if g.ip_immovable_receive || g.ip_immovable_send {
            return Err(KERN_INVALID_RIGHT);
        }
    }
    k.mig_slot_replace_for(host, port, call.target);
    Ok(MigReturn::Reply(Vec::new()))
}

/// Models `host_get_special_port_from_user` (osfmk/kern/host.c): the host and host-priv ports
/// for the kernel ids, the stored right for the others.
fn routine_host_get_special_port(k: &Kernel, call: &mut MigCall<'_>) -> MigResult {
    let host = call.target()?;
    call.selector()?;
    let id = call.word(1);
    if id == 0 || id > HOST_MAX_SPECIAL_PORT {
        return Err(KERN_INVALID_ARGUMENT);
    }
    let port = match id {
        HOST_PORT => k.ipc_port_make_send_any(k.object_port(host, 0)),
        HOST_PRIV_PORT => k.ipc_port_make_send_any(k.object_port(host, 1)),
        id if id <= HOST_MAX_SPECIAL_KERNEL_PORT => IP_NULL,
        _ => k.mig_slot_copy(host),
    };
    Ok(reply_one(port, MACH_MSG_TYPE_PORT_SEND))
}

fn reply_one(name: IpcPort, disposition: MachMsgTypeName) -> MigReturn {
    MigReturn::Reply(vec![MigOut::Port { name, disposition }])
}

/// Models `task_set_special_port_from_user` / `task_set_special_port_internal`
/// (osfmk/kern/ipc_tt.c): immovable rights are refused, the task-self and host ports are not
/// settable with SIP on, the others replace the stored right.
fn routine_task_set_special_port(k: &Kernel, call: &mut MigCall<'_>) -> MigResult {
    let task = call.target()?;
    call.selector()?;
    let port = call.arg("special_port").port;
    if mig_immovable_send(k, port) {
        return Err(KERN_INVALID_RIGHT);
    }
    match call.word(1) {
        TASK_KERNEL_PORT | TASK_HOST_PORT => Err(KERN_NO_ACCESS),
        TASK_BOOTSTRAP_PORT
        | TASK_ACCESS_PORT
        | TASK_DEBUG_CONTROL_PORT
        | TASK_RESOURCE_NOTIFY_PORT => {
            if !k.mig_object_active(task) {
                return Err(KERN_FAILURE);
            }
            k.mig_slot_replace_for(task, port, call.target);
            Ok(MigReturn::Reply(Vec::new()))
        }
        _ => Err(KERN_INVALID_ARGUMENT),
    }
}

/// Models `thread_create_from_user` / `thread_create_running_from_user` (osfmk/kern/thread.c,
/// `thread_create_internal2`) and the stub's outtran `convert_thread_to_port`: a new thread of
/// the target task, on its thread list, and a send right on the new thread's control port. A
/// task whose terminate path has begun is `KERN_FAILURE` (`thread_create_internal`).
/// # Deviations
/// No thread state, no start: the running variant differs only in name. The new thread lives
/// until its task terminates (the model has no thread exit).
fn routine_thread_create(k: &Kernel, call: &mut MigCall<'_>) -> MigResult {
    let task = call.target()?;
    call.selector()?;
    let thread = k.thread_create_internal(task).ok_or(KERN_FAILURE)?;
    // IP_NULL when the task terminated (and ended the thread) since it joined the list.
    let port = mig_thread_port(k, thread, IKOT_THREAD_CONTROL);
    k.object_release(thread);
    Ok(reply_one(port, MACH_MSG_TYPE_PORT_SEND))
}

/// Models `convert_thread_to_port_with_flavor` (osfmk/kern/ipc_tt.c) for the control and read
/// flavors: a send right on the thread's port of kotype `ty`, `IP_NULL` once its terminate path
/// ran (`!thread->ipc_active`).
/// # Deviations
/// The read port is the eager one the model makes at creation (XNU allocates it here, armed);
/// no inspect flavor (the model has no inspect ports); no `task_conversion_eval_out_trans`.
fn mig_thread_port(k: &Kernel, thread: ObjId, ty: IpcKobjectType) -> IpcPort {
    let which = match ty {
        IKOT_THREAD_CONTROL => THREAD_PORT_CONTROL,
        IKOT_THREAD_READ => THREAD_PORT_READ,
        other => panic!("no thread port of {}", ikot_name(other)),
    };
    let port = k.object_port(thread, which);
    let right = k.ipc_kobject_make_send(port, IpcKobject::Object(thread), ty);
    if right == IP_DEAD {
        IP_NULL
    } else {
        right
    }
}

/// Models `task_threads_from_user` + `task_threads_internal` (osfmk/kern/task.c): the target
/// converts as `convert_port_to_task_inspect_no_eval` (a name port is refused), and the flavor of
/// the port used picks the flavor of the thread ports handed out: thread control ports through
/// the task's control port, read ports through its read port. The threads are taken from the
/// task's list under the task lock, each with a reference, and converted after it is dropped. A
/// terminated task is `KERN_FAILURE`.
/// # Deviations
/// No inspect flavor (the model has no task inspect port to ask through).
fn routine_task_threads(k: &Kernel, call: &mut MigCall<'_>) -> MigResult {
    let task = call.target()?;
    call.selector()?;
    let ty = match call.kotype {
        IKOT_TASK_CONTROL => IKOT_THREAD_CONTROL,
        IKOT_TASK_READ => IKOT_THREAD_READ,
        other => panic!("task_threads through a {} port", ikot_name(other)),
    };
    let threads = k.task_threads_referenced(task).ok_or(KERN_FAILURE)?;
    let names = threads
        .into_iter()
        .map(|thread| {
            let port = mig_thread_port(k, thread, ty);
            k.object_release(thread);
            port
        })
        .collect();
    Ok(MigReturn::Reply(vec![MigOut::Ports {
        names,
        disposition: MACH_MSG_TYPE_PORT_SEND,
    }]))
}

/// Models `task_create_identity_token` (osfmk/kern/task_ident.c): a token naming the target
/// task, with a port armed for no-senders (the token's reference is donated to it). A task
/// whose terminate path has begun is `KERN_INVALID_ARGUMENT`.
/// # Deviations
/// XNU's token records the task's process identity; the model's holds a reference on the task
/// object (not on its ports) until the token is freed, so the lookup cannot race the task's
/// final release. No corpse tokens.
fn routine_task_create_identity_token(k: &Kernel, call: &mut MigCall<'_>) -> MigResult {
    let task = call.target()?;
    call.selector()?;
    let (_, port) = k
        .task_create_identity_token(task)
        .ok_or(KERN_INVALID_ARGUMENT)?;
    Ok(reply_one(IpcPort::Port(port), MACH_MSG_TYPE_PORT_SEND))
}

/// Models `task_identity_token_get_task_port` + `task_identity_token_get_task_grp`
/// (osfmk/kern/task_ident.c): the flavor (`inline_data[1]`) picks the special port (anything else
/// is `KERN_INVALID_ARGUMENT`), a token whose task is gone is `KERN_NOT_FOUND`, the caller's own
/// task asked for its control flavor gets its pinned self port (`convert_task_to_port_pinned`),
/// any other task its port of the asked flavor (`task_get_special_port_internal`: the control
/// port, substituted at copyout, the read or the name port; `KERN_FAILURE` once the task's
/// terminate path ran).
/// # Deviations
/// The inspect flavor is `KERN_INVALID_ARGUMENT` (the model has no inspect ports). A task is
/// gone from the moment its terminate path begins (XNU: when its process can no longer be found).
/// A token made without a task ([`Kernel::mig_object_create`], as the engines' worlds make them)
/// names none: `KERN_NOT_FOUND`.
fn routine_task_identity_token_get_task_port(k: &Kernel, call: &mut MigCall<'_>) -> MigResult {
    let token = call.target()?;
    call.selector()?;
    let (which, ty) = match call.word(1) {
        TASK_FLAVOR_CONTROL => (TASK_PORT_CONTROL, IKOT_TASK_CONTROL),
        TASK_FLAVOR_READ => (TASK_PORT_READ, IKOT_TASK_READ),
        TASK_FLAVOR_NAME => (TASK_PORT_NAME, IKOT_TASK_NAME),
        _ => return Err(KERN_INVALID_ARGUMENT),
    };
    let task = kobj(k, token).lock.lock().owner;
    let Some(task) = task.filter(|&task| k.mig_object_active(task)) else {
        return Err(KERN_NOT_FOUND);
    };
    let which = if ty == IKOT_TASK_CONTROL && call.sender_task == Some(task) {
        TASK_PORT_SELF_PINNED
    } else {
        which
    };
    let port = k.ipc_kobject_make_send(k.object_port(task, which), IpcKobject::Object(task), ty);
    if port == IP_DEAD || !IP_VALID(port) {
        return Err(KERN_FAILURE);
    }
    Ok(reply_one(port, MACH_MSG_TYPE_PORT_SEND))
}

/// Whether `port` is an immovable send right, which no routine may store.
fn mig_immovable_send(k: &Kernel, port: IpcPort) -> bool {
    match port {
        IpcPort::Port(p) => k.ip_mq_lock(p).ip_immovable_send,
        _ => false,
    }
}

/// Models `thread_set_special_port` (osfmk/kern/ipc_tt.c): an immovable send right is refused
/// (`KERN_INVALID_RIGHT`) before the slot is looked at; `THREAD_KERNEL_PORT` is not settable with
/// SIP on (`KERN_NO_ACCESS`); any other slot is `KERN_INVALID_ARGUMENT`.
fn routine_thread_set_special_port(k: &Kernel, call: &mut MigCall<'_>) -> MigResult {
    call.target()?;
    call.selector()?;
    if mig_immovable_send(k, call.arg("special_port").port) {
        return Err(KERN_INVALID_RIGHT);
    }
    match call.word(1) {
        THREAD_KERNEL_PORT => Err(KERN_NO_ACCESS),
        _ => Err(KERN_INVALID_ARGUMENT),
    }
}

/// Models `_kernelrpc_mach_ports_register3` (osfmk/kern/ipc_tt.c): any immovable send right
/// among the three is `KERN_INVALID_RIGHT`, a dead task `KERN_INVALID_ARGUMENT`; then the rights
/// are stored (the generic store-or-release archetype).
/// # Deviations
/// The model's task has one slot: the first right is stored, the others are released (XNU keeps
/// all three in `itk_registered`).
fn routine_mach_ports_register3(k: &Kernel, call: &mut MigCall<'_>) -> MigResult {
    let task = call.target()?;
    let ports = ["port1", "port2", "port3"].map(|field| call.arg(field).port);
    if ports.into_iter().any(|port| mig_immovable_send(k, port)) {
        return Err(KERN_INVALID_RIGHT);
    }
    if !k.mig_object_active(task) {
        return Err(KERN_INVALID_ARGUMENT);
    }
    routine_generic(k, call)
}

/// Models `task_get_special_port_from_user` (osfmk/kern/ipc_tt.c): a task asking for its own
/// control port through its control port gets an `IKOT_PORT_SUBST_ONCE` wrapper
/// (`task_get_non_substituted_self`), so the copyout does not pin-substitute it; otherwise the
/// flavor of the port used limits what may be asked, and the reply carries a send right to the
/// labeled control / read / name port (substituted at copyout) or the stored right.
fn routine_task_get_special_port(k: &Kernel, call: &mut MigCall<'_>) -> MigResult {
    let task = call.target()?;
    call.selector()?;
    let which = call.word(1);
    let ko = IpcKobject::Object(task);
    if which == TASK_KERNEL_PORT
        && Some(task) == call.sender_task
        && call.kotype == IKOT_TASK_CONTROL
    {
        let control = k.object_port(task, TASK_PORT_CONTROL);
        let right = k.ipc_kobject_make_send(control, ko, IKOT_TASK_CONTROL);
        return Ok(reply_one(
            k.ipc_kobject_alloc_subst_once(right),
            MACH_MSG_TYPE_PORT_SEND,
        ));
    }
    let allowed = match call.kotype {
        IKOT_TASK_CONTROL => true,
        IKOT_TASK_READ => matches!(which, TASK_READ_PORT | TASK_INSPECT_PORT | TASK_NAME_PORT),
        IKOT_TASK_INSPECT => matches!(which, TASK_INSPECT_PORT | TASK_NAME_PORT),
        _ => false,
    };
    if !allowed {
        return Err(KERN_INVALID_CAPABILITY);
    }
    if !k.mig_object_active(task) {
        return Err(KERN_FAILURE);
    }
    let own = |which, ty| k.ipc_kobject_make_send(k.object_port(task, which), ko, ty);
    let port = match which {
        TASK_KERNEL_PORT => own(TASK_PORT_CONTROL, IKOT_TASK_CONTROL),
        TASK_READ_PORT => own(TASK_PORT_READ, IKOT_TASK_READ),
        TASK_NAME_PORT => own(TASK_PORT_NAME, IKOT_TASK_NAME),
        TASK_BOOTSTRAP_PORT
        | TASK_ACCESS_PORT
        | TASK_DEBUG_CONTROL_PORT
        | TASK_RESOURCE_NOTIFY_PORT => k.mig_slot_copy(task),
        _ => return Err(KERN_INVALID_ARGUMENT),
    };
    Ok(reply_one(port, MACH_MSG_TYPE_PORT_SEND))
}

/// Models `thread_get_special_port_from_user` (osfmk/kern/ipc_tt.c), the thread twin of
/// [`routine_task_get_special_port`] (`thread_get_non_substituted_self` for the caller's own
/// threads).
fn routine_thread_get_special_port(k: &Kernel, call: &mut MigCall<'_>) -> MigResult {
    let thread = call.target()?;
    call.selector()?;
    let which = call.word(1);
    let ko = IpcKobject::Object(thread);
    let own_task = call.sender_task.is_some() && k.get_threadtask(thread) == call.sender_task;
    if which == THREAD_KERNEL_PORT && own_task && call.kotype == IKOT_THREAD_CONTROL {
        let control = k.object_port(thread, THREAD_PORT_CONTROL);
        let right = k.ipc_kobject_make_send(control, ko, IKOT_THREAD_CONTROL);
        return Ok(reply_one(
            k.ipc_kobject_alloc_subst_once(right),
            MACH_MSG_TYPE_PORT_SEND,
        ));
    }
    let allowed = match call.kotype {
        IKOT_THREAD_CONTROL => true,
        IKOT_THREAD_READ => matches!(which, THREAD_READ_PORT | THREAD_INSPECT_PORT),
        IKOT_THREAD_INSPECT => which == THREAD_INSPECT_PORT,
        _ => false,
    };
    if !allowed {
        return Err(KERN_INVALID_CAPABILITY);
    }
    if !k.mig_object_active(thread) {
        return Err(KERN_FAILURE);
    }
    let port = match which {
        THREAD_KERNEL_PORT => k.ipc_kobject_make_send(
            k.object_port(thread, THREAD_PORT_CONTROL),
            ko,
            IKOT_THREAD_CONTROL,
        ),
        THREAD_READ_PORT => k.ipc_kobject_make_send(
            k.object_port(thread, THREAD_PORT_READ),
            ko,
            IKOT_THREAD_READ,
        ),
        _ => return Err(KERN_INVALID_ARGUMENT),
    };
    Ok(reply_one(port, MACH_MSG_TYPE_PORT_SEND))
}

/// Models `task_swap_mach_voucher` / `thread_swap_mach_voucher` with MIG's in-out voucher:
/// the routine owns the input reference of `old_voucher` (rule 5) and must consume it; the
/// voucher it returns carries a reference (rule 4) that `convert_voucher_to_port` consumes.
/// The correct swap releases the input and references the new voucher. `MIG_SELECT_FAIL` is
/// xnu-11215's own behaviour: release the input, `KERN_NOT_SUPPORTED`.
/// # Deviations
/// With [`Bug::VoucherSwap`] (`task_swap_mach_voucher` only) it is the routine before
/// CVE-2019-6225's fix: `*in_out_old_voucher = new_voucher; return KERN_SUCCESS;`.
fn routine_swap_mach_voucher(k: &Kernel, call: &mut MigCall<'_>) -> MigResult {
    let old_index = call.arg_index("old_voucher");
    let old_in = call.ports[old_index].translated.take();
    let new_voucher = call.arg("new_voucher").translated;
    if k.bug(Bug::VoucherSwap) && call.desc.name == "task_swap_mach_voucher" {
        call.target.ok_or(KERN_INVALID_TASK)?;
        return Ok(MigReturn::Reply(vec![MigOut::Lazy(new_voucher)]));
    }
    if let Some(old) = old_in {
        k.object_release(old);
    }
    call.target()?;
    if call.word(0) == MIG_SELECT_FAIL {
        return Err(KERN_NOT_SUPPORTED);
    }
    if let Some(new) = new_voucher {
        k.object_reference(new);
    }
    Ok(MigReturn::Reply(vec![MigOut::Lazy(new_voucher)]))
}

/// Models `task_suspend2_mig` (osfmk/kern/task.c): a hold plus a send-once right to the lazily
/// allocated `itk_resume` port, whose death releases the hold.
fn routine_task_suspend2(k: &Kernel, call: &mut MigCall<'_>) -> MigResult {
    let task = call.target()?;
    call.selector()?;
    if !k.mig_object_active(task) {
        return Err(KERN_FAILURE);
    }
    let token = k.task_suspend2(task);
    Ok(reply_one(token, MACH_MSG_TYPE_PORT_SEND_ONCE))
}

/// The MIG routine of `mach_port_request_notification` (osfmk/ipc/mach_port.c): the target task's
/// space (`convert_port_to_space`: none once the task is terminated), the name, message id and
/// `sync` from inline words 1 to 3, the `notify` send-once right; the previous request's right
/// goes back in the reply. On failure the stub destroys the request and its right.
fn routine_mach_port_request_notification(k: &Kernel, call: &mut MigCall<'_>) -> MigResult {
    let task = call.target()?;
    call.selector()?;
    let space = kobj(k, task).lock.lock().space;
    let notify = call.arg("notify").port;
    let (name, id, sync) = (call.word(1), call.word(2) as i32, call.word(3));
    let previous = k.mach_port_request_notification(space, name, id, sync, notify)?;
    Ok(reply_one(previous, MACH_MSG_TYPE_PORT_SEND_ONCE))
}

/// Models `task_resume2_mig` (osfmk/kern/task.c): the token's hold is released by the routine
/// (the dispatcher drops the send-once destination without the send-once callback).
fn routine_task_resume2(k: &Kernel, call: &mut MigCall<'_>) -> MigResult {
    let task = call.target()?;
    call.selector()?;
    let mut state = kobj(k, task).lock.lock();
    if state.suspend_count == 0 {
        return Err(KERN_FAILURE);
    }
    state.suspend_count -= 1;
    Ok(MigReturn::Reply(Vec::new()))
}

/// Models the `is_io_service_add_notification*` routines (iokit/Kernel/IOUserClient.cpp): the
/// notification keeps the wake port right (here: the main port object's slot) and a new
/// notification object is returned. The `_ool` variants copy the matching dictionary out first
/// and must report success once that worked: when the dictionary then fails to parse
/// (`MIG_SELECT_ALT`) the fixed routine drops the wake port right itself; the other variants
/// fail with nothing consumed.
/// # Deviations
/// With [`Bug::AddNotificationOolLeak`] the `_ool` routines return success on a bad dictionary
/// without consuming the wake port right (CVE-2016-7612).
fn routine_io_service_add_notification(k: &Kernel, call: &mut MigCall<'_>) -> MigResult {
    let main = call.target()?;
    let selector = call.selector()?;
    let is_ool = call.desc.req_ool_mem > 0;
    let wake = call.arg("wake_port").port;
    if selector == MIG_SELECT_ALT {
        if !is_ool {
            return Err(K_IO_RETURN_BAD_ARGUMENT);
        }
        k.mig_consume_ool(call);
        if !k.bug(Bug::AddNotificationOolLeak) {
            k.ipc_port_release_send(wake);
        }
        return Ok(reply_one(IP_NULL, MACH_MSG_TYPE_PORT_SEND));
    }
    k.mig_consume_ool(call);
    k.mig_slot_replace_for(main, wake, call.target);
    let (_, notification) = k.mig_object_create(IKOT_IOKIT_OBJECT);
    Ok(reply_one(
        IpcPort::Port(notification),
        MACH_MSG_TYPE_PORT_SEND,
    ))
}

/// Models the async external-method routines (`is_io_connect_async_method` and the older
/// `io_async_method_*`, iokit/Kernel/IOUserClient.cpp): the user client registers the wake
/// port (the connect object's slot); a second registration is refused with nothing consumed.
/// # Deviations
/// With [`Bug::AsyncWakeDoubleRelease`] the duplicate branch drops the wake port's reference
/// before failing (`releaseAsyncReference64`, CVE-2017-13861), so MIG releases it again.
fn routine_io_async_method(k: &Kernel, call: &mut MigCall<'_>) -> MigResult {
    let connect = call.target()?;
    call.selector()?;
    let wake = call.arg("wake_port").port;
    let registered = {
        let mut state = kobj(k, connect).lock.lock();
        let registered = IP_VALID(state.slot);
        if !registered {
            state.slot = wake;
            k.ledger_slot_swapped(connect, SlotKind::Send, IP_NULL, wake, call.target);
        }
        registered
    };
    if registered {
        if k.bug(Bug::AsyncWakeDoubleRelease) {
            k.ipc_port_release_send(wake);
        }
        return Err(KERN_FAILURE);
    }
    Ok(MigReturn::Reply(Vec::new()))
}

/// The synthetic routine that answers `MIG_NO_REPLY`: it keeps the request's send-once reply
/// right in the user client's send-once slot and replies later ([`Kernel::mig_deferred_reply`]).
/// No xnu-11215 routine does this, but `ipc_kobject_server` handles the status.
fn routine_deferred_reply(k: &Kernel, call: &mut MigCall<'_>) -> MigResult {
    let connect = call.target()?;
    call.selector()?;
    if call.reply_disposition != MACH_MSG_TYPE_PORT_SEND_ONCE || !IP_VALID(call.reply_port) {
        return Err(KERN_INVALID_RIGHT);
    }
    let mut state = kobj(k, connect).lock.lock();
    if IP_VALID(state.slot_sonce) {
        return Err(KERN_ALREADY_WAITING);
    }
    state.slot_sonce = call.reply_port;
    k.ledger_slot_swapped(
        connect,
        SlotKind::SendOnce,
        IP_NULL,
        call.reply_port,
        call.target,
    );
    Ok(MigReturn::NoReply)
}

// ---------------------------------------------------------------------------------------------
// The synthetic subsystem.

/// A one-routine subsystem holding the synthetic deferred-reply routine
/// ([`MIG_SYNTHETIC_DEFERRED_REPLY_ID`], target an IOKit user client, no arguments).
pub fn synthetic_subsystem() -> MigSubsystem {
    let routine = MigRoutineDesc {
        msgh_id: MIG_SYNTHETIC_DEFERRED_REPLY_ID,
        name: MIG_SYNTHETIC_DEFERRED_REPLY_NAME,
        kind: MigKind::Routine,
        req_ports: Vec::new(),
        req_ool_mem: 0,
        req_descs: 0,
        reply_ports: Vec::new(),
        reply_descr_count: 0,
        max_reply_msg: MIG_REPLY_ERROR_SIZE,
        reply_complex: false,
        target_intran: "iokit_lookup_connect_port",
        stub_releases: Vec::new(),
        derived: Default::default(),
    };
    MigSubsystem {
        name: "kobjsim_synthetic",
        start: MIG_SYNTHETIC_DEFERRED_REPLY_ID,
        end: MIG_SYNTHETIC_DEFERRED_REPLY_ID + 1,
        maxsize: MIG_REPLY_ERROR_SIZE,
        routines: vec![routine],
    }
}

/// `mig_init` over the kernel's subsystems plus [`synthetic_subsystem`].
pub fn mig_table_with_synthetic() -> MigTable {
    let mut subsystems = kernel_subsystems().to_vec();
    subsystems.push(synthetic_subsystem());
    mig_init(&subsystems)
}

impl Kernel {
    /// Replaces the table this kernel dispatches through (a boot-time choice).
    pub fn set_mig_table(&mut self, table: MigTable) {
        self.mig = MigTableRef::Owned(Box::new(table));
    }

    /// Dispatches through a table built once for many kernels (the simulator builds one per
    /// execution): no copy is made.
    pub fn set_static_mig_table(&mut self, table: &'static MigTable) {
        self.mig = MigTableRef::Static(table);
    }

    /// The later reply of the synthetic deferred-reply routine: takes the send-once right it
    /// saved in `o` and builds the `mig_reply_error_t` (id + 100, `kr`) the caller sends, as it
    /// sends a reply `ipc_kobject_server` returns. `None` when nothing was saved, or when the
    /// saved right names a kernel-space port (then the reply is destroyed, as the server does).
    pub fn mig_deferred_reply(&self, o: ObjId, kr: KernReturn) -> Option<Kmsg> {
        let saved = self.mig_slot_sonce_swap(o, IP_NULL);
        let IpcPort::Port(p) = saved else {
            return None;
        };
        let mut reply = Kmsg::alloc(MIG_REPLY_ERROR_SIZE, 0);
        reply.msgh_bits = mach_msgh_bits_set(MACH_MSG_TYPE_PORT_SEND_ONCE, 0, 0, 0);
        reply.msgh_remote_port = saved;
        reply.msgh_id = MIG_SYNTHETIC_DEFERRED_REPLY_ID + 100;
        reply.ret_code = kr;
        self.ledger_deferred_reply(&reply);
        if self.ip_in_space_noauth(p, IPC_SPACE_KERNEL) {
            self.ipc_kmsg_destroy(reply, IPC_KMSG_DESTROY_NOT_SIGNED);
            return None;
        }
        Some(reply)
    }
}
