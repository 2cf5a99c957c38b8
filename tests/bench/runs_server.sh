#!/usr/bin/env bash
# Benchmark: `lathe runs import URL` from a real MLflow tracking server (mlflow 3.17.2, SQLite
# backend, one worker, on 127.0.0.1) holding RUNS runs (default 1,000 — the client's run-by-run
# reading of 10,000 runs takes hours on this server; 10 params, 5 metrics ×
# 100 steps each, from make_runs_stores.py), side by side with the mlflow client reading the
# same runs and histories through the same server (runs_server_mlflow.py; above 2,000 runs it
# reads the histories of 200 runs and prints its estimate for all, marked as such); then a
# re-sync with nothing changed (best of 3), one after 100 runs were resumed (a tag set and a
# metric point logged on each, then ended again, as `mlflow.start_run(run_id=...)` does), and a
# re-sync of every run (`--full`). Goals (issue 22): no-change re-sync ≤ 1 s, 100 changed ≤ 3 s.
# Needs the mlflow venv that scripts/test.sh installs (LATHE_MLFLOW_BIN, default
# ~/.cache/lathe-tools/mlflow-3.17.2/bin).
#
#   tests/bench/runs_server.sh [RUNS]
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
export LATHE_BENCH_RUNS="${LATHE_BENCH_RUNS:-1}"
. "$REPO/tests/bench/lib.sh"
N="${1:-1000}"
BIN="${LATHE_MLFLOW_BIN:-$HOME/.cache/lathe-tools/mlflow-3.17.2/bin}"
STORES="$DATA/runs-server-$N"
[ -f "$STORES/mlflow.db" ] || "$BIN/python" "$REPO/tests/bench/make_runs_stores.py" "$STORES" "$N"

# The server works on a copy (the benchmark changes runs), stopped by its process group.
WORK="$(mktemp -d)"
cp "$STORES/mlflow.db" "$WORK/mlflow.db"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
setsid "$BIN/mlflow" server --backend-store-uri "sqlite:///$WORK/mlflow.db" --artifacts-destination "$WORK/artifacts" \
  --host 127.0.0.1 --port "$PORT" --workers 1 > "$WORK/mlflow.log" 2>&1 &
SERVER=$!
trap 'kill -TERM -$SERVER 2>/dev/null; sleep 2; kill -KILL -$SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
URL="http://127.0.0.1:$PORT"
for _ in $(seq 120); do curl -sf "$URL/health" >/dev/null && break; sleep 1; done

"$LATHE" init "$WORK/project" > /dev/null
measure "lathe runs import URL ($N runs, first)" "$LATHE" --project "$WORK/project" runs import "$URL" > /dev/null
"$LATHE" --project "$WORK/project" runs list --include-deleted --json | python3 -c "import json,sys; print('lathe holds', len(json.load(sys.stdin)), 'runs', file=sys.stderr)"
SAMPLE=0; [ "$N" -gt 2000 ] && SAMPLE=200
measure "mlflow client search_runs + get_metric_history" "$BIN/python" "$REPO/tests/bench/runs_server_mlflow.py" "$URL" "$SAMPLE" > /dev/null
RUNS=3 measure "lathe runs import URL again (nothing changed)" "$LATHE" --project "$WORK/project" runs import "$URL" > /dev/null
# (mlflow prints a "View run" line for each run it ends.)
"$BIN/python" - "$URL" > /dev/null <<'PY'
import sys, time
from mlflow.entities import Metric, RunTag
from mlflow.tracking import MlflowClient
client = MlflowClient(tracking_uri=sys.argv[1])
exp = [e.experiment_id for e in client.search_experiments()]
runs = client.search_runs(exp, max_results=100)
for r in runs:
    client.update_run(r.info.run_id, status="RUNNING")
    client.log_batch(r.info.run_id, metrics=[Metric("m0", 0.1, int(time.time() * 1000), 100)], tags=[RunTag("touched", "yes")])
    client.set_terminated(r.info.run_id)
print(f"resumed and changed {len(runs)} runs", file=sys.stderr)
PY
/usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$LATHE" --project "$WORK/project" runs import "$URL" --json > "$WORK/after.json"
read -r secs kb < "$WORK/time.txt"
python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(f're-sync after 100 runs changed: {sys.argv[2]} s, peak {int(sys.argv[3]) // 1024} MiB:', s['runs_new'], 'new,', s['runs_updated'], 'updated,', s['runs_unchanged'], 'unchanged', file=sys.stderr)" "$WORK/after.json" "$secs" "$kb"
measure "lathe runs import URL --full (every run read, nothing changed)" "$LATHE" --project "$WORK/project" runs import "$URL" --full > /dev/null
