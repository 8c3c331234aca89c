"""Tests of the Python module (run by CTest as `python`, with PYTHONPATH=build/python and MMDG_CLI,
MMDG_TEST_DATA from the build). The references are independent: the golden training step of
tests/golden/make_golden.py (PyTorch, float64), the `mmdg` command line, brute-force metrics."""
import itertools
import json
import os
import random
import subprocess
import sys

import pytest
import torch

import mmdg

DATA = os.environ.get("MMDG_TEST_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden", "data"))
CLI = os.environ.get("MMDG_CLI", "")
MODALITIES = ("rgb", "depth", "ir")
STEP = dict(ssp_weight=0.3, fast=1, lr=1e-3, weight_decay=1e-3, adam_eps=1e-8)  # make_golden.py TRAIN_STEP


def golden_net():
    """The tiny MMDG of the golden step: deterministic in training (estimator large-t, no dropout)."""
    net = mmdg.make_network("mmdg_tiny", estimator="large-t", adapter_dropout=0.0, freeze="last-block", head="concat")
    report = net.load_state_dict(mmdg.load_weights(os.path.join(DATA, "mmdg_tiny_released.pth")))
    assert report == {"missing": [], "unexpected": [], "mismatched": []}
    return net


def close(got, want, what):
    assert got.shape == want.shape, what
    assert torch.allclose(got, want, atol=1e-5, rtol=1e-5), f"{what}: max difference {(got - want).abs().max().item():.3g}"


def test_a_python_training_step_through_the_library_equals_the_golden_step():
    """loss.backward() / autograd.grad from Python through the library's forward, mmdg's SSP loss
    and ReGrad, then torch.optim.Adam on the library's parameters: every gradient and updated
    weight equals the independent PyTorch reference (the C++ test's tolerance)."""
    g = mmdg.load_weights(os.path.join(DATA, "mmdg_tiny_train_step.safetensors"))
    net = golden_net().train()
    out = net(g["input_rgb"], g["input_depth"], g["input_ir"])
    close(out["logits"], g["logits"], "logits")
    ce = torch.nn.functional.cross_entropy(out["logits"], g["labels"])
    domains = mmdg.losses.ssp_domain(g["labels"], g["sources"])
    assert torch.equal(domains, g["domains"])
    weighted, reliability = [], []
    for m, mod in enumerate(MODALITIES):
        ssp = mmdg.losses.ssp_loss(out["features"][m], g["prototypes_" + mod], g["prototypes_valid"], domains)
        close(ssp.detach(), g["loss_ssp_" + mod], "loss_ssp_" + mod)
        weighted.append(ssp * STEP["ssp_weight"])
        reliability.append(out["class_reliability"][m].item())
    named = [(n, p) for n, p in net.named_parameters() if p.requires_grad]
    params = [p for _, p in named]
    for m, mod in enumerate(MODALITIES):
        grads = torch.autograd.grad(weighted[m], params, retain_graph=True, allow_unused=True)
        for (name, p), grad in zip(named, grads):
            close(torch.zeros_like(p) if grad is None else grad, g[f"grad_ssp_{mod}/{name}"], f"grad_ssp_{mod}/{name}")
    grads = torch.autograd.grad(ce, params, retain_graph=True, allow_unused=True)
    for (name, p), grad in zip(named, grads):
        close(torch.zeros_like(p) if grad is None else grad, g["grad_ce/" + name], "grad_ce/" + name)
    branches = [net.branch_of(name) for name, _ in named]
    stats = mmdg.losses.regrad_backward(params, branches, weighted, ce, STEP["fast"], reliability)
    assert stats["modulated"] > 0
    for name, p in named:
        close(p.grad, g["grad_regrad/" + name], "grad_regrad/" + name)
    torch.optim.Adam(params, lr=STEP["lr"], weight_decay=STEP["weight_decay"], eps=STEP["adam_eps"]).step()
    state = net.state_dict()
    for name, _ in named:
        close(state[name], g["updated/" + name], "updated/" + name)


def test_parameters_are_the_librarys_own_tensors():
    net = golden_net().eval()
    x = [torch.randn(2, 3, 32, 32) for _ in MODALITIES]
    with torch.no_grad():
        before = net(*x)["logits"]
        name, p = net.named_parameters()[-1]  # the head's bias
        assert p.data_ptr() == net.state_dict()[name].data_ptr() == dict(net.named_parameters())[name].data_ptr()
        p.add_(1.0)  # in place, from Python: the library's network sees it
        after = net(*x)["logits"]
    assert torch.allclose(after, before + 1.0, atol=1e-5)
    assert not net.training and net.train().training


def test_network_outputs_and_options():
    net = mmdg.make_network("mmdg_tiny")
    assert net.options["network"] == "vit-uadapter" and net.options["image_size"] == 32
    out = net.eval()(*[torch.randn(3, 3, 32, 32) for _ in MODALITIES], attention_maps=True)
    assert out["logits"].shape == (3, 2)
    assert [f.shape for f in out["features"]] == [(3, net.options["hidden_dim"])] * 3
    assert all(r.shape == (3, 1 + 16) for r in out["reliability"])  # 4 x 4 patches + the class token
    assert sorted(out["attention"]) == ["1_2", "1_3", "2_1", "3_1"]
    plain = mmdg.make_network("mmdg_tiny", network="vit").eval()(*[torch.randn(1, 3, 32, 32) for _ in MODALITIES])
    assert plain["reliability"] == [None, None, None]  # no uncertainty module
    assert "vit-uadapter" in mmdg.network_names() and "mmdg_mini" in mmdg.network_presets()


