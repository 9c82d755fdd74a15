//! Seed expansion: a user's `--seed` becomes independent ChaCha streams, one per iteration (the
//! scenario parameters), one per block (the scheduler's seed) and, for a `sched_race` input whose
//! choice bytes ran out, one per input (the remaining scheduling choices).
//!
//! ChaCha is specified bit for bit, so a seed means the same run on every machine and with every
//! `--jobs`; the domain word keeps the parameter and scheduler streams from ever overlapping.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a stream is for; part of the ChaCha key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
enum Domain {
    Params = 1,
    Scheduler = 2,
    Choices = 3,
    Inputs = 4,
}

fn stream(seed: u64, domain: Domain, index: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&(domain as u64).to_le_bytes());
    let mut rng = ChaCha8Rng::from_seed(key);
    rng.set_stream(index);
    rng
}

/// The random source scenario parameters are drawn from, for one iteration.
pub struct ParamRng(ChaCha8Rng);

impl ParamRng {
    pub fn new(seed: u64, iteration: u64) -> ParamRng {
        ParamRng(stream(seed, Domain::Params, iteration))
    }

    /// A value in `0..n` (`n` > 0). The modulo bias is below 2^-32 for the small `n` used here.
    pub fn below(&mut self, n: u32) -> u32 {
        assert!(n > 0, "below(0)");
        let v = (self.0.next_u64() % u64::from(n)) as u32;
        debug_assert!(v < n);
        v
    }

    /// A value in `lo..=hi`.
    pub fn between(&mut self, lo: u32, hi: u32) -> u32 {
        assert!(lo <= hi, "between({lo}, {hi})");
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u32, den: u32) -> bool {
        assert!(num <= den && den > 0);
        self.below(den) < num
    }
}

/// The scheduling choices a `sched_race` input makes once its own bytes are used up.
#[derive(Debug)]
pub struct ChoiceRng(ChaCha8Rng);

impl ChoiceRng {
    pub fn new(seed: u64, iteration: u64) -> ChoiceRng {
        ChoiceRng(stream(seed, Domain::Choices, iteration))
    }

    /// A value in `0..n` (`n` > 0); the modulo bias is below 2^-32 for thread counts.
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "below(0)");
        let v = (self.0.next_u64() % n as u64) as usize;
        debug_assert!(v < n);
        v
    }
}

/// Random fuzz inputs for the in-process engines of `kobjsim bugs` (no coverage guidance): one
/// stream per attempt seed.
#[derive(Debug)]
pub struct InputRng(ChaCha8Rng);

impl InputRng {
    pub fn new(seed: u64) -> InputRng {
        InputRng(stream(seed, Domain::Inputs, 0))
    }

    /// A byte string of a length in `0..=len_max`.
    pub fn bytes(&mut self, len_max: usize) -> Vec<u8> {
        let len = (self.0.next_u64() % (len_max as u64 + 1)) as usize;
        let out = self.exactly(len);
        assert!(out.len() <= len_max);
        out
    }

    /// A byte string of `len` bytes.
    pub fn exactly(&mut self, len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        self.0.fill_bytes(&mut out);
        out
    }
}

/// The seed of the shuttle scheduler that runs block `block`.
pub fn scheduler_seed(seed: u64, block: u64) -> u64 {
    stream(seed, Domain::Scheduler, block).next_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_stable_and_distinct() {
        let a: Vec<u32> = (0..8).map(|_| ParamRng::new(7, 3).below(1000)).collect();
        assert!(
            a.windows(2).all(|w| w[0] == w[1]),
            "same stream, same first value"
        );
        let mut r1 = ParamRng::new(7, 3);
        let mut r2 = ParamRng::new(7, 4);
        let x: Vec<u32> = (0..8).map(|_| r1.below(1 << 30)).collect();
        let y: Vec<u32> = (0..8).map(|_| r2.below(1 << 30)).collect();
        assert_ne!(x, y);
        assert_ne!(scheduler_seed(7, 0), scheduler_seed(7, 1));
        assert_eq!(scheduler_seed(7, 0), scheduler_seed(7, 0));
    }
}
