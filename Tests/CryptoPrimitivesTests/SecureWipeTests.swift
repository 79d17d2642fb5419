import CryptoPrimitives
import Testing

@Suite struct SecureWipeTests {
    @Test func wipesBuffersArraysAndValues() {
        let buffer = UnsafeMutablePointer<UInt64>.allocate(capacity: 100)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: .max, count: 100)
        SecureWipe.wipe(buffer, count: 99)
        #expect((0..<99).allSatisfy { buffer[$0] == 0 })
        #expect(buffer[99] == .max)   // exactly the count given

        var array: [Int8] = [1, -1, 3]
        SecureWipe.wipe(&array)
        #expect(array == [0, 0, 0])

        var key = Block(low: 0xdead, high: 0xbeef)
        SecureWipe.wipe(&key)
        #expect(key == .zero)
    }
}
