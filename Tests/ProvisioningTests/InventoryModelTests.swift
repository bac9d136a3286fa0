import Foundation
import Provisioning
import Testing
import Wire

/// The checked inventory of `yaml`, which must be valid.
private func validInventory(
    _ yaml: String,
    files: [FixtureFile] = [],
    variables: [String] = []
) throws -> InventoryCheck {
    let check = try CheckFixture.check(yaml, files: files, variables: variables)
    try #require(check.isValid, "\(check.errors.map(\.description).joined(separator: "\n"))")
    return check
}

// MARK: - Groups, vars and --limit

@Suite struct GroupTests {
    /// `outer` contains `inner`, which lists vm1 and vm2; `late` lists vm1 directly, after `inner`.
    static let yaml = """
        defaults:
          user: root
          platform: standin
          vars: {sql_server: from-defaults, work_dir: /w/defaults, data_dir: /d/defaults, home_dir: /h/defaults}
        hosts:
          vm1: {address: 127.0.0.1, vars: {home_dir: /h/vm1}}
          vm2: {address: 127.0.0.2}
          vm3: {address: 127.0.0.3}
        groups:
          outer:
            members: [inner, vm3]
            vars: {sql_server: from-outer, work_dir: /w/outer, data_dir: /d/outer}
          inner:
            members: [vm1, vm2]
            vars: {sql_server: from-inner, work_dir: /w/inner}
          late:
            members: [vm1]
            vars: {sql_server: from-late}
          empty:
            members: []
        """

    @Test func groupsResolveNestedMembersInHostOrder() throws {
        let inventory = try validInventory(Self.yaml).inventory
        #expect(inventory.groups.map(\.name) == ["outer", "inner", "late", "empty"])
        #expect(inventory.group(named: "outer")?.hosts == ["vm1", "vm2", "vm3"])
        #expect(inventory.group(named: "outer")?.members == ["inner", "vm3"])
        #expect(inventory.group(named: "inner")?.hosts == ["vm1", "vm2"])
        #expect(inventory.group(named: "empty")?.hosts == [])
    }

    @Test func varsFollowDefaultsThenFurthestGroupsThenFileOrderThenHost() throws {
        let inventory = try validInventory(Self.yaml).inventory
        let vm1 = try #require(inventory.host(named: "vm1"))
        // outer (distance 2) first, then inner and late (distance 1) in file order, then vm1 itself.
        #expect(vm1.groups == ["outer", "inner", "late"])
        #expect(vm1.vars["sql_server"]?.value == "from-late")
        #expect(vm1.vars["sql_server"]?.keyPath == "groups.late.vars.sql_server")
        #expect(vm1.vars["work_dir"]?.value == "/w/inner")
        #expect(vm1.vars["data_dir"]?.value == "/d/outer")
        #expect(vm1.vars["home_dir"]?.value == "/h/vm1")
        let vm2 = try #require(inventory.host(named: "vm2"))
        #expect(vm2.groups == ["outer", "inner"])
        #expect(vm2.vars["sql_server"]?.value == "from-inner")
        #expect(vm2.vars["home_dir"]?.value == "/h/defaults")
        let vm3 = try #require(inventory.host(named: "vm3"))
        #expect(vm3.groups == ["outer"])
        #expect(vm3.vars["sql_server"]?.value == "from-outer")
    }

    @Test(
        arguments: [
            ("inner", ["vm1", "vm2"]),
            ("outer,!inner", ["vm3"]),
            ("late,vm3", ["vm1", "vm3"]),
            ("in*", ["vm1", "vm2"]),
            ("!outer", []),
            ("empty,vm2", ["vm2"]),
            ("vm*,!late", ["vm2", "vm3"]),
        ] as [(String, [String])]
    )
    func limitTakesGroupsAndGlobsOverThem(limit: String, expected: [String]) throws {
        let inventory = try validInventory(Self.yaml).inventory
        if expected.isEmpty {
            #expect(throws: HostSelectionError.self) { try inventory.select(limit: limit) }
        } else {
            #expect(try inventory.select(limit: limit).map(\.name) == expected)
        }
    }

