//! libFuzzer shell of `kobjsim::fuzzing::sched_race::run_sched_race`.
#![no_main]

use kobject_fuzz::sched_race::run_sched_race;
use kobject_fuzz::shell;

libfuzzer_sys::fuzz_target!(init: shell::init(), |data: &[u8]| {
    shell::report(run_sched_race(data, shell::bugs()));
});
