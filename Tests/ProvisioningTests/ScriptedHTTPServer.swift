import Foundation
import Synchronization

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
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 64) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ScriptedServerError(description: "cannot listen on 127.0.0.1:\(port): \(reason)")
        }
        listener = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
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
            var head = "HTTP/1.1 \(status) \(status == 200 ? "OK" : "Status")\r\n"
            for (name, value) in headers { head += "\(name): \(value)\r\n" }
            let bytes = Array(body.utf8)
            var payload: [UInt8]
            if chunked {
                head += "Transfer-Encoding: chunked\r\n"
                payload = []
                var offset = 0
                while offset < bytes.count {
                    let size = min(7, bytes.count - offset)
                    payload +=
                        Array("\(String(size, radix: 16))\r\n".utf8) + bytes[offset..<(offset + size)]
                        + Array("\r\n".utf8)
                    offset += size
                }
                payload += Array("0\r\n\r\n".utf8)
            } else {
                head += "Content-Length: \(bytes.count)\r\n"
                payload = bytes
            }
            head += "Connection: close\r\n\r\n"
            let all = Array(head.utf8) + payload
            var offset = 0
            while offset < all.count {
                let written = all.withUnsafeBytes {
                    send(fd, $0.baseAddress?.advanced(by: offset), all.count - offset, Int32(MSG_NOSIGNAL))
                }
                if written <= 0 { return }
                offset += written
            }
        }
    }

    private func readRequest(_ fd: Int32) -> Request? {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var headEnd: Int?
        while headEnd == nil {
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { return nil }
            data += buffer[0..<count]
            headEnd = Self.find([13, 10, 13, 10], in: data)
        }
        guard let headEnd else { return nil }
        let head = String(decoding: data[0..<headEnd], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count == 3 else { return nil }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(data[(headEnd + 4)...])
        let length = Int(headers.first { $0.key.lowercased() == "content-length" }?.value ?? "0") ?? 0
        while body.count < length {
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            body += buffer[0..<count]
        }
        return Request(
            method: String(requestLine[0]),
            target: String(requestLine[1]),
            headers: headers,
            body: body,
            rawHead: head
        )
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where Array(haystack[start..<(start + needle.count)]) == needle
        {
            return start
        }
        return nil
    }
}

struct ScriptedServerError: Error, CustomStringConvertible {
    var description: String
}

/// A port free on 127.0.0.1 right now (nothing listens there until a test binds it).
func freeLoopbackPort() throws -> Int {
    let server = try ScriptedHTTPServer { _ in .close }
    let port = server.port
    server.stop()
    return port
}
