import ArgumentParser
import Foundation
import Provisioning

/// What a run did on every host: the recap, the reports and the exit status.
struct ProvisionOutcome {
    var inventory: String
    /// The instances run, in plan order.
    var instances: [InstanceSpec]
    var started: Date
    var hosts: [HostRunRecord]
    var unreachable: Set<String>
    var duration: Duration
    var redactor: Redactor

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

    /// The report of this run, per instance and host (docs/journal.md, "Reports").
    var report: ProvisionReport {
        ProvisionReport(
            started: started,
            duration: duration,
            instances: instances.map { spec in
                InstanceReport(
                    name: spec.name,
                    mode: spec.mode,
                    version: spec.version.description,
                    hosts: hosts.filter { $0.instance == spec.name }.map { host in
                        HostReport(
                            name: host.host,
                            duration: host.duration,
                            steps: host.steps.map { step in
                                StepReport(
                                    position: step.position,
                                    name: step.step,
                                    status: Self.reportStatus(step.status),
                                    duration: step.duration,
                                    message: step.message
                                )
                            },
                            checks: host.checks.map {
                                VerifyCheckReport(name: $0.name, passed: $0.passed, message: $0.message)
                            },
                            // A failed step is its own test case; `error` is for a host that failed outside any step
                            // (unreachable, secrets unreadable).
                            error: host.steps.contains { $0.status == .failed } ? nil : host.failure
                        )
                    }
                )
            }
        )
    }

    private static func reportStatus(_ status: StepRunStatus) -> StepReportStatus {
        switch status {
        case .ok: .ok
        case .changed: .changed
        case .failed: .failed
        case .notRun: .skipped
        }
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
        if !unreachable.isEmpty { return ExitCode(2) }
        if hosts.contains(where: { !$0.succeeded }) { return ExitCode(1) }
        return .success
    }
}
