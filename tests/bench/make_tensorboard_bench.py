"""A TensorBoard log folder for tests/bench/tensorboard.sh, written by tensorboardX's
SummaryWriter (the real writer): RUNS run folders, each TAGS scalars logged at STEPS steps.

    python make_tensorboard_bench.py OUT RUNS TAGS STEPS [SEED]

Runs are written by two processes at once (the machine has two cores); the values are seeded.
"""

import sys
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from tensorboardX import SummaryWriter


def write(args):
    out, run, tags, steps, seed = args
    rng = np.random.default_rng(seed * 100_003 + run)
    w = SummaryWriter(str(Path(out) / f"group{run % 10}" / f"run{run:05d}"), max_queue=10_000, flush_secs=600)
    values = rng.random((steps, tags))
    for step in range(steps):
        row = values[step]
        for t in range(tags):
            w.add_scalar(f"metric{t}", float(row[t]), step)
    w.close()


def main():
    out, runs, tags, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    with Pool(2) as pool:
        pool.map(write, [(out, r, tags, steps, seed) for r in range(runs)])


if __name__ == "__main__":
    main()
