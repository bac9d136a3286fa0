/// What to provision on which hosts: one entry of an inventory's `instances:` (docs/inventory.md).
///
/// A clone restores a production backup with production's Master Key and quarantines it before it ever starts;
/// a test instance is a fresh install that imports some projects from a source instance.
public struct InstanceSpec: Sendable, Hashable {
    /// The spec's name (its key under `instances`), used by `plan --instance` and in output folders.
    public var name: String
    /// Clone or test instance.
    public var mode: InstanceMode
    /// The `hosts` patterns as written (host names, group names, globs, `!` exclusions).
    public var hostPatterns: [String]
    /// The hosts the patterns select, in inventory order.
    public var hosts: [String]
    /// The platform every selected host has (one spec provisions one platform).
    public var platform: Platform
    /// The pinned Octopus Server version.
    public var version: OctopusVersion
    /// Where the install package comes from; `nil` only on `linux-container`, where the host pulls the image.
    public var package: PackageSource?
    /// Clone: the local `.bak` file, absolute.
    public var backup: String?
    /// Clone: production's Master Key.
    public var masterKey: SecretReference?
    /// Clone: the local copies of production's server folders, absolute, by folder.
    public var folders: [ServerFolder: String]
    /// Test instance: the instance projects are exported from.
    public var source: TestInstanceSource?
    /// Clone: production's REST API, which `octoprov drift` reads (never writes) to compare with the clone.
    public var production: ProductionAPI?
    /// What is neutralised before the clone first starts.
    public var quarantine: Quarantine
    /// The checks `verify` runs, in catalogue order.
    public var verify: [VerifyCheck]
    /// Template variables the spec sets (`instance_name`, `node_name`, `home_dir`, `container_name`,
    /// `database`, `web_listen_prefix`, `comms_port`, `server_uri`), by variable name.
    public var settings: [String: InventoryVariable]
    /// The break-glass administrator, when one is wanted.
    public var admin: AdminSpec?
    /// The Octopus licence.
    public var license: SecretReference?
    /// Where the spec's name is written.
    public var location: SourceLocation

    /// Creates a spec; inventories are the usual way to get one.
    ///
    /// - Parameters:
    ///   - name: The spec's name.
    ///   - mode: Clone or test instance.
    ///   - hostPatterns: The `hosts` patterns as written.
    ///   - hosts: The selected host names.
    ///   - platform: The hosts' platform.
    ///   - version: The pinned version.
    ///   - package: Where the package comes from.
    ///   - backup: Clone: the local backup file.
    ///   - masterKey: Clone: production's Master Key.
    ///   - folders: Clone: local folder copies.
    ///   - source: Test instance: the source instance.
    ///   - quarantine: The quarantine switches.
    ///   - verify: The verification checks.
    ///   - settings: Template variables the spec sets.
    ///   - admin: The break-glass administrator.
    ///   - license: The licence.
    ///   - production: Clone: production's REST API, for `drift`.
    ///   - location: Where the spec is written.
    public init(
        name: String,
        mode: InstanceMode,
        hostPatterns: [String],
        hosts: [String],
        platform: Platform,
        version: OctopusVersion,
        package: PackageSource?,
        backup: String? = nil,
        masterKey: SecretReference? = nil,
        folders: [ServerFolder: String] = [:],
        source: TestInstanceSource? = nil,
        quarantine: Quarantine = Quarantine(),
        verify: [VerifyCheck]? = nil,
        settings: [String: InventoryVariable] = [:],
        admin: AdminSpec? = nil,
        license: SecretReference? = nil,
        production: ProductionAPI? = nil,
        location: SourceLocation
    ) {
        self.name = name
        self.mode = mode
        self.hostPatterns = hostPatterns
        self.hosts = hosts
        self.platform = platform
        self.version = version
        self.package = package
        self.backup = backup
        self.masterKey = masterKey
        self.folders = folders
        self.source = source
        self.quarantine = quarantine
        self.verify = verify ?? VerifyCheck.defaults(for: mode, quarantine: quarantine)
        self.settings = settings
        self.admin = admin
        self.license = license
        self.production = production
        self.location = location
    }

