#!/usr/bin/env bash
# Benchmark: `lathe bundle export` (release build) of a bundle holding a ~200 MB model,
# against `tar czf` on the same files (the unpacked bundle), and the hashing throughput of
# `lathe bundle verify` on the unpacked folder (it reads and hashes every byte) against
# `sha256sum`. Not part of the test suite.
#
#   tests/bench/bundle.sh
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
. "$REPO/tests/bench/lib.sh"
DIR="$DATA/bundle"
mkdir -p "$DIR"
[ -f "$DIR/big.onnx" ] || python3 "$REPO/tests/bench/make_bundle_bench.py" "$DIR/big.onnx"
cd "$DIR"
if [ ! -f proj/lathe.sqlite ]; then
  rm -rf proj
  "$LATHE" init proj > /dev/null
  FEATURES="$(python3 -c 'print(",".join(f"f{i}" for i in range(100)))')"
  "$LATHE" --project proj model register big.onnx --name big --task regression --features "$FEATURES" > /dev/null
fi
export_once() { rm -f out.tar.gz; "$LATHE" --project proj bundle export big --out out.tar.gz; }
read -r lathe_s _ < <(measure "lathe bundle export" bash -c "$(declare -f export_once); LATHE=$LATHE; export_once")
rm -rf unpacked && mkdir unpacked && tar xzf out.tar.gz -C unpacked
ROOT="unpacked/$(ls unpacked)"
BYTES="$(du -sb "$ROOT" | cut -f1)"
read -r tar_s _ < <(measure "tar czf (same files)" tar czf ref.tar.gz -C unpacked .)
read -r verify_s _ < <(measure "lathe bundle verify (folder)" "$LATHE" bundle verify "$ROOT")
read -r sum_s _ < <(measure "sha256sum (same files)" bash -c "cd '$ROOT' && sha256sum -c --quiet SHA256SUMS")
awk -v l="$lathe_s" -v t="$tar_s" -v v="$verify_s" -v s="$sum_s" -v b="$BYTES" 'BEGIN {
  printf "bundle: %.0f MB in %s files\n", b/1e6, "'"$(find "$ROOT" -type f | wc -l)"'"
  printf "export %.2f s vs tar czf %.2f s: lathe/tar = %.2f (goal <= 2)\n", l, t, l/t
  printf "verify %.2f s = %.2f GB/s hashed (reading included); sha256sum %.2f s = %.2f GB/s\n", v, b/v/1e9, s, b/s/1e9
}'
echo -n "sha2 in memory on model.onnx: "
cargo run --release --locked -q -p lathe-core --example hash_throughput -- "$ROOT/model/model.onnx"
