import Foundation
import CryptoPrimitives

/// Compact wire formats. Every value mod q_j is bit-packed in bits(q_j) bits; what the receiver can
/// recompute is not sent:
/// - a fresh ciphertext travels as (c0, seed of c1): ≈ N·log2(q) bits + 16 bytes, half a full one;
/// - a returned result travels as c1 in full and c0 only at the coefficient indices the receiver
///   needs (the index set is public, derived from the layer shape by both parties, so it is not
///   sent), at the reduced modulus.
/// Header (16 bytes): "LH", version, kind, log2 N, primes, ℓ, 0, parameter fingerprint (LE).
public enum HEWire {
    public static let version: UInt8 = 1
    static let headerBytes = 16

    enum Kind: UInt8 {
        case seeded = 1
        case sparse = 2
        case fullCoefficient = 3
        case fullEvaluation = 4
    }

    static func header(_ kind: Kind, parameters: HEParameters, limbs: Int) -> [UInt8] {
        var out: [UInt8] = [0x4c, 0x48, version, kind.rawValue, UInt8(parameters.degree.trailingZeroBitCount),
                            UInt8(limbs), UInt8(parameters.plaintextBits), 0]
        let f = parameters.fingerprint
        for k in 0..<8 { out.append(UInt8(truncatingIfNeeded: f >> UInt64(8 * k))) }
        return out
    }

    /// Validates the header and returns the number of primes.
    static func readHeader(_ bytes: [UInt8], expected kind: Kind, parameters: HEParameters) throws(HEError) -> Int {
        guard bytes.count >= headerBytes else { throw .malformedSerialization(detail: "\(bytes.count) bytes is shorter than the 16-byte header") }
        guard bytes[0] == 0x4c, bytes[1] == 0x48 else { throw .malformedSerialization(detail: "missing \"LH\" magic") }
        guard bytes[2] == version else { throw .malformedSerialization(detail: "wire version \(bytes[2]), this build reads \(version)") }
        guard bytes[3] == kind.rawValue else { throw .malformedSerialization(detail: "kind \(bytes[3]), expected \(kind.rawValue) (\(kind))") }
        var f: UInt64 = 0
        for k in 0..<8 { f |= UInt64(bytes[8 + k]) << UInt64(8 * k) }
        guard Int(bytes[4]) == parameters.degree.trailingZeroBitCount, Int(bytes[6]) == parameters.plaintextBits,
              f == parameters.fingerprint else {
            throw .malformedSerialization(detail: "the ciphertext was made for other parameters (N, t or primes differ from \(parameters))")
        }
        let limbs = Int(bytes[5])
        guard (1...parameters.limbCount).contains(limbs) else {
            throw .malformedSerialization(detail: "\(limbs) primes, parameters have \(parameters.limbCount)")
        }
        return limbs
    }

    /// Exact size in bytes of a fresh ciphertext's (c0, seed) serialisation at `limbs` primes.
    public static func seededSize(_ parameters: HEParameters, limbs: Int? = nil) -> Int {
        let moduli = parameters.context(limbs: limbs ?? parameters.limbCount).moduli
        let bits = moduli.reduce(0) { $0 + $1.bitWidth * parameters.degree }
        return headerBytes + 16 + (bits + 7) / 8
    }

    /// Exact size in bytes of a sparse result with `indexCount` c0 coefficients at `limbs` primes,
    /// with `dropped` low bits left out of every coefficient (one prime only; `LowBitDrop`).
    public static func sparseSize(_ parameters: HEParameters, limbs: Int, indexCount: Int,
                                  dropped: LowBitDrop = .none) -> Int {
        let moduli = parameters.context(limbs: limbs).moduli
        let bits = moduli.reduce(0) {
            $0 + ($1.bitWidth - dropped.c0) * indexCount + ($1.bitWidth - dropped.c1) * parameters.degree
        }
        return headerBytes + (bits + 7) / 8
    }
}