    /// Whether the test instance imports with Octopus.Migrator (versions before 2021.1) rather than
    /// Export/Import Projects.
    public var usesMigrator: Bool {
        mode == .testInstance && !version.hasExportImportProjects
    }
}

/// How an instance is provisioned.
public enum InstanceMode: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Restore a production backup with its Master Key, quarantine it, copy its folders.
    case clone
    /// Install fresh with a new database and import chosen projects from a source instance.
    case testInstance = "test-instance"

    /// The name as written in an inventory.
    public var description: String { rawValue }
}

/// Where an install package comes from, pinned by its SHA-256.
public struct PackageSource: Sendable, Hashable {
    /// The package's origin: exactly one of `url`, `file` and `mirror`.
    public enum Origin: Sendable, Hashable {
        /// The host downloads the package from this URL.
        case url(String)
        /// octoprov uploads this local file (absolute path).
        case file(String)
        /// octoprov uploads the file the platform names for the version (see ``Platform/packageFileName(for:)``)
        /// from this local folder; `file` is its absolute path.
        case mirror(folder: String, file: String)
    }

    /// The package's SHA-256, lower-case hex.
    public var sha256: String
    /// Where it comes from.
    public var origin: Origin
    /// Where `sha256` is written.
    public var sha256Location: SourceLocation

    /// Creates a package source.
    ///
    /// - Parameters:
    ///   - sha256: Lower-case hex SHA-256.
    ///   - origin: Where the package comes from.
    ///   - sha256Location: Where the hash is written.
    public init(sha256: String, origin: Origin, sha256Location: SourceLocation) {
        self.sha256 = sha256
        self.origin = origin
        self.sha256Location = sha256Location
    }

    /// The local file octoprov uploads, or `nil` when the host downloads from a URL.
    public var localFile: String? {
        switch origin {
        case .url: nil
        case .file(let path): path
        case .mirror(_, let file): file
        }
    }

    /// The URL the host downloads from, or `nil` when octoprov uploads the package.
    public var url: String? {
        if case .url(let url) = origin { return url }
        return nil
    }
}

/// A server folder a clone copies from production (docs/steps.md `folders_*`).
public enum ServerFolder: String, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    /// The built-in feed's packages.
    case packages
    /// Artifacts (and project and tenant images).
    case artifacts
    /// Task logs.
    case taskLogs = "task_logs"
    /// Audit-log exports (2023.3 and later).
    case eventExports = "event_exports"
    /// Export/Import Projects zips (2021.1 and later).
    case imports

    /// The key as written under `folders:`.
    public var description: String { rawValue }

    /// The template variable holding the host folder, such as `folders_task_logs`.
    public var variableName: String { "folders_\(rawValue)" }

    /// The folder's name under the Octopus home folder, as Octopus names it (`TaskLogs`).
    public var defaultFolderName: String {
        switch self {
        case .packages: "Packages"
        case .artifacts: "Artifacts"
        case .taskLogs: "TaskLogs"
        case .eventExports: "EventExports"
        case .imports: "Imports"
        }
    }

    /// Orders folders as ``allCases`` lists them.
    public static func < (lhs: ServerFolder, rhs: ServerFolder) -> Bool {
        (allCases.firstIndex(of: lhs) ?? 0) < (allCases.firstIndex(of: rhs) ?? 0)
    }
}

/// The instance a test instance imports projects from.
public struct TestInstanceSource: Sendable, Hashable {
    /// The source server's URL, such as `https://octopus.example.com`; `nil` only with ``exportFile``, when octoprov
    /// never reads the source.
    public var url: String?
    /// An API key on the source server; `nil` only with ``exportFile``.
    public var apiKey: SecretReference?
    /// The projects to import, by space: one entry per space, in inventory order (one entry with no space name
    /// before 2019.1, which has no spaces).
    public var selections: [ProjectPatterns]
    /// The password the export is encrypted with.
    public var exportPassword: SecretReference
    /// Migrator route (before 2021.1): the inventory host of the source server, where the partial export runs.
    public var host: String?
    /// An Export Projects zip made earlier on the source (absolute local path), imported instead of exporting: the
    /// export's password is the one it was made with.
    public var exportFile: String?

