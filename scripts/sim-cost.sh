#!/usr/bin/env bash
# Instructions per schedule and per scheduling step of every simulator scenario, counted by
# valgrind (callgrind's total Ir), so that a busy machine does not move the figure: `kobjsim run
# --scenario S --iterations N --seed 1` less the same run with one iteration, divided by N - 1;
# steps per schedule from `kobjsim bench` (same seed, same iterations). --kobjsim runs another
# build (an older commit's, to compare), which must have the same `run` and `bench` flags.
# usage: scripts/sim-cost.sh [--iterations N] [--kobjsim PATH] [SCENARIO...]
#   --iterations N  schedules per scenario (default 500)
#   --kobjsim PATH  the kobjsim binary (default: this tree's, built with --release)
#   SCENARIO...     default: every scenario `kobjsim list` names
# Exit status: 0, 1 a run failed, 2 on usage or when valgrind is missing.
set -euo pipefail
usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
iterations=500
kobjsim=""
scenarios=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage ;;
    --iterations)
      [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ && "$2" -ge 2 ]] ||
        { echo "sim-cost: --iterations needs a number of at least 2" >&2; usage; }
      iterations="$2"
      shift 2
      ;;
    --kobjsim)
      [[ $# -ge 2 && -x "$2" ]] || { echo "sim-cost: --kobjsim needs an executable" >&2; usage; }
      kobjsim="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
      shift 2
      ;;
    -*) echo "sim-cost: unknown option $1" >&2; usage ;;
    *) scenarios+=("$1"); shift ;;
  esac
done
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null 2>&1 || {
  echo "sim-cost: valgrind is missing; install it with apt-get install valgrind" >&2
  exit 2
}
if [[ -z "$kobjsim" ]]; then
  cargo build --release -q -p kobjsim
  kobjsim="$PWD/target/release/kobjsim"
fi
if [[ ${#scenarios[@]} -eq 0 ]]; then
  mapfile -t scenarios < <("$kobjsim" list | awk '/^scenarios/ { on = 1; next } /^[a-z]/ { on = 0 }
    on && NF { print $1 }')
fi
[[ ${#scenarios[@]} -gt 0 ]] || { echo "sim-cost: no scenarios from $kobjsim list" >&2; exit 1; }
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# Total instructions of `kobjsim run` over N iterations of one scenario.
count() {
  local out="$scratch/cg.out"
  if ! valgrind --tool=callgrind --callgrind-out-file="$out" "$kobjsim" run --scenario "$1" \
    --iterations "$2" --seed 1 --out "$scratch/artifacts" >"$scratch/log" 2>&1; then
    tail -n 5 "$scratch/log" >&2
    echo "sim-cost: $1 failed under valgrind" >&2
    exit 1
  fi
  awk '/^(summary|totals):/ { print $2; exit }' "$out"
}

echo "sim-cost: $kobjsim, $iterations schedules per scenario, seed 1"
printf '%-26s %14s %12s %12s\n' scenario instr/schedule steps/sched instr/step
for s in "${scenarios[@]}"; do
  many="$(count "$s" "$iterations")"
  one="$(count "$s" 1)"
  steps="$("$kobjsim" bench --iterations "$iterations" --seed 1 --scenario "$s" |
    awk -v s="$s" '$1 == s { print $3 }')"
  [[ -n "$steps" ]] || { echo "sim-cost: no steps for $s from kobjsim bench" >&2; exit 1; }
  awk -v s="$s" -v m="$many" -v o="$one" -v n="$iterations" -v st="$steps" 'BEGIN {
    per = (m - o) / (n - 1)
    printf "%-26s %14.0f %12.1f %12.0f\n", s, per, st, per / st
  }'
done
