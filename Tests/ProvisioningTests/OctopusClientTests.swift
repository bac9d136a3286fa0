import Foundation
import Provisioning
import Synchronization
import Testing

/// The Octopus API client against a scripted HTTP server on loopback: paging, the API key header, errors,
/// retries and timeouts.
@Suite("OctopusClient over loopback HTTP")
struct OctopusClientTests {
    static let apiKey = "API-UNITTESTKEY0123456789ABCDEF"

    /// A collection of `count` machines served at most `cap` per page, whatever `take` asks.
    static func pagedMachines(
        count: Int,
        cap: Int
    ) -> @Sendable (ScriptedHTTPServer.Request) -> ScriptedHTTPServer.Reply {
        { request in
            guard request.path == "/api/Spaces-1/machines" else { return .json(404, #"{"ErrorMessage":"no"}"#) }
            let skip = Int(request.query("skip") ?? "0") ?? 0
            let take = Int(request.query("take") ?? "30") ?? 30
            let size = min(take, cap)
            let end = min(count, skip + size)
            let items = (skip < end ? Array((skip + 1)...end) : []).map { index in
                #"{"Id":"Machines-\#(index)","Name":"web-\#(index)","SpaceId":"Spaces-1","IsDisabled":false,"#
                    + #""Extra":{"Kept":[1,2.5,true,null]}}"#
            }
            var links = #""Self":"/api/Spaces-1/machines""#
            if end < count {
                links += #","Page.Next":"/api/Spaces-1/machines?skip=\#(end)&take=\#(take)""#
            }
            return .json(
                200,
                #"{"ItemType":"DeploymentTarget","TotalResults":\#(count),"ItemsPerPage":\#(size),"#
                    + #""Items":[\#(items.joined(separator: ","))],"Links":{\#(links)}}"#
            )
        }
    }

    @Test func skipMovesOnByWhatEachPageBroughtUntilTotalResults() async throws {
        let server = try ScriptedHTTPServer(Self.pagedMachines(count: 7, cap: 3))
        defer { server.stop() }
        let client = try OctopusClient(baseURL: server.baseURL, apiKey: Self.apiKey)
        let machines = try await client.list(.machines, in: .space("Spaces-1"))
        #expect(machines.map(\.id) == (1...7).map { "Machines-\($0)" })
        #expect(machines.first?.label == "Spaces-1/web-1 (Machines-1)")
        #expect(machines.first?.document["Extra"]?["Kept"]?.arrayValue?.count == 4, "unknown members are kept")
        #expect(
            server.requests.map(\.target) == [
                "/api/Spaces-1/machines?skip=0&take=1000", "/api/Spaces-1/machines?skip=3&take=1000",
                "/api/Spaces-1/machines?skip=6&take=1000",
            ]
        )
    }

    @Test func aSinglePageNeedsOneRequest() async throws {
        let server = try ScriptedHTTPServer(Self.pagedMachines(count: 40, cap: 5000))
        defer { server.stop() }
        let client = try OctopusClient(baseURL: server.baseURL, apiKey: Self.apiKey)
        let machines = try await client.list(.machines, in: .space("Spaces-1"))
        #expect(machines.count == 40)
        #expect(server.requests.count == 1)
    }

    @Test func filtersAreKeptOnEveryPageAndACallersSkipOrTakeIsReplaced() async throws {
        let server = try ScriptedHTTPServer(Self.pagedMachines(count: 3, cap: 2))
        defer { server.stop() }
        var options = OctopusClient.Options()
        options.pageSize = 2
        let client = try OctopusClient(baseURL: server.baseURL, apiKey: Self.apiKey, options: options)
        let machines = try await client.list(
            .machines,
            in: .space("Spaces-1"),
            query: [("isDisabled", "false"), ("skip", "7"), ("take", "1")]
        )
        #expect(machines.count == 3)
        #expect(
            server.requests.map(\.target) == [
                "/api/Spaces-1/machines?isDisabled=false&skip=0&take=2",
                "/api/Spaces-1/machines?isDisabled=false&skip=2&take=2",
            ]
        )
    }

