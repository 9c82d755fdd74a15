//! Mach constants the model uses: return codes, dispositions, header bits, labels, options.
//!
//! Names and values are XNU's (osfmk/mach/kern_return.h, message.h, mig_errors.h, port.h,
//! osfmk/ipc/ipc_types.h, osfmk/kern/ipc_kobject.h, xnu-11215.1.10); see ARCHITECTURE.md.

/// `kern_return_t`.
pub type KernReturn = i32;
pub const KERN_SUCCESS: KernReturn = 0;
pub const KERN_INVALID_ADDRESS: KernReturn = 1;
pub const KERN_NO_SPACE: KernReturn = 3;
pub const KERN_INVALID_ARGUMENT: KernReturn = 4;
pub const KERN_FAILURE: KernReturn = 5;
pub const KERN_RESOURCE_SHORTAGE: KernReturn = 6;
pub const KERN_NOT_RECEIVER: KernReturn = 7;
pub const KERN_ALREADY_IN_SET: KernReturn = 11;
pub const KERN_NOT_IN_SET: KernReturn = 12;
pub const KERN_NO_ACCESS: KernReturn = 8;
pub const KERN_INVALID_NAME: KernReturn = 15;
pub const KERN_INVALID_TASK: KernReturn = 16;
pub const KERN_INVALID_RIGHT: KernReturn = 17;
pub const KERN_INVALID_VALUE: KernReturn = 18;
pub const KERN_UREFS_OVERFLOW: KernReturn = 19;
pub const KERN_INVALID_CAPABILITY: KernReturn = 20;
pub const KERN_RIGHT_EXISTS: KernReturn = 21;
pub const KERN_NAME_EXISTS: KernReturn = 13;
pub const KERN_ALREADY_WAITING: KernReturn = 30;
pub const KERN_NOT_SUPPORTED: KernReturn = 46;
pub const KERN_NOT_FOUND: KernReturn = 56;

pub const MIG_TYPE_ERROR: KernReturn = -300;
pub const MIG_REPLY_MISMATCH: KernReturn = -301;
pub const MIG_REMOTE_ERROR: KernReturn = -302;
pub const MIG_BAD_ID: KernReturn = -303;
pub const MIG_BAD_ARGUMENTS: KernReturn = -304;
pub const MIG_NO_REPLY: KernReturn = -305;
pub const MIG_EXCEPTION: KernReturn = -306;
pub const MIG_ARRAY_TOO_LARGE: KernReturn = -307;
pub const MIG_SERVER_DIED: KernReturn = -308;
pub const MIG_TRAILER_ERROR: KernReturn = -309;

pub const MACH_MSG_SUCCESS: KernReturn = 0;
pub const MACH_SEND_INVALID_DATA: KernReturn = 0x1000_0002;
pub const MACH_SEND_INVALID_DEST: KernReturn = 0x1000_0003;
pub const MACH_SEND_TIMED_OUT: KernReturn = 0x1000_0004;
pub const MACH_SEND_INVALID_VOUCHER: KernReturn = 0x1000_0005;
pub const MACH_SEND_INTERRUPTED: KernReturn = 0x1000_0007;
pub const MACH_SEND_MSG_TOO_SMALL: KernReturn = 0x1000_0008;
pub const MACH_SEND_INVALID_REPLY: KernReturn = 0x1000_0009;
pub const MACH_SEND_INVALID_RIGHT: KernReturn = 0x1000_000a;
pub const MACH_SEND_INVALID_NOTIFY: KernReturn = 0x1000_000b;
pub const MACH_SEND_INVALID_MEMORY: KernReturn = 0x1000_000c;
pub const MACH_SEND_NO_BUFFER: KernReturn = 0x1000_000d;
pub const MACH_SEND_TOO_LARGE: KernReturn = 0x1000_000e;
pub const MACH_SEND_INVALID_TYPE: KernReturn = 0x1000_000f;
pub const MACH_SEND_INVALID_HEADER: KernReturn = 0x1000_0010;
pub const MACH_SEND_INVALID_OPTIONS: KernReturn = 0x1000_0013;
pub const MACH_RCV_INVALID_NAME: KernReturn = 0x1000_4002;
pub const MACH_RCV_TIMED_OUT: KernReturn = 0x1000_4003;
pub const MACH_RCV_PORT_DIED: KernReturn = 0x1000_4009;

