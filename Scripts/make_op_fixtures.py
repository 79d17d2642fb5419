#!/usr/bin/env python3
"""Write the single-op ONNX conformance fixtures and the bad-model fixtures.

Run from the repository root (needs numpy, onnx, onnxruntime; torch for the two torch_* cases):

    python3 Scripts/make_op_fixtures.py

Writes, deterministically:

    Tests/Fixtures/ops/<case>/model.onnx    a small model built with onnx.helper
    Tests/Fixtures/ops/<case>/input.npy     float32 value of the graph input "X"
    Tests/Fixtures/ops/<case>/expected.npy  float32 onnxruntime output on input.npy
    Tests/Fixtures/ops/manifest.json        [{"name", "op", "opset", "description"}, ...]
    Tests/Fixtures/bad/*.onnx + README.md   models an importer must reject with a clear error

Rules for every case model: exactly one graph input without an initializer, named "X" (float32,
static shape with the batch dimension first; the two torch_* cases have a symbolic batch), exactly
one graph output "Y", every other operand an initializer or a Constant node. In the legacy_* cases
every initializer is also declared as a graph input (as old exporters did), X remaining the only
input without an initializer. Inputs are drawn from numpy's default_rng seeded with the CRC-32 of
the case name (so adding a case does not change the others). Expected outputs are computed by
onnxruntime (CPUExecutionProvider, one thread, graph optimisations disabled so every node runs as
written).
"""

from __future__ import annotations

import json
import shutil
import sys
import zlib
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
OPS = ROOT / "Tests" / "Fixtures" / "ops"
BAD = ROOT / "Tests" / "Fixtures" / "bad"

PRODUCER = "SecureValidation make_op_fixtures.py"
F = TensorProto.FLOAT
I64 = TensorProto.INT64

ort.set_default_logger_severity(3)  # errors only (old opsets and inputs-with-initializers warn)


def rng_for(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def ir_for(opset: int) -> int:
    try:
        return helper.find_min_ir_version_for([helper.make_opsetid("", opset)])
    except ValueError:  # opsets 2 and 4 were never the newest opset of an ONNX release
        return 3


def t(name: str, array, dtype=np.float32) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(array, dtype=dtype), name)


def session(model_bytes_or_path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.log_severity_level = 3
    return ort.InferenceSession(model_bytes_or_path, opts, providers=["CPUExecutionProvider"])


class Builder:
    """Collects the cases, writes each one and the manifest."""

    def __init__(self) -> None:
        self.manifest: list[dict] = []
        self.names: set[str] = set()

    # -- generic case -------------------------------------------------------

    def case(self, name: str, op: str, opset: int, description: str, x_shape: list[int],
             nodes: list[onnx.NodeProto], inits: list[onnx.TensorProto] | None = None, *,
             x_scale: float = 1.0, legacy_inputs: bool = False, ir_version: int | None = None,
             check: bool = True) -> None:
        assert name not in self.names, name
        inits = inits or []
        rng = rng_for(name)
        x = (rng.standard_normal(x_shape) * x_scale).astype(np.float32)

        inputs = [helper.make_tensor_value_info("X", F, x_shape)]
        if legacy_inputs:
            inputs += [helper.make_tensor_value_info(i.name, i.data_type, list(i.dims)) for i in inits]
        out_unknown = helper.make_tensor_value_info("Y", F, None)
        ir = ir_version if ir_version is not None else ir_for(opset)
        if ir_version is None and inits and not legacy_inputs:
            ir = max(ir, 4)  # IR < 4 requires every initializer to be a graph input too

        def make(out_vi):
            g = helper.make_graph(nodes, name, inputs, [out_vi], initializer=inits)
            return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                                     ir_version=ir, producer_name=PRODUCER)

        # First run to learn the output shape, then declare it statically.
        (y0,) = session(make(out_unknown).SerializeToString()).run(["Y"], {"X": x})
        model = make(helper.make_tensor_value_info("Y", F, list(y0.shape)))
        if check:
            onnx.checker.check_model(model, full_check=True)
        self._write(name, op, opset, description, model, x)

    def _write(self, name: str, op: str, opset: int, description: str,
               model: onnx.ModelProto, x: np.ndarray) -> None:
        self.names.add(name)
        d = OPS / name
        d.mkdir(parents=True, exist_ok=True)
        path = d / "model.onnx"
        onnx.save(model, str(path))
        (y,) = session(str(path)).run(["Y"], {"X": x})
        y = np.ascontiguousarray(y, dtype=np.float32)
        assert np.all(np.isfinite(y)), name
        np.save(d / "input.npy", np.ascontiguousarray(x, dtype=np.float32))
        np.save(d / "expected.npy", y)
        self._validate(name, model)
        self.manifest.append({"name": name, "op": op, "opset": opset, "description": description})
        print(f"  {name:34s} {op:20s} opset {opset:2d}  X{list(x.shape)} -> Y{list(y.shape)}")

    @staticmethod
    def _validate(name: str, model: onnx.ModelProto) -> None:
        inits = {i.name for i in model.graph.initializer}
        free = [i.name for i in model.graph.input if i.name not in inits]
        assert free == ["X"], (name, free)
        assert len(model.graph.output) == 1, name


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