def test_errors_are_python_exceptions_with_the_librarys_message(tmp_path):
    with pytest.raises(mmdg.Error, match="unknown option 'no_such_option'"):
        mmdg.make_network("mmdg_tiny", no_such_option=1)
    with pytest.raises(mmdg.Error, match="estimator"):
        mmdg.make_network("mmdg_tiny", estimator="guess")
    with pytest.raises(mmdg.Error, match="mmdg_huge"):
        mmdg.make_network("mmdg_huge")
    net = mmdg.make_network("mmdg_tiny")
    with pytest.raises(mmdg.Error, match="depth"):  # the input with the wrong shape is named
        net(torch.randn(1, 3, 32, 32), torch.randn(1, 3, 16, 16), torch.randn(1, 3, 32, 32))
    with pytest.raises(mmdg.Error, match="unexpected"):
        net.load_state_dict({"no.such.tensor": torch.zeros(1)})
    missing = str(tmp_path / "missing.safetensors")
    with pytest.raises(mmdg.Error, match="missing.safetensors"):
        mmdg.Predictor(missing)
    with pytest.raises(mmdg.Error, match="missing.safetensors"):
        mmdg.load_weights(missing)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    with pytest.raises(mmdg.Error, match="bad.safetensors"):
        mmdg.load_weights(str(bad))
    with pytest.raises(mmdg.Error, match="score 1 is not finite"):
        mmdg.metrics.auc([0.5, float("nan")], [1, 0])


def test_weights_round_trip(tmp_path):
    tensors = {"a": torch.arange(6.0).reshape(2, 3), "b": torch.tensor([1, 2], dtype=torch.int64)}
    path = str(tmp_path / "w.safetensors")
    mmdg.save_safetensors(path, tensors, {"source": "test"})
    back = mmdg.load_weights(path)
    assert sorted(back) == ["a", "b"] and all(torch.equal(back[k], tensors[k]) for k in tensors)


def brute_force(scores, labels):
    live = [s for s, y in zip(scores, labels) if y == 1]
    spoof = [s for s, y in zip(scores, labels) if y == 0]
    auc = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in live for b in spoof) / (len(live) * len(spoof))

    def rates(t):
        apcer = sum(s >= t for s in spoof) / len(spoof)
        bpcer = sum(s < t for s in live) / len(live)
        return apcer, bpcer

    return auc, rates


def test_metrics_equal_a_brute_force_count():
    rng = random.Random(7)
    labels = [1] * 37 + [0] * 53
    scores = [round(rng.random() * (0.6 if y else 0.8) + (0.3 if y else 0.0), 2) for y in labels]  # ties included
    auc, rates = brute_force(scores, labels)
    assert mmdg.metrics.auc(scores, labels) == pytest.approx(auc, abs=1e-12)
    for t in (0.0, 0.3, 0.5, 0.77, 1.0):
        m = mmdg.metrics.at_threshold(scores, labels, t)
        apcer, bpcer = rates(t)
        assert (m["apcer"], m["bpcer"]) == (pytest.approx(apcer), pytest.approx(bpcer))
        assert m["hter"] == pytest.approx((apcer + bpcer) / 2)
    eer = mmdg.metrics.equal_error_rate(scores, labels)
    gaps = [(abs(a - b), (a + b) / 2) for a, b in (rates(t) for t in sorted(set(scores)))]
    smallest = min(g for g, _ in gaps)  # the EER: (APCER + BPCER) / 2 where they are closest (a tie: any of them)
    assert any(abs(eer["eer"] - e) < 1e-12 for g, e in gaps if g <= smallest + 1e-12)
    roc = mmdg.metrics.roc(scores, labels)
    assert all(fpr == pytest.approx(rates(t)[0]) and tpr == pytest.approx(1 - rates(t)[1]) for t, fpr, tpr in roc[1:])


