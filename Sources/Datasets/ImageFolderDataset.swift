import Foundation
import Preprocessing

/// A test set as hospitals hold it: a folder of image files (PNG, JPEG, DICOM, any mix, in
/// subfolders too) and `labels.csv` listing them.
///
/// Contract:
/// - `labels.csv` has a header. Its first column is `file` (a path relative to the folder); then
///   either one column `label` (a class index: a single-label set) or one column per finding
///   (1 positive, 0 negative, −1 or empty not labelled: a multi-label set, matched to the model's
///   declared findings by name when it declares them). Rows are the examples, in order; fields may
///   be double-quoted (a quoted field may hold commas); blank lines and a UTF-8 byte-order mark
///   are ignored.
/// - Every image file in the folder (recognised by its first bytes) has exactly one row, and every
///   row names an existing file: anything else is an error naming the file, before any
///   computation.
/// - The features are what the model's declared ``Preprocessing`` makes of each file: until
///   `prepared(preprocessing:inputShape:findings:)` gives the dataset a model's declaration,
///   `featureShape` is empty and `batch` throws. Images are decoded and preprocessed again on each
///   read (memory stays bounded by the batch); labels are read once, at opening.
/// - The commitment binds every example's file name, labels and file bytes (in order), not the
///   preprocessed features (``commitmentContent(_:)``).
///
/// Held by the hospital only; errors name files and `labels.csv` lines, never a pixel value.
public final class ImageFolderDataset: PreprocessedDataset, @unchecked Sendable {
    /// The labels file every image folder holds.
    public static let labelsFile = "labels.csv"

    public let source: String
    public var count: Int { files.count }
    public let labelWidth: Int
    /// The finding columns' names (nil for a `label` column).
    public let findingColumns: [String]?
    /// The images' paths relative to the folder, in `labels.csv` order.
    public let files: [String]
    /// The declaration applied, once prepared.
    public let preprocessing: Preprocessing?
    /// The model's input shape, once prepared.
    public let inputShape: [Int]?

    public var featureShape: [Int] { inputShape ?? [] }
    public var featuresSource: String { source }
    public var labelsSource: String { NPYFolderDataset.join(source, Self.labelsFile) }

    /// `labels.csv` line (from 1) of each example.
    private let lines: [Int]
    /// `labelWidth` per example.
    private let labelRows: [Int]

