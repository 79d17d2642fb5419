/// The representation of a polynomial: a type, so that mixing coefficient and evaluation (NTT)
/// forms is a compile error.
public protocol PolynomialFormat: Sendable {}

/// Coefficient form: entry i of limb j is the coefficient of X^i mod q_j.
public enum Coefficient: PolynomialFormat {}

/// Evaluation (NTT) form: values at the 2N-th primitive roots of unity (bit-reversed order);
/// products are pointwise.
public enum Evaluation: PolynomialFormat {}

/// The RNS ring R_q = Z_q[X]/(X^N + 1) with q = q_0·q_1·…·q_{L−1}: degree, moduli and NTT tables.
/// Immutable and shared.
public final class RNSContext: Sendable {
    public let degree: Int
    public let moduli: [Modulus]
    public let tables: [NTTTables]

    public var limbCount: Int { moduli.count }

    /// Builds NTT tables for each prime (each must be ≡ 1 mod 2N).
    public init(degree: Int, primes: [UInt64]) throws(HEError) {
        guard !primes.isEmpty else { throw .mismatchedParameters(detail: "an RNS context needs at least one prime") }
        var moduli: [Modulus] = []
        var tables: [NTTTables] = []
        for p in primes {
            let m = try Modulus(p)
            moduli.append(m)
            tables.append(try NTTTables(degree: degree, modulus: m))
        }
        guard Set(primes).count == primes.count else { throw .mismatchedParameters(detail: "RNS primes must be distinct") }
        self.degree = degree
        self.moduli = moduli
        self.tables = tables
    }

    /// A context over the first `limbs` primes sharing these tables.
    init(prefixOf other: RNSContext, limbs: Int) {
        degree = other.degree
        moduli = Array(other.moduli.prefix(limbs))
        tables = Array(other.tables.prefix(limbs))
    }

    func isCompatible(with other: RNSContext) -> Bool {
        self === other || (degree == other.degree && moduli == other.moduli)
    }
}

/// An element of R_q in RNS form: N coefficients (or NTT values) for each of the L primes, stored
/// contiguously limb after limb (`data[j·N + i]`), every value fully reduced in [0, q_j).
public struct Polynomial<Format: PolynomialFormat>: Sendable {
    public let context: RNSContext
    /// Limb-major storage, N·L values.
    public internal(set) var data: [UInt64]

    public var degree: Int { context.degree }
    public var limbCount: Int { context.limbCount }

    /// The zero polynomial.
    public init(zeroIn context: RNSContext) {
        self.context = context
        data = [UInt64](repeating: 0, count: context.degree * context.limbCount)
    }

    /// Wraps values (already reduced, limb-major).
    public init(context: RNSContext, data: [UInt64]) throws(HEError) {
        guard data.count == context.degree * context.limbCount else {
            throw .wrongLength(expected: context.degree * context.limbCount, actual: data.count)
        }
        for j in 0..<context.limbCount {
            let q = context.moduli[j].value
            for i in 0..<context.degree where data[j * context.degree + i] >= q {
                throw .malformedSerialization(detail: "value at limb \(j), index \(i) is not reduced mod q_\(j)")
            }
        }
        self.context = context
        self.data = data
    }

    init(uncheckedContext context: RNSContext, data: [UInt64]) {
        self.context = context
        self.data = data
    }

    /// The values of limb j.
    public func limb(_ j: Int) -> ArraySlice<UInt64> { data[(j * degree)..<((j + 1) * degree)] }

    func checkSameRing(_ other: Polynomial) throws(HEError) {
        guard context.isCompatible(with: other.context) else {
            throw .mismatchedParameters(detail: "polynomials over different RNS moduli (\(limbCount) vs \(other.limbCount) limbs)")
        }
    }