def tiny_synth(folder, domains=None):
    """A small synthetic benchmark written by `mmdg synth` (3 subjects, 1 frame, 32 px) into
    `folder`; all four domains unless `domains` (e.g. "CS") is given. Skips without the program."""
    if not CLI or not os.path.exists(CLI):
        pytest.skip("MMDG_CLI (the mmdg program) is not set")
    subprocess.run([CLI, "-q", "synth", "--out", str(folder), "--subjects", "3", "--frames", "1", "--image-size", "32"] +
                   (["--domains", domains] if domains else []), check=True)
    return folder


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A checkpoint (mmdg model init) and a few synthetic samples (mmdg synth), made by the CLI."""
    if not CLI or not os.path.exists(CLI):
        pytest.skip("MMDG_CLI (the mmdg program) is not set")
    tmp = tmp_path_factory.mktemp("synthetic")
    checkpoint = str(tmp / "init.safetensors")
    subprocess.run([CLI, "-q", "model", "init", "--config", "mmdg_tiny", "--pretrained",
                    os.path.join(DATA, "vit_tiny_torchvision.pth"), "--out", checkpoint], check=True)
    tiny_synth(tmp / "synth", "W")
    samples = []
    for line in open(tmp / "synth" / "W-test.txt").read().splitlines():
        rgb, depth, ir = (str(tmp / "synth" / p) for p in line.split()[:3])
        samples.append((rgb, depth, ir))
    return checkpoint, samples


def test_predictor_equals_mmdg_predict(synthetic):
    checkpoint, samples = synthetic
    predictor = mmdg.Predictor(checkpoint)
    rgb, depth, ir = (list(x) for x in zip(*samples[:4]))
    result = predictor.predict_files(rgb, depth, ir)
    assert result["live_probability"].shape == (4,) and len(result["live"]) == 4
    for i in range(4):
        cli = json.loads(subprocess.run([CLI, "-q", "predict", "--checkpoint", checkpoint, "--rgb", rgb[i], "--depth", depth[i],
                                         "--ir", ir[i], "--json"], check=True, capture_output=True, text=True).stdout)
        assert result["live_probability"][i].item() == pytest.approx(cli["live_probability"], abs=1e-6)
        assert result["live"][i] == (cli["decision"] == "live")
        assert result["threshold"] == pytest.approx(cli["threshold"])
        for m, mod in enumerate(MODALITIES):
            assert result["mean_reliability"][m][i].item() == pytest.approx(cli["mean_reliability"][mod], abs=1e-6)
    # the same samples as tensors: crops in [0, 1], and normalized inputs
    crops = [tuple(mmdg.read_image(p) for p in sample) for sample in samples[:4]]
    by_crops = predictor.predict_crops(crops)
    assert torch.allclose(by_crops["live_probability"], result["live_probability"], atol=1e-6)
    inputs = [torch.stack([predictor.prepare(c[m]) for c in crops]) for m in range(3)]
    assert torch.allclose(predictor.predict(*inputs)["live_probability"], result["live_probability"], atol=1e-6)



def test_example_score_list_equals_mmdg_predict_on_the_list(synthetic, tmp_path):
    """examples/python/score_list.py on the synthetic W test list: its scores are `mmdg predict
    --list`'s, its metrics those of the module on them."""
    checkpoint, _ = synthetic
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    synth = os.path.join(os.path.dirname(checkpoint), "synth")
    listed = os.path.join(synth, "W-test.txt")
    ours = tmp_path / "ours.csv"
    printed = subprocess.run(["/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3",
                              os.path.join(root, "examples", "python", "score_list.py"), checkpoint, listed, synth,
                              "--batch", "3", "--csv", str(ours)], check=True, capture_output=True, text=True).stdout
    result = json.loads(printed)
    theirs = tmp_path / "theirs.csv"
    subprocess.run([CLI, "-q", "predict", "--checkpoint", checkpoint, "--list", listed, "--data-root", synth,
                    "--out", str(theirs)], check=True)
    import csv
    ours_rows = list(csv.DictReader(open(ours)))
    theirs_rows = list(csv.DictReader(open(theirs)))
    assert len(ours_rows) == len(theirs_rows) == result["samples"] > 0
    for a, b in zip(ours_rows, theirs_rows):
        assert a["label"] == b["label"] and float(a["score"]) == pytest.approx(float(b["score"]), abs=1e-6)
    scores = [float(r["score"]) for r in theirs_rows]
    labels = [int(r["label"]) for r in theirs_rows]
    assert result["auc"] == pytest.approx(mmdg.metrics.auc(scores, labels), abs=1e-6)


def test_example_train_loop_trains(synthetic):
    """examples/python/train_loop.py: a PyTorch loop with mmdg's losses and ReGrad runs and its
    losses are finite."""
    checkpoint, _ = synthetic
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    synth = os.path.join(os.path.dirname(checkpoint), "synth")
    printed = subprocess.run(["/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3",
                              os.path.join(root, "examples", "python", "train_loop.py"), os.path.join(synth, "W-train.txt"),
                              synth, "--steps", "4", "--steps-per-epoch", "2", "--batch", "4"],
                             check=True, capture_output=True, text=True).stdout.splitlines()
    assert len(printed) == 4
    for line in printed:  # "step N: ce X ssp A B C fast M"
        fields = line.split()
        numbers = [float(v) for v in fields[3:4] + fields[5:8]]
        assert all(v == v and abs(v) < 1e6 for v in numbers) and fields[-1] in MODALITIES, line


