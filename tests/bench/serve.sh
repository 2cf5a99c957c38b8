#!/usr/bin/env bash
# Benchmark: `lathe serve` (release build) against MLServer (PyPI mlserver + mlserver-sklearn,
# KServe's default Python server) serving the same model: the demo's 100-tree random forest and
# its StandardScaler + LogisticRegression pipeline (lathe serves the shipped ONNX files,
# MLServer the scikit-learn models they were converted from, trained the same way). Load from
# oha (crates.io) on 127.0.0.1: a fixed number of v2 JSON inference requests at concurrency 1,
# 16 and 64, with 1 and 100 rows each, both servers asked for the label and the probabilities.
# Reports requests/s, rows/s, p50/p99 latency, non-200 answers and the servers' peak RSS (every
# process of the server summed); then a 5-minute soak of lathe at 80 % of its best throughput,
# sampling its RSS. Both servers, the load generator and this script share the machine's cores.
# Not part of the test suite.
#
#   tests/bench/serve.sh [REQUESTS] [SOAK_SECONDS]
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
. "$REPO/tests/bench/lib.sh"
REQUESTS="${1:-4000}"
SOAK="${2:-300}"
TOOLS="${LATHE_TOOLS:-$HOME/.cache/lathe-tools}"
MLSERVER_VERSION="1.7.1"
OHA_VERSION="1.16.0"
DIR="$DATA/serve"
MLS="$TOOLS/mlserver-$MLSERVER_VERSION"
if [ ! -x "$MLS/bin/mlserver" ]; then
  python3 -m venv "$MLS"
  # uvloop 0.22 removed the implicit event loop MLServer 1.7.1's workers ask for.
  "$MLS/bin/pip" install --quiet --disable-pip-version-check "mlserver==$MLSERVER_VERSION" \
    "mlserver-sklearn==$MLSERVER_VERSION" "scikit-learn==1.7.*" "pandas<3" "uvloop<0.22"
fi
OHA="$TOOLS/oha-$OHA_VERSION/bin/oha"
[ -x "$OHA" ] || cargo install --quiet --locked oha --version "$OHA_VERSION" --root "$TOOLS/oha-$OHA_VERSION"
mkdir -p "$DIR"
[ -f "$DIR/lathe-100.json" ] || "$MLS/bin/python" "$REPO/tests/bench/make_serve_bench.py" "$DIR"
FEATURES="$(cat "$DIR/features.txt")"
PORT=19180

# The resident set of a process and its descendants, in KiB.
tree_rss() {
  local pids
  # -T: processes only (a thread's /proc entry repeats its process's resident set).
  pids="$(pstree -pT "$1" 2>/dev/null | grep -o '([0-9]*)' | tr -d '()' || echo "$1")"
  local total=0
  for p in $pids; do
    local kb
    kb="$(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)"
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}

wait_ready() {
  for _ in $(seq 120); do
    curl -sf "http://127.0.0.1:$PORT/v2/models/$1/ready" >/dev/null && return 0
    sleep 0.5
  done
  echo "the server did not get ready" >&2; return 1
}

# load SERVER MODEL ROWS CONCURRENCY PID: one oha run; prints a result line, tracks peak RSS.
load() {
  local server="$1" model="$2" rows="$3" c="$4" pid="$5"
  local out="$DIR/oha-$server-$model-$rows-$c.json"
  "$OHA" -n "$REQUESTS" -c "$c" -m POST -T application/json -D "$DIR/$server-$rows.json" \
    --no-tui --output-format json "http://127.0.0.1:$PORT/v2/models/$model/infer" > "$out" &
  local oha=$! peak=0 now
  while kill -0 "$oha" 2>/dev/null; do
    now="$(tree_rss "$pid")"; [ "$now" -gt "$peak" ] && peak=$now
    sleep 0.2
  done
  wait "$oha"
  python3 - "$out" "$server" "$model" "$rows" "$c" "$peak" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
server, model, rows, c, peak = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
s, lat = o["summary"], o["latencyPercentiles"]
codes = o.get("statusCodeDistribution", {})
bad = sum(v for k, v in codes.items() if k != "200") + sum(o.get("errorDistribution", {}).values())
print(f"{server:8} {model:6} rows={rows:<3} c={c:<2} {s['requestsPerSec']:9.0f} req/s {s['requestsPerSec'] * rows:10.0f} rows/s"
      f"  p50 {lat['p50'] * 1e3:7.2f} ms  p99 {lat['p99'] * 1e3:7.2f} ms  errors {bad}  peak RSS {peak / 1024:.0f} MiB")
PY
}

stop() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

