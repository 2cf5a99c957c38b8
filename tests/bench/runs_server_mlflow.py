"""The peer of `lathe runs import URL` (tests/bench/runs_server.sh): what a Python user does to
read every run of a tracking server with its full metric histories — mlflow.search_runs over
every experiment (deleted runs included), then get_metric_history for every metric of every run,
through the same server. Prints the runs and points read, and the seconds taken.

    python tests/bench/runs_server_mlflow.py URL [SAMPLE]

With SAMPLE > 0, reads the histories of only the first SAMPLE runs and prints, marked as an
estimate, the search time plus SAMPLE's history time scaled to every run (reading 50,000
histories of a 10,000-run server one by one takes hours).
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
    searched = time.perf_counter() - start
    sample = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    read = runs[:sample] if 0 < sample < len(runs) else runs
    points = 0
    for r in read:
        for key in r.data.metrics:
            points += len(client.get_metric_history(r.info.run_id, key))
    took = time.perf_counter() - start
    if read is runs:
        print(f"mlflow client: {len(runs)} runs, {points} points in {took:.1f} s", file=sys.stderr)
    else:
        estimate = searched + (took - searched) * len(runs) / len(read)
        print(
            f"mlflow client: search_runs of {len(runs)} runs {searched:.1f} s; histories of {len(read)} runs "
            f"({points} points) {took - searched:.1f} s; ESTIMATE for all {len(runs)} runs: {estimate:.0f} s",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
