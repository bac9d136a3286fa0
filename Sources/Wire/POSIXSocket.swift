public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A failed socket operation: one sentence naming the address and what the system said.
public struct SocketError: Error, Sendable, CustomStringConvertible {
    /// What failed.
    public enum Kind: Sendable, Equatable {
        case address
        case bind
        case connect
        case timedOut
        case closed
        case io
    }

    /// What failed.
    public var kind: Kind
    /// One sentence for the person.
    public var message: String
    /// The `errno` the system reported, when there was one.
    public var code: Int32?

    /// An error with its sentence.
    public init(kind: Kind, message: String, code: Int32? = nil) {
        self.kind = kind
        self.message = message
        self.code = code
    }

    public var description: String { message }

    /// The system's text for ``code`` (`strerror(3)`), or the message when there is no code.
    public var reason: String { code.map { String(cString: strerror($0)) } ?? message }

    /// "`what`: the system's text (errno N)."
    public static func system(_ kind: Kind, _ what: String, errno code: Int32) -> SocketError {
        SocketError(kind: kind, message: "\(what): \(String(cString: strerror(code))) (errno \(code)).", code: code)
    }
}

/// Why ``POSIXSocket/connect(host:port:deadline:numericService:isCancelled:)`` found no connection; each caller
/// words it for its own reader.
public enum ConnectFailure: Error, Sendable, Equatable {
    /// The host name does not resolve: `gai_strerror`'s text.
    case unresolved(String)
    /// The deadline passed while a connection was being set up.
    case timedOut
    /// `isCancelled` said so while waiting.
    case cancelled
    /// Every address refused (or could not be tried): the last `errno`.
    case failed(errno: Int32)
}

