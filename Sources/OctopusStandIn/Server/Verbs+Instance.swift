import Foundation

/// A `configure` option and the config-file setting it writes.
struct ConfigureSetting {
    enum Kind {
        case text
        case bool
        case port
        case number
        case listenPrefixes
    }
    var option: OptionSpec
    var key: String
    var kind: Kind

    private typealias Since = StandInFeatures.Since

    static let all: [ConfigureSetting] = [
        ConfigureSetting(option: .value("upgradeCheck"), key: "Octopus.Upgrades.AllowChecking", kind: .bool),
        ConfigureSetting(
            option: .value("upgradeCheckWithStatistics"),
            key: "Octopus.Upgrades.IncludeStatistics",
            kind: .bool
        ),
        ConfigureSetting(option: .value("sendTelemetry"), key: "Octopus.Telemetry.IsEnabled", kind: .bool),
        ConfigureSetting(
            option: .value("commsListenPort"),
            key: InstanceConfiguration.Key.servicesPort,
            kind: .port
        ),
        ConfigureSetting(option: .value("grpcListenPort"), key: "Octopus.Grpc.ListenPort", kind: .port),
        ConfigureSetting(
            option: .value("commsListenWebSocket"),
            key: "Octopus.Communications.ServicesWebSocketPrefix",
            kind: .text
        ),
        ConfigureSetting(
            option: .value("webListenPrefixes"),
            key: InstanceConfiguration.Key.listenPrefixes,
            kind: .listenPrefixes
        ),
        ConfigureSetting(option: .value("webForceSSL"), key: "Octopus.WebPortal.ForceSsl", kind: .bool),
        ConfigureSetting(option: .value("webServer"), key: "Octopus.WebPortal.WebServer", kind: .text),
        ConfigureSetting(
            option: .value("hstsEnabled", since: Since.hsts),
            key: "Octopus.WebPortal.HstsEnabled",
            kind: .bool
        ),
        ConfigureSetting(
            option: .value("hstsMaxAge", since: Since.hsts),
            key: "Octopus.WebPortal.HstsMaxAge",
            kind: .number
        ),
        ConfigureSetting(
            option: .value("autoLoginEnabled", since: Since.showConfiguration),
            key: "Octopus.WebPortal.AutoLoginEnabled",
            kind: .bool
        ),
        ConfigureSetting(
            option: .value("usernamePasswordIsEnabled"),
            key: "Octopus.UsernamePassword.IsEnabled",
            kind: .bool
        ),
        ConfigureSetting(option: .value("jiraIsEnabled"), key: "Octopus.JiraIntegration.IsEnabled", kind: .bool),
        ConfigureSetting(option: .value("GitHubIsEnabled"), key: "Octopus.GitHubIntegration.IsEnabled", kind: .bool),
        ConfigureSetting(
            option: .value("AzureDevOpsIsEnabled"),
            key: "Octopus.AzureDevOpsIntegration.IsEnabled",
            kind: .bool
        ),
        ConfigureSetting(option: .value("guestloginenabled"), key: "Octopus.GuestLogin.IsEnabled", kind: .bool),
        ConfigureSetting(
            option: .value("activeDirectoryIsEnabled"),
            key: "Octopus.DirectoryServices.IsEnabled",
            kind: .bool
        ),
        ConfigureSetting(option: .value("ldapIsEnabled"), key: "Octopus.Ldap.IsEnabled", kind: .bool),
        ConfigureSetting(option: .value("maxConcurrentTasks"), key: "Octopus.Tasks.MaxConcurrentTasks", kind: .number),
        ConfigureSetting(option: .value("trustedProxies"), key: "Octopus.WebPortal.TrustedProxies", kind: .text),
        ConfigureSetting(option: .value("cookieDomain"), key: "Octopus.WebPortal.CookieDomain", kind: .text),
    ]
}

extension VerbContext {
    // MARK: create-instance, delete-instance, list-instances

