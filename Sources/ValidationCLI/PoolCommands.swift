import ArgumentParser
import Foundation
import Ledger
import Transport
import Validation

/// The pool name every pool command takes.
struct PoolNameOption: ParsableArguments {
    @Option(help: ArgumentHelp("The pool (as the parts gave it to validate-client --pool).", valueName: "NAME"))
    var pool: String

    func validate() throws {
        if let reason = PoolPart.invalidPoolName(pool) { throw ArgumentParser.ValidationError("--pool: \(reason)") }
    }
}

/// `validate-client pool-send`: a site sends its shares of a pool's parts to the aggregator.
public struct PoolSendCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "pool-send",
        abstract: "Send this site's shares of a pool's completed parts to the pool's aggregator.",
        discussion: """
            Reads the parts of --pool this site ran (validate-client --pool NAME --part I/K) from its \
            ledger and sends this site's share of each part's count to the aggregator (its \
            validate-client pool-collect) over mutually authenticated TLS 1.3. A share alone is \
            uniformly random: the aggregator learns nothing from it. It learns only the pooled metric, \
            with the vendor, when it opens the pool; it must not collude with the vendor (together \
            they would hold both shares of your part). Sending the same parts again changes nothing.
            """)

    @OptionGroup var name: PoolNameOption

    @Option(help: "The aggregator's validate-client pool-collect, HOST:PORT.")
    var connect: String

    @Option(name: .customLong("expect-aggregator"), help: "Send nothing unless the aggregator's TLS certificate is exactly this one: its SHA-256 fingerprint (hex). Without it, any certificate from --ca that names the --connect host is accepted.")
    var expectAggregator: String?

    @OptionGroup var tls: TLSOptions

    @Option(help: "This site's ledger (default: ~/.local/share/securevalidation/hospital-ledger.sqlite, or under $XDG_DATA_HOME).")
    var ledger: String?

    public init() {}

    public func validate() throws {
        _ = try parseEndpoint(connect, option: "--connect")
        if let expectAggregator, expectAggregator.count != 64 || !expectAggregator.allSatisfy(\.isHexDigit) {
            throw ArgumentParser.ValidationError("--expect-aggregator must be a SHA-256 certificate fingerprint in hex (64 characters)")
        }
    }

    public func run() throws {
        let path = try ledger ?? Ledger.defaultPath(party: .hospital)
        let book = try Ledger(path: path)
        let identity = try tls.identity()
        let own = identity.certificateFingerprint?.lowercased()
        // Only the parts this site ran itself (not shares it received as an aggregator).
        let records = try book.poolParts(pool: name.pool).filter { $0.receivedFrom == nil && $0.siteFingerprint?.lowercased() == own }
            .map(PoolPartRecord.init(row:))
        guard !records.isEmpty else {
            throw CLIError("the ledger \(path) holds no part of pool \(name.pool) run with this certificate (run validate-client --pool \(name.pool) --part I/K first)")
        }
        let (host, port) = try parseEndpoint(connect, option: "--connect")
        let channel = try TLSChannel.connect(host: host, port: port, identity: identity, timeout: tls.timeout, expectedFingerprint: expectAggregator)
        defer { channel.close() }
        note("validate-client: sending part(s) \(PoolPartRecord.describe(indices: records.map(\.part.index))) of pool \(name.pool) to \(channel.peerCommonName ?? "?") (certificate \(channel.peerCertificateFingerprint.prefix(16))…)")
        let receipt = try PoolTransfer.send(records, on: channel)
        print("pool \(name.pool): the aggregator holds \(receipt.held) of \(receipt.parts) parts")
    }
}

