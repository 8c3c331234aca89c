"""A trained network as a TorchScript file that plain LibTorch (C++) and PyTorch load without mmdg.

    mmdg.export_torchscript("run/best.safetensors", "detector.pt")
    m = torch.jit.load("detector.pt", _extra_files=extra)        # extra = {"mmdg_deployment.json": ""}
    live_probability, reliability = m(rgb, depth, ir)            # (B,), (B, 3)

How: the checkpoint is loaded with the deterministic `expected` uncertainty estimator (a traced graph
cannot carry the Monte Carlo draws) and its forward is traced by PyTorch's tracer, which records the
library's LibTorch operations as they run (one LibTorch on both sides). The weights become the
graph's constants. The inputs are what `Predictor.prepare` makes: (B, 3, S, S), resized and
normalized as the deployment record says, a missing modality as zeros. The trace fixes B (the
network's code shapes tensors with the batch size it sees): score batches of `batch_size` (default 1).

Stored beside the graph, as extra files of the archive: mmdg_deployment.json (input size,
normalization with its mean / std, threshold and its source, the checkpoint's record) and
mmdg_options.json (the network's options).
"""
import json
import math

import torch

from ._mmdg import Predictor

class _Scorer(torch.nn.Module):
    """The library network's forward reduced to what a deployment reads."""

    def __init__(self, network):
        super().__init__()
        self._network = [network]  # not an nn.Module: kept out of the module tree

    def forward(self, rgb, depth, ir):
        out = self._network[0](rgb, depth, ir)
        live = torch.softmax(out["logits"], -1)[:, 1]
        reliability = [r[:, 1:].mean(1) if r is not None else torch.full_like(live, math.nan) for r in out["reliability"]]
        return live, torch.stack(reliability, 1)


def export_torchscript(checkpoint, out, batch_size=1, device="cpu"):
    """Writes `out` (a TorchScript archive) from `checkpoint`; returns the deployment dict stored in it."""
    if batch_size < 1:
        raise ValueError("batch_size: must be at least 1")
    predictor = Predictor(checkpoint, device=device, estimator="expected")
    network = predictor.network.eval()
    for p in network.parameters():
        p.requires_grad_(False)
    deployment = dict(predictor.deployment)
    deployment.update({"batch_size": batch_size, "outputs": ["live_probability", "reliability"],
                       "inputs": "rgb, depth, ir: (batch_size, 3, S, S) float32, resized to S, scaled to [0, 1], "
                                 "normalized by mean / std; a missing modality as zeros"})
    size = deployment["image_size"]
    example = tuple(torch.zeros(batch_size, 3, size, size, device=device) for _ in range(3))
    with torch.no_grad():
        traced = torch.jit.trace(_Scorer(network), example, check_trace=False)
    extra = {"mmdg_deployment.json": json.dumps(deployment, indent=1),
             "mmdg_options.json": json.dumps(predictor.options, indent=1)}
    torch.jit.save(traced, out, _extra_files=extra)
    return deployment
