#!/usr/bin/env bash
# Which engine finds a bug nobody wrote a check for: each mutation of scripts/mutants.py (a
# mistake in the modelled code, not an injected `kobject::Bug`) is applied to a scratch
# worktree of HEAD, then the simulator runs every scenario, each fuzz target fuzzes from its
# committed corpus, each for SECONDS, and the tests of the model and of the fuzz targets (which
# replay every committed input) run once.
# usage: scripts/mutants.sh [SECONDS] [--empty] [--seeds N] [--first] [--engine E]... [NAME...]
#   SECONDS    budget per engine (default 20; the simulator gets it per scenario, divided by 4)
#   --empty    the fuzz targets start from an empty corpus (dictionary kept), not corpus/TARGET
#   --seeds N  run each engine with seeds 1 to N (libFuzzer's -seed, the simulator's --seed)
#   --first    per seed, stop at the first engine (in --engine order) that finds the mutant
#   --engine E only these engines (sim, mig_dispatch, kobject_lifecycle, sched_race, mig_hash,
#              tests); tests ignore the seed
#   NAME...    default: every mutant (`scripts/mutants.py list`)
# Prints one row per mutant: for each engine, the seconds to its first finding per seed
# (joined by "/"; "-" not found, "." not run because an earlier engine found it) and the first
# invariant. Exit status: 0 every mutant found by some engine with every seed, 1 one was
# missed, 2 a usage error or a stale mutation. The working tree is not touched.
set -euo pipefail
usage() {
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
seconds=20
names=()
empty=0
seeds=1
first=0
only=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage ;;
    --empty) empty=1; shift ;;
    --first) first=1; shift ;;
    --seeds)
      [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || { echo "mutants: --seeds needs a positive number" >&2; usage; }
      seeds="$2"
      shift 2
      ;;
    --engine)
      [[ $# -ge 2 ]] || usage
      only+=("$2")
      shift 2
      ;;
    -*) echo "mutants: unknown option $1" >&2; usage ;;
    *)
      if [[ "$1" =~ ^[1-9][0-9]*$ ]]; then seconds="$1"; else names+=("$1"); fi
      shift
      ;;
  esac
