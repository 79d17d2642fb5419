#!/usr/bin/env python3
"""Write the tiny ONNX fixtures read by Tests/ONNXTests/ONNXParserTests.swift.

Usage: python3 Scripts/make_parser_fixtures.py   (needs `pip install onnx`, tested with onnx 1.23.2)

Output: Tests/Fixtures/parser/*.onnx, a few KB in total. The models are not meant to run: they
exercise the protobuf parser (every attribute type, every tensor storage, every error case), so
they are built with onnx.helper and never passed to onnx.checker. The output is deterministic.
"""
import os

import numpy as np
from onnx import AttributeProto, TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "parser")


def save(model, name):
    data = model.SerializeToString(deterministic=True)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    print(f"{name}: {len(data)} bytes")


def raw(name, data_type, dims, payload):
    """A tensor whose values are the given little-endian bytes in raw_data."""
    t = TensorProto(name=name, data_type=data_type, dims=dims)
    t.raw_data = payload
    return t


def full_model():
    """parser_full.onnx: every attribute type, every tensor storage, every kind of dimension."""
    inits = [
        # float: raw_data and float_data.
        numpy_helper.from_array(np.array([0.5, -1.25], dtype="<f4").reshape(2, 1, 1, 1), "W"),
        helper.make_tensor("B", TensorProto.FLOAT, [2], [0.25, -2.0]),
        # int64: int64_data and raw_data (the extremes).
        helper.make_tensor("shape", TensorProto.INT64, [3], [1, -2, 9007199254740993]),
        numpy_helper.from_array(np.array([-(2**63), 2**63 - 1], dtype="<i8"), "i64_raw"),
        # float16: raw_data (normal, max, smallest subnormal, inf, -0) and int32_data (bit patterns).
        numpy_helper.from_array(np.array([1.0, -2.0, 65504.0, 2.0**-24, np.inf, -0.0], dtype="<f2"), "h16_raw"),
        helper.make_tensor("h16_i32", TensorProto.FLOAT16, [2], np.array([1.5, -0.25], dtype=np.float16)),
        # bfloat16: int32_data (bit patterns 0x3F80 = 1.0, 0xC060 = -3.5) and raw_data.
        TensorProto(name="bf16_i32", data_type=TensorProto.BFLOAT16, dims=[2], int32_data=[0x3F80, 0xC060]),
        raw("bf16_raw", TensorProto.BFLOAT16, [2], bytes([0x80, 0x3F, 0x60, 0xC0])),
        # double: double_data and raw_data.
        helper.make_tensor("d64", TensorProto.DOUBLE, [2], [0.1, 1e300]),
        numpy_helper.from_array(np.array([2.5, -0.125], dtype="<f8"), "d64_raw"),
        # small integer types in int32_data, and in raw_data.
        helper.make_tensor("i8", TensorProto.INT8, [2], [-128, 127]),
        numpy_helper.from_array(np.array([0, 255], dtype="u1"), "u8_raw"),
        helper.make_tensor("flags", TensorProto.BOOL, [3], [True, False, True]),
        numpy_helper.from_array(np.array([True, False], dtype="?"), "flags_raw"),
        numpy_helper.from_array(np.array([-32768, 32767], dtype="<i2"), "i16_raw"),
        helper.make_tensor("u16", TensorProto.UINT16, [1], [65535]),
        helper.make_tensor("i32", TensorProto.INT32, [2], [-2147483648, 7]),
        # uint32 / uint64 in uint64_data, and uint64 in raw_data.
        helper.make_tensor("u32", TensorProto.UINT32, [1], [4294967295]),
        helper.make_tensor("u64", TensorProto.UINT64, [2], [0, 2**63 - 1]),
        numpy_helper.from_array(np.array([42], dtype="<u8"), "u64_raw"),
        # a scalar (no dims, one value) and an empty tensor (a zero dim, no values).
        numpy_helper.from_array(np.array(3.0, dtype="<f4"), "scalar"),
        TensorProto(name="empty", data_type=TensorProto.FLOAT, dims=[2, 0]),
    ]

    conv = helper.make_node(
        "Conv", ["X", "W", "B"], ["Y"], name="conv0",
        kernel_shape=[1, 1], group=1, auto_pad="NOTSET", alpha=0.5,
        scales=[1.5, -2.0], labels=["a", "b"],
        value=helper.make_tensor("value", TensorProto.FLOAT, [2], [7.0, 8.0]),
        body=helper.make_graph([], "body", [], []),
        many=[helper.make_tensor("t0", TensorProto.FLOAT, [1], [1.0])],
    )
    # Very old exporters leave AttributeProto.type unset: the parser infers it from the field set.
    legacy_int = helper.make_attribute("legacy_int", 7)
    legacy_int.ClearField("type")
    legacy_floats = helper.make_attribute("legacy_floats", [0.5, 0.25])
    legacy_floats.ClearField("type")
    conv.attribute.extend([legacy_int, legacy_floats])

    custom = helper.make_node("MyOp", ["Y", ""], ["Z"], domain="com.example")  # no name, omitted input

    inputs = [
        helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 1, 4, 4]),
        helper.make_tensor_value_info("partial", TensorProto.FLOAT, [None, 3]),  # neither value nor param
        helper.make_tensor_value_info("noshape", TensorProto.INT64, None),
        helper.make_tensor_sequence_value_info("seq", TensorProto.FLOAT, None),
    ]
    outputs = [helper.make_tensor_value_info("Z", TensorProto.FLOAT, ["N", 2, 4, 4])]
    graph = helper.make_graph([conv, custom], "parser_full", inputs, outputs, initializer=inits)
    return helper.make_model(
        graph, ir_version=8, producer_name="make_parser_fixtures", producer_version="1.0",
        opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.example", 2)])


def tiny_model(initializers=(), opsets=(("", 13),), attributes=None):
    """A one-node Identity model, optionally with initializers and Identity attributes."""
    node = helper.make_node("Identity", ["x"], ["y"], name="id")
    if attributes:
        node.attribute.extend(attributes)
    graph = helper.make_graph(
        [node], "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
        initializer=list(initializers))
    return helper.make_model(graph, ir_version=8, producer_name="t",
                             opset_imports=[helper.make_opsetid(d, v) for d, v in opsets])


def main():
    os.makedirs(OUT, exist_ok=True)
    save(full_model(), "parser_full.onnx")
    save(tiny_model(), "tiny.onnx")
    save(tiny_model(opsets=(("com.example", 1), ("ai.onnx", 17))), "opset_ai_onnx.onnx")
    save(tiny_model(opsets=()), "no_opset.onnx")

    no_graph = helper.make_model(helper.make_graph([], "g", [], []), ir_version=8)
    no_graph.ClearField("graph")
    save(no_graph, "no_graph.onnx")

    external = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[2],
                           data_location=TensorProto.EXTERNAL)
    external.external_data.add(key="location", value="weights.bin")
    save(tiny_model([external]), "external_data.onnx")

    bad = {
        "negative_dim": TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[-1, 2]),
        "overflow_dims": TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[2**62, 4]),
        "count_mismatch": TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[2, 3], float_data=[1, 2, 3, 4, 5]),
        "raw_not_multiple": raw("W", TensorProto.FLOAT, [2], bytes(7)),
        "raw_count_mismatch": raw("W", TensorProto.FLOAT, [2], bytes(12)),
        "string_tensor": helper.make_tensor("W", TensorProto.STRING, [1], [b"hi"]),
        "complex_tensor": TensorProto(name="W", data_type=TensorProto.COMPLEX64, dims=[1], float_data=[1, 2]),
        "float8_tensor": raw("W", TensorProto.FLOAT8E4M3FN, [1], bytes(1)),
        "uint8_out_of_range": TensorProto(name="W", data_type=TensorProto.UINT8, dims=[1], int32_data=[300]),
        "uint64_too_large": TensorProto(name="W", data_type=TensorProto.UINT64, dims=[1], uint64_data=[2**64 - 1]),
    }
    for name, tensor in bad.items():
        save(tiny_model([tensor]), name + ".onnx")

    # An invalid tensor inside a node attribute (not an initializer).
    attr = helper.make_attribute("value", TensorProto(name="attr_t", data_type=TensorProto.FLOAT, dims=[-3]))
    assert attr.type == AttributeProto.TENSOR
    save(tiny_model(attributes=[attr]), "attribute_tensor_negative_dim.onnx")


if __name__ == "__main__":
    main()
