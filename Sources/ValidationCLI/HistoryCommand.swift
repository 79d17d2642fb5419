import ArgumentParser
import Foundation
import Ledger

/// Which party's ledger a `history` command reads by default.
public protocol LedgerSide { static var party: SessionRecord.Party { get } }
public enum VendorSide: LedgerSide { public static let party = SessionRecord.Party.vendor }
public enum HospitalSide: LedgerSide { public static let party = SessionRecord.Party.hospital }

/// `validate-serve history` / `validate-client history`: the sessions in this party's ledger.
public struct HistoryCommand<Side: LedgerSide>: ParsableCommand {
    public static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "history",
            abstract: "List the validation sessions recorded in this party's ledger, newest first.",
            discussion: """
                Each row: when it started, the peer, the metric asked and revealed, the number of images, \
                the session id (bound to both commitments and the program) and how it ended (completed, \
                refused: reason, aborted: reason). The ledger is opened read-only.
                """)
    }

    @Option(help: "The ledger file (default: this party's ledger under ~/.local/share/securevalidation or $XDG_DATA_HOME).")
    var ledger: String?

    @Option(help: "Show at most this many sessions.")
    var limit: Int?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    public init() {}

    public func run() throws {
        let path = try ledger ?? Ledger.defaultPath(party: Side.party)
        guard FileManager.default.fileExists(atPath: path) else {
            print(json ? "[]" : "No sessions recorded (no ledger at \(path)).")
            return
        }
        let book = try Ledger(path: path, readOnly: true)
        let records = try book.sessions(limit: limit)
        print(json ? try renderHistoryJSON(records) : renderHistory(records))
        if !json {
            for spending in try book.privacySpending() {
                print("privacy budget: test set \(spending.dataset.prefix(16))…: ε = \(Double(spending.spentMicro) / 1e6) spent in \(spending.validations) validation(s) (budget \(Double(spending.budgetMicro) / 1e6), pure-ε composition)")
            }
            for pool in try book.pools() {
                print("pool \(pool.pool): \(pool.held) of \(pool.parts) parts in this ledger; " + (pool.openedBy.map { "opened by session \($0.prefix(12))" } ?? "not opened"))
            }
        }
    }
}
