import Foundation
import Wire

#if canImport(Glibc)
    import Glibc
#endif

/// A small HTTP/1.1 server on POSIX sockets: one accept thread polling every listener and a wake-up
/// pipe, and one thread per connection (at most ``HTTPLimits/maximumConnections``). Connections are
/// kept alive between requests; request bodies may be sized by Content-Length or chunked.
///
/// `@unchecked Sendable`: the mutable state (descriptors of open connections, the stopping flag) is
/// only touched under `lock`; the listeners and the pipe are fixed after `init`.
final class HTTPServer: @unchecked Sendable {
    /// Answers one request; called on the connection's thread.
    typealias Handler = @Sendable (HTTPRequest) -> HTTPResponse

    /// One bound listener.
    struct Listener: Sendable {
        var host: String
        var port: Int
        var descriptor: Int32
    }

    let listeners: [Listener]
    private let limits: HTTPLimits
    private let handler: Handler
    private let extraHeaders: [(name: String, value: String)]
    private let onError: @Sendable (String) -> Void
    private let wakePipe: (read: Int32, write: Int32)
    private let lock = NSLock()
    private var connections: Set<Int32> = []
    private var stopping = false
    private var started = false
    private var listenersClosed = false
    private let threads = DispatchGroup()

    /// Binds every `(host, port)` pair (port 0: the kernel picks one).
    /// - Parameters:
    ///   - endpoints: Where to listen.
    ///   - limits: Size and time limits per connection.
    ///   - extraHeaders: Header fields added to every response (e.g. `Octopus-Node`).
    ///   - onError: Receives one sentence per connection that ended with an error (for the server log).
    ///   - handler: Answers requests.
    /// - Throws: ``SocketError`` when an endpoint cannot be bound; nothing stays bound then.
    init(
        endpoints: [(host: String, port: Int)],
        limits: HTTPLimits,
        extraHeaders: [(name: String, value: String)],
        onError: @escaping @Sendable (String) -> Void,
        handler: @escaping Handler
    ) throws(SocketError) {
        var bound: [Listener] = []
        do {
            for endpoint in endpoints {
                let result = try POSIXSocket.listen(host: endpoint.host, port: endpoint.port)
                bound.append(Listener(host: endpoint.host, port: result.port, descriptor: result.descriptor))
            }
        } catch {
            for listener in bound { close(listener.descriptor) }
            throw error
        }
        var pipeDescriptors: [Int32] = [0, 0]
        guard pipe(&pipeDescriptors) == 0 else {
            let code = errno
            for listener in bound { close(listener.descriptor) }
            throw .system(.io, "Cannot create the server's wake-up pipe", errno: code)
        }
        POSIXSocket.configure(pipeDescriptors[0])
        POSIXSocket.configure(pipeDescriptors[1])
        listeners = bound
        wakePipe = (pipeDescriptors[0], pipeDescriptors[1])
        self.limits = limits
        self.extraHeaders = extraHeaders
        self.onError = onError
        self.handler = handler
    }

    deinit {
        if !listenersClosed {
            for listener in listeners { close(listener.descriptor) }
        }
        close(wakePipe.read)
        close(wakePipe.write)
    }

    /// Starts the accept thread.
    func start() {
        lock.lock()
        defer { lock.unlock() }
        guard !started, !stopping else { return }
        started = true
        threads.enter()
        let thread = Thread { [self] in
            acceptLoop()
            threads.leave()
        }
        thread.name = "http-accept"
        thread.start()
    }

    /// Stops accepting, closes every connection and waits (up to `timeout` seconds) for the threads.
    func stop(timeout: Double = 10) {
        lock.lock()
        let wasStopping = stopping
        stopping = true
        for descriptor in connections { shutdown(descriptor, Int32(SHUT_RDWR)) }
        lock.unlock()
        if !wasStopping {
            var byte: UInt8 = 1
            _ = Glibc.write(wakePipe.write, &byte, 1)
        }
        _ = threads.wait(timeout: .now() + timeout)
        // Free the ports now, not whenever the last connection thread lets go of the server.
        lock.lock()
        if !listenersClosed {
            listenersClosed = true
            for listener in listeners { close(listener.descriptor) }
        }
        lock.unlock()
    }

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    private func acceptLoop() {
        var entries = listeners.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
        entries.append(pollfd(fd: wakePipe.read, events: Int16(POLLIN), revents: 0))
        while !isStopping {
            for index in entries.indices { entries[index].revents = 0 }
            let ready = poll(&entries, nfds_t(entries.count), 1000)
            if ready < 0 {
                if errno == EINTR { continue }
                onError("The HTTP server stopped accepting: poll failed (errno \(errno)).")
                return
            }
            if entries.last?.revents ?? 0 != 0 { return }
            for entry in entries.dropLast() where entry.revents != 0 {
                acceptAll(on: entry.fd)
            }
        }
    }

