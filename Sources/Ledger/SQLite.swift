import CSQLite
import Foundation

/// `SQLITE_TRANSIENT` is a C macro (`(sqlite3_destructor_type)-1`) that Swift does not import: it
/// tells SQLite to copy a bound text or blob before `sqlite3_bind_*` returns.
let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A value bound to, or read from, an SQL statement.
enum SQLValue: Equatable {
    case null
    case integer(Int64)
    case text(String)
    case blob([UInt8])

    init(_ value: String?) { self = value.map { .text($0) } ?? .null }
    init(_ value: Int?) { self = value.map { .integer(Int64($0)) } ?? .null }
}

/// One open SQLite connection (`sqlite3 *`), with the path it was opened on for error messages.
///
/// Not thread-safe by itself: ``Ledger`` serialises every use under its lock.
final class SQLiteConnection {
    let path: String
    private(set) var handle: OpaquePointer?

    /// Opens `path` (creating it when `create`); read-only when `readOnly`.
    init(path: String, readOnly: Bool, create: Bool) throws(LedgerError) {
        self.path = path
        var flags = SQLITE_OPEN_FULLMUTEX
        if readOnly {
            flags |= SQLITE_OPEN_READONLY
        } else {
            flags |= SQLITE_OPEN_READWRITE
            if create { flags |= SQLITE_OPEN_CREATE }
        }
        var db: OpaquePointer?
        let code = sqlite3_open_v2(path, &db, flags, nil)
        guard code == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(db)
            throw LedgerError.cannotOpen(path: path, message: message)
        }
        sqlite3_extended_result_codes(db, 1)
        handle = db
    }

    deinit { close() }

    /// Closes the connection; idempotent. Unfinalised statements are finalised by their own
    /// `deinit`; `sqlite3_close_v2` defers the close until then.
    func close() {
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    /// True when the main database was opened read-only (also when a read-write open fell back to
    /// read-only because the file is not writable).
    var isReadOnly: Bool { handle.map { sqlite3_db_readonly($0, "main") == 1 } ?? true }

    /// Milliseconds a statement waits for another connection's lock before failing with `busy`.
    func setBusyTimeout(milliseconds: Int32) { if let handle { sqlite3_busy_timeout(handle, milliseconds) } }

    /// True while a transaction is open.
    var inTransaction: Bool { handle.map { sqlite3_get_autocommit($0) == 0 } ?? false }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int { handle.map { Int(sqlite3_changes($0)) } ?? 0 }

    /// The rowid of the last successful INSERT.
    var lastInsertRowID: Int64 { handle.map { sqlite3_last_insert_rowid($0) } ?? 0 }

    /// Runs one or more statements that return no rows we need.
    func execute(_ sql: String) throws(LedgerError) {
        guard let handle else { throw LedgerError.closed(path: path) }
        var errorMessage: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        let message = errorMessage.map { String(cString: $0) }
        sqlite3_free(errorMessage)
        if code != SQLITE_OK { throw error(code: code, message: message) }
    }

    /// Prepares `sql`, binds `values` to its `?` parameters in order, and steps it to the end,
    /// returning every row.
    @discardableResult
    func query(_ sql: String, _ values: [SQLValue] = []) throws(LedgerError) -> [[SQLValue]] {
        let statement = try prepare(sql)
        defer { sqlite3_finalize(statement) }
        for (index, value) in values.enumerated() {
            let position = Int32(index + 1)
            let code: Int32
            switch value {
            case .null: code = sqlite3_bind_null(statement, position)
            case .integer(let integer): code = sqlite3_bind_int64(statement, position, integer)
            case .text(let text): code = sqlite3_bind_text(statement, position, text, -1, SQLITE_TRANSIENT)
            case .blob(let bytes):
                code = bytes.withUnsafeBytes { raw in
                    // A zero-length blob must still be a blob, not NULL: bind_zeroblob(0) is one.
                    guard let base = raw.baseAddress, !raw.isEmpty else { return sqlite3_bind_zeroblob(statement, position, 0) }
                    return sqlite3_bind_blob(statement, position, base, Int32(raw.count), SQLITE_TRANSIENT)
                }
            }
            if code != SQLITE_OK { throw error(code: code) }
        }
        var rows: [[SQLValue]] = []
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else { throw error(code: code) }
            let count = sqlite3_column_count(statement)
            var row: [SQLValue] = []
            row.reserveCapacity(Int(count))
            for column in 0..<count {
                switch sqlite3_column_type(statement, column) {
                case SQLITE_NULL: row.append(.null)
                case SQLITE_INTEGER: row.append(.integer(sqlite3_column_int64(statement, column)))
                case SQLITE_BLOB:
                    let length = Int(sqlite3_column_bytes(statement, column))
                    if length > 0, let bytes = sqlite3_column_blob(statement, column) {
                        row.append(.blob(Array(UnsafeRawBufferPointer(start: bytes, count: length))))
                    } else {
                        row.append(.blob([]))
                    }
                default:
                    // TEXT, and REAL read as text (the schema has no REAL columns).
                    if let text = sqlite3_column_text(statement, column) {
                        row.append(.text(String(cString: text)))
                    } else {
                        row.append(.null)
                    }
                }
            }
            rows.append(row)
        }
        return rows
    }

    /// The single integer a query such as `PRAGMA user_version` returns.
    func integer(_ sql: String, _ values: [SQLValue] = []) throws(LedgerError) -> Int64 {
        let rows = try query(sql, values)
        guard let first = rows.first?.first, case .integer(let value) = first else {
            throw LedgerError.invalidRow(path: path, reason: "`\(sql)` returned no integer")
        }
        return value
    }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT` (the write lock is taken up front, so a busy
    /// database fails at BEGIN rather than half-way). Any error rolls the whole transaction back.
    @discardableResult
    func transaction<T>(_ body: () throws(LedgerError) -> T) throws(LedgerError) -> T {
        try execute("BEGIN IMMEDIATE")
        do throws(LedgerError) {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            // SQLite may already have rolled back by itself (e.g. after SQLITE_FULL); a failed
            // COMMIT may leave the transaction open. Roll back whatever is still open.
            if inTransaction { try? execute("ROLLBACK") }
            throw error
        }
    }

    private func prepare(_ sql: String) throws(LedgerError) -> OpaquePointer {
        guard let handle else { throw LedgerError.closed(path: path) }
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard code == SQLITE_OK, let statement else {
            sqlite3_finalize(statement)
            throw error(code: code)
        }
        return statement
    }

    /// Maps an SQLite result code to a ``LedgerError`` carrying the path and SQLite's message.
    func error(code: Int32, message: String? = nil) -> LedgerError {
        let text = message ?? handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
        switch code & 0xFF {
        case SQLITE_FULL: return .diskFull(path: path, message: text)
        case SQLITE_READONLY: return .readOnly(path: path, message: text)
        case SQLITE_BUSY, SQLITE_LOCKED: return .busy(path: path, message: text)
        case SQLITE_NOTADB: return .notADatabase(path: path, message: text)
        case SQLITE_CORRUPT: return .corrupt(path: path, message: text)
        case SQLITE_CANTOPEN: return .cannotOpen(path: path, message: text)
        case SQLITE_IOERR: return .ioError(path: path, message: text)
        case SQLITE_CONSTRAINT: return .constraintViolated(path: path, message: text)
        default: return .sqlite(path: path, code: Int(code), message: text)
        }
    }
}
