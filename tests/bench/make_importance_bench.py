"""A study for the importance benchmark (tests/bench/importance.sh), and Optuna's evaluators
timed on it.

    python make_importance_bench.py write OUT.jsonl TRIALS PARAMS SEED
    python make_importance_bench.py time OUT.jsonl ped-anova|fanova

`write`: RandomSampler trials over PARAMS params (a quarter each linear floats, log floats,
integers and 4-way categoricals), the objective driven by the first few params plus noise;
each trial written as a run of Lathe's JSONL log, the objective as metric `loss`. `time`:
rebuilds the study from the log with the domains Lathe infers (as the parity fixture does)
and prints the seconds `get_param_importances` takes with the evaluator (the study's
construction not counted), and the importances.
"""

import json
import math
import sys
import time

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.importance import FanovaImportanceEvaluator, PedAnovaImportanceEvaluator, get_param_importances

optuna.logging.set_verbosity(optuna.logging.WARNING)


def write(out, trials, params, seed):
    rng = np.random.default_rng(seed)
    kinds = ["float", "log", "int", "cat"]
    space = {f"p{i:02d}_{kinds[i % 4]}": kinds[i % 4] for i in range(params)}
    weights = {name: 3.0 / (1 + i) ** 1.5 for i, name in enumerate(space)}
    with open(out, "w") as f:
        for t in range(trials):
            ps = {}
            loss = 0.0
            for name, kind in space.items():
                if kind == "float":
                    v = float(rng.uniform(-5, 5))
                    loss += weights[name] * (v - 1) ** 2 / 10
                elif kind == "log":
                    v = float(10 ** rng.uniform(-5, -1))
                    loss += weights[name] * (math.log10(v) + 3) ** 2
                elif kind == "int":
                    v = int(rng.integers(1, 65))
                    loss += weights[name] * abs(v - 20) / 20
                else:
                    v = ["a", "b", "c", "d"][int(rng.integers(0, 4))]
                    loss += weights[name] * {"a": 0, "b": 0.5, "c": 1, "d": 2}[v]
                ps[name] = v
            loss += float(rng.normal(0, 0.05))
            run = f"trial-{t}"
            f.write(json.dumps({"event": "start", "run": run, "experiment": "bench", "time": 1764000000000 + t, "params": ps}) + "\n")
            f.write(json.dumps({"event": "metric", "run": run, "key": "loss", "value": loss, "step": 0}) + "\n")
            f.write(json.dumps({"event": "end", "run": run, "status": "FINISHED"}) + "\n")


def infer(values):
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        low, high = min(values), max(values)
        log = low > 0 and high >= 100 * low
        if all(isinstance(v, int) for v in values):
            return IntDistribution(int(low), int(high), log=log)
        return FloatDistribution(float(low), float(high), log=log)
    return CategoricalDistribution(sorted({str(v) for v in values}))


def timed(path, method):
    runs = {}
    for line in open(path):
        e = json.loads(line)
        if e["event"] == "start":
            runs[e["run"]] = {"params": e["params"]}
        elif e["event"] == "metric":
            runs[e["run"]]["value"] = e["value"]
    names = sorted({k for r in runs.values() for k in r["params"]})
    domains = {n: infer([r["params"][n] for r in runs.values()]) for n in names}
    study = optuna.create_study(direction="minimize")
    study.add_trials([
        optuna.trial.create_trial(params=r["params"], distributions=domains, value=r["value"])
        for r in runs.values()
    ])
    evaluator = PedAnovaImportanceEvaluator() if method == "ped-anova" else FanovaImportanceEvaluator(seed=0)
    start = time.perf_counter()
    importances = get_param_importances(study, evaluator=evaluator)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "importances": importances}))


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        timed(sys.argv[2], sys.argv[3])
