import Foundation

// The hospital's privacy budget per dataset (table `privacy_spending`): every differentially
// private validation of a test set spends its ε; pure-ε composition adds them up.

extension Ledger {
    /// Records that `validation` spends ε (`microEpsilon` millionths) on the dataset whose unsalted
    /// digest is `datasetDigest`, checked in the same transaction against `budgetMicro`: pure-ε
    /// composition, the sum of every spent ε must stay within the budget. A validation already
    /// recorded (a resumed one) spends nothing more. Throws
    /// ``LedgerError/privacyBudgetExceeded(path:dataset:spentMicro:askedMicro:budgetMicro:)``.
    public func spendPrivacy(datasetDigest: String, validation: String, microEpsilon: Int, budgetMicro: Int,
                             at date: Date = Date()) throws(LedgerError) {
        try withConnection { (connection) throws(LedgerError) in
            try connection.transaction { () throws(LedgerError) in
                let held = try connection.query("SELECT 1 FROM privacy_spending WHERE dataset_digest = ? AND validation = ?",
                                                [.text(datasetDigest), .text(validation)])
                if !held.isEmpty { return }
                let spent = try connection.integer("SELECT COALESCE(SUM(epsilon_micro), 0) FROM privacy_spending WHERE dataset_digest = ?",
                                                   [.text(datasetDigest)])
                guard Int(spent) + microEpsilon <= budgetMicro else {
                    throw LedgerError.privacyBudgetExceeded(path: path, dataset: datasetDigest, spentMicro: Int(spent),
                                                            askedMicro: microEpsilon, budgetMicro: budgetMicro)
                }
                try connection.query("""
                    INSERT INTO privacy_spending (dataset_digest, validation, epsilon_micro, budget_micro, spent_at) VALUES (?, ?, ?, ?, ?)
                    """, [.text(datasetDigest), .text(validation), SQLValue(microEpsilon), SQLValue(budgetMicro), .text(Timestamp.format(date))])
            }
        }
    }

    /// The ε (millionths) spent so far on the dataset whose unsalted digest is `datasetDigest`.
    public func privacySpent(datasetDigest: String) throws(LedgerError) -> Int {
        try withConnection { (connection) throws(LedgerError) in
            let rows = try connection.query("SELECT COALESCE(SUM(epsilon_micro), 0) FROM privacy_spending WHERE dataset_digest = ?",
                                            [.text(datasetDigest)])
            if let row = rows.first, case .integer(let value)? = row.first { return Int(value) }
            return 0
        }
    }

    /// Per dataset: ε spent (millionths), in how many validations, and the latest budget checked.
    public func privacySpending() throws(LedgerError) -> [(dataset: String, spentMicro: Int, validations: Int, budgetMicro: Int)] {
        try withConnection { (connection) throws(LedgerError) in
            try connection.query("""
                SELECT dataset_digest, SUM(epsilon_micro), COUNT(*),
                    (SELECT budget_micro FROM privacy_spending q WHERE q.dataset_digest = p.dataset_digest ORDER BY spent_at DESC LIMIT 1)
                FROM privacy_spending p GROUP BY dataset_digest ORDER BY dataset_digest
                """).map { (row) throws(LedgerError) -> (dataset: String, spentMicro: Int, validations: Int, budgetMicro: Int) in
                guard row.count == 4, case .text(let dataset) = row[0], case .integer(let spent) = row[1],
                      case .integer(let count) = row[2], case .integer(let budget) = row[3] else {
                    throw LedgerError.invalidRow(path: path, reason: "a privacy-spending summary has the wrong column types")
                }
                return (dataset, Int(spent), Int(count), Int(budget))
            }
        }
    }
}
