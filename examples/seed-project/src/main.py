"""Compute terrain statistics over a generated elevation grid and write them as JSON.

The JSON goes to --out (the workflow collects that file as its output artifact)
and to stdout (the task's result). Each option's default comes from an environment
variable, so a workflow sets them as the container's env:
    GRID_SIZE=128 GRID_SEED=7 python main.py --out /tmp/outputs/stats.json
"""

import argparse
import json
import os
from pathlib import Path

from lib.helpers import synthetic_dem, terrain_stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    env = os.environ.get
    parser.add_argument("--size", type=int, default=int(env("GRID_SIZE", "128")), help="grid cells per side")
    parser.add_argument("--seed", type=int, default=int(env("GRID_SEED", "0")), help="seed of the generated terrain")
    parser.add_argument("--out", default=env("STATS_PATH", "/tmp/outputs/stats.json"),
                        help="where to write the statistics")
    args = parser.parse_args()
    if args.size < 3:
        parser.error(f"--size {args.size}: give at least 3 cells per side (slopes need neighbours)")

    stats = {"tile": os.environ.get("TILE_NAME", "generated"), "size": args.size, "seed": args.seed,
             **terrain_stats(synthetic_dem(args.size, args.seed))}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(stats, indent=2) + "\n")
    print(json.dumps(stats, sort_keys=True))


if __name__ == "__main__":
    main()
