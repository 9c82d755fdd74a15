//! The kobject types (`ipc_kotype_t`) with the ops flags each registers in xnu-11215.1.10.
//!
//! Values and flags are facts from osfmk/kern/ipc_kobject.h and the `IPC_KOBJECT_DEFINE` sites;
//! retired numbers stay reserved so values never shift. Behaviour (callbacks) lives in `kobjects.rs`.

/// `ipc_kobject_type_t`.
pub type IpcKobjectType = u32;

pub const IKOT_NONE: IpcKobjectType = 0;
pub const IKOT_THREAD_CONTROL: IpcKobjectType = 1;
pub const IKOT_TASK_CONTROL: IpcKobjectType = 2;
pub const IKOT_HOST: IpcKobjectType = 3;
pub const IKOT_HOST_PRIV: IpcKobjectType = 4;
pub const IKOT_PROCESSOR: IpcKobjectType = 5;
pub const IKOT_PSET: IpcKobjectType = 6;
pub const IKOT_PSET_NAME: IpcKobjectType = 7;
pub const IKOT_TIMER: IpcKobjectType = 8;
pub const IKOT_PORT_SUBST_ONCE: IpcKobjectType = 9;
pub const IKOT_MIG: IpcKobjectType = 10;
pub const IKOT_MEMORY_OBJECT: IpcKobjectType = 11;
pub const IKOT_XMM_PAGER: IpcKobjectType = 12;
pub const IKOT_XMM_KERNEL: IpcKobjectType = 13;
pub const IKOT_XMM_REPLY: IpcKobjectType = 14;
pub const IKOT_UND_REPLY: IpcKobjectType = 15;
pub const IKOT_HOST_NOTIFY: IpcKobjectType = 16;
pub const IKOT_HOST_SECURITY: IpcKobjectType = 17;
pub const IKOT_LEDGER: IpcKobjectType = 18;
pub const IKOT_MAIN_DEVICE: IpcKobjectType = 19;
pub const IKOT_TASK_NAME: IpcKobjectType = 20;
pub const IKOT_SUBSYSTEM: IpcKobjectType = 21;
pub const IKOT_IO_DONE_QUEUE: IpcKobjectType = 22;
pub const IKOT_SEMAPHORE: IpcKobjectType = 23;
pub const IKOT_LOCK_SET: IpcKobjectType = 24;
pub const IKOT_CLOCK: IpcKobjectType = 25;
pub const IKOT_CLOCK_CTRL: IpcKobjectType = 26;
pub const IKOT_IOKIT_IDENT: IpcKobjectType = 27;
pub const IKOT_NAMED_ENTRY: IpcKobjectType = 28;
pub const IKOT_IOKIT_CONNECT: IpcKobjectType = 29;
pub const IKOT_IOKIT_OBJECT: IpcKobjectType = 30;
pub const IKOT_UPL: IpcKobjectType = 31;
pub const IKOT_MEM_OBJ_CONTROL: IpcKobjectType = 32;
pub const IKOT_AU_SESSIONPORT: IpcKobjectType = 33;
pub const IKOT_FILEPORT: IpcKobjectType = 34;
pub const IKOT_LABELH: IpcKobjectType = 35;
pub const IKOT_TASK_RESUME: IpcKobjectType = 36;
pub const IKOT_VOUCHER: IpcKobjectType = 37;
pub const IKOT_VOUCHER_ATTR_CONTROL: IpcKobjectType = 38;
pub const IKOT_WORK_INTERVAL: IpcKobjectType = 39;
pub const IKOT_UX_HANDLER: IpcKobjectType = 40;
pub const IKOT_UEXT_OBJECT: IpcKobjectType = 41;
pub const IKOT_ARCADE_REG: IpcKobjectType = 42;
pub const IKOT_EVENTLINK: IpcKobjectType = 43;
pub const IKOT_TASK_INSPECT: IpcKobjectType = 44;
pub const IKOT_TASK_READ: IpcKobjectType = 45;
pub const IKOT_THREAD_INSPECT: IpcKobjectType = 46;
pub const IKOT_THREAD_READ: IpcKobjectType = 47;
pub const IKOT_SUID_CRED: IpcKobjectType = 48;
pub const IKOT_HYPERVISOR: IpcKobjectType = 49;
pub const IKOT_TASK_ID_TOKEN: IpcKobjectType = 50;
pub const IKOT_TASK_FATAL: IpcKobjectType = 51;
pub const IKOT_KCDATA: IpcKobjectType = 52;
pub const IKOT_EXCLAVES_RESOURCE: IpcKobjectType = 53;
pub const IKOT_UNKNOWN: IpcKobjectType = 54;
/// `IKOT_MAX_TYPE` = `IKOT_UNKNOWN + 1` (CONFIG_EXCLAVES build).
pub const IKOT_MAX_TYPE: IpcKobjectType = IKOT_UNKNOWN + 1;

