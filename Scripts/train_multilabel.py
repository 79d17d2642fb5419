#!/usr/bin/env python3
"""Train, export and document the bundled multi-label example model (four findings per digit).

Run from the repository root (after Scripts/train_models.py's requirements are installed):

    pip install -r Scripts/requirements-train.txt
    python3 Scripts/train_multilabel.py

It (re)writes, deterministically (fixed seeds, one thread):

    Models/densenet-digits-findings.onnx        small DenseNet, 4 sigmoid outputs, metadata
                                                 `findings` and `thresholds`
    Datasets/digits-findings-test/inputs.npy     float32 [360, 1, 8, 8], the same array as
                                                 Datasets/digits-test/inputs.npy
    Datasets/digits-findings-test/labels.npy     int64 [360, 4]: 1, 0, or -1 (not labelled)
    Tests/Fixtures/models/densenet-digits-findings.ort-outputs.npy
                                                 onnxruntime LOGITS (the input of the final
                                                 Sigmoid) on the test set, float32 [360, 4]
    Tests/Fixtures/models/densenet-digits-findings.expected.json
                                                 per-finding float AUROC, sensitivity and
                                                 specificity at the thresholds, macro AUROC
    Models/README.md                             its `## densenet-digits-findings.onnx` section
                                                 (added at the end, or replaced in place)

The findings are derived from the digit: even (d % 2 == 0), five_or_more (d >= 5),
closed_loop (d in {0, 6, 8, 9}) and prime (d in {2, 3, 5, 7}). The train/test split is the
one of Scripts/train_models.py (scikit-learn digits, 80/20 stratified, random_state=0).

Scripts/train_models.py rewrites Models/README.md from its own template, which drops this
script's section: run this script after it.

torch is only needed by this script (developers), never by the Swift build or CI.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

sys.dont_write_bytecode = True  # no Scripts/__pycache__ from the import below
sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_models as tm  # noqa: E402  (no side effects on import: main() is guarded)

ROOT = tm.ROOT
MODELS = tm.MODELS
DATASETS = tm.DATASETS
FIXTURES = tm.FIXTURES

NAME = "densenet-digits-findings"
DATASET = "digits-findings-test"
SEED = 0

FINDINGS = ("even", "five_or_more", "closed_loop", "prime")
DEFINITIONS = {
    "even": "digit % 2 == 0 (0, 2, 4, 6, 8)",
    "five_or_more": "digit ≥ 5 (5, 6, 7, 8, 9)",
    "closed_loop": "digit in {0, 6, 8, 9} (a closed loop in the glyph)",
    "prime": "digit in {2, 3, 5, 7}",
}

# Training settings (kept deliberately light: good, not perfect, test AUROC).
EPOCHS = 6
LR, LR_TEXT = 3e-3, "3e-3"
BATCH = 64
WEIGHT_DECAY, WEIGHT_DECAY_TEXT = 1e-4, "1e-4"

# Test labels hidden as "not labelled" (-1): this fraction of all entries, seeded.
UNLABELLED_FRACTION = 0.08
UNLABELLED_SEED = 0


def findings_of(digits: np.ndarray) -> np.ndarray:
    """int64 [N, 4]: even, five_or_more, closed_loop, prime."""
    d = digits.astype(np.int64)
    return np.stack([
        d % 2 == 0,
        d >= 5,
        np.isin(d, (0, 6, 8, 9)),
        np.isin(d, (2, 3, 5, 7)),
    ], axis=1).astype(np.int64)


# ---------------------------------------------------------------------------
# Model: the densenet-digits shape (train_models.DenseNetDigits), narrower, 4 outputs + Sigmoid
# ---------------------------------------------------------------------------


class DenseNetFindingsLogits(tm.DenseNetDigits):
    STEM = 8
    GROWTH = 4
    LAYERS = (2, 2)
    TRANSITION = 12

    def __init__(self) -> None:
        super().__init__(classes=len(FINDINGS))


class DenseNetFindings(nn.Module):
    """The logits network followed by a Sigmoid: one probability per finding."""

    def __init__(self) -> None:
        super().__init__()
        self.net = DenseNetFindingsLogits()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(x))


def arch() -> dict:
    c = DenseNetFindingsLogits
    b1 = c.STEM + c.LAYERS[0] * c.GROWTH
    b2 = c.TRANSITION + c.LAYERS[1] * c.GROWTH
    return dict(stem=c.STEM, growth=c.GROWTH, layers=c.LAYERS, transition=c.TRANSITION, b1=b1, b2=b2)


# ---------------------------------------------------------------------------
# Training, thresholds
# ---------------------------------------------------------------------------


def train(model: nn.Module, x: np.ndarray, y: np.ndarray, *, epochs: int, lr: float, batch: int,
          weight_decay: float, seed: int = SEED) -> None:
    """train_models.train (Adam + cosine schedule) on BCEWithLogitsLoss (model returns logits)."""
    tm.train(model, x, y.astype(np.float32), epochs=epochs, lr=lr, batch=batch, weight_decay=weight_decay, seed=seed,
             loss_fn=nn.BCEWithLogitsLoss())


def youden_threshold(probs: np.ndarray, labels: np.ndarray) -> float:
    """The 2-decimal threshold t in {0.01, ..., 0.99} maximising Youden's J = sens + spec - 1
    (positive <=> prob >= t) on the given (training) scores; ties go to the middle of the tied
    thresholds (the lower middle one)."""
    pos = labels == 1
    neg = labels == 0
    grid = np.arange(1, 100) / 100.0
    j = np.array([(probs[pos] >= t).mean() + (probs[neg] < t).mean() - 1.0 for t in grid])
    best = np.flatnonzero(j == j.max())
    return round(float(grid[best[(len(best) - 1) // 2]]), 2)


def hide_labels(labels: np.ndarray) -> np.ndarray:
    """Mark round(8 %) of the entries -1 (seeded), with at least one -1 in every column and
    never a whole row of -1."""
    n, k = labels.shape
    rng = np.random.default_rng(UNLABELLED_SEED)
    count = int(round(UNLABELLED_FRACTION * n * k))
    hidden = np.zeros(n * k, dtype=bool)
    hidden[rng.permutation(n * k)[:count]] = True
    hidden = hidden.reshape(n, k)
    assert hidden.any(axis=0).all(), "a finding without any unlabelled entry: change UNLABELLED_SEED"
    assert not hidden.all(axis=1).any(), "an example with no label at all: change UNLABELLED_SEED"
    out = labels.copy()
    out[hidden] = -1
    return out


# ---------------------------------------------------------------------------
# Export, onnxruntime
# ---------------------------------------------------------------------------


def export(model: nn.Module, example: torch.Tensor, path: Path, thresholds: list[float]) -> None:
    """train_models.export with output `scores`, then the findings/thresholds metadata."""
    tm.export(model, example, path, output="scores")
    m = onnx.load(str(path))
    del m.metadata_props[:]
    for key, value in (("findings", ",".join(FINDINGS)),
                       ("thresholds", ",".join(f"{t:.2f}" for t in thresholds))):
        entry = m.metadata_props.add()
        entry.key = key
        entry.value = value
    onnx.checker.check_model(m, full_check=True)
    last = m.graph.node[-1]
    assert last.op_type == "Sigmoid" and list(last.output) == ["scores"], "the graph must end in Sigmoid -> scores"
    onnx.save(m, str(path))
    onnx.checker.check_model(str(path), full_check=True)


session = tm.session


def ort_logits_and_scores(path: Path, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run the exported model with the final Sigmoid's input added as a second graph output
    (in a temporary copy): returns (logits, scores), both float32 [N, 4]."""
    m = onnx.load(str(path))
    last = m.graph.node[-1]
    pre = last.input[0]
    vi = onnx.helper.make_tensor_value_info(pre, onnx.TensorProto.FLOAT, ["batch", len(FINDINGS)])
    m.graph.output.append(vi)
    with tempfile.TemporaryDirectory() as tmp:
        p = os.path.join(tmp, "with-logits.onnx")
        onnx.save(m, p)
        logits, scores = session(p).run([pre, "scores"], {"input": x})
    (plain,) = session(str(path)).run(["scores"], {"input": x})
    assert np.array_equal(plain, scores), "the extra output changed onnxruntime's scores"
    return (np.ascontiguousarray(logits, dtype=np.float32), np.ascontiguousarray(scores, dtype=np.float32))


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------


