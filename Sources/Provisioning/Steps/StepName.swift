/// A step's name: what the catalogue, the plan, the runner, the journal and the reports call it. Code names a step
/// with a static member (`.quarantine`), never with a string; the journal, the reports and `--from-step` hold its
/// ``rawValue``.
public struct StepName: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The name as docs/steps.md writes it (`connect-database`).
    public let rawValue: String

    /// The step called `rawValue`, whether the catalogue has it or not (`--from-step` checks that).
    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// The name as docs/steps.md writes it.
    public var description: String { rawValue }

    public static func < (lhs: StepName, rhs: StepName) -> Bool { lhs.rawValue < rhs.rawValue }

    // The clone and test-instance flows (``StepCatalogue/all``).
    public static let preflight = StepName(rawValue: "preflight")
    public static let install = StepName(rawValue: "install")
    public static let uploadBackup = StepName(rawValue: "upload-backup")
    public static let restore = StepName(rawValue: "restore")
    public static let quarantine = StepName(rawValue: "quarantine")
    public static let createInstance = StepName(rawValue: "create-instance")
    public static let connectDatabase = StepName(rawValue: "connect-database")
    public static let createDatabase = StepName(rawValue: "create-database")
    public static let configure = StepName(rawValue: "configure")
    public static let setPaths = StepName(rawValue: "set-paths")
    public static let copyFolders = StepName(rawValue: "copy-folders")
    public static let admin = StepName(rawValue: "admin")
    public static let start = StepName(rawValue: "start")
    public static let importProjects = StepName(rawValue: "import-projects")
    public static let verify = StepName(rawValue: "verify")
    public static let report = StepName(rawValue: "report")

    // The upgrade flow (``StepCatalogue/upgrade``; it reuses install, start and verify).
    public static let upgradePreflight = StepName(rawValue: "upgrade-preflight")
    public static let backupDatabase = StepName(rawValue: "backup-database")
    public static let drain = StepName(rawValue: "drain")
    public static let upgradeDatabase = StepName(rawValue: "upgrade-database")
    public static let undrain = StepName(rawValue: "undrain")

    // `rebuild`'s teardown flow (``StepCatalogue/teardown``).
    public static let teardown = StepName(rawValue: "teardown")
}

extension Journal {
    /// The record of step `step` on `host` (``record(host:step:)`` by the step's name).
    public func record(host: String, step: StepName) -> JournalStepRecord? {
        record(host: host, step: step.rawValue)
    }

    /// Whether `step` finished well on `host` and is not marked to run again (``succeeded(host:step:)``).
    public func succeeded(host: String, step: StepName) -> Bool {
        succeeded(host: host, step: step.rawValue)
    }
}