@pytest.mark.parametrize("batch_size", [1, 3])
def test_torchscript_export_reproduces_mmdg_predict(synthetic, tmp_path, batch_size):
    """mmdg.export_torchscript: the archive, loaded by plain torch.jit.load and by a C++ program that
    links only LibTorch, gives `mmdg predict --estimator expected`'s scores on the same files."""
    checkpoint, samples = synthetic
    path = str(tmp_path / "detector.pt")
    deployment = mmdg.export_torchscript(checkpoint, path, batch_size=batch_size)
    assert deployment["estimator"] == "expected" and deployment["batch_size"] == batch_size
    extra = {"mmdg_deployment.json": "", "mmdg_options.json": ""}
    scripted = torch.jit.load(path, _extra_files=extra)
    stored = json.loads(extra["mmdg_deployment.json"])
    assert stored["threshold"] == pytest.approx(deployment["threshold"])
    assert json.loads(extra["mmdg_options.json"])["network"] == "vit-uadapter"
    # the inputs as the record says to make them: resize to S, [0, 1], (x - mean) / std
    size = stored["image_size"]
    mean = torch.tensor(stored["mean"]).view(3, 1, 1)
    std = torch.tensor(stored["std"]).view(3, 1, 1)
    chosen = samples[:batch_size]

    def prepared(path):
        x = mmdg.read_image(path)
        x = torch.nn.functional.interpolate(x.unsqueeze(0), size=(size, size), mode="bilinear", align_corners=False)[0]
        return (x - mean) / std

    inputs = tuple(torch.stack([prepared(s[m]) for s in chosen]) for m in range(3))
    predictor = mmdg.Predictor(checkpoint, estimator="expected")
    library = [torch.stack([predictor.prepare(mmdg.read_image(s[m])) for s in chosen]) for m in range(3)]
    for m in range(3):  # the record's recipe is the library's pipeline
        assert torch.allclose(inputs[m], library[m], atol=1e-5), MODALITIES[m]
    live, reliability = scripted(*inputs)
    assert live.shape == (batch_size,) and reliability.shape == (batch_size, 3)
    torch.save(inputs, str(tmp_path / "inputs.pt"))
    program = os.environ.get("MMDG_TORCHSCRIPT_EXAMPLE", "")
    cpp = []
    if program:
        out = subprocess.run([program, path, str(tmp_path / "inputs.pt")], check=True, capture_output=True, text=True).stdout
        cpp = [json.loads(line) for line in out.splitlines()]
        assert len(cpp) == batch_size
    for i, (rgb, depth, ir) in enumerate(chosen):
        cli = json.loads(subprocess.run([CLI, "-q", "predict", "--checkpoint", checkpoint, "--estimator", "expected",
                                         "--rgb", rgb, "--depth", depth, "--ir", ir, "--json"],
                                        check=True, capture_output=True, text=True).stdout)
        assert live[i].item() == pytest.approx(cli["live_probability"], abs=1e-5)
        for m, mod in enumerate(MODALITIES):
            assert reliability[i, m].item() == pytest.approx(cli["mean_reliability"][mod], abs=1e-5)
        if cpp:
            assert cpp[i]["live_probability"] == pytest.approx(cli["live_probability"], abs=1e-5)
            assert cpp[i]["decision"] == cli["decision"]


def test_protocol_table_example_and_bootstrap_interval(tmp_path):
    """examples/python/protocol_table.py on two methods' score files (2 seeds): each HTER and AUC is
    `mmdg eval --scores`'s, the difference's interval holds it, and one resampled video keeps its frames."""
    if not CLI or not os.path.exists(CLI):
        pytest.skip("MMDG_CLI (the mmdg program) is not set")
    rng = random.Random(5)
    videos = [(f"W/test/{v:03d}_{'live' if v < 10 else 'print'}", 1 if v < 10 else 0) for v in range(30)]
    files = {}
    for method, shift in (("a", 0.0), ("b", 0.25)):
        for seed in range(2):
            folder = tmp_path / method / f"seed{seed}"
            folder.mkdir(parents=True)
            path = folder / "scores_p1_CPS__W.csv"
            with open(path, "w") as f:
                f.write("video,attack,label,score\n")
                for video, label in videos:
                    for _ in range(2):  # two frames per video
                        score = min(1.0, max(0.0, rng.gauss(0.65 if label else 0.35 + shift, 0.2)))
                        f.write(f"{video},{'bonafide' if label else 'print'},{label},{score:.6f}\n")
            files[method, seed] = str(path)
    read = mmdg.metrics.read_scores_csv(files["a", 0])
    assert len(read["scores"]) == 60 and read["videos"][0] == read["videos"][1] == "W/test/000_live"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, os.path.join(root, "examples", "python", "protocol_table.py"),
                          str(tmp_path / "a"), str(tmp_path / "b"), "--names", "A", "B", "--resamples", "500"],
                         check=True, capture_output=True, text=True, env=dict(os.environ)).stdout
    row = [line for line in out.splitlines() if line.startswith("| p1 CPS->W |")]
    assert len(row) == 1, out
    cells = [c.strip() for c in row[0].strip("|").split("|")]
    hter = {}
    for method in ("a", "b"):
        values = []
        for seed in range(2):
            report = json.loads(subprocess.run([CLI, "-q", "eval", "--scores", files[method, seed], "--json"],
                                               check=True, capture_output=True, text=True).stdout)
            values.append(100 * report["policies"]["target-eer"]["hter"])
        hter[method] = sum(values) / 2
    assert float(cells[2].split("+-")[0]) == pytest.approx(hter["a"], abs=0.006)
    assert float(cells[4].split("+-")[0]) == pytest.approx(hter["b"], abs=0.006)
    difference, interval = cells[6].split(" [")
    low, high = (float(x) for x in interval.split("]")[0].split(","))
    assert float(difference) == pytest.approx(hter["a"] - hter["b"], abs=0.006)
    assert low <= float(difference) <= high
    assert "(10 live / 20 spoof videos)" in cells[6]


