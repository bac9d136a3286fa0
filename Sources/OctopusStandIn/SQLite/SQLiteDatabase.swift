import CSQLite

/// A value stored in or read from SQLite.
public enum SQLValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)

    /// The value as sqlcmd prints it: `NULL` for null, numbers and text as they are.
    public var description: String {
        switch self {
        case .null: "NULL"
        case .integer(let value): String(value)
        case .real(let value): String(value)
        case .text(let value): value
        }
    }

    /// The text, when the value is text.
    public var text: String? {
        if case .text(let value) = self { return value }
        return nil
    }

    /// The integer, when the value is an integer.
    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }
}

/// The rows of a query, with the column names SQLite reported.
public struct SQLiteRows: Sendable, Equatable {
    /// The column names, in order.
    public var columns: [String]
    /// Each row's values, in column order.
    public var rows: [[SQLValue]]
}

/// An error from SQLite, with the raw result code and text for bug reports.
public struct SQLiteError: StandInError {
    /// What went wrong (a struct around a private enum, so new codes never break a caller's `switch`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case openFailed
            case prepareFailed
            case stepFailed
            case bindFailed
        }
        let base: Base
        init(_ base: Base) { self.base = base }

        /// The database file could not be opened (or created).
        public static let openFailed = Code(.openFailed)
        /// SQLite refused the SQL text (syntax, unknown table or column).
        public static let prepareFailed = Code(.prepareFailed)
        /// Running a statement failed (constraint, I/O, busy).
        public static let stepFailed = Code(.stepFailed)
        /// A parameter could not be bound.
        public static let bindFailed = Code(.bindFailed)

        public var description: String { base.rawValue }
    }

    /// Compare errors by code, never by message.
    public var code: Code
    /// One sentence naming the database file.
    public var message: String
    /// The `SQLITE_*` result code.
    public var resultCode: Int32
    /// SQLite's own text (`sqlite3_errmsg`), e.g. `no such table: Machine`.
    public var sqliteMessage: String
}

/// A connection to one SQLite database file.
///
/// Every SQLite call that can fail goes through ``check(_:_:_:)``, which turns the result code into an
/// ``SQLiteError`` with `sqlite3_errmsg` read at once. Not thread-safe: one connection belongs to one
/// sqlcmd session (or one test) and is used from one thread, like a SQL Server connection.
public final class SQLiteDatabase {
    private var handle: OpaquePointer?
    /// The database file's path.
    public let path: String

    /// Opens (and optionally creates) a database file.
    /// - Parameters:
    ///   - path: The file; `:memory:` for an in-memory database.
    ///   - create: Whether a missing file is created.
    /// - Throws: ``SQLiteError`` with code ``SQLiteError/Code/openFailed``.
    public init(path: String, create: Bool = false) throws {
        self.path = path
        var flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX
        if create { flags |= SQLITE_OPEN_CREATE }
        var pointer: OpaquePointer?
        let status = sqlite3_open_v2(path, &pointer, flags, nil)
        handle = pointer
        if status != SQLITE_OK {
            let text = pointer.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(pointer)
            handle = nil
            throw SQLiteError(
                code: .openFailed,
                message: "Cannot open the database file \(path): \(text).",
                resultCode: status,
                sqliteMessage: text
            )
        }
        sqlite3_busy_timeout(pointer, 5000)
        sqlite3_extended_result_codes(pointer, 1)
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// The one choke point: turns a SQLite result code into an error, reading `sqlite3_errmsg` at once.
    @discardableResult
    private func check(_ code: SQLiteError.Code, _ operation: String, _ status: Int32) throws -> Int32 {
        switch status & 0xff {
        case SQLITE_OK, SQLITE_ROW, SQLITE_DONE:
            return status
        default:
            let text = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(status))
            throw SQLiteError(
                code: code,
                message: "SQLite \(operation) failed on \(path): \(text).",
                resultCode: status,
                sqliteMessage: text
            )
        }
    }

