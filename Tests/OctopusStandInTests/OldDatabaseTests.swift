import Foundation
import OctopusStandIn
import TestHelpers
import Testing
import Wire

/// Databases and backups written by stand-in builds from before the `DeploymentProcess` table (no such
/// table, no `IsFrozen` columns, projects that do not name a process): a server started on one, a backup of
/// one restored and upgraded, keep working and gain the model.
@Suite(.tags(.medium))
struct OldDatabaseTests {
    /// Makes a database look like an older stand-in wrote it.
    static func makeOld(_ database: SQLiteDatabase) throws {
        try database.execute("DROP TABLE IF EXISTS [DeploymentProcess]")
        try database.execute("ALTER TABLE [VariableSet] DROP COLUMN [IsFrozen]")
    }

    @Test func aServerStartedOnAnOldDatabaseServesEveryProjectsProcessAndVariables() async throws {
        let fixture = try APIFixture { database in
            try Self.makeOld(database)
            try APIFixture.insert(
                database,
                "Project",
                ["Id": "Projects-1", "Name": "Web", "SpaceId": "Spaces-1", "IsDisabled": 0],
                json: ["Slug": "web"]
            )
            try APIFixture.insert(
                database,
                "Channel",
                ["Id": "Channels-1", "Name": "Default", "SpaceId": "Spaces-1", "ProjectId": "Projects-1"],
                json: ["IsDefault": true]
            )
            try APIFixture.insert(
                database,
                "VariableSet",
                ["Id": "variableset-Projects-1", "SpaceId": "Spaces-1", "OwnerId": "Projects-1"],
                json: [
                    "Variables": JSONValue.array([
                        .object([("Name", .string("Tier")), ("Value", .string("prod")), ("IsSensitive", .bool(false))])
                    ])
                ]
            )
            try APIFixture.insert(
                database,
                "Release",
                ["Id": "Releases-1", "SpaceId": "Spaces-1", "ProjectId": "Projects-1", "Version": "1.0.0"],
                json: ["ChannelId": "", "ReleaseNotes": "Seeded"]
            )
        }
        try fixture.start()
        let columns = try fixture.column("SELECT name FROM pragma_table_info('VariableSet')")
        #expect(columns.contains("IsFrozen"))
        #expect(try fixture.column("SELECT Id FROM DeploymentProcess") == ["deploymentprocess-Projects-1"])

        let project = try await fixture.getJSON("/api/Spaces-1/projects/Projects-1")
        #expect(project["DeploymentProcessId"] == .string("deploymentprocess-Projects-1"))
        #expect(project["VariableSetId"] == .string("variableset-Projects-1"))
        var process = try #require(
            try await fixture.getJSON("/api/Spaces-1/projects/Projects-1/deploymentprocesses").objectValue
        )
        #expect(process["Version"] == .integer(0) && process["Steps"] == .array([]))
        process["Steps"] = .array([.object([("Name", .string("Deploy"))])])
        let put = try await fixture.request(
            "PUT",
            "/api/Spaces-1/deploymentprocesses/deploymentprocess-Projects-1",
            body: .object(process)
        )
        #expect(put.status == 200, "\(put.text)")
        #expect(try put.json()["Version"] == .integer(1))

