#!/usr/bin/env python3
"""Train, export and document the small models bundled with SecureValidation.

Run from the repository root:

    pip install -r Scripts/requirements-train.txt
    python3 Scripts/train_models.py

It (re)writes, deterministically (fixed seeds, one thread):

    Models/densenet-digits.onnx            DenseNet-style CNN on scikit-learn digits
    Models/mlp-breast-cancer.onnx          MLP on scikit-learn breast cancer (raw features in)
    Models/README.md                       architectures, parameter counts, accuracies
    Datasets/digits-test/{inputs,labels}.npy
    Datasets/breast-cancer-test/{inputs,labels}.npy
    Datasets/breast-cancer-test.csv
    Tests/Fixtures/models/<model>.ort-outputs.npy   onnxruntime logits on the whole test set
    Tests/Fixtures/models/expected.json              onnxruntime correct counts / accuracies

torch is only needed by this script (developers), never by the Swift build or CI.
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "Models"
DATASETS = ROOT / "Datasets"
FIXTURES = ROOT / "Tests" / "Fixtures" / "models"

SEED = 0


def seed_everything(seed: int = SEED) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def configure_torch() -> None:
    # One thread and deterministic kernels: the same weights on every run.
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------


class DenseLayer(nn.Module):
    """BN -> ReLU -> Conv3x3(pad 1); output concatenated to the input along channels."""

    def __init__(self, in_ch: int, growth: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(in_ch)
        self.conv = nn.Conv2d(in_ch, growth, kernel_size=3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(F.relu(self.bn(x)))
        return torch.cat([x, y], dim=1)


class DenseBlock(nn.Sequential):
    def __init__(self, in_ch: int, layers: int, growth: int) -> None:
        super().__init__(*[DenseLayer(in_ch + i * growth, growth) for i in range(layers)])
        self.out_ch = in_ch + layers * growth


class Transition(nn.Module):
    """BN -> ReLU -> Conv1x1 -> AveragePool 2x2 stride 2."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(in_ch)
        self.conv = nn.Conv2d(in_ch, out_ch, kernel_size=1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv(F.relu(self.bn(x))))


class DenseNetDigits(nn.Module):
    STEM = 16
    GROWTH = 8
    LAYERS = (3, 3)
    TRANSITION = 24

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, self.STEM, kernel_size=3, padding=1, bias=True)
        self.block1 = DenseBlock(self.STEM, self.LAYERS[0], self.GROWTH)
        self.trans = Transition(self.block1.out_ch, self.TRANSITION)
        self.block2 = DenseBlock(self.TRANSITION, self.LAYERS[1], self.GROWTH)
        self.bn = nn.BatchNorm2d(self.block2.out_ch)
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(self.block2.out_ch, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)                        # 16 x 8 x 8
        x = self.block1(x)                      # 40 x 8 x 8
        x = self.trans(x)                       # 24 x 4 x 4
        x = self.block2(x)                      # 48 x 4 x 4
        x = self.pool(F.relu(self.bn(x)))       # 48 x 2 x 2
        x = self.gap(x)                         # 48 x 1 x 1
        x = torch.flatten(x, 1)                 # 48
        return self.fc(x)                       # 10


class MLP(nn.Module):
    def __init__(self, features: int = 30, hidden=(16, 8), classes: int = 2) -> None:
        super().__init__()
        self.fc1 = nn.Linear(features, hidden[0])
        self.fc2 = nn.Linear(hidden[0], hidden[1])
        self.fc3 = nn.Linear(hidden[1], classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------------------
# Training helpers
# ---------------------------------------------------------------------------


def train(model: nn.Module, x: np.ndarray, y: np.ndarray, *, epochs: int, lr: float,
          batch: int, weight_decay: float = 0.0, seed: int = SEED, loss_fn=F.cross_entropy) -> None:
    """Adam + cosine schedule, `loss_fn(model(x), y)` (cross-entropy unless given)."""
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    gen = torch.Generator().manual_seed(seed)
    n = len(xt)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        sched.step()
    model.eval()


@torch.no_grad()
def torch_accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> tuple[int, int]:
    model.eval()
    pred = model(torch.from_numpy(x)).argmax(dim=1).numpy()
    return int((pred == y).sum()), len(y)


def export(model: nn.Module, example: torch.Tensor, path: Path, output: str = "logits") -> None:
    model.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model, example, str(path),
        dynamo=False, opset_version=13,
        input_names=["input"], output_names=[output],
        dynamic_axes={"input": {0: "batch"}, output: {0: "batch"}},
    )
    m = onnx.load(str(path))
    onnx.checker.check_model(m, full_check=True)


