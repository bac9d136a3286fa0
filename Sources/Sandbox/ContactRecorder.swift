import Foundation
import Wire

#if canImport(Glibc)
    import Glibc
#endif

/// Loopback listeners that play the parts of production a clone must never reach (deployment targets,
/// webhook receivers, production's own Server URI), recording every contact.
///
/// Each accepted connection becomes one JSON line in the contacts file: time, listener role, the peer's
/// address, and the first line the peer sent (an HTTP request line, or empty for a bare TCP health check). An
/// HTTP request is answered `200 OK` so that a webhook sender sees success.
///
/// Thread safety: the listening sockets and the file are only used by the recorder's own thread after
/// ``start()``; ``stop()`` may be called from any thread.
public final class ContactRecorder: @unchecked Sendable {
    /// A listener to open: a role name and a loopback address (the port is chosen by the kernel).
    public struct Endpoint: Sendable {
        public var role: String
        public var address: String

        public init(role: String, address: String) {
            self.role = role
            self.address = address
        }
    }

    private struct Listening {
        var role: String
        var address: String
        var port: Int
        var descriptor: Int32
    }

    private let contactsPath: String
    private var listening: [Listening] = []
    private let wake: (read: Int32, write: Int32)
    private var thread: Thread?

    /// Binds every endpoint (port 0: a free port).
    ///
    /// - Parameters:
    ///   - endpoints: The listeners to open.
    ///   - contactsPath: The JSON-lines file contacts are appended to (created now, empty).
    /// - Throws: ``SandboxError`` when a socket cannot be bound or the file cannot be created.
    public init(endpoints: [Endpoint], contactsPath: String) throws {
        self.contactsPath = contactsPath
        guard FileManager.default.createFile(atPath: contactsPath, contents: Data()) else {
            throw SandboxError("Cannot create the contacts file \(contactsPath).")
        }
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw SandboxError.systemCall("pipe", errno: errno) }
        wake = (pipeEnds[0], pipeEnds[1])
        for endpoint in endpoints {
            listening.append(try Self.listen(role: endpoint.role, address: endpoint.address))
        }
    }

    deinit {
        stop()
        close(wake.read)
        close(wake.write)
    }

    /// The bound listeners: role, address and port.
    public var listeners: [SandboxState.Listener] {
        listening.map { SandboxState.Listener(role: $0.role, address: $0.address, port: $0.port) }
    }

    /// Starts accepting on a thread of its own.
    public func start() {
        let thread = Thread { [self] in serve() }
        thread.name = "production-listeners"
        self.thread = thread
        thread.start()
    }

    /// Stops accepting and closes the listeners; idempotent.
    public func stop() {
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
    }

    private func serve() {
        defer {
            for listener in listening { close(listener.descriptor) }
        }
        while true {
            var descriptors = [pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            descriptors += listening.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&descriptors, nfds_t(descriptors.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if descriptors[0].revents != 0 { return }
            for (index, listener) in listening.enumerated() where descriptors[index + 1].revents != 0 {
                accept(on: listener)
            }
        }
    }

    private func accept(on listener: Listening) {
        var peer = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let connection = withUnsafeMutablePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(listener.descriptor, $0, &length) }
        }
        guard connection >= 0 else { return }
        defer { close(connection) }
        var timeout = timeval(tv_sec: 0, tv_usec: 500_000)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = read(connection, &buffer, buffer.count)
        let received = count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : ""
        let firstLine = received.split(separator: "\r\n", maxSplits: 1).first.map(String.init) ?? ""
        if firstLine.hasSuffix("HTTP/1.1") || firstLine.hasSuffix("HTTP/1.0") {
            let response = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            // MSG_NOSIGNAL: a client gone before the answer must not end the recorder (and its process) with SIGPIPE.
            _ = response.withCString { send(connection, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        }
        record(role: listener.role, peer: Self.describe(peer), firstLine: firstLine)
    }

    private func record(role: String, peer: String, firstLine: String) {
        let contact: [String: String] = [
            "time": ISO8601DateFormatter().string(from: Date()),
            "listener": role,
            "peer": peer,
            "request": firstLine,
        ]
        guard let data = try? JSONSerialization.data(withJSONObject: contact, options: [.sortedKeys]),
            let handle = FileHandle(forWritingAtPath: contactsPath)
        else { return }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        try? handle.write(contentsOf: data + Data("\n".utf8))
    }

    private static func describe(_ address: sockaddr_in) -> String {
        var copy = address.sin_addr
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        inet_ntop(AF_INET, &copy, &text, socklen_t(text.count))
        let host = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(host):\(UInt16(bigEndian: address.sin_port))"
    }

    private static func listen(role: String, address: String) throws -> Listening {
        guard let ipv4 = POSIXSocket.dottedQuad(address) else {
            throw SandboxError("\(address) is not an IPv4 address.")
        }
        do {
            let listener = try POSIXSocket.listen(address: ipv4, port: 0, backlog: 64, blocking: true)
            return Listening(role: role, address: address, port: listener.port, descriptor: listener.descriptor)
        } catch {
            throw SandboxError.systemCall("bind/listen on \(address) for the \(role) listener", errno: error.code ?? 0)
        }
    }
}