    /// The project names or globs chosen in one space of the source.
    public struct ProjectPatterns: Sendable, Hashable {
        /// The space's name (`nil` before 2019.1, which has no spaces).
        public var space: String?
        /// Project names or globs (`*`, `?`), matched without regard to case.
        public var patterns: [String]

        /// Creates a selection.
        ///
        /// - Parameters:
        ///   - space: The space's name, or `nil` without spaces.
        ///   - patterns: Project names or globs.
        public init(space: String?, patterns: [String]) {
            self.space = space
            self.patterns = patterns
        }
    }

    /// Creates a source.
    ///
    /// - Parameters:
    ///   - url: The source server's URL.
    ///   - apiKey: An API key on it.
    ///   - selections: The projects to import, by space.
    ///   - exportPassword: The export's password.
    ///   - host: The source server's inventory host, for the Migrator route.
    ///   - exportFile: An export zip made earlier, imported instead of exporting.
    public init(
        url: String?,
        apiKey: SecretReference?,
        selections: [ProjectPatterns],
        exportPassword: SecretReference,
        host: String? = nil,
        exportFile: String? = nil
    ) {
        self.url = url
        self.apiKey = apiKey
        self.selections = selections
        self.exportPassword = exportPassword
        self.host = host
        self.exportFile = exportFile
    }

    /// The names of the spaces the projects come from, in inventory order (empty without spaces).
    public var spaceNames: [String] { selections.compactMap(\.space) }
}

/// Production's REST API as a clone's spec names it (`production:`), read by `octoprov drift` only.
public struct ProductionAPI: Sendable, Hashable {
    /// Production's URL, such as `https://octopus.example.com`.
    public var url: String
    /// An API key on production (read access is enough).
    public var apiKey: SecretReference

    /// Creates the reference.
    ///
    /// - Parameters:
    ///   - url: Production's URL.
    ///   - apiKey: An API key on it.
    public init(url: String, apiKey: SecretReference) {
        self.url = url
        self.apiKey = apiKey
    }
}

/// The break-glass administrator the `admin` step creates.
public struct AdminSpec: Sendable, Hashable {
    /// The user name.
    public var username: String
    /// The e-mail address, or empty.
    public var email: String
    /// The password.
    public var password: SecretReference

    /// Creates an administrator.
    ///
    /// - Parameters:
    ///   - username: The user name.
    ///   - email: The e-mail address, or empty.
    ///   - password: The password.
    public init(username: String, email: String, password: SecretReference) {
        self.username = username
        self.email = email
        self.password = password
    }
}

/// One thing the quarantine neutralises in a clone's database before it first starts.
public enum QuarantineSwitch: String, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    /// Delete production's `OctopusServerNode` (and `…Status`) rows.
    case serverNodes = "server_nodes"
    /// Disable every deployment target.
    case targets
    /// Disable every worker.
    case workers
    /// Disable every project trigger.
    case triggers
    /// Disable every subscription (webhooks, e-mail).
    case subscriptions
    /// Give the clone a new Installation ID.
    case installationId = "installation_id"
    /// Cancel tasks that were queued when the backup was taken.
    case queuedTasks = "queued_tasks"
    /// Set the clone's own Server URI.
    case serverUri = "server_uri"
    /// Remove the Octopus ID and Jira extension settings.
    case extensions

    /// The key as written under `quarantine:`.
    public var description: String { rawValue }

    /// The template variable, such as `quarantine_targets`.
    public var variableName: String { "quarantine_\(rawValue)" }

    /// What a clone does when this switch is off, as a clause for a warning.
    public var risk: String {
        switch self {
        case .serverNodes: "keeps production's server nodes, and may count against its licence"
        case .targets: "keeps production's deployment targets enabled, so it can deploy to them"
        case .workers: "keeps production's workers enabled, so it can run work on them"
        case .triggers: "keeps production's triggers enabled, so they can deploy on their own"
        case .subscriptions: "keeps production's subscriptions enabled, so it can post webhooks and send e-mail"
        case .installationId: "shares production's Installation ID"
        case .queuedTasks: "runs the tasks production had queued"
        case .serverUri: "keeps production's Server URI, so its links point at production"
        case .extensions: "keeps production's Octopus ID and Jira settings"
        }
    }

    /// Orders switches as ``allCases`` lists them.
    public static func < (lhs: QuarantineSwitch, rhs: QuarantineSwitch) -> Bool {
        (allCases.firstIndex(of: lhs) ?? 0) < (allCases.firstIndex(of: rhs) ?? 0)
    }
}

