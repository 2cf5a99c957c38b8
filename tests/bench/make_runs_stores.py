"""Generated MLflow stores for the runs benchmark (tests/bench/runs.sh).

    python tests/bench/make_runs_stores.py OUT_DIR [RUNS]

Writes OUT_DIR/mlruns/ (file store) and OUT_DIR/mlflow.db (SQLite store) holding the same
RUNS runs (default 10,000) in one experiment, each with 10 params, 5 metrics × 100 steps and
a run name, seeded. Logging 5 million points through the mlflow client would take hours, so the
schema comes from mlflow itself (an empty store it creates) and the rows are written in bulk in
MLflow's own layouts: mlflow.search_runs reads both (the benchmark checks it finds the runs).
Also writes OUT_DIR/chart.jsonl: 100 runs × 10,000 steps of one metric, for the chart timing.
"""

import json
import os
import random
import sqlite3
import sys
import uuid
from pathlib import Path

os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"

import mlflow  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

T0 = 1_764_000_000_000
OPTIMIZERS = ["adam", "sgd", "rmsprop", "adagrad"]
MODELS = ["resnet18", "resnet34", "resnet50", "vit-b", "mlp"]


def runs(n: int):
    rng = random.Random(42)
    for i in range(n):
        run_id = uuid.UUID(int=rng.getrandbits(128)).hex
        params = {
            "optimizer": rng.choice(OPTIMIZERS), "model": rng.choice(MODELS), "lr": str(rng.choice([0.1, 0.01, 0.001, 0.0001])),
            "batch_size": str(rng.choice([32, 64, 128, 256])), "epochs": "100", "dropout": f"{rng.random() * 0.5:.3f}",
            "weight_decay": str(rng.choice([0, 1e-4, 1e-5])), "seed": str(i), "augment": rng.choice(["yes", "no"]),
            "scheduler": rng.choice(["cosine", "step", "none"]),
        }
        rate = rng.uniform(0.01, 0.1)
        metrics = {}
        for k in range(5):
            base = rng.uniform(0.5, 2.0)
            metrics[f"m{k}"] = [base / (1 + rate * s) + rng.gauss(0, 0.01) for s in range(100)]
        yield i, run_id, params, metrics


def main() -> None:
    out = Path(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    out.mkdir(parents=True, exist_ok=True)
    os.chdir(out)

    # The SQLite store: schema by mlflow, rows in bulk.
    db = out / "mlflow.db"
    db.unlink(missing_ok=True)
    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    exp = client.create_experiment("bench")
    con = sqlite3.connect(db)
    run_rows, params_rows, tags_rows, metric_rows, latest_rows = [], [], [], [], []
    for i, run_id, params, metrics in runs(n):
        name = f"run-{i}"
        run_rows.append((run_id, name, "UNKNOWN", "", "", "bench", "FINISHED", T0 + i * 1000, T0 + i * 1000 + 60_000, "",
                         "active", f"file:///tmp/artifacts/{run_id}", int(exp)))
        params_rows += [(k, v, run_id) for k, v in params.items()]
        tags_rows.append(("mlflow.runName", name, run_id))
        for key, values in metrics.items():
            metric_rows += [(key, v, T0 + i * 1000 + s, run_id, s, 0) for s, v in enumerate(values)]
            latest_rows.append((key, values[-1], T0 + i * 1000 + 99, 99, 0, run_id))
    con.executemany("INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, "
                    "end_time, source_version, lifecycle_stage, artifact_uri, experiment_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", run_rows)
    con.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?,?,?)", params_rows)
    con.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?,?,?)", tags_rows)
    con.executemany("INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?,?,?,?,?,?)", metric_rows)
    con.executemany("INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES (?,?,?,?,?,?)", latest_rows)
    con.commit()
    con.close()

    # The file store: MLflow's layout, written directly.
    store = out / "mlruns"
    if store.exists():
        import shutil
        shutil.rmtree(store)
    MlflowClient(tracking_uri=store.as_uri()).create_experiment("bench")
    exp_dir = next(p for p in store.iterdir() if p.is_dir() and p.name not in ("0", ".trash", "models"))
    for i, run_id, params, metrics in runs(n):
        d = exp_dir / run_id
        for sub in ("params", "tags", "metrics", "artifacts"):
            (d / sub).mkdir(parents=True)
        (d / "meta.yaml").write_text(
            f"artifact_uri: {(d / 'artifacts').as_uri()}\nend_time: {T0 + i * 1000 + 60_000}\nentry_point_name: ''\n"
            f"experiment_id: '{exp_dir.name}'\nlifecycle_stage: active\nrun_id: {run_id}\nrun_name: run-{i}\nsource_name: ''\n"
            f"source_type: 4\nsource_version: ''\nstart_time: {T0 + i * 1000}\nstatus: 3\ntags: []\nuser_id: bench\n")
        for k, v in params.items():
            (d / "params" / k).write_text(v)
        (d / "tags" / "mlflow.runName").write_text(f"run-{i}")
        for key, values in metrics.items():
            (d / "metrics" / key).write_text("".join(f"{T0 + i * 1000 + s} {v} {s}\n" for s, v in enumerate(values)))

    # 100 runs × 10,000 steps of one noisy metric with rare spikes, for the chart timing.
    rng = random.Random(7)
    with open(out / "chart.jsonl", "w") as f:
        for r in range(100):
            f.write(json.dumps({"event": "start", "run": f"c{r}", "experiment": "chart", "params": {"group": str(r % 4)}}) + "\n")
            for s in range(10_000):
                v = 1 / (1 + 0.001 * s * (1 + r / 50)) + rng.gauss(0, 0.02) + (3.0 if rng.random() < 0.0005 else 0.0)
                f.write(f'{{"event": "metric", "run": "c{r}", "key": "loss", "value": {v}, "step": {s}, "time": {T0 + s * 100}}}\n')
            f.write(json.dumps({"event": "end", "run": f"c{r}"}) + "\n")
    print(f"wrote {n} runs to {db} and {store}, and {out / 'chart.jsonl'}")


if __name__ == "__main__":
    main()
