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
    public init(
        name: StepName,
        number: Int,
        flows: Set<InstanceMode>,
        runsOn: StepRunsOn,
        summary: String,
        template: String?,
        sqlTemplates: [String] = [],
        secrets: [StepSecret] = []
    ) {
        self.stepName = name
        self.number = number
        self.flows = flows
        self.runsOn = runsOn
        self.summary = summary
        self.template = template
        self.sqlTemplates = sqlTemplates
        self.secrets = secrets
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
            secrets: [.sqlPassword]
        ),
        StepDefinition(
            name: .install,
            number: 2,
            flows: [.clone, .testInstance],
            runsOn: .host,
            summary: "Install the pinned Octopus Server version (package sha256 verified) unless it is already "
                + "installed.",
            template: "install"
        ),
        StepDefinition(
            name: .uploadBackup,
            number: 3,
            flows: [.clone],
            runsOn: .octoprovSFTP,
            summary: "Upload the database backup to the host's work folder, resumable and sha256 verified.",
            template: nil
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
            secrets: [.sqlPassword]
        ),
        StepDefinition(
            name: .quarantine,
            number: 5,
            flows: [.clone],
            runsOn: .host,
            summary: "Quarantine the restored database before any start, so the clone cannot act on production.",
            template: "quarantine",
            sqlTemplates: ["verify-quarantine", "quarantine"],
            secrets: [.sqlPassword]
        ),
        StepDefinition(
            name: .createInstance,
            number: 6,
            flows: [.clone, .testInstance],
            runsOn: .host,
            summary: "Create the Octopus instance with its own node name and home folder.",
            template: "create-instance"
        ),
        StepDefinition(
            name: .connectDatabase,
            number: 7,
            flows: [.clone],
            runsOn: .host,
            summary: "Point the instance at the restored, quarantined database with production's Master Key.",
            template: "connect-database",
            sqlTemplates: ["verify-quarantine"],
            secrets: [.masterKey, .sqlPassword]
        ),
        StepDefinition(
            name: .createDatabase,
            number: 7,
            flows: [.testInstance],
            runsOn: .host,
            summary: "Create the test instance's new, empty database (database --create).",
            template: "create-database",
            sqlTemplates: ["database-exists"],
            secrets: [.sqlPassword]
        ),
        StepDefinition(
            name: .configure,
            number: 8,
            flows: [.clone, .testInstance],
            runsOn: .host,
            summary: "Set the web listen prefix and the Tentacle comms port.",
            template: "configure"
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
            template: nil
        ),
        StepDefinition(
            name: .admin,
            number: 11,
            flows: [.clone, .testInstance],
            runsOn: .host,
            summary: "Create octoprov's API key, the break-glass administrator and the licence when configured.",
            template: "admin",
            secrets: [.adminPassword, .adminAPIKey, .licenseBase64]
        ),
        StepDefinition(
            name: .start,
            number: 12,
            flows: [.clone, .testInstance],
            runsOn: .host,
            summary: "Install and start the Octopus Server service (a clone only on its quarantined database).",
            template: "start",
            sqlTemplates: ["verify-quarantine"],
            secrets: [.masterKey, .sqlPassword]
        ),
        StepDefinition(
            name: .importProjects,
            number: 13,
            flows: [.testInstance],
            runsOn: .octoprovREST,
            summary: "Export the chosen projects from the source instance and import them (Export/Import Projects).",
            template: nil,
            secrets: [.sourceAPIKey, .exportPassword]
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
            secrets: [.adminAPIKey, .sqlPassword]
        ),
        StepDefinition(
            name: .report,
            number: 15,
            flows: [.clone, .testInstance],
            runsOn: .octoprov,
            summary: "Write the console recap and the JSON and JUnit reports.",
            template: nil
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
            secrets: [.sqlPassword]
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
            secrets: [.masterKey, .sqlPassword]
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
        upgrade.map { definition in
            var step = resolved(definition, for: spec, variables: variables)
            switch step.stepName {
            case .upgradeDatabase where spec.mode != .clone || spec.platform != .linuxContainer:
                step.sqlTemplates.removeAll { $0 == "verify-quarantine" }
            case .start where spec.mode != .clone, .verify where spec.mode != .clone:
                step.sqlTemplates = []
            default: break
            }
            return step
        }
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
    /// `linux-container`, the Master Key only for a clone (and for `start` and `upgrade-database` only on
    /// `linux-container`), octoprov's API key always, the others when the inventory configures them.
    private static func resolved(
        _ definition: StepDefinition,
        for spec: InstanceSpec,
        variables: [String: String]
    ) -> StepDefinition {
        let usesSQLLogin = spec.platform == .linuxContainer && !(variables["sql_user"] ?? "").isEmpty
        let containerOnly: Set<StepName> = [.start, .upgradeDatabase]
        var step = definition
        step.secrets = definition.secrets.filter { secret in
            switch secret {
            case .adminAPIKey: true
            case .masterKey:
                spec.mode == .clone && (!containerOnly.contains(step.stepName) || spec.platform == .linuxContainer)
            case .sqlPassword: usesSQLLogin
            default: secret.reference(in: spec) != nil
            }
        }
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
        all.filter { $0.flows.contains(spec.mode) }.map { definition in
            var step = resolved(definition, for: spec, variables: variables)
            if spec.mode != .clone && (step.stepName == .start || step.stepName == .verify) {
                step.sqlTemplates = []
            }
            if step.stepName == .importProjects && spec.usesMigrator {
                step.runsOn = .host
                step.template = migratorImportTemplate
                // Octoprov also reads the source's API key to resolve the project patterns over REST
                // (``StepSecretValues/read(for:environment:adminAPIKey:)``); only the password reaches the hosts.
                step.secrets = [.exportPassword]
                step.summary =
                    "Export the chosen projects with Octopus.Migrator partial-export on the source host, copy the "
                    + "folder, and import it on this host (before 2021.1)."
            }
            return step
        }
    }
}