    @Test func unmatchedLimitListsHostsAndGroups() throws {
        let inventory = try validInventory(Self.yaml).inventory
        let error = #expect(throws: HostSelectionError.self) { try inventory.select(limit: "nope") }
        #expect(error?.code == .unmatchedPattern)
        #expect(
            error?.message
                == "--limit pattern `nope` matches no host or group; the inventory has hosts vm1, vm2, vm3 and groups "
                + "outer, inner, late, empty."
        )
    }

    @Test func everyCycleIsReportedOnceAndOtherGroupsStillResolve() throws {
        let yaml = """
            hosts:
              vm1: {address: 127.0.0.1, user: root}
            groups:
              a: {members: [b, vm1]}
              b: {members: [a]}
              c: {members: [c]}
              d: {members: [a]}
            """
        let check = try CheckFixture.check(yaml)
        #expect(check.errors.map(\.code) == [.groupCycle, .groupCycle])
        #expect(check.errors.map(\.keyPath) == ["groups.b.members[0]", "groups.c.members[0]"])
        #expect(check.inventory.group(named: "d")?.hosts == ["vm1"])
    }

    @Test func sshOnlyInventoriesStillLoadForExecAndCopy() throws {
        let yaml = "hosts:\n  vm1:\n    address: 127.0.0.1\n    user: root\n    password: env:UNSET_FOR_EXEC\n"
        try withTemporaryDirectory([FixtureFile(path: "inventory.yml", contents: yaml)]) { directory in
            // `load` (exec, copy) does not read secrets; `check` does.
            let inventory = try Inventory.load(path: directory + "/inventory.yml", environment: [:])
            #expect(inventory.hosts.first?.platform == nil)
            #expect(inventory.instances.isEmpty)
            let check = InventoryCheck.run(path: directory + "/inventory.yml", environment: [:])
            #expect(check.errors.map(\.code) == [.secretNotSet])
        }
    }
}

// MARK: - Instance specs

@Suite struct InstanceSpecTests {
    @Test func cloneSpecIsReadWithDefaults() throws {
        let check = try validInventory(CheckFixture.yaml(CheckFixture.clone))
        let spec = try #require(check.inventory.instance(named: "lab"))
        #expect(spec.mode == .clone)
        #expect(spec.hostPatterns == ["vm1"])
        #expect(spec.hosts == ["vm1"])
        #expect(spec.platform == .standin)
        #expect(spec.version == OctopusVersion(major: 2023, minor: 3, build: 13_026))
        #expect(spec.package?.sha256 == CheckFixture.packageSHA256)
        #expect(spec.package?.localFile?.hasSuffix("/mirror/octopus-standin-2023.3.13026.tar.gz") == true)
        #expect(spec.backup?.hasSuffix("/backup.bak") == true)
        #expect(spec.masterKey?.description == "env:MASTER_KEY")
        #expect(spec.quarantine.disabled.isEmpty)
        #expect(spec.verify == VerifyCheck.allCases.filter { $0 != .projects })
        #expect(!spec.usesMigrator)
        #expect(check.warnings.isEmpty)
    }

    @Test func acknowledgedQuarantineIsAWarningAndDropsItsCheck() throws {
        let yaml = CheckFixture.yaml(
            CheckFixture.clone,
            adding: ["    quarantine:", "      triggers: false", "      acknowledge: [triggers]"]
        )
        let check = try validInventory(yaml)
        let spec = try #require(check.inventory.instances.first)
        #expect(spec.quarantine.disabled == [.triggers])
        #expect(!spec.verify.contains(.triggersDisabled))
        #expect(check.warnings.count == 1)
        #expect(check.warnings.first?.keyPath == "instances.lab.quarantine.triggers")
        #expect(check.warnings.first?.description.contains(":15:17: warning: ") == true)
        #expect(check.warnings.first?.message.contains("can deploy") == true)
    }

