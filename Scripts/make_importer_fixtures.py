#!/usr/bin/env python3
"""Write the importer edge-case fixtures (complements Scripts/make_op_fixtures.py).

Run from the repository root (needs numpy, onnx, onnxruntime):

    python3 Scripts/make_importer_fixtures.py

Writes, deterministically:

    Tests/Fixtures/importer/ops/<case>/{model.onnx,input.npy,expected.npy}
    Tests/Fixtures/importer/ops/manifest.json   same format as Tests/Fixtures/ops/manifest.json
    Tests/Fixtures/importer/*.onnx + README.md  models the importer must reject

The op cases probe attribute combinations the first fixture set leaves out (pooling with ceil_mode
and padding together, count_include_pad with clipped windows, SAME_LOWER, pooling dilations, Clip
with one bound (alone and after a Gemm), Pad-18 axes, BatchNormalization after Gemm and after a
Conv whose output is read twice, affine chains, optional outputs nobody reads: a Dropout's mask at
opsets 9 and 13, a MaxPool's Indices) and follow the same rules: one input "X", one output "Y",
inputs from numpy's default_rng seeded with the CRC-32 of the case name, outputs computed by
onnxruntime with graph optimisations disabled. The case builder is the one of make_op_fixtures.py,
pointed at another folder.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_op_fixtures as base  # noqa: E402  (the shared case builder)

ROOT = base.ROOT
OUT = ROOT / "Tests" / "Fixtures" / "importer"
OPS = OUT / "ops"
F = base.F
t = base.t
PRODUCER = "SecureValidation make_importer_fixtures.py"


def pool_cases(b: base.Builder) -> None:
    def pool(name, op, desc, x_shape, opset=13, **attrs):
        b.case(name, op, opset, desc, x_shape, [helper.make_node(op, ["X"], ["Y"], **attrs)])

    pool("avgpool_ceil_pads_include_pad", "AveragePool",
         "AveragePool 3x3 s2 pads 1 ceil_mode=1 count_include_pad=1 on 8x8: the clipped last window divides by "
         "its size within the padded input", [2, 3, 8, 8],
         kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1)
    pool("avgpool_ceil_pads_exclude_pad", "AveragePool",
         "AveragePool 3x3 s2 pads 1 ceil_mode=1 count_include_pad=0 on 7x6", [2, 3, 7, 6],
         kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=0)
    pool("avgpool_asym_pads_ceil_include_pad", "AveragePool",
         "AveragePool 3x3 s2 pads [2,0,1,1] ceil_mode=1 count_include_pad=1 on 7x8", [2, 2, 7, 8],
         kernel_shape=[3, 3], strides=[2, 2], pads=[2, 0, 1, 1], ceil_mode=1, count_include_pad=1)
    pool("maxpool_ceil_pads", "MaxPool",
         "MaxPool 3x3 s2 pads 1 ceil_mode=1 on 8x8 (a window starting in the end padding is dropped)", [2, 3, 8, 8],
         kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)
    pool("maxpool_asym_pads_ceil", "MaxPool", "MaxPool 2x2 s2 pads [0,1,1,0] ceil_mode=1 on 7x6", [2, 3, 7, 6],
         kernel_shape=[2, 2], strides=[2, 2], pads=[0, 1, 1, 0], ceil_mode=1)
    pool("maxpool_same_lower", "MaxPool", "MaxPool 2x2 s2 auto_pad SAME_LOWER on 7x7 (pad 1 at the start)",
         [2, 3, 7, 7], kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_LOWER")
    pool("avgpool_same_lower", "AveragePool", "AveragePool 3x3 s2 auto_pad SAME_LOWER on 7x8 (pads not counted)",
         [2, 3, 7, 8], kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_LOWER")
    pool("avgpool_same_upper_include_pad", "AveragePool",
         "AveragePool 2x2 s1 auto_pad SAME_UPPER count_include_pad=1 on 5x6 (the automatic pad is counted)",
         [2, 3, 5, 6], kernel_shape=[2, 2], auto_pad="SAME_UPPER", count_include_pad=1)
    pool("avgpool_dilation2_opset19", "AveragePool",
         "AveragePool-19 2x2 dilations 2 pads 1 count_include_pad=0 on 6x7", [2, 3, 6, 7], opset=19,
         kernel_shape=[2, 2], dilations=[2, 2], pads=[1, 1, 1, 1], count_include_pad=0)
    pool("avgpool_dilation2_include_pad_opset19", "AveragePool",
         "AveragePool-19 3x3 s2 dilations 2 pads 2 ceil_mode=1 count_include_pad=1 on 9x8", [2, 2, 9, 8], opset=19,
         kernel_shape=[3, 3], strides=[2, 2], dilations=[2, 2], pads=[2, 2, 2, 2], ceil_mode=1, count_include_pad=1)
    pool("avgpool_whole_plane", "AveragePool", "AveragePool 5x6 (the whole plane) on 5x6", [2, 3, 5, 6],
         kernel_shape=[5, 6])


def conv_cases(b: base.Builder) -> None:
    def conv(name, desc, x_shape, w_shape, **attrs):
        w = base.weights(b, name, w_shape)
        bias = base.weights(b, name + "/b", (w_shape[0],), 0.3)
        b.case(name, "Conv", 13, desc, x_shape, [helper.make_node("Conv", ["X", "W", "B"], ["Y"], **attrs)],
               [t("W", w), t("B", bias)])

    conv("conv_same_lower_s2", "Conv 3x3 s2 auto_pad SAME_LOWER on 9x8 (pad 1 at the start of W)", [2, 3, 9, 8],
         (4, 3, 3, 3), kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_LOWER")
    conv("conv_same_upper_s3_k2", "Conv 2x2 s3 auto_pad SAME_UPPER on 7x8 (kernel smaller than the stride)",
         [2, 3, 7, 8], (2, 3, 2, 2), kernel_shape=[2, 2], strides=[3, 3], auto_pad="SAME_UPPER")
    conv("conv_rect_strides_dilations", "Conv 3x2 strides [2,1] dilations [1,2] pads [1,0,0,2] on 7x6",
         [2, 3, 7, 6], (3, 3, 3, 2), kernel_shape=[3, 2], strides=[2, 1], dilations=[1, 2], pads=[1, 0, 0, 2])


def elementwise_cases(b: base.Builder) -> None:
    x4 = [2, 3, 6, 6]
    b.case("clip_min_only_opset12", "Clip", 12, "Clip-12 with only min = -0.5 (max omitted); X scaled by 4", x4,
           [helper.make_node("Clip", ["X", "lo"], ["Y"])], [t("lo", np.float32(-0.5))], x_scale=4)
    b.case("clip_max_only_opset13", "Clip", 13, "Clip-13 with min omitted (\"\") and max = 0.5; X scaled by 4", x4,
           [helper.make_node("Clip", ["X", "", "hi"], ["Y"])], [t("hi", np.float32(0.5))], x_scale=4)
    b.case("clip_relu_opset11", "Clip", 11, "Clip-11 with min = 0 only (becomes a Relu)", x4,
           [helper.make_node("Clip", ["X", "lo"], ["Y"])], [t("lo", np.float32(0))])
    # One-sided Clips after a linear layer: the unbounded side must be absent from the IR (never
    # ±inf, which JSON cannot carry), so these models hash, compile and run securely.
    n = "gemm_clip_min_only_opset13"
    b.case(n, "Clip", 13, "Gemm -> Clip-13 with only min = -1 (max omitted); X scaled by 2", [8, 6],
           [helper.make_node("Gemm", ["X", "W", "B"], ["g"], transB=1), helper.make_node("Clip", ["g", "lo"], ["Y"])],
           [t("W", base.weights(b, n, (5, 6))), t("B", base.weights(b, n + "/b", (5,), 0.3)), t("lo", np.float32(-1))],
           x_scale=2)
    n = "gemm_clip_max_only_opset7"
    b.case(n, "Clip", 7, "Gemm -> Clip-6 with only the max = 0.5 attribute (min left at its default); X scaled by 2",
           [8, 6],
           [helper.make_node("Gemm", ["X", "W", "B"], ["g"], transB=1), helper.make_node("Clip", ["g"], ["Y"], max=0.5)],
           [t("W", base.weights(b, n, (5, 6))), t("B", base.weights(b, n + "/b", (5,), 0.3))], x_scale=2)
    b.case("add_gap_x", "Add", 13, "Add(GlobalAveragePool(X), X): the broadcast activation on the left", x4,
           [helper.make_node("GlobalAveragePool", ["X"], ["g"]), helper.make_node("Add", ["g", "X"], ["Y"])])
    b.case("add_x_x", "Add", 13, "Add(X, X): the same activation twice", x4,
           [helper.make_node("Add", ["X", "X"], ["Y"])])
    b.case("sum_single_opset8", "Sum", 8, "Sum(X) with a single input, then Relu", x4,
           [helper.make_node("Sum", ["X"], ["s"]), helper.make_node("Relu", ["s"], ["Y"])])
    b.case("mul_per_element_const", "Mul", 13, "Mul X[2,3,6,6] * const[3,6,6] (per element, no batch axis)", x4,
           [helper.make_node("Mul", ["X", "c"], ["Y"])], [t("c", base.weights(b, "mul_per_element_const", (3, 6, 6), 1.0))])
    b.case("affine_chain", "Mul", 13, "Mul(const[3,1,1]) -> Add(const[3,1,1]) -> Div(scalar) -> Sub(const[1,1,6])", x4,
           [helper.make_node("Mul", ["X", "m"], ["a"]), helper.make_node("Add", ["a", "c"], ["b"]),
            helper.make_node("Div", ["b", "d"], ["e"]), helper.make_node("Sub", ["e", "s"], ["Y"])],
           [t("m", base.weights(b, "affine_chain/m", (3, 1, 1), 1.0)), t("c", base.weights(b, "affine_chain/c", (3, 1, 1), 1.0)),
            t("d", np.float32(-2.5)), t("s", base.weights(b, "affine_chain/s", (1, 1, 6), 1.0))])


def folding_cases(b: base.Builder) -> None:
    x4 = [2, 3, 6, 6]
    n = "conv_bn_shared_output"
    w = base.weights(b, n, (4, 3, 3, 3))
    rng = base.rng_for(n + "/bn")
    b.case(n, "BatchNormalization", 13,
           "Conv -> BatchNormalization and the Conv output also read by an Add: the BN must not be folded", x4,
           [helper.make_node("Conv", ["X", "W"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            helper.make_node("BatchNormalization", ["c", "s", "bb", "m", "v"], ["n"]),
            helper.make_node("Add", ["n", "c"], ["Y"])],
           [t("W", w), t("s", rng.standard_normal(4) * 0.3 + 1), t("bb", rng.standard_normal(4) * 0.3),
            t("m", rng.standard_normal(4) * 0.3), t("v", rng.uniform(0.5, 2, 4))])
    n = "conv_div_sub_fold"
    w = base.weights(b, n, (4, 3, 3, 3))
    b.case(n, "Conv", 13, "Conv (no bias) -> Div(const[4,1,1]) -> Sub(const[4,1,1]): folds into the Conv", x4,
           [helper.make_node("Conv", ["X", "W"], ["c"], kernel_shape=[3, 3]),
            helper.make_node("Div", ["c", "d"], ["e"]), helper.make_node("Sub", ["e", "s"], ["Y"])],
           [t("W", w), t("d", np.array([0.5, -2, 4, 1.5]).reshape(4, 1, 1)),
            t("s", base.weights(b, n + "/s", (4, 1, 1), 1.0))])
    n = "gemm_bn_relu"
    rng = base.rng_for(n + "/bn")
    b.case(n, "BatchNormalization", 13, "Gemm -> BatchNormalization (BN1d on [N, 5]) -> Relu: the BN folds into the Gemm",
           [4, 6],
           [helper.make_node("Gemm", ["X", "W", "B"], ["g"], transB=1),
            helper.make_node("BatchNormalization", ["g", "s", "bb", "m", "v"], ["n"], epsilon=1e-3),
            helper.make_node("Relu", ["n"], ["Y"])],
           [t("W", base.weights(b, n, (5, 6))), t("B", base.weights(b, n + "/b", (5,), 0.3)),
            t("s", rng.standard_normal(5) * 0.3 + 1), t("bb", rng.standard_normal(5) * 0.3),
            t("m", rng.standard_normal(5) * 0.3), t("v", rng.uniform(0.5, 2, 5))])


def unused_output_cases(b: base.Builder) -> None:
    """Optional outputs that a node declares and nothing reads (the model zoo's SqueezeNet declares
    its Dropout's mask): they must not matter, whatever the op."""
    x4 = [2, 3, 6, 6]
    n = "dropout_mask_unused_opset9"
    b.case(n, "Dropout", 9, "Dropout-7 (ratio 0.5) declaring its mask output, which nothing reads, then Conv 1x1 "
           "(SqueezeNet's drop9 -> conv10)", x4,
           [helper.make_node("Dropout", ["X"], ["d", "mask"], ratio=0.5),
            helper.make_node("Conv", ["d", "W", "B"], ["Y"], kernel_shape=[1, 1])],
           [t("W", base.weights(b, n, (4, 3, 1, 1))), t("B", base.weights(b, n + "/b", (4,), 0.3))])
    b.case("dropout_mask_unused_opset13", "Dropout", 13,
           "Dropout-13 (ratio input 0.3, training_mode false) declaring its mask output, which nothing reads, then Relu",
           x4,
           [helper.make_node("Dropout", ["X", "r", "tm"], ["d", "mask"]), helper.make_node("Relu", ["d"], ["Y"])],
           [t("r", np.float32(0.3)), t("tm", False, np.bool_)])
    b.case("maxpool_indices_unused", "MaxPool", 13, "MaxPool 2x2 s2 declaring its Indices output, which nothing reads",
           x4, [helper.make_node("MaxPool", ["X"], ["Y", "idx"], kernel_shape=[2, 2], strides=[2, 2])])


def layout_cases(b: base.Builder) -> None:
    b.case("concat3_axis2", "Concat", 13, "Concat(X, Relu(X), X) along H (axis=2)", [2, 3, 4, 5],
           [helper.make_node("Relu", ["X"], ["r"]), helper.make_node("Concat", ["X", "r", "X"], ["Y"], axis=2)])
    b.case("transpose_flatten_gemm", "Transpose", 13, "Transpose perm [0,3,1,2] -> Flatten -> Gemm", [2, 3, 4, 5],
           [helper.make_node("Transpose", ["X"], ["p"], perm=[0, 3, 1, 2]),
            helper.make_node("Flatten", ["p"], ["f"]),
            helper.make_node("Gemm", ["f", "W"], ["Y"], transB=1)],
           [t("W", base.weights(b, "transpose_flatten_gemm", (7, 60)))])
    b.case("squeeze_unsqueeze_x_opset13", "Squeeze", 13, "Squeeze(X[2,3,1,4], axes [2]) -> Unsqueeze(axes [-1])",
           [2, 3, 1, 4],
           [helper.make_node("Squeeze", ["X", "a"], ["s"]), helper.make_node("Unsqueeze", ["s", "b"], ["Y"])],
           [t("a", [2], np.int64), t("b", [-1], np.int64)])
    b.case("squeeze_unsqueeze_x_opset11", "Squeeze", 11, "Squeeze-11(axes [2]) -> Unsqueeze-11(axes [1]) on X[2,3,1,4]",
           [2, 3, 1, 4],
           [helper.make_node("Squeeze", ["X"], ["s"], axes=[2]), helper.make_node("Unsqueeze", ["s"], ["Y"], axes=[1])])
    b.case("reshape_0_0_neg1", "Reshape", 13, "Reshape to [0,0,-1]: [2,3,4,4] -> [2,3,16]", [2, 3, 4, 4],
           [helper.make_node("Reshape", ["X", "s"], ["Y"])], [t("s", [0, 0, -1], np.int64)])
    b.case("pad_axes_opset18", "Pad", 18, "Pad-18 with an axes input [3, 2]: pads [1,0,2,1] on W and H, value -1",
           [2, 3, 4, 5],
           [helper.make_node("Pad", ["X", "p", "v", "ax"], ["Y"])],
           [t("p", [1, 0, 2, 1], np.int64), t("v", np.float32(-1)), t("ax", [3, 2], np.int64)])
    b.case("logsoftmax_opset11_coerced", "LogSoftmax", 11, "LogSoftmax-11 axis=1 on [2,3,4] (over all 12 per example)",
           [2, 3, 4], [helper.make_node("LogSoftmax", ["X"], ["Y"], axis=1)])
    b.case("gemm_softmax_opset13", "Softmax", 13, "Gemm -> Softmax (a classifier head; the Softmax is argmax-invariant)",
           [3, 6],
           [helper.make_node("Gemm", ["X", "W", "B"], ["g"], transB=1), helper.make_node("Softmax", ["g"], ["Y"])],
           [t("W", base.weights(b, "gemm_softmax_opset13", (4, 6))), t("B", base.weights(b, "gemm_softmax_opset13/b", (4,), 0.3))])


def bad_models() -> list[str]:
    """Models the importer must reject; returns README lines."""
    rng = np.random.default_rng(99)
    w = t("W", rng.standard_normal((2, 1, 3, 3)) * 0.3)
    opset = [helper.make_opsetid("", 13)]

    def model(name, nodes, inits, x_shape, y_shape):
        g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("X", F, x_shape)],
                              [helper.make_tensor_value_info("Y", F, y_shape)], initializer=inits)
        m = helper.make_model(g, opset_imports=opset, ir_version=base.ir_for(13), producer_name=PRODUCER)
        onnx.checker.check_model(m, full_check=True)
        onnx.save(m, str(OUT / f"{name}.onnx"))

    model("softmax-middle",
          [helper.make_node("Conv", ["X", "W"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
           helper.make_node("Softmax", ["c"], ["s"], name="middle_softmax", axis=1),
           helper.make_node("Relu", ["s"], ["Y"], name="relu")],
          [w], [1, 1, 6, 6], [1, 2, 6, 6])
    model("dropout-mask-read",
          [helper.make_node("Conv", ["X", "W"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
           helper.make_node("Dropout", ["c"], ["d", "mask"], name="drop"),
           helper.make_node("Cast", ["mask"], ["m"], name="mask_to_float", to=F),
           helper.make_node("Mul", ["d", "m"], ["Y"], name="mul")],
          [w], [1, 1, 6, 6], [1, 2, 6, 6])
    return ["- `softmax-middle.onnx` — Conv → Softmax (axis 1) → Relu: a Softmax that is not the last op "
            "(node `middle_softmax`). Valid ONNX.",
            "- `dropout-mask-read.onnx` — Conv → Dropout whose mask output is read (Cast → Mul): only a "
            "Dropout's first output is supported (node `drop`, output `mask`). Valid ONNX."]


def main() -> int:
    if OUT.exists():
        shutil.rmtree(OUT)
    OPS.mkdir(parents=True)
    base.OPS = OPS  # the builder writes under base.OPS
    b = base.Builder()
    for group in (pool_cases, conv_cases, elementwise_cases, folding_cases, unused_output_cases, layout_cases):
        group(b)
    (OPS / "manifest.json").write_text(json.dumps(b.manifest, indent=2) + "\n")
    readme = bad_models()
    (OUT / "README.md").write_text(
        "# Importer fixtures\n\nWritten by `Scripts/make_importer_fixtures.py`.\n\n"
        "`ops/` holds edge-case op models with onnxruntime outputs, in the format of `Tests/Fixtures/ops/` "
        "(see `ops/manifest.json`). The models here must be rejected by the importer:\n\n"
        + "\n".join(readme) + "\n")
    print(f"{len(b.manifest)} importer op cases in {OPS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
