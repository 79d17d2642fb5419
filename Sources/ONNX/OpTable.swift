import IR

/// How one ONNX op type is lowered into IR nodes.
struct OpLowering: Sendable {
    /// The attributes this lowering understands; any other attribute makes the node unsupported.
    var attributes: Set<String>
    var lower: @Sendable (inout ImportState, NodeContext) throws -> Void
}

/// The table from ONNX op type to lowering, one file per op family (`Lower+*.swift`). Ops whose
/// inputs are all constants are folded by `ConstantFolding` before this table is consulted.
enum OpTable {
    static let lowerings: [String: OpLowering] = {
        var table: [String: OpLowering] = [:]
        for family in [linearLowerings, elementwiseLowerings, poolingLowerings, layoutLowerings, softmaxLowerings] {
            table.merge(family) { first, _ in first }
        }
        return table
    }()

    static var supportedOps: [String] { lowerings.keys.sorted() }

    /// How many inputs an op that the importer folds or lowers takes, following the ONNX
    /// specification at `opset`: the first `required` must be present (non-empty names), at most
    /// `maximum` in all. Nil for ops the importer does not know (they are reported as unsupported).
    /// The importer checks this before anything reads a node's inputs by position.
    static func arity(of opType: String, opset: Int) -> (required: Int, maximum: Int)? {
        switch opType {
        case "Constant": (0, 0)
        case "Identity", "Shape", "Size", "Neg", "Sqrt", "Reciprocal", "Relu", "Floor", "Ceil", "Cast",
             "ConstantOfShape", "Flatten", "Transpose", "MaxPool", "AveragePool", "GlobalAveragePool",
             "Softmax", "LogSoftmax", "Sigmoid":
            (1, 1)
        case "Add", "Sub", "Mul", "Div", "Pow", "Equal", "MatMul", "Gather": (2, 2)
        case "Sum", "Concat": (1, .max)
        case "Where", "Range": (3, 3)
        case "Conv", "Gemm": (2, 3)
        case "BatchNormalization": (5, 5)
        case "Dropout": opset >= 12 ? (1, 3) : (1, 1)
        case "Clip": opset >= 11 ? (1, 3) : (1, 1)
        case "Reshape": opset >= 5 ? (2, 2) : (1, 1)
        case "Unsqueeze": opset >= 13 ? (2, 2) : (1, 1)
        case "Squeeze": opset >= 13 ? (1, 2) : (1, 1)
        case "Slice": opset >= 10 ? (3, 5) : (1, 1)
        case "Pad": opset >= 11 ? (2, 4) : (1, 1)
        default: nil
        }
    }
}

extension NodeContext {
    /// Spatial geometry shared by Conv and the pooling ops: resolves `auto_pad`, `pads`, `strides`,
    /// `dilations` for a 2-D window over the spatial dims `inputSize` ([H, W]).
    ///
    /// `auto_pad` SAME_* is rejected where onnxruntime departs from the ONNX specification, so that the
    /// float reference never silently disagrees with it: with dilations (onnxruntime's Conv refuses
    /// them, its pooling pads for the undilated kernel) and, for pooling (`pooling`), with a kernel
    /// smaller than the stride (onnxruntime pads negatively or fails).
    func windowGeometry(kernel: [Int], inputSize: [Int], pooling: Bool = false) throws -> (strides: [Int], dilations: [Int], pads: [Int]) {
        let strides = try ints("strides") ?? [1, 1]
        let dilations = try ints("dilations") ?? [1, 1]
        // Bounded above so that no output-size arithmetic can overflow (real models use single digits).
        let limit = Shape.maximumElementCount
        guard strides.count == 2, strides.allSatisfy({ $0 >= 1 && $0 <= limit }) else {
            throw invalidAttribute("strides", "must be two integers in 1...\(limit), got \(strides)")
        }
        guard dilations.count == 2, dilations.allSatisfy({ $0 >= 1 && $0 <= limit }) else {
            throw invalidAttribute("dilations", "must be two integers in 1...\(limit), got \(dilations)")
        }
        let autoPad = try string("auto_pad", default: "NOTSET")
        var pads: [Int]
        switch autoPad {
        case "NOTSET":
            pads = try ints("pads") ?? [0, 0, 0, 0]
            guard pads.count == 4, pads.allSatisfy({ $0 >= 0 && $0 <= limit }) else {
                throw invalidAttribute("pads", "must be four integers in 0...\(limit) [top, left, bottom, right], got \(pads)")
            }
        case "VALID":
            pads = [0, 0, 0, 0]
        case "SAME_UPPER", "SAME_LOWER":
            if dilations != [1, 1] {
                throw Unsupported(reason: "auto_pad \(autoPad) with dilations \(dilations) is not supported "
                    + "(onnxruntime does not follow the ONNX specification there); re-export with explicit pads")
            }
            if pooling, zip(kernel, strides).contains(where: { $0 < $1 }) {
                throw Unsupported(reason: "auto_pad \(autoPad) with a kernel \(kernel) smaller than the strides \(strides) is not supported for pooling "
                    + "(the padding would be negative); re-export with explicit pads")
            }
            pads = [0, 0, 0, 0]
            for axis in 0..<2 {
                let out = (inputSize[axis] + strides[axis] - 1) / strides[axis]
                let span = dilations[axis] * (kernel[axis] - 1) + 1
                let total = max((out - 1) * strides[axis] + span - inputSize[axis], 0)
                let small = total / 2, large = total - total / 2
                pads[axis] = autoPad == "SAME_UPPER" ? small : large
                pads[axis + 2] = autoPad == "SAME_UPPER" ? large : small
            }
        default:
            throw invalidAttribute("auto_pad", "'\(autoPad)' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER")
        }
        return (strides, dilations, pads)
    }

    /// The per-example form of a constant that is combined element-wise with an activation of full
    /// shape `activationShape` (batch first): leading dims that line up with the batch must be 1,
    /// and the constant must not enlarge the activation.
    func perExampleConstant(_ constant: Constant, against activationShape: [Int]) throws -> Tensor {
        var shape = constant.shape
        let perExampleRank = activationShape.count - 1
        while shape.count > perExampleRank {
            guard shape.first == 1 else {
                throw Unsupported(reason: "a constant of shape \(Shape.describe(constant.shape)) varies along the batch axis of \(Shape.describe(activationShape))")
            }
            shape.removeFirst()
        }
        let perExample = Array(activationShape.dropFirst())
        guard Shape.broadcast(perExample, shape) == perExample else {
            throw Unsupported(reason: "a constant of shape \(Shape.describe(constant.shape)) would enlarge the activation \(Shape.describe(activationShape)) by broadcasting")
        }
        return constant.tensor(shape: shape)
    }
}
