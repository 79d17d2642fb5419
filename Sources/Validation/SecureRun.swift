import Compiler
import Engine
import HEBackend
import Foundation
import OT
import Protocols
import Transport

/// The part of a session both roles run the same way: OT set-up, HE keys, the engines, the batch
/// loop and the opening.
///
/// With several *lanes* (one channel, OT session, HE session and engine each), consecutive batches
/// run at the same time, one per lane, so that while one lane waits for the peer another computes:
/// both cores stay busy even though, within one batch, one party mostly waits for the other. The
/// lanes of one group of batches finish before the next group starts; their count shares are added
/// and checkpointed together. Both parties use the same lanes in the same order, so lane i of the
/// vendor always talks to lane i of the hospital.
final class SecureRun {
    let party: Party
    let engines: [SecureEngine]
    let channels: [any Channel]
    let program: MPCProgram
    let images: Int
    let batch: Int
    /// CPU seconds this party spent in its lane threads (set-up and batches).
    private(set) var laneCPUSeconds = 0.0

    init(party: Party, program: MPCProgram, model: PreparedModel?, channels: [any Channel], images: Int, batch: Int) throws {
        precondition(!channels.isEmpty)
        var sizes: Set<Int> = [min(batch, images)]
        if images % batch != 0 && images > batch { sizes.insert(images % batch) }
        let plans = try LinearPlans(program: program, batchSizes: sizes, images: images)
        self.party = party
        self.channels = channels
        self.program = program
        self.images = images
        self.batch = batch
        // Each lane sets up its own OT and HE sessions on its own channel, in parallel.
        var cpu = 0.0
        engines = try Self.inLanes(channels.count, cpu: &cpu) { lane in
            let channel = channels[lane]
            // A fresh engine per lane and session: new secrets, so correlations are never reused.
            let ot: any ObliviousTransfer = switch program.otEngine {
            case .silent: try SilentObliviousTransfer(channel: channel, party: party)
            case .iknp: try IKNPObliviousTransfer(channel: channel, party: party)
            }
            let session = try TwoPartySession.establish(party: party, channel: channel, ot: ot)
            let linear: any LinearBackend
            if party == .vendor {
                guard let model else { throw EngineError.wrongGraph("the vendor's engine needs the model's weights") }
                linear = try VendorHELinearBackend(model: model, plans: plans, channel: channel)
            } else {
                linear = try HospitalHELinearBackend(plans: plans, channel: channel)
            }
            return try SecureEngine(program: program, weights: model?.weights, session: session, linear: linear)
        }
        laneCPUSeconds = cpu
    }

    /// The shared statistic over all images, a group of batches (one per lane) at a time: for a
    /// count metric the number of correct predictions (memory bounded by one batch per lane); for
    /// a clinical metric every image's scores, images × classes, image after image (they stay
    /// shared until the metric stage). `batchInputs` gives the hospital's features and labels for
    /// a range (nil for the vendor); it may be called from several threads at once. A resumed run
    /// starts after batch `after` from this party's `restored` share of the statistic so far;
    /// `checkpoint` receives this party's share after each group, with the index of the group's
    /// last batch.
    func accumulate(after: Int? = nil, restored: ArithmeticShare? = nil,
                    batchInputs: @escaping (Range<Int>) throws -> ([Float]?, [Int]?),
                    checkpoint: ((Int, [UInt8]) throws -> Void)? = nil,
                    progress: ((Int, Int) -> Void)?) throws -> ArithmeticShare {
        let keepScores = program.metric.scores != nil
        var total = restored ?? ArithmeticShare.zeros(count: keepScores ? 0 : 1, bits: program.ringBits)
        let batchCount = (images + batch - 1) / batch
        var next = after.map { $0 + 1 } ?? 0
        if next > 0 { progress?(min(next * batch, images), images) }
        while next < batchCount {
            let group = next..<min(next + engines.count, batchCount)
            var cpu = 0.0
            let shares = try Self.inLanes(group.count, cpu: &cpu) { lane -> ArithmeticShare in
                let index = group.lowerBound + lane
                let range = (index * self.batch)..<min((index + 1) * self.batch, self.images)
                let (features, labels) = try batchInputs(range)
                let engine = self.engines[lane]
                let input = try engine.shareInputs(features, batch: range.count)
                let logits = try engine.logits(input, batch: range.count)
                if keepScores { return logits }
                return try engine.countCorrect(logits: logits, labels: labels, countBits: self.program.ringBits)
            }
            laneCPUSeconds += cpu
            if keepScores {
                total = ArithmeticShare.concatenating([total] + shares)
            } else {
                for share in shares { total = try total.adding(share) }
            }
            try checkpoint?(group.upperBound - 1, CheckpointShare.encode(total))
            next = group.upperBound
            progress?(min(next * batch, images), images)
        }
        return total
    }

