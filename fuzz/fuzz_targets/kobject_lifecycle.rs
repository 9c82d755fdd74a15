//! libFuzzer shell of `kobject_fuzz::kobject_lifecycle::run_kobject_lifecycle`.
#![no_main]

use kobject_fuzz::kobject_lifecycle::{run_kobject_lifecycle, LifecycleInput};
use kobject_fuzz::shell;

libfuzzer_sys::fuzz_target!(init: shell::init(), |input: LifecycleInput| {
    shell::report(run_kobject_lifecycle(&input, shell::bugs()));
});
