import Datasets
import Foundation
import IR
import ONNX
import Protocols
import RingArithmetic
import Testing
import Transport
@testable import Validation
import TestSupport


/// A party's journal kept in memory, with the ledger's keep-the-two-latest rule; it can be told to
/// fail (as a crash or a full disk would) when asked to save a given batch.
final class MemoryJournal: SessionJournal, @unchecked Sendable {
    var starts: [SessionStart] = []
    var saved: [String: [Int: [UInt8]]] = [:]
    var finishedValidations: [String] = []
    var failAtBatch: Int?
    var refusal: String?
    var asked: [(String, SessionStart)] = []

    struct Crash: Error {}

    func started(_ start: SessionStart) throws { starts.append(start) }
    func refusalToResume(_ validation: String, as start: SessionStart) throws -> String? {
        asked.append((validation, start))
        return refusal
    }
    func checkpoints(of validation: String) throws -> [Int: [UInt8]] { saved[validation] ?? [:] }
    func saveCheckpoint(of validation: String, batchIndex: Int, share: [UInt8]) throws {
        if batchIndex == failAtBatch { throw Crash() }
        var kept = saved[validation] ?? [:]
        kept[batchIndex] = share
        for index in kept.keys where index > batchIndex { kept[index] = nil }
        let latestTwo = kept.keys.sorted().suffix(2)
        for index in kept.keys where !latestTwo.contains(index) { kept[index] = nil }
        saved[validation] = kept
    }
    func finished(_ validation: String) throws {
        finishedValidations.append(validation)
        saved[validation] = nil
    }

    // Pool parts, as the ledger keeps them.
    var parts: [String: [PoolPartRecord]] = [:]
    var opened: [String: String] = [:]
    func partCompleted(_ record: PoolPartRecord) throws { parts[record.part.pool, default: []].append(record) }
    func poolParts(_ pool: String) throws -> [PoolPartRecord] { (parts[pool] ?? []).sorted { $0.part.index < $1.part.index } }
    func poolOpened(_ pool: String) throws -> String? { opened[pool] }
    func markPoolOpened(_ pool: String, by sessionID: String) throws { opened[pool] = sessionID }
}

/// Runs one session with journals, an optional resume and `lanes` lanes, both parties on threads.
func runSession(_ server: ValidationServer, _ client: ValidationClient, vendorJournal: MemoryJournal?,
                hospitalJournal: MemoryJournal?, resume: String? = nil, lanes: Int = 1, peer: String? = nil)
    -> (Result<ValidationResult, Error>, Result<ValidationResult, Error>) {
    let pairs = LaneChannelPairs((1..<max(lanes, 1)).map { _ in MemoryChannel.pair(timeout: 300) })
    let r = TwoPartyRunner.outcomes(timeout: 300, vendor: { a in
        do {
            return try server.serve(channel: a, peer: peer, journal: vendorJournal,
                                    acceptLane: lanes > 1 ? { _ in try pairs.next(for: .vendor) } : nil)
        } catch { pairs.closeAll(); throw error }
    }, hospital: { b in
        do {
            return try client.run(channel: b, journal: hospitalJournal, resume: resume,
                                  connectLane: lanes > 1 ? { try pairs.next(for: .hospital) } : nil)
        } catch { pairs.closeAll(); throw error }
    })
    return (r.vendor, r.hospital)
}

@Suite("Resume: an interrupted validation continues from the last batch both parties completed")
struct ResumeTests {
    let graph: Graph
    let format: FixedPointFormat
    let data: any Dataset
    let server: ValidationServer
    let client: ValidationClient

    init() throws {
        graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        format = try FixedPointFormat(ringBits: 40, scale: 14)
        data = try openDataset(path: path("Datasets/breast-cancer-test"))
        server = try ValidationServer(modelName: "mlp", graph: graph, format: format, formatReason: "test", policy: .init(minimumImages: 10))
        // 143 images in batches of 16: nine batches, the last one of 15.
        client = try ValidationClient(dataset: data, batch: 16)
    }

