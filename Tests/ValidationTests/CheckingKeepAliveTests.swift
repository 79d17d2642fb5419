import Datasets
import Foundation
import IR
import ONNX
import Reference
import RingArithmetic
import Testing
import Transport
@testable import Validation
import TestSupport

/// While the hospital checks its whole test set (minutes for a large image folder), the vendor
/// waits for the request at most its timeout per message: the hospital's `checking` messages
/// keep that wait alive, and the vendor refuses ones that do not count forward.
@Suite("The hospital's check of its test set keeps the vendor waiting")
struct CheckingKeepAliveTests {
    /// The hospital "checks" 150 images in 15 steps of 0.2 s (3 s in all) on a channel whose every
    /// wait gives up after 1 s, then aborts; the vendor waits for its answer.
    func slowCheck(interval: Double?) -> (vendor: Result<(SessionMessage, [Int]), any Error>, beaconSent: Int) {
        let seen = Outcome<[Int]>()
        let sent = Outcome<Int>()
        let outcome = TwoPartyRunner.outcomes(timeout: 1, vendor: { channel in
            var counts: [Int] = []
            let message = try SessionMessage.receiveRequest(on: channel) { checked, images in
                #expect(images == 150)
                counts.append(checked)
            }
            seen.value = .success(counts)
            return message
        }, hospital: { channel in
            let beacon = CheckingBeacon(channel: channel, interval: interval)
            defer { sent.value = .success(beacon.sent) }
            for step in 1...15 {
                Thread.sleep(forTimeInterval: 0.2)
                try beacon.update(checked: 10 * step, of: 150)
            }
            try SessionMessage.send(.abort(.init(reason: "checked")), on: channel)
        })
        let sentCount = (try? sent.value?.get()) ?? -1
        return (outcome.vendor.map { ($0, (try? seen.value?.get()) ?? []) }, sentCount)
    }

    @Test("with the beacon, a 3-second check outlasts a 1-second wait: the vendor sees the counts go up, then the hospital's answer")
    func beaconKeepsTheVendorWaiting() throws {
        let (vendor, sent) = slowCheck(interval: 0.15)
        let (message, counts) = try vendor.get()
        guard case .abort(let abort) = message else { Issue.record("expected the hospital's abort, got \(message.kind)"); return }
        #expect(abort.reason == "checked")
        // Every step but the last (150 of 150: the answer follows at once) sent one message.
        #expect(sent == 14)
        #expect(counts == Array(stride(from: 10, through: 140, by: 10)))
    }

    @Test("without it the same check ends the vendor's wait with a timeout")
    func withoutBeaconTheVendorTimesOut() {
        let (vendor, sent) = slowCheck(interval: nil)
        #expect(sent == 0)
        #expect(throws: TransportError.timeout(seconds: 1)) { _ = try vendor.get() }
    }

    @Test("progress that does not count forward within one total, or a request naming another total, is a protocol violation")
    func watchRefusesInconsistentProgress() throws {
        var watch = CheckingWatch()
        try watch.confirm(requestImages: 7)      // no check progress: any request
        try watch.accept(.init(checked: 64, images: 200))
        try watch.accept(.init(checked: 128, images: 200))
        #expect(throws: TransportError.protocolViolation("the hospital's check progress went from 128 to 128 images instead of forward")) {
            try watch.accept(.init(checked: 128, images: 200))
        }
        #expect(throws: TransportError.protocolViolation("the hospital's check progress changed its total from 200 to 300 images")) {
            try watch.accept(.init(checked: 192, images: 300))
        }
        #expect(throws: TransportError.protocolViolation("the hospital reported checking 201 of 200 images")) {
            try watch.accept(.init(checked: 201, images: 200))
        }
        #expect(throws: TransportError.protocolViolation("the hospital reported checking 0 of 200 images")) {
            try watch.accept(.init(checked: 0, images: 200))
        }
        try watch.confirm(requestImages: 200)
        #expect(throws: TransportError.protocolViolation("the hospital checked a test set of 200 images but its request names 199")) {
            try watch.confirm(requestImages: 199)
        }
    }

    @Test("a `checking` message after the request was due is refused like any message out of order")
    func checkingOnlyBeforeTheRequest() throws {
        let (a, b) = MemoryChannel.pair(timeout: 5)
        try SessionMessage.send(.checking(.init(checked: 1, images: 2)), on: a)
        #expect(throws: TransportError.protocolViolation("the peer sent a check progress where a decision was due")) {
            _ = try SessionMessage.receiveDecision(on: b)
        }
    }

    @Test("a whole session whose hospital reports its check: the vendor sees it, and the count still equals the fixed-point reference")
    func sessionReportsTheCheck() throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        let format = try FixedPointFormat(ringBits: 40, scale: 14)
        let data = try openDataset(path: path("Datasets/breast-cancer-test"))
        let server = try ValidationServer(modelName: "mlp", graph: graph, format: format, formatReason: "test",
                                          policy: .init(minimumImages: 10), otEngine: .iknp)
        // Interval 0: a message after every part of the check that is not the last (64 and 128 of 143).
        let client = try ValidationClient(dataset: data, batch: 72, otEngine: .iknp, checkingInterval: 0)
        let seen = Outcome<[Int]>()
        let outcome = TwoPartyRunner.outcomes(timeout: 300, vendor: { channel in
            var counts: [Int] = []
            let result = try server.serve(channel: channel, checking: { checked, images in
                #expect(images == 143)
                counts.append(checked)
            })
            seen.value = .success(counts)
            return result
        }, hospital: { channel in try client.run(channel: channel) })
        let vendor = try outcome.vendor.get(), hospital = try outcome.hospital.get()
        #expect(try seen.value?.get() == [64, 128])
        let batch = try data.batch(0..<data.count)
        let logits = try FixedPointExecutor(graph: graph, format: format).run(batch.features, batch: data.count)
        let expected = (0..<data.count).filter { argmax(logits[($0 * graph.classCount)..<(($0 + 1) * graph.classCount)]) == batch.labels[$0] }.count
        #expect(vendor.correct == expected && hospital.correct == expected)
    }
}
