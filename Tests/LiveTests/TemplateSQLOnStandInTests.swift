import Foundation
import LoopbackVMs
import Provisioning
import Sandbox
import TestHelpers
import Testing
import Wire

// The repository's Templates/sql files, rendered by octoprov's own renderer (the quoting `plan` uses), run by
// the built stand-in's sqlcmd with the flags the standin scripts pass (`-x -b -h -1 -W -s '|' -i FILE`)
// against a database restored from a seeded production backup, with realistic and with hostile values. The
// answers are read back as the scripts read them (`name|value` lines), and every hostile value must come back
// as the literal it was: a database literally named with it, a record holding the backup path, the Server URI.

/// One set of values for the SQL templates.
struct SQLScenario: CustomTestStringConvertible, Sendable {
    var name: String
    /// The Octopus version production is seeded with (3.x has no `Worker` or `OctopusServerNodeStatus` table).
    var version: String
    var database: String
    /// The backup's folder and file name under the host's work folder.
    var backupName: String
    /// The folder the restored files are moved to, under the host's root.
    var dataDirectoryName: String
    var serverURI: String

    var testDescription: String { name }

    /// Quotes of every kind, `$(…)`, backticks, `]`, `;`, SQL injection, `:!!`, Unicode; no line break, which a
    /// bracketed identifier cannot hold, and no `/` (see `aDatabaseNameTheStandInCannotKeepFailsLoudly`).
    static let hostileName = #"Octo'pus "$(id)" `id` ]]; DROP DATABASE x; -- ‘smart’ :!! id 日本語 [clone]"#
    /// The same with line breaks that sqlcmd would read as its own commands at the start of a line.
    static let hostileText = #"it's "$(id)" `id` ]; DROP TABLE x; -- ‘smart’ 日本語"# + "\r\nGO\n:!! id\n:r /etc/passwd"

    static let realistic = SQLScenario(
        name: "realistic values",
        version: "2023.3.13026",
        database: "OctopusClone",
        backupName: "OctopusDeploy.bak",
        dataDirectoryName: "mssql-data",
        serverURI: "https://octopus-clone.example.test"
    )
    static let hostile = SQLScenario(
        name: "hostile values",
        version: "2023.3.13026",
        database: hostileName,
        backupName: hostileText + "/Octo'pus $(id).bak",
        dataDirectoryName: "data " + hostileText,
        serverURI: "https://clone.example.test/?q=" + hostileText
    )
    static let octopus3 = SQLScenario(
        name: "an Octopus 3.x database, without Worker and OctopusServerNodeStatus",
        version: "3.17.14",
        database: "Octopus3 Clone",
        backupName: "Octopus3.bak",
        dataDirectoryName: "mssql-data",
        serverURI: "http://localhost:8080"
    )
}

/// A loopback "host": the stand-in's data folder with a SQL Server `localhost`, a work folder and a seeded
/// production whose `.bak` sits at the scenario's backup path. Everything lives in one temporary folder.
final class StandInSQLHost {
    let root: String
    let workDirectory: String
    let dataDirectory: String
    let backupFile: String
    let backupSHA256: String
    /// `seed.json`: what production holds.
    let seeded: [String: Any]
    let scenario: SQLScenario
    let library: TemplateLibrary

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let binary = BuiltProducts.location(of: "octopus-standin")

    init(_ scenario: SQLScenario) throws {
        self.scenario = scenario
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw StandInSQLHostError("\(Self.binary) is missing; run `swift build` before the live tests.")
        }
        root = FileManager.default.temporaryDirectory.appendingPathComponent("octoprov-sql-\(UUID().uuidString)").path
        workDirectory = root + "/work"
        dataDirectory = root + "/" + scenario.dataDirectoryName
        backupFile = workDirectory + "/" + scenario.backupName
        for folder in [workDirectory, dataDirectory, (backupFile as NSString).deletingLastPathComponent] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        library = try TemplateLibrary(directory: Self.repositoryRoot + "/Templates")

