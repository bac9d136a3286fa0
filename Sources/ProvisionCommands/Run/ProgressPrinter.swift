import Foundation
import Provisioning

/// Prints a run's live progress: one line when a step starts and ends (`HOST [04 restore] changed 1.2s …`), the
/// scripts' lines as `HOST | line` (`HOST ! line` for standard error), and transfers as bytes and percent.
final class ProgressPrinter: Sendable {
    private let quiet: Bool

    init(quiet: Bool) {
        self.quiet = quiet
    }

    func handle(_ event: ProvisionEvent, redactor: Redactor) {
        switch event {
        case .stepStarted(let host, let position, let step, let summary):
            guard !quiet else { return }
            Console.shared.err(redactor.redact("\(host) [\(String(format: "%02d", position)) \(step)] \(summary)"))
        case .output(let host, _, let line, let isError):
            if isError {
                Console.shared.err(redactor.redact("\(host) ! \(line)"))
            } else if !quiet {
                Console.shared.out(redactor.redact("\(host) | \(line)"))
            }
        case .transfer(let host, let step, let path, let completed, let total):
            guard !quiet else { return }
            let percent = total == 0 ? 100 : Int(Double(completed) * 100 / Double(total))
            Console.shared.err(
                redactor.redact(
                    "\(host) [\(step)] \(path): \(Format.bytes(completed)) of \(Format.bytes(total)) (\(percent)%)"
                )
            )
        case .stepFinished(let host, let record):
            if quiet && record.status != .failed && record.status != .changed { return }
            let position = String(format: "%02d", record.position)
            Console.shared.err(
                redactor.redact(
                    "\(host) [\(position) \(record.step)] \(record.status) \(Format.duration(record.duration)) "
                        + record.message
                )
            )
        }
    }
}