    @Test func versionDependentFoldersWarn() throws {
        let yaml = CheckFixture.yaml(
            CheckFixture.clone,
            replacing: [
                10: "    version: 2020.1.10",
                11: "    package: {sha256: \(CheckFixture.packageSHA256), mirror: mirror}",
            ],
            adding: ["    folders:", "      event_exports: production/Packages", "      imports: production/TaskLogs"]
        )
        let check = try validInventory(yaml)
        #expect(
            check.warnings.map(\.keyPath) == ["instances.lab.folders.event_exports", "instances.lab.folders.imports"]
        )
        #expect(check.warnings.first?.message.contains("2023.3") == true)
    }

    @Test func migratorRouteAndIgnoredSourceHost() throws {
        let legacy = CheckFixture.yaml(
            CheckFixture.testInstance,
            replacing: [10: "    version: 2020.1.10"],
            adding: ["      host: vm1"]
        )
        let spec = try #require(try validInventory(legacy).inventory.instances.first)
        #expect(spec.usesMigrator)
        #expect(spec.source?.host == "vm1")
        #expect(spec.source?.selections == [.init(space: "Default", patterns: ["Web"])])
        #expect(
            spec.verify == [
                .version, .health, .targetsDisabled, .workersDisabled, .triggersDisabled, .subscriptionsDisabled,
                .serverUri, .projects,
            ]
        )

        let modern = CheckFixture.yaml(CheckFixture.testInstance, adding: ["      host: vm1"])
        let check = try validInventory(modern)
        #expect(check.inventory.instances.first?.source?.host == nil)
        #expect(check.warnings.map(\.keyPath) == ["instances.lab.source.host"])
    }

    @Test func projectsChosenPerSpace() throws {
        let yaml = CheckFixture.yaml(
            CheckFixture.testInstance,
            replacing: [15: "      projects:\n        Default: [Web, \"Billing*\"]\n        Ops Space: Deploy DB"]
        )
        let check = try validInventory(yaml)
        let spec = try #require(check.inventory.instances.first)
        #expect(
            spec.source?.selections == [
                .init(space: "Default", patterns: ["Web", "Billing*"]),
                .init(space: "Ops Space", patterns: ["Deploy DB"]),
            ]
        )
        #expect(spec.source?.spaceNames == ["Default", "Ops Space"])
        let host = try #require(check.inventory.host(named: "vm1"))
        #expect(try StepVariables.build(host: host, instance: spec)["space_names"] == "Default,Ops Space")

        let legacy = CheckFixture.yaml(
            CheckFixture.testInstance,
            replacing: [
                10: "    version: 2018.10.1", 11: "    package: {sha256: \(CheckFixture.packageSHA256), file: pkg.msi}",
            ],
            adding: ["      host: vm1"]
        )
        let legacySpec = try #require(try validInventory(legacy).inventory.instances.first)
        #expect(legacySpec.source?.selections == [.init(space: nil, patterns: ["Web"])])
    }

    @Test func anExportFileNeedsNoSourceServer() throws {
        let yaml = CheckFixture.yaml(
            CheckFixture.testInstance,
            replacing: [13: "      export_file: exports/projects.zip", 14: ""]
        )
        let check = try validInventory(yaml, files: [FixtureFile(path: "exports/projects.zip", contents: "PK")])
        let spec = try #require(check.inventory.instances.first)
        #expect(spec.source?.url == nil && spec.source?.apiKey == nil)
        #expect(spec.source?.exportFile?.hasSuffix("/exports/projects.zip") == true)
        // Nothing to compare the Server URI with, and no source API key to read.
        #expect(!spec.verify.contains(.serverUri) && spec.verify.contains(.projects))
        let importStep = try #require(StepCatalogue.steps(for: spec).first { $0.name == "import-projects" })
        #expect(importStep.secrets == [.exportPassword])
    }

    @Test func aCloneNamesProductionsAPIForDrift() throws {
        let yaml = CheckFixture.yaml(
            CheckFixture.clone,
            adding: ["    production:", "      url: https://octopus.example.com", "      api_key: env:API_KEY"]
        )
        let spec = try #require(try validInventory(yaml).inventory.instances.first)
        #expect(spec.production?.url == "https://octopus.example.com")
        #expect(spec.production?.apiKey.description == "env:API_KEY")
    }

    @Test func aBackupPatternTakesTheNewestMatch() throws {
        let yaml = CheckFixture.yaml(CheckFixture.clone, replacing: [12: "    backup: backups/OctopusDeploy-*.bak"])
        let check = try validInventory(
            yaml,
            files: [
                FixtureFile(path: "backups/OctopusDeploy-20261123.bak", contents: "older"),
                FixtureFile(path: "backups/OctopusDeploy-20261124.bak", contents: "newer"),
                FixtureFile(path: "backups/other-20261125.bak", contents: "not matched"),
            ]
        )
        let spec = try #require(check.inventory.instances.first)
        #expect(spec.backup?.hasSuffix("/backups/OctopusDeploy-20261124.bak") == true, "\(spec.backup ?? "")")

        let none = try CheckFixture.check(yaml)
        #expect(none.errors.map(\.code) == [.fileNotFound])
        #expect(none.errors.first?.message.contains("matches no file") == true)
    }

    @Test func containerSpecNeedsNoPackage() throws {
        let yaml = CheckFixture.yaml(CheckFixture.clone, replacing: [5: "    platform: linux-container", 11: ""])
        let spec = try #require(try validInventory(yaml).inventory.instances.first)
        #expect(spec.package == nil)
        #expect(spec.platform == .linuxContainer)
    }

    @Test func packageFileNamesPerPlatform() throws {
        let version = try OctopusVersion(parsing: "2023.3.13026")
        #expect(Platform.windows.packageFileName(for: version) == "Octopus.2023.3.13026-x64.msi")
        #expect(Platform.linuxContainer.packageFileName(for: version) == "octopusdeploy-2023.3.13026.tar")
        #expect(Platform.standin.packageFileName(for: version) == "octopus-standin-2023.3.13026.tar.gz")
    }
}

