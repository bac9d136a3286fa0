import Foundation

/// A SQL Server connection string as `database --connectionString` takes it, reduced to what the
/// stand-in needs: the server (`Server`, `Data Source`, `Address`, `Addr`, `Network Address`) and the
/// database (`Database`, `Initial Catalog`). Other keys (`Trusted_Connection`, `Integrated Security`,
/// `User ID`, `Password`, `Encrypt`, …) are accepted and ignored.
public struct ConnectionString: Sendable, Hashable {
    /// The server, as sqlcmd's `-S` names it (e.g. `localhost`, `(local)\SQLEXPRESS`).
    public var server: String
    /// The database name.
    public var database: String

    private static let serverKeys: Set<String> = ["server", "data source", "address", "addr", "network address"]
    private static let databaseKeys: Set<String> = ["database", "initial catalog"]

    /// Parses `key=value;key=value` (keys case-insensitive, values optionally in double or single quotes).
    /// - Throws: ``OctopusServerError`` (`usage`) when the server or the database is missing. The message
    ///   never repeats the string, which may hold a password.
    public init(_ text: String) throws(OctopusServerError) {
        var server: String?
        var database: String?
        for part in text.split(separator: ";") {
            guard let equals = part.firstIndex(of: "=") else {
                if part.allSatisfy(\.isWhitespace) { continue }
                throw OctopusServerError(
                    .usage,
                    "The connection string has a part without '=' (format: Server=…;Database=…;Trusted_Connection=True;)."
                )
            }
            let key = part[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            var value = part[part.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            if Self.serverKeys.contains(key) { server = value }
            if Self.databaseKeys.contains(key) { database = value }
        }
        guard let server, !server.isEmpty else {
            throw OctopusServerError(.usage, "The connection string names no server (Server=… or Data Source=…).")
        }
        guard let database, !database.isEmpty else {
            throw OctopusServerError(
                .usage,
                "The connection string names no database (Database=… or Initial Catalog=…)."
            )
        }
        if database.contains("/") || database.contains("\0") || database == "." || database == ".." {
            throw OctopusServerError(
                .usage,
                "The connection string's database name has '/' or NUL, or is '.' or '..', which the stand-in cannot "
                    + "keep as a file of its SQL Server."
            )
        }
        self.server = server
        self.database = database
    }
}
