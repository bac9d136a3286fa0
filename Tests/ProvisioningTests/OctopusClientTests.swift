import Foundation
import Provisioning
import Synchronization
import Testing
import Wire

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
        #expect(
            machines.first?.document.member("Extra")?.member("Kept")?.arrayValue?.count == 4,
            "unknown members are kept"
        )
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
            _ = try await client.get(JSONValue.self, "/api/machines", query: [("ApiKey", Self.apiKey)])
        }
        #expect(error?.code == .invalidRequest)
        #expect(error?.message.contains(Self.apiKey) == false)
        let linked = await #expect(throws: OctopusAPIError.self) {
            _ = try await client.get(JSONValue.self, "/api/machines?apikey=API-OTHER")
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
        #expect(health.document.member("Other")?.integerValue == 1)
    }

    @Test func aRefusedConnectionIsRetriedUntilTheServerListens() async throws {
        let port = try freeLoopbackPort()
        var options = OctopusClient.Options()
        options.initialBackoff = .milliseconds(100)
        options.retryDeadline = .seconds(120)
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
        #expect(elapsed >= .milliseconds(500) && elapsed < .seconds(60), "\(elapsed)")
        #expect(error?.code == .unreachable)
        // 50 + 100 + 200 ms of backoff, then the last 150 ms: five attempts, the last at the deadline; fewer when a
        // busy machine keeps the client waiting (other suites may hold every cooperative thread a while).
        let message = error?.message ?? ""
        let prefix = "GET /api on 127.0.0.1:\(port) found nothing answering (connection refused) on "
        #expect(message.hasPrefix(prefix), "\(message)")
        let attempts = Int(message.dropFirst(prefix.count).prefix { $0.isNumber }) ?? 0
        #expect((1...5).contains(attempts), "\(message)")
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
        #expect(!server.requests.isEmpty)
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
        options.retryDeadline = .seconds(120)
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
                JSONValue.self,
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
        options.retryDeadline = .seconds(120)
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
        // Well under the minute, however busy the machine (other suites may hold every cooperative thread a while).
        #expect(started.duration(to: clock.now) < .seconds(60))
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
        _ = try await client.get(JSONValue.self, "/octopus/api/projects/Projects-1")
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
        let ping = try await client.waitUntilReady(timeout: .seconds(120), interval: .milliseconds(50))
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
            timeout: .seconds(120),
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
            JSONValue.self,
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
        #expect(updated.document.member("Endpoint")?.member("Uri")?.stringValue == "https://x/")
        #expect(updated.document.member("N") == .integer(12_345_678_901))
        #expect(updated.document.objectValue?.keys.contains("IsDisabled") == true)
        #expect(server.requests.first?.method == "PUT")
    }
}

/// A scripted Octopus Server for the verification's tests: the root, health, server configuration and
/// collections by path, paged by `skip`/`take` like Octopus (at most `cap` items a page).
struct FakeOctopus: Sendable {
    var version: String
    /// The spaces' Ids, or `nil` for a server before 2019.1.
    var spaces: [String]?
    var installationId: String
    var serverUri: String?
    var healthy = true
    /// Items by collection path (`/api/Spaces-1/machines`); runbook triggers under `<path>?runbooks=true`.
    var collections: [String: [String]] = [:]
    /// Paths answering 500.
    var failing: Set<String> = []
    var cap = 2