/// `mach_port_mscount_t`.
pub type MachPortMscount = u32;
/// `mach_msg_type_name_t`.
pub type MachMsgTypeName = u32;
pub const MACH_MSG_TYPE_PORT_NONE: MachMsgTypeName = 0;
pub const MACH_MSG_TYPE_PORT_NAME: MachMsgTypeName = 15;
pub const MACH_MSG_TYPE_MOVE_RECEIVE: MachMsgTypeName = 16;
pub const MACH_MSG_TYPE_MOVE_SEND: MachMsgTypeName = 17;
pub const MACH_MSG_TYPE_MOVE_SEND_ONCE: MachMsgTypeName = 18;
pub const MACH_MSG_TYPE_COPY_SEND: MachMsgTypeName = 19;
pub const MACH_MSG_TYPE_MAKE_SEND: MachMsgTypeName = 20;
pub const MACH_MSG_TYPE_MAKE_SEND_ONCE: MachMsgTypeName = 21;
pub const MACH_MSG_TYPE_COPY_RECEIVE: MachMsgTypeName = 22;
pub const MACH_MSG_TYPE_PORT_RECEIVE: MachMsgTypeName = MACH_MSG_TYPE_MOVE_RECEIVE;
pub const MACH_MSG_TYPE_PORT_SEND: MachMsgTypeName = MACH_MSG_TYPE_MOVE_SEND;
pub const MACH_MSG_TYPE_PORT_SEND_ONCE: MachMsgTypeName = MACH_MSG_TYPE_MOVE_SEND_ONCE;

pub const MACH_MSGH_BITS_REMOTE_MASK: u32 = 0x0000_001f;
pub const MACH_MSGH_BITS_LOCAL_MASK: u32 = 0x0000_1f00;
pub const MACH_MSGH_BITS_VOUCHER_MASK: u32 = 0x001f_0000;
pub const MACH_MSGH_BITS_PORTS_MASK: u32 = 0x001f_1f1f;
pub const MACH_MSGH_BITS_COMPLEX: u32 = 0x8000_0000;
pub const MACH_MSGH_BITS_USER: u32 = 0x801f_1f1f;

pub const fn mach_msgh_bits_remote(bits: u32) -> u32 {
    bits & MACH_MSGH_BITS_REMOTE_MASK
}
pub const fn mach_msgh_bits_local(bits: u32) -> u32 {
    (bits & MACH_MSGH_BITS_LOCAL_MASK) >> 8
}
pub const fn mach_msgh_bits_voucher(bits: u32) -> u32 {
    (bits & MACH_MSGH_BITS_VOUCHER_MASK) >> 16
}
/// `MACH_MSGH_BITS_SET(remote, local, voucher, other)`.
pub const fn mach_msgh_bits_set(remote: u32, local: u32, voucher: u32, other: u32) -> u32 {
    (remote & 0x1f)
        | ((local << 8) & MACH_MSGH_BITS_LOCAL_MASK)
        | ((voucher << 16) & MACH_MSGH_BITS_VOUCHER_MASK)
        | (other & !MACH_MSGH_BITS_PORTS_MASK)
}

/// `sizeof(mig_reply_error_t)` in the kernel layout (32-byte header, NDR, RetCode).
pub const MIG_REPLY_ERROR_SIZE: u32 = 44;
/// `KALLOC_SAFE_ALLOC_SIZE` and `MAX_TRAILER_SIZE`, the bound `mig_init` puts on replies.
pub const KALLOC_SAFE_ALLOC_SIZE: u32 = 16 * 1024;
pub const MAX_TRAILER_SIZE: u32 = 68;
pub const IPC_KOBJECT_DESC_MAX: u32 = 3;
pub const IPC_KOBJECT_RDESC_MAX: u32 = 32;

/// `ipc_label_t`.
pub type IpcLabel = u64;
pub const IPC_LABEL_NONE: IpcLabel = 0x0000;
pub const IPC_LABEL_DEXT: IpcLabel = 0x0001;
pub const IPC_LABEL_PLATFORM: IpcLabel = 0x0002;
pub const IPC_LABEL_SPECIAL: IpcLabel = 0x0003;
pub const IPC_LABEL_SPACE_MASK: IpcLabel = 0x00ff;
pub const IPC_LABEL_SUBST_TASK: IpcLabel = 0x0100;
pub const IPC_LABEL_SUBST_THREAD: IpcLabel = 0x0200;
pub const IPC_LABEL_SUBST_ONCE: IpcLabel = 0x0300;
pub const IPC_LABEL_SUBST_TASK_READ: IpcLabel = 0x0400;
pub const IPC_LABEL_SUBST_THREAD_READ: IpcLabel = 0x0500;
pub const IPC_LABEL_SUBST_MASK: IpcLabel = 0xff00;

