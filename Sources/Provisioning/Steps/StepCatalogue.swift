import Foundation

/// Where a step's work happens (docs/steps.md, "where it runs").
public enum StepRunsOn: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// A rendered script runs on the host.
    case host
    /// octoprov transfers files to the host over SFTP.
    case octoprovSFTP = "octoprov SFTP"
    /// octoprov calls a REST API (through an SSH port forward for the host's API).
    case octoprovREST = "octoprov REST"
    /// octoprov calls the REST API and runs SQL on the host.
    case octoprovRESTAndHost = "octoprov REST + host"
    /// octoprov works locally.
    case octoprov

    /// The text of docs/steps.md's "where it runs" column.
    public var description: String { rawValue }
}

/// A secret a step needs, by its stdin name (docs/steps.md, "Secrets").
public enum StepSecret: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Production's Master Key (`master_key:`).
    case masterKey = "master_key"
    /// The break-glass administrator's password (`admin.password:`).
    case adminPassword = "admin_password"
    /// The API key octoprov creates for itself in `admin` and uses in `verify`; generated, never in the
    /// inventory.
    case adminAPIKey = "admin_api_key"
    /// The licence (`license:`), sent base64-encoded.
    case licenseBase64 = "license_base64"
    /// The export's password (`source.export_password:`).
    case exportPassword = "export_password"
    /// The source instance's API key (`source.api_key:`); octoprov uses it itself and never sends it to a host.
    case sourceAPIKey = "source_api_key"
    /// The password of the SQL login `sql_user` on `linux-container` hosts (the host's `sql_password:`).
    case sqlPassword = "sql_password"

    /// The stdin name.
    public var description: String { rawValue }

    /// Where the secret comes from for `spec` on `host`: its reference, or `nil` when octoprov generates it
    /// (``adminAPIKey``) or the inventory has none.
    ///
    /// - Parameters:
    ///   - spec: The instance spec.
    ///   - host: The host, for the secrets a host holds (``sqlPassword``); `nil` gives `nil` for those.
    /// - Returns: The reference.
    public func reference(in spec: InstanceSpec, host: InventoryHost? = nil) -> SecretReference? {
        switch self {
        case .masterKey: spec.masterKey
        case .adminPassword: spec.admin?.password
        case .adminAPIKey: nil
        case .licenseBase64: spec.license
        case .exportPassword: spec.source?.exportPassword
        case .sourceAPIKey: spec.source?.apiKey
        case .sqlPassword: host?.sqlPassword
        }
    }
}

/// One step of the clone or test-instance flow, as docs/steps.md lists it.
public struct StepDefinition: Sendable, Hashable {
    /// The step's name, such as ``StepName/connectDatabase``; also its template's name unless ``template`` says
    /// otherwise.
    public var stepName: StepName
    /// The step's name as the journal and the reports write it (`connect-database`).
    public var name: String { stepName.rawValue }
    /// The row of docs/steps.md's flow table (`restore` and `create-database` share row 4).
    public var number: Int
    /// The flows the step belongs to.
    public var flows: Set<InstanceMode>
    /// Where it runs.
    public var runsOn: StepRunsOn
    /// One line saying what the step will do.
    public var summary: String
    /// The template name in `Templates/<platform>/`, or `nil` for steps octoprov does itself.
    public var template: String?
    /// The T-SQL templates it uses, names in `Templates/sql/` without `.sql`.
    public var sqlTemplates: [String]
    /// The secrets it needs on stdin (or, for octoprov's own steps, itself).
    public var secrets: [StepSecret]
    /// What octoprov does about it besides its templates: its lines in `plan`, its journal inputs, and the runner's
    /// work before, instead of and after its script. Not part of the step's equality: it follows from the name.
    var behaviour: StepBehaviour

