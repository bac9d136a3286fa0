import ArgumentParser
import Foundation
import Provisioning

/// `octoprov upgrade-path FROM TO`: the documented way from one Octopus version to another, without touching any
/// host.
struct UpgradePathCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upgrade-path",
        abstract: "Show how to upgrade Octopus Server from one version to another: the versions to go through, "
            + "the caveats crossed and the known problems, each with its source.",
        discussion: """
            Plans from the facts compiled into octoprov (Sources/Provisioning/Upgrade/upgrade-facts.json, \
            see docs/upgrade-path.md); no host is contacted. A version is MAJOR.MINOR.BUILD, or MAJOR.MINOR \
            for the first build of a release (3.3 is 3.3.0). Prints the versions to upgrade through (legacy \
            routes and known broken direct paths, with the version to take first), every documented caveat \
            crossed, grouped by version, and known problems without a workaround. A fact the sources do not \
            fully state is marked [UNCONFIRMED].

            Exit status: 0 when there is a path, 1 for a downgrade or the same version (to go back, restore \
            the database backup and reinstall the old version), 64 for a version that does not parse.

            Examples:
              octoprov upgrade-path 3.3 2018.5
              octoprov upgrade-path 2.6.5 2023.3.13058
              octoprov upgrade-path 2019.8.3 2020.2.10 --format json
            """
    )

    /// The output formats.
    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Argument(help: ArgumentHelp("The version the server runs, such as 3.3.24 or 2018.10.", valueName: "from"))
    var from: String

    @Argument(help: ArgumentHelp("The version to upgrade to, such as 2023.3.13058.", valueName: "to"))
    var to: String

    @Option(help: "Output format: text for people, json for tools.")
    var format: OutputFormat = .text

    func run() async throws {
        let start = try Self.version(from, argument: "<from>")
        let target = try Self.version(to, argument: "<to>")
        let plan: UpgradePlan
        do {
            plan = try UpgradePathPlanner.plan(from: start, to: target)
        } catch {
            Console.shared.err(error.message)
            throw ExitCode(1)
        }
        switch format {
        case .text:
            for line in plan.lines() { Console.shared.out(line) }
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            Console.shared.out(String(decoding: try encoder.encode(plan), as: UTF8.self))
        }
    }

    /// Parses a version argument; a bad one is one sentence on stderr and exit status 64. A two-part version is
    /// read as the first build of that release, and a note on stderr says so.
    private static func version(_ text: String, argument: String) throws -> OctopusVersion {
        let version: OctopusVersion
        do {
            version = try OctopusVersion(parsingRelease: text)
        } catch {
            Console.shared.err("\(argument): \(error.message)")
            throw ExitCode(64)
        }
        if version.description != text {
            Console.shared.err("\(argument): \(text) is read as \(version), the first build of that release.")
        }
        return version
    }
}