    @Test func aServerThatIgnoresSkipIsAnErrorNotDuplicates() async throws {
        let server = try ScriptedHTTPServer { _ in
            .json(200, #"{"TotalResults":9,"ItemsPerPage":1,"Items":[{"Id":"Machines-1"}],"Links":{}}"#)
        }
        defer { server.stop() }
        let client = try OctopusClient(baseURL: server.baseURL, apiKey: Self.apiKey)
        let error = await #expect(throws: OctopusAPIError.self) { try await client.list(.machines, in: .unscoped) }
        #expect(error?.code == .invalidResponse)
        #expect(
            error?.message
                == "GET /api/machines?skip=1&take=1000 on 127.0.0.1:\(server.port) gave Machines-1 again after 1 items; "
                + "the server seems to ignore `skip`, so the collection cannot be read whole."
        )
        #expect(server.requests.count == 2)
    }

    @Test func aCollectionThatRunsDryBeforeItsTotalIsAnError() async throws {
        let server = try ScriptedHTTPServer { request in
            request.query("skip") == "0"
                ? .json(200, #"{"TotalResults":5,"Items":[{"Id":"Workers-1"},{"Id":"Workers-2"}]}"#)
                : .json(200, #"{"TotalResults":5,"Items":[]}"#)
        }
        defer { server.stop() }
        let client = try OctopusClient(baseURL: server.baseURL, apiKey: Self.apiKey)
        let error = await #expect(throws: OctopusAPIError.self) { try await client.list(.workers, in: .unscoped) }
        #expect(error?.code == .invalidResponse)
        #expect(error?.message.contains("/api/workers?skip=2&take=1000") == true)
        #expect(error?.message.contains("gave no items after 2 of the 5 it counts") == true, "\(error?.message ?? "")")
    }

    @Test func theAPIKeyTravelsOnlyInItsHeader() async throws {
        let server = try ScriptedHTTPServer { _ in
            .json(200, #"{"Application":"Octopus Deploy","Version":"2023.3.13026","InstallationId":"abc","Links":{}}"#)
        }
        defer { server.stop() }
        let client = try OctopusClient(baseURL: server.baseURL, apiKey: Self.apiKey)
        let root = try await client.root()
        #expect(root.version == "2023.3.13026")
        #expect(root.installationId == "abc")
        #expect(!root.hasSpaces)
        let request = try #require(server.requests.first)
        #expect(request.header("X-Octopus-ApiKey") == Self.apiKey)
        #expect(!request.target.contains(Self.apiKey))
        #expect(request.rawHead.components(separatedBy: Self.apiKey).count == 2, "the key appears exactly once")
        #expect(!"\(client)".contains(Self.apiKey))
        var dumped = ""
        dump(client, to: &dumped)
        #expect(!dumped.contains(Self.apiKey), "\(dumped)")
    }

    @Test func anAnonymousClientSendsNoKey() async throws {
        let server = try ScriptedHTTPServer { _ in .json(200, #"{"Name":"clone1"}"#) }
        defer { server.stop() }
        let client = try OctopusClient(baseURL: server.baseURL, apiKey: nil)
        let ping = try await client.ping()
        #expect(ping.isReady && ping.nodeName == "clone1")
        #expect(server.requests.first?.header("X-Octopus-ApiKey") == nil)
    }

    @Test func anAPIKeyInTheQueryIsRefusedBeforeAnythingIsSent() async throws {
        let server = try ScriptedHTTPServer { _ in .json(200, "{}") }
        defer { server.stop() }
        let client = try OctopusClient(baseURL: server.baseURL, apiKey: Self.apiKey)
        let error = await #expect(throws: OctopusAPIError.self) {
            _ = try await client.get(OctopusJSONValue.self, "/api/machines", query: [("ApiKey", Self.apiKey)])
        }
        #expect(error?.code == .invalidRequest)
        #expect(error?.message.contains(Self.apiKey) == false)
        let linked = await #expect(throws: OctopusAPIError.self) {
            _ = try await client.get(OctopusJSONValue.self, "/api/machines?apikey=API-OTHER")
        }
        #expect(linked?.code == .invalidRequest)
        #expect(linked?.message.contains("API-OTHER") == false, "\(linked?.message ?? "")")
        #expect(server.requests.isEmpty)
    }

    @Test func anHTTPErrorNamesThePathStatusAndErrorMessageButNeverTheKey() async throws {
        let server = try ScriptedHTTPServer { _ in
            // A server that echoes the key back must not get it into the error.
            .json(
                401,
                #"{"ErrorMessage":"The API key you provided (\#(Self.apiKey)) was not valid.","#
                    + #""Errors":["Key expired."]}"#
            )
        }
        defer { server.stop() }
        let client = try OctopusClient(baseURL: server.baseURL, apiKey: Self.apiKey)
        let error = await #expect(throws: OctopusAPIError.self) { try await client.health() }
        #expect(error?.code == .httpStatus)
        #expect(error?.status == 401)
        #expect(error?.path == "/api/serverstatus/health")
        #expect(
            error?.message
                == "GET /api/serverstatus/health on 127.0.0.1:\(server.port) answered HTTP 401: The API key you "
                + "provided (***) was not valid; Key expired; check the API key octoprov uses for this instance."
        )
        #expect(error?.octopusMessage?.contains(Self.apiKey) == false)
        #expect("\(error.map { String(describing: $0) } ?? "")".contains(Self.apiKey) == false)
    }

    @Test func errorsWithoutOctopusJSONAndUnreadableAnswersAreNamed() async throws {
        let server = try ScriptedHTTPServer { request in
            switch request.path {
            case "/api/tasks/ServerTasks-9": .respond(status: 500, body: "<html>boom</html>")
            case "/api/serverconfiguration": .json(200, "not json")
            default: .json(200, #"{"TotalResults":1,"ItemsPerPage":1}"#)
            }
        }
        defer { server.stop() }
        let client = try OctopusClient(baseURL: server.baseURL, apiKey: Self.apiKey)
        let status = await #expect(throws: OctopusAPIError.self) { try await client.task("ServerTasks-9") }
        #expect(
            status?.message
                == "GET /api/tasks/ServerTasks-9 on 127.0.0.1:\(server.port) answered HTTP 500 with no Octopus error message; the Octopus server's log says why."
        )
        let garbled = await #expect(throws: OctopusAPIError.self) { try await client.serverConfiguration() }
        #expect(garbled?.code == .invalidResponse)
        let missing = await #expect(throws: OctopusAPIError.self) { try await client.list(.workers, in: .unscoped) }
        #expect(missing?.code == .invalidResponse)
        #expect(missing?.message.contains("no `Items`") == true, "\(missing?.message ?? "")")
        #expect(missing?.message.contains("/api/workers?skip=0&take=1000") == true)
    }

    @Test func aChunkedAnswerIsReassembled() async throws {
        let body = #"{"IsOperatingNormally":true,"Description":"Octopus Server is operating normally.","Other":1}"#
        let server = try ScriptedHTTPServer { _ in
            .respond(status: 200, body: body, headers: ["Content-Type": "application/json"], chunked: true)
        }
        defer { server.stop() }
        let client = try OctopusClient(baseURL: server.baseURL, apiKey: Self.apiKey)
        let health = try await client.health()
        #expect(health.isOperatingNormally)
        #expect(health.description == "Octopus Server is operating normally.")
        #expect(health.document["Other"]?.integerValue == 1)
    }

    @Test func aRefusedConnectionIsRetriedUntilTheServerListens() async throws {
        let port = try freeLoopbackPort()
        var options = OctopusClient.Options()
        options.initialBackoff = .milliseconds(100)
        options.retryDeadline = .seconds(20)
        let client = try OctopusClient(baseURL: "http://127.0.0.1:\(port)", apiKey: Self.apiKey, options: options)
        let started = Mutex<ScriptedHTTPServer?>(nil)
        let late = Task {
            try await Task.sleep(for: .milliseconds(600))
            let server = try ScriptedHTTPServer(port: port) { _ in .json(200, #"{"Version":"2023.3.13026"}"#) }
            started.withLock { $0 = server }
        }
        defer { started.withLock { $0?.stop() } }
        let root = try await client.root()
        try await late.value
        #expect(root.version == "2023.3.13026")
        #expect(started.withLock { $0?.requests.count } == 1)
    }

    @Test func retriesStopAtTheDeadlineAndTheErrorSaysWhatWasTried() async throws {
        let port = try freeLoopbackPort()
        var options = OctopusClient.Options()
        options.initialBackoff = .milliseconds(50)
        options.retryDeadline = .milliseconds(500)
        let client = try OctopusClient(baseURL: "http://127.0.0.1:\(port)", apiKey: Self.apiKey, options: options)
        let clock = ContinuousClock()
        let started = clock.now
        let error = await #expect(throws: OctopusAPIError.self) { try await client.root() }
        let elapsed = started.duration(to: clock.now)
        #expect(elapsed >= .milliseconds(500) && elapsed < .seconds(3), "\(elapsed)")
        #expect(error?.code == .unreachable)
        // 50 + 100 + 200 ms of backoff, then the last 150 ms: five attempts, the last at the deadline (fewer when
        // a busy machine oversleeps).
        let message = error?.message ?? ""
        let prefix = "GET /api on 127.0.0.1:\(port) found nothing answering (connection refused) on "
        #expect(message.hasPrefix(prefix), "\(message)")
        let attempts = Int(message.dropFirst(prefix.count).prefix { $0.isNumber }) ?? 0
        #expect((3...5).contains(attempts), "\(message)")
        #expect(
            message.hasSuffix(
                "s; check that the Octopus service is running and listening there (through an SSH port forward, on the host's port)."
            ),
            "\(message)"
        )
        #expect(!message.contains(Self.apiKey))
    }

    @Test func noDeadlineMeansOneAttempt() async throws {
        let port = try freeLoopbackPort()
        var options = OctopusClient.Options()
        options.retryDeadline = .zero
        let client = try OctopusClient(baseURL: "http://127.0.0.1:\(port)", apiKey: Self.apiKey, options: options)
        let error = await #expect(throws: OctopusAPIError.self) { try await client.root() }
        #expect(error?.message.contains("on 1 attempts") == true, "\(error?.message ?? "")")
    }

    @Test func a503PastTheDeadlineIsReportedAsTheServerNotReady() async throws {
        let server = try ScriptedHTTPServer { _ in .json(503, #"{"ErrorMessage":"Octopus Server is starting."}"#) }
        defer { server.stop() }
        var options = OctopusClient.Options()
        options.initialBackoff = .milliseconds(20)
        options.retryDeadline = .milliseconds(200)
        let client = try OctopusClient(baseURL: server.baseURL, apiKey: Self.apiKey, options: options)
        let error = await #expect(throws: OctopusAPIError.self) { try await client.health() }
        #expect(error?.status == 503)
        #expect(
            error?.message
                == "GET /api/serverstatus/health on 127.0.0.1:\(server.port) answered HTTP 503: Octopus Server is starting; "
                + "the server is not ready (still starting, or in maintenance): wait, or check its log."
        )
        #expect(server.requests.count > 2)
    }

    @Test func a404SaysToCheckTheIdAndTheVersion() async throws {
        let server = try ScriptedHTTPServer { _ in
            .json(404, #"{"ErrorMessage":"The resource you requested was not found.","Errors":[]}"#)
        }
        defer { server.stop() }
        let client = try OctopusClient(baseURL: server.baseURL, apiKey: Self.apiKey)
        let error = await #expect(throws: OctopusAPIError.self) { try await client.spaces() }
        #expect(error?.code == .httpStatus)
        #expect(error?.status == 404)
        #expect(error?.path == "/api/spaces/all")
        #expect(
            error?.message
                == "GET /api/spaces/all on 127.0.0.1:\(server.port) answered HTTP 404: The resource you requested was "
                + "not found; this server has no such path or resource: check the Id, and that the version has the path "
                + "(spaces came in 2019.1, Export/Import Projects in 2021.1)."
        )
        #expect(server.requests.count == 1, "a 404 is not retried")
    }

    @Test func aConnectionClosedWithoutAReplyIsRetriedLikeARefusal() async throws {
        // What an SSH port forward does while nothing listens on the host: accept, then close.
        let connections = Atomic<Int>(0)
        let server = try ScriptedHTTPServer { _ in
            connections.add(1, ordering: .relaxed).newValue <= 2 ? .close : .json(200, #"{"Version":"2023.3.13026"}"#)
        }
        defer { server.stop() }
        var options = OctopusClient.Options()
        options.initialBackoff = .milliseconds(20)
        let client = try OctopusClient(baseURL: server.baseURL, apiKey: Self.apiKey, options: options)
        let root = try await client.root()
        #expect(root.version == "2023.3.13026")
        #expect(server.requests.count == 3)
    }

    @Test func aPOSTClosedWithoutAReplyIsNotRetried() async throws {
        let server = try ScriptedHTTPServer { _ in .close }
        defer { server.stop() }
        var options = OctopusClient.Options()
        options.initialBackoff = .milliseconds(20)
        let client = try OctopusClient(baseURL: server.baseURL, apiKey: Self.apiKey, options: options)
        let error = await #expect(throws: OctopusAPIError.self) {
            _ = try await client.post(
                OctopusJSONValue.self,
                "/api/Spaces-1/tasks/ServerTasks-1/cancel",
                body: .object([:])
            )
        }
        #expect(error?.code == .unreachable)
        #expect(server.requests.count == 1)
        #expect(server.requests.first?.header("Content-Type")?.hasPrefix("application/json") == true)
    }

    @Test func a503IsRetriedThenTheAnswerReturned() async throws {
        let calls = Atomic<Int>(0)
        let server = try ScriptedHTTPServer { _ in
            calls.add(1, ordering: .relaxed).newValue == 1
                ? .json(503, #"{"ErrorMessage":"Octopus Server is starting"}"#)
                : .json(200, #"{"Id":"serverconfiguration","ServerUri":"http://clone:8080"}"#)
        }
        defer { server.stop() }
        var options = OctopusClient.Options()
        options.initialBackoff = .milliseconds(20)
        let client = try OctopusClient(baseURL: server.baseURL, apiKey: Self.apiKey, options: options)
        #expect(try await client.serverConfiguration().serverUri == "http://clone:8080")
        #expect(server.requests.count == 2)
    }

    @Test func aSilentServerTimesOut() async throws {
        let server = try ScriptedHTTPServer { _ in .silent }
        defer { server.stop() }
        var options = OctopusClient.Options()
        options.requestTimeout = .milliseconds(400)
        let client = try OctopusClient(baseURL: server.baseURL, apiKey: Self.apiKey, options: options)
        let clock = ContinuousClock()
        let started = clock.now
        let error = await #expect(throws: OctopusAPIError.self) { try await client.root() }
        #expect(error?.code == .timedOut)
        #expect(
            error?.message
                == "GET /api on 127.0.0.1:\(server.port) got no complete reply within 0.4 s; check that the service is not stuck (its log), or allow more time."
        )
        #expect(started.duration(to: clock.now) < .seconds(3))
    }

    @Test func cancellingTheCallerEndsTheRequest() async throws {
        let server = try ScriptedHTTPServer { _ in .silent }
        defer { server.stop() }
        let client = try OctopusClient(baseURL: server.baseURL, apiKey: Self.apiKey)
        let call = Task { try await client.root() }
        try await Task.sleep(for: .milliseconds(200))
        call.cancel()
        let result = await call.result
        guard case .failure(let error as OctopusAPIError) = result else {
            Issue.record("expected a cancelled error, got \(result)")
            return
        }
        #expect(error.code == .cancelled)
    }

    @Test func onlyPlainHTTPBaseURLsAreAccepted() throws {
        for url in ["https://octopus.example.com", "ftp://x", "http://", "http://user@host:80", "http://h:99999"] {
            #expect(throws: OctopusAPIError.self, "\(url)") { try OctopusClient(baseURL: url, apiKey: nil) }
        }
        let prefixed = try OctopusClient(baseURL: "http://127.0.0.1:8080/octopus/", apiKey: nil)
        #expect(prefixed.baseURL == "http://127.0.0.1:8080/octopus")
        #expect(prefixed.server == "127.0.0.1:8080")
    }

    @Test func aPathPrefixIsAddedOnceToPathsAndLinks() async throws {
        let server = try ScriptedHTTPServer { request in
            request.query("skip") == "0"
                ? .json(200, #"{"TotalResults":2,"Items":[{"Id":"Projects-1"}]}"#)
                : .json(200, #"{"TotalResults":2,"Items":[{"Id":"Projects-2"}]}"#)
        }
        defer { server.stop() }
        let client = try OctopusClient(baseURL: server.baseURL + "/octopus", apiKey: Self.apiKey)
        let projects = try await client.list(.projects, in: .unscoped)
        #expect(projects.map(\.id) == ["Projects-1", "Projects-2"])
        _ = try await client.get(OctopusJSONValue.self, "/octopus/api/projects/Projects-1")
        #expect(
            server.requests.map(\.target) == [
                "/octopus/api/projects?skip=0&take=1000", "/octopus/api/projects?skip=1&take=1000",
                "/octopus/api/projects/Projects-1",
            ]
        )
    }

    @Test func waitUntilReadyPingsPastDrainingAndRefusals() async throws {
        let calls = Atomic<Int>(0)
        let server = try ScriptedHTTPServer { _ in
            switch calls.add(1, ordering: .relaxed).newValue {
            case 1: .close
            case 2: .json(418, #"{"Name":"clone1","IsInMaintenanceMode":true}"#)
            default: .json(200, #"{"Name":"clone1","IsInMaintenanceMode":false}"#)
            }
        }
        defer { server.stop() }
        let client = try OctopusClient(baseURL: server.baseURL, apiKey: nil)
        let ping = try await client.waitUntilReady(timeout: .seconds(10), interval: .milliseconds(50))
        #expect(ping.isReady && ping.nodeName == "clone1")
        #expect(server.requests.count == 3)
    }

    @Test func waitUntilReadyGivesUpWithTheLastReason() async throws {
        let server = try ScriptedHTTPServer { _ in .json(418, #"{"Name":"clone1"}"#) }
        defer { server.stop() }
        let client = try OctopusClient(baseURL: server.baseURL, apiKey: nil)
        let error = await #expect(throws: OctopusAPIError.self) {
            try await client.waitUntilReady(timeout: .milliseconds(300), interval: .milliseconds(50))
        }
        #expect(error?.code == .timedOut)
        #expect(error?.message.hasSuffix("was not ready within 0.3 s; last: the node is draining (HTTP 418).") == true)
    }

    @Test func waitForTaskPollsUntilTheTaskCompletes() async throws {
        let calls = Atomic<Int>(0)
        let server = try ScriptedHTTPServer { request in
            #expect(request.path == "/api/Spaces-1/tasks/ServerTasks-5")
            return calls.add(1, ordering: .relaxed).newValue < 3
                ? .json(200, #"{"Id":"ServerTasks-5","State":"Executing","IsCompleted":false}"#)
                : .json(
                    200,
                    #"{"Id":"ServerTasks-5","State":"Failed","IsCompleted":true,"FinishedSuccessfully":false,"ErrorMessage":"boom"}"#
                )
        }
        defer { server.stop() }
        let client = try OctopusClient(baseURL: server.baseURL, apiKey: Self.apiKey)
        let task = try await client.waitForTask(
            "ServerTasks-5",
            in: .space("Spaces-1"),
            timeout: .seconds(10),
            interval: .milliseconds(20)
        )
        #expect(task.state == "Failed" && task.isCompleted && !task.finishedSuccessfully && task.errorMessage == "boom")
        #expect(server.requests.count == 3)
    }

    @Test func aPUTSendsTheWholeDocumentBack() async throws {
        let server = try ScriptedHTTPServer { request in
            .json(200, String(decoding: request.body, as: UTF8.self))
        }
        defer { server.stop() }
        let client = try OctopusClient(baseURL: server.baseURL, apiKey: Self.apiKey)
        let document = try JSONDecoder().decode(
            OctopusJSONValue.self,
            from: Data(
                #"{"Id":"Machines-1","Name":"web","IsDisabled":false,"Endpoint":{"Uri":"https://x/"},"N":12345678901}"#
                    .utf8
            )
        )
        let updated = try await client.put(
            OctopusResource.self,
            "/api/Spaces-1/machines/Machines-1",
            body: document.setting("isdisabled", to: .bool(true))
        )
        #expect(updated.isDisabled)
        #expect(updated.document["Endpoint"]?["Uri"]?.stringValue == "https://x/")
        #expect(updated.document["N"] == .integer(12_345_678_901))
        #expect(updated.document.objectValue?.keys.contains("IsDisabled") == true)
        #expect(server.requests.first?.method == "PUT")
    }
}
