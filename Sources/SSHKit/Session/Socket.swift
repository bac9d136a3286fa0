import Foundation
import Wire

#if canImport(Glibc)
    import Glibc
#endif

/// A connected TCP socket for one SSH session, plus a wake-up pipe so that a blocked `poll` can be
/// interrupted from another thread (cancellation).
///
/// `@unchecked Sendable`: the descriptors never change after init; only the session thread reads and
/// polls them, and `wake()` (any thread) only writes one byte to the pipe.
final class SessionSocket: @unchecked Sendable {
    let fd: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32

    private init(fd: Int32, wakeRead: Int32, wakeWrite: Int32) {
        self.fd = fd
        self.wakeRead = wakeRead
        self.wakeWrite = wakeWrite
    }

    deinit {
        close(fd)
        close(wakeRead)
        close(wakeWrite)
    }

    /// Resolves `host` and connects to `port` with a deadline, trying each address in turn.
    static func connect(
        host: String,
        port: Int,
        deadline: Deadline,
        hostLabel: String
    ) throws(SSHError) -> SessionSocket {
        let fd: Int32
        do {
            fd = try POSIXSocket.connect(host: host, port: port, deadline: deadline.instant)
        } catch {
            switch error {
            case .unresolved(let reason):
                throw SSHError(
                    .connectionFailed,
                    "Cannot resolve \(hostLabel): \(reason); check the address in the inventory.",
                    host: "\(host):\(port)"
                )
            case .timedOut, .cancelled:
                throw SSHError(
                    .timedOut,
                    "Connecting to \(hostLabel) timed out after \(deadline.budgetDescription); "
                        + "check that the VM is up and that port \(port) is reachable.",
                    host: "\(host):\(port)"
                )
            case .failed(let lastErrno):
                let reason = String(cString: strerror(lastErrno))
                throw SSHError(
                    .connectionFailed,
                    "Cannot connect to \(hostLabel): \(reason); check that sshd runs there and port \(port) is open.",
                    host: "\(host):\(port)",
                    errno: lastErrno
                )
            }
        }
        POSIXSocket.setNoDelay(fd)
        POSIXSocket.enable(fd, level: SOL_SOCKET, option: SO_KEEPALIVE)
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else {
            let saved = errno
            close(fd)
            throw SSHError(.localIOFailed, "Cannot create a wake-up pipe: \(String(cString: strerror(saved))).")
        }
        for end in pipeFDs {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        return SessionSocket(fd: fd, wakeRead: pipeFDs[0], wakeWrite: pipeFDs[1])
    }

    /// Milliseconds since the kernel last received data on this connection (`TCP_INFO`
    /// `tcpi_last_data_recv`), whoever read it; nil where the kernel does not say.
    ///
    /// libssh2 reads the socket inside many calls, so a keepalive reply often arrives and is consumed
    /// without any `poll` of ours seeing it: only the kernel knows reliably when the peer last spoke.
    func millisecondsSinceLastReceive() -> UInt32? {
        var info = tcp_info()
        var length = socklen_t(MemoryLayout<tcp_info>.size)
        guard getsockopt(fd, Int32(IPPROTO_TCP), TCP_INFO, &info, &length) == 0 else { return nil }
        return info.tcpi_last_data_recv
    }

    /// Interrupts a `wait` in progress on the session thread. Safe from any thread.
    func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    enum WaitOutcome {
        case ready
        case woken
        case timedOut
    }

    /// Polls the SSH socket, the wake pipe and `extra` descriptors together (port forwarding).
    /// Returns false when woken through the pipe.
    func wait(readable: Bool, writable: Bool, extra: inout [pollfd], timeoutMilliseconds: Int32) -> Bool {
        var events: Int16 = 0
        if readable { events |= Int16(POLLIN) }
        if writable { events |= Int16(POLLOUT) }
        var fds = [pollfd(fd: fd, events: events, revents: 0), pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        fds.append(contentsOf: extra)
        _ = pollRetrying(&fds, count: fds.count, timeoutMilliseconds: timeoutMilliseconds)
        for index in extra.indices { extra[index].revents = fds[index + 2].revents }
        if fds[1].revents != 0 {
            var drain = [UInt8](repeating: 0, count: 64)
            while read(wakeRead, &drain, drain.count) > 0 {}
            return false
        }
        return true
    }

    /// Waits until the socket is ready in the given directions, the wake pipe fires, or the timeout ends.
    func wait(readable: Bool, writable: Bool, timeoutMilliseconds: Int32) -> WaitOutcome {
        var events: Int16 = 0
        if readable { events |= Int16(POLLIN) }
        if writable { events |= Int16(POLLOUT) }
        var fds = [
            pollfd(fd: fd, events: events, revents: 0),
            pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
        ]
        let rc = pollRetrying(&fds, count: 2, timeoutMilliseconds: timeoutMilliseconds)
        if rc <= 0 { return .timedOut }
        if fds[1].revents != 0 {
            var drain = [UInt8](repeating: 0, count: 64)
            while read(wakeRead, &drain, drain.count) > 0 {}
            return .woken
        }
        return .ready
    }
}

/// `poll(2)` that retries on EINTR with the remaining time.
func pollRetrying(_ fds: UnsafeMutablePointer<pollfd>, count: Int, timeoutMilliseconds: Int32) -> Int32 {
    let clock = ContinuousClock()
    let start = clock.now
    while true {
        var timeout = timeoutMilliseconds
        if timeoutMilliseconds >= 0 {
            let elapsed = start.duration(to: clock.now)
            let elapsedMS = Int32(
                clamping: elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
            )
            timeout = max(0, timeoutMilliseconds - elapsedMS)
        }
        let rc = poll(fds, nfds_t(count), timeout)
        if rc < 0 && errno == EINTR { continue }
        return rc
    }
}

/// A point in time an operation must finish by, or none.
struct Deadline: Sendable {
    let instant: ContinuousClock.Instant?
    let budget: Duration?

    static let none = Deadline(instant: nil, budget: nil)

    static func after(_ duration: Duration?) -> Deadline {
        guard let duration else { return .none }
        return Deadline(instant: ContinuousClock.now.advanced(by: duration), budget: duration)
    }

    var hasPassed: Bool {
        guard let instant else { return false }
        return ContinuousClock.now >= instant
    }

    /// Milliseconds left (at least 0), or -1 for "no deadline" as `poll` expects.
    func remainingMilliseconds() -> Int32 {
        guard let instant else { return -1 }
        let left = ContinuousClock.now.duration(to: instant)
        if left <= .zero { return 0 }
        return Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
    }

    var budgetDescription: String {
        guard let budget else { return "no limit" }
        return formatSeconds(budget)
    }
}

/// "10 s", "1.5 s", "250 ms".
func formatSeconds(_ duration: Duration) -> String {
    let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    if seconds < 1 { return "\(Int(seconds * 1000)) ms" }
    if seconds == seconds.rounded() { return "\(Int(seconds)) s" }
    return String(format: "%.1f s", seconds)
}
