//! libFuzzer shell of `kobject_fuzz::mig_dispatch::run_mig_dispatch`.
#![no_main]

use kobject_fuzz::mig_dispatch::{run_mig_dispatch, MigDispatchInput};
use kobject_fuzz::shell;

libfuzzer_sys::fuzz_target!(init: shell::init(), |input: MigDispatchInput| {
    shell::report(run_mig_dispatch(&input, shell::bugs()));
});
