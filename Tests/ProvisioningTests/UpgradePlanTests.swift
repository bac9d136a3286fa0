import Foundation
import Provisioning
import Testing

/// `octoprov upgrade`'s and `rebuild`'s plans: the flows of ``ProvisioningPlan/Flow`` rendered from the repository's
/// own templates, and where the target version's package comes from.
@Suite struct UpgradePlanTests {
    static let target = OctopusVersion(major: 2024, minor: 1, build: 11892)
    static let sha256 = String(repeating: "ab", count: 32)

    /// Plans `flow` for the clone fixture (its package from `mirror/`, which also holds `extra` files).
    static func plan(
        _ flow: ProvisioningPlan.Flow,
        yaml: String = CheckFixture.yaml(CheckFixture.clone),
        extra: [FixtureFile] = []
    ) throws -> Result<ProvisioningPlan, PlanError> {
        try withTemporaryDirectory(CheckFixture.files + extra + [FixtureFile(path: "inventory.yml", contents: yaml)]) {
            directory in
            let check = InventoryCheck.run(path: directory + "/inventory.yml", environment: CheckFixture.environment)
            let library = try TemplateLibrary(directory: ExampleInventoryTests.repositoryTemplates)
            return Result { () throws(PlanError) in
                try ProvisioningPlan.build(check: check, templates: library, flow: flow)
            }
        }
    }

    static let mirrored = FixtureFile(path: "mirror/octopus-standin-2024.1.11892.tar.gz", contents: "new pkg")

    @Test func anUpgradeIsPlannedAtTheTargetFromTheMirror() throws {
        let flow = ProvisioningPlan.Flow.upgrade(
            to: Self.target,
            package: UpgradePackage(sha256: Self.sha256.uppercased(), origin: nil)
        )
        let host = try #require(try Self.plan(flow, extra: [Self.mirrored]).get().hosts.first)
        #expect(host.steps.map(\.definition.name) == StepCatalogue.upgradeSteps(for: host.instance).map(\.name))
        #expect(host.instance.version == Self.target)
        #expect(host.instance.package?.sha256 == Self.sha256)
        #expect(host.instance.package?.localFile?.hasSuffix("/mirror/octopus-standin-2024.1.11892.tar.gz") == true)
        #expect(host.variables["version"] == "2024.1.11892" && host.variables["from_version"] == "2023.3.13026")
        #expect(host.variables["upgrade_backup_file"]?.hasSuffix("-2023.3.13026.pre-upgrade.bak") == true)
        #expect(host.steps.allSatisfy { $0.definition.runsOn != .host || $0.script != nil })

        // A host an earlier upgrade took further upgrades from there.
        let further = ProvisioningPlan.Flow.upgrade(
            to: Self.target,
            package: UpgradePackage(sha256: Self.sha256, origin: nil),
            from: ["lab/vm1": try OctopusVersion(parsing: "2023.4.1")]
        )
        let next = try #require(try Self.plan(further, extra: [Self.mirrored]).get().hosts.first)
        #expect(next.variables["from_version"] == "2023.4.1")
    }

    @Test func theTargetPackageMustBeNamedAndPinned() throws {
        func problem(_ flow: ProvisioningPlan.Flow, extra: [FixtureFile] = [], yaml: String? = nil) throws -> String {
            let result = try Self.plan(flow, yaml: yaml ?? CheckFixture.yaml(CheckFixture.clone), extra: extra)
            guard case .failure(let error) = result else { return "planned" }
            return error.description
        }
        let unpinned = try problem(
            .upgrade(to: Self.target, package: UpgradePackage(sha256: nil, origin: nil)),
            extra: [Self.mirrored]
        )
        #expect(unpinned.contains("--sha256") && unpinned.contains("64 hex"))
        let notMirrored = try problem(
            .upgrade(to: Self.target, package: UpgradePackage(sha256: Self.sha256, origin: nil))
        )
        #expect(notMirrored.contains("has no octopus-standin-2024.1.11892.tar.gz"), "\(notMirrored)")
        let missingFile = try problem(
            .upgrade(
                to: Self.target,
                package: UpgradePackage(sha256: Self.sha256, origin: .file("/nonexistent/pkg.tar.gz"))
            )
        )
        #expect(missingFile.contains("/nonexistent/pkg.tar.gz does not exist"))
        let fromFile = CheckFixture.yaml(
            CheckFixture.clone,
            replacing: [11: "    package: {sha256: \(CheckFixture.packageSHA256), file: pkg.msi}"]
        )
        let unknown = try problem(
            .upgrade(to: Self.target, package: UpgradePackage(sha256: Self.sha256, origin: nil)),
            yaml: fromFile
        )
        #expect(unknown.contains("--package FILE or --package-url URL"), "\(unknown)")
        let byURL = try Self.plan(
            .upgrade(
                to: Self.target,
                package: UpgradePackage(sha256: Self.sha256, origin: .url("https://mirror.lab/p.tar.gz"))
            ),
            yaml: fromFile
        )
        #expect(try byURL.get().hosts.first?.variables["package_url"] == "https://mirror.lab/p.tar.gz")
    }

    @Test func aTeardownIsOneStep() throws {
        let host = try #require(try Self.plan(.teardown).get().hosts.first)
        #expect(host.steps.map(\.definition.name) == ["teardown"])
        #expect(host.steps.first?.script?.template == "standin/teardown.sh")
        #expect(host.instance.version.description == "2023.3.13026")
    }
}
