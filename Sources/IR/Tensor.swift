/// A dense float32 constant in C (row-major) order: a weight, a bias, or a folded constant.
///
/// Held by the vendor. `IR.Graph.strippingWeights()` replaces the values of every weight tensor
/// before the graph is shown to the other party, keeping only shapes.
public struct Tensor: Sendable, Equatable, Codable {
    public var shape: [Int]
    public var values: [Float]

    /// Creates a tensor; `values.count` must equal the product of `shape` (checked by `precondition`
    /// because every caller builds it from validated data).
    public init(shape: [Int], values: [Float]) {
        precondition(Shape.elementCount(shape) == values.count, "tensor values do not match its shape")
        self.shape = shape
        self.values = values
    }

    /// A tensor of the given shape filled with `value`.
    public init(shape: [Int], repeating value: Float) {
        self.init(shape: shape, values: [Float](repeating: value, count: Shape.elementCount(shape)))
    }

    /// A scalar (rank-0) tensor.
    public init(scalar: Float) { self.init(shape: [], values: [scalar]) }

    public var elementCount: Int { values.count }
    public var rank: Int { shape.count }

    /// True when every element equals `value`.
    public func isAll(_ value: Float) -> Bool { values.allSatisfy { $0 == value } }
}