        let created = try Self.run(["create-sql-server", "localhost"], data: root + "/sql")
        guard created.status == 0 else { throw StandInSQLHostError("create-sql-server: \(created.stderr)") }
        let production = root + "/production"
        let seed = try Self.run(
            [
                "seed", "--version", scenario.version, "--out", production, "--task-logs", "1", "--package-size", "10",
                "--target-endpoint", "https://127.0.30.1:10933/", "--webhook-url", "http://127.0.30.2:8090/hook",
                "--server-uri", "https://octopus.production.example",
            ],
            data: root + "/sql"
        )
        guard seed.status == 0 else { throw StandInSQLHostError("seed: \(seed.stdout)\(seed.stderr)") }
        try FileManager.default.moveItem(atPath: production + "/OctopusDeploy.bak", toPath: backupFile)
        backupSHA256 = try FileDigest.sha256(path: backupFile)
        let summary = try Data(contentsOf: URL(fileURLWithPath: production + "/seed.json"))
        seeded = try #require(try JSONSerialization.jsonObject(with: summary) as? [String: Any])
    }

    deinit {
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Every variable of docs/steps.md (empty where these files do not use it) with this host's values, all
    /// quarantine switches on unless `switchedOff` names them.
    func values(switchedOff: Set<String> = []) -> [String: String] {
        var values = Dictionary(uniqueKeysWithValues: StepVariables.contractNames.map { ($0, "") })
        for name in StepVariables.contractNames where name.hasPrefix("quarantine_") {
            values[name] = switchedOff.contains(name) ? "false" : "true"
        }
        values["platform"] = "standin"
        values["mode"] = "clone"
        values["work_dir"] = workDirectory
        values["sql_server"] = "localhost"
        values["sql_data_root"] = root + "/sql"
        values["version"] = scenario.version
        values["database"] = scenario.database
        values["backup_file"] = backupFile
        values["backup_sha256"] = backupSHA256
        values["data_dir"] = dataDirectory
        values["server_uri"] = scenario.serverURI
        return values
    }

    /// Renders `Templates/sql/<name>.sql` into the work folder, as octoprov uploads it; returns its path.
    @discardableResult
    func render(_ name: String, switchedOff: Set<String> = []) throws -> String {
        let text = try library.sqlTemplate(named: name).render(values(switchedOff: switchedOff))
        let path = "\(workDirectory)/\(name).sql"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Renders T-SQL of the test's own with the same renderer, into the work folder.
    func renderCheck(_ text: String, named name: String) throws -> String {
        let path = "\(workDirectory)/\(name).sql"
        try TemplateRenderer.render(text, file: path, values: values()).write(
            toFile: path,
            atomically: true,
            encoding: .utf8
        )
        return path
    }

    /// `octopus-standin sqlcmd -x -b -S localhost -h -1 -W -s '|' -i FILE`, as the standin scripts' `run_sql`.
    func sqlcmd(_ file: String) throws -> ProcessOutput {
        try Self.run(
            ["sqlcmd", "-x", "-b", "-S", "localhost", "-h", "-1", "-W", "-s", "|", "-i", file],
            data: root + "/sql"
        )
    }

    /// Runs `octopus-standin` with `OCTOPUS_STANDIN_DATA` set.
    static func run(_ arguments: [String], data: String) throws -> ProcessOutput {
        var environment = ProcessInfo.processInfo.environment
        environment["OCTOPUS_STANDIN_DATA"] = data
        return try TestProcess.run(binary, arguments, environment: environment)
    }

    /// The `name|value` lines of sqlcmd's output as the scripts' `sql_value` reads them: the first line
    /// starting with `name|`, up to the end of that line.
    static func answers(_ output: String) -> [String: String] {
        var answers: [String: String] = [:]
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            guard let bar = line.firstIndex(of: "|") else { continue }
            let name = String(line[..<bar])
            if answers[name] == nil { answers[name] = String(line[line.index(after: bar)...]) }
        }
        return answers
    }

    /// What production was seeded with.
    func seededCount(_ key: String) -> Int { seeded[key] as? Int ?? -1 }
}

struct StandInSQLHostError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

@Suite("Templates/sql on the stand-in's sqlcmd", .tags(.large), .serialized)
struct TemplateSQLOnStandInTests {
    /// The data and log file names of restore.sh: `<data_dir>/<database reduced to [A-Za-z0-9._-]>.mdf` and
    /// `_log.ldf`.
    static func movedFiles(_ host: StandInSQLHost) -> (data: String, log: String) {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-".unicodeScalars)
        var stem = ""
        for scalar in host.scenario.database.unicodeScalars {
            stem.unicodeScalars.append(allowed.contains(scalar) ? scalar : "_")
        }
        return ("\(host.dataDirectory)/\(stem).mdf", "\(host.dataDirectory)/\(stem)_log.ldf")
    }

    /// What restore.sh does: RESTORE FILELISTONLY, then restore.sql with the four declarations in front of it,
    /// written with the T-SQL quoting of the renderer. Returns the logical names and sqlcmd's output.
    static func restore(_ host: StandInSQLHost) throws -> (logical: [String: String], output: ProcessOutput) {
        let list = try host.sqlcmd(host.render("restore-filelist"))
        try #require(list.status == 0, "\(list.stdout)\(list.stderr)")
        var logical: [String: String] = [:]
        for line in list.stdout.split(separator: "\n") {
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            if fields.count > 2 { logical[fields[2]] = fields[0] }
        }
        let files = movedFiles(host)
        let quote = TemplateLanguage.tsql.quote
        let prefix = """
            -- Written by the restore step on the host: the names only known at run time.
            DECLARE @data_logical NVARCHAR(128) = \(quote(logical["D"] ?? "")), \
            @log_logical NVARCHAR(128) = \(quote(logical["L"] ?? ""));
            DECLARE @data_file NVARCHAR(4000) = \(quote(files.data)), @log_file NVARCHAR(4000) = \(quote(files.log));

            """
        let restoreSQL = try String(contentsOfFile: host.render("restore"), encoding: .utf8)
        let run = "\(host.workDirectory)/restore-run.sql"
        try (prefix + restoreSQL).write(toFile: run, atomically: true, encoding: .utf8)
        return (logical, try host.sqlcmd(run))
    }

