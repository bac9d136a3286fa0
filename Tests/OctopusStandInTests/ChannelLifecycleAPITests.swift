import Foundation
import OctopusStandIn
import TestHelpers
import Testing
import Wire

/// Channels and lifecycles over real HTTP on loopback: the seeded shapes (`ChannelResource`,
/// `LifecycleResource`), paging, a project's channels, the unscoped paths before 2019.1, and that Export/Import
/// Projects and the Migrator bring a project's channels and their lifecycles to the test instance.
@Suite("Channels and lifecycles", .tags(.medium))
struct ChannelLifecycleAPITests {
    /// A lifecycle of its own and a second channel ("Hotfix") for Web App 1.2, on a seeded source. The lifecycle
    /// is stored the way an older stand-in wrote lifecycles: phases without an `Id` or retention policies.
    static func addHotfixChannel(_ database: SQLiteDatabase, space: String?) throws {
        try database.run(
            "INSERT INTO Lifecycle (Id, Name, SpaceId, [JSON]) VALUES ('Lifecycles-90', 'Hotfix Lifecycle', ?, ?)",
            [
                space.map { .text($0) } ?? .null,
                .text(
                    #"{"Phases":[{"Name":"Straight to production","OptionalDeploymentTargets":["Environments-3"]}]}"#
                ),
            ]
        )
        try database.run(
            "INSERT INTO Channel (Id, Name, SpaceId, ProjectId, [JSON]) VALUES ('Channels-90', 'Hotfix', ?, 'Projects-2', ?)",
            [
                space.map { .text($0) } ?? .null,
                .text(
                    #"{"ProjectId":"Projects-2","LifecycleId":"Lifecycles-90","IsDefault":false,"Description":"Hotfixes"}"#
                ),
            ]
        )
    }

    static func seeded() throws -> BentoInstance {
        try BentoInstance(version: "2023.3.13026", seeded: true) { try addHotfixChannel($0, space: "Spaces-1") }
    }

    /// GET that must answer 200, parsed.
    static func get(port: Int, apiKey: String, _ path: String) async throws -> JSONValue {
        let response = try await BentoInstance.send(port: port, apiKey: apiKey, "GET", path)
        #expect(response.status == 200, "GET \(path): \(response.status) \(response.text)")
        return try response.json()
    }

    static func get(_ instance: BentoInstance, _ path: String) async throws -> JSONValue {
        try await get(port: instance.port, apiKey: instance.apiKey, path)
    }

    /// A project's channels as a client sees them over REST: each channel's name and the name of the lifecycle
    /// it deploys with (its own `LifecycleId`, else the project's), by `GET {prefix}/projects?name=…`,
    /// `…/projects/{id}/channels` and `{prefix}/lifecycles/{id}`.
    static func channelLifecycles(
        port: Int,
        apiKey: String,
        prefix: String,
        project name: String
    ) async throws -> [String: String] {
        let escaped = try #require(name.addingPercentEncoding(withAllowedCharacters: .alphanumerics))
        let found = try await get(port: port, apiKey: apiKey, "\(prefix)/projects?name=\(escaped)")
        let project = try #require(found["Items"]?.arrayValue?.first, "no project \(name)")
        let projectId = try #require(project["Id"]?.stringValue)
        let projectLifecycle = try #require(project["LifecycleId"]?.stringValue, "\(name) has no LifecycleId")
        let channels = try await get(port: port, apiKey: apiKey, "\(prefix)/projects/\(projectId)/channels")
        #expect(channels["ItemType"] == .string("Channel"))
        var result: [String: String] = [:]
        for channel in channels["Items"]?.arrayValue ?? [] {
            #expect(channel["ProjectId"] == .string(projectId))
            let channelName = try #require(channel["Name"]?.stringValue)
            let lifecycleId = channel["LifecycleId"]?.stringValue ?? projectLifecycle
            let lifecycle = try await get(port: port, apiKey: apiKey, "\(prefix)/lifecycles/\(lifecycleId)")
            result[channelName] = try #require(lifecycle["Name"]?.stringValue)
        }
        return result
    }