def test_a_three_step_python_loop_follows_the_golden_trajectory():
    """Three steps of a plain PyTorch loop (examples/python/train_loop.py's recipe: prototypes from an
    eval-mode pass, the running SSP losses picking the fast modality, mmdg's ReGrad, torch.optim.Adam)
    on the batches of tests/golden/data/mmdg_tiny_trajectory.safetensors: the prototypes, every logged
    quantity and every weight after each step equal the independent PyTorch reference, which the C++
    trainer follows too (src/mmdg/train/train_trajectory_golden_test.cpp), within its tolerance."""
    import struct
    path = os.path.join(DATA, "mmdg_tiny_trajectory.safetensors")
    with open(path, "rb") as f:
        meta = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))["__metadata__"]
    assert meta["strategy"] == "regrad" and meta["regrad"] == "full" and meta["prototype_update"] == "epoch"
    g = mmdg.load_weights(path)
    net = golden_net()
    inputs = [g["data/input_" + m] for m in MODALITIES]
    labels, sources = g["data/labels"].long(), g["data/sources"].long()

    def share(got, want):  # of the C++ trajectory test's tolerance (atol = rtol = 1e-4)
        want = want.double()
        return ((got.detach().double().reshape(want.shape) - want).abs() / (1e-4 + 1e-4 * want.abs())).max().item()

    net.eval()  # the prototypes: each SSP domain's mean class token over the training set
    with torch.no_grad():
        domains = mmdg.losses.ssp_domain(labels, sources)
        features = net(*inputs)["features"]
    counts = torch.zeros(int(domains.max()) + 1).index_add_(0, domains, torch.ones(len(domains)))
    prototypes = [torch.zeros(len(counts), f.shape[1]).index_add_(0, domains, f) / counts.clamp(min=1)[:, None] for f in features]
    valid = counts > 0
    for m, mod in enumerate(MODALITIES):
        assert share(prototypes[m], g["epoch0/prototypes_" + mod]) < 1, mod
    net.train()
    named = [(n, p) for n, p in net.named_parameters() if p.requires_grad]
    params, branches = [p for _, p in named], [net.branch_of(n) for n, _ in named]
    optimizer = torch.optim.Adam(params, lr=float(meta["lr"]), weight_decay=float(meta["weight_decay"]),
                                 eps=float(meta["adam_eps"]))
    momentum, weight = float(meta["loss_momentum"]), float(meta["ssp_weight"])
    running, worst = None, 0.0
    for step in range(3):
        batch = g["data/batches"][step].long()
        out = net(*[x[batch] for x in inputs])
        ce = torch.nn.functional.cross_entropy(out["logits"], labels[batch])
        domains = mmdg.losses.ssp_domain(labels[batch], sources[batch])
        ssp = [mmdg.losses.ssp_loss(out["features"][m], prototypes[m], valid, domains) for m in range(3)]
        values = [s.item() for s in ssp]
        running = values if running is None else [momentum * r + (1 - momentum) * v for r, v in zip(running, values)]
        fast = min(range(3), key=lambda m: running[m])
        reliability = [out["class_reliability"][m].item() for m in range(3)]
        key = f"step{step + 1:02d}/"
        assert fast == int(g[key + "log/fast"].item())
        assert share(ce, g[key + "log/loss_ce"]) < 1
        assert share(torch.tensor(values), g[key + "log/loss_ssp"]) < 1
        assert share(torch.tensor(running), g[key + "log/running_ssp"]) < 1
        assert share(torch.tensor(reliability), g[key + "log/reliability"]) < 1
        mmdg.losses.regrad_backward(params, branches, [weight * s for s in ssp], ce, fast, reliability)
        optimizer.step()
        optimizer.zero_grad()
        state = net.state_dict()
        compared = 0
        for name in g:
            if name.startswith(key + "weights/"):
                worst = max(worst, share(state[name[len(key + "weights/"):]], g[name]))
                compared += 1
        assert compared == len(params)
    assert worst < 1, f"the weights used {worst:.3f} of the tolerance"


def test_train_with_keyword_options_equals_mmdg_train(tmp_path):
    """mmdg.train(...) with the CLI's options as keywords writes the run `mmdg train` writes with the
    same options: the same best epoch and validation HTER, and the same best weights (to float rounding)."""
    synth = tiny_synth(tmp_path / "synth", "CSW")
    lists = [str(synth / "C-train.txt"), str(synth / "S-train.txt")]
    pretrained = os.path.join(DATA, "vit_tiny_torchvision.pth")
    result = mmdg.train(str(tmp_path / "py"), lists, val=[str(synth / "W-val.txt")], data_root=str(synth),
                        pretrained=pretrained, config="mmdg_tiny", epochs=2, steps_per_epoch=2, batch_size=8, lr=1e-3,
                        workers=1)
    assert result["method"] == "mmdg" and result["epochs_done"] == 2
    cli = subprocess.run([CLI, "train", "--config", "mmdg_tiny", "--pretrained", pretrained, "--train", ",".join(lists),
                          "--val", str(synth / "W-val.txt"), "--data-root", str(synth), "--epochs", "2",
                          "--steps-per-epoch", "2", "--batch-size", "8", "--lr", "1e-3", "--workers", "1",
                          "--out", str(tmp_path / "cli")], check=True, capture_output=True, text=True).stdout
    assert f"done: best epoch {result['best_epoch']}," in cli
    assert f"val HTER {100 * result['best_hter']:g} %" in cli
    py_best, cli_best = (mmdg.load_weights(str(tmp_path / run / "best.safetensors")) for run in ("py", "cli"))
    assert py_best.keys() == cli_best.keys()
    for name in py_best:  # the program and Python may use different intra-op thread counts: float rounding
        assert torch.allclose(py_best[name], cli_best[name], atol=1e-5, rtol=1e-4), name
    with pytest.raises(mmdg.Error, match="unknown option 'epoch'"):
        mmdg.train(str(tmp_path / "bad"), lists, config="mmdg_tiny", epoch=2)
    with pytest.raises(mmdg.Error, match="network"):
        mmdg.train(str(tmp_path / "bad2"), lists, config="mmdg_tiny", network="no-such-network")


