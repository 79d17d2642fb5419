import IR
import RingArithmetic

/// The vendor's private part of a secure program: for every instruction that needs the model's
/// constants, those constants encoded in the ring, keyed by instruction index.
///
/// Contract: held by the vendor only (the hospital runs the same program with no store); never
/// sent. Linear weights are encoded at scale s, biases at scale 2s (they are added to a product of
/// two scale-s values), the constants of an `addConstant` at scale s, broadcast to the
/// instruction's input shape, a signed shift's signs and shifts (scale s) per channel.
public struct WeightStore: Sendable {
    /// The constants of one instruction.
    public enum Entry: Sendable, Equatable {
        /// An HE linear step: weights in the layout of its `LinearLayerShape` (convolution
        /// [Cout, Cin, kh, kw], fully connected [N, K], per-channel scale [C]) and the bias along its
        /// `LinearStep.BiasAxis` (empty: none).
        case linear(weights: [Int64], bias: [Int64])
        /// An `addConstant` step: one value per element of the per-example input.
        case constant([Int64])
        /// A `signedShift` step: per channel, whether to negate and the shift at scale s.
        case signedShift(negate: [Bool], shift: [Int64])
    }

    public private(set) var entries: [Int: Entry]

    public init(entries: [Int: Entry]) { self.entries = entries }

    public subscript(instruction: Int) -> Entry? { entries[instruction] }

    /// The store of `program` from the vendor's graph with weights (`program` compiled from it).
    public init(program: MPCProgram, graph: Graph) throws {
        let format = try FixedPointFormat(ringBits: program.ringBits, scale: program.scale)
        let nodes = Dictionary(graph.nodes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        func encode(_ values: [Float], power: Int, _ node: Node) throws -> [Int64] {
            try values.map {
                guard let v = format.encode(Double($0), power: power) else {
                    throw CompilerError.unsupported(node: node.name, op: node.operation.name,
                                                    reason: "a constant \($0) does not fit the fixed-point format \(format)")
                }
                return v
            }
        }
        var entries: [Int: Entry] = [:]
        for (index, instruction) in program.instructions.enumerated() where [.linear, .addConstant, .signedShift].contains(instruction.kind) {
            guard let node = nodes[instruction.node] else {
                throw CompilerError.unsupported(node: instruction.node, op: instruction.kind.rawValue, reason: "the program's step has no node in the model")
            }
            switch (instruction.step, node.operation) {
            case (.linear, .convolution(let c)):
                entries[index] = .linear(weights: try encode(c.weight.values, power: 1, node), bias: try encode(c.bias?.values ?? [], power: 2, node))
            case (.linear, .fullyConnected(let f)):
                entries[index] = .linear(weights: try encode(f.weight.values, power: 1, node), bias: try encode(f.bias?.values ?? [], power: 2, node))
            case (.linear, .affine(let a)):
                let channels = instruction.outputShape.first ?? 1
                guard let perChannel = a.perChannel(rank: instruction.outputShape.count, channels: channels) else {
                    throw CompilerError.unsupported(node: node.name, op: node.operation.name, reason: "its constants are not per channel")
                }
                entries[index] = .linear(weights: try encode(perChannel.scale, power: 1, node),
                                         bias: a.shift == nil ? [] : try encode(perChannel.shift, power: 2, node))
            case (.addConstant, .affine(let a)) where a.scale == nil && a.shift != nil:
                entries[index] = .constant(try encode(Shape.broadcast(a.shift!, to: instruction.inputShapes[0]).values, power: 1, node))
            case (.signedShift, .signedShift(let signed)):
                entries[index] = .signedShift(negate: signed.negate.values.map { $0 != 0 }, shift: try encode(signed.shift.values, power: 1, node))
            default:
                throw CompilerError.unsupported(node: node.name, op: node.operation.name,
                                                reason: "the program's \(instruction.kind.rawValue) step does not match the model's node")
            }
        }
        self.entries = entries
    }
}