    /// Runs one or more statements without parameters or results (schema scripts).
    /// - Throws: ``SQLiteError`` with code ``SQLiteError/Code/stepFailed``.
    public func execute(_ sql: String) throws {
        try check(.stepFailed, "exec", sqlite3_exec(handle, sql, nil, nil, nil))
    }

    /// Runs one statement with positional parameters and returns its rows.
    /// - Parameters:
    ///   - sql: One SQLite statement; `?` marks a parameter.
    ///   - parameters: The values for the `?` marks, in order.
    /// - Returns: The column names and every row.
    /// - Throws: ``SQLiteError`` (``SQLiteError/Code/prepareFailed``, ``SQLiteError/Code/bindFailed``,
    ///   ``SQLiteError/Code/stepFailed``).
    public func query(_ sql: String, _ parameters: [SQLValue] = []) throws -> SQLiteRows {
        try withStatement(sql, parameters) { statement in
            let count = sqlite3_column_count(statement)
            let columns = (0..<count).map { String(cString: sqlite3_column_name(statement, $0)) }
            var rows: [[SQLValue]] = []
            while try check(.stepFailed, "step", sqlite3_step(statement)) == SQLITE_ROW {
                rows.append((0..<count).map { Self.column(statement, $0) })
            }
            return SQLiteRows(columns: columns, rows: rows)
        }
    }

    /// Runs one data-changing statement and returns how many rows it changed.
    /// - Throws: ``SQLiteError`` as for ``query(_:_:)``.
    @discardableResult
    public func run(_ sql: String, _ parameters: [SQLValue] = []) throws -> Int {
        try withStatement(sql, parameters) { statement in
            while try check(.stepFailed, "step", sqlite3_step(statement)) == SQLITE_ROW {}
            return Int(sqlite3_changes(handle))
        }
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    ///
    /// `BEGIN IMMEDIATE` takes the write lock at the start, waiting for it through the busy timeout. A plain
    /// (deferred) `BEGIN` that reads first and writes later can fail at once with `SQLITE_BUSY` when another
    /// connection holds the write lock by then (SQLite does not wait where waiting could deadlock); SQL Server
    /// would wait for the lock, so the stand-in takes it first. (A suspect, not a proven cause, for one
    /// `Octopus.Server node --drain` that failed beside a running server in CI.)
    /// - Throws: What `body` throws, or ``SQLiteError`` from BEGIN/COMMIT.
    public func withTransaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Whether a transaction is open on this connection.
    public var inTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Whether a table exists (names compare case-insensitively, as in SQL Server's default collation).
    /// - Throws: ``SQLiteError``.
    public func tableExists(_ name: String) throws -> Bool {
        let rows = try query(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE",
            [.text(name)]
        )
        return !rows.rows.isEmpty
    }

    private func withStatement<T>(
        _ sql: String,
        _ parameters: [SQLValue],
        _ body: (OpaquePointer?) throws -> T
    ) throws -> T {
        var statement: OpaquePointer?
        try check(.prepareFailed, "prepare", sqlite3_prepare_v2(handle, sql, -1, &statement, nil))
        defer { sqlite3_finalize(statement) }
        for (offset, value) in parameters.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32 =
                switch value {
                case .null: sqlite3_bind_null(statement, index)
                case .integer(let integer): sqlite3_bind_int64(statement, index, integer)
                case .real(let real): sqlite3_bind_double(statement, index, real)
                case .text(let text): sqlite3_bind_text(statement, index, text, -1, Self.transient)
                }
            try check(.bindFailed, "bind", status)
        }
        return try body(statement)
    }

    /// `SQLITE_TRANSIENT` (a cast macro in C): SQLite copies the bound text.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private static func column(_ statement: OpaquePointer?, _ index: Int32) -> SQLValue {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER: .integer(sqlite3_column_int64(statement, index))
        case SQLITE_FLOAT: .real(sqlite3_column_double(statement, index))
        case SQLITE_NULL: .null
        default: .text(sqlite3_column_text(statement, index).map { String(cString: $0) } ?? "")
        }
    }
}
