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
    public func upload(
        from localPath: String,
        to remotePath: String,
        options: TransferOptions = TransferOptions()
    )
        async throws -> TransferResult
    {
        try await session.perform { _ in
            try self.uploadBatch([(localPath, remotePath)], options: options)[0]
        }
    }

    /// Downloads one remote file to `localPath`, resumably and verified (the mirror of ``upload(from:to:options:)``).
    public func download(
        from remotePath: String,
        to localPath: String,
        options: TransferOptions = TransferOptions()
    )
        async throws -> TransferResult
    {
        try await session.perform { _ in
            try self.downloadBatch([(remotePath, localPath)], options: options)[0]
        }
    }

    // MARK: - Upload

    /// Uploads a batch of files: unchanged ones are recognised (one checksum command for all
    /// candidates), the others are streamed to `NAME.part`, verified together with one checksum
    /// command, and only then renamed into place.
    func uploadBatch(
        _ files: [(local: String, remote: String)],
        options: TransferOptions
    ) throws(SSHError)
        -> [TransferResult]
    {
        let clock = ContinuousClock()
        var results: [TransferResult] = []
        var sizes: [LocalFile.Info] = []
        for (local, remote) in files {
            guard let info = try LocalFile.info(local, followLinks: true) else {
                throw SSHError(.localIOFailed, "Cannot upload \(local): no such file.")
            }
            guard info.isRegularFile else {
                throw SSHError(.localIOFailed, "Cannot upload \(local): it is not a regular file.")
            }
            sizes.append(info)
            results.append(TransferResult(notStarted: local, to: remote, size: info.size))
        }

        // 1. Files already in place: same size and time, then the same SHA-256.
        try markUnchanged(&results, localPaths: files.map(\.local), remotePaths: files.map(\.remote), options: options)
        {
            index throws(SSHError) in
            guard let remote = try stat(files[index].remote), remote.isRegularFile else { return false }
            return remote.size == sizes[index].size
                && (!options.preserveAttributes || remote.modificationTime == sizes[index].modificationTime)
        }

        // A file in place keeps the permissions asked for, whatever an earlier upload gave it.
        if let permissions = options.permissions {
            for index in files.indices where results[index].skipped {
                if try stat(files[index].remote)?.permissions != permissions & 0o7777 {
                    try setAttributes(files[index].remote, mode: permissions, modificationTime: nil, accessTime: nil)
                }
            }
        }

        // 2. Everything else goes to NAME.part, resuming from what an interrupted run left there.
        let pending = files.indices.filter { !results[$0].skipped }
        for index in pending {
            let started = clock.now
            try sendToPart(&results[index], local: sizes[index], resume: options.resume, options: options)
            results[index].duration = started.duration(to: clock.now)
        }

        // 3. One checksum command for the whole batch; a resumed part that does not match (the source
        //    changed since) is sent again from the start, once.
        if let checksum = options.checksum, !pending.isEmpty {
            let digests = try remoteSHA256s(pending.map { files[$0].remote + ".part" }, checksum)
            for (position, index) in pending.enumerated() where digests[position] != results[index].sha256 {
                var remoteDigest = digests[position]
                if results[index].resumedFromBytes > 0 {
                    try unlink(files[index].remote + ".part", ignoreMissing: true)
                    try sendToPart(&results[index], local: sizes[index], resume: false, options: options)
                    remoteDigest = try remoteSHA256s([files[index].remote + ".part"], checksum)[0]
                }
                if remoteDigest != results[index].sha256 {
                    throw SSHError(
                        .checksumMismatch,
                        "After uploading \(files[index].local) to \(files[index].remote).part on \(hostLabel), the "
                            + "SHA-256 there is \(remoteDigest.isEmpty ? "unreadable" : remoteDigest) instead of "
                            + "\(results[index].sha256 ?? "?"); the remote copy is left as .part for inspection.",
                        host: "\(session.configuration.host):\(session.configuration.port)"
                    )
                }
            }
        }

        // 4. Only verified data takes the real name.
        for index in pending {
            try replace(files[index].remote + ".part", with: files[index].remote)
        }
        return results
    }

    /// Streams one file to its `.part` (resuming when asked) and sets its mode and time.
    private func sendToPart(
        _ result: inout TransferResult,
        local: LocalFile.Info,
        resume: Bool,
        options: TransferOptions
    ) throws(SSHError) {
        let part = result.destination + ".part"
        var offset: UInt64 = 0
        if resume, let existing = try stat(part), existing.isRegularFile, existing.size <= local.size {
            offset = existing.size
        }
        result.sha256 = try sendFile(result.source, size: local.size, to: part, from: offset, options: options)
        result.resumedFromBytes = offset
        result.transferredBytes += local.size - offset
        if options.preserveAttributes {
            let mode = options.permissions ?? local.mode
            try setAttributes(part, mode: mode, modificationTime: local.modificationTime, accessTime: nil)
        } else if let permissions = options.permissions {
            try setAttributes(part, mode: permissions, modificationTime: nil, accessTime: nil)
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
        guard let base = buffer.baseAddress else {
            throw SSHError(.localIOFailed, "Cannot allocate a transfer buffer.")
        }
        var start = 0
        var end = 0
        var endOfFile = false
        var acknowledged = offset
        var reporter = ProgressReporter(
            path: part.droppingPartSuffix,
            total: size,
            resumedFrom: offset,
            callback: options.progress
        )

        while true {
            try session.checkCancelled(during: "the upload of \(localPath)")
            // Compact once half the window is acknowledged: each byte moves at most once, and a full,
            // fully acknowledged window (start == end == capacity) always makes room again.
            if !endOfFile && start >= capacity / 2 {
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
            let rc = libssh2_sftp_write(
                handle,
                base.advanced(by: start).assumingMemoryBound(to: CChar.self),
                end - start
            )
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

    /// Downloads a batch of files, the mirror of ``uploadBatch(_:options:)``: one checksum command for the
    /// unchanged candidates, one for everything received.
    func downloadBatch(
        _ files: [(remote: String, local: String)],
        options: TransferOptions
    ) throws(SSHError)
        -> [TransferResult]
    {
        let clock = ContinuousClock()
        var results: [TransferResult] = []
        var attributes: [SFTPAttributes] = []
        for (remote, local) in files {
            guard let info = try stat(remote) else {
                throw SSHError(.sftpFailed, "Cannot download \(remote) from \(hostLabel): no such file.")
            }
            guard info.isRegularFile else {
                throw SSHError(.sftpFailed, "Cannot download \(remote) from \(hostLabel): it is not a regular file.")
            }
            attributes.append(info)
            results.append(TransferResult(notStarted: remote, to: local, size: info.size))
        }

        try markUnchanged(&results, localPaths: files.map(\.local), remotePaths: files.map(\.remote), options: options)
        {
            index throws(SSHError) in
            guard let local = try LocalFile.info(files[index].local, followLinks: true), local.isRegularFile else {
                return false
            }
            return local.size == attributes[index].size
                && (!options.preserveAttributes || local.modificationTime == attributes[index].modificationTime)
        }

        let pending = files.indices.filter { !results[$0].skipped }
        for index in pending {
            let started = clock.now
            try receiveToPart(&results[index], remote: attributes[index], resume: options.resume, options: options)
            results[index].duration = started.duration(to: clock.now)
        }

        if let checksum = options.checksum, !pending.isEmpty {
            let digests = try remoteSHA256s(pending.map { files[$0].remote }, checksum)
            for (position, index) in pending.enumerated() where digests[position] != results[index].sha256 {
                if results[index].resumedFromBytes > 0 {
                    Glibc.unlink(files[index].local + ".part")
                    try receiveToPart(&results[index], remote: attributes[index], resume: false, options: options)
                }
                if digests[position] != results[index].sha256 {
                    throw SSHError(
                        .checksumMismatch,
                        "After downloading \(files[index].remote) from \(hostLabel), the local SHA-256 is "
                            + "\(results[index].sha256 ?? "?") instead of \(digests[position].isEmpty ? "unreadable" : digests[position]); "
                            + "the copy is left as \(files[index].local).part for inspection.",
                        host: "\(session.configuration.host):\(session.configuration.port)"
                    )
                }
            }
        }

        for index in pending {
            let part = files[index].local + ".part"
            guard Glibc.rename(part, files[index].local) == 0 else {
                throw LocalFile.ioError("rename \(part) to", files[index].local)
            }
        }
        return results
    }

    private func receiveToPart(
        _ result: inout TransferResult,
        remote: SFTPAttributes,
        resume: Bool,
        options: TransferOptions
    ) throws(SSHError) {
        let local = result.destination
        let parent = (local as NSString).deletingLastPathComponent
        if !parent.isEmpty { try LocalFile.makeDirectories(parent) }
        let part = local + ".part"
        var offset: UInt64 = 0
        if resume, let existing = try LocalFile.info(part), existing.isRegularFile, existing.size <= remote.size {
            offset = existing.size
        }
        result.sha256 = try receiveFile(result.source, size: remote.size, to: part, from: offset, options: options)
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
        guard let base = buffer.baseAddress else {
            throw SSHError(.localIOFailed, "Cannot allocate a transfer buffer.")
        }
        var filled = 0
        var received = offset
        var reporter = ProgressReporter(
            path: part.droppingPartSuffix,
            total: size,
            resumedFrom: offset,
            callback: options.progress
        )

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

    /// Marks as skipped the files whose destination already holds the same data: `sameSizeAndTime`
    /// picks the candidates, then (when verifying) one checksum command compares their SHA-256s.
    private func markUnchanged(
        _ results: inout [TransferResult],
        localPaths: [String],
        remotePaths: [String],
        options: TransferOptions,
        sameSizeAndTime: (Int) throws(SSHError) -> Bool
    ) throws(SSHError) {
        guard options.skipUnchanged else { return }
        var candidates: [Int] = []
        for index in results.indices where try sameSizeAndTime(index) {
            candidates.append(index)
        }
        guard let checksum = options.checksum else {
            for index in candidates { results[index].skipped = true }
            return
        }
        let remoteDigests = try remoteSHA256s(candidates.map { remotePaths[$0] }, checksum)
        for (position, index) in candidates.enumerated() {
            let digest = try LocalFile.sha256(localPaths[index])
            guard remoteDigests[position] == digest else { continue }
            results[index].sha256 = digest
            results[index].skipped = true
        }
    }

    /// The lowercase hex SHA-256 of each remote path, in order ("" for a file the host could not
    /// hash), computed with one command per batch of paths.
    func remoteSHA256s(_ paths: [String], _ checksum: RemoteChecksum) throws(SSHError) -> [String] {
        var digests: [String] = []
        var start = 0
        while start < paths.count {
            // Keep each command line well under the usual 128 KiB ARG_MAX for one argument.
            var end = start
            var length = 0
            while end < paths.count && (end == start || (end - start < 256 && length + paths[end].utf8.count < 60_000))
            {
                length += paths[end].utf8.count + 16
                end += 1
            }
            let batch = Array(paths[start..<end])
            let result = try session.execute(checksum.command(batch), options: ExecOptions(timeout: .seconds(3600)))
            var lines = result.stdoutText.split(separator: "\n", omittingEmptySubsequences: false).map {
                String($0.prefix(64)).lowercased()
            }
            if lines.last == "" { lines.removeLast() }
            guard lines.count == batch.count else {
                let detail = result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
                throw SSHError(
                    .checksumMismatch,
                    "Cannot compute SHA-256 checksums on \(hostLabel) (\(result.statusDescription)"
                        + (detail.isEmpty ? "" : ": \(detail)")
                        + "); the host needs openssl or sha256sum, or copy with --no-verify.",
                    host: "\(session.configuration.host):\(session.configuration.port)"
                )
            }
            digests += lines.map { $0.count == 64 && $0.allSatisfy(\.isHexDigit) ? $0 : "" }
            start = end
        }
        return digests
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
            callback(
                TransferProgress(
                    path: path,
                    completedBytes: resumedFrom,
                    totalBytes: total,
                    resumedFromBytes: resumedFrom
                )
            )
        }
    }

    mutating func report(_ completed: UInt64) {
        guard let callback else { return }
        let now = ContinuousClock.now
        guard lastReport.duration(to: now) >= .milliseconds(100) else { return }
        lastReport = now
        callback(
            TransferProgress(path: path, completedBytes: completed, totalBytes: total, resumedFromBytes: resumedFrom)
        )
    }

    func finish(_ completed: UInt64) {
        callback?(
            TransferProgress(path: path, completedBytes: completed, totalBytes: total, resumedFromBytes: resumedFrom)
        )
    }
}

extension String {
    var droppingPartSuffix: String { hasSuffix(".part") ? String(dropLast(5)) : self }
}
