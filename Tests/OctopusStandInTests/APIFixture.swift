import Crypto
import Foundation
import OctopusStandIn
import Testing
import Wire

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// A stand-in server over a throwaway database, started in-process on a free loopback port.
///
/// The database lives where the stand-in's sqlcmd finds it (`<root>/data/localhost/octopusdeploy.sqlite`),
/// so the docs' SQL can run on it verbatim. By default this node's row is seeded *draining*, so the
/// scheduler leaves seeded tasks and targets alone while API tests run (a draining node takes no tasks
/// and runs no health checks); behaviour tests seed it otherwise.
final class APIFixture {
    static let apiKey = "API-STANDINTESTKEY0000000000001"
    static let inactiveApiKey = "API-STANDININACTIVE00000000002"
    static let installationID = "5c8a4c1e-2222-4333-8444-123456789abc"
    static let productionServerUri = "https://octopus.production.example"
    static let node = "clone1"

    let root: String
    let home: String
    let version: String
    var dataFolder: DataFolder { DataFolder(root: "\(root)/data") }
    var databasePath: String { dataFolder.databasePath(server: "localhost", database: "OctopusDeploy") }
    private(set) var server: StandInServer?
    private(set) var port = 0

    /// Creates the database with the Octopus schema and the base seed (two spaces, users and API keys,
    /// configuration rows, this node), then `seed` for the test's own rows.
    init(
        version: String = "2023.3.13026",
        omitting: Set<String> = [],
        ownNode: OwnNode = .draining,
        seed: (SQLiteDatabase) throws -> Void = { _ in }
    ) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("standin-api-\(UUID().uuidString)").path
        home = "\(root)/home"
        self.version = version
        let database = try DataFolder(root: "\(root)/data").createOctopusDatabase(
            server: "localhost",
            database: "OctopusDeploy",
            omitting: omitting
        )
        try Self.seedBase(database, ownNode: ownNode)
        try seed(database)
    }

    deinit {
        server?.stop()
        try? FileManager.default.removeItem(atPath: root)
    }

    static func sha256(_ text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// This node's `OctopusServerNode` row before the first start.
    enum OwnNode {
        /// Draining: the scheduler runs no tasks and no health checks.
        case draining
        /// Taking work.
        case online
        /// No row: the server registers itself at start.
        case none
    }

    private static func seedBase(_ database: SQLiteDatabase, ownNode: OwnNode) throws {
        try insert(
            database,
            "Space",
            ["Id": "Spaces-1", "Name": "Default", "IsDefault": 1],
            json: ["Description": "The default space"]
        )
        try insert(database, "Space", ["Id": "Spaces-2", "Name": "Second", "IsDefault": 0], json: [:])
        try insert(database, "User", ["Id": "Users-1", "Name": "admin", "IsService": 0, "IsActive": 1], json: [:])
        try insert(database, "User", ["Id": "Users-2", "Name": "gone", "IsService": 0, "IsActive": 0], json: [:])
        try insert(
            database,
            "ApiKey",
            ["Id": "ApiKeys-1", "UserId": "Users-1", "ApiKeyHashed": sha256(apiKey)],
            json: [:]
        )
        try insert(
            database,
            "ApiKey",
            ["Id": "ApiKeys-2", "UserId": "Users-2", "ApiKeyHashed": sha256(inactiveApiKey)],
            json: [:]
        )
        try insert(database, "Configuration", ["Id": "upgradeavailability"], json: ["InstallationId": installationID])
        try insert(database, "Configuration", ["Id": "serverconfiguration"], json: ["ServerUri": productionServerUri])
        try insert(database, "Configuration", ["Id": "license"], json: ["LicenseText": "<License/>"])
        guard ownNode != .none else { return }
        try insert(
            database,
            "OctopusServerNode",
            [
                "Id": "OctopusServerNodes-\(node)", "Name": node, "IsInMaintenanceMode": ownNode == .draining ? 1 : 0,
                "MaxConcurrentTasks": 5,
            ],
            json: [:]
        )
    }

    /// Inserts a row: real columns, and a `[JSON]` document from simple members (a value may be an
    /// ``JSONValue`` for nested documents).
    static func insert(
        _ database: SQLiteDatabase,
        _ table: String,
        _ columns: [String: any Sendable],
        json: KeyValuePairs<String, any Sendable>
    ) throws {
        var document = JSONValue.Object()
        if let id = columns["Id"] as? String { document["Id"] = .string(id) }
        for (key, value) in json { document[key] = Self.json(value) }
        var names: [String] = []
        var values: [SQLValue] = []
        for (name, value) in columns.sorted(by: { $0.key < $1.key }) {
            names.append("[\(name)]")
            switch value {
            case let number as Int: values.append(.integer(Int64(number)))
            case let text as String: values.append(.text(text))
            default: values.append(.null)
            }
        }
        names.append("[JSON]")
        values.append(.text(JSONValue.object(document).serialized()))
        try database.run(
            "INSERT INTO [\(table)] (\(names.joined(separator: ", "))) VALUES (\(values.map { _ in "?" }.joined(separator: ", ")))",
            values
        )
    }

    static func json(_ value: any Sendable) -> JSONValue {
        switch value {
        case let json as JSONValue: json
        case let text as String: .string(text)
        case let flag as Bool: .bool(flag)
        case let number as Int: .integer(Int64(number))
        case let list as [String]: .array(list.map { .string($0) })
        default: .null
        }
    }

    /// A quick timing for tests: ticks of 0.2 s, triggers and health checks every 0.5 s.
    static let fastTiming: StandInServer.Timing = {
        var timing = StandInServer.Timing()
        timing.tick = 0.2
        timing.triggerInterval = 0.5
        timing.healthCheckInterval = 0.5
        timing.connectTimeout = 1
        timing.webhookTimeout = 2
        timing.httpTimeout = 2
        return timing
    }()

    var runtime: ServerRuntime {
        ServerRuntime(
            instanceName: "OctopusServer",
            nodeName: Self.node,
            listenPrefixes: ["http://localhost:0/"],
            databasePath: databasePath,
            version: version,
            homeDirectory: home
        )
    }

    /// Starts a new server on the database (a previous one is stopped first).
    func start(timing: StandInServer.Timing = APIFixture.fastTiming) throws {
        server?.stop()
        let started = try StandInServer(runtime: runtime, timing: timing)
        port = try #require(try started.start().first)
        server = started
    }

    func stop() {
        server?.stop()
    }

    /// Opens the database for checks and changes.
    func open() throws -> SQLiteDatabase {
        try SQLiteDatabase(path: databasePath)
    }

    /// The single column of a query, as text.
    func column(_ sql: String, _ parameters: [SQLValue] = []) throws -> [String] {
        try open().query(sql, parameters).rows.map { $0.first?.description ?? "" }
    }

    /// The audit log's lines, parsed.
    func auditLines() throws -> [JSONValue] {
        let text = try String(contentsOfFile: "\(home)/Logs/standin-audit.jsonl", encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONValue(parsing: String($0)) }
    }

    /// The server log.
    func serverLog() -> String {
        (try? String(contentsOfFile: "\(home)/Logs/OctopusServer.txt", encoding: .utf8)) ?? ""
    }

    struct Response {
        var status: Int
        var headers: [String: String]
        var body: Data

        var text: String { String(decoding: body, as: UTF8.self) }

        func json() throws -> JSONValue {
            try JSONValue(parsing: [UInt8](body))
        }

        func header(_ name: String) -> String? {
            headers.first { $0.key.lowercased() == name.lowercased() }?.value
        }
    }

    /// Sends a request with URLSession (the API key in `X-Octopus-ApiKey` unless `apiKey` is nil).
    func request(
        _ method: String,
        _ path: String,
        apiKey: String? = APIFixture.apiKey,
        body: JSONValue? = nil,
        rawBody: Data? = nil,
        headers: [String: String] = [:]
    ) async throws -> Response {
        let url = try #require(URL(string: "http://127.0.0.1:\(port)\(path)"))
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 10
        if let apiKey { request.setValue(apiKey, forHTTPHeaderField: "X-Octopus-ApiKey") }
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
        return Response(status: http.statusCode, headers: fields, body: data)
    }

    /// `GET` that must answer 200 with JSON.
    func getJSON(_ path: String) async throws -> JSONValue {
        let response = try await request("GET", path)
        #expect(response.status == 200, "GET \(path): \(response.status) \(response.text)")
        return try response.json()
    }

    /// Sends raw bytes on a new connection and reads until the server closes it (or `timeout`).
    func raw(_ bytes: [UInt8], timeout: Double = 5, port: Int? = nil) throws -> String {
        let descriptor = try RawSocket.connect(port: port ?? self.port)
        defer { close(descriptor) }
        try RawSocket.send(descriptor, bytes)
        return RawSocket.readAll(descriptor, timeout: timeout)
    }

    /// Polls `condition` every 50 ms until it holds or `timeout` passes.
    /// Suspends (never blocks a thread of the shared pool, which other suites need) between polls.
    static func eventually(timeout: Double = 10, _ condition: () throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try condition()
    }

    /// Waits without blocking a thread of the shared pool.
    static func pause(_ seconds: Double) async throws {
        try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
    }
}

