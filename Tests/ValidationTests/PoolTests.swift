import Commitments
import Compiler
import Datasets
import Foundation
import IR
import ONNX
import Reference
import Protocols
import RingArithmetic
import Testing
import Transport
@testable import Validation
import TestSupport

/// Runs a pool's opening: the vendor (its journal holds its part shares; `peer` is the aggregator's
/// certificate) against the aggregator with `records`.
/// With `aggregatorSigner` the aggregator asks for a signed report (the vendor signs with `vendorSigner`).
func runPoolOpening(_ server: ValidationServer, vendorJournal: MemoryJournal, peer: String?, records: [PoolPartRecord],
                    aggregatorJournal: MemoryJournal?, vendorSigner: ReportSigner? = nil, aggregatorSigner: ReportSigner? = nil)
    -> (Result<ValidationResult, Error>, Result<ValidationResult, Error>) {
    let r = TwoPartyRunner.outcomes(timeout: 300, vendor: { a in
        try server.serve(channel: a, peer: peer, journal: vendorJournal, report: vendorSigner)
    }, hospital: { b in
        try ValidationClient.openPool(records: records, channel: b, journal: aggregatorJournal, report: aggregatorSigner)
    })
    return (r.vendor, r.hospital)
}

@Suite("Pooled validation: parts that open nothing, one opening over their union")
struct PoolTests {
    let graph: Graph
    let format: FixedPointFormat
    let data: any Dataset
    let sites: [any Dataset]
    let names = ["site-a", "site-b", "site-c"]
    /// One model salt for every server of a test: the same model commitment.
    let salt = CommitmentSalt.random()

    init() throws {
        graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        format = try FixedPointFormat(ringBits: 40, scale: 14)
        let whole = try openDataset(path: path("Datasets/breast-cancer-test"))
        data = whole
        // Three sites of 47, 48 and 48 images.
        sites = try (0..<3).map { try DatasetShard(whole, index: $0, of: 3) }
    }

    func server(minimumImages: Int = 100) throws -> ValidationServer {
        try ValidationServer(modelName: "mlp", graph: graph, format: format, formatReason: "test",
                             policy: .init(minimumImages: minimumImages, allowedMetrics: [.accuracy, .threshold]), modelSalt: salt)
    }

    func referenceCount(_ set: any Dataset) throws -> Int {
        let batch = try set.batch(0..<set.count)
        let logits = try FixedPointExecutor(graph: graph, format: format).run(batch.features, batch: set.count)
        let k = graph.classCount
        return (0..<set.count).filter { argmax(logits[($0 * k)..<(($0 + 1) * k)]) == batch.labels[$0] }.count
    }

    /// Runs the three sites' parts against one vendor; returns the vendor's journal and each site's.
    func runParts(_ server: ValidationServer, pool: String, metric: Metric = .accuracy,
                  vendorJournal: MemoryJournal = MemoryJournal()) throws -> (MemoryJournal, [MemoryJournal], [ValidationResult]) {
        var siteJournals: [MemoryJournal] = []
        var vendorResults: [ValidationResult] = []
        for (i, site) in sites.enumerated() {
            let part = try PoolPart(pool: pool, index: i, parts: sites.count)
            let client = try ValidationClient(dataset: site, metric: metric, batch: 16, part: part)
            let journal = MemoryJournal()
            let (v, h) = runSession(server, client, vendorJournal: vendorJournal, hospitalJournal: journal, peer: names[i])
            let vendor = try v.get(), hospital = try h.get()
            // A part opens nothing, to either party.
            for result in [vendor, hospital] {
                #expect(result.correct == nil && result.accuracy == nil && result.passed == nil)
                #expect(result.pool == pool && result.part == "\(i + 1)/3")
            }
            siteJournals.append(journal)
            vendorResults.append(vendor)
        }
        return (vendorJournal, siteJournals, vendorResults)
    }

