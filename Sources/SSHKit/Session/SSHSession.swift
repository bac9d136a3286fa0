import CLibSSH2
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One SSH connection to one host, over libssh2.
///
/// Open it with ``withConnection(_:_:)`` (preferred: the connection is closed on every path, thrown
/// errors and cancellation included) or ``connect(_:)`` plus ``close()``. Commands run with
/// ``run(_:options:)``, files move with ``withSFTP(_:)``.
///
/// ## Threads
/// libssh2 allows one thread at a time per session and blocks on the network, so every libssh2 call
/// for this session runs on the session's own ``SessionThread``, never on Swift's cooperative pool.
/// The session is `@unchecked Sendable` because all mutable libssh2 state (`raw`, `socket`,
/// keepalive bookkeeping) is only touched from that thread; the public async methods hop onto it.
/// The session runs libssh2 in non-blocking mode and waits with `poll(2)` on the socket and a wake-up
/// pipe, so a command's stdout and stderr are drained together (no deadlock whatever the output
/// size), deadlines are exact, and cancellation interrupts a wait at once.
public final class SSHSession: @unchecked Sendable {
    public let configuration: SSHClientConfiguration
    let thread: SessionThread
    let interrupts = InterruptRegistry()

    // Touched only on `thread`.
    var raw: OpaquePointer?
    var socket: SessionSocket?
    private var nextKeepalive: ContinuousClock.Instant?
    private var lastActivity = ContinuousClock.now
    /// The id of the operation running on the thread now, for cancellation.
    private var currentOperation: UInt64 = 0
    private var isClosed = false
    /// Channels given up on (timeouts, cancellation) that the server has not yet confirmed closed.
    var orphanedChannels: [OpaquePointer] = []

    /// The server's identification string, e.g. "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6".
    public private(set) var serverBanner: String = ""
    /// The host key the server presented (already validated).
    public private(set) var hostKey: HostKey?

    var logger: Logger { configuration.logger }

    private init(configuration: SSHClientConfiguration) {
        self.configuration = configuration
        self.thread = SessionThread(name: "ssh \(configuration.host):\(configuration.port)")
        _ = LibSSH2.initialised
    }

    deinit {
        // Last resort only: `close()` normally ran already. Nobody else can hold the session here, so
        // touching libssh2 from this thread is safe.
        if let raw {
            libssh2_session_set_blocking(raw, 1)
            libssh2_session_free(raw)
        }
        thread.shutdown()
    }

    // MARK: - Opening and closing

    /// Connects, verifies the host key, and authenticates.
    ///
    /// - Throws: `SSHError` with code `.connectionFailed`, `.timedOut`, `.handshakeFailed`,
    ///   `.unknownHostKey`, `.changedHostKey`, `.revokedHostKey`, `.authenticationFailed`,
    ///   `.rsaSHA1Refused`, `.credentialUnreadable` or `.cancelled`.
    public static func connect(_ configuration: SSHClientConfiguration) async throws -> SSHSession {
        let session = SSHSession(configuration: configuration)
        do {
            try await session.perform { session in try session.establish() }
        } catch {
            await session.close()
            throw error
        }
        return session
    }

    /// Connects, runs `body` with the session, and disconnects on every path.
    public static func withConnection<T: Sendable>(
        _ configuration: SSHClientConfiguration,
        _ body: (SSHSession) async throws -> T
    ) async throws -> T {
        try await connect(configuration).closing(after: body)
    }

    /// Runs `body` with this connected session, then disconnects on every path.
    ///
    /// - Parameter body: What to do with the session.
    /// - Returns: What `body` returns.
    /// - Throws: Whatever `body` throws (after the session is closed).
    public func closing<T: Sendable>(after body: (SSHSession) async throws -> T) async throws -> T {
        do {
            let result = try await body(self)
            await close()
            return result
        } catch {
            await close()
            throw error
        }
    }

    /// Sends an orderly disconnect and frees the session. Idempotent; never throws.
    public func close() async {
        _ = try? await thread.run { [self] in self.teardown() }
        thread.shutdown()
    }

