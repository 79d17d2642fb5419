import COpenSSL
import CryptoPrimitives

/// The NIST P-256 group through OpenSSL's EC_POINT / BIGNUM API, as the base OT needs it:
/// random scalars, multiplications, and a fixed 65-byte uncompressed encoding whose decoder rejects
/// anything that is not a finite point on the curve (P-256 has cofactor 1, so such a point lies in
/// the prime-order group). Not thread-safe: one instance per party.
final class P256 {
    /// Bytes of an encoded point: 0x04 ‖ x ‖ y.
    static let encodedSize = 65

    let group: OpaquePointer
    let bnContext: OpaquePointer
    private let order: OpaquePointer

    init() throws {
        guard let g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1) else {
            throw OTError.openSSL(operation: "EC_GROUP_new_by_curve_name(P-256)")
        }
        guard let c = BN_CTX_new() else {
            EC_GROUP_free(g)
            throw OTError.openSSL(operation: "BN_CTX_new")
        }
        guard let o = EC_GROUP_get0_order(g) else {
            BN_CTX_free(c); EC_GROUP_free(g)
            throw OTError.openSSL(operation: "EC_GROUP_get0_order")
        }
        group = g
        bnContext = c
        order = o
    }

    deinit {
        BN_CTX_free(bnContext)
        EC_GROUP_free(group)
    }

    /// A uniform non-zero scalar: 384 random bits reduced mod the order (bias < 2^-128).
    func randomScalar(_ randomness: SecretRandomness) throws -> Scalar {
        var bytes = [UInt8](repeating: 0, count: 48)
        defer { for i in bytes.indices { bytes[i] = 0 } }
        while true {
            bytes.withUnsafeMutableBytes { randomness.fill($0) }
            guard let bn = BN_bin2bn(bytes, 48, nil) else { throw OTError.openSSL(operation: "BN_bin2bn") }
            let scalar = Scalar(bn)
            guard BN_nnmod(bn, bn, order, bnContext) == 1 else { throw OTError.openSSL(operation: "BN_nnmod") }
            BN_set_flags(bn, BN_FLG_CONSTTIME)
            if BN_is_zero(bn) == 0 { return scalar }
        }
    }

    func newPoint() throws -> Point {
        guard let p = EC_POINT_new(group) else { throw OTError.openSSL(operation: "EC_POINT_new") }
        return Point(p)
    }

    /// k·G.
    func multiplyGenerator(_ k: Scalar) throws -> Point {
        let r = try newPoint()
        guard EC_POINT_mul(group, r.pointer, k.pointer, nil, nil, bnContext) == 1 else { throw OTError.openSSL(operation: "EC_POINT_mul") }
        return r
    }

    /// k·P.
    func multiply(_ p: Point, _ k: Scalar) throws -> Point {
        let r = try newPoint()
        guard EC_POINT_mul(group, r.pointer, nil, p.pointer, k.pointer, bnContext) == 1 else { throw OTError.openSSL(operation: "EC_POINT_mul") }
        return r
    }

    /// P + Q.
    func add(_ p: Point, _ q: Point) throws -> Point {
        let r = try newPoint()
        guard EC_POINT_add(group, r.pointer, p.pointer, q.pointer, bnContext) == 1 else { throw OTError.openSSL(operation: "EC_POINT_add") }
        return r
    }

    /// −P.
    func negate(_ p: Point) throws -> Point {
        let r = try newPoint()
        guard EC_POINT_copy(r.pointer, p.pointer) == 1, EC_POINT_invert(group, r.pointer, bnContext) == 1 else {
            throw OTError.openSSL(operation: "EC_POINT_invert")
        }
        return r
    }

    /// Writes the 65-byte encoding of a finite point to `out`.
    func encode(_ p: Point, into out: UnsafeMutableRawBufferPointer) throws {
        let n = EC_POINT_point2oct(group, p.pointer, POINT_CONVERSION_UNCOMPRESSED,
                                   out.baseAddress!.assumingMemoryBound(to: UInt8.self), Self.encodedSize, bnContext)
        guard n == Self.encodedSize else { throw OTError.openSSL(operation: "EC_POINT_point2oct") }
    }

    func encode(_ p: Point) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Self.encodedSize)
        try out.withUnsafeMutableBytes { try encode(p, into: $0) }
        return out
    }

    /// Decodes a peer's point; anything but a finite point on P-256 is `OTError.invalidPoint`.
    func decode(_ bytes: UnsafeRawBufferPointer, message: String, index: Int) throws -> Point {
        let p = try newPoint()
        guard bytes.count == Self.encodedSize, bytes[0] == 0x04,
              EC_POINT_oct2point(group, p.pointer, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), bytes.count, bnContext) == 1,
              EC_POINT_is_at_infinity(group, p.pointer) == 0,
              EC_POINT_is_on_curve(group, p.pointer, bnContext) == 1 else {
            ERR_clear_error()
            throw OTError.invalidPoint(message: message, index: index)
        }
        return p
    }

    /// An owned EC_POINT.
    final class Point {
        let pointer: OpaquePointer
        init(_ pointer: OpaquePointer) { self.pointer = pointer }
        deinit { EC_POINT_clear_free(pointer) }
    }

    /// An owned secret scalar, cleared when released.
    final class Scalar {
        let pointer: OpaquePointer
        init(_ pointer: OpaquePointer) { self.pointer = pointer }
        deinit { BN_clear_free(pointer) }
    }
}
