import Foundation

/// The template variables of docs/steps.md for one host and one instance spec: the set every step script is
/// rendered with.
///
/// Values come in layers, a later one winning: platform defaults, the instance spec's keys, the host's merged
/// `vars` (`defaults.vars` < group `vars` < host `vars`), then `--var`. Derived values (`connection_string`,
/// `config_path`, `web_port`, `package_file`, `image`, the `quarantine_*` switches, …) are computed from the
/// result and cannot be set. Every name of the contract is always present, empty where it does not apply, so
/// strict rendering works for every template on every platform.
public enum StepVariables {
    /// Every variable name of docs/steps.md's Variables table, in table order.
    public static let contractNames: [String] =
        [
            "host_name", "platform", "mode", "work_dir", "instance_name", "node_name", "home_dir", "config_path",
            "version", "package_file", "package_url", "package_sha256", "install_dir", "image", "container_name",
            "sql_server", "sql_user", "sql_data_root", "database", "connection_string", "backup_file", "backup_sha256",
            "data_dir", "web_listen_prefix", "web_port", "comms_port", "server_uri", "admin_username", "admin_email",
        ] + ServerFolder.allCases.map(\.variableName) + QuarantineSwitch.allCases.map(\.variableName)
        + ["space_names", "export_directory", "from_version", "upgrade_backup_file"]

    /// The names octoprov derives, with what each is derived from; `vars` and `--var` cannot set them.
    public static let derivedNames: [String: String] = {
        var names = [
            "host_name": "the host's name under `hosts`",
            "platform": "the host's `platform`",
            "mode": "the instance's `mode`",
            "version": "the instance's `version`",
            "package_file": "the instance's `package` and `work_dir`",
            "package_url": "the instance's `package.url`",
            "package_sha256": "the instance's `package.sha256`",
            "image": "the instance's `version`",
            "config_path": "`home_dir` and `instance_name`",
            "connection_string": "`sql_server` and `database`",
            "backup_file": "the instance's `backup` and `work_dir`",
            "backup_sha256": "the instance's `backup` file",
            "web_port": "`web_listen_prefix`",
            "admin_username": "the instance's `admin.username`",
            "admin_email": "the instance's `admin.email`",
            "space_names": "the spaces the instance's `source.projects` come from, comma-separated",
            "export_directory": "`work_dir`",
            "from_version": "the instance's `version`, when it is upgraded",
            "upgrade_backup_file": "`work_dir`, `database` and the instance's `version`",
        ]
        for item in QuarantineSwitch.allCases {
            names[item.variableName] =
                "the instance's `quarantine.\(item.rawValue)` (a clone's quarantine is only switched off there, "
                + "with an acknowledgement)"
        }
        return names
    }()

    /// The contract names that the instance spec, `vars` and `--var` may set (everything not derived).
    public static var settableNames: [String] {
        contractNames.filter { derivedNames[$0] == nil }
    }

    /// The instance spec keys that set a variable of the same name.
    static let specSettingKeys = [
        "instance_name", "node_name", "home_dir", "container_name", "database", "web_listen_prefix", "comms_port",
        "server_uri",
    ]

    /// The default `instance_name`.
    public static let defaultInstanceName = "OctopusServer"
    /// The default `web_listen_prefix`.
    public static let defaultWebListenPrefix = "http://localhost:8080"
    /// The default `comms_port`.
    public static let defaultCommsPort = 10_943
    /// The default `sql_data_root` on `standin` hosts: the stand-in's own default data folder.
    public static let defaultStandInDataRoot = "/var/lib/octopus-standin"

