import SSHKit
import Synchronization

/// Splits a step script's output into lines as it arrives and reports each one, redacted.
final class StepOutputLines: Sendable {
    private let host: String
    private let step: String
    private let redactor: Redactor
    private let events: @Sendable (ProvisionEvent) -> Void
    private let splitters = Mutex([LineSplitter(), LineSplitter()])

    init(host: String, step: String, redactor: Redactor, events: @escaping @Sendable (ProvisionEvent) -> Void) {
        self.host = host
        self.step = step
        self.redactor = redactor
        self.events = events
    }

    func feed(_ isError: Bool, _ chunk: [UInt8]) {
        let lines = splitters.withLock { $0[isError ? 1 : 0].feed(chunk) }
        for line in lines { emit(line, isError: isError) }
    }

    func finish() {
        let last = splitters.withLock { [$0[0].finish(), $0[1].finish()] }
        if let out = last[0] { emit(out, isError: false) }
        if let err = last[1] { emit(err, isError: true) }
    }

    private func emit(_ line: String, isError: Bool) {
        // The result line is the runner's, not the person's.
        if line.hasPrefix(StepScriptResult.marker) { return }
        events(.output(host: host, step: step, line: redactor.redact(line), isError: isError))
    }
}
