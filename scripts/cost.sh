#!/usr/bin/env bash
# Instructions per execution of every fuzz target beside the empty target, counted by valgrind
# (callgrind's total Ir), over a fixed input set: the first N files of corpus/TARGET in sorted
# order (the empty target gets mig_dispatch's), each executed once, after the empty input. For
# the fuzz binary as `cargo fuzz run -s none` builds it (`-runs=0` over the inputs, minus a run
# over no input: "load", where most inputs bring new coverage and libFuzzer records it), again
# for the same inputs run a second time in the same process ("steady": no input brings new
# coverage, as in almost every execution of a fuzzing campaign), and for the plain function
# outside libFuzzer (`Target::run` in fuzz/lib/examples/cost_plain.rs, built with the features
# of the target's fuzz binary, minus a run that reads the inputs and runs only the empty one;
# "plain", and "plain steady" for the inputs run a second time in the same process, past one-time
# work such as publishing the arenas' chunks at the first reboot); and exec/s of the fuzz
# binary fuzzing SECONDS from the same inputs (seed 1; machine load moves it, the counts do not).
# usage: scripts/cost.sh [--inputs N] [--seconds S] [--breakdown] [TARGET...]
#   --inputs N    inputs per target (default 100; fewer where the corpus has fewer)
#   --seconds S   fuzzing time per target for exec/s (default 10)
#   --breakdown   where mig_dispatch's instructions go (callgrind_annotate --inclusive=yes)
#   TARGET...     default: empty and every fuzz target
# KOBJSIM_BUG is ignored (the model runs without injected bugs). Exit status: 0, 1 a build or a
# counted run failed, 2 on usage or when valgrind is missing.
set -euo pipefail
usage() {
  sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
inputs=100
seconds=10
breakdown=0
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage ;;
    --breakdown) breakdown=1; shift ;;
    --inputs | --seconds)
      [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || { echo "cost: $1 needs a positive number" >&2; usage; }
      if [[ $1 == --inputs ]]; then inputs="$2"; else seconds="$2"; fi
      shift 2
      ;;
    -*) echo "cost: unknown option $1" >&2; usage ;;
    *) targets+=("$1"); shift ;;
  esac
done
cd "$(dirname "$0")/.."
source scripts/fuzz-env.sh
for target in "${targets[@]}"; do
  fuzz_is_target "$target" || { echo "cost: unknown target $target" >&2; usage; }
