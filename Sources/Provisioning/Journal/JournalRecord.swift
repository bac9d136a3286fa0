public import Foundation

/// A step's state in the journal.
public enum JournalStepStatus: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    /// Part of the host's plan, never started.
    case pending
    /// Started and not finished: the run stopped (or is still going) while the step worked.
    case running
    /// Finished without changing anything.
    case ok
    /// Finished and changed something.
    case changed
    /// Finished with an error.
    case failed

    /// The name as written in the journal.
    public var description: String { rawValue }
}

/// How a step that ran ended.
public enum StepOutcome: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// It found the work done and changed nothing.
    case ok
    /// It did the work.
    case changed
    /// It failed.
    case failed

    /// The journal status it records.
    public var status: JournalStepStatus {
        switch self {
        case .ok: .ok
        case .changed: .changed
        case .failed: .failed
        }
    }

    /// The name as written.
    public var description: String { rawValue }
}

/// Why a step that finished must run again although its own input is unchanged.
public enum RerunCause: Sendable, Hashable, CustomStringConvertible {
    /// An earlier step of the host ran again because its input changed.
    case afterChange(of: String)
    /// `--from-step` named this step or an earlier one.
    case fromStep(String)

    /// `after restore changed` or `--from-step restore`.
    public var description: String {
        switch self {
        case .afterChange(let step): "after \(step) changed"
        case .fromStep(let step): "--from-step \(step)"
        }
    }
}

/// One step of one host in the journal.
public struct JournalStepRecord: Sendable, Hashable {
    /// The step's name (``StepDefinition/name``).
    public var step: String
    /// Its state.
    public var status: JournalStepStatus
    /// The input hash of its last start, or `nil` when it never started.
    public var inputHash: InputHash?
    /// When it last started.
    public var started: Date?
    /// When it last finished.
    public var finished: Date?
    /// How long its last run took.
    public var duration: Duration?
    /// Its last result's message (redacted).
    public var message: String?
    /// The facts its last finish reported (values redacted).
    public var facts: [String: String]
    /// Why it must run again although it finished, until it finishes successfully again.
    public var rerun: RerunCause?

    /// A step of the plan that never started.
    ///
    /// - Parameter step: The step's name.
    public init(step: String) {
        self.step = step
        self.status = .pending
        self.inputHash = nil
        self.started = nil
        self.finished = nil
        self.duration = nil
        self.message = nil
        self.facts = [:]
        self.rerun = nil
    }
}

/// Why a step runs.
public enum RunReason: Sendable, Hashable, CustomStringConvertible {
    /// It never started on this host.
    case neverRan
    /// It was running when the last run stopped (killed, crashed or cut off).
    case interrupted
    /// It failed last time.
    case failedLastTime
    /// Its input hash differs from the one it last ran with.
    case inputChanged
    /// An earlier step ran again because its input changed (``RerunCause/afterChange(of:)``), or `--from-step`.
    case rerun(RerunCause)

    /// A short phrase for progress lines: `its input changed`, `after restore changed`.
    public var description: String {
        switch self {
        case .neverRan: "it has not run yet"
        case .interrupted: "it was interrupted (still running when the last run stopped)"
        case .failedLastTime: "it failed last time"
        case .inputChanged: "its input changed"
        case .rerun(let cause): cause.description
        }
    }
}

/// What the runner should do with a step.
public enum StepDecision: Sendable, Hashable, CustomStringConvertible {
    /// It finished with the same input: report `ok` without touching the host.
    case skip(SkipReason)
    /// Run it.
    case run(RunReason)

    /// Whether the step must run.
    public var shouldRun: Bool {
        if case .run = self { return true }
        return false
    }

    /// `run: its input changed` or `skip: already ok …`.
    public var description: String {
        switch self {
        case .skip(let reason): "skip: \(reason)"
        case .run(let reason): "run: \(reason)"
        }
    }
}

/// Why a step is skipped: it finished before with the same input.
public struct SkipReason: Sendable, Hashable, CustomStringConvertible {
    /// How it finished (`ok` or `changed`).
    public var status: JournalStepStatus
    /// When.
    public var finished: Date?

    /// `already done (changed at 2026-05-01T10:00:00.000Z), input unchanged`.
    public var description: String {
        let when = finished.map { " at \(Timestamp.string($0))" } ?? ""
        return "already done (\(status)\(when)), input unchanged"
    }
}