    /// Opens `folder`: parses `labels.csv`, checks that every row names an existing file, that no
    /// file is listed twice and that no image in the folder lacks a row. Decodes nothing.
    public init(folder: String) throws {
        let labelsPath = NPYFolderDataset.join(folder, Self.labelsFile)
        guard let data = FileManager.default.contents(atPath: labelsPath) else {
            throw DatasetError.missingFile(folder: folder, file: Self.labelsFile)
        }
        var text = String(decoding: data, as: UTF8.self)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        var rows: [(line: Int, fields: [String])] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = String(raw)
            if line.hasSuffix("\r") { line.removeLast() }
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            rows.append((index + 1, try Self.fields(line, file: labelsPath, line: index + 1)))
        }
        guard let header = rows.first else {
            throw DatasetError.malformedLabels(file: labelsPath, line: 1, reason: "the file is empty; it needs a header 'file,label' (or 'file,<finding>,…') and one row per image")
        }
        guard header.fields.first?.lowercased() == "file", header.fields.count >= 2 else {
            throw DatasetError.malformedLabels(file: labelsPath, line: header.line, reason: "the header must start with 'file' followed by 'label' or one column per finding, got '\(header.fields.joined(separator: ","))'")
        }
        let columns = Array(header.fields.dropFirst())
        if let empty = columns.firstIndex(where: \.isEmpty) {
            throw DatasetError.malformedLabels(file: labelsPath, line: header.line, reason: "column \(empty + 2) of the header has no name")
        }
        if Set(columns).count != columns.count {
            throw DatasetError.malformedLabels(file: labelsPath, line: header.line, reason: "the header repeats a column name")
        }
        let single = columns.count == 1 && columns[0].lowercased() == "label"
        var files: [String] = [], lines: [Int] = [], labels: [Int] = []
        var seen: [String: Int] = [:]
        for row in rows.dropFirst() {
            guard row.fields.count == header.fields.count else {
                throw DatasetError.malformedLabels(file: labelsPath, line: row.line, reason: "\(row.fields.count) columns, but the header has \(header.fields.count)")
            }
            let name = row.fields[0]
            guard !name.isEmpty, !name.hasPrefix("/"), !name.split(separator: "/").contains("..") else {
                throw DatasetError.malformedLabels(file: labelsPath, line: row.line, reason: "'\(name)' must be a path inside the folder (relative, without '..')")
            }
            if let first = seen[name] {
                throw DatasetError.malformedLabels(file: labelsPath, line: row.line, reason: "\(name) is listed again (first on line \(first))")
            }
            seen[name] = row.line
            let path = NPYFolderDataset.join(folder, name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw DatasetError.missingImage(file: path, labels: labelsPath, line: row.line)
            }
            for (column, field) in row.fields.dropFirst().enumerated() {
                if !single && field.isEmpty { labels.append(-1); continue }
                guard let value = Int(field) ?? Double(field).flatMap({ $0 == $0.rounded() && abs($0) < 1e9 ? Int($0) : nil }) else {
                    throw DatasetError.malformedLabels(file: labelsPath, line: row.line, reason: "column '\(columns[column])' is '\(field)', not an integer")
                }
                labels.append(value)
            }
            files.append(name)
            lines.append(row.line)
        }
        // Every image in the folder must be listed (a forgotten row would silently shrink the set).
        let listed = Set(files)
        if let enumerator = FileManager.default.enumerator(atPath: folder) {
            var unlisted: [String] = []
            while let relative = enumerator.nextObject() as? String {
                let name = (relative as NSString).lastPathComponent
                if name.hasPrefix(".") || relative == Self.labelsFile || listed.contains(relative) { continue }
                let path = NPYFolderDataset.join(folder, relative)
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
                if ImageFile.format(of: path) != nil { unlisted.append(relative) }
            }
            if let first = unlisted.sorted().first {
                throw DatasetError.unlabelledImage(file: NPYFolderDataset.join(folder, first), labels: labelsPath)
            }
        }
        self.source = folder
        self.files = files
        self.lines = lines
        self.labelRows = labels
        self.labelWidth = columns.count
        self.findingColumns = single ? nil : columns
        self.preprocessing = nil
        self.inputShape = nil
    }

    private init(_ other: ImageFolderDataset, preprocessing: Preprocessing?, inputShape: [Int]?, labelRows: [Int], findingColumns: [String]?,
                 files: [String]? = nil, lines: [Int]? = nil) {
        source = other.source
        self.files = files ?? other.files
        self.lines = lines ?? other.lines
        labelWidth = other.labelWidth
        self.labelRows = labelRows
        self.findingColumns = findingColumns
        self.preprocessing = preprocessing
        self.inputShape = inputShape
    }

    /// The examples `rows` only (a shard: `--shard I/K`), as an image folder of their own whose
    /// commitment binds just their files and labels.
    public func subset(_ rows: Range<Int>) -> ImageFolderDataset {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= count)
        return ImageFolderDataset(self, preprocessing: preprocessing, inputShape: inputShape,
                                  labelRows: Array(labelRows[(rows.lowerBound * labelWidth)..<(rows.upperBound * labelWidth)]),
                                  findingColumns: findingColumns, files: Array(files[rows]), lines: Array(lines[rows]))
    }

    public func prepared(preprocessing: Preprocessing?, inputShape: [Int], findings: [String]?) throws -> any Dataset {
        guard let preprocessing else {
            throw DatasetError.preprocessing(file: source, reason: "the model declares no preprocessing (ONNX metadata 'preprocessing'), so an image folder cannot be turned into its inputs. Ask the vendor to declare it, or give inputs.npy and labels.npy preprocessed yourself.")
        }
        // A multi-label set's columns follow the model's declared findings by name.
        var rows = labelRows
        var columns = findingColumns
        if let names = findingColumns, let findings, findings.count == names.count, findings != names {
            guard Set(findings) == Set(names) else {
                throw DatasetError.preprocessing(file: labelsSource, reason: "the finding columns (\(names.joined(separator: ", "))) are not the model's findings (\(findings.joined(separator: ", "))); name the columns after the model's findings")
            }
            let order = findings.map { names.firstIndex(of: $0)! }
            rows = stride(from: 0, to: labelRows.count, by: labelWidth).flatMap { start in order.map { labelRows[start + $0] } }
            columns = findings
        }
        return ImageFolderDataset(self, preprocessing: preprocessing, inputShape: inputShape, labelRows: rows, findingColumns: columns)
    }

    public func batch(_ range: Range<Int>) throws -> DatasetBatch {
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw DatasetError.rangeOutOfBounds(file: source, lower: range.lowerBound, upper: range.upperBound, count: count)
        }
        guard let preprocessing, let inputShape else {
            throw DatasetError.preprocessing(file: source, reason: "the images are not preprocessed yet: the model's declared preprocessing must be applied first")
        }
        var features: [Float] = []
        features.reserveCapacity(range.count * inputShape.reduce(1, *))
        for index in range {
            let path = NPYFolderDataset.join(source, files[index])
            let image = try ImageFile.decode(path)
            do {
                features += try ImagePipeline.apply(preprocessing, to: image, inputShape: inputShape, file: path)
            } catch {
                throw DatasetError.preprocessing(file: path, reason: error.reason)
            }
        }
        return DatasetBatch(features: features, labels: try labels(range), labelWidth: labelWidth)
    }

    public func labels(_ range: Range<Int>) throws -> [Int] {
        Array(labelRows[(range.lowerBound * labelWidth)..<(range.upperBound * labelWidth)])
    }

    public func location(ofExample index: Int) -> ExampleLocation {
        .image(file: files[index], line: lines[index])
    }

    public func commitmentContent(_ update: (UnsafeRawBufferPointer) -> Void) throws {
        func chunk(_ bytes: [UInt8]) { bytes.withUnsafeBytes(update) }
        func length(_ n: Int) { withUnsafeBytes(of: UInt64(n).littleEndian, update) }
        chunk(Array("image-folder-v1\n".utf8))
        let header = Array(((findingColumns ?? ["label"]).joined(separator: ",")).utf8)
        length(header.count); chunk(header)
        length(files.count)
        for (index, name) in files.enumerated() {
            let bytes = Array(name.utf8)
            length(bytes.count); chunk(bytes)
            for label in labelRows[(index * labelWidth)..<((index + 1) * labelWidth)] {
                withUnsafeBytes(of: Int64(label).littleEndian, update)
            }
            let content = try Self.read(NPYFolderDataset.join(source, name))
            length(content.count); chunk(content)
        }
    }

    private static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DatasetError.unreadable(file: path, reason: "cannot open it")
        }
        return [UInt8](data)
    }

    /// The fields of one CSV line (double quotes around a field are removed; `""` inside quotes
    /// is a quote); spaces around unquoted fields are trimmed.
    static func fields(_ line: String, file: String, line number: Int) throws -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false, wasQuoted = false
        var iterator = Array(line).makeIterator()
        var pending: Character?
        while let c = pending ?? iterator.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" { current.append("\"") } else { quoted = false; pending = next }
                    } else { quoted = false }
                } else { current.append(c) }
            } else if c == "\"" && current.trimmingCharacters(in: .whitespaces).isEmpty {
                quoted = true; wasQuoted = true; current = ""
            } else if c == "," {
                fields.append(wasQuoted ? current : current.trimmingCharacters(in: .whitespaces))
                current = ""; wasQuoted = false
            } else {
                current.append(c)
            }
        }
        guard !quoted else { throw DatasetError.malformedLabels(file: file, line: number, reason: "a quoted field is not closed") }
        fields.append(wasQuoted ? current : current.trimmingCharacters(in: .whitespaces))
        return fields
    }
}