    /// self += other (same ring).
    public mutating func add(_ other: Polynomial) throws(HEError) {
        try checkSameRing(other)
        let n = degree
        let moduli = context.moduli
        data.withUnsafeMutableBufferPointer { a in
            other.data.withUnsafeBufferPointer { b in
                for j in 0..<moduli.count {
                    let q = moduli[j].value
                    let pa = a.baseAddress! + j * n, pb = b.baseAddress! + j * n
                    for i in 0..<n {
                        let s = pa[i] &+ pb[i]
                        pa[i] = s >= q ? s &- q : s
                    }
                }
            }
        }
    }

    /// self −= other (same ring).
    public mutating func subtract(_ other: Polynomial) throws(HEError) {
        try checkSameRing(other)
        let n = degree
        let moduli = context.moduli
        data.withUnsafeMutableBufferPointer { a in
            other.data.withUnsafeBufferPointer { b in
                for j in 0..<moduli.count {
                    let q = moduli[j].value
                    let pa = a.baseAddress! + j * n, pb = b.baseAddress! + j * n
                    for i in 0..<n {
                        let d = pa[i] &+ q &- pb[i]
                        pa[i] = d >= q ? d &- q : d
                    }
                }
            }
        }
    }

    /// self = −self.
    public mutating func negate() {
        let n = degree
        let moduli = context.moduli
        data.withUnsafeMutableBufferPointer { a in
            for j in 0..<moduli.count {
                let q = moduli[j].value
                let pa = a.baseAddress! + j * n
                for i in 0..<n { pa[i] = pa[i] == 0 ? 0 : q &- pa[i] }
            }
        }
    }
}

extension Polynomial where Format == Coefficient {
    /// A polynomial from signed integer coefficients (reduced into every limb).
    public init(context: RNSContext, signedCoefficients: [Int64]) throws(HEError) {
        guard signedCoefficients.count == context.degree else {
            throw .wrongLength(expected: context.degree, actual: signedCoefficients.count)
        }
        var data = [UInt64](repeating: 0, count: context.degree * context.limbCount)
        for (j, m) in context.moduli.enumerated() {
            for i in 0..<context.degree { data[j * context.degree + i] = m.reduce(signed: signedCoefficients[i]) }
        }
        self.init(uncheckedContext: context, data: data)
    }

    /// The forward NTT of every limb.
    public func forwardNTT() -> Polynomial<Evaluation> {
        var out = Polynomial<Evaluation>(uncheckedContext: context, data: data)
        let n = degree
        let tables = context.tables
        out.data.withUnsafeMutableBufferPointer { a in
            for j in 0..<tables.count { tables[j].forward(a.baseAddress! + j * n) }
        }
        return out
    }
}

extension Polynomial where Format == Evaluation {
    /// The inverse NTT of every limb.
    public func inverseNTT() -> Polynomial<Coefficient> {
        var out = Polynomial<Coefficient>(uncheckedContext: context, data: data)
        let n = degree
        let tables = context.tables
        out.data.withUnsafeMutableBufferPointer { a in
            for j in 0..<tables.count { tables[j].inverse(a.baseAddress! + j * n) }
        }
        return out
    }

    /// self ⊙= other (pointwise product, the negacyclic product in coefficient form).
    public mutating func multiplyPointwise(_ other: Polynomial<Evaluation>) throws(HEError) {
        try checkSameRing(other)
        let n = degree
        let moduli = context.moduli
        data.withUnsafeMutableBufferPointer { a in
            other.data.withUnsafeBufferPointer { b in
                for j in 0..<moduli.count {
                    let m = moduli[j]
                    let pa = a.baseAddress! + j * n, pb = b.baseAddress! + j * n
                    for i in 0..<n { pa[i] = m.multiply(pa[i], pb[i]) }
                }
            }
        }
    }

    /// The pointwise product a ⊙ b.
    public static func * (a: Polynomial<Evaluation>, b: Polynomial<Evaluation>) throws(HEError) -> Polynomial<Evaluation> {
        var r = a
        try r.multiplyPointwise(b)
        return r
    }
}
