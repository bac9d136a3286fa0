import CLibSSH2

extension SSHSession {
    /// Runs `command` on the host and waits for it to end.
    ///
    /// Standard output and standard error are read together as they arrive (so output of any size on
    /// either stream never deadlocks), standard input is fed from ``ExecOptions/stdin``, and the exit
    /// status or signal is returned. Uses `libssh2_channel_open_ex`, `libssh2_channel_process_startup`,
    /// `libssh2_channel_read_ex`, `libssh2_channel_write_ex` and `libssh2_channel_get_exit_status`.
    ///
    /// - Returns: the result, whatever the exit status.
    /// - Throws: `SSHError` `.channelFailed`, `.timedOut`, `.cancelled` or `.disconnected`.
    public func run(_ command: String, options: ExecOptions = ExecOptions()) async throws -> CommandResult {
        try await perform { session in try session.execute(command, options: options) }
    }

    /// ``run(_:options:)`` for code already on the session thread.
    func execute(_ command: String, options: ExecOptions) throws(SSHError) -> CommandResult {
        guard let raw else { throw SSHError(.disconnected, "The connection to \(configuration.hostLabel) is closed.") }
        reapOrphanedChannels()
        do {
            return try runCommand(raw, command, options: options)
        } catch let error where error.code == .timedOut {
            let limit = options.timeout.map(formatSeconds) ?? "its time limit"
            throw SSHError(
                .timedOut,
                "A command on \(configuration.hostLabel) ran past its \(limit) limit and was abandoned; it may still be "
                    + "running there.",
                host: error.host
            )
        }
    }

    private func runCommand(
        _ raw: OpaquePointer,
        _ command: String,
        options: ExecOptions
    ) throws(SSHError) -> CommandResult {
        let clock = ContinuousClock()
        let started = clock.now
        let deadline = Deadline.after(options.timeout)
        let channel = try openSessionChannel(raw, deadline: deadline)
        var closed = false
        defer {
            if !closed { abandon(channel) }
        }
        let startup = try call(deadline: deadline, operation: "command start") {
            libssh2_channel_process_startup(channel, "exec", 4, command, UInt32(command.utf8.count))
        }
        guard startup == 0 else {
            throw error(
                .channelFailed,
                during: "starting a command",
                function: "libssh2_channel_process_startup",
                rc: startup
            )
        }

        var result = CommandResult(
            exitStatus: nil,
            exitSignal: nil,
            stdout: [],
            stderr: [],
            stdoutByteCount: 0,
            stderrByteCount: 0,
            duration: .zero
        )
        let stdin = options.stdin ?? []
        var stdinOffset = 0
        var eofSent = false
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var stdoutDone = false
        var stderrDone = false

        while !(stdoutDone && stderrDone) {
            var progressed = false
            if !eofSent {
                if stdinOffset < stdin.count {
                    let written = stdin.withUnsafeBytes { bytes in
                        libssh2_channel_write_ex(
                            channel,
                            0,
                            bytes.baseAddress?.advanced(by: stdinOffset).assumingMemoryBound(to: CChar.self),
                            stdin.count - stdinOffset
                        )
                    }
                    if written > 0 {
                        stdinOffset += written
                        progressed = true
                    } else if written < 0 && written != Int(LIBSSH2_ERROR_EAGAIN) {
                        // The command may have exited without reading its input: that is its business.
                        stdinOffset = stdin.count
                    }
                }
                if stdinOffset >= stdin.count {
                    let rc = libssh2_channel_send_eof(channel)
                    if rc != LIBSSH2_ERROR_EAGAIN {
                        eofSent = true
                        progressed = true
                    }
                }
            }
            for (streamID, stream) in [(Int32(0), OutputStream.stdout), (Int32(SSH_EXTENDED_DATA_STDERR), .stderr)] {
                if stream == .stdout ? stdoutDone : stderrDone { continue }
                let count = buffer.withUnsafeMutableBytes { bytes in
                    libssh2_channel_read_ex(
                        channel,
                        streamID,
                        bytes.baseAddress?.assumingMemoryBound(to: CChar.self),
                        bytes.count
                    )
                }
                if count > 0 {
                    let chunk = Array(buffer[0..<count])
                    if stream == .stdout {
                        result.stdoutByteCount += count
                        if options.collectOutput { result.stdout.append(contentsOf: chunk) }
                    } else {
                        result.stderrByteCount += count
                        if options.collectOutput { result.stderr.append(contentsOf: chunk) }
                    }
                    options.onOutput?(stream, chunk)
                    progressed = true
                } else if count == 0 {
                    // 0 means no data right now; end of stream only once the channel saw EOF.
                    if libssh2_channel_eof(channel) == 1 {
                        if stream == .stdout { stdoutDone = true } else { stderrDone = true }
                    }
                } else if count != Int(LIBSSH2_ERROR_EAGAIN) {
                    throw error(
                        .channelFailed,
                        during: "reading command output",
                        function: "libssh2_channel_read_ex",
                        rc: Int32(count)
                    )
                }
            }
            if !progressed && !(stdoutDone && stderrDone) {
                if libssh2_channel_eof(channel) == 1 { continue }
                try waitForSocket(deadline: deadline, operation: "command")
            }
        }

        _ = try call(deadline: deadline, operation: "command end") { libssh2_channel_close(channel) }
        _ = try call(deadline: deadline, operation: "command end") { libssh2_channel_wait_closed(channel) }
        result.exitStatus = libssh2_channel_get_exit_status(channel)
        var signalName: UnsafeMutablePointer<CChar>?
        var signalLength = 0
        if libssh2_channel_get_exit_signal(channel, &signalName, &signalLength, nil, nil, nil, nil) == 0,
            let signalName
        {
            if signalLength > 0 {
                result.exitSignal = String(cString: signalName)
                result.exitStatus = nil
            }
            libssh2_free(raw, signalName)
        }
        closed = true
        freeChannel(channel)
        result.duration = started.duration(to: clock.now)
        return result
    }

