#!/bin/sh
# cargo's rustc wrapper for this workspace (.cargo/config.toml): runs `rustc ARGS`, changed in
# fuzz builds only (every other build passes through unchanged):
# - an invocation carrying `-Zsanitizer=...` (cargo fuzz's default AddressSanitizer build) gets
#   RUSTC_BOOTSTRAP=1, so a stable toolchain accepts it as nightly does. Stable ships the
#   sanitizer runtimes; only the flag is gated.
# - coverage instrumentation (`-Cpasses=sancov-module`, which cargo fuzz puts in RUSTFLAGS for
#   every crate) is kept only for this workspace's own crates. A dependency (serde, shuttle,
#   arbitrary, ...) is built without it: the fuzzer has nothing to learn from their edges and
#   comparisons, and each instrumented edge costs every execution (libFuzzer scans all counters
#   after each run). KOBJSIM_INSTRUMENT_DEPS=1 instruments them as cargo fuzz would.
#   The workspace's `kobject-unguided` (unguided/) is treated as a dependency: it is where the
#   ledger's audit and the kernel's boot and disposal are generated, code the fuzzer learns
#   nothing from (see unguided/src/lib.rs).
# - every crate is built with `-Zub-checks=no` (and RUSTC_BOOTSTRAP=1, as the flag is unstable):
#   cargo fuzz's builds turn on debug assertions, which in std also turn on the precondition
#   checks of its unsafe functions (a pointer's alignment before each dereference, a slice's
#   length, ...), inlined into the workspace's code as traced comparisons and edges. The
#   workspace forbids unsafe code, so they can only check std itself; debug assertions and
#   overflow checks stay on. KOBJSIM_UB_CHECKS=1 keeps them.
# cargo does not rebuild a crate when the wrapper changes: remove the fuzz target directory to
# switch either setting.
# A crate is the workspace's own when cargo builds it from a manifest under this repository.
rustc="$1"
shift
root="$(cd "$(dirname "$0")/.." && pwd -P)"
sancov=0
for arg in "$@"; do
  case "$arg" in
    -Zsanitizer=*)
      RUSTC_BOOTSTRAP=1
      export RUSTC_BOOTSTRAP
      ;;
    -Cpasses=sancov-module) sancov=1 ;;
  esac
done
own=0
case "${CARGO_MANIFEST_DIR:-}" in
  "$root"/unguided) ;;
  "$root" | "$root"/*) own=1 ;;
esac
if [ "$sancov" = 1 ] && [ "$own" = 0 ] && [ "${KOBJSIM_INSTRUMENT_DEPS:-0}" != 1 ]; then
  for arg in "$@"; do
    shift
    case "$arg" in
      -Cpasses=sancov-module | -Cllvm-args=-sanitizer-coverage-*) continue ;;
    esac
    set -- "$@" "$arg"
  done
fi
if [ "$sancov" = 1 ] && [ "${KOBJSIM_UB_CHECKS:-0}" != 1 ]; then
  RUSTC_BOOTSTRAP=1
  export RUSTC_BOOTSTRAP
  set -- "$@" -Zub-checks=no
fi
exec "$rustc" "$@"