// MARK: - Variables

@Suite struct StepVariableTests {
    static func variables(
        _ yaml: String,
        host: String = "vm1",
        variables: [String] = [],
        backupSHA256: String = "feed"
    ) throws -> [String: String] {
        let check = try validInventory(yaml, variables: variables)
        let spec = try #require(check.inventory.instances.first)
        let inventoryHost = try #require(check.inventory.host(named: host))
        return try StepVariables.build(
            host: inventoryHost,
            instance: spec,
            overrides: check.overrides,
            backupSHA256: backupSHA256
        )
    }

    @Test(arguments: Platform.allCases)
    func everyContractNameIsProducedForEachPlatformAndMode(platform: Platform) throws {
        let package = "    package: {sha256: \(CheckFixture.packageSHA256), file: pkg.msi}"
        for (lines, mode) in [(CheckFixture.clone, "clone"), (CheckFixture.testInstance, "test-instance")] {
            let yaml = CheckFixture.yaml(lines, replacing: [5: "    platform: \(platform)", 11: package])
            let values = try Self.variables(yaml)
            for name in StepVariables.contractNames {
                #expect(values[name] != nil, "\(name) missing on \(platform)")
            }
            #expect(values["platform"] == platform.rawValue)
            #expect(values["mode"] == mode)
            #expect(values["sql_user"] == "")
            #expect(values["sql_data_root"] == (platform == .standin ? "/var/lib/octopus-standin" : ""))
            #expect(values["work_dir"] == platform.defaultWorkDirectory)
            #expect(values["install_dir"] == platform.defaultInstallDirectory)
            #expect(values["image"]?.isEmpty == (platform != .linuxContainer))
            #expect(values["container_name"]?.isEmpty == (platform != .linuxContainer))
        }
    }

    @Test func derivedValuesOnWindows() throws {
        let yaml = CheckFixture.yaml(
            CheckFixture.clone,
            replacing: [
                5: "    platform: windows", 11: "    package: {sha256: \(CheckFixture.packageSHA256), mirror: mirror}",
            ],
            adding: ["    web_listen_prefix: https://clone.example:8443/octopus", "    instance_name: Clone"]
        )
        let values = try Self.variables(yaml, variables: ["sql_server=db1\\SQL"])
        #expect(values["host_name"] == "vm1")
        #expect(values["version"] == "2023.3.13026")
        #expect(values["instance_name"] == "Clone")
        #expect(values["node_name"] == "vm1-clone")
        #expect(values["home_dir"] == "C:\\Octopus")
        #expect(values["config_path"] == "C:\\Octopus\\OctopusServer.config")
        #expect(values["database"] == "OctopusCloneClone")
        #expect(values["connection_string"] == "Server=db1\\SQL;Database=OctopusCloneClone;Trusted_Connection=True;")
        #expect(values["package_file"] == "C:\\ProgramData\\octoprov\\Octopus.2023.3.13026-x64.msi")
        #expect(values["package_url"] == "")
        #expect(values["package_sha256"] == CheckFixture.packageSHA256)
        #expect(values["backup_file"] == "C:\\ProgramData\\octoprov\\backup.bak")
        #expect(values["backup_sha256"] == "feed")
        #expect(values["web_port"] == "8443")
        #expect(values["server_uri"] == "https://clone.example:8443/octopus")
        #expect(values["comms_port"] == "10943")
        #expect(values["folders_task_logs"] == "C:\\Octopus\\TaskLogs")
        #expect(values["folders_event_exports"] == "C:\\Octopus\\EventExports")
        #expect(values["data_dir"] == Platform.windows.defaultDataDirectory)
        #expect(QuarantineSwitch.allCases.allSatisfy { values[$0.variableName] == "true" })
        #expect(values["space_names"] == "")
        #expect(values["export_directory"] == "")
        #expect(values["admin_username"] == "")
    }

