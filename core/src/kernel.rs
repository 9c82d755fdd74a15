//! The kernel a model run executes in: port and object arenas, the kobject ops registry, the
//! injected bugs, the auditor's event side and the optional trace.

use std::collections::BTreeSet;
use std::fmt;

use crate::arena::{Arena, Handle};
use crate::bugs::{Bug, Bugs};
use crate::ikot::{IpcKobjectType, IKOT_MAX_TYPE};
use crate::ipc_kobject::IpcKobjectOps;
use crate::ipc_port::{IpcPort, Port, PortGuard, PortId, IP_NULL};
use crate::ipc_space::IpcSpace;
use crate::ledger::LedgerEvents;
use crate::sync::{AtomicU32, AtomicU64, BookLock, BookU32, MemOrder, Mutex, Platform};

/// An IPC space (`ipc_space_t`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SpaceId(pub(crate) Handle);

impl fmt::Debug for SpaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "space#{}", self.0.idx)
    }
}

/// `ipc_space_kernel`: the first space a kernel makes.
pub const IPC_SPACE_KERNEL: SpaceId = SpaceId(Handle { idx: 0, gen: 1 });
/// `ipc_space_reply`.
pub const IPC_SPACE_REPLY: SpaceId = SpaceId(Handle { idx: 1, gen: 1 });

/// A kernel object a kobject port can stand for.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjId(pub(crate) Handle);

impl fmt::Debug for ObjId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "obj#{}.{}", self.0.idx, self.0.gen)
    }
}

impl fmt::Display for ObjId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// What a kernel object is (the model's stand-ins for task_t, semaphore_t, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u32)]
pub enum ObjKind {
    Free = 0,
    Task,
    Thread,
    Semaphore,
    Voucher,
    Host,
    HostPriv,
    Processor,
    Pset,
    Clock,
    Timer,
    /// Any other kernel object behind a kobject port (IOKit objects, memory entries, ...).
    Generic,
}

/// The kind stored in an object's word.
pub(crate) fn obj_kind_from(v: u32) -> ObjKind {
    {
        use ObjKind::*;
        [
            Free, Task, Thread, Semaphore, Voucher, Host, HostPriv, Processor, Pset, Clock, Timer,
            Generic,
        ]
        .get(v as usize)
        .copied()
        .unwrap_or(Free)
    }
}

/// Lock-protected fields of a kernel object.
#[derive(Debug, Clone)]
pub struct ObjLocked {
    /// Ports owned by the object (task: control, read, name, pinned self; thread: control, ...).
    pub ports: [IpcPort; 4],
    /// A stored send right (a special-port slot such as `host_set_special_port` replaces).
    pub slot: IpcPort,
    /// The owning task of a thread; the space of a task.
    pub owner: Option<ObjId>,
    pub space: Option<SpaceId>,
    /// Task suspension holds (`TASK_HOLD_NORMAL`).
    pub suspend_count: u32,
    /// Set while the object is usable; cleared by its terminate / destroy path.
    pub alive: bool,
    /// The kobject type its ports carry (Generic objects).
    pub kotype: IpcKobjectType,
    /// A stored send-once right (a reply right a `MIG_NO_REPLY` routine saved).
    pub slot_sonce: IpcPort,
    /// The task's kobject message filter (`task_get_mach_kobj_filter_mask`), one bit per index.
    pub kobj_filter_mask: Option<Vec<u8>>,
    /// A task's semaphores (`task->semaphore_list`), each holding the list's reference.
    pub semaphores: Vec<ObjId>,
    /// A task's threads (`task->threads`), each until its terminate path ran; the list holds no
    /// reference (a thread holds one on its task).
    pub threads: Vec<ObjId>,
    /// A task built as a hardened binary (`task_is_hardened_binary`): its `MPO_REPLY_PORT`
    /// ports are true reply ports.
    pub hardened_binary: bool,
}

impl ObjLocked {
    pub(crate) fn default_live(owner: Option<ObjId>) -> ObjLocked {
        ObjLocked {
            owner,
            alive: true,
            ..ObjLocked::fresh()
        }
    }

    #[inline]
    fn fresh() -> ObjLocked {
        ObjLocked {
            ports: [IP_NULL; 4],
            slot: IP_NULL,
            owner: None,
            space: None,
            suspend_count: 0,
            alive: false,
            kotype: 0,
            slot_sonce: IP_NULL,
            kobj_filter_mask: None,
            semaphores: Vec::new(),
            threads: Vec::new(),
            hardened_binary: false,
        }
    }
}

/// A kernel object: kind, reference count, the lazily allocated `port_store`, and its lock.
pub struct KObject {
    pub(crate) kind: BookU32,
    pub(crate) refs: AtomicU32,
    /// The lazy port word (`semaphore->port`, `iv_port`, `itk_resume`, ...): an [`IpcPort`].
    pub(crate) port_store: AtomicU64,
    pub(crate) lock: Mutex<ObjLocked>,
}

