import Foundation

/// Every error thrown by the `Ledger` module.
///
/// Each case carries the ledger's path and, where SQLite reported the failure, SQLite's own
/// message. Messages say what went wrong, where, and what to do; they never contain a checkpointed
/// share or any other secret (the ledger holds none besides checkpoint shares, which never reach an
/// error).
public enum LedgerError: Error, Equatable, Sendable {
    // MARK: Opening

    /// The file could not be opened or created (missing folder, permissions, a directory at `path`).
    case cannotOpen(path: String, message: String)
    /// The file exists but is not an SQLite database. It is left untouched.
    case notADatabase(path: String, message: String)
    /// The file is an SQLite database but not a SecureValidation ledger. It is left untouched.
    case notALedger(path: String, reason: String)
    /// The ledger was written by a newer SecureValidation whose schema this program does not know.
    /// It is left untouched.
    case newerSchema(path: String, found: Int, known: Int)
    /// A ledger opened read-only has an older schema that only a writable open can migrate.
    case needsMigration(path: String, found: Int, known: Int)
    /// The data directory for the default ledger path could not be determined or created.
    case cannotCreateDirectory(path: String, message: String)
    /// The ledger was used after ``Ledger/close()``.
    case closed(path: String)

    // MARK: Writing and reading

    /// The disk (or the database's `max_page_count`) is full; the failed write was rolled back.
    case diskFull(path: String, message: String)
    /// The ledger cannot be written: a read-only open, file or file system.
    case readOnly(path: String, message: String)
    /// Another process held the ledger's lock for longer than the busy timeout.
    case busy(path: String, message: String)
    /// SQLite found the file damaged.
    case corrupt(path: String, message: String)
    /// The operating system reported an I/O error.
    case ioError(path: String, message: String)
    /// A write violated the schema (a CHECK, NOT NULL or key constraint); it was rolled back.
    case constraintViolated(path: String, message: String)
    /// `finish` named a row that does not exist.
    case noSuchSession(path: String, id: Int64)
    /// A stored row could not be read back as a ``SessionRecord`` (edited by hand, or damaged).
    case invalidRow(path: String, reason: String)
    /// Any other SQLite failure, with its numeric result code.
    case sqlite(path: String, code: Int, message: String)
    /// A pool part (0-based `part`) this ledger already holds from session `held` was offered again
    /// from another session, `offered`; nothing was written.
    case conflictingPoolPart(path: String, pool: String, part: Int, held: String, offered: String)
    /// A differentially private validation would spend more than the dataset's privacy budget
    /// (ε in millionths); nothing was written.
    case privacyBudgetExceeded(path: String, dataset: String, spentMicro: Int, askedMicro: Int, budgetMicro: Int)
}

extension LedgerError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case .cannotOpen(let path, let message):
            return "Cannot open the ledger \(path): \(message). Check that the folder exists and is writable, or choose another file with --ledger PATH."
        case .notADatabase(let path, let message):
            return "\(path) is not an SQLite database (\(message)); it was left untouched. Pass the path of a SecureValidation ledger with --ledger PATH, or a path where a new ledger may be created."
        case .notALedger(let path, let reason):
            return "\(path) is an SQLite database but not a SecureValidation ledger (\(reason)); it was left untouched. Choose another file with --ledger PATH."
        case .newerSchema(let path, let found, let known):
            return "The ledger \(path) was written by a newer SecureValidation (schema \(found); this program knows \(known)): upgrade SecureValidation to read or write it. The file was left untouched."
        case .needsMigration(let path, let found, let known):
            return "The ledger \(path) has schema \(found) but this program reads schema \(known): open it once for writing (any validate-serve or validate-client run with --ledger \(path)) to migrate it."
        case .cannotCreateDirectory(let path, let message):
            return "Cannot create the ledger folder \(path): \(message). Create it yourself, set XDG_DATA_HOME, or pass --ledger PATH."
        case .closed(let path):
            return "The ledger \(path) was used after it was closed (a program error); reopen it."
        case .diskFull(let path, let message):
            return "The ledger \(path) could not be written because the disk is full (\(message)); nothing was half-written. Free space on the disk and run again."
        case .readOnly(let path, let message):
            return "The ledger \(path) is read-only (\(message)). Make the file and its folder writable, or choose another file with --ledger PATH."
        case .busy(let path, let message):
            return "The ledger \(path) is locked by another process (\(message)). Wait for the other validate-serve or validate-client run to finish, then retry."
        case .corrupt(let path, let message):
            return "The ledger \(path) is damaged (\(message)). Keep a copy for the record, then restore it from a backup or start a new one with --ledger PATH."
        case .ioError(let path, let message):
            return "The ledger \(path) could not be read or written: input/output error (\(message)). Check the disk, then retry."
        case .constraintViolated(let path, let message):
            return "A write to the ledger \(path) was refused by its schema (\(message)); nothing was written. This is a program error: please report it."
        case .noSuchSession(let path, let id):
            return "The ledger \(path) has no session row \(id) to finish; it must be created with begin(_:) first."
        case .invalidRow(let path, let reason):
            return "The ledger \(path) holds a row that cannot be read (\(reason)). Was it edited by hand? Restore it from a backup."
        case .sqlite(let path, let code, let message):
            return "SQLite failed on the ledger \(path) (code \(code): \(message))."
        case .conflictingPoolPart(let path, let pool, let part, let held, let offered):
            return "The ledger \(path) already holds part \(part + 1) of pool \(pool) from session \(held.prefix(16))…; session \(offered.prefix(16))… claims the same part. Each part of a pool is run once: check the --part numbers, or choose another pool name."
        case .privacyBudgetExceeded(let path, let dataset, let spent, let asked, let budget):
            return "Refused before any computation: this test set (digest \(dataset.prefix(16))…) has spent ε = \(Double(spent) / 1e6) of its privacy budget \(Double(budget) / 1e6) (ledger \(path)); ε = \(Double(asked) / 1e6) more would exceed it (pure-ε composition: the ε of every differentially private validation of the set add up). Ask for a smaller --dp-epsilon, or a larger --dp-budget if your data governance allows it."
        }
    }
}
