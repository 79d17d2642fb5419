import COpenSSL
import CryptoPrimitives
#if canImport(Glibc)
import Glibc
#endif

/// A large block buffer for Ferret's iteration state, zeroed at allocation (so its page faults
/// happen at set-up, not in the first iteration) and cleansed at release. It is allocated on
/// 2 MiB boundaries and, on Linux, advised for transparent huge pages (`madvise(MADV_HUGEPAGE)`),
/// since the LPN encoder reads the 9.4 MB secret u at random; measured side by side on this
/// machine, with the encoder's prefetching the advice makes no difference beyond noise (±10%),
/// so it stays as a hint only.
final class BlockBuffer {
    let pointer: UnsafeMutablePointer<Block>
    let count: Int

    init(count: Int) {
        let alignment = 2 << 20
        let bytes = max(count, 1) * MemoryLayout<Block>.stride
        let rounded = (bytes + alignment - 1) / alignment * alignment
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, alignment, rounded) == 0, let raw else {
            fatalError("out of memory: \(rounded) bytes for a Ferret buffer")
        }
        #if os(Linux)
        _ = madvise(raw, rounded, MADV_HUGEPAGE)     // advice only: without huge pages it still works
        #endif
        memset(raw, 0, rounded)
        pointer = raw.bindMemory(to: Block.self, capacity: count)
        self.count = count
    }

    deinit {
        SecureWipe.wipe(pointer, count: count)
        free(UnsafeMutableRawPointer(pointer))
    }
}