    static func item(_ id: String, _ name: String, space: String?, disabled: Bool) -> String {
        let spaceMember = space.map { #","SpaceId":"\#($0)""# } ?? ""
        return #"{"Id":"\#(id)","Name":"\#(name)"\#(spaceMember),"IsDisabled":\#(disabled)}"#
    }

    func handle(_ request: ScriptedHTTPServer.Request) -> ScriptedHTTPServer.Reply {
        let path = request.path
        if failing.contains(path) { return .json(500, #"{"ErrorMessage":"Something broke.","Errors":[]}"#) }
        switch path {
        case "/api":
            let links = spaces == nil ? #"{"Self":"/api"}"# : #"{"Self":"/api","Spaces":"/api/spaces{/id}"}"#
            return .json(
                200,
                #"{"Application":"Octopus Deploy","Version":"\#(version)","ApiVersion":"3.0.0","#
                    + #""InstallationId":"\#(installationId)","Links":\#(links)}"#
            )
        case "/api/spaces/all":
            guard let spaces else { return .json(404, #"{"ErrorMessage":"The resource was not found."}"#) }
            let items = spaces.map { #"{"Id":"\#($0)","Name":"Space \#($0)","IsDefault":\#($0 == "Spaces-1")}"# }
            return .json(200, "[\(items.joined(separator: ","))]")
        case "/api/serverstatus/health":
            let description = healthy ? "Octopus Server is operating normally." : "Not operating normally: no licence."
            return .json(200, #"{"IsOperatingNormally":\#(healthy),"Description":"\#(description)"}"#)
        case "/api/serverconfiguration":
            let uri = serverUri.map { #""\#($0)""# } ?? "null"
            return .json(200, #"{"Id":"serverconfiguration","ServerUri":\#(uri)}"#)
        default:
            let key = request.query("runbooks") == "true" ? path + "?runbooks=true" : path
            guard let items = collections[key] ?? (collections[path] != nil ? [] : nil) else {
                return .json(404, #"{"ErrorMessage":"The resource was not found."}"#)
            }
            let skip = Int(request.query("skip") ?? "0") ?? 0
            let take = min(Int(request.query("take") ?? "30") ?? 30, cap)
            let page = items.dropFirst(skip).prefix(take)
            return .json(
                200,
                #"{"TotalResults":\#(items.count),"ItemsPerPage":\#(take),"Items":[\#(page.joined(separator: ","))]}"#
            )
        }
    }
}

/// The clone verification against a scripted Octopus: every check, offenders named, spaces and pre-spaces paths,
/// the spec's `verify:` list.
@Suite("CloneVerification over loopback HTTP")
struct CloneVerificationTests {
    static let production = "5c8a4c1e-0000-4000-8000-000000000001"
    static let productionURI = "https://octopus.production.example"
    static let version = OctopusVersion(major: 2023, minor: 3, build: 13026)

    /// Two spaces of a seeded production, as restored: everything enabled, or everything disabled.
    static func restored(disabled: Bool) -> FakeOctopus {
        var fake = FakeOctopus(
            version: "2023.3.13026",
            spaces: ["Spaces-1", "Spaces-2"],
            installationId: disabled ? "0e2f9a7c-1111-4000-8000-000000000002" : production,
            serverUri: disabled ? "http://clone1:8080" : productionURI + "/"
        )
        for space in ["Spaces-1", "Spaces-2"] {
            let n = space == "Spaces-1" ? 1 : 2
            fake.collections["/api/\(space)/machines"] = (1...3).map {
                FakeOctopus.item("Machines-\(n)\($0)", "web-\(n)-\($0)", space: space, disabled: disabled)
            }
            fake.collections["/api/\(space)/workers"] = [
                FakeOctopus.item("Workers-\(n)1", "worker-\(n)", space: space, disabled: disabled)
            ]
            fake.collections["/api/\(space)/projecttriggers"] = [
                FakeOctopus.item("ProjectTriggers-\(n)1", "nightly", space: space, disabled: disabled)
            ]
            // A runbook trigger only the `runbooks=true` list shows, left enabled in space 2 even when quarantined.
            fake.collections["/api/\(space)/projecttriggers?runbooks=true"] = [
                FakeOctopus.item(
                    "ProjectTriggers-\(n)9",
                    "runbook-\(n)",
                    space: space,
                    disabled: disabled && space == "Spaces-1"
                )
            ]
            fake.collections["/api/\(space)/subscriptions"] = [
                FakeOctopus.item("Subscriptions-\(n)1", "chat", space: space, disabled: disabled)
            ]
            fake.collections["/api/\(space)/projects"] = (1...4).map {
                FakeOctopus.item("Projects-\(n)\($0)", "project-\($0)", space: space, disabled: false)
            }
        }
        return fake
    }

    static let counts = ExpectedCounts(targets: 6, workers: 2, triggers: 4, subscriptions: 2, projects: 8, spaces: 2)

    static func expectations(_ version: OctopusVersion = version) -> CloneVerification.Expectations {
        CloneVerification.Expectations(
            version: version,
            counts: counts,
            productionServerURI: productionURI,
            productionInstallationId: production
        )
    }

    static func run(
        _ fake: FakeOctopus,
        _ expectations: CloneVerification.Expectations = expectations(),
        checks: [VerifyCheck] = VerifyCheck.defaults(for: .clone, quarantine: Quarantine())
    ) async throws -> (results: [String: VerifyCheckResult], order: [String], requests: [String]) {
        let server = try ScriptedHTTPServer { fake.handle($0) }
        defer { server.stop() }
        let client = try OctopusClient(baseURL: server.baseURL, apiKey: OctopusClientTests.apiKey)
        let results = await CloneVerification(client: client, expectations: expectations, checks: checks).run()
        return (
            Dictionary(uniqueKeysWithValues: results.map { ($0.name, $0) }), results.map(\.name),
            server.requests.map(\.target)
        )
    }

    @Test func anUnquarantinedCloneFailsNamingEveryOffenderBySpaceNameAndId() async throws {
        let (results, order, _) = try await Self.run(Self.restored(disabled: false))
        #expect(
            order == [
                "version", "health", "targets_disabled", "workers_disabled", "triggers_disabled",
                "subscriptions_disabled", "counts", "server_uri", "installation_id",
            ]
        )
        #expect(results["version"]?.passed == true)
        #expect(results["health"]?.passed == true)
        #expect(results["counts"]?.passed == true, "\(results["counts"]?.message ?? "")")
        let targets = try #require(results["targets_disabled"])
        #expect(!targets.passed)
        #expect(
            targets.message
                == "6 targets still enabled: Spaces-1/web-1-1 (Machines-11), Spaces-1/web-1-2 (Machines-12), "
                + "Spaces-1/web-1-3 (Machines-13), Spaces-2/web-2-1 (Machines-21), Spaces-2/web-2-2 (Machines-22), "
                + "Spaces-2/web-2-3 (Machines-23)."
        )
        #expect(
            results["workers_disabled"]?.message
                == "2 workers still enabled: Spaces-1/worker-1 (Workers-11), Spaces-2/worker-2 (Workers-21)."
        )
        #expect(
            results["triggers_disabled"]?.message
                == "4 triggers still enabled: Spaces-1/nightly (ProjectTriggers-11), Spaces-1/runbook-1 (ProjectTriggers-19), "
                + "Spaces-2/nightly (ProjectTriggers-21), Spaces-2/runbook-2 (ProjectTriggers-29)."
        )
        #expect(results["subscriptions_disabled"]?.passed == false)
        #expect(
            results["server_uri"]?.message
                == "The Server URI is still production's (`https://octopus.production.example/`): links and notifications point at production."
        )
        #expect(
            results["installation_id"]?.message
                == "The Installation ID is still production's (\(Self.production)): telemetry of both would be mixed."
        )
    }

    @Test func aQuarantinedClonePassesButARunbookTriggerLeftEnabledIsFound() async throws {
        let (results, _, requests) = try await Self.run(Self.restored(disabled: true))
        for name in ["version", "health", "targets_disabled", "workers_disabled", "subscriptions_disabled", "counts"] {
            #expect(results[name]?.passed == true, "\(name): \(results[name]?.message ?? "missing")")
        }
        #expect(results["targets_disabled"]?.message == "All 6 targets in 2 spaces are disabled.")
        #expect(
            results["counts"]?.message
                == "Counts match the restored database: 6 targets, 2 workers, 4 triggers, 2 subscriptions, 8 projects, 2 spaces."
        )
        #expect(results["triggers_disabled"]?.passed == false)
        #expect(
            results["triggers_disabled"]?.message == "1 trigger still enabled: Spaces-2/runbook-2 (ProjectTriggers-29)."
        )
        #expect(
            results["server_uri"]?.message
                == "The Server URI is `http://clone1:8080`, not production's `https://octopus.production.example`."
        )
        #expect(results["installation_id"]?.passed == true)
        // Each collection is read once per space, however many checks use it; machines come 2 a page.
        #expect(requests.filter { $0.hasPrefix("/api/Spaces-1/machines?") }.count == 2)
        #expect(requests.filter { $0 == "/api" }.count == 1)
        #expect(requests.filter { $0 == "/api/spaces/all" }.count == 1)
    }

    @Test func countsThatDifferAreEachNamed() async throws {
        var fake = Self.restored(disabled: true)
        fake.collections["/api/Spaces-2/machines"]?.removeLast()
        fake.collections["/api/Spaces-1/projects"]?.append(
            FakeOctopus.item("Projects-19", "extra", space: "Spaces-1", disabled: false)
        )
        let (results, _, _) = try await Self.run(fake)
        #expect(
            results["counts"]?.message
                == "Counts differ from the restored database: 5 targets (expected 6), 9 projects (expected 8)."
        )
    }