def session(path: str) -> ort.InferenceSession:
    """onnxruntime on the CPU with one thread (deterministic outputs)."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def ort_outputs(path: Path, x: np.ndarray) -> np.ndarray:
    (out,) = session(str(path)).run(["logits"], {"input": x})
    return np.ascontiguousarray(out, dtype=np.float32)


def ops_of(path: Path) -> list[str]:
    m = onnx.load(str(path))
    seen: list[str] = []
    for n in m.graph.node:
        if n.op_type not in seen:
            seen.append(n.op_type)
    return seen


def fmt_f32(v: np.float32) -> str:
    # Shortest decimal string that round-trips to the same float32.
    return np.format_float_positional(np.float32(v), unique=True, trim="-")


# ---------------------------------------------------------------------------
# The two models
# ---------------------------------------------------------------------------


def build_digits() -> dict:
    seed_everything()
    d = load_digits()
    x = (d.images.astype(np.float32) / np.float32(16.0)).reshape(-1, 1, 8, 8)
    y = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    x_tr = np.ascontiguousarray(x_tr, dtype=np.float32)
    x_te = np.ascontiguousarray(x_te, dtype=np.float32)

    model = DenseNetDigits()
    train(model, x_tr, y_tr, epochs=40, lr=3e-3, batch=64, weight_decay=1e-4)
    correct, total = torch_accuracy(model, x_te, y_te)
    print(f"densenet-digits: torch test accuracy {correct}/{total} = {correct / total:.4f}")

    out_dir = DATASETS / "digits-test"
    out_dir.mkdir(parents=True, exist_ok=True)
    np.save(out_dir / "inputs.npy", x_te)
    np.save(out_dir / "labels.npy", y_te.astype(np.int64))

    path = MODELS / "densenet-digits.onnx"
    export(model, torch.from_numpy(x_te[:1]), path)
    return dict(name="densenet-digits", dataset="digits-test", model=model, path=path,
                x=x_te, y=y_te, classes=10, input_shape=[1, 8, 8],
                torch_correct=correct, train_size=len(y_tr))


def build_breast_cancer() -> dict:
    seed_everything()
    d = load_breast_cancer()
    x = d.data.astype(np.float32)
    y = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, stratify=y, random_state=0)
    x_tr = np.ascontiguousarray(x_tr, dtype=np.float32)
    x_te = np.ascontiguousarray(x_te, dtype=np.float32)

    # Standardise with TRAIN statistics (computed in float64, used as float32).
    mean = x_tr.astype(np.float64).mean(axis=0)
    std = x_tr.astype(np.float64).std(axis=0)
    std[std == 0] = 1.0
    z_tr = ((x_tr - mean) / std).astype(np.float32)
    z_te = ((x_te - mean) / std).astype(np.float32)

    model = MLP()
    train(model, z_tr, y_tr, epochs=60, lr=3e-3, batch=32, weight_decay=1e-2)
    correct_std, total = torch_accuracy(model, z_te, y_te)

    # Fold (x - mean) / std into fc1:  W' = W / std,  b' = b - W' @ mean.
    with torch.no_grad():
        w = model.fc1.weight.double()
        b = model.fc1.bias.double()
        mean_t = torch.from_numpy(mean)
        std_t = torch.from_numpy(std)
        w_folded = w / std_t
        b_folded = b - w_folded @ mean_t
        model.fc1.weight.copy_(w_folded.float())
        model.fc1.bias.copy_(b_folded.float())
    correct, total = torch_accuracy(model, x_te, y_te)
    print(f"mlp-breast-cancer: torch test accuracy {correct}/{total} = {correct / total:.4f} "
          f"(before folding the standardisation: {correct_std}/{total})")

    out_dir = DATASETS / "breast-cancer-test"
    out_dir.mkdir(parents=True, exist_ok=True)
    np.save(out_dir / "inputs.npy", x_te)
    np.save(out_dir / "labels.npy", y_te.astype(np.int64))
    with open(DATASETS / "breast-cancer-test.csv", "w", newline="\n") as f:
        f.write("label," + ",".join(f"f{i}" for i in range(x_te.shape[1])) + "\n")
        for row, label in zip(x_te, y_te):
            f.write(str(int(label)) + "," + ",".join(fmt_f32(v) for v in row) + "\n")

    path = MODELS / "mlp-breast-cancer.onnx"
    export(model, torch.from_numpy(x_te[:1]), path)
    return dict(name="mlp-breast-cancer", dataset="breast-cancer-test", model=model, path=path,
                x=x_te, y=y_te, classes=2, input_shape=[30],
                torch_correct=correct, train_size=len(y_tr))


def check_csv_roundtrip(x: np.ndarray) -> None:
    rows = (DATASETS / "breast-cancer-test.csv").read_text().splitlines()[1:]
    back = np.array([[np.float32(v) for v in r.split(",")[1:]] for r in rows], dtype=np.float32)
    assert np.array_equal(back, x), "CSV does not round-trip float32"


# ---------------------------------------------------------------------------
# README
# ---------------------------------------------------------------------------


def write_readme(results: dict) -> None:
    dn = results["densenet-digits"]
    mlp = results["mlp-breast-cancer"]
    g = DenseNetDigits.GROWTH
    text = f"""# Bundled models

