#!/usr/bin/env python3
"""Regenerate Tests/Fixtures/npy/: tiny .npy files written by numpy itself, against which
Tests/DatasetsTests checks the Datasets module's reader (and its writer, byte for byte).

Usage: python3 Scripts/make_npy_fixtures.py   (needs numpy 2.x; the files are committed)
"""
import pathlib

import numpy as np
from numpy.lib import format as npformat

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "npy"
OUT.mkdir(parents=True, exist_ok=True)

# The reference array the tests know: f32_3x2x2[i, j, k] = (i*4 + j*2 + k) * 0.5 - 1.
f32 = (np.arange(12, dtype=np.float32) * 0.5 - 1).reshape(3, 2, 2)
np.save(OUT / "f32_3x2x2.npy", f32)
# float64 values that are not exact in float32: f64_2x3[i, j] = (i*3 + j) / 3.
np.save(OUT / "f64_2x3.npy", (np.arange(6, dtype=np.float64) / 3).reshape(2, 3))
np.save(OUT / "labels_i8.npy", np.array([0, 2, 1], dtype=np.int64))
np.save(OUT / "labels_u1.npy", np.array([3, 0, 255], dtype=np.uint8))
np.save(OUT / "labels_i4.npy", np.array([-1, 7, 2147483647], dtype=np.int32))
np.save(OUT / "labels_i2.npy", np.array([-32768, 5], dtype=np.int16))
np.save(OUT / "labels_u2.npy", np.array([65535, 5], dtype=np.uint16))
np.save(OUT / "labels_i1.npy", np.array([-128, 127], dtype=np.int8))
np.save(OUT / "bool_4.npy", np.array([True, False, False, True]))
np.save(OUT / "f32_empty_0x4.npy", np.zeros((0, 4), dtype=np.float32))
np.save(OUT / "f32_scalar.npy", np.float32(2.5))
for version in [(2, 0), (3, 0)]:
    with open(OUT / f"f32_3x2x2_v{version[0]}.npy", "wb") as f:
        npformat.write_array(f, f32, version=version)
np.save(OUT / "fortran_2x3.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
np.save(OUT / "bigendian_f4.npy", f32.astype(">f4"))
np.save(OUT / "complex_c8.npy", np.zeros(2, dtype=np.complex64))

for path in sorted(OUT.glob("*.npy")):
    print(path.name, path.stat().st_size)
