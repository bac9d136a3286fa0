public import Foundation

/// What one `octoprov provision` (or `verify`) run did: per instance, per host, per step and per verify check, for
/// the console recap, `--report-json` and `--junit`.
///
/// The model holds what the runner saw; the writers (``jsonData(redactor:)``, ``junitXML(redactor:)``) pass every
/// string through a ``Redactor`` before anything is written.
public struct ProvisionReport: Sendable, Hashable {
    /// The JSON report's format.
    public static let format = 1

    /// The octoprov version that ran.
    public var octoprovVersion: String
    /// When the run started.
    public var started: Date
    /// How long it took.
    public var duration: Duration
    /// The instances provisioned, in run order.
    public var instances: [InstanceReport]

    /// Creates a report.
    ///
    /// - Parameters:
    ///   - octoprovVersion: The octoprov version, by default ``Provisioning/version``.
    ///   - started: When the run started.
    ///   - duration: How long it took.
    ///   - instances: The instances.
    public init(
        octoprovVersion: String = OctoprovVersion.current,
        started: Date,
        duration: Duration,
        instances: [InstanceReport]
    ) {
        self.octoprovVersion = octoprovVersion
        self.started = started
        self.duration = duration
        self.instances = instances
    }

    /// The run's outcome: `failed` when any host failed, `changed` when any changed, else `ok`.
    public var status: HostReportStatus {
        HostReportStatus.combining(instances.flatMap(\.hosts).map(\.status))
    }

    /// Whether every host succeeded (the exit status 0 condition).
    public var succeeded: Bool { status != .failed }

    /// The report with every string passed through `redactor`.
    ///
    /// - Parameter redactor: The secrets to hide.
    /// - Returns: The redacted report.
    public func redacted(by redactor: Redactor) -> ProvisionReport {
        var copy = self
        copy.octoprovVersion = redactor.redact(octoprovVersion)
        copy.instances = instances.map { instance in
            var instance = instance
            instance.name = redactor.redact(instance.name)
            instance.version = redactor.redact(instance.version)
            instance.hosts = instance.hosts.map { host in
                var host = host
                host.name = redactor.redact(host.name)
                host.error = host.error.map(redactor.redact)
                host.steps = host.steps.map { step in
                    var step = step
                    step.name = redactor.redact(step.name)
                    step.message = step.message.map(redactor.redact)
                    return step
                }
                host.checks = host.checks.map { check in
                    var check = check
                    check.name = redactor.redact(check.name)
                    check.message = check.message.map(redactor.redact)
                    return check
                }
                return host
            }
            return instance
        }
        return copy
    }
}

/// One instance of a run.
public struct InstanceReport: Sendable, Hashable {
    /// The instance's name.
    public var name: String
    /// Clone or test instance.
    public var mode: InstanceMode
    /// The pinned Octopus Server version.
    public var version: String
    /// Its hosts, in inventory order.
    public var hosts: [HostReport]

    /// Creates an instance's report.
    ///
    /// - Parameters:
    ///   - name: The instance's name.
    ///   - mode: Its mode.
    ///   - version: The pinned Octopus version.
    ///   - hosts: Its hosts.
    public init(name: String, mode: InstanceMode, version: String, hosts: [HostReport]) {
        self.name = name
        self.mode = mode
        self.version = version
        self.hosts = hosts
    }
}

/// A host's (or a run's) outcome.
public enum HostReportStatus: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Nothing needed changing.
    case ok
    /// Something changed and nothing failed.
    case changed
    /// A step or a check failed, or the host could not be worked on.
    case failed

    /// The worst of `statuses`: `failed` over `changed` over `ok` (`ok` for none).
    static func combining(_ statuses: [HostReportStatus]) -> HostReportStatus {
        statuses.contains(.failed) ? .failed : statuses.contains(.changed) ? .changed : .ok
    }

    /// The name as written.
    public var description: String { rawValue }
}

/// One host of an instance.
public struct HostReport: Sendable, Hashable {
    /// The host's inventory name.
    public var name: String
    /// How long its work took.
    public var duration: Duration
    /// Its steps in plan order, including the ones not run (``StepReportStatus/skipped``).
    public var steps: [StepReport]
    /// The verify step's checks.
    public var checks: [VerifyCheckReport]
    /// A failure that belongs to no step (the host could not be reached, the run was stopped), one sentence.
    public var error: String?

    /// Creates a host's report.
    ///
    /// - Parameters:
    ///   - name: The host's name.
    ///   - duration: How long its work took.
    ///   - steps: Its steps.
    ///   - checks: Its verify checks.
    ///   - error: A failure outside any step.
    public init(
        name: String,
        duration: Duration,
        steps: [StepReport],
        checks: [VerifyCheckReport] = [],
        error: String? = nil
    ) {
        self.name = name
        self.duration = duration
        self.steps = steps
        self.checks = checks
        self.error = error
    }

    /// `failed` when ``error`` is set, a step failed or a check did not pass; `changed` when a step changed
    /// something; else `ok`.
    public var status: HostReportStatus {
        if error != nil || steps.contains(where: { $0.status == .failed }) || checks.contains(where: { !$0.passed }) {
            return .failed
        }
        return steps.contains(where: { $0.status == .changed }) ? .changed : .ok
    }
}

/// How a step ended in a run.
public enum StepReportStatus: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Already done: nothing changed (including a step the journal skipped).
    case ok
    /// It changed something.
    case changed
    /// It failed.
    case failed
    /// It did not run: an earlier step of the host failed or the run was stopped.
    case skipped

    /// The name as written.
    public var description: String { rawValue }
}

/// One step on one host.
public struct StepReport: Sendable, Hashable {
    /// The step's position in the host's plan, from 1 (the `NN` of JUnit's `NN-step`).
    public var position: Int
    /// The step's name.
    public var name: String
    /// How it ended.
    public var status: StepReportStatus
    /// How long it took (zero for steps not run or skipped by the journal).
    public var duration: Duration
    /// Its one-sentence message.
    public var message: String?

    /// Creates a step's report.
    ///
    /// - Parameters:
    ///   - position: Its position in the host's plan, from 1.
    ///   - name: The step's name.
    ///   - status: How it ended.
    ///   - duration: How long it took.
    ///   - message: Its message.
    public init(position: Int, name: String, status: StepReportStatus, duration: Duration, message: String? = nil) {
        self.position = position
        self.name = name
        self.status = status
        self.duration = duration
        self.message = message
    }

    /// Whether the step changed something.
    public var changed: Bool { status == .changed }
}

/// One check of the verify step.
public struct VerifyCheckReport: Sendable, Hashable {
    /// The check's name, such as `machines-disabled`.
    public var name: String
    /// Whether it passed.
    public var passed: Bool
    /// What it found (for a failure: each offending item).
    public var message: String?

    /// Creates a check's report.
    ///
    /// - Parameters:
    ///   - name: The check's name.
    ///   - passed: Whether it passed.
    ///   - message: What it found.
    public init(name: String, passed: Bool, message: String? = nil) {
        self.name = name
        self.passed = passed
        self.message = message
    }
}
