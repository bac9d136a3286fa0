import Foundation
import OctopusStandIn
import TestHelpers
import Testing

/// `Octopus.Server` called exactly as `Templates/standin/*.sh` call it: every flag as `--name=value`, and the
/// probes (`list-instances`, `show-configuration --format=json --noconsolelogging`, `show-master-key
/// --format=json`) reading the keys docs/templates.md lists.
@Suite(.tags(.medium))
struct StandInStepInvocationTests {
    static let version = "2023.3.13026"

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
    }

    func probe(_ machine: borrowing StandInMachine, _ instance: String) throws -> [String: Any] {
        let shown = try machine.server(
            Self.version,
            ["show-configuration", "--instance=\(instance)", "--format=json", "--noconsolelogging"]
        )
        #expect(shown.status == 0, "\(shown.all)")
        return try json(shown.stdout)
    }

    @Test func theTestInstanceStepsInTheirOrder() throws {
        let machine = try StandInMachine()
        // The home is reached through a symbolic link: paths are kept as given, so the probes match them.
        let real = "\(machine.root)/real"
        try FileManager.default.createDirectory(atPath: real, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(machine.root)/link", withDestinationPath: real)
        let home = "\(machine.root)/link/Octo'Home"
        let config = "\(home)/Test.config"

        let created = try machine.server(
            Self.version,
            ["create-instance", "--instance=Test", "--config=\(config)", "--home=\(home)", "--serverNodeName=node-a"]
        )
        #expect(created.status == 0, "\(created.all)")
        let listed = try machine.server(Self.version, ["list-instances"])
        #expect(listed.stdout.split(separator: "\n").contains("Instance 'Test' uses configuration '\(config)'."))
        var settings = try probe(machine, "Test")
        #expect(settings["Octopus.Home"] as? String == home)
        #expect(settings["Octopus.Storage.NodeName"] as? String == "node-a")
        #expect(settings["Octopus.Folders.PackagesDirectory"] == nil, "no database yet")

        let connection = "Server=localhost;Database=Octopus Test;Trusted_Connection=True;"
        let database = try machine.server(
            Self.version,
            ["database", "--instance=Test", "--connectionString=\(connection)", "--create"]
        )
        #expect(database.status == 0, "\(database.all)")
        let configured = try machine.server(
            Self.version,
            [
                "configure", "--instance=Test", "--webListenPrefixes=http://localhost:18081",
                "--commsListenPort=10944", "--webForceSSL=False",
            ]
        )
        #expect(configured.status == 0, "\(configured.all)")
        settings = try probe(machine, "Test")
        #expect(settings["Octopus.Storage.ExternalDatabaseConnectionString"] as? String == connection)
        #expect(settings["Octopus.WebPortal.ListenPrefixes"] as? String == "http://localhost:18081")
        #expect(settings["Octopus.Communications.ServicesPort"] as? Int == 10944)
        #expect(settings["Octopus.WebPortal.ForceSsl"] as? Bool == false)
        // `database --create` set the default folders under the home.
        #expect(settings["Octopus.Folders.PackagesDirectory"] as? String == "\(home)/Packages")
        #expect(settings["Octopus.Folders.LogDirectory"] as? String == "\(home)/TaskLogs")

        let folders = "\(machine.root)/link/folders"
        let path = try machine.server(
            Self.version,
            [
                "path", "--instance=Test", "--nugetRepository=\(folders)/Packages",
                "--artifacts=\(folders)/Artifacts", "--taskLogs=\(folders)/Task Logs",
                "--imports=\(folders)/Imports", "--eventExports=\(folders)/EventExports/",
            ]
        )
        #expect(path.status == 0, "\(path.all)")
        settings = try probe(machine, "Test")
        let expected = [
            "Octopus.Folders.PackagesDirectory": "\(folders)/Packages",
            "Octopus.Folders.ArtifactsDirectory": "\(folders)/Artifacts",
            "Octopus.Folders.LogDirectory": "\(folders)/Task Logs",
            "Octopus.Folders.ImportsDirectory": "\(folders)/Imports",
            "Octopus.Folders.EventExportsDirectory": "\(folders)/EventExports/",
        ]
        for (key, value) in expected { #expect(settings[key] as? String == value, "\(key)") }

        let admin = try machine.server(
            Self.version,
            [
                "admin", "--instance=Test", "--username=admin", "--email=admin@example.com",
                "--password=\(StandInMachine.adminPassword)", "--apiKey=\(StandInMachine.apiKey)",
            ]
        )
        #expect(admin.status == 0, "\(admin.all)")
        let licence = try machine.server(
            Self.version,
            ["license", "--instance=Test", "--licenseBase64=\(StandInMachine.licenseBase64)"]
        )
        #expect(licence.status == 0, "\(licence.all)")
        let key = try machine.server(Self.version, ["show-master-key", "--instance=Test", "--format=json"])
        let masterKey = try #require(try json(key.stdout)["MasterKey"] as? String)
        #expect(try MasterKey(base64: masterKey).base64 == masterKey)
        let service = try machine.server(Self.version, ["service", "--instance=Test", "--install", "--reconfigure"])
        #expect(service.status == 0, "\(service.all)")
    }

    @Test func aCloneShowsProductionsFoldersUntilPathPointsItAtItsOwn() throws {
        let machine = try StandInMachine()
        let out = "\(machine.root)/production"
        let bin = try machine.package(Self.version)
        let seeded = try machine.run(
            "\(bin)/octopus-standin",
            [
                "seed", "--version", Self.version, "--out", out, "--task-logs", "1", "--package-size", "10",
                "--target-endpoint", "https://127.0.20.1:10933/", "--webhook-url", "http://127.0.20.2:8090/hook",
                "--server-uri", "https://octopus.example.com", "--sql-server", "localhost",
                "--database", "Production",
            ]
        )
        #expect(seeded.status == 0, "\(seeded.all)")
        let restored = try machine.sqlcmd([
            "-x", "-b", "-S", "localhost", "-h", "-1", "-W", "-s", "|", "-Q",
            """
            RESTORE DATABASE [Clone] FROM DISK = N'\(out)/OctopusDeploy.bak' WITH \
            MOVE N'Production' TO N'\(machine.data)/localhost/Clone.mdf', \
            MOVE N'Production_log' TO N'\(machine.data)/localhost/Clone_log.ldf', RECOVERY, STATS = 50
            """,
        ])
        #expect(restored.status == 0, "\(restored.all)")
        #expect(restored.stdout.hasPrefix("50 percent processed.\n100 percent processed.\n"))
        let home = "\(machine.root)/clone"
        let masterKey = try String(contentsOfFile: "\(out)/master-key", encoding: .utf8)
        for step in [
            ["create-instance", "--instance=Clone", "--config=\(home)/Clone.config", "--home=\(home)"],
            [
                "database", "--instance=Clone", "--connectionString=Server=(local);Database=Clone;",
                "--masterKey=\(masterKey)",
            ],
        ] {
            let run = try machine.server(Self.version, step)
            #expect(run.status == 0, "\(step[0]): \(run.all)")
        }
        var settings = try probe(machine, "Clone")
        #expect(settings["Octopus.Folders.PackagesDirectory"] as? String == "\(out)/folders/Packages")
        let path = try machine.server(Self.version, ["path", "--instance=Clone", "--nugetRepository=\(home)/Packages"])
        #expect(path.status == 0, "\(path.all)")
        settings = try probe(machine, "Clone")
        #expect(settings["Octopus.Folders.PackagesDirectory"] as? String == "\(home)/Packages")
        #expect(settings["Octopus.Folders.ArtifactsDirectory"] as? String == "\(out)/folders/Artifacts")
    }

    @Test func aConnectionStringWhoseDatabaseIsAPathIsRefused() throws {
        let machine = try StandInMachine()
        let home = "\(machine.root)/x"
        let created = try machine.server(
            Self.version,
            ["create-instance", "--instance=X", "--config=\(home)/X.config", "--home=\(home)"]
        )
        #expect(created.status == 0, "\(created.all)")
        let database = try machine.server(
            Self.version,
            ["database", "--instance=X", "--connectionString=Server=localhost;Database=../escape;", "--create"]
        )
        #expect(database.status == 1)
        #expect(database.stderr.contains("cannot keep as a file"), "\(database.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(machine.data)/escape.sqlite"))
    }

    @Test(arguments: [
        ("Server=localhost;Database=Octopus;Trusted_Connection=True;", "localhost", "Octopus"),
        (" Data Source = (local)\\SQLEXPRESS ; Initial Catalog = Octo pus ;", "(local)\\SQLEXPRESS", "Octo pus"),
        ("Server=db;Database=\"a;b=\"\"c\"\"\";User ID=sa;Password='p;''w'", "db", "a;b=\"c\""),
        ("Server=db;Database='it''s ]$(id)`id` 日本語'", "db", "it's ]$(id)`id` 日本語"),
    ])
    func connectionStringsAreParsedAsSqlConnectionDoes(_ text: String, _ server: String, _ database: String) throws {
        let parsed = try ConnectionString(text)
        #expect(parsed.server == server)
        #expect(parsed.database == database)
    }

    @Test(arguments: [
        "Server=db", "Database=x", "Server=db;Database=\"x", "Server=db;Database=\"x\"y", "Server=db;oops;Database=x",
        "Server=db;=x;Database=y", "Server=db;Database=" + String(repeating: "日", count: 81),
    ])
    func malformedConnectionStringsAreRefusedWithoutRepeatingThem(_ text: String) {
        let error = #expect(throws: OctopusServerError.self) { try ConnectionString(text) }
        #expect(error?.message.contains(text) == false)
    }
}
