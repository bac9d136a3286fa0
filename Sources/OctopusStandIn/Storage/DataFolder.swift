#if canImport(Glibc)
    import Glibc
#endif

/// Where the stand-in keeps its "SQL Servers": one folder per server, one SQLite file per database,
/// `<root>/<server-name-sanitised>/<database>.sqlite`.
public struct DataFolder: Sendable, Hashable {
    /// The environment variable naming the root folder.
    public static let environmentVariable = "OCTOPUS_STANDIN_DATA"
    /// The root folder when the environment variable is not set.
    public static let defaultRoot = "/var/lib/octopus-standin"

    /// The folder holding one folder per server.
    public var root: String

    /// - Parameter root: The folder holding one folder per server.
    public init(root: String) {
        self.root = root
    }

    /// The data folder named by `OCTOPUS_STANDIN_DATA` in `environment`, or the default.
    public init(environment: [String: String]) {
        let value = environment[Self.environmentVariable] ?? ""
        self.init(root: value.isEmpty ? Self.defaultRoot : value)
    }

    /// The folder name for a sqlcmd `-S` value. Like SQL Server, `.`, `(local)`, `localhost`, a
    /// `tcp:` prefix and a `,1433` port all name the same default instance; names are case-insensitive.
    /// - Parameter server: The `-S` value, e.g. `localhost\SQLEXPRESS` or `tcp:db1,1433`.
    /// - Returns: A lower-case name of `[a-z0-9._-]`, e.g. `localhost_sqlexpress`.
    public static func sanitisedServerName(_ server: String) -> String {
        var name = server.lowercased()
        for prefix in ["tcp:", "np:", "lpc:"] where name.hasPrefix(prefix) {
            name.removeFirst(prefix.count)
        }
        if let comma = name.firstIndex(of: ",") { name = String(name[..<comma]) }
        var host = name
        var instance: String?
        if let slash = name.firstIndex(of: "\\") {
            host = String(name[..<slash])
            instance = String(name[name.index(after: slash)...])
        }
        if ["", ".", "(local)", "127.0.0.1"].contains(host) { host = "localhost" }
        let joined = instance.map { "\(host)_\($0)" } ?? host
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789._-")
        let sanitised = String(joined.map { allowed.contains($0) ? $0 : "_" })
        return sanitised.allSatisfy { $0 == "." } ? "localhost" : sanitised
    }

    /// The folder holding one server's databases.
    public func serverFolder(_ server: String) -> String {
        "\(root)/\(Self.sanitisedServerName(server))"
    }

    /// The SQLite file for a database. Database names are case-insensitive, as in SQL Server.
    public func databasePath(server: String, database: String) -> String {
        "\(serverFolder(server))/\(database.lowercased()).sqlite"
    }

    /// Whether a server exists: it has a folder (made by ``createServer(_:)`` or a created database).
    public func serverExists(_ server: String) -> Bool {
        var status = stat()
        return stat(serverFolder(server), &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates a server's folder, as installing SQL Server would; its `master` database appears on first use.
    /// - Throws: ``SQLiteError`` with code ``SQLiteError/Code/openFailed`` when the folder cannot be made.
    public func createServer(_ server: String) throws {
        try makeFolder(serverFolder(server))
    }

    /// Whether a database exists on a server. `master` always exists.
    public func databaseExists(server: String, database: String) -> Bool {
        database.lowercased() == "master" || access(databasePath(server: server, database: database), F_OK) == 0
    }

    /// Opens an existing database; `master` is created empty on first use.
    /// - Throws: ``SQLiteError`` with code ``SQLiteError/Code/openFailed``.
    public func open(server: String, database: String) throws -> SQLiteDatabase {
        let isMaster = database.lowercased() == "master"
        if isMaster { try makeFolder(serverFolder(server)) }
        return try SQLiteDatabase(path: databasePath(server: server, database: database), create: isMaster)
    }

    /// Creates a database with the Octopus schema (what a restore or a fresh `database --create`
    /// leaves behind), replacing any file of that name.
    /// - Parameters:
    ///   - server: The server, as given to `-S`.
    ///   - database: The database name.
    ///   - omitting: Tables to leave out (see ``OctopusSchema/create(in:omitting:)``).
    /// - Returns: The open database.
    /// - Throws: ``SQLiteError``.
    @discardableResult
    public func createOctopusDatabase(
        server: String,
        database: String,
        omitting: Set<String> = []
    ) throws -> SQLiteDatabase {
        try makeFolder(serverFolder(server))
        let path = databasePath(server: server, database: database)
        unlink(path)
        unlink(databaseFilesPath(server: server, database: database))
        let opened = try SQLiteDatabase(path: path, create: true)
        try OctopusSchema.create(in: opened, omitting: omitting)
        return opened
    }

    private func makeFolder(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/\(component)"
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                let text = String(cString: strerror(errno))
                throw SQLiteError(
                    code: .openFailed,
                    message: "Cannot create the stand-in data folder \(current): \(text).",
                    resultCode: 0,
                    sqliteMessage: text
                )
            }
        }
    }
}
