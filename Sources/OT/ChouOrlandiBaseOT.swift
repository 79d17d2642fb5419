import CryptoPrimitives
import Transport

/// Base OT: the Chou–Orlandi "simplest OT" (LATINCRYPT 2015) over P-256, batched. Only a few
/// hundred of these public-key OTs ever run (they seed the IKNP extension); everything else is
/// symmetric-key.
///
/// Who holds what: the sender ends with `count` random key pairs (k0_j, k1_j); the receiver, with
/// choice bits c_j, ends with k_{c_j, j}. Revealed: nothing beyond that in the semi-honest model —
/// the receiver's points B_j are uniform whatever c_j is, and k_{1−c_j, j} needs the discrete log
/// of A (computational Diffie–Hellman). Keys are SHA-256 over a domain label, the instance index
/// and the encoded points, truncated to 128 bits. Each party checks that every point it receives is
/// a finite point on the curve (`OTError.invalidPoint` otherwise).
///
/// Messages: sender → receiver one point A (65 bytes); receiver → sender `count` points B_j.
/// Either side's steps can be interleaved with another instance running the other way, which is
/// how `IKNPObliviousTransfer` sets up both directions in one round trip.
enum ChouOrlandiBaseOT {
    static let domain = Array("SecureValidation/ChouOrlandi-OT/P-256/v1".utf8)

    /// Derives k = SHA-256(domain ‖ j ‖ A ‖ B_j ‖ P)[0..<16].
    static func deriveKey(_ hasher: SHA256Hasher, index: Int, a: [UInt8], b: UnsafeRawBufferPointer, shared: [UInt8]) -> Block {
        var j = UInt64(index).littleEndian
        return withUnsafeBytes(of: &j) { jBytes in
            domain.withUnsafeBytes { d in
                a.withUnsafeBytes { aBytes in
                    shared.withUnsafeBytes { s in
                        hasher.block([d, jBytes, aBytes, b, s])
                    }
                }
            }
        }
    }

    /// The sender's side of one batch.
    final class Sender {
        let count: Int
        private let curve: P256
        private let secret: P256.Scalar
        /// The first message: A = a·G, encoded.
        let firstMessage: [UInt8]
        /// a·A, so that a·(B − A) = a·B − a·A costs one addition.
        private let negatedAA: P256.Point

        /// Step 1: draw a ∈ Z_q \ {0} and set A = a·G.
        init(count: Int, curve: P256, randomness: SecretRandomness) throws {
            self.count = count
            self.curve = curve
            secret = try curve.randomScalar(randomness)
            let a = try curve.multiplyGenerator(secret)
            firstMessage = try curve.encode(a)
            negatedAA = try curve.negate(try curve.multiply(a, secret))
        }

        /// Step 3: for each received B_j (validated), k0_j = KDF(j, A, B_j, a·B_j) and
        /// k1_j = KDF(j, A, B_j, a·B_j − a·A).
        func keys(fromReply reply: UnsafeRawBufferPointer) throws -> (k0: [Block], k1: [Block]) {
            let size = P256.encodedSize
            guard reply.count == count * size else {
                throw OTError.invalidArgument("base-OT reply of \(reply.count) bytes, expected \(count * size)")
            }
            let hasher = SHA256Hasher()
            var k0 = [Block](), k1 = [Block]()
            k0.reserveCapacity(count)
            k1.reserveCapacity(count)
            for j in 0..<count {
                let bBytes = UnsafeRawBufferPointer(rebasing: reply[(j * size)..<((j + 1) * size)])
                let b = try curve.decode(bBytes, message: "base-OT point B", index: j)
                let ab = try curve.multiply(b, secret)
                let abMinusAA = try curve.add(ab, negatedAA)
                k0.append(deriveKey(hasher, index: j, a: firstMessage, b: bBytes, shared: try curve.encode(ab)))
                k1.append(deriveKey(hasher, index: j, a: firstMessage, b: bBytes, shared: try curve.encode(abMinusAA)))
            }
            return (k0, k1)
        }
    }

    /// The receiver's side of one batch.
    final class Receiver {
        private let choices: [Bool]
        private let curve: P256
        private let randomness: SecretRandomness

        init(choices: [Bool], curve: P256, randomness: SecretRandomness) {
            self.choices = choices
            self.curve = curve
            self.randomness = randomness
        }

        /// Step 2: validate A; for each j draw b_j, send B_j = b_j·G + c_j·A (both candidates are
        /// computed and encoded, and the encoding is selected with a mask, so timing does not depend
        /// on c_j); the key is k_j = KDF(j, A, B_j, b_j·A).
        func reply(toFirstMessage first: UnsafeRawBufferPointer) throws -> (reply: [UInt8], keys: [Block]) {
            let a = try curve.decode(first, message: "base-OT point A", index: 0)
            let aBytes = Array(first)
            let size = P256.encodedSize
            let hasher = SHA256Hasher()
            var reply = [UInt8](repeating: 0, count: choices.count * size)
            var keys = [Block]()
            keys.reserveCapacity(choices.count)
            var plain = [UInt8](repeating: 0, count: size), shifted = [UInt8](repeating: 0, count: size)
            for (j, choice) in choices.enumerated() {
                let b = try curve.randomScalar(randomness)
                let bG = try curve.multiplyGenerator(b)
                try plain.withUnsafeMutableBytes { try curve.encode(bG, into: $0) }
                try shifted.withUnsafeMutableBytes { try curve.encode(try curve.add(bG, a), into: $0) }
                let mask = UInt8(0) &- (choice ? 1 : 0)
                for i in 0..<size { reply[j * size + i] = plain[i] ^ ((plain[i] ^ shifted[i]) & mask) }
                let shared = try curve.encode(try curve.multiply(a, b))
                let key = reply.withUnsafeBytes { r in
                    deriveKey(hasher, index: j, a: aBytes, b: UnsafeRawBufferPointer(rebasing: r[(j * size)..<((j + 1) * size)]), shared: shared)
                }
                keys.append(key)
            }
            return (reply, keys)
        }
    }

    /// Runs the sender's side over a channel on its own (steps 1–3): `count` random key pairs.
    static func send(count: Int, channel: Channel, randomness: SecretRandomness) throws -> (k0: [Block], k1: [Block]) {
        let sender = try Sender(count: count, curve: try P256(), randomness: randomness)
        try channel.send(sender.firstMessage)
        try channel.flush()
        let reply: [UInt8] = try channel.receive(count: count * P256.encodedSize)
        return try reply.withUnsafeBytes { try sender.keys(fromReply: $0) }
    }

    /// Runs the receiver's side over a channel on its own: the chosen key of each instance.
    static func receive(choices: [Bool], channel: Channel, randomness: SecretRandomness) throws -> [Block] {
        let receiver = Receiver(choices: choices, curve: try P256(), randomness: randomness)
        let first: [UInt8] = try channel.receive(count: P256.encodedSize)
        let (reply, keys) = try first.withUnsafeBytes { try receiver.reply(toFirstMessage: $0) }
        try channel.send(reply)
        try channel.flush()
        return keys
    }
}