def test_train_ctrl_c_saves_a_resumable_run_and_raises_keyboard_interrupt(tmp_path):
    """SIGINT while mmdg.train runs (GIL released): the trainer saves resume.pt, Python gets KeyboardInterrupt."""
    import signal
    import time
    synth = tiny_synth(tmp_path / "synth", "CS")
    run = tmp_path / "run"
    script = (f"import mmdg\ntry:\n    mmdg.train({str(run)!r}, [{str(synth / 'C-train.txt')!r}], data_root={str(synth)!r}, "
              f"pretrained={os.path.join(DATA, 'vit_tiny_torchvision.pth')!r}, config='mmdg_tiny', epochs=400, "
              f"steps_per_epoch=2, batch_size=8, workers=1)\n    print('COMPLETED')\n"
              f"except KeyboardInterrupt as e:\n    print('INTERRUPTED:', e)\n")
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               env=dict(os.environ))
    for _ in range(240):  # the handlers are installed before the log exists
        if (run / "log.jsonl").exists() and (run / "log.jsonl").stat().st_size > 0:
            break
        time.sleep(0.25)
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 0
    assert "INTERRUPTED: training interrupted" in out and "--resume" in out, out
    assert (run / "resume.pt").exists()


def test_protocol_with_keyword_options_equals_mmdg_protocol(tmp_path):
    """mmdg.protocol(...) runs the sub-protocol `mmdg protocol` runs with the same options: the same
    tested HTER and AUC (to float rounding between thread counts), and it writes the command's tables."""
    synth = tiny_synth(tmp_path / "synth")
    pretrained = os.path.join(DATA, "vit_tiny_torchvision.pth")
    results = mmdg.protocol(str(tmp_path / "py"), str(synth), protocol=1, sub="CPS-W", data_root=str(synth),
                            pretrained=pretrained, config="mmdg_tiny", method="mmdg", epochs=1, steps_per_epoch=2,
                            batch_size=8, workers=1)
    subprocess.run([CLI, "-q", "protocol", "--protocol", "1", "--sub", "CPS-W", "--lists", str(synth), "--data-root", str(synth),
                    "--pretrained", pretrained, "--config", "mmdg_tiny", "--method", "mmdg", "--epochs", "1",
                    "--steps-per-epoch", "2", "--batch-size", "8", "--workers", "1", "--out", str(tmp_path / "cli")],
                   check=True, capture_output=True)
    cli = json.load(open(tmp_path / "cli" / "mmdg" / "results_p1.json"))
    assert "CPS->W" in results and "CPS->W" in cli
    for key in ("auc", "eer"):
        assert results["CPS->W"][key] == pytest.approx(cli["CPS->W"][key], abs=0.02), key
    py_scores, cli_scores = (mmdg.metrics.read_scores_csv(str(tmp_path / run / "mmdg" / "scores_p1_CPS__W.csv"))
                             for run in ("py", "cli"))
    assert py_scores["labels"] == cli_scores["labels"] and len(py_scores["scores"]) == 6
    assert max(abs(a - b) for a, b in zip(py_scores["scores"], cli_scores["scores"])) < 1e-4
    assert (tmp_path / "py" / "table_p1.md").exists()
    with pytest.raises(mmdg.Error, match="protocol: unknown option 'epoch'"):
        mmdg.protocol(str(tmp_path / "bad"), str(synth), config="mmdg_tiny", epoch=1)


def write_png(path, pixels):
    """An 8-bit PNG (gray (H, W) or RGB (H, W, 3) uint8 tensor) with the standard library only."""
    import struct
    import zlib
    pixels = pixels.contiguous()
    height, width = pixels.shape[:2]
    color = 2 if pixels.dim() == 3 else 0
    rows = pixels.reshape(height, -1).numpy()
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def golden_file(name):
    import struct
    path = os.path.join(DATA, name)
    with open(path, "rb") as f:
        meta = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))["__metadata__"]
    return meta, mmdg.load_weights(path)


def write_training_set(g, folder):
    """The golden file's 8-bit training set as PNG files and one list per source ("rgb depth ir label")."""
    lists = {}
    for i in range(g["data/rgb_u8"].shape[0]):
        for modality in MODALITIES:
            write_png(folder / f"{i}_{modality}.png", g[f"data/{modality}_u8"][i])
        line = f"{i}_rgb.png {i}_depth.png {i}_ir.png {int(g['data/labels'][i])}\n"
        lists.setdefault(int(g["data/sources"][i]), []).append(line)
    paths = []
    for source in sorted(lists):
        paths.append(str(folder / f"source{source}.txt"))
        open(paths[-1], "w").write("".join(lists[source]))
    return paths


@pytest.mark.parametrize("name", ["mmdg_tiny_trajectory.safetensors", "mmdg_tiny_pmr_trajectory.safetensors",
                                  "mmdg_tiny_iadg_trajectory.safetensors"])
