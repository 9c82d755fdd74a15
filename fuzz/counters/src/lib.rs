//! libFuzzer's extra counters: bytes in the `__libfuzzer_extra_counters` section, which libFuzzer
//! (on Linux) clears before every run and reads after it as coverage, beside the edge counters.
//! A target marks a feature it observed with [`hit`]; an input that marks one no input marked
//! before is kept, as one that reaches a new edge is.
//!
//! Outside a libFuzzer binary nothing reads the section, and [`hit`] only sets a byte.
#![deny(unsafe_code)]

use std::sync::atomic::{AtomicU8, Ordering};

/// Counters: a power of two, so a feature picks one with a mask.
pub const COUNTERS: usize = 1 << 14;

#[allow(unsafe_code)] // `link_section` is all: no unsafe operation.
#[used]
#[link_section = "__libfuzzer_extra_counters"]
static EXTRA_COUNTERS: [AtomicU8; COUNTERS] = [const { AtomicU8::new(0) }; COUNTERS];

/// Marks feature `f` (any number: its low bits pick the counter) as seen in this run.
pub fn hit(f: u32) {
    EXTRA_COUNTERS[f as usize & (COUNTERS - 1)].store(1, Ordering::Relaxed);
}

/// Whether feature `f`'s counter is marked (for tests).
pub fn is_hit(f: u32) -> bool {
    EXTRA_COUNTERS[f as usize & (COUNTERS - 1)].load(Ordering::Relaxed) != 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_hit_marks_its_counter_only() {
        let f = 0x1234_5678;
        assert!(!super::is_hit(f ^ 1));
        super::hit(f);
        assert!(super::is_hit(f));
        assert!(super::is_hit(f + super::COUNTERS as u32));
        assert!(!super::is_hit(f ^ 1));
    }
}