/// `validate-client pool-collect`: the aggregator receives the sites' shares until it holds every part.
public struct PoolCollectCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "pool-collect",
        abstract: "As a pool's aggregator, receive the sites' shares of its parts until every part is here.",
        discussion: """
            Listens on --listen for the sites' validate-client pool-send (mutually authenticated TLS \
            1.3) and keeps each part's share in this ledger, until it holds every part of --pool \
            (its own parts count too); then exits 0, and validate-client pool-open can run. A site may \
            send only parts it ran itself (the parts name its certificate); parts that disagree with \
            those held (another model, program, metric or part count; another session for a part \
            held) are refused and the site is told why. The shares reveal nothing on their own.
            """)

    @OptionGroup var name: PoolNameOption

    @Option(help: "Address to listen on, HOST:PORT (e.g. 0.0.0.0:7450).")
    var listen: String

    @Option(name: .customLong("allow-peer"), help: "A file of allowed site certificate fingerprints (SHA-256 hex, one per line, # comments); others are refused.")
    var allowPeer: String?

    @Option(help: "Give up (exit 1) after this many seconds without every part.")
    var wait: Double = 3600

    @OptionGroup var tls: TLSOptions

    @Option(help: "This aggregator's ledger (default: ~/.local/share/securevalidation/hospital-ledger.sqlite, or under $XDG_DATA_HOME).")
    var ledger: String?

    public init() {}

    public func validate() throws {
        _ = try parseEndpoint(listen, option: "--listen")
        guard wait > 0 else { throw ArgumentParser.ValidationError("--wait must be positive") }
    }

    public func run() throws {
        let path = try ledger ?? Ledger.defaultPath(party: .hospital)
        let book = try Ledger(path: path)
        let allowed = try allowPeer.map { try readFingerprints($0) }
        let pool = name.pool
        func status() throws -> (held: [PoolPartRecord], parts: Int?) {
            let held = try book.poolParts(pool: pool).map(PoolPartRecord.init(row:))
            return (held, held.first?.part.parts)
        }
        if let parts = try status().parts, try status().held.count == parts {
            print("pool \(pool): all \(parts) parts are already here; run validate-client pool-open")
            return
        }
        let (host, port) = try parseEndpoint(listen, option: "--listen")
        let listener = try TLSListener(host: host, port: port, identity: try tls.identity())
        defer { listener.close() }
        note("validate-client: collecting pool \(pool): listening on \(host):\(listener.port); ledger \(path)")
        let deadline = Date().addingTimeInterval(wait)
        while true {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else {
                let (held, parts) = try status()
                throw CLIError("pool \(pool): gave up after \(Int(wait)) s with \(held.count) of \(parts.map(String.init) ?? "?") parts (missing: \(PoolPartRecord.describe(indices: PoolPartRecord.missingParts(held))))")
            }
            let channel: TLSChannel
            do { channel = try listener.accept(timeout: min(remaining, tls.timeout)) } catch {
                if case TransportError.timeout = error { continue }
                note("validate-client: a connection failed: \((error as? LocalizedError)?.errorDescription ?? "\(error)")")
                continue
            }
            defer { channel.close() }
            channel.timeout = tls.timeout
            let sender = channel.peerCertificateFingerprint.lowercased()
            do {
                if let allowed, !allowed.contains(sender) {
                    throw CLIError("refused \(channel.peerCommonName ?? "?") (certificate \(sender.prefix(16))…): not on the --allow-peer list")
                }
                let records = try PoolTransfer.receive(pool: pool, sender: sender, on: channel) { offered in
                    let (held, _) = try status()
                    if let reason = PoolPartRecord.inconsistency(held + offered) { throw ValidationError.invalidPool(reason) }
                    do {
                        for record in offered { try book.savePoolPart(record.row(receivedFrom: sender)) }
                    } catch let error as LedgerError {
                        throw ValidationError.invalidPool(error.errorDescription ?? "\(error)")
                    }
                    let now = try status()
                    return (now.held.count, now.parts ?? 0)
                }
                let (held, parts) = try status()
                note("validate-client: \(channel.peerCommonName ?? "?") sent part(s) \(PoolPartRecord.describe(indices: records.map(\.part.index))); \(held.count) of \(parts ?? 0) parts here")
                if let parts, held.count == parts {
                    print("pool \(pool): all \(parts) parts are here; run validate-client pool-open")
                    return
                }
            } catch {
                note("validate-client: \((error as? LocalizedError)?.errorDescription ?? "\(error)")")
            }
        }
    }
}