    @Test("three sites and one vendor: the pooled count equals the fixed-point reference on the union; each part's shares add up to its own count")
    func pooledAccuracy() throws {
        let server = try server()
        let (vendorJournal, siteJournals, _) = try runParts(server, pool: "study-2026")
        // Each part's two shares reconstruct that site's count exactly (the re-randomisation keeps the sum).
        for (i, journal) in siteJournals.enumerated() {
            let ours = try #require(journal.parts["study-2026"]?.first)
            let theirs = try #require(vendorJournal.parts["study-2026"]?.first { $0.part.index == i })
            #expect(ours.validation == theirs.validation && theirs.site == names[i])
            let a = try #require(ours.decodedShare(bits: 40, count: 1)), b = try #require(theirs.decodedShare(bits: 40, count: 1))
            #expect(try a.adding(b).values == [UInt64(try referenceCount(sites[i]))])
        }
        // Site a is the aggregator: it holds its own share and the ones sites b and c sent it.
        let aggregator = MemoryJournal()
        aggregator.parts["study-2026"] = siteJournals.flatMap { $0.parts["study-2026"] ?? [] }
        let records = try aggregator.poolParts("study-2026")
        let (v, h) = runPoolOpening(server, vendorJournal: vendorJournal, peer: names[0], records: records, aggregatorJournal: aggregator)
        let vendor = try v.get(), hospital = try h.get()
        let expected = try referenceCount(data)
        #expect(vendor.correct == expected && hospital.correct == expected)
        #expect(vendor.total == 143 && hospital.pool == "study-2026" && hospital.parts == 3)
        #expect(vendor.sessionID == hospital.sessionID)
        #expect(vendor.datasetCommitment == PoolOpening.datasetCommitment(records))
        #expect(vendorJournal.opened["study-2026"] == vendor.sessionID && aggregator.opened["study-2026"] == hospital.sessionID)

        // Opened once: a second opening is refused before any computation.
        let (v2, h2) = runPoolOpening(server, vendorJournal: vendorJournal, peer: names[0], records: records, aggregatorJournal: nil)
        #expect(throws: ValidationError.refused("pool study-2026 was already opened (session \(vendor.sessionID.prefix(16))…)")) { try h2.get() }
        #expect(throws: (any Error).self) { try v2.get() }
    }

    @Test("a pool's opening signed by the vendor and the aggregator: one statement naming the pool and each part, the pooled count; it verifies")
    func signedPoolReport() throws {
        let server = try server()
        let (vendorJournal, siteJournals, vendorParts) = try runParts(server, pool: "signed-study")
        let records = siteJournals.flatMap { $0.parts["signed-study"] ?? [] }
        let pki = try ReportPKI()
        let (vendorSigner, aggregatorSigner) = try pki.signers()
        let (v, h) = runPoolOpening(server, vendorJournal: vendorJournal, peer: names[2], records: records, aggregatorJournal: nil,
                                    vendorSigner: vendorSigner, aggregatorSigner: aggregatorSigner)
        let vendor = try v.get(), hospital = try h.get()
        let expected = try referenceCount(data)
        #expect(vendor.correct == expected && hospital.correct == expected)
        #expect(vendor.reportFailure == nil && hospital.reportFailure == nil)
        let report = try #require(hospital.report)
        #expect(vendor.report == report)
        let statement = report.statement
        #expect(statement.opened.correct == expected && statement.images == 143)
        #expect(statement.datasetCommitment == PoolOpening.datasetCommitment(records))
        let pool = try #require(statement.pool)
        #expect(pool.name == "signed-study")
        #expect(pool.parts.map(\.part) == [1, 2, 3] && pool.parts.map(\.images) == sites.map(\.count))
        // Each part is named by its own validation, as the vendor recorded it when the part ran.
        #expect(pool.parts.map(\.validation) == vendorParts.map(\.sessionID))
        #expect(report.statementText.contains("\"pool\":{\"name\":\"signed-study\""))
        let directory = pki.temporaryDirectory("pool-report")
        try report.write(to: directory)
        let verified = try ReportVerifier.verify(directory, caFiles: [pki.files.ca])
        #expect(verified.summary.contains("pool: signed-study, 3 parts opened together (part 1: 47 images, part 2: 48 images, part 3: 48 images)"))
        let html = try String(contentsOfFile: directory + "/report.html", encoding: .utf8)
        #expect(html.contains("143 images (N) in the 3 parts of pool signed-study") && html.contains("Pool commitment"))
        #expect(html.contains("the pool's aggregator"))
    }