    @Test("a run cut after batch 4 and resumed gives the uninterrupted run's count; each party kept two checkpoints")
    func resumedRunGivesTheSameCount() throws {
        let uninterrupted = try runSession(server, client, vendorJournal: nil, hospitalJournal: nil).1.get()

        let vendorJournal = MemoryJournal(), hospitalJournal = MemoryJournal()
        hospitalJournal.failAtBatch = 4  // the hospital "crashes" before recording batch 4 (0-based)
        let (v, h) = runSession(server, client, vendorJournal: vendorJournal, hospitalJournal: hospitalJournal)
        #expect(throws: MemoryJournal.Crash.self) { try h.get() }
        #expect(throws: (any Error).self) { try v.get() }
        let validation = try #require(hospitalJournal.starts.first?.sessionID)
        #expect(vendorJournal.starts.first?.sessionID == validation)
        #expect(Set(hospitalJournal.saved[validation]!.keys) == [2, 3])
        // The vendor is at most one batch ahead: it holds {2, 3} or {3, 4}.
        let vendorKept = Set(vendorJournal.saved[validation]!.keys)
        #expect(vendorKept == [2, 3] || vendorKept == [3, 4])
        // Shares alone are not the count: the two shares of batch 3 add up to it, each differs from it.
        let hShare = try #require(CheckpointShare.decode(hospitalJournal.saved[validation]![3]!, bits: 40, count: 1))
        let vShare = try #require(CheckpointShare.decode(vendorJournal.saved[validation]![3]!, bits: 40, count: 1))
        let countAfterFour = (hShare.values[0] &+ vShare.values[0]) & hShare.mask
        #expect(countAfterFour <= 64 && countAfterFour >= 50)
        hospitalJournal.failAtBatch = nil

        let (v2, h2) = runSession(server, client, vendorJournal: vendorJournal, hospitalJournal: hospitalJournal, resume: validation)
        let vendor = try v2.get(), hospital = try h2.get()
        #expect(hospital.correct == uninterrupted.correct)
        #expect(vendor.correct == uninterrupted.correct)
        #expect(hospital.total == 143)
        #expect(hospital.resumes == validation && vendor.resumes == validation)
        #expect(hospital.imagesFromCheckpoint == 64)  // batches 0…3
        #expect(hospital.sessionID != validation)  // a new session, bound to a new handshake
        #expect(hospitalJournal.starts.last?.resumes == validation)
        // Both asked their journal whether to continue, with the resumed run's parameters.
        #expect(vendorJournal.asked.map(\.0) == [validation] && hospitalJournal.asked.map(\.0) == [validation])
        // Completed: the checkpoints are gone, so it cannot be resumed again.
        #expect(vendorJournal.finishedValidations == [validation] && hospitalJournal.finishedValidations == [validation])
        #expect(vendorJournal.saved[validation] == nil && hospitalJournal.saved[validation] == nil)
    }

    @Test("two lanes: the same count as one lane, checkpoints every two batches, and a two-lane run resumes")
    func twoLanes() throws {
        let oneLane = try runSession(server, client, vendorJournal: nil, hospitalJournal: nil).1.get()
        let (v, h) = runSession(server, client, vendorJournal: nil, hospitalJournal: nil, lanes: 2)
        let vendor = try v.get(), hospital = try h.get()
        #expect(hospital.correct == oneLane.correct && vendor.correct == oneLane.correct)
        #expect(hospital.lanes == 2 && vendor.lanes == 2)
        #expect(hospital.bytesSent > 0 && (hospital.cpuSeconds ?? 0) > 0)

        let vendorJournal = MemoryJournal(), hospitalJournal = MemoryJournal()
        hospitalJournal.failAtBatch = 5  // the group of batches 4 and 5
        _ = runSession(server, client, vendorJournal: vendorJournal, hospitalJournal: hospitalJournal, lanes: 2)
        let validation = try #require(hospitalJournal.starts.first?.sessionID)
        #expect(Set(hospitalJournal.saved[validation]!.keys) == [1, 3])
        hospitalJournal.failAtBatch = nil
        let (v2, h2) = runSession(server, client, vendorJournal: vendorJournal, hospitalJournal: hospitalJournal,
                                  resume: validation, lanes: 2)
        #expect(try h2.get().correct == oneLane.correct)
        #expect(try v2.get().correct == oneLane.correct)
        #expect(try h2.get().imagesFromCheckpoint == 64)
    }

    @Test("a vendor that keeps no prepared kernels (over its memory budget) prepares each layer per batch: same count")
    func kernelsPreparedPerBatch() throws {
        let kept = try runSession(server, client, vendorJournal: nil, hospitalJournal: nil).1.get()
        let frugal = try ValidationServer(modelName: "mlp", graph: graph, format: format, formatReason: "test", policy: .init(minimumImages: 10),
                                          kernelBudgetBytes: 0)
        let (v, h) = runSession(frugal, client, vendorJournal: nil, hospitalJournal: nil)
        #expect(try h.get().correct == kept.correct)
        #expect(try v.get().correct == kept.correct)
        // 143 images in batches of 16: 9 batches, each preparing every linear layer again.
        let layers = server.program.instructions.filter { $0.kind == .linear }.count
        #expect(frugal.prepared.preparations == 9 * layers)
        #expect(frugal.prepared.keptKernelBytes == 0)
    }

