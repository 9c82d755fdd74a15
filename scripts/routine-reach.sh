#!/usr/bin/env bash
# Routine reach: how many of the table's 345 routines ran their body (their stub's checks passed)
# while mig_dispatch fuzzed for SECONDS, from an empty corpus or from the committed one. The
# fuzz target itself records every routine its executions entered (KOBJSIM_REACH_FILE), so an
# execution counts whether or not libFuzzer kept its input.
# usage: scripts/routine-reach.sh [SECONDS] [--empty] [--seed N]
#   SECONDS  fuzzing time (default 60)
#   --empty  start from nothing (no corpus, no dictionary)
#   --seed N libFuzzer seed (default 1)
# Prints "routines reached: N of 345" and the routines not reached. Exit status: 0, or 2 on usage.
set -euo pipefail
usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
seconds=60
empty=0
seed=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage ;;
    --empty) empty=1; shift ;;
    --seed)
      [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || usage
      seed="$2"
      shift 2
      ;;
    *)
      [[ "$1" =~ ^[1-9][0-9]*$ ]] || { echo "routine-reach: unexpected argument $1" >&2; usage; }
      seconds="$1"
      shift
      ;;
  esac
done
cd "$(dirname "$0")/.."
source scripts/fuzz-env.sh
KOBJSIM_FUZZ_MODE=none fuzz_setup
"${FUZZ_CARGO[@]}" build "${FUZZ_FLAGS[@]}" mig_dispatch >/dev/null 2>&1
cargo build -q --release -p kobject-fuzz --example reach
dir="${FUZZ_FLAGS[-1]}/x86_64-unknown-linux-gnu/release"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
corpora=("$work")
args=(-seed="$seed" -max_total_time="$seconds" -print_final_stats=1)
if [[ $empty -eq 0 ]]; then
  corpora+=("corpus/mig_dispatch")
  args+=("$(fuzz_dict_args mig_dispatch)")
fi
KOBJSIM_REACH_FILE="$work.reach" "$dir/mig_dispatch" "${corpora[@]}" "${args[@]}" >"$work.log" 2>&1 || true
execs="$(grep -o 'stat::number_of_executed_units:[[:space:]]*[0-9]*' "$work.log" | grep -o '[0-9]*$' || echo '?')"
rm -f "$work.log"
touch "$work.reach"
from="empty corpus"
[[ $empty -eq 1 ]] || from="committed corpus"
echo "mig_dispatch, ${seconds}s from the $from, seed $seed: $execs executions"
target/release/examples/reach --ids "$work.reach"
rm -f "$work.reach"
