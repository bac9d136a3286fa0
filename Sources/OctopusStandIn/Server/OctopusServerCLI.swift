import Foundation

/// `Octopus.Server` as the stand-in plays it: the verbs octoprov's flows call (create-instance,
/// database, configure, path, service, run, admin, license, node, show-configuration, show-master-key,
/// version, list-instances, plus set-master-key, delete-instance and help), with Octopus's flags,
/// version gates and refusals. docs/standin.md is the reference.
///
/// The library never prints: lines go to the callbacks given to ``run(_:output:errorOutput:)``. The HTTP
/// server is not part of this type; `run` and `service --start` hand a ``ServerRuntime`` to ``serve``
/// once the start checks pass.
public struct OctopusServerCLI {
    /// Serves HTTP for a started instance until the process is stopped; throws when it cannot.
    public typealias Serve = @Sendable (ServerRuntime) throws -> Void

    /// The binary's version (from the package's `VERSION` file), or why there is none.
    public var version: Result<StandInVersion, StandInPackageError>
    /// Where the SQL Servers' databases and the instance registry are.
    public var dataFolder: DataFolder
    /// The process environment (passed on to a server started by `service --start`).
    public var environment: [String: String]
    /// How to run this binary as `Octopus.Server`, e.g. `["/opt/octopus/bin/Octopus.Server"]` or
    /// `["/opt/octopus/bin/octopus-standin", "Octopus.Server"]`; `service --start` appends
    /// `run --instance X` and starts that detached.
    public var selfInvocation: [String]
    /// The HTTP server.
    public var serve: Serve
    /// This machine's name, the default `--serverNodeName`.
    public var machineName: String
    /// The folder relative paths in options are taken from.
    public var currentDirectory: String
    /// How long `service --start` waits for the server to listen, in seconds
    /// (`OCTOPUS_STANDIN_START_TIMEOUT`, default 60).
    public var startTimeout: Double

    /// - Parameters:
    ///   - version: The binary's version, usually ``StandInPackage/version(argv0:environment:)``.
    ///   - dataFolder: The stand-in data folder.
    ///   - environment: The process environment.
    ///   - selfInvocation: The command that runs this binary as `Octopus.Server`.
    ///   - serve: The HTTP server.
    public init(
        version: Result<StandInVersion, StandInPackageError>,
        dataFolder: DataFolder,
        environment: [String: String] = [:],
        selfInvocation: [String],
        serve: @escaping Serve
    ) {
        self.version = version
        self.dataFolder = dataFolder
        self.environment = environment
        self.selfInvocation = selfInvocation
        self.serve = serve
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        machineName = host.split(separator: ".").first.map(String.init) ?? "localhost"
        currentDirectory = FileManager.default.currentDirectoryPath
        startTimeout = environment["OCTOPUS_STANDIN_START_TIMEOUT"].flatMap(Double.init) ?? 60
    }

    /// Runs one verb.
    /// - Parameters:
    ///   - arguments: The arguments after the program name, e.g. `["database", "--create", …]`.
    ///   - output: Receives standard output lines (progress, and the data of show-configuration,
    ///     show-master-key, version, list-instances; `--noconsolelogging` keeps only the data).
    ///   - errorOutput: Receives the error line when the verb fails.
    /// - Returns: The exit code: 0, 1 for an unknown verb or option, 100 for a failure.
    public func run(
        _ arguments: [String],
        output: @escaping (String) -> Void,
        errorOutput: @escaping (String) -> Void
    ) -> Int32 {
        OctopusServerError.exitCode(errorOutput: errorOutput) { () throws(OctopusServerError) in
            try dispatch(arguments, output: output)
        }
    }

    private func dispatch(_ arguments: [String], output: @escaping (String) -> Void) throws(OctopusServerError) {
        guard let first = arguments.first else {
            Verbs.help(version: try? version.get()).forEach(output)
            throw OctopusServerError(.usage, "No command given; run `Octopus.Server help` for the commands.")
        }
        let name = first.lowercased()
        if name == "help" || name == "--help" || name == "-h" || name == "/?" {
            Verbs.help(version: try? version.get()).forEach(output)
            return
        }
        guard let verb = Verbs.all.first(where: { $0.name == name }) else {
            throw OctopusServerError(
                .usage,
                "Command '\(first)' is not supported. Run `Octopus.Server help` to see the commands."
            )
        }
        let version: StandInVersion
        switch self.version {
        case .success(let found): version = found
        case .failure(let error): throw OctopusServerError(.noVersion, error.message)
        }
        if let since = verb.since, version < since {
            throw OctopusServerError(
                .usage,
                "Command '\(first)' is not supported by Octopus Server \(version) (it exists from \(since))."
            )
        }
        let rest = Array(arguments.dropFirst())
        let specs = verb.options + OptionSpec.common + [.flag("help")]
        let options = try ParsedOptions.parse(rest, specs: specs, version: version)
        if options.has("help") {
            Verbs.usage(verb, version: version).forEach(output)
            return
        }
        let context = VerbContext(
            cli: self,
            version: version,
            options: options,
            info: options.has("noconsolelogging") ? { _ in } : output,
            data: output
        )
        try verb.run(context)
    }
}