Small ONNX models used by the tests, the examples and the CI accuracy check. All take float32
input with a symbolic batch dimension (`input`: `[batch, ...]`). The two single-label models
produce raw logits (`logits`: `[batch, classes]`; the predicted class is the argmax); the
multi-label one (last section, `Scripts/train_multilabel.py`) ends in a Sigmoid per finding. Exported by
`torch.onnx.export(..., dynamo=False, opset_version=13)` in eval mode and verified with
`onnx.checker`.

The accuracies below are float (plaintext) accuracies measured with onnxruntime
(CPUExecutionProvider, one thread) on the bundled test sets; the per-example logits are in
`Tests/Fixtures/models/*.ort-outputs.npy` and the counts in `Tests/Fixtures/models/expected.json`.

## densenet-digits.onnx

A small DenseNet (pre-activation dense layers, growth rate {g}) on scikit-learn's `load_digits`.

- Input `input`: float32 `[batch, 1, 8, 8]`, the 8×8 digit images with pixel values divided by
  16.0 (so in [0, 1]). Output `logits`: float32 `[batch, 10]`, classes 0–9.
- Test set: `Datasets/digits-test/` (`inputs.npy` float32 `[{len(dn['y'])}, 1, 8, 8]`, already divided by 16;
  `labels.npy` int64), the 20 % stratified split of `train_test_split(..., test_size=0.2,
  stratify=y, random_state=0)`; the model was trained on the other {dn['train_size']} images.
- Parameters: {dn['params']:,} (trainable; plus BatchNorm running statistics).
- Accuracy (onnxruntime, float): **{dn['ort_correct']}/{dn['total']} = {dn['ort_correct'] / dn['total']:.4f}**.
- ONNX ops: {", ".join(dn['ops'])}.

Architecture:

| # | layer | output shape |
| - | ----- | ------------ |
| 1 | Conv 3×3, 1→16, pad 1, bias (stem) | 16×8×8 |
| 2 | dense block 1: 3 × [BN → ReLU → Conv 3×3 pad 1 → +{g} channels, concatenated with its input] | 40×8×8 |
| 3 | transition: BN → ReLU → Conv 1×1 40→24 → AveragePool 2×2 stride 2 | 24×4×4 |
| 4 | dense block 2: 3 × [BN → ReLU → Conv 3×3 pad 1 → +{g} channels, concatenated] | 48×4×4 |
| 5 | BN → ReLU → MaxPool 2×2 stride 2 | 48×2×2 |
| 6 | GlobalAveragePool (`nn.AdaptiveAvgPool2d(1)`) → Flatten | 48 |
| 7 | Linear 48→10 (Gemm) | 10 |

