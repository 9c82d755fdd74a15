//! The MIG dispatch table of osfmk/kern/ipc_kobject.c (mig_init, find_mig_hash_entry,
//! ipc_kobject_set_kobjidx) and the routine table data it is built from.
//!
//! The data is `core/data/mig-subsystems.tsv` (embedded at compile time, parsed once): one row
//! per routine slot of the 19 subsystems a macOS kernel lists in `mig_e[]`, in that order. It
//! carries what the server loop needs from each generated stub: the reply size and descriptor
//! count that `mig_init` copies into the hash, and the request/reply port arguments, the target
//! conversion and the rights the stub releases, which a modelled stub needs to move rights the
//! way the real one does.
//!
//! The hash itself is XNU's: 1031 buckets, open addressing with linear probing from
//! `msgh_id % 1031`, skips never inserted, a lookup bounded by the longest probe seen at init.
//! The tables are read-only after init, like XNU's `SECURITY_READ_ONLY_LATE` ones; a test that
//! wants to set a `kobjidx` works on a clone of [`kernel_mig_table`].

use crate::mach::{
    KernReturn, MachMsgTypeName, IPC_KOBJECT_RDESC_MAX, KALLOC_SAFE_ALLOC_SIZE,
    KERN_INVALID_ARGUMENT, KERN_SUCCESS, MACH_MSG_TYPE_MAKE_SEND_ONCE, MACH_MSG_TYPE_MOVE_SEND,
    MACH_MSG_TYPE_MOVE_SEND_ONCE, MACH_MSG_TYPE_PORT_RECEIVE, MACH_MSG_TYPE_PORT_SEND,
    MACH_MSG_TYPE_PORT_SEND_ONCE, MAX_TRAILER_SIZE,
};
use crate::outcome::Finding;
use crate::sync::BookOnce;

/// `MAX_MIG_ENTRIES`: buckets in the MIG hash, a prime a little above twice the routine count.
pub const MAX_MIG_ENTRIES: usize = 1031;
/// `KOBJ_IDX_NOT_SET`: the `kobjidx` of an entry no kobject filter has claimed.
pub const KOBJ_IDX_NOT_SET: i32 = -1;
/// `MACH_MSG_TYPE_POLYMORPHIC` (osfmk/mach/message.h): a port argument whose disposition the
/// stub does not check. Kept here until `crate::mach` carries it.
pub const MACH_MSG_TYPE_POLYMORPHIC: MachMsgTypeName = u32::MAX;

/// The largest subsystem `maxsize` that `mig_init` accepts: a reply plus the largest trailer
/// must fit a safe kalloc allocation.
const MIG_MAXSIZE_MAX: u32 = KALLOC_SAFE_ALLOC_SIZE - MAX_TRAILER_SIZE;
/// Slack `mig_init` adds to `mach_kobj_count`, so a filter mask sized from it survives routines
/// being removed from or added to a later kernel.
const MACH_KOBJ_COUNT_PADDING: i32 = 32;

/// The embedded routine table, produced by `scripts/gen-mig-table.py`.
const MIG_TABLE_TSV: &str = include_str!("../data/mig-subsystems.tsv");
/// The column header the parser requires, in order.
const MIG_TABLE_COLUMNS: [&str; 16] = [
    "subsystem",
    "start",
    "end",
    "maxsize",
    "msgh_id",
    "routine_name",
    "kind",
    "req_port_detail",
    "req_ool_mem",
    "req_descs",
    "reply_port_detail",
    "reply_descr_count",
    "max_reply_msg",
    "reply_complex",
    "target_intran",
    "stub_releases_on_success",
];

/// Disposition names the table may spell, with the values they stand for.
const MIG_DISPOSITION_NAMES: [(&str, MachMsgTypeName); 6] = [
    ("PORT_RECEIVE", MACH_MSG_TYPE_PORT_RECEIVE),
    ("PORT_SEND", MACH_MSG_TYPE_PORT_SEND),
    ("PORT_SEND_ONCE", MACH_MSG_TYPE_PORT_SEND_ONCE),
    ("MOVE_SEND", MACH_MSG_TYPE_MOVE_SEND),
    ("MOVE_SEND_ONCE", MACH_MSG_TYPE_MOVE_SEND_ONCE),
    ("MAKE_SEND_ONCE", MACH_MSG_TYPE_MAKE_SEND_ONCE),
];

/// What a slot of a subsystem holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MigKind {
    /// A request/reply routine.
    Routine,
    /// A one-way routine; the kernel still sends a bare status reply when there is a reply port.
    SimpleRoutine,
    /// A reserved id with no kernel stub: never hashed, so a request gets `MIG_BAD_ID`.
    Skip,
}

/// How a port argument travels in the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MigPortKind {
    /// Inline port descriptors (`count` of them for a fixed array).
    Port,
    /// One out-of-line ports descriptor carrying a variable-length array.
    OolPorts,
}

/// A port-typed argument of a request or reply body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigPortArg {
    /// The argument's name in the .defs, without any `[N]` suffix.
    pub field: &'static str,
    pub kind: MigPortKind,
    /// Request: the disposition the stub checks (post-copyin, 16/17/18). Reply: the disposition
    /// the kernel writes. [`MACH_MSG_TYPE_POLYMORPHIC`] when it is not fixed.
    pub disposition: MachMsgTypeName,
    /// A second disposition the stub also accepts (`MAKE_SEND_ONCE` beside `PORT_SEND_ONCE`).
    pub alt_disposition: Option<MachMsgTypeName>,
    /// Descriptors the argument occupies: N for a fixed array `field[N]`, else 1.
    pub count: u32,
}

