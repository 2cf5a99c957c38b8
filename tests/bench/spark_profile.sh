#!/usr/bin/env bash
# Benchmark: the profile of a ROWS x 25 Parquet table (default 10,000,000; the profile
# benchmark's column mix) pushed down to a local Spark Connect server (Apache Spark 4.3.0,
# local[2]) by `lathe dataset show sc://…`, beside a pyspark client computing the same
# statistics on the same server (tests/bench/spark_profile_pyspark.py, both --corr modes).
# Wall times end to end (the server is started once and warmed with one query first);
# the client's peak RSS. Not part of the test suite.
#
#   tests/bench/spark_profile.sh [ROWS]
#
# The peer runs in the pyspark venv scripts/test.sh installs, with the Connect client's
# dependencies added (pyspark[connect]) on first use.
set -euo pipefail
export OUT
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
export LATHE_BENCH_RUNS="${LATHE_BENCH_RUNS:-1}"
. "$REPO/tests/bench/lib.sh"
(. "$REPO/scripts/lib.sh"; ensure_spark; echo "$LATHE_SPARK_HOME" > "$DATA/spark-home.txt")
SPARK_HOME="$(cat "$DATA/spark-home.txt")"
PY="${LATHE_BENCH_PYTHON:-$(cd "$SPARK_HOME/../../../.." && pwd)/bin/python}"
"$PY" -c "import grpc, pandas, pyarrow" 2>/dev/null \
  || "$(dirname "$PY")/pip" install --quiet --disable-pip-version-check "pyspark[connect]==$("$PY" -c 'import pyspark; print(pyspark.__version__)')"
ROWS="${1:-10000000}"
FILE="$DATA/table-$ROWS.parquet"
[ -f "$FILE" ] || "$PY" "$REPO/tests/bench/make_table.py" "$FILE" "$ROWS"

PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
LOGS="$(mktemp -d)"
SPARK_HOME="$SPARK_HOME" SPARK_LOCAL_IP=127.0.0.1 setsid "$SPARK_HOME/bin/spark-submit" \
  --class org.apache.spark.sql.connect.service.SparkConnectServer --name lathe-bench \
  --master 'local[2]' --driver-memory 8g \
  --conf spark.connect.grpc.binding.address=127.0.0.1 --conf spark.connect.grpc.binding.port="$PORT" \
  --conf spark.ui.enabled=false --conf spark.driver.bindAddress=127.0.0.1 \
  --conf spark.driver.host=127.0.0.1 >"$LOGS/spark.log" 2>&1 &
SPARK_PID=$!
trap 'kill -TERM -$SPARK_PID 2>/dev/null; sleep 3; kill -KILL -$SPARK_PID 2>/dev/null; rm -rf "$LOGS"; true' EXIT
until grep -q "Spark Connect server started" "$LOGS/spark.log"; do
  kill -0 $SPARK_PID 2>/dev/null || { cat "$LOGS/spark.log"; exit 1; }
  sleep 0.5
done
URL="sc://127.0.0.1:$PORT"
# Warm the JVM once (the first query compiles Spark's code paths) for both sides alike.
"$LATHE" dataset show "$URL/?path=$REPO/tests/fixtures/data/cars.csv" > /dev/null

OUT="$DATA/spark-profile-$ROWS.json"
read -r lathe_s lathe_kb < <(measure "lathe dataset show sc://" sh -c 'exec "$@" > "$OUT"' sh "$LATHE" dataset show "$URL/?path=$FILE" --json)
for mode in pairwise batched; do
  /usr/bin/time -f "%e %M" -o "$DATA/time.txt" "$PY" "$REPO/tests/bench/spark_profile_pyspark.py" "$URL" "$FILE" --corr "$mode"
  read -r peer_s peer_kb < "$DATA/time.txt"
  awk -v l="$lathe_s" -v p="$peer_s" -v m="$mode" -v pk="$peer_kb" 'BEGIN {
    printf "pyspark (%s corr) %.1f s end to end (client peak %.0f MiB): lathe is %.2fx faster\n", m, p, pk/1024, p/l }'
done
echo "lathe $lathe_s s (client peak $((lathe_kb / 1024)) MiB); profile in $OUT"