    /// The test's own read-back, rendered by the same renderer: the database's name as SQL Server lists it, its
    /// files, the restore record's backup path, and the cancelled tasks.
    static let check = """
        USE {{ database | ident }};
        GO
        SET NOCOUNT ON;
        SELECT N'database_name', name FROM sys.databases WHERE name = {{ database }};
        SELECT N'file', type_desc, name, physical_name FROM sys.database_files;
        SELECT N'restore_backup_file', JSON_VALUE([JSON], N'$.BackupFile') FROM dbo.Configuration WHERE Id = N'octoprov-restore';
        SELECT N'tasks_canceled', COUNT(*) FROM dbo.ServerTask WHERE State = N'Canceled';
        """

    @Test(arguments: [SQLScenario.realistic, SQLScenario.hostile, SQLScenario.octopus3])
    func restoreQuarantineAndVerifyAsTheStepsRunThem(_ scenario: SQLScenario) throws {
        let host = try StandInSQLHost(scenario)
        let hasWorkers = scenario.version.hasPrefix("20")

        // database-exists: 0 before the restore.
        let exists = try host.render("database-exists")
        let before = try host.sqlcmd(exists)
        #expect(before.status == 0, "\(before.stdout)\(before.stderr)")
        #expect(before.stdout == "database_exists|0\n")

        // restore-filelist names the backup's two logical files; restore.sql moves them where asked.
        let (logical, restored) = try Self.restore(host)
        #expect(logical == ["D": "OctopusDeploy", "L": "OctopusDeploy_log"])
        #expect(restored.status == 0, "\(restored.stdout)\(restored.stderr)")
        #expect(
            restored.stdout.contains("10 percent processed.\n") && restored.stdout.contains("100 percent processed.")
        )
        #expect(restored.stdout.contains("RESTORE DATABASE successfully processed"))
        #expect(try host.sqlcmd(exists).stdout == "database_exists|1\n")

        let check = try host.renderCheck(Self.check, named: "check")
        let checked = try host.sqlcmd(check)
        #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
        let files = Self.movedFiles(host)
        #expect(checked.stdout.contains("\ndatabase_name|\(scenario.database)\n"), "\(checked.stdout)")
        #expect(checked.stdout.contains("\nfile|ROWS|OctopusDeploy|\(files.data)\n"), "\(checked.stdout)")
        #expect(checked.stdout.contains("\nfile|LOG|OctopusDeploy_log|\(files.log)\n"), "\(checked.stdout)")
        #expect(checked.stdout.contains("\nrestore_backup_file|\(host.backupFile)\n"), "\(checked.stdout)")
        let canceledBefore = Int(StandInSQLHost.answers(checked.stdout)["tasks_canceled"] ?? "") ?? -1

