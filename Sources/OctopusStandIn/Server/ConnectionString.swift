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

    /// Parses `key=value;key=value` as SqlConnection does: keys are case-insensitive, a value may be quoted
    /// with `"` (a `""` inside is one `"`) or `'` (likewise `''`) and then holds `;` and `=` literally, and
    /// spaces around keys and unquoted values are ignored.
    /// - Throws: ``OctopusServerError`` (`usage`) when the server or the database is missing, or a part is
    ///   malformed. The message never repeats the string, which may hold a password.
    public init(_ text: String) throws(OctopusServerError) {
        var server: String?
        var database: String?
        for (key, value) in try Self.pairs(text) {
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
        if database.contains("/") || database.contains("\0") || database == "." || database == ".."
            || database.lowercased().utf8.count > 240
        {
            throw OctopusServerError(
                .usage,
                "The connection string's database name has '/' or NUL, is '.' or '..', or is longer than 240 bytes, "
                    + "which the stand-in cannot keep as a file of its SQL Server."
            )
        }
        self.server = server
        self.database = database
    }

    /// The `key=value` parts, keys lower-cased, values unquoted.
    private static func pairs(_ text: String) throws(OctopusServerError) -> [(String, String)] {
        let malformed = OctopusServerError(
            .usage,
            "The connection string has a malformed part (format: Server=…;Database=…;Trusted_Connection=True;, a "
                + "value with ';' in double quotes)."
        )
        var pairs: [(String, String)] = []
        var characters = Substring(text)
        while !characters.isEmpty {
            let part = characters.prefix { $0 != "=" && $0 != ";" }
            characters = characters.dropFirst(part.count)
            guard characters.first == "=" else {
                // A part without '=': only blank parts between ';' are allowed.
                guard part.allSatisfy(\.isWhitespace) else { throw malformed }
                characters = characters.dropFirst()
                continue
            }
            characters = characters.dropFirst()
            let key = part.trimmingCharacters(in: .whitespaces).lowercased()
            guard !key.isEmpty else { throw malformed }
            characters = characters.drop { $0 == " " || $0 == "\t" }
            var value = ""
            if let quote = characters.first, quote == "\"" || quote == "'" {
                characters = characters.dropFirst()
                var closed = false
                while let character = characters.first {
                    characters = characters.dropFirst()
                    if character == quote {
                        if characters.first == quote {
                            value.append(quote)
                            characters = characters.dropFirst()
                            continue
                        }
                        closed = true
                        break
                    }
                    value.append(character)
                }
                characters = characters.drop { $0 == " " || $0 == "\t" }
                guard closed, characters.isEmpty || characters.first == ";" else { throw malformed }
            } else {
                let raw = characters.prefix { $0 != ";" }
                characters = characters.dropFirst(raw.count)
                value = raw.trimmingCharacters(in: .whitespaces)
            }
            characters = characters.dropFirst()
            pairs.append((key, value))
        }
        return pairs
    }
}