def evaluate(logits: np.ndarray, labels: np.ndarray, thresholds: list[float]) -> list[dict]:
    rows = []
    for c, name in enumerate(FINDINGS):
        t = thresholds[c]
        lab = labels[:, c]
        keep = lab != -1
        s = logits[keep, c].astype(np.float64)
        y = lab[keep]
        logit_t = float(np.log(t / (1.0 - t)))
        called = s >= logit_t
        # The same calls through the sigmoid (float64): predicted positive <=> sigmoid >= t.
        assert np.array_equal(called, 1.0 / (1.0 + np.exp(-s)) >= t)
        pos, neg = int((y == 1).sum()), int((y == 0).sum())
        tp = int((called & (y == 1)).sum())
        tn = int((~called & (y == 0)).sum())
        rows.append(dict(
            name=name,
            threshold=t,
            logit_threshold=logit_t,
            auroc=float(roc_auc_score(y, s)),
            positives=pos,
            negatives=neg,
            unlabelled=int((~keep).sum()),
            true_positives=tp,
            false_negatives=pos - tp,
            true_negatives=tn,
            false_positives=neg - tn,
            sensitivity=tp / pos,
            specificity=tn / neg,
        ))
    return rows


def logit_ties(logits: np.ndarray, labels: np.ndarray) -> list[int]:
    """Per finding, the labelled entries whose logit equals another labelled entry's."""
    out = []
    for c in range(len(FINDINGS)):
        s = logits[labels[:, c] != -1, c]
        _, counts = np.unique(s, return_counts=True)
        out.append(int(counts[counts > 1].sum()))
    return out