/// One row of the registry facts: what `IPC_KOBJECT_DEFINE` declares for a type.
#[derive(Clone, Copy, Debug)]
pub struct IkotInfo {
    pub name: &'static str,
    /// Registered by some `IPC_KOBJECT_DEFINE` in the tree (else its ops slot stays zeroed).
    pub registered: bool,
    pub stable: bool,
    pub permanent: bool,
    /// Name of the XNU no-senders callback, if the type has one.
    pub no_senders: Option<&'static str>,
    /// Name of the XNU destroy callback, if the type has one.
    pub destroy: Option<&'static str>,
}

/// Registry facts, indexed by type value.
pub const IKOT_INFO: [IkotInfo; IKOT_MAX_TYPE as usize] = [
    IkotInfo {
        name: "IKOT_NONE",
        registered: false,
        stable: false,
        permanent: false,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_THREAD_CONTROL",
        registered: true,
        stable: false,
        permanent: false,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_TASK_CONTROL",
        registered: true,
        stable: false,
        permanent: false,
        no_senders: Some("task_port_no_senders"),
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_HOST",
        registered: true,
        stable: true,
        permanent: true,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_HOST_PRIV",
        registered: true,
        stable: true,
        permanent: true,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_PROCESSOR",
        registered: true,
        stable: true,
        permanent: true,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_PSET",
        registered: true,
        stable: true,
        permanent: true,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_PSET_NAME",
        registered: true,
        stable: true,
        permanent: true,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_TIMER",
        registered: true,
        stable: false,
        permanent: false,
        no_senders: None,
        destroy: Some("mk_timer_port_destroy"),
    },
    IkotInfo {
        name: "IKOT_PORT_SUBST_ONCE",
        registered: true,
        stable: false,
        permanent: false,
        no_senders: Some("ipc_kobject_subst_once_no_senders"),
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_MIG",
        registered: false,
        stable: false,
        permanent: false,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_MEMORY_OBJECT",
        registered: true,
        stable: false,
        permanent: false,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_XMM_PAGER",
        registered: false,
        stable: false,
        permanent: false,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_XMM_KERNEL",
        registered: false,
        stable: false,
        permanent: false,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_XMM_REPLY",
        registered: false,
        stable: false,
        permanent: false,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_UND_REPLY",
        registered: true,
        stable: true,
        permanent: false,
        no_senders: Some("UNDReply_no_senders"),
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_HOST_NOTIFY",
        registered: false,
        stable: false,
        permanent: false,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_HOST_SECURITY",
        registered: false,
        stable: false,
        permanent: false,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_LEDGER",
        registered: false,
        stable: false,
        permanent: false,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_MAIN_DEVICE",
        registered: true,
        stable: true,
        permanent: true,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_TASK_NAME",
        registered: true,
        stable: false,
        permanent: false,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_SUBSYSTEM",
        registered: false,
        stable: false,
        permanent: false,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_IO_DONE_QUEUE",
        registered: false,
        stable: false,
        permanent: false,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_SEMAPHORE",
        registered: true,
        stable: true,
        permanent: false,
        no_senders: Some("semaphore_no_senders"),
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_LOCK_SET",
        registered: false,
        stable: false,
        permanent: false,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_CLOCK",
        registered: true,
        stable: true,
        permanent: true,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_CLOCK_CTRL",
        registered: false,
        stable: false,
        permanent: false,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_IOKIT_IDENT",
        registered: true,
        stable: false,
        permanent: false,
        no_senders: Some("iokit_no_senders"),
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_NAMED_ENTRY",
        registered: true,
        stable: true,
        permanent: false,
        no_senders: Some("mach_memory_entry_no_senders"),
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_IOKIT_CONNECT",
        registered: true,
        stable: false,
        permanent: false,
        no_senders: Some("iokit_no_senders"),
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_IOKIT_OBJECT",
        registered: true,
        stable: false,
        permanent: false,
        no_senders: Some("iokit_no_senders"),
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_UPL",
        registered: false,
        stable: false,
        permanent: false,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_MEM_OBJ_CONTROL",
        registered: false,
        stable: false,
        permanent: false,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_AU_SESSIONPORT",
        registered: true,
        stable: true,
        permanent: false,
        no_senders: Some("audit_session_no_senders"),
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_FILEPORT",
        registered: true,
        stable: true,
        permanent: false,
        no_senders: Some("fileport_no_senders"),
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_LABELH",
        registered: false,
        stable: false,
        permanent: false,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_TASK_RESUME",
        registered: true,
        stable: false,
        permanent: false,
        no_senders: Some("task_suspension_no_senders"),
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_VOUCHER",
        registered: true,
        stable: true,
        permanent: false,
        no_senders: Some("ipc_voucher_no_senders"),
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_VOUCHER_ATTR_CONTROL",
        registered: false,
        stable: false,
        permanent: false,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_WORK_INTERVAL",
        registered: true,
        stable: true,
        permanent: false,
        no_senders: Some("work_interval_port_no_senders"),
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_UX_HANDLER",
        registered: true,
        stable: true,
        permanent: true,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_UEXT_OBJECT",
        registered: true,
        stable: false,
        permanent: false,
        no_senders: Some("iokit_no_senders"),
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_ARCADE_REG",
        registered: true,
        stable: true,
        permanent: true,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_EVENTLINK",
        registered: true,
        stable: false,
        permanent: false,
        no_senders: Some("ipc_eventlink_no_senders"),
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_TASK_INSPECT",
        registered: true,
        stable: false,
        permanent: false,
        no_senders: Some("task_port_with_flavor_no_senders"),
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_TASK_READ",
        registered: true,
        stable: false,
        permanent: false,
        no_senders: Some("task_port_with_flavor_no_senders"),
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_THREAD_INSPECT",
        registered: true,
        stable: false,
        permanent: false,
        no_senders: Some("thread_port_with_flavor_no_senders"),
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_THREAD_READ",
        registered: true,
        stable: false,
        permanent: false,
        no_senders: Some("thread_port_with_flavor_no_senders"),
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_SUID_CRED",
        registered: false,
        stable: false,
        permanent: false,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_HYPERVISOR",
        registered: false,
        stable: false,
        permanent: false,
        no_senders: None,
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_TASK_ID_TOKEN",
        registered: true,
        stable: true,
        permanent: false,
        no_senders: Some("task_id_token_no_senders"),
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_TASK_FATAL",
        registered: true,
        stable: true,
        permanent: false,
        no_senders: Some("task_fatal_port_no_senders"),
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_KCDATA",
        registered: true,
        stable: true,
        permanent: false,
        no_senders: Some("kcdata_object_no_senders"),
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_EXCLAVES_RESOURCE",
        registered: true,
        stable: true,
        permanent: false,
        no_senders: Some("exclaves_resource_no_senders"),
        destroy: None,
    },
    IkotInfo {
        name: "IKOT_UNKNOWN",
        registered: false,
        stable: false,
        permanent: false,
        no_senders: None,
        destroy: None,
    },
];

/// The type's XNU name, or `IKOT_OUT_OF_RANGE` for an out-of-range value.
pub fn ikot_name(t: IpcKobjectType) -> &'static str {
    IKOT_INFO
        .get(t as usize)
        .map_or("IKOT_OUT_OF_RANGE", |i| i.name)
}
