import Foundation
import OctopusStandIn
import TestHelpers
import Testing
import Wire

#if canImport(Glibc)
    import Glibc
#endif

/// The HTTP layer against raw sockets: what URLSession never sends (chunked bodies, `Expect:
/// 100-continue`, malformed requests, slow clients).
@Suite(.tags(.medium))
struct APIHTTPTests {
    static let key = "X-Octopus-ApiKey: \(APIFixture.apiKey)\r\n"

    static func started() throws -> APIFixture {
        let fixture = try APIFixture()
        try fixture.start()
        return fixture
    }

    /// The status codes of every response in a transcript, in order.
    static func statuses(_ transcript: String) -> [Int] {
        transcript.components(separatedBy: "HTTP/1.1 ").dropFirst().compactMap { Int($0.prefix(3)) }
    }

    @Test func chunkedBodiesAndKeepAliveOnOneConnection() throws {
        let fixture = try Self.started()
        let body = #"{"Id":"maintenance","IsInMaintenanceMode":true}"#
        let half = body.utf8.count / 2
        let chunks = Array(body.utf8)
        let chunked =
            String(half, radix: 16) + ";ext=1\r\n" + String(decoding: chunks[0..<half], as: UTF8.self) + "\r\n"
            + String(chunks.count - half, radix: 16) + "\r\n" + String(decoding: chunks[half...], as: UTF8.self)
            + "\r\n0\r\nX-Trailer: yes\r\n\r\n"
        let transcript = try fixture.raw(
            Array(
                ("PUT /api/maintenanceconfiguration HTTP/1.1\r\nHost: x\r\n\(Self.key)Transfer-Encoding: chunked\r\n\r\n"
                    + chunked
                    + "GET /api/maintenanceconfiguration HTTP/1.1\r\nHost: x\r\n\(Self.key)Connection: close\r\n\r\n")
                    .utf8
            )
        )
        #expect(Self.statuses(transcript) == [200, 200], "\(transcript)")
        #expect(transcript.components(separatedBy: #""IsInMaintenanceMode":true"#).count == 3)
        #expect(transcript.contains("Connection: keep-alive\r\n"))
        #expect(transcript.contains("Connection: close\r\n"))
        #expect(
            try fixture.column(
                "SELECT json_extract(JSON, '$.IsInMaintenanceMode') FROM Configuration WHERE Id = 'maintenance'"
            ) == ["1"]
        )
    }

    @Test func expectContinueIsAnsweredBeforeTheBody() throws {
        let fixture = try Self.started()
        let descriptor = try RawSocket.connect(port: fixture.port)
        defer { close(descriptor) }
        let body = #"{"IsInMaintenanceMode":true}"#
        try RawSocket.send(
            descriptor,
            Array(
                ("PUT /api/maintenanceconfiguration HTTP/1.1\r\nHost: x\r\n\(Self.key)Expect: 100-continue\r\n"
                    + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n").utf8
            )
        )
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        #expect(poll(&entry, 1, 5000) == 1)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        received += buffer[0..<max(0, count)]
        #expect(String(decoding: received, as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n")
        try RawSocket.send(descriptor, Array(body.utf8))
        let rest = RawSocket.readAll(descriptor, timeout: 5)
        #expect(Self.statuses(rest) == [200], "\(rest)")
    }

    @Test(arguments: [
        ("GARBAGE\r\n\r\n", 400),
        ("GET /api HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        ("GET api HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("GET /api HTTP/1.1\r\n folded: header\r\n\r\n", 400),
        ("GET /api HTTP/1.1\r\nBad Header: x\r\n\r\n", 400),
        ("PUT /api/maintenanceconfiguration HTTP/1.1\r\nContent-Length: 12x\r\n\r\n", 400),
        ("PUT /api/maintenanceconfiguration HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("PUT /api/maintenanceconfiguration HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        ("PUT /api/maintenanceconfiguration HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", 413),
        ("PUT /api/maintenanceconfiguration HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    ])
    func malformedRequestsAreRefusedAndClosed(request: String, status: Int) throws {
        let fixture = try Self.started()
        let transcript = try fixture.raw(Array(request.utf8))
        #expect(Self.statuses(transcript) == [status], "\(transcript)")
        #expect(transcript.contains("Connection: close\r\n"))
        #expect(transcript.contains("\"ErrorMessage\""))
    }

    @Test func oversizedHeadersAre431() throws {
        let fixture = try Self.started()
        let huge = "GET /api HTTP/1.1\r\nX-Padding: " + String(repeating: "a", count: 70_000) + "\r\n\r\n"
        #expect(Self.statuses(try fixture.raw(Array(huge.utf8))) == [431])
        let many = "GET /api HTTP/1.1\r\n" + (1...150).map { "X-H\($0): 1\r\n" }.joined() + "\r\n"
        #expect(Self.statuses(try fixture.raw(Array(many.utf8))) == [431])
    }

    @Test func aSlowClientIsDroppedWithoutHoldingUpOthers() throws {
        let fixture = try Self.started()
        let slow = try RawSocket.connect(port: fixture.port)
        defer { close(slow) }
        try RawSocket.send(slow, Array("GET /api HTTP/1.1\r\nHost: x\r\n".utf8))
        let started = Date()
        // A raw request, so the time measured is the server's, not the test runner's.
        let meanwhile = try fixture.raw(Array("GET /api/spaces HTTP/1.1\r\n\(Self.key)Connection: close\r\n\r\n".utf8))
        #expect(Self.statuses(meanwhile) == [200])
        #expect(Date().timeIntervalSince(started) < 1.5)
        // The fixture's HTTP timeout is 2 seconds: the slow request is answered 408 and closed.
        let answer = RawSocket.readAll(slow, timeout: 10)
        #expect(Self.statuses(answer) == [408], "\(answer)")
        #expect(Date().timeIntervalSince(started) < 8)
    }

    @Test func headAnswersTheLengthWithoutTheBody() throws {
        let fixture = try Self.started()
        let transcript = try fixture.raw(Array("HEAD /api HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
        #expect(Self.statuses(transcript) == [200])
        let length = transcript.components(separatedBy: "Content-Length: ").dropFirst().first.flatMap {
            Int($0.prefix { $0.isNumber })
        }
        #expect((length ?? 0) > 0)
        #expect(transcript.hasSuffix("\r\n\r\n"))
    }

    @Test func percentEncodedPathsAndQueriesAreDecoded() async throws {
        let fixture = try Self.started()
        #expect(try await fixture.request("GET", "/api/%53paces-1/machines").status == 200)
        let page = try await fixture.request("GET", "/api/spaces?partialName=Sec%6Fnd")
        #expect(try page.json()["Items"]?.arrayValue?.map { $0["Id"] } == [.string("Spaces-2")])
        let malformed = try fixture.raw(
            Array("GET /api/spaces/%zz HTTP/1.1\r\n\(Self.key)Connection: close\r\n\r\n".utf8)
        )
        #expect(Self.statuses(malformed) == [400], "\(malformed)")
    }

    @Test func stopClosesIdleConnectionsPromptly() async throws {
        let fixture = try Self.started()
        let idle = try RawSocket.connect(port: fixture.port)
        defer { close(idle) }
        try RawSocket.send(idle, Array("GET /api HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        try await APIFixture.pause(0.2)
        let started = Date()
        fixture.stop()
        #expect(Date().timeIntervalSince(started) < 5)
        let transcript = RawSocket.readAll(idle, timeout: 2)
        #expect(Self.statuses(transcript) == [200])
        #expect((try? RawSocket.connect(port: fixture.port)) == nil)
    }
}