/// One slot of a subsystem: the facts of its generated kernel stub.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigRoutineDesc {
    pub msgh_id: i32,
    /// Kernel-side routine name; "-" for a skip.
    pub name: &'static str,
    pub kind: MigKind,
    /// Port arguments of the request body (not the target port, not the reply port).
    pub req_ports: Vec<MigPortArg>,
    /// Out-of-line memory descriptors of the request.
    pub req_ool_mem: u32,
    /// Descriptors the request must carry, exactly.
    pub req_descs: u32,
    /// Port arguments of a successful reply.
    pub reply_ports: Vec<MigPortArg>,
    /// `reply_descr_count`: descriptors of a successful reply (ports and memory).
    pub reply_descr_count: u32,
    /// `max_reply_msg`: exact size of a successful reply; 0 only for a skip.
    pub max_reply_msg: u32,
    /// A successful reply is complex (carries descriptors, no RetCode).
    pub reply_complex: bool,
    /// Conversion the stub applies to the destination port; "raw" = none, "-" for a skip.
    pub target_intran: &'static str,
    /// Request port arguments whose send right the stub releases after `KERN_SUCCESS`.
    pub stub_releases: Vec<&'static str>,
    /// What the model's conventions derive from the fields above, kept after the first call.
    pub derived: MigDerived,
}

/// Facts of a routine that the model's conventions (`mig_routines.rs`) derive from its name and
/// conversion, computed on first use and kept with the routine, so that a call does not match
/// strings again. Always equal: it is a function of the routine's other fields.
#[derive(Clone, Debug, Default)]
pub struct MigDerived(std::sync::OnceLock<crate::mig_routines::MigFacts>);

impl MigDerived {
    pub fn get_or_init(
        &self,
        derive: impl FnOnce() -> crate::mig_routines::MigFacts,
    ) -> &crate::mig_routines::MigFacts {
        self.0.get_or_init(derive)
    }
}

impl PartialEq for MigDerived {
    fn eq(&self, _: &MigDerived) -> bool {
        true
    }
}

impl Eq for MigDerived {}

/// A `mig_kern_subsystem`: ids `[start, end)`, one routine slot per id, skips included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigSubsystem {
    pub name: &'static str,
    pub start: i32,
    pub end: i32,
    /// Size of the subsystem's largest reply.
    pub maxsize: u32,
    pub routines: Vec<MigRoutineDesc>,
}

/// A `mig_hash_t` bucket. Empty when `num == 0`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MigHash {
    pub num: i32,
    pub kobjidx: i32,
    /// Stands for `kroutine`: an index into [`MigTable::routines`], `None` for an empty bucket.
    pub routine: Option<usize>,
    pub kreply_size: u32,
    pub kreply_desc_cnt: u32,
}

/// `mig_buckets[]` with `mig_table_max_displ` and `mach_kobj_count`, as `mig_init` leaves them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigTable {
    buckets: Vec<MigHash>,
    /// The routines inserted, in insertion order; buckets point into it.
    routines: Vec<MigRoutineDesc>,
    /// Indices into `routines`, by ascending id: the model's own lookup, for readers that must
    /// not go through the hash the server dispatches with (the ledger's reply contract).
    by_id: Vec<u16>,
    pub mig_table_max_displ: i32,
    pub mach_kobj_count: i32,
}

/// The subsystems of `mig_e[]` (macOS configuration), parsed once from the embedded table.
///
/// # Conditions
/// The embedded table parses; a row that does not is a bug in the model's data, reported as a
/// plain panic (a model bug) naming the line.
pub fn kernel_subsystems() -> &'static [MigSubsystem] {
    static SUBSYSTEMS: BookOnce<Vec<MigSubsystem>> = BookOnce::new();
    SUBSYSTEMS.get_or_init(|| {
        parse_mig_table(MIG_TABLE_TSV)
            .unwrap_or_else(|e| panic!("core/data/mig-subsystems.tsv: {e}"))
    })
}

/// The kernel's MIG hash: [`mig_init`] over [`kernel_subsystems`], built once.
pub fn kernel_mig_table() -> &'static MigTable {
    static TABLE: BookOnce<MigTable> = BookOnce::new();
    TABLE.get_or_init(|| mig_init(kernel_subsystems()))
}

/// Parses the routine table text (format in its header comment) into subsystems, in file order.
pub fn parse_mig_table(text: &'static str) -> Result<Vec<MigSubsystem>, String> {
    let mut subsystems: Vec<MigSubsystem> = Vec::new();
    let mut header_seen = false;
    for (index, line) in text.lines().enumerate() {
        let lineno = index + 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cells: Vec<&'static str> = line.split('\t').collect();
        if !header_seen {
            if cells != MIG_TABLE_COLUMNS {
                return Err(format!("line {lineno}: column header {cells:?}"));
            }
            header_seen = true;
            continue;
        }
        parse_mig_row(&mut subsystems, &cells).map_err(|e| format!("line {lineno}: {e}"))?;
    }
    if !header_seen {
        return Err("no column header".to_string());
    }
    for subsystem in &subsystems {
        let slots = i64::from(subsystem.end) - i64::from(subsystem.start);
        if subsystem.routines.len() as i64 != slots {
            return Err(format!(
                "{}: {} rows for {slots} slots",
                subsystem.name,
                subsystem.routines.len()
            ));
        }
    }
    Ok(subsystems)
}

