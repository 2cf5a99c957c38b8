"""Broken run sources for the runs importers' corpus test (crates/lathe-core/tests/core/runs.rs).

    python tests/corpus/make_runs_corpus.py

Writes tests/corpus/runs/: small MLflow file stores (mlruns layouts, as MLflow 3 writes them),
SQLite files named mlflow.db, JSONL run logs and CSVs, TensorBoard event files and W&B record logs
(cut from the fixtures the real writers made), each broken in one way. Each case is either
refused with a clear error that changes nothing in the project, or imported with the broken item
skipped and named in the import summary — what the test states per case.
"""

import shutil
import sqlite3
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "corpus" / "runs"
FIXTURE_DB = ROOT / "tests" / "fixtures" / "mlflow" / "mlflow.db"
T0 = 1_764_000_000_000


def experiment(store: Path, exp_id: str = "1", name: str = "exp") -> Path:
    d = store / exp_id
    d.mkdir(parents=True)
    (d / "meta.yaml").write_text(
        f"artifact_location: file:///nowhere/{exp_id}\nexperiment_id: '{exp_id}'\n"
        f"lifecycle_stage: active\nname: {name}\n"
    )
    return d


def run(exp: Path, run_id: str, status: str = "3", metrics: dict | None = None, meta: str | None = None) -> Path:
    d = exp / run_id
    for sub in ["params", "tags", "metrics", "artifacts"]:
        (d / sub).mkdir(parents=True)
    if meta is None:
        meta = (
            f"artifact_uri: file:///nowhere/{run_id}/artifacts\nend_time: {T0 + 60000}\n"
            f"experiment_id: '{exp.name}'\nlifecycle_stage: active\nrun_id: {run_id}\n"
            f"run_name: {run_id}\nstart_time: {T0}\nstatus: {status}\n"
        )
    if meta != "":
        (d / "meta.yaml").write_text(meta)
    (d / "params" / "lr").write_text("0.1")
    for key, text in (metrics or {"loss": f"{T0} 0.5 0\n{T0 + 1} 0.4 1\n"}).items():
        if text is None:
            (d / "metrics" / key).mkdir(parents=True)
        else:
            (d / "metrics" / key).write_text(text)
    return d