done
cd "$(dirname "$0")/.."
root="$PWD"
mapfile -t known < <(python3 scripts/mutants.py list | cut -f1)
[[ ${#names[@]} -gt 0 ]] || names=("${known[@]}")
for n in "${names[@]}"; do
  printf '%s\n' "${known[@]}" | grep -qx -- "$n" || {
    echo "mutants: unknown mutant $n (scripts/mutants.py list)" >&2
    exit 2
  }
done
source scripts/fuzz-env.sh
KOBJSIM_FUZZ_MODE=none fuzz_setup
sim_seconds=$(((seconds + 3) / 4))
work="$(mktemp -d)"
# Builds of every mutant share one target directory, so only the model and what depends on it
# rebuild each time.
export CARGO_TARGET_DIR="$root/target/mutants"
cleanup() {
  git -C "$root" worktree remove --force "$work/tree" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
git worktree add -q --detach "$work/tree" HEAD
engines=(sim mig_dispatch kobject_lifecycle sched_race mig_hash tests)
if [[ ${#only[@]} -gt 0 ]]; then
  for e in "${only[@]}"; do
    printf '%s\n' "${engines[@]}" | grep -qx -- "$e" || { echo "mutants: unknown engine $e" >&2; exit 2; }
  done
  engines=("${only[@]}")
fi
printf '%-30s' mutant
printf ' %-30s' "${engines[@]}"
printf '\n'
missed=0
for name in "${names[@]}"; do
  git -C "$work/tree" checkout -q -- .
  python3 scripts/mutants.py apply "$name" "$work/tree"
  # Only what the chosen engines run is built.
  wants() { printf '%s\n' "${engines[@]}" | grep -qx -- "$1"; }
  # Each fuzz target with the features it needs (fuzz_features): one build of them all would
  # give every binary the simulator's.
  build_fuzz_targets() {
    local e
    for e in mig_dispatch kobject_lifecycle sched_race mig_hash; do
      wants "$e" || continue
      fuzz_features "$e"
      "${FUZZ_CARGO[@]}" build -s none --target-dir "$CARGO_TARGET_DIR/fuzz" \
        "${FUZZ_FEATURES[@]}" "$e" >/dev/null 2>&1 || return 1
    done
  }
  (cd "$work/tree" &&
    { ! wants sim || cargo build -q --release -p kobjsim 2>/dev/null; } &&
    { ! wants tests || cargo test -q --release -p kobject -p kobject-fuzz --no-run 2>/dev/null; } &&
    build_fuzz_targets) || {
    echo "mutants: $name does not build" >&2
    exit 2
  }
  bin="$CARGO_TARGET_DIR/fuzz/x86_64-unknown-linux-gnu/release"
  # cell[engine index] collects one result per seed; invariant[engine index] the first seen.
  cell=()
  invariant=()
  missed_seed=0
  for seed in $(seq 1 "$seeds"); do
    found=0
    for i in "${!engines[@]}"; do
      target="${engines[$i]}"
      result="-"
      if [[ $first -eq 1 && $found -eq 1 ]]; then
        result="."
      elif [[ "$target" == sim || "$target" == tests ]]; then
        log="$work/$target.log"
        start=$(date +%s.%N)
        status=0
        if [[ "$target" == sim ]]; then
          (cd "$work/tree" && "$CARGO_TARGET_DIR/release/kobjsim" run --scenario all \
            --seed "$seed" --seconds "$sim_seconds" --out "$work/sim-artifacts" >"$log" 2>&1) ||
            status=$?
        else
          (cd "$work/tree" && cargo test -q --release -p kobject -p kobject-fuzz >"$log" 2>&1) ||
            status=$?
        fi
        end=$(date +%s.%N)
        # The simulator exits 1 on a violation (2 is a usage error); the tests fail with any.
        if [[ ($target == sim && $status -eq 1) || ($target == tests && $status -ne 0) ]]; then
          found=1
          result="$(printf '%.1fs' "$(echo "$end - $start" | bc)")"
          [[ -n "${invariant[$i]:-}" ]] || invariant[i]="$(grep -o '\[[a-z-]*\]' "$log" | head -1)"
        fi
      else
        dir="$work/$target"
        rm -rf "$dir"
        mkdir -p "$dir/new"
        args=(-max_total_time="$seconds" -seed="$seed" -artifact_prefix="$dir/")
        dict="$(fuzz_dict_args "$target")"
        [[ -n "$dict" ]] && args+=("$dict")
        start=$(date +%s.%N)
        corpora=("$dir/new")
        [[ $empty -eq 1 ]] || corpora+=("corpus/$target")
        (cd "$work/tree" && "$bin/$target" "${corpora[@]}" "${args[@]}" \
          >"$dir/log" 2>&1) || true
        end=$(date +%s.%N)
        if ls "$dir"/crash-* >/dev/null 2>&1; then
          found=1
          result="$(printf '%.1fs' "$(echo "$end - $start" | bc)")"
          [[ -n "${invariant[$i]:-}" ]] ||
            invariant[i]="$(grep -o '\[[a-z-]*\]' "$dir/log" | head -1)"
        fi
      fi
      cell[i]="${cell[$i]:+${cell[$i]}/}$result"
    done
    [[ $found -eq 1 ]] || missed_seed=1
  done
  row=()
  for i in "${!engines[@]}"; do
    row+=("${cell[$i]}${invariant[$i]:+ ${invariant[$i]}}")
  done
  [[ $missed_seed -eq 0 ]] && found=1 || found=0
  [[ $found -eq 1 ]] || missed=1
  printf '%-30s' "$name"
  printf ' %-30s' "${row[@]}"
  printf '\n'
done
exit $missed