    func createInstance() throws(OctopusServerError) {
        let name = instanceName
        let home = options.value("home").map(absolute)
        guard let configPath = options.value("config").map(absolute) ?? home.map({ "\($0)/\(name).config.json" })
        else {
            throw OctopusServerError(.usage, "Give --config, the path of the new instance's configuration file.")
        }
        let registry = InstanceRegistry(dataFolder: dataFolder)
        if let existing = registry.entry(named: name) {
            guard existing.configurationFilePath == configPath else {
                throw OctopusServerError(
                    .failed,
                    "An instance named '\(existing.name)' already exists and uses configuration "
                        + "'\(existing.configurationFilePath)'; delete it with `delete-instance` or choose another name."
                )
            }
            info("Instance '\(existing.name)' already exists and uses configuration '\(configPath)'; nothing to do.")
            return
        }
        info("Creating installation for instance '\(name)'")
        var configuration =
            FileManager.default.fileExists(atPath: configPath)
            ? try InstanceConfiguration.load(configPath) : InstanceConfiguration(path: configPath)
        let homeFolder =
            home ?? configuration[text: InstanceConfiguration.Key.home]
            ?? (configPath as NSString).deletingLastPathComponent
        configuration[text: InstanceConfiguration.Key.home] = homeFolder
        if let node = options.value("serverNodeName") {
            configuration[text: InstanceConfiguration.Key.nodeName] = node
        } else if configuration[text: InstanceConfiguration.Key.nodeName] == nil {
            configuration[text: InstanceConfiguration.Key.nodeName] = cli.machineName
        }
        do {
            try FileManager.default.createDirectory(atPath: "\(homeFolder)/Logs", withIntermediateDirectories: true)
        } catch {
            throw OctopusServerError(.failed, "Cannot create the home folder \(homeFolder): \(error).")
        }
        try save(configuration)
        try registry.register(.init(name: name, configurationFilePath: configPath))
        info("Saving instance: \(name)")
        info("Setting home directory to: \(homeFolder)")
        info("Instance '\(name)' uses configuration '\(configPath)'.")
    }

    func deleteInstance() throws(OctopusServerError) {
        let registry = InstanceRegistry(dataFolder: dataFolder)
        guard let entry = registry.entry(named: instanceName) else {
            throw OctopusServerError(.notConfigured, "Instance '\(instanceName)' of Octopus Server does not exist.")
        }
        registry.unregister(entry.name)
        info("Deleted instance '\(entry.name)'; its configuration file \(entry.configurationFilePath) is kept.")
    }

    func listInstances() throws(OctopusServerError) {
        let entries = InstanceRegistry(dataFolder: dataFolder).entries()
        switch try format(["text", "json"], default: "text") {
        case "json":
            data(Self.json(entries.map { ["Name": $0.name, "ConfigurationFilePath": $0.configurationFilePath] }))
        default:
            for entry in entries {
                data("Instance '\(entry.name)' uses configuration '\(entry.configurationFilePath)'.")
            }
        }
    }

    // MARK: version, show-configuration, show-master-key, set-master-key

    func showVersion() throws(OctopusServerError) {
        switch try format(["text", "json"], default: "text") {
        case "json":
            data(
                Self.json([
                    "Version": version.description, "InformationalVersion": version.description,
                    "MajorMinorPatch": version.majorMinorPatch, "NuGetVersion": version.description,
                ])
            )
        default:
            data(version.description)
        }
    }

