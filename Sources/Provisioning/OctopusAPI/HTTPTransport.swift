import Foundation
import Synchronization
import Wire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where an Octopus REST API is: `http://host:port` plus an optional path prefix (a virtual directory).
struct HTTPEndpoint: Sendable, Hashable {
    var host: String
    var port: Int
    /// `""` or a prefix such as `/octopus`, never ending in `/`.
    var basePath: String

    /// `host:port` (`[host]:port` for IPv6), for messages and the `Host` header.
    var label: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Parses `http://host[:port][/prefix]`; `nil` for anything else (no `https`, user info, query or fragment).
    init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.lowercased().hasPrefix("http://") else { return nil }
        let rest = trimmed.dropFirst("http://".count)
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        guard !authority.isEmpty, !authority.contains("@"), !path.contains("?"), !path.contains("#") else {
            return nil
        }
        while path.hasSuffix("/") { path.removeLast() }
        basePath = path
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.isEmpty {
                port = 80
            } else {
                guard after.hasPrefix(":"), let value = Int(after.dropFirst()) else { return nil }
                port = value
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let value = Int(authority[authority.index(after: colon)...]) else { return nil }
            port = value
        } else {
            host = String(authority)
            port = 80
        }
        guard !host.isEmpty, (1...65535).contains(port) else { return nil }
    }
}

/// An HTTP response: status, header fields in order, and the body.
public struct OctopusHTTPResponse: Sendable, Hashable {
    /// The status code, such as 200.
    public var status: Int
    /// The header fields as received.
    public var headers: [HeaderField]
    /// The body, de-chunked.
    public var body: [UInt8]

    /// One header field.
    public struct HeaderField: Sendable, Hashable {
        /// The name as sent.
        public var name: String
        /// The value, trimmed.
        public var value: String
    }

    /// The first value of the header `name` (case-insensitive).
    ///
    /// - Parameter name: The header's name.
    /// - Returns: Its value, or `nil`.
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name.lowercased() == lowered }?.value
    }

    /// The body as text (UTF-8, invalid bytes replaced).
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Why an exchange failed below HTTP.
enum TransportFailure: Error, Sendable, Equatable {
    /// The connection was refused (or the host unreachable): nothing was sent.
    case refused(String)
    /// The connection was accepted, then closed before any byte of a reply.
    case closedBeforeReply
    /// The deadline passed while connecting (`connect`) or waiting for the reply (`reply`).
    case timedOut(phase: String)
    /// A socket error after some of the reply had arrived.
    case network(String)
    /// The reply is not HTTP/1.x as we read it.
    case malformed(String)
    /// The reply's body is larger than the client accepts.
    case tooLarge(Int)
    /// The host name does not resolve.
    case unresolved(String)
    /// The calling task was cancelled.
    case cancelled
}

/// One request on its own connection (`Connection: close`), over POSIX sockets.
///
/// Why not URLSession (FoundationNetworking, libcurl underneath)? Two reasons that matter here. libcurl honours the
/// environment's `http_proxy`/`all_proxy` for hosts not in `no_proxy`, and FoundationNetworking offers no reliable
/// switch to turn that off per session: a request meant for the SSH port forward on 127.0.0.1 could go to a proxy,
/// API key header included. And a forwarded port whose far end refuses shows up as a connection accepted and then
/// closed without a byte; URLSession reports that with the same generic errors as any broken exchange, so the
/// client could not retry exactly the "nothing listens yet" case while a just-started server comes up. A
/// `Connection: close` HTTP/1.1 exchange over a POSIX socket is small, has no proxy, and tells those apart. The
/// blocking socket calls run on a thread of their own per request, never on Swift's cooperative pool, and watch
/// for cancellation every 100 ms.
enum HTTPTransport {
    /// The request as it goes on the wire, minus framing.
    struct Request: Sendable {
        var method: String
        /// The request target: the path and query, already percent-encoded.
        var target: String
        /// Header fields besides `Host`, `Content-Length` and `Connection`.
        var headers: [(name: String, value: String)]
        var body: [UInt8]?
    }