/// What a verb runs with.
struct VerbContext {
    let cli: OctopusServerCLI
    let version: StandInVersion
    let options: ParsedOptions
    /// Progress lines (dropped with `--noconsolelogging`).
    let info: (String) -> Void
    /// The verb's data (always shown).
    let data: (String) -> Void

    var features: StandInFeatures { StandInFeatures(version: version) }
    var dataFolder: DataFolder { cli.dataFolder }

    /// The environment variables of Octopus Server's Linux container that carry the secret flags' values
    /// (octopus-facts.md, the container's `MASTER_KEY`, `ADMIN_PASSWORD`, `ADMIN_API_KEY`,
    /// `OCTOPUS_SERVER_BASE64_LICENSE`).
    static let secretEnvironment = [
        "masterkey": "MASTER_KEY", "password": "ADMIN_PASSWORD", "apikey": "ADMIN_API_KEY",
        "licensebase64": "OCTOPUS_SERVER_BASE64_LICENSE",
    ]

    /// A secret option's value: the flag when given, else the container's environment variable for it.
    ///
    /// The stand-in plays Octopus Server for Linux, whose container takes these secrets from its environment; a
    /// script can so keep them out of every process's arguments (which any user of the host can list), where the
    /// flag would put them.
    func secret(_ name: String) -> String? {
        if let value = options.value(name) { return value }
        guard let variable = Self.secretEnvironment[name.lowercased()], let value = cli.environment[variable],
            !value.isEmpty
        else { return nil }
        return value
    }

    /// The instance named by `--instance` (default `OctopusServer`), or the config file `--config` names.
    var instanceName: String { options.value("instance") ?? "OctopusServer" }

