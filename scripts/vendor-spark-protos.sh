#!/usr/bin/env bash
# Replaces crates/lathe-spark/proto with the Spark Connect .proto files (and the licence) of the
# pyspark release VERSION, from the Connect jar its wheel ships. Usage: vendor-spark-protos.sh 4.3.0
set -euo pipefail
version="${1:?usage: $0 VERSION (a pyspark release, e.g. 4.3.0)}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --dest "$work" "pyspark==$version"
(cd "$work" && unzip -q pyspark-*.whl 'pyspark/jars/spark-connect_*.jar')
jar="$(ls "$work"/pyspark/jars/spark-connect_*.jar)"
out="$repo/crates/lathe-spark/proto"
rm -rf "$out/spark"
(cd "$out" && unzip -q -o "$jar" 'spark/connect/*.proto' -x 'spark/connect/example_plugins.proto')
unzip -q -p "$jar" META-INF/LICENSE >"$out/LICENSE"
unzip -q -p "$jar" META-INF/NOTICE >"$out/NOTICE"
echo "vendored Spark Connect $version's protocol into $out; update its README.md"
