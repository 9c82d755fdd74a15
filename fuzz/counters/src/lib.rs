//! libFuzzer's extra counters: bytes in the `__libfuzzer_extra_counters` section, which libFuzzer
//! (on Linux) clears before every run and reads after it as coverage, beside the edge counters.
//! A target marks a feature it observed with [`hit`]; an input that marks one no input marked
//! before is kept, as one that reaches a new edge is.
//!
//! Outside a libFuzzer binary nothing reads the section, and [`hit`] only sets a byte.
#![deny(unsafe_code)]

use std::sync::atomic::{AtomicU8, Ordering};

/// log2 of the number of counters.
const BITS: u32 = 12;

/// Counters: 4 KiB, which libFuzzer clears and scans after every run, whether one is hit or
/// not. The committed `mig_dispatch` corpus marks 117 distinct states, and their features keep
/// 116 counters here (the earlier 16 KiB, picked by the low bits, kept 113).
pub const COUNTERS: usize = 1 << BITS;

#[allow(unsafe_code)] // `link_section` is all: no unsafe operation.
#[used]
#[link_section = "__libfuzzer_extra_counters"]
static EXTRA_COUNTERS: [AtomicU8; COUNTERS] = [const { AtomicU8::new(0) }; COUNTERS];

/// The counter of feature `f`: its top bits. Features are multiplicative hashes, whose top bits
/// depend on every bit of what was hashed, and whose low bits only on its low bits.
fn counter(f: u32) -> usize {
    (f >> (32 - BITS)) as usize
}

/// Marks feature `f` (a multiplicative hash: its top bits pick the counter) as seen in this run.
pub fn hit(f: u32) {
    EXTRA_COUNTERS[counter(f)].store(1, Ordering::Relaxed);
}

/// Whether feature `f`'s counter is marked (for tests).
pub fn is_hit(f: u32) -> bool {
    EXTRA_COUNTERS[counter(f)].load(Ordering::Relaxed) != 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_hit_marks_its_counter_only() {
        let f = 0x1234_5678;
        let next = f ^ (1 << (32 - super::BITS));
        assert!(!super::is_hit(next));
        super::hit(f);
        assert!(super::is_hit(f));
        // The low bits do not pick a counter; the top bits do.
        assert!(super::is_hit(f ^ 1));
        assert!(!super::is_hit(next));
    }
}