    @Test func derivedValuesInAContainer() throws {
        let yaml = CheckFixture.yaml(
            CheckFixture.clone,
            replacing: [5: "    platform: linux-container", 11: ""],
            adding: ["    instance_name: Prod Clone", "    web_listen_prefix: http://localhost"]
        )
        let values = try Self.variables(yaml)
        #expect(values["image"] == "octopusdeploy/octopusdeploy:2023.3.13026")
        #expect(values["container_name"] == "octopus-prod-clone")
        #expect(values["config_path"] == "/var/lib/octopus/Prod Clone.config.json")
        #expect(values["package_file"] == "")
        #expect(values["package_sha256"] == "")
        #expect(values["web_port"] == "80")
        #expect(values["backup_file"] == "/var/tmp/octoprov/backup.bak")
    }

    @Test func testInstanceValues() throws {
        let legacy = CheckFixture.yaml(
            CheckFixture.testInstance,
            replacing: [
                10: "    version: 2020.1.10",
                11:
                    "    package: {sha256: \(CheckFixture.packageSHA256), url: 'https://pkgs.example/octopus-standin-2020.1.10.tar.gz'}",
            ],
            adding: ["      host: vm1", "      space: Team A"]
        )
        let values = try Self.variables(legacy, backupSHA256: "ignored")
        #expect(values["space_names"] == "Team A")
        #expect(values["export_directory"] == "/var/tmp/octoprov/export")
        #expect(values["backup_file"] == "")
        #expect(values["backup_sha256"] == "")
        #expect(values["package_url"] == "https://pkgs.example/octopus-standin-2020.1.10.tar.gz")
        #expect(values["package_file"] == "")
    }

    @Test func precedenceIsSpecThenDefaultsThenGroupsThenHostThenCommandLine() throws {
        let yaml = CheckFixture.yaml(
            CheckFixture.clone,
            replacing: [1: "defaults: {vars: {comms_port: 2, sql_server: defaults, custom: d}}\nhosts:"],
            adding: [
                "    comms_port: 1", "    database: SpecDb", "    home_dir: /spec/home",
                "groups:", "  all:", "    members: [vm1]", "    vars: {comms_port: 3, sql_server: group}",
            ]
        )
        var values = try Self.variables(yaml)
        #expect(values["comms_port"] == "3")
        #expect(values["sql_server"] == "group")
        #expect(values["database"] == "SpecDb")
        #expect(values["folders_packages"] == "/spec/home/Packages")
        #expect(values["custom"] == "d")
        values = try Self.variables(yaml, variables: ["comms_port=4", "home_dir=/cli", "custom=cli", "comms_port=5"])
        #expect(values["comms_port"] == "5")
        #expect(values["folders_packages"] == "/cli/Packages")
        #expect(values["config_path"] == "/cli/OctopusServer.config.json")
        #expect(values["custom"] == "cli")
    }

