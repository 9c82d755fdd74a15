//! The `kobject_lifecycle` target: the seed's functions called directly, in any order their
//! callers in XNU may use them, compared after every step with core's reference model
//! (`kobject::reference_model`) and audited by the ledger.
//!
//! This file only decodes: the bytes are (by `arbitrary`) a list of drawn steps,
//! `Transition<u8>`, whose index picks among the ports or objects the step is legal on now
//! (`RefState::resolve`), so most inputs are legal; a step legal on none is skipped. The model,
//! its preconditions and the comparison are core's.

use arbitrary::{Arbitrary, Unstructured};
use kobject::mach::*;
use kobject::reference_model::{lazy_cycle, PlainType, RefState, Runner, Stats, Transition};
use kobject::{Bugs, Finding};

use crate::codec::{encode_variant, take_rest_vec, Encode};

/// Steps in one input; the rest of a longer input is ignored.
pub const LIFECYCLE_STEPS_MAX: usize = 48;

/// A whole `kobject_lifecycle` input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LifecycleInput {
    pub steps: Vec<Transition<u8>>,
}

impl<'a> Arbitrary<'a> for LifecycleInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let rest = u.bytes(u.len())?;
        Self::arbitrary_take_rest(Unstructured::new(rest))
    }

    fn arbitrary_take_rest(u: Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(LifecycleInput {
            steps: take_rest_vec(u, LIFECYCLE_STEPS_MAX)?,
        })
    }
}

impl LifecycleInput {
    pub fn from_bytes(data: &[u8]) -> LifecycleInput {
        Self::arbitrary_take_rest(Unstructured::new(data))
            .expect("decoding never fails: exhausted bytes read as zeros")
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        assert!(self.steps.len() <= LIFECYCLE_STEPS_MAX);
        let mut out = Vec::new();
        for &step in &self.steps {
            encode_step(step, &mut out);
        }
        out
    }

    /// The input that runs `steps` (each legal where it stands) as written.
    ///
    /// # Panics
    /// On a step that is not legal where it stands.
    pub fn from_transitions(steps: &[Transition]) -> LifecycleInput {
        let mut s = RefState::new();
        let steps = steps
            .iter()
            .map(|&t| {
                let draw = s
                    .draw(t)
                    .unwrap_or_else(|| panic!("{t:?} is not legal here"));
                s.apply(&t);
                draw
            })
            .collect();
        LifecycleInput { steps }
    }
}

/// Variants of `Transition`, in declaration order (what `arbitrary` maps a selector to).
pub const TRANSITION_VARIANTS: u32 = 26;

/// A plain type as the variant selector `arbitrary` reads it from.
struct PlainTypeCode(PlainType);

impl Encode for PlainTypeCode {
    fn encode(&self, out: &mut Vec<u8>) {
        let count = PlainType::ALL.len() as u32;
        encode_variant(out, self.0 as u32, count);
    }
}

fn fields(values: &[&dyn Encode]) -> Vec<u8> {
    let mut out = Vec::new();
    for value in values {
        value.encode(&mut out);
    }
    out
}

/// Writes a drawn step in the byte format `arbitrary` reads it from.
fn encode_step(step: Transition<u8>, out: &mut Vec<u8>) {
    use Transition::*;
    let (variant, fields) = match step {
        Audit => (0, Vec::new()),
        AllocPlain {
            ty,
            options,
            labeled,
        } => (1, fields(&[&PlainTypeCode(ty), &options, &labeled])),
        CreateLazyObject { voucher } => (2, fields(&[&voucher])),
        LazyConvert { o } => (3, fields(&[&o])),
        DestroyLazyObject { o } => (4, fields(&[&o])),
        MakeSend { p } => (5, fields(&[&p])),
        CopySend { p } => (6, fields(&[&p])),
        ReleaseSend { p } => (7, fields(&[&p])),
        MakeSendOnce { p } => (8, fields(&[&p])),
        ReleaseSendOnce { p, notify } => (9, fields(&[&p, &notify])),
        NsRequest { p, sync } => (10, fields(&[&p, &sync])),
        MakeSendNsRequest { p, locked } => (11, fields(&[&p, &locked])),
        Dealloc { p, with_mscount } => (12, fields(&[&p, &with_mscount])),
        Disable { p } => (13, fields(&[&p])),
        Enable { p } => (14, fields(&[&p])),
        SubstOnce { target } => (15, fields(&[&target])),
        Copyout { w } => (16, fields(&[&w])),
        LabelCheck { p } => (17, fields(&[&p])),
        CreateTask => (18, Vec::new()),
        TerminateTask { task } => (19, fields(&[&task])),
        CreateThread { task } => (20, fields(&[&task])),
        TerminateThread { thread } => (21, fields(&[&thread])),
        Suspend { task } => (22, fields(&[&task])),
        CreateTimer { task } => (23, fields(&[&task])),
        DestroyTimer { p } => (24, fields(&[&p])),
        DestroyPlainObject { o } => (25, fields(&[&o])),
    };
    encode_variant(out, variant, TRANSITION_VARIANTS);
    out.extend(fields);
}

