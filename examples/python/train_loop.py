#!/usr/bin/python3
"""Trains MMDG in a plain PyTorch loop: mmdg's network, its single-side prototypical (SSP) loss and
ReGrad, and torch.optim.Adam on the network's own tensors (what `mmdg train` does, written out).

    PYTHONPATH=build/python /usr/bin/python3 examples/python/train_loop.py \\
        synthetic/C-train.txt,synthetic/S-train.txt synthetic --config mmdg_tiny --steps 30
"""
import argparse
import os
import random

import torch
import torch.nn.functional as F

import mmdg

MEAN, STD = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1), torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


def load(lists, root, size):
    """Every sample of the lists (one list per source domain): ImageNet-normalized images, label, source."""
    samples = []
    for source, path in enumerate(lists):
        for line in open(path):
            fields = line.split()
            if len(fields) >= 4:
                images = [F.interpolate(mmdg.read_image(os.path.join(root, p))[None], size=(size, size), mode="bilinear",
                                        align_corners=False)[0] for p in fields[:3]]
                samples.append(([(x - MEAN) / STD for x in images], int(fields[3]), source))
    return samples


def batch_of(samples):
    images = [torch.stack([s[0][m] for s in samples]) for m in range(3)]
    return images, torch.tensor([s[1] for s in samples]), torch.tensor([s[2] for s in samples])


def prototypes_of(net, samples, domains):
    """Each SSP domain's mean class token over the training set, per modality (eval mode)."""
    net.eval()
    sums, counts = [torch.zeros(domains, net.options["hidden_dim"]) for _ in range(3)], torch.zeros(domains)
    with torch.no_grad():
        for i in range(0, len(samples), 32):
            images, labels, sources = batch_of(samples[i:i + 32])
            d = mmdg.losses.ssp_domain(labels, sources)
            features = net(*images)["features"]
            for m in range(3):
                sums[m].index_add_(0, d, features[m])
            counts.index_add_(0, d, torch.ones(len(d)))
    net.train()
    return [s / counts.clamp(min=1)[:, None] for s in sums], counts > 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lists", help="comma-separated training lists, one per source domain")
    parser.add_argument("data_root")
    parser.add_argument("--config", default="mmdg_tiny", help="a network preset (mmdg_mini, mmdg_tiny, mmdg_b16)")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--steps-per-epoch", type=int, default=10, help="the prototypes are recomputed each epoch")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--ssp-weight", type=float, default=0.3, help="lambda of Eq. 8")
    args = parser.parse_args()
    random.seed(0)
    torch.manual_seed(0)
    net = mmdg.make_network(args.config).train()
    lists = args.lists.split(",")
    samples = load(lists, args.data_root, net.options["image_size"])
    named = [(n, p) for n, p in net.named_parameters() if p.requires_grad]
    params, branches = [p for _, p in named], [net.branch_of(n) for n, _ in named]
    optimizer = torch.optim.Adam(params, lr=args.lr, weight_decay=1e-3)
    running = None  # the running SSP losses: the smallest is the fast modality
    for step in range(args.steps):
        if step % args.steps_per_epoch == 0:
            prototypes, valid = prototypes_of(net, samples, 1 + len(lists))
        images, labels, sources = batch_of(random.sample(samples, min(args.batch, len(samples))))
        out = net(*images)
        ce = F.cross_entropy(out["logits"], labels)
        domains = mmdg.losses.ssp_domain(labels, sources)
        ssp = [mmdg.losses.ssp_loss(out["features"][m], prototypes[m], valid, domains) for m in range(3)]
        values = [s.item() for s in ssp]
        running = values if running is None else [0.5 * r + 0.5 * v for r, v in zip(running, values)]
        fast = min(range(3), key=lambda m: running[m])
        reliability = [out["class_reliability"][m].item() for m in range(3)]
        mmdg.losses.regrad_backward(params, branches, [args.ssp_weight * s for s in ssp], ce, fast, reliability)
        optimizer.step()
        print(f"step {step + 1}: ce {ce.item():.4f} ssp {' '.join(f'{v:.4f}' for v in values)} "
              f"fast {('rgb', 'depth', 'ir')[fast]}", flush=True)


if __name__ == "__main__":
    main()