    /// Creates a step definition.
    ///
    /// - Parameters:
    ///   - name: The step's name.
    ///   - number: Its row in docs/steps.md.
    ///   - flows: The flows it belongs to.
    ///   - runsOn: Where it runs.
    ///   - summary: What it will do, in one line.
    ///   - template: Its template's name, or `nil`.
    ///   - sqlTemplates: The T-SQL templates it uses.
    ///   - secrets: The secrets it needs.
    ///   - behaviour: What octoprov does about it besides its templates.
    init(
        name: StepName,
        number: Int,
        flows: Set<InstanceMode>,
        runsOn: StepRunsOn,
        summary: String,
        template: String?,
        sqlTemplates: [String] = [],
        secrets: [StepSecret] = [],
        behaviour: StepBehaviour = StepBehaviour()
    ) {
        self.stepName = name
        self.number = number
        self.flows = flows
        self.runsOn = runsOn
        self.summary = summary
        self.template = template
        self.sqlTemplates = sqlTemplates
        self.secrets = secrets
        self.behaviour = behaviour
    }

    public static func == (lhs: StepDefinition, rhs: StepDefinition) -> Bool {
        lhs.stepName == rhs.stepName && lhs.number == rhs.number && lhs.flows == rhs.flows && lhs.runsOn == rhs.runsOn
            && lhs.summary == rhs.summary && lhs.template == rhs.template && lhs.sqlTemplates == rhs.sqlTemplates
            && lhs.secrets == rhs.secrets
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(stepName)
        hasher.combine(number)
        hasher.combine(flows)
        hasher.combine(runsOn)
        hasher.combine(summary)
        hasher.combine(template)
        hasher.combine(sqlTemplates)
        hasher.combine(secrets)
    }

    /// The template's path relative to the templates folder on `platform` (`windows/install.ps1`), or `nil`
    /// when the step has no template.
    ///
    /// - Parameter platform: The host's platform.
    /// - Returns: The relative path.
    public func templatePath(for platform: Platform) -> String? {
        template.map { "\(platform)/\($0).\(platform.scriptLanguage.fileExtension)" }
    }

    /// The path of a T-SQL template relative to the templates folder (`sql/quarantine.sql`).
    ///
    /// - Parameter name: The name without folder or extension.
    /// - Returns: The relative path.
    public static func sqlPath(_ name: String) -> String {
        "\(TemplateLibrary.sqlFolder)/\(name).sql"
    }

    /// The name a rendered T-SQL file has in the host's `work_dir`, where the scripts read it
    /// (`quarantine.sql`).
    ///
    /// - Parameter name: The name without folder or extension.
    /// - Returns: The file name.
    public static func workFileName(ofSQL name: String) -> String {
        "\(name).sql"
    }
}