    @Test func sqlLoginAndStandInDataRootAreHostVariables() throws {
        let container = CheckFixture.yaml(
            CheckFixture.clone,
            replacing: [
                5: "    platform: linux-container\n    sql_password: env:SQL_PW\n    vars: {sql_user: octoprov}",
                11: "",
            ]
        )
        var environment = CheckFixture.environment
        environment["SQL_PW"] = "sql-login-password-value"
        let check = try CheckFixture.check(container, environment: environment)
        try #require(check.isValid, "\(check.errors.map(\.description).joined(separator: "\n"))")
        let host = try #require(check.inventory.host(named: "vm1"))
        #expect(host.sqlPassword?.description == "env:SQL_PW")
        #expect(check.redactor.redact("pw sql-login-password-value") == "pw ***")
        let spec = try #require(check.inventory.instances.first)
        let values = try StepVariables.build(host: host, instance: spec)
        #expect(values["sql_user"] == "octoprov")
        #expect(values["sql_data_root"] == "")
        // The connection string stays integrated security; the container's start adds the login.
        #expect(values["connection_string"]?.hasSuffix("Trusted_Connection=True;") == true)

        // A login without its password is an error at the login.
        let noPassword = container.replacingOccurrences(of: "    sql_password: env:SQL_PW\n", with: "")
        let missing = try CheckFixture.check(noPassword)
        #expect(missing.errors.map(\.keyPath) == ["hosts.vm1.sql_password"])
        #expect(missing.errors.first?.location.line == 6)
        #expect(missing.errors.first?.message.contains("`hosts.vm1.vars.sql_user` sets the SQL login") == true)
        // `--var sql_user=` clears the login, and with it the need for a password.
        #expect(try CheckFixture.check(noPassword, variables: ["sql_user="]).isValid)
        // A password is a secret: not a variable, never inline.
        let asVar = CheckFixture.yaml(
            CheckFixture.clone,
            replacing: [5: "    platform: standin\n    vars: {sql_password: x}"]
        )
        #expect(try CheckFixture.check(asVar).errors.count == 1)
        let inline = CheckFixture.yaml(
            CheckFixture.clone,
            replacing: [5: "    platform: standin\n    sql_password: hunter2"]
        )
        let inlineErrors = try CheckFixture.check(inline).errors
        #expect(inlineErrors.map(\.code) == [.inlineSecret])
        #expect(!inlineErrors.description.contains("hunter2"))

        // The stand-in's data folder: an absolute path on standin, set like any host variable.
        let standin = CheckFixture.yaml(
            CheckFixture.clone,
            replacing: [5: "    platform: standin\n    vars: {sql_data_root: /srv/sql}"]
        )
        #expect(try Self.variables(standin)["sql_data_root"] == "/srv/sql")
        let relative = CheckFixture.yaml(
            CheckFixture.clone,
            replacing: [5: "    platform: standin\n    vars: {sql_data_root: sql}"]
        )
        let relativeErrors = try CheckFixture.check(relative).errors
        #expect(relativeErrors.map(\.keyPath) == ["hosts.vm1.vars.sql_data_root"])
        // `mode` comes from the spec only.
        let modeErrors = try CheckFixture.check(CheckFixture.yaml(CheckFixture.clone), variables: ["mode=x"]).errors
        #expect(modeErrors.map(\.keyPath) == ["--var mode"])
    }

    @Test func settableAndDerivedNamesPartitionTheContract() {
        let settable = Set(StepVariables.settableNames)
        let derived = Set(StepVariables.derivedNames.keys)
        #expect(settable.isDisjoint(with: derived))
        #expect(settable.union(derived) == Set(StepVariables.contractNames))
        #expect(derived.contains("quarantine_targets"))
        #expect(derived.contains("mode"))
        #expect(settable.contains("work_dir"))
        #expect(settable.isSuperset(of: ["sql_user", "sql_data_root"]))
    }
}

// MARK: - The catalogue against docs/steps.md