    /// Builds the variable set for `host` provisioned with `instance`.
    ///
    /// - Parameters:
    ///   - host: The host; its `vars` are already merged from `defaults`, its groups and itself.
    ///   - instance: The instance spec (its platform is the host's).
    ///   - overrides: `--var` values by name (see ``VariableOverrides/parse(_:)``).
    ///   - backupSHA256: The SHA-256 of the instance's local backup file (empty when there is none, or when only
    ///     checking).
    /// - Returns: Every contract name, plus every other name the `vars` give.
    /// - Throws: ``InventoryErrors`` naming each value that is not valid where it came from (a `vars` key, a
    ///   spec key or `--var`): a port out of range, a URL that is not `http(s)://host[:port]`, a relative host
    ///   path, a `;` in a connection-string part.
    public static func build(
        host: InventoryHost,
        instance: InstanceSpec,
        overrides: [String: InventoryVariable] = [:],
        backupSHA256: String = ""
    ) throws(InventoryErrors) -> [String: String] {
        let platform = instance.platform
        let specLocation = instance.location
        func fallback(_ value: String, _ key: String) -> InventoryVariable {
            InventoryVariable(value: value, keyPath: "instances.\(instance.name).\(key)", location: specLocation)
        }
        var given: [String: InventoryVariable] = [
            "work_dir": fallback(platform.defaultWorkDirectory, "work_dir"),
            "home_dir": fallback(platform.defaultHomeDirectory, "home_dir"),
            "install_dir": fallback(platform.defaultInstallDirectory, "install_dir"),
            "sql_server": fallback("localhost", "sql_server"),
            "sql_user": fallback("", "sql_user"),
            "sql_data_root": fallback(platform == .standin ? defaultStandInDataRoot : "", "sql_data_root"),
            "data_dir": fallback(platform.defaultDataDirectory, "data_dir"),
            "instance_name": fallback(defaultInstanceName, "instance_name"),
            "web_listen_prefix": fallback(defaultWebListenPrefix, "web_listen_prefix"),
            "comms_port": fallback(String(defaultCommsPort), "comms_port"),
        ]
        given.merge(instance.settings) { _, new in new }
        given.merge(host.vars) { _, new in new }
        given.merge(overrides) { _, new in new }

        var errors: [InventoryError] = []
        var checked: Set<String> = []
        func validated(_ name: String) -> String {
            guard let variable = given[name] else { return "" }
            if checked.insert(name).inserted,
                let problem = problem(validating: name, value: variable.value, platform: platform)
            {
                errors.append(
                    InventoryError(
                        .invalidValue,
                        at: variable.location,
                        keyPath: variable.keyPath,
                        "`\(variable.keyPath)` \(problem)."
                    )
                )
            }
            return variable.value
        }
        let instanceName = validated("instance_name")
        let homeDirectory = validated("home_dir")
        let workDirectory = validated("work_dir")
        let webListenPrefix = validated("web_listen_prefix")
        // Defaults computed from other values are valid when those are, so they are not checked again (an
        // invalid `home_dir` is one problem, not six).
        func derive(_ name: String, _ value: String, key: String) {
            guard given[name] == nil else { return }
            given[name] = fallback(value, key)
            checked.insert(name)
        }
        derive("node_name", "\(host.name)-clone", key: "node_name")
        derive(
            "container_name",
            platform == .linuxContainer ? containerName(for: instanceName) : "",
            key: "container_name"
        )
        derive("database", "Octopus\(instanceName)Clone", key: "database")
        derive("server_uri", webListenPrefix, key: "server_uri")
        for folder in ServerFolder.allCases {
            derive(
                folder.variableName,
                platform.join(homeDirectory, folder.defaultFolderName),
                key: "folders.\(folder.rawValue)"
            )
        }

        var values: [String: String] = [:]
        for name in settableNames {
            values[name] = validated(name)
        }
        if platform == .linuxContainer, let user = given["sql_user"], !user.value.isEmpty, host.sqlPassword == nil {
            errors.append(
                InventoryError(
                    .missingKey,
                    at: user.location,
                    keyPath: "hosts.\(host.name).sql_password",
                    "`\(user.keyPath)` sets the SQL login `sql_user` for host `\(host.name)`, which then needs its "
                        + "password: set `hosts.\(host.name).sql_password` (or `defaults.sql_password`) to `env:NAME` "
                        + "or `file:PATH`."
                )
            )
        }
        if let errors = InventoryErrors(errors) {
            throw errors
        }

        values["host_name"] = host.name
        values["platform"] = platform.rawValue
        values["mode"] = instance.mode.rawValue
        values["version"] = instance.version.description
        values["package_file"] =
            instance.package?.localFile.map { platform.join(workDirectory, Self.baseName($0)) } ?? ""
        values["package_url"] = instance.package?.url ?? ""
        values["package_sha256"] = instance.package?.sha256 ?? ""
        values["image"] = platform == .linuxContainer ? "octopusdeploy/octopusdeploy:\(instance.version)" : ""
        values["config_path"] =
            platform == .windows
            ? platform.join(homeDirectory, "OctopusServer.config")
            : platform.join(homeDirectory, "\(instanceName).config.json")
        values["connection_string"] =
            "Server=\(values["sql_server"] ?? "");Database=\(values["database"] ?? "");Trusted_Connection=True;"
        values["backup_file"] = instance.backup.map { platform.join(workDirectory, Self.baseName($0)) } ?? ""
        values["backup_sha256"] = instance.backup == nil ? "" : backupSHA256
        values["web_port"] = port(of: webListenPrefix).map(String.init) ?? ""
        values["admin_username"] = instance.admin?.username ?? ""
        values["admin_email"] = instance.admin?.email ?? ""
        for item in QuarantineSwitch.allCases {
            values[item.variableName] = instance.quarantine.isEnabled(item) ? "true" : "false"
        }
        values["space_names"] = (instance.source?.spaceNames ?? []).joined(separator: ",")
        values["export_directory"] = instance.usesMigrator ? platform.join(workDirectory, "export") : ""
        // Only the upgrade flow has a version to upgrade from (`buildForUpgrade`).
        values["from_version"] = ""
        values["upgrade_backup_file"] = ""

        for (name, variable) in host.vars.merging(overrides, uniquingKeysWith: { _, new in new })
        where values[name] == nil {
            values[name] = variable.value
        }
        return values
    }