/// `ipc_kobject_alloc_options_t`.
pub type IpcKobjectAllocOptions = u32;
pub const IPC_KOBJECT_ALLOC_NONE: IpcKobjectAllocOptions = 0x00;
pub const IPC_KOBJECT_ALLOC_MAKE_SEND: IpcKobjectAllocOptions = 0x01;
pub const IPC_KOBJECT_ALLOC_NSREQUEST: IpcKobjectAllocOptions = 0x02;
pub const IPC_KOBJECT_ALLOC_NO_GRANT: IpcKobjectAllocOptions = 0x04;
pub const IPC_KOBJECT_ALLOC_IMMOVABLE_SEND: IpcKobjectAllocOptions = 0x08;
pub const IPC_KOBJECT_ALLOC_LABEL: IpcKobjectAllocOptions = 0x10;
pub const IPC_KOBJECT_ALLOC_PINNED: IpcKobjectAllocOptions = 0x20;

/// `ipc_object_copyout_flags_t`.
pub type IpcObjectCopyoutFlags = u32;
pub const IPC_OBJECT_COPYOUT_FLAGS_NONE: IpcObjectCopyoutFlags = 0x0;
pub const IPC_OBJECT_COPYOUT_FLAGS_PINNED: IpcObjectCopyoutFlags = 0x1;
pub const IPC_OBJECT_COPYOUT_FLAGS_NO_LABEL_CHECK: IpcObjectCopyoutFlags = 0x2;

/// `ipc_port_init_flags_t` values used by `ipc_port_alloc_special`.
pub const IPC_PORT_ENFORCE_REPLY_PORT_SEMANTICS: u32 = 0x80;
pub const IPC_PORT_INIT_PROVISIONAL_REPLY: u32 = 0x100;
pub const IPC_PORT_ENFORCE_RIGID_REPLY_PORT_SEMANTICS: u32 = 0x400;
pub const IPC_PORT_INIT_EXCEPTION_PORT: u32 = 0x800;

/// `io_bits` layout (osfmk/ipc/ipc_object.h).
pub const IO_BITS_KOTYPE: u32 = 0x0000_03ff;
pub const IO_BITS_KOLABEL: u32 = 0x0000_0400;
pub const IO_BITS_ACTIVE: u32 = 0x8000_0000;

/// `OS_REFCNT_MAX_COUNT`: `ip_reference` panics with "overflow" at this count.
pub const OS_REFCNT_MAX_COUNT: u32 = 0x0FFF_FFFF;

/// User port names.
pub type MachPortName = u32;
pub const MACH_PORT_NULL: MachPortName = 0;
pub const MACH_PORT_DEAD: MachPortName = !0;
/// Receiver name of ports made by `ipc_port_alloc_special`.
pub const MACH_PORT_SPECIAL_DEFAULT: MachPortName = 1;

/// `ipc_kmsg_destroy_flags_t`.
pub const IPC_KMSG_DESTROY_ALL: u32 = 0x0;
pub const IPC_KMSG_DESTROY_SKIP_REMOTE: u32 = 0x1;
pub const IPC_KMSG_DESTROY_SKIP_LOCAL: u32 = 0x2;
pub const IPC_KMSG_DESTROY_NOT_SIGNED: u32 = 0x4;

/// `mach_port_right_t` (osfmk/mach/port.h).
pub type MachPortRight = u32;
pub const MACH_PORT_RIGHT_SEND: MachPortRight = 0;
pub const MACH_PORT_RIGHT_RECEIVE: MachPortRight = 1;
pub const MACH_PORT_RIGHT_SEND_ONCE: MachPortRight = 2;
pub const MACH_PORT_RIGHT_PORT_SET: MachPortRight = 3;
pub const MACH_PORT_RIGHT_DEAD_NAME: MachPortRight = 4;
pub const MACH_PORT_RIGHT_LABELH: MachPortRight = 5;
pub const MACH_PORT_RIGHT_NUMBER: MachPortRight = 6;

/// `MACH_PORT_TYPE(right)`: the entry type bit of a right.
pub const fn mach_port_type(right: MachPortRight) -> u32 {
    1 << (right + 16)
}