    private func teardown() {
        isClosed = true
        defer {
            interrupts.setWaker(nil)
            socket = nil
        }
        guard let raw else { return }
        let deadline = Deadline.after(.seconds(2))
        _ = try? call(deadline: deadline) {
            libssh2_session_disconnect_ex(raw, SSH_DISCONNECT_BY_APPLICATION, "closed by octoprov", "")
        }
        // In non-blocking mode free may ask to be called again; give it the same short budget.
        while libssh2_session_free(raw) == LIBSSH2_ERROR_EAGAIN {
            if (try? waitForSocket(deadline: deadline, operation: "disconnect")) == nil { break }
        }
        self.raw = nil
    }

    private func establish() throws(SSHError) {
        let config = configuration
        let deadline = Deadline.after(config.connectTimeout)
        let socket = try SessionSocket.connect(
            host: config.host,
            port: config.port,
            deadline: deadline,
            hostLabel: config.hostLabel
        )
        self.socket = socket
        interrupts.setWaker(socket)
        guard let raw = libssh2_session_init_ex(nil, nil, nil, nil) else {
            throw SSHError(.handshakeFailed, "libssh2 could not allocate a session for \(config.hostLabel).")
        }
        self.raw = raw
        libssh2_session_set_blocking(raw, 0)
        applyMethodPreferences(raw)

        let handshake = try call(deadline: deadline, operation: "handshake") {
            libssh2_session_handshake(raw, libssh2_socket_t(socket.fd))
        }
        guard handshake == 0 else {
            throw SSHError(
                .handshakeFailed,
                "The SSH handshake with \(config.hostLabel) failed (\(lastErrorText())); "
                    + "check that an SSH server answers on that port.",
                host: "\(config.host):\(config.port)",
                libssh2: failure("libssh2_session_handshake", handshake)
            )
        }
        if let banner = libssh2_session_banner_get(raw) {
            serverBanner = String(cString: banner)
        }
        try verifyHostKey(raw)
        if let interval = config.keepaliveInterval {
            libssh2_keepalive_config(raw, 1, UInt32(max(1, interval.components.seconds)))
            nextKeepalive = ContinuousClock.now.advanced(by: interval)
        }
        try authenticate(deadline: deadline)
        logger.debug(
            "connected",
            metadata: ["ssh.host": "\(config.host):\(config.port)", "ssh.server": "\(serverBanner)"]
        )
    }

    private func applyMethodPreferences(_ raw: OpaquePointer) {
        // Host keys we already know for this host go first, as OpenSSH does, so that a server with
        // several host keys presents the one in known_hosts.
        let known = configuration.hostKeyValidator.preferredAlgorithms(
            host: configuration.host,
            port: configuration.port
        )
        let defaults: [HostKey.Algorithm] = [.ed25519, .ecdsaP256, .ecdsaP384, .ecdsaP521, .rsa]
        var order: [String] = []
        for algorithm in known + defaults where !order.contains(algorithm.rawValue) {
            order.append(algorithm.rawValue)
        }
        _ = libssh2_session_method_pref(raw, LIBSSH2_METHOD_HOSTKEY, order.joined(separator: ","))
        // libssh2 1.10 has no chacha20-poly1305 or AES-GCM; AES-CTR with HMAC-SHA2-256 is the fastest
        // pair it offers on CPUs with AES-NI and SHA extensions.
        let ciphers = "aes128-ctr,aes256-ctr,aes192-ctr"
        let macs = "hmac-sha2-256,hmac-sha2-512,hmac-sha1"
        _ = libssh2_session_method_pref(raw, LIBSSH2_METHOD_CRYPT_CS, ciphers)
        _ = libssh2_session_method_pref(raw, LIBSSH2_METHOD_CRYPT_SC, ciphers)
        _ = libssh2_session_method_pref(raw, LIBSSH2_METHOD_MAC_CS, macs)
        _ = libssh2_session_method_pref(raw, LIBSSH2_METHOD_MAC_SC, macs)
    }

