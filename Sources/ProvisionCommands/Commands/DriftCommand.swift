import ArgumentParser
import Foundation
import Provisioning
import SSHKit

/// `octoprov drift`: what changed on production since each clone was made.
struct DriftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drift",
        abstract: "Compare production with its clones over the REST API and list the projects changed since.",
        discussion: """
            For each clone (a `mode: clone` spec with `production: {url, api_key}`), reads every project of every \
            space on production and on the clone (through an SSH port forward, with the API key provision \
            created) and compares, project by project: the deployment process version, the variable set version, \
            the releases and the settings' last modification. A project only on production was added since the \
            clone was made; one only on the clone was deleted. Nothing is written anywhere.

            The number of projects that differ is the drift a nightly job thresholds: with --fail-above N the exit \
            status is 1 when some clone differs in more than N projects, which is the signal to run `octoprov \
            rebuild` from a fresh backup.

            Exit status: 0 when no clone drifts beyond --fail-above (or without it), 1 when one does or a clone \
            cannot be compared, 2 when a host cannot be reached, 64 for invalid input, 75 when a provision run \
            holds an instance's journal.

            Examples:
              octoprov drift -i Inventories/windows-clone.yml
              octoprov drift -i nightly.yml --instance staging-clone --fail-above 10 --report-json drift.json
            """
    )

    @OptionGroup var selection: PlanOptions

    @Option(
        name: .customLong("state-dir"),
        help: ArgumentHelp("Where journals are kept (as for provision).", valueName: "dir")
    )
    var stateDirectory: String?

    @Option(
        name: .customLong("fail-above"),
        help: ArgumentHelp("Exit 1 when a clone differs in more than this many projects.", valueName: "n")
    )
    var failAbove: Int?

    @Option(
        name: .customLong("report-json"),
        help: ArgumentHelp("Write the comparison as JSON to this file.", valueName: "file")
    )
    var reportJSON: String?

    @Flag(name: .shortAndLong, help: "Print the SSH layer's debug messages.")
    var verbose = false

    func validate() throws {
        if let failAbove, failAbove < 0 {
            throw ValidationError("--fail-above must be 0 or more, not \(failAbove).")
        }
    }

    /// One host's comparison, as the JSON report holds it.
    struct HostDrift: Codable {
        var instance: String
        var host: String
        var drift: DriftReport?
        var failure: String?
    }

    func run() async throws {
        let run = try CommandFlow.prepare(selection: selection, stateDirectory: stateDirectory)
        defer { run.closeJournals() }
        let redactor = run.redactor
        let clones = run.plan.hosts.filter { $0.instance.mode == .clone }
        for skipped in Set(run.plan.hosts.filter { $0.instance.mode != .clone }.map(\.instance.name)).sorted() {
            Console.shared.err(
                "Instance \(skipped) is a test instance: its projects were imported, so their versions restarted and "
                    + "do not compare with the source's; provision it again to refresh it."
            )
        }
        guard !clones.isEmpty else {
            Console.shared.err("No clone is selected, so there is nothing to compare.")
            throw ExitCode(64)
        }
        for name in Set(clones.filter { $0.instance.production == nil }.map(\.instance.name)).sorted() {
            Console.shared.err(
                "Instance \(name) has no `production:` (url and api_key), so its clone cannot be compared with "
                    + "production; add it to the spec in \(run.plan.file)."
            )
            throw ExitCode(64)
        }
        let logger = CommandFlow.logger(verbose: verbose)
        let environment = run.environment
        // Production once per instance: every clone of one spec is compared with the same snapshot.
        var sources: [String: Result<[ProjectSnapshot], any Error>] = [:]
        for spec in run.plan.instances where spec.mode == .clone {
            guard let production = spec.production else { continue }
            do {
                let apiKey = try production.apiKey.read(environment: environment)
                let client = try OctopusClient(baseURL: production.url, apiKey: apiKey)
                Console.shared.out("Reading production's projects from \(production.url) (\(spec.name)).")
                sources[spec.name] = .success(try await DriftReader.snapshots(client))
            } catch {
                sources[spec.name] = .failure(error)
            }
        }
        var results: [HostDrift] = []
        var unreachable = false
        for plan in clones {
            let label = "\(plan.instance.name)/\(plan.host.name)"
            do {
                let source = try sources[plan.instance.name, default: .success([])].get()
                guard let journal = run.journals[plan.instance.name],
                    let apiKey = journal.storedSecret(named: StepSecret.adminAPIKey.rawValue, host: plan.host.name)
                else {
                    throw RunnerError.noAPIKey(host: plan.host.name)
                }
                let secrets = StepSecretValues(values: [.adminAPIKey: apiKey])
                Console.shared.out("Reading the clone's projects on \(label).")
                let clone = try await RESTVerifier.withInstanceClient(
                    plan,
                    secrets,
                    logger: logger,
                    environment: environment
                ) { client in
                    try await DriftReader.snapshots(client)
                }
                results.append(
                    HostDrift(
                        instance: plan.instance.name,
                        host: plan.host.name,
                        drift: DriftReport.compare(source: source, clone: clone)
                    )
                )
            } catch {
                if error is SSHError { unreachable = true }
                results.append(
                    HostDrift(
                        instance: plan.instance.name,
                        host: plan.host.name,
                        failure: redactor.redact(String(describing: error))
                    )
                )
            }
        }
        if let reportJSON {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            do {
                try encoder.encode(results).write(to: URL(fileURLWithPath: reportJSON), options: .atomic)
            } catch {
                Console.shared.err("Cannot write the JSON report to \(reportJSON): \(error.localizedDescription)")
                throw ExitCode(1)
            }
        }
        var exceeded = false
        for result in results {
            let label = "\(result.instance)/\(result.host)"
            guard let drift = result.drift else {
                Console.shared.err("\(label): cannot compare: \(result.failure ?? "unknown error")")
                continue
            }
            let over = failAbove.map { drift.count > $0 } ?? false
            exceeded = exceeded || over
            Console.shared.out(
                "\(label): \(drift.count) of \(drift.sourceProjects) project(s) differ from production"
                    + (failAbove.map { over ? " (more than \($0))" : " (at most \($0))" } ?? "") + "."
            )
            for project in drift.projects {
                Console.shared.out(
                    "  \(project.kind.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0))"
                        + "\(project.project): \(project.details.joined(separator: "; "))"
                )
            }
        }
        if unreachable { throw ExitCode(2) }
        if exceeded || results.contains(where: { $0.drift == nil }) { throw ExitCode(1) }
    }
}
