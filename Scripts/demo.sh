#!/usr/bin/env bash
# The main job: builds SecureValidation in release mode and runs it on the bundled model and data.
# Until the secure two-party engine lands, the main job is the plaintext reference:
# `validate-inspect eval` of the bundled DenseNet-style digits model on the bundled test set,
# which prints float32 and fixed-point accuracy.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh
echo "== building (release; the first build takes a few minutes)" >&2
swift build -c release --product validate-inspect 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' >&2 || { echo "build failed" >&2; exit 1; }
BIN=$(swift build -c release --show-bin-path)
echo "== the protocol plan of Models/densenet-digits.onnx" >&2
"$BIN/validate-inspect" plan Models/densenet-digits.onnx | tail -n 3
echo "== float32 and fixed-point accuracy on Datasets/digits-test" >&2
"$BIN/validate-inspect" eval Models/densenet-digits.onnx Datasets/digits-test