    @Test func differingCountsNameTheRowsInSpacesThatDoNotExist() async throws {
        var fake = Self.restored(disabled: true)
        fake.collections["/api/Spaces-2/machines"]?.removeLast()
        var expectations = Self.expectations()
        expectations.rowsOutsideSpaces = "Machine Machines-13 (Spaces-99), Worker Workers-4 (Spaces-99)"
        let (differing, _, _) = try await Self.run(fake, expectations)
        #expect(
            differing["counts"]?.message
                == "Counts differ from the restored database: 5 targets (expected 6). The restored database also has "
                + "rows in spaces that do not exist, which the API does not show: Machine Machines-13 (Spaces-99), "
                + "Worker Workers-4 (Spaces-99)."
        )
        // Counts that match say nothing of them; without them, or with none, a difference reads as before.
        let (matching, _, _) = try await Self.run(Self.restored(disabled: true), expectations)
        #expect(matching["counts"]?.passed == true)
        #expect(
            matching["counts"]?.message
                == "Counts match the restored database: 6 targets, 2 workers, 4 triggers, 2 subscriptions, 8 projects, 2 spaces."
        )
        expectations.rowsOutsideSpaces = ""
        let (none, _, _) = try await Self.run(fake, expectations)
        #expect(none["counts"]?.message == "Counts differ from the restored database: 5 targets (expected 6).")
    }

    @Test func beforeSpacesTheUnscopedCollectionsAreRead() async throws {
        let version = OctopusVersion(major: 2018, minor: 10, build: 0)
        var fake = FakeOctopus(version: "2018.10.0", spaces: nil, installationId: "new-id", serverUri: nil)
        fake.collections["/api/machines"] = [FakeOctopus.item("Machines-1", "web", space: nil, disabled: false)]
        fake.collections["/api/workers"] = [FakeOctopus.item("Workers-1", "w", space: nil, disabled: true)]
        fake.collections["/api/projecttriggers"] = []
        fake.collections["/api/subscriptions"] = []
        fake.collections["/api/projects"] = [FakeOctopus.item("Projects-1", "p", space: nil, disabled: false)]
        var expectations = Self.expectations(version)
        expectations.counts = ExpectedCounts(
            targets: 1,
            workers: 1,
            triggers: 0,
            subscriptions: 0,
            projects: 1,
            spaces: 0
        )
        let (results, _, requests) = try await Self.run(fake, expectations)
        #expect(results["version"]?.passed == true)
        #expect(results["targets_disabled"]?.message == "1 target still enabled: web (Machines-1).")
        #expect(results["workers_disabled"]?.message == "The one worker is disabled.")
        #expect(results["triggers_disabled"]?.message == "There are no triggers.")
        #expect(results["counts"]?.passed == true, "\(results["counts"]?.message ?? "")")
        #expect(
            results["server_uri"]?.message
                == "The Server URI is not set, not production's `https://octopus.production.example`."
        )
        #expect(!requests.contains { $0.hasPrefix("/api/spaces") || $0.hasPrefix("/api/Spaces-") })
        #expect(requests.contains("/api/machines?skip=0&take=1000"))
    }

    @Test func aVersionWithoutWorkersPassesTheWorkerCheckWithoutAsking() async throws {
        let version = OctopusVersion(major: 3, minor: 17, build: 14)
        var fake = FakeOctopus(version: "3.17.14", spaces: nil, installationId: "new-id", serverUri: nil)
        fake.collections["/api/machines"] = []
        let (results, _, requests) = try await Self.run(
            fake,
            Self.expectations(version),
            checks: [.version, .workersDisabled]
        )
        #expect(results["workers_disabled"]?.passed == true)
        #expect(results["workers_disabled"]?.message == "Octopus 3.17.14 has no workers (they came in 2018.7.0).")
        #expect(requests == ["/api"])
    }

    @Test func oneUnreadableAnswerFailsOnlyTheChecksThatNeedIt() async throws {
        var fake = Self.restored(disabled: true)
        fake.failing = ["/api/serverconfiguration", "/api/Spaces-2/subscriptions"]
        fake.version = "2023.3.13027"
        fake.healthy = false
        let scripted = fake
        let server = try ScriptedHTTPServer { scripted.handle($0) }
        defer { server.stop() }
        let client = try OctopusClient(baseURL: server.baseURL, apiKey: OctopusClientTests.apiKey)
        let list = await CloneVerification(client: client, expectations: Self.expectations()).run()
        let results = Dictionary(uniqueKeysWithValues: list.map { ($0.name, $0) })
        #expect(
            results["version"]?.message == "The API reports Octopus 2023.3.13027; the pinned version is 2023.3.13026."
        )
        #expect(
            results["health"]?.message == "The server is not operating normally (Not operating normally: no licence)."
        )
        #expect(
            results["server_uri"]?.message
                == "Cannot read the Server URI: GET /api/serverconfiguration on 127.0.0.1:\(server.port) answered HTTP 500: "
                + "Something broke; the Octopus server's log says why."
        )
        #expect(
            results["subscriptions_disabled"]?.message.hasPrefix(
                "Cannot read the subscriptions: GET /api/Spaces-2/subscriptions?skip=0&take=1000"
            ) == true
        )
        #expect(results["counts"]?.passed == false)
        #expect(results["targets_disabled"]?.passed == true)
        #expect(results["installation_id"]?.passed == true)
        #expect(!list.contains { $0.message.contains(OctopusClientTests.apiKey) })
    }

    @Test func theSpecsVerifyListChoosesTheChecksAndThePinComesFromTheSpec() async throws {
        let quarantine = Quarantine(disabled: [.triggers], acknowledged: [.triggers])
        let spec = InstanceSpec(
            name: "nightly",
            mode: .clone,
            hostPatterns: ["vm1"],
            hosts: ["vm1"],
            platform: .standin,
            version: OctopusVersion(major: 2023, minor: 3, build: 13026),
            package: nil,
            quarantine: quarantine,
            location: SourceLocation(file: "inventory.yml", line: 1, column: 1)
        )
        #expect(!spec.verify.contains(.triggersDisabled))
        let server = try ScriptedHTTPServer { Self.restored(disabled: true).handle($0) }
        defer { server.stop() }
        let client = try OctopusClient(baseURL: server.baseURL, apiKey: OctopusClientTests.apiKey)
        var expectations = Self.expectations(OctopusVersion(major: 1, minor: 0, build: 0))
        expectations.spacesExist = true
        let results = await CloneVerification(client: client, spec: spec, expectations: expectations).run()
        #expect(results.map(\.check) == spec.verify)
        #expect(results.allSatisfy { $0.passed }, "\(results)")
        #expect(!results.contains { $0.check == .triggersDisabled })
        // The version check passed against the spec's pin, not the 1.0.0 given in the expectations.
        #expect(results.first?.message == "The API reports Octopus 2023.3.13026, the pin.")
    }

    @Test func aCheckOfTheTestInstanceFlowIsReportedAsNotAClonesCheck() async throws {
        let (results, _, requests) = try await Self.run(Self.restored(disabled: true), checks: [.projects])
        #expect(results["projects"]?.passed == false)
        #expect(results["projects"]?.message.contains("test-instance flow") == true)
        #expect(requests.isEmpty)
    }
}