    /// What a part of a pool keeps (`PoolStatistic`): the count itself, for `sens-spec` the 4C
    /// counts computed from every image's scores, for `auroc` the scores and shares of the label bits
    /// (the hospital passes `labels`, per finding, read only now).
    func partStatistic(_ accumulated: ArithmeticShare, labels: (() throws -> [Int])?) throws -> ArithmeticShare {
        if program.metric.scores == .auroc {
            // The hospital's share of each label bit is the bit, the vendor's 0 (re-masked next).
            let n = images * program.classes
            let held = try labels?() ?? []
            guard labels == nil || held.count == n else { throw ValidationError.invalidPool("\(held.count) labels for \(n) scores") }
            let positive = (0..<n).map { labels == nil ? UInt64(0) : held[$0] == 1 ? 1 : 0 }
            let negative = (0..<n).map { labels == nil ? UInt64(0) : held[$0] == 0 ? 1 : 0 }
            return ArithmeticShare.concatenating([accumulated, ArithmeticShare(bits: accumulated.bits, values: positive),
                                                  ArithmeticShare(bits: accumulated.bits, values: negative)])
        }
        guard program.metric.scores == .sensSpec else { return accumulated }
        guard let thresholds = program.scoreThresholds else { throw EngineError.wrongGraph("the program's sens-spec stage has no thresholds") }
        let shape = PoolStatistic.shape(metric: program.metric, ringBits: program.ringBits, classes: program.classes, images: images)
        return try engines[0].session.operatingPointCounts(scores: accumulated, labels: try labels?(), images: images,
                                                           findings: program.classes, thresholds: thresholds, ringBits: shape.bits)
    }

    /// Ends a part of a pool instead of opening anything (`PoolMask`, on lane 0); returns this
    /// party's new share.
    func finishPart(_ statistic: ArithmeticShare) throws -> ArithmeticShare {
        try PoolMask.apply(statistic, party: party, channel: channels[0])
    }

    /// How many ring elements a checkpoint after batch `batchIndex` holds: 1 (the count) or, for a
    /// clinical metric, the scores of every image so far.
    static func checkpointValues(program: MPCProgram, afterBatch batchIndex: Int, batch: Int, images: Int) -> Int {
        program.metric.scores == nil ? 1 : min((batchIndex + 1) * batch, images) * program.classes
    }

    /// Runs `body(lane)` for lanes 0..<count, each on its own thread (lane 0 on this one when there
    /// is only one), and returns the results in lane order. If a lane fails, the others finish their
    /// batch (lanes do not depend on each other) and the first failure is
    /// rethrown (the first in time: the others usually follow from it).
    private static func inLanes<T>(_ count: Int, cpu: inout Double, _ body: @escaping (Int) throws -> T) throws -> [T] {
        if count == 1 {
            let start = threadCPUSeconds()
            defer { cpu += threadCPUSeconds() - start }
            return [try body(0)]
        }
        let slots = (0..<count).map { _ in LaneSlot<T>() }
        let group = DispatchGroup()
        let failed = NSLock()
        nonisolated(unsafe) var firstFailure: Int?
        nonisolated(unsafe) let run = body
        for lane in 0..<count {
            group.enter()
            let thread = Thread {
                let start = threadCPUSeconds()
                slots[lane].result = Result { try run(lane) }
                slots[lane].cpu = threadCPUSeconds() - start
                if case .failure = slots[lane].result {
                    failed.lock()
                    if firstFailure == nil { firstFailure = lane }
                    failed.unlock()
                }
                group.leave()
            }
            thread.stackSize = 64 << 20
            thread.start()
        }
        group.wait()
        cpu += slots.reduce(0) { $0 + $1.cpu }
        if let lane = firstFailure { _ = try slots[lane].result!.get() }
        return try slots.map { try $0.result!.get() }
    }

