import Foundation
import Provisioning
import Testing
import Wire

// The upgrade and teardown flows (StepCatalogue.upgrade, StepCatalogue.teardown) against docs/steps.md's
// "Upgrade and teardown flows" table, their resolution for one instance on one host, and the upgrade's variable
// set (StepVariables.buildForUpgrade).

@Suite struct UpgradeCatalogueTests {
    /// The checked inventory of `yaml`, which must be valid.
    static func inventory(
        _ yaml: String,
        environment: [String: String] = CheckFixture.environment
    ) throws
        -> InventoryCheck
    {
        let check = try CheckFixture.check(yaml, environment: environment)
        try #require(check.isValid, "\(check.errors.map(\.description).joined(separator: "\n"))")
        return check
    }

    /// The clone fixture on a `linux-container` host with a SQL login.
    static func containerClone() throws -> InventoryCheck {
        var environment = CheckFixture.environment
        environment["SQL_PW"] = "sql-login-password-value"
        let yaml = CheckFixture.yaml(
            CheckFixture.clone,
            replacing: [
                5: "    platform: linux-container\n    sql_password: env:SQL_PW\n    vars: {sql_user: octoprov}",
                11: "",
            ]
        )
        return try inventory(yaml, environment: environment)
    }

    @Test func theFlowsMatchTheDocument() throws {
        let rows = StepCatalogueTests.tableRows(after: "## Upgrade and teardown flows").filter { Int($0[0]) != nil }
        try #require(rows.count == 8)
        for (column, steps) in [(1, StepCatalogue.upgrade), (2, StepCatalogue.teardown)] {
            let documented = rows.flatMap { row in
                StepCatalogueTests.names(in: row[column]).map { (Int(row[0]) ?? 0, $0) }
            }
            #expect(documented.map(\.1) == steps.map(\.name))
            #expect(documented.map(\.0) == steps.map(\.number))
            for step in steps {
                let row = try #require(rows.first { Int($0[0]) == step.number })
                #expect(row[3].hasPrefix(step.runsOn.rawValue), "\(step.name): \(row[3])")
                let documented = StepCatalogueTests.names(in: row[4])
                for sql in step.sqlTemplates {
                    #expect(documented.contains(StepDefinition.sqlPath(sql)), "\(step.name) uses \(sql)")
                }
                let template = try #require(step.template, "\(step.name) has no template")
                #expect(documented.contains("<platform>/\(template)"), "\(step.name)")
                #expect(step.flows == [.clone, .testInstance], "\(step.name) is for both modes")
            }
        }
        #expect(
            StepCatalogue.upgrade.map(\.name) == [
                "upgrade-preflight", "backup-database", "drain", "install", "upgrade-database", "start", "undrain",
                "verify",
            ]
        )
        // The provisioning steps it reuses are the provisioning flow's, only in another row.
        for name in ["install", "start", "verify"] {
            var reused = try #require(StepCatalogue.upgrade.first { $0.name == name })
            let provisioning = try #require(StepCatalogue.all.first { $0.name == name })
            reused.number = provisioning.number
            #expect(reused == provisioning, "\(name)")
        }
        // The upgrade and teardown steps are not provisioning steps (`provision --from-step` does not offer them).
        let provisioning = Set(StepCatalogue.all.map(\.name))
        for step in StepCatalogue.upgrade + StepCatalogue.teardown {
            #expect(step.template == step.name, "\(step.name)'s template is \(step.template ?? "none")")
        }
        #expect(
            provisioning.intersection((StepCatalogue.upgrade + StepCatalogue.teardown).map(\.name))
                == ["install", "start", "verify"]
        )
    }

    @Test func theSecretsTableNamesTheNewUsers() throws {
        let rows = StepCatalogueTests.tableRows(after: "## Secrets (stdin names)")
        let steps = StepCatalogue.upgrade + StepCatalogue.teardown
        let names = Set(steps.map(\.name))
        for row in rows {
            let secret = try #require(StepSecret(rawValue: StepCatalogueTests.names(in: row[0]).first ?? ""))
            let users = Set(StepCatalogueTests.names(in: row[1]).filter(names.contains))
            let declared = Set(steps.filter { $0.secrets.contains(secret) }.map(\.name))
            if secret == .masterKey || secret == .sqlPassword {
                #expect(users == declared, "\(secret): documented \(users.sorted()), declared \(declared.sorted())")
            } else {
                #expect(users.isSubset(of: declared), "\(secret): \(users.sorted())")
            }
        }
    }

    @Test func resolvedStepsFollowTheSpecAndThePlatform() throws {
        func step(_ name: String, in steps: [StepDefinition]) -> StepDefinition? { steps.first { $0.name == name } }

        // A clone on a standin host: no SQL login, no Master Key on the host (the stand-in keeps its own), the
        // quarantine read by start and verify, and the database's size read as on the other platforms.
        let standin = try #require(try Self.inventory(CheckFixture.yaml(CheckFixture.clone)).inventory.instances.first)
        let clone = StepCatalogue.upgradeSteps(for: standin)
        #expect(clone.map(\.name) == StepCatalogue.upgrade.map(\.name))
        let cloneSQL = Dictionary(uniqueKeysWithValues: clone.map { ($0.name, $0.sqlTemplates) })
        #expect(cloneSQL["upgrade-preflight"] == ["database-exists", "database-version", "database-size"])
        #expect(cloneSQL["backup-database"] == ["database-version", "backup-header", "backup-database"])
        #expect(cloneSQL["drain"] == ["database-version"])
        #expect(cloneSQL["upgrade-database"] == ["database-version"])
        #expect(cloneSQL["undrain"] == ["database-version"])
        #expect(cloneSQL["start"] == ["verify-quarantine"] && cloneSQL["verify"] == ["verify-quarantine"])
        #expect(cloneSQL["install"] == [])
        for name in [
            "upgrade-preflight", "backup-database", "drain", "install", "upgrade-database", "start", "undrain",
        ] {
            #expect(step(name, in: clone)?.secrets == [], "\(name)")
        }
        #expect(step("verify", in: clone)?.secrets == [.adminAPIKey])

        // A clone on linux-container with a SQL login: every step that runs sqlcmd gets the password, and the
        // steps that run the container get the Master Key.
        let check = try Self.containerClone()
        let containerSpec = try #require(check.inventory.instances.first)
        let host = try #require(check.inventory.host(named: "vm1"))
        let variables = try StepVariables.build(host: host, instance: containerSpec)
        let container = StepCatalogue.upgradeSteps(for: containerSpec, variables: variables)
        #expect(step("upgrade-preflight", in: container)?.sqlTemplates.contains("database-size") == true)
        #expect(step("upgrade-database", in: container)?.sqlTemplates == ["database-version", "verify-quarantine"])
        #expect(step("upgrade-database", in: container)?.secrets == [.masterKey, .sqlPassword])
        #expect(step("start", in: container)?.secrets == [.masterKey, .sqlPassword])
        #expect(
            container.filter { $0.secrets.contains(.sqlPassword) }.map(\.name) == [
                "upgrade-preflight", "backup-database", "drain", "upgrade-database", "start", "undrain", "verify",
            ]
        )
        #expect(StepCatalogue.teardownSteps(for: containerSpec, variables: variables).first?.secrets == [.sqlPassword])
        #expect(StepCatalogue.teardownSteps(for: containerSpec).first?.secrets == [])

        // A test instance: no Master Key anywhere (a container's own key is read from the old container), no
        // quarantine to read.
        let testSpec = try #require(
            try Self.inventory(CheckFixture.yaml(CheckFixture.testInstance)).inventory.instances.first
        )
        var containerTest = testSpec
        containerTest.platform = .linuxContainer
        let test = StepCatalogue.upgradeSteps(for: containerTest, variables: ["sql_user": "octoprov"])
        #expect(test.allSatisfy { !$0.secrets.contains(.masterKey) })
        #expect(step("upgrade-database", in: test)?.sqlTemplates == ["database-version"])
        #expect(step("start", in: test)?.sqlTemplates == [] && step("verify", in: test)?.sqlTemplates == [])
        let teardown = StepCatalogue.teardownSteps(for: testSpec)
        #expect(teardown.map(\.name) == ["teardown"])
        #expect(teardown.first?.sqlTemplates == ["database-exists", "drop-database"])
        #expect(teardown.first?.templatePath(for: .windows) == "windows/teardown.ps1")
    }

    @Test func theUpgradeVariablesAreTheTargetsWithTheVersionUpgradedFrom() throws {
        let check = try Self.inventory(CheckFixture.yaml(CheckFixture.clone))
        let spec = try #require(check.inventory.instances.first)
        let host = try #require(check.inventory.host(named: "vm1"))
        let backupSHA256 = String(repeating: "cd", count: 32)
        let provisioning = try StepVariables.build(host: host, instance: spec, backupSHA256: backupSHA256)
        #expect(provisioning["from_version"] == "" && provisioning["upgrade_backup_file"] == "")

        let target = try OctopusVersion(parsing: "2024.1.11892")
        let package = PackageSource(
            sha256: String(repeating: "ab", count: 32),
            origin: .file("/mirror/octopus-standin-2024.1.11892.tar.gz"),
            sha256Location: spec.location
        )
        let values = try StepVariables.buildForUpgrade(
            host: host,
            instance: spec,
            to: target,
            package: package,
            backupSHA256: backupSHA256
        )
        #expect(Set(values.keys).isSuperset(of: StepVariables.contractNames))
        #expect(values["version"] == "2024.1.11892")
        #expect(values["from_version"] == "2023.3.13026")
        #expect(values["package_file"] == "/var/tmp/octoprov/octopus-standin-2024.1.11892.tar.gz")
        #expect(values["package_sha256"] == String(repeating: "ab", count: 32))
        #expect(values["package_url"] == "")
        #expect(values["backup_sha256"] == backupSHA256)
        #expect(
            values["upgrade_backup_file"] == "/var/tmp/octoprov/OctopusOctopusServerClone-2023.3.13026.pre-upgrade.bak"
        )
        // Everything else is the provisioning set's.
        for (name, value) in provisioning
        where !["version", "package_file", "package_sha256", "package_url", "from_version", "upgrade_backup_file"]
            .contains(name)
        {
            #expect(values[name] == value, "\(name)")
        }

        // linux-container: the target's image; a database name that is no file name is reduced.
        var environment = CheckFixture.environment
        environment["SQL_PW"] = "sql-login-password-value"
        let container = try Self.inventory(
            CheckFixture.yaml(
                CheckFixture.clone,
                replacing: [5: "    platform: linux-container", 11: ""],
                adding: ["    database: \"Octo pus/‘clone’:1\""]
            ),
            environment: environment
        )
        let containerSpec = try #require(container.inventory.instances.first)
        let containerHost = try #require(container.inventory.host(named: "vm1"))
        let containerValues = try StepVariables.buildForUpgrade(
            host: containerHost,
            instance: containerSpec,
            to: target,
            package: nil
        )
        #expect(containerValues["image"] == "octopusdeploy/octopusdeploy:2024.1.11892")
        #expect(containerValues["package_file"] == "" && containerValues["package_sha256"] == "")
        #expect(
            containerValues["upgrade_backup_file"]
                == "/var/tmp/octoprov/Octo_pus__clone__1-2023.3.13026.pre-upgrade.bak"
        )
    }
}
