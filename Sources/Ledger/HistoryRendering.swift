import Foundation

/// The sessions as a table for a terminal, one line per session in the order given:
///
///     STARTED (UTC)     PEER        METRIC ASKED  REVEALED                     N  SESSION       OUTCOME
///     2026-11-22 09:30  hospital-a  accuracy      accuracy=0.9972 (359/360)  360  3f9a1c2e4b7d  completed
///
/// The peer is its name, or the start of its certificate fingerprint when it has none; the session
/// is the first 12 hex digits of its id. Missing values show as `-`; long cells are cut with `…`,
/// except the outcome, which comes last so that a refusal's or an abort's reason is shown whole. A
/// resumed run's outcome ends with the validation it continued (`completed; resumes 16960597332b`),
/// a pooled validation's with its pool (`completed; pool study part 2/3`), and a session with a
/// signed report with the start of its statement's SHA-256 (`completed; signed report 826bcbde3dc6`).
public func renderHistory(_ records: [SessionRecord]) -> String {
    if records.isEmpty { return "No sessions recorded.\n" }
    let header = ["STARTED (UTC)", "PEER", "METRIC ASKED", "REVEALED", "N", "SESSION", "OUTCOME"]
    let rows = records.map { record -> [String] in
        [
            String(Timestamp.format(record.startedAt).prefix(16)).replacingOccurrences(of: "T", with: " "),
            cell(record.peerName ?? record.peerFingerprint.map { String($0.prefix(16)) }, width: 24),
            cell(record.metricAsked, width: 24),
            cell(record.metricRevealed, width: 32),
            String(record.images),
            cell(record.sessionID.map { String($0.prefix(12)) }, width: 12),
            cell(record.outcome.description + (record.resumes.map { "; resumes \($0.prefix(12))" } ?? "")
                 + (record.pool.map { "; pool \($0)" } ?? "")
                 + (record.reportSHA256.map { "; signed report \($0.prefix(12))" } ?? ""), width: Int.max),
        ]
    }
    let widths = header.indices.map { column in
        ([header] + rows).map { $0[column].count }.max() ?? 0
    }
    let lines = ([header] + rows).map { row in
        row.enumerated().map { column, text in
            // N is right-aligned; the last column is not padded.
            if column == 4 { return String(repeating: " ", count: widths[column] - text.count) + text }
            if column == row.count - 1 { return text }
            return text + String(repeating: " ", count: widths[column] - text.count)
        }.joined(separator: "  ")
    }
    return lines.joined(separator: "\n") + "\n"
}

/// The sessions as a JSON array (snake_case keys, ISO-8601 times), for `history --json`.
public func renderHistoryJSON(_ records: [SessionRecord]) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(records), as: UTF8.self) + "\n"
}

/// One table cell: `-` for nil or empty, control characters (a newline in a reason) as spaces,
/// at most `width` characters.
private func cell(_ text: String?, width: Int) -> String {
    guard let text, !text.isEmpty else { return "-" }
    let flat = String(text.map { $0.isNewline || $0 == "\t" ? " " : $0 })
    return flat.count <= width ? flat : String(flat.prefix(width - 1)) + "…"
}