@Suite struct StepCatalogueTests {
    static let stepsDocument: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return (try? String(contentsOf: root.appendingPathComponent("docs/steps.md"), encoding: .utf8)) ?? ""
    }()

    /// The table rows of docs/steps.md's section `heading`, as cells.
    static func tableRows(after heading: String) -> [[String]] {
        guard let start = stepsDocument.range(of: heading) else { return [] }
        var rows: [[String]] = []
        for line in stepsDocument[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false)
            .dropFirst()
        {
            if line.hasPrefix("## ") { break }
            guard line.hasPrefix("|"), !line.hasPrefix("|--"), !line.hasPrefix("|---") else { continue }
            rows.append(line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) })
        }
        return Array(rows.dropFirst())  // the header
    }

    static func names(in cell: String) -> [String] {
        cell.split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }
            .map { String($0.element) }
    }

    @Test func flowsMatchTheDocument() throws {
        let rows = Self.tableRows(after: "## Flows")
        try #require(rows.count == 15)
        for mode in InstanceMode.allCases {
            let column = mode == .clone ? 1 : 2
            let documented = rows.flatMap { row in Self.names(in: row[column]).map { (Int(row[0]) ?? 0, $0) } }
            let catalogued = StepCatalogue.all.filter { $0.flows.contains(mode) }.map { ($0.number, $0.name) }
            #expect(documented.map(\.1) == catalogued.map(\.1), "\(mode)")
            #expect(documented.map(\.0) == catalogued.map(\.0), "\(mode)")
        }
        for row in rows {
            let number = Int(row[0]) ?? 0
            for step in StepCatalogue.all where step.number == number {
                let whereItRuns = row[3]
                #expect(whereItRuns.hasPrefix(step.runsOn.rawValue), "\(step.name): \(whereItRuns)")
                let documentedSQL = Self.names(in: row[4]).filter { $0.hasPrefix("sql/") }
                for sql in step.sqlTemplates {
                    #expect(documentedSQL.contains(StepDefinition.sqlPath(sql)), "\(step.name) uses \(sql)")
                }
                if let template = step.template {
                    #expect(Self.names(in: row[4]).contains("<platform>/\(template)"), "\(step.name)")
                }
            }
        }
    }

    @Test func variablesMatchTheDocument() {
        let documented = Self.tableRows(after: "## Variables").flatMap { Self.names(in: $0[0]) }
        #expect(documented == StepVariables.contractNames)
    }

    @Test func secretsMatchTheDocument() {
        let documented = Self.tableRows(after: "## Secrets (stdin names)").flatMap { Self.names(in: $0[0]) }
        #expect(documented == StepSecret.allCases.map(\.rawValue).filter { $0 != "source_api_key" })
        // Every documented user of a secret (a step, or the Migrator route's template) gets it from the catalogue.
        for row in Self.tableRows(after: "## Secrets (stdin names)") {
            let secret = StepSecret(rawValue: Self.names(in: row[0]).first ?? "")
            #expect(secret != nil, "\(row[0])")
            let stepNames = Set(StepCatalogue.all.map(\.name) + [StepCatalogue.migratorImportTemplate])
            let users = Self.names(in: row[1]).filter(stepNames.contains)
            #expect(!users.isEmpty, "\(row[1])")
            for user in users {
                let step = user == StepCatalogue.migratorImportTemplate ? "import-projects" : user
                let definition = StepCatalogue.all.first { $0.name == step }
                #expect(definition?.secrets.contains { $0 == secret } == true, "\(user) needs \(row[0])")
            }
        }
    }

    @Test func resolvedStepsFollowTheSpec() throws {
        let clone = try #require(try validInventory(CheckFixture.yaml(CheckFixture.clone)).inventory.instances.first)
        let cloneSteps = StepCatalogue.steps(for: clone)
        #expect(
            cloneSteps.map(\.name) == [
                "preflight", "install", "upload-backup", "restore", "quarantine", "create-instance", "connect-database",
                "configure", "set-paths", "copy-folders", "admin", "start", "verify", "report",
            ]
        )
        func step(_ name: String, in steps: [StepDefinition]) -> StepDefinition? { steps.first { $0.name == name } }
        #expect(step("admin", in: cloneSteps)?.secrets == [.adminAPIKey])
        #expect(step("start", in: cloneSteps)?.secrets == [])
        #expect(step("connect-database", in: cloneSteps)?.secrets == [.masterKey])
        #expect(step("verify", in: cloneSteps)?.secrets == [.adminAPIKey])
        // The T-SQL files each step's scripts read from work_dir.
        let cloneSQL = Dictionary(uniqueKeysWithValues: cloneSteps.map { ($0.name, $0.sqlTemplates) })
        #expect(cloneSQL["preflight"] == ["database-exists"])
        #expect(cloneSQL["restore"] == ["database-exists", "restore-filelist", "restore", "verify-quarantine"])
        #expect(cloneSQL["quarantine"] == ["verify-quarantine", "quarantine", "rows-and-spaces"])
        for name in ["connect-database", "start", "verify"] {
            #expect(cloneSQL[name] == ["verify-quarantine"], "\(name)")
        }
        for name in ["install", "create-instance", "configure", "set-paths", "admin"] {
            #expect(cloneSQL[name] == [], "\(name)")
        }
        // verify runs its host template (between octoprov's REST checks).
        #expect(step("verify", in: cloneSteps)?.templatePath(for: .standin) == "standin/verify.sh")

        let container = CheckFixture.yaml(CheckFixture.clone, replacing: [5: "    platform: linux-container", 11: ""])
        let containerSpec = try #require(try validInventory(container).inventory.instances.first)
        let containerSteps = StepCatalogue.steps(for: containerSpec, variables: ["sql_user": ""])
        #expect(step("start", in: containerSteps)?.secrets == [.masterKey])
        #expect(containerSteps.allSatisfy { !$0.secrets.contains(.sqlPassword) })
        // With a SQL login, every linux-container step that runs sqlcmd or starts the container gets its password.
        let loginSteps = StepCatalogue.steps(for: containerSpec, variables: ["sql_user": "octoprov"])
        #expect(
            loginSteps.filter { $0.secrets.contains(.sqlPassword) }.map(\.name) == [
                "preflight", "restore", "quarantine", "connect-database", "start", "verify",
            ]
        )
        #expect(step("connect-database", in: loginSteps)?.secrets == [.masterKey, .sqlPassword])
        // sql_user means nothing to the other platforms' scripts.
        #expect(StepCatalogue.steps(for: clone, variables: ["sql_user": "octoprov"]) == cloneSteps)

        let legacy = CheckFixture.yaml(
            CheckFixture.testInstance,
            replacing: [10: "    version: 2020.1.10"],
            adding: ["      host: vm1"]
        )
        let test = try #require(try validInventory(legacy).inventory.instances.first)
        let testSteps = StepCatalogue.steps(for: test)
        // create-database runs `database --create` for the instance, so it comes after create-instance.
        #expect(
            testSteps.map(\.name) == [
                "preflight", "install", "create-instance", "create-database", "configure", "set-paths", "admin",
                "start", "import-projects", "verify", "report",
            ]
        )
        #expect(step("create-database", in: testSteps)?.sqlTemplates == ["database-exists"])
        #expect(step("start", in: testSteps)?.sqlTemplates == [])
        #expect(step("verify", in: testSteps)?.template == "verify")
        let importStep = try #require(testSteps.first { $0.name == "import-projects" })
        #expect(importStep.runsOn == .host)
        #expect(importStep.templatePath(for: .standin) == "standin/migrator-import.sh")
        #expect(importStep.secrets == [.exportPassword])
        #expect(testSteps.first { $0.name == "verify" }?.sqlTemplates == [])
        #expect(StepCatalogue.all.first { $0.name == "install" }?.templatePath(for: .windows) == "windows/install.ps1")
    }
}

