//! libFuzzer shell of `kobjsim::fuzzing::artifact_parse::run_artifact_parse`.
#![no_main]

use kobject_fuzz::artifact_parse::run_artifact_parse;
use kobject_fuzz::shell;

libfuzzer_sys::fuzz_target!(init: shell::init(), |data: &[u8]| {
    shell::report(run_artifact_parse(data));
});
