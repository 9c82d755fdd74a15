//! The `mig_hash` target: arbitrary subsystem tables through `mig_init` and
//! `find_mig_hash_entry`, compared with a plain `BTreeMap` of the ids inserted.
//!
//! A table may be one XNU refuses: its `panic()`s (an invalid range, replies too large, two
//! routines with one id, a full table, an imprecise reply size, the reply-descriptor assert) and
//! the model's reports of undefined C (`end - start` overflowing, a non-positive id) are expected
//! outcomes, not findings. The reference predicts *which* of them the table must hit, in XNU's
//! order, so a wrong panic (or a missing one) is a finding too.

use std::collections::BTreeMap;

use arbitrary::{Arbitrary, Unstructured};
use kobject::ipc_kobject_mig::{
    mig_init, MigKind, MigRoutineDesc, MigSubsystem, MigTable, MAX_MIG_ENTRIES,
};
use kobject::mach::{IPC_KOBJECT_RDESC_MAX, KALLOC_SAFE_ALLOC_SIZE, MAX_TRAILER_SIZE};
use kobject::{catch, Bugs, Finding, FindingKind};

use crate::codec::{bounded_vec, encode_bounded_vec, encode_variant, Encode};

/// Subsystems in one table.
pub const SUBSYSTEMS_MAX: usize = 8;
/// Slots in one subsystem (eight of them can overfill the 1031 buckets).
pub const SLOTS_MAX: u16 = 256;
/// Skip positions listed per subsystem.
pub const SKIPS_MAX: usize = 16;
/// Extra ids looked up beyond the inserted ones.
pub const QUERIES_MAX: usize = 16;

/// Where a subsystem's ids start.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// A small positive start (0 is XNU's "invalid" start).
    Small(u16),
    /// Any value, near the ends of `int` included.
    Raw(i32),
}

/// One `mig_subsystem` of a generated table.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub struct SubsystemSpec {
    pub start: Start,
    /// Slots, modulo `SLOTS_MAX + 1`.
    pub len: u16,
    /// `end = start - len` instead of `start + len`.
    pub reversed: bool,
    pub maxsize: u16,
    /// Slot offsets that are skips (modulo the slot count).
    #[arbitrary(with = bounded_vec::<u16, SKIPS_MAX>)]
    pub skips: Vec<u16>,
    /// `max_reply_msg` of every routine (0 is XNU's "imprecise size" panic).
    pub max_reply_msg: u16,
    pub reply_descr_count: u8,
}

/// A `mig_hash` input: the table and the extra lookups.
#[derive(Arbitrary, Clone, Debug, Default, PartialEq, Eq)]
pub struct MigHashInput {
    #[arbitrary(with = bounded_vec::<SubsystemSpec, SUBSYSTEMS_MAX>)]
    pub subsystems: Vec<SubsystemSpec>,
    #[arbitrary(with = bounded_vec::<i32, QUERIES_MAX>)]
    pub queries: Vec<i32>,
}