    @Test("a single session's statement has no pool field: its text is what it was before pools could be signed")
    func ordinaryStatementHasNoPool() throws {
        let session = SessionStart(sessionID: "ab", modelCommitment: "cd", datasetCommitment: "ef", programDigest: "01", metricAsked: "accuracy",
                                   images: 10, batch: 10, ringBits: 40, scale: 14, resumes: nil)
        let result = ValidationResult(metric: "accuracy", correct: 7, total: 10, accuracy: 0.7, threshold: nil, passed: nil, seconds: 0,
                                      bytesSent: 0, bytesReceived: 0, rounds: 0, ringBits: 40, scale: 14, batch: 10, programDigest: "01",
                                      sessionID: "ab", model: "m", modelCommitment: "cd", datasetCommitment: "ef")
        let statement = ValidationStatement(session: session, result: result, modelName: "m", date: Date(timeIntervalSince1970: 0),
                                            vendorCertificate: "AA", hospitalCertificate: "BB")
        #expect(statement.pool == nil && !statement.canonicalText.contains("pool"))
    }

    @Test("a threshold pool opens only whether the pooled accuracy reaches τ")
    func pooledThreshold() throws {
        let server = try server()
        let expected = Double(try referenceCount(data)) / 143
        for (name, tau) in [("low", expected - 0.01), ("high", expected + 0.01)] {
            let (vendorJournal, siteJournals, _) = try runParts(server, pool: "t-\(name)", metric: Metric(correct: .top1, opening: .atLeast(threshold: tau)))
            let records = siteJournals.flatMap { $0.parts["t-\(name)"] ?? [] }
            let (v, h) = runPoolOpening(server, vendorJournal: vendorJournal, peer: names[1], records: records, aggregatorJournal: nil)
            let vendor = try v.get(), hospital = try h.get()
            #expect(vendor.passed == (name == "low") && hospital.passed == (name == "low"))
            #expect(vendor.correct == nil && hospital.correct == nil)
        }
    }

    @Test("pooled sensitivity and specificity equal one session's over the union, bit for bit")
    func pooledSensSpec() throws {
        let server = try ValidationServer(modelName: "mlp", graph: graph, format: format, formatReason: "test",
                                          policy: .init(minimumImages: 100, allowedMetrics: [.scores(.sensSpec)]), modelSalt: salt)
        let metric = Metric.sensSpec(thresholds: [0.25, 0.5])
        let whole = try ValidationClient(dataset: data, metric: metric, batch: 32)
        let single = try runSession(server, whole, vendorJournal: nil, hospitalJournal: nil).1.get()
        let (vendorJournal, siteJournals, _) = try runParts(server, pool: "ss", metric: metric)
        let records = siteJournals.flatMap { $0.parts["ss"] ?? [] }
        #expect(records.first?.share.count == 1 + 8 * 4 * 2)
        let (v, h) = runPoolOpening(server, vendorJournal: vendorJournal, peer: names[0], records: records, aggregatorJournal: nil)
        let vendor = try v.get(), hospital = try h.get()
        #expect(single.sensitivity != nil && hospital.sensitivity == single.sensitivity && hospital.specificity == single.specificity)
        #expect(vendor.sensitivity == single.sensitivity && vendor.specificity == single.specificity && vendor.total == 143)
    }

    @Test("pooled AUROC (the sites' scores and shared labels sorted together) equals one session's over the union, bit for bit")
    func pooledAUROC() throws {
        let server = try ValidationServer(modelName: "mlp", graph: graph, format: format, formatReason: "test",
                                          policy: .init(minimumImages: 100, allowedMetrics: [.scores(.auroc)]), modelSalt: salt)
        let metric = Metric(scores: .auroc)
        let single = try runSession(server, try ValidationClient(dataset: data, metric: metric, batch: 32),
                                    vendorJournal: nil, hospitalJournal: nil).1.get()
        let (vendorJournal, siteJournals, _) = try runParts(server, pool: "auc", metric: metric)
        let records = siteJournals.flatMap { $0.parts["auc"] ?? [] }
        #expect(records.map(\.share.count) == records.map { 1 + 8 * 3 * $0.images * 2 })
        let (v, h) = runPoolOpening(server, vendorJournal: vendorJournal, peer: names[2], records: records, aggregatorJournal: nil)
        let vendor = try v.get(), hospital = try h.get()
        #expect(single.auroc != nil && hospital.auroc == single.auroc && vendor.auroc == single.auroc)
        #expect(hospital.macroAUROC == single.macroAUROC && vendor.total == 143)
    }