/// Runs one input on a fresh kernel with `bugs`: `Err` is the first disagreement or finding.
pub fn run_kobject_lifecycle(input: &LifecycleInput, bugs: Bugs) -> Result<Stats, Finding> {
    run_kobject_lifecycle_logged(input, bugs, None)
}

/// As [`run_kobject_lifecycle`], appending one line per step to `log`.
pub fn run_kobject_lifecycle_logged(
    input: &LifecycleInput,
    bugs: Bugs,
    mut log: Option<&mut Vec<String>>,
) -> Result<Stats, Finding> {
    assert!(input.steps.len() <= LIFECYCLE_STEPS_MAX);
    let mut runner = Runner::with_unguided(bugs, kobject_unguided::UNGUIDED);
    for (i, &draw) in input.steps.iter().enumerate() {
        if let Some(log) = log.as_deref_mut() {
            match runner.state().resolve(draw) {
                Some(t) => log.push(format!("#{i} {draw:?} -> {t:?}")),
                None => log.push(format!("#{i} {draw:?} -> skipped")),
            }
        }
        let steps = input.steps.len();
        runner
            .step_drawn(draw)
            .map_err(|f| located(f, format!("at step #{i} of {steps}")))?;
    }
    runner
        .finish()
        .map_err(|f| located(f, "at teardown".into()))
}

fn located(f: Finding, place: String) -> Finding {
    Finding {
        message: format!("{place}: {}", f.message),
        ..f
    }
}

/// Seeds: each family of calls in a short legal order.
pub fn seeds() -> Vec<(String, LifecycleInput)> {
    let seq = |name: &str, steps: Vec<Transition>| {
        (name.to_string(), LifecycleInput::from_transitions(&steps))
    };
    vec![
        seq("lazy-cycle", lazy_cycle()),
        seq("voucher-and-send-once", voucher_and_send_once()),
        seq("task-thread-ports", task_thread_ports()),
        seq("task-with-threads", task_with_threads()),
        seq("generic-arm-dealloc", generic_arm_dealloc()),
        seq("timers", timers()),
        seq("labels", labels()),
    ]
}

fn voucher_and_send_once() -> Vec<Transition> {
    use Transition::*;
    vec![
        CreateLazyObject { voucher: true },
        LazyConvert { o: 0 },
        MakeSendOnce { p: 0 },
        ReleaseSendOnce { p: 0, notify: true },
        SubstOnce { target: 0 },
        ReleaseSend { p: 1 },
        LazyConvert { o: 0 },
        NsRequest { p: 0, sync: 0 },
        MakeSendNsRequest { p: 0, locked: true },
        ReleaseSend { p: 0 },
        ReleaseSend { p: 0 },
        DestroyLazyObject { o: 0 },
    ]
}