/// Blocking loopback sockets for the tests' raw HTTP and "production" listeners: the bytes are written by hand,
/// never by the server's own HTTP framing.
enum RawSocket {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func connect(port: Int) throws -> Int32 {
        try POSIXSocket.connect(to: POSIXSocket.loopback, port: port, timeout: 10, blocking: true)
    }

    static func send(_ descriptor: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard sent > 0 else { throw Failure(description: "send failed: errno \(errno)") }
            offset += sent
        }
    }

    /// Reads until the peer closes or nothing arrives for `timeout` seconds.
    static func readAll(_ descriptor: Int32, timeout: Double) -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, Int32(timeout * 1000)) > 0 else { break }
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// A listening socket on 127.0.0.1 and its port.
    static func listen() throws -> (descriptor: Int32, port: Int) {
        try POSIXSocket.listen(address: POSIXSocket.loopback, port: 0, backlog: 64, blocking: true)
    }
}

/// A "production" machine or webhook receiver owned by the test: accepts connections on 127.0.0.1,
/// records what each sent, and answers HTTP requests with 200.
final class ProductionListener: @unchecked Sendable {
    let port: Int
    private let descriptor: Int32
    private let lock = NSLock()
    private var received: [String] = []
    private var stopping = false
    private let done = DispatchSemaphore(value: 0)