    /// Opens a "session" channel. Uses `libssh2_channel_open_ex`.
    func openSessionChannel(_ raw: OpaquePointer, deadline: Deadline) throws(SSHError) -> OpaquePointer {
        let type = "session"
        let channel = try callHandle(deadline: deadline, operation: "channel open") {
            libssh2_channel_open_ex(
                raw,
                type,
                UInt32(type.utf8.count),
                2 * 1024 * 1024,  // LIBSSH2_CHANNEL_WINDOW_DEFAULT, a macro Swift cannot import
                32_768,  // LIBSSH2_CHANNEL_PACKET_DEFAULT
                nil,
                0
            )
        }
        guard let channel else {
            let rc = libssh2_session_last_errno(raw)
            throw error(.channelFailed, during: "opening a channel", function: "libssh2_channel_open_ex", rc: rc)
        }
        return channel
    }

    /// Frees a channel, waiting briefly if libssh2 asks to be called again.
    func freeChannel(_ channel: OpaquePointer) {
        let deadline = Deadline.after(.seconds(2))
        while libssh2_channel_free(channel) == LIBSSH2_ERROR_EAGAIN {
            if (try? waitForSocket(deadline: deadline, operation: "channel close")) == nil { break }
        }
    }

    /// Gives up on a channel after a failure, timeout or cancellation without waiting for the peer.
    ///
    /// sshd confirms a channel close only once the command has exited, which a timed-out command may
    /// never do, so the close is sent now and the channel is freed later (``reapOrphanedChannels()``,
    /// or when the session is freed).
    func abandon(_ channel: OpaquePointer) {
        _ = libssh2_channel_close(channel)
        orphanedChannels.append(channel)
    }

    /// Frees abandoned channels whose close the server has since confirmed. Never waits.
    func reapOrphanedChannels() {
        orphanedChannels.removeAll { channel in
            libssh2_channel_free(channel) != LIBSSH2_ERROR_EAGAIN
        }
    }
}