    @Test func seededLifecyclesAndChannelsHaveOctopusShapes() async throws {
        let instance = try Self.seeded()
        let lifecycles = try await Self.get(instance, "/api/Spaces-1/lifecycles")
        #expect(lifecycles["ItemType"] == .string("Lifecycle"))
        #expect(lifecycles["TotalResults"] == .integer(2))
        #expect(
            lifecycles["Links"]?["Template"] == .string("/api/Spaces-1/lifecycles{/id}{?skip,take,ids,partialName}")
        )
        let items = lifecycles["Items"]?.arrayValue ?? []
        #expect(items.compactMap { $0["Name"]?.stringValue } == ["Default Lifecycle", "Hotfix Lifecycle"])
        let defaultLifecycle = try #require(items.first)
        #expect(defaultLifecycle["Id"] == .string("Lifecycles-1"))
        #expect(defaultLifecycle["SpaceId"] == .string("Spaces-1"))
        #expect(defaultLifecycle["Links"]?["Self"] == .string("/api/Spaces-1/lifecycles/Lifecycles-1"))
        // Octopus's RetentionPeriod.KeepForever(), whatever order the members were stored in.
        func keepsForever(_ policy: JSONValue?) -> Bool {
            policy?["Unit"] == .string("Days") && policy?["QuantityToKeep"] == .integer(0)
                && policy?["ShouldKeepForever"] == .bool(true) && policy?.objectValue?.keys.count == 3
        }
        #expect(keepsForever(defaultLifecycle["ReleaseRetentionPolicy"]))
        #expect(keepsForever(defaultLifecycle["TentacleRetentionPolicy"]))
        let phases = defaultLifecycle["Phases"]?.arrayValue ?? []
        #expect(phases.compactMap { $0["Name"]?.stringValue } == ["Development", "Test", "Production"])
        #expect(
            phases.map { $0["OptionalDeploymentTargets"] } == (1...3).map { .array([.string("Environments-\($0)")]) }
        )
        #expect(phases.allSatisfy { $0["Id"]?.stringValue.flatMap(UUID.init(uuidString:)) != nil })
        #expect(phases.allSatisfy { $0["AutomaticDeploymentTargets"] == .array([]) })
        #expect(phases.allSatisfy { $0["IsOptionalPhase"] == .bool(false) })
        #expect(phases.allSatisfy { $0["MinimumEnvironmentsBeforePromotion"] == .integer(0) })
        #expect(try await Self.get(instance, "/api/Spaces-1/lifecycles/Lifecycles-1") == defaultLifecycle)

        // A lifecycle stored without phase Ids or policies is served complete, with the same phase Id each time.
        let hotfix = try await Self.get(instance, "/api/Spaces-1/lifecycles/lifecycles-90")
        #expect(hotfix["Name"] == .string("Hotfix Lifecycle") && hotfix["Description"] == .string(""))
        #expect(keepsForever(hotfix["ReleaseRetentionPolicy"]) && keepsForever(hotfix["TentacleRetentionPolicy"]))
        let phase = try #require(hotfix["Phases"]?.arrayValue?.first)
        #expect(phase["Name"] == .string("Straight to production"))
        #expect(phase["Id"]?.stringValue.flatMap(UUID.init(uuidString:)) != nil)
        #expect(phase["ReleaseRetentionPolicy"] == .null && phase["AutomaticDeploymentTargets"] == .array([]))
        #expect(try await Self.get(instance, "/api/Spaces-1/lifecycles/Lifecycles-90") == hotfix)
        let byIds = try await Self.get(instance, "/api/Spaces-1/lifecycles?ids=Lifecycles-90")
        #expect(byIds["Items"]?.arrayValue?.map { $0["Id"] } == [.string("Lifecycles-90")])
        let all = try await Self.get(instance, "/api/Spaces-1/lifecycles/all")
        #expect(all.arrayValue?.count == 2)

        // Channels: the seeded default channel of each project follows the project's lifecycle.
        let channel = try await Self.get(instance, "/api/Spaces-1/channels/Channels-1")
        #expect(channel["Name"] == .string("Default"))
        #expect(channel["ProjectId"] == .string("Projects-1"))
        #expect(channel["LifecycleId"] == .null)
        #expect(channel["IsDefault"] == .bool(true))
        #expect(channel["SpaceId"] == .string("Spaces-1"))
        #expect(channel["Rules"] == .array([]) && channel["TenantTags"] == .array([]))
        #expect(channel["Links"]?["Self"] == .string("/api/Spaces-1/channels/Channels-1"))
        #expect(channel["Links"]?["Project"] == .string("/api/Spaces-1/projects/Projects-1"))
        #expect(
            channel["Links"]?["Releases"]
                == .string("/api/Spaces-1/channels/Channels-1/releases{?skip,take,searchByVersion}")
        )
        let hotfixChannel = try await Self.get(instance, "/api/Spaces-1/channels/Channels-90")
        #expect(hotfixChannel["LifecycleId"] == .string("Lifecycles-90"))
        #expect(hotfixChannel["IsDefault"] == .bool(false) && hotfixChannel["Description"] == .string("Hotfixes"))

        // Projects name their lifecycle and link to their channels.
        let project = try await Self.get(instance, "/api/Spaces-1/projects/Projects-2")
        #expect(project["LifecycleId"] == .string("Lifecycles-1"))
        #expect(
            project["Links"]?["Channels"]
                == .string("/api/Spaces-1/projects/Projects-2/channels{/id}{?skip,take,partialName}")
        )

        // A channel's releases: the seeded release 1.0.1 of Web App 1.1 is in its default channel.
        let releases = try await Self.get(instance, "/api/Spaces-1/channels/Channels-1/releases")
        #expect(releases["ItemType"] == .string("Release"))
        #expect(releases["Items"]?.arrayValue?.map { $0["Version"] } == [.string("1.0.1")])
        let none = try await Self.get(instance, "/api/Spaces-1/channels/Channels-90/releases")
        #expect(none["TotalResults"] == .integer(0))

        // Read-only here: PUT is refused with the methods allowed.
        let put = try await instance.request("PUT", "/api/Spaces-1/channels/Channels-1", body: channel)
        #expect(put.status == 405 && put.headers.contains { $0.key.lowercased() == "allow" })
        #expect((try await instance.request("GET", "/api/Spaces-1/lifecycles/Lifecycles-999")).status == 404)
    }

    @Test func channelsArePagedFilteredAndScopedToTheirSpace() async throws {
        let instance = try Self.seeded()
        // Spaces-1: Channels-1..4 ("Default" of Web App 1.1..1.4) and Channels-90 ("Hotfix").
        let first = try await Self.get(instance, "/api/Spaces-1/channels?take=3")
        #expect(first["ItemType"] == .string("Channel"))
        #expect(first["TotalResults"] == .integer(5) && first["ItemsPerPage"] == .integer(3))
        #expect(first["NumberOfPages"] == .integer(2))
        #expect(first["Items"]?.arrayValue?.count == 3)
        #expect(first["Links"]?["Page.Next"] == .string("/api/Spaces-1/channels?skip=3&take=3"))
        #expect(
            first["Links"]?["Template"] == .string("/api/Spaces-1/channels{/id}{?skip,take,ids,partialName}")
        )
        let second = try await Self.get(instance, "/api/Spaces-1/channels?skip=3&take=3")
        #expect(second["Items"]?.arrayValue?.count == 2 && second["Links"]?["Page.Next"] == nil)
        let everyId = Set(
            ((first["Items"]?.arrayValue ?? []) + (second["Items"]?.arrayValue ?? [])).compactMap {
                $0["Id"]?.stringValue
            }
        )
        #expect(everyId == ["Channels-1", "Channels-2", "Channels-3", "Channels-4", "Channels-90"])

        let filtered = try await Self.get(instance, "/api/Spaces-1/channels?partialName=HOT")
        #expect(filtered["Items"]?.arrayValue?.map { $0["Name"] } == [.string("Hotfix")])
        // Without a space in the path: the default space.
        #expect(try await Self.get(instance, "/api/channels?take=3")["TotalResults"] == .integer(5))
        // Another space's channel is not found through this space, and is through its own.
        let otherSpace = try #require(
            try instance.column("SELECT Id FROM Channel WHERE SpaceId = 'Spaces-2' ORDER BY length(Id), Id").first
        )
        #expect((try await instance.request("GET", "/api/Spaces-1/channels/\(otherSpace)")).status == 404)
        #expect(try await Self.get(instance, "/api/Spaces-2/channels/\(otherSpace)")["SpaceId"] == .string("Spaces-2"))
        #expect(try await Self.get(instance, "/api/Spaces-2/lifecycles")["TotalResults"] == .integer(1))
    }

    @Test func aProjectsChannelsAreItsOwnAndItsLifecycleIsAlwaysNamed() async throws {
        let instance = try BentoInstance(version: "2023.3.13026", seeded: true) { database in
            try Self.addHotfixChannel(database, space: "Spaces-1")
            // A project written without a LifecycleId (as an older stand-in's import could leave one).
            try database.run("UPDATE Project SET [JSON] = json_remove([JSON], '$.LifecycleId') WHERE Id = 'Projects-3'")
        }
        let channels = try await Self.get(instance, "/api/Spaces-1/projects/Projects-2/channels")
        #expect(channels["ItemType"] == .string("Channel") && channels["TotalResults"] == .integer(2))
        #expect(channels["Items"]?.arrayValue?.compactMap { $0["Name"]?.stringValue } == ["Default", "Hotfix"])
        #expect(
            channels["Links"]?["Template"]
                == .string("/api/Spaces-1/projects/Projects-2/channels{/id}{?skip,take,partialName}")
        )
        let paged = try await Self.get(instance, "/api/Spaces-1/projects/Projects-2/channels?take=1")
        #expect(paged["Items"]?.arrayValue?.count == 1 && paged["NumberOfPages"] == .integer(2))
        #expect(paged["Links"]?["Page.Next"] == .string("/api/Spaces-1/projects/Projects-2/channels?skip=1&take=1"))
        let named = try await Self.get(instance, "/api/Spaces-1/projects/Projects-2/channels?partialName=fix")
        #expect(named["Items"]?.arrayValue?.map { $0["Id"] } == [.string("Channels-90")])
        #expect(
            try await Self.get(instance, "/api/Spaces-1/projects/Projects-2/channels/Channels-90")
                == Self.get(instance, "/api/Spaces-1/channels/Channels-90")
        )
        #expect(
            (try await instance.request("GET", "/api/Spaces-1/projects/Projects-2/channels/Channels-1")).status == 404
        )
        #expect((try await instance.request("GET", "/api/Spaces-1/projects/Projects-99/channels")).status == 404)
        #expect(try await Self.get(instance, "/api/projects/Projects-1/channels")["TotalResults"] == .integer(1))

        // The project without a stored LifecycleId is served with its space's Default Lifecycle.
        let project = try await Self.get(instance, "/api/Spaces-1/projects/Projects-3")
        #expect(project["LifecycleId"] == .string("Lifecycles-1"))
        #expect(
            try await Self.channelLifecycles(
                port: instance.port,
                apiKey: instance.apiKey,
                prefix: "/api/Spaces-1",
                project: "Web App 1.2"
            ) == ["Default": "Default Lifecycle", "Hotfix": "Hotfix Lifecycle"]
        )
    }

    @Test func beforeSpacesChannelsAndLifecyclesAreUnscoped() async throws {
        let fixture = try APIServerTests.started(version: "2018.10.5") { database in
            try seedModel(database)
            try database.run(
                "INSERT INTO Lifecycle (Id, Name, [JSON]) VALUES ('Lifecycles-1', 'Default Lifecycle', ?)",
                [.text(#"{"Phases":[{"Name":"Production","OptionalDeploymentTargets":[]}]}"#)]
            )
            try database.run(
                "INSERT INTO Channel (Id, Name, ProjectId, [JSON]) VALUES ('Channels-1', 'Default', 'Projects-1', ?)",
                [.text(#"{"IsDefault":true,"LifecycleId":null}"#)]
            )
        }
        #expect((try await fixture.request("GET", "/api/Spaces-1/channels")).status == 404)
        #expect((try await fixture.request("GET", "/api/Spaces-1/lifecycles")).status == 404)
        let channels = try await fixture.getJSON("/api/channels")
        #expect(channels["TotalResults"] == .integer(1))
        #expect(channels["Links"]?["Template"] == .string("/api/channels{/id}{?skip,take,ids,partialName}"))
        let channel = try #require(channels["Items"]?.arrayValue?.first)
        #expect(channel["SpaceId"] == nil && channel["ProjectId"] == .string("Projects-1"))
        #expect(channel["Links"]?["Self"] == .string("/api/channels/Channels-1"))
        #expect(channel["Links"]?["Project"] == .string("/api/projects/Projects-1"))
        let projectChannels = try await fixture.getJSON("/api/projects/Projects-1/channels")
        #expect(projectChannels["Items"]?.arrayValue == [channel])
        let lifecycle = try await fixture.getJSON("/api/lifecycles/Lifecycles-1")
        #expect(lifecycle["Name"] == .string("Default Lifecycle") && lifecycle["SpaceId"] == nil)
        #expect(lifecycle["Links"]?["Self"] == .string("/api/lifecycles/Lifecycles-1"))
        let project = try await fixture.getJSON("/api/projects/Projects-1")
        #expect(project["LifecycleId"] == .string("Lifecycles-1"))
        #expect(
            project["Links"]?["Channels"] == .string("/api/projects/Projects-1/channels{/id}{?skip,take,partialName}")
        )
        let root = try await fixture.getJSON("/api")
        #expect(root["Links"]?["Channels"] == .string("/api/channels{/id}{?skip,take,ids,partialName}"))
        #expect(root["Links"]?["Lifecycles"] == .string("/api/lifecycles{/id}{?skip,take,ids,partialName}"))
    }

    @Test func exportImportProjectsKeepsEachChannelsLifecycle() async throws {
        let source = try ExportImportTests.source()
        try Self.addHotfixChannel(source.open(), space: "Spaces-1")
        let target = try BentoInstance(version: "2023.3.13026", seeded: false)
        let (task, id) = try await source.export(["Projects-1", "Projects-2"], password: "channels")
        #expect(task["State"] == .string("Success"), "\(task)")
        let (name, zip) = try await source.downloadExport(task: id)
        let imported = try await target.importUpload(zip, name: name, password: "channels")
        #expect(imported["State"] == .string("Success"), "\(imported)")

        // Web App 1.2's default channel has the source's "Web Lifecycle" (ExportImportTests.source) and its
        // Hotfix channel "Hotfix Lifecycle"; Web App 1.1's follows the project's Default Lifecycle.
        let expected = [
            "Web App 1.1": ["Default": "Default Lifecycle"],
            "Web App 1.2": ["Default": "Web Lifecycle", "Hotfix": "Hotfix Lifecycle"],
        ]
        for (project, channels) in expected {
            let onSource = try await Self.channelLifecycles(
                port: source.port,
                apiKey: source.apiKey,
                prefix: "/api/Spaces-1",
                project: project
            )
            #expect(onSource == channels, "\(project) on the source")
            let onTarget = try await Self.channelLifecycles(
                port: target.port,
                apiKey: target.apiKey,
                prefix: "/api/Spaces-1",
                project: project
            )
            #expect(onTarget == onSource, "\(project) on the test instance")
        }
        // The target's Ids are its own: the imported Hotfix channel names the imported lifecycle.
        let hotfix = try #require(try target.column("SELECT Id FROM Channel WHERE Name = 'Hotfix'").first)
        let lifecycle = try #require(
            try target.column("SELECT Id FROM Lifecycle WHERE Name = 'Hotfix Lifecycle'").first
        )
        #expect(try await Self.get(target, "/api/Spaces-1/channels/\(hotfix)")["LifecycleId"] == .string(lifecycle))
    }

    @Test(arguments: ["2020.6.4937", "2018.10.5"])
    func theMigratorKeepsEachChannelsLifecycle(version: String) async throws {
        let machine = try StandInMachine()
        let sourceKey = try machine.seededSource(version)
        let spaces = version.hasPrefix("2020")
        try Self.addHotfixChannel(machine.open("Source"), space: spaces ? "Spaces-1" : nil)
        let directory = "\(machine.root)/channels-export"
        let exported = try machine.migrator(
            version,
            ["partial-export", "--instance=Source", "--password=pw-channels", "--directory=\(directory)"]
                + ["--project", "Web App 1.1", "--project", "Web App 1.2"] + MigratorTests.ignoreAll
        )
        #expect(exported.status == 0, "\(exported.all)")
        let provisioned = try machine.provision(version: version, instance: "Test", database: "Test", port: 18182)
        #expect(provisioned.allSatisfy { $0.status == 0 })
        let imported = try machine.migrator(
            version,
            ["import", "--instance", "Test", "--directory", directory, "--password", "pw-channels"]
        )
        #expect(imported.status == 0, "\(imported.all)")

        let source = try MigratedInstance(
            machine: machine,
            database: "Source",
            version: version,
            masterKey: try MasterKey(base64: sourceKey)
        )
        let target = try MigratedInstance(
            machine: machine,
            database: "Test",
            version: version,
            masterKey: try machine.masterKey(ofInstance: "Test")
        )
        let prefix = spaces ? "/api/Spaces-1" : "/api"
        let expected = [
            "Web App 1.1": ["Default": "Default Lifecycle"],
            "Web App 1.2": ["Default": "Default Lifecycle", "Hotfix": "Hotfix Lifecycle"],
        ]
        for (project, channels) in expected {
            let onSource = try await Self.channelLifecycles(
                port: source.port,
                apiKey: MigratedInstance.apiKey,
                prefix: prefix,
                project: project
            )
            #expect(onSource == channels, "\(project) on the source")
            let onTarget = try await Self.channelLifecycles(
                port: target.port,
                apiKey: MigratedInstance.apiKey,
                prefix: prefix,
                project: project
            )
            #expect(onTarget == onSource, "\(project) on the test instance")
        }
    }
}

/// A stand-in server in this process on one database of a ``StandInMachine``, with an API key of its own and
/// its node draining (so the seeded tasks and targets are left alone while the test reads).
final class MigratedInstance {
    static let apiKey = "API-CHANNELTEST00000000000001"
    let server: StandInServer
    let port: Int

    init(machine: borrowing StandInMachine, database: String, version: String, masterKey: MasterKey) throws {
        let node = "channels-\(database.lowercased())"
        let sqlite = try machine.open(database)
        try sqlite.run(
            "INSERT INTO [User] (Id, Name, IsActive, [JSON]) VALUES ('Users-channels', 'channels', 1, '{}')"
        )
        try sqlite.run(
            "INSERT INTO ApiKey (Id, UserId, ApiKeyHashed, [JSON]) VALUES ('ApiKeys-channels', 'Users-channels', ?, '{}')",
            [.text(APIKeyHash.hashed(Self.apiKey))]
        )
        try OctopusDatabase.registerNode(node, in: sqlite, isInMaintenanceMode: true)
        var timing = StandInServer.Timing()
        timing.triggerInterval = 3600
        timing.healthCheckInterval = 3600
        server = try StandInServer(
            runtime: ServerRuntime(
                instanceName: database,
                nodeName: node,
                listenPrefixes: ["http://127.0.0.1:0/"],
                databasePath: machine.dataFolder.databasePath(server: "localhost", database: database),
                version: version,
                homeDirectory: "\(machine.root)/home-\(database)",
                masterKey: masterKey
            ),
            timing: timing
        )
        port = try #require(try server.start().first)
    }

    deinit {
        server.stop()
    }
}
