#!/usr/bin/python3
"""Writes the golden files the C++ tests compare against (tests/golden/data/).

Needs Debian's python3-torch, python3-torchvision and python3-numpy (scripts/setup.sh
--with-python). Run from anywhere:  /usr/bin/python3 tests/golden/make_golden.py
The files are committed; regenerate them with this script, never edit them by hand.

Files:
  vit_tiny_torchvision.pth   torch.save(VisionTransformer(...).state_dict()) of a tiny
                             torchvision ViT with random weights (an OrderedDict with _metadata)
  vit_tiny_timm.safetensors  the same weights under timm's names, written by write_safetensors
  vit_tiny_io.safetensors    an input batch and torchvision's outputs (features, logits)
  dtypes.pth                 float16 / bfloat16 / float64 / integer / bool tensors, a Parameter
  shared_storage.pth         views sharing one storage, with offsets and strides
  forbidden_global.pth       a pickle that would call os.system: must be refused
  legacy_format.pth          the pre-1.6 non-zip format: must get a clear error
  mmdg_tiny_released.pth     a tiny MMDG in the released code's layout, every weight random
                             (adapters non-zero), from the independent PyTorch forward below
  mmdg_tiny_io.safetensors   its inputs and outputs (estimator "expected", eval mode)
  padisi_stored.npz          PADISI-style sample: array "data" (1, 22, 10, 8) float32 in [0, 1],
                             written by np.savez (stored entries)
  padisi_deflate.npz         the same by np.savez_compressed (deflate)
  face_rgb.jpg, face_gray.png, face_depth16.png
                             16x16 images written by PIL (JPEG, 8-bit gray PNG, 16-bit PNG)
  pipeline_expected.safetensors
                             each of those decoded by PIL / numpy and normalized with ImageNet's
                             mean and std, (3, H, W) RGB: the values the C++ pipeline must produce
  expected.json              name, dtype, shape, sum and values of every tensor of the above
"""
import collections
import json
import os
import struct
import sys

import numpy as np
import torch
from PIL import Image
import torchvision

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
# Must match vit_config("vit_tiny") in src/mmdg/model/vit.cpp, plus a head of 5 classes.
TINY = dict(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32)
NUM_CLASSES = 5

ST_DTYPES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16",
             torch.bfloat16: "BF16", torch.int64: "I64", torch.int32: "I32",
             torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}
PY_DTYPES = {torch.float64: "float64", torch.float32: "float32", torch.float16: "float16",
             torch.bfloat16: "bfloat16", torch.int64: "int64", torch.int32: "int32",
             torch.int16: "int16", torch.int8: "int8", torch.uint8: "uint8", torch.bool: "bool"}


