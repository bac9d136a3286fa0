import Foundation
import Wire

#if canImport(Glibc)
    import Glibc
#endif

/// The running server's one connection to its database, shared by the HTTP threads and the behaviour
/// scheduler.
///
/// `@unchecked Sendable`: ``SQLiteDatabase`` is a single-threaded connection; every use goes through
/// ``with(_:)``, which holds `lock`, so it is never used by two threads at once. Network contacts never
/// happen inside ``with(_:)``.
final class StandInStore: @unchecked Sendable {
    private let lock = NSLock()
    private let database: SQLiteDatabase
    /// The columns of each table that exists (names as declared), read once at open.
    let columns: [String: Set<String>]

    /// Opens an existing database file.
    /// - Throws: ``SQLiteError`` when it cannot be opened or read.
    init(path: String) throws {
        database = try SQLiteDatabase(path: path, create: false)
        var found: [String: Set<String>] = [:]
        let tables = try database.query("SELECT name FROM sqlite_master WHERE type = 'table'")
        for row in tables.rows {
            guard let table = row.first?.text else { continue }
            let info = try database.query("PRAGMA table_info([\(table)])")
            let nameIndex = info.columns.firstIndex(of: "name") ?? 1
            found[table.lowercased()] = Set(info.rows.compactMap { $0[nameIndex].text })
        }
        columns = found
    }

    /// Runs `body` with the connection, holding the lock.
    @discardableResult
    func with<T>(_ body: (SQLiteDatabase) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(database)
    }

    /// Whether a table exists (case-insensitive, like SQL Server's default collation).
    func hasTable(_ table: String) -> Bool {
        columns[table.lowercased()] != nil
    }

    /// Whether a table exists and has a column.
    func hasColumn(_ table: String, _ column: String) -> Bool {
        columns[table.lowercased()]?.contains(column) ?? false
    }

    /// The `[JSON]` document of a `Configuration` row, or `nil` when there is no such row (or its JSON is
    /// not an object).
    func configuration(_ id: String) throws -> JSONValue.Object? {
        try with { database in
            let rows = try database.query("SELECT JSON FROM Configuration WHERE Id = ?", [.text(id)])
            guard let text = rows.rows.first?.first?.text else { return nil }
            return (try? JSONValue(parsing: text))?.objectValue
        }
    }

    /// Writes the `[JSON]` document of a `Configuration` row, creating the row when missing.
    func setConfiguration(_ id: String, _ document: JSONValue.Object) throws {
        try with { database in
            try database.run(
                "INSERT INTO Configuration (Id, JSON) VALUES (?, ?) ON CONFLICT(Id) DO UPDATE SET JSON = excluded.JSON",
                [.text(id), .text(JSONValue.object(document).serialized())]
            )
        }
    }

    /// The next free `Prefix-N` Id of a table (one more than the largest N in use).
    static func nextId(_ database: SQLiteDatabase, table: String, prefix: String) throws -> String {
        let rows = try database.query(
            "SELECT MAX(CAST(SUBSTR(Id, ?) AS INTEGER)) FROM [\(table)] WHERE Id LIKE ?",
            [.integer(Int64(prefix.utf8.count + 2)), .text("\(prefix)-%")]
        )
        let largest = rows.rows.first?.first?.integer ?? 0
        return "\(prefix)-\(largest + 1)"
    }

    /// The Id of the default space (`Space.IsDefault = 1`), or `nil` when there is none.
    func defaultSpaceId() throws -> String? {
        guard hasTable("Space") else { return nil }
        return try with { database in
            try database.query("SELECT Id FROM Space WHERE IsDefault = 1 ORDER BY Id LIMIT 1").rows.first?.first?.text
        }
    }

    /// The Id of a space as stored (matching case-insensitively), or `nil` when there is none.
    func spaceId(matching id: String) throws -> String? {
        guard hasTable("Space") else { return nil }
        return try with { database in
            try database.query("SELECT Id FROM Space WHERE Id = ?", [.text(id)]).rows.first?.first?.text
        }
    }
}

/// Octopus's timestamps: ISO 8601 with milliseconds and an explicit offset, e.g.
/// `2023-09-19T21:35:24.279+00:00`.
enum OctopusTime {
    /// The timestamp of `date` in UTC.
    static func timestamp(_ date: Date = Date()) -> String {
        let seconds = date.timeIntervalSince1970
        var time = time_t(seconds.rounded(.down))
        let milliseconds = Int((seconds - seconds.rounded(.down)) * 1000)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))"
            + "T\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))"
            + ".\(pad(milliseconds, 3))+00:00"
    }
}

/// An Octopus version number compared part by part (`3.17.14 < 4.1.10 < 2018.1.0 < 2019.1.0`), and the
/// API features that depend on it (octopus-facts.md §5.3).
struct StandInVersionNumber: Comparable, Sendable, CustomStringConvertible {
    let parts: [Int]

    /// Parses `MAJOR.MINOR[.BUILD…]`; `nil` unless every part is a decimal number.
    init?(_ text: String) {
        let pieces = text.split(separator: ".", omittingEmptySubsequences: false)
        guard pieces.count >= 2 else { return nil }
        var numbers: [Int] = []
        for piece in pieces {
            guard !piece.isEmpty, piece.count <= 9, piece.allSatisfy({ $0.isASCII && $0.isNumber }),
                let number = Int(piece)
            else { return nil }
            numbers.append(number)
        }
        parts = numbers
    }

    init(_ major: Int, _ minor: Int) {
        parts = [major, minor]
    }

    var description: String { parts.map(String.init).joined(separator: ".") }

    static func < (lhs: StandInVersionNumber, rhs: StandInVersionNumber) -> Bool {
        let count = max(lhs.parts.count, rhs.parts.count)
        for index in 0..<count {
            let left = index < lhs.parts.count ? lhs.parts[index] : 0
            let right = index < rhs.parts.count ? rhs.parts[index] : 0
            if left != right { return left < right }
        }
        return false
    }

    static func == (lhs: StandInVersionNumber, rhs: StandInVersionNumber) -> Bool {
        !(lhs < rhs) && !(rhs < lhs)
    }

    /// Spaces and the `/api/{spaceId}/…` paths (2019.1).
    var hasSpaces: Bool { self >= StandInVersionNumber(2019, 1) }
    /// Export/Import Projects and the `Imports` folder (2021.1).
    var hasImportExport: Bool { self >= StandInVersionNumber(2021, 1) }
    /// The `EventExports` folder (2023.3).
    var hasEventExports: Bool { self >= StandInVersionNumber(2023, 3) }
}