# ---------------------------------------------------------------------------
# README section
# ---------------------------------------------------------------------------

SECTION = "## densenet-digits-findings.onnx"


def readme_section(r: dict) -> str:
    a = arch()
    g = a["growth"]
    table = "\n".join(
        f"| `{m['name']}` | {m['threshold']:.2f} | {m['positives']} / {m['negatives']} / {m['unlabelled']} | "
        f"{m['auroc']:.4f} | {m['true_positives']}/{m['positives']} = {m['sensitivity']:.4f} | "
        f"{m['true_negatives']}/{m['negatives']} = {m['specificity']:.4f} |"
        for m in r["metrics"])
    defs = "\n".join(f"  - `{f}`: {DEFINITIONS[f]};" for f in FINDINGS)
    return f"""{SECTION}

A multi-label example: a small DenseNet (the shape of `densenet-digits.onnx`, narrower: growth
rate {g}) with one sigmoid output per *finding* derived from the digit, on the same images and
the same train/test split as `densenet-digits.onnx`.

- Input `input`: float32 `[batch, 1, 8, 8]`, as for `densenet-digits.onnx` (pixels / 16.0).
  Output `scores`: float32 `[batch, 4]`, one probability per finding: the graph ends in a
  `Sigmoid` (its input, the logits, is the model's output before the Sigmoid).
- Findings, in output order:
{defs[:-1]}.
- ONNX metadata (`metadata_props`): `findings` = `{",".join(FINDINGS)}` and `thresholds` =
  `{r['thresholds_text']}`, the operating point per finding (a score ≥ threshold is called
  positive): the 2-decimal threshold in 0.01…0.99 maximising Youden's J (sensitivity +
  specificity − 1) on the TRAINING set, ties to the middle of the tied thresholds.
- Test set: `Datasets/{DATASET}/`: `inputs.npy` float32 `[{r['total']}, 1, 8, 8]`, the same array as
  `Datasets/digits-test/inputs.npy`; `labels.npy` int64 `[{r['total']}, 4]`, each entry 1 (finding present), 0
  (absent) or −1 (not labelled: left out of that finding's metrics). {r['hidden']} of the
  {r['total'] * 4} entries ({100 * r['hidden'] / (r['total'] * 4):.1f} %, seeded) are −1, at least one in every column and never a
  whole row. Trained on the other {r['train_size']} images (all labels known).
- Parameters: {r['params']:,} (trainable; plus BatchNorm running statistics). File size
  {r['size']:,} bytes.
- ONNX ops: {", ".join(r['ops'])}.

Float results (onnxruntime, CPUExecutionProvider, one thread) on the labelled entries of the
test set; AUROC from the logits with `sklearn.metrics.roc_auc_score` (ties count one half),
sensitivity and specificity at the metadata thresholds (positive ⇔ sigmoid(logit) ≥ t ⇔
logit ≥ ln(t / (1 − t))). The logits are in
`Tests/Fixtures/models/{NAME}.ort-outputs.npy` (float32 `[{r['total']}, 4]`) and these numbers in
`Tests/Fixtures/models/{NAME}.expected.json`.

| finding | threshold | positives / negatives / unlabelled | AUROC | sensitivity | specificity |
| ------- | --------- | ---------------------------------- | ----- | ----------- | ----------- |
{table}

Macro-mean AUROC: **{r['macro_auroc']:.4f}**.

Architecture:

| # | layer | output shape |
| - | ----- | ------------ |
| 1 | Conv 3×3, 1→{a['stem']}, pad 1, bias (stem) | {a['stem']}×8×8 |
| 2 | dense block 1: {a['layers'][0]} × [BN → ReLU → Conv 3×3 pad 1 → +{g} channels, concatenated with its input] | {a['b1']}×8×8 |
| 3 | transition: BN → ReLU → Conv 1×1 {a['b1']}→{a['transition']} → AveragePool 2×2 stride 2 | {a['transition']}×4×4 |
| 4 | dense block 2: {a['layers'][1]} × [BN → ReLU → Conv 3×3 pad 1 → +{g} channels, concatenated] | {a['b2']}×4×4 |
| 5 | BN → ReLU → MaxPool 2×2 stride 2 | {a['b2']}×2×2 |
| 6 | GlobalAveragePool (`nn.AdaptiveAvgPool2d(1)`) → Flatten | {a['b2']} |
| 7 | Linear {a['b2']}→4 (Gemm) | 4 |
| 8 | Sigmoid | 4 |

Dense-layer convolutions have no bias. Trained on the logits (before the Sigmoid) with
`BCEWithLogitsLoss`, Adam (lr {LR_TEXT}, weight decay {WEIGHT_DECAY_TEXT}, cosine schedule), {EPOCHS} epochs
(deliberately few, so that the AUROC is good but not perfect), batch {BATCH}, seed {SEED}; one
thread, deterministic algorithms.

To regenerate, run after `Scripts/train_models.py` (which rewrites this file without this
section):

```sh
python3 Scripts/train_multilabel.py
```

It rewrites the model, `Datasets/{DATASET}/`, the two fixtures above and this section, and checks
that the test inputs equal `Datasets/digits-test/inputs.npy`.
"""