def good_run(exp: Path) -> None:
    run(exp, "good")


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)

    exp = experiment(OUT / "missing_run_meta")
    good_run(exp)
    run(exp, "nometa", meta="")

    exp = experiment(OUT / "garbled_run_meta")
    good_run(exp)
    run(exp, "garbled", meta="run_id: [unclosed\nstatus: {\n")

    exp = experiment(OUT / "run_meta_not_a_mapping")
    good_run(exp)
    run(exp, "listy", meta="- just\n- a list\n")

    store = OUT / "garbled_experiment_meta"
    (store / "1").mkdir(parents=True)
    (store / "1" / "meta.yaml").write_text("name: [oops\n")

    exp = experiment(OUT / "non_numeric_metric")
    good_run(exp)
    run(exp, "words", metrics={"loss": f"{T0} 0.5 0\n{T0 + 1} lots 1\n"})

    exp = experiment(OUT / "truncated_metric")
    run(exp, "good", metrics={"loss": f"{T0} 0.5 0\n{T0 + 1} 0.4 1\n17640000"})

    exp = experiment(OUT / "metric_file_is_a_folder")
    run(exp, "good", metrics={"loss": f"{T0} 0.5 0\n", "acc": None})

    exp = experiment(OUT / "unknown_status")
    good_run(exp)
    run(exp, "weird", status="9")

    exp = experiment(OUT / "run_folder_mismatch")
    good_run(exp)
    run(exp, "moved", meta=f"run_id: elsewhere\nstatus: 3\nexperiment_id: '1'\n")

    store = OUT / "not_an_mlruns"
    store.mkdir()
    (store / "notes.txt").write_text("hello\n")
    (store / "data").mkdir()

    # SQLite files named mlflow.db that are not MLflow stores Lathe can read.
    (OUT / "text_named").mkdir()
    (OUT / "text_named" / "mlflow.db").write_text("this is not a database\n")
    (OUT / "empty_sqlite").mkdir()
    sqlite3.connect(OUT / "empty_sqlite" / "mlflow.db").execute("CREATE TABLE t (x)").connection.close()
    (OUT / "other_schema").mkdir()
    con = sqlite3.connect(OUT / "other_schema" / "mlflow.db")
    con.executescript(
        "CREATE TABLE alembic_version (version_num TEXT); INSERT INTO alembic_version VALUES ('451aebb31d03');"
        "CREATE TABLE experiments (experiment_id INTEGER, name TEXT, lifecycle_stage TEXT);"
        "CREATE TABLE experiment_tags (key TEXT, value TEXT, experiment_id INTEGER);"
        "CREATE TABLE runs (run_uuid TEXT, name TEXT, status TEXT, start_time INTEGER, end_time INTEGER,"
        " lifecycle_stage TEXT, artifact_uri TEXT, experiment_id INTEGER);"
        "CREATE TABLE params (key TEXT, value TEXT, run_uuid TEXT); CREATE TABLE tags (key TEXT, value TEXT, run_uuid TEXT);"
        "CREATE TABLE metrics (key TEXT, value REAL, timestamp INTEGER, run_uuid TEXT);"
    )
    con.close()
    (OUT / "truncated_db").mkdir()
    (OUT / "truncated_db" / "mlflow.db").write_bytes(FIXTURE_DB.read_bytes()[:8192])
    (OUT / "unknown_status_db").mkdir()
    shutil.copy(FIXTURE_DB, OUT / "unknown_status_db" / "mlflow.db")
    con = sqlite3.connect(OUT / "unknown_status_db" / "mlflow.db")
    # MLflow's CHECK constraint forbids it; a hand-edited or newer store may still hold one.
    con.execute("PRAGMA ignore_check_constraints = 1")
    con.execute("UPDATE runs SET status = 'PAUSED' WHERE name = 'crashed'")
    con.commit()
    con.close()

    (OUT / "broken_lines.jsonl").write_text(
        '{"event": "start", "run": "r1", "experiment": "exp", "params": {"lr": 0.1}}\n'
        '{"event": "metric", "run": "r1", "key": "loss", "value": 0.5, "step": 0}\n'
        "{not json\n"
        '{"event": "metric", "run": "r1", "key": "loss", "value": "lots", "step": 1}\n'
        '{"event": "metric", "run": "r9", "key": "loss", "value": 0.1}\n'
        '{"event": "launch", "run": "r1"}\n'
        '{"run": "r1"}\n'
        '{"event": "metric", "run": "r1", "key": "loss", "value": 0.25, "step": 2}\n'
        '{"event": "end", "run": "r1", "status": "DONE"}\n'
        '{"event": "metric", "run": "r1", "key": "loss", "value": 0.2, "st'
    )
    (OUT / "all_broken.jsonl").write_text("garbage\n[1, 2]\n")
    (OUT / "empty.jsonl").write_text("")
    (OUT / "not_utf8.jsonl").write_bytes(b'{"event": "start", "run": "\xff\xfe"}\n')
    (OUT / "no_run_id.csv").write_text("name,metrics.acc\na,0.5\n")
    (OUT / "bad_metric.csv").write_text("run_id,metrics.acc,status\na,0.5,FINISHED\nb,high,FINISHED\nc,0.7,PAUSED\na,0.1,FINISHED\n")
    (OUT / "empty.csv").write_text("")
    logged_by_writers()
    print(f"wrote {sum(1 for _ in OUT.iterdir())} cases to {OUT}")


def logged_by_writers() -> None:
    """Event files and record logs from tests/fixtures (TensorBoard's writer, wandb 0.31),
    broken."""
    fixtures = ROOT / "tests" / "fixtures"
    (tf2,) = (fixtures / "tensorboard" / "logs" / "tf2" / "trial-1").glob("events*")
    data = tf2.read_bytes()
    for case, name, content in (
        ("tensorboard_cut", "events.out.tfevents.1.cut", data[:-7]),
        ("tensorboard_bad_crc", "events.out.tfevents.1.flipped",
         data[:40] + bytes([data[40] ^ 0x20]) + data[41:]),
        ("tensorboard_text", "events.out.tfevents.1.txt", b"step,loss\n1,0.5\n"),
    ):
        (OUT / case / "run").mkdir(parents=True)
        (OUT / case / "run" / name).write_bytes(content)
    (log,) = (fixtures / "wandb" / "wandb").glob("offline-run-*-failed-run/run-*.wandb")
    data = log.read_bytes()
    for case, content in (
        ("wandb_cut", data[:-10]),
        # A bit of the second record's data: its chunk header is at byte 7 + 7 + the first's
        # length.
        ("wandb_bad_crc", data[:200] + bytes([data[200] ^ 0x01]) + data[201:]),
        ("wandb_header_only", data[:7]),
        ("wandb_text", b"step,loss\n1,0.5\n"),
    ):
        (OUT / case / "offline-run-20261207_000000-x").mkdir(parents=True)
        (OUT / case / "offline-run-20261207_000000-x" / "run-x.wandb").write_bytes(content)


if __name__ == "__main__":
    main()
