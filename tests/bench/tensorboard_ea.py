"""TensorBoard's own reader over a log folder, for tests/bench/tensorboard.sh: every run folder
loaded by `plugin_event_accumulator.EventAccumulator` keeping every point (size_guidance 0, not
its default reservoir of 500), as `lathe runs import` keeps them. Prints the points read.

    python tensorboard_ea.py DIR
"""

import sys
from pathlib import Path

from tensorboard.backend.event_processing import plugin_event_accumulator as pea

points = 0
dirs = sorted({p.parent for p in Path(sys.argv[1]).rglob("*tfevents*")})
for d in dirs:
    acc = pea.EventAccumulator(str(d), size_guidance={"tensors": 0})
    acc.Reload()
    for tag in acc.Tags()["tensors"]:
        points += len(acc.Tensors(tag))
print(f"{len(dirs)} runs, {points} points", file=sys.stderr)
