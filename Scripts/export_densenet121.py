#!/usr/bin/env python3
"""Export a randomly initialised DenseNet-121 with a CheXpert-style 14-finding head to ONNX.

    python3 Scripts/export_densenet121.py OUT.onnx [--size 224|320] [--seed 0] [--outputs 14] [--sigmoid]

torchvision's densenet121(weights=None) with weights drawn from torch.manual_seed(SEED), the
classifier replaced by Linear(1024, OUTPUTS) (default 14: CheXpert's findings), eval mode
(BatchNorm uses its running statistics), exported with the TorchScript exporter (dynamo=False) at
opset 13 with a dynamic batch dimension; input `input` [batch, 3, S, S], output `logits`
[batch, OUTPUTS]. With --sigmoid the model ends in a Sigmoid (a multi-label model: output `scores`)
and carries the ONNX metadata `findings` (CheXpert's 14 observation names when OUTPUTS is 14,
else finding_0, finding_1, …), which SecureValidation reads as the finding names.

Used for benchmarks (the EzPC CheXpert case study runs DenseNet-121); the weights are random, so
its "accuracy" means nothing. The output (~28 MB) is not committed.
"""

from __future__ import annotations

import argparse
import sys

import torch
import torch.nn as nn
import torchvision

CHEXPERT_FINDINGS = 14
# The CheXpert competition's 14 observations (Irvin et al., AAAI 2019, Table 1), in its order.
CHEXPERT_NAMES = ["No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity", "Lung Lesion", "Edema",
                  "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion", "Pleural Other",
                  "Fracture", "Support Devices"]


def build(seed: int, outputs: int = CHEXPERT_FINDINGS, sigmoid: bool = False) -> nn.Module:
    torch.manual_seed(seed)
    model = torchvision.models.densenet121(weights=None)
    model.classifier = nn.Linear(model.classifier.in_features, outputs)
    if sigmoid:
        model.classifier = nn.Sequential(model.classifier, nn.Sigmoid())
    model.eval()
    return model


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", help="output .onnx path")
    p.add_argument("--size", type=int, choices=(224, 320), default=224,
                   help="input height and width (default 224)")
    p.add_argument("--seed", type=int, default=0, help="torch.manual_seed for the weights")
    p.add_argument("--outputs", type=int, default=CHEXPERT_FINDINGS, help="outputs of the head (default 14)")
    p.add_argument("--sigmoid", action="store_true",
                   help="end in a Sigmoid (multi-label) and name the findings in the ONNX metadata")
    p.add_argument("--check", action="store_true",
                   help="afterwards verify with onnx.checker and compare onnxruntime with torch")
    args = p.parse_args(argv)

    torch.set_num_threads(1)
    if args.outputs < 1:
        p.error("--outputs must be at least 1")
    model = build(args.seed, args.outputs, args.sigmoid)
    output_name = "scores" if args.sigmoid else "logits"
    example = torch.randn(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(args.seed))
    with torch.no_grad():
        torch.onnx.export(
            model, example, args.out,
            dynamo=False, opset_version=13,
            input_names=["input"], output_names=[output_name],
            dynamic_axes={"input": {0: "batch"}, output_name: {0: "batch"}},
        )
    if args.sigmoid:
        import onnx

        names = CHEXPERT_NAMES if args.outputs == CHEXPERT_FINDINGS else [f"finding_{i}" for i in range(args.outputs)]
        exported = onnx.load(args.out)
        onnx.helper.set_model_props(exported, {"findings": ",".join(names)})
        onnx.save(exported, args.out)
    params = sum(p.numel() for p in model.parameters())
    print(f"wrote {args.out}: densenet121, input [batch, 3, {args.size}, {args.size}], "
          f"{args.outputs} outputs{' (Sigmoid, findings metadata)' if args.sigmoid else ''}, {params:,} parameters, seed {args.seed}")

    if args.check:
        import numpy as np
        import onnx
        import onnxruntime as ort

        onnx.checker.check_model(args.out, full_check=True)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        sess = ort.InferenceSession(args.out, opts, providers=["CPUExecutionProvider"])
        (out,) = sess.run(None, {"input": example.numpy()})
        with torch.no_grad():
            ref = model(example).numpy()
        diff = float(np.abs(out - ref).max())
        print(f"onnxruntime output {out.shape}, max |ort - torch| = {diff:.2e}")
        if diff > 1e-3:
            print("error: onnxruntime and torch disagree", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
