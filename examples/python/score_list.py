#!/usr/bin/python3
"""Scores a benchmark list ("rgb depth ir label" lines, paths relative to a data root) with a trained
checkpoint, then prints the metrics at the checkpoint's deployed threshold, as JSON.

    PYTHONPATH=build/python /usr/bin/python3 examples/python/score_list.py \\
        results/mmdg/CPS-W/best.safetensors MMDG-Benchmark/W-test.txt DATA [--csv scores.csv]
"""
import argparse
import csv
import json
import os
import sys

import mmdg


def read_list(path, root):
    """[(rgb, depth, ir), ...] and [label, ...] of a list file; a malformed line names itself."""
    samples, labels = [], []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) < 4 or fields[3] not in ("0", "1"):
                sys.exit(f"{path}:{n}: expected 'rgb depth ir label' with label 1 (live) or 0 (spoof)")
            samples.append(tuple(os.path.join(root, p) for p in fields[:3]))
            labels.append(int(fields[3]))
    return samples, labels


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("list")
    parser.add_argument("data_root")
    parser.add_argument("--batch", type=int, default=32, help="samples per forward pass")
    parser.add_argument("--csv", help="also write path,label,score per sample to this file")
    args = parser.parse_args()
    samples, labels = read_list(args.list, args.data_root)
    predictor = mmdg.Predictor(args.checkpoint)
    scores = []
    for i in range(0, len(samples), args.batch):
        rgb, depth, ir = (list(column) for column in zip(*samples[i:i + args.batch]))
        scores += predictor.predict_files(rgb, depth, ir)["live_probability"].tolist()
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["path", "label", "score"])
            out.writerows((s[0], y, f"{v:.8g}") for s, y, v in zip(samples, labels, scores))
    at = mmdg.metrics.at_threshold(scores, labels, predictor.threshold)
    print(json.dumps({"samples": len(scores), "live": sum(labels), "threshold": predictor.threshold,
                      "hter": at["hter"], "apcer": at["apcer"], "bpcer": at["bpcer"],
                      "auc": mmdg.metrics.auc(scores, labels),
                      "eer": mmdg.metrics.equal_error_rate(scores, labels)["eer"]}, indent=1))


if __name__ == "__main__":
    main()
