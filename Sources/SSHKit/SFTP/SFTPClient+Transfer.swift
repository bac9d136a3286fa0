import CLibSSH2
import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension SFTPClient {
    /// Uploads one local file to `remotePath`, resumably and verified.
    ///
    /// The data goes to `remotePath.part` through a pipelined SFTP stream (a sliding window of
    /// ``TransferOptions/windowBytes`` kept full, so the link never idles waiting for acknowledgements).
    /// An interrupted upload resumes from the size of the existing `.part`. The SHA-256 of the local file
    /// is computed while reading and compared with the remote file's (``TransferOptions/checksum``);
    /// then mode and modification time are set and `.part` is renamed over `remotePath`. A resumed part
    /// whose checksum does not match (the source changed) is discarded and sent again once.
    ///
    /// - Throws: `SSHError` `.localIOFailed`, `.sftpFailed`, `.checksumMismatch`, `.disconnected`,
    ///   `.cancelled`.
    public func upload(from localPath: String, to remotePath: String, options: TransferOptions = TransferOptions())
        async throws -> TransferResult
    {
        try await session.perform { _ in try self.uploadFile(localPath, to: remotePath, options: options) }
    }

    /// Downloads one remote file to `localPath`, resumably and verified (the mirror of ``upload(from:to:options:)``).
    public func download(from remotePath: String, to localPath: String, options: TransferOptions = TransferOptions())
        async throws -> TransferResult
    {
        try await session.perform { _ in try self.downloadFile(remotePath, to: localPath, options: options) }
    }

    // MARK: - Upload

    func uploadFile(_ localPath: String, to remotePath: String, options: TransferOptions) throws(SSHError) -> TransferResult {
        let clock = ContinuousClock()
        let started = clock.now
        guard let local = try LocalFile.info(localPath, followLinks: true) else {
            throw SSHError(.localIOFailed, "Cannot upload \(localPath): no such file.")
        }
        guard local.isRegularFile else {
            throw SSHError(.localIOFailed, "Cannot upload \(localPath): it is not a regular file.")
        }
        var result = TransferResult(
            source: localPath,
            destination: remotePath,
            size: local.size,
            transferredBytes: 0,
            resumedFromBytes: 0,
            skipped: false,
            sha256: nil,
            duration: .zero
        )
        if options.skipUnchanged, let remote = try stat(remotePath), remote.isRegularFile, remote.size == local.size,
            !options.preserveAttributes || remote.modificationTime == local.modificationTime
        {
            if let checksum = options.checksum {
                let digest = try LocalFile.sha256(localPath)
                if try remoteSHA256(remotePath, checksum) == digest {
                    result.skipped = true
                    result.sha256 = digest
                }
            } else {
                result.skipped = true
            }
            if result.skipped {
                result.duration = started.duration(to: clock.now)
                return result
            }
        }

        let part = remotePath + ".part"
        var restarted = false
        while true {
            var offset: UInt64 = 0
            if options.resume, let existing = try stat(part), existing.isRegularFile, existing.size <= local.size {
                offset = existing.size
            }
            let digest = try sendFile(localPath, size: local.size, to: part, from: offset, options: options)
            result.resumedFromBytes = offset
            result.transferredBytes += local.size - offset
            if options.preserveAttributes {
                try setAttributes(part, mode: local.mode, modificationTime: local.modificationTime, accessTime: nil)
            }
            if let checksum = options.checksum {
                let remoteDigest = try remoteSHA256(part, checksum)
                if remoteDigest != digest {
                    if offset > 0 && !restarted {
                        // The kept part does not belong to this file (the source changed): start over.
                        restarted = true
                        try unlink(part, ignoreMissing: true)
                        continue
                    }
                    throw SSHError(
                        .checksumMismatch,
                        "After uploading \(localPath) to \(part) on \(hostLabel), the SHA-256 there is \(remoteDigest) "
                            + "instead of \(digest); the remote copy is left as \(part) for inspection.",
                        host: "\(session.configuration.host):\(session.configuration.port)"
                    )
                }
                result.sha256 = digest
            }
            try replace(part, with: remotePath)
            result.duration = started.duration(to: clock.now)
            return result
        }
    }

    /// Streams `localPath` from `offset` into the remote `part`, returning the hex SHA-256 of the whole
    /// local file (the skipped prefix is hashed locally).
    private func sendFile(
        _ localPath: String,
        size: UInt64,
        to part: String,
        from offset: UInt64,
        options: TransferOptions
    ) throws(SSHError) -> String {
        let fd = try LocalFile.open(localPath, flags: O_RDONLY)
        defer { close(fd) }
        var hasher = SHA256()
        try LocalFile.hashPrefix(fd, length: offset, into: &hasher, path: localPath)

        var flags = LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT
        if offset == 0 { flags |= LIBSSH2_FXF_TRUNC }
        let handle = try open(part, flags: Int32(flags), mode: 0o600)
        var handleOpen = true
        defer { if handleOpen { closeHandle(handle) } }
        libssh2_sftp_seek64(handle, offset)

        // A sliding window: [start, end) holds bytes read from the file and not yet acknowledged.
        // libssh2 remembers how much of the front it has already sent, so each call passes the whole
        // window and new data appended at the end is sent at once (see libssh2's sftp_write).
        let capacity = max(1 << 20, options.windowBytes)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        guard let base = buffer.baseAddress else { throw SSHError(.localIOFailed, "Cannot allocate a transfer buffer.") }
        var start = 0
        var end = 0
        var endOfFile = false
        var acknowledged = offset
        var reporter = ProgressReporter(path: part.droppingPartSuffix, total: size, resumedFrom: offset, callback: options.progress)

        while true {
            try session.checkCancelled(during: "the upload of \(localPath)")
            if !endOfFile && start > 0 && (start >= capacity / 2 || end == capacity) {
                base.copyMemory(from: base.advanced(by: start), byteCount: end - start)
                end -= start
                start = 0
            }
            if !endOfFile && end < capacity {
                let n = try LocalFile.read(fd, into: base.advanced(by: end), count: capacity - end, path: localPath)
                if n == 0 {
                    endOfFile = true
                } else {
                    hasher.update(bufferPointer: UnsafeRawBufferPointer(start: base.advanced(by: end), count: n))
                    end += n
                }
            }
            if start == end && endOfFile { break }
            let rc = libssh2_sftp_write(handle, base.advanced(by: start).assumingMemoryBound(to: CChar.self), end - start)
            if rc > 0 {
                start += rc
                acknowledged += UInt64(rc)
                reporter.report(acknowledged)
            } else if rc == 0 || rc == Int(LIBSSH2_ERROR_EAGAIN) {
                try session.waitForSocket(deadline: .none, operation: "upload")
            } else {
                throw sftpError("write", path: part, rc: Int32(rc))
            }
        }
        guard acknowledged == size else {
            throw SSHError(
                .localIOFailed,
                "\(localPath) changed size during the upload (\(size) bytes expected, \(acknowledged) sent); try again."
            )
        }
        handleOpen = false
        closeHandle(handle)
        reporter.finish(acknowledged)
        return hasher.finalize().hexString
    }

    // MARK: - Download

    func downloadFile(_ remotePath: String, to localPath: String, options: TransferOptions) throws(SSHError) -> TransferResult {
        let clock = ContinuousClock()
        let started = clock.now
        guard let remote = try stat(remotePath) else {
            throw SSHError(.sftpFailed, "Cannot download \(remotePath) from \(hostLabel): no such file.")
        }
        guard remote.isRegularFile else {
            throw SSHError(.sftpFailed, "Cannot download \(remotePath) from \(hostLabel): it is not a regular file.")
        }
        var result = TransferResult(
            source: remotePath,
            destination: localPath,
            size: remote.size,
            transferredBytes: 0,
            resumedFromBytes: 0,
            skipped: false,
            sha256: nil,
            duration: .zero
        )
        if options.skipUnchanged, let local = try LocalFile.info(localPath, followLinks: true), local.isRegularFile,
            local.size == remote.size,
            !options.preserveAttributes || local.modificationTime == remote.modificationTime
        {
            if let checksum = options.checksum {
                let digest = try LocalFile.sha256(localPath)
                if try remoteSHA256(remotePath, checksum) == digest {
                    result.skipped = true
                    result.sha256 = digest
                }
            } else {
                result.skipped = true
            }
            if result.skipped {
                result.duration = started.duration(to: clock.now)
                return result
            }
        }
        let parent = (localPath as NSString).deletingLastPathComponent
        if !parent.isEmpty { try LocalFile.makeDirectories(parent) }

        let part = localPath + ".part"
        var restarted = false
        while true {
            var offset: UInt64 = 0
            if options.resume, let existing = try LocalFile.info(part), existing.isRegularFile, existing.size <= remote.size {
                offset = existing.size
            }
            let digest = try receiveFile(remotePath, size: remote.size, to: part, from: offset, options: options)
            result.resumedFromBytes = offset
            result.transferredBytes += remote.size - offset
            if options.preserveAttributes {
                guard chmod(part, mode_t(remote.permissions)) == 0 else { throw LocalFile.ioError("set the mode of", part) }
                var times = [
                    timespec(tv_sec: Int(remote.accessTime), tv_nsec: 0),
                    timespec(tv_sec: Int(remote.modificationTime), tv_nsec: 0),
                ]
                guard utimensat(AT_FDCWD, part, &times, 0) == 0 else { throw LocalFile.ioError("set the times of", part) }
            }
            if let checksum = options.checksum {
                let remoteDigest = try remoteSHA256(remotePath, checksum)
                if remoteDigest != digest {
                    if offset > 0 && !restarted {
                        restarted = true
                        Glibc.unlink(part)
                        continue
                    }
                    throw SSHError(
                        .checksumMismatch,
                        "After downloading \(remotePath) from \(hostLabel), the local SHA-256 is \(digest) instead of "
                            + "\(remoteDigest); the copy is left as \(part) for inspection.",
                        host: "\(session.configuration.host):\(session.configuration.port)"
                    )
                }
                result.sha256 = digest
            }
            guard Glibc.rename(part, localPath) == 0 else { throw LocalFile.ioError("rename \(part) to", localPath) }
            result.duration = started.duration(to: clock.now)
            return result
        }
    }

    private func receiveFile(
        _ remotePath: String,
        size: UInt64,
        to part: String,
        from offset: UInt64,
        options: TransferOptions
    ) throws(SSHError) -> String {
        var hasher = SHA256()
        if offset > 0 {
            let reader = try LocalFile.open(part, flags: O_RDONLY)
            defer { close(reader) }
            try LocalFile.hashPrefix(reader, length: offset, into: &hasher, path: part)
        }
        let fd = try LocalFile.open(part, flags: O_WRONLY | O_CREAT | (offset == 0 ? O_TRUNC : 0))
        defer { close(fd) }
        guard ftruncate(fd, off_t(offset)) == 0, lseek(fd, off_t(offset), SEEK_SET) >= 0 else {
            throw LocalFile.ioError("prepare", part)
        }
        let handle = try open(remotePath, flags: Int32(LIBSSH2_FXF_READ), mode: 0)
        var handleOpen = true
        defer { if handleOpen { closeHandle(handle) } }
        libssh2_sftp_seek64(handle, offset)

        // libssh2 keeps up to four times the buffer it is given in read requests ahead (at most 8 MiB),
        // so reads are asked for with at least `windowBytes / 4` of free space; data is written to disk
        // once the buffer passes that mark.
        let capacity = max(1 << 20, options.windowBytes / 2)
        let readSize = max(256 * 1024, options.windowBytes / 4)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity + readSize, alignment: 16)
        defer { buffer.deallocate() }
        guard let base = buffer.baseAddress else { throw SSHError(.localIOFailed, "Cannot allocate a transfer buffer.") }
        var filled = 0
        var received = offset
        var reporter = ProgressReporter(path: part.droppingPartSuffix, total: size, resumedFrom: offset, callback: options.progress)

        func flush() throws(SSHError) {
            guard filled > 0 else { return }
            try LocalFile.writeAll(fd, base, count: filled, path: part)
            hasher.update(bufferPointer: UnsafeRawBufferPointer(start: base, count: filled))
            filled = 0
        }

        while true {
            try session.checkCancelled(during: "the download of \(remotePath)")
            let rc = libssh2_sftp_read(handle, base.advanced(by: filled).assumingMemoryBound(to: CChar.self), readSize)
            if rc > 0 {
                filled += rc
                received += UInt64(rc)
                reporter.report(received)
                if filled >= capacity { try flush() }
            } else if rc == 0 {
                break
            } else if rc == Int(LIBSSH2_ERROR_EAGAIN) {
                try session.waitForSocket(deadline: .none, operation: "download")
            } else {
                throw sftpError("read", path: remotePath, rc: Int32(rc))
            }
        }
        try flush()
        handleOpen = false
        closeHandle(handle)
        guard received == size else {
            throw SSHError(
                .transferFailed,
                "\(remotePath) on \(hostLabel) changed size during the download (\(size) bytes expected, "
                    + "\(received) received); try again."
            )
        }
        reporter.finish(received)
        return hasher.finalize().hexString
    }

    // MARK: - Checksums

    /// Runs the checksum command for `path` on the host and returns the lowercase hex digest.
    func remoteSHA256(_ path: String, _ checksum: RemoteChecksum) throws(SSHError) -> String {
        let result = try session.execute(checksum.command(path), options: ExecOptions(timeout: .seconds(3600)))
        let word = result.stdoutText.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\r" }).first
            .map { $0.lowercased() }
        guard result.succeeded, let word, word.count == 64, word.allSatisfy(\.isHexDigit) else {
            let detail = result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
            throw SSHError(
                .checksumMismatch,
                "Cannot compute the SHA-256 of \(path) on \(hostLabel) (\(result.statusDescription)"
                    + (detail.isEmpty ? "" : ": \(detail)") + "); the host needs sha256sum, or choose another checksum command.",
                host: "\(session.configuration.host):\(session.configuration.port)"
            )
        }
        return word
    }
}