/// `ipc_object_copyin_flags_t` (osfmk/ipc/ipc_object.h).
pub type IpcObjectCopyinFlags = u32;
pub const IPC_OBJECT_COPYIN_FLAGS_NONE: IpcObjectCopyinFlags = 0x0;
pub const IPC_OBJECT_COPYIN_FLAGS_ALLOW_IMMOVABLE_SEND: IpcObjectCopyinFlags = 0x1;
pub const IPC_OBJECT_COPYIN_FLAGS_ALLOW_DEAD_SEND_ONCE: IpcObjectCopyinFlags = 0x2;
pub const IPC_OBJECT_COPYIN_FLAGS_DEADOK: IpcObjectCopyinFlags = 0x4;
pub const IPC_OBJECT_COPYIN_FLAGS_ALLOW_REPLY_MAKE_SEND_ONCE: IpcObjectCopyinFlags = 0x8;
pub const IPC_OBJECT_COPYIN_FLAGS_ALLOW_REPLY_MOVE_SEND_ONCE: IpcObjectCopyinFlags = 0x10;

/// Guard exception flavors (`kGUARD_EXC_*`, osfmk/mach/port.h) the right layer raises.
pub const K_GUARD_EXC_DESTROY: u32 = 1;
pub const K_GUARD_EXC_MOD_REFS: u32 = 2;
pub const K_GUARD_EXC_IMMOVABLE: u32 = 1 << 5;
pub const K_GUARD_EXC_INVALID_RIGHT: u32 = 1 << 8;
pub const K_GUARD_EXC_INVALID_NAME: u32 = 1 << 9;
pub const K_GUARD_EXC_INVALID_VALUE: u32 = 1 << 10;
pub const K_GUARD_EXC_RIGHT_EXISTS: u32 = 1 << 12;
pub const K_GUARD_EXC_KERN_FAILURE: u32 = 1 << 14;
pub const K_GUARD_EXC_SEND_INVALID_REPLY: u32 = 1 << 16;
pub const K_GUARD_EXC_SEND_INVALID_VOUCHER: u32 = 1 << 17;
pub const K_GUARD_EXC_SEND_INVALID_RIGHT: u32 = 1 << 18;
pub const K_GUARD_EXC_RCV_INVALID_NAME: u32 = 1 << 19;
pub const K_GUARD_EXC_MOD_REFS_NON_FATAL: u32 = 1 << 21;
pub const K_GUARD_EXC_IMMOVABLE_NON_FATAL: u32 = 1 << 22;
/// Subcode flags of a pinned-right violation (`MPG_FLAGS_MOD_REFS_PINNED_*`).
pub const MPG_FLAGS_MOD_REFS_PINNED_DEALLOC: u64 = 0x01 << 56;
pub const MPG_FLAGS_MOD_REFS_PINNED_DESTROY: u64 = 0x02 << 56;
pub const MPG_FLAGS_MOD_REFS_PINNED_COPYIN: u64 = 0x04 << 56;

/// `mach_port_options_t.flags` (`MPO_*`, osfmk/mach/port.h) the model honours.
pub const MPO_CONTEXT_AS_GUARD: u32 = 0x01;
pub const MPO_QLIMIT: u32 = 0x02;
pub const MPO_TEMPOWNER: u32 = 0x04;
pub const MPO_IMPORTANCE_RECEIVER: u32 = 0x08;
pub const MPO_INSERT_SEND_RIGHT: u32 = 0x10;
pub const MPO_STRICT: u32 = 0x20;
pub const MPO_DENAP_RECEIVER: u32 = 0x40;
pub const MPO_IMMOVABLE_RECEIVE: u32 = 0x80;
pub const MPO_FILTER_MSG: u32 = 0x100;
pub const MPO_TG_BLOCK_TRACKING: u32 = 0x200;
pub const MPO_SERVICE_PORT: u32 = 0x400;
pub const MPO_CONNECTION_PORT: u32 = 0x800;
pub const MPO_REPLY_PORT: u32 = 0x1000;
pub const MPO_ENFORCE_REPLY_PORT_SEMANTICS: u32 = 0x2000;
pub const MPO_PROVISIONAL_REPLY_PORT: u32 = 0x4000;
pub const MPO_EXCEPTION_PORT: u32 = 0x8000;

/// `ip_reply_port_semantics` values (`PORT_MARK_*` / `PORT_ENFORCE_*`, osfmk/ipc/ipc_port.h).
pub const PORT_MARK_REPLY_PORT: u8 = 0x01;
pub const PORT_ENFORCE_REPLY_PORT_SEMANTICS: u8 = 0x02;
pub const PORT_MARK_PROVISIONAL_REPLY_PORT: u8 = 0x03;
pub const PORT_ENFORCE_RIGID_REPLY_PORT_SEMANTICS: u8 = 0x04;
pub const PORT_MARK_EXCEPTION_PORT: u8 = 0x05;