def update_readme(section: str) -> None:
    path = MODELS / "README.md"
    text = path.read_text()
    # Replace an existing section (up to the next "## " heading or the end), else append.
    pattern = re.compile(r"^" + re.escape(SECTION) + r"\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + ("\n" if not section.endswith("\n\n") else ""), text, count=1)
        text = text.rstrip("\n") + "\n"
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


# ---------------------------------------------------------------------------


def main() -> int:
    tm.configure_torch()
    os.chdir(ROOT)

    tm.seed_everything(SEED)
    d = load_digits()
    x = (d.images.astype(np.float32) / np.float32(16.0)).reshape(-1, 1, 8, 8)
    y = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    x_tr = np.ascontiguousarray(x_tr, dtype=np.float32)
    x_te = np.ascontiguousarray(x_te, dtype=np.float32)

    digits_test = np.load(DATASETS / "digits-test" / "inputs.npy")
    assert digits_test.dtype == x_te.dtype and digits_test.shape == x_te.shape \
        and digits_test.tobytes() == x_te.tobytes(), "test inputs differ from Datasets/digits-test"
    digits_labels = np.load(DATASETS / "digits-test" / "labels.npy")
    assert np.array_equal(digits_labels, y_te), "test digits differ from Datasets/digits-test"

    f_tr, f_te = findings_of(y_tr), findings_of(y_te)

    model = DenseNetFindings()
    train(model.net, x_tr, f_tr, epochs=EPOCHS, lr=LR, batch=BATCH, weight_decay=WEIGHT_DECAY)

    with torch.no_grad():
        p_tr = model(torch.from_numpy(x_tr)).numpy().astype(np.float64)
        torch_logits = model.net(torch.from_numpy(x_te)).numpy()
    thresholds = [youden_threshold(p_tr[:, c], f_tr[:, c]) for c in range(len(FINDINGS))]
    assert all(0.0 < t < 1.0 for t in thresholds)

    labels = hide_labels(f_te)
    out_dir = DATASETS / DATASET
    out_dir.mkdir(parents=True, exist_ok=True)
    np.save(out_dir / "inputs.npy", x_te)
    np.save(out_dir / "labels.npy", labels.astype(np.int64))
    assert (out_dir / "inputs.npy").read_bytes() == (DATASETS / "digits-test" / "inputs.npy").read_bytes(), \
        "inputs.npy is not byte-identical to Datasets/digits-test/inputs.npy"

    path = MODELS / f"{NAME}.onnx"
    export(model, torch.from_numpy(x_te[:1]), path, thresholds)
    logits, scores = ort_logits_and_scores(path, x_te)
    max_diff = float(np.abs(logits - torch_logits).max())
    sig_diff = float(np.abs(1.0 / (1.0 + np.exp(-logits.astype(np.float64))) - scores).max())
    FIXTURES.mkdir(parents=True, exist_ok=True)
    np.save(FIXTURES / f"{NAME}.ort-outputs.npy", logits)

    metrics = evaluate(logits, labels, thresholds)
    macro = float(np.mean([m["auroc"] for m in metrics]))
    ties = logit_ties(logits, labels)
    expected = {
        "model": f"{NAME}.onnx",
        "dataset": DATASET,
        "task": "multi-label",
        "total": int(len(y_te)),
        "input_shape": [1, 8, 8],
        "outputs": "logits (before the final Sigmoid)",
        "thresholds_are": "probabilities; positive <=> sigmoid(logit) >= threshold <=> logit >= logit_threshold",
        "findings": metrics,
        "macro_auroc": macro,
    }
    (FIXTURES / f"{NAME}.expected.json").write_text(json.dumps(expected, indent=2) + "\n")

    size = path.stat().st_size
    result = dict(
        total=int(len(y_te)), train_size=int(len(y_tr)), params=tm.param_count(model), ops=tm.ops_of(path),
        size=size, metrics=metrics, macro_auroc=macro, hidden=int((labels == -1).sum()),
        thresholds_text=",".join(f"{t:.2f}" for t in thresholds),
    )
    update_readme(readme_section(result))

    print(f"{NAME}: {result['params']} parameters, {size} bytes, ops {', '.join(result['ops'])}")
    print(f"  max |ort - torch| logits = {max_diff:.2e}; max |sigmoid(ort logits) - ort scores| = {sig_diff:.2e}")
    print(f"  {result['hidden']} of {labels.size} test labels hidden (-1); logit ties per finding: {ties}")
    for m in metrics:
        print(f"  {m['name']:>13}: t={m['threshold']:.2f} AUROC={m['auroc']:.4f} "
              f"sens={m['true_positives']}/{m['positives']}={m['sensitivity']:.4f} "
              f"spec={m['true_negatives']}/{m['negatives']}={m['specificity']:.4f}")
    print(f"  macro AUROC = {macro:.4f}")

    if size >= 200_000:
        print(f"error: {path} is {size} bytes (>= 200 KB)", file=sys.stderr)
        return 1
    if macro < 0.9:
        print(f"error: macro AUROC {macro:.4f} below 0.9", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
