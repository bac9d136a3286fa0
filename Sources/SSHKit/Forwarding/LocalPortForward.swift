import CLibSSH2
import Foundation
import Logging
import Wire

#if canImport(Glibc)
    import Glibc
#endif

/// A loopback port on this machine that reaches a TCP port on (or seen from) the remote host, through
/// SSH `direct-tcpip` channels, like `ssh -L`.
///
/// The forward owns a dedicated ``SSHSession``: its thread runs one poll loop over the listening
/// socket, every forwarded connection and the SSH socket, so any number of concurrent connections share
/// one SSH connection without blocking each other. Channels are opened one at a time, as libssh2
/// requires, and a connection whose channel cannot be opened is closed at once.
public final class LocalPortForward: Sendable {
    /// The loopback address clients connect to.
    public let localAddress: String
    /// The local port (chosen by the system when 0 was asked for).
    public let localPort: Int
    public let remoteHost: String
    public let remotePort: Int
    private let session: SSHSession
    private let loop: Task<Void, any Error>

    private init(
        session: SSHSession,
        listener: Int32,
        localAddress: String,
        localPort: Int,
        remoteHost: String,
        remotePort: Int
    ) {
        self.session = session
        self.localAddress = localAddress
        self.localPort = localPort
        self.remoteHost = remoteHost
        self.remotePort = remotePort
        let forwarder = Forwarder(listener: listener, remoteHost: remoteHost, remotePort: remotePort)
        loop = Task {
            try await session.perform { session in try forwarder.run(session) }
        }
    }

    /// Connects with `configuration` and starts forwarding `localAddress:localPort` to
    /// `remoteHost:remotePort` as seen from the SSH server.
    ///
    /// - Throws: the errors of ``SSHSession/connect(_:)``, or `.forwardingFailed` when the local port
    ///   cannot be bound.
    public static func start(
        _ configuration: SSHClientConfiguration,
        remoteHost: String = "127.0.0.1",
        remotePort: Int,
        localAddress: String = "127.0.0.1",
        localPort: Int = 0
    ) async throws -> LocalPortForward {
        let listener = try bindListener(address: localAddress, port: localPort)
        let session: SSHSession
        do {
            session = try await SSHSession.connect(configuration)
        } catch {
            close(listener.fd)
            throw error
        }
        return LocalPortForward(
            session: session,
            listener: listener.fd,
            localAddress: localAddress,
            localPort: listener.port,
            remoteHost: remoteHost,
            remotePort: remotePort
        )
    }

    /// Starts a forward, runs `body` with it, and stops it on every path.
    public static func withForward<T: Sendable>(
        _ configuration: SSHClientConfiguration,
        remoteHost: String = "127.0.0.1",
        remotePort: Int,
        _ body: (LocalPortForward) async throws -> T
    ) async throws -> T {
        let forward = try await start(configuration, remoteHost: remoteHost, remotePort: remotePort)
        do {
            let result = try await body(forward)
            await forward.stop()
            return result
        } catch {
            await forward.stop()
            throw error
        }
    }

    /// Closes the listener and every forwarded connection, then the SSH connection.
    public func stop() async {
        loop.cancel()
        _ = try? await loop.value
        await session.close()
    }

    private static func bindListener(address: String, port: Int) throws(SSHError) -> (fd: Int32, port: Int) {
        guard let ipv4 = POSIXSocket.dottedQuad(address) else {
            throw SSHError(
                .forwardingFailed,
                "Cannot forward from \(address): only IPv4 loopback addresses are supported."
            )
        }
        do {
            let listener = try POSIXSocket.listen(address: ipv4, port: port, backlog: 64)
            return (listener.descriptor, listener.port)
        } catch  where error.kind == .io {
            throw SSHError(.forwardingFailed, "Cannot create a listening socket: \(error.reason).")
        } catch {
            throw SSHError(
                .forwardingFailed,
                "Cannot listen on \(address):\(port) for a port forward: \(error.reason)."
            )
        }
    }
}

/// The forwarding loop's state; used only on the forward session's thread.
private final class Forwarder: @unchecked Sendable {
    private final class Connection {
        let fd: Int32
        let peerPort: Int
        var channel: OpaquePointer?
        var toRemote: [UInt8] = []
        var toLocal: [UInt8] = []
        var localEOF = false
        var remoteEOF = false
        var eofSent = false
        var localShutDown = false
        var finished = false

        init(fd: Int32, peerPort: Int) {
            self.fd = fd
            self.peerPort = peerPort
        }
    }

    private let listener: Int32
    private let remoteHost: String
    private let remotePort: Int
    private var connections: [Connection] = []
    private var buffer = [UInt8](repeating: 0, count: 256 * 1024)

    init(listener: Int32, remoteHost: String, remotePort: Int) {
        self.listener = listener
        self.remoteHost = remoteHost
        self.remotePort = remotePort
    }