X4 = [2, 3, 8, 8]  # default NCHW input


def weights(b: Builder, name: str, shape, scale: float | None = None) -> np.ndarray:
    rng = rng_for(name + "/w")
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    s = scale if scale is not None else 1.0 / np.sqrt(fan_in)
    return (rng.standard_normal(shape) * s).astype(np.float32)


def conv_cases(b: Builder) -> None:
    def conv(name, desc, x_shape=X4, w_shape=(4, 3, 3, 3), bias=True, **attrs):
        w = weights(b, name, w_shape)
        inits = [t("W", w)]
        ins = ["X", "W"]
        if bias:
            inits.append(t("B", weights(b, name + "/b", (w_shape[0],), 0.5)))
            ins.append("B")
        kshape = list(w_shape[2:])
        node = helper.make_node("Conv", ins, ["Y"], kernel_shape=kshape, **attrs)
        b.case(name, "Conv", 13, desc, list(x_shape), [node], inits)

    conv("conv_3x3_s1_p1", "Conv 3x3, stride 1, pads 1, with bias", pads=[1, 1, 1, 1])
    conv("conv_3x3_s2_nopad", "Conv 3x3, stride 2, no padding", strides=[2, 2])
    conv("conv_3x3_dilation2", "Conv 3x3, dilations 2, pads 1", dilations=[2, 2], pads=[1, 1, 1, 1])
    conv("conv_3x3_same_upper", "Conv 3x3, stride 1, auto_pad SAME_UPPER (symmetric padding)",
         auto_pad="SAME_UPPER")
    conv("conv_2x2_same_upper", "Conv 2x2, stride 1, auto_pad SAME_UPPER (odd total padding: the extra pixel at the end)",
         w_shape=(4, 3, 2, 2), auto_pad="SAME_UPPER")
    conv("conv_3x3_s2_same_upper", "Conv 3x3, stride 2 on 8x8, auto_pad SAME_UPPER (pad 0 begin, 1 end)",
         strides=[2, 2], auto_pad="SAME_UPPER")
    conv("conv_3x3_s2_same_lower", "Conv 3x3, stride 2 on 8x8, auto_pad SAME_LOWER (pad 1 begin, 0 end)",
         strides=[2, 2], auto_pad="SAME_LOWER")
    conv("conv_3x3_valid", "Conv 3x3, auto_pad VALID", auto_pad="VALID")
    conv("conv_3x3_pads_0110", "Conv 3x3, asymmetric pads [0,1,1,0] (H begin 0, W begin 1, H end 1, W end 0)",
         pads=[0, 1, 1, 0])
    conv("conv_1x1", "Conv 1x1 (pointwise), with bias", w_shape=(5, 3, 1, 1))
    conv("conv_7x7_s2_p3", "Conv 7x7, stride 2, pads 3 (ResNet/DenseNet stem) on 16x16",
         x_shape=[2, 3, 16, 16], w_shape=(4, 3, 7, 7), strides=[2, 2], pads=[3, 3, 3, 3])
    conv("conv_3x3_nobias", "Conv 3x3, pads 1, no bias input", bias=False, pads=[1, 1, 1, 1])
    conv("conv_1x3", "Conv 1x3 kernel, pads [0,1,0,1]", w_shape=(4, 3, 1, 3), pads=[0, 1, 0, 1])
    conv("conv_nonsquare_input", "Conv 3x3, stride 2, pads 1 on a non-square 7x5 input",
         x_shape=[2, 3, 7, 5], strides=[2, 2], pads=[1, 1, 1, 1])


