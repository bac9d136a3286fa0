import Foundation
import OctopusStandIn
import TestHelpers
import Testing

/// `Octopus.Server` verbs through the built binary, run from package folders of different versions.
@Suite(.tags(.medium))
struct OctopusServerCLITests {
    static let current = "2023.3.13026"

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func newInstanceSequenceThenShowConfiguration() throws {
        let machine = try StandInMachine()
        try machine.provision(version: Self.current)
        let path = try machine.server(
            Self.current,
            [
                "path", "--instance", "OctopusServer", "--nugetRepository", "/srv/octopus/Packages", "--artifacts",
                "/srv/octopus/Artifacts", "--taskLogs=/srv/octopus/TaskLogs", "--eventExports",
                "/srv/octopus/EventExports",
                "--imports", "/srv/octopus/Imports", "--cacheDirectory", "/var/cache/octopus",
            ]
        )
        #expect(path.status == 0, "\(path.all)")
        let shown = try machine.server(
            Self.current,
            ["show-configuration", "--instance", "OctopusServer", "--format", "json"]
        )
        #expect(shown.status == 0, "\(shown.all)")
        let settings = try json(shown.stdout)
        #expect(
            settings["Octopus.Storage.ExternalDatabaseConnectionString"] as? String
                == StandInMachine.connectionString("Octopus")
        )
        #expect(settings["Octopus.Storage.NodeName"] as? String == "node-OctopusServer")
        #expect(settings["Octopus.Home"] as? String == "\(machine.root)/OctopusServer")
        #expect(settings["Octopus.Communications.ServicesPort"] as? Int == 10943)
        #expect(settings["Octopus.WebPortal.ListenPrefixes"] as? String == "http://localhost:18080")
        #expect(settings["Octopus.WebPortal.ForceSsl"] as? Bool == false)
        #expect(settings["Octopus.Server.CacheDirectory"] as? String == "/var/cache/octopus")
        #expect(settings["Octopus.Storage.MasterKey"] == nil)

        let hierarchical = try machine.server(Self.current, ["show-configuration", "--format=json-hierarchical"])
        let storage = try json(hierarchical.stdout)["Octopus"] as? [String: Any]
        #expect((storage?["Storage"] as? [String: Any])?["NodeName"] as? String == "node-OctopusServer")
        let xml = try machine.server(Self.current, ["show-configuration", "--instance=OctopusServer"])
        #expect(xml.stdout.hasPrefix("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<octopus-settings"))
        #expect(xml.stdout.contains("<set key=\"Octopus.Home\">\(machine.root)/OctopusServer</set>"))
        let file = "\(machine.root)/config-export.json"
        let exported = try machine.server(Self.current, ["show-configuration", "--format", "json", "--file", file])
        #expect(exported.status == 0)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == shown.stdout)

        // The folders live in the database, as Octopus keeps them.
        let folders = try ServerFolders.read(from: machine.open("Octopus"))
        #expect(folders.packagesDirectory == "/srv/octopus/Packages")
        #expect(folders.eventExportsDirectory == "/srv/octopus/EventExports")
        #expect(folders.importsDirectory == "/srv/octopus/Imports")
        #expect(folders.telemetryDirectory == "\(machine.root)/OctopusServer/Telemetry")

        let users = try machine.open("Octopus").query(
            "SELECT Name, IsService, json_extract([JSON], '$.PasswordHash'), "
                + "json_extract([JSON], '$.EmailAddress') FROM [User]"
        ).rows
        #expect(users.count == 1)
        #expect(users.first?[0] == .text("admin") && users.first?[1] == .integer(0))
        #expect(PasswordHash.verify(StandInMachine.adminPassword, against: users.first?[2].text ?? ""))
        #expect(users.first?[3] == .text("admin@example.com"))
        let licence = try machine.column(
            "Octopus",
            "SELECT json_extract([JSON], '$.SerialNumber') FROM Configuration "
                + "WHERE Id = 'license'"
        )
        #expect(licence == ["SN-42"])

