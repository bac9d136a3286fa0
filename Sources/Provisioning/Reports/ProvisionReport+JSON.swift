public import Foundation

/// `--report-json`: the report as JSON, keys sorted, times in ISO 8601 UTC with milliseconds, durations in seconds
/// (`durationSeconds`, milliseconds precision), absent values left out. docs/journal.md shows an example.
extension ProvisionReport {
    /// The JSON report's bytes, every string redacted.
    ///
    /// - Parameter redactor: The secrets to hide.
    /// - Returns: Pretty-printed JSON ending with a newline.
    public func jsonData(redactor: Redactor) -> Data {
        let report = redacted(by: redactor)
        let file = ReportV1(
            durationSeconds: report.duration.roundedSeconds,
            format: Self.format,
            instances: report.instances.map { instance in
                InstanceV1(
                    hosts: instance.hosts.map { host in
                        HostV1(
                            checks: host.checks.map { CheckV1(message: $0.message, name: $0.name, passed: $0.passed) },
                            durationSeconds: host.duration.roundedSeconds,
                            error: host.error,
                            name: host.name,
                            status: host.status.rawValue,
                            steps: host.steps.map { step in
                                StepV1(
                                    changed: step.changed,
                                    durationSeconds: step.duration.roundedSeconds,
                                    message: step.message,
                                    name: step.name,
                                    position: step.position,
                                    status: step.status.rawValue
                                )
                            }
                        )
                    },
                    mode: instance.mode.rawValue,
                    name: instance.name,
                    status: HostReportStatus.combining(instance.hosts.map(\.status)).rawValue,
                    version: instance.version
                )
            },
            octoprovVersion: report.octoprovVersion,
            started: Timestamp.string(report.started),
            status: report.status.rawValue
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Strings, numbers and arrays of them always encode.
        var data = (try? encoder.encode(file)) ?? Data()
        data.append(0x0a)
        return data
    }

    /// Writes the JSON report to `path` atomically (mode 0644).
    ///
    /// - Parameters:
    ///   - path: `--report-json FILE`.
    ///   - redactor: The secrets to hide.
    /// - Throws: ``FileOperationError`` when the file cannot be written; an earlier file at `path` is then intact.
    public func writeJSON(to path: String, redactor: Redactor) throws(FileOperationError) {
        try AtomicFile.write(jsonData(redactor: redactor), to: path, permissions: 0o644)
    }

    /// Reads a JSON report written by ``jsonData(redactor:)``.
    ///
    /// - Parameter data: The report's bytes.
    /// - Throws: ``FileOperationError`` (path `JSON report`) saying what is missing or wrong.
    public init(json data: Data) throws(FileOperationError) {
        let file: ReportV1
        do {
            file = try JSONDecoder().decode(ReportV1.self, from: data)
        } catch {
            throw FileOperationError(path: "JSON report", operation: "read", reason: "\(error)")
        }
        func invalid(_ what: String) -> FileOperationError {
            FileOperationError(path: "JSON report", operation: "read", reason: what)
        }
        guard file.format == Self.format else { throw invalid("format \(file.format) is not \(Self.format)") }
        guard let started = Timestamp.date(file.started) else { throw invalid("`started` is not an ISO 8601 time") }
        var instances: [InstanceReport] = []
        for instance in file.instances {
            guard let mode = InstanceMode(rawValue: instance.mode) else { throw invalid("mode `\(instance.mode)`") }
            var hosts: [HostReport] = []
            for host in instance.hosts {
                var steps: [StepReport] = []
                for step in host.steps {
                    guard let status = StepReportStatus(rawValue: step.status) else {
                        throw invalid("step status `\(step.status)`")
                    }
                    steps.append(
                        StepReport(
                            position: step.position,
                            name: step.name,
                            status: status,
                            duration: .fromSeconds(step.durationSeconds),
                            message: step.message
                        )
                    )
                }
                hosts.append(
                    HostReport(
                        name: host.name,
                        duration: .fromSeconds(host.durationSeconds),
                        steps: steps,
                        checks: host.checks.map {
                            VerifyCheckReport(name: $0.name, passed: $0.passed, message: $0.message)
                        },
                        error: host.error
                    )
                )
            }
            instances.append(InstanceReport(name: instance.name, mode: mode, version: instance.version, hosts: hosts))
        }
        self.init(
            octoprovVersion: file.octoprovVersion,
            started: started,
            duration: .fromSeconds(file.durationSeconds),
            instances: instances
        )
    }
}

// MARK: - Format 1

// Properties in alphabetical order, as `.sortedKeys` writes them.

private struct ReportV1: Codable {
    var durationSeconds: Double
    var format: Int
    var instances: [InstanceV1]
    var octoprovVersion: String
    var started: String
    var status: String
}

private struct InstanceV1: Codable {
    var hosts: [HostV1]
    var mode: String
    var name: String
    var status: String
    var version: String
}

private struct HostV1: Codable {
    var checks: [CheckV1]
    var durationSeconds: Double
    var error: String?
    var name: String
    var status: String
    var steps: [StepV1]
}

private struct StepV1: Codable {
    var changed: Bool
    var durationSeconds: Double
    var message: String?
    var name: String
    var position: Int
    var status: String
}

private struct CheckV1: Codable {
    var message: String?
    var name: String
    var passed: Bool
}