    func showConfiguration() throws(OctopusServerError) {
        let configuration = try loadInstance()
        let settings = (configuration.shownSettings + folderSettings(of: configuration)).sorted { $0.key < $1.key }
        let text: String
        switch try format(["xml", "json", "json-hierarchical"], default: "xml") {
        case "json":
            var object: [String: Any] = [:]
            for (key, value) in settings { object[key] = Self.jsonValue(value) }
            text = Self.json(object)
        case "json-hierarchical":
            var root: [String: Any] = [:]
            for (key, value) in settings {
                Self.insert(Self.jsonValue(value), at: key.split(separator: ".").map(String.init)[...], into: &root)
            }
            text = Self.json(root)
        default:
            var lines = [
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>",
                "<octopus-settings xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" "
                    + "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">",
            ]
            for (key, value) in settings {
                lines.append("  <set key=\"\(Self.xmlEscaped(key))\">\(Self.xmlEscaped(value.description))</set>")
            }
            lines.append("</octopus-settings>")
            text = lines.joined(separator: "\n")
        }
        if let file = options.value("file").map(absolute) {
            do {
                try Data((text + "\n").utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
            } catch {
                throw OctopusServerError(.failed, "Cannot write the configuration to \(file): \(error).")
            }
            info("Configuration written to \(file).")
        } else {
            data(text)
        }
    }

    /// The server folders as `show-configuration` shows them beside the file's settings
    /// (`Octopus.Folders.PackagesDirectory`, `…ArtifactsDirectory`, `…LogDirectory` for the task logs,
    /// `…ImportsDirectory`, `…EventExportsDirectory`), read from the instance's database, where `path`
    /// keeps them as Octopus does. None when there is no database yet or it cannot be read.
    func folderSettings(of configuration: InstanceConfiguration) -> [(key: String, value: ConfigurationValue)] {
        guard let text = configuration[text: InstanceConfiguration.Key.connectionString],
            let connection = try? ConnectionString(text),
            dataFolder.serverExists(connection.server),
            dataFolder.databaseExists(server: connection.server, database: connection.database),
            let database = try? dataFolder.open(server: connection.server, database: connection.database),
            let folders = try? ServerFolders.read(from: database)
        else { return [] }
        let shown: [(String, String?)] = [
            ("Octopus.Folders.PackagesDirectory", folders.packagesDirectory),
            ("Octopus.Folders.ArtifactsDirectory", folders.artifactsDirectory),
            ("Octopus.Folders.LogDirectory", folders.taskLogsDirectory),
            ("Octopus.Folders.ImportsDirectory", folders.importsDirectory),
            ("Octopus.Folders.EventExportsDirectory", folders.eventExportsDirectory),
        ]
        return shown.compactMap { key, value in value.map { (key: key, value: .string($0)) } }
    }

    func showMasterKey() throws(OctopusServerError) {
        let configuration = try loadInstance()
        guard let key = configuration[text: InstanceConfiguration.Key.masterKey] else {
            throw OctopusServerError(
                .notConfigured,
                "Instance '\(instanceName)' has no Master Key yet; connect it to a database with `database` first."
            )
        }
        switch try format(["text", "json"], default: "text") {
        case "json": data(Self.json(["MasterKey": key]))
        default: data(key)
        }
    }

    func setMasterKey() throws(OctopusServerError) {
        var configuration = try loadInstance()
        guard let text = secret("masterKey") else {
            throw OctopusServerError(.usage, "Give the new key with --masterKey.")
        }
        let key = try masterKey(text)
        configuration[text: InstanceConfiguration.Key.masterKey] = key.base64
        try save(configuration)
        info("The Master Key in \(configuration.path) was changed; the database was not touched.")
    }

    // MARK: configure

    func configure() throws(OctopusServerError) {
        // Values are checked before anything is read or written.
        var updates: [(key: String, value: ConfigurationValue)] = []
        for setting in ConfigureSetting.all where options.given(setting.option.name) {
            let name = setting.option.name
            switch setting.kind {
            case .text:
                updates.append((setting.key, .string(options.value(name) ?? "")))
            case .bool:
                if let value = try options.bool(name) { updates.append((setting.key, .bool(value))) }
            case .port:
                if let value = try options.integer(name, in: 1...65535) { updates.append((setting.key, .int(value))) }
            case .number:
                if let value = try options.integer(name) { updates.append((setting.key, .int(value))) }
            case .listenPrefixes:
                let prefixes = try Self.listenPrefixes(options.value(name) ?? "")
                updates.append((setting.key, .string(prefixes.joined(separator: ","))))
            }
        }
        let connectionString = try options.value("storageConnectionString").map {
            (text) throws(OctopusServerError) -> String in
            _ = try ConnectionString(text)
            return text
        }
        let key = try secret("masterKey").map { (text) throws(OctopusServerError) in try masterKey(text) }
        var configuration = try loadInstance()
        var changed: [String] = []
        for update in updates {
            configuration.settings[update.key] = update.value
            changed.append(update.key)
        }
        if let home = options.value("home").map(absolute) {
            configuration[text: InstanceConfiguration.Key.home] = home
            changed.append(InstanceConfiguration.Key.home)
        }
        if let node = options.value("serverNodeName") {
            info("--serverNodeName on configure is deprecated; use create-instance --serverNodeName.")
            configuration[text: InstanceConfiguration.Key.nodeName] = node
            changed.append(InstanceConfiguration.Key.nodeName)
        }
        if let connectionString {
            configuration[text: InstanceConfiguration.Key.connectionString] = connectionString
            changed.append(InstanceConfiguration.Key.connectionString)
        }
        if let key {
            configuration[text: InstanceConfiguration.Key.masterKey] = key.base64
            changed.append(InstanceConfiguration.Key.masterKey)
        }
        try save(configuration)
        for key in changed { info("\(key) set.") }
        info(changed.isEmpty ? "Nothing to change." : "Configuration saved to \(configuration.path).")
    }

    // MARK: Helpers

    /// The `--format` value, checked against the formats a verb has (case-insensitive).
    func format(_ allowed: [String], default fallback: String) throws(OctopusServerError) -> String {
        let value = (options.value("format") ?? fallback).lowercased()
        guard allowed.contains(value) else {
            throw OctopusServerError(
                .usage,
                "The format '\(options.value("format") ?? "")' is not supported; use one of: \(allowed.joined(separator: ", "))."
            )
        }
        return value
    }

    /// A master key given on the command line.
    func masterKey(_ text: String) throws(OctopusServerError) -> MasterKey {
        do {
            return try MasterKey(base64: text)
        } catch {
            throw OctopusServerError(.masterKey, error.message)
        }
    }

    /// Comma-separated `http(s)://host[:port][/path]` prefixes.
    static func listenPrefixes(_ text: String) throws(OctopusServerError) -> [String] {
        let prefixes = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !prefixes.isEmpty else {
            throw OctopusServerError(
                .usage,
                "--webListenPrefixes needs at least one prefix, e.g. http://localhost:8080."
            )
        }
        for prefix in prefixes {
            guard ListenAddress(prefix: prefix) != nil else {
                throw OctopusServerError(
                    .usage,
                    "The listen prefix '\(prefix)' is not an http:// or https:// URL with a host, e.g. http://localhost:8080."
                )
            }
        }
        return prefixes
    }

    static func jsonValue(_ value: ConfigurationValue) -> Any {
        switch value {
        case .string(let text): text
        case .bool(let flag): flag
        case .int(let number): number
        }
    }

    static func insert(_ value: Any, at path: ArraySlice<String>, into object: inout [String: Any]) {
        guard let first = path.first else { return }
        if path.count == 1 {
            object[first] = value
            return
        }
        var child = object[first] as? [String: Any] ?? [:]
        insert(value, at: path.dropFirst(), into: &child)
        object[first] = child
    }

    static func json(_ object: Any) -> String {
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: object,
                options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            )
        else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    static func xmlEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

/// Where a listen prefix listens: `http://localhost:8080/` → 127.0.0.1:8080. `+`, `*`, `localhost` and
/// `0.0.0.0` are checked on 127.0.0.1.
struct ListenAddress: Sendable, Hashable {
    var host: String
    var port: Int

    init?(prefix: String) {
        guard
            let components = URLComponents(
                string: prefix.replacingOccurrences(of: "://+", with: "://0.0.0.0")
                    .replacingOccurrences(of: "://*", with: "://0.0.0.0")
            ),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty
        else { return nil }
        self.host = ["localhost", "0.0.0.0", "+", "*"].contains(host.lowercased()) ? "127.0.0.1" : host
        port = components.port ?? (scheme == "https" ? 443 : 80)
    }
}