        let key = try machine.server(Self.current, ["show-master-key"])
        let keyJSON = try machine.server(Self.current, ["show-master-key", "--format", "json"])
        #expect(try json(keyJSON.stdout)["MasterKey"] as? String == key.stdout.trimmingCharacters(in: .newlines))
        try MasterKey(base64: key.stdout).verify(against: machine.open("Octopus"))

        let list = try machine.server(Self.current, ["list-instances"])
        #expect(
            list.stdout == "Instance 'OctopusServer' uses configuration '\(machine.configPath("OctopusServer"))'.\n"
        )
        let listJSON = try machine.server(Self.current, ["list-instances", "--format", "json"])
        let instances = try #require(
            try JSONSerialization.jsonObject(with: Data(listJSON.stdout.utf8)) as? [[String: String]]
        )
        #expect(instances == [["Name": "OctopusServer", "ConfigurationFilePath": machine.configPath("OctopusServer")]])
        let version = try machine.server(Self.current, ["version", "--format", "json"])
        #expect(try json(version.stdout)["Version"] as? String == Self.current)
        #expect(try machine.server("2024.1.100", ["version"]).stdout == "2024.1.100\n")
    }

    @Test func adminWithAnAPIKeyStoresOnlyItsHash() throws {
        let machine = try StandInMachine()
        try machine.provision(version: Self.current)
        for _ in 0..<2 {
            let run = try machine.server(
                Self.current,
                ["admin", "--username", "octoprov", "--apiKey", StandInMachine.apiKey]
            )
            #expect(run.status == 0, "\(run.all)")
        }
        let rows = try machine.open("Octopus").query(
            "SELECT ApiKey.ApiKeyHashed, [User].IsService FROM ApiKey JOIN [User] ON [User].Id = ApiKey.UserId "
                + "WHERE [User].Name = 'octoprov'"
        ).rows
        #expect(rows == [[.text(APIKeyHash.hashed(StandInMachine.apiKey)), .integer(1)]], "one key, a service account")
        let bad = try machine.server(Self.current, ["admin", "--username", "x", "--apiKey", "not-a-key"])
        #expect(bad.status == 1)
        #expect(!bad.all.contains("not-a-key"))
    }

    @Test func secretsAreNeverPrintedExceptByShowMasterKey() throws {
        let machine = try StandInMachine()
        let key = MasterKey.generate().base64
        var runs = try machine.provision(version: Self.current, masterKey: key)
        runs.append(
            try machine.server(Self.current, ["admin", "--username", "svc", "--apiKey", StandInMachine.apiKey])
        )
        runs.append(
            try machine.server(
                Self.current,
                [
                    "create-instance", "--instance", "Second", "--config", machine.configPath("Second"),
                ]
            )
        )
        runs.append(
            try machine.server(
                Self.current,
                [
                    "database", "--instance", "Second", "--connectionString",
                    StandInMachine.connectionString("Octopus"),
                    "--masterKey", key,
                ]
            )
        )
        runs.append(
            try machine.server(
                Self.current,
                [
                    "database", "--instance", "Second", "--masterKey", MasterKey.generate().base64,
                ]
            )
        )
        runs.append(
            try machine.server(
                Self.current,
                [
                    "configure", "--instance", "Second", "--webListenPrefixes",
                    "http://localhost:\(try StandInMachine.freePort())",
                ]
            )
        )
        for format in ["json", "xml", "json-hierarchical"] {
            runs.append(
                try machine.server(Self.current, ["show-configuration", "--instance", "Second", "--format", format])
            )
        }
        runs.append(try machine.whileServing(Self.current, instance: "Second"))
        let secrets = [
            key, StandInMachine.adminPassword, StandInMachine.apiKey, StandInMachine.licenseBase64,
            StandInMachine.licenseXML,
        ]
        for run in runs {
            for secret in secrets { #expect(!run.all.contains(secret)) }
        }
        let log = try String(contentsOfFile: "\(machine.root)/Second/Logs/OctopusServer.txt", encoding: .utf8)
        for secret in secrets { #expect(!log.contains(secret)) }
        #expect(try machine.server(Self.current, ["show-master-key", "--instance", "Second"]).stdout == "\(key)\n")
    }

    @Test func wrongMasterKeyIsRefusedAtDatabaseAndAtStart() throws {
        let machine = try StandInMachine()
        try machine.provision(version: Self.current)
        let wrong = MasterKey.generate().base64
        _ = try machine.server(
            Self.current,
            ["create-instance", "--instance", "Clone", "--config", machine.configPath("Clone")]
        )
        let database = try machine.server(
            Self.current,
            [
                "database", "--instance", "Clone", "--connectionString", StandInMachine.connectionString("Octopus"),
                "--masterKey", wrong,
            ]
        )
        #expect(database.status == 100)
        #expect(database.stderr.contains("Padding is invalid and cannot be removed"))
        #expect(database.stderr.contains("master key is incorrect"))
        let clone = try InstanceConfiguration.load(machine.configPath("Clone"))
        #expect(clone[text: InstanceConfiguration.Key.masterKey] == nil, "a refused key is not saved")
        #expect(clone[text: InstanceConfiguration.Key.connectionString] == nil)
        let missing = try machine.server(
            Self.current,
            [
                "database", "--instance", "Clone", "--connectionString", StandInMachine.connectionString("Octopus"),
            ]
        )
        #expect(missing.status == 100)
        #expect(missing.stderr.contains("give that key with --masterKey"))

        let changed = try machine.server(Self.current, ["set-master-key", "--masterKey", wrong])
        #expect(changed.status == 0, "\(changed.all)")
        for arguments in [["run"], ["service", "--install", "--start"]] {
            let start = try machine.server(Self.current, arguments)
            #expect(start.status == 100)
            #expect(start.stderr.contains("Octopus Server cannot start: The master key is incorrect"), "\(start.all)")
        }
    }

    @Test func aNewerDatabaseIsRefused() throws {
        let machine = try StandInMachine()
        try machine.provision(version: "2024.1.100")
        for arguments in [
            ["run"], ["path", "--artifacts", "/a"], ["database"], ["node", "--drain=true"],
            ["service", "--install", "--start"],
        ] {
            let run = try machine.server(Self.current, arguments)
            #expect(run.status == 100, "\(arguments)")
            #expect(run.stderr.hasPrefix("Octopus Server has been stopped to protect your data"), "\(run.all)")
            #expect(run.stderr.contains("schema version 2024.1.100, newer than this Octopus Server (2023.3.13026)"))
            #expect(run.stderr.contains("Use the --skipDatabaseCompatibilityCheck parameter"))
        }
        let skipped = try machine.server(
            Self.current,
            ["path", "--artifacts", "/a", "--skipDatabaseCompatibilityCheck"]
        )
        #expect(skipped.status == 0, "\(skipped.all)")
        let downgrade = try machine.server(Self.current, ["database", "--upgrade", "--skipDatabaseCompatibilityCheck"])
        #expect(downgrade.status == 100)
        #expect(downgrade.stderr.contains("cannot be downgraded"))
    }

    @Test func upgradeThenTheStartChecksPass() throws {
        let machine = try StandInMachine()
        try machine.provision(version: "2023.2.9755", port: try StandInMachine.freePort())
        let before = try machine.server(Self.current, ["run"])
        #expect(before.status == 100)
        #expect(before.stderr.contains("has schema version 2023.2.9755 and must be upgraded first"))
        let path = try machine.server(Self.current, ["path", "--artifacts", "/a"])
        #expect(path.status == 100)
        #expect(path.stderr.contains("run `Octopus.Server database --instance OctopusServer --upgrade` first"))
        let upgrade = try machine.server(Self.current, ["database", "--instance", "OctopusServer", "--upgrade"])
        #expect(upgrade.status == 0, "\(upgrade.all)")
        #expect(upgrade.stdout.contains("Executing script Script2023.3.13026-9999-Release"))
        #expect(try SchemaScripts.schemaVersion(of: machine.open("Octopus")) == StandInVersion(Self.current))
        let history = try machine.sqlcmd([
            "-d", "Octopus", "-Q",
            "SET NOCOUNT ON SELECT TOP 5 [Version] FROM [dbo].[OctopusServerInstallationHistory] ORDER BY Installed desc",
        ])
        #expect(
            history.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.dropFirst(2)
                == [Self.current, "2023.2.9755"]
        )
        let again = try machine.server(Self.current, ["database", "--upgrade"])
        #expect(again.stdout.contains("there are no upgrade scripts to run"))
        let after = try machine.whileServing(Self.current)
        #expect(after.stdout.contains("Service OctopusDeploy started"), "\(after.all)")
        let events = try machine.server(Self.current, ["path", "--eventExports", "/e"])
        #expect(events.status == 0, "\(events.all)")
    }

    @Test(arguments: [
        ("2023.2.9755", ["path", "--eventExports", "/e"], "Unrecognized command line arguments: --eventExports /e"),
        ("2020.6.4000", ["path", "--imports=/i"], "Unrecognized command line arguments: --imports=/i"),
        (
            "2023.3.13026", ["path", "--artifacts", "/a", "--bogus", "x"],
            "Unrecognized command line arguments: --bogus x"
        ),
        ("2023.3.13026", ["frobnicate"], "Command 'frobnicate' is not supported."),
        ("2023.3.13026", ["configure", "--webForceSSL", "maybe"], "is not a boolean; use True or False."),
        ("2023.3.13026", ["configure", "--commsListenPort", "70000"], "is not a whole number from 1 to 65535."),
        ("2023.3.13026", ["configure", "--webListenPrefixes", "localhost:80"], "is not an http:// or https:// URL"),
        ("2023.3.13026", ["database", "--instance"], "Missing value for the option --instance."),
        ("2023.3.13026", ["version", "--instance", "x"], "Unrecognized command line arguments: --instance x"),
        ("3.17.14", ["database", "--connectionString", "Server=.;Database=x"], "Unrecognized command line arguments"),
        ("3.4.0", ["show-configuration"], "Command 'show-configuration' is not supported by Octopus Server 3.4.0"),
        (
            "3.16.3", ["create-instance", "--home", "/h", "--config", "/c"],
            "Unrecognized command line arguments: --home /h"
        ),
    ])
    func usageErrorsExitOne(_ version: String, _ arguments: [String], _ message: String) throws {
        let machine = try StandInMachine()
        let run = try machine.server(version, arguments)
        #expect(run.status == 1)
        #expect(run.stderr.contains(message), "\(run.all)")
    }

    @Test func flagsAreCaseInsensitiveInEveryForm() throws {
        let machine = try StandInMachine()
        try machine.provision(version: Self.current)
        let run = try machine.server(
            Self.current,
            [
                "CONFIGURE", "--INSTANCE", "OctopusServer", "-webforcessl", "True", "/commsListenPort:10944",
                "--WebListenPrefixes=http://localhost:18081,http://127.0.0.1:18082", "--nologo", "--console",
                "--noconsolelogging",
            ]
        )
        #expect(run.status == 0, "\(run.all)")
        #expect(run.stdout.isEmpty, "--noconsolelogging")
        let settings = try InstanceConfiguration.load(machine.configPath("OctopusServer")).settings
        #expect(settings["Octopus.WebPortal.ForceSsl"] == .bool(true))
        #expect(settings[InstanceConfiguration.Key.servicesPort] == .int(10944))
        #expect(
            settings[InstanceConfiguration.Key.listenPrefixes]
                == .string("http://localhost:18081,http://127.0.0.1:18082")
        )
    }

    @Test func anUnversionedBinaryRefusesOctopusServerVerbs() throws {
        let machine = try StandInMachine()
        let loose = "\(machine.root)/loose/bin"
        try FileManager.default.createDirectory(atPath: loose, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: "\(loose)/Octopus.Server",
            withDestinationPath: StandInMachine.binary
        )
        let run = try machine.run("\(loose)/Octopus.Server", ["version"])
        #expect(run.status == 100)
        #expect(run.stderr.contains("is not inside a versioned package: \(loose)/../VERSION does not exist"))
        let bin = try machine.package("2021.1.7500")
        let viaStandIn = try machine.run("\(bin)/octopus-standin", ["Octopus.Server", "version"])
        #expect(viaStandIn.stdout == "2021.1.7500\n")
        #expect(try machine.run("\(bin)/octopus-standin", ["version"]).stdout == "2021.1.7500\n")
        try FileManager.default.createSymbolicLink(
            atPath: "\(bin)/Octopus.Server.exe",
            withDestinationPath: StandInMachine.binary
        )
        #expect(try machine.run("\(bin)/Octopus.Server.exe", ["version"]).stdout == "2021.1.7500\n")
        // On PATH, argv[0] has no slash: the package is found through PATH.
        let onPath = try machine.run(
            "/bin/sh",
            ["-c", "Octopus.Server version"],
            environment: ["PATH": "\(bin):/usr/bin:/bin"]
        )
        #expect(onPath.stdout == "2021.1.7500\n", "\(onPath.all)")
    }

    @Test func createSQLServerPlaysInstallingSQLServer() throws {
        let machine = try StandInMachine()
        let standIn = "\(try machine.package(Self.current))/octopus-standin"
        let before = try machine.sqlcmd(["-S", "localhost\\SQLEXPRESS", "-Q", "PRINT 'up'"])
        #expect(before.status == 1, "no such server yet")
        let first = try machine.run(standIn, ["create-sql-server", "localhost\\SQLEXPRESS"])
        #expect(first.status == 0)
        #expect(first.stdout.hasPrefix("SQL Server 'localhost\\SQLEXPRESS' installed"))
        let second = try machine.run(standIn, ["create-sql-server", "localhost\\SQLEXPRESS"])
        #expect(second.status == 0)
        #expect(second.stdout.contains("is already installed"))
        #expect(machine.dataFolder.serverExists(".\\SQLEXPRESS"))
        #expect(try machine.sqlcmd(["-S", ".\\SQLEXPRESS", "-Q", "PRINT 'up'"]).stdout == "up\n")
        #expect(try machine.run(standIn, ["create-sql-server"]).status == 64)
        let help = try machine.server(Self.current, ["help"])
        #expect(help.status == 0 && help.stdout.contains("show-master-key"))
        let verbHelp = try machine.server(Self.current, ["path", "--help"])
        #expect(verbHelp.stdout.contains("--eventExports=VALUE"))
        #expect(!(try machine.server("2023.2.9755", ["path", "--help"])).stdout.contains("--eventExports"))
    }

    @Test func databaseDeleteDropsTheDatabase() throws {
        let machine = try StandInMachine()
        try machine.provision(version: Self.current)
        let delete = try machine.server(Self.current, ["database", "--delete"])
        #expect(delete.status == 0, "\(delete.all)")
        #expect(!machine.dataFolder.databaseExists(server: "localhost", database: "Octopus"))
        let again = try machine.server(Self.current, ["database", "--delete"])
        #expect(again.stdout.contains("does not exist on '(local)'; nothing to delete."))
        let start = try machine.server(Self.current, ["run"])
        #expect(start.stderr.contains("Cannot open database \"Octopus\""))
    }

    @Test func createInstanceAndDatabaseCreateAreIdempotent() throws {
        let machine = try StandInMachine()
        try machine.provision(version: Self.current)
        let installation = try machine.column(
            "Octopus",
            "SELECT JSON FROM Configuration WHERE Id = 'upgradeavailability'"
        )
        let again = try machine.server(
            Self.current,
            [
                "create-instance", "--instance", "OctopusServer", "--config", machine.configPath("OctopusServer"),
            ]
        )
        #expect(again.status == 0)
        #expect(again.stdout.contains("already exists"))
        let elsewhere = try machine.server(
            Self.current,
            [
                "create-instance", "--instance", "octopusserver", "--config", "\(machine.root)/other.config",
            ]
        )
        #expect(elsewhere.status == 100)
        #expect(elsewhere.stderr.contains("already exists and uses configuration"))
        let create = try machine.server(Self.current, ["database", "--create"])
        #expect(create.status == 0, "\(create.all)")
        #expect(create.stdout.contains("already exists on '(local)'; it is not created again."))
        #expect(
            try machine.column("Octopus", "SELECT JSON FROM Configuration WHERE Id = 'upgradeavailability'")
                == installation
        )
        let noServer = try machine.server(
            Self.current,
            [
                "database", "--connectionString", "Data Source=prod-sql01;Initial Catalog=Octopus", "--create",
            ]
        )
        #expect(noServer.status == 100)
        #expect(noServer.stderr.contains("A network-related or instance-specific error"))
        let noDatabase = try machine.server(
            Self.current,
            [
                "database", "--connectionString", "Data Source=.;Initial Catalog=Missing;Integrated Security=True",
            ]
        )
        #expect(noDatabase.status == 100)
        #expect(noDatabase.stderr.contains("Cannot open database \"Missing\""))
    }

    @Test func anOctopus3InstanceConfiguresItsDatabaseThroughConfigure() throws {
        let machine = try StandInMachine()
        let port = try StandInMachine.freePort()
        try machine.provision(version: "3.17.14", port: port)
        let database = try machine.open("Octopus")
        #expect(try database.tableExists("Machine"))
        for table in ["Worker", "Space", "OctopusServerNodeStatus"] { #expect(try !database.tableExists(table)) }
        #expect(try SchemaScripts.schemaVersion(of: database) == StandInVersion("3.17.14"))
        try machine.whileServing("3.17.14") {
            let root = try StandInMachine.get("http://127.0.0.1:\(port)/api")
            #expect(root.status == 200)
            #expect(root.body.contains("\"Version\":\"3.17.14\""), "\(root.body)")
        }
    }

    @Test func serviceStartServesThenStopsAndReportsWhyItCannotStart() throws {
        let machine = try StandInMachine()
        let port = try StandInMachine.freePort()
        try machine.provision(version: Self.current, port: port)
        let notInstalled = try machine.server(Self.current, ["service", "--start"])
        #expect(notInstalled.status == 100)
        #expect(notInstalled.stderr.contains("The OctopusDeploy service is not installed"))
        let start = try machine.whileServing(Self.current) {
            let ping = try StandInMachine.get("http://127.0.0.1:\(port)/api/octopusservernodes/ping")
            #expect(ping.status == 200, "\(ping.body)")
            #expect(FileManager.default.fileExists(atPath: "\(machine.root)/OctopusServer/standin.pid"))
            let again = try machine.server(Self.current, ["service", "--start"])
            #expect(again.all.contains("already running"), "\(again.all)")
            // A second instance configured on the same port cannot start, and says why.
            let config = machine.configPath("Other")
            for step in [
                ["create-instance", "--instance", "Other", "--config", config],
                [
                    "database", "--instance", "Other", "--connectionString",
                    StandInMachine.connectionString("Other"), "--create",
                ],
                ["configure", "--instance", "Other", "--webListenPrefixes", "http://localhost:\(port)"],
                ["license", "--instance", "Other", "--licenseBase64", StandInMachine.licenseBase64],
            ] {
                #expect(try machine.server(Self.current, step).status == 0)
            }
            let busy = try machine.server(
                Self.current,
                ["service", "--instance", "Other", "--install", "--reconfigure", "--start"]
            )
            #expect(busy.status == 100)
            #expect(busy.stderr.contains("something already listens on"), "\(busy.all)")
        }
        #expect(start.stdout.contains("Service OctopusDeploy installed."))
        #expect(!FileManager.default.fileExists(atPath: "\(machine.root)/OctopusServer/standin.pid"))
        let stop = try machine.server(Self.current, ["service", "--stop"])
        #expect(stop.status == 0)
        #expect(stop.stdout.contains("Service OctopusDeploy is not running."))
    }

    @Test func nodeDrainAndTaskCap() throws {
        let machine = try StandInMachine()
        try machine.provision(version: Self.current)
        let drain = try machine.server(Self.current, ["node", "--instance=OctopusServer", "--drain=true", "--wait=0"])
        #expect(drain.status == 0, "\(drain.all)")
        let select =
            "SELECT IsInMaintenanceMode, MaxConcurrentTasks FROM OctopusServerNode WHERE Name = 'node-OctopusServer'"
        #expect(try machine.open("Octopus").query(select).rows == [[.integer(1), .integer(5)]])
        _ = try machine.server(Self.current, ["node", "--drain=false", "--taskCap", "3"])
        #expect(try machine.open("Octopus").query(select).rows == [[.integer(0), .integer(3)]])
        let neither = try machine.server(Self.current, ["node"])
        #expect(neither.status == 1)
    }

    @Test func aRestoredCloneNeedsTheProductionKeyAndALicence() throws {
        let machine = try StandInMachine()
        let productionKey = MasterKey.generate()
        let production = try OctopusDatabase.create(
            in: machine.dataFolder,
            server: "localhost",
            database: "OctopusDeploy",
            version: try #require(StandInVersion(Self.current)),
            masterKey: productionKey
        )
        try production.run(
            "INSERT INTO Account (Id, Name, SpaceId, [JSON]) VALUES ('Accounts-1', 'azure', 'Spaces-1', "
                + "json_object('Password', ?))",
            [.text(productionKey.encrypt("hunter2"))]
        )
        try SensitiveValues.prepare(database: production, masterKey: productionKey)
        let bak = "\(machine.root)/prod.bak"
        try DatabaseBackup.backup(
            dataFolder: machine.dataFolder,
            server: "localhost",
            database: "OctopusDeploy",
            to: bak
        )
        let folder = "\(machine.root)/data-dir"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let restore = try machine.sqlcmd([
            "-b", "-Q",
            "RESTORE DATABASE [OctopusClone] FROM DISK = N'\(bak)' WITH MOVE N'OctopusDeploy' TO N'\(folder)/c.mdf', "
                + "MOVE N'OctopusDeploy_log' TO N'\(folder)/c_log.ldf'",
        ])
        #expect(restore.status == 0, "\(restore.all)")
        let steps: [[String]] = [
            [
                "create-instance", "--instance", "Clone", "--config", machine.configPath("Clone"), "--serverNodeName",
                "clone1",
            ],
            [
                "database", "--instance", "Clone", "--connectionString",
                StandInMachine.connectionString("OctopusClone"),
                "--masterKey", productionKey.base64,
            ],
            [
                "configure", "--instance", "Clone", "--webListenPrefixes",
                "http://localhost:\(try StandInMachine.freePort())",
            ],
        ]
        for step in steps {
            let run = try machine.server(Self.current, step)
            #expect(run.status == 0, "\(run.all)")
        }
        let noLicence = try machine.server(Self.current, ["run", "--instance", "Clone"])
        #expect(noLicence.status == 100)
        #expect(noLicence.stderr.contains("no licence is installed"), "\(noLicence.all)")
        _ = try machine.server(
            Self.current,
            ["license", "--instance", "Clone", "--licenseBase64", StandInMachine.licenseBase64]
        )
        try machine.whileServing(Self.current, instance: "Clone")
        let node = try machine.column("OctopusClone", "SELECT Name FROM OctopusServerNode")
        #expect(node == ["clone1"], "the server registers its node when it starts")
    }
}