/// Rate-limits progress callbacks to about ten a second.
struct ProgressReporter {
    let path: String
    let total: UInt64
    let resumedFrom: UInt64
    let callback: (@Sendable (TransferProgress) -> Void)?
    private var lastReport = ContinuousClock.now

    init(path: String, total: UInt64, resumedFrom: UInt64, callback: (@Sendable (TransferProgress) -> Void)?) {
        self.path = path
        self.total = total
        self.resumedFrom = resumedFrom
        self.callback = callback
        if let callback {
            callback(TransferProgress(path: path, completedBytes: resumedFrom, totalBytes: total, resumedFromBytes: resumedFrom))
        }
    }

    mutating func report(_ completed: UInt64) {
        guard let callback else { return }
        let now = ContinuousClock.now
        guard lastReport.duration(to: now) >= .milliseconds(100) else { return }
        lastReport = now
        callback(TransferProgress(path: path, completedBytes: completed, totalBytes: total, resumedFromBytes: resumedFrom))
    }

    func finish(_ completed: UInt64) {
        callback?(TransferProgress(path: path, completedBytes: completed, totalBytes: total, resumedFromBytes: resumedFrom))
    }
}

extension String {
    var droppingPartSuffix: String { hasSuffix(".part") ? String(dropLast(5)) : self }
}