def write_safetensors(path, tensors, metadata=None):
    """The safetensors layout, written by hand (the safetensors package is not in Debian)."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        # bytes through a same-width integer view (numpy has no bfloat16)
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[name] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def describe(tensors):
    """name -> dtype, shape, sum (float64), values (float64, flattened) for small tensors."""
    out = {}
    for name, t in tensors.items():
        d = t.detach().to(torch.float64)
        entry = {"dtype": PY_DTYPES[t.dtype], "shape": list(t.shape), "sum": d.sum().item()}
        if t.numel() <= 64:
            entry["values"] = d.flatten().tolist()
        out[name] = entry
    return out


def timm_names(state):
    """torchvision ViT names -> timm names (the inverse of src/mmdg/model/vit_weights.cpp)."""
    out = collections.OrderedDict()
    for k, v in state.items():
        n = k
        n = n.replace("conv_proj.", "patch_embed.proj.")
        n = n.replace("class_token", "cls_token")
        n = n.replace("encoder.pos_embedding", "pos_embed")
        n = n.replace("encoder.layers.encoder_layer_", "blocks.")
        n = n.replace(".ln_1.", ".norm1.").replace(".ln_2.", ".norm2.")
        n = n.replace(".self_attention.in_proj_weight", ".attn.qkv.weight")
        n = n.replace(".self_attention.in_proj_bias", ".attn.qkv.bias")
        n = n.replace(".self_attention.out_proj.", ".attn.proj.")
        n = n.replace(".mlp.0.", ".mlp.fc1.").replace(".mlp.3.", ".mlp.fc2.")
        n = n.replace("encoder.ln.", "norm.")
        n = n.replace("heads.head.", "head.")
        out[n] = v
    return out


class Evil:
    """Pickles as a call to os.system: a loader that runs it is unsafe."""

    def __reduce__(self):
        return (os.system, ("echo MMDG_PICKLE_EXPLOIT_RAN > /tmp/mmdg_pickle_exploit",))


# ---- an independent PyTorch forward of MMDG (paper Eq. 4, released code's structure), written
# from REFERENCE.md for the golden files; the estimator is "expected" so the output is exact.
MMDG_TINY = dict(adapter_dim=4, adapter_heads=2, theta=0.5, drop_rate=0.3, rate=2.25)


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


class RefAdapter(torch.nn.Module):
    def __init__(self, dim, d, heads, grid):
        super().__init__()
        nn = torch.nn
        self.adapter_down_1 = nn.Linear(dim, d)
        self.adapter_down_2 = nn.Linear(dim, d)
        self.cross_attention = nn.Module()
        for name in ["q_linear", "k_linear", "v_linear"]:
            setattr(self.cross_attention, name, nn.Linear(d, d, bias=False))
        self.cross_attention.proj = nn.Linear(d, d)
        self.ln_before = nn.LayerNorm(d)
        self.adapter_conv = nn.Module()
        self.adapter_conv.conv = nn.Conv2d(d, d, 3, padding=1, bias=False)
        self.adapter_up = nn.Linear(d, dim)
        self.d, self.heads, self.grid = d, heads, grid

    def forward(self, own, other, u_other):  # (B, L, C), (B, L, C), (B, L)
        B, L, _ = own.shape
        d, h, g = self.d, self.heads, self.grid
        a = quick_gelu(self.adapter_down_1(own))
        b = quick_gelu(self.adapter_down_2(other))
        ca = self.cross_attention
        q = ca.q_linear(b).reshape(B, L, h, d // h).transpose(1, 2)
        k = ca.k_linear(a).reshape(B, L, h, d // h).transpose(1, 2)
        v = ca.v_linear(a).reshape(B, L, h, d // h).transpose(1, 2)
        logits = (q @ k.transpose(-2, -1)) * (d // h) ** -0.5
        logits = logits * u_other[:, None, :, None]
        x = (logits.softmax(-1) @ v).transpose(1, 2).reshape(B, L, d)
        z = self.ln_before(ca.proj(x) + a)
        w = self.adapter_conv.conv.weight
        theta = MMDG_TINY["theta"]

        def cdc(t):
            return torch.nn.functional.conv2d(t, w, padding=1) - theta * torch.nn.functional.conv2d(t, w.sum((2, 3), keepdim=True))
        patches = cdc(z[:, 1:].reshape(B, g, g, d).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).reshape(B, g * g, d)
        cls = cdc(z[:, :1].reshape(B, 1, 1, d).permute(0, 3, 1, 2)).reshape(B, 1, d)
        return self.adapter_up(quick_gelu(torch.cat([cls, patches], 1)))


class RefMMDG(torch.nn.Module):
    def __init__(self):
        super().__init__()
        vit = torchvision.models.VisionTransformer(num_classes=2, **TINY)
        dim, n = TINY["hidden_dim"], TINY["num_layers"]
        grid = TINY["image_size"] // TINY["patch_size"]
        for m in (1, 2, 3):
            setattr(self, f"conv_proj{m}", torch.nn.Conv2d(3, dim, TINY["patch_size"], TINY["patch_size"]))
            setattr(self, f"class_token{m}", torch.nn.Parameter(torch.zeros(1, 1, dim)))
            setattr(self, f"pos_embedding{m}", torch.nn.Parameter(torch.zeros(1, grid * grid + 1, dim)))
        self.ViT_Encoder = torch.nn.Sequential(vit.encoder.dropout, *vit.encoder.layers, vit.encoder.ln)
        self.fc_all = torch.nn.Sequential(torch.nn.Linear(3 * dim, 2))
        d, h = MMDG_TINY["adapter_dim"], MMDG_TINY["adapter_heads"]
        for name in ["adapter_1_2_2", "adapter_2_1_2", "adapter_1_3_2", "adapter_3_1_2"]:
            setattr(self, name, torch.nn.Sequential(*[RefAdapter(dim, d, h, grid) for _ in range(n)]))

    def forward(self, images):
        p, r = MMDG_TINY["drop_rate"], MMDG_TINY["rate"]
        x = []
        for m in (1, 2, 3):
            t = getattr(self, f"conv_proj{m}")(images[m - 1]).flatten(2).transpose(1, 2)
            t = torch.cat([getattr(self, f"class_token{m}").expand(t.shape[0], -1, -1), t], 1)
            x.append(t + getattr(self, f"pos_embedding{m}"))
        rel = None
        for i, block in enumerate(self.ViT_Encoder[1:-1]):
            att = [block.self_attention(block.ln_1(t), block.ln_1(t), block.ln_1(t), need_weights=False)[0] for t in x]
            rel = [torch.exp(-r * a.abs() * (p / (1 - p)) ** 0.5).mean(-1) for a in att]
            xa = [t + a for t, a in zip(x, att)]
            y = [block.ln_2(t) for t in xa]
            mlp = [block.mlp(t) for t in y]
            x = [xa[0] + mlp[0] + self.adapter_1_2_2[i](y[0], y[1], rel[1]) + self.adapter_1_3_2[i](y[0], y[2], rel[2]),
                 xa[1] + mlp[1] + self.adapter_2_1_2[i](y[1], y[0], rel[0]),
                 xa[2] + mlp[2] + self.adapter_3_1_2[i](y[2], y[0], rel[0])]
        feats = [self.ViT_Encoder[-1](t)[:, 0] for t in x]
        return self.fc_all(torch.cat(feats, 1)), feats, rel


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(1234)
    expected = {}

    # --- tiny torchvision ViT, all parameters random (torchvision zero-inits the head and the
    # class token, which would make the comparison weak)
    vit = torchvision.models.VisionTransformer(num_classes=NUM_CLASSES, **TINY).eval()
    with torch.no_grad():
        for name, p in vit.named_parameters():
            base = 1.0 if (name.endswith("weight") and (".ln" in name or name.startswith("encoder.ln"))) else 0.0
            p.copy_(base + 0.2 * torch.randn_like(p))
    state = vit.state_dict()
    torch.save(state, os.path.join(OUT, "vit_tiny_torchvision.pth"))
    write_safetensors(os.path.join(OUT, "vit_tiny_timm.safetensors"), timm_names(state),
                      {"format": "pt", "source": "make_golden.py"})
    expected["vit_tiny_torchvision.pth"] = describe(state)

    x = torch.randn(2, 3, TINY["image_size"], TINY["image_size"])
    with torch.no_grad():
        feats = vit._process_input(x)
        feats = torch.cat([vit.class_token.expand(x.shape[0], -1, -1), feats], dim=1)
        tokens = vit.encoder(feats)
        logits = vit(x)
    write_safetensors(os.path.join(OUT, "vit_tiny_io.safetensors"),
                      {"input": x, "tokens": tokens, "logits": logits})

    # --- dtypes, including a Parameter (pickled through _rebuild_parameter)
    dtypes = collections.OrderedDict()
    dtypes["half"] = torch.tensor([1.5, -2.25, 65504.0, 6.103515625e-05, 0.0], dtype=torch.float16)
    dtypes["bfloat16"] = torch.tensor([[1.0, -3.5], [1e30, 0.0078125]], dtype=torch.bfloat16)
    dtypes["double"] = torch.tensor([1e-300, 2.5, -7.0], dtype=torch.float64)
    dtypes["int64"] = torch.tensor([-(2**40), 3, 7], dtype=torch.int64)
    dtypes["int32"] = torch.tensor([[-5, 6]], dtype=torch.int32)
    dtypes["int16"] = torch.tensor([-300, 300], dtype=torch.int16)
    dtypes["int8"] = torch.tensor([-128, 127], dtype=torch.int8)
    dtypes["uint8"] = torch.tensor([0, 255, 7], dtype=torch.uint8)
    dtypes["bool"] = torch.tensor([True, False, True])
    dtypes["scalar"] = torch.tensor(3.25)
    dtypes["empty"] = torch.zeros(0, 4)
    dtypes["param"] = torch.nn.Parameter(torch.arange(6.0).reshape(2, 3))
    torch.save(dtypes, os.path.join(OUT, "dtypes.pth"))
    expected["dtypes.pth"] = describe(dtypes)

    # --- shared storages, storage offsets, strides; plus a nested dict and a non-tensor entry
    base = torch.arange(24.0).reshape(4, 6)
    shared = collections.OrderedDict()
    shared["base"] = base
    shared["row"] = base[2]
    shared["block"] = base[1:3, 2:5]
    shared["transposed"] = base.t()
    shared["every_other"] = base[:, ::2]
    shared["flat_slice"] = base.view(-1)[5:17]
    payload = {"model": shared, "epoch": 7}
    torch.save(payload, os.path.join(OUT, "shared_storage.pth"))
    expected["shared_storage.pth"] = describe({"model." + k: v for k, v in shared.items()})

    torch.save({"weight": torch.ones(2), "evil": Evil()}, os.path.join(OUT, "forbidden_global.pth"))
    torch.save({"weight": torch.ones(2)}, os.path.join(OUT, "legacy_format.pth"),
               _use_new_zipfile_serialization=False)

    expected["vit_tiny_timm.safetensors"] = describe(timm_names(state))

    # --- data pipeline references
    rng = np.random.default_rng(5)
    padisi = rng.random((1, 22, 10, 8), dtype=np.float32)
    np.savez(os.path.join(OUT, "padisi_stored.npz"), data=padisi)
    np.savez_compressed(os.path.join(OUT, "padisi_deflate.npz"), data=padisi)
    mean = np.array([0.485, 0.456, 0.406], dtype=np.float64)[:, None, None]
    std = np.array([0.229, 0.224, 0.225], dtype=np.float64)[:, None, None]

    def normalized(chw01):
        return torch.from_numpy(((chw01 - mean) / std).astype(np.float32))

    yy, xx = np.mgrid[0:16, 0:16]
    rgb = np.stack([xx * 16, yy * 16, (xx + yy) * 8], -1).astype(np.uint8)
    Image.fromarray(rgb).save(os.path.join(OUT, "face_rgb.jpg"), quality=92)
    gray = ((xx * 7 + yy * 9) % 256).astype(np.uint8)
    Image.fromarray(gray).save(os.path.join(OUT, "face_gray.png"))
    depth = (xx * 4000 + yy * 97).astype(np.uint16)
    Image.fromarray(depth.astype(np.int32)).convert("I;16").save(os.path.join(OUT, "face_depth16.png"))
    jpg = np.asarray(Image.open(os.path.join(OUT, "face_rgb.jpg")).convert("RGB")).astype(np.float64) / 255
    gray_back = np.asarray(Image.open(os.path.join(OUT, "face_gray.png"))).astype(np.float64) / 255
    depth_back = np.asarray(Image.open(os.path.join(OUT, "face_depth16.png"))).astype(np.float64) / 65535
    assert (depth_back * 65535).round().astype(np.uint16).tolist() == depth.tolist()
    pad = padisi[0].astype(np.float64)
    write_safetensors(os.path.join(OUT, "pipeline_expected.safetensors"), {
        "face_rgb": normalized(jpg.transpose(2, 0, 1)),
        "face_gray": normalized(np.repeat(gray_back[None], 3, 0)),
        "face_depth16": normalized(np.repeat(depth_back[None], 3, 0)),
        "padisi_rgb": normalized(pad[[2, 1, 0]]),           # channels 0-2 are BGR
        "padisi_depth": normalized(np.repeat(pad[4:5], 3, 0)),
        "padisi_ir": normalized(np.repeat(pad[3:4], 3, 0)),
        "padisi_raw": torch.from_numpy(padisi),
    })

    # --- a tiny MMDG with every weight random, and its outputs
    ref = RefMMDG().eval()
    with torch.no_grad():
        for name, p in ref.named_parameters():
            is_norm_weight = name.endswith("weight") and ("ln" in name or name.startswith("ViT_Encoder.3."))
            p.copy_((1.0 if is_norm_weight else 0.0) + 0.3 * torch.randn_like(p))
        images = [torch.randn(2, 3, TINY["image_size"], TINY["image_size"]) for _ in range(3)]
        logits, feats, rel = ref(images)
    torch.save(ref.state_dict(), os.path.join(OUT, "mmdg_tiny_released.pth"))
    write_safetensors(os.path.join(OUT, "mmdg_tiny_io.safetensors"),
                      {"rgb": images[0], "depth": images[1], "ir": images[2], "logits": logits,
                       "feat_rgb": feats[0], "feat_depth": feats[1], "feat_ir": feats[2],
                       "rel_rgb": rel[0], "rel_depth": rel[1], "rel_ir": rel[2]})
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"torch": torch.__version__, "torchvision": torchvision.__version__,
                   "vit_tiny": dict(TINY, num_classes=NUM_CLASSES),
                   "mmdg_tiny": MMDG_TINY, "files": expected}, f, indent=1)
    print("wrote", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    sys.exit(main())
