# shellcheck shell=bash
# Shared by the fuzz scripts (sourced, not run): the target list and how to call cargo fuzz.
# Nightly with AddressSanitizer where `rustup toolchain list` shows a nightly, else stable with
# `-s none`; each mode builds into its own target directory so switching keeps both caches.

FUZZ_TARGETS=(mig_dispatch kobject_lifecycle mig_hash sched_race artifact_parse)

fuzz_is_target() {
  local t
  for t in "${FUZZ_TARGETS[@]}" empty; do
    [[ "$t" == "$1" ]] && return 0
  done
  return 1
}

fuzz_setup() {
  if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "fuzz: cargo-fuzz is missing; installing it (cargo install cargo-fuzz --locked)" >&2
    cargo install cargo-fuzz --locked
  fi
  if [[ "${KOBJSIM_FUZZ_MODE:-}" != "none" ]] && command -v rustup >/dev/null 2>&1 \
    && rustup toolchain list | grep -q '^nightly'; then
    FUZZ_CARGO=(cargo +nightly fuzz)
    FUZZ_FLAGS=(--target-dir target/fuzz-asan)
    FUZZ_MODE="nightly + AddressSanitizer"
  else
    FUZZ_CARGO=(cargo fuzz)
    FUZZ_FLAGS=(-s none --target-dir target/fuzz-none)
    FUZZ_MODE="stable, no sanitizer (-s none)"
  fi
}

# Sets FUZZ_FEATURES to the cargo features TARGET's binary needs: the simulator's targets run
# shuttle and read artifacts (feature `sim` of kobject-fuzz-targets, fuzz/Cargo.toml); the others
# build without it, so their binaries link neither shuttle nor proptest.
fuzz_features() {
  case "$1" in
    sched_race | artifact_parse) FUZZ_FEATURES=(--features sim) ;;
    *) FUZZ_FEATURES=() ;;
  esac
}

# After fuzz_setup: build without comparison tracing, into a directory of its own.
fuzz_no_trace_compares() {
  FUZZ_FLAGS[-1]="${FUZZ_FLAGS[-1]}-nocmp"
  FUZZ_FLAGS=(--no-trace-compares "${FUZZ_FLAGS[@]}")
  FUZZ_MODE="$FUZZ_MODE, no comparison tracing"
}

# The dictionary option for a target, if it has one.
fuzz_dict_args() {
  if [[ -f "fuzz/$1.dict" ]]; then
    echo "-dict=fuzz/$1.dict"
  fi
}

# After fuzz_setup: builds TARGET... (quietly; cargo's output on failure) and sets FUZZ_BIN_DIR
# to where the binaries are.
fuzz_build() {
  local t log
  # shellcheck disable=SC2034 # read by the scripts that source this file
  FUZZ_BIN_DIR="${FUZZ_FLAGS[-1]}/x86_64-unknown-linux-gnu/release"
  log="$(mktemp)"
  for t in "$@"; do
    fuzz_features "$t"
    if ! "${FUZZ_CARGO[@]}" build "${FUZZ_FLAGS[@]}" "${FUZZ_FEATURES[@]}" "$t" >"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      echo "fuzz: building $t failed" >&2
      return 1
    fi
  done
  rm -f "$log"
}

# The seeds a target starts from: its committed corpus; the empty target gets mig_dispatch's.
fuzz_seeds() {
  if [[ $1 == empty ]]; then echo corpus/mig_dispatch; else echo "corpus/$1"; fi
}

# One of libFuzzer's final statistics (-print_final_stats=1) from a log, or DEFAULT (0):
# fuzz_stat NAME LOG [DEFAULT]
fuzz_stat() {
  grep -o "stat::$1:[[:space:]]*[0-9]*" "$2" | grep -o '[0-9]*$' || echo "${3:-0}"
}