        // verify-quarantine before the quarantine: production's state, non-zero everywhere.
        let verify = try host.render("verify-quarantine")
        let unquarantined = try host.sqlcmd(verify)
        #expect(unquarantined.status == 0, "\(unquarantined.stdout)\(unquarantined.stderr)")
        let first = StandInSQLHost.answers(unquarantined.stdout)
        #expect(first["restore_sha256"] == host.backupSHA256)
        #expect(first["quarantine_sha256"] == nil)
        #expect(first["octopus_version"] == scenario.version)
        #expect(first["installation_id"] == host.seeded["installationId"] as? String)
        #expect(first["server_nodes"] == String(host.seededCount("serverNodes")) && host.seededCount("serverNodes") > 0)
        #expect(first["server_node_statuses"] == (hasWorkers ? String(host.seededCount("serverNodes")) : nil))
        #expect(first["machines"] == String(host.seededCount("targets")) && host.seededCount("targets") > 0)
        #expect(first["machines_enabled"] == first["machines"])
        #expect(first["workers"] == (hasWorkers ? String(host.seededCount("workers")) : nil))
        #expect(first["workers_enabled"] == first["workers"])
        #expect(first["triggers"] == String(host.seededCount("triggers")) && host.seededCount("triggers") > 0)
        #expect(first["triggers_enabled"] == first["triggers"])
        #expect(
            first["subscriptions"] == String(host.seededCount("subscriptions")) && host.seededCount("subscriptions") > 0
        )
        #expect(first["subscriptions_enabled"] == first["subscriptions"])
        let pending = Int(first["tasks_pending"] ?? "") ?? 0
        #expect(pending >= host.seededCount("queuedTasks") && pending > 0)
        #expect(first["extensions_to_remove"] == "2")

        // quarantine, then verify-quarantine: everything the docs' SQL disables is off, plus a new Installation
        // ID, no pending task and the clone's own Server URI.
        let quarantined = try host.sqlcmd(host.render("quarantine"))
        #expect(quarantined.status == 0, "\(quarantined.stdout)\(quarantined.stderr)")
        let after = try host.sqlcmd(verify)
        #expect(after.status == 0, "\(after.stdout)\(after.stderr)")
        let second = StandInSQLHost.answers(after.stdout)
        #expect(second["quarantine_sha256"] == host.backupSHA256)
        for name in StepVariables.contractNames where name.hasPrefix("quarantine_") {
            #expect(second[name] == "true", "\(name)")
        }
        for name in ["server_nodes", "machines_enabled", "triggers_enabled", "subscriptions_enabled", "tasks_pending"] {
            #expect(second[name] == "0", "\(name): \(second[name] ?? "missing")")
        }
        #expect(second["extensions_to_remove"] == "0")
        #expect(second["server_node_statuses"] == (hasWorkers ? "0" : nil))
        #expect(second["workers_enabled"] == (hasWorkers ? "0" : nil))
        for name in ["machines", "workers", "triggers", "subscriptions", "octopus_version", "restore_sha256"] {
            #expect(second[name] == first[name], "\(name) changed")
        }
        let installationId = try #require(second["installation_id"])
        #expect(installationId != first["installation_id"])
        #expect(
            installationId.wholeMatch(of: /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/) != nil
        )
        if first["server_uri"] != nil {
            #expect(first["server_uri"] == "https://octopus.production.example")
            #expect(after.stdout.contains("\nserver_uri|\(scenario.serverURI)\n"), "\(after.stdout)")
        }
        let canceled = StandInSQLHost.answers(try host.sqlcmd(check).stdout)["tasks_canceled"]
        #expect(canceled == String(canceledBefore + pending))
    }

    @Test func anErrorInTheQuarantineRollsAllOfItBackAndExitsOne() throws {
        let host = try StandInSQLHost(.hostile)
        let (_, restored) = try Self.restore(host)
        try #require(restored.status == 0, "\(restored.stdout)\(restored.stderr)")
        // Production's Installation ID document is not JSON: JSON_MODIFY fails half-way through the transaction.
        let breaking = try host.renderCheck(
            """
            USE {{ database | ident }};
            GO
            UPDATE dbo.Configuration SET [JSON] = N'not json' WHERE Id = N'upgradeavailability';
            """,
            named: "break"
        )
        #expect(try host.sqlcmd(breaking).status == 0)
        let verify = try host.render("verify-quarantine")
        let before = try host.sqlcmd(verify)
        let quarantined = try host.sqlcmd(host.render("quarantine"))
        #expect(quarantined.status == 1)
        #expect(quarantined.stdout.contains("Msg 13609, Level 16"), "\(quarantined.stdout)")
        let after = try host.sqlcmd(verify)
        #expect(after.status == 1, "JSON_VALUE of the broken document fails the read-back too")
        // Up to the failing line the answers are the same: nothing was deleted, disabled or recorded.
        let unchanged = StandInSQLHost.answers(before.stdout)
        #expect(StandInSQLHost.answers(after.stdout) == unchanged)
        #expect(unchanged["quarantine_sha256"] == nil && unchanged["restore_sha256"] == host.backupSHA256)
        let counts = try host.sqlcmd(
            host.renderCheck(
                """
                USE {{ database | ident }};
                GO
                SET NOCOUNT ON;
                SELECT N'server_nodes', COUNT(*) FROM dbo.OctopusServerNode;
                SELECT N'machines_enabled', COUNT(*) FROM dbo.Machine WHERE IsDisabled = 0;
                SELECT N'tasks_pending', COUNT(*) FROM dbo.ServerTask WHERE State IN (N'Queued', N'Executing', N'Cancelling');
                SELECT N'extensions_to_remove', COUNT(*) FROM dbo.ExtensionConfiguration WHERE Id IN (N'authentication-octopusid', N'jira-integration');
                SELECT N'quarantine_records', COUNT(*) FROM dbo.Configuration WHERE Id = N'octoprov-quarantine';
                """,
                named: "counts"
            )
        )
        let answers = StandInSQLHost.answers(counts.stdout)
        #expect(answers["server_nodes"] == String(host.seededCount("serverNodes")))
        #expect(answers["machines_enabled"] == String(host.seededCount("targets")))
        #expect(answers["tasks_pending"] != "0" && answers["tasks_pending"] != nil)
        #expect(answers["extensions_to_remove"] == "2")
        #expect(answers["quarantine_records"] == "0")
    }

    @Test func switchedOffPartsAreLeftAloneAndRecordedAsFalse() throws {
        let host = try StandInSQLHost(.realistic)
        let (_, restored) = try Self.restore(host)
        try #require(restored.status == 0, "\(restored.stdout)\(restored.stderr)")
        let verify = try host.render("verify-quarantine")
        let first = StandInSQLHost.answers(try host.sqlcmd(verify).stdout)
        let off: Set = ["quarantine_targets", "quarantine_installation_id", "quarantine_server_uri"]
        let quarantined = try host.sqlcmd(host.render("quarantine", switchedOff: off))
        #expect(quarantined.status == 0, "\(quarantined.stdout)\(quarantined.stderr)")
        let second = StandInSQLHost.answers(try host.sqlcmd(verify).stdout)
        for name in StepVariables.contractNames where name.hasPrefix("quarantine_") {
            #expect(second[name] == (off.contains(name) ? "false" : "true"), "\(name)")
        }
        #expect(second["machines_enabled"] == first["machines_enabled"] && second["machines_enabled"] != "0")
        #expect(second["installation_id"] == first["installation_id"])
        #expect(second["server_uri"] == "https://octopus.production.example")
        #expect(second["workers_enabled"] == "0" && second["triggers_enabled"] == "0")
    }

    @Test func restoringOverAnExistingDatabaseFailsAndKeepsIt() throws {
        let host = try StandInSQLHost(.hostile)
        let (_, restored) = try Self.restore(host)
        try #require(restored.status == 0, "\(restored.stdout)\(restored.stderr)")
        let (_, again) = try Self.restore(host)
        #expect(again.status == 1)
        #expect(again.stdout.contains("Msg 3013"), "\(again.stdout)")
        #expect(try host.sqlcmd(host.render("database-exists")).stdout == "database_exists|1\n")
        let verify = StandInSQLHost.answers(try host.sqlcmd(host.render("verify-quarantine")).stdout)
        #expect(verify["restore_sha256"] == host.backupSHA256)
    }

    @Test func aDatabaseNameTheStandInCannotKeepFailsLoudly() throws {
        var scenario = SQLScenario.hostile
        scenario.database = "rm -rf /" + SQLScenario.hostileName
        let host = try StandInSQLHost(scenario)
        let (_, restored) = try Self.restore(host)
        #expect(restored.status == 1)
        #expect(restored.stdout.contains("is not supported by the stand-in"), "\(restored.stdout)")
        #expect(try host.sqlcmd(host.render("database-exists")).stdout == "database_exists|0\n")
    }
}

