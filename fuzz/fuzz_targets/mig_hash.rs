//! libFuzzer shell of `kobject_fuzz::mig_hash::run_mig_hash`.
#![no_main]

use kobject_fuzz::mig_hash::{run_mig_hash, MigHashInput};
use kobject_fuzz::shell;

libfuzzer_sys::fuzz_target!(init: shell::init(), |input: MigHashInput| {
    shell::report(run_mig_hash(&input, shell::bugs()));
});