    @Test("the vendor refuses an opening with a part it did not complete, from a certificate that ran no part, or below its minimum")
    func refusals() throws {
        let server = try server()
        let (vendorJournal, siteJournals, _) = try runParts(server, pool: "p")
        let records = siteJournals.flatMap { $0.parts["p"] ?? [] }

        // The aggregator misses part 3: refused on its side before connecting.
        #expect(throws: ValidationError.invalidPool("pool p is missing part(s) 3 of 3")) {
            try ValidationClient.openPool(records: Array(records.prefix(2)), channel: MemoryChannel.pair().0)
        }
        // The vendor lost part 2 (say, another ledger): it refuses.
        let partial = MemoryJournal()
        partial.parts["p"] = vendorJournal.parts["p"]!.filter { $0.part.index != 1 }
        let (_, h) = runPoolOpening(server, vendorJournal: partial, peer: names[0], records: records, aggregatorJournal: nil)
        #expect(throws: ValidationError.refused("this vendor did not complete part(s) 2 of pool p (2 of 3 done)")) { try h.get() }
        // A certificate that ran none of the parts may not open the pool.
        let (_, h2) = runPoolOpening(server, vendorJournal: vendorJournal, peer: "outsider", records: records, aggregatorJournal: nil)
        #expect(throws: ValidationError.refused("only a site that ran a part of pool p may open it; this certificate (outsider…) ran none")) { try h2.get() }
        // A vendor whose minimum is above the pool's 143 images.
        let strict = try self.server(minimumImages: 200)
        let (_, h3) = runPoolOpening(strict, vendorJournal: vendorJournal, peer: names[0], records: records, aggregatorJournal: nil)
        #expect(throws: ValidationError.refused("pool p has 143 images together; this vendor requires at least 200")) { try h3.get() }
        // An index completed once is not run again.
        let again = try ValidationClient(dataset: sites[0], batch: 16, part: try PoolPart(pool: "p", index: 0, parts: 3))
        let (_, h4) = runSession(server, again, vendorJournal: vendorJournal, hospitalJournal: MemoryJournal(), peer: names[0])
        #expect(throws: (any Error).self) { try h4.get() }
        if case .failure(ValidationError.refused(let reason)) = h4 { #expect(reason.hasPrefix("part 1 of pool p was already completed")) }
        #expect(vendorJournal.opened["p"] == nil)
    }

    @Test("an interrupted part resumes from its checkpoint and pools to the same count")
    func resumedPart() throws {
        let server = try server()
        let vendorJournal = MemoryJournal()
        var siteJournals: [MemoryJournal] = []
        for (i, site) in sites.enumerated() {
            let part = try PoolPart(pool: "r", index: i, parts: 3)
            let client = try ValidationClient(dataset: site, batch: 16, part: part)
            let journal = MemoryJournal()
            if i == 1 {
                journal.failAtBatch = 2  // the second site "crashes" before recording its third batch
                let (_, h) = runSession(server, client, vendorJournal: vendorJournal, hospitalJournal: journal, peer: names[i])
                #expect(throws: MemoryJournal.Crash.self) { try h.get() }
                #expect(journal.parts["r"] == nil && vendorJournal.parts["r"]?.contains { $0.part.index == 1 } != true)
                journal.failAtBatch = nil
                let validation = try #require(journal.starts.first?.sessionID)
                let (v, h2) = runSession(server, client, vendorJournal: vendorJournal, hospitalJournal: journal, resume: validation, peer: names[i])
                #expect(try h2.get().imagesFromCheckpoint == 32 && (try v.get().part) == "2/3")
                #expect(journal.parts["r"]?.first?.validation == validation)
            } else {
                _ = try runSession(server, client, vendorJournal: vendorJournal, hospitalJournal: journal, peer: names[i]).1.get()
            }
            siteJournals.append(journal)
        }
        let records = siteJournals.flatMap { $0.parts["r"] ?? [] }
        let (v, h) = runPoolOpening(server, vendorJournal: vendorJournal, peer: names[2], records: records, aggregatorJournal: nil)
        #expect(try v.get().correct == (try referenceCount(data)) && (try h.get().correct) == (try referenceCount(data)))
    }