    private func verifyHostKey(_ raw: OpaquePointer) throws(SSHError) {
        var length = 0
        var type: Int32 = 0
        guard let pointer = libssh2_session_hostkey(raw, &length, &type), length > 0 else {
            throw SSHError(
                .handshakeFailed,
                "\(configuration.hostLabel) presented no host key.",
                host: "\(configuration.host):\(configuration.port)"
            )
        }
        let blob = pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
            Array(UnsafeBufferPointer(start: $0, count: length))
        }
        let key: HostKey
        do {
            key = try HostKey(blob: blob)
        } catch let error as SSHError {
            throw error
        } catch {
            throw SSHError(.protocolError, "\(configuration.hostLabel) presented an unreadable host key.")
        }
        do {
            try configuration.hostKeyValidator.validate(
                host: configuration.host,
                port: configuration.port,
                key: key,
                displayName: configuration.displayName
            )
        } catch let error as SSHError {
            throw error
        } catch {
            throw SSHError(.knownHostsUnreadable, "Host key check for \(configuration.hostLabel) failed: \(error).")
        }
        hostKey = key
    }

    // MARK: - Running work on the session thread

    /// Runs `body` on the session thread; cancelling the calling task interrupts any wait inside it.
    func perform<T: Sendable>(_ body: @escaping @Sendable (SSHSession) throws -> T) async throws -> T {
        let id = interrupts.register()
        return try await withTaskCancellationHandler {
            try await thread.run { [self] in
                defer { interrupts.finish(id) }
                self.currentOperation = id
                // Idleness is measured within an operation: a pause between operations is the caller's,
                // not a sign that the host stopped answering.
                self.lastActivity = ContinuousClock.now
                if interrupts.isCancelled(id) {
                    throw SSHError(.cancelled, "Cancelled before work on \(configuration.hostLabel) began.")
                }
                guard !isClosed else {
                    throw SSHError(.disconnected, "The connection to \(configuration.hostLabel) is closed.")
                }
                return try body(self)
            }
        } onCancel: {
            interrupts.cancel(id)
            interrupts.wake()
        }
    }

    /// Throws `.cancelled` when the running operation was cancelled. For loops that rarely wait.
    func checkCancelled(during what: String) throws(SSHError) {
        if interrupts.isCancelled(currentOperation) {
            throw SSHError(.cancelled, "Cancelled \(what) on \(configuration.hostLabel).")
        }
    }

    /// Calls a libssh2 function until it stops returning `LIBSSH2_ERROR_EAGAIN`, waiting on the socket
    /// in between. Returns the final return code.
    @discardableResult
    func call(deadline: Deadline, operation: StaticString = "ssh", _ body: () -> Int32) throws(SSHError) -> Int32 {
        while true {
            let rc = body()
            if rc != LIBSSH2_ERROR_EAGAIN { return rc }
            try waitForSocket(deadline: deadline, operation: operation)
        }
    }

    /// As ``call(deadline:operation:_:)`` for functions that return a handle, or NULL with the reason in
    /// `libssh2_session_last_errno`.
    func callHandle(
        deadline: Deadline,
        operation: StaticString = "ssh",
        _ body: () -> OpaquePointer?
    ) throws(SSHError) -> OpaquePointer? {
        while true {
            if let handle = body() { return handle }
            guard let raw, libssh2_session_last_errno(raw) == LIBSSH2_ERROR_EAGAIN else { return nil }
            try waitForSocket(deadline: deadline, operation: operation)
        }
    }

    /// Waits until libssh2's socket is ready in the direction it is blocked on, sending keepalives on
    /// schedule. Throws `.cancelled`, `.timedOut` (deadline), or `.disconnected` (idle past the limit).
    func waitForSocket(deadline: Deadline, operation: StaticString) throws(SSHError) {
        guard let raw, let socket else {
            throw SSHError(.disconnected, "The connection to \(configuration.hostLabel) is closed.")
        }
        let directions = libssh2_session_block_directions(raw)
        var readable = directions & LIBSSH2_SESSION_BLOCK_INBOUND != 0
        let writable = directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0
        if !readable && !writable { readable = true }

        let now = ContinuousClock.now
        var timeout = deadline.remainingMilliseconds()
        if let nextKeepalive {
            // Waking for each keepalive is also when idleness is checked (the interval is well below the
            // idle limit), so no separate idle wake-up is needed.
            timeout = minTimeout(timeout, millisecondsUntil(nextKeepalive, from: now))
        }
        switch socket.wait(readable: readable, writable: writable, timeoutMilliseconds: timeout) {
        case .ready:
            lastActivity = ContinuousClock.now
        case .woken:
            if interrupts.isCancelled(currentOperation) {
                throw SSHError(.cancelled, "Cancelled while \(operation) was under way on \(configuration.hostLabel).")
            }
        case .timedOut:
            if deadline.hasPassed {
                throw SSHError(
                    .timedOut,
                    "\(String(describing: operation).capitalizedFirst) on \(configuration.hostLabel) timed out after "
                        + "\(deadline.budgetDescription).",
                    host: "\(configuration.host):\(configuration.port)"
                )
            }
            let later = ContinuousClock.now
            if nextKeepalive != nil, quietTime(socket, now: later) >= configuration.idleTimeout {
                throw SSHError(
                    .disconnected,
                    "\(configuration.hostLabel) stopped answering during \(operation) "
                        + "(no reply for \(formatSeconds(configuration.idleTimeout))); the connection is considered lost.",
                    host: "\(configuration.host):\(configuration.port)"
                )
            }
            if let due = nextKeepalive, due <= later {
                var seconds: Int32 = 0
                _ = libssh2_keepalive_send(raw, &seconds)
                nextKeepalive = later.advanced(by: .seconds(Int64(max(1, seconds))))
            }
        }
    }

    /// How long the peer has been silent within the current operation: since the kernel last received
    /// data on the socket, or since the operation began if that is more recent (a pause between
    /// operations is the caller's, not the host's).
    private func quietTime(_ socket: SessionSocket, now: ContinuousClock.Instant) -> Duration {
        var quiet = lastActivity.duration(to: now)
        if let milliseconds = socket.millisecondsSinceLastReceive() {
            quiet = min(quiet, .milliseconds(Int64(milliseconds)))
        }
        return quiet
    }

    private func millisecondsUntil(_ instant: ContinuousClock.Instant, from now: ContinuousClock.Instant) -> Int32 {
        let left = now.duration(to: instant)
        if left <= .zero { return 0 }
        return Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
    }

    private func minTimeout(_ a: Int32, _ b: Int32) -> Int32 {
        if a < 0 { return b }
        if b < 0 { return a }
        return min(a, b)
    }

    // MARK: - Errors

    /// libssh2's last error text for this session.
    func lastErrorText() -> String {
        guard let raw else { return "no session" }
        var message: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        _ = libssh2_session_last_error(raw, &message, &length, 0)
        guard let message else { return "unknown error" }
        return String(cString: message)
    }

    /// The raw failure behind a libssh2 return code, with libssh2's text.
    func failure(_ operation: String, _ code: Int32) -> SSHError.LibSSH2Failure {
        SSHError.LibSSH2Failure(code: code, text: lastErrorText(), operation: operation)
    }

    /// Whether a libssh2 code means the transport itself is gone.
    static func isTransportFailure(_ code: Int32) -> Bool {
        code == LIBSSH2_ERROR_SOCKET_DISCONNECT || code == LIBSSH2_ERROR_SOCKET_RECV
            || code == LIBSSH2_ERROR_SOCKET_SEND || code == LIBSSH2_ERROR_SOCKET_TIMEOUT
    }

    /// An error for a failed libssh2 call during `what`, classifying lost connections.
    func error(_ code: SSHError.Code, during what: String, function: String, rc: Int32) -> SSHError {
        let detail = failure(function, rc)
        if Self.isTransportFailure(rc) {
            return SSHError(
                .disconnected,
                "The connection to \(configuration.hostLabel) was lost during \(what) (\(detail.text)).",
                host: "\(configuration.host):\(configuration.port)",
                libssh2: detail
            )
        }
        return SSHError(
            code,
            "\(what.capitalizedFirst) on \(configuration.hostLabel) failed: \(detail.text).",
            host: "\(configuration.host):\(configuration.port)",
            libssh2: detail
        )
    }
}

/// Tracks which queued or running operations were cancelled, and wakes the session's poll.
final class InterruptRegistry: Sendable {
    private struct State {
        var nextID: UInt64 = 1
        var cancelled: Set<UInt64> = []
        var waker: SessionSocket?
    }
    private let state = Mutex(State())

    func register() -> UInt64 {
        state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
    }

    func cancel(_ id: UInt64) {
        state.withLock { _ = $0.cancelled.insert(id) }
    }

    func isCancelled(_ id: UInt64) -> Bool {
        state.withLock { $0.cancelled.contains(id) }
    }

    func finish(_ id: UInt64) {
        state.withLock { _ = $0.cancelled.remove(id) }
    }

    /// Set by the session thread when the socket opens or closes.
    func setWaker(_ socket: SessionSocket?) {
        state.withLock { $0.waker = socket }
    }

    func wake() {
        let socket = state.withLock { $0.waker }
        socket?.wake()
    }
}

extension String {
    var capitalizedFirst: String {
        guard let first else { return self }
        return first.uppercased() + dropFirst()
    }
}
