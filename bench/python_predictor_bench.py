"""The Python Predictor against the mmdg program: per-sample time of scoring one benchmark list.

    PYTHONPATH=build/python python3 bench/python_predictor_bench.py --checkpoint CKPT --list W-test.txt \
        --data-root synth [--mmdg build/mmdg] [--batch 32] [--threads 2] [--repeats 3]

Measured in one run, with the same intra-op threads on both sides:
- the program: `mmdg predict --list` over the whole list and over its first line; the per-sample
  time is the difference over the extra samples (process start and model loading cancel out);
- Python, on the same files and batch size: `Predictor.predict_files` (decoding, resizing,
  normalization and the network, one call per batch), and `Predictor.predict` on the inputs
  already decoded (the network and the call's own cost).
Prints one JSON object; times are medians over the repeats.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import mmdg  # noqa: E402
import torch  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--list", required=True)
    parser.add_argument("--data-root", default="")
    parser.add_argument("--mmdg", default=os.path.join(os.path.dirname(__file__), "..", "build", "mmdg"))
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    lines = [line for line in open(args.list).read().splitlines() if line.strip() and not line.startswith("#")]
    if len(lines) < 2:
        sys.exit(f"{args.list}: need at least 2 samples")
    samples = [[os.path.join(args.data_root, p) for p in line.split()[:3]] for line in lines]
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        first = os.path.join(tmp, "first.txt")
        open(first, "w").write(lines[0] + "\n")

        def cli_seconds(list_path):
            start = time.perf_counter()
            subprocess.run([args.mmdg, "-q", "--threads", str(args.threads), "predict", "--checkpoint", args.checkpoint,
                            "--list", list_path, "--data-root", args.data_root, "--batch-size", str(args.batch),
                            "--out", os.path.join(tmp, "scores.csv")], check=True, stdout=subprocess.DEVNULL)
            return time.perf_counter() - start

        cli_seconds(first)  # warm the file cache
        full = statistics.median(cli_seconds(args.list) for _ in range(args.repeats))
        one = statistics.median(cli_seconds(first) for _ in range(args.repeats))

    predictor = mmdg.Predictor(args.checkpoint)
    batches = [samples[i:i + args.batch] for i in range(0, len(samples), args.batch)]

    def files_seconds():
        start = time.perf_counter()
        for b in batches:
            predictor.predict_files([s[0] for s in b], [s[1] for s in b], [s[2] for s in b])
        return time.perf_counter() - start

    inputs = [[torch.stack([predictor.prepare(mmdg.read_image(s[m])) for s in b]) for m in range(3)] for b in batches]

    def tensors_seconds():
        start = time.perf_counter()
        for rgb, depth, ir in inputs:
            predictor.predict(rgb, depth, ir)
        return time.perf_counter() - start

    files_seconds(), tensors_seconds()  # warm-up
    files = statistics.median(files_seconds() for _ in range(args.repeats))
    tensors = statistics.median(tensors_seconds() for _ in range(args.repeats))
    n = len(samples)
    cli_ms = 1000 * (full - one) / (n - 1)
    report = {
        "checkpoint": args.checkpoint, "samples": n, "batch": args.batch, "intra_op_threads": args.threads,
        "cli_ms_per_sample": cli_ms, "cli_startup_and_one_sample_s": one,
        "python_files_ms_per_sample": 1000 * files / n, "python_tensors_ms_per_sample": 1000 * tensors / n,
        "python_files_over_cli": 1000 * files / n / cli_ms,
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