    @Test("the vendor prepares each layer's kernels once per process: a second session and a second lane prepare nothing")
    func kernelsPreparedOncePerProcess() throws {
        let fresh = try ValidationServer(modelName: "mlp", graph: graph, format: format, formatReason: "test", policy: .init(minimumImages: 10))
        let layers = fresh.program.instructions.filter { $0.kind == .linear }.count
        #expect(fresh.prepared.preparations == 0)
        let first = try runSession(fresh, client, vendorJournal: nil, hospitalJournal: nil, lanes: 2).1.get()
        // Two plans per layer: batches of 16 and the last batch of 15.
        #expect(fresh.prepared.preparations == 2 * layers)
        let second = try runSession(fresh, client, vendorJournal: nil, hospitalJournal: nil, lanes: 2).1.get()
        #expect(second.correct == first.correct)
        #expect(fresh.prepared.preparations == 2 * layers)
        #expect(fresh.prepared.keptKernelBytes > 0)
    }

    @Test("with no common checkpoint the resumed run starts from the first batch and still counts right")
    func noCommonCheckpointStartsOver() throws {
        let uninterrupted = try runSession(server, client, vendorJournal: nil, hospitalJournal: nil).1.get()
        let vendorJournal = MemoryJournal(), hospitalJournal = MemoryJournal()
        hospitalJournal.failAtBatch = 0
        _ = runSession(server, client, vendorJournal: vendorJournal, hospitalJournal: hospitalJournal)
        let validation = try #require(hospitalJournal.starts.first?.sessionID)
        #expect(hospitalJournal.saved[validation] == nil)
        hospitalJournal.failAtBatch = nil
        let (v, h) = runSession(server, client, vendorJournal: vendorJournal, hospitalJournal: hospitalJournal, resume: validation)
        #expect(try h.get().correct == uninterrupted.correct)
        #expect(try v.get().correct == uninterrupted.correct)
        #expect(try h.get().imagesFromCheckpoint == 0)
    }

    @Test("the vendor refuses a resume its journal rejects, or when it keeps no journal; nothing is computed")
    func refusals() throws {
        let vendorJournal = MemoryJournal(), hospitalJournal = MemoryJournal()
        vendorJournal.refusal = "the model commitment differs"
        let (v, h) = runSession(server, client, vendorJournal: vendorJournal, hospitalJournal: hospitalJournal, resume: "ab12cd34")
        #expect(throws: ValidationError.refused("the model commitment differs")) { try h.get() }
        #expect(throws: ValidationError.refused("the model commitment differs")) { try v.get() }
        #expect(vendorJournal.starts.isEmpty && hospitalJournal.starts.isEmpty)

        let (v2, h2) = runSession(server, client, vendorJournal: nil, hospitalJournal: hospitalJournal, resume: "ab12cd34")
        #expect(throws: ValidationError.refused("this vendor keeps no ledger, so it cannot resume a validation")) { try h2.get() }
        #expect(throws: (any Error).self) { try v2.get() }

        // The hospital's own journal refuses (e.g. another dataset): it ends the session itself.
        hospitalJournal.refusal = "the dataset commitment differs"
        let (v3, h3) = runSession(server, client, vendorJournal: MemoryJournal(), hospitalJournal: hospitalJournal, resume: "ab12cd34")
        #expect(throws: ValidationError.resumeRefused("the dataset commitment differs")) { try h3.get() }
        #expect(throws: ValidationError.aborted("the hospital ended the session: the hospital cannot resume this validation (details stay with the hospital)")) { try v3.get() }
    }

    @Test("a damaged checkpoint is refused, not used")
    func damagedCheckpoint() throws {
        let vendorJournal = MemoryJournal(), hospitalJournal = MemoryJournal()
        hospitalJournal.failAtBatch = 2
        _ = runSession(server, client, vendorJournal: vendorJournal, hospitalJournal: hospitalJournal)
        let validation = try #require(hospitalJournal.starts.first?.sessionID)
        hospitalJournal.failAtBatch = nil
        vendorJournal.saved[validation]![1] = [40, 1, 2, 3]  // truncated
        let (v, h) = runSession(server, client, vendorJournal: vendorJournal, hospitalJournal: hospitalJournal, resume: validation)
        #expect(throws: (any Error).self) { try h.get() }
        guard case .failure(ValidationError.refused(let reason)) = v else { Issue.record("expected a refusal, got \(v)"); return }
        #expect(reason.contains("damaged"))
    }

    @Test("checkpoint shares round-trip and reject the wrong width or length")
    func checkpointEncoding() {
        let share = ArithmeticShare(bits: 40, values: [(1 << 40) - 1])
        let bytes = CheckpointShare.encode(share)
        #expect(bytes.count == 9)
        #expect(CheckpointShare.decode(bytes, bits: 40, count: 1) == share)
        #expect(CheckpointShare.decode(bytes, bits: 41, count: 1) == nil)
        #expect(CheckpointShare.decode(Array(bytes.dropLast()), bits: 40, count: 1) == nil)
        #expect(CheckpointShare.decode([40] + [UInt8](repeating: 0xFF, count: 8), bits: 40, count: 1) == nil)  // above 2^40
        #expect(commonCheckpoint([3, 4], [2, 3]) == 3)
        #expect(commonCheckpoint([5], [2, 3]) == nil)
    }
}
