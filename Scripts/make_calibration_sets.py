#!/usr/bin/env python3
"""Writes the vendor's calibration sets: examples from the models' TRAINING splits (the vendor's own
data), never from the hospital's test sets. `validate-serve --calibration` and `validate-inspect plan
--calibration` choose the fixed-point format (ℓ, s) from them.

    python3 Scripts/make_calibration_sets.py        # needs numpy and scikit-learn only

Outputs: Datasets/digits-calibration/ (256 training images) and
Datasets/breast-cancer-calibration/ (128 training cases), in the inputs.npy/labels.npy format.
The splits are exactly those of Scripts/train_models.py (same test_size, stratify, random_state).
"""
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parent.parent


def save(folder: Path, x: np.ndarray, y: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "inputs.npy", np.ascontiguousarray(x.astype(np.float32)))
    np.save(folder / "labels.npy", y.astype(np.int64))
    print(f"wrote {folder.relative_to(ROOT)}: {x.shape[0]} examples of shape {list(x.shape[1:])}")


def main() -> None:
    d = load_digits()
    x = (d.images.astype(np.float32) / np.float32(16.0)).reshape(-1, 1, 8, 8)
    y = d.target.astype(np.int64)
    x_tr, _, y_tr, _ = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    save(ROOT / "Datasets" / "digits-calibration", x_tr[:256], y_tr[:256])

    b = load_breast_cancer()
    x = b.data.astype(np.float32)
    y = b.target.astype(np.int64)
    x_tr, _, y_tr, _ = train_test_split(x, y, test_size=0.25, stratify=y, random_state=0)
    save(ROOT / "Datasets" / "breast-cancer-calibration", x_tr[:128], y_tr[:128])


if __name__ == "__main__":
    main()
