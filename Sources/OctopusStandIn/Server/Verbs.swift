import Foundation

/// One `Octopus.Server` verb: its name, options (with their version gates) and what it does.
struct Verb: Sendable {
    var name: String
    var summary: String
    /// The first version that has the verb, if not every version.
    var since: StandInVersion?
    var options: [OptionSpec]
    var run: @Sendable (VerbContext) throws(OctopusServerError) -> Void
}

/// The verbs, with the flags octopus-facts.md §2.5–2.6 lists.
enum Verbs {
    private typealias Since = StandInFeatures.Since

    static let all: [Verb] = [
        Verb(
            name: "create-instance",
            summary: "Registers a new instance and writes its configuration file",
            options: [
                .value("instance"), .value("config"), .value("home", since: Since.createInstanceHome),
                .value("serverNodeName"),
            ],
            run: { (context) throws(OctopusServerError) in try context.createInstance() }
        ),
        Verb(
            name: "delete-instance",
            summary: "Removes an instance's registration (its configuration file stays)",
            options: OptionSpec.instance,
            run: { (context) throws(OctopusServerError) in try context.deleteInstance() }
        ),
        Verb(
            name: "database",
            summary: "Creates, connects, upgrades or deletes the instance's database",
            options: OptionSpec.instance + OptionSpec.skipChecks + [
                .flag("create"), .value("connectionString", since: Since.databaseVerbConnects),
                .value("masterKey", since: Since.databaseVerbConnects), .flag("upgrade", since: Since.databaseUpgrade),
                .flag("skipLicenseCheck", since: Since.skipLicenseCheck), .flag("delete"), .value("grant"),
            ],
            run: { (context) throws(OctopusServerError) in try context.database() }
        ),
        Verb(
            name: "configure",
            summary: "Changes the instance's settings",
            options: OptionSpec.instance + OptionSpec.skipChecks + ConfigureSetting.all.map(\.option) + [
                .value("home"), .value("serverNodeName"),
                .value("storageConnectionString", until: Since.databaseVerbConnects),
                .value("masterKey", until: Since.databaseVerbConnects),
            ],
            run: { (context) throws(OctopusServerError) in try context.configure() }
        ),
        Verb(
            name: "path",
            summary: "Sets the server folders (stored in the database)",
            options: OptionSpec.instance + OptionSpec.skipChecks + [
                .value("cacheDirectory"), .value("clusterShared"), .value("nugetRepository"), .value("artifacts"),
                .value("imports", since: Since.importsFolder), .value("taskLogs"),
                .value("eventExports", since: Since.eventExports), .value("telemetry"),
            ],
            run: { (context) throws(OctopusServerError) in try context.path() }
        ),
        Verb(
            name: "service",
            summary: "Installs, starts, stops or uninstalls the instance's service",
            options: OptionSpec.instance + [
                .flag("start"), .flag("stop"), .flag("restart"), .flag("reconfigure"), .flag("install"),
                .flag("uninstall"), .value("username"), .value("user"), .value("password"), .value("dependOn"),
            ],
            run: { (context) throws(OctopusServerError) in try context.service() }
        ),
        Verb(
            name: "run",
            summary: "Runs the server in the foreground (what the service runs)",
            options: OptionSpec.instance + [.flag("skipDatabaseCompatibilityCheck")],
            run: { (context) throws(OctopusServerError) in try context.runServer() }
        ),
        Verb(
            name: "admin",
            summary: "Creates or updates an administrator, with a password and/or an API key",
            options: OptionSpec.instance + OptionSpec.skipChecks + [
                .value("username"), .value("user"), .value("email"), .value("password"), .value("apiKey"),
                .value("externalGroup"), .value("externalGroupId"), .value("wait"),
            ],
            run: { (context) throws(OctopusServerError) in try context.admin() }
        ),
        Verb(
            name: "license",
            summary: "Installs a licence (stored in the database)",
            options: OptionSpec.instance + [
                .value("licenseBase64"), .value("licenseFile"),
                .flag("skipLicenseCheck", since: Since.skipLicenseCheck),
            ],
            run: { (context) throws(OctopusServerError) in try context.license() }
        ),
        Verb(
            name: "node",
            summary: "Drains this node or sets its task cap",
            options: OptionSpec.instance + OptionSpec.skipChecks + [
                .value("taskCap", since: Since.nodeTaskCap), .value("drain"), .value("wait"), .flag("cancel-tasks"),
            ],
            run: { (context) throws(OctopusServerError) in try context.node() }
        ),
        Verb(
            name: "show-configuration",
            summary: "Shows the instance's settings (never the master key)",
            since: Since.showConfiguration,
            options: OptionSpec.instance + [.value("file"), .value("format")],
            run: { (context) throws(OctopusServerError) in try context.showConfiguration() }
        ),
        Verb(
            name: "show-master-key",
            summary: "Shows the instance's Master Key",
            options: OptionSpec.instance + [.value("format")],
            run: { (context) throws(OctopusServerError) in try context.showMasterKey() }
        ),
        Verb(
            name: "set-master-key",
            summary: "Changes the Master Key in the configuration file only",
            options: OptionSpec.instance + [.value("masterKey")],
            run: { (context) throws(OctopusServerError) in try context.setMasterKey() }
        ),
        Verb(
            name: "version",
            summary: "Shows the Octopus Server version",
            options: [.value("format")],
            run: { (context) throws(OctopusServerError) in try context.showVersion() }
        ),
        Verb(
            name: "list-instances",
            summary: "Lists the instances on this machine",
            options: [.value("format")],
            run: { (context) throws(OctopusServerError) in try context.listInstances() }
        ),
    ]

    /// `Octopus.Server help`.
    static func help(version: StandInVersion?) -> [String] {
        var lines = [
            "Octopus Server \(version?.description ?? "(unversioned)") (octopus-standin)",
            "Usage: Octopus.Server <command> [<options>]",
            "",
            "Where <command> is one of:",
        ]
        for verb in all where version.map({ v in verb.since.map { v >= $0 } ?? true }) ?? true {
            lines.append("  \(verb.name.padding(toLength: 22, withPad: " ", startingAt: 0))\(verb.summary)")
        }
        lines += ["", "Or use `Octopus.Server <command> --help` for the options of a command."]
        return lines
    }

    /// `Octopus.Server <verb> --help`.
    static func usage(_ verb: Verb, version: StandInVersion) -> [String] {
        var lines = ["Usage: Octopus.Server \(verb.name) [<options>]", "", "Where [<options>] is any of:"]
        for option in verb.options where option.exists(in: version) {
            lines.append("      --\(option.name)\(option.takesValue ? "=VALUE" : "")")
        }
        lines += [
            "", "Or one of the common options:", "      --console", "      --nologo", "      --noconsolelogging",
            "      --help",
        ]
        return lines
    }
}