    /// Builds the variable set for upgrading `instance` on `host` in place to `target` (`octoprov upgrade`,
    /// ``StepCatalogue/upgrade``).
    ///
    /// It is the set ``build(host:instance:overrides:backupSHA256:)`` gives for the instance pinned to `target`
    /// with `package` (so `version`, `package_file`, `package_url`, `package_sha256` and `image` are the
    /// target's), plus `from_version`, the instance's own `version`, and `upgrade_backup_file`, where the
    /// `backup-database` step writes the database's backup before the upgrade:
    /// `<work_dir>/<database>-<from_version>.pre-upgrade.bak`, the database name reduced to `[A-Za-z0-9._-]`.
    ///
    /// - Parameters:
    ///   - host: The host; its `vars` are already merged from `defaults`, its groups and itself.
    ///   - instance: The instance spec as provisioned (its `version` is the one installed now).
    ///   - target: The version to upgrade to.
    ///   - package: The target's install package; `nil` only on `linux-container`, where the host pulls the image.
    ///   - overrides: `--var` values by name.
    ///   - backupSHA256: The SHA-256 of the instance's local backup file, which a clone's `start` and `verify`
    ///     check the quarantine record against (empty for a test instance).
    /// - Returns: Every contract name, plus every other name the `vars` give.
    /// - Throws: ``InventoryErrors`` as ``build(host:instance:overrides:backupSHA256:)`` does.
    public static func buildForUpgrade(
        host: InventoryHost,
        instance: InstanceSpec,
        to target: OctopusVersion,
        package: PackageSource?,
        overrides: [String: InventoryVariable] = [:],
        backupSHA256: String = ""
    ) throws(InventoryErrors) -> [String: String] {
        var pinned = instance
        pinned.version = target
        pinned.package = package
        var values = try build(host: host, instance: pinned, overrides: overrides, backupSHA256: backupSHA256)
        values["from_version"] = instance.version.description
        values["upgrade_backup_file"] = instance.platform.join(
            values["work_dir"] ?? "",
            "\(fileStem(values["database"] ?? ""))-\(instance.version).pre-upgrade.bak"
        )
        return values
    }

    /// `name` reduced to `[A-Za-z0-9._-]` (every other character becomes `_`), for a file name on any platform.
    static func fileStem(_ name: String) -> String {
        var stem = ""
        for scalar in name.unicodeScalars {
            stem.unicodeScalars.append(scalar.isASCIIAlphanumeric || scalar == "." || scalar == "-" ? scalar : "_")
        }
        return stem
    }

    // MARK: - Values