// MARK: - The standin step scripts around the SQL

/// A clone flow on one loopback "host", run by the repository's Templates/standin scripts themselves: each one
/// rendered by octoprov's renderer with every variable of docs/steps.md, run with bash, its secrets on stdin as
/// `NAME=BASE64` lines, against the stand-in package `octoprov sandbox` builds from this checkout. So every
/// sqlcmd and Octopus.Server call the scripts make (`--name=value` flags, `list-instances`, `show-configuration
/// --format=json`, `show-master-key --format=json`, `-x -b -h -1 -W -s '|'`) meets the stand-in as it would
/// meet the real programs.
final class StandInStepFlow {
    /// One step's run.
    struct StepRun {
        var status: Int32
        var stdout: String
        var stderr: String
        /// The `OCTOPROV-RESULT` line's object, when the last stdout line is one.
        var result: [String: Any]?
        var changed: Bool? { result?["changed"] as? Bool }
        var facts: [String: String] { result?["facts"] as? [String: String] ?? [:] }
        var all: String { stdout + stderr }
    }

    let root: String
    let values: [String: String]
    let secrets: [String: String]
    let library: TemplateLibrary
    let masterKey: String
    let port: Int
    let seeded: [String: Any]

    /// The clone flow's steps that run on the host, in order (docs/steps.md).
    static let cloneSteps = [
        "preflight", "install", "restore", "quarantine", "create-instance", "connect-database", "configure",
        "set-paths", "admin", "start", "verify",
    ]

    /// The test-instance flow's steps that run on the host, in order (`create-database` after `create-instance`).
    static let testInstanceSteps = [
        "preflight", "install", "create-instance", "create-database", "configure", "set-paths", "admin", "start",
        "verify",
    ]

