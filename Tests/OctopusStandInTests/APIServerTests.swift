import Foundation
import OctopusStandIn
import TestHelpers
import Testing
import Wire

#if canImport(Glibc)
    import Glibc
#endif

/// A small Octopus model in two spaces: environments, projects, targets (one disabled), a worker, a
/// trigger that is not scheduled, a subscription without a webhook, tasks and an artifact.
func seedModel(_ database: SQLiteDatabase) throws {
    let endpoint = JSONValue.object([
        ("CommunicationStyle", .string("TentaclePassive")), ("Uri", .string("https://127.0.0.9:10933/")),
        ("Thumbprint", .string("A1B2C3")),
    ])
    try APIFixture.insert(
        database,
        "Environment",
        ["Id": "Environments-1", "Name": "Production", "SpaceId": "Spaces-1"],
        json: ["SortOrder": 1]
    )
    try APIFixture.insert(
        database,
        "Environment",
        ["Id": "Environments-2", "Name": "Staging", "SpaceId": "Spaces-1"],
        json: ["SortOrder": 0]
    )
    try APIFixture.insert(
        database,
        "Environment",
        ["Id": "Environments-3", "Name": "Other", "SpaceId": "Spaces-2"],
        json: [:]
    )
    try APIFixture.insert(
        database,
        "Project",
        ["Id": "Projects-1", "Name": "Web", "SpaceId": "Spaces-1", "IsDisabled": 0],
        json: ["Slug": "web"]
    )
    try APIFixture.insert(
        database,
        "Project",
        ["Id": "Projects-2", "Name": "Old", "SpaceId": "Spaces-1", "IsDisabled": 1],
        json: ["Slug": "old"]
    )
    try APIFixture.insert(
        database,
        "Machine",
        ["Id": "Machines-1", "Name": "web1", "SpaceId": "Spaces-1", "IsDisabled": 0],
        json: ["Endpoint": endpoint, "EnvironmentIds": ["Environments-1"], "Roles": ["web"], "HealthStatus": "Healthy"]
    )
    try APIFixture.insert(
        database,
        "Machine",
        ["Id": "Machines-2", "Name": "db1", "SpaceId": "Spaces-1", "IsDisabled": 1],
        json: ["Endpoint": endpoint, "EnvironmentIds": ["Environments-2"], "Roles": ["db"], "IsDisabled": true]
    )
    try APIFixture.insert(
        database,
        "Machine",
        ["Id": "Machines-3", "Name": "other1", "SpaceId": "Spaces-2", "IsDisabled": 0],
        json: ["EnvironmentIds": ["Environments-3"]]
    )
    try APIFixture.insert(
        database,
        "Worker",
        ["Id": "Workers-1", "Name": "w1", "SpaceId": "Spaces-1", "IsDisabled": 0],
        json: ["WorkerPoolIds": ["WorkerPools-1"], "Endpoint": endpoint]
    )
    try APIFixture.insert(
        database,
        "ProjectTrigger",
        [
            "Id": "ProjectTriggers-1", "Name": "new targets", "SpaceId": "Spaces-1", "ProjectId": "Projects-1",
            "IsDisabled": 0,
        ],
        json: [
            "Filter": JSONValue.object([("FilterType", .string("MachineFilter"))]),
            "Action": JSONValue.object([("ActionType", .string("AutoDeploy"))]),
        ]
    )
    try APIFixture.insert(
        database,
        "Subscription",
        ["Id": "Subscriptions-1", "Name": "slack", "SpaceId": "Spaces-1", "IsDisabled": 0],
        json: [
            "Type": "Event",
            "EventNotificationSubscription": JSONValue.object([
                ("Filter", .object([("EventCategories", .array([]))])), ("WebhookURI", .string("")),
            ]),
        ]
    )
    let tasks: [(String, String, String?, String, String)] = [
        ("ServerTasks-1", "Deploy", "Spaces-1", "Queued", "2026-11-24T10:00:00.000+00:00"),
        ("ServerTasks-2", "Health", "Spaces-1", "Success", "2026-11-24T09:00:00.000+00:00"),
        ("ServerTasks-3", "Deploy", "Spaces-2", "Queued", "2026-11-24T11:00:00.000+00:00"),
        ("ServerTasks-4", "Backup", nil, "Failed", "2026-11-24T08:00:00.000+00:00"),
    ]
    for (id, name, space, state, queued) in tasks {
        var columns: [String: any Sendable] = ["Id": id, "Name": name, "State": state, "QueueTime": queued]
        if let space { columns["SpaceId"] = space }
        try APIFixture.insert(
            database,
            "ServerTask",
            columns,
            json: ["Description": "\(name) task", "ErrorMessage": ""]
        )
    }
    try APIFixture.insert(
        database,
        "Artifact",
        [
            "Id": "Artifacts-1", "SpaceId": "Spaces-1", "ServerTaskId": "ServerTasks-2",
            "Filename": "Octopus-Export-1.zip",
        ],
        json: ["Created": "2026-11-24T09:01:00.000+00:00", "RelatedDocumentIds": ["ServerTasks-2"]]
    )
}