        var variables = try #require(
            try await fixture.getJSON("/api/Spaces-1/variables/variableset-Projects-1").objectValue
        )
        #expect(variables["Version"] == .integer(0))
        #expect(variables["Variables"]?.arrayValue?.first?["Value"] == .string("prod"))
        let putVariables = try await fixture.request(
            "PUT",
            "/api/Spaces-1/variables/variableset-Projects-1",
            body: .object(variables)
        )
        #expect(putVariables.status == 200, "\(putVariables.text)")
        #expect(try putVariables.json()["Version"] == .integer(1))
        variables = try #require(try putVariables.json().objectValue)
        #expect(variables["Variables"]?.arrayValue?.first?["Id"]?.stringValue?.isEmpty == false)

        let old = try await fixture.getJSON("/api/Spaces-1/releases/Releases-1")
        #expect(
            old["ProjectDeploymentProcessSnapshotId"] == .null && old["LibraryVariableSetSnapshotIds"] == .array([])
        )
        let created = try await fixture.request(
            "POST",
            "/api/Spaces-1/releases",
            body: .object([("ProjectId", .string("Projects-1")), ("Version", .string("1.1.0"))])
        )
        #expect(created.status == 201, "\(created.text)")
        let snapshot = try #require(try created.json()["ProjectDeploymentProcessSnapshotId"]?.stringValue)
        #expect(snapshot.hasPrefix("deploymentprocess-Projects-1-s-1-"))
        #expect(try created.json()["ChannelId"] == .string("Channels-1"))
    }

    @Test func anOldBackupRestoresUpgradesAndServes() async throws {
        let machine = try StandInMachine()
        let old = "2022.4.8319"
        let current = OctopusServerCLITests.current
        try machine.provision(
            version: old,
            instance: "Production",
            database: "Production",
            port: try StandInMachine.freePort()
        )
        let key = try machine.server(old, ["show-master-key", "--instance", "Production"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let production = try machine.open("Production")
        try Self.makeOld(production)
        try production.run(
            "INSERT INTO Project (Id, Name, SpaceId, [JSON]) VALUES ('Projects-1', 'Web', 'Spaces-1', '{\"Slug\":\"web\"}')"
        )
        try production.run(
            "INSERT INTO VariableSet (Id, SpaceId, OwnerId, [JSON]) VALUES ('variableset-Projects-1', 'Spaces-1', "
                + "'Projects-1', '{\"Variables\":[{\"Name\":\"Tier\",\"Value\":\"prod\"}]}')"
        )
        let backup = "\(machine.root)/old.bak"
        let restored = try machine.sqlcmd([
            "-S", "(local)", "-b", "-Q",
            "BACKUP DATABASE [Production] TO DISK = N'\(backup)' WITH INIT\n"
                + "RESTORE DATABASE [Clone] FROM DISK = N'\(backup)' WITH MOVE N'Production' TO N'\(machine.root)/Clone.mdf', "
                + "MOVE N'Production_log' TO N'\(machine.root)/Clone_log.ldf'",
        ])
        #expect(restored.status == 0, "\(restored.all)")
        #expect(!(try machine.open("Clone").tableExists("DeploymentProcess")), "the backup is of the old shape")

        let port = try StandInMachine.freePort()
        let steps: [[String]] = [
            [
                "create-instance", "--instance", "Clone", "--config", machine.configPath("Clone"), "--serverNodeName",
                "clone",
            ],
            ["database", "--instance", "Clone", "--connectionString", StandInMachine.connectionString("Clone")],
            ["database", "--instance", "Clone", "--upgrade"],
            ["configure", "--instance", "Clone", "--webListenPrefixes", "http://localhost:\(port)"],
            ["admin", "--instance", "Clone", "--username", "octoprov", "--apiKey", StandInMachine.apiKey],
        ]
        for step in steps {
            let run = try machine.server(current, step, environment: ["MASTER_KEY": key])
            #expect(run.status == 0, "\(step[0]): \(run.all)")
        }
        let clone = try machine.open("Clone")
        #expect(try SchemaScripts.schemaVersion(of: clone)?.description == current)
        #expect(try machine.column("Clone", "SELECT Id FROM DeploymentProcess") == ["deploymentprocess-Projects-1"])
        #expect(
            try machine.column("Clone", "SELECT COUNT(*) FROM pragma_table_info('VariableSet') WHERE name = 'IsFrozen'")
                == ["1"]
        )

        try machine.whileServing(current, instance: "Clone") {
            let process = try StandInMachine.get(
                "http://localhost:\(port)/api/Spaces-1/projects/Projects-1/deploymentprocesses?apikey=\(StandInMachine.apiKey)"
            )
            #expect(process.status == 200, "\(process.body)")
            let document = try JSONValue(parsing: process.body)
            #expect(document["Version"] == .integer(0) && document["ProjectId"] == .string("Projects-1"))
            let variables = try StandInMachine.get(
                "http://localhost:\(port)/api/Spaces-1/variables/variableset-Projects-1?apikey=\(StandInMachine.apiKey)"
            )
            #expect(variables.status == 200 && variables.body.contains("\"Tier\""), "\(variables.body)")
        }
    }
}
