import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A failed socket operation: one sentence naming the address and what the system said.
struct SocketError: Error, Sendable, CustomStringConvertible {
    enum Kind: Sendable, Equatable {
        case address
        case bind
        case connect
        case timedOut
        case closed
        case io
    }

    var kind: Kind
    var message: String

    var description: String { message }

    static func system(_ kind: Kind, _ what: String, errno code: Int32) -> SocketError {
        SocketError(kind: kind, message: "\(what): \(String(cString: strerror(code))) (errno \(code)).")
    }
}

/// Thin wrappers over POSIX TCP sockets (IPv4): listening, connecting with a deadline, and reading and
/// writing non-blocking descriptors with `poll(2)` and a deadline. Every write uses `MSG_NOSIGNAL`, so a
/// peer that went away is an error, never a `SIGPIPE`.
enum POSIXSocket {
    /// The IPv4 address for a host: `localhost` is 127.0.0.1; `+`, `*` and an empty host mean every
    /// address (as in an HTTP.sys listen prefix); anything else is a dotted quad or resolved (IPv4 only).
    static func ipv4Address(_ host: String) throws(SocketError) -> in_addr {
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
        if inet_pton(AF_INET, host, &address) == 1 { return address }
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

    /// Whether an IPv4 address is in 127.0.0.0/8.
    static func isLoopback(_ address: in_addr) -> Bool {
        (UInt32(bigEndian: address.s_addr) >> 24) == 127
    }

    /// Dotted-quad text of an address.
    static func text(_ address: in_addr) -> String {
        let value = UInt32(bigEndian: address.s_addr)
        return "\(value >> 24).\((value >> 16) & 0xff).\((value >> 8) & 0xff).\(value & 0xff)"
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
    static func configure(_ descriptor: Int32) {
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
    }

    /// A non-blocking, close-on-exec TCP socket.
    static func makeTCPSocket(_ what: String) throws(SocketError) -> Int32 {
        let descriptor = socket(
            AF_INET,
            Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
            0
        )
        guard descriptor >= 0 else { throw .system(.io, "Cannot create a socket for \(what)", errno: errno) }
        return descriptor
    }

    /// Binds and listens; returns the descriptor and the bound port (the kernel's choice for port 0).
    static func listen(
        host: String,
        port: Int,
        backlog: Int32 = 128
    ) throws(SocketError) -> (descriptor: Int32, port: Int) {
        let address = try ipv4Address(host)
        let what = "\(text(address)):\(port)"
        let descriptor = try makeTCPSocket(what)
        var yes: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var socketAddress = makeSocketAddress(address, port: port)
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, Glibc.listen(descriptor, backlog) == 0 else {
            let code = errno
            close(descriptor)
            throw .system(.bind, "Cannot listen on \(what)", errno: code)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else {
            let code = errno
            close(descriptor)
            throw .system(.bind, "Cannot read the port bound for \(what)", errno: code)
        }
        return (descriptor, Int(UInt16(bigEndian: socketAddress.sin_port)))
    }

    /// Connects to an IPv4 address within `timeout` seconds; returns a non-blocking descriptor.
    /// - Parameter source: The local address to connect from (`nil`: the kernel's choice).
    static func connect(
        to address: in_addr,
        port: Int,
        timeout: Double,
        from source: in_addr? = nil
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
        let status = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if status != 0 {
            guard errno == EINPROGRESS else {
                let code = errno
                close(descriptor)
                throw .system(.connect, "Cannot connect to \(what)", errno: code)
            }
            do {
                try waitFor(descriptor, events: Int16(POLLOUT), deadline: deadline(after: timeout), what: what)
            } catch {
                close(descriptor)
                throw error
            }
            var socketError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &socketError, &length)
            guard socketError == 0 else {
                close(descriptor)
                throw .system(.connect, "Cannot connect to \(what)", errno: socketError)
            }
        }
        return descriptor
    }

    /// A deadline `seconds` from now on the monotonic clock.
    static func deadline(after seconds: Double) -> ContinuousClock.Instant {
        .now + .milliseconds(Int64(max(0, seconds) * 1000))
    }

    /// Waits until the descriptor is ready for `events` or the deadline passes.
    static func waitFor(
        _ descriptor: Int32,
        events: Int16,
        deadline: ContinuousClock.Instant,
        what: String
    ) throws(SocketError) {
        while true {
            let remaining = deadline - .now
            guard remaining > .zero else {
                throw SocketError(kind: .timedOut, message: "Timed out waiting for \(what).")
            }
            let milliseconds = Int32(clamping: Int64((remaining / .milliseconds(1)).rounded(.up)))
            var entry = pollfd(fd: descriptor, events: events, revents: 0)
            let ready = poll(&entry, 1, min(milliseconds, 1000))
            if ready < 0 {
                if errno == EINTR { continue }
                throw .system(.io, "poll failed for \(what)", errno: errno)
            }
            if ready > 0 { return }
        }
    }

    /// Reads what is available (at most `maximum` bytes), waiting until the deadline; an empty result
    /// means the peer closed the connection.
    static func read(
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
    static func write(
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
    static func write(
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