@Suite(.tags(.medium))
struct APIServerTests {
    static func started(
        version: String = "2023.3.13026",
        seed: (SQLiteDatabase) throws -> Void = seedModel
    ) throws -> APIFixture {
        let fixture = try APIFixture(version: version, seed: seed)
        try fixture.start()
        return fixture
    }

    @Test func rootIsAnonymousWithVersionAndInstallationId() async throws {
        let fixture = try Self.started()
        let response = try await fixture.request("GET", "/api", apiKey: nil)
        #expect(response.status == 200)
        #expect(response.header("Content-Type")?.hasPrefix("application/json") == true)
        #expect(response.header("Octopus-Node") == APIFixture.node)
        let root = try response.json()
        #expect(root["Application"] == .string("Octopus Deploy"))
        #expect(root["Version"] == .string("2023.3.13026"))
        #expect(root["ApiVersion"] == .string("3.0.0"))
        #expect(root["InstallationId"] == .string(APIFixture.installationID))
        #expect(root["Links"]?["Spaces"]?.stringValue?.hasPrefix("/api/spaces") == true)
        #expect(root["Links"]?["Machines"]?.stringValue?.hasPrefix("/api/Spaces-1/machines") == true)
    }

    @Test func apiKeyIsRequiredAndChecked() async throws {
        let fixture = try Self.started()
        let missing = try await fixture.request("GET", "/api/spaces", apiKey: nil)
        #expect(missing.status == 401)
        #expect(try missing.json()["ErrorMessage"]?.stringValue?.contains("API key") == true)
        let wrong = try await fixture.request("GET", "/api/spaces", apiKey: "API-WRONG")
        #expect(wrong.status == 401)
        #expect(try wrong.json()["ErrorMessage"]?.stringValue?.contains("not valid") == true)
        let inactive = try await fixture.request("GET", "/api/spaces", apiKey: APIFixture.inactiveApiKey)
        #expect(inactive.status == 401)
        #expect(try await fixture.request("GET", "/api/spaces").status == 200)
        let query = try await fixture.request("GET", "/api/spaces?apikey=\(APIFixture.apiKey)", apiKey: nil)
        #expect(query.status == 200)
        // Keys are stored hashed: the clear key is nowhere in the database.
        #expect(
            try fixture.column("SELECT ApiKeyHashed FROM ApiKey WHERE Id = 'ApiKeys-1'") == [
                APIFixture.sha256(APIFixture.apiKey)
            ]
        )
        let ping = try await fixture.request("GET", "/api/octopusservernodes/ping", apiKey: nil)
        #expect(ping.status != 401)
    }

    @Test func pingIs200UntilThisNodeDrainsThen418() async throws {
        let fixture = try APIFixture(ownNode: .none)
        try fixture.start()
        let online = try await fixture.request("GET", "/api/octopusservernodes/ping", apiKey: nil)
        #expect(online.status == 200)
        #expect(try online.json()["Name"] == .string(APIFixture.node))
        try fixture.open().run(
            "UPDATE OctopusServerNode SET IsInMaintenanceMode = 1 WHERE Name = ?",
            [.text(APIFixture.node)]
        )
        let draining = try await fixture.request("GET", "/api/octopusservernodes/ping", apiKey: nil)
        #expect(draining.status == 418)
        #expect(try draining.json()["IsInMaintenanceMode"] == .bool(true))
        let health = try await fixture.getJSON("/api/serverstatus/health")
        #expect(health["IsEntireClusterDrainingTasks"] == .bool(true))
        #expect(health["IsOperatingNormally"] == .bool(false))
        // Undrained through the API, as octoprov could do it.
        var node = try #require(try draining.json().objectValue)
        node["IsInMaintenanceMode"] = .bool(false)
        let link = try #require(node["Links"]?["Self"]?.stringValue)
        #expect(link == "/api/octopusservernodes/OctopusServerNodes-\(APIFixture.node)")
        let put = try await fixture.request("PUT", link, body: .object(node))
        #expect(put.status == 200, "\(put.text)")
        #expect((try await fixture.request("GET", "/api/octopusservernodes/ping", apiKey: nil)).status == 200)
    }

    @Test func spacesArePagedListedAndServedById() async throws {
        let fixture = try Self.started()
        let page = try await fixture.getJSON("/api/spaces")
        #expect(page["ItemType"] == .string("Space"))
        #expect(page["TotalResults"] == .integer(2))
        #expect(page["ItemsPerPage"] == .integer(30))
        let names = page["Items"]?.arrayValue?.compactMap { $0["Name"]?.stringValue }
        #expect(names == ["Default", "Second"])
        let all = try await fixture.getJSON("/api/spaces/all")
        #expect(all.arrayValue?.count == 2)
        let space = try await fixture.getJSON("/api/spaces/Spaces-1")
        #expect(space["IsDefault"] == .bool(true))
        #expect(space["Description"] == .string("The default space"))
        #expect(space["Links"]?["Self"] == .string("/api/spaces/Spaces-1"))
        let home = try await fixture.getJSON("/api/Spaces-2")
        #expect(home["Links"]?["Machines"]?.stringValue?.hasPrefix("/api/Spaces-2/machines") == true)
    }

    @Test func seventyMachinesArePagedThirtyAtATime() async throws {
        let fixture = try Self.started { database in
            for index in 1...70 {
                try APIFixture.insert(
                    database,
                    "Machine",
                    [
                        "Id": "Machines-\(index)", "Name": String(format: "web%02d", index), "SpaceId": "Spaces-1",
                        "IsDisabled": index % 7 == 0 ? 1 : 0,
                    ],
                    json: ["EnvironmentIds": ["Environments-1"]]
                )
            }
        }
        var seen: [String] = []
        var path: String? = "/api/Spaces-1/machines"
        var pages: [JSONValue] = []
        while let next = path, pages.count < 5 {
            let page = try await fixture.getJSON(next)
            pages.append(page)
            seen += page["Items"]?.arrayValue?.compactMap { $0["Id"]?.stringValue } ?? []
            path = page["Links"]?["Page.Next"]?.stringValue
        }
        #expect(pages.count == 3)
        #expect(pages.map { $0["Items"]?.arrayValue?.count } == [30, 30, 10])
        for page in pages {
            #expect(page["ItemType"] == .string("DeploymentTarget"))
            #expect(page["TotalResults"] == .integer(70))
            #expect(page["ItemsPerPage"] == .integer(30))
            #expect(page["NumberOfPages"] == .integer(3))
            #expect(page["LastPageNumber"] == .integer(2))
        }
        #expect(pages[0]["Links"]?["Page.Next"]?.stringValue?.contains("skip=30") == true)
        #expect(pages[2]["Links"]?["Page.Next"] == nil)
        #expect(Set(seen).count == 70)
        #expect(seen.first == "Machines-1" && seen.last == "Machines-70")
        let disabled = try await fixture.getJSON("/api/Spaces-1/machines?isDisabled=true&take=100")
        #expect(disabled["TotalResults"] == .integer(10))
        #expect(disabled["Items"]?.arrayValue?.allSatisfy { $0["IsDisabled"] == .bool(true) } == true)
        let skipped = try await fixture.getJSON("/api/Spaces-1/machines?skip=65&take=10")
        #expect(skipped["Items"]?.arrayValue?.count == 5)
        #expect((try await fixture.request("GET", "/api/Spaces-1/machines?take=lots")).status == 400)
        #expect((try await fixture.getJSON("/api/Spaces-1/machines/all")).arrayValue?.count == 70)
    }

    @Test(arguments: [
        ("machines", "DeploymentTarget", "Machines-1", "web1"),
        ("workers", "Worker", "Workers-1", "w1"),
        ("projecttriggers", "ProjectTrigger", "ProjectTriggers-1", "new targets"),
        ("subscriptions", "Subscription", "Subscriptions-1", "slack"),
        ("projects", "Project", "Projects-1", "Web"),
        ("environments", "Environment", "Environments-1", "Production"),
    ])
    func spaceCollectionsServeOctopusFields(collection: String, itemType: String, id: String, name: String) async throws
    {
        let fixture = try Self.started()
        let page = try await fixture.getJSON("/api/Spaces-1/\(collection)")
        #expect(page["ItemType"] == .string(itemType))
        for key in ["Items", "TotalResults", "ItemsPerPage", "NumberOfPages", "LastPageNumber", "Links"] {
            #expect(page[key] != nil, "\(collection) page has no \(key)")
        }
        let item = try #require(page["Items"]?.arrayValue?.first { $0["Id"] == .string(id) })
        #expect(item["Name"] == .string(name))
        #expect(item["SpaceId"] == .string("Spaces-1"))
        #expect(item["Links"]?["Self"] == .string("/api/Spaces-1/\(collection)/\(id)"))
        if collection != "environments" {
            #expect(item["IsDisabled"]?.boolValue != nil, "\(collection) items carry IsDisabled")
        }
        let single = try await fixture.getJSON("/api/Spaces-1/\(collection)/\(id)")
        #expect(single == item)
        let all = try await fixture.getJSON("/api/Spaces-1/\(collection)/all")
        #expect(all.arrayValue?.contains(item) == true)
        #expect((try await fixture.request("GET", "/api/Spaces-1/\(collection)/\(id)-404")).status == 404)
    }

    @Test func storedDocumentsAreServedWithTheirFields() async throws {
        let fixture = try Self.started()
        let machine = try await fixture.getJSON("/api/Spaces-1/machines/Machines-1")
        #expect(machine["Endpoint"]?["Uri"] == .string("https://127.0.0.9:10933/"))
        #expect(machine["Endpoint"]?["CommunicationStyle"] == .string("TentaclePassive"))
        #expect(machine["EnvironmentIds"] == .array([.string("Environments-1")]))
        #expect(machine["HealthStatus"] == .string("Healthy"))
        let trigger = try await fixture.getJSON("/api/Spaces-1/projecttriggers/ProjectTriggers-1")
        #expect(trigger["ProjectId"] == .string("Projects-1"))
        #expect(trigger["Filter"]?["FilterType"] == .string("MachineFilter"))
        let subscription = try await fixture.getJSON("/api/Spaces-1/subscriptions/Subscriptions-1")
        #expect(subscription["EventNotificationSubscription"]?["WebhookURI"] == .string(""))
        let byEnvironment = try await fixture.getJSON("/api/Spaces-1/machines?environmentIds=Environments-2")
        #expect(byEnvironment["Items"]?.arrayValue?.map { $0["Id"] } == [.string("Machines-2")])
    }

    @Test func withoutASpaceTheDefaultSpaceIsUsed() async throws {
        let fixture = try Self.started()
        let unscoped = try await fixture.getJSON("/api/machines")
        let scoped = try await fixture.getJSON("/api/Spaces-1/machines")
        #expect(unscoped["Items"] == scoped["Items"])
        #expect(unscoped["TotalResults"] == .integer(2))
        let other = try await fixture.getJSON("/api/Spaces-2/machines")
        #expect(other["Items"]?.arrayValue?.map { $0["Id"] } == [.string("Machines-3")])
        #expect((try await fixture.request("GET", "/api/Spaces-2/machines/Machines-1")).status == 404)
        #expect((try await fixture.request("GET", "/api/Spaces-9/machines")).status == 404)
    }

    @Test func putIsDisabledKeepsTheColumnAndTheDocumentInStep() async throws {
        let fixture = try Self.started()
        var machine = try #require(try await fixture.getJSON("/api/Spaces-1/machines/Machines-1").objectValue)
        #expect(machine["IsDisabled"] == .bool(false))
        machine["IsDisabled"] = .bool(true)
        machine["Name"] = .string("web1-renamed")
        let put = try await fixture.request("PUT", "/api/Spaces-1/machines/Machines-1", body: .object(machine))
        #expect(put.status == 200, "\(put.text)")
        let answered = try put.json()
        #expect(answered["IsDisabled"] == .bool(true))
        #expect(answered["Name"] == .string("web1-renamed"))
        #expect(answered["Endpoint"] == machine["Endpoint"])
        #expect(try fixture.column("SELECT IsDisabled FROM Machine WHERE Id = 'Machines-1'") == ["1"])
        #expect(try fixture.column("SELECT Name FROM Machine WHERE Id = 'Machines-1'") == ["web1-renamed"])
        #expect(
            try fixture.column("SELECT json_extract(JSON, '$.IsDisabled') FROM Machine WHERE Id = 'Machines-1'") == [
                "1"
            ]
        )
        #expect(
            try fixture.column("SELECT json_extract(JSON, '$.Links') FROM Machine WHERE Id = 'Machines-1'") == ["NULL"]
        )
        #expect(try await fixture.getJSON("/api/Spaces-1/machines/Machines-1") == answered)
        // The audit event Octopus records for a change.
        #expect(try fixture.column("SELECT Category FROM Event").contains("Modified"))
        machine["IsDisabled"] = .bool(false)
        let back = try await fixture.request("PUT", "/api/machines/Machines-1", body: .object(machine))
        #expect(try back.json()["IsDisabled"] == .bool(false))
        #expect(try fixture.column("SELECT IsDisabled FROM Machine WHERE Id = 'Machines-1'") == ["0"])
        #expect(
            try fixture.column("SELECT json_extract(JSON, '$.IsDisabled') FROM Machine WHERE Id = 'Machines-1'") == [
                "0"
            ]
        )
    }

    @Test func theColumnWinsWhenSQLChangedOnlyTheColumn() async throws {
        let fixture = try Self.started()
        // What the docs' disable SQL does: the column only; the stored document still says false.
        try fixture.open().run("UPDATE Subscription SET IsDisabled = 1")
        let subscription = try await fixture.getJSON("/api/Spaces-1/subscriptions/Subscriptions-1")
        #expect(subscription["IsDisabled"] == .bool(true))
        let enabled = try await fixture.getJSON("/api/Spaces-1/subscriptions?isDisabled=false")
        #expect(enabled["TotalResults"] == .integer(0))
        // Machines-2's document says true and so does its column.
        #expect(try await fixture.getJSON("/api/Spaces-1/machines/Machines-2")["IsDisabled"] == .bool(true))
    }

    @Test func postingASpaceCreatesItOnceWithAManager() async throws {
        let fixture = try Self.started()
        let managers: JSONValue = .array([.string("teams-administrators")])
        let created = try await fixture.request(
            "POST",
            "/api/spaces",
            body: .object([("Name", .string("Imports")), ("SpaceManagersTeams", managers)])
        )
        #expect(created.status == 201)
        let id = try #require(try created.json()["Id"]?.stringValue)
        #expect(try created.json()["Name"]?.stringValue == "Imports")
        #expect(try fixture.column("SELECT Name FROM Space WHERE Id = '\(id)'") == ["Imports"])
        let listed = try await fixture.request("GET", "/api/spaces/all")
        #expect(try listed.json().arrayValue?.contains { $0["Id"]?.stringValue == id } == true)

        let again = try await fixture.request(
            "POST",
            "/api/spaces",
            body: .object([("Name", .string("imports")), ("SpaceManagersTeams", managers)])
        )
        #expect(again.status == 400)
        #expect(try again.json()["ErrorMessage"]?.stringValue?.contains("already exists") == true)
        let unmanaged = try await fixture.request("POST", "/api/spaces", body: .object([("Name", .string("Other"))]))
        #expect(unmanaged.status == 400)
        #expect(try unmanaged.json()["ErrorMessage"]?.stringValue?.contains("space manager") == true)
        let unnamed = try await fixture.request(
            "POST",
            "/api/spaces",
            body: .object([("SpaceManagersTeams", managers)])
        )
        #expect(unnamed.status == 400)
        #expect(try fixture.column("SELECT COUNT(*) FROM Space WHERE Name = 'Other'") == ["0"])
    }

    @Test func putRefusesWhatItCannotStore() async throws {
        let fixture = try Self.started()
        let mismatch = try await fixture.request(
            "PUT",
            "/api/Spaces-1/projects/Projects-1",
            body: .object([("Id", .string("Projects-2")), ("Name", .string("Web"))])
        )
        #expect(mismatch.status == 400)
        #expect(try mismatch.json()["ErrorMessage"]?.stringValue?.contains("does not match") == true)
        let notJSON = try await fixture.request("PUT", "/api/Spaces-1/projects/Projects-1", rawBody: Data("{".utf8))
        #expect(notJSON.status == 400)
        let noName = try await fixture.request(
            "PUT",
            "/api/Spaces-1/projects/Projects-1",
            body: .object([("IsDisabled", .bool(true))])
        )
        #expect(noName.status == 400)
        let badFlag = try await fixture.request(
            "PUT",
            "/api/Spaces-1/projects/Projects-1",
            body: .object([("Name", .string("Web")), ("IsDisabled", .string("yes"))])
        )
        #expect(badFlag.status == 400)
        let missing = try await fixture.request(
            "PUT",
            "/api/Spaces-1/projects/Projects-99",
            body: .object([("Name", .string("x"))])
        )
        #expect(missing.status == 404)
        #expect(try fixture.column("SELECT IsDisabled FROM Project WHERE Id = 'Projects-1'") == ["0"])
    }

    @Test func beforeSpacesOnlyUnscopedPathsExist() async throws {
        let fixture = try Self.started(version: "2018.10.5")
        #expect((try await fixture.request("GET", "/api/spaces")).status == 404)
        #expect((try await fixture.request("GET", "/api/Spaces-1/machines")).status == 404)
        let machines = try await fixture.getJSON("/api/machines")
        #expect(machines["TotalResults"] == .integer(3))
        let machine = try await fixture.getJSON("/api/machines/Machines-3")
        #expect(machine["SpaceId"] == nil)
        #expect(machine["Links"]?["Self"] == .string("/api/machines/Machines-3"))
        let root = try await fixture.getJSON("/api")
        #expect(root["Links"]?["Spaces"] == nil)
        #expect(root["Links"]?["Machines"]?.stringValue?.hasPrefix("/api/machines") == true)
    }

    @Test func unknownPathsAre404AndWrongMethods405() async throws {
        let fixture = try Self.started()
        let unknown = try await fixture.request("GET", "/api/nothing-here")
        #expect(unknown.status == 404)
        #expect(try unknown.json()["ErrorMessage"] != nil)
        #expect((try await fixture.request("GET", "/not-api")).status == 404)
        #expect((try await fixture.request("GET", "/api/Spaces-1/serverstatus")).status == 404)
        let delete = try await fixture.request("DELETE", "/api/spaces")
        #expect(delete.status == 405)
        #expect(delete.header("Allow")?.contains("GET") == true)
        #expect((try await fixture.request("POST", "/api/Spaces-1/machines", body: .object([]))).status == 405)
        #expect((try await fixture.request("PUT", "/api/spaces/Spaces-1", body: .object([]))).status == 405)
    }

    @Test func serverStatusHealthAndNodes() async throws {
        let fixture = try Self.started()
        let status = try await fixture.getJSON("/api/serverstatus")
        for key in [
            "IsDatabaseEncrypted", "IsInMaintenanceMode", "IsPotentialClone", "IsUpgradeAvailable",
            "IsMajorMinorUpgrade",
        ] {
            #expect(status[key]?.boolValue != nil, "serverstatus.\(key)")
        }
        #expect(status["MaximumAvailableVersion"] == .string("2023.3.13026"))
        #expect(status["IsPotentialClone"] == .bool(false))
        let health = try await fixture.getJSON("/api/serverstatus/health")
        for key in [
            "IsOperatingNormally", "IsEntireClusterReadOnly", "IsEntireClusterDrainingTasks", "IsCompliantWithLicense",
        ] {
            #expect(health[key]?.boolValue != nil, "health.\(key)")
        }
        #expect(health["Description"]?.stringValue?.isEmpty == false)
        #expect(health["IsCompliantWithLicense"] == .bool(true))
        let nodes = try await fixture.getJSON("/api/octopusservernodes")
        #expect(nodes["ItemType"] == .string("OctopusServerNode"))
        let node = try #require(nodes["Items"]?.arrayValue?.first)
        #expect(node["Name"] == .string(APIFixture.node))
        #expect(node["MaxConcurrentTasks"] == .integer(5))
        #expect(node["LastSeen"]?.stringValue?.isEmpty == false)
        // A production node left in a restored database makes the instance a potential clone.
        try fixture.open().run(
            "INSERT INTO OctopusServerNode (Id, Name, JSON) VALUES ('OctopusServerNodes-PROD1', 'PROD1', '{}')"
        )
        #expect(try await fixture.getJSON("/api/serverstatus")["IsPotentialClone"] == .bool(true))
    }

    @Test func serverConfigurationAndMaintenanceRoundTrip() async throws {
        let fixture = try Self.started()
        let configuration = try await fixture.getJSON("/api/serverconfiguration")
        #expect(configuration["ServerUri"] == .string(APIFixture.productionServerUri))
        var changed = try #require(configuration.objectValue)
        changed["ServerUri"] = .string("http://clone.test:8080")
        let put = try await fixture.request("PUT", "/api/serverconfiguration", body: .object(changed))
        #expect(try put.json()["ServerUri"] == .string("http://clone.test:8080"))
        #expect(
            try fixture.column(
                "SELECT json_extract(JSON, '$.ServerUri') FROM Configuration WHERE Id = 'serverconfiguration'"
            ) == ["http://clone.test:8080"]
        )
        let maintenance = try await fixture.getJSON("/api/maintenanceconfiguration")
        #expect(maintenance["Id"] == .string("maintenance"))
        #expect(maintenance["IsInMaintenanceMode"] == .bool(false))
        let on = try await fixture.request(
            "PUT",
            "/api/maintenanceconfiguration",
            body: .object([("Id", .string("maintenance")), ("IsInMaintenanceMode", .bool(true))])
        )
        #expect(try on.json()["IsInMaintenanceMode"] == .bool(true))
        #expect(try await fixture.getJSON("/api/serverstatus")["IsInMaintenanceMode"] == .bool(true))
        #expect(try await fixture.getJSON("/api/serverstatus/health")["IsEntireClusterReadOnly"] == .bool(true))
        let bad = try await fixture.request(
            "PUT",
            "/api/maintenanceconfiguration",
            body: .object([("IsInMaintenanceMode", .string("on"))])
        )
        #expect(bad.status == 400)
    }

    @Test func serverFoldersFollowTheDatabaseThenTheHome() async throws {
        let fixture = try Self.started { database in
            try seedModel(database)
            try APIFixture.insert(
                database,
                "Configuration",
                ["Id": "server-folders"],
                json: ["ArtifactsDirectory": "/srv/octopus/artifacts"]
            )
        }
        let folders = try await fixture.getJSON("/api/configuration/server-folders/values")
        #expect(folders["ArtifactsDirectory"] == .string("/srv/octopus/artifacts"))
        #expect(folders["LogsDirectory"] == .string("\(fixture.home)/TaskLogs"))
        #expect(folders["PackagesDirectory"] == .string("\(fixture.home)/Packages"))
        #expect(folders["EventExportsDirectory"] == .string("\(fixture.home)/EventExports"))
        #expect(folders["ImportsDirectory"] == .string("\(fixture.home)/Imports"))
    }

    @Test func tasksByIdByStateAndCancel() async throws {
        let fixture = try Self.started()
        let task = try await fixture.getJSON("/api/Spaces-1/tasks/ServerTasks-1")
        #expect(task["State"] == .string("Queued"))
        #expect(task["IsCompleted"] == .bool(false))
        #expect(task["FinishedSuccessfully"] == .bool(false))
        for key in [
            "ErrorMessage", "StartTime", "CompletedTime", "QueueTime", "ServerNode", "Duration", "HasWarningsOrErrors",
        ] {
            #expect(task[key] != nil, "task.\(key)")
        }
        #expect(try await fixture.getJSON("/api/tasks/ServerTasks-1") == task)
        #expect((try await fixture.request("GET", "/api/Spaces-2/tasks/ServerTasks-1")).status == 404)
        let queued = try await fixture.getJSON("/api/tasks?states=Queued")
        #expect(queued["Items"]?.arrayValue?.map { $0["Id"] } == [.string("ServerTasks-3"), .string("ServerTasks-1")])
        let spaceOne = try await fixture.getJSON("/api/Spaces-1/tasks")
        #expect(spaceOne["TotalResults"] == .integer(2))
        let withSystem = try await fixture.getJSON("/api/Spaces-1/tasks?includeSystem=true")
        #expect(withSystem["TotalResults"] == .integer(3))
        let done = try await fixture.getJSON("/api/tasks/ServerTasks-2")
        #expect(done["IsCompleted"] == .bool(true) && done["FinishedSuccessfully"] == .bool(true))
        #expect((try await fixture.request("GET", "/api/tasks?states=Cancelled")).status == 400)
        let cancelLink = try #require(task["Links"]?["Cancel"]?.stringValue)
        let canceled = try await fixture.request("POST", cancelLink)
        #expect(try canceled.json()["State"] == .string("Canceled"))
        #expect(try canceled.json()["IsCompleted"] == .bool(true))
        #expect(try fixture.column("SELECT State FROM ServerTask WHERE Id = 'ServerTasks-1'") == ["Canceled"])
        #expect((try await fixture.request("GET", "/api/tasks/ServerTasks-1/cancel")).status == 405)
    }

    @Test func artifactsRegardingATaskAndTheirContent() async throws {
        let fixture = try Self.started()
        let folder = "\(fixture.home)/Artifacts/servertasks-2"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let bytes = Data((0..<200_000).map { UInt8($0 % 251) })
        try bytes.write(to: URL(fileURLWithPath: "\(folder)/Octopus-Export-1.zip"))
        let page = try await fixture.getJSON("/api/Spaces-1/artifacts?regarding=ServerTasks-2")
        let artifact = try #require(page["Items"]?.arrayValue?.first)
        #expect(page["TotalResults"] == .integer(1))
        #expect(artifact["Filename"] == .string("Octopus-Export-1.zip"))
        #expect(artifact["ServerTaskId"] == .string("ServerTasks-2"))
        #expect(
            try await fixture.getJSON("/api/Spaces-1/artifacts?regarding=ServerTasks-1")["TotalResults"] == .integer(0)
        )
        try APIFixture.insert(
            fixture.open(),
            "Artifact",
            ["Id": "Artifacts-2", "SpaceId": "Spaces-1", "Filename": "notes.txt"],
            json: ["RelatedDocumentIds": ["Deployments-7"]]
        )
        let related = try await fixture.getJSON("/api/Spaces-1/artifacts?regarding=Deployments-7")
        #expect(related["Items"]?.arrayValue?.map { $0["Id"] } == [.string("Artifacts-2")])
        let content = try #require(artifact["Links"]?["Content"]?.stringValue)
        let download = try await fixture.request("GET", content)
        #expect(download.status == 200)
        #expect(download.body == bytes)
        #expect(download.header("Content-Disposition")?.contains("Octopus-Export-1.zip") == true)
        try FileManager.default.removeItem(atPath: "\(folder)/Octopus-Export-1.zip")
        #expect((try await fixture.request("GET", content)).status == 404)
    }

    @Test func aServerRefusesWhatItCannotRunWith() throws {
        let fixture = try APIFixture()
        var runtime = fixture.runtime
        runtime.listenPrefixes = ["https://localhost:8443/"]
        #expect { try StandInServer(runtime: runtime, timing: APIFixture.fastTiming) } throws: { error in
            (error as? StandInServerError)?.code == .invalidListenPrefix
        }
        runtime = fixture.runtime
        runtime.version = "latest"
        #expect { try StandInServer(runtime: runtime, timing: APIFixture.fastTiming) } throws: { error in
            (error as? StandInServerError)?.code == .invalidVersion
        }
        runtime = fixture.runtime
        runtime.databasePath = "\(fixture.root)/missing.sqlite"
        #expect { try StandInServer(runtime: runtime, timing: APIFixture.fastTiming) } throws: { error in
            (error as? StandInServerError)?.code == .databaseUnavailable
        }
        #expect { try StandInServer.Timing(environment: ["OCTOPUS_STANDIN_TICK_SECONDS": "soon"]) } throws: { error in
            (error as? StandInServerError)?.message.contains("OCTOPUS_STANDIN_TICK_SECONDS") == true
        }
        try fixture.start()
        runtime = fixture.runtime
        runtime.listenPrefixes = ["http://127.0.0.1:\(fixture.port)/"]
        let second = try StandInServer(runtime: runtime, timing: APIFixture.fastTiming)
        #expect { try second.start() } throws: { error in
            (error as? StandInServerError)?.code == .bindFailed
        }
    }
}

