//! Panic-hook plumbing: keeps the expected panics of a simulated run (findings unwinding to
//! `kobject::catch`, shuttle's own failure reports) off the terminal, and remembers where the last
//! one fired so a model bug can say where it was.
//!
//! shuttle installs its hook at its first execution in a process, wrapping the hook in place then,
//! and prints a failure banner from it for every panic inside an execution. Ours must wrap
//! shuttle's to silence that too, so [`install`] runs one trivial execution first (where the
//! simulator is built: without feature `sim` no shuttle hook comes).

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic;
use std::sync::Once;

#[cfg(feature = "sim")]
use shuttle::{scheduler::RandomScheduler, Runner};

thread_local! {
    /// Set while this OS thread runs simulations: panics are expected and reported as values.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs the hook once per process. Every entry point calls it before simulating.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        #[cfg(feature = "sim")]
        Runner::new(
            RandomScheduler::new_from_seed(0, 1),
            crate::explore::shuttle_config(),
        )
        .run(|| {});
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            // A finding is always caught (`kobject::catch`) and reported as a value; in front of
            // shuttle's hook, which would otherwise report it as a failed task even outside an
            // execution (a native run, a fuzz target's expected XNU panic).
            let finding = info.payload().downcast_ref::<kobject::Finding>().is_some();
            if QUIET.get() || finding {
                let location = info.location().map(|l| l.to_string());
                LAST_LOCATION.with(|last| *last.borrow_mut() = location);
                return;
            }
            previous(info);
        }));
    });
}

/// Runs `f` with panics on this thread silenced (they are caught and reported by the caller).
pub fn quietly<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            QUIET.set(self.0);
        }
    }
    let _restore = Restore(QUIET.replace(true));
    f()
}

/// Where the last silenced panic on this thread fired.
pub fn last_panic_location() -> Option<String> {
    LAST_LOCATION.with(|last| last.borrow().clone())
}

/// The text of a panic payload (`&str` or `String`), for reports.
pub fn payload_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}