done
[[ ${#targets[@]} -gt 0 ]] || targets=(empty "${FUZZ_TARGETS[@]}")
for tool in valgrind callgrind_annotate; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "cost: $tool is missing; install it with apt-get install valgrind" >&2
    exit 2
  }
done
unset KOBJSIM_BUG KOBJSIM_REACH_FILE
KOBJSIM_FUZZ_MODE=none fuzz_setup
fuzz_build "${targets[@]}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# The plain functions built as their fuzz binaries are: the simulator's targets with feature
# `sim`, the others without it (fuzz_features).
cargo build --release -q -p kobject-fuzz --example cost_plain --no-default-features
cp target/release/examples/cost_plain "$scratch/cost_plain-lean"
cargo build --release -q -p kobject-fuzz --example cost_plain
cp target/release/examples/cost_plain "$scratch/cost_plain-sim"
mkdir -p "$scratch/none"

# Total instructions (callgrind's Ir) of a command, its profile kept in $scratch/NAME.out.
count() {
  local name="$1"
  shift
  if ! valgrind --tool=callgrind --callgrind-out-file="$scratch/$name.out" "$@" \
    >"$scratch/$name.log" 2>&1; then
    tail -n 20 "$scratch/$name.log" >&2
    echo "cost: $name failed under valgrind: $*" >&2
    exit 1
  fi
  awk '/^(summary|totals):/ { print $2; exit }' "$scratch/$name.out"
}

# (TOTAL - BASE) / N, rounded.
per() {
  awk -v t="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.0f", (t - b) / n }'
}

echo "cost: $FUZZ_MODE, up to $inputs inputs per target, ${seconds}s of fuzzing per target" \
  "for exec/s, $(nproc) cores"
printf '%-18s %6s %16s %13s %14s %13s %10s %10s %10s\n' target inputs instr/exec-fuzz steady \
  instr/exec-plain 'plain steady' exec/s 'exec/s:e' 'instr:e'
fuzz_empty_run=""
empty_rate=""
empty_instr=""
for target in "${targets[@]}"; do
  seeds="$(fuzz_seeds "$target")"
  set_dir="$scratch/set-$target"
  mkdir -p "$set_dir" "$scratch/grown-$target"
  mapfile -t files < <(find "$seeds" -maxdepth 1 -type f | LC_ALL=C sort | head -n "$inputs")
  n=${#files[@]}
  [[ $n -gt 0 ]] || { echo "cost: $seeds has no inputs" >&2; exit 1; }
  cp "${files[@]}" "$set_dir/"
  bin="$FUZZ_BIN_DIR/$target"
  fuzz_features "$target"
  plain="$scratch/cost_plain-lean"
  [[ ${#FUZZ_FEATURES[@]} -eq 0 ]] || plain="$scratch/cost_plain-sim"
  lf=(-runs=0 -seed=1 -rss_limit_mb=0)
  base="$(count "fuzz-none-$target" "$bin" "${lf[@]}" "$scratch/none")"
  total="$(count "fuzz-$target" "$bin" "${lf[@]}" "$set_dir")"
  fuzz="$(per "$total" "$base" "$n")"
  mkdir -p "$scratch/again-$target"
  for f in "$set_dir"/*; do cp "$f" "$scratch/again-$target/again-${f##*/}"; done
  twice="$(count "fuzz-twice-$target" "$bin" "${lf[@]}" "$set_dir" "$scratch/again-$target")"
  steady="$(per "$twice" "$total" "$n")"
  base="$(count "plain-none-$target" "$plain" "$target" --no-run "${files[@]}")"
  total="$(count "plain-$target" "$plain" "$target" "${files[@]}")"
  plain_each="$(per "$total" "$base" "$n")"
  twice="$(count "plain-twice-$target" "$plain" "$target" "${files[@]}" "${files[@]}")"
  plain_steady="$(per "$twice" "$total" "$n")"
  [[ $target != empty ]] || { plain_each=-; plain_steady=-; }
  args=(-seed=1 -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=0
    -artifact_prefix="$scratch/grown-$target/")
  dict="$(fuzz_dict_args "$target")"
  [[ -n "$dict" ]] && args+=("$dict")
  "$bin" "$scratch/grown-$target" "$set_dir" "${args[@]}" >"$scratch/rate-$target.log" 2>&1 || true
  rate="$(fuzz_stat average_exec_per_sec "$scratch/rate-$target.log")"
  if [[ $target == empty ]]; then
    empty_rate="$rate"
    empty_instr="$fuzz"
    fuzz_empty_run=1
  fi
  read -r rate_ratio instr_ratio < <(awk -v r="$rate" -v e="$empty_rate" -v i="$fuzz" \
    -v ei="$empty_instr" 'BEGIN {
      if (e > 0) printf "%.4f ", r / e; else printf "? "
      if (ei > 0) printf "%.1f\n", i / ei; else printf "?\n"
    }')
  printf '%-18s %6s %16s %13s %14s %13s %10s %10s %10s\n' "$target" "$n" "$fuzz" "$steady" \
    "$plain_each" "$plain_steady" "$rate" "$rate_ratio" "$instr_ratio"
done
[[ -n "$fuzz_empty_run" ]] || echo "cost: (ratios need the empty target in the list)"
echo "exec/s:e and instr:e are the ratios to the empty target (exec/s, fuzz binary's instr/exec)."

[[ $breakdown -eq 1 ]] || exit 0
[[ -f "$scratch/fuzz-mig_dispatch.out" ]] || {
  echo "cost: --breakdown needs mig_dispatch in the list" >&2
  exit 2
}

# Inclusive instructions of a callgrind profile by group: "total target hooks audit boot". A
# group's figure is the cost of the calls into it from outside it, so nested calls count once;
# groups nest in one another (hooks run inside the audit, the boot and the model).
groups() {
  awk '
    function name_of(s,   id, rest) {
      if (!match(s, /^\([0-9]+\)/)) return s
      id = substr(s, 2, RLENGTH - 2)
      rest = substr(s, RLENGTH + 1)
      sub(/^ /, "", rest)
      if (rest != "") names[id] = rest
      return names[id]
    }
    function group(f) {
      if (f ~ /LLVMFuzzerTestOneInput/) return "target"
      if (f ~ /__sanitizer_cov_trace_/) return "hooks"
      if (f ~ /(^|[^a-z_])ledger::|^kobject_unguided::audit/) return "audit"
      if (f ~ /kobject::kernel::Kernel::(new|with_limits)$|^kobject_unguided::boot$/) return "boot"
      return ""
    }
    /^(summary|totals):/ { total = $2; next }
    /^fn=/ { g = group(name_of(substr($0, 4))); next }
    /^cfn=/ { cg = group(name_of(substr($0, 5))); next }
    /^calls=/ { call = 1; next }
    /^[0-9+*-]/ {
      if (call && cg != "" && cg != g) sum[cg] += $2
      call = 0
    }
    END { printf "%d %d %d %d %d\n", total, sum["target"], sum["hooks"], sum["audit"], sum["boot"] }
  ' "$1"
}

# The top functions of the mig_dispatch run less the run over no input, per execution, by
# self (exclusive) or inclusive instructions, leaving out the entry chain that holds all of
# them: top MODE (no | yes) N ALL, ALL being all instructions per execution.
top() {
  local f
  for f in fuzz-mig_dispatch fuzz-none-mig_dispatch; do
    callgrind_annotate --auto=no --threshold=100 --inclusive="$1" "$scratch/$f.out" 2>/dev/null \
      | awk -v run="$f" '$1 ~ /^[0-9,]+$/ && $2 ~ /^\(/ && !/PROGRAM TOTALS/ {
          v = $1; gsub(",", "", v)
          line = $0; sub(/^[[:space:]]*[0-9,]+[[:space:]]+\([^)]*\)[[:space:]]+/, "", line)
          sub(/[[:space:]]+\[[^]]*\]$/, "", line); sub(/^[^:]*:/, "", line)
          print run "\t" v "\t" line
        }'
  done | awk -F'\t' -v n="$2" -v all="$3" -v mode="$1" '
    { k = ($1 == "fuzz-mig_dispatch") ? "set" : "none"
      if (mode == "no") v[k, $3] += $2; else if ($2 > v[k, $3]) v[k, $3] = $2
      fns[$3] = 1 }
    END { for (f in fns) { d = (v["set", f] - v["none", f]) / n; if (d >= 500 && d < 0.99 * all) printf "%12.0f  %s\n", d, f } }
  ' | sort -rn | awk 'NR <= 20' | cut -c1-130
}

n="$(find "$scratch/set-mig_dispatch" -type f | wc -l)"
# breakdown TITLE AFTER BEFORE: the groups of profile AFTER less those of BEFORE, per input.
breakdown() {
  local t1 tg1 h1 a1 b1 t0 tg0 h0 a0 b0
  read -r t1 tg1 h1 a1 b1 < <(groups "$scratch/$2.out")
  read -r t0 tg0 h0 a0 b0 < <(groups "$scratch/$3.out")
  echo
  echo "$1"
  awk -v n="$n" -v t="$((t1 - t0))" -v tg="$((tg1 - tg0))" -v h="$((h1 - h0))" \
    -v a="$((a1 - a0))" -v b="$((b1 - b0))" 'function row(label, v) {
      printf "  %-56s %9.0f %6.1f%%\n", label, v / n, 100 * v / t
    } BEGIN {
      row("all instructions", t)
      row("libFuzzer (fuzzer::, outside the target)", t - tg)
      row("the target (LLVMFuzzerTestOneInput)", tg)
      row("  the ledger'"'"'s audit (ledger::, kobject_unguided::audit*)", a)
      row("  kernel boot (kobject_unguided::boot, Kernel::new)", b)
      row("  the world / model / other (the rest of the target)", tg - a - b)
      row("comparison hooks (__sanitizer_cov_trace_*; within the above)", h)
    }'
}
breakdown "mig_dispatch, load, per execution: the -runs=0 run over $n inputs less the run over none, / $n" \
  fuzz-mig_dispatch fuzz-none-mig_dispatch
breakdown "mig_dispatch, steady, per execution: the run over the inputs twice less the run over them once, / $n" \
  fuzz-twice-mig_dispatch fuzz-mig_dispatch
read -r t1 _ < <(groups "$scratch/fuzz-mig_dispatch.out")
read -r t0 _ < <(groups "$scratch/fuzz-none-mig_dispatch.out")
echo "top functions by inclusive instructions per execution (callgrind_annotate --inclusive=yes):"
top yes "$n" "$(((t1 - t0) / n))"
echo "top functions by self instructions per execution:"
top no "$n" "$(((t1 - t0) / n))"