def gemm_matmul_cases(b: Builder) -> None:
    xs = [2, 6]
    n = "gemm_transB_bias"
    b.case(n, "Gemm", 13, "Gemm X[2,6] x W[4,6]^T (transB=1) + C[4]", xs,
           [helper.make_node("Gemm", ["X", "W", "C"], ["Y"], transB=1)],
           [t("W", weights(b, n, (4, 6))), t("C", weights(b, n + "/c", (4,), 0.5))])
    n = "gemm_no_trans"
    b.case(n, "Gemm", 13, "Gemm X[2,6] x W[6,4] (transA=0, transB=0) + C[4]", xs,
           [helper.make_node("Gemm", ["X", "W", "C"], ["Y"], transA=0, transB=0)],
           [t("W", weights(b, n, (6, 4), 0.4)), t("C", weights(b, n + "/c", (4,), 0.5))])
    n = "gemm_alpha_beta"
    b.case(n, "Gemm", 13, "Gemm alpha=0.5 beta=2, transB=1, C of shape [1,4]", xs,
           [helper.make_node("Gemm", ["X", "W", "C"], ["Y"], alpha=0.5, beta=2.0, transB=1)],
           [t("W", weights(b, n, (4, 6))), t("C", weights(b, n + "/c", (1, 4), 0.5))])
    n = "gemm_no_c"
    b.case(n, "Gemm", 13, "Gemm transB=1 without the optional C input", xs,
           [helper.make_node("Gemm", ["X", "W"], ["Y"], transB=1)],
           [t("W", weights(b, n, (4, 6)))])
    n = "matmul_2d"
    b.case(n, "MatMul", 13, "MatMul X[2,5] x W[5,3]", [2, 5],
           [helper.make_node("MatMul", ["X", "W"], ["Y"])], [t("W", weights(b, n, (5, 3), 0.45))])
    n = "matmul_3d"
    b.case(n, "MatMul", 13, "MatMul X[2,3,4] x W[4,5] (W broadcast over the leading dims)", [2, 3, 4],
           [helper.make_node("MatMul", ["X", "W"], ["Y"])], [t("W", weights(b, n, (4, 5), 0.5))])


def elementwise_cases(b: Builder) -> None:
    n = "add_channel_const"
    b.case(n, "Add", 13, "Add X[2,3,8,8] + const[3,1,1] (per-channel broadcast)", X4,
           [helper.make_node("Add", ["X", "C"], ["Y"])], [t("C", weights(b, n, (3, 1, 1), 1.0))])
    b.case("add_scalar_const", "Add", 13, "Add X + scalar const (rank-0 initializer 0.75)", X4,
           [helper.make_node("Add", ["X", "C"], ["Y"])], [t("C", 0.75)])
    b.case("add_relu_x", "Add", 13, "Add(Relu(X), X): two activations of the same shape", X4,
           [helper.make_node("Relu", ["X"], ["r"]), helper.make_node("Add", ["r", "X"], ["Y"])])
    b.case("add_x_gap", "Add", 13,
           "Add(X, GlobalAveragePool(X)): broadcast of an activation [2,3,1,1] over [2,3,8,8]", X4,
           [helper.make_node("GlobalAveragePool", ["X"], ["g"]),
            helper.make_node("Add", ["X", "g"], ["Y"])])
    for opset in (8, 13):
        n = f"sum3_opset{opset}"
        b.case(n, "Sum", opset, f"Sum(X, Relu(X), const[3,1,1]) at opset {opset} (multidirectional broadcast)",
               X4, [helper.make_node("Relu", ["X"], ["r"]), helper.make_node("Sum", ["X", "r", "C"], ["Y"])],
               [t("C", weights(b, n, (3, 1, 1), 1.0))])
    n = "sub_x_const"
    b.case(n, "Sub", 13, "Sub X - const[3,1,1]", X4,
           [helper.make_node("Sub", ["X", "C"], ["Y"])], [t("C", weights(b, n, (3, 1, 1), 1.0))])
    n = "sub_const_x"
    b.case(n, "Sub", 13, "Sub const[3,1,1] - X (constant on the left)", X4,
           [helper.make_node("Sub", ["C", "X"], ["Y"])], [t("C", weights(b, n, (3, 1, 1), 1.0))])
    n = "mul_channel_const"
    b.case(n, "Mul", 13, "Mul X * const[3,1,1] (per-channel scale)", X4,
           [helper.make_node("Mul", ["X", "C"], ["Y"])], [t("C", weights(b, n, (3, 1, 1), 1.0))])
    b.case("mul_scalar_const", "Mul", 13, "Mul X * scalar const (rank-0 initializer -1.5)", X4,
           [helper.make_node("Mul", ["X", "C"], ["Y"])], [t("C", -1.5)])
    b.case("div_const", "Div", 13, "Div X / const[3,1,1] (constants 0.5, -2, 4)", X4,
           [helper.make_node("Div", ["X", "C"], ["Y"])], [t("C", np.array([0.5, -2.0, 4.0]).reshape(3, 1, 1))])

    b.case("relu", "Relu", 13, "Relu", X4, [helper.make_node("Relu", ["X"], ["Y"])])
    b.case("clip_0_6_opset13", "Clip", 13, "Clip to [0, 6] with min/max as scalar initializer inputs (ReLU6); X scaled by 4",
           X4, [helper.make_node("Clip", ["X", "lo", "hi"], ["Y"])], [t("lo", 0.0), t("hi", 6.0)], x_scale=4.0)
    b.case("clip_0_6_opset6", "Clip", 6, "Clip to [0, 6] with min/max attributes (Clip-6); X scaled by 4",
           X4, [helper.make_node("Clip", ["X"], ["Y"], min=0.0, max=6.0)], x_scale=4.0)


