import CryptoPrimitives
import OT
import Transport

/// An **insecure** stand-in for oblivious transfer, for tests only: the sender sends every message
/// in the clear and the receiver picks. It has the interface and the message-flow shape of a real
/// OT (one sender→receiver message per call), so protocols can be tested before the real engine
/// exists and against it afterwards. Never use it outside tests: the receiver learns everything.
/// `chosenExchange1ofN` is the protocol's default (the two directions one after the other).
final class InsecureIdealOT: ObliviousTransfer {
    let channel: any Channel
    let prg = AESPRG()

    init(channel: any Channel) { self.channel = channel }

    private static func mask(_ bits: Int) -> UInt64 { bits >= 64 ? .max : (1 << UInt64(bits)) &- 1 }

    func randomSend(count: Int) throws -> (m0: [Block], m1: [Block]) {
        let m0 = prg.blocks(count), m1 = prg.blocks(count)
        try channel.send(m0)
        try channel.send(m1)
        try channel.flush()
        return (m0, m1)
    }

    func randomReceive(choices: [Bool]) throws -> [Block] {
        let m0 = try channel.receive(Block.self, count: choices.count)
        let m1 = try channel.receive(Block.self, count: choices.count)
        return choices.indices.map { choices[$0] ? m1[$0] : m0[$0] }
    }

    func correlatedSend(deltas: [UInt64], bits: Int) throws -> [UInt64] {
        let x = prg.ringElements(deltas.count, bits: bits)
        try channel.send(x)
        try channel.send(deltas)
        try channel.flush()
        return x
    }

    func correlatedReceive(choices: [Bool], bits: Int) throws -> [UInt64] {
        let x = try channel.receive(UInt64.self, count: choices.count)
        let d = try channel.receive(UInt64.self, count: choices.count)
        let m = Self.mask(bits)
        return choices.indices.map { (x[$0] &+ (choices[$0] ? d[$0] : 0)) & m }
    }

    func randomBitSend(count: Int, width: Int) throws -> (m0: [UInt64], m1: [UInt64]) {
        let words = (count + 63) / 64, pad = Self.padMask(count)
        var m0 = prg.words(words * width), m1 = prg.words(words * width)
        for j in 0..<width where words > 0 { m0[j * words + words - 1] &= pad; m1[j * words + words - 1] &= pad }
        try channel.send(m0)
        try channel.send(m1)
        try channel.flush()
        return (m0, m1)
    }

    func randomBitReceive(count: Int, width: Int) throws -> (choices: [UInt64], messages: [UInt64]) {
        let words = (count + 63) / 64
        var c = prg.words(words)
        if words > 0 { c[words - 1] &= Self.padMask(count) }
        let m0 = try channel.receive(UInt64.self, count: words * width), m1 = try channel.receive(UInt64.self, count: words * width)
        return (c, (0..<(words * width)).map { (m0[$0] & ~c[$0 % words]) | (m1[$0] & c[$0 % words]) })
    }

    /// Both messages in the clear.
    var bitsPerRandomBitOT: Double { 2 }

    /// The bits of the last word that hold instances.
    private static func padMask(_ count: Int) -> UInt64 { count % 64 == 0 ? .max : (1 << UInt64(count % 64)) &- 1 }

    func chosenSend(m0: [UInt64], m1: [UInt64], bits: Int) throws {
        try channel.send(m0)
        try channel.send(m1)
        try channel.flush()
    }

    func chosenReceive(choices: [Bool], bits: Int) throws -> [UInt64] {
        let m0 = try channel.receive(UInt64.self, count: choices.count)
        let m1 = try channel.receive(UInt64.self, count: choices.count)
        let m = Self.mask(bits)
        return choices.indices.map { (choices[$0] ? m1[$0] : m0[$0]) & m }
    }

    func chosenSend1ofN(messages: [UInt64], n: Int, bits: Int) throws {
        try channel.send(messages)
        try channel.flush()
    }

    func chosenReceive1ofN(choices: [UInt8], n: Int, bits: Int) throws -> [UInt64] {
        let all = try channel.receive(UInt64.self, count: choices.count * n)
        let m = Self.mask(bits)
        return choices.indices.map { all[$0 * n + Int(choices[$0])] & m }
    }
}