/// Task 0 (ports 0-3: control, pinned, read, name) and its thread 1 (ports 4-6); a wrapper
/// (port 7) and the resume port (port 8).
fn task_thread_ports() -> Vec<Transition> {
    use Transition::*;
    vec![
        CreateTask,
        CreateThread { task: 0 },
        MakeSend { p: 0 },
        MakeSend { p: 2 },
        MakeSend { p: 4 },
        CopySend { p: 0 },
        SubstOnce { target: 0 },
        Copyout { w: 7 },
        Suspend { task: 0 },
        Suspend { task: 0 },
        ReleaseSendOnce { p: 8, notify: true },
        MakeSendOnce { p: 8 },
        MakeSend { p: 3 },
        TerminateThread { thread: 1 },
        MakeSend { p: 4 },
        TerminateTask { task: 0 },
        MakeSend { p: 3 },
        ReleaseSend { p: 0 },
        ReleaseSendOnce { p: 8, notify: true },
    ]
}

/// Task 0 ends with its two threads (ports 4-6 and 7-9) still running.
fn task_with_threads() -> Vec<Transition> {
    use Transition::*;
    vec![
        CreateTask,
        CreateThread { task: 0 },
        CreateThread { task: 0 },
        MakeSend { p: 7 },
        MakeSendOnce { p: 5 },
        TerminateTask { task: 0 },
        ReleaseSend { p: 7 },
        CreateTask,
    ]
}

/// Plain objects 0-3 with ports 0-3.
fn generic_arm_dealloc() -> Vec<Transition> {
    use Transition::*;
    let alloc = |ty, options| AllocPlain {
        ty,
        options,
        labeled: false,
    };
    let armed = IPC_KOBJECT_ALLOC_MAKE_SEND | IPC_KOBJECT_ALLOC_NSREQUEST;
    vec![
        alloc(PlainType::IokitObject, armed),
        MakeSendNsRequest {
            p: 0,
            locked: false,
        },
        ReleaseSend { p: 0 },
        ReleaseSend { p: 0 },
        alloc(PlainType::Eventlink, 0),
        Disable { p: 1 },
        Enable { p: 1 },
        NsRequest { p: 1, sync: 0 },
        NsRequest { p: 1, sync: 5 },
        Dealloc {
            p: 1,
            with_mscount: false,
        },
        alloc(PlainType::NamedEntry, IPC_KOBJECT_ALLOC_MAKE_SEND),
        ReleaseSend { p: 2 },
        Dealloc {
            p: 2,
            with_mscount: true,
        },
        DestroyPlainObject { o: 2 },
        DestroyPlainObject { o: 0 },
        alloc(PlainType::UndReply, armed),
        DestroyPlainObject { o: 3 },
        ReleaseSend { p: 3 },
    ]
}

/// Task 0 (ports 0-3) and its timers 1 (port 4) and 2 (port 5).
fn timers() -> Vec<Transition> {
    use Transition::*;
    vec![
        CreateTask,
        CreateTimer { task: 0 },
        MakeSend { p: 4 },
        CopySend { p: 4 },
        DestroyTimer { p: 4 },
        CreateTimer { task: 0 },
        MakeSend { p: 5 },
        TerminateTask { task: 0 },
        ReleaseSend { p: 4 },
    ]
}

/// Label checks of labeled and unlabeled plain ports (0-2), and a wrapper (3) copied out.
fn labels() -> Vec<Transition> {
    use Transition::*;
    vec![
        Audit,
        AllocPlain {
            ty: PlainType::IokitConnect,
            options: IPC_KOBJECT_ALLOC_MAKE_SEND,
            labeled: true,
        },
        LabelCheck { p: 0 },
        AllocPlain {
            ty: PlainType::TaskIdToken,
            options: IPC_KOBJECT_ALLOC_MAKE_SEND
                | IPC_KOBJECT_ALLOC_NO_GRANT
                | IPC_KOBJECT_ALLOC_IMMOVABLE_SEND,
            labeled: false,
        },
        LabelCheck { p: 1 },
        AllocPlain {
            ty: PlainType::Semaphore,
            options: IPC_KOBJECT_ALLOC_MAKE_SEND
                | IPC_KOBJECT_ALLOC_NSREQUEST
                | IPC_KOBJECT_ALLOC_PINNED,
            labeled: true,
        },
        SubstOnce { target: 2 },
        Copyout { w: 3 },
        LabelCheck { p: 2 },
    ]
}
