import Foundation
import OctopusStandIn
import TestHelpers
import Testing
import Wire

/// What `octoprov drift` reads and what changes a project over the REST API: deployment processes, variable
/// sets, releases and projects' `LastModifiedOn`, against a seeded instance served over real HTTP on loopback.
@Suite("Deployment processes, variable sets and releases", .tags(.medium))
struct DriftAPITests {
    static let stale =
        "Changes to this process could not be saved, because another user has made changes to the process between "
        + "when you started editing and when you saved your changes. Please reload or open a new tab to make your changes."
    static let staleVariables =
        "Changes to these variables could not be saved, because another user has made changes to the variables "
        + "between when you started editing and when you saved your changes. Please reload or open a new tab to make "
        + "your changes."

    static func seeded() throws -> BentoInstance {
        try BentoInstance(version: "2023.3.13026", seeded: true)
    }

    /// GET that must answer 200, parsed.
    static func get(_ instance: BentoInstance, _ path: String) async throws -> JSONValue {
        let response = try await instance.request("GET", path)
        #expect(response.status == 200, "GET \(path): \(response.status) \(response.text)")
        return try response.json()
    }

    /// The Octopus validation answer: 400, "There was a problem with your request.", the reasons in `Errors`.
    static func expectValidation(_ response: APIFixture.Response, _ error: String) throws {
        #expect(response.status == 400, "\(response.text)")
        let body = try response.json()
        #expect(body["ErrorMessage"] == .string("There was a problem with your request."), "\(body)")
        #expect(body["Errors"]?.arrayValue?.contains(.string(error)) == true, "\(body)")
    }

    @Test func seededProjectsNameTheirProcessVariablesAndLastChange() async throws {
        let instance = try Self.seeded()
        let project = try await Self.get(instance, "/api/Spaces-1/projects/Projects-1")
        #expect(project["DeploymentProcessId"] == .string("deploymentprocess-Projects-1"))
        #expect(project["VariableSetId"] == .string("variableset-Projects-1"))
        #expect(project["LastModifiedBy"] == .string("admin"))
        #expect(project["LastModifiedOn"]?.stringValue?.hasPrefix("2026-11-23T21:00:00") == true)
        #expect(
            project["Links"]?["DeploymentProcess"] == .string("/api/Spaces-1/projects/Projects-1/deploymentprocesses")
        )

