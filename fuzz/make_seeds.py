#!/usr/bin/env python3
"""Writes the seed corpora of the libFuzzer harnesses (fuzz/README.md): small valid files of every
format (from the golden files of tests/golden/data and made here), and the hostile cases of the
hardening issue at sizes a fuzzer can mutate (cyclic pickle memos, deep nesting, size lies,
flipped CRCs, overlapping safetensors offsets, long .npy headers, NUL bytes in lists, ...).

Python standard library only (the HDF5 seeds also need h5py and NumPy, Debian's python3-h5py;
without them they are left out). Usage: fuzz/make_seeds.py OUT_DIR   (one folder per harness)
The campaign (fuzz/campaign.sh) starts from these and keeps its minimized corpora in fuzz/corpus.
"""
import io
import json
import os
import pickle
import struct
import sys
import zipfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "tests", "golden", "data")
MAX_GOLDEN = 48 * 1024  # larger golden files slow the fuzzer more than they teach it


def put(out, harness, name, data):
    d = os.path.join(out, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def put_all(out, harness, files):
    for name, data in files.items():
        put(out, harness, name, data)


def golden(suffix):
    for name in sorted(os.listdir(GOLDEN)):
        p = os.path.join(GOLDEN, name)
        if name.endswith(suffix) and os.path.getsize(p) <= MAX_GOLDEN:
            with open(p, "rb") as f:
                yield name, f.read()


# ---- pickles ----------------------------------------------------------------------------------
def global_op(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def state_dict_pickle(tensors):
    """data.pkl of torch.save({name: tensor}) with protocol-2 opcodes: OrderedDict of
    torch._utils._rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())."""
    p = b"\x80\x02" + global_op("collections", "OrderedDict") + b")R"
    for i, (name, storage_type, shape) in enumerate(tensors):
        numel = 1
        for s in shape:
            numel *= s
        stride = []
        acc = 1
        for s in reversed(shape):
            stride.insert(0, acc)
            acc *= s
        p += pickle.dumps(name, protocol=2)[2:-1]
        p += global_op("torch._utils", "_rebuild_tensor_v2")
        p += b"("  # MARK of the args tuple
        # persistent id: ('storage', torch.FloatStorage, key, 'cpu', numel)
        p += b"(" + pickle.dumps("storage", 2)[2:-1] + global_op("torch", storage_type)
        p += pickle.dumps(str(i), 2)[2:-1] + pickle.dumps("cpu", 2)[2:-1] + pickle.dumps(numel, 2)[2:-1] + b"tQ"
        p += pickle.dumps(0, 2)[2:-1]
        p += pickle.dumps(tuple(shape), 2)[2:-1] + pickle.dumps(tuple(stride), 2)[2:-1]
        p += b"\x89" + global_op("collections", "OrderedDict") + b")R" + b"tR"
        p += b"s"  # SETITEM
    return p + b"."


DTYPE_BYTES = {"FloatStorage": 4, "LongStorage": 8, "HalfStorage": 2, "ByteStorage": 1, "DoubleStorage": 8}


def torch_zip(pkl, tensors, prefix="archive", compress=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as z:
        z.writestr(prefix + "/data.pkl", pkl)
        for i, (_, storage_type, shape) in enumerate(tensors):
            numel = 1
            for s in shape:
                numel *= s
            z.writestr(prefix + "/data/" + str(i), b"\x01" * (numel * DTYPE_BYTES[storage_type]))
        z.writestr(prefix + "/version", "3\n")
    return buf.getvalue()


def lie_about_size(archive, entry, new_size):
    """The archive with `entry`'s uncompressed size replaced (local header and central directory)."""
    data = bytearray(archive)
    name = entry.encode()
    for sig, size_at, name_len_at, name_at in ((b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46)):
        start = 0
        while True:
            i = data.find(sig, start)
            if i < 0:
                break
            n = struct.unpack_from("<H", data, i + name_len_at)[0]
            if bytes(data[i + name_at:i + name_at + n]) == name:
                struct.pack_into("<I", data, i + size_at, new_size)
            start = i + 4
    return bytes(data)


def flip_byte_in_entry(archive, entry):
    data = bytearray(archive)
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        info = z.getinfo(entry)
    n = struct.unpack_from("<H", data, info.header_offset + 26)[0]
    m = struct.unpack_from("<H", data, info.header_offset + 28)[0]
    at = info.header_offset + 30 + n + m
    data[at] ^= 0x40
    return bytes(data)


def pickles(out):
    tensors = [("weight", "FloatStorage", (2, 3)), ("bias", "FloatStorage", (3,)), ("steps", "LongStorage", ())]
    put(out, "pickle", "state_dict.pkl", state_dict_pickle(tensors))
    put(out, "pickle", "plain_values.pkl", pickle.dumps({"a": [1, 2.5, None, True, "x", b"y"], "b": (1, (2,))}, 2))
    put(out, "pickle", "protocol4.pkl", pickle.dumps({"epoch": 3, "names": ["a", "b"]}, 4))
    # hostile: a dict that contains itself through the memo (BINPUT / BINGET), also an OrderedDict
    put(out, "pickle", "self_dict.pkl", b"\x80\x02}q\x00U\x01kh\x00s.")
    put(out, "pickle", "self_ordered_dict.pkl",
        b"\x80\x02" + global_op("collections", "OrderedDict") + b")Rq\x00U\x01kh\x00s.")
    put(out, "pickle", "nested_lists.pkl", b"\x80\x02" + b"]" * 2000 + b"a" * 1999 + b".")
    put(out, "pickle", "nested_tuple1.pkl", b"\x80\x02N" + b"\x85" * 3000 + b".")
    put(out, "pickle", "nested_dicts.pkl", b"\x80\x02" + (b"}U\x01k") * 500 + b"N" + b"s" * 500 + b".")
    put(out, "pickle", "mark_bomb.pkl", b"\x80\x02" + b"(" * 4000 + b"N.")
    put(out, "pickle", "forbidden_global.pkl", b"\x80\x02" + global_op("os", "system") + b"X\x02\x00\x00\x00idh\x01\x85R.")
    put(out, "pickle", "huge_storage.pkl", state_dict_pickle([("w", "FloatStorage", (1 << 31, 1 << 31))]))
    for name, data in golden(".pth"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for entry in z.namelist():
                    if entry.endswith("data.pkl"):
                        put(out, "pickle", name + ".data.pkl", z.read(entry))
        except zipfile.BadZipFile:
            put(out, "pickle", name + ".legacy", data)

    # ---- whole .pth files
    archive = torch_zip(state_dict_pickle(tensors), tensors)
    put(out, "torch_checkpoint", "state_dict.pth", archive)
    put(out, "torch_checkpoint", "deflated.pth", torch_zip(state_dict_pickle(tensors), tensors, compress=zipfile.ZIP_DEFLATED))
    put(out, "torch_checkpoint", "size_lie_4gib.pth",
        lie_about_size(torch_zip(state_dict_pickle(tensors), tensors, compress=zipfile.ZIP_DEFLATED), "archive/data.pkl", 0xFFFFFFF0))
    put(out, "torch_checkpoint", "flipped_tensor_byte.pth", flip_byte_in_entry(archive, "archive/data/0"))
    put(out, "torch_checkpoint", "self_dict.pth", torch_zip(b"\x80\x02}q\x00U\x01kh\x00s.", []))
    put(out, "torch_checkpoint", "storage_too_small.pth",
        torch_zip(state_dict_pickle([("w", "FloatStorage", (4, 4))]), [("w", "FloatStorage", (2,))]))
    for name, data in golden(".pth"):
        put(out, "torch_checkpoint", name, data)
    return archive


# ---- safetensors ------------------------------------------------------------------------------
def safetensors(header, data, pad=True):
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds(out):
    h = {"__metadata__": {"mmdg_format": "mmdg-checkpoint-1", "epoch": "1"},
         "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
         "b": {"dtype": "I64", "shape": [1], "data_offsets": [16, 24]},
         "c": {"dtype": "F16", "shape": [2], "data_offsets": [24, 28]},
         "d": {"dtype": "BF16", "shape": [0], "data_offsets": [28, 28]}}
    put(out, "safetensors", "small.safetensors", safetensors(h, bytes(28)))
    put(out, "safetensors", "overlap.safetensors",
        safetensors({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                     "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, bytes(12)))
    put(out, "safetensors", "gap.safetensors",
        safetensors({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                     "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}, bytes(12)))
    put(out, "safetensors", "trailing.safetensors",
        safetensors({"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}, bytes(9)))
    put(out, "safetensors", "nested_metadata.safetensors",
        safetensors({"__metadata__": {"x": "y"}, "n": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}, b"\0")
        .replace(b'"y"', b"[" * 200 + b"]" * 200))
    put(out, "safetensors", "huge_shape.safetensors",
        safetensors({"a": {"dtype": "F32", "shape": [1 << 40, 1 << 40], "data_offsets": [0, 4]}}, bytes(4)))
    for name, data in golden(".safetensors"):
        put(out, "safetensors", name, data)
    # checkpoint metadata as mmdg writes it, for the options harness too
    return h


# ---- npy / npz ----------------------------------------------------------------------------------
def npy(descr, shape, data, version=1, fortran=False, header_text=None):
    text = header_text or "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False", "(" + "".join("%d, " % s for s in shape) + ")" if len(shape) != 1
        else "(%d,)" % shape[0])
    pre = 10 if version == 1 else 12
    total = pre + len(text) + 1
    text += " " * (-total % 64) + "\n"
    size = struct.pack("<H", len(text)) if version == 1 else struct.pack("<I", len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + size + text.encode() + data


def npz(arrays, compress):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as z:
        for name, data in arrays.items():
            z.writestr(name + ".npy", data)
    return buf.getvalue()


def npy_seeds(out):
    seeds = {
        "f4.npy": npy("<f4", (2, 3), bytes(24)),
        "u1_hwc.npy": npy("|u1", (4, 4, 3), bytes(range(48))),
        "i8_scalar.npy": npy("<i8", (), bytes(8)),
        "f2_v2.npy": npy("<f2", (3,), bytes(6), version=2),
        "b1.npy": npy("|b1", (2,), b"\0\1"),
        "fortran.npy": npy("<f4", (2, 2), bytes(16), fortran=True),
        "big_endian.npy": npy(">f4", (1,), bytes(4)),
        "long_descr.npy": npy("<" + "f" * 3000, (1,), bytes(4)),
        "spaces_after_descr.npy": npy("", (), b"", header_text="{'descr':" + " " * 3000 + "'<f4', 'fortran_order': False, 'shape': (1,), }") + bytes(4),
        "spaces_in_shape.npy": npy("", (), b"", version=2, header_text="{'descr': '<f4', 'fortran_order': False, 'shape': (" + " " * 3000 + "1,), }") + bytes(4),
        "shape_overflow.npy": npy("<f4", (1 << 62, 1 << 62), bytes(4)),
    }
    put_all(out, "npy", seeds)
    # PADISI-Face samples: one uint8 (3, H, W) array per modality, as the reader expects
    chw = npy("|u1", (3, 4, 4), bytes(range(48)))
    one = npy("|u1", (1, 4, 4), bytes(range(16)))
    npzs = {
        "gen_padisi_stored.npz": npz({"rgb": chw, "depth": one, "ir": one}, False),
        "gen_padisi_deflate.npz": npz({"rgb": chw, "depth": one, "ir": one}, True),
        "float_0_255.npz": npz({"rgb": npy("<f4", (3, 2, 2), struct.pack("<12f", *[200.0] * 12))}, False),
        "channels_last.npz": npz({"rgb": npy("|u1", (4, 4, 3), bytes(48))}, False),
        "size_lie.npz": lie_about_size(npz({"rgb": chw}, True), "rgb.npy", 0xFFFFFFF0),
        "flipped.npz": flip_byte_in_entry(npz({"rgb": chw}, False), "rgb.npy"),
    }
    for name, data in npzs.items():
        put(out, "npz", name, data)
        put(out, "zip", name, data)
    for name, data in golden(".npz"):
        put(out, "npz", name, data)


# ---- zip ----------------------------------------------------------------------------------------
def zip_seeds(out, archive):
    put(out, "zip", "state_dict.zip", archive)
    put(out, "zip", "empty.zip", b"PK\x05\x06" + bytes(18))
    put(out, "zip", "crc_flip.zip", flip_byte_in_entry(archive, "archive/data/0"))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("bomb", b"(" * 200000)
    put(out, "zip", "deflate_bomb.zip", buf.getvalue())
    put(out, "zip", "deflate_size_lie.zip", lie_about_size(buf.getvalue(), "bomb", 0xFFFFFFF0))


# ---- lists, scores CSV, options JSON ----------------------------------------------------------
def text_seeds(out, safetensors_header):
    lists = {
        "cefa.txt": "a/1/profile/0001.jpg a/1/depth/0001.jpg a/1/ir/0001.jpg 1\r\n"
                    "a/2/profile/0001.jpg a/2/depth/0001.jpg a/2/ir/0001.jpg 0",
        "attack.txt": "v/rgb/1.png v/depth/1.png v/ir/1.png 1 bonafide\nw/rgb/1.png w/depth/1.png w/ir/1.png 0 print\n",
        "padisi.txt": "s1.npz\t1\ns2.npz\t0\tmask\n",
        "nul.txt": "a\0b c d 1\n",
        "outside.txt": "../x.png /abs/y.png z.png 0\n",
        "bad_label.txt": "a b c 2\n",
        "blank_lines.txt": "\n\n a b c 1 \n\t\n",
    }
    put_all(out, "list", lists)
    csvs = {
        "scores.csv": "label,score\n1,0.9\n0,0.1\n1,0.7\n0,0.4\n",
        "paths.csv": "path,label,score\na/v1/rgb/1.png,1,0.8\na/v1/rgb/2.png,1,0.6\nb/v2/rgb/1.png,0,0.3\n",
        "video_attack.csv": "video,attack,label,score,rel_rgb\nv1,bonafide,1,0.9,0.5\nv2,print,0,0.2,0.4\nv3,replay,0,0.6,0.1\n",
        "quoted.csv": "\"path\",label,score\n\"a,b\",1,0.5\n\"c\"\"d\",0,0.25\n",
        "nan.csv": "label,score\n1,nan\n0,inf\n",
        "crlf.csv": "score,label\r\n0.5,1\r\n0.5,0\r\n",
        "unterminated.csv": "label,score\n\"1,0.5\n",
    }
    put_all(out, "scores_csv", csvs)
    options = {"adapter_dim": 8, "adapter_dropout": 0.2, "adapter_heads": 8, "adapter_uncertainty": True,
               "cdc_theta": 0.5, "dropout": 0.0, "estimator": "binomial", "freeze": "last-block", "head": "concat",
               "hidden_dim": 128, "image_size": 64, "mc_drop_rate": 0.3, "mc_samples": 20, "mlp_dim": 256,
               "modality": "rgb", "network": "vit-uadapter", "normalized_head": False, "num_classes": 2,
               "num_heads": 4, "num_layers": 6, "patch_size": 8, "pos_embedding_init": "auto",
               "reliability_rate": 2.25, "use_cdc": True}
    deployment = {"input": {"image_size": 224, "modalities": ["rgb", "depth", "ir"], "normalization": "half",
                            "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]},
                  "operating_point": {"threshold": 0.42, "source": "val", "epoch": 3, "val_hter": 0.1,
                                      "val_auc": None}}
    jsons = {
        "options.json": json.dumps(options),
        "legacy_method.json": json.dumps({"method": "mmdg", "image_size": 32, "patch_size": 8}),
        "deployment.json": json.dumps(deployment),
        "huge_image.json": json.dumps({"image_size": 1 << 32, "patch_size": 1}),
        "mc_samples.json": json.dumps({"mc_samples": 10 ** 12}),
        "nested.json": '{"num_heads": ' + "[" * 100 + "]" * 100 + "}",
        "safetensors_header.json": json.dumps(safetensors_header),
    }
    put_all(out, "options_json", jsons)
    st = {"__metadata__": {"mmdg_format": "mmdg-checkpoint-1", "mmdg_options": json.dumps(options),
                           "mmdg_deployment": json.dumps(deployment)},
          "x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}
    put(out, "safetensors", "checkpoint_metadata.safetensors", safetensors(st, bytes(4)))


def hdf5_seeds(out):
    """WMCA-style HDF5 files (Frame_<i>/array), when h5py is installed (Debian's python3-h5py):
    a valid RGB and CDIT frame, a wrong element type, a scalar, an empty array, a truncated file."""
    try:
        import h5py
        import numpy as np
    except ImportError:
        print("hdf5: h5py not installed, no seeds")
        return
    import tempfile

    def h5(fill):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "f.hdf5")
            with h5py.File(path, "w", libver="earliest") as f:
                fill(f)
            with open(path, "rb") as g:
                return g.read()

    frame = np.arange(3 * 8 * 8, dtype=np.uint8).reshape(3, 8, 8)
    rgb = h5(lambda f: f.create_dataset("Frame_12/array", data=frame))
    cdit = h5(lambda f: [f.create_dataset("Frame_%d/array" % i, data=np.zeros((4, 8, 8), np.uint8) + i) for i in (0, 12)])
    put_all(out, "hdf5", {
        "rgb_frame.hdf5": rgb,
        "cdit_two_frames.hdf5": cdit,
        "float_frame.hdf5": h5(lambda f: f.create_dataset("Frame_1/array", data=np.ones((3, 4, 4), np.float32))),
        "scalar.hdf5": h5(lambda f: f.create_dataset("Frame_1/array", data=np.uint8(7))),
        "empty.hdf5": h5(lambda f: f.create_dataset("Frame_1/array", data=np.zeros((3, 0, 4), np.uint8))),
        "chunked_gzip.hdf5": h5(lambda f: f.create_dataset("Frame_3/array", data=frame, chunks=(1, 8, 8), compression="gzip")),
        "truncated.hdf5": rgb[: len(rgb) // 2],
    })


def png(width, height, grey=False):
    """A valid 8-bit PNG of one flat colour."""
    channels = 1 if grey else 3
    raw = b"".join(b"\x00" + b"\x80" * (width * channels) for _ in range(height))
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0 if grey else 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def jpeg_head(width, height):
    """The start of a baseline JPEG up to its first scan: APP0, SOF0 (the header reader stops there)."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xda\x00\x0c\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00"


def bmp(width, height):
    row = (width * 3 + 3) // 4 * 4
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, row * height, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40 + row * height, 0, 0, 54) + info + b"\x00" * (row * height)


def serve_request_seeds(out):
    """mmdg serve's POST /v1/predict as serve_request_fuzz.cpp frames it: the query, then parts
    "\\n\\x01" name "\\x02" filename "\\x03" content."""
    def part(name, content, filename=""):
        return b"\n\x01" + name.encode() + b"\x02" + filename.encode() + b"\x03" + content
    triple = part("rgb", png(8, 8), "r.png") + part("depth", png(8, 8, True), "d.png") + part("ir", jpeg_head(8, 8), "i.jpg")
    put_all(out, "serve_request", {
        "triple.bin": b"maps=1" + triple,
        "rgb_only.bin": b"missing=depth,ir" + part("rgb", bmp(4, 3), "r.bmp"),
        "fields.bin": part("rgb", png(2, 2), "r.png") + part("missing", b"depth,ir") + part("detect_face", b"true"),
        "twice.bin": b"maps=1&maps=0" + triple,
        "huge_header.bin": part("rgb", png(8, 8)[:16] + struct.pack(">II", 70000, 70000) + png(8, 8)[24:], "r.png")
                           + part("missing", b"ir,depth"),
        "png.bin": png(3, 5),
        "jpeg.bin": jpeg_head(640, 480),
        "bmp.bin": bmp(5, 2),
        "bmp_core.bin": b"BM" + b"\x00" * 12 + struct.pack("<IHHHH", 12, 7, 9, 1, 24),
        "jpeg_dnl.bin": b"\xff\xd8\xff\xc0" + struct.pack(">HBHHB", 11, 8, 0, 16, 1) + b"\x01\x11\x00",
    })


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_seeds.py OUT_DIR")
    out = sys.argv[1]
    archive = pickles(out)
    header = safetensors_seeds(out)
    npy_seeds(out)
    zip_seeds(out, archive)
    text_seeds(out, header)
    hdf5_seeds(out)
    serve_request_seeds(out)
    for harness in sorted(os.listdir(out)):
        print("%-18s %3d seeds" % (harness, len(os.listdir(os.path.join(out, harness)))))


if __name__ == "__main__":
    main()
