"""The peer of `lathe runs import URL` (tests/bench/runs_server.sh): what a Python user does to
read every run of a tracking server with its full metric histories — mlflow.search_runs over
every experiment (deleted runs included), then get_metric_history for every metric of every run,
through the same server. Prints the runs and points read, and the seconds taken.

    python tests/bench/runs_server_mlflow.py URL
"""

import sys
import time

from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient


def main() -> None:
    client = MlflowClient(tracking_uri=sys.argv[1])
    start = time.perf_counter()
    experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    runs, token = [], None
    while True:
        page = client.search_runs(experiments, run_view_type=ViewType.ALL, max_results=50_000, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            break
    points = 0
    for r in runs:
        for key in r.data.metrics:
            points += len(client.get_metric_history(r.info.run_id, key))
    print(f"mlflow client: {len(runs)} runs, {points} points in {time.perf_counter() - start:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