    /// Sends `request` to `endpoint` and reads the whole reply.
    ///
    /// - Parameters:
    ///   - request: The request.
    ///   - endpoint: The server.
    ///   - connectTimeout: How long connecting may take.
    ///   - timeout: How long the whole exchange may take.
    ///   - maximumBodyBytes: The largest body accepted.
    /// - Returns: The response.
    static func perform(
        _ request: Request,
        to endpoint: HTTPEndpoint,
        connectTimeout: Duration,
        timeout: Duration,
        maximumBodyBytes: Int
    ) async throws(TransportFailure) -> OctopusHTTPResponse {
        if Task.isCancelled { throw .cancelled }
        let cancelled = CancellationFlag()
        let result: Result<OctopusHTTPResponse, TransportFailure> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let thread = Thread {
                    let exchange = Exchange(
                        endpoint: endpoint,
                        cancelled: cancelled,
                        connectTimeout: connectTimeout,
                        timeout: timeout,
                        maximumBodyBytes: maximumBodyBytes
                    )
                    continuation.resume(returning: Result { () throws(TransportFailure) in try exchange.run(request) })
                }
                thread.name = "octoprov-http"
                thread.start()
            }
        } onCancel: {
            cancelled.set()
        }
        return try result.get()
    }
}

/// Set when the calling task is cancelled; the socket loop looks at it between polls.
final class CancellationFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}

/// One exchange on one connection; used by one thread only.
private struct Exchange {
    let endpoint: HTTPEndpoint
    let cancelled: CancellationFlag
    let connectTimeout: Duration
    let timeout: Duration
    let maximumBodyBytes: Int

    func run(_ request: HTTPTransport.Request) throws(TransportFailure) -> OctopusHTTPResponse {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start.advanced(by: timeout)
        let fd = try openConnection(deadline: min(deadline, start.advanced(by: connectTimeout)))
        defer { close(fd) }
        let head = HTTPHead.request(
            method: request.method,
            target: request.target,
            host: endpoint.label,
            fields: request.headers,
            contentLength: request.body?.count ?? (["POST", "PUT", "PATCH"].contains(request.method) ? 0 : nil),
            close: true
        )
        try sendAll(fd, head + (request.body ?? []), deadline: deadline)
        var reader = ResponseReader(fd: fd, exchange: self, deadline: deadline)
        return try reader.read(method: request.method)
    }

    /// Resolves the host and connects to the first address that accepts, within `deadline`.
    private func openConnection(deadline: ContinuousClock.Instant) throws(TransportFailure) -> Int32 {
        do {
            let fd = try POSIXSocket.connect(
                host: endpoint.host,
                port: endpoint.port,
                deadline: deadline,
                numericService: true,
                isCancelled: { cancelled.isSet }
            )
            POSIXSocket.setNoDelay(fd)
            return fd
        } catch {
            switch error {
            case .unresolved(let reason): throw .unresolved(reason)
            case .timedOut: throw .timedOut(phase: "connect")
            case .cancelled: throw .cancelled
            case .failed(let code): throw .refused(String(cString: strerror(code)).lowercased())
            }
        }
    }

    /// Writes all of `bytes`. A peer that closes before taking the request has not replied: `closedBeforeReply`.
    private func sendAll(_ fd: Int32, _ bytes: [UInt8], deadline: ContinuousClock.Instant) throws(TransportFailure) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                send(fd, buffer.baseAddress?.advanced(by: offset), buffer.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written > 0 {
                offset += written
            } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                try wait(fd, events: Int16(POLLOUT), deadline: deadline, phase: "reply")
            } else if errno == EPIPE || errno == ECONNRESET {
                throw .closedBeforeReply
            } else {
                throw .network(String(cString: strerror(errno)))
            }
        }
    }

    /// Waits until `fd` is ready for `events`, in slices of 100 ms so that cancellation is seen.
    func wait(_ fd: Int32, events: Int16, deadline: ContinuousClock.Instant, phase: String) throws(TransportFailure) {
        switch POSIXSocket.waitReady(fd, events: events, deadline: deadline, isCancelled: { cancelled.isSet }) {
        case .ready: return
        case .timedOut: throw .timedOut(phase: phase)
        case .cancelled: throw .cancelled
        case .failed(let code): throw .network(String(cString: strerror(code)))
        }
    }
}

/// Reads one HTTP/1.x response from a socket: the head, then a body framed by `Content-Length`, chunks or the
/// end of the connection.
private struct ResponseReader {
    let fd: Int32
    let exchange: Exchange
    let deadline: ContinuousClock.Instant
    private var buffer: [UInt8] = []
    private var position = 0
    private var received = 0

    init(fd: Int32, exchange: Exchange, deadline: ContinuousClock.Instant) {
        self.fd = fd
        self.exchange = exchange
        self.deadline = deadline
    }

