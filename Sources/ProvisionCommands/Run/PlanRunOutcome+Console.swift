import ArgumentParser
import Foundation
import Provisioning

/// A run's outcome as the commands show it: the recap, the reports and the exit status.
extension PlanRunOutcome {
    /// One line per host: ok / changed / failed step counts, duration, and the failure's sentence.
    func printRecap() {
        let width = max(4, hosts.map { "\($0.instance)/\($0.host)".count }.max() ?? 0)
        Console.shared.err("")
        Console.shared.err(
            "\(Format.pad("HOST", width))  \(Format.pad("RESULT", 11))  OK  CHANGED  FAILED  \(Format.pad("TIME", 8))"
        )
        for host in hosts {
            let count = { (status: StepRunStatus) in host.steps.filter { $0.status == status }.count }
            let result = unreachable.contains(host.host) ? "unreachable" : (host.succeeded ? "ok" : "failed")
            Console.shared.err(
                redactor.redact(
                    "\(Format.pad("\(host.instance)/\(host.host)", width))  \(Format.pad(result, 11))  "
                        + "\(Format.pad(String(count(.ok)), 2))  \(Format.pad(String(count(.changed)), 7))  "
                        + "\(Format.pad(String(count(.failed)), 6))  \(Format.pad(Format.duration(host.duration), 8))"
                        + (host.failure.map { "  \($0)" } ?? "")
                )
            )
        }
        let failed = hosts.filter { !$0.succeeded }.count
        Console.shared.err(
            "\(hosts.count - failed) of \(hosts.count) host(s) succeeded in \(Format.duration(duration))."
        )
    }

    /// Writes `--report-json` and `--junit` when asked; a file that cannot be written is one sentence and exit 1.
    func writeReports(json: String?, junit: String?) throws {
        let report = report
        do {
            if let json { try report.writeJSON(to: json, redactor: redactor) }
            if let junit { try report.writeJUnit(to: junit, redactor: redactor) }
        } catch {
            Console.shared.err(redactor.redact("Cannot write the report: \(error)"))
            throw ExitCode(1)
        }
    }

    /// 0 when every host succeeded, 2 when some host could not be reached, else 1.
    var exitCode: ExitCode {
        switch status {
        case .succeeded: .success
        case .failed: ExitCode(1)
        case .unreachable: ExitCode(2)
        }
    }
}