// MARK: - Redaction

@Suite struct RedactorTests {
    @Test func secretsAndTheirBase64AreMasked() {
        let redactor = Redactor(secrets: ["hunter2", "hunter2-longer", ""])
        #expect(redactor.redact("pw=hunter2-longer and hunter2.") == "pw=*** and ***.")
        let encoded = Data("hunter2".utf8).base64EncodedString()
        #expect(redactor.redact("stdin: admin_password=\(encoded)") == "stdin: admin_password=***")
        #expect(redactor.redact("nothing here") == "nothing here")
        #expect(!redactor.description.contains("hunter2"))
        #expect(redactor.containsSecret("x hunter2 y"))
        #expect(!redactor.containsSecret("x hunter2 y", minimumLength: 8))
        #expect(!Redactor(secrets: ["root"]).containsSecret("root here", minimumLength: 8))
        #expect(Redactor.none.redact("hunter2") == "hunter2")
    }

    @Test func checkCollectsEverySecretItReads() throws {
        let yaml = CheckFixture.yaml(
            CheckFixture.clone,
            adding: ["    admin: {username: a, password: env:ADMIN_PW}", "    license: file:secrets/license.xml"]
        )
        let check = try validInventory(yaml)
        for secret in ["m4ster-key-value-42", "adm1n-password-value", "<license-text-value/>"] {
            #expect(check.redactor.redact("value \(secret) end") == "value *** end")
        }
    }
}