@Suite(.tags(.medium))
struct StandInServerLifecycleTests {
    @Test func runUntilTerminatedServesUntilSIGTERMThenStopsCleanly() async throws {
        let fixture = try APIFixture()
        let server = try StandInServer(runtime: fixture.runtime, timing: APIFixture.fastTiming)
        let returned = DispatchSemaphore(value: 0)
        Thread {
            #expect(throws: Never.self) { try server.runUntilTerminated() }
            returned.signal()
        }.start()
        #expect(try await APIFixture.eventually { !server.boundPorts.isEmpty })
        let port = try #require(server.boundPorts.first)
        #expect(
            try fixture.raw(
                Array("GET /api/octopusservernodes/ping HTTP/1.1\r\nConnection: close\r\n\r\n".utf8),
                port: port
            ).contains(" 418 ")
        )
        kill(getpid(), SIGTERM)
        #expect(try await APIFixture.eventually { returned.wait(timeout: .now()) == .success })
        #expect(fixture.serverLog().contains("Received signal SIGTERM; stopping."))
        #expect(fixture.serverLog().contains("node clone1 stopped."))
        #expect((try? RawSocket.connect(port: port)) == nil)
        // The previous disposition is back: SIGTERM is not left ignored (SIG_IGN is 1 in signal.h).
        var current = sigaction()
        sigaction(SIGTERM, nil, &current)
        #expect(unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) != 1)
        // wait() on a stopped server returns at once; stop() again does nothing.
        server.wait()
        server.stop()
    }
}