/// The steps of both flows, in order (docs/steps.md).
public enum StepCatalogue {
    /// Every step of docs/steps.md's flow table, in table order; in row 7 `connect-database` (clone) comes before
    /// `create-database` (test instance), which runs `database --create` once the instance exists.
    ///
    /// Each step lists the T-SQL files its scripts read from `work_dir` (in the order they first read them) and
    /// every secret it may need; ``steps(for:variables:)`` resolves both for one instance on one host.
    public static let all: [StepDefinition] = [
        StepDefinition(
            name: .preflight,
            number: 1,
            flows: [.clone, .testInstance],
            runsOn: .host,
            summary: "Check the OS, free disk space and versions before anything changes.",
            template: "preflight",
            sqlTemplates: ["database-exists"],
            secrets: [.sqlPassword],
            behaviour: StepBehaviour(
                before: { $0.provisioner.refuseMismatchedPackage() },
                after: { try await $0.provisioner.checkPreflight($0, $1) }
            )
        ),
        StepDefinition(
            name: .install,
            number: 2,
            flows: [.clone, .testInstance],
            runsOn: .host,
            summary: "Install the pinned Octopus Server version (package sha256 verified) unless it is already "
                + "installed.",
            template: "install",
            behaviour: StepBehaviour(
                details: { context in
                    guard let package = context.spec.package else {
                        return ["image: \(context.value("image")), pulled by the host"]
                    }
                    let origin: String
                    switch package.origin {
                    case .url(let url): origin = "\(url), downloaded by the host"
                    case .file(let path), .mirror(_, let path):
                        origin =
                            "\(context.display.path(path)) → \(context.value("package_file")), uploaded by octoprov"
                    }
                    return ["package: \(origin)", "sha256: \(package.sha256)"]
                },
                inputs: { _, plan in ["package_sha256": plan.variables["package_sha256"] ?? ""] },
                work: { try await $0.provisioner.install($0) }
            )
        ),
        StepDefinition(
            name: .uploadBackup,
            number: 3,
            flows: [.clone],
            runsOn: .octoprovSFTP,
            summary: "Upload the database backup to the host's work folder, resumable and sha256 verified.",
            template: nil,
            behaviour: StepBehaviour(
                details: { context in
                    guard let backup = context.spec.backup else { return [] }
                    // A size for the plan's line only: the inventory check already refused a backup it cannot read.
                    let size = (try? FileManager.default.attributesOfItem(atPath: backup)[.size] as? Int) ?? 0
                    return [
                        "backup: \(context.display.path(backup)) → \(context.value("backup_file")) (\(size) bytes)",
                        "sha256: \(context.value("backup_sha256"))",
                    ]
                },
                inputs: { _, plan in
                    [
                        "backup_sha256": plan.variables["backup_sha256"] ?? "",
                        "backup_file": plan.variables["backup_file"] ?? "",
                    ]
                },
                work: { try await $0.provisioner.uploadBackup(files: $0.files, step: $0.name) }
            )
        ),
        StepDefinition(
            name: .restore,
            number: 4,
            flows: [.clone],
            runsOn: .host,
            summary: "Restore the backup as a new database (RESTORE FILELISTONLY, then RESTORE DATABASE … WITH "
                + "MOVE).",
            template: "restore",
            sqlTemplates: ["database-exists", "restore-filelist", "restore", "verify-quarantine"],
            secrets: [.sqlPassword],
            behaviour: StepBehaviour(details: {
                ["database: \($0.value("database")) on \($0.value("sql_server"))" + $0.sqlLogin]
            })
        ),
        StepDefinition(
            name: .quarantine,
            number: 5,
            flows: [.clone],
            runsOn: .host,
            summary: "Quarantine the restored database before any start, so the clone cannot act on production.",
            template: "quarantine",
            sqlTemplates: ["verify-quarantine", "quarantine", "rows-and-spaces"],
            secrets: [.sqlPassword],
            behaviour: StepBehaviour(details: { context in
                let off = QuarantineSwitch.allCases.filter { !context.spec.quarantine.isEnabled($0) }
                let on = QuarantineSwitch.allCases.filter { context.spec.quarantine.isEnabled($0) }
                var lines = ["on: " + on.map(\.rawValue).joined(separator: ", ")]
                if !off.isEmpty {
                    lines.append("OFF (acknowledged): " + off.map(\.rawValue).joined(separator: ", "))
                }
                return lines
            })
        ),
        StepDefinition(
            name: .createInstance,
            number: 6,
            flows: [.clone, .testInstance],
            runsOn: .host,
            summary: "Create the Octopus instance with its own node name and home folder.",
            template: "create-instance",
            behaviour: StepBehaviour(details: {
                ["instance: \($0.value("instance_name")), node \($0.value("node_name")), home \($0.value("home_dir"))"]
            })
        ),
        StepDefinition(
            name: .connectDatabase,
            number: 7,
            flows: [.clone],
            runsOn: .host,
            summary: "Point the instance at the restored, quarantined database with production's Master Key.",
            template: "connect-database",
            sqlTemplates: ["verify-quarantine"],
            secrets: [.masterKey, .sqlPassword],
            behaviour: StepBehaviour(details: { context in
                let login = context.sqlLogin
                return ["connection: \(context.value("connection_string"))"]
                    + (login.isEmpty
                        ? [] : ["the container's connection string gets Trusted_Connection=False\(login) at start"])
            })
        ),
        StepDefinition(
            name: .createDatabase,
            number: 7,
            flows: [.testInstance],
            runsOn: .host,
            summary: "Create the test instance's new, empty database (database --create).",
            template: "create-database",
            sqlTemplates: ["database-exists"],
            secrets: [.sqlPassword],
            behaviour: StepBehaviour(details: {
                ["database: \($0.value("database")) on \($0.value("sql_server"))" + $0.sqlLogin]
            })
        ),
        StepDefinition(
            name: .configure,
            number: 8,
            flows: [.clone, .testInstance],
            runsOn: .host,
            summary: "Set the web listen prefix and the Tentacle comms port.",
            template: "configure",
            behaviour: StepBehaviour(details: {
                ["listen: \($0.value("web_listen_prefix")), comms port \($0.value("comms_port"))"]
            })
        ),
        StepDefinition(
            name: .setPaths,
            number: 9,
            flows: [.clone, .testInstance],
            runsOn: .host,
            summary: "Point the server folders at the host's own folders (the database still holds the source's "
                + "paths).",
            template: "set-paths"
        ),
        StepDefinition(
            name: .copyFolders,
            number: 10,
            flows: [.clone],
            runsOn: .octoprovSFTP,
            summary: "Copy production's server folders to the host's folders, resumable, delta and sha256 verified.",
            template: nil,
            behaviour: StepBehaviour(
                details: { context in
                    guard !context.spec.folders.isEmpty else { return ["no `folders` given: nothing to copy"] }
                    return context.spec.folders.keys.sorted().map { folder in
                        "\(folder): \(context.display.path(context.spec.folders[folder] ?? "")) → "
                            + context.value(folder.variableName)
                    }
                },
                inputs: { _, plan in
                    var parts: [String: String] = [:]
                    for (folder, local) in plan.instance.folders {
                        parts["folder:" + folder.rawValue] =
                            (plan.variables[folder.variableName] ?? "") + "\n" + FolderManifest.digest(of: local)
                    }
                    return parts
                },
                work: { try await $0.provisioner.copyFolders(files: $0.files, step: $0.name) }
            )
        ),
        StepDefinition(
            name: .admin,
            number: 11,
            flows: [.clone, .testInstance],
            runsOn: .host,
            summary: "Create octoprov's API key, the break-glass administrator and the licence when configured.",
            template: "admin",
            secrets: [.adminPassword, .adminAPIKey, .licenseBase64],
            behaviour: StepBehaviour(details: { context in
                var lines: [String] = []
                if let admin = context.spec.admin {
                    lines.append("administrator: \(admin.username)" + (admin.email.isEmpty ? "" : " <\(admin.email)>"))
                }
                lines.append(
                    "licence: "
                        + (context.spec.license == nil ? "none given (the instance keeps its own)" : "installed")
                )
                return lines
            })
        ),
        StepDefinition(
            name: .start,
            number: 12,
            flows: [.clone, .testInstance],
            runsOn: .host,
            summary: "Install and start the Octopus Server service (a clone only on its quarantined database).",
            template: "start",
            sqlTemplates: ["verify-quarantine"],
            secrets: [.masterKey, .sqlPassword],
            behaviour: StepBehaviour(
                // The Master Key only for a container (it starts with it); a test instance's database is not
                // checked for a quarantine.
                resolve: { step, spec in
                    if spec.platform != .linuxContainer { step.secrets.removeAll { $0 == .masterKey } }
                    if spec.mode != .clone { step.sqlTemplates = [] }
                },
                details: { context in
                    context.spec.platform == .linuxContainer
                        ? [
                            "container: \(context.value("container_name")) from \(context.value("image"))"
                                + context.sqlLogin
                        ]
                        : ["service: instance \(context.value("instance_name"))"]
                },
                before: { $0.provisioner.refuseStartWithoutQuarantine() }
            )
        ),
        StepDefinition(
            name: .importProjects,
            number: 13,
            flows: [.testInstance],
            runsOn: .octoprovREST,
            summary: "Export the chosen projects from the source instance and import them (Export/Import Projects).",
            template: nil,
            secrets: [.sourceAPIKey, .exportPassword],
            behaviour: StepBehaviour(
                // Before 2021.1, `<platform>/migrator-import` on the host, after `<platform>/migrator-export` on the
                // source host (``ProvisioningPlan/HostPlan/source``).
                resolve: { step, spec in
                    guard spec.usesMigrator else { return }
                    step.runsOn = .host
                    step.template = StepCatalogue.migratorImportTemplate
                    // Octoprov also reads the source's API key to resolve the project patterns over REST
                    // (``StepSecretValues/read(for:environment:adminAPIKey:)``); only the password reaches the hosts.
                    step.secrets = [.exportPassword]
                    step.summary =
                        "Export the chosen projects with Octopus.Migrator partial-export on the source host, copy the "
                        + "folder, and import it on this host (before 2021.1)."
                },
                details: { context in
                    guard let source = context.spec.source else { return [] }
                    var lines: [String] = []
                    if let file = source.exportFile {
                        lines.append(
                            "export file: \(file) (imported as it is; its password is `source.export_password`)"
                        )
                    } else if let url = source.url {
                        lines.append("source: \(url)")
                    }
                    for selection in source.selections {
                        lines.append(
                            "projects" + (selection.space.map { " in space \($0)" } ?? "") + ": "
                                + selection.patterns.joined(separator: ", ")
                        )
                    }
                    if context.spec.usesMigrator, let host = source.host {
                        lines.append(
                            "partial export on source host \(host) (<platform>/migrator-export), copied by octoprov to "
                                + "\(context.value("export_directory")), then imported (migrator-import)"
                        )
                    }
                    return lines
                },
                // The Migrator route: the source host, its script and the selected projects.
                inputs: { step, plan in
                    guard step.script != nil, let source = plan.source else { return [:] }
                    return [
                        "source_host": source.host.name,
                        "source_script": source.script.contents,
                        "source_projects": (plan.instance.source?.selections ?? []).map { selection in
                            ([selection.space ?? ""] + selection.patterns).joined(separator: "\n")
                        }.joined(separator: "\n\n"),
                    ]
                },
                work: { try await $0.provisioner.importProjects($0) }
            )
        ),
        StepDefinition(
            name: .verify,
            number: 14,
            flows: [.clone, .testInstance],
            runsOn: .octoprovRESTAndHost,
            summary: "Verify the running instance over its REST API, and on the host that a clone's database is "
                + "still quarantined.",
            template: "verify",
            sqlTemplates: ["verify-quarantine"],
            secrets: [.adminAPIKey, .sqlPassword],
            behaviour: StepBehaviour(
                // Only a clone's database is checked for its quarantine.
                resolve: { step, spec in if spec.mode != .clone { step.sqlTemplates = [] } },
                details: { ["checks: " + $0.spec.verify.map(\.rawValue).joined(separator: ", ")] },
                after: { try await $0.provisioner.verifyOverREST($0, $1) },
                alwaysRuns: true
            )
        ),
        StepDefinition(
            name: .report,
            number: 15,
            flows: [.clone, .testInstance],
            runsOn: .octoprov,
            summary: "Write the console recap and the JSON and JUnit reports.",
            template: nil,
            behaviour: StepBehaviour(
                work: { _ in
                    HostRun.StepOutcomeValue(
                        status: .ok,
                        message: "The reports are written when every host has finished.",
                        facts: [:],
                        checks: []
                    )
                },
                alwaysRuns: true
            )
        ),
    ]

