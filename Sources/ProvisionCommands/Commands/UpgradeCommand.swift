import ArgumentParser
import Foundation
import Provisioning

/// `octoprov upgrade`: rehearses an Octopus upgrade on provisioned clones and test instances.
struct UpgradeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upgrade",
        abstract: "Upgrade provisioned instances in place to another Octopus version, and verify them.",
        discussion: """
            First, without touching any host, the path from the inventory's version to --to is planned from the \
            upgrade facts (`octoprov upgrade-path`): a downgrade, the same version, or a known broken direct path \
            is refused (naming the version to upgrade to first), and every caveat crossed is printed with its \
            source. Then on each host (docs/steps.md, "Upgrade and teardown flows"): upgrade-preflight, \
            backup-database (a COPY_ONLY backup of the instance's database beside the work folder, kept), drain \
            (node --drain, the service stopped), install (the target's package, sha256 verified), \
            upgrade-database (database --upgrade), start (a clone still only on its quarantined database), \
            undrain, and verify at the new version (quarantine included) — idempotent and resumable like \
            provision, in a journal of its own.

            The package of --to comes from the instance's package mirror (the platform's file name for the \
            version), or from --package / --package-url; either way --sha256 pins it. On linux-container without \
            a package the host pulls the image tag.

            Exit status: 0 when every host is at --to and verified, 1 when some host failed, 2 when some host \
            could not be reached, 64 for invalid input or a refused path, 75 when another run holds the \
            instance's journal.

            Examples:
              octoprov upgrade -i Inventories/windows-clone.yml --to 2024.1.11892 --sha256 9f2c… --junit upgrade.xml
              octoprov upgrade -i lab.yml --instance staging-clone --to 2025.2.1 \\
                --package-url https://mirror.lab/Octopus.2025.2.1-x64.msi --sha256 5be0…
            """
    )

    @OptionGroup var selection: PlanOptions

    @OptionGroup var runOptions: RunOptions

    @Option(help: ArgumentHelp("The Octopus version to upgrade to.", valueName: "version"))
    var to: String

    @Option(help: ArgumentHelp("The SHA-256 of the target version's package.", valueName: "hex"))
    var sha256: String?

    @Option(help: ArgumentHelp("The target version's package, a local file octoprov uploads.", valueName: "file"))
    var package: String?

    @Option(
        name: .customLong("package-url"),
        help: ArgumentHelp("The URL each host downloads the target version's package from.", valueName: "url")
    )
    var packageURL: String?

    func validate() throws {
        if package != nil && packageURL != nil {
            throw ValidationError("Give --package or --package-url, not both.")
        }
        do {
            _ = try OctopusVersion(parsing: to)
        } catch {
            throw ValidationError("--to \(to) is not an Octopus version like 2024.1.11892.")
        }
    }

    func run() async throws {
        let target = try OctopusVersion(parsing: to)
        var origin: PackageSource.Origin?
        if let package {
            origin = .file(URL(fileURLWithPath: package).standardizedFileURL.path)
        } else if let packageURL {
            origin = .url(packageURL)
        }
        let package = UpgradePackage(sha256: sha256, origin: origin)
        let environment = ProcessInfo.processInfo.environment
        let (first, check) = try selection.buildPlan(
            environment: environment,
            flow: .upgrade(to: target, package: package)
        )
        // Where each host is now: an earlier upgrade may have taken it past the inventory's version.
        let reached = try Self.reachedVersions(
            first.hosts,
            target: target,
            inventory: check.file,
            stateDirectory: runOptions.stateDirectory,
            redactor: check.redactor
        )
        let flow = ProvisioningPlan.Flow.upgrade(to: target, package: package, from: reached)
        // The path, per host, before anything connects: a refused path changes nothing.
        var seen: Set<String> = []
        for hostPlan in first.hosts {
            let key = "\(hostPlan.instance.name)/\(hostPlan.host.name)"
            guard let inventoryVersion = check.inventory.instance(named: hostPlan.instance.name)?.version else {
                continue
            }
            let from = reached[key] ?? inventoryVersion
            guard seen.insert("\(hostPlan.instance.name) \(from)").inserted else { continue }
            let path: UpgradePlan
            do {
                path = try UpgradePathPlanner.plan(from: from, to: target)
            } catch {
                Console.shared.err("Instance \(hostPlan.instance.name): \(error.message) Nothing was changed.")
                throw ExitCode(64)
            }
            if path.isDirectPathBroken {
                let first = path.intermediates.first.map { "\($0.version)" } ?? path.detour.map { "\($0.next.version)" }
                Console.shared.err(
                    "Instance \(hostPlan.instance.name): the direct upgrade from \(from) to \(target) is a known broken "
                        + "path; upgrade to \(first ?? "an intermediate version") first (`octoprov upgrade-path \(from) "
                        + "\(target)` shows why). Nothing was changed."
                )
                throw ExitCode(64)
            }
            Console.shared.out("Instance \(hostPlan.instance.name): \(from) → \(target)")
            // The path and its caveats; `upgrade-path` prints the whole text with the sources' legend.
            for line in path.lines().dropFirst().prefix(while: { $0 != "Sources:" }) where !line.isEmpty {
                Console.shared.out("  \(line)")
            }
        }
        try await CommandFlow.perform(selection: selection, options: runOptions, flow: flow)
    }

    /// The version each host upgrades from, by `instance/host`, when an earlier `upgrade` recorded one in the
    /// instance's upgrade journal: where it is now (``Journal/upgradedVersion(host:)``), or, when the last
    /// upgrade was to `target` (a rerun), where that one started. Hosts without an upgrade upgrade from the
    /// inventory's version.
    static func reachedVersions(
        _ hosts: [ProvisioningPlan.HostPlan],
        target: OctopusVersion,
        inventory: String,
        stateDirectory: String?,
        redactor: Redactor
    ) throws -> [String: OctopusVersion] {
        var reached: [String: OctopusVersion] = [:]
        for instance in Set(hosts.map(\.instance.name)).sorted() {
            let journal = try CommandFlow.openJournal(
                inventory: inventory,
                instance: PlanRun.journalKey(instance, flow: ProvisioningPlan.Flow.upgradeName),
                stateDirectory: stateDirectory,
                redactor: redactor
            )
            defer { journal.close() }
            for host in hosts where host.instance.name == instance {
                // A rerun of the last upgrade starts where that upgrade started, so that nothing changes.
                let record = journal.record(host: host.host.name, step: .upgradePreflight)
                let aimed = record?.facts["target_version"].flatMap { try? OctopusVersion(parsing: $0) }
                let current = journal.upgradedVersion(host: host.host.name)
                    .flatMap { try? OctopusVersion(parsing: $0) }
                guard var version = current else { continue }
                if aimed == target,
                    let started = record?.facts["from_version"].flatMap({ try? OctopusVersion(parsing: $0) })
                {
                    version = started
                }
                reached["\(instance)/\(host.host.name)"] = version
            }
        }
        return reached
    }
}
