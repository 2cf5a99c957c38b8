#!/usr/bin/env bash
# Benchmark: `lathe runs list` when few, half or all runs match, printed as JSON and as text,
# side by side with `mlflow.search_runs` (the same filter and order, every match returned) on
# the same MLflow SQLite store (tests/bench/make_runs_stores.py: RUNS runs × 10 params ×
# 5 metrics × 100 steps). Goal (issue 28): ≥ 50× faster than search_runs for every shape.
# Lathe is timed as the whole command (process start included), median of 20; search_runs
# in-process around the call alone, best of LATHE_BENCH_RUNS. Needs mlflow: LATHE_BENCH_PYTHON
# (default: the test run's mlflow tool venv, ~/.cache/lathe-tools/mlflow-*/bin/python).
#
#   tests/bench/runs_list.sh [RUNS]
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
. "$REPO/tests/bench/lib.sh"
N="${1:-10000}"
STORES="$DATA/runs-$N"
PY="${LATHE_BENCH_PYTHON:-$(ls -d "$HOME"/.cache/lathe-tools/mlflow-*/bin/python | tail -1)}"
PROJECT="$DATA/runs-list-$N-project"

[ -f "$STORES/mlflow.db" ] || "$PY" "$REPO/tests/bench/make_runs_stores.py" "$STORES" "$N"
if [ ! -f "$PROJECT/lathe.sqlite" ]; then
  "$LATHE" init "$PROJECT" > /dev/null
  "$LATHE" --project "$PROJECT" runs import "$STORES/mlflow.db" > /dev/null
fi

# Thresholds on metrics.m0 that 1 %, 50 % and 100 % of the runs pass, from the runs themselves.
read -r P1 P50 < <("$LATHE" --project "$PROJECT" runs list --sort metrics.m0 --json | python3 -c "
import json, sys
v = sorted(r['metrics']['m0'] for r in json.load(sys.stdin))
n = len(v)
print((v[n // 100 - 1] + v[n // 100]) / 2, (v[n // 2 - 1] + v[n // 2]) / 2)")

"$PY" - "$LATHE" "$PROJECT" "$STORES/mlflow.db" "$RUNS" "$P1" "$P50" <<'PY'
import json, statistics, subprocess, sys, time
import mlflow
lathe, project, db, runs, p1, p50 = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
mlflow.set_tracking_uri(f"sqlite:///{db}")
exp = mlflow.get_experiment_by_name("bench").experiment_id
shapes = [
    ("1 %", f"metrics.m0 < {p1}"),
    ("50 %", f"metrics.m0 < {p50}"),
    ("100 %", "metrics.m0 > -1"),
    ("compound", "metrics.m0 < 0.6 and params.optimizer = 'adam'"),
]
sort = "metrics.m1"
worst = None
for label, flt in shapes:
    best = None
    for _ in range(runs):
        t = time.perf_counter()
        df = mlflow.search_runs([exp], filter_string=flt, order_by=[sort], max_results=100_000)
        dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
    for fmt in (["--json"], []):
        cmd = [lathe, "--project", project, "runs", "list", "--filter", flt, "--sort", sort] + fmt
        times = []
        for _ in range(20):
            t = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
            times.append(time.perf_counter() - t)
        med = statistics.median(times)
        if fmt:
            out = json.loads(subprocess.run(cmd, capture_output=True, check=True).stdout)
            ids = [r["source_run_id"] for r in out]
            assert ids == list(df["run_id"]), f"{label}: lathe and search_runs list other runs or another order"
        peak = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, check=True).stderr.decode().split()[-1]
        ratio = best / med
        worst = ratio if worst is None else min(worst, ratio)
        print(f"{label:9} matched {len(df):6} {'json' if fmt else 'text'}: lathe median {med * 1000:7.1f} ms "
              f"(peak {int(peak) // 1024} MiB), search_runs best {best:7.3f} s -> {ratio:6.1f}x", file=sys.stderr)
print(f"worst shape: {worst:.1f}x", file=sys.stderr)
PY
