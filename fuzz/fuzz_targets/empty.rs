//! The empty libFuzzer target: the speed ceiling `scripts/bench.sh` compares every target with.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    std::hint::black_box(data);
});