impl KObject {
    #[inline]
    fn new(platform: Platform) -> KObject {
        KObject {
            kind: BookU32::new(0),
            refs: AtomicU32::new(platform, 0),
            port_store: AtomicU64::new(platform, 0),
            lock: Mutex::new(platform, ObjLocked::fresh()),
        }
    }
}

/// Room in the object and space arenas, in chunks of 16 slots: their default limits (the port
/// arena's 256 chunks are its default too).
const OBJECT_CHUNKS: usize = 64;
const SPACE_CHUNKS: usize = 4;

/// Bounds on a kernel's size (every limit named with the qualifier last), at most the defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub ports_max: u32,
    pub objects_max: u32,
    pub spaces_max: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            ports_max: 4096,
            objects_max: 1024,
            spaces_max: 64,
        }
    }
}

/// Bookkeeping for out-of-line copies.
#[derive(Default)]
pub(crate) struct OolState {
    pub next: u32,
    pub live: BTreeSet<u32>,
}

/// One step of a trace: which simulated thread did which model operation on which port, and
/// the port's counts after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEvent {
    pub actor: u32,
    pub op: &'static str,
    pub port: PortId,
    /// The port's kobject type when the step ran (`IKOT_NONE` for an ordinary port).
    pub kotype: crate::ikot::IpcKobjectType,
    pub srights: u32,
    pub sorights: u32,
    pub mscount: u32,
    pub refs: u32,
}

/// A kernel's arenas, emptied for the next boot ([`Kernel::into_spare`], [`Kernel::reboot`]).
pub struct Spare {
    platform: Platform,
    limits: Limits,
    ports: Arena<Port>,
    objects: Arena<KObject, OBJECT_CHUNKS>,
    spaces: Arena<IpcSpace, SPACE_CHUNKS>,
}

/// The modelled kernel. Shared by reference between simulated threads.
pub struct Kernel {
    pub(crate) platform: Platform,
    limits: Limits,
    pub(crate) ports: Arena<Port>,
    pub(crate) objects: Arena<KObject, OBJECT_CHUNKS>,
    pub(crate) spaces: Arena<IpcSpace, SPACE_CHUNKS>,
    pub(crate) ops: Vec<IpcKobjectOps>,
    pub(crate) bugs: Bugs,
    pub(crate) ledger: LedgerEvents,
    pub(crate) ool: BookLock<OolState>,
    pub(crate) mig: crate::ipc_kobject_server::MigTableRef,
    pub(crate) mac_task_kobj_msg_evaluate: Option<crate::ipc_kobject_server::KobjMsgEvaluate>,
    pub(crate) guard_exceptions: BookLock<Vec<crate::mach_port::GuardException>>,
    pub(crate) names_account: BookLock<crate::ledger_names::NamesAccount>,
    timestamp: BookU32,
    trace: Option<BookLock<Vec<TraceEvent>>>,
    actor: fn() -> u32,
    /// Routine ids whose stub passed its checks and ran the routine, when recorded.
    reached: Option<BookLock<BTreeSet<i32>>>,
}

impl Kernel {
    /// Boots a kernel: arenas, the kobject registry (every `IPC_KOBJECT_DEFINE` of the tree) and
    /// the kernel and reply spaces.
    #[inline]
    pub fn new(platform: Platform, bugs: Bugs) -> Kernel {
        Kernel::with_limits(platform, bugs, Limits::default())
    }

    #[inline]
    pub fn with_limits(platform: Platform, bugs: Bugs, limits: Limits) -> Kernel {
        Kernel::boot(
            Spare {
                platform,
                limits,
                ports: Arena::new(platform, limits.ports_max, Port::new),
                objects: Arena::new(platform, limits.objects_max, KObject::new),
                spaces: Arena::new(platform, limits.spaces_max, IpcSpace::new),
            },
            bugs,
        )
    }

    /// Boots a kernel on the arenas of one that ran before ([`Kernel::into_spare`]): the same
    /// kernel as [`Kernel::with_limits`] with the spare's platform and limits boots, handles and
    /// generations included. Every chunk of its arenas is published first
    /// ([`Arena::publish_all`]), so no allocation of the kernel's run builds one: what the model's
    /// code runs then does not depend on how far the kernels before it went.
    #[inline]
    pub fn reboot(mut spare: Spare, bugs: Bugs) -> Kernel {
        spare.ports.publish_all();
        spare.objects.publish_all();
        spare.spaces.publish_all();
        Kernel::boot(spare, bugs)
    }

    /// Empties the kernel for [`Kernel::reboot`]: its arenas are kept, emptied
    /// ([`Arena::recycle`]), and everything else is dropped.
    #[inline]
    pub fn into_spare(self) -> Spare {
        let Kernel {
            platform,
            limits,
            mut ports,
            mut objects,
            mut spaces,
            ..
        } = self;
        ports.recycle();
        objects.recycle();
        spaces.recycle();
        Spare {
            platform,
            limits,
            ports,
            objects,
            spaces,
        }
    }