/// Little-endian bit packing.
struct BitWriter {
    var bytes: [UInt8]
    private var accumulator: UInt64 = 0
    private var filled = 0

    init(prefix: [UInt8], capacity: Int) {
        bytes = prefix
        bytes.reserveCapacity(prefix.count + capacity)
    }

    mutating func write(_ value: UInt64, bits: Int) {
        var v = value
        var remaining = bits
        while remaining > 0 {
            let take = min(remaining, 64 - filled)
            let mask: UInt64 = take == 64 ? .max : (1 << UInt64(take)) &- 1
            accumulator |= (v & mask) << UInt64(filled)
            filled += take
            remaining -= take
            v = take == 64 ? 0 : v >> UInt64(take)
            while filled >= 8 {
                bytes.append(UInt8(truncatingIfNeeded: accumulator))
                accumulator >>= 8
                filled -= 8
            }
        }
    }

    mutating func finish() -> [UInt8] {
        if filled > 0 { bytes.append(UInt8(truncatingIfNeeded: accumulator)) }
        accumulator = 0
        filled = 0
        return bytes
    }
}

struct BitReader {
    let bytes: [UInt8]
    private var position: Int
    private var accumulator: UInt64 = 0
    private var available = 0

    init(_ bytes: [UInt8], offset: Int) {
        self.bytes = bytes
        position = offset
    }

    mutating func read(bits: Int) throws(HEError) -> UInt64 {
        var result: UInt64 = 0
        var got = 0
        while got < bits {
            if available == 0 {
                guard position < bytes.count else { throw .malformedSerialization(detail: "truncated: ran out of bytes") }
                accumulator = UInt64(bytes[position])
                position += 1
                available = 8
            }
            let take = min(bits - got, available)
            result |= (accumulator & ((1 << UInt64(take)) - 1)) << UInt64(got)
            accumulator >>= UInt64(take)
            available -= take
            got += take
        }
        return result
    }

    var isAtEnd: Bool { position == bytes.count }
}

extension Ciphertext where Format == Evaluation {
    /// The compact form of a fresh encryption: header, seed of c1, and c0 bit-packed.
    /// Throws if c1 is no longer the expansion of a seed (the ciphertext was operated on).
    public func serializedWithSeed() throws(HEError) -> [UInt8] {
        guard let seed = c1Seed else {
            throw .malformedSerialization(detail: "only fresh ciphertexts (c1 still expanded from its seed) have a seeded form")
        }
        var w = BitWriter(prefix: HEWire.header(.seeded, parameters: parameters, limbs: limbCount),
                          capacity: HEWire.seededSize(parameters, limbs: limbCount))
        w.write(seed.low, bits: 64)
        w.write(seed.high, bits: 64)
        let n = parameters.degree
        for (j, m) in c0.context.moduli.enumerated() {
            for i in 0..<n { w.write(c0.data[j * n + i], bits: m.bitWidth) }
        }
        return w.finish()
    }

    /// Reads a seeded ciphertext and expands c1 from its seed.
    public init(deserializingSeeded bytes: [UInt8], parameters: HEParameters) throws(HEError) {
        let limbs = try HEWire.readHeader(bytes, expected: .seeded, parameters: parameters)
        guard bytes.count == HEWire.seededSize(parameters, limbs: limbs) else {
            throw .malformedSerialization(detail: "\(bytes.count) bytes, a seeded ciphertext at \(limbs) primes has \(HEWire.seededSize(parameters, limbs: limbs))")
        }
        var r = BitReader(bytes, offset: HEWire.headerBytes)
        let seed = Block(low: try r.read(bits: 64), high: try r.read(bits: 64))
        let context = parameters.context(limbs: limbs)
        let n = parameters.degree
        var data = [UInt64](repeating: 0, count: n * limbs)
        for (j, m) in context.moduli.enumerated() {
            for i in 0..<n { data[j * n + i] = try r.read(bits: m.bitWidth) }
        }
        let c0 = try Polynomial<Evaluation>(context: context, data: data)
        let c1 = Polynomial<Evaluation>(uncheckedContext: context, data: Sampling.uniform(context: context, prg: AESPRG(seed: seed)))
        self.init(parameters: parameters, c0: c0, c1: c1, c1Seed: seed)
    }
}

