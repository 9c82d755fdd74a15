#!/usr/bin/env bash
# How fast the fuzzers find each injected bug: one run per bug, stopped at the first crash.
# Every bug is given to the target meant to find it (mig_dispatch for message-level bugs,
# sched_race for the races no single-threaded sequence can show), unless --target says which.
# usage: scripts/fuzz-detect.sh [SECONDS] [--empty] [--seed N] [--target T] [--save] [BUG...]
#   SECONDS    budget per bug (default 60)
#   --empty    start from an empty corpus instead of corpus/TARGET (dictionary kept)
#   --seed N   libFuzzer seed (default 1), for repeatable figures
#   --target T run every bug on T (mig_dispatch | sched_race | kobject_lifecycle)
#   --save     keep each bug's crash as corpus/regressions/TARGET/BUG--crash-... (cargo test
#              replays it), minimized
#   BUG...     default: every injected bug
# Prints bug, target, found?, executions and seconds to the crash. Exit status: 0 every bug
# found, 1 some bug not found in its budget, 2 a usage error.
set -euo pipefail
usage() {
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
seconds=60
empty=0
save=0
seed=1
bugs=()
only=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage ;;
    --empty) empty=1; shift ;;
    --save) save=1; shift ;;
    --seed)
      [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || usage
      seed="$2"
      shift 2
      ;;
    --target)
      [[ $# -ge 2 ]] || usage
      only="$2"
      shift 2
      ;;
    -*) echo "fuzz-detect: unknown option $1" >&2; usage ;;
    *)
      if [[ "$1" =~ ^[0-9]+$ ]]; then seconds="$1"; else bugs+=("$1"); fi
      shift
      ;;
  esac
done
# The target meant to find each bug.
declare -A meant=(
  [add-notification-ool-leak]=mig_dispatch [async-wake-double-release]=mig_dispatch
  [voucher-swap]=mig_dispatch [unknown-id-spoofed-no-senders]=mig_dispatch
  [reply-to-kernel-port]=mig_dispatch [skip-label-check]=mig_dispatch
  [nsrequest-missing-reference]=mig_dispatch [lazy-alloc-no-undo]=sched_race
  [replace-stored-right-unlocked]=sched_race [dealloc-wrong-mscount]=sched_race
  [request-left-behind]=mig_dispatch [replaced-request-leak]=mig_dispatch
  [pdrequest-not-cleared]=mig_dispatch
)
if [[ ${#bugs[@]} -eq 0 ]]; then
  mapfile -t bugs < <(printf '%s\n' "${!meant[@]}" | sort)
fi
cd "$(dirname "$0")/.."
source scripts/fuzz-env.sh
if [[ -n "$only" ]] && ! fuzz_is_target "$only"; then
  echo "fuzz-detect: unknown target $only" >&2
  usage
fi
for bug in "${bugs[@]}"; do
  [[ -n "$only" || -n "${meant[$bug]:-}" ]] || {
    echo "fuzz-detect: unknown bug $bug (known: ${!meant[*]})" >&2
    exit 2
  }
done
KOBJSIM_FUZZ_MODE=none fuzz_setup
dir="${FUZZ_FLAGS[-1]}/x86_64-unknown-linux-gnu/release"
declare -A built=()
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
missed=0
printf '%-32s %-14s %-6s %12s %9s\n' bug target found execs seconds
for bug in "${bugs[@]}"; do
  target="${only:-${meant[$bug]}}"
  if [[ -z "${built[$target]:-}" ]]; then
    fuzz_build "$target"
    built[$target]=1
  fi
  work="$tmp/$bug"
  mkdir -p "$work/corpus"
  corpora=("$work/corpus")
  [[ $empty -eq 1 ]] || corpora+=("corpus/$target")
  args=(-seed="$seed" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$work/")
  dict="$(fuzz_dict_args "$target")"
  [[ -n "$dict" ]] && args+=("$dict")
  start=$(date +%s.%N)
  KOBJSIM_BUG="$bug" "$dir/$target" "${corpora[@]}" "${args[@]}" >"$work/log" 2>&1 || true
  end=$(date +%s.%N)
  execs="$(fuzz_stat number_of_executed_units "$work/log" '?')"
  if ls "$work"/crash-* >/dev/null 2>&1; then
    found=yes
    if [[ $save -eq 1 ]]; then
      crash="$(ls "$work"/crash-* | head -n 1)"
      KOBJSIM_BUG="$bug" "$dir/$target" -minimize_crash=1 -runs=2000 \
        -exact_artifact_path="$work/min" "$crash" >/dev/null 2>&1 || true
      [[ -s "$work/min" ]] || cp "$crash" "$work/min"
      mkdir -p "corpus/regressions/$target"
      cp "$work/min" "corpus/regressions/$target/$bug--$(basename "$crash")"
    fi
  else
    found=no
    missed=1
  fi
  printf '%-32s %-14s %-6s %12s %9.1f\n' "$bug" "$target" "$found" "$execs" "$(echo "$end - $start" | bc)"
done
exit $missed
