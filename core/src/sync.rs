//! The one module that names `std::sync`, `parking_lot` and `shuttle::sync`: the model's locks
//! and atomics.
//!
//! A kernel is built for a [`Platform`]. `Native` uses std's primitives and runs at full speed
//! anywhere (unit tests, fuzzing). `Shuttle` (feature `shuttle`) uses shuttle's primitives, so
//! that every lock and atomic the model takes is a scheduling point the simulator controls; those
//! primitives panic outside a shuttle execution, so only the simulator builds such kernels.
//!
//! Why a value chosen at run time, not a cargo feature that swaps the types: `cargo test
//! --workspace` unifies features, so the simulator's `shuttle` feature would turn every kobject
//! unit test into code that panics outside shuttle. With a run-time choice both worlds live in one
//! build; the cost is one predictable branch per lock operation (measured in `benches`).
//!
//! shuttle treats every atomic as `SeqCst`; the orderings written here are XNU's, and only matter
//! natively. See ARCHITECTURE.md ("lazy allocation and memory ordering").

use std::ops::{Deref, DerefMut};
use std::sync::atomic::Ordering;

/// Which primitives a kernel's locks and atomics are built on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    Native,
    #[cfg(feature = "shuttle")]
    Shuttle,
}

/// A lock that a finding unwinding through a holder never blocks: the run is over anyway, and the
/// auditor may still want to read the state. Natively it is `parking_lot`'s, which has no
/// poisoning to check: an uncontended lock and unlock are one atomic each, and no panic-count
/// read (whose comparison a fuzz build would otherwise trace on every lock).
pub struct Mutex<T> {
    inner: MutexInner<T>,
}

enum MutexInner<T> {
    Native(parking_lot::Mutex<T>),
    #[cfg(feature = "shuttle")]
    Shuttle(shuttle::sync::Mutex<T>),
}

pub enum MutexGuard<'a, T> {
    Native(parking_lot::MutexGuard<'a, T>),
    #[cfg(feature = "shuttle")]
    Shuttle(shuttle::sync::MutexGuard<'a, T>),
}

impl<T> Mutex<T> {
    pub fn new(platform: Platform, value: T) -> Mutex<T> {
        let inner = match platform {
            Platform::Native => MutexInner::Native(parking_lot::Mutex::new(value)),
            #[cfg(feature = "shuttle")]
            Platform::Shuttle => MutexInner::Shuttle(shuttle::sync::Mutex::new(value)),
        };
        Mutex { inner }
    }

    pub fn lock(&self) -> MutexGuard<'_, T> {
        match &self.inner {
            MutexInner::Native(m) => MutexGuard::Native(m.lock()),
            #[cfg(feature = "shuttle")]
            MutexInner::Shuttle(m) => {
                MutexGuard::Shuttle(m.lock().unwrap_or_else(|e| e.into_inner()))
            }
        }
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self {
            MutexGuard::Native(g) => g,
            #[cfg(feature = "shuttle")]
            MutexGuard::Shuttle(g) => g,
        }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        match self {
            MutexGuard::Native(g) => g,
            #[cfg(feature = "shuttle")]
            MutexGuard::Shuttle(g) => g,
        }
    }
}

macro_rules! platform_atomic {
    ($name:ident, $int:ty, $std:ident) => {
        /// An atomic integer that is a scheduling point under shuttle.
        pub enum $name {
            Std(std::sync::atomic::$std),
            #[cfg(feature = "shuttle")]
            Shuttle(shuttle::sync::atomic::$std),
        }

        impl $name {
            pub fn new(platform: Platform, v: $int) -> $name {
                match platform {
                    Platform::Native => $name::Std(std::sync::atomic::$std::new(v)),
                    #[cfg(feature = "shuttle")]
                    Platform::Shuttle => $name::Shuttle(shuttle::sync::atomic::$std::new(v)),
                }
            }

            pub fn load(&self, order: Ordering) -> $int {
                match self {
                    $name::Std(a) => a.load(order),
                    #[cfg(feature = "shuttle")]
                    $name::Shuttle(a) => a.load(order),
                }
            }

            pub fn store(&self, v: $int, order: Ordering) {
                match self {
                    $name::Std(a) => a.store(v, order),
                    #[cfg(feature = "shuttle")]
                    $name::Shuttle(a) => a.store(v, order),
                }
            }

            pub fn compare_exchange(
                &self,
                current: $int,
                new: $int,
                success: Ordering,
                failure: Ordering,
            ) -> Result<$int, $int> {
                match self {
                    $name::Std(a) => a.compare_exchange(current, new, success, failure),
                    #[cfg(feature = "shuttle")]
                    $name::Shuttle(a) => a.compare_exchange(current, new, success, failure),
                }
            }

            pub fn swap(&self, v: $int, order: Ordering) -> $int {
                match self {
                    $name::Std(a) => a.swap(v, order),
                    #[cfg(feature = "shuttle")]
                    $name::Shuttle(a) => a.swap(v, order),
                }
            }

            /// Applies `f` atomically (a compare-exchange loop); returns the previous value, or
            /// `Err(previous)` when `f` declines.
            pub fn fetch_update(&self, f: impl FnMut($int) -> Option<$int>) -> Result<$int, $int> {
                match self {
                    $name::Std(a) => a.fetch_update(Ordering::AcqRel, Ordering::Acquire, f),
                    #[cfg(feature = "shuttle")]
                    $name::Shuttle(a) => a.fetch_update(Ordering::AcqRel, Ordering::Acquire, f),
                }
            }
        }
    };
}

platform_atomic!(AtomicU32, u32, AtomicU32);
platform_atomic!(AtomicU64, u64, AtomicU64);

/// Bookkeeping state that is never a scheduling point: the arenas' free lists and the auditor's
/// event log. Safe under shuttle because no shuttle operation runs while it is held, so a
/// simulated thread is never switched out holding it. `parking_lot`'s lock, for the reasons
/// [`Mutex`] gives: it is taken several times per scheduling step.
pub struct BookLock<T>(parking_lot::Mutex<T>);

impl<T> BookLock<T> {
    pub fn new(value: T) -> BookLock<T> {
        BookLock(parking_lot::Mutex::new(value))
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.0.lock())
    }

    /// The state, through exclusive access: no lock taken.
    #[inline]
    pub fn get_mut(&mut self) -> &mut T {
        self.0.get_mut()
    }
}

/// A plain word that is never a scheduling point (port generations, `io_bits`).
pub type BookU32 = std::sync::atomic::AtomicU32;
pub type BookU64 = std::sync::atomic::AtomicU64;
pub type BookOnce<T> = std::sync::OnceLock<T>;
pub use std::sync::atomic::Ordering as MemOrder;
pub use std::sync::Arc;