/// Low bits of a one-prime result left off the wire (Cheetah's extraction: the key owner only needs
/// the top bits of c0 + c1·s). The sender sends ⌊c / 2^k⌋; the receiver takes
/// ⌊c / 2^k⌋·2^k + 2^(k−1), so each c0 coefficient moves by at most 2^(k0−1) and c1·s by at most
/// N·2^(k1−1) (ternary s, ‖s‖₁ ≤ N): the decryption stays exact while those two terms and the
/// switched noise stay below q/(2t) (`NoiseBudget.droppableBits`).
public struct LowBitDrop: Sendable, Equatable, CustomStringConvertible {
    public var c0: Int
    public var c1: Int
    public static let none = LowBitDrop(c0: 0, c1: 0)
    public init(c0: Int, c1: Int) { self.c0 = c0; self.c1 = c1 }
    /// The largest error the rounding adds to c0 + c1·s at ring degree N.
    public func error(degree: Int) -> Double {
        (c0 > 0 ? exp2(Double(c0 - 1)) : 0) + (c1 > 0 ? Double(degree) * exp2(Double(c1 - 1)) : 0)
    }
    public var description: String { "c0 \(c0), c1 \(c1) low bits dropped" }
}

/// A returned result restricted to the coefficients the key owner needs: c0 at `indices`, c1 in
/// full (it is needed for every coefficient of c1·s), coefficient form.
public struct SparseCiphertext: Sendable {
    public let parameters: HEParameters
    /// The public coefficient positions, distinct, in 0..<N.
    public let indices: [Int]
    /// c0 at `indices`, limb-major (limbs × indices.count).
    let c0Selected: [UInt64]
    let c1: Polynomial<Coefficient>

    public var limbCount: Int { c1.limbCount }

    static func validate(_ indices: [Int], degree: Int) throws(HEError) {
        var seen = [Bool](repeating: false, count: degree)
        for i in indices {
            guard (0..<degree).contains(i) else { throw .invalidIndexSet(detail: "index \(i) is outside 0..<\(degree)") }
            guard !seen[i] else { throw .invalidIndexSet(detail: "index \(i) appears twice") }
            seen[i] = true
        }
    }

    /// Keeps c0 only at `indices`.
    public init(_ ct: Ciphertext<Coefficient>, indices: [Int]) throws(HEError) {
        let n = ct.parameters.degree
        try SparseCiphertext.validate(indices, degree: n)
        var selected = [UInt64](repeating: 0, count: indices.count * ct.limbCount)
        for j in 0..<ct.limbCount {
            for (k, i) in indices.enumerated() { selected[j * indices.count + k] = ct.c0.data[j * n + i] }
        }
        parameters = ct.parameters
        self.indices = indices
        c0Selected = selected
        c1 = ct.c1
    }

    /// Header, c0 at the indices, then c1, all bit-packed at the current modulus, without the
    /// `dropped` low bits (one prime only).
    public func serialized(dropping dropped: LowBitDrop = .none) throws(HEError) -> [UInt8] {
        try Self.checkDrop(dropped, limbs: limbCount, parameters: parameters)
        var w = BitWriter(prefix: HEWire.header(.sparse, parameters: parameters, limbs: limbCount),
                          capacity: HEWire.sparseSize(parameters, limbs: limbCount, indexCount: indices.count, dropped: dropped))
        let n = parameters.degree
        let k0 = UInt64(dropped.c0), k1 = UInt64(dropped.c1)
        for (j, m) in c1.context.moduli.enumerated() {
            for k in 0..<indices.count { w.write(c0Selected[j * indices.count + k] >> k0, bits: m.bitWidth - dropped.c0) }
            for i in 0..<n { w.write(c1.data[j * n + i] >> k1, bits: m.bitWidth - dropped.c1) }
        }
        return w.finish()
    }

