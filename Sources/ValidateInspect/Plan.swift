import Foundation
import IR

/// The protocol plan of a model as `validate-inspect plan` shows it: one row per IR node with the
/// protocol class it gets, its shapes and its work for one example, and totals.
struct PlanReport: Codable {
    struct Row: Codable {
        var name: String
        var op: String
        var inputShapes: [[Int]]
        var outputShape: [Int]
        var protocolClass: String
        var macs: Int
        var comparisons: Int
        var divisions: Int
        var truncations: Int

        enum CodingKeys: String, CodingKey {
            case name, op, macs, comparisons, divisions, truncations
            case inputShapes = "input_shapes", outputShape = "output_shape", protocolClass = "protocol"
        }
    }

    struct Totals: Codable {
        var nodes: Int
        var macs: Int
        var comparisons: Int
        var divisions: Int
        var truncations: Int
        var parameters: Int
        var byProtocol: [String: Int]

        enum CodingKeys: String, CodingKey {
            case nodes, macs, comparisons, divisions, truncations, parameters
            case byProtocol = "nodes_by_protocol"
        }
    }

    var model: String
    var inputShape: [Int]
    var outputShape: [Int]
    var batch: String
    var classes: Int
    var nodes: [Row]
    var totals: Totals
    var notes: [String]

    enum CodingKeys: String, CodingKey {
        case model, batch, classes, nodes, totals, notes
        case inputShape = "input_shape", outputShape = "output_shape"
    }

    init(model: String, graph: Graph) {
        let shapes = graph.valueShapes()
        let costs = graph.nodeCosts()
        var rows: [Row] = []
        var totals = Totals(nodes: 0, macs: 0, comparisons: 0, divisions: 0, truncations: 0, parameters: 0, byProtocol: [:])
        var notes: [String] = []
        for (node, cost) in zip(graph.nodes, costs) {
            rows.append(Row(name: node.name, op: node.operation.name, inputShapes: node.inputs.map { shapes[$0] ?? [] },
                            outputShape: node.outputShape, protocolClass: cost.protocolClass.rawValue, macs: cost.macs,
                            comparisons: cost.comparisons, divisions: cost.divisions, truncations: cost.truncations))
            totals.nodes += 1
            totals.macs += cost.macs
            totals.comparisons += cost.comparisons
            totals.divisions += cost.divisions
            totals.truncations += cost.truncations
            totals.byProtocol[cost.protocolClass.rawValue, default: 0] += 1
            totals.parameters += node.operation.parameterCount
            if cost.protocolClass == .dropped {
                notes.append("\(node.operation.name) '\(node.name)' is the model's last op and "
                             + (node.operation == .sigmoid ? "is monotone per score" : "does not change the argmax") + ": dropped from the secure program")
            }
        }
        let classes = graph.classCount
        if graph.task == .multiLabel {
            let names = (0..<classes).map { graph.declarations?.name(ofOutput: $0) ?? String($0) }
            notes.append("multi-label: \(classes) findings (\(names.joined(separator: ", "))); metrics auroc (every image's scores stay shared, two oblivious sorts per finding, one opening) or sens-spec"
                         + (graph.declarations?.thresholds.map { " at the declared thresholds \($0.map { String($0) }.joined(separator: ", "))" } ?? " (no declared thresholds: the hospital gives them)"))
        } else {
            notes.append("metric: argmax over \(classes) outputs (\(max(classes - 1, 0)) comparisons per example), equality with the label, secure sum, one opening; or auroc, sens-spec, confusion of every image's scores")
        }
        self.model = model
        self.inputShape = graph.inputShape
        self.outputShape = graph.outputShape
        self.batch = graph.batch.description
        self.classes = classes
        self.nodes = rows
        self.totals = totals
        self.notes = notes
    }

    /// The human table.
    func render() -> String {
        func count(_ n: Int) -> String {
            if n == 0 { return "-" }
            if n >= 10_000_000 { return String(format: "%.1fM", Double(n) / 1e6) }
            if n >= 10_000 { return String(format: "%.1fk", Double(n) / 1e3) }
            return String(n)
        }
        func shape(_ s: [Int]) -> String { s.map(String.init).joined(separator: "×") }
        var lines: [String] = []
        lines.append("\(model): input \(shape(inputShape)) (batch \(batch)) → output \(shape(outputShape)), \(classes) classes")
        let header = ["#", "node", "op", "input", "output", "protocol", "MACs", "compare", "divide"]
        var table: [[String]] = [header]
        for (i, row) in nodes.enumerated() {
            table.append([String(i), row.name, row.op, row.inputShapes.map(shape).joined(separator: " + "), shape(row.outputShape),
                          row.protocolClass, count(row.macs), count(row.comparisons), count(row.divisions)])
        }
        let widths = header.indices.map { column in min(table.map { $0[column].count }.max() ?? 0, column == 1 ? 28 : 40) }
        for row in table {
            let cells = row.indices.map { column -> String in
                var cell = row[column]
                if cell.count > widths[column] { cell = String(cell.prefix(widths[column] - 1)) + "…" }
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return column >= 6 ? padding + cell : cell + padding
            }
            lines.append(cells.joined(separator: "  "))
        }
        let byProtocol = totals.byProtocol.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        lines.append("totals per example: \(totals.nodes) nodes (\(byProtocol)); \(totals.macs) MACs, "
            + "\(totals.comparisons) comparisons, \(totals.divisions) divisions, \(totals.truncations) truncations; "
            + "\(totals.parameters) parameters")
        for note in notes { lines.append("note: \(note)") }
        return lines.joined(separator: "\n")
    }
}

extension IR.Operation {
    /// Number of weight values the op holds.
    var parameterCount: Int {
        switch self {
        case .convolution(let c): c.weight.elementCount + (c.bias?.elementCount ?? 0)
        case .fullyConnected(let f): f.weight.elementCount + (f.bias?.elementCount ?? 0)
        case .affine(let a): (a.scale?.elementCount ?? 0) + (a.shift?.elementCount ?? 0)
        case .signedShift(let s): s.negate.elementCount + s.shift.elementCount
        default: 0
        }
    }
}