    private func acceptAll(on listener: Int32) {
        while true {
            var address = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let descriptor = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    accept(listener, $0, &length)
                }
            }
            if descriptor < 0 {
                switch errno {
                case EINTR: continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // Out of descriptors: back off instead of spinning on a listener that stays readable.
                    onError("The HTTP server cannot accept connections now (errno \(errno)); retrying shortly.")
                    usleep(100_000)
                    return
                default:
                    return  // EAGAIN: nothing more to accept now; anything else: the next poll retries.
                }
            }
            POSIXSocket.configure(descriptor)
            POSIXSocket.setNoDelay(descriptor)
            let peer = POSIXSocket.text(address)
            lock.lock()
            let refuse = stopping || connections.count >= limits.maximumConnections
            if !refuse {
                connections.insert(descriptor)
                threads.enter()
            }
            lock.unlock()
            if refuse {
                let response = HTTPResponse.json(
                    503,
                    .object([("ErrorMessage", .string("The server is busy; try again shortly."))])
                )
                try? write(response, to: descriptor, peer: peer, keepAlive: false, headOnly: false)
                close(descriptor)
                continue
            }
            let thread = Thread { [self] in
                serve(descriptor, peer: peer)
                lock.lock()
                connections.remove(descriptor)
                lock.unlock()
                close(descriptor)
                threads.leave()
            }
            thread.name = "http-connection"
            thread.start()
        }
    }

    private func serve(_ descriptor: Int32, peer: String) {
        var reader = HTTPRequestReader(descriptor: descriptor, peer: peer, limits: limits)
        while !isStopping {
            let request: HTTPRequest
            do {
                let continueLine = HTTPHead.continueResponse
                let writeDeadline = POSIXSocket.deadline(after: limits.writeTimeout)
                guard
                    let next = try reader.next(continueHandler: { () throws(SocketError) in
                        try POSIXSocket.write(descriptor, continueLine, deadline: writeDeadline, what: peer)
                    })
                else { return }
                request = next
            } catch {
                if let status = error.status {
                    let response = HTTPResponse.json(status, .object([("ErrorMessage", .string(error.message))]))
                    try? write(response, to: descriptor, peer: peer, keepAlive: false, headOnly: false)
                    lingeringClose(descriptor)
                }
                onError("HTTP request from \(peer) refused: \(error.message)")
                return
            }
            let response = handler(request)
            let keepAlive = request.keepAlive && !isStopping
            do {
                try write(
                    response,
                    to: descriptor,
                    peer: peer,
                    keepAlive: keepAlive,
                    headOnly: request.method == "HEAD"
                )
            } catch {
                onError("HTTP response to \(peer) not delivered: \(error.message)")
                return
            }
            if !keepAlive { return }
        }
    }

    /// Half-closes and reads what the client still sends (briefly, boundedly) before the socket is closed:
    /// closing with unread data makes the kernel send a reset, which can destroy the error response
    /// before the client has read it.
    private func lingeringClose(_ descriptor: Int32) {
        shutdown(descriptor, Int32(SHUT_WR))
        let deadline = POSIXSocket.deadline(after: 1)
        var drained = 0
        while drained < 1 << 20,
            let bytes = try? POSIXSocket.read(descriptor, maximum: 64 * 1024, deadline: deadline, what: "client"),
            !bytes.isEmpty
        {
            drained += bytes.count
        }
    }

    private func write(
        _ response: HTTPResponse,
        to descriptor: Int32,
        peer: String,
        keepAlive: Bool,
        headOnly: Bool
    ) throws(SocketError) {
        let deadline = POSIXSocket.deadline(after: limits.writeTimeout)
        let length: Int
        switch response.body {
        case .bytes(let bytes): length = bytes.count
        case .file(_, let size): length = size
        }
        let head = HTTPHead.response(
            status: response.status,
            fields: response.headers + extraHeaders + [
                ("Content-Length", "\(length)"), ("Date", Self.httpDate()),
                ("Connection", keepAlive ? "keep-alive" : "close"),
            ]
        )
        switch response.body {
        case .bytes(let bytes):
            try POSIXSocket.write(
                descriptor,
                head + (headOnly ? [] : bytes),
                deadline: deadline,
                what: peer
            )
        case .file(let path, let size):
            try POSIXSocket.write(descriptor, head, deadline: deadline, what: peer)
            if headOnly { return }
            try streamFile(path, size: size, to: descriptor, deadline: deadline, peer: peer)
        }
    }

    private func streamFile(
        _ path: String,
        size: Int,
        to descriptor: Int32,
        deadline: ContinuousClock.Instant,
        peer: String
    ) throws(SocketError) {
        let file = open(path, O_RDONLY | O_CLOEXEC)
        guard file >= 0 else { throw .system(.io, "Cannot open \(path) to send it", errno: errno) }
        defer { close(file) }
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        var remaining = size
        while remaining > 0 {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(file, $0.baseAddress, min($0.count, remaining)) }
            if count < 0, errno == EINTR { continue }
            // The length was announced: a file that shrank in the meantime can only end the connection.
            guard count > 0 else { throw SocketError(kind: .io, message: "\(path) ended before its announced size.") }
            try POSIXSocket.write(descriptor, Array(buffer[0..<count]), deadline: deadline, what: peer)
            remaining -= count
        }
    }

    /// An IMF-fixdate, e.g. `Tue, 24 Nov 2026 16:21:01 GMT`.
    static func httpDate(_ date: Date = Date()) -> String {
        var time = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&time, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return
            "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
