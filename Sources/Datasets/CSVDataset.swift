import Foundation

/// A tabular test set stored as a CSV file: the first column is the label, the others the features.
///
/// Contract:
/// - comma-separated; `\n` or `\r\n` line ends; a trailing newline, blank lines and a leading
///   UTF-8 byte-order mark are ignored; spaces around a field and one pair of double quotes
///   around it are ignored (quoted fields may not contain commas);
/// - an optional header line, detected when the first field of the first non-blank line is not a
///   number (it must still have as many columns as the data rows);
/// - the label is an integer; an integral decimal such as `3.0` is read as 3, `3.5` is an error;
/// - every feature is a decimal number (`nan` and `inf` are read, and rejected by
///   ``Dataset/validate(inputShape:classCount:batchSize:)``); it is parsed as a double and rounded
///   to float32, exactly as a float64 `.npy` file is;
/// - every row has the same number of columns; `featureShape` is `[columns − 1]`;
/// - with `labelColumns` C > 1 (a multi-label set) the first C columns are labels, one per
///   finding (1, 0 or −1), and `featureShape` is `[columns − C]`.
///
/// The whole file is parsed into memory when the dataset is opened (tabular test sets are small).
/// Errors name the file and the line (counting from 1) and column (counting from 1).
public struct CSVDataset: Dataset, Sendable {
    public let source: String
    public var count: Int { labels.count / labelWidth }
    public let featureShape: [Int]
    /// Label columns per row (1: one class index).
    public let labelWidth: Int
    /// Whether the first non-blank line was a header.
    public let hasHeader: Bool

    private let features: [Float]
    private let labels: [Int]
    /// The line (from 1) of each example, for messages.
    private let lines: [Int]

    /// Reads and parses the CSV file at `path`.
    ///
    /// - Throws: `.notFound`, `.unreadable`, `.raggedRow`, `.labelNotInteger`, `.nonNumericField`.
    public init(path: String, labelColumns: Int = 1) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw DatasetError.notFound(path: path) }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw DatasetError.unreadable(file: path, reason: error.localizedDescription)
        }
        try self.init(contents: data, source: path, labelColumns: labelColumns)
    }

    /// Parses CSV text held in memory; `source` names it in messages.
    public init(contents: Data, source: String, labelColumns: Int = 1) throws {
        guard labelColumns >= 1 else { throw DatasetError.invalidArgument("\(source): label columns must be at least 1, got \(labelColumns)") }
        let parsed = try contents.withUnsafeBytes { raw in
            try CSVParser.parse(raw.bindMemory(to: UInt8.self), file: source, labelColumns: labelColumns)
        }
        self.source = source
        self.hasHeader = parsed.hasHeader
        self.labelWidth = labelColumns
        self.featureShape = parsed.columns > 0 ? [parsed.columns - labelColumns] : []
        self.features = parsed.features
        self.labels = parsed.labels
        self.lines = parsed.lines
    }

    public func batch(_ range: Range<Int>) throws -> DatasetBatch {
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw DatasetError.rangeOutOfBounds(file: source, lower: range.lowerBound, upper: range.upperBound,
                                                count: count)
        }
        let width = featureShape.first ?? 0
        return DatasetBatch(features: Array(features[(range.lowerBound * width)..<(range.upperBound * width)]),
                            labels: Array(labels[(range.lowerBound * labelWidth)..<(range.upperBound * labelWidth)]), labelWidth: labelWidth)
    }

    public func location(ofExample index: Int) -> ExampleLocation {
        .line(lines.indices.contains(index) ? lines[index] : index + 1)
    }
}

/// A single pass over the bytes of a CSV file, without splitting it into line or field strings.
enum CSVParser {
    struct Result {
        var hasHeader = false
        var columns = 0
        var features: [Float] = []
        var labels: [Int] = []
        var lines: [Int] = []
    }

    private static let comma = UInt8(ascii: ",")
    private static let newline = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r")
    private static let space = UInt8(ascii: " ")
    private static let tab = UInt8(ascii: "\t")
    private static let quote = UInt8(ascii: "\"")

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, file: String, labelColumns: Int = 1) throws -> Result {
        var result = Result()
        var position = 0
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { position = 3 }  // BOM
        var lineNumber = 0
        var sawFirstLine = false
        var fields: [Range<Int>] = []

        while position < bytes.count {
            lineNumber += 1
            var end = position
            while end < bytes.count, bytes[end] != newline { end += 1 }
            let next = end + 1
            if end > position, bytes[end - 1] == carriageReturn { end -= 1 }
            defer { position = next }

            // Split into fields, trimmed of spaces and one pair of quotes.
            fields.removeAll(keepingCapacity: true)
            var fieldStart = position
            var blank = true
            for index in position...end {
                if index == end || bytes[index] == comma {
                    fields.append(trim(fieldStart..<index, in: bytes))
                    fieldStart = index + 1
                } else if bytes[index] != space && bytes[index] != tab {
                    blank = false
                }
            }
            if blank && fields.count == 1 { continue }  // blank line

            if !sawFirstLine {
                sawFirstLine = true
                result.columns = fields.count
                guard fields.count > labelColumns else {
                    throw DatasetError.raggedRow(file: file, line: lineNumber, columns: fields.count, expected: labelColumns + 1)
                }
                if parseDouble(fields[0], in: bytes) == nil {
                    result.hasHeader = true
                    continue
                }
                let estimatedRows = max(1, bytes.count / max(1, end - position + 1))
                result.features.reserveCapacity(estimatedRows * (fields.count - 1))
                result.labels.reserveCapacity(estimatedRows)
            }
            guard fields.count == result.columns else {
                throw DatasetError.raggedRow(file: file, line: lineNumber, columns: fields.count,
                                             expected: result.columns)
            }
            for column in 0..<labelColumns {
                guard let label = parseLabel(fields[column], in: bytes) else {
                    throw DatasetError.labelNotInteger(file: file, line: lineNumber)
                }
                result.labels.append(label)
            }
            for column in labelColumns..<fields.count {
                guard let value = parseDouble(fields[column], in: bytes) else {
                    throw DatasetError.nonNumericField(file: file, line: lineNumber, column: column + 1)
                }
                result.features.append(Float(value))
            }
            result.lines.append(lineNumber)
        }
        return result
    }

    private static func trim(_ range: Range<Int>, in bytes: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        var (lower, upper) = (range.lowerBound, range.upperBound)
        while lower < upper, bytes[lower] == space || bytes[lower] == tab { lower += 1 }
        while upper > lower, bytes[upper - 1] == space || bytes[upper - 1] == tab { upper -= 1 }
        if upper - lower >= 2, bytes[lower] == quote, bytes[upper - 1] == quote {
            lower += 1
            upper -= 1
        }
        return lower..<upper
    }

    /// A decimal number (Swift's `Double(_:)` grammar: also `nan`, `inf`, hexadecimal floats).
    private static func parseDouble(_ range: Range<Int>, in bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        guard !range.isEmpty else { return nil }
        // Short fields fit in a small string, so this does not allocate.
        return Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self))
    }

    /// An integer, or an integral decimal such as `3.0`, that fits in `Int`.
    private static func parseLabel(_ range: Range<Int>, in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !range.isEmpty else { return nil }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        if let value = Int(text) { return value }
        guard let value = Double(text), value.isFinite, value == value.rounded() else { return nil }
        return Int(exactly: value)
    }
}