/// The one home of octoprov's POSIX TCP plumbing: connecting with a deadline, listening, and reading and writing
/// non-blocking descriptors with `poll(2)` and a deadline. SSHKit, the Octopus API client, the stand-in, the
/// sandbox and the tests all go through it. Every write uses `MSG_NOSIGNAL`, so a peer that went away is an
/// error, never a `SIGPIPE`.
public enum POSIXSocket {
    /// The IPv4 address for a host: `localhost` is 127.0.0.1; `+`, `*` and an empty host mean every
    /// address (as in an HTTP.sys listen prefix); anything else is a dotted quad or resolved (IPv4 only).
    public static func ipv4Address(_ host: String) throws(SocketError) -> in_addr {
        var address = in_addr()
        let lowered = host.lowercased()
        if lowered == "localhost" {
            address.s_addr = inet_addr("127.0.0.1")
            return address
        }
        if ["+", "*", "", "0.0.0.0"].contains(lowered) {
            address.s_addr = INADDR_ANY.bigEndian
            return address
        }
        if let dotted = dottedQuad(host) { return dotted }
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &result)
        defer { if let result { freeaddrinfo(result) } }
        guard status == 0, let info = result, let socketAddress = info.pointee.ai_addr else {
            let reason = status == 0 ? "no IPv4 address" : String(cString: gai_strerror(status))
            throw SocketError(kind: .address, message: "Cannot resolve the host \(host): \(reason).")
        }
        return socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
    }

    /// 127.0.0.1.
    public static var loopback: in_addr { in_addr(s_addr: UInt32(0x7F00_0001).bigEndian) }

    /// The address written as a dotted quad (`inet_pton`), or `nil` when `text` is not one.
    public static func dottedQuad(_ text: String) -> in_addr? {
        var address = in_addr()
        return inet_pton(AF_INET, text, &address) == 1 ? address : nil
    }

    /// Whether an IPv4 address is in 127.0.0.0/8.
    public static func isLoopback(_ address: in_addr) -> Bool {
        (UInt32(bigEndian: address.s_addr) >> 24) == 127
    }

    /// Dotted-quad text of an address.
    public static func text(_ address: in_addr) -> String {
        let value = UInt32(bigEndian: address.s_addr)
        return "\(value >> 24).\((value >> 16) & 0xff).\((value >> 8) & 0xff).\(value & 0xff)"
    }

    /// `address:port` of an IPv4 socket address, e.g. a peer returned by `accept`.
    public static func text(_ socketAddress: sockaddr_in) -> String {
        "\(text(socketAddress.sin_addr)):\(UInt16(bigEndian: socketAddress.sin_port))"
    }

    static func makeSocketAddress(_ address: in_addr, port: Int) -> sockaddr_in {
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = UInt16(port).bigEndian
        socketAddress.sin_addr = address
        return socketAddress
    }

    /// Makes a descriptor non-blocking and close-on-exec (`accept4` and `pipe2` are not visible to Swift
    /// without `_GNU_SOURCE`).
    public static func configure(_ descriptor: Int32) {
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
    }

    /// Sets a boolean socket option to on (`TCP_NODELAY`, `SO_KEEPALIVE` …).
    public static func enable(_ descriptor: Int32, level: Int32, option: Int32) {
        var one: Int32 = 1
        setsockopt(descriptor, level, option, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Turns Nagle's algorithm off: requests and replies are small and go at once.
    public static func setNoDelay(_ descriptor: Int32) {
        enable(descriptor, level: Int32(IPPROTO_TCP), option: TCP_NODELAY)
    }

    /// A close-on-exec TCP socket (IPv4), non-blocking unless `blocking`.
    public static func makeTCPSocket(_ what: String, blocking: Bool = false) throws(SocketError) -> Int32 {
        var type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        if !blocking { type |= Int32(SOCK_NONBLOCK.rawValue) }
        let descriptor = socket(AF_INET, type, 0)
        guard descriptor >= 0 else { throw .system(.io, "Cannot create a socket for \(what)", errno: errno) }
        return descriptor
    }

    /// Binds and listens; returns the descriptor and the bound port (the kernel's choice for port 0).
    /// - Parameters:
    ///   - host: Resolved with ``ipv4Address(_:)``.
    ///   - port: The port, 0 for any free one.
    ///   - backlog: `listen(2)`'s backlog.
    ///   - blocking: Whether `accept` on the listener blocks (by default it does not).
    /// - Throws: ``SocketError`` (`.address`, `.bind`, `.io`); nothing stays bound then.
    public static func listen(
        host: String,
        port: Int,
        backlog: Int32 = 128,
        blocking: Bool = false
    ) throws(SocketError) -> (descriptor: Int32, port: Int) {
        try listen(address: ipv4Address(host), port: port, backlog: backlog, blocking: blocking)
    }

    /// Binds `address:port` (with `SO_REUSEADDR`) and listens; returns the descriptor and the bound port.
    /// - Throws: ``SocketError`` (`.bind`, `.io`); nothing stays bound then.
    public static func listen(
        address: in_addr,
        port: Int,
        backlog: Int32 = 128,
        blocking: Bool = false
    ) throws(SocketError) -> (descriptor: Int32, port: Int) {
        let what = "\(text(address)):\(port)"
        let descriptor = try makeTCPSocket(what, blocking: blocking)
        enable(descriptor, level: SOL_SOCKET, option: SO_REUSEADDR)
        do {
            let bound = try bind(descriptor, address: address, port: port, what: what, listening: backlog)
            return (descriptor, bound)
        } catch {
            close(descriptor)
            throw error
        }
    }

    /// A TCP port free on `address` right now: binds a socket to `address:0`, reads the port the kernel chose and
    /// closes the socket. Another process can take the port before the caller binds it.
    /// - Throws: ``SocketError`` (`.bind`, `.io`).
    public static func freePort(on address: in_addr) throws(SocketError) -> Int {
        let what = "\(text(address)):0"
        let descriptor = try makeTCPSocket(what, blocking: true)
        defer { close(descriptor) }
        return try bind(descriptor, address: address, port: 0, what: what, listening: nil)
    }

    /// Binds, listens when `backlog` is given, and returns the bound port.
    private static func bind(
        _ descriptor: Int32,
        address: in_addr,
        port: Int,
        what: String,
        listening backlog: Int32?
    ) throws(SocketError) -> Int {
        var socketAddress = makeSocketAddress(address, port: port)
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, backlog.map({ Glibc.listen(descriptor, $0) == 0 }) ?? true else {
            throw .system(.bind, "Cannot listen on \(what)", errno: errno)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else { throw .system(.bind, "Cannot read the port bound for \(what)", errno: errno) }
        return Int(UInt16(bigEndian: socketAddress.sin_port))
    }

    /// Whether a Unix socket at `path` accepts a connection now.
    public static func acceptsUnixConnection(_ path: String) -> Bool {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
        }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return connected == 0
    }

    /// Connects to an IPv4 address within `timeout` seconds; returns a close-on-exec descriptor.
    /// - Parameters:
    ///   - address: Where to connect.
    ///   - port: The port.
    ///   - timeout: Seconds connecting may take.
    ///   - source: The local address to connect from (`nil`: the kernel's choice).
    ///   - blocking: Whether the connected descriptor blocks (by default it does not).
    /// - Throws: ``SocketError`` (`.connect`, `.timedOut`, `.io`).
    public static func connect(
        to address: in_addr,
        port: Int,
        timeout: Double,
        from source: in_addr? = nil,
        blocking: Bool = false
    ) throws(SocketError) -> Int32 {
        let what = "\(text(address)):\(port)"
        let descriptor = try makeTCPSocket(what)
        if let source {
            var local = makeSocketAddress(source, port: 0)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            if bound != 0 {
                let code = errno
                close(descriptor)
                throw .system(.connect, "Cannot connect to \(what) from \(text(source))", errno: code)
            }
        }
        var socketAddress = makeSocketAddress(address, port: port)
        let outcome = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                finishConnect(
                    descriptor,
                    $0,
                    socklen_t(MemoryLayout<sockaddr_in>.size),
                    deadline: deadline(after: timeout),
                    isCancelled: { false }
                )
            }
        }
        switch outcome {
        case .connected:
            if blocking { _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK) }
            return descriptor
        case .failed(let code):
            close(descriptor)
            throw .system(.connect, "Cannot connect to \(what)", errno: code)
        case .timedOut, .cancelled:
            close(descriptor)
            throw SocketError(kind: .timedOut, message: "Timed out waiting for \(what).")
        }
    }

    /// Resolves `host` (IPv4 or IPv6) and connects to the first of its addresses that accepts before `deadline`;
    /// returns a non-blocking, close-on-exec descriptor. A deadline that passes (or a cancellation) ends the
    /// attempt at once; a refusal moves on to the next address.
    /// - Parameters:
    ///   - host: A name or an address.
    ///   - port: The port.
    ///   - deadline: When to give up (`nil`: never).
    ///   - numericService: Whether to pass `AI_NUMERICSERV` to `getaddrinfo`.
    ///   - isCancelled: Asked every 100 ms while waiting.
    /// - Throws: ``ConnectFailure``.
    public static func connect(
        host: String,
        port: Int,
        deadline: ContinuousClock.Instant?,
        numericService: Bool = false,
        isCancelled: () -> Bool = { false }
    ) throws(ConnectFailure) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        if numericService { hints.ai_flags = AI_NUMERICSERV } else { hints.ai_protocol = Int32(IPPROTO_TCP) }
        var results: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &results)
        guard resolved == 0, let first = results else { throw .unresolved(String(cString: gai_strerror(resolved))) }
        defer { freeaddrinfo(first) }
        var lastErrno = ECONNREFUSED
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            cursor = info.pointee.ai_next
            let type = info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
            let descriptor = socket(info.pointee.ai_family, type, 0)
            if descriptor < 0 {
                lastErrno = errno
                continue
            }
            let outcome = finishConnect(
                descriptor,
                info.pointee.ai_addr,
                info.pointee.ai_addrlen,
                deadline: deadline,
                isCancelled: isCancelled
            )
            switch outcome {
            case .connected: return descriptor
            case .failed(let code):
                lastErrno = code
                close(descriptor)
            case .timedOut:
                close(descriptor)
                throw .timedOut
            case .cancelled:
                close(descriptor)
                throw .cancelled
            }
        }
        throw .failed(errno: lastErrno)
    }

    private enum ConnectOutcome {
        case connected
        case failed(Int32)
        case timedOut
        case cancelled
    }

    /// `connect(2)` on a non-blocking descriptor, then waits for the answer until the deadline.
    private static func finishConnect(
        _ descriptor: Int32,
        _ address: UnsafePointer<sockaddr>,
        _ length: socklen_t,
        deadline: ContinuousClock.Instant?,
        isCancelled: () -> Bool
    ) -> ConnectOutcome {
        guard Glibc.connect(descriptor, address, length) != 0 else { return .connected }
        guard errno == EINPROGRESS else { return .failed(errno) }
        switch waitReady(descriptor, events: Int16(POLLOUT), deadline: deadline, isCancelled: isCancelled) {
        case .ready: break
        case .timedOut: return .timedOut
        case .cancelled: return .cancelled
        case .failed(let code): return .failed(code)
        }
        var socketError: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &socketError, &size)
        return socketError == 0 ? .connected : .failed(socketError)
    }

    /// How a wait for a descriptor ended.
    public enum WaitOutcome: Sendable, Equatable {
        case ready
        case timedOut
        case cancelled
        case failed(errno: Int32)
    }

    /// Waits until the descriptor is ready for `events`, the deadline passes (`nil`: never) or `isCancelled`
    /// says so (asked every 100 ms).
    public static func waitReady(
        _ descriptor: Int32,
        events: Int16,
        deadline: ContinuousClock.Instant?,
        isCancelled: () -> Bool = { false }
    ) -> WaitOutcome {
        while true {
            if isCancelled() { return .cancelled }
            var slice: Int32 = 100
            if let deadline {
                let remaining = deadline - .now
                guard remaining > .zero else { return .timedOut }
                slice = min(slice, Int32(clamping: Int64((remaining / .milliseconds(1)).rounded(.up))))
            }
            var entry = pollfd(fd: descriptor, events: events, revents: 0)
            let ready = poll(&entry, 1, max(1, slice))
            if ready > 0 { return .ready }
            if ready < 0 && errno != EINTR { return .failed(errno: errno) }
        }
    }

    /// A deadline `seconds` from now on the monotonic clock.
    public static func deadline(after seconds: Double) -> ContinuousClock.Instant {
        .now + .milliseconds(Int64(max(0, seconds) * 1000))
    }

    /// Waits until the descriptor is ready for `events` or the deadline passes.
    /// - Throws: ``SocketError`` (`.timedOut`, `.io`).
    public static func waitFor(
        _ descriptor: Int32,
        events: Int16,
        deadline: ContinuousClock.Instant,
        what: String
    ) throws(SocketError) {
        switch waitReady(descriptor, events: events, deadline: deadline) {
        case .ready: return
        case .timedOut, .cancelled: throw SocketError(kind: .timedOut, message: "Timed out waiting for \(what).")
        case .failed(let code): throw .system(.io, "poll failed for \(what)", errno: code)
        }
    }

    /// Reads what is available (at most `maximum` bytes), waiting until the deadline; an empty result
    /// means the peer closed the connection.
    /// - Throws: ``SocketError`` (`.timedOut`, `.closed`, `.io`).
    public static func read(
        _ descriptor: Int32,
        maximum: Int,
        deadline: ContinuousClock.Instant,
        what: String
    ) throws(SocketError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maximum)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, maximum, 0) }
            if count >= 0 {
                buffer.removeSubrange(count...)
                return buffer
            }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: try waitFor(descriptor, events: Int16(POLLIN), deadline: deadline, what: what)
            case ECONNRESET: throw SocketError(kind: .closed, message: "\(what) reset the connection.")
            default: throw .system(.io, "Cannot read from \(what)", errno: errno)
            }
        }
    }

    /// Writes every byte before the deadline.
    /// - Throws: ``SocketError`` (`.timedOut`, `.closed`, `.io`).
    public static func write(
        _ descriptor: Int32,
        _ bytes: UnsafeRawBufferPointer,
        deadline: ContinuousClock.Instant,
        what: String
    ) throws(SocketError) {
        var offset = 0
        while offset < bytes.count {
            let count = send(
                descriptor,
                bytes.baseAddress.map { $0 + offset },
                bytes.count - offset,
                Int32(MSG_NOSIGNAL)
            )
            if count >= 0 {
                offset += count
                continue
            }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: try waitFor(descriptor, events: Int16(POLLOUT), deadline: deadline, what: what)
            case EPIPE, ECONNRESET: throw SocketError(kind: .closed, message: "\(what) closed the connection.")
            default: throw .system(.io, "Cannot write to \(what)", errno: errno)
            }
        }
    }

    /// Writes every byte before the deadline.
    /// - Throws: ``SocketError`` (`.timedOut`, `.closed`, `.io`).
    public static func write(
        _ descriptor: Int32,
        _ bytes: [UInt8],
        deadline: ContinuousClock.Instant,
        what: String
    ) throws(SocketError) {
        let result = bytes.withUnsafeBytes { buffer -> Result<Void, SocketError> in
            do throws(SocketError) {
                try write(descriptor, buffer, deadline: deadline, what: what)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }
}
