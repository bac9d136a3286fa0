/// What one verification check found: passed or not, and one sentence that names each offending item.
public struct VerifyCheckResult: Sendable, Hashable, CustomStringConvertible {
    /// The check.
    public var check: VerifyCheck
    /// Whether it passed.
    public var passed: Bool
    /// One sentence: what was found, naming every offending item, or why the check could not be made.
    public var message: String

    /// Creates a result.
    ///
    /// - Parameters:
    ///   - check: The check.
    ///   - passed: Whether it passed.
    ///   - message: What was found.
    public init(check: VerifyCheck, passed: Bool, message: String) {
        self.check = check
        self.passed = passed
        self.message = message
    }

    /// The check's name as written under `verify:`, such as `targets_disabled`.
    public var name: String { check.rawValue }

    /// `targets_disabled: failed: 2 targets still enabled: …`.
    public var description: String { "\(name): \(passed ? "passed" : "failed"): \(message)" }
}

/// The counts a clone must show over its API: those read from the restored database before the first start.
/// Each counts every row in every space (a disabled row counts too).
public struct ExpectedCounts: Sendable, Hashable, Codable {
    /// Deployment targets (`Machine` rows).
    public var targets: Int
    /// Workers (`Worker` rows; 0 when the table does not exist, before 2018.7).
    public var workers: Int
    /// Project triggers (`ProjectTrigger` rows, deployment and runbook triggers).
    public var triggers: Int
    /// Subscriptions (`Subscription` rows).
    public var subscriptions: Int
    /// Projects (`Project` rows).
    public var projects: Int
    /// Spaces (`Space` rows; 0 before 2019.1, which has no spaces).
    public var spaces: Int

    /// Creates expected counts.
    ///
    /// - Parameters:
    ///   - targets: `Machine` rows.
    ///   - workers: `Worker` rows.
    ///   - triggers: `ProjectTrigger` rows.
    ///   - subscriptions: `Subscription` rows.
    ///   - projects: `Project` rows.
    ///   - spaces: `Space` rows.
    public init(targets: Int, workers: Int, triggers: Int, subscriptions: Int, projects: Int, spaces: Int) {
        self.targets = targets
        self.workers = workers
        self.triggers = triggers
        self.subscriptions = subscriptions
        self.projects = projects
        self.spaces = spaces
    }
}