    /// - Parameter names: Values for the names a person chooses (database, instance, node, folders, admin, Server
    ///   URI), given the host's root folder.
    init(version: String, mode: String = "clone", names: (String) -> [String: String]) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("octoprov-flow-\(UUID().uuidString)").path
        library = try TemplateLibrary(directory: StandInSQLHost.repositoryRoot + "/Templates")
        let work = root + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let package = try #require(
            try StandInPackager.build(versions: [version], binary: StandInSQLHost.binary, into: root + "/mirror").first
        )
        let packageFile = work + "/" + StandInPackager.fileName(version: version)
        try FileManager.default.copyItem(atPath: package.path, toPath: packageFile)

        let production = root + "/production"
        let seed = try StandInSQLHost.run(
            [
                "seed", "--version", version, "--out", production, "--task-logs", "1", "--package-size", "10",
                "--target-endpoint", "https://127.0.30.1:10933/", "--webhook-url", "http://127.0.30.2:8090/hook",
                "--server-uri", "https://octopus.production.example",
            ],
            data: root + "/production-sql"
        )
        guard seed.status == 0 else { throw StandInSQLHostError("seed: \(seed.stdout)\(seed.stderr)") }
        masterKey = try String(contentsOfFile: production + "/master-key", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        seeded = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: production + "/seed.json")))
                as? [String: Any]
        )
        port = try Loopback.freePort()

        var values = Dictionary(uniqueKeysWithValues: StepVariables.contractNames.map { ($0, "") })
        for name in StepVariables.contractNames where name.hasPrefix("quarantine_") { values[name] = "true" }
        let chosen = names(root)
        values.merge([
            "host_name": "vm1", "platform": "standin", "mode": mode, "work_dir": work, "version": version,
            "package_file": packageFile, "package_sha256": package.sha256, "install_dir": root + "/opt/octopus-standin",
            "sql_server": "localhost", "sql_data_root": root + "/var/lib/octopus-standin",
            "web_listen_prefix": "http://localhost:\(port)", "web_port": String(port), "comms_port": "10943",
        ]) { _, new in new }
        values.merge(chosen) { _, new in new }
        let home = values["home_dir"] ?? ""
        let instance = values["instance_name"] ?? ""
        let database = values["database"] ?? ""
        values["config_path"] = "\(home)/\(instance).config.json"
        values["connection_string"] = "Server=localhost;Database=\(database);Trusted_Connection=True;"
        let backup = values["backup_file"] ?? ""
        try FileManager.default.createDirectory(
            atPath: (backup as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        try FileManager.default.copyItem(atPath: production + "/OctopusDeploy.bak", toPath: backup)
        values["backup_sha256"] = try FileDigest.sha256(path: backup)
        self.values = values
        secrets = [
            "master_key": masterKey, "admin_password": "Correct-Horse-9! $(id) `id` '\"",
            "admin_api_key": "API-" + String(repeating: "A1B2", count: 7),
            "license_base64": Data("<License><SerialNumber>SN-42</SerialNumber></License>".utf8).base64EncodedString(),
        ]
        // octoprov uploads the step's rendered T-SQL into the work folder under these names.
        for name in [
            "database-exists", "restore-filelist", "restore", "quarantine", "verify-quarantine", "rows-and-spaces",
        ] {
            try library.sqlTemplate(named: name).render(values).write(
                toFile: "\(work)/\(name).sql",
                atomically: true,
                encoding: .utf8
            )
        }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Stops the instance's service if `start` started it.
    func stop() {
        let server = (values["install_dir"] ?? "") + "/current/bin/Octopus.Server"
        guard FileManager.default.isExecutableFile(atPath: server) else { return }
        _ = try? Self.run(
            server,
            ["service", "--instance=\(values["instance_name"] ?? "")", "--stop"],
            environment: ["OCTOPUS_STANDIN_DATA": values["sql_data_root"] ?? ""],
            input: Data()
        )
    }

    /// Renders `Templates/standin/<step>.sh` and runs it with bash, its secrets on stdin.
    func run(_ step: String) throws -> StepRun {
        let script = try library.template(platform: "standin", step: step).render(values)
        let path = "\(root)/scripts/\(step).sh"
        try FileManager.default.createDirectory(atPath: "\(root)/scripts", withIntermediateDirectories: true)
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        let input = secrets.sorted { $0.key < $1.key }
            .map { "\($0.key)=\(Data($0.value.utf8).base64EncodedString())\n" }.joined()
        let output = try Self.run("/bin/bash", [path], environment: [:], input: Data(input.utf8))
        var run = StepRun(status: output.status, stdout: output.stdout, stderr: output.stderr)
        let last = output.stdout.split(separator: "\n").last ?? ""
        if last.hasPrefix("OCTOPROV-RESULT ") {
            run.result =
                try? JSONSerialization.jsonObject(with: Data(last.dropFirst("OCTOPROV-RESULT ".count).utf8))
                as? [String: Any]
        }
        return run
    }

    /// Runs a program with `PATH` and `HOME` only, plus `environment`.
    static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String],
        input: Data
    ) throws -> ProcessOutput {
        let current = ProcessInfo.processInfo.environment
        return try TestProcess.run(
            executable,
            arguments,
            environment: ["PATH": current["PATH"] ?? "/usr/bin:/bin", "HOME": current["HOME"] ?? "/tmp"]
                .merging(environment) { _, new in new },
            input: input
        )
    }
}

