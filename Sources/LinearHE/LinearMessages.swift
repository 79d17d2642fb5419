import LatticeHE
import Transport

/// Wire messages of the HE linear layers. Every message is length-prefixed by the channel
/// (`sendMessage`) and starts with an 8-byte header: two magic bytes, the kind, a zero byte, and
/// the number of ciphertexts that follow (UInt32, little endian). Their version is the session's
/// (`Handshake.protocolVersion`): both parties agreed on it before the first of these is sent. Ciphertexts use
/// LatticeHE's compact encodings, each with its own 16-byte header naming N, ℓ, the level and the
/// parameter fingerprint:
/// - set-up (client → vendor), once per session: one public key per parameter set, sent as a
///   seeded secret-key encryption of zero (b = −a·s + e with a expanded from a 16-byte seed — exactly
///   an RLWE public key), so (b, seed) costs N·log2(q) bits + 32 bytes;
/// - query (client → vendor): one message per input ciphertext, seeded (c0 bit-packed at the
///   full modulus — the plan's modulus chain, the smallest that holds its flooding — c1 as a
///   16-byte seed), in plan order (spatial tile major, channel tile minor),
///   skipping the channel tiles the vendor already holds (`reusingChannels`);
/// - response (vendor → client): one message per returned ciphertext, in plan order: c1 in full
///   and c0 only at the coefficients the plan says the client needs, bit-packed at the reduced
///   modulus without the low bits the plan drops (`LinearLayerPlan.returnDrop`). The index sets
///   and the drop are public (from the plan) and never sent.
/// Overhead per ciphertext: 8 bytes of length prefix and 8 of header.
enum LinearWire {
    static let headerBytes = 8

    enum Kind: UInt8 {
        case publicKeys = 1
        case query = 2
        case response = 3
    }

    static func header(_ kind: Kind, count: Int) -> [UInt8] {
        let c = UInt32(count)
        return [0x4c, 0x4c, kind.rawValue, 0,
                UInt8(truncatingIfNeeded: c), UInt8(truncatingIfNeeded: c >> 8),
                UInt8(truncatingIfNeeded: c >> 16), UInt8(truncatingIfNeeded: c >> 24)]
    }

    static func readHeader(_ bytes: [UInt8], expected kind: Kind, count: Int) throws(LinearHEError) {
        guard bytes.count >= headerBytes, bytes[0] == 0x4c, bytes[1] == 0x4c else {
            throw .malformedMessage(detail: "missing \"LL\" magic")
        }
        guard bytes[2] == kind.rawValue, bytes[3] == 0 else { throw .malformedMessage(detail: "kind \(bytes[2]).\(bytes[3]), expected \(kind)") }
        let c = Int(bytes[4]) | Int(bytes[5]) << 8 | Int(bytes[6]) << 16 | Int(bytes[7]) << 24
        guard c == count else { throw .malformedMessage(detail: "\(c) ciphertexts in a \(kind) message, the plan has \(count)") }
    }

    /// Sends, translating transport errors.
    static func send(_ bytes: [UInt8], on channel: Channel) throws(LinearHEError) {
        do {
            try channel.sendMessage(bytes)
            try channel.flush()
        } catch let error as TransportError {
            throw .transport(error)
        } catch {
            throw .malformedMessage(detail: "transport: \(error)")
        }
    }

    static func receive(on channel: Channel, limit: Int) throws(LinearHEError) -> [UInt8] {
        do {
            return try channel.receiveMessage(limit: limit)
        } catch let error as TransportError {
            throw .transport(error)
        } catch {
            throw .malformedMessage(detail: "transport: \(error)")
        }
    }

    /// Splits a payload after the header into `count` pieces of `size` bytes.
    static func split(_ bytes: [UInt8], sizes: [Int]) throws(LinearHEError) -> [[UInt8]] {
        let total = headerBytes + sizes.reduce(0, +)
        guard bytes.count == total else {
            throw .malformedMessage(detail: "\(bytes.count) bytes, expected \(total)")
        }
        var out: [[UInt8]] = []
        out.reserveCapacity(sizes.count)
        var offset = headerBytes
        for size in sizes {
            out.append(Array(bytes[offset..<(offset + size)]))
            offset += size
        }
        return out
    }
}