/// Appends one row to its subsystem (opening the subsystem on its first row).
fn parse_mig_row(subsystems: &mut Vec<MigSubsystem>, cells: &[&'static str]) -> Result<(), String> {
    if cells.len() != MIG_TABLE_COLUMNS.len() {
        return Err(format!(
            "{} cells, want {}",
            cells.len(),
            MIG_TABLE_COLUMNS.len()
        ));
    }
    let name = cells[0];
    let start: i32 = parse_mig_number(cells[1], "start")?;
    let end: i32 = parse_mig_number(cells[2], "end")?;
    let maxsize: u32 = parse_mig_number(cells[3], "maxsize")?;
    let is_new = subsystems.last().is_none_or(|s| s.name != name);
    if is_new {
        if subsystems.iter().any(|s| s.name == name) {
            return Err(format!("subsystem {name} split into two runs of rows"));
        }
        subsystems.push(MigSubsystem {
            name,
            start,
            end,
            maxsize,
            routines: Vec::new(),
        });
    }
    let subsystem = subsystems.last_mut().expect("a subsystem was just ensured");
    if (subsystem.start, subsystem.end, subsystem.maxsize) != (start, end, maxsize) {
        return Err(format!(
            "{name}: start/end/maxsize differ from its first row"
        ));
    }
    let routine = parse_mig_routine(&cells[4..])?;
    let expected = i64::from(start) + subsystem.routines.len() as i64;
    if i64::from(routine.msgh_id) != expected {
        return Err(format!(
            "{name}: msgh_id {} where {expected} was due",
            routine.msgh_id
        ));
    }
    subsystem.routines.push(routine);
    Ok(())
}

/// Parses the per-slot columns (msgh_id onwards) and checks a skip is zero-filled.
fn parse_mig_routine(cells: &[&'static str]) -> Result<MigRoutineDesc, String> {
    let kind = match cells[2] {
        "routine" => MigKind::Routine,
        "simpleroutine" => MigKind::SimpleRoutine,
        "skip" => MigKind::Skip,
        other => return Err(format!("unknown kind {other:?}")),
    };
    let reply_complex = match cells[9] {
        "yes" => true,
        "no" => false,
        other => return Err(format!("reply_complex {other:?} is not yes/no")),
    };
    let desc = MigRoutineDesc {
        msgh_id: parse_mig_number(cells[0], "msgh_id")?,
        name: cells[1],
        kind,
        req_ports: parse_mig_port_detail(cells[3])?,
        req_ool_mem: parse_mig_number(cells[4], "req_ool_mem")?,
        req_descs: parse_mig_number(cells[5], "req_descs")?,
        reply_ports: parse_mig_port_detail(cells[6])?,
        reply_descr_count: parse_mig_number(cells[7], "reply_descr_count")?,
        max_reply_msg: parse_mig_number(cells[8], "max_reply_msg")?,
        reply_complex,
        target_intran: cells[10],
        stub_releases: parse_mig_name_list(cells[11]),
        derived: MigDerived::default(),
    };
    let named = desc.name != "-" && desc.target_intran != "-";
    let zeroed = desc.req_ports.is_empty()
        && desc.reply_ports.is_empty()
        && desc.stub_releases.is_empty()
        && (
            desc.req_ool_mem,
            desc.req_descs,
            desc.reply_descr_count,
            desc.max_reply_msg,
        ) == (0, 0, 0, 0)
        && !desc.reply_complex;
    match kind {
        MigKind::Skip if named || !zeroed => {
            Err(format!("skip {} is not zero-filled", desc.msgh_id))
        }
        MigKind::Routine | MigKind::SimpleRoutine if !named => Err(format!(
            "routine {} has no name or target conversion",
            desc.msgh_id
        )),
        _ => Ok(desc),
    }
}

fn parse_mig_number<T: std::str::FromStr>(cell: &str, column: &str) -> Result<T, String> {
    cell.parse()
        .map_err(|_| format!("{column} {cell:?} is not a number"))
}

/// `-` for none, else comma-separated names.
fn parse_mig_name_list(cell: &'static str) -> Vec<&'static str> {
    if cell == "-" {
        return Vec::new();
    }
    cell.split(',').collect()
}

/// Parses a port detail cell: `-`, or comma-separated `field[N]?:kind(disposition)`.
pub fn parse_mig_port_detail(cell: &'static str) -> Result<Vec<MigPortArg>, String> {
    if cell == "-" {
        return Ok(Vec::new());
    }
    cell.split(',').map(parse_mig_port_arg).collect()
}

/// Parses one `field[N]?:kind(disposition)`, kind `port` or `ool_ports`.
fn parse_mig_port_arg(text: &'static str) -> Result<MigPortArg, String> {
    let bad = || format!("port argument {text:?}");
    let (field_text, rest) = text.split_once(':').ok_or_else(bad)?;
    let (kind_text, disposition_text) = rest
        .strip_suffix(')')
        .and_then(|r| r.split_once('('))
        .ok_or_else(bad)?;
    let kind = match kind_text {
        "port" => MigPortKind::Port,
        "ool_ports" => MigPortKind::OolPorts,
        _ => return Err(bad()),
    };
    let (field, count) = match field_text.strip_suffix(']').and_then(|f| f.split_once('[')) {
        Some((field, n)) => (field, n.parse::<u32>().map_err(|_| bad())?),
        None => (field_text, 1),
    };
    if field.is_empty() || count == 0 || (count != 1 && kind == MigPortKind::OolPorts) {
        return Err(bad());
    }
    let (disposition, alt_disposition) =
        parse_mig_dispositions(disposition_text).ok_or_else(bad)?;
    Ok(MigPortArg {
        field,
        kind,
        disposition,
        alt_disposition,
        count,
    })
}

/// `poly`, `NAME(value)` or `NAME(value)|NAME(value)`; each name must stand for its value.
fn parse_mig_dispositions(text: &str) -> Option<(MachMsgTypeName, Option<MachMsgTypeName>)> {
    if text == "poly" {
        return Some((MACH_MSG_TYPE_POLYMORPHIC, None));
    }
    let one = |part: &str| -> Option<MachMsgTypeName> {
        let (name, value) = part.strip_suffix(')')?.split_once('(')?;
        let value: MachMsgTypeName = value.parse().ok()?;
        MIG_DISPOSITION_NAMES
            .iter()
            .any(|&(n, v)| n == name && v == value)
            .then_some(value)
    };
    match text.split_once('|') {
        None => Some((one(text)?, None)),
        Some((first, second)) => Some((one(first)?, Some(one(second)?))),
    }
}

/// Models mig_init (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
///
/// Walks the subsystems in order and each one's slots by ascending id, hashing every non-skip
/// slot into a fresh table; ends with `mach_kobj_count` = routines + 32.
///
/// # Conditions
/// Kernel panics, with XNU's messages: a subsystem with `start == 0` or `end < start`; a
/// `maxsize` above 16384 - 68; two routines with one id; no free bucket; a routine whose
/// `max_reply_msg` is 0. XNU's assert that `reply_descr_count <= IPC_KOBJECT_RDESC_MAX` is an
/// `xnu_assert!` (the model is a DEVELOPMENT kernel, where that assert panics).
///
/// # Deviations
/// - Returns the table instead of filling statics, and does not print the summary line.
/// - The duplicate-id panic does not first print the id (XNU prints it on the console).
/// - The "replies are too large" message names the subsystem where XNU prints its address.
/// - XNU's debug assert on the request `descr_count` is not modelled: MIG always emits that
///   field as 0 in kernel servers, and the table carries the request descriptor count the stub
///   checks (`req_descs`), which is a different fact.
/// - Cases where XNU's C is undefined are `Violation` findings: `end - start` overflowing, and
///   an id `<= 0` (a negative one indexes outside `mig_buckets`; 0 reads as an empty bucket).
/// - A subsystem whose slot vector is not `end - start` long is a model bug.
/// - The table also keeps its routines sorted by id ([`MigTable::routines_by_id`]), an index of
///   the model's own for readers that must not go through the hash; nothing dispatches by it.
pub fn mig_init(subsystems: &[MigSubsystem]) -> MigTable {
    let mut table = MigTable {
        buckets: vec![MigHash::default(); MAX_MIG_ENTRIES],
        routines: Vec::new(),
        by_id: Vec::new(),
        mig_table_max_displ: 0,
        mach_kobj_count: 0,
    };
    for subsystem in subsystems {
        let range = mig_init_check_subsystem(subsystem);
        assert_eq!(
            subsystem.routines.len() as i64,
            i64::from(range),
            "model input: subsystem {} has {} slots for range {range}",
            subsystem.name,
            subsystem.routines.len()
        );
        for (j, desc) in subsystem.routines.iter().enumerate() {
            // Only slots with a kernel stub are hashed; a skip's id stays unknown.
            if desc.kind != MigKind::Skip {
                table.mig_init_insert(subsystem, j, desc);
            }
        }
    }
    table.mach_kobj_count = table
        .mach_kobj_count
        .checked_add(MACH_KOBJ_COUNT_PADDING)
        .expect("mach_kobj_count fits an int");
    assert_eq!(
        table.routines.len() as i64 + 32,
        i64::from(table.mach_kobj_count)
    );
    assert!(table.mig_table_max_displ as usize <= MAX_MIG_ENTRIES);
    // Ids are unique (a second one panics above) and fewer than MAX_MIG_ENTRIES.
    table.by_id = (0..table.routines.len())
        .map(|i| u16::try_from(i).expect("fewer routines than MAX_MIG_ENTRIES"))
        .collect();
    let routines = &table.routines;
    table
        .by_id
        .sort_by_key(|&i| routines[usize::from(i)].msgh_id);
    table
}

/// The per-subsystem checks at the top of mig_init's loop; returns the slot count `end - start`.
fn mig_init_check_subsystem(subsystem: &MigSubsystem) -> i32 {
    let Some(range) = subsystem.end.checked_sub(subsystem.start) else {
        Finding::violation(
            "mig-range-overflow",
            format!(
                "mig_init: {} end {} - start {} overflows an int (undefined in XNU's C)",
                subsystem.name, subsystem.end, subsystem.start
            ),
        )
        .raise();
    };
    if subsystem.start == 0 || range < 0 {
        crate::xnu_panic!("the msgh_ids in mig_e[] aren't valid!");
    }
    if subsystem.maxsize > MIG_MAXSIZE_MAX {
        crate::xnu_panic!(
            "mig subsystem {} ({}) replies are too large ({} > {})",
            subsystem.start,
            subsystem.name,
            subsystem.maxsize as i32,
            MIG_MAXSIZE_MAX as i32
        );
    }
    assert!(range >= 0);
    range
}

impl MigTable {
    /// Hashes slot `j` of `subsystem` (a real routine): mig_init's probe-and-fill step.
    fn mig_init_insert(&mut self, subsystem: &MigSubsystem, j: usize, desc: &MigRoutineDesc) {
        assert_ne!(desc.kind, MigKind::Skip);
        let nentry = subsystem.start + j as i32;
        assert_eq!(
            desc.msgh_id, nentry,
            "model input: slot {j} of {} has a wrong id",
            subsystem.name
        );
        if nentry <= 0 {
            Finding::violation(
                "mig-msgh-id-not-positive",
                format!(
                    "mig_init: msgh_id {nentry} of {} has no bucket in XNU's hash",
                    subsystem.name
                ),
            )
            .raise();
        }
        let mut pos = nentry as usize % MAX_MIG_ENTRIES;
        let mut howmany: i32 = 1;
        while self.buckets[pos].num != 0 {
            if self.buckets[pos].num == nentry {
                crate::xnu_panic!("multiple entries with the same msgh_id");
            }
            if howmany == MAX_MIG_ENTRIES as i32 {
                crate::xnu_panic!("the mig dispatch table is too small");
            }
            pos = (pos + 1) % MAX_MIG_ENTRIES;
            howmany += 1;
        }
        assert!(howmany as usize <= MAX_MIG_ENTRIES);

        self.buckets[pos].num = nentry;
        self.buckets[pos].routine = Some(self.routines.len());
        self.routines.push(desc.clone());
        if desc.max_reply_msg == 0 {
            // A larger-than-needed reply would leave a hole in an inline kmsg at copyout.
            crate::xnu_panic!("kroutine must have precise size {} {}", subsystem.start, j);
        }
        self.buckets[pos].kreply_size = desc.max_reply_msg;
        self.buckets[pos].kreply_desc_cnt = desc.reply_descr_count;
        crate::xnu_assert!(
            desc.reply_descr_count <= IPC_KOBJECT_RDESC_MAX,
            "mig_init: {} ({nentry}) reply_descr_count {} > IPC_KOBJECT_RDESC_MAX {}",
            desc.name,
            desc.reply_descr_count,
            IPC_KOBJECT_RDESC_MAX
        );
        self.buckets[pos].kobjidx = KOBJ_IDX_NOT_SET;
        self.mig_table_max_displ = self.mig_table_max_displ.max(howmany);
        self.mach_kobj_count = self
            .mach_kobj_count
            .checked_add(1)
            .expect("mach_kobj_count fits an int");
    }

    /// Models find_mig_hash_entry (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    ///
    /// Probes from `(unsigned)msgh_id % 1031`, stopping on a match, an empty bucket or after
    /// `mig_table_max_displ` buckets; a hit needs a routine and the exact id.
    ///
    /// # Conditions
    /// None: any id may be asked for. Id 0 stops on an empty bucket, which the routine check
    /// then rejects.
    pub fn find_mig_hash_entry(&self, msgh_id: i32) -> Option<&MigHash> {
        self.find_mig_hash_pos(msgh_id)
            .map(|pos| &self.buckets[pos])
    }

    /// find_mig_hash_entry's probe loop, returning the bucket index.
    fn find_mig_hash_pos(&self, msgh_id: i32) -> Option<usize> {
        // XNU's cursor is an unsigned int that may wrap; the bucket is taken modulo on each step.
        let mut i = msgh_id as u32;
        let mut max_iter = self.mig_table_max_displ;
        let mut probes: usize = 0;
        let pos = loop {
            let pos = (i % MAX_MIG_ENTRIES as u32) as usize;
            i = i.wrapping_add(1);
            probes += 1;
            assert!(
                probes <= MAX_MIG_ENTRIES,
                "find_mig_hash_entry({msgh_id}) probed every bucket"
            );
            let num = self.buckets[pos].num;
            if msgh_id == num || num == 0 {
                break pos;
            }
            max_iter = max_iter.wrapping_sub(1);
            if max_iter == 0 {
                break pos;
            }
        };
        let entry = &self.buckets[pos];
        if entry.routine.is_none() || msgh_id != entry.num {
            return None;
        }
        assert_ne!(entry.num, 0);
        Some(pos)
    }

    /// Models ipc_kobject_set_kobjidx (osfmk/kern/ipc_kobject.c, xnu-11215.1.10).
    ///
    /// Records the kobject-filter bit index for a routine id.
    ///
    /// # Conditions
    /// Returns `KERN_INVALID_ARGUMENT` for an id with no routine. XNU asserts
    /// `index < mach_kobj_count` (an `xnu_assert!` here); a negative index passes, as the
    /// comparison is signed.
    ///
    /// # Deviations
    /// XNU writes a boot-time read-only-late table; the model mutates this table value (use a
    /// clone of [`kernel_mig_table`]).
    pub fn ipc_kobject_set_kobjidx(&mut self, msgh_id: i32, index: i32) -> KernReturn {
        let Some(pos) = self.find_mig_hash_pos(msgh_id) else {
            return KERN_INVALID_ARGUMENT;
        };
        crate::xnu_assert!(
            index < self.mach_kobj_count,
            "ipc_kobject_set_kobjidx({msgh_id}, {index}): mach_kobj_count {}",
            self.mach_kobj_count
        );
        self.buckets[pos].kobjidx = index;
        assert_eq!(self.buckets[pos].num, msgh_id);
        KERN_SUCCESS
    }

    /// The routine a hash entry dispatches to (XNU's `kroutine`, with its descriptor facts).
    ///
    /// # Conditions
    /// `entry` is a hit of [`MigTable::find_mig_hash_entry`]; an empty bucket is a model bug.
    pub fn routine(&self, entry: &MigHash) -> &MigRoutineDesc {
        let Some(index) = entry.routine else {
            panic!("MigTable::routine of an empty bucket (num {})", entry.num);
        };
        let desc = &self.routines[index];
        assert_eq!(
            desc.msgh_id, entry.num,
            "bucket and routine disagree on the id"
        );
        desc
    }

    /// The hashed routines, in insertion order (`mig_e[]` order, then ascending id).
    pub fn routines(&self) -> &[MigRoutineDesc] {
        &self.routines
    }

    /// The hashed routines in ascending id order.
    pub fn routines_by_id(&self) -> impl Iterator<Item = &MigRoutineDesc> {
        self.by_id.iter().map(|&i| &self.routines[usize::from(i)])
    }

    /// The hashed routine with id `msgh_id`, found by a binary search over the ids, not through
    /// the buckets (`None`: the table has no such routine).
    pub fn routine_by_id(&self, msgh_id: i32) -> Option<&MigRoutineDesc> {
        let at = self
            .by_id
            .binary_search_by_key(&msgh_id, |&i| self.routines[usize::from(i)].msgh_id)
            .ok()?;
        Some(&self.routines[usize::from(self.by_id[at])])
    }

    /// All `MAX_MIG_ENTRIES` buckets, empty ones included.
    pub fn buckets(&self) -> &[MigHash] {
        &self.buckets
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mach::{IPC_KOBJECT_DESC_MAX, MIG_REPLY_ERROR_SIZE};
    use crate::outcome::{catch, quiet_findings, Finding, FindingKind};

    const MIG_E_ORDER: [&str; 19] = [
        "mach_vm",
        "mach_port",
        "mach_host",
        "host_priv",
        "clock",
        "processor",
        "processor_set",
        "is_iokit",
        "task",
        "thread_act",
        "vm32_map",
        "UNDReply",
        "mach_voucher",
        "memory_entry",
        "task_restartable",
        "catch_exc",
        "catch_mach_exc",
        "arcade_register",
        "mach_eventlink",
    ];

    fn routine(msgh_id: i32) -> MigRoutineDesc {
        MigRoutineDesc {
            msgh_id,
            name: "synthetic",
            kind: MigKind::Routine,
            req_ports: Vec::new(),
            req_ool_mem: 0,
            req_descs: 0,
            reply_ports: Vec::new(),
            reply_descr_count: 0,
            max_reply_msg: MIG_REPLY_ERROR_SIZE,
            reply_complex: false,
            target_intran: "raw",
            stub_releases: Vec::new(),
            derived: MigDerived::default(),
        }
    }

    fn subsystem(start: i32, slots: i32) -> MigSubsystem {
        MigSubsystem {
            name: "synthetic",
            start,
            end: start + slots,
            maxsize: MIG_REPLY_ERROR_SIZE,
            routines: (start..start + slots).map(routine).collect(),
        }
    }

    fn mig_init_finding(subsystems: &[MigSubsystem]) -> Finding {
        quiet_findings();
        catch(|| mig_init(subsystems)).expect_err("mig_init should stop")
    }

    fn assert_kernel_panic(finding: &Finding, message: &str) {
        assert_eq!(finding.kind, FindingKind::KernelPanic, "{finding}");
        assert_eq!(finding.message, message);
    }

    fn kernel_ids(kind_is_skip: bool) -> Vec<i32> {
        let slots = kernel_subsystems().iter().flat_map(|s| &s.routines);
        slots
            .filter(|r| (r.kind == MigKind::Skip) == kind_is_skip)
            .map(|r| r.msgh_id)
            .collect()
    }

    #[test]
    fn parse_mig_table_every_row_parses() {
        let parsed = parse_mig_table(MIG_TABLE_TSV);
        assert!(parsed.is_ok(), "{}", parsed.unwrap_err());
        let subsystems = parsed.unwrap();
        let names: Vec<&str> = subsystems.iter().map(|s| s.name).collect();
        assert_eq!(names, MIG_E_ORDER);
        assert_eq!(
            subsystems.iter().map(|s| s.routines.len()).sum::<usize>(),
            397
        );
        assert_eq!(kernel_ids(false).len(), 345);
        assert_eq!(kernel_ids(true).len(), 52);
        let simple = subsystems
            .iter()
            .flat_map(|s| &s.routines)
            .filter(|r| r.kind == MigKind::SimpleRoutine);
        assert!(simple
            .clone()
            .all(|r| r.max_reply_msg == MIG_REPLY_ERROR_SIZE));
        assert_eq!(simple.count(), 2);
    }

    #[test]
    fn parse_mig_table_rejects_malformed_rows() {
        let header = MIG_TABLE_COLUMNS.join("\t");
        let good = "s\t1\t2\t44\t1\tr\troutine\t-\t0\t0\t-\t0\t44\tno\traw\t-";
        let ok: &'static str = format!("# c\n{header}\n{good}\n").leak();
        assert_eq!(parse_mig_table(ok).unwrap()[0].routines.len(), 1);
        let bad_rows = [
            "s\t1\t2\t44\t1\tr\tfunction\t-\t0\t0\t-\t0\t44\tno\traw\t-",
            "s\t1\t2\t44\t2\tr\troutine\t-\t0\t0\t-\t0\t44\tno\traw\t-",
            "s\t1\t3\t44\t1\tr\troutine\t-\t0\t0\t-\t0\t44\tno\traw\t-",
            "s\t1\t2\t44\t1\t-\tskip\t-\t0\t0\t-\t0\t44\tno\t-\t-",
            "s\t1\t2\t44\t1\tr\troutine\tp:port(PORT_SEND(18))\t0\t1\t-\t0\t44\tno\traw\t-",
            "s\t1\t2\t44\t1\tr\troutine\t-\t0\t0\t-\t0\t44\tmaybe\traw\t-",
            "s\t1\t2\t44\t1\tr\troutine\t-\t0\t0\t-\t0\t44\tno\traw",
        ];
        for row in bad_rows {
            let text: &'static str = format!("{header}\n{row}\n").leak();
            assert!(parse_mig_table(text).is_err(), "accepted {row:?}");
        }
    }

    #[test]
    fn parse_mig_port_detail_every_format() {
        let send = MACH_MSG_TYPE_PORT_SEND;
        assert_eq!(parse_mig_port_detail("-").unwrap(), Vec::new());
        let two =
            parse_mig_port_detail("thread:port(PORT_SEND(17)),task:port(PORT_SEND(17))").unwrap();
        assert_eq!(
            (two[1].field, two[1].kind, two[1].disposition, two[1].count),
            ("task", MigPortKind::Port, send, 1)
        );
        let once = &parse_mig_port_detail("notify:port(PORT_SEND_ONCE(18)|MAKE_SEND_ONCE(21))")
            .unwrap()[0];
        assert_eq!((once.disposition, once.alt_disposition), (18, Some(21)));
        let poly = &parse_mig_port_detail("poly:port(poly)").unwrap()[0];
        assert_eq!(poly.disposition, MACH_MSG_TYPE_POLYMORPHIC);
        let array = &parse_mig_port_detail("old_handlers[32]:port(MOVE_SEND(17))").unwrap()[0];
        assert_eq!(
            (array.field, array.count, array.disposition),
            ("old_handlers", 32, 17)
        );
        let ool = &parse_mig_port_detail("act_list:ool_ports(MOVE_SEND(17))").unwrap()[0];
        assert_eq!((ool.kind, ool.count), (MigPortKind::OolPorts, 1));
        let so = &parse_mig_port_detail("previous:port(MOVE_SEND_ONCE(18))").unwrap()[0];
        assert_eq!(so.disposition, MACH_MSG_TYPE_MOVE_SEND_ONCE);
        for bad in [
            "x",
            "x:port(PORT_SEND(17)",
            "x:pot(PORT_SEND(17))",
            "x:port(SEND(17))",
            "x[0]:port(poly)",
            "x[2]:ool_ports(poly)",
            ":port(poly)",
        ] {
            assert!(parse_mig_port_detail(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn kernel_subsystems_descriptor_counts_agree() {
        for s in kernel_subsystems() {
            let largest = s.routines.iter().map(|r| r.max_reply_msg).max().unwrap();
            assert_eq!(s.maxsize, largest, "{}", s.name);
            for r in s.routines.iter().filter(|r| r.kind != MigKind::Skip) {
                let req_ports: u32 = r.req_ports.iter().map(|p| p.count).sum();
                let reply_ports: u32 = r.reply_ports.iter().map(|p| p.count).sum();
                assert_eq!(r.req_descs, req_ports + r.req_ool_mem, "{}", r.name);
                assert!(r.req_descs <= IPC_KOBJECT_DESC_MAX, "{}", r.name);
                assert!(reply_ports <= r.reply_descr_count, "{}", r.name);
                assert_eq!(r.reply_complex, r.reply_descr_count > 0, "{}", r.name);
                assert!(r.max_reply_msg >= MIG_REPLY_ERROR_SIZE, "{}", r.name);
                for field in &r.stub_releases {
                    assert!(
                        r.req_ports.iter().any(|p| p.field == *field),
                        "{}: {field}",
                        r.name
                    );
                }
            }
        }
    }

    #[test]
    fn routine_by_id_finds_what_the_buckets_find() {
        let table = kernel_mig_table();
        for desc in table.routines() {
            let found = table.routine_by_id(desc.msgh_id).expect("a hashed routine");
            assert_eq!(found, desc);
            let entry = table
                .find_mig_hash_entry(desc.msgh_id)
                .expect("in a bucket");
            assert_eq!(table.routine(entry), found);
        }
        // Unknown ids: a skipped slot, below and above every subsystem, and 0.
        for id in [208, 1, 0, -1, i32::MAX] {
            assert!(table.routine_by_id(id).is_none(), "id {id}");
        }
    }

    #[test]
    fn mig_init_kernel_table() {
        let table = kernel_mig_table();
        assert_eq!(table.routines().len(), 345);
        assert_eq!(table.buckets().iter().filter(|b| b.num != 0).count(), 345);
        assert_eq!(table.mig_table_max_displ, 54);
        assert_eq!(table.mach_kobj_count, 377);
        assert!(table
            .buckets()
            .iter()
            .filter(|b| b.num != 0)
            .all(|b| b.kobjidx == KOBJ_IDX_NOT_SET));
    }

    #[test]
    fn find_mig_hash_entry_finds_every_routine() {
        let table = kernel_mig_table();
        for r in kernel_subsystems()
            .iter()
            .flat_map(|s| &s.routines)
            .filter(|r| r.kind != MigKind::Skip)
        {
            let entry = table
                .find_mig_hash_entry(r.msgh_id)
                .unwrap_or_else(|| panic!("{} missing", r.name));
            assert_eq!(entry.num, r.msgh_id);
            assert_eq!(
                (entry.kreply_size, entry.kreply_desc_cnt),
                (r.max_reply_msg, r.reply_descr_count)
            );
            assert_eq!(table.routine(entry), r);
        }
    }

    #[test]
    fn find_mig_hash_entry_misses_every_skip() {
        let skips = kernel_ids(true);
        assert_eq!(skips.len(), 52);
        assert!(skips
            .iter()
            .all(|&id| kernel_mig_table().find_mig_hash_entry(id).is_none()));
    }

    #[test]
    fn find_mig_hash_entry_misses_unknown_ids() {
        let table = kernel_mig_table();
        for id in [
            0,
            1,
            99,
            100,
            4826,
            4900 + 100,
            716_300,
            1031,
            -1,
            i32::MIN,
            i32::MAX,
        ] {
            assert!(table.find_mig_hash_entry(id).is_none(), "found {id}");
        }
    }

    #[test]
    fn find_mig_hash_entry_stops_after_max_displ() {
        // 4900 (memory_entry) sits 54 probes from its home bucket: one probe fewer misses it.
        let mut table = kernel_mig_table().clone();
        assert!(table.find_mig_hash_entry(4900).is_some());
        table.mig_table_max_displ = 53;
        assert!(table.find_mig_hash_entry(4900).is_none());
        // Synthetic: 1 and 1032 share bucket 1; 2063 shares it too but was never inserted.
        let table = mig_init(&[subsystem(1, 1), subsystem(1032, 1)]);
        assert_eq!(table.mig_table_max_displ, 2);
        assert!(table.find_mig_hash_entry(1032).is_some());
        assert!(table.find_mig_hash_entry(2063).is_none());
    }

    #[test]
    fn mig_init_skips_are_not_inserted() {
        let mut s = subsystem(10, 3);
        s.routines[1] = MigRoutineDesc {
            kind: MigKind::Skip,
            max_reply_msg: 0,
            ..routine(11)
        };
        let table = mig_init(&[s]);
        assert_eq!(table.routines().len(), 2);
        assert_eq!(table.mach_kobj_count, 2 + 32);
        assert!(table.find_mig_hash_entry(11).is_none());
        assert!(table.find_mig_hash_entry(12).is_some());
    }

    #[test]
    fn mig_init_duplicate_msgh_id_panics() {
        let finding = mig_init_finding(&[subsystem(100, 3), subsystem(102, 2)]);
        assert_kernel_panic(&finding, "multiple entries with the same msgh_id");
    }

    #[test]
    fn mig_init_table_too_small_panics() {
        let full = mig_init(&[subsystem(1, MAX_MIG_ENTRIES as i32)]);
        assert_eq!(full.buckets().iter().filter(|b| b.num == 0).count(), 0);
        assert_eq!(full.mig_table_max_displ, 1);
        let finding = mig_init_finding(&[subsystem(1, MAX_MIG_ENTRIES as i32 + 1)]);
        assert_kernel_panic(&finding, "the mig dispatch table is too small");
    }

    #[test]
    fn mig_init_invalid_msgh_ids_panics() {
        let finding = mig_init_finding(&[subsystem(0, 2)]);
        assert_kernel_panic(&finding, "the msgh_ids in mig_e[] aren't valid!");
        let backwards = MigSubsystem {
            end: 5,
            routines: Vec::new(),
            ..subsystem(10, 0)
        };
        let finding = mig_init_finding(&[backwards]);
        assert_kernel_panic(&finding, "the msgh_ids in mig_e[] aren't valid!");
    }

    #[test]
    fn mig_init_maxsize_too_large_panics() {
        let at_limit = MigSubsystem {
            maxsize: 16316,
            ..subsystem(50, 1)
        };
        assert_eq!(mig_init(&[at_limit]).routines().len(), 1);
        let finding = mig_init_finding(&[MigSubsystem {
            maxsize: 16317,
            ..subsystem(50, 1)
        }]);
        assert_kernel_panic(
            &finding,
            "mig subsystem 50 (synthetic) replies are too large (16317 > 16316)",
        );
    }

    #[test]
    fn mig_init_imprecise_reply_size_panics() {
        let mut s = subsystem(70, 3);
        s.routines[2].max_reply_msg = 0;
        let finding = mig_init_finding(&[s]);
        assert_kernel_panic(&finding, "kroutine must have precise size 70 2");
    }

    #[test]
    fn mig_init_reply_descr_count_over_max_asserts() {
        let mut s = subsystem(80, 1);
        s.routines[0].reply_descr_count = IPC_KOBJECT_RDESC_MAX;
        assert_eq!(mig_init(&[s.clone()]).routines().len(), 1);
        s.routines[0].reply_descr_count = IPC_KOBJECT_RDESC_MAX + 1;
        let finding = mig_init_finding(&[s]);
        assert_eq!(
            (finding.kind, finding.invariant),
            (FindingKind::KernelPanic, "xnu-assert")
        );
    }

    #[test]
    fn mig_init_non_positive_msgh_id_is_violation() {
        let finding = mig_init_finding(&[subsystem(-3, 2)]);
        assert_eq!(
            (finding.kind, finding.invariant),
            (FindingKind::Violation, "mig-msgh-id-not-positive")
        );
    }

    #[test]
    fn ipc_kobject_set_kobjidx_unknown_id() {
        let mut table = kernel_mig_table().clone();
        assert_eq!(
            table.ipc_kobject_set_kobjidx(3202, 0),
            KERN_INVALID_ARGUMENT
        );
        assert_eq!(
            table.ipc_kobject_set_kobjidx(99_999, 0),
            KERN_INVALID_ARGUMENT
        );
        assert_eq!(&table, kernel_mig_table());
    }

    #[test]
    fn ipc_kobject_set_kobjidx_known_id() {
        let mut table = kernel_mig_table().clone();
        assert_eq!(table.ipc_kobject_set_kobjidx(3401, 7), KERN_SUCCESS);
        assert_eq!(table.find_mig_hash_entry(3401).unwrap().kobjidx, 7);
        assert_eq!(
            kernel_mig_table()
                .find_mig_hash_entry(3401)
                .unwrap()
                .kobjidx,
            KOBJ_IDX_NOT_SET
        );
    }

    #[test]
    fn ipc_kobject_set_kobjidx_index_out_of_range() {
        quiet_findings();
        let mut table = kernel_mig_table().clone();
        let count = table.mach_kobj_count;
        assert_eq!(table.ipc_kobject_set_kobjidx(3401, count - 1), KERN_SUCCESS);
        let finding = catch(move || table.ipc_kobject_set_kobjidx(3401, count)).unwrap_err();
        assert_eq!(
            (finding.kind, finding.invariant),
            (FindingKind::KernelPanic, "xnu-assert")
        );
    }
}
