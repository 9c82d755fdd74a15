//! libFuzzer shell of `kobject_fuzz::mig_dispatch::run_mig_dispatch` (with routine reach when
//! `KOBJSIM_REACH_FILE` is set).
#![no_main]

use kobject_fuzz::mig_dispatch::MigDispatchInput;
use kobject_fuzz::shell;

libfuzzer_sys::fuzz_target!(init: shell::init(), |input: MigDispatchInput| {
    shell::report(shell::mig_dispatch(&input));
});