/// `validate-client pool-open`: the aggregator and the vendor open the pooled metric.
public struct PoolOpenCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "pool-open",
        abstract: "As a pool's aggregator, open the pooled metric of every part with the vendor, once.",
        discussion: """
            Needs every part's hospital share in this ledger (your own parts, and those pool-collect \
            received). Connects to the vendor that ran the parts; it checks that it completed the same \
            parts and that you ran one of them, then both add their shares locally and open the agreed \
            metric (the count, or only whether accuracy ≥ τ) of all parts' images together — nothing \
            else: no part's own result. A pool is opened once. Refusals (a missing part, parts that \
            disagree) come before any cryptography and are recorded in the ledger. With --report DIR \
            both sign one statement of the opening (the pool, its parts, the pooled result).
            """)

    @OptionGroup var name: PoolNameOption

    @Option(help: "The vendor's validate-serve, HOST:PORT.")
    var connect: String

    @Option(name: .customLong("expect-vendor"), help: "Refuse to send anything unless the vendor's TLS certificate is exactly this SHA-256 fingerprint (hex). By default, the certificate the parts ran against when they all agree.")
    var expectVendor: String?

    @OptionGroup var tls: TLSOptions

    @Option(help: "This aggregator's ledger (default: ~/.local/share/securevalidation/hospital-ledger.sqlite, or under $XDG_DATA_HOME).")
    var ledger: String?

    @Option(help: "Also write the result as JSON to this file (keys metric, correct, total, accuracy or threshold/passed, pool, parts, …).")
    var json: String?

    @Option(help: ArgumentHelp("After the opening, sign with the vendor one statement of it (the pool, each part's validation and number of images, the pool's commitment, program digest, metric asked and values opened, N, parameters, date, both certificate fingerprints), each party with its TLS key, and write DIR/report.json and DIR/report.html. Anyone with the CA checks it: validate-inspect verify-report DIR --ca ca.crt. DIR is created if missing; an existing report in it is refused before connecting. If the statements differ or a signature fails, the pooled result stands but no report is written (exit status 1).", valueName: "DIR"))
    var report: String?

    public init() {}

    public func validate() throws {
        _ = try parseEndpoint(connect, option: "--connect")
        if let expectVendor, expectVendor.count != 64 || !expectVendor.allSatisfy(\.isHexDigit) {
            throw ArgumentParser.ValidationError("--expect-vendor must be a SHA-256 certificate fingerprint in hex (64 characters)")
        }
    }

    public func run() throws {
        // Before anything else, so that an opening (done once per pool) never waits on a report that cannot be written.
        if let report { try SignedReport.prepare(directory: report) }
        let path = try ledger ?? Ledger.defaultPath(party: .hospital)
        let book = try Ledger(path: path)
        let pool = name.pool
        let records = try book.poolParts(pool: pool).map(PoolPartRecord.init(row:))
        let recorder = SessionRecorder(ledger: book, party: .hospital, peerFingerprint: nil, peerName: nil)
        recorder.record.pool = "\(pool) opening"
        // Checks before any connection; a refusal is recorded.
        func refuse(_ reason: String) throws -> Never {
            let error = ValidationError.invalidPool(reason)
            recorder.failed(error, statistics: nil)
            throw error
        }
        if records.isEmpty { try refuse("the ledger \(path) holds no part of pool \(pool) (run the parts, then pool-collect the sites' shares)") }
        if let reason = PoolPartRecord.inconsistency(records) { try refuse(reason) }
        let missing = PoolPartRecord.missingParts(records)
        if !missing.isEmpty {
            try refuse("pool \(pool) is missing part(s) \(PoolPartRecord.describe(indices: missing)) of \(records[0].part.parts) in \(path): run them, or wait for pool-collect to receive them")
        }
        if let opened = try book.poolOpening(pool: pool) { try refuse("pool \(pool) was already opened (session \(opened.prefix(16))…)") }
        let vendors = Set(records.compactMap { $0.vendor?.lowercased() })
        let pinned = expectVendor ?? (vendors.count == 1 ? vendors.first : nil)
        let (host, port) = try parseEndpoint(connect, option: "--connect")
        var channel: TLSChannel?
        var opened: ValidationResult?
        do {
            let connected = try TLSChannel.connect(host: host, port: port, identity: tls.identity(), timeout: tls.timeout,
                                                   expectedFingerprint: pinned)
            channel = connected
            recorder.record.peerFingerprint = connected.peerCertificateFingerprint.lowercased()
            recorder.record.peerName = connected.peerCommonName
            note("validate-client: opening pool \(pool) (\(records.count) parts, \(records.reduce(0) { $0 + $1.images }) images) with \(connected.peerCommonName ?? "?") (certificate \(connected.peerCertificateFingerprint.prefix(16))…)")
            // The statement is signed with this aggregator's TLS key and checked with the vendor's TLS certificate.
            let signer = try report.map { _ in try ReportSigner(identity: tls.identity(), peerCertificatePEM: connected.peerCertificatePEM) }
            let result = try ValidationClient.openPool(records: records, channel: connected, journal: recorder, report: signer)
            try recorder.completed(result)
            connected.close()
            print(result.summary())
            if let json { try writeJSON(result, to: json) }
            opened = result
        } catch {
            recorder.failed(error, statistics: channel?.statistics)
            channel?.close()
            throw error
        }
        // The opening is recorded as completed whatever becomes of its report.
        if let report, let opened { try writeSignedReport(of: opened, to: report, ca: tls.ca) }
    }
}

/// A file of certificate fingerprints (SHA-256 hex, one per line, `#` comments), lower-case.
func readFingerprints(_ file: String) throws -> Set<String> {
    let text: String
    do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
        throw CLIError("\(file): cannot read the allowed-peer list: \(error.localizedDescription)")
    }
    var peers = Set<String>()
    for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)?
            .trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ":", with: "").lowercased() ?? ""
        if line.isEmpty { continue }
        guard line.count == 64, line.allSatisfy(\.isHexDigit) else {
            throw CLIError("\(file):\(number + 1): not a SHA-256 fingerprint (64 hex digits)")
        }
        peers.insert(line)
    }
    return peers
}
