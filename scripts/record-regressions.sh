#!/usr/bin/env bash
# Re-records the committed regressions after a change to the model moved its scheduling points or
# its byte format: every injected bug is found again by the simulator on the scenario meant for
# it (the artifact and its shrunk form go to corpus/regressions/sim/, a shrunk multi-thread one
# also to corpus/regressions/sched_race/ as its fuzz input), and by the fuzzers from the
# committed corpus (scripts/fuzz-detect.sh --save into corpus/regressions/<target>/).
# usage: scripts/record-regressions.sh [--replace]
#   --replace  first remove the simulator's, mig_dispatch's and sched_race's regressions (their
#              old forms no longer replay); without it new files are added beside the old ones
# Exit status: 0 every bug recorded, 1 one was not found, 2 a usage error.
set -euo pipefail
replace=0
case "${1:-}" in
  "") ;;
  --replace) replace=1 ;;
  *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
# The scenario meant to find each injected bug.
pairs=(
  lazy-alloc-no-undo:lazy-alloc-race lazy-alloc-no-undo:lazy-alloc-labeled-race
  dealloc-wrong-mscount:dispatch-vs-destroy async-wake-double-release:dispatch-vs-destroy
  reply-to-kernel-port:dispatch-vs-destroy unknown-id-spoofed-no-senders:dispatch-vs-destroy
  voucher-swap:dispatch-vs-destroy skip-label-check:mixed add-notification-ool-leak:mixed
  nsrequest-missing-reference:mixed replace-stored-right-unlocked:replace-stored-right
  request-left-behind:notify-vs-death replaced-request-leak:notify-vs-death
  pdrequest-not-cleared:nsrequest-vs-dealloc
)
if [[ $replace -eq 1 ]]; then
  rm -f corpus/regressions/sim/*.json corpus/regressions/sched_race/* corpus/regressions/mig_dispatch/*
fi
cargo build -q --release -p kobjsim
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
missed=0
for pair in "${pairs[@]}"; do
  bug="${pair%%:*}"
  scenario="${pair##*:}"
  status=0
  target/release/kobjsim run --scenario "$scenario" --bug "$bug" --seconds 60 --out "$out" \
    >"$out/log" 2>&1 || status=$?
  if [[ $status -ne 1 ]]; then
    echo "record: $bug not found on $scenario" >&2
    missed=1
    continue
  fi
  grep -E "violation at|shrunk" "$out/log"
done
mkdir -p corpus/regressions/sim corpus/regressions/sched_race
cp "$out"/*.json corpus/regressions/sim/
python3 - <<'PY'
import glob, json, os
for path in sorted(glob.glob("corpus/regressions/sim/sched_race-*.json")):
    a = json.load(open(path))
    stem = os.path.basename(path)[len("sched_race-"):-len(".json")]
    with open(f"corpus/regressions/sched_race/{a['bug']}--{stem}", "wb") as f:
        f.write(bytes.fromhex(a["fuzz_input"]))
PY
# The seeds first (fuzz-detect starts from them), then again for the seeds made from the new
# regressions.
cargo run -q --release -p kobject-fuzz --example gen_corpus >/dev/null
bash scripts/fuzz-detect.sh 30 --save || missed=1
cargo run -q --release -p kobject-fuzz --example gen_corpus
exit $missed