    mutating func read(method: String) throws(TransportFailure) -> OctopusHTTPResponse {
        var (status, headers) = try readHead()
        // Interim 1xx responses (100 Continue) precede the real one.
        while (100...199).contains(status) && status != 101 {
            (status, headers) = try readHead()
        }
        let response = OctopusHTTPResponse(status: status, headers: headers, body: [])
        if method == "HEAD" || (100...199).contains(status) || status == 204 || status == 304 {
            return response
        }
        var body: [UInt8]
        if response.header("Transfer-Encoding")?.lowercased().contains("chunked") == true {
            body = try readChunked()
        } else if let lengthText = response.header("Content-Length") {
            guard let length = Int(lengthText), length >= 0 else {
                throw .malformed("Content-Length `\(lengthText)` is not a number")
            }
            guard length <= exchange.maximumBodyBytes else { throw .tooLarge(length) }
            body = try readExactly(length)
        } else {
            body = try readToEnd()
        }
        return OctopusHTTPResponse(status: status, headers: headers, body: body)
    }

    private mutating func readHead() throws(TransportFailure) -> (Int, [OctopusHTTPResponse.HeaderField]) {
        let statusLine = try readLine(limit: 8192)
        guard let (version, status) = HTTPHead.statusLine(statusLine), version.hasPrefix("HTTP/1."),
            (100...999).contains(status)
        else {
            throw .malformed("the reply does not start with an HTTP/1.x status line")
        }
        var headers: [OctopusHTTPResponse.HeaderField] = []
        var headBytes = statusLine.utf8.count
        while true {
            let line = try readLine(limit: 65536)
            if line.isEmpty { break }
            headBytes += line.utf8.count
            guard headBytes <= 65536 else { throw .malformed("the reply's header is larger than 64 KiB") }
            guard let (name, value) = HTTPHead.field(line) else {
                throw .malformed("a header line has no colon")
            }
            headers.append(OctopusHTTPResponse.HeaderField(name: name, value: value))
        }
        return (status, headers)
    }

    private mutating func readChunked() throws(TransportFailure) -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let line = try readLine(limit: 4096)
            guard let size = HTTPHead.chunkSize(line) else {
                throw .malformed("a chunk size `\(line)` is not hexadecimal")
            }
            if size == 0 { break }
            guard body.count + size <= exchange.maximumBodyBytes else { throw .tooLarge(body.count + size) }
            body += try readExactly(size)
            guard try readLine(limit: 2).isEmpty else { throw .malformed("a chunk does not end with CRLF") }
        }
        // Trailer fields, then the empty line.
        while !(try readLine(limit: 65536).isEmpty) {}
        return body
    }

    private mutating func readExactly(_ count: Int) throws(TransportFailure) -> [UInt8] {
        while buffer.count - position < count {
            guard try fill() else { throw .network("the connection closed in the middle of the reply") }
        }
        let bytes = Array(buffer[position..<(position + count)])
        position += count
        return bytes
    }

    private mutating func readToEnd() throws(TransportFailure) -> [UInt8] {
        while try fill() {
            guard buffer.count - position <= exchange.maximumBodyBytes else { throw .tooLarge(buffer.count - position) }
        }
        let bytes = Array(buffer[position...])
        position = buffer.count
        return bytes
    }

    /// A line without its CRLF (a bare LF is accepted too).
    private mutating func readLine(limit: Int) throws(TransportFailure) -> String {
        while true {
            if let newline = buffer[position...].firstIndex(of: 0x0A) {
                var end = newline
                if end > position && buffer[end - 1] == 0x0D { end -= 1 }
                let line = String(decoding: buffer[position..<end], as: UTF8.self)
                position = newline + 1
                return line
            }
            guard buffer.count - position <= limit else { throw .malformed("a line of the reply is too long") }
            guard try fill() else {
                if received == 0 { throw .closedBeforeReply }
                throw .network("the connection closed in the middle of the reply")
            }
        }
    }

    /// Reads what has arrived; `false` at the end of the connection. A reset before any byte of the reply
    /// counts as `closedBeforeReply`.
    private mutating func fill() throws(TransportFailure) -> Bool {
        if position > 65536 && position * 2 > buffer.count {
            buffer.removeFirst(position)
            position = 0
        }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                buffer += chunk[0..<count]
                received += count
                return true
            }
            if count == 0 { return false }
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                try exchange.wait(fd, events: Int16(POLLIN), deadline: deadline, phase: "reply")
                continue
            }
            if errno == ECONNRESET && received == 0 { throw .closedBeforeReply }
            throw .network(String(cString: strerror(errno)))
        }
    }
}