    /// The steps of `octoprov upgrade` (docs/steps.md, "Upgrade and teardown flows"), in order: the same for a
    /// clone and a test instance, rendered with
    /// ``StepVariables/buildForUpgrade(host:instance:to:package:overrides:backupSHA256:)``. `install`, `start`
    /// and `verify` are the provisioning flow's steps, with the target as `version`.
    ///
    /// Each step lists every T-SQL file and secret it may need; ``upgradeSteps(for:variables:)`` resolves them
    /// for one instance on one host.
    public static let upgrade: [StepDefinition] = [
        StepDefinition(
            name: .upgradePreflight,
            number: 1,
            flows: [.clone, .testInstance],
            runsOn: .host,
            summary: "Check the instance, the installed and the database's versions (no downgrade) and the room for "
                + "the database's backup.",
            template: "upgrade-preflight",
            sqlTemplates: ["database-exists", "database-version", "database-size"],
            secrets: [.sqlPassword],
            behaviour: StepBehaviour(before: { $0.provisioner.refuseMismatchedPackage() })
        ),
        StepDefinition(
            name: .backupDatabase,
            number: 2,
            flows: [.clone, .testInstance],
            runsOn: .host,
            summary: "Back up the instance's database at the version it has now (BACKUP DATABASE … COPY_ONLY) unless "
                + "that backup is already in the work folder.",
            template: "backup-database",
            sqlTemplates: ["database-version", "backup-header", "backup-database"],
            secrets: [.sqlPassword]
        ),
        StepDefinition(
            name: .drain,
            number: 3,
            flows: [.clone, .testInstance],
            runsOn: .host,
            summary: "Drain the running node (node --drain=true --wait) and stop the server before the new version "
                + "is installed.",
            template: "drain",
            sqlTemplates: ["database-version"],
            secrets: [.sqlPassword]
        ),
        renumbered(.install, 4),
        StepDefinition(
            name: .upgradeDatabase,
            number: 5,
            flows: [.clone, .testInstance],
            runsOn: .host,
            summary: "Upgrade the database to the new version (database --upgrade; on linux-container the new image's "
                + "container does it as it starts).",
            template: "upgrade-database",
            sqlTemplates: ["database-version", "verify-quarantine"],
            secrets: [.masterKey, .sqlPassword],
            // The Master Key and the quarantine check only on `linux-container`, where the new image's container
            // starts the server with them.
            behaviour: StepBehaviour(resolve: { step, spec in
                if spec.platform != .linuxContainer { step.secrets.removeAll { $0 == .masterKey } }
                if spec.mode != .clone || spec.platform != .linuxContainer {
                    step.sqlTemplates.removeAll { $0 == "verify-quarantine" }
                }
            })
        ),
        renumbered(.start, 6),
        StepDefinition(
            name: .undrain,
            number: 7,
            flows: [.clone, .testInstance],
            runsOn: .host,
            summary: "Let the node take tasks again (node --drain=false) if the drain step drained it.",
            template: "undrain",
            sqlTemplates: ["database-version"],
            secrets: [.sqlPassword]
        ),
        renumbered(.verify, 8),
    ]

