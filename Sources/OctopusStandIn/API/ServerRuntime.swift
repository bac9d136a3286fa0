/// What a running stand-in server needs to know, resolved from the instance's config file by the
/// `Octopus.Server run` / `service --start` verbs after their start checks (master key, schema
/// version, licence) have passed.
///
/// The server reads everything else from the database, where Octopus keeps it: API keys (`ApiKey`,
/// SHA-256 hashed), the licence (`Configuration` row `license`), the Installation ID (`Configuration`
/// row `upgradeavailability`), the Server URI (`serverconfiguration`), maintenance mode
/// (`maintenance`), the server folders (`server-folders`), and whether this node is draining
/// (`OctopusServerNode.IsInMaintenanceMode` of the row named ``nodeName``).
public struct ServerRuntime: Sendable, Hashable {
    /// The instance name, e.g. `OctopusServer`.
    public var instanceName: String
    /// This node's name (`create-instance --serverNodeName`).
    public var nodeName: String
    /// The HTTP listen prefixes (`configure --webListenPrefixes`), e.g. `http://localhost:8080/`.
    public var listenPrefixes: [String]
    /// The SQLite file that plays the instance's SQL Server database.
    public var databasePath: String
    /// The version the running binary is stamped with, e.g. `2023.3.13026`.
    public var version: String
    /// The instance's home folder; logs go to `<home>/Logs`.
    public var homeDirectory: String
    /// The instance's Master Key, which Export/Import Projects decrypts and encrypts sensitive values
    /// with; `nil` fails an export or import that meets a sensitive value.
    public var masterKey: MasterKey?

    /// The start audit log: one JSON object per line, appended at every start.
    public var auditLogPath: String { "\(homeDirectory)/Logs/standin-audit.jsonl" }
    /// The server log.
    public var serverLogPath: String { "\(homeDirectory)/Logs/OctopusServer.txt" }

    /// - Parameters:
    ///   - instanceName: The instance name.
    ///   - nodeName: This node's name.
    ///   - listenPrefixes: The HTTP listen prefixes.
    ///   - databasePath: The SQLite file of the instance's database.
    ///   - version: The binary's version.
    ///   - homeDirectory: The instance's home folder.
    ///   - masterKey: The instance's Master Key.
    public init(
        instanceName: String,
        nodeName: String,
        listenPrefixes: [String],
        databasePath: String,
        version: String,
        homeDirectory: String,
        masterKey: MasterKey? = nil
    ) {
        self.instanceName = instanceName
        self.nodeName = nodeName
        self.listenPrefixes = listenPrefixes
        self.databasePath = databasePath
        self.version = version
        self.homeDirectory = homeDirectory
        self.masterKey = masterKey
    }
}
