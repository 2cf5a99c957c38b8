#!/usr/bin/env bash
# Benchmark: importing and listing 10,000 MLflow runs (10 params, 5 metrics × 100 steps each)
# with `lathe runs` (release build), from both store kinds, side by side with
# `mlflow.search_runs` with the same filter and order on the same store; and a chart of
# 100 runs × 10,000 steps, paging 100,000 runs, and grouping runs by a param (against
# search_runs plus pandas' groupby). Goals (issue 4): import ≤ one search_runs call; each list ≥ 50× faster
# than search_runs; the chart ≤ 300 ms. Not part of the test suite (it needs a release build).
#
#   tests/bench/runs.sh [RUNS]        (LATHE_BENCH_RUNS=N timings each, default 3)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
. "$REPO/tests/bench/lib.sh"
N="${1:-10000}"
STORES="$DATA/runs-$N"
FILTER="metrics.m0 < 0.5 and params.optimizer = 'adam'"
SORT="metrics.m1"

[ -f "$STORES/chart.jsonl" ] || python3 "$REPO/tests/bench/make_runs_stores.py" "$STORES" "$N"

for store in mlflow.db mlruns; do
  src="$STORES/$store"
  if [ "$store" = mlflow.db ]; then uri="sqlite:///$src"; else uri="file://$src"; fi
  # A fresh project for each timed import (the first import, not a re-import).
  measure "lathe runs import $store ($N runs)" bash -c "rm -rf '$DATA/runs-project' && '$LATHE' init '$DATA/runs-project' >/dev/null && '$LATHE' --project '$DATA/runs-project' runs import '$src'" > /dev/null
  measure "lathe runs import $store again (nothing new)" "$LATHE" --project "$DATA/runs-project" runs import "$src" > /dev/null
  measure "lathe runs list --filter --sort ($store)" "$LATHE" --project "$DATA/runs-project" runs list --filter "$FILTER" --sort "$SORT" --json > /dev/null
  # /usr/bin/time counts in hundredths of a second: the same listing, 20 times, to the ms.
  python3 - "$LATHE" "$DATA/runs-project" "$FILTER" "$SORT" <<'PY'
import statistics, subprocess, sys, time
lathe, project, flt, sort = sys.argv[1:]
times = []
for _ in range(20):
    t = time.perf_counter()
    subprocess.run([lathe, "--project", project, "runs", "list", "--filter", flt, "--sort", sort, "--json"], stdout=subprocess.DEVNULL, check=True)
    times.append(time.perf_counter() - t)
print(f"lathe runs list, 20 times: median {statistics.median(times) * 1000:.0f} ms, min {min(times) * 1000:.0f} ms", file=sys.stderr)
PY
  "$LATHE" --project "$DATA/runs-project" runs list --filter "$FILTER" --sort "$SORT" --json \
    | python3 -c "import json,sys; print('lathe matched', len(json.load(sys.stdin)), 'runs', file=sys.stderr)"
  # search_runs in-process, timed around the call alone (Python's start-up and import of
  # mlflow, ~3 s, are not counted against it).
  MLFLOW_ALLOW_FILE_STORE=true python3 - "$uri" "$FILTER" "$SORT" "$RUNS" <<'PY'
import sys, time, mlflow
uri, flt, sort, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
mlflow.set_tracking_uri(uri)
exp = mlflow.get_experiment_by_name("bench").experiment_id
best = None
for _ in range(runs):
    t = time.perf_counter()
    df = mlflow.search_runs([exp], filter_string=flt, order_by=[sort], max_results=100_000)
    dt = time.perf_counter() - t
    best = dt if best is None else min(best, dt)
print(f"mlflow.search_runs ({uri.split(':')[0]}): best of {runs} {best:.2f} s, matched {len(df)} runs", file=sys.stderr)
PY
  # Grouping every run by a param: `--group-by` against search_runs plus pandas' groupby, and
  # the means compared.
  measure "lathe runs list --group-by params.model ($store)" "$LATHE" --project "$DATA/runs-project" runs list --group-by params.model --json > /dev/null
  "$LATHE" --project "$DATA/runs-project" runs list --group-by params.model --json > "$DATA/groups.json"
  MLFLOW_ALLOW_FILE_STORE=true python3 - "$uri" "$RUNS" "$DATA/groups.json" <<'PY'