    init() throws {
        let listening = try RawSocket.listen()
        descriptor = listening.descriptor
        port = listening.port
        Thread { [self] in
            acceptLoop()
            done.signal()
        }.start()
    }

    deinit {
        stop()
        close(descriptor)
    }

    /// What each connection sent, in order of arrival.
    var contacts: [String] {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    func stop() {
        lock.lock()
        let first = !stopping
        stopping = true
        lock.unlock()
        if first { done.wait() }
    }

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    private func acceptLoop() {
        while !isStopping {
            var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 100) > 0 else { continue }
            let connection = accept(descriptor, nil, nil)
            guard connection >= 0 else { continue }
            let text = readRequest(connection)
            if text.hasPrefix("POST ") || text.hasPrefix("GET ") {
                try? RawSocket.send(
                    connection,
                    Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
                )
            }
            close(connection)
            lock.lock()
            received.append(text)
            lock.unlock()
        }
    }

    /// Reads until EOF, or until a whole HTTP request (header and Content-Length body) has arrived.
    private func readRequest(_ connection: Int32) -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            var entry = pollfd(fd: connection, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 2000) > 0 else { break }
            let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            bytes += buffer[0..<count]
            let text = String(decoding: bytes, as: UTF8.self)
            if let headEnd = text.range(of: "\r\n\r\n") {
                let head = text[..<headEnd.lowerBound].lowercased()
                let length =
                    head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if text.utf8.distance(
                    from: headEnd.upperBound.samePosition(in: text.utf8) ?? text.utf8.endIndex,
                    to: text.utf8.endIndex
                )
                    >= length
                {
                    break
                }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
