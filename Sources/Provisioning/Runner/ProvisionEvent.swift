/// How one step ended on one host, as the runner reports it.
public enum StepRunStatus: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    /// Already done: nothing changed (the script found the work done, or the journal and the host agree it was).
    case ok
    /// The step changed the host.
    case changed
    /// The step failed; the host's later steps do not run.
    case failed
    /// Not run, because an earlier step of the host failed.
    case notRun = "not-run"

    /// The word for recaps and reports.
    public var description: String { rawValue }
}

/// What happened in one step on one host.
public struct StepRunRecord: Sendable, Hashable {
    /// The step's position in the host's plan (1-based).
    public var position: Int
    /// The step's name (`restore`).
    public var step: String
    /// How it ended.
    public var status: StepRunStatus
    /// One sentence: the script's message, what a transfer did, or why it failed (secrets redacted).
    public var message: String
    /// How long it took (zero when skipped).
    public var duration: Duration
    /// What the step found out (a script's facts), redacted.
    public var facts: [String: String]

    /// Creates a record.
    public init(
        position: Int,
        step: String,
        status: StepRunStatus,
        message: String,
        duration: Duration = .zero,
        facts: [String: String] = [:]
    ) {
        self.position = position
        self.step = step
        self.status = status
        self.message = message
        self.duration = duration
        self.facts = facts
    }
}

/// Everything that happened on one host.
public struct HostRunRecord: Sendable {
    /// The inventory name of the host.
    public var host: String
    /// The instance provisioned there.
    public var instance: String
    /// Every step of the host's plan, in order.
    public var steps: [StepRunRecord]
    /// The REST checks of the `verify` step, when it ran.
    public var checks: [VerifyCheckResult]
    /// The sentence that ended the host, when it failed.
    public var failure: String?
    /// How long the host took.
    public var duration: Duration

    /// Creates a record.
    public init(
        host: String,
        instance: String,
        steps: [StepRunRecord],
        checks: [VerifyCheckResult],
        failure: String?,
        duration: Duration
    ) {
        self.host = host
        self.instance = instance
        self.steps = steps
        self.checks = checks
        self.failure = failure
        self.duration = duration
    }

    /// Whether every step succeeded.
    public var succeeded: Bool { failure == nil }
}

/// Live progress of a run, for the console.
public enum ProvisionEvent: Sendable {
    /// A step begins on a host.
    case stepStarted(host: String, position: Int, step: String, summary: String)
    /// A line the step's script printed (redacted); `isError` for standard error.
    case output(host: String, step: String, line: String, isError: Bool)
    /// Progress of a file transfer within a step.
    case transfer(host: String, step: String, path: String, completedBytes: UInt64, totalBytes: UInt64)
    /// A step ended.
    case stepFinished(host: String, record: StepRunRecord)
}