    /// The steps of `octoprov rebuild` before it provisions again (docs/steps.md, "Upgrade and teardown flows"):
    /// one `teardown`, rendered with ``StepVariables/build(host:instance:overrides:backupSHA256:)``.
    public static let teardown: [StepDefinition] = [
        StepDefinition(
            name: .teardown,
            number: 1,
            flows: [.clone, .testInstance],
            runsOn: .host,
            summary: "Stop and uninstall the server, drop its database and delete the instance, keeping the server "
                + "folders and the work folder's uploads for the next provisioning.",
            template: "teardown",
            sqlTemplates: ["database-exists", "drop-database"],
            secrets: [.sqlPassword]
        )
    ]

    /// The provisioning step `name` of ``all`` in another flow's row `number`.
    private static func renumbered(_ name: StepName, _ number: Int) -> StepDefinition {
        guard var step = all.first(where: { $0.stepName == name }) else {
            preconditionFailure("StepCatalogue.all has no step \(name)")
        }
        step.number = number
        return step
    }

    /// The template of the import step on the Migrator route (test instances before 2021.1).
    public static let migratorImportTemplate = "migrator-import"
    /// The template the Migrator route runs on the source host (`source.host`) before `migrator-import`: the
    /// partial export, into a fresh folder octoprov downloads (``ProvisioningPlan/SourceHostPlan``).
    public static let migratorExportTemplate = "migrator-export"