import json, sys, time, mlflow
uri, runs, lathe_json = sys.argv[1], int(sys.argv[2]), sys.argv[3]
mlflow.set_tracking_uri(uri)
exp = mlflow.get_experiment_by_name("bench").experiment_id
cols = [f"metrics.m{k}" for k in range(5)]
best = None
for _ in range(runs):
    t = time.perf_counter()
    df = mlflow.search_runs([exp], max_results=100_000)
    groups = df.groupby("params.model")[cols].agg(["count", "mean", "min", "max"])
    dt = time.perf_counter() - t
    best = dt if best is None else min(best, dt)
worst = 0.0
for g in json.load(open(lathe_json)):
    for k in range(5):
        worst = max(worst, abs(g["metrics"][f"m{k}"]["mean"] - groups.loc[g["value"], (f"metrics.m{k}", "mean")]))
print(f"search_runs + pandas groupby ({uri.split(':')[0]}): best of {runs} {best:.2f} s, {len(groups)} groups; "
      f"largest difference of a mean from Lathe's: {worst:.1e}", file=sys.stderr)
PY
done

CHART_PROJECT="$DATA/runs-chart-project"
if [ ! -f "$CHART_PROJECT/lathe.sqlite" ]; then
  "$LATHE" init "$CHART_PROJECT" > /dev/null
  "$LATHE" --project "$CHART_PROJECT" runs import "$STORES/chart.jsonl" > /dev/null
fi
ids=$(seq -s ' ' -f 'c%g' 0 99)
# shellcheck disable=SC2086
measure "lathe runs chart: 100 runs × 10,000 steps to SVG" "$LATHE" --project "$CHART_PROJECT" runs chart $ids --metric loss --out "$DATA/chart.svg" > /dev/null
# shellcheck disable=SC2086
measure "lathe runs chart: the same, grouped with bands, PNG" "$LATHE" --project "$CHART_PROJECT" runs chart $ids --metric loss --group-by params.group --out "$DATA/chart.png" > /dev/null

# The run table's paging over 100,000 runs (5 params, 3 metrics each): one page of 200 runs of a
# filtered, sorted listing, at the top, middle and end, as the CLI serves it without the desktop's
# cache (the app's RunBrowser keeps the filtered order, so only the first page pays this).
BIG="$DATA/runs-100k.jsonl"
[ -f "$BIG" ] || python3 - "$BIG" <<'PY'
import json, random, sys
rng = random.Random(1)
with open(sys.argv[1], "w") as f:
    for i in range(100_000):
        f.write(json.dumps({"event": "start", "run": f"r{i}", "experiment": f"e{i % 10}", "name": f"run-{i}", "time": 1764000000000 + i,
                            "params": {"lr": rng.choice([0.1, 0.01, 0.001]), "opt": rng.choice(["adam", "sgd"]), "depth": rng.randint(1, 12), "seed": i, "batch": rng.choice([32, 64])}}) + "\n")
        f.write(json.dumps({"event": "metric", "run": f"r{i}", "step": 0, "time": 1764000000000 + i, "metrics": {"m0": rng.random(), "m1": rng.random(), "m2": rng.random()}}) + "\n")
        f.write(json.dumps({"event": "end", "run": f"r{i}", "time": 1764000001000 + i}) + "\n")
PY
# A fresh project for each timed import (a re-import of an unchanged file reads nothing).
measure "lathe runs import of 100,000 JSONL runs" bash -c "rm -rf '$DATA/runs-100k-project' && '$LATHE' init '$DATA/runs-100k-project' >/dev/null && '$LATHE' --project '$DATA/runs-100k-project' runs import '$BIG'" > /dev/null
for offset in 0 50000 99800; do
  measure "lathe runs list (100,000 runs) page at $offset" "$LATHE" --project "$DATA/runs-100k-project" runs list \
    --filter "params.opt = 'adam' or params.depth > 6" --sort metrics.m0:desc --offset "$offset" --limit 200 --json > /dev/null
done