        let process = try await Self.get(instance, "/api/Spaces-1/projects/Projects-1/deploymentprocesses")
        #expect(process["Id"] == .string("deploymentprocess-Projects-1"))
        #expect(process["ProjectId"] == .string("Projects-1"))
        #expect(process["SpaceId"] == .string("Spaces-1"))
        #expect(process["Version"] == .integer(1))
        #expect(process["OwnerId"] == nil)
        let steps = process["Steps"]?.arrayValue ?? []
        #expect(steps.compactMap { $0["Name"]?.stringValue } == ["Deploy web package", "Smoke test"])
        #expect(steps.allSatisfy { $0["Id"]?.stringValue?.isEmpty == false })
        #expect(steps.first?["Actions"]?.arrayValue?.first?["ActionType"] == .string("Octopus.TentaclePackage"))
        #expect(process["Links"]?["Self"] == .string("/api/Spaces-1/deploymentprocesses/deploymentprocess-Projects-1"))
        #expect(process["Links"]?["Project"] == .string("/api/Spaces-1/projects/Projects-1"))
        #expect(
            try await Self.get(instance, "/api/Spaces-1/deploymentprocesses/deploymentprocess-Projects-1") == process
        )
        // Without a space in the path: the default space, as for every collection.
        #expect(try await Self.get(instance, "/api/deploymentprocesses/deploymentprocess-Projects-1") == process)

        // The seeded release was made from Version 1: its snapshot is a frozen copy.
        let snapshotId = try #require(process["LastSnapshotId"]?.stringValue)
        #expect(snapshotId.hasPrefix("deploymentprocess-Projects-1-s-1-") && snapshotId.count == 38)
        let snapshot = try await Self.get(instance, "/api/Spaces-1/deploymentprocesses/\(snapshotId)")
        #expect(snapshot["Steps"] == process["Steps"] && snapshot["Version"] == .integer(1))

        let list = try await Self.get(instance, "/api/Spaces-1/deploymentprocesses?take=3")
        #expect(list["ItemType"] == .string("DeploymentProcess"))
        #expect(list["TotalResults"] == .integer(4), "the projects' processes, not the release snapshots")
        #expect(list["Items"]?.arrayValue?.count == 3)
        #expect(list["Links"]?["Page.Next"] != nil)
        let ids = try await Self.get(instance, "/api/Spaces-1/deploymentprocesses?ids=deploymentprocess-Projects-3")
        #expect(ids["Items"]?.arrayValue?.map { $0["ProjectId"] } == [.string("Projects-3")])
        #expect(
            (try await instance.request("GET", "/api/Spaces-2/deploymentprocesses/deploymentprocess-Projects-1")).status
                == 404
        )
        #expect(
            (try await instance.request("GET", "/api/Spaces-1/projects/Projects-99/deploymentprocesses")).status == 404
        )
    }

    @Test func puttingAProcessRaisesItsVersionAndAStaleVersionIsRefused() async throws {
        let instance = try Self.seeded()
        let path = "/api/Spaces-1/deploymentprocesses/deploymentprocess-Projects-2"
        var process = try #require(try await Self.get(instance, path).objectValue)
        let before = process["LastModifiedOn"]?.stringValue ?? ""
        var steps = process["Steps"]?.arrayValue ?? []
        steps.append(
            .object([
                ("Name", .string("Notify")),
                (
                    "Actions",
                    .array([.object([("Name", .string("Notify")), ("ActionType", .string("Octopus.Email"))])])
                ),
            ])
        )
        process["Steps"] = .array(steps)
        let put = try await instance.request("PUT", path, body: .object(process))
        #expect(put.status == 200, "\(put.text)")
        let saved = try put.json()
        #expect(saved["Version"] == .integer(2))
        #expect(saved["LastModifiedBy"] == .string("admin"))
        #expect((saved["LastModifiedOn"]?.stringValue ?? "") > before)
        #expect(saved["LastSnapshotId"] == process["LastSnapshotId"], "a save does not snapshot")
        let added = try #require(saved["Steps"]?.arrayValue?.last)
        #expect(added["Name"] == .string("Notify"))
        #expect(added["Id"]?.stringValue?.count == 36, "a new step gets a GUID")
        #expect(added["Actions"]?.arrayValue?.first?["Id"]?.stringValue?.count == 36)
        #expect(try await Self.get(instance, path) == saved)
        #expect(
            try instance.column(
                "SELECT json_extract([JSON], '$.Version') FROM DeploymentProcess WHERE Id = 'deploymentprocess-Projects-2'"
            ) == ["2"]
        )

        // The same body again carries Version 1: another user saved in between.
        let stale = try await instance.request("PUT", path, body: .object(process))
        try Self.expectValidation(stale, Self.stale)
        #expect(try await Self.get(instance, path)["Version"] == .integer(2))

        // The project's own path takes the same PUT.
        var current = try #require(saved.objectValue)
        current["Steps"] = .array(Array((current["Steps"]?.arrayValue ?? []).prefix(1)))
        let viaProject = try await instance.request(
            "PUT",
            "/api/Spaces-1/projects/Projects-2/deploymentprocesses",
            body: .object(current)
        )
        #expect(viaProject.status == 200, "\(viaProject.text)")
        #expect(try viaProject.json()["Version"] == .integer(3))
        #expect(try viaProject.json()["Steps"]?.arrayValue?.count == 1)

        // Each change is an audit event about the process and its project.
        let events = try instance.column(
            "SELECT json_extract([JSON], '$.RelatedDocumentIds') FROM Event WHERE Category = 'Modified'"
        )
        #expect(events.filter { $0.contains("deploymentprocess-Projects-2") && $0.contains("Projects-2") }.count == 2)
        // The seeded release's snapshot still has the steps it was created with.
        let snapshotId = try #require(saved["LastSnapshotId"]?.stringValue)
        let snapshot = try await Self.get(instance, "/api/Spaces-1/deploymentprocesses/\(snapshotId)")
        #expect(snapshot["Steps"]?.arrayValue?.count == 2 && snapshot["Version"] == .integer(1))
    }

    @Test func aProcessPutIsCheckedBeforeAnythingChanges() async throws {
        let instance = try Self.seeded()
        let path = "/api/Spaces-1/deploymentprocesses/deploymentprocess-Projects-3"
        let process = try #require(try await Self.get(instance, path).objectValue)

        var noVersion = process
        noVersion["Version"] = nil
        let missing = try await instance.request("PUT", path, body: .object(noVersion))
        #expect(missing.status == 400)
        #expect(try missing.json()["Errors"]?.arrayValue?.first?.stringValue?.contains("Version") == true)

        var unnamed = process
        unnamed["Steps"] = .array([.object([("Name", .string(" "))])])
        try Self.expectValidation(
            try await instance.request("PUT", path, body: .object(unnamed)),
            "Step 1 needs a Name."
        )

        var otherProject = process
        otherProject["ProjectId"] = .string("Projects-1")
        #expect(try await instance.request("PUT", path, body: .object(otherProject)).status == 400)
        var otherId = process
        otherId["Id"] = .string("deploymentprocess-Projects-1")
        #expect(try await instance.request("PUT", path, body: .object(otherId)).status == 400)
        #expect(try await instance.request("PUT", path, rawBody: Data("[".utf8)).status == 400)

        let snapshotId = try #require(process["LastSnapshotId"]?.stringValue)
        var snapshot = try #require(
            try await Self.get(instance, "/api/Spaces-1/deploymentprocesses/\(snapshotId)").objectValue
        )
        snapshot["Steps"] = .array([])
        try Self.expectValidation(
            try await instance.request(
                "PUT",
                "/api/Spaces-1/deploymentprocesses/\(snapshotId)",
                body: .object(snapshot)
            ),
            "You cannot modify this process because it is frozen. You'll need to create a new process instead."
        )
        #expect(
            try await instance.request(
                "PUT",
                "/api/Spaces-1/deploymentprocesses/deploymentprocess-Projects-99",
                body: .object(process)
            ).status == 404
        )
        #expect(try await instance.request("DELETE", path).status == 405)
        #expect(try await Self.get(instance, path) == .object(process))
        #expect(try instance.column("SELECT COUNT(*) FROM Event WHERE Category = 'Modified'") == ["0"])
    }

    @Test func puttingVariablesRaisesTheVersionAndKeepsSensitiveValuesSecret() async throws {
        let instance = try Self.seeded()
        let path = "/api/Spaces-1/variables/variableset-Projects-1"
        var set = try #require(try await Self.get(instance, path).objectValue)
        #expect(set["OwnerId"] == .string("Projects-1"))
        #expect(set["Version"] == .integer(1))
        #expect(set["SpaceId"] == .string("Spaces-1"))
        let seededVariables = set["Variables"]?.arrayValue ?? []
        let password = try #require(seededVariables.first { $0["Name"] == .string("ApiPassword") })
        #expect(password["IsSensitive"] == .bool(true) && password["Value"] == .null, "never sent")
        #expect(!(try await instance.request("GET", path)).text.contains("|"), "no ciphertext either")
        let environments = set["ScopeValues"]?["Environments"]?.arrayValue?.compactMap { $0["Name"]?.stringValue }
        #expect(environments == ["Development", "Production", "Test"])
        #expect(set["ScopeValues"]?["Channels"]?.arrayValue?.map { $0["Id"] } == [.string("Channels-1")])
        #expect(set["ScopeValues"]?["Actions"]?.arrayValue?.count == 2)
        #expect(set["ScopeValues"]?["Roles"]?.arrayValue?.map { $0["Name"] } == [.string("web-server")])

        // Change the plain value, keep the sensitive one as sent (null), add a new sensitive one.
        var variables = seededVariables.map { variable -> JSONValue in
            guard var object = variable.objectValue, object["Name"] == .string("ConnectionString") else {
                return variable
            }
            object["Value"] = .string("Server=db2")
            return .object(object)
        }
        variables.append(
            .object([
                ("Name", .string("DeployToken")), ("Value", .string("tok-42")), ("IsSensitive", .bool(true)),
                ("Type", .string("Sensitive")),
            ])
        )
        set["Variables"] = .array(variables)
        let put = try await instance.request("PUT", path, body: .object(set))
        #expect(put.status == 200, "\(put.text)")
        #expect(!put.text.contains("tok-42"))
        let saved = try put.json()
        #expect(saved["Version"] == .integer(2))
        #expect(saved["LastModifiedBy"] == .string("admin"))
        #expect(saved["Variables"]?.arrayValue?.count == 3)
        #expect(saved["Variables"]?.arrayValue?.allSatisfy { $0["Id"]?.stringValue?.isEmpty == false } == true)
        let stored = try JSONValue(
            parsing: try #require(
                try instance.column("SELECT [JSON] FROM VariableSet WHERE Id = 'variableset-Projects-1'").first
            )
        )
        func storedValue(_ name: String) -> String? {
            stored["Variables"]?.arrayValue?.first { $0["Name"] == .string(name) }?["Value"]?.stringValue
        }
        #expect(storedValue("ConnectionString") == "Server=db2")
        #expect(try instance.masterKey.decrypt(try #require(storedValue("ApiPassword"))) == "p@ss-Projects-1")
        #expect(try instance.masterKey.decrypt(try #require(storedValue("DeployToken"))) == "tok-42")

        // Version 1 again is stale; duplicate variable Ids are refused; a release's snapshot is frozen.
        try Self.expectValidation(try await instance.request("PUT", path, body: .object(set)), Self.staleVariables)
        var duplicated = try #require(saved.objectValue)
        let first = try #require(duplicated["Variables"]?.arrayValue?.first)
        duplicated["Variables"] = .array([first, first])
        try Self.expectValidation(
            try await instance.request("PUT", path, body: .object(duplicated)),
            "Variable ids must be unique."
        )
        let release = try await Self.get(instance, "/api/Spaces-1/releases/Releases-1")
        let snapshotId = try #require(release["ProjectVariableSetSnapshotId"]?.stringValue)
        var snapshot = try #require(try await Self.get(instance, "/api/Spaces-1/variables/\(snapshotId)").objectValue)
        #expect(snapshot["Version"] == .integer(1))
        snapshot["Variables"] = .array([])
        try Self.expectValidation(
            try await instance.request("PUT", "/api/Spaces-1/variables/\(snapshotId)", body: .object(snapshot)),
            "You cannot modify this variable set because the set is frozen. You'll need to create a new variable set "
                + "instead."
        )
        #expect(try await Self.get(instance, path)["Version"] == .integer(2))
        let all = try await Self.get(instance, "/api/Spaces-1/variables/all")
        #expect(all.arrayValue?.count == 4, "the projects' sets, not the snapshots")
    }

    @Test func releasesArePagedNewestFirstAndANewOneSnapshotsTheProcess() async throws {
        let instance = try Self.seeded()
        let page = try await Self.get(instance, "/api/Spaces-1/releases?take=2")
        #expect(page["ItemType"] == .string("Release"))
        #expect(page["TotalResults"] == .integer(4))
        #expect(page["Items"]?.arrayValue?.map { $0["Id"] } == [.string("Releases-4"), .string("Releases-3")])
        #expect(page["Links"]?["Page.Next"] == .string("/api/Spaces-1/releases?skip=2&take=2"))
        let seeded = try await Self.get(instance, "/api/Spaces-1/releases/Releases-1")
        #expect(seeded["Version"] == .string("1.0.1") && seeded["ProjectId"] == .string("Projects-1"))
        #expect(seeded["ChannelId"] == .string("Channels-1"))
        #expect(seeded["Assembled"]?.stringValue?.isEmpty == false)

        let created = try await instance.request(
            "POST",
            "/api/Spaces-1/releases",
            body: .object([
                ("ProjectId", .string("Projects-2")), ("Version", .string("2.0.0")),
                ("ReleaseNotes", .string("drift test")),
            ])
        )
        #expect(created.status == 201, "\(created.text)")
        let release = try created.json()
        let id = try #require(release["Id"]?.stringValue)
        #expect(id == "Releases-9", "after the eight seeded releases of both spaces")
        #expect(release["SpaceId"] == .string("Spaces-1") && release["ProjectId"] == .string("Projects-2"))
        #expect(release["ChannelId"] == .string("Channels-2"), "the project's default channel")
        #expect(release["ReleaseNotes"] == .string("drift test"))
        #expect(release["LastModifiedBy"] == .string("admin"))
        let snapshotId = try #require(release["ProjectDeploymentProcessSnapshotId"]?.stringValue)
        #expect(snapshotId.hasPrefix("deploymentprocess-Projects-2-s-1-"))
        let process = try await Self.get(instance, "/api/Spaces-1/projects/Projects-2/deploymentprocesses")
        #expect(process["LastSnapshotId"] == .string(snapshotId))
        #expect(process["Version"] == .integer(1), "creating a release does not change the process's Version")
        let snapshot = try await Self.get(instance, "/api/Spaces-1/deploymentprocesses/\(snapshotId)")
        #expect(snapshot["Steps"] == process["Steps"])
        let variableSnapshot = try #require(release["ProjectVariableSetSnapshotId"]?.stringValue)
        #expect(variableSnapshot.hasPrefix("variableset-Projects-2-s-1-"))
        #expect(try await Self.get(instance, "/api/Spaces-1/variables/\(variableSnapshot)")["Version"] == .integer(1))
        #expect(
            try instance.column("SELECT IsFrozen FROM DeploymentProcess WHERE Id = ?", [.text(snapshotId)]) == ["1"]
        )

        let mine = try await Self.get(instance, "/api/Spaces-1/projects/Projects-2/releases")
        #expect(mine["Items"]?.arrayValue?.map { $0["Version"] } == [.string("2.0.0"), .string("1.0.2")])
        let search = try await Self.get(instance, "/api/Spaces-1/projects/Projects-2/releases?searchByVersion=2.0")
        #expect(search["TotalResults"] == .integer(1))
        let newest = try await Self.get(instance, "/api/releases?take=1")
        #expect(newest["Items"]?.arrayValue?.first?["Id"] == .string(id))
        #expect(
            try instance.column(
                "SELECT Category FROM Event WHERE json_extract([JSON], '$.RelatedDocumentIds[0]') = ?",
                [
                    .text(id)
                ]
            ) == ["ReleaseCreated"]
        )

        // A version the project has is refused as Octopus refuses it; another project may use it.
        let duplicate = try await instance.request(
            "POST",
            "/api/Spaces-1/releases",
            body: .object([("ProjectId", .string("Projects-2")), ("Version", .string("2.0.0"))])
        )
        try Self.expectValidation(
            duplicate,
            "Release '2.0.0' already exists for this project. Please use a different version, or look at using a mask "
                + "to auto-increment the number."
        )
        let elsewhere = try await instance.request(
            "POST",
            "/api/Spaces-1/releases",
            body: .object([("ProjectId", .string("Projects-3")), ("Version", .string("2.0.0"))])
        )
        #expect(elsewhere.status == 201)
        for body in [
            JSONValue.object([("Version", .string("3.0.0"))]),
            .object([("ProjectId", .string("Projects-2"))]),
            .object([("ProjectId", .string("Projects-99")), ("Version", .string("3.0.0"))]),
            .object([
                ("ProjectId", .string("Projects-2")), ("Version", .string("3.0.0")),
                ("ChannelId", .string("Channels-1")),
            ]),
        ] {
            let refused = try await instance.request("POST", "/api/Spaces-1/releases", body: body)
            #expect(refused.status == 400, "\(body): \(refused.text)")
        }
        #expect(try instance.column("SELECT COUNT(*) FROM Release WHERE SpaceId = 'Spaces-1'") == ["6"])
        #expect(try await instance.request("PUT", "/api/Spaces-1/releases/\(id)", body: release).status == 405)
    }

    @Test func beforeSpacesTheSameResourcesAreUnscoped() async throws {
        let fixture = try APIServerTests.started(version: "2018.10.5")
        #expect((try await fixture.request("GET", "/api/Spaces-1/deploymentprocesses")).status == 404)
        var process = try #require(
            try await fixture.getJSON("/api/projects/Projects-1/deploymentprocesses").objectValue
        )
        #expect(process["SpaceId"] == nil && process["Version"] == .integer(0))
        #expect(process["Links"]?["Self"] == .string("/api/deploymentprocesses/deploymentprocess-Projects-1"))
        process["Steps"] = .array([.object([("Name", .string("Deploy"))])])
        let put = try await fixture.request(
            "PUT",
            "/api/projects/Projects-1/deploymentprocesses",
            body: .object(process)
        )
        #expect(put.status == 200, "\(put.text)")
        #expect(try put.json()["Version"] == .integer(1))
        let created = try await fixture.request(
            "POST",
            "/api/releases",
            body: .object([("ProjectId", .string("Projects-1")), ("Version", .string("1.0.0"))])
        )
        #expect(created.status == 201, "\(created.text)")
        #expect(try created.json()["SpaceId"] == nil)
        #expect(try await fixture.getJSON("/api/variables/variableset-Projects-2")["OwnerId"] == .string("Projects-2"))
        let root = try await fixture.getJSON("/api")
        #expect(root["Links"]?["Releases"]?.stringValue?.hasPrefix("/api/releases") == true)
    }

    @Test func puttingAProjectRecordsWhenAndWhoAndKeepsWhatItOwns() async throws {
        let instance = try Self.seeded()
        var project = try #require(try await Self.get(instance, "/api/Spaces-1/projects/Projects-4").objectValue)
        project["Description"] = .string("changed on the source")
        project["DeploymentProcessId"] = nil
        project["VariableSetId"] = .string("variableset-Projects-1")
        let put = try await instance.request("PUT", "/api/Spaces-1/projects/Projects-4", body: .object(project))
        #expect(put.status == 200, "\(put.text)")
        let saved = try put.json()
        #expect(saved["Description"] == .string("changed on the source"))
        #expect(saved["LastModifiedBy"] == .string("admin"))
        #expect((saved["LastModifiedOn"]?.stringValue ?? "") > "2026-11-23T21:00:00.000+00:00")
        #expect(saved["DeploymentProcessId"] == .string("deploymentprocess-Projects-4"))
        #expect(saved["VariableSetId"] == .string("variableset-Projects-4"), "the server owns these members")
        #expect(try instance.column("SELECT Category FROM Event").contains("Modified"))
    }
}