    @Test("what the aggregator receives is uniformly random: the hospital's part share is re-masked with fresh randomness")
    func hospitalShareIsMasked() throws {
        // The part's last step alone, many times on the same statistic shares: the hospital's output
        // (what a site sends to the aggregator) must not repeat or lean to one value, and the two
        // outputs must still add up to the count.
        let count: UInt64 = 97
        let bits = 40
        let hospitalIn = ArithmeticShare(bits: bits, values: [12345])
        let vendorIn = ArithmeticShare(bits: bits, values: [(count &- 12345) & ((1 << 40) - 1)])
        var seen = Set<UInt64>()
        var topBit = 0
        let trials = 200
        for _ in 0..<trials {
            let r = try TwoPartyRunner.run(timeout: 30, vendor: { channel in
                try PoolMask.apply(vendorIn, party: .vendor, channel: channel)
            }, hospital: { channel in
                try PoolMask.apply(hospitalIn, party: .hospital, channel: channel)
            })
            let h = r.hospital, v = r.vendor
            #expect(try h.adding(v).values == [count])
            seen.insert(h.values[0])
            topBit += Int(h.values[0] >> 39)
        }
        #expect(seen.count == trials)
        // Binomial(200, 1/2): outside 60…140 has probability below 1e-8.
        #expect((60...140).contains(topBit))
    }

    @Test("a site's shares reach the aggregator only if they are its own parts of the pool being collected")
    func shareTransfer() throws {
        func record(_ index: Int, site: String, pool: String = "p") throws -> PoolPartRecord {
            PoolPartRecord(part: try PoolPart(pool: pool, index: index, parts: 3), validation: "v\(index)", programDigest: "d",
                           modelCommitment: "m", datasetCommitment: "c\(index)", metric: "accuracy", images: 50,
                           share: [40, 1, 2, 3, 4, 5, 0, 0, 0], site: site)
        }
        func transfer(_ records: [PoolPartRecord], sender: String, collecting pool: String = "p")
            -> (Result<PoolTransfer.Receipt, Error>, Result<[PoolPartRecord], Error>, [PoolPartRecord]) {
            let kept = KeptRecords()
            let r = TwoPartyRunner.outcomes(timeout: 30, vendor: { channel in
                try PoolTransfer.receive(pool: pool, sender: sender, on: channel) { offered in
                    kept.records += offered
                    return (kept.records.count, 3)
                }
            }, hospital: { channel in try PoolTransfer.send(records, on: channel) })
            return (r.hospital, r.vendor, kept.records)
        }
        let mine = [try record(1, site: "site-b"), try record(2, site: "site-b")]
        let (receipt, received, kept) = transfer(mine, sender: "SITE-B")
        #expect(try receipt.get() == PoolTransfer.Receipt(accepted: true, reason: "kept", held: 2, parts: 3))
        #expect(try received.get() == mine && kept == mine)
        // A part run by another site, or parts of another pool: refused, nothing kept, the site told why.
        let (refused, _, none) = transfer([try record(0, site: "site-a")], sender: "site-b")
        #expect(none.isEmpty)
        #expect(throws: ValidationError.invalidPool("the aggregator refused the shares: part 1 was run by another site (site-a…) than the sender (site-b…): a site sends only its own parts")) { try refused.get() }
        let (otherPool, _, _) = transfer([try record(0, site: "site-b", pool: "q")], sender: "site-b")
        #expect(throws: ValidationError.invalidPool("the aggregator refused the shares: this aggregator collects pool p, not q")) { try otherPool.get() }
        // Pool names and parts are checked.
        #expect(throws: (any Error).self) { try PoolPart(pool: "a b", index: 0, parts: 2) }
        #expect(throws: (any Error).self) { try PoolPart(pool: "ok", index: 2, parts: 2) }
    }
}

/// What an aggregator's `keep` closure stored, across threads.
final class KeptRecords: @unchecked Sendable {
    var records: [PoolPartRecord] = []
}
