import Foundation
import OctopusStandIn
import Testing

/// `octopus-standin seed` through the real binary: the backup restores elsewhere, the master key opens it,
/// the rows and folders match what seed.json says.
@Suite("octopus-standin seed")
struct SeedTests {
    private static let endpoints = [
        "--target-endpoint", "https://127.0.20.1:10933/", "--webhook-url", "http://127.0.20.2:8090/hook",
        "--server-uri", "https://octopus.example.com",
    ]

    @Test func seededBackupRestoresAsACloneThatOnlyTheProductionKeyOpens() throws {
        let machine = try StandInMachine()
        let out = "\(machine.root)/production"
        let bin = try machine.package("2023.3.13026")
        let seeded = try machine.run(
            "\(bin)/octopus-standin",
            ["seed", "--version", "2023.3.13026", "--out", out, "--task-logs", "25", "--package-size", "10000"]
                + Self.endpoints
        )
        #expect(seeded.status == 0, "\(seeded.all)")
        let summary = try JSONDecoder().decode(
            SeedSummary.self,
            from: try Data(contentsOf: URL(fileURLWithPath: "\(out)/seed.json"))
        )
        #expect(summary.spaces == ["Spaces-1", "Spaces-2"])
        #expect(summary.projects == 8 && summary.targets == 6 && summary.triggers == 4 && summary.queuedTasks == 4)
        #expect(summary.folderFiles["TaskLogs"] == 25)
        #expect(summary.folderFiles["EventExports"] == 3)
        let keyAttributes = try FileManager.default.attributesOfItem(atPath: "\(out)/master-key")
        #expect((keyAttributes[.posixPermissions] as? Int) == 0o600)
        let apiKey = try String(contentsOfFile: "\(out)/api-key", encoding: .utf8)
        #expect(apiKey.hasPrefix("API-"))
        #expect(!seeded.all.contains(apiKey))
        let masterKey = try String(contentsOfFile: "\(out)/master-key", encoding: .utf8)
        #expect(!seeded.all.contains(masterKey))

        // Restore on another server as a new database, as a clone does.
        let restored = try machine.sqlcmd([
            "-S", "localhost", "-b", "-Q",
            """
            RESTORE DATABASE [OctopusClone] FROM DISK = N'\(out)/OctopusDeploy.bak' WITH \
            MOVE N'OctopusDeploy' TO N'\(machine.data)/localhost/OctopusClone.mdf', \
            MOVE N'OctopusDeploy_log' TO N'\(machine.data)/localhost/OctopusClone_log.ldf'
            """,
        ])
        #expect(restored.status == 0, "\(restored.all)")
        let clone = try machine.open("OctopusClone")
        let enabled = try clone.query("SELECT COUNT(*) FROM Machine WHERE IsDisabled = 0").rows.first?.first?.integer
        #expect(enabled == Int64(summary.targets))
        let installation = try clone.query(
            "SELECT json_extract([JSON], '$.InstallationId') FROM Configuration WHERE Id = 'upgradeavailability'"
        )
        #expect(installation.rows.first?.first?.text == summary.installationId)
        let password = try #require(
            try clone.query("SELECT json_extract([JSON], '$.Password') FROM Account LIMIT 1").rows.first?.first?.text
        )
        #expect(try MasterKey(base64: masterKey).decrypt(password).hasPrefix("s3cret-"))

        let hashed = try clone.query("SELECT ApiKeyHashed FROM ApiKey WHERE UserId = 'Users-1'").rows.first?.first
        #expect(hashed?.text == APIKeyHash.hashed(apiKey))
        let events = try clone.query("SELECT COUNT(*) FROM Event").rows.first?.first?.integer
        #expect(events == Int64(summary.projects))

        let config = machine.configPath("Clone")
        #expect(
            try machine.server(
                "2023.3.13026",
                ["create-instance", "--instance", "Clone", "--config", config, "--serverNodeName", "clone-node"]
            ).status == 0
        )
        let wrong = try machine.server(
            "2023.3.13026",
            [
                "database", "--instance", "Clone", "--connectionString",
                StandInMachine.connectionString("OctopusClone"), "--masterKey", MasterKey.generate().base64,
            ]
        )
        #expect(wrong.status != 0)
        #expect(wrong.all.lowercased().contains("master key"))
        let right = try machine.server(
            "2023.3.13026",
            [
                "database", "--instance", "Clone", "--connectionString",
                StandInMachine.connectionString("OctopusClone"), "--masterKey", masterKey,
            ]
        )
        #expect(right.status == 0, "\(right.all)")
    }

    @Test func aVersionBeforeSpacesSeedsUnscopedDataAndOnlyItsFolders() throws {
        let machine = try StandInMachine()
        let out = "\(machine.root)/production"
        let bin = try machine.package("2018.10.0")
        let seeded = try machine.run(
            "\(bin)/octopus-standin",
            ["seed", "--version", "2018.10.0", "--out", out, "--task-logs", "3", "--package-size", "100"]
                + Self.endpoints
        )
        #expect(seeded.status == 0, "\(seeded.all)")
        let summary = try JSONDecoder().decode(
            SeedSummary.self,
            from: try Data(contentsOf: URL(fileURLWithPath: "\(out)/seed.json"))
        )
        #expect(summary.spaces.isEmpty)
        #expect(summary.projects == 4)
        #expect(summary.folderFiles["EventExports"] == nil && summary.folderFiles["Imports"] == nil)
        #expect(!FileManager.default.fileExists(atPath: "\(out)/folders/EventExports"))
    }

    @Test func badInputIsRefusedWithOneSentence() throws {
        let machine = try StandInMachine()
        let bin = try machine.package("2023.3.13026")
        let missing = try machine.run("\(bin)/octopus-standin", ["seed", "--version", "2023.3.13026"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("--out is required"))
        let badVersion = try machine.run(
            "\(bin)/octopus-standin",
            ["seed", "--version", "2023.x", "--out", "o"] + Self.endpoints
        )
        #expect(badVersion.status == 1)
        #expect(badVersion.stderr.contains("is not an Octopus version"))
        let unknown = try machine.run("\(bin)/octopus-standin", ["seed", "--colour", "red"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("unknown option"))
    }
}
