#!/usr/bin/env bash
# Benchmark: the first page of a sorted (and of a filtered, sorted) 10,000,000-row table with
# `lathe dataset rows` (release build), the goal being under 2 s; side by side with pandas
# doing the same on the same Parquet file (read, filter, stable sort, head). Not part of the
# test suite (it needs a release build).
#
#   tests/bench/rows.sh [ROWS]        (LATHE_BENCH_RUNS=N runs each, default 3)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
. "$REPO/tests/bench/lib.sh"
ROWS="${1:-10000000}"
TABLE="$DATA/rows-$ROWS.parquet"
PROJECT="$DATA/rows-project-$ROWS"

[ -f "$TABLE" ] || python3 "$REPO/tests/bench/make_rows_table.py" "$TABLE" "$ROWS"
if [ ! -f "$PROJECT/lathe.sqlite" ]; then
  "$LATHE" init "$PROJECT" > /dev/null
  start=$SECONDS
  "$LATHE" --project "$PROJECT" dataset import "$TABLE" --name big > /dev/null
  echo "import (read, profile, store) of $ROWS rows: $((SECONDS - start)) s" >&2
fi

best() { measure "$@" > /dev/null; }

best "lathe rows --limit 50 (first page, unsorted)" "$LATHE" --project "$PROJECT" dataset rows big --limit 50 --json
best "lathe rows --sort amount:desc --limit 50" "$LATHE" --project "$PROJECT" dataset rows big --sort amount:desc --limit 50 --json
best "lathe rows --sort customer --limit 50" "$LATHE" --project "$PROJECT" dataset rows big --sort customer --limit 50 --json
best "lathe rows --filter ... --sort balance --limit 50" "$LATHE" --project "$PROJECT" dataset rows big \
  --filter "country = 'NO' and age >= 40 and amount is not null" --sort balance --limit 50 --json
OBJECT=$(python3 -c "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('select object_sha256 from dataset_versions').fetchone()[0])" "$PROJECT/lathe.sqlite")
STORED="$PROJECT/objects/${OBJECT:0:2}/${OBJECT:2}"
best "pandas: read, sort amount desc, head 50 (same Parquet)" python3 -c "
import pandas as pd, sys
df = pd.read_parquet(sys.argv[1])
df.sort_values('amount', ascending=False, kind='stable', na_position='last').head(50).to_json()" "$STORED"
best "pandas: read, filter, sort balance, head 50" python3 -c "
import pandas as pd, sys
df = pd.read_parquet(sys.argv[1])
m = (df.country == 'NO') & (df.age >= 40) & df.amount.notna()
df[m].sort_values('balance', kind='stable', na_position='last').head(50).to_json()" "$STORED"
