#!/usr/bin/env bash
# The fuzzers' share of CI: build every target (stable, -s none), fuzz each briefly on the
# faithful model from its committed corpus, replay every committed input and regression on
# stable, and check mig_dispatch still finds each injected bug it is meant to find.
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
for target in "${FUZZ_TARGETS[@]}"; do
  scripts/fuzz.sh "$target" "$seconds"
done
cargo test -q --release -p kobject-fuzz
scripts/fuzz-detect.sh 30