Dense-layer convolutions have no bias. Trained with Adam (lr 3e-3, weight decay 1e-4, cosine
schedule), 40 epochs, batch 64, cross-entropy, seed 0.

## mlp-breast-cancer.onnx

A multilayer perceptron on scikit-learn's `load_breast_cancer` (Wisconsin diagnostic).

- Input `input`: float32 `[batch, 30]`, the 30 RAW features in the dataset's column order (no
  preprocessing: the standardisation `(x - mean) / std`, with mean and std of the training
  split, is folded into the first layer's weights and bias). Output `logits`: float32
  `[batch, 2]`; class 0 = malignant, 1 = benign (scikit-learn's encoding).
- Test set: `Datasets/breast-cancer-test/` (`inputs.npy` float32 `[{len(mlp['y'])}, 30]`, `labels.npy` int64)
  and the same rows as `Datasets/breast-cancer-test.csv` (header `label,f0,...,f29`, label
  first, features printed so that they round-trip to the same float32), the 25 % stratified
  split of `train_test_split(..., test_size=0.25, stratify=y, random_state=0)`; trained on the
  other {mlp['train_size']} rows.
- Parameters: {mlp['params']:,}.
- Accuracy (onnxruntime, float): **{mlp['ort_correct']}/{mlp['total']} = {mlp['ort_correct'] / mlp['total']:.4f}**.
- ONNX ops: {", ".join(mlp['ops'])}.

Architecture: Linear 30→16 (standardisation folded in) → ReLU → Linear 16→8 → ReLU →
Linear 8→2. Trained on standardised features with Adam (lr 3e-3, weight decay 1e-2, cosine
schedule), 60 epochs, batch 32, cross-entropy, seed 0.

## Regenerating

From the repository root:

```sh
pip install -r Scripts/requirements-train.txt
python3 Scripts/train_models.py
```

This retrains both models (a minute or so on a CPU, one thread, fixed seeds) and rewrites the
models, the test sets in `Datasets/`, the onnxruntime reference outputs in `Tests/Fixtures/models/`
and this file. PyPI's `torch` wheel is the large CUDA build; that is fine for a developer
regenerating the models (no GPU is used), and torch is never needed by the Swift build or CI.
Results are reproducible with the pinned versions on the same platform; other versions of
torch may train slightly different weights.

`Scripts/export_densenet121.py OUT.onnx [--size 224|320] [--seed 0]` exports a randomly initialised
torchvision DenseNet-121 with a 14-finding (CheXpert) head for benchmarks; its output is not
committed.
"""
    (MODELS / "README.md").write_text(text)


# ---------------------------------------------------------------------------


def main() -> int:
    configure_torch()
    os.chdir(ROOT)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    results = {}
    for build in (build_digits, build_breast_cancer):
        r = build()
        out = ort_outputs(r["path"], r["x"])
        with torch.no_grad():
            ref = r["model"](torch.from_numpy(r["x"])).numpy()
        max_diff = float(np.abs(out - ref).max())
        pred = out.argmax(axis=1)
        correct = int((pred == r["y"]).sum())
        total = int(len(r["y"]))
        np.save(FIXTURES / f"{r['name']}.ort-outputs.npy", out)
        r.update(ort_correct=correct, total=total, params=param_count(r["model"]),
                 ops=ops_of(r["path"]))
        results[r["name"]] = r
        print(f"{r['name']}: onnxruntime test accuracy {correct}/{total} = {correct / total:.4f} "
              f"(max |ort - torch| = {max_diff:.2e}, {r['params']} parameters)")

    check_csv_roundtrip(results["mlp-breast-cancer"]["x"])

    expected = {
        name: {
            "dataset": r["dataset"],
            "total": r["total"],
            "ort_correct": r["ort_correct"],
            "ort_accuracy": r["ort_correct"] / r["total"],
            "classes": r["classes"],
            "input_shape": r["input_shape"],
        }
        for name, r in results.items()
    }
    (FIXTURES / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
    write_readme(results)

    for name, r in results.items():
        if r["ort_correct"] / r["total"] < 0.95:
            print(f"error: {name} accuracy below 95 %", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