for model in forest logreg; do
  onnx="$REPO/assets/models/breast_cancer_$model.onnx"
  "$LATHE" serve "$onnx" --features "$FEATURES" --port "$PORT" --no-grpc > "$DIR/lathe.log" 2>&1 &
  pid=$!
  wait_ready "breast_cancer_$model"
  for rows in 1 100; do
    for c in 1 16 64; do
      "$OHA" -n 200 -c "$c" -m POST -T application/json -D "$DIR/lathe-$rows.json" --no-tui \
        "http://127.0.0.1:$PORT/v2/models/breast_cancer_$model/infer" > /dev/null
      load lathe "breast_cancer_$model" "$rows" "$c" "$pid" | sed "s/breast_cancer_$model/$model/"
    done
  done
  curl -s -X POST -H 'content-type: application/json' -d @"$DIR/lathe-100.json" \
    "http://127.0.0.1:$PORT/v2/models/breast_cancer_$model/infer" > "$DIR/lathe-$model-answer.json"
  stop "$pid"

  for workers in 1 2; do
    echo "{\"http_port\": $PORT, \"grpc_port\": $((PORT + 1)), \"metrics_port\": $((PORT + 2)), \"host\": \"127.0.0.1\", \"parallel_workers\": $workers}" \
      > "$DIR/mlserver/$model/settings.json"
    (cd "$DIR/mlserver/$model" && exec "$MLS/bin/mlserver" start . > "$DIR/mlserver.log" 2>&1) &
    pid=$!
    wait_ready "$model"
    for rows in 1 100; do
      for c in 1 16 64; do
        "$OHA" -n 200 -c "$c" -m POST -T application/json -D "$DIR/mlserver-$rows.json" --no-tui \
          "http://127.0.0.1:$PORT/v2/models/$model/infer" > /dev/null
        load mlserver "$model" "$rows" "$c" "$pid" | sed "s/^mlserver /mls×$workers  /"
      done
    done
    curl -s -X POST -H 'content-type: application/json' -d @"$DIR/mlserver-100.json" \
      "http://127.0.0.1:$PORT/v2/models/$model/infer" > "$DIR/mlserver-$model-answer.json"
    stop "$pid"
    pkill -f "mlserver start" 2>/dev/null || true
    sleep 1
  done
  python3 - "$DIR/lathe-$model-answer.json" "$DIR/mlserver-$model-answer.json" <<'PY'
import json, sys
a = {o["name"]: o["data"] for o in json.load(open(sys.argv[1]))["outputs"]}
b = {o["name"]: o["data"] for o in json.load(open(sys.argv[2]))["outputs"]}
same = sum(x == y for x, y in zip(a["label"], b["predict"]))
diff = max(abs(x - y) for x, y in zip(a["probabilities"], b["predict_proba"]))
print(f"  same labels on {same} of {len(a['label'])} rows; largest probability difference {diff:.2e} (float32 ONNX vs float64 scikit-learn)")
PY
done

# Soak: the forest, 1-row requests at concurrency 16, at 80 % of the best rate measured above.
best="$(python3 -c "import json; print(json.load(open('$DIR/oha-lathe-breast_cancer_forest-1-16.json'))['summary']['requestsPerSec'])")"
rate="$(python3 -c "print(int($best * 0.8))")"
onnx="$REPO/assets/models/breast_cancer_forest.onnx"
"$LATHE" serve "$onnx" --features "$FEATURES" --port "$PORT" --no-grpc --metrics > "$DIR/lathe.log" 2>&1 &
pid=$!
wait_ready breast_cancer_forest
"$OHA" -z "${SOAK}s" -q "$rate" -c 16 -m POST -T application/json -D "$DIR/lathe-1.json" --no-tui \
  --output-format json "http://127.0.0.1:$PORT/v2/models/breast_cancer_forest/infer" > "$DIR/soak.json" &
oha=$!
: > "$DIR/soak-rss.txt"
while kill -0 "$oha" 2>/dev/null; do tree_rss "$pid" >> "$DIR/soak-rss.txt"; sleep 5; done
wait "$oha"
stop "$pid"
python3 - "$DIR/soak.json" "$DIR/soak-rss.txt" "$rate" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
rss = [int(l) for l in open(sys.argv[2]) if l.strip()]
warm = rss[len(rss) // 10:]  # after the first tenth
codes = o.get("statusCodeDistribution", {})
# oha cancels the requests in flight when the duration ends: not the server's errors.
bad = sum(v for k, v in codes.items() if k != "200") + sum(
    v for k, v in o.get("errorDistribution", {}).items() if k != "aborted due to deadline")
lo, hi = min(warm), max(warm)
print(f"soak: {o['summary']['requestsPerSec']:.0f} req/s for {o['summary']['total']:.0f} s (target {sys.argv[3]}/s), "
      f"p99 {o['latencyPercentiles']['p99'] * 1e3:.2f} ms, errors {bad}; RSS after warm-up "
      f"{lo / 1024:.1f}-{hi / 1024:.1f} MiB ({(hi - lo) / lo * 100:.1f} % spread, {len(rss)} samples)")
PY
