#!/usr/bin/env bash
# The fuzzers' share of CI: the README's `cargo fuzz run mig_dispatch` starts on the committed
# corpus (default toolchain, and nightly where present); every target builds (stable, -s none)
# and fuzzes briefly on the faithful model from its committed corpus; every committed input and
# regression replays on stable; each injected bug is found by the target meant to find it.
# usage: scripts/fuzz-ci.sh [SECONDS]   (per target, default 10)
# Exit status: 0 all good, 1 a crash, a failed replay or a missed bug, 2 a usage error.
set -euo pipefail
seconds="${1:-10}"
[[ "$seconds" =~ ^[1-9][0-9]*$ && $# -le 1 ]] || {
  echo "usage: scripts/fuzz-ci.sh [SECONDS]" >&2
  exit 2
}
cd "$(dirname "$0")/.."
source scripts/fuzz-env.sh
export KOBJSIM_FUZZ_MODE=none
unset KOBJSIM_BUG
fuzz_setup
# New inputs these short runs find land in corpus/mig_dispatch under SHA-1 names, which
# corpus/.gitignore keeps out of commits.
echo "fuzz-ci: cargo fuzz run mig_dispatch (AddressSanitizer, default toolchain)" >&2
cargo fuzz run mig_dispatch -- -runs=2000
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "fuzz-ci: cargo +nightly fuzz run mig_dispatch" >&2
  cargo +nightly fuzz run mig_dispatch -- -runs=2000
fi
# The single-threaded targets link only what they run: no shuttle, no proptest (fuzz/Cargo.toml).
lean="$(cargo tree -q -p kobject-fuzz-targets -e normal --prefix none | grep -E '^(shuttle|proptest)' || true)"
if [[ -n "$lean" ]]; then
  echo "fuzz-ci: the single-threaded fuzz targets depend on:" >&2
  echo "$lean" >&2
  exit 1
fi
for target in "${FUZZ_TARGETS[@]}"; do
  scripts/fuzz.sh "$target" "$seconds"
done
cargo test -q --release -p kobject-fuzz
scripts/fuzz-detect.sh 30
