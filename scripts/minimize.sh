#!/usr/bin/env bash
# Minimizes a crashing input with `cargo fuzz tmin` and saves it as a regression:
# corpus/regressions/TARGET/<bug>--<name>, where <bug> is $KOBJSIM_BUG (or none).
# usage: scripts/minimize.sh TARGET FILE
# Exit status: 0 saved, 1 the input does not crash (nothing saved), 2 a usage error.
set -euo pipefail
usage() {
  echo "usage: scripts/minimize.sh TARGET FILE   (KOBJSIM_BUG selects the injected bug)" >&2
  exit 2
}
[[ $# -eq 2 ]] || usage
target="$1"
file="$(realpath -- "$2")"
cd "$(dirname "$0")/.."
source scripts/fuzz-env.sh
fuzz_is_target "$target" || { echo "minimize: unknown target $target" >&2; usage; }
[[ -f "$file" ]] || { echo "minimize: no such file $file" >&2; exit 2; }
fuzz_setup
bug="${KOBJSIM_BUG:-none}"
[[ -n "$bug" ]] || bug=none
artifacts="target/fuzz-artifacts/$target"
mkdir -p "$artifacts" "corpus/regressions/$target"
echo "minimize: $target, $file, bug $bug, $FUZZ_MODE" >&2
# tmin needs the input to crash; check that first on stable (fast, and a clear message).
if scripts/replay.sh "$file" --target "$target" --bug "$bug" >/dev/null; then
  echo "minimize: $file does not crash $target with bug $bug; nothing saved" >&2
  exit 1
fi
name="$(basename -- "$file")"
name="${name#*--}"
out="$artifacts/minimized-from-$name"
rm -f "$out"
fuzz_features "$target"
"${FUZZ_CARGO[@]}" tmin "${FUZZ_FLAGS[@]}" "${FUZZ_FEATURES[@]}" "$target" "$file" -- \
  -exact_artifact_path="$out" >"$artifacts/tmin.log" 2>&1 || true
if [[ ! -s "$out" ]]; then
  echo "minimize: tmin produced nothing (see $artifacts/tmin.log); saving the input as is" >&2
  cp -- "$file" "$out"
fi
dest="corpus/regressions/$target/$bug--$name"
cp -- "$out" "$dest"
echo "minimize: $(wc -c <"$file") -> $(wc -c <"$dest") bytes, saved $dest" >&2
echo "$dest"
