import Foundation
import OctopusStandIn
import TestHelpers
import Testing

@Suite(.tags(.small))
struct StandInVersionTests {
    @Test(arguments: [
        ("3.17.14", [3, 17, 14]), ("4.1", [4, 1]), ("2018.10.0", [2018, 10, 0]), ("2023.3.13026", [2023, 3, 13026]),
        (" 2024.1.100\n", [2024, 1, 100]), ("1.2.3.4", [1, 2, 3, 4]),
    ])
    func parses(_ text: String, _ components: [Int]) throws {
        let version = try #require(StandInVersion(text))
        #expect(version.components == components)
        #expect(version.description == text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test(arguments: ["", "2023", "2023.", ".3", "2023.3.x", "v2023.3", "2023.3.1-beta", "1.2.3.4.5", "2023..1"])
    func refusesWhatIsNotAVersion(_ text: String) {
        #expect(StandInVersion(text) == nil)
    }

    @Test func ordersNumberByNumber() throws {
        let ordered = [
            "3.0.0", "3.17.14", "4.1", "2018.7.0", "2018.10.0", "2019.1.0", "2023.2.9755", "2023.3.0",
            "2023.3.13026", "2024.1.100",
        ].compactMap(StandInVersion.init)
        #expect(ordered.count == 10)
        #expect(ordered.shuffled().sorted() == ordered)
        #expect(StandInVersion("4.1") == StandInVersion("4.1.0"))
        #expect(Set([StandInVersion("4.1"), StandInVersion("4.1.0")]).count == 1)
        #expect(try #require(StandInVersion("2023.3.13026")).majorMinor == "2023.3")
    }

    @Test func featureGatesFollowTheFacts() throws {
        func features(_ text: String) throws -> StandInFeatures {
            StandInFeatures(version: try #require(StandInVersion(text)))
        }
        #expect(try !features("2018.12.1").hasSpaces && features("2019.1.0").hasSpaces)
        #expect(try !features("2018.6.13").hasWorkers && features("2018.7.0").hasWorkers)
        #expect(try !features("2020.6.4000").hasExportImport && features("2021.1.7500").hasExportImport)
        #expect(try !features("2020.6.4000").hasImportsFolder && features("2021.1.0").hasImportsFolder)
        #expect(try !features("2023.2.9755").hasEventExports && features("2023.3.0").hasEventExports)
        #expect(try features("3.17.14").absentTables == ["Worker", "WorkerPool", "Space", "OctopusServerNodeStatus"])
        #expect(try features("2023.3.13026").absentTables.isEmpty)
        #expect(try !features("3.17.14").databaseVerbConnects && features("4.0.0").databaseVerbConnects)
    }

    @Test func scriptsBetweenVersions() throws {
        let v2018 = try #require(StandInVersion("2018.10.0"))
        let v2023 = try #require(StandInVersion("2023.3.13026"))
        #expect(
            SchemaScripts.scripts(from: nil, to: v2018).map(\.scriptName) == [
                "Script3.0.0-0001-CreateSchema", "Script2018.7.0-0001-AddWorkers", "Script2018.10.0-9999-Release",
            ]
        )
        #expect(
            SchemaScripts.scripts(from: v2018, to: v2023).map(\.scriptName) == [
                "Script2019.1.0-0001-AddSpaces", "Script2019.3.0-0001-SplitNodeStatus",
                "Script2023.3.13026-9999-Release",
            ]
        )
        #expect(SchemaScripts.scripts(from: v2023, to: v2023).isEmpty)
        #expect(SchemaScripts.scripts(from: v2023, to: v2018).isEmpty)
        let parsed = try #require(SchemaScript(scriptName: "Script2019.1.0-0001-AddSpaces"))
        #expect(parsed.version == StandInVersion("2019.1.0") && parsed.number == 1 && parsed.name == "AddSpaces")
        #expect(SchemaScript(scriptName: "Octopus.Core.UpgradeScripts.Script0001 - Initial.sql") == nil)
    }

    @Test func upgradeCreatesTheTablesOfTheNewFeatures() throws {
        let machine = try StandInMachine()
        let old = try #require(StandInVersion("2018.10.0"))
        let new = try #require(StandInVersion("2023.3.13026"))
        let database = try OctopusDatabase.create(
            in: machine.dataFolder,
            server: "localhost",
            database: "Upgraded",
            version: old,
            masterKey: .generate()
        )
        try database.run("INSERT INTO Machine (Id, Name) VALUES ('Machines-1', 'web')")
        #expect(try !database.tableExists("Space") && database.tableExists("Worker"))
        #expect(try SchemaScripts.schemaVersion(of: database) == old)
        let scripts = try OctopusDatabase.upgrade(database, to: new)
        #expect(scripts.count == 3)
        #expect(try SchemaScripts.schemaVersion(of: database) == new)
        #expect(try database.tableExists("Space") && database.tableExists("OctopusServerNodeStatus"))
        #expect(try machine.column("Upgraded", "SELECT SpaceId FROM Machine") == ["Spaces-1"])
        #expect(try SchemaScripts.installationHistory(of: database).map(\.version) == ["2023.3.13026", "2018.10.0"])
        #expect(throws: OctopusDatabaseError.self) { try OctopusDatabase.upgrade(database, to: old) }
    }
}
