import Foundation
import Testing
@testable import Ledger

/// The privacy budget per dataset: pure-ε sums, refused beyond the budget, a resumed validation
/// charged once.
@Suite struct LedgerPrivacyTests {
    @Test func spendingStaysWithinTheBudget() throws {
        try withTemporaryFolder { folder in
            let ledger = try Ledger(path: folder.file("l.sqlite"))
            try ledger.spendPrivacy(datasetDigest: "d1", validation: "v1", microEpsilon: 600_000, budgetMicro: 1_000_000)
            // The same validation again (a resume) spends nothing more.
            try ledger.spendPrivacy(datasetDigest: "d1", validation: "v1", microEpsilon: 600_000, budgetMicro: 1_000_000)
            #expect(try ledger.privacySpent(datasetDigest: "d1") == 600_000)
            #expect(throws: LedgerError.privacyBudgetExceeded(path: ledger.path, dataset: "d1", spentMicro: 600_000, askedMicro: 500_000, budgetMicro: 1_000_000)) {
                try ledger.spendPrivacy(datasetDigest: "d1", validation: "v2", microEpsilon: 500_000, budgetMicro: 1_000_000)
            }
            try ledger.spendPrivacy(datasetDigest: "d1", validation: "v3", microEpsilon: 400_000, budgetMicro: 1_000_000)
            // Another dataset has its own budget.
            try ledger.spendPrivacy(datasetDigest: "d2", validation: "v4", microEpsilon: 1_000_000, budgetMicro: 2_000_000)
            let summary = try ledger.privacySpending()
            #expect(summary.map(\.dataset) == ["d1", "d2"] && summary.map(\.spentMicro) == [1_000_000, 1_000_000])
            #expect(summary.map(\.validations) == [2, 1] && summary.map(\.budgetMicro) == [1_000_000, 2_000_000])
        }
    }
}
