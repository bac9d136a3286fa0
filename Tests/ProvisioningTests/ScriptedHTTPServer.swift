import Foundation
import Synchronization
import Wire

#if canImport(Glibc)
    import Glibc
#endif

/// A tiny HTTP/1.1 server on 127.0.0.1 for the API client's tests: every request is recorded and answered by a
/// handler, which may also close the connection without a reply (what an SSH port forward does when nothing
/// listens on the host) or never answer.
final class ScriptedHTTPServer: Sendable {
    /// A request as received.
    struct Request: Sendable {
        var method: String
        var target: String
        var headers: [String: String]
        var body: [UInt8]
        /// The whole head as sent, for checks that the key is nowhere but its header.
        var rawHead: String

        var path: String { String(target.split(separator: "?", maxSplits: 1).first ?? "") }

        func query(_ name: String) -> String? {
            guard let question = target.firstIndex(of: "?") else { return nil }
            for pair in target[target.index(after: question)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                if parts.first?.lowercased() == name.lowercased() {
                    return parts.count > 1 ? (parts[1].removingPercentEncoding ?? parts[1]) : ""
                }
            }
            return nil
        }

        func header(_ name: String) -> String? {
            headers.first { $0.key.lowercased() == name.lowercased() }?.value
        }
    }

    /// How to answer.
    enum Reply: Sendable {
        case respond(status: Int, body: String, headers: [String: String] = [:], chunked: Bool = false)
        /// Close the connection without a byte.
        case close
        /// Keep the connection open and never answer.
        case silent

        static func json(_ status: Int, _ body: String) -> Reply {
            .respond(status: status, body: body, headers: ["Content-Type": "application/json"])
        }
    }

    let port: Int
    private let listener: Int32
    private let handler: @Sendable (Request) -> Reply
    private let recorded = Mutex<[Request]>([])
    private let stopping = Atomic<Bool>(false)
    private let connections = Mutex<[Int32]>([])
    private let acceptEnded = DispatchSemaphore(value: 0)

    /// Starts serving on `port` (0: any free port).
    init(port: Int = 0, _ handler: @escaping @Sendable (Request) -> Reply) throws {
        let (fd, boundPort) = try POSIXSocket.listen(address: POSIXSocket.loopback, port: port, backlog: 64)
        listener = fd
        self.port = boundPort
        self.handler = handler
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// The requests received so far.
    var requests: [Request] { recorded.withLock { $0 } }

    /// `http://127.0.0.1:<port>`.
    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Stops accepting, closes the listening socket and ends every connection (silent ones included). Call it
    /// (in a `defer`): the serving threads keep the server alive until then.
    func stop() {
        guard !stopping.exchange(true, ordering: .relaxed) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        acceptEnded.wait()
        close(listener)
        connections.withLock { open in
            for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    private func acceptLoop() {
        defer { acceptEnded.signal() }
        while !stopping.load(ordering: .relaxed) {
            var descriptor = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 50) > 0 else { continue }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { continue }
            connections.withLock { $0.append(fd) }
            let thread = Thread { [self] in serve(fd) }
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer {
            connections.withLock { open in
                open.removeAll { $0 == fd }
                close(fd)
            }
        }
        guard let request = readRequest(fd) else { return }
        recorded.withLock { $0.append(request) }
        switch handler(request) {
        case .close:
            return
        case .silent:
            var byte: UInt8 = 0
            _ = recv(fd, &byte, 1, 0)  // returns when the client gives up or the server stops
        case .respond(let status, let body, let headers, let chunked):
            let bytes = Array(body.utf8)
            let framing = chunked ? ("Transfer-Encoding", "chunked") : ("Content-Length", "\(bytes.count)")
            let head = HTTPHead.response(
                status: status,
                reason: status == 200 ? "OK" : "Status",
                fields: headers.map { (name: $0.key, value: $0.value) } + [framing, ("Connection", "close")]
            )
            let all = head + (chunked ? HTTPHead.chunked(bytes, chunkSize: 7) : bytes)
            try? POSIXSocket.write(fd, all, deadline: POSIXSocket.deadline(after: 30), what: "the client")
        }
    }

    /// Reads one request with the leaf's server-side reader (the stand-in's), so the client is tested against
    /// the framing a real server applies.
    private func readRequest(_ fd: Int32) -> Request? {
        var reader = HTTPRequestReader(descriptor: fd, peer: "the client", limits: HTTPLimits())
        guard let request = try? reader.next(continueHandler: {}) else { return nil }
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name] = field.value }
        let rawHead =
            ([request.method + " " + request.target + " " + request.version]
            + request.headers.map { "\($0.name): \($0.value)" }).joined(separator: "\r\n")
        return Request(
            method: request.method,
            target: request.target,
            headers: headers,
            body: request.body,
            rawHead: rawHead
        )
    }
}

/// A port free on 127.0.0.1 right now (nothing listens there until a test binds it).
func freeLoopbackPort() throws -> Int {
    try POSIXSocket.freePort(on: POSIXSocket.loopback)
}
