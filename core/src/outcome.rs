//! Findings: the typed outcomes that stop a run (an XNU kernel panic, an invariant violation).
//!
//! A `panic()` that XNU itself would reach is a [`Finding`] of kind [`FindingKind::KernelPanic`]
//! carrying XNU's message. A broken invariant is [`FindingKind::Violation`] or
//! [`FindingKind::UseAfterFree`]. Both travel by unwinding (`std::panic::panic_any`), as a kernel
//! panic stops the whole machine; [`catch`] turns them back into values. Any other Rust panic is a
//! bug in the model itself, and [`catch`] reports it as [`FindingKind::ModelBug`].

use std::fmt;
use std::panic::{self, AssertUnwindSafe};

/// What kind of finding stopped the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingKind {
    /// XNU would have called `panic()` here; the message is XNU's.
    KernelPanic,
    /// A conservation, ownership or contract invariant does not hold.
    Violation,
    /// A port or kernel object was touched after its final reference was released.
    UseAfterFree,
    /// Our own model broke one of its assertions: a bug in kobjsim, not in the modelled kernel.
    ModelBug,
}

impl FindingKind {
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::KernelPanic => "kernel-panic",
            FindingKind::Violation => "violation",
            FindingKind::UseAfterFree => "use-after-free",
            FindingKind::ModelBug => "model-bug",
        }
    }
}

/// A typed, reportable outcome. `invariant` is a short stable name (for tables and artifacts);
/// `message` says what was seen, with the port, the counts and the XNU function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub kind: FindingKind,
    pub invariant: &'static str,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} [{}]: {}",
            self.kind.name(),
            self.invariant,
            self.message
        )
    }
}

impl std::error::Error for Finding {}

impl Finding {
    pub fn kernel_panic(message: String) -> Finding {
        Finding {
            kind: FindingKind::KernelPanic,
            invariant: "xnu-panic",
            message,
        }
    }

    pub fn violation(invariant: &'static str, message: String) -> Finding {
        Finding {
            kind: FindingKind::Violation,
            invariant,
            message,
        }
    }

    pub fn use_after_free(message: String) -> Finding {
        Finding {
            kind: FindingKind::UseAfterFree,
            invariant: "use-after-free",
            message,
        }
    }

    /// Stops the run with this finding (unwinds to the nearest [`catch`]).
    pub fn raise(self) -> ! {
        panic::panic_any(self)
    }
}

/// Reports a `panic()` XNU itself would reach, with XNU's message.
#[macro_export]
macro_rules! xnu_panic {
    ($($arg:tt)*) => {
        $crate::outcome::Finding::kernel_panic(format!($($arg)*)).raise()
    };
}

/// Runs `f`, turning an unwinding [`Finding`] (or any other panic, as a model bug) into `Err`.
///
/// The default panic hook would print every finding as if it were a crash; [`quiet_findings`]
/// installs a hook that stays silent for findings and keeps the default for model bugs.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, Finding> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(finding_from_payload)
}

/// Converts a panic payload into a finding: our own [`Finding`]s pass through, anything else is
/// a bug in the model.
pub fn finding_from_payload(payload: Box<dyn std::any::Any + Send>) -> Finding {
    match payload.downcast::<Finding>() {
        Ok(finding) => *finding,
        Err(payload) => {
            let message = if let Some(s) = payload.downcast_ref::<&str>() {
                (*s).to_string()
            } else if let Some(s) = payload.downcast_ref::<String>() {
                s.clone()
            } else {
                "non-string panic payload".to_string()
            };
            Finding {
                kind: FindingKind::ModelBug,
                invariant: "model-assertion",
                message,
            }
        }
    }
}

/// Installs (once per process) a panic hook that does not print [`Finding`] payloads, so a harness
/// that catches findings keeps its output clean. Other panics still print through the previous hook.
pub fn quiet_findings() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<Finding>().is_none() {
                previous(info);
            }
        }));
    });
}

/// Reports a failed XNU `assert()`: a DEVELOPMENT/DEBUG kernel panics there, so the model does
/// too (the harness models a debug kernel).
#[macro_export]
macro_rules! xnu_assert {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            $crate::outcome::Finding {
                kind: $crate::outcome::FindingKind::KernelPanic,
                invariant: "xnu-assert",
                message: format!("assertion failed: {}: {}", stringify!($cond), format!($($arg)*)),
            }
            .raise()
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catch_returns_kernel_panic_with_xnu_message() {
        quiet_findings();
        let r: Result<(), Finding> =
            catch(|| xnu_panic!("trying to register kobject({}) twice", 9));
        let f = r.unwrap_err();
        assert_eq!(f.kind, FindingKind::KernelPanic);
        assert_eq!(f.message, "trying to register kobject(9) twice");
    }

    #[test]
    fn catch_reports_foreign_panic_as_model_bug() {
        quiet_findings();
        let prev = panic::take_hook();
        panic::set_hook(Box::new(|_| {}));
        let r: Result<(), Finding> = catch(|| panic!("boom"));
        panic::set_hook(prev);
        let f = r.unwrap_err();
        assert_eq!(f.kind, FindingKind::ModelBug);
        assert_eq!(f.message, "boom");
    }
}