impl MigHashInput {
    pub fn from_bytes(data: &[u8]) -> MigHashInput {
        MigHashInput::arbitrary_take_rest(Unstructured::new(data))
            .expect("decoding never fails: exhausted bytes read as zeros")
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

impl Encode for Start {
    fn encode(&self, out: &mut Vec<u8>) {
        match *self {
            Start::Small(v) => {
                encode_variant(out, 0, 2);
                v.encode(out);
            }
            Start::Raw(v) => {
                encode_variant(out, 1, 2);
                v.encode(out);
            }
        }
    }
}

impl Encode for SubsystemSpec {
    fn encode(&self, out: &mut Vec<u8>) {
        self.start.encode(out);
        self.len.encode(out);
        self.reversed.encode(out);
        self.maxsize.encode(out);
        encode_bounded_vec(&self.skips, SKIPS_MAX, out);
        self.max_reply_msg.encode(out);
        self.reply_descr_count.encode(out);
    }
}

impl Encode for MigHashInput {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_bounded_vec(&self.subsystems, SUBSYSTEMS_MAX, out);
        encode_bounded_vec(&self.queries, QUERIES_MAX, out);
    }
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub routines: u32,
    pub lookups: u32,
    /// The XNU panic or undefined-C report the table was expected to (and did) hit.
    pub refused: Option<&'static str>,
}

/// The outcome the reference predicts for a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expected {
    /// Built; the map holds what the hash must answer.
    Built,
    /// Refused with this finding kind and a message starting with this text.
    Refused(FindingKind, &'static str),
}

/// Builds the subsystems a spec describes (ids are always consistent with their slots).
pub fn build_subsystems(input: &MigHashInput) -> Vec<MigSubsystem> {
    input.subsystems.iter().map(build_subsystem).collect()
}

fn build_subsystem(spec: &SubsystemSpec) -> MigSubsystem {
    let start = match spec.start {
        Start::Small(v) => i32::from(v),
        Start::Raw(v) => v,
    };
    let len = i64::from(spec.len % (SLOTS_MAX + 1));
    let end_wide = if spec.reversed {
        i64::from(start) - len
    } else {
        i64::from(start) + len
    };
    // An end outside `int` cannot be written in mig_e[]; clamp it (the overflow of
    // `end - start` itself stays reachable through Raw starts).
    let end = end_wide.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
    let slots = if end >= start {
        (i64::from(end) - i64::from(start)) as usize
    } else {
        0
    };
    let routines = (0..slots)
        .map(|j| {
            let skip = spec
                .skips
                .iter()
                .any(|&s| usize::from(s) % slots.max(1) == j);
            routine_desc(start.wrapping_add(j as i32), skip, spec)
        })
        .collect();
    MigSubsystem {
        name: "fuzz",
        start,
        end,
        maxsize: u32::from(spec.maxsize),
        routines,
    }
}

fn routine_desc(msgh_id: i32, skip: bool, spec: &SubsystemSpec) -> MigRoutineDesc {
    let (name, kind, size, rdesc, intran) = if skip {
        ("-", MigKind::Skip, 0, 0, "-")
    } else {
        (
            "fuzz_routine",
            MigKind::Routine,
            u32::from(spec.max_reply_msg),
            u32::from(spec.reply_descr_count),
            "raw",
        )
    };
    MigRoutineDesc {
        msgh_id,
        name,
        kind,
        req_ports: Vec::new(),
        req_ool_mem: 0,
        req_descs: 0,
        reply_ports: Vec::new(),
        reply_descr_count: rdesc,
        max_reply_msg: size,
        reply_complex: false,
        target_intran: intran,
        stub_releases: Vec::new(),
        derived: Default::default(),
    }
}

/// The reference: what `mig_init` must do with `subsystems`, in XNU's order of checks, and the
/// map of inserted ids to `(kreply_size, kreply_desc_cnt)`.
fn reference(subsystems: &[MigSubsystem]) -> (Expected, BTreeMap<i32, (u32, u32)>) {
    let mut map = BTreeMap::new();
    for s in subsystems {
        let Some(range) = s.end.checked_sub(s.start) else {
            return (Expected::Refused(FindingKind::Violation, "mig_init:"), map);
        };
        if s.start == 0 || range < 0 {
            let refused = Expected::Refused(FindingKind::KernelPanic, "the msgh_ids in mig_e[]");
            return (refused, map);
        }
        if s.maxsize > KALLOC_SAFE_ALLOC_SIZE - MAX_TRAILER_SIZE {
            let refused = Expected::Refused(FindingKind::KernelPanic, "mig subsystem");
            return (refused, map);
        }
        for desc in s.routines.iter().filter(|d| d.kind != MigKind::Skip) {
            if desc.msgh_id <= 0 {
                return (Expected::Refused(FindingKind::Violation, "mig_init:"), map);
            }
            if map.contains_key(&desc.msgh_id) {
                let refused = Expected::Refused(FindingKind::KernelPanic, "multiple entries");
                return (refused, map);
            }
            if map.len() == MAX_MIG_ENTRIES {
                let refused = Expected::Refused(FindingKind::KernelPanic, "the mig dispatch table");
                return (refused, map);
            }
            map.insert(desc.msgh_id, (desc.max_reply_msg, desc.reply_descr_count));
            if desc.max_reply_msg == 0 {
                let refused = Expected::Refused(FindingKind::KernelPanic, "kroutine must have");
                return (refused, map);
            }
            if desc.reply_descr_count > IPC_KOBJECT_RDESC_MAX {
                let refused = Expected::Refused(FindingKind::KernelPanic, "assertion failed");
                return (refused, map);
            }
        }
    }
    (Expected::Built, map)
}

/// Runs one input: `Err` when `mig_init` or `find_mig_hash_entry` disagrees with the reference.
/// `bugs` is accepted for uniformity; no injected bug touches the MIG hash.
pub fn run_mig_hash(input: &MigHashInput, _bugs: Bugs) -> Result<Stats, Finding> {
    kobject::outcome::quiet_findings();
    let subsystems = build_subsystems(input);
    let (expected, map) = reference(&subsystems);
    let built = catch(|| mig_init(&subsystems));
    match (expected, built) {
        (Expected::Built, Ok(table)) => check_lookups(&table, &map, &input.queries),
        (Expected::Refused(kind, prefix), Err(f))
            if f.kind == kind && f.message.starts_with(prefix) =>
        {
            Ok(Stats {
                routines: map.len() as u32,
                lookups: 0,
                refused: Some(prefix),
            })
        }
        (Expected::Refused(_, prefix), Ok(_)) => Err(mismatch(format!(
            "mig_init accepted a table XNU refuses with \"{prefix}...\""
        ))),
        (expected, Err(f)) => Err(mismatch(format!(
            "mig_init refused with {f}; the reference expected {expected:?}"
        ))),
    }
}

fn mismatch(message: String) -> Finding {
    Finding::violation("mig-hash-reference", message)
}

/// Every inserted id, its neighbours, its bucket-mates one table length away, and the input's
/// queries must be answered as the map answers them.
fn check_lookups(
    table: &MigTable,
    map: &BTreeMap<i32, (u32, u32)>,
    queries: &[i32],
) -> Result<Stats, Finding> {
    if table.mach_kobj_count as usize != map.len() + 32 {
        return Err(mismatch(format!(
            "mach_kobj_count {} for {} routines",
            table.mach_kobj_count,
            map.len()
        )));
    }
    let step = MAX_MIG_ENTRIES as i32;
    let derived = map.keys().flat_map(|&id| {
        [
            id,
            id.wrapping_sub(1),
            id.wrapping_add(1),
            id.wrapping_add(step),
            id.wrapping_sub(step),
        ]
    });
    let mut lookups = 0;
    for id in derived
        .chain(queries.iter().copied())
        .chain([0, i32::MIN, i32::MAX, -1])
    {
        lookups += 1;
        let got = table
            .find_mig_hash_entry(id)
            .map(|e| (e.num, e.kreply_size, e.kreply_desc_cnt));
        let want = map.get(&id).map(|&(size, rdesc)| (id, size, rdesc));
        if got != want {
            return Err(mismatch(format!(
                "find_mig_hash_entry({id}) = {got:?}, the map says {want:?} \
                 (max displacement {})",
                table.mig_table_max_displ
            )));
        }
    }
    Ok(Stats {
        routines: map.len() as u32,
        lookups,
        refused: None,
    })
}

/// Seeds: the real kernel table, a small clean table, and one table per refusal.
pub fn seeds() -> Vec<(String, MigHashInput)> {
    let spec = |start, len, skips: Vec<u16>| SubsystemSpec {
        start,
        len,
        reversed: false,
        maxsize: 1024,
        skips,
        max_reply_msg: 44,
        reply_descr_count: 0,
    };
    let mut real = Vec::new();
    for s in kobject::ipc_kobject_mig::kernel_subsystems() {
        let skips: Vec<u16> = s
            .routines
            .iter()
            .enumerate()
            .filter(|(_, d)| d.kind == MigKind::Skip)
            .map(|(j, _)| j as u16)
            .collect();
        let start = match u16::try_from(s.start) {
            Ok(v) => Start::Small(v),
            Err(_) => Start::Raw(s.start),
        };
        real.push(spec(start, (s.end - s.start) as u16, skips));
    }
    // The real table has 19 subsystems; the input keeps the first SUBSYSTEMS_MAX of them.
    real.truncate(SUBSYSTEMS_MAX);
    let one = |specs: Vec<SubsystemSpec>| MigHashInput {
        subsystems: specs,
        queries: vec![3400, 4800, 1031 + 3400],
    };
    let mut duplicate = spec(Start::Small(100), 10, Vec::new());
    duplicate.len = 10;
    let full: Vec<SubsystemSpec> = (0..5)
        .map(|i| spec(Start::Small(1 + 256 * i), 256, Vec::new()))
        .collect();
    let mut zero_size = spec(Start::Small(500), 3, vec![0]);
    zero_size.max_reply_msg = 0;
    let mut many_rdesc = spec(Start::Small(600), 3, Vec::new());
    many_rdesc.reply_descr_count = 33;
    let mut reversed = spec(Start::Small(700), 3, Vec::new());
    reversed.reversed = true;
    let mut too_large = spec(Start::Small(800), 3, Vec::new());
    too_large.maxsize = 16384;
    vec![
        ("real-kernel-table-head".to_string(), one(real)),
        (
            "small-clean".to_string(),
            one(vec![spec(Start::Small(3400), 66, vec![3, 9])]),
        ),
        (
            "duplicate-id".to_string(),
            one(vec![duplicate.clone(), duplicate]),
        ),
        ("table-full".to_string(), one(full)),
        ("zero-reply-size".to_string(), one(vec![zero_size])),
        (
            "too-many-reply-descriptors".to_string(),
            one(vec![many_rdesc]),
        ),
        ("reversed-range".to_string(), one(vec![reversed])),
        (
            "start-zero".to_string(),
            one(vec![spec(Start::Small(0), 3, Vec::new())]),
        ),
        ("replies-too-large".to_string(), one(vec![too_large])),
        (
            "reversed-near-int-min".to_string(),
            one(vec![SubsystemSpec {
                reversed: true,
                ..spec(Start::Raw(i32::MIN + 1), 5, Vec::new())
            }]),
        ),
        (
            "negative-ids".to_string(),
            one(vec![spec(Start::Raw(-3), 6, Vec::new())]),
        ),
    ]
}