/// The quarantine settings: every switch on unless turned off (and, for a clone, acknowledged).
public struct Quarantine: Sendable, Hashable {
    /// The switches turned off.
    public var disabled: Set<QuarantineSwitch>
    /// The switches listed under `quarantine.acknowledge` (a clone's off switches must all be listed).
    public var acknowledged: Set<QuarantineSwitch>

    /// Creates quarantine settings.
    ///
    /// - Parameters:
    ///   - disabled: The switches turned off.
    ///   - acknowledged: The switches acknowledged as off.
    public init(disabled: Set<QuarantineSwitch> = [], acknowledged: Set<QuarantineSwitch> = []) {
        self.disabled = disabled
        self.acknowledged = acknowledged
    }

    /// Whether `item` is on.
    public func isEnabled(_ item: QuarantineSwitch) -> Bool { !disabled.contains(item) }
}

/// A check the `verify` step runs against the provisioned instance.
public enum VerifyCheck: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The API reports the pinned version.
    case version
    /// The server reports itself healthy.
    case health
    /// Every deployment target is disabled.
    case targetsDisabled = "targets_disabled"
    /// Every worker is disabled.
    case workersDisabled = "workers_disabled"
    /// Every trigger is disabled.
    case triggersDisabled = "triggers_disabled"
    /// Every subscription is disabled.
    case subscriptionsDisabled = "subscriptions_disabled"
    /// The counts of projects, targets and so on match those read from the restored backup before start.
    case counts
    /// The Server URI is the clone's own, not production's.
    case serverUri = "server_uri"
    /// The Installation ID differs from production's.
    case installationId = "installation_id"
    /// Every selected project was imported.
    case projects

    /// The name as written under `verify:`.
    public var description: String { rawValue }

    /// The modes the check applies to.
    public var modes: Set<InstanceMode> {
        switch self {
        case .version, .health, .serverUri: [.clone, .testInstance]
        // An import carries no targets, workers, triggers or subscriptions; a test instance is checked to have
        // none enabled all the same (issue 6: the quarantine checks that apply).
        case .targetsDisabled, .workersDisabled, .triggersDisabled, .subscriptionsDisabled: [.clone, .testInstance]
        case .projects: [.testInstance]
        default: [.clone]
        }
    }

    /// The quarantine switch a clone needs on for this check to make sense.
    public var quarantineSwitch: QuarantineSwitch? {
        switch self {
        case .targetsDisabled: .targets
        case .workersDisabled: .workers
        case .triggersDisabled: .triggers
        case .subscriptionsDisabled: .subscriptions
        case .serverUri: .serverUri
        case .installationId: .installationId
        default: nil
        }
    }

    /// Every check that applies to `mode`, leaving out a clone's checks whose quarantine switch is off.
    ///
    /// - Parameters:
    ///   - mode: The instance's mode.
    ///   - quarantine: Its quarantine settings.
    /// - Returns: The checks, in catalogue order.
    public static func defaults(for mode: InstanceMode, quarantine: Quarantine) -> [VerifyCheck] {
        allCases.filter { check in
            guard check.modes.contains(mode) else { return false }
            guard mode == .clone, let item = check.quarantineSwitch else { return true }
            return quarantine.isEnabled(item)
        }
    }
}