    #[inline]
    fn boot(spare: Spare, bugs: Bugs) -> Kernel {
        let Spare {
            platform,
            limits,
            ports,
            objects,
            spaces,
        } = spare;
        let mut k = Kernel {
            platform,
            limits,
            ports,
            objects,
            spaces,
            ops: vec![IpcKobjectOps::EMPTY; IKOT_MAX_TYPE as usize],
            bugs,
            ledger: LedgerEvents::default(),
            ool: BookLock::new(OolState::default()),
            mig: crate::ipc_kobject_server::MigTableRef::Static(
                crate::ipc_kobject_mig::kernel_mig_table(),
            ),
            mac_task_kobj_msg_evaluate: None,
            guard_exceptions: BookLock::new(Vec::new()),
            names_account: BookLock::new(Default::default()),
            timestamp: BookU32::new(0),
            trace: None,
            actor: || 0,
            reached: None,
        };
        for &ops in crate::kobjects::registered_ops() {
            k.ipc_kobject_register_startup(ops);
        }
        k.boot_special_spaces();
        k
    }

    pub fn platform(&self) -> Platform {
        self.platform
    }

    /// The limits its arenas were made with.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Whether `bug` is injected: a single bit test at each injection point.
    #[inline(always)]
    pub fn bug(&self, bug: Bug) -> bool {
        self.bugs.has(bug)
    }

    pub fn bugs(&self) -> Bugs {
        self.bugs
    }

    pub(crate) fn next_timestamp(&self) -> u32 {
        self.timestamp.fetch_add(1, MemOrder::Relaxed) + 1
    }

    /// Turns on tracing; `actor` names the running simulated thread.
    pub fn enable_trace(&mut self, actor: fn() -> u32) {
        self.trace = Some(BookLock::new(Vec::new()));
        self.actor = actor;
    }

    /// Records, from now on, which routines ran their body (for reach reports).
    pub fn enable_reach(&mut self) {
        self.reached = Some(BookLock::new(BTreeSet::new()));
    }

    /// The routine ids that ran their body since [`Kernel::enable_reach`].
    pub fn take_reached(&self) -> BTreeSet<i32> {
        self.reached
            .as_ref()
            .map_or_else(BTreeSet::new, |r| r.with(std::mem::take))
    }

    pub(crate) fn note_reached(&self, id: i32) {
        if let Some(reached) = &self.reached {
            reached.with(|r| r.insert(id));
        }
    }

    /// Events traced so far (a plain read: no scheduling point).
    pub fn trace_len(&self) -> usize {
        self.trace.as_ref().map_or(0, |t| t.with(|t| t.len()))
    }

    pub fn take_trace(&self) -> Vec<TraceEvent> {
        self.trace
            .as_ref()
            .map_or_else(Vec::new, |t| t.with(std::mem::take))
    }

    /// Records a port event when tracing is on. Inlined, so that an untraced run (exploration,
    /// fuzzing) pays one test at each event site, not a call.
    #[inline]
    pub(crate) fn trace_port(&self, op: &'static str, g: &PortGuard<'_>) {
        if let Some(trace) = &self.trace {
            Self::push_port_event(trace, self.actor, op, g);
        }
    }

    #[inline(never)]
    fn push_port_event(
        trace: &BookLock<Vec<TraceEvent>>,
        actor: fn() -> u32,
        op: &'static str,
        g: &PortGuard<'_>,
    ) {
        let event = TraceEvent {
            actor: actor(),
            op,
            port: g.id,
            kotype: g.ip_kotype(),
            srights: g.ip_srights,
            sorights: g.ip_sorights,
            mscount: g.ip_mscount,
            refs: g.refs_seen(),
        };
        trace.with(|t| t.push(event));
    }

    /// Live ports, in arena order.
    #[inline]
    pub fn live_ports(&self) -> Vec<PortId> {
        self.iter_live_ports().collect()
    }

    /// Live kernel objects, in arena order.
    #[inline]
    pub fn live_objects(&self) -> Vec<ObjId> {
        self.iter_live_objects().collect()
    }

    /// Live ports in arena order, without collecting them (the auditor's walk).
    #[inline]
    pub(crate) fn iter_live_ports(&self) -> impl Iterator<Item = PortId> + '_ {
        self.ports.live().map(PortId)
    }

    #[inline]
    pub(crate) fn iter_live_objects(&self) -> impl Iterator<Item = ObjId> + '_ {
        self.objects.live().map(ObjId)
    }

    #[inline]
    pub(crate) fn iter_live_spaces(&self) -> impl Iterator<Item = SpaceId> + '_ {
        self.spaces.live().map(SpaceId)
    }

    pub fn live_spaces(&self) -> Vec<SpaceId> {
        self.iter_live_spaces().collect()
    }
}