    /// The upgrade steps (``upgrade``) `spec` runs on a host with `variables`, resolved for its mode and platform:
    ///
    /// - `sql_password` is needed only on `linux-container` when the host's `sql_user` is not empty;
    /// - the Master Key only by a clone on `linux-container`, for `start` and `upgrade-database` (which runs the
    ///   new image's container);
    /// - `verify` needs octoprov's API key (`admin_api_key`);
    /// - `verify-quarantine.sql` is read only for a clone: by `start` and `verify`, and by `upgrade-database`
    ///   on `linux-container`, which starts the server.
    ///
    /// - Parameters:
    ///   - spec: The instance spec.
    ///   - variables: The host's variable set; only `sql_user` is read.
    /// - Returns: The resolved steps.
    public static func upgradeSteps(for spec: InstanceSpec, variables: [String: String] = [:]) -> [StepDefinition] {
        upgrade.map { resolved($0, for: spec, variables: variables) }
    }

    /// The teardown steps (``teardown``) `spec` runs on a host with `variables`: `sql_password` only on
    /// `linux-container` with a `sql_user`.
    ///
    /// - Parameters:
    ///   - spec: The instance spec.
    ///   - variables: The host's variable set; only `sql_user` is read.
    /// - Returns: The resolved steps.
    public static func teardownSteps(for spec: InstanceSpec, variables: [String: String] = [:]) -> [StepDefinition] {
        teardown.map { resolved($0, for: spec, variables: variables) }
    }