def test_a_python_loop_over_mmdg_strategy_follows_the_golden_trajectory(name, tmp_path):
    """Twenty steps over two epochs of a plain PyTorch loop around mmdg.Strategy (regrad: the paper's
    method; pmr; iadg), called as the trainer calls it (begin_epoch with the training lists, which it reads
    from PNG files for its prototypes, step, torch.optim.Adam, after_step, end_epoch): every logged
    quantity and every weight after each step equal the independent PyTorch reference of
    tests/golden/make_golden.py within the C++ trajectory test's tolerance."""
    meta, g = golden_file(name)
    lists = write_training_set(g, tmp_path)
    net = golden_net()
    def value(text):  # JSON (numbers, true / false) or else text (enum names), as the C++ test reads it
        try:
            return json.loads(text)
        except ValueError:
            return text
    fields = mmdg.Strategy(net, "ce", num_sources=1).options  # the training options' names
    options = {key: value(text) for key, text in meta.items() if key in fields}
    options.update(workers=0)
    strategy = mmdg.Strategy(net, options.pop("strategy"), num_sources=len(lists), **options)
    params = [p for _, p in net.named_parameters() if p.requires_grad] + strategy.parameters()
    optimizer = torch.optim.Adam(params, lr=float(meta["lr"]), weight_decay=float(meta["weight_decay"]),
                                 eps=float(meta["adam_eps"]))
    inputs = [g["data/input_" + m] for m in MODALITIES]
    labels, sources = g["data/labels"].long(), g["data/sources"].long()

    def share(got, want):  # of the C++ trajectory test's tolerance (atol = rtol = 1e-4)
        want = want.double()
        return ((got.detach().double().reshape(want.shape) - want).abs() / (1e-4 + 1e-4 * want.abs())).max().item()

    worst, compared, step = 0.0, 0, 0
    for epoch in range(int(meta["epochs"])):
        strategy.begin_epoch(epoch, lists, str(tmp_path))
        net.train()
        for _ in range(int(meta["steps_per_epoch"])):
            batch = g["data/batches"][step].long()
            result = strategy.step(*[x[batch] for x in inputs], labels[batch], sources[batch], epoch=epoch)
            optimizer.step()
            strategy.after_step()
            step += 1
            key = f"step{step:02d}/"
            for field in (name[len(key + "log/"):] for name in g if name.startswith(key + "log/")):
                logged, want = result["log"][field], g[key + "log/" + field]
                if isinstance(logged, str):  # the fast modality, by name
                    assert logged == MODALITIES[int(want.item())], (key, field)
                    continue
                worst = max(worst, share(torch.tensor(logged, dtype=torch.float64), want))
                compared += 1
            state = net.state_dict()
            for name_ in (n for n in g if n.startswith(key + "weights/")):
                worst = max(worst, share(state[name_[len(key + "weights/"):]], g[name_]))
        strategy.end_epoch()
    assert compared >= 3 * step
    assert worst < 1, f"{name}: {worst:.3f} of the tolerance"


def test_strategy_ce_equals_a_plain_cross_entropy_backward_and_errors_name_the_option():
    """mmdg.Strategy('ce').step fills the .grad a plain F.cross_entropy backward gives; make_method
    builds a method's network with its settings (SSDG's normalized head), and the misuses are
    errors naming what is wrong."""
    torch.manual_seed(0)
    net = mmdg.make_network("mmdg_tiny", network="vit-concat", adapter_dropout=0.0)
    size = net.options["image_size"]
    batch = [torch.randn(4, 3, size, size) for _ in range(3)]
    labels, sources = torch.tensor([1, 0, 1, 0]), torch.tensor([0, 0, 1, 1])
    net.train()
    strategy = mmdg.Strategy(net, "ce", num_sources=2)
    result = strategy.step(*batch, labels, sources)
    params = [p for _, p in net.named_parameters() if p.requires_grad]
    got = [p.grad.clone() for p in params]
    for p in params:
        p.grad = None
    loss = torch.nn.functional.cross_entropy(net(*batch)["logits"], labels)
    loss.backward()
    assert result["loss"] == pytest.approx(loss.item(), rel=1e-5)
    for p, g in zip(params, got):
        assert torch.allclose(p.grad, g, atol=1e-6, rtol=1e-4)

    net2, ssdg = mmdg.make_method("ssdg", num_sources=2, config="mmdg_tiny",
                                  pretrained=os.path.join(DATA, "vit_tiny_torchvision.pth"))
    assert ssdg.name == "ssdg" and len(ssdg.parameters()) > 0  # its domain discriminator
    net2.train()
    result = ssdg.step(*batch, labels, sources, progress=0.5)
    assert set(result["log"]) == {"loss_ce", "loss_triplet", "loss_adversarial", "reversal_coefficient"}, result["log"]
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in ssdg.parameters())
    with pytest.raises(mmdg.Error, match="Strategy ssdg: its method trains a network with"):
        mmdg.Strategy(net, "ssdg", num_sources=2)
    with pytest.raises(mmdg.Error, match="strategy regrad: begin_epoch needs the training set"):
        _, regrad = mmdg.make_method("mmdg", num_sources=2, config="mmdg_tiny")
        regrad.begin_epoch(0)
    with pytest.raises(mmdg.Error, match="'estimator' is a model option"):
        mmdg.Strategy(net, "ce", num_sources=2, estimator="expected")
    with pytest.raises(mmdg.Error, match="unknown option 'ssp_weigth'"):
        mmdg.Strategy(net, "ce", num_sources=2, ssp_weigth=0.1)
    with pytest.raises(mmdg.Error, match="num_sources"):
        mmdg.Strategy(net, "ce", num_sources=0)


