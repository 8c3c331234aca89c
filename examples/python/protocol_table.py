#!/usr/bin/env python3
"""A protocol table from score files: two methods' `mmdg protocol` folders (one seedK/ folder per
seed, each holding scores_<protocol>_<sources>__<target>.csv), each test set's HTER (at its own EER
threshold, the paper's policy) and AUC as mean +- std over seeds, and the paired bootstrap interval
of the HTER difference over test videos. Prints Markdown.

    PYTHONPATH=build/python /usr/bin/python3 examples/python/protocol_table.py \\
        results/protocol/vit results/protocol/mmdg --names ViT MMDG
"""
import argparse
import glob
import os
import statistics
import sys

import mmdg


def runs(folder):
    """{test set: [scores dict of seed 0, seed 1, ...]} from folder/seed*/scores_*.csv."""
    sets = {}
    for seed_dir in sorted(glob.glob(os.path.join(folder, "seed*")), key=lambda d: int(d.rsplit("seed", 1)[1] or 0)):
        for path in sorted(glob.glob(os.path.join(seed_dir, "scores_*.csv"))):
            stem = os.path.basename(path)[len("scores_"):-len(".csv")]  # e.g. p1_CPS__W
            protocol, _, test = stem.partition("_")
            name = f"{protocol} {test.replace('__', '->')}"
            sets.setdefault(name, []).append(mmdg.metrics.read_scores_csv(path))
    if not sets:
        sys.exit(f"{folder}: no seed*/scores_*.csv")
    return sets


def spread(values):
    return f"{statistics.mean(values):.2f} +- {statistics.stdev(values) if len(values) > 1 else 0.0:.2f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", help="the first method's protocol folder (the difference is a - b)")
    parser.add_argument("b", help="the second method's protocol folder")
    parser.add_argument("--names", nargs=2, default=["a", "b"])
    parser.add_argument("--resamples", type=int, default=2000)
    args = parser.parse_args(argv)
    a, b = runs(args.a), runs(args.b)
    common = [name for name in a if name in b]
    if not common:
        sys.exit("no test set in both folders")
    na, nb = args.names
    print(f"| test set | seeds | {na} HTER (%) | {na} AUC (%) | {nb} HTER (%) | {nb} AUC (%) | {na} - {nb} HTER, 95 % CI |")
    print("|---|---|---|---|---|---|---|")
    for name in common:
        seeds = min(len(a[name]), len(b[name]))
        first = a[name][0]
        for s in a[name][:seeds] + b[name][:seeds]:
            if s["labels"] != first["labels"] or s["videos"] != first["videos"]:
                sys.exit(f"{name}: the score files do not hold the same samples in the same order")
        cells = []
        for method in (a, b):
            sets = method[name][:seeds]
            cells.append(spread([100 * mmdg.metrics.target_eer_hter(s["scores"], s["labels"]) for s in sets]))
            cells.append(spread([100 * mmdg.metrics.auc(s["scores"], s["labels"]) for s in sets]))
        d = mmdg.metrics.paired_hter_difference([s["scores"] for s in a[name][:seeds]], [s["scores"] for s in b[name][:seeds]],
                                                first["labels"], first["videos"], resamples=args.resamples)
        interval = (f"{100 * d['difference']:+.2f} [{100 * d['low']:+.2f}, {100 * d['high']:+.2f}] "
                    f"({d['live_units']} live / {d['spoof_units']} spoof {d['units']})")
        print(f"| {name} | {seeds} | " + " | ".join(cells) + f" | {interval} |")


if __name__ == "__main__":
    main()