    /// Why `value` is not valid for the variable `name` on `platform`, as the end of a sentence that starts with
    /// the key path; `nil` when it is valid (or the name has no rule).
    ///
    /// - Parameters:
    ///   - name: The variable's name.
    ///   - value: The value.
    ///   - platform: The host's platform, for host paths and container names; `nil` when unknown.
    /// - Returns: The problem, or `nil`.
    public static func problem(validating name: String, value: String, platform: Platform?) -> String? {
        if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "must not contain a line break or other control character"
        }
        switch name {
        case "comms_port":
            guard let port = Int(value), (1...65_535).contains(port) else {
                return "must be a port number from 1 to 65535, not `\(value)`"
            }
        case "web_listen_prefix", "server_uri":
            guard port(of: value) != nil else {
                return "must be a URL such as `http://localhost:8080` (http or https, a host, an optional port "
                    + "from 1 to 65535), not `\(value)`"
            }
            // quarantine.sql keeps the clone's Server URI in an NVARCHAR(4000), which would cut a longer one.
            guard value.utf16.count <= 4000 else { return "must be at most 4000 characters (NVARCHAR(4000))" }
        case "instance_name":
            let forbidden: Set<Unicode.Scalar> = ["\\", "/", ":", "*", "?", "\"", "<", ">", "|", ";"]
            guard !value.isEmpty, value.count <= 64, !value.unicodeScalars.contains(where: forbidden.contains)
            else {
                return "must be 1 to 64 characters without `\\ / : * ? \" < > | ;`"
            }
            return invisibleCharacterProblem(value)
        case "node_name":
            guard !value.isEmpty, value.utf16.count <= 128 else { return "must be 1 to 128 characters" }
            return invisibleCharacterProblem(value)
        case "database", "sql_server":
            // 128: SQL Server's sysname, counted as it counts (UTF-16 code units).
            guard !value.isEmpty, value.utf16.count <= 128, !value.contains(";") else {
                return "must be 1 to 128 characters without `;` (it goes into the connection string)"
            }
            return invisibleCharacterProblem(value)
        case "container_name":
            guard platform == .linuxContainer else { return nil }
            guard isContainerName(value) else {
                return "must be a Docker container name: letters, digits, `_`, `.` and `-`, starting with a letter "
                    + "or digit"
            }
        case "work_dir", "home_dir", "install_dir", "data_dir":
            return hostPathProblem(value, platform: platform)
        case "sql_user":
            guard value.count <= 128 else { return "must be at most 128 characters (a SQL Server login name)" }
        case "sql_data_root":
            // Only the stand-in has a SQL data folder; other platforms leave it empty and never read it.
            guard platform == .standin else { return nil }
            return hostPathProblem(value, platform: platform)
        default:
            if ServerFolder.allCases.contains(where: { $0.variableName == name }) {
                return hostPathProblem(value, platform: platform)
            }
        }
        return nil
    }

    /// Why a name would not survive the way to SQL Server and back, or would not be the name a person reads:
    /// SqlClient trims blanks around a connection string's values (so `Octo ` restores as one database and
    /// connects to another), and invisible characters (U+200B, U+FEFF, bidirectional marks, private-use and
    /// unassigned code points) make two names that look alike differ. `nil` when there is no such problem.
    static func invisibleCharacterProblem(_ value: String) -> String? {
        let scalars = value.unicodeScalars
        if let first = scalars.first, let last = scalars.last,
            first.properties.isWhitespace || last.properties.isWhitespace
        {
            return "must not start or end with a blank (the connection string would trim it)"
        }
        let invisible = scalars.first { scalar in
            switch scalar.properties.generalCategory {
            case .format, .privateUse, .unassigned, .surrogate, .lineSeparator, .paragraphSeparator: true
            default: scalar.properties.isWhitespace && scalar != " "
            }
        }
        if let invisible {
            let code = String(invisible.value, radix: 16, uppercase: true)
            return
                "must not contain the invisible character U+\(String(repeating: "0", count: max(0, 4 - code.count)) + code)"
        }
        return nil
    }

    private static func hostPathProblem(_ value: String, platform: Platform?) -> String? {
        guard let platform, !platform.isAbsolutePath(value) else { return nil }
        let example = platform.usesWindowsPaths ? "`C:\\Octopus`" : "`/var/lib/octopus`"
        return "must be an absolute path on a \(platform) host, such as \(example), not `\(value)`"
    }

    /// The port of an `http://` or `https://` URL with a host (80 or 443 when it names none), or `nil` when the
    /// text is not such a URL.
    static func port(of text: String) -> Int? {
        guard let components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty
        else { return nil }
        if let port = components.port {
            return (1...65_535).contains(port) ? port : nil
        }
        return scheme == "https" ? 443 : 80
    }

    /// Whether `name` is a valid Docker container name.
    static func isContainerName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCIIAlphanumeric else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCIIAlphanumeric || $0 == "_" || $0 == "." || $0 == "-" }
    }

    /// `octopus-<instance name>` lower-cased, with characters Docker does not allow in a name replaced by `-`.
    static func containerName(for instanceName: String) -> String {
        var name = "octopus-"
        for scalar in instanceName.lowercased().unicodeScalars {
            name.unicodeScalars.append(
                scalar.isASCIIAlphanumeric || scalar == "_" || scalar == "." || scalar == "-" ? scalar : "-"
            )
        }
        return name
    }

    /// The last component of a local path.
    static func baseName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}

extension Unicode.Scalar {
    fileprivate var isASCIIAlphanumeric: Bool {
        ("a"..."z").contains(self) || ("A"..."Z").contains(self) || ("0"..."9").contains(self)
    }
}