def test_stress_with_keyword_options_equals_mmdg_stress(synthetic, tmp_path):
    """mmdg.stress(...) writes what `mmdg stress` writes with the same options (the same curves and
    areas), takes checkpoints as a dict, and mmdg.corrupt is the corruption the command applies."""
    checkpoint, samples = synthetic
    root = os.path.join(os.path.dirname(checkpoint), "synth")  # the fixture's synthetic benchmark
    test_list = os.path.join(root, "W-test.txt")
    results = mmdg.stress(str(tmp_path / "py"), test_list, {"a": checkpoint, "b": [checkpoint]}, data_root=root,
                          corruptions=["depth_dropout"], severities=[0, 1], resamples=20)
    subprocess.run([CLI, "-q", "stress", "--checkpoint", "a=" + checkpoint, "--checkpoint", "b=" + checkpoint,
                    "--list", test_list, "--data-root", root, "--corruption", "depth_dropout", "--severities", "0,1",
                    "--resamples", "20", "--out", str(tmp_path / "cli")], check=True, capture_output=True)
    cli = json.load(open(tmp_path / "cli" / "stress.json"))
    assert json.load(open(tmp_path / "py" / "stress.json")) == results
    strip = lambda j: json.loads(json.dumps(j).replace(str(tmp_path / "py"), "OUT").replace(str(tmp_path / "cli"), "OUT"))
    assert strip(results) == strip(cli)
    names = [c["name"] for c in mmdg.corruptions()]
    assert "depth_dropout" in names and all(c["modality"] in MODALITIES for c in mmdg.corruptions())
    image = mmdg.read_image(samples[0][1])
    same, mask = mmdg.corrupt("depth_dropout", image, 0.0)
    assert torch.equal(same, image) and not mask.any()
    dropped, mask = mmdg.corrupt("depth_dropout", image, 0.5, seed=3)
    assert mask.any() and torch.equal(dropped[:, ~mask], image[:, ~mask])
    assert torch.equal(mmdg.corrupt("depth_dropout", image, 0.5, seed=3)[0], dropped)
    with pytest.raises(mmdg.Error, match="unknown corruption 'fog'"):
        mmdg.corrupt("fog", image, 0.5)


def test_protocol_ctrl_c_raises_keyboard_interrupt_and_the_next_command_runs(tmp_path):
    """SIGINT while mmdg.protocol trains: KeyboardInterrupt naming the resumable run; the next command
    in the same Python process is not taken as interrupted."""
    import signal
    import time
    synth = tiny_synth(tmp_path / "synth")
    pretrained = os.path.join(DATA, "vit_tiny_torchvision.pth")
    script = (f"import mmdg\ntry:\n    mmdg.protocol({str(tmp_path / 'p')!r}, {str(synth)!r}, protocol=1, sub='CPS-W', "
              f"data_root={str(synth)!r}, pretrained={pretrained!r}, config='mmdg_tiny', epochs=400, steps_per_epoch=2, "
              f"batch_size=8, workers=1)\n    print('COMPLETED')\nexcept KeyboardInterrupt as e:\n    print('INTERRUPTED:', e)\n"
              f"r = mmdg.train({str(tmp_path / 't')!r}, [{str(synth / 'C-train.txt')!r}], data_root={str(synth)!r}, "
              f"pretrained={pretrained!r}, config='mmdg_tiny', epochs=1, steps_per_epoch=1, batch_size=8, workers=1)\n"
              f"print('AFTER:', r['epochs_done'])\n")
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               env=dict(os.environ))
    for _ in range(480):
        logs = list((tmp_path / "p").rglob("log.jsonl"))
        if logs and logs[0].stat().st_size > 0:
            break
        time.sleep(0.25)
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=180)
    assert process.returncode == 0, out
    assert "INTERRUPTED: interrupted while training" in out and "resume" in out, out
    assert "AFTER: 1" in out, out


def test_the_readmes_python_quick_start_runs(synthetic):
    """The README's Python snippet, on this suite's checkpoint and synthetic test list instead of the
    demo's: it prints scores, decisions and labels."""
    checkpoint, samples = synthetic
    root = os.path.join(os.path.dirname(checkpoint), "synth")  # the fixture's synthetic benchmark
    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md")).read()
    snippet = readme.split("PYTHONPATH=build/python /usr/bin/python3 -c '\n", 1)[1].split("'\n```", 1)[0]
    assert "demo_out/protocol/mmdg/seed0/CPS-W/best.safetensors" in snippet
    snippet = snippet.replace("demo_out/protocol/mmdg/seed0/CPS-W/best.safetensors", checkpoint)
    snippet = snippet.replace("demo_out/data/", root + "/")
    out = subprocess.run([sys.executable, "-c", snippet], check=True, capture_output=True, text=True,
                         env=dict(os.environ)).stdout
    assert out.startswith("tensor([") and "labels" in out, out
