#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build: every kobject-fuzz target into $OUT, each with its seed
# corpus (<target>_seed_corpus.zip) and, where it has one, its dictionary (<target>.dict).
# The base image's cargo wrapper picks the sanitizer ($SANITIZER) for `cargo fuzz build`.
# Runs from $SRC/kobjsim in the container; a local test sets SRC and OUT (see fuzz/README.md).

cd "$SRC/kobjsim"
# The target list and each target's cargo features (fuzz_features: the simulator's targets need
# feature `sim`, the others link without it), as the repository's scripts use them.
source scripts/fuzz-env.sh
targets=("${FUZZ_TARGETS[@]}")
target_dir="$PWD/target/fuzz-cflite"
for target in "${targets[@]}"; do
  fuzz_features "$target"
  cargo fuzz build -O --target-dir "$target_dir" "${FUZZ_FEATURES[@]}" "$target"
done
bin_dir="$target_dir/x86_64-unknown-linux-gnu/release"
for target in "${targets[@]}"; do
  cp "$bin_dir/$target" "$OUT/"
  rm -f "$OUT/${target}_seed_corpus.zip"
  (cd "corpus/$target" && zip -q -j "$OUT/${target}_seed_corpus.zip" ./*)
  if [[ -f "fuzz/$target.dict" ]]; then
    cp "fuzz/$target.dict" "$OUT/$target.dict"
  fi
done