    static func checkDrop(_ dropped: LowBitDrop, limbs: Int, parameters: HEParameters) throws(HEError) {
        guard dropped == .none || limbs == 1 else {
            throw .malformedSerialization(detail: "low bits can only be dropped from a one-prime result, not at \(limbs) primes")
        }
        let width = parameters.context(limbs: 1).moduli[0].bitWidth
        guard (0..<width).contains(dropped.c0), (0..<width).contains(dropped.c1) else {
            throw .malformedSerialization(detail: "\(dropped) is outside 0..<\(width)")
        }
    }

    /// Reads a sparse result; `indices` and `dropped` are the public index set and drop the sender
    /// used. Dropped bits come back as the middle of their range (`LowBitDrop`).
    public init(deserializing bytes: [UInt8], parameters: HEParameters, indices: [Int],
                dropped: LowBitDrop = .none) throws(HEError) {
        let limbs = try HEWire.readHeader(bytes, expected: .sparse, parameters: parameters)
        try SparseCiphertext.validate(indices, degree: parameters.degree)
        try Self.checkDrop(dropped, limbs: limbs, parameters: parameters)
        let expected = HEWire.sparseSize(parameters, limbs: limbs, indexCount: indices.count, dropped: dropped)
        guard bytes.count == expected else {
            throw .malformedSerialization(detail: "\(bytes.count) bytes, a result with \(indices.count) coefficients at \(limbs) primes has \(expected)")
        }
        let context = parameters.context(limbs: limbs)
        let n = parameters.degree
        var r = BitReader(bytes, offset: HEWire.headerBytes)
        var selected = [UInt64](repeating: 0, count: indices.count * limbs)
        var c1 = [UInt64](repeating: 0, count: n * limbs)
        let k0 = UInt64(dropped.c0), k1 = UInt64(dropped.c1)
        let half0: UInt64 = k0 > 0 ? 1 << (k0 - 1) : 0, half1: UInt64 = k1 > 0 ? 1 << (k1 - 1) : 0
        for (j, m) in context.moduli.enumerated() {
            for k in 0..<indices.count {
                let v = try r.read(bits: m.bitWidth - dropped.c0) << k0
                guard v < m.value else { throw .malformedSerialization(detail: "c0 value not reduced mod q_\(j)") }
                let centred = v &+ half0        // < 2q: v < q and half0 < 2^(bits − 1) ≤ q
                selected[j * indices.count + k] = centred >= m.value ? centred &- m.value : centred
            }
            for i in 0..<n {
                let v = try r.read(bits: m.bitWidth - dropped.c1) << k1
                let centred = v &+ half1        // < 2^bits ≤ 2q
                c1[j * n + i] = centred >= m.value ? centred &- m.value : centred
            }
        }
        self.parameters = parameters
        self.indices = indices
        c0Selected = selected
        self.c1 = try Polynomial(context: context, data: c1)
    }
}

extension BFV {
    /// Decrypts the coefficients at `sparse.indices` (in that order).
    public static func decrypt(_ sparse: SparseCiphertext, secretKey: SecretKey) throws(HEError) -> [UInt64] {
        try checkKey(secretKey, sparse.parameters)
        let level = try sparse.parameters.level(sparse.limbCount)
        var c1s = sparse.c1.forwardNTT()
        secretKey.multiply(&c1s)
        var v = c1s.inverseNTT()
        let n = sparse.parameters.degree
        let count = sparse.indices.count
        for (j, m) in level.context.moduli.enumerated() {
            for (k, i) in sparse.indices.enumerated() {
                v.data[j * n + i] = m.add(v.data[j * n + i], sparse.c0Selected[j * count + k])
            }
        }
        let decoded = decode(v, level: level, plaintextBits: sparse.parameters.plaintextBits).message
        return sparse.indices.map { decoded[$0] }
    }
}