    func run(_ session: SSHSession) throws {
        defer {
            for connection in connections { finish(connection, session) }
            close(listener)
        }
        guard let raw = session.raw, let socket = session.socket else { return }
        while true {
            var progressed = acceptConnections()
            progressed = try openPendingChannel(raw, session) || progressed
            for connection in connections where connection.channel != nil && !connection.finished {
                progressed = pump(connection, session) || progressed
            }
            for connection in connections where connection.finished { finish(connection, session) }
            connections.removeAll { $0.finished }
            session.reapOrphanedChannels()
            if progressed { continue }

            var extra = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            for connection in connections {
                var events: Int16 = 0
                if connection.channel != nil && !connection.localEOF && connection.toRemote.isEmpty {
                    events |= Int16(POLLIN)
                }
                if !connection.toLocal.isEmpty { events |= Int16(POLLOUT) }
                extra.append(pollfd(fd: connection.fd, events: events, revents: 0))
            }
            let directions = libssh2_session_block_directions(raw)
            let outbound = directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0
            if !socket.wait(readable: true, writable: outbound, extra: &extra, timeoutMilliseconds: 1000) {
                try session.checkCancelled(during: "port forwarding")
            }
            var seconds: Int32 = 0
            _ = libssh2_keepalive_send(raw, &seconds)
        }
    }

    private func acceptConnections() -> Bool {
        var accepted = false
        while true {
            var address = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let fd = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    accept(listener, $0, &length)
                }
            }
            guard fd >= 0 else { return accepted }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            connections.append(Connection(fd: fd, peerPort: Int(UInt16(bigEndian: address.sin_port))))
            accepted = true
        }
    }

    /// Opens the channel of the oldest connection still without one (libssh2 opens one at a time).
    private func openPendingChannel(_ raw: OpaquePointer, _ session: SSHSession) throws -> Bool {
        guard let connection = connections.first(where: { $0.channel == nil && !$0.finished }) else { return false }
        let channel = libssh2_channel_direct_tcpip_ex(
            raw,
            remoteHost,
            Int32(remotePort),
            "127.0.0.1",
            Int32(connection.peerPort)
        )
        if let channel {
            connection.channel = channel
            return true
        }
        let rc = libssh2_session_last_errno(raw)
        if rc == LIBSSH2_ERROR_EAGAIN { return false }
        if SSHSession.isTransportFailure(rc) {
            throw session.error(
                .forwardingFailed,
                during: "port forwarding",
                function: "libssh2_channel_direct_tcpip_ex",
                rc: rc
            )
        }
        session.logger.info(
            "Port forward refused by the server",
            metadata: [
                "ssh.host": "\(session.configuration.hostLabel)", "forward.target": "\(remoteHost):\(remotePort)",
            ]
        )
        connection.finished = true
        return true
    }

    /// Moves bytes both ways for one connection; returns whether anything moved.
    private func pump(_ connection: Connection, _ session: SSHSession) -> Bool {
        guard let channel = connection.channel else { return false }
        var progressed = false
        // Local → remote.
        if connection.toRemote.isEmpty && !connection.localEOF {
            let n = read(connection.fd, &buffer, buffer.count)
            if n > 0 {
                connection.toRemote = Array(buffer[0..<n])
                progressed = true
            } else if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                connection.localEOF = true
                progressed = true
            }
        }
        if !connection.toRemote.isEmpty {
            let written = connection.toRemote.withUnsafeBytes {
                libssh2_channel_write_ex(channel, 0, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count)
            }
            if written > 0 {
                connection.toRemote.removeFirst(written)
                progressed = true
            } else if written < 0 && written != Int(LIBSSH2_ERROR_EAGAIN) {
                connection.finished = true
                return true
            }
        }
        if connection.localEOF && connection.toRemote.isEmpty && !connection.eofSent {
            if libssh2_channel_send_eof(channel) != LIBSSH2_ERROR_EAGAIN {
                connection.eofSent = true
                progressed = true
            }
        }
        // Remote → local.
        if connection.toLocal.isEmpty && !connection.remoteEOF {
            let n = buffer.withUnsafeMutableBytes {
                libssh2_channel_read_ex(channel, 0, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count)
            }
            if n > 0 {
                connection.toLocal = Array(buffer[0..<n])
                progressed = true
            } else if (n == 0 && libssh2_channel_eof(channel) == 1) || (n < 0 && n != Int(LIBSSH2_ERROR_EAGAIN)) {
                connection.remoteEOF = true
                progressed = true
            }
        }
        if !connection.toLocal.isEmpty {
            let n = connection.toLocal.withUnsafeBytes { write(connection.fd, $0.baseAddress, $0.count) }
            if n > 0 {
                connection.toLocal.removeFirst(n)
                progressed = true
            } else if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                connection.finished = true
                return true
            }
        }
        if connection.remoteEOF && connection.toLocal.isEmpty && !connection.localShutDown {
            shutdown(connection.fd, Int32(SHUT_WR))
            connection.localShutDown = true
            progressed = true
        }
        if connection.remoteEOF && connection.localEOF && connection.toLocal.isEmpty && connection.toRemote.isEmpty {
            connection.finished = true
            progressed = true
        }
        return progressed
    }

    private func finish(_ connection: Connection, _ session: SSHSession) {
        if let channel = connection.channel {
            session.abandon(channel)
            connection.channel = nil
        }
        if connection.fd >= 0 { close(connection.fd) }
        connection.finished = true
    }
}
