#!/usr/bin/env bash
# Fuzzes one target, starting from its committed corpus, with the target's dictionary.
# usage: scripts/fuzz.sh TARGET [SECONDS] [--jobs N] [--no-trace-compares]
#   TARGET   mig_dispatch | kobject_lifecycle | mig_hash | sched_race | artifact_parse | empty
#   SECONDS  stop after this long (default: run until a crash or Ctrl-C)
#   --jobs N run N fuzzing processes (libFuzzer -fork=N)
#   --no-trace-compares  build without comparison tracing: about twice the executions per
#            second for mig_dispatch, but no guidance towards values the code compares with
# KOBJSIM_BUG=NAME fuzzes the model with that injected bug; KOBJSIM_FUZZ_MODE=none forces
# stable without a sanitizer. New inputs go to target/fuzz-corpus/TARGET (the committed corpus
# is only read). On a crash every crashing input is minimized (scripts/minimize.sh) and saved
# under corpus/regressions/TARGET/; a mig_dispatch or sched_race crash is also written as an
# artifact of the one world, and shrunk (`kobjsim from-fuzz`, into target/fuzz-artifacts/), for
# `kobjsim replay --trace`.
# Exit status: 0 no crash, 1 a crash (saved), 2 a usage error.
set -euo pipefail
usage() {
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
target=""
seconds=""
jobs=""
nocmp=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage ;;
    --no-trace-compares) nocmp=1; shift ;;
    --jobs)
      [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: --jobs needs a positive count" >&2; usage; }
      jobs="$2"
      shift 2
      ;;
    -*) echo "fuzz: unknown option $1" >&2; usage ;;
    *)
      if [[ -z "$target" ]]; then
        target="$1"
      elif [[ -z "$seconds" && "$1" =~ ^[0-9]+$ ]]; then
        seconds="$1"
      else
        echo "fuzz: unexpected argument $1" >&2
        usage
      fi
      shift
      ;;
  esac
done
[[ -n "$target" ]] || usage
cd "$(dirname "$0")/.."
source scripts/fuzz-env.sh
fuzz_is_target "$target" || { echo "fuzz: unknown target $target" >&2; usage; }
fuzz_setup
[[ $nocmp -eq 0 ]] || fuzz_no_trace_compares

work="target/fuzz-corpus/$target"
artifacts="target/fuzz-artifacts/$target"
seeds="corpus/$target"
[[ "$target" == empty ]] && seeds="corpus/mig_dispatch"
mkdir -p "$work" "$artifacts"
args=("-artifact_prefix=$artifacts/")
[[ -n "$seconds" ]] && args+=("-max_total_time=$seconds")
[[ -n "$jobs" ]] && args+=("-fork=$jobs")
dict="$(fuzz_dict_args "$target")"
[[ -n "$dict" ]] && args+=("$dict")
echo "fuzz: $target, $FUZZ_MODE, bug ${KOBJSIM_BUG:-none}, ${seconds:-unbounded}s, ${jobs:-1} job(s)" >&2

marker="$(mktemp)"
trap 'rm -f "$marker"' EXIT
status=0
fuzz_features "$target"
"${FUZZ_CARGO[@]}" run "${FUZZ_FLAGS[@]}" "${FUZZ_FEATURES[@]}" "$target" "$work" "$seeds" -- \
  "${args[@]}" || status=$?

mapfile -t crashes < <(find "$artifacts" -maxdepth 1 -type f \
  \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' \) -newer "$marker" 2>/dev/null || true)
if [[ ${#crashes[@]} -eq 0 ]]; then
  if [[ $status -ne 0 ]]; then
    echo "fuzz: cargo fuzz exited with $status and left no crash input" >&2
    exit "$status"
  fi
  echo "fuzz: no crash" >&2
  exit 0
fi
for crash in "${crashes[@]}"; do
  saved="$(scripts/minimize.sh "$target" "$crash" || true)"
  if [[ -n "$saved" ]]; then
    echo "fuzz: crash saved as $saved; replay: scripts/replay.sh $saved" >&2
    if [[ "$target" == sched_race || "$target" == mig_dispatch ]]; then
      cargo run -q --release -p kobjsim -- from-fuzz "$saved" --target "$target" >&2 || true
    fi
  else
    echo "fuzz: $crash did not replay on stable; kept in $artifacts" >&2
  fi
done
exit 1
