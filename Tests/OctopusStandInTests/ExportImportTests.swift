import Foundation
import OctopusStandIn
import TestHelpers
import Testing
import Wire

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// An Octopus instance for Export/Import Projects: a database created as `database --create` does (with a
/// Master Key), optionally seeded as "production" by ``Seeder``, served in-process over real HTTP on a free
/// loopback port, this node taking tasks.
final class BentoInstance {
    static let node = "bento-node"
    /// Where the seeded targets and workers are: a loopback port nothing listens on (refused at once).
    static let closedEndpoint = "https://127.0.0.1:1/"

    let root: String
    let version: String
    let masterKey = MasterKey.generate()
    let apiKey: String
    let server: StandInServer
    let port: Int
    var home: String { "\(root)/home" }
    var databasePath: String { DataFolder(root: "\(root)/data").databasePath(server: "localhost", database: "Octopus") }

    /// - Parameters:
    ///   - version: The Octopus version it plays.
    ///   - seeded: Seeds "production" (two spaces of four projects, targets, workers, triggers, variables
    ///     with sensitive values, releases, an account and a certificate); otherwise a fresh instance.
    ///   - prepare: Further rows, before the server starts.
    init(version: String, seeded: Bool, prepare: (SQLiteDatabase) throws -> Void = { _ in }) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("standin-bento-\(UUID().uuidString)").path
        self.version = version
        let database = try OctopusDatabase.create(
            in: DataFolder(root: "\(root)/data"),
            server: "localhost",
            database: "Octopus",
            version: try #require(StandInVersion(version)),
            masterKey: masterKey,
            home: "\(root)/home"
        )
        if seeded {
            var plan = SeedPlan(
                targetEndpoint: Self.closedEndpoint,
                webhookURL: "http://127.0.0.1:1/hook",
                serverURI: "https://octopus.production.example"
            )
            plan.subscriptions = 0
            plan.queuedTasks = 0
            var seeder = Seeder(
                database: database,
                plan: plan,
                version: version,
                features: Seeder.Features(spaces: true, workers: true),
                encrypt: { [masterKey] in masterKey.encrypt($0) }
            )
            _ = try seeder.populate()
            apiKey = seeder.apiKey
        } else {
            apiKey = "API-BENTOTARGET000000000000001"
            try database.run("INSERT INTO [User] (Id, Name, IsActive, [JSON]) VALUES ('Users-1', 'admin', 1, '{}')")
            try database.run(
                "INSERT INTO ApiKey (Id, UserId, ApiKeyHashed, [JSON]) VALUES ('ApiKeys-1', 'Users-1', ?, '{}')",
                [.text(APIKeyHash.hashed(apiKey))]
            )
        }
        try database.run(
            "INSERT OR IGNORE INTO Configuration (Id, [JSON]) VALUES ('license', '{\"LicenseText\":\"<License/>\"}')"
        )
        try OctopusDatabase.registerNode(Self.node, in: database, isInMaintenanceMode: false)
        try prepare(database)
        var timing = StandInServer.Timing()
        timing.tick = 0.1
        timing.triggerInterval = 3600
        timing.healthCheckInterval = 3600
        timing.connectTimeout = 1
        timing.webhookTimeout = 1
        timing.httpTimeout = 10
        server = try StandInServer(
            runtime: ServerRuntime(
                instanceName: "OctopusServer",
                nodeName: Self.node,
                listenPrefixes: ["http://127.0.0.1:0/"],
                databasePath: DataFolder(root: "\(root)/data").databasePath(server: "localhost", database: "Octopus"),
                version: version,
                homeDirectory: "\(root)/home",
                masterKey: masterKey
            ),
            timing: timing
        )
        port = try #require(try server.start().first)
    }

    deinit {
        server.stop()
        try? FileManager.default.removeItem(atPath: root)
    }

    func open() throws -> SQLiteDatabase { try SQLiteDatabase(path: databasePath) }

    /// The single column of a query, as text.
    func column(_ sql: String, _ parameters: [SQLValue] = []) throws -> [String] {
        try open().query(sql, parameters).rows.map { $0.first?.description ?? "" }
    }

    func count(_ table: String) throws -> Int {
        Int(try open().query("SELECT COUNT(*) FROM [\(table)]").rows.first?.first?.integer ?? -1)
    }

    /// Sends a request with this instance's API key.
    func request(
        _ method: String,
        _ path: String,
        body: JSONValue? = nil,
        rawBody: Data? = nil,
        headers: [String: String] = [:]
    ) async throws -> APIFixture.Response {
        try await Self.send(port: port, apiKey: apiKey, method, path, body: body, rawBody: rawBody, headers: headers)
    }

    /// Sends a request to a server on 127.0.0.1.
    static func send(
        port: Int,
        apiKey: String,
        _ method: String,
        _ path: String,
        body: JSONValue? = nil,
        rawBody: Data? = nil,
        headers: [String: String] = [:]
    ) async throws -> APIFixture.Response {
        let url = try #require(URL(string: "http://127.0.0.1:\(port)\(path)"))
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 20
        request.setValue(apiKey, forHTTPHeaderField: "X-Octopus-ApiKey")
        if let body {
            request.httpBody = Data(body.serialized().utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let rawBody { request.httpBody = rawBody }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        let (data, response) = try await session.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { fields[name] = value }
        }
        return APIFixture.Response(status: http.statusCode, headers: fields, body: data)
    }

    /// Polls `GET /api/tasks/{id}` until the task is completed.
    func waitForTask(_ id: String, timeout: Double = 30) async throws -> JSONValue {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let task = try await request("GET", "/api/tasks/\(id)").json()
            if task["IsCompleted"] == .bool(true) || Date() > deadline { return task }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Starts an export and waits for it.
    func export(
        _ projectIds: [String],
        password: String,
        space: String = "Spaces-1"
    ) async throws -> (
        task: JSONValue, id: String
    ) {
        let response = try await request(
            "POST",
            "/api/\(space)/projects/import-export/export",
            body: .object([
                ("IncludedProjectIds", .array(projectIds.map { .string($0) })),
                ("Password", ExportImportTests.password(password)),
            ])
        )
        #expect(response.status == 200, "\(response.text)")
        let id = try #require(try response.json()["TaskId"]?.stringValue)
        return (try await waitForTask(id), id)
    }

    /// Downloads the export zip of a finished export task, as the docs' script does.
    func downloadExport(task id: String, space: String = "Spaces-1") async throws -> (name: String, data: Data) {
        let artifacts = try await request("GET", "/api/\(space)/artifacts?regarding=\(id)").json()
        let items = artifacts["Items"]?.arrayValue ?? []
        #expect(items.count == 1)
        let artifact = try #require(items.first)
        let name = try #require(artifact["Filename"]?.stringValue)
        let content = try #require(artifact["Links"]?["Content"]?.stringValue)
        let download = try await request("GET", content)
        #expect(download.status == 200)
        return (name, download.body)
    }

    /// Uploads a zip to `import-files` (multipart field `fileData`), then imports it and waits.
    func importUpload(
        _ data: Data,
        name: String,
        password: String,
        space: String = "Spaces-1"
    ) async throws
        -> JSONValue
    {
        let uploaded = try await upload(data, name: name, space: space)
        #expect(uploaded.status == 200, "\(uploaded.text)")
        let fileId = try #require(try uploaded.json()["UploadedFileId"]?.stringValue)
        let response = try await request(
            "POST",
            "/api/\(space)/projects/import-export/import",
            body: .object([
                ("ImportSource", .object([("Type", .string("upload")), ("UploadedFileId", .string(fileId))])),
                ("Password", ExportImportTests.password(password)),
            ])
        )
        #expect(response.status == 200, "\(response.text)")
        let id = try #require(try response.json()["TaskId"]?.stringValue)
        return try await waitForTask(id)
    }

    func upload(_ data: Data, name: String, space: String = "Spaces-1") async throws -> APIFixture.Response {
        let boundary = "bento-\(UUID().uuidString)"
        var body = Data(
            ("--\(boundary)\r\nContent-Disposition: form-data; name=\"fileData\"; filename=\"\(name)\"\r\n"
                + "Content-Type: application/octet-stream\r\n\r\n").utf8
        )
        body += data
        body += Data("\r\n--\(boundary)--\r\n".utf8)
        return try await request(
            "POST",
            "/api/\(space)/projects/import-export/import-files",
            rawBody: body,
            headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"]
        )
    }
}

/// Export/Import Projects through the stand-in's REST API (octopus-facts.md §4.5), end to end between two
/// servers: export from a seeded "production", download the zip artifact, upload it to a fresh instance,
/// import, and check what arrived (and what did not).
@Suite("Export/Import Projects", .tags(.medium))
struct ExportImportTests {
    static func password(_ value: String) -> JSONValue {
        .object([("HasValue", .bool(true)), ("NewValue", .string(value))])
    }

    /// A seeded 2023.3 source with what an export follows beyond the seed: a non-default lifecycle on
    /// Web App 1.2's channel, a variable scoped to an environment, a variable naming an account, and
    /// deployment processes whose steps name a worker pool and another project (Deploy a Release).
    static func source(version: String = "2023.3.13026") throws -> BentoInstance {
        try BentoInstance(version: version, seeded: true) { database in
            // Spaces-1: Environments-1..3 (Development, Test, Production), Lifecycles-1 "Default Lifecycle",
            // Projects-1..4 "Web App 1.1".."Web App 1.4", Channels-1..4, Accounts-1, WorkerPools-1.
            try database.run(
                "INSERT INTO Lifecycle (Id, Name, SpaceId, [JSON]) VALUES ('Lifecycles-9', 'Web Lifecycle', 'Spaces-1', ?)",
                [
                    .text(
                        #"{"Phases":[{"Name":"Dev","OptionalDeploymentTargets":["Environments-1"]},"#
                            + #"{"Name":"Test","AutomaticDeploymentTargets":["Environments-2"]}]}"#
                    )
                ]
            )
            try database.run(
                "UPDATE Channel SET [JSON] = json_set([JSON], '$.LifecycleId', 'Lifecycles-9') WHERE ProjectId = 'Projects-2'"
            )
            try database.run(
                "UPDATE VariableSet SET [JSON] = json_insert([JSON], '$.Variables[#]', json(?)) WHERE OwnerId = 'Projects-2'",
                [.text(#"{"Name":"Tier","Value":"test","Scope":{"Environment":["Environments-2"]}}"#)]
            )
            try database.run(
                "UPDATE VariableSet SET [JSON] = json_insert([JSON], '$.Variables[#]', json(?)) WHERE OwnerId = 'Projects-3'",
                [.text(#"{"Name":"SqlLogin","Type":"UsernamePasswordAccount","Value":"Accounts-1"}"#)]
            )
            // Web App 1.1's process (seeded, Version 1) gains a Deploy a Release step run on a worker pool.
            try database.run(
                "UPDATE DeploymentProcess SET [JSON] = json_insert([JSON], '$.Steps[#]', json(?)) "
                    + "WHERE Id = 'deploymentprocess-Projects-1'",
                [
                    .text(
                        #"{"Name":"Deploy the API","Actions":[{"ActionType":"Octopus.DeployRelease","#
                            + #""WorkerPoolId":"WorkerPools-1","Properties":{"Octopus.Action.DeployRelease.ProjectId":"Projects-3"}}]}"#
                    )
                ]
            )
        }
    }

    @Test func threeProjectsTravelWithTheirVariablesChannelsAndLifecyclesAndNothingElse() async throws {
        let source = try Self.source()
        let target = try BentoInstance(version: "2023.3.13026", seeded: false)

        // The export task, seen queued while this node drains, then running to Success.
        try source.open().run(
            "UPDATE OctopusServerNode SET IsInMaintenanceMode = 1 WHERE Name = ?",
            [.text(BentoInstance.node)]
        )
        let started = try await source.request(
            "POST",
            "/api/Spaces-1/projects/import-export/export",
            body: .object([
                ("IncludedProjectIds", .array([.string("Projects-1"), .string("Projects-2"), .string("Projects-3")])),
                ("Password", Self.password("5uper5ecret")),
            ])
        )
        #expect(started.status == 200, "\(started.text)")
        let taskId = try #require(try started.json()["TaskId"]?.stringValue)
        let queued = try await source.request("GET", "/api/Spaces-1/tasks/\(taskId)").json()
        #expect(queued["State"] == .string("Queued"))
        #expect(queued["Name"] == .string("ExportProjects"))
        #expect(queued["IsCompleted"] == .bool(false))
        #expect(queued["Links"]?["Cancel"] != nil)
        #expect(!queued.serialized().contains("5uper5ecret"))
        #expect(try !String(contentsOfFile: source.serverLogPath, encoding: .utf8).contains("5uper5ecret"))
        try source.open().run(
            "UPDATE OctopusServerNode SET IsInMaintenanceMode = 0 WHERE Name = ?",
            [.text(BentoInstance.node)]
        )
        let exported = try await source.waitForTask(taskId)
        #expect(exported["State"] == .string("Success"), "\(exported)")
        #expect(exported["FinishedSuccessfully"] == .bool(true))
        #expect(exported["ErrorMessage"] == .string(""))
        #expect(exported["StartTime"]?.stringValue?.isEmpty == false)
        #expect(exported["CompletedTime"]?.stringValue?.isEmpty == false)
        let exportLog = try await source.request("GET", "/api/tasks/\(taskId)/raw").text
        #expect(exportLog.contains("Exporting project 'Web App 1.2' (Projects-2)"))
        #expect(!exportLog.contains("5uper5ecret"))

        // The artifact: a real zip (unzip lists it) without triggers, targets, workers or history, and
        // without any value the source's Master Key encrypts.
        let (name, zip) = try await source.downloadExport(task: taskId)
        #expect(name.hasPrefix("Octopus-Export-") && name.hasSuffix(".zip"))
        let listed = try ExportImportTests.unzipList(zip)
        #expect(listed.contains("metadata.json"))
        #expect(listed.contains("Project/Projects-1.json") && listed.contains("Project/Projects-3.json"))
        #expect(!listed.contains("Project/Projects-4.json"))
        #expect(listed.contains("DeploymentProcess/deploymentprocess-Projects-1.json"))
        #expect(listed.contains("Account/Accounts-1.json") && listed.contains("WorkerPool/WorkerPools-1.json"))
        #expect(
            listed.contains("Environment/Environments-1.json") && listed.contains("Environment/Environments-2.json")
        )
        #expect(!listed.contains("Environment/Environments-3.json"), "Production is only in the default lifecycle")
        for excluded in ["ProjectTrigger/", "Machine/", "Worker/", "Release/", "Deployment/", "ServerTask/", "Event/"] {
            #expect(!listed.contains { $0.hasPrefix(excluded) }, "\(excluded) must not be exported")
        }
        let zipText = String(decoding: zip, as: UTF8.self)
        #expect(!zipText.contains("p@ss-Projects-1") && !zipText.contains("s3cret-1"))
        let sourceCiphertext = try #require(
            try source.column(
                "SELECT json_extract([JSON], '$.Variables[1].Value') FROM VariableSet WHERE Id = 'variableset-Projects-1'"
            )
            .first
        )
        #expect(!zipText.contains(sourceCiphertext))

        // Upload to the fresh instance and import.
        let imported = try await target.importUpload(zip, name: name, password: "5uper5ecret")
        #expect(imported["State"] == .string("Success"), "\(imported)")
        #expect(imported["FinishedSuccessfully"] == .bool(true))

        let projects = try await target.request("GET", "/api/Spaces-1/projects/all").json()
        let names = (projects.arrayValue ?? []).compactMap { $0["Name"]?.stringValue }.sorted()
        #expect(names == ["Web App 1.1", "Web App 1.2", "Web App 1.3"])
        #expect(try target.column("SELECT Name FROM Environment ORDER BY Name") == ["Development", "Test"])
        #expect(
            try target.column("SELECT Name FROM Lifecycle ORDER BY Name") == ["Default Lifecycle", "Web Lifecycle"]
        )
        #expect(try target.count("Channel") == 3)
        #expect(try target.count("VariableSet") == 3)
        for table in ["ProjectTrigger", "Machine", "Worker", "Release", "Deployment", "Event", "Artifact"] {
            #expect(try target.count(table) == 0, "\(table) must not be imported")
        }
        let triggers = try await target.request("GET", "/api/Spaces-1/projecttriggers").json()
        #expect(triggers["TotalResults"] == .integer(0))
        let machines = try await target.request("GET", "/api/Spaces-1/machines").json()
        #expect(machines["TotalResults"] == .integer(0))

        // References now point at the target's Ids; sensitive values open with the target's key only.
        let web2 = try #require(try target.column("SELECT Id FROM Project WHERE Name = 'Web App 1.2'").first)
        let web3 = try #require(try target.column("SELECT Id FROM Project WHERE Name = 'Web App 1.3'").first)
        let webLifecycle = try #require(
            try target.column("SELECT Id FROM Lifecycle WHERE Name = 'Web Lifecycle'").first
        )
        let test = try #require(try target.column("SELECT Id FROM Environment WHERE Name = 'Test'").first)
        #expect(
            try target.column(
                "SELECT json_extract([JSON], '$.LifecycleId') FROM Channel WHERE ProjectId = ?",
                [.text(web2)]
            )
                == [webLifecycle]
        )
        let variables = try #require(
            try target.open().query("SELECT [JSON] FROM VariableSet WHERE OwnerId = ?", [.text(web2)]).rows.first?
                .first?.text
        )
        let document = try JSONValue(parsing: variables)
        let list = document["Variables"]?.arrayValue ?? []
        #expect(list.first { $0["Name"] == .string("Tier") }?["Scope"]?["Environment"] == .array([.string(test)]))
        let secret = try #require(list.first { $0["Name"] == .string("ApiPassword") }?["Value"]?.stringValue)
        #expect(try target.masterKey.decrypt(secret) == "p@ss-Projects-2")
        #expect((try? source.masterKey.decrypt(secret)) != "p@ss-Projects-2")
        let account = try #require(
            try target.column(
                "SELECT json_extract([JSON], '$.Password') FROM Account WHERE Name = 'Production SQL login'"
            ).first
        )
        #expect(try target.masterKey.decrypt(account) == "s3cret-1")
        #expect(try target.column("SELECT Name FROM WorkerPool") == ["Default Worker Pool"])
        let web1 = try #require(try target.column("SELECT Id FROM Project WHERE Name = 'Web App 1.1'").first)
        let process = try #require(
            try target.column("SELECT [JSON] FROM DeploymentProcess WHERE OwnerId = ?", [.text(web1)]).first
        )
        #expect(process.contains("\"Octopus.Action.DeployRelease.ProjectId\":\"\(web3)\""))
        let pool = try #require(try target.column("SELECT Id FROM WorkerPool").first)
        #expect(process.contains("\"WorkerPoolId\":\"\(pool)\""))
        // Each imported project has its own process with the source's steps, served like any process; the
        // source's release snapshots stay behind.
        #expect(try target.count("DeploymentProcess") == 3)
        #expect(try target.column("SELECT COUNT(*) FROM DeploymentProcess WHERE IsFrozen = 1") == ["0"])
        let served = try await target.request("GET", "/api/Spaces-1/projects/\(web1)/deploymentprocesses").json()
        #expect(served["Id"] == .string("deploymentprocess-\(web1)") && served["ProjectId"] == .string(web1))
        #expect(
            served["Steps"]?.arrayValue?.compactMap { $0["Name"]?.stringValue }
                == ["Deploy web package", "Smoke test", "Deploy the API"]
        )
        #expect(served["Version"] == .integer(1) && served["LastSnapshotId"] == .null)
        let importedProject = try await target.request("GET", "/api/Spaces-1/projects/\(web1)").json()
        #expect(importedProject["DeploymentProcessId"] == .string("deploymentprocess-\(web1)"))
        let importLog = try await target.request("GET", "/api/tasks/\(try #require(imported["Id"]?.stringValue))/raw")
            .text
        #expect(importLog.contains("'Production'"), "the default lifecycle's environment that is missing is named")
        #expect(
            try target.column("SELECT json_extract([JSON], '$.Phases') FROM Lifecycle WHERE Name = 'Default Lifecycle'")
                .first?.contains("Environments-3") == false
        )
    }

    @Test func importingTheSameProjectsAgainIsRefusedAndChangesNothing() async throws {
        let source = try Self.source()
        let target = try BentoInstance(version: "2023.3.13026", seeded: false)
        let (task, id) = try await source.export(["Projects-1", "Projects-4"], password: "pw-again")
        #expect(task["State"] == .string("Success"), "\(task)")
        let (name, zip) = try await source.downloadExport(task: id)
        let first = try await target.importUpload(zip, name: name, password: "pw-again")
        #expect(first["State"] == .string("Success"), "\(first)")
        // Web App 1.1's Deploy a Release step names Web App 1.3, which comes along.
        #expect(
            try target.column("SELECT Name FROM Project ORDER BY Name") == [
                "Web App 1.1", "Web App 1.3", "Web App 1.4",
            ]
        )
        let before = try target.column("SELECT Id || ':' || [JSON] FROM Project ORDER BY Id")

        let again = try await target.importUpload(zip, name: name, password: "pw-again")
        #expect(again["State"] == .string("Failed"))
        #expect(again["IsCompleted"] == .bool(true) && again["FinishedSuccessfully"] == .bool(false))
        let message = again["ErrorMessage"]?.stringValue ?? ""
        #expect(message.contains("'Web App 1.1'") && message.contains("'Web App 1.4'"), "\(message)")
        #expect(message.contains("already exist"), "\(message)")
        #expect(try target.column("SELECT Id || ':' || [JSON] FROM Project ORDER BY Id") == before)
        #expect(try target.count("Channel") == 3 && target.count("VariableSet") == 3)
    }

    @Test func aWrongPasswordFailsTheImportTaskAndImportsNothing() async throws {
        let source = try Self.source()
        let target = try BentoInstance(version: "2023.3.13026", seeded: false)
        let (task, id) = try await source.export(["Projects-2"], password: "right-password")
        #expect(task["State"] == .string("Success"), "\(task)")
        let (name, zip) = try await source.downloadExport(task: id)
        let failed = try await target.importUpload(zip, name: name, password: "wrong-password")
        #expect(failed["State"] == .string("Failed"))
        #expect(failed["FinishedSuccessfully"] == .bool(false))
        #expect(failed["ErrorMessage"]?.stringValue?.contains("password is incorrect") == true, "\(failed)")
        #expect(!failed.serialized().contains("wrong-password") && !failed.serialized().contains("right-password"))
        #expect(try target.count("Project") == 0 && target.count("Lifecycle") == 0 && target.count("Environment") == 0)
        // The same file with the right password then imports.
        let retried = try await target.importUpload(zip, name: name, password: "right-password")
        #expect(retried["State"] == .string("Success"), "\(retried)")
        #expect(try target.column("SELECT Name FROM Project") == ["Web App 1.2"])
    }

    @Test func anExportFromANewerVersionIsRefusedAndAnOlderOneImports() async throws {
        let newer = try Self.source(version: "2023.3.13026")
        let older = try BentoInstance(version: "2022.4.8319", seeded: false)
        let (task, id) = try await newer.export(["Projects-1"], password: "pw")
        #expect(task["State"] == .string("Success"), "\(task)")
        let (name, zip) = try await newer.downloadExport(task: id)
        let refused = try await older.importUpload(zip, name: name, password: "pw")
        #expect(refused["State"] == .string("Failed"))
        let message = refused["ErrorMessage"]?.stringValue ?? ""
        #expect(message.contains("2023.3.13026") && message.contains("newer than this Octopus Server (2022.4.8319)"))
        #expect(try older.count("Project") == 0)

        let oldSource = try Self.source(version: "2022.4.8319")
        let newTarget = try BentoInstance(version: "2023.3.13026", seeded: false)
        let (oldTask, oldId) = try await oldSource.export(["Projects-2"], password: "pw")
        #expect(oldTask["State"] == .string("Success"), "\(oldTask)")
        let (oldName, oldZip) = try await oldSource.downloadExport(task: oldId)
        let upgraded = try await newTarget.importUpload(oldZip, name: oldName, password: "pw")
        #expect(upgraded["State"] == .string("Success"), "\(upgraded)")
        #expect(try newTarget.column("SELECT Name FROM Project") == ["Web App 1.2"])
    }

    @Test func anExportOfThisInstanceImportsIntoAnotherSpaceWithTypeSpace() async throws {
        let instance = try Self.source()
        let (task, id) = try await instance.export(["Projects-3"], password: "pw")
        #expect(task["State"] == .string("Success"), "\(task)")
        // Spaces-2 has its own "Web App 2.x" projects; Web App 1.3 is new there.
        let started = try await instance.request(
            "POST",
            "/api/Spaces-2/projects/import-export/import",
            body: .object([
                (
                    "ImportSource",
                    .object([("Type", .string("space")), ("SpaceId", .string("Spaces-1")), ("TaskId", .string(id))])
                ),
                ("Password", Self.password("pw")),
            ])
        )
        #expect(started.status == 200, "\(started.text)")
        let imported = try await instance.waitForTask(try #require(try started.json()["TaskId"]?.stringValue))
        #expect(imported["State"] == .string("Success"), "\(imported)")
        #expect(imported["SpaceId"] == .string("Spaces-2"))
        #expect(
            try instance.column("SELECT SpaceId FROM Project WHERE Name = 'Web App 1.3' ORDER BY SpaceId") == [
                "Spaces-1", "Spaces-2",
            ]
        )
        // The shared account and lifecycle of Spaces-2 are matched by name, not duplicated.
        #expect(try instance.column("SELECT COUNT(*) FROM Account WHERE SpaceId = 'Spaces-2'") == ["1"])
        #expect(try instance.column("SELECT COUNT(*) FROM Lifecycle WHERE SpaceId = 'Spaces-2'") == ["1"])
    }

    @Test func requestsAreCheckedBeforeATaskIsQueued() async throws {
        let instance = try Self.source()
        func post(_ path: String, _ body: JSONValue) async throws -> APIFixture.Response {
            try await instance.request("POST", "/api/Spaces-1/projects/import-export/\(path)", body: body)
        }
        let noPassword = try await post("export", .object([("IncludedProjectIds", .array([.string("Projects-1")]))]))
        #expect(noPassword.status == 400)
        #expect(try noPassword.json()["ErrorMessage"]?.stringValue?.contains("password is required") == true)
        let unknown = try await post(
            "export",
            .object([("IncludedProjectIds", .array([.string("Projects-99")])), ("Password", Self.password("x"))])
        )
        #expect(unknown.status == 400)
        #expect(try unknown.json()["ErrorMessage"]?.stringValue?.contains("Projects-99") == true)
        let otherSpace = try await post(
            "export",
            .object([("IncludedProjectIds", .array([.string("Projects-5")])), ("Password", Self.password("x"))])
        )
        #expect(otherSpace.status == 400, "Projects-5 is in Spaces-2")
        let upperCase = try await post(
            "import",
            .object([
                ("ImportSource", .object([("Type", .string("Upload")), ("UploadedFileId", .string("x.zip"))])),
                ("Password", Self.password("x")),
            ])
        )
        #expect(upperCase.status == 400)
        #expect(try upperCase.json()["ErrorMessage"]?.stringValue?.contains("lower case") == true)
        let notUploaded = try await post(
            "import",
            .object([
                ("ImportSource", .object([("Type", .string("upload")), ("UploadedFileId", .string("missing.zip"))])),
                ("Password", Self.password("x")),
            ])
        )
        #expect(notUploaded.status == 400)
        let notZip = try await instance.upload(Data("not a zip".utf8), name: "Octopus-Export-x.zip")
        #expect(notZip.status == 400)
        let preview = try await post("import/preview", .object([]))
        #expect(preview.status == 501)
        #expect(
            try instance.column("SELECT COUNT(*) FROM ServerTask WHERE Name IN ('ExportProjects', 'ImportProjects')")
                == ["0"],
            "no task was queued"
        )

        // A damaged zip is accepted as an upload, and its import fails saying so.
        let (task, id) = try await instance.export(["Projects-1"], password: "pw")
        #expect(task["State"] == .string("Success"))
        let (exportName, exported) = try await instance.downloadExport(task: id)
        var zip = exported
        let content = try #require(
            zip.range(of: Data("Web App 1.1".utf8)),
            "the project's name is stored, not compressed"
        )
        zip[content.lowerBound] ^= 0x20
        let name = "Damaged-\(exportName)"
        let damaged = try await instance.importUpload(zip, name: name, password: "pw", space: "Spaces-2")
        #expect(damaged["State"] == .string("Failed"))
        #expect(damaged["ErrorMessage"]?.stringValue?.contains("damaged") == true, "\(damaged)")
        let files = try await instance.request("GET", "/api/Spaces-2/projects/import-export/import-files").json()
        #expect(files.arrayValue?.compactMap { $0["FileName"]?.stringValue } == [name])
    }

    @Test(arguments: ["2020.6.4937", "2021.1.7500"])
    func theEndpointsExistFrom2021_1(version: String) async throws {
        let instance = try BentoInstance(version: version, seeded: true)
        let exists = version.hasPrefix("2021")
        let export = try await instance.request(
            "POST",
            "/api/Spaces-1/projects/import-export/export",
            body: .object([("IncludedProjectIds", .array([.string("Projects-1")])), ("Password", Self.password("pw"))])
        )
        #expect(export.status == (exists ? 200 : 404), "\(export.text)")
        let imports = try await instance.request("GET", "/api/projects/import-export/import-files")
        #expect(imports.status == (exists ? 200 : 404))
        let wrongMethod = try await instance.request("GET", "/api/Spaces-1/projects/import-export/export")
        #expect(wrongMethod.status == (exists ? 405 : 404))
        if exists {
            let id = try #require(try export.json()["TaskId"]?.stringValue)
            let finished = try await instance.waitForTask(id)
            #expect(finished["State"] == .string("Success"), "\(finished)")
        }
    }

    /// The Master Key reaches the server that `Octopus.Server service --start` runs: an export of
    /// projects with sensitive variables succeeds there (it fails without a key).
    @Test func aServiceStartedByOctopusServerExportsWithItsMasterKey() async throws {
        let machine = try StandInMachine()
        let version = "2023.3.13026"
        _ = try machine.seededSource(version)
        let port = try StandInMachine.freePort()
        let configured = try machine.server(
            version,
            ["configure", "--instance", "Source", "--webListenPrefixes", "http://127.0.0.1:\(port)"]
        )
        #expect(configured.status == 0, "\(configured.all)")
        let started = try machine.server(version, ["service", "--instance", "Source", "--install", "--start"])
        #expect(started.status == 0, "\(started.all)")
        defer { _ = try? machine.server(version, ["service", "--instance", "Source", "--stop"]) }
        let apiKey = try String(contentsOfFile: "\(machine.root)/production-\(version)/api-key", encoding: .utf8)
        let response = try await BentoInstance.send(
            port: port,
            apiKey: apiKey,
            "POST",
            "/api/Spaces-1/projects/import-export/export",
            body: .object([("IncludedProjectIds", .array([.string("Projects-2")])), ("Password", Self.password("pw"))])
        )
        #expect(response.status == 200, "\(response.text)")
        let id = try #require(try response.json()["TaskId"]?.stringValue)
        var task = JSONValue.null
        for _ in 0..<300 {
            task = try await BentoInstance.send(port: port, apiKey: apiKey, "GET", "/api/tasks/\(id)").json()
            if task["IsCompleted"] == .bool(true) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(task["State"] == .string("Success"), "\(task)")
    }

    /// The names `unzip -Z1` lists (Info-ZIP, independent of the stand-in's own reader).
    static func unzipList(_ zip: Data) throws -> [String] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bento-zip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("export.zip")
        try zip.write(to: file)
        let run = try TestProcess.run("/usr/bin/unzip", ["-Z1", file.path], environment: [:])
        #expect(run.status == 0, "unzip -Z1 failed")
        return run.stdout.split(separator: "\n").map(String.init)
    }
}

extension BentoInstance {
    /// The server log, where a password must never appear.
    var serverLogPath: String { "\(home)/Logs/OctopusServer.txt" }
}