    /// A path from an option, made absolute against the current folder and normalised by its text only
    /// (`.`, `..` and repeated `/` removed; a trailing `/` kept), as .NET's `Path.GetFullPath` does.
    /// Symbolic links are not resolved, so `show-configuration` shows the path as it was given.
    func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : "\(cli.currentDirectory)/\(path)"
        var components: [Substring] = []
        for component in full.split(separator: "/") {
            switch component {
            case ".": continue
            case "..": _ = components.popLast()
            default: components.append(component)
            }
        }
        let joined = "/" + components.joined(separator: "/")
        return full.hasSuffix("/") && joined != "/" ? joined + "/" : joined
    }

    /// The instance's configuration: from `--config` when given, else from the registry.
    /// - Throws: ``OctopusServerError`` (`notConfigured`).
    func loadInstance() throws(OctopusServerError) -> InstanceConfiguration {
        if let config = options.value("config") { return try InstanceConfiguration.load(absolute(config)) }
        let registry = InstanceRegistry(dataFolder: dataFolder)
        guard let entry = registry.entry(named: instanceName) else {
            let names = registry.entries().map(\.name)
            throw OctopusServerError(
                .notConfigured,
                "Instance '\(instanceName)' of Octopus Server has not been configured on this machine. "
                    + (names.isEmpty
                        ? "There are no instances; create one with `create-instance`."
                        : "Available instances: \(names.joined(separator: ", ")).")
            )
        }
        return try InstanceConfiguration.load(entry.configurationFilePath)
    }

    /// The instance's home folder (`Octopus.Home`, or the config file's folder).
    func home(of configuration: InstanceConfiguration) -> String {
        configuration[text: InstanceConfiguration.Key.home]
            ?? (configuration.path as NSString).deletingLastPathComponent
    }

    /// The instance's node name.
    func nodeName(of configuration: InstanceConfiguration) -> String {
        configuration[text: InstanceConfiguration.Key.nodeName] ?? cli.machineName
    }

    /// The configured connection string, parsed.
    /// - Throws: ``OctopusServerError`` (`notConfigured`, `usage`).
    func connection(of configuration: InstanceConfiguration) throws(OctopusServerError) -> ConnectionString {
        guard let text = configuration[text: InstanceConfiguration.Key.connectionString] else {
            throw OctopusServerError(
                .notConfigured,
                "Instance '\(instanceName)' has no database connection string; run `Octopus.Server "
                    + (features.databaseVerbConnects
                        ? "database --instance \(instanceName) --connectionString …` first."
                        : "configure --instance \(instanceName) --storageConnectionString …` first.")
            )
        }
        return try ConnectionString(text)
    }

    /// Opens the instance's database, checking that it exists and that its schema suits this binary.
    /// - Parameters:
    ///   - configuration: The instance's configuration.
    ///   - allowOlderSchema: Whether a database older than the binary is fine (`database` itself).
    /// - Returns: The database, its connection and its schema version.
    /// - Throws: ``OctopusServerError`` (`database`, `schema`).
    func openDatabase(
        _ configuration: InstanceConfiguration,
        allowOlderSchema: Bool = false
    ) throws(OctopusServerError) -> (database: SQLiteDatabase, connection: ConnectionString, schema: StandInVersion) {
        let connection = try connection(of: configuration)
        let database = try open(connection)
        let schema = try checkSchema(of: database, name: connection.database, allowOlder: allowOlderSchema)
        return (database, connection, schema)
    }

    /// Opens an existing database.
    /// - Throws: ``OctopusServerError`` (`database`).
    func open(_ connection: ConnectionString) throws(OctopusServerError) -> SQLiteDatabase {
        try requireServer(connection)
        guard dataFolder.databaseExists(server: connection.server, database: connection.database) else {
            throw OctopusServerError(
                .database,
                "Cannot open database \"\(connection.database)\" on SQL Server '\(connection.server)': it does not "
                    + "exist. Create it with `database --create` or restore a backup first."
            )
        }
        do {
            return try dataFolder.open(server: connection.server, database: connection.database)
        } catch {
            throw OctopusServerError(.database, "Cannot open database \"\(connection.database)\": \(error)")
        }
    }

    /// Fails like a connection to a SQL Server that is not installed.
    func requireServer(_ connection: ConnectionString) throws(OctopusServerError) {
        guard dataFolder.serverExists(connection.server) else {
            throw OctopusServerError(
                .database,
                "A network-related or instance-specific error occurred while establishing a connection to SQL Server "
                    + "'\(connection.server)': the server was not found (the stand-in has no folder "
                    + "\(dataFolder.serverFolder(connection.server)); `octopus-standin create-sql-server "
                    + "\(connection.server)` plays installing it)."
            )
        }
    }

    /// The database's schema version, refusing a database newer than the binary (unless
    /// `--skipDatabaseCompatibilityCheck`) or older (unless `allowOlder` or `--skipDatabaseSchemaUpgradeCheck`).
    /// - Throws: ``OctopusServerError`` (`database`, `schema`).
    func checkSchema(
        of database: SQLiteDatabase,
        name: String,
        allowOlder: Bool,
        forStart: Bool = false
    ) throws(OctopusServerError) -> StandInVersion {
        let found: StandInVersion?
        do {
            found = try SchemaScripts.schemaVersion(of: database)
        } catch {
            throw OctopusServerError(.database, "Cannot read the schema version of database \"\(name)\": \(error)")
        }
        guard let schema = found else {
            throw OctopusServerError(
                .database,
                "The database \"\(name)\" is not an Octopus database: SchemaVersions records no Octopus schema "
                    + "version. Create it with `database --create` or restore an Octopus backup."
            )
        }
        if schema > version && !options.has("skipDatabaseCompatibilityCheck") {
            throw OctopusServerError(
                .schema,
                "Octopus Server has been stopped to protect your data: the database \"\(name)\" has schema version "
                    + "\(schema), newer than this Octopus Server (\(version)), and an older Octopus Server can damage a "
                    + "newer database. Install Octopus Server \(schema) or later. Use the "
                    + "--skipDatabaseCompatibilityCheck parameter to skip this check at your own risk."
            )
        }
        if schema < version && !allowOlder && !options.has("skipDatabaseSchemaUpgradeCheck") {
            let upgrade = "`Octopus.Server database --instance \(instanceName) --upgrade`"
            throw OctopusServerError(
                .schema,
                forStart
                    ? "Octopus Server \(version) cannot start: the database \"\(name)\" has schema version \(schema) "
                        + "and must be upgraded first; run \(upgrade)."
                    : "The database \"\(name)\" has schema version \(schema), older than this Octopus Server "
                        + "(\(version)); run \(upgrade) first, or pass --skipDatabaseSchemaUpgradeCheck."
            )
        }
        return schema
    }

    /// Saves a configuration, reporting failures as the verb's error.
    func save(_ configuration: InstanceConfiguration) throws(OctopusServerError) {
        try configuration.save()
    }
}

/// Runs SQL for a verb, turning storage errors into the verb's error.
@discardableResult
func storage<T>(_ what: String, _ body: () throws -> T) throws(OctopusServerError) -> T {
    do {
        return try body()
    } catch let error as OctopusServerError {
        throw error
    } catch {
        throw OctopusServerError(.failed, "Cannot \(what): \(error)")
    }
}