@Suite("Templates/standin step scripts on the stand-in", .tags(.large), .serialized)
struct StandInStepScriptsTests {
    static func realistic(_ root: String) -> [String: String] {
        [
            "instance_name": "OctopusServer", "node_name": "vm1-clone", "home_dir": root + "/var/lib/octopus",
            "database": "OctopusServerClone", "backup_file": root + "/work/OctopusDeploy.bak",
            "data_dir": root + "/var/opt/mssql/data", "server_uri": "http://localhost:8080",
            "admin_username": "octoprov-admin", "admin_email": "admin@example.test",
            "folders_packages": root + "/var/lib/octopus/Packages",
            "folders_artifacts": root + "/var/lib/octopus/Artifacts",
            "folders_task_logs": root + "/var/lib/octopus/TaskLogs",
            "folders_event_exports": root + "/var/lib/octopus/EventExports",
            "folders_imports": root + "/var/lib/octopus/Imports",
        ]
    }

    /// Hostile where a person's text goes, as far as octoprov lets it through (`StepVariables.problem`): no line
    /// break or other control character anywhere, no `;` in the database name (it goes into the connection
    /// string), an instance name without `\ / : * ? " < > | ;`, and a Server URI that is a URL.
    static func hostile(_ root: String) -> [String: String] {
        let text = #"it's "$(id)" `id` ]; -- ‘smart’ 日本語"#
        let home = "\(root)/home \(text)"
        return [
            "instance_name": "Octo'pus $(id) `id` ]] 日本語", "node_name": "node \(text)", "home_dir": home,
            "database": #"Octo'pus "$(id)" `id` ]] ‘smart’ 日本語 [clone]"#,
            "backup_file": "\(root)/work/Octo'pus \(text).bak", "data_dir": "\(root)/data \(text)",
            "server_uri": "https://clone.example.test:8443/it's/$(id)/x;y=z?q='1'", "admin_username": "admin \(text)",
            "admin_email": "it's$(id)@example.test", "folders_packages": "\(home)/Packages \(text)",
            "folders_artifacts": "\(home)/Artifacts", "folders_task_logs": "\(home)/Task Logs \(text)",
            "folders_event_exports": "\(home)/EventExports \(text)", "folders_imports": "\(home)/Imports $(id)",
        ]
    }

    @Test func theTestInstanceFlowCreatesItsDatabaseAndRunsTwice() throws {
        let flow = try StandInStepFlow(version: "2023.3.13026", mode: "test-instance") { root in
            var names = Self.hostile(root)
            names["database"] = "Test " + (names["database"] ?? "")
            return names
        }
        defer { flow.stop() }
        for step in StandInStepFlow.testInstanceSteps {
            let run = try flow.run(step)
            try #require(run.status == 0, "\(step): \(run.all)")
            #expect(run.changed == !["preflight", "verify"].contains(step), "\(step): \(run.stdout)")
        }
        for step in StandInStepFlow.testInstanceSteps {
            let run = try flow.run(step)
            #expect(run.status == 0 && run.changed == false, "\(step) again: \(run.all)")
        }
        let preflight = try flow.run("preflight")
        #expect(preflight.facts["database_exists"] == "true" && preflight.facts["instance_exists"] == "true")
    }

