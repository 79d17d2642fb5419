/// A 128-bit value: an AES block, a PRG seed, an OT message or an OT-extension row.
public struct Block: Sendable, Hashable, BitwiseCopyable, CustomStringConvertible {
    public var low: UInt64
    public var high: UInt64

    @inlinable public init(low: UInt64, high: UInt64) {
        self.low = low
        self.high = high
    }

    public static let zero = Block(low: 0, high: 0)

    @inlinable public static func ^ (a: Block, b: Block) -> Block { Block(low: a.low ^ b.low, high: a.high ^ b.high) }
    @inlinable public static func & (a: Block, b: Block) -> Block { Block(low: a.low & b.low, high: a.high & b.high) }
    @inlinable public static func ^= (a: inout Block, b: Block) { a = a ^ b }

    /// Bit i (0 = least significant bit of `low`).
    @inlinable public func bit(_ i: Int) -> Bool {
        i < 64 ? (low >> UInt64(i)) & 1 == 1 : (high >> UInt64(i - 64)) & 1 == 1
    }

    /// Not printed: blocks are usually secret. Only the type shows.
    public var description: String { "Block(…)" }
}
