"""mmdg: multi-modal domain-generalized face anti-spoofing (MMDG, "Suppress and Rebalance",
CVPR 2024) in LibTorch, from Python.

The functions take and return torch.Tensor objects without copying them: Debian's python3-torch
and the library are one LibTorch, so a network's parameters() are the library's own tensors
(torch.optim trains them, loss.backward() fills their .grad).

    import torch, mmdg
    net = mmdg.make_network("mmdg_tiny")                 # the CLI's model options as keywords
    out = net(rgb, depth, ir)                            # dict: logits, features, reliability, ...
    predictor = mmdg.Predictor("run/best.safetensors")
    result = predictor.predict_files(["f_rgb.jpg"], ["f_depth.png"], ["f_ir.png"])
    result["live_probability"], result["live"]           # scores, decisions at the stored threshold
    net, strategy = mmdg.make_method("ssdg", num_sources=3, config="mmdg_tiny")  # any method, in your loop

Errors of the library (bad options, files, shapes) raise mmdg.Error with its message.
"""
import os

# OpenMP threads that wait passively, as the mmdg program runs them: LibTorch's default (spinning)
# made batched scoring 2-3x slower on a 2-core machine. It only takes effect when torch is not
# imported yet (the OpenMP runtime reads it once); set OMP_WAIT_POLICY yourself to choose otherwise.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402,F401  (first: the tensor type the module's functions take and return)

from ._mmdg import (Error, Network, Predictor, Strategy, __version__, corrupt, corruptions, load_weights, losses,
                    make_method, make_network, metrics, network_names, network_presets, protocol, read_image,
                    save_safetensors, strategy_names, stress, train)

from .export import export_torchscript  # noqa: E402

__all__ = ["Error", "Network", "Predictor", "Strategy", "__version__", "corrupt", "corruptions", "export_torchscript",
           "load_weights", "losses", "make_method", "make_network", "metrics", "network_names", "network_presets",
           "protocol", "read_image", "save_safetensors", "strategy_names", "stress", "train"]