    @Test func theQuarantineNamesTheRowsInSpacesThatDoNotExistAndVerifysCountsNameThem() async throws {
        let flow = try StandInStepFlow(version: "2023.3.13026", names: Self.realistic)
        defer { flow.stop() }
        for step in ["preflight", "install", "restore"] {
            let run = try flow.run(step)
            try #require(run.status == 0, "\(step): \(run.all)")
        }
        // 22 targets in a space that does not exist, and a worker whose space differs from Spaces-1 only in
        // case, which SQL Server (and the API) count as in Spaces-1.
        let orphans = (1...22).map {
            "INSERT INTO dbo.Machine (Id, Name, SpaceId, IsDisabled, [JSON]) "
                + "VALUES (N'Machines-90\(String(format: "%02d", $0))', N'orphan', N'Spaces-99', 0, N'{}');"
        }
        let sql = flow.root + "/orphans.sql"
        let cased =
            "INSERT INTO dbo.Worker (Id, Name, SpaceId, IsDisabled, [JSON]) "
            + "VALUES (N'Workers-9001', N'cased', N'spaces-1', 0, N'{}');"
        let lines = ["USE [OctopusServerClone];", "GO"] + orphans + [cased]
        try lines.joined(separator: "\n").write(toFile: sql, atomically: true, encoding: .utf8)
        let inserted = try StandInSQLHost.run(
            ["sqlcmd", "-x", "-b", "-S", "localhost", "-i", sql],
            data: flow.values["sql_data_root"] ?? ""
        )
        try #require(inserted.status == 0, "\(inserted.stdout)\(inserted.stderr)")

        let expected =
            (1...20).map { "Machine Machines-90\(String(format: "%02d", $0)) (Spaces-99)" }.joined(separator: ", ")
            + " and 2 more"
        let quarantine = try flow.run("quarantine")
        try #require(quarantine.status == 0, "\(quarantine.all)")
        #expect(quarantine.changed == true)
        #expect(quarantine.facts["rows_outside_spaces"] == expected, "\(quarantine.facts)")
        // The listing is read quietly: a production's thousands of rows are not echoed.
        #expect(!quarantine.stdout.contains("row_space|") && !quarantine.stdout.contains("space_id|"))
        let again = try flow.run("quarantine")
        #expect(again.status == 0 && again.changed == false, "\(again.all)")
        #expect(again.facts["rows_outside_spaces"] == expected, "\(again.facts)")

        // The clone started: its API lists by space and does not show the 22 targets, so the counts check
        // against the quarantine's facts (as RESTVerifier gathers them) fails and names them.
        let started = StandInStepFlow.cloneSteps.drop { $0 != "create-instance" }.prefix { $0 != "verify" }
        for step in started {
            let run = try flow.run(step)
            try #require(run.status == 0, "\(step): \(run.all)")
        }
        let facts = quarantine.facts
        func count(_ name: String) -> Int { Int(facts[name] ?? "") ?? -1 }
        let counts = ExpectedCounts(
            targets: count("machines"),
            workers: count("workers"),
            triggers: count("triggers"),
            subscriptions: count("subscriptions"),
            projects: count("projects"),
            spaces: count("spaces")
        )
        var options = OctopusClient.Options()
        options.retryDeadline = .seconds(60)
        let client = try OctopusClient(
            baseURL: "http://localhost:\(flow.port)",
            apiKey: flow.secrets["admin_api_key"],
            options: options
        )
        let verification = CloneVerification(
            client: client,
            expectations: .init(
                version: try OctopusVersion(parsing: "2023.3.13026"),
                counts: counts,
                rowsOutsideSpaces: facts["rows_outside_spaces"]
            ),
            checks: [.counts]
        )
        let result = try #require(await verification.run().first)
        #expect(!result.passed)
        let shown = count("machines") - 22
        #expect(
            result.message
                == "Counts differ from the restored database: \(shown) targets (expected \(count("machines"))). "
                + "The restored database also has rows in spaces that do not exist, which the API does not show: "
                + expected + ".",
            "\(result.message)"
        )
    }

    @Test(arguments: ["realistic", "hostile"])
    func theCloneFlowRunsTwiceAndTheSecondRunChangesNothing(_ kind: String) throws {
        let flow = try StandInStepFlow(
            version: "2023.3.13026",
            names: kind == "hostile" ? Self.hostile : Self.realistic
        )
        defer { flow.stop() }
        for (name, value) in flow.values.sorted(by: { $0.key < $1.key }) {
            let problem = StepVariables.problem(validating: name, value: value, platform: .standin)
            try #require(problem == nil, "octoprov would refuse \(name): \(problem ?? "")")
        }
        for step in StandInStepFlow.cloneSteps {
            let run = try flow.run(step)
            try #require(run.status == 0, "\(step): \(run.all)")
            let expected = !["preflight", "verify"].contains(step)
            #expect(run.changed == expected, "\(step): \(run.stdout)")
            if step == "quarantine" {
                // Every seeded row is in a space that exists.
                #expect(run.facts["rows_outside_spaces"] == "", "\(run.facts)")
            }
        }
        for step in StandInStepFlow.cloneSteps {
            let run = try flow.run(step)
            #expect(run.status == 0, "\(step) again: \(run.all)")
            #expect(run.changed == false, "\(step) again: \(run.stdout)")
        }
        let verify = try flow.run("verify")
        for name in [
            "machines_enabled", "workers_enabled", "triggers_enabled", "subscriptions_enabled", "tasks_pending",
        ] {
            #expect(verify.facts[name] == "0", "\(name): \(verify.facts)")
        }
        #expect(verify.facts["quarantine_sha256"] == flow.values["backup_sha256"])
        #expect(verify.facts["server_uri"] == flow.values["server_uri"])
        #expect(verify.facts["installation_id"] != flow.seeded["installationId"] as? String)
    }
}