def pool_cases(b: Builder) -> None:
    def pool(name, op, desc, x_shape=X4, **attrs):
        b.case(name, op, 13, desc, x_shape, [helper.make_node(op, ["X"], ["Y"], **attrs)])

    pool("maxpool_2x2_s2", "MaxPool", "MaxPool 2x2, stride 2", kernel_shape=[2, 2], strides=[2, 2])
    pool("maxpool_3x3_s2_p1", "MaxPool", "MaxPool 3x3, stride 2, pads 1", kernel_shape=[3, 3], strides=[2, 2],
         pads=[1, 1, 1, 1])
    pool("maxpool_ceil", "MaxPool", "MaxPool 3x3 stride 2 on 8x8 with ceil_mode=1 (4x4 out; floor would give 3x3)",
         kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)
    pool("maxpool_dilation2", "MaxPool", "MaxPool 2x2, stride 1, dilations 2", kernel_shape=[2, 2],
         dilations=[2, 2])
    pool("maxpool_same_upper", "MaxPool", "MaxPool 3x3 stride 2 on 8x8, auto_pad SAME_UPPER (pad 1 at the end)",
         kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")
    pool("avgpool_2x2_s2", "AveragePool", "AveragePool 2x2, stride 2", kernel_shape=[2, 2], strides=[2, 2])
    pool("avgpool_3x3_s1_p1_exclude_pad", "AveragePool",
         "AveragePool 3x3, stride 1, pads 1, count_include_pad=0 (divide by the in-bounds count)",
         kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=0)
    pool("avgpool_3x3_s1_p1_include_pad", "AveragePool",
         "AveragePool 3x3, stride 1, pads 1, count_include_pad=1 (always divide by 9)",
         kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1)
    pool("avgpool_ceil", "AveragePool",
         "AveragePool 3x3 stride 2 on 8x8 with ceil_mode=1 (4x4 out; the last window is clipped to the input and averaged over its in-bounds elements)",
         kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)
    pool("avgpool_same_upper", "AveragePool",
         "AveragePool 3x3 stride 2 on 8x8, auto_pad SAME_UPPER (pad 1 at the end, not counted)",
         kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")
    pool("global_avgpool", "GlobalAveragePool", "GlobalAveragePool [2,3,8,8] -> [2,3,1,1]")

    for opset in (9, 15):
        n = f"batchnorm_opset{opset}"
        rng = rng_for(n + "/w")
        scale = rng.standard_normal(3) * 0.5 + 1.0
        bias = rng.standard_normal(3) * 0.5
        mean = rng.standard_normal(3) * 0.5
        var = rng.uniform(0.25, 2.0, 3)
        b.case(n, "BatchNormalization", opset,
               f"BatchNormalization (inference) at opset {opset}, epsilon 1e-3, random positive var", X4,
               [helper.make_node("BatchNormalization", ["X", "s", "b", "m", "v"], ["Y"], epsilon=1e-3)],
               [t("s", scale), t("b", bias), t("m", mean), t("v", var)])


def shape_cases(b: Builder) -> None:
    b.case("concat_axis1", "Concat", 13, "Concat(X, Relu(X)) along channels (axis=1)", X4,
           [helper.make_node("Relu", ["X"], ["r"]), helper.make_node("Concat", ["X", "r"], ["Y"], axis=1)])
    b.case("concat_axis_neg1", "Concat", 13, "Concat(X, Relu(X)) along the last axis (axis=-1)", [2, 3, 4, 5],
           [helper.make_node("Relu", ["X"], ["r"]), helper.make_node("Concat", ["X", "r"], ["Y"], axis=-1)])
    x = [2, 3, 4, 4]
    b.case("flatten_axis1", "Flatten", 13, "Flatten axis=1: [2,3,4,4] -> [2,48]", x,
           [helper.make_node("Flatten", ["X"], ["Y"], axis=1)])
    b.case("flatten_axis2", "Flatten", 13, "Flatten axis=2: [2,3,4,4] -> [6,16]", x,
           [helper.make_node("Flatten", ["X"], ["Y"], axis=2)])
    b.case("reshape_2_neg1", "Reshape", 13, "Reshape to [2,-1] (shape as an int64 initializer)", x,
           [helper.make_node("Reshape", ["X", "shape"], ["Y"])], [t("shape", [2, -1], np.int64)])
    b.case("reshape_0_neg1", "Reshape", 13, "Reshape to [0,-1] (0 copies the input dimension)", x,
           [helper.make_node("Reshape", ["X", "shape"], ["Y"])], [t("shape", [0, -1], np.int64)])
    b.case("reshape_opset1", "Reshape", 1, "Reshape-1 with the shape as an attribute [2,-1] (opset 1, ir_version 3)", x,
           [helper.make_node("Reshape", ["X"], ["Y"], shape=[2, -1])])
    b.case("transpose_0231", "Transpose", 13, "Transpose perm [0,2,3,1] (NCHW -> NHWC)", [2, 3, 4, 5],
           [helper.make_node("Transpose", ["X"], ["Y"], perm=[0, 2, 3, 1])])
    pads = [0, 0, 1, 2, 0, 0, 2, 1]
    x = [2, 3, 4, 4]
    b.case("pad_constant_0", "Pad", 13,
           "Pad constant mode, pads [0,0,1,2,0,0,2,1] as an int64 initializer input, constant_value omitted (0)", x,
           [helper.make_node("Pad", ["X", "pads"], ["Y"], mode="constant")], [t("pads", pads, np.int64)])
    b.case("pad_constant_0_5", "Pad", 13,
           "Pad constant mode, pads [0,0,1,2,0,0,2,1] and constant_value 0.5 as initializer inputs", x,
           [helper.make_node("Pad", ["X", "pads", "value"], ["Y"], mode="constant")],
           [t("pads", pads, np.int64), t("value", 0.5)])
    b.case("pad_opset2", "Pad", 2,
           "Pad-2 with pads [0,0,1,2,0,0,2,1] and value 0.5 as attributes (opset 2, ir_version 3)", x,
           [helper.make_node("Pad", ["X"], ["Y"], mode="constant", pads=pads, value=0.5)])

    b.case("softmax_opset13", "Softmax", 13, "Softmax axis=-1 on [2,3,5] (opset 13: along that one axis)",
           [2, 3, 5], [helper.make_node("Softmax", ["X"], ["Y"], axis=-1)])
    b.case("softmax_opset11_axis1_rank4", "Softmax", 11,
           "Softmax-11 axis=1 on [2,3,2,2]: old semantics, coerced to 2-D [2,12], normalised over all 12",
           [2, 3, 2, 2], [helper.make_node("Softmax", ["X"], ["Y"], axis=1)])
    b.case("logsoftmax_opset13", "LogSoftmax", 13, "LogSoftmax axis=-1 on [2,3,5]", [2, 3, 5],
           [helper.make_node("LogSoftmax", ["X"], ["Y"], axis=-1)])

    b.case("identity", "Identity", 13, "Identity", X4, [helper.make_node("Identity", ["X"], ["Y"])])
    b.case("dropout_opset12", "Dropout", 12, "Dropout-12 in inference (ratio 0.5 as an initializer input): identity",
           X4, [helper.make_node("Dropout", ["X", "ratio"], ["Y"])], [t("ratio", 0.5)])
    n = "constant_add"
    b.case(n, "Constant", 13, "A Constant node (value [3,1,1]) feeding Add(X, c)", X4,
           [helper.make_node("Constant", [], ["c"], value=t("c_value", weights(b, n, (3, 1, 1), 1.0))),
            helper.make_node("Add", ["X", "c"], ["Y"])])


def folding_cases(b: Builder) -> None:
    x = [2, 3, 4, 4]
    for opset in (13, 11):
        if opset >= 13:
            unsq = helper.make_node("Unsqueeze", ["n", "axes"], ["n1"])
            extra = [t("axes", [0], np.int64)]
            how = "Unsqueeze axes as an input"
        else:
            unsq = helper.make_node("Unsqueeze", ["n"], ["n1"], axes=[0])
            extra = []
            how = "Unsqueeze axes as an attribute"
        b.case(f"fold_shape_reshape_opset{opset}", "Reshape", opset,
               f"Shape(X) -> Gather(0) -> Unsqueeze -> Concat(., [-1]) -> Reshape(X, .) = [2,48]; {how}",
               x,
               [helper.make_node("Shape", ["X"], ["s"]),
                helper.make_node("Gather", ["s", "idx"], ["n"], axis=0),
                unsq,
                helper.make_node("Concat", ["n1", "minus1"], ["shape"], axis=0),
                helper.make_node("Reshape", ["X", "shape"], ["Y"])],
               [t("idx", 0, np.int64), t("minus1", [-1], np.int64)] + extra)
    b.case("fold_constantofshape_add", "ConstantOfShape", 13,
           "ConstantOfShape(shape [3,1,1], value 0.25) feeding Add(X, .)", x,
           [helper.make_node("ConstantOfShape", ["cshape"], ["c"], value=t("v", [0.25])),
            helper.make_node("Add", ["X", "c"], ["Y"])],
           [t("cshape", [3, 1, 1], np.int64)])
    b.case("fold_cast_mul", "Cast", 13, "Cast(int64 const [3,1,1] = [1,-2,3] -> float) feeding Mul(X, .)", x,
           [helper.make_node("Cast", ["ci"], ["c"], to=F),
            helper.make_node("Mul", ["X", "c"], ["Y"])],
           [t("ci", np.array([1, -2, 3]).reshape(3, 1, 1), np.int64)])
    n = "fold_squeeze_unsqueeze_add"
    b.case(n, "Unsqueeze", 13,
           "Unsqueeze(const[3], axes [1,2]) and Squeeze(const[1,3,1,1], axes [0]) both feeding Adds to X",
           x,
           [helper.make_node("Unsqueeze", ["a", "uaxes"], ["a3"]),
            helper.make_node("Squeeze", ["c", "saxes"], ["c3"]),
            helper.make_node("Add", ["X", "a3"], ["t"]),
            helper.make_node("Add", ["t", "c3"], ["Y"])],
           [t("a", weights(b, n + "/a", (3,), 1.0)), t("uaxes", [1, 2], np.int64),
            t("c", weights(b, n + "/c", (1, 3, 1, 1), 1.0)), t("saxes", [0], np.int64)])
    n = "fold_const_arith_add"
    b.case(n, "Mul", 13, "Add(Mul(c1, c2), c3) on constants [3,1,1] feeding Add(X, .)", x,
           [helper.make_node("Mul", ["c1", "c2"], ["m"]),
            helper.make_node("Add", ["m", "c3"], ["k"]),
            helper.make_node("Add", ["X", "k"], ["Y"])],
           [t("c1", weights(b, n + "/1", (3, 1, 1), 1.0)), t("c2", weights(b, n + "/2", (3, 1, 1), 1.0)),
            t("c3", weights(b, n + "/3", (3, 1, 1), 1.0))])


def legacy_cases(b: Builder) -> None:
    """Old model-zoo style CNNs: every weight is also a graph input with an initializer."""
    for opset, ir in ((8, 3), (9, 4)):
        n = f"legacy_cnn_opset{opset}"
        rng = rng_for(n + "/w")

        def w(shape, scale=None):
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            s = scale if scale is not None else 1.0 / np.sqrt(fan_in)
            return (rng.standard_normal(shape) * s).astype(np.float32)

        inits = [
            t("conv1_w", w((8, 3, 3, 3))), t("conv1_b", w((8,), 0.3)),
            t("bn1_scale", w((8,), 0.3) + 1.0), t("bn1_bias", w((8,), 0.3)),
            t("bn1_mean", w((8,), 0.3)), t("bn1_var", rng.uniform(0.5, 2.0, 8)),
            t("conv2_w", w((8, 8, 3, 3))), t("conv2_b", w((8,), 0.3)),
            t("scale_w", w((8,), 0.3) + 1.0), t("scale_b", w((8,), 0.3)),
            t("fc_w", w((10, 128))), t("fc_b", w((10,), 0.3)),
        ]
        bn_attrs = dict(epsilon=1e-5, momentum=0.9)
        if opset < 9:
            bn_attrs["spatial"] = 1  # BatchNormalization-7 has `spatial`; removed in -9
        nodes = [
            helper.make_node("Conv", ["X", "conv1_w", "conv1_b"], ["conv1"], kernel_shape=[3, 3],
                             pads=[1, 1, 1, 1], strides=[1, 1]),
            helper.make_node("BatchNormalization", ["conv1", "bn1_scale", "bn1_bias", "bn1_mean", "bn1_var"],
                             ["bn1"], **bn_attrs),
            helper.make_node("Relu", ["bn1"], ["relu1"]),
            helper.make_node("MaxPool", ["relu1"], ["pool1"], kernel_shape=[2, 2], strides=[2, 2]),
            helper.make_node("Conv", ["pool1", "conv2_w", "conv2_b"], ["conv2"], kernel_shape=[3, 3],
                             pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["conv2"], ["relu2"]),
            helper.make_node("Sum", ["pool1", "relu2"], ["res"]),
            # caffe2-style per-channel affine: Unsqueeze(const) then Mul / Add
            helper.make_node("Unsqueeze", ["scale_w"], ["scale_w3"], axes=[1, 2]),
            helper.make_node("Mul", ["res", "scale_w3"], ["scaled"]),
            helper.make_node("Unsqueeze", ["scale_b"], ["scale_b3"], axes=[1, 2]),
            helper.make_node("Add", ["scaled", "scale_b3"], ["affine"]),
            helper.make_node("Dropout", ["affine"], ["drop"], ratio=0.5),
        ]
        if opset == 8:
            inits.append(t("flat_shape", [-1, 128], np.int64))
            nodes.append(helper.make_node("Reshape", ["drop", "flat_shape"], ["flat"]))
            flat_desc = "Reshape(shape initializer [-1,128])"
        else:
            nodes.append(helper.make_node("Flatten", ["drop"], ["flat"], axis=1))
            flat_desc = "Flatten"
        nodes += [
            helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["fc"], transB=1, alpha=1.0, beta=1.0),
            helper.make_node("Softmax", ["fc"], ["Y"], axis=1),
        ]
        bn_desc = "BatchNormalization-7 (spatial=1)" if opset < 9 else "BatchNormalization-9"
        b.case(n, "Conv", opset,
               f"Model-zoo style CNN at opset {opset}, ir_version {ir}, every weight also a graph input with an "
               f"initializer: Conv, {bn_desc}, Relu, MaxPool, Conv, Relu, Sum (residual), Unsqueeze/Mul/Add "
               f"per-channel affine, Dropout, {flat_desc}, Gemm, Softmax",
               [2, 3, 8, 8], nodes, inits, legacy_inputs=True, ir_version=ir)


def torch_cases(b: Builder) -> None:
    try:
        import torch
        import torch.nn as nn
    except ImportError:
        print("  (torch not installed: skipping torch_cnn_opset11 / torch_cnn_opset17)", file=sys.stderr)
        return

    torch.set_num_threads(1)

    class TinyCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, kernel_size=3, padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.relu = nn.ReLU()
            self.pool = nn.MaxPool2d(2)
            self.fc = nn.Linear(4 * 4 * 4, 5)

        def forward(self, x):
            x = self.pool(self.relu(self.bn(self.conv(x))))
            x = x.view(x.size(0), -1)
            return self.fc(x)

    for opset in (11, 17):
        name = f"torch_cnn_opset{opset}"
        torch.manual_seed(0)
        model = TinyCNN()
        with torch.no_grad():  # non-trivial BatchNorm statistics
            model.bn.running_mean.copy_(torch.randn(4) * 0.3)
            model.bn.running_var.copy_(torch.rand(4) + 0.5)
            model.bn.weight.copy_(torch.randn(4) * 0.3 + 1.0)
            model.bn.bias.copy_(torch.randn(4) * 0.3)
        model.eval()
        x = rng_for(name).standard_normal([2, 3, 8, 8]).astype(np.float32)
        d = OPS / name
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / "model.onnx"
        torch.onnx.export(model, torch.from_numpy(x), str(tmp), dynamo=False, opset_version=opset,
                          input_names=["X"], output_names=["Y"],
                          dynamic_axes={"X": {0: "batch"}, "Y": {0: "batch"}})
        m = onnx.load(str(tmp))
        onnx.checker.check_model(m, full_check=True)
        with torch.no_grad():
            ref = model(torch.from_numpy(x)).numpy()
        ops = []
        for node in m.graph.node:
            if node.op_type not in ops:
                ops.append(node.op_type)
        b._write(name, "Reshape", opset,
                 f"torch.onnx.export(dynamo=False, opset {opset}, dynamic batch) of Conv-BN-ReLU-MaxPool-"
                 f"view(x.size(0), -1)-Linear (BN folded into Conv by the exporter); ops: {', '.join(ops)}",
                 m, x)
        y = np.load(d / "expected.npy")
        assert np.abs(y - ref).max() < 1e-4, name


# ---------------------------------------------------------------------------
# Bad models
# ---------------------------------------------------------------------------


def bad_models() -> None:
    if BAD.exists():
        shutil.rmtree(BAD)
    BAD.mkdir(parents=True)
    rng = np.random.default_rng(1234)
    w = t("W", rng.standard_normal((2, 1, 3, 3)) * 0.3)
    bias = t("B", rng.standard_normal(2) * 0.3)
    opset = [helper.make_opsetid("", 13)]

    def model(name, nodes, inits, inputs=None, outputs=None, check=True):
        inputs = inputs or [helper.make_tensor_value_info("X", F, [1, 1, 6, 6])]
        outputs = outputs or [helper.make_tensor_value_info("Y", F, [1, 2, 6, 6])]
        g = helper.make_graph(nodes, name, inputs, outputs, initializer=inits)
        m = helper.make_model(g, opset_imports=opset, ir_version=ir_for(13), producer_name=PRODUCER)
        if check:
            onnx.checker.check_model(m, full_check=True)
        onnx.save(m, str(BAD / f"{name}.onnx"))

    conv = helper.make_node("Conv", ["X", "W", "B"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    model("unsupported-ops",
          [conv,
           helper.make_node("Sigmoid", ["c"], ["s"]),
           helper.make_node("Tanh", ["c"], ["th"]),
           helper.make_node("Add", ["s", "th"], ["a"]),
           helper.make_node("Relu", ["a"], ["Y"])],
          [w, bias])
    model("missing-initializer",
          [helper.make_node("Conv", ["X", "W_missing", "B"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
           helper.make_node("Relu", ["c"], ["Y"])],
          [bias], check=False)
    model("unknown-attribute",
          [helper.make_node("Conv", ["X", "W", "B"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], foo=1),
           helper.make_node("Relu", ["c"], ["Y"])],
          [w, bias], check=False)
    wg = t("W", rng.standard_normal((4, 1, 3, 3)) * 0.3)
    bg = t("B", rng.standard_normal(4) * 0.3)
    model("grouped-conv",
          [helper.make_node("Conv", ["X", "W", "B"], ["Y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=2)],
          [wg, bg], inputs=[helper.make_tensor_value_info("X", F, [1, 2, 6, 6])],
          outputs=[helper.make_tensor_value_info("Y", F, [1, 4, 6, 6])])
    model("two-inputs",
          [helper.make_node("Add", ["A", "B"], ["Y"])], [],
          inputs=[helper.make_tensor_value_info("A", F, [1, 4]), helper.make_tensor_value_info("B", F, [1, 4])],
          outputs=[helper.make_tensor_value_info("Y", F, [1, 4])])
    model("dynamic-spatial",
          [conv, helper.make_node("Relu", ["c"], ["Y"])], [w, bias],
          inputs=[helper.make_tensor_value_info("X", F, ["N", 1, "H", "W"])],
          outputs=[helper.make_tensor_value_info("Y", F, ["N", 2, "H", "W"])])

    (BAD / "README.md").write_text("""# Bad model fixtures

Models an importer must reject with a clear error (node, op, opset), never a crash. Written by
`Scripts/make_op_fixtures.py`; all at opset 13. No expected outputs.

- `unsupported-ops.onnx` — Conv → {Sigmoid, Tanh} → Add → Relu: two different unsupported ops
  (Sigmoid and Tanh) among supported ones, so the error can list both at once. Valid ONNX.
- `missing-initializer.onnx` — the Conv's weight input `W_missing` is defined by nothing (no
  initializer, graph input or node output). Fails `onnx.checker`.
- `unknown-attribute.onnx` — a Conv with an extra attribute `foo` = 1 that Conv does not define.
  Fails `onnx.checker`.
- `grouped-conv.onnx` — a Conv with `group` = 2 (grouped convolution, not supported). Valid ONNX.
- `two-inputs.onnx` — Add of two graph inputs `A` and `B` [1,4]: a model must have exactly one
  input without an initializer. Valid ONNX.
- `dynamic-spatial.onnx` — input `X` of shape [N,1,H,W] with symbolic H and W (only the batch
  dimension may be symbolic); Conv 3×3 pad 1 → Relu. Valid ONNX.
""")
    print(f"  bad models: {', '.join(sorted(p.name for p in BAD.glob('*.onnx')))}")


# ---------------------------------------------------------------------------


def main() -> int:
    if OPS.exists():
        shutil.rmtree(OPS)
    OPS.mkdir(parents=True)
    b = Builder()
    for group in (conv_cases, gemm_matmul_cases, elementwise_cases, pool_cases, shape_cases,
                  folding_cases, legacy_cases, torch_cases):
        group(b)
    (OPS / "manifest.json").write_text(json.dumps(b.manifest, indent=2) + "\n")
    bad_models()
    size = sum(p.stat().st_size for p in OPS.rglob("*") if p.is_file())
    print(f"{len(b.manifest)} op cases, {size / 1024:.0f} KiB in {OPS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