    /// `definition` with the secrets `spec` needs on its host: `sql_password` only with a SQL login on
    /// `linux-container`, the Master Key only for a clone, octoprov's API key always, the others when the inventory
    /// configures them; then what the step's own ``StepBehaviour/resolve`` says (`start`, `upgrade-database`,
    /// `verify`, `import-projects`).
    private static func resolved(
        _ definition: StepDefinition,
        for spec: InstanceSpec,
        variables: [String: String]
    ) -> StepDefinition {
        let usesSQLLogin = spec.platform == .linuxContainer && !(variables["sql_user"] ?? "").isEmpty
        var step = definition
        step.secrets = definition.secrets.filter { secret in
            switch secret {
            case .adminAPIKey: true
            case .masterKey: spec.mode == .clone
            case .sqlPassword: usesSQLLogin
            default: secret.reference(in: spec) != nil
            }
        }
        definition.behaviour.resolve(&step, spec)
        return step
    }

    /// The steps `spec` runs on a host with `variables`, in order, resolved for its mode, version and platform:
    ///
    /// - secrets the inventory does not configure are left out (no `admin.password`, no `license`);
    /// - `start` needs the Master Key only for a clone on `linux-container`;
    /// - `sql_password` is needed only on `linux-container` when the host's `sql_user` is not empty;
    /// - a test instance's `start` and `verify` read no T-SQL (only a clone's database is checked for its
    ///   quarantine);
    /// - before 2021.1, `import-projects` runs `<platform>/migrator-import` on the host, after
    ///   `<platform>/migrator-export` on the source host (``ProvisioningPlan/HostPlan/source``).
    ///
    /// - Parameters:
    ///   - spec: The instance spec.
    ///   - variables: The host's variable set (``StepVariables/build(host:instance:overrides:backupSHA256:)``);
    ///     only `sql_user` is read. Without it no step needs `sql_password`.
    /// - Returns: The resolved steps.
    public static func steps(for spec: InstanceSpec, variables: [String: String] = [:]) -> [StepDefinition] {
        all.filter { $0.flows.contains(spec.mode) }.map { resolved($0, for: spec, variables: variables) }
    }
}