    /// Opens the program's metric, and only it (on lane 0). For a clinical metric the hospital
    /// passes `labels` (per finding, row-major, for `auroc` and `sens-spec`; one class per image
    /// for `confusion`), read only now.
    func reveal(_ count: ArithmeticShare, labels: (() throws -> [Int])? = nil, request: SessionMessage.ValidationRequest, start: Date,
                model: String, session: SessionStart, resumedAfterBatch: Int?) throws -> ValidationResult {
        let engine = engines[0]
        var result = baseResult(request: request, model: model, session: session, resumedAfterBatch: resumedAfterBatch)
        let mark = threadCPUSeconds()
        let opened = program.metric.scores == nil ? try engine.openMetric(count, images: images)
                                                  : try engine.openScoreMetric(count, labels: try labels?(), images: images)
        switch opened {
        case .atLeast(let passed):
            if case .atLeast(let tau) = program.metric.opening { result.threshold = tau }
            result.passed = passed
        case .count(let correct):
            result.correct = Int(correct)
            result.accuracy = Double(correct) / Double(images)
        case .values(let values):
            result.setClinical(values, program: program)
        }
        try finish(&result, start: start, mark: mark)
        return result
    }

    /// Ends a part of a pool (`finishPart`) and returns its result: nothing opened, the session's
    /// costs, and this party's re-randomised share for the caller to keep.
    func completePart(_ statistic: ArithmeticShare, part: PoolPart, request: SessionMessage.ValidationRequest, start: Date,
                      model: String, session: SessionStart, resumedAfterBatch: Int?) throws -> (ValidationResult, ArithmeticShare) {
        var result = baseResult(request: request, model: model, session: session, resumedAfterBatch: resumedAfterBatch)
        let mark = threadCPUSeconds()
        let share = try finishPart(statistic)
        result.pool = part.pool
        result.part = "\(part.index + 1)/\(part.parts)"
        try finish(&result, start: start, mark: mark)
        return (result, share)
    }

    /// The result's fields known before anything is opened.
    private func baseResult(request: SessionMessage.ValidationRequest, model: String, session: SessionStart,
                            resumedAfterBatch: Int?) -> ValidationResult {
        ValidationResult(metric: program.metric.resultName, correct: nil, total: images, accuracy: nil, threshold: nil,
                                      passed: nil, seconds: 0, bytesSent: 0, bytesReceived: 0, rounds: 0,
                                      ringBits: program.ringBits, scale: program.scale, batch: batch,
                                      programDigest: program.digestHex, sessionID: session.sessionID, model: model,
                                      modelCommitment: session.modelCommitment, datasetCommitment: request.datasetCommitment, profile: nil,
                                      resumes: session.resumes,
                                      imagesFromCheckpoint: resumedAfterBatch.map { min(($0 + 1) * batch, images) } ?? (session.resumes == nil ? nil : 0),
                                      ot: program.otEngine.rawValue)
            .withDP(program.metric.dpEpsilon)
    }

    /// Flushes and fills the session's costs (time since `start`, traffic, rounds, CPU since `mark`
    /// on this thread plus the lanes').
    private func finish(_ result: inout ValidationResult, start: Date, mark: Double) throws {
        for channel in channels { try channel.flush() }
        result.seconds = Date().timeIntervalSince(start)
        result.bytesSent = channels.reduce(0) { $0 + $1.statistics.bytesSent }
        result.bytesReceived = channels.reduce(0) { $0 + $1.statistics.bytesReceived }
        // Lanes run at the same time: the rounds that cost latency are the busiest lane's.
        result.rounds = channels.map(\.statistics.rounds).max() ?? 0
        result.lanes = engines.count
        result.cpuSeconds = laneCPUSeconds + threadCPUSeconds() - mark
        result.profile = engines.dropFirst().reduce(engines[0].profile) { $0.adding($1.profile) }
    }
}

/// One lane's result and CPU time, written by its thread and read after it finished.
private final class LaneSlot<T>: @unchecked Sendable {
    var result: Result<T, Error>?
    var cpu = 0.0
}

/// CPU seconds of the calling thread.
package func threadCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}
