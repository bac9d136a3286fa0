import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The exclusive lock on a journal: `flock(LOCK_EX | LOCK_NB)` on a `.lock` file beside it, which holds the holder's
/// PID, start time and host name as one line of JSON.
///
/// The kernel releases a `flock` when its holder dies (even by SIGKILL), so a lock left by a killed run is taken over
/// without a question; the stale text in the file is then simply replaced. The descriptor is opened `O_CLOEXEC`, so
/// processes octoprov starts never inherit the lock.
enum JournalLock {
    /// The outcome of one attempt.
    enum Attempt {
        /// The lock is ours: keep the descriptor open while working, close it to release.
        case acquired(Int32)
        /// Someone else holds it.
        case held(JournalLockHolder)
    }

    /// Tries once to take the lock at `path` and, when taken, writes our PID and `now` into it.
    static func acquire(_ path: String, now: Date) throws(FileOperationError) -> Attempt {
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileOperationError(path: path, operation: "open the lock file", code: errno) }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EINTR { continue }
            if code == EWOULDBLOCK {
                let holder = Self.holder(of: fd)
                close(fd)
                return .held(holder)
            }
            close(fd)
            throw FileOperationError(path: path, operation: "lock (flock)", code: code)
        }
        var text = "{\"pid\":\(getpid()),\"started\":\"\(Timestamp.string(now))\""
        if let hostname = hostName() {
            text += ",\"hostname\":\(jsonString(hostname))"
        }
        text += "}\n"
        if ftruncate(fd, 0) != 0 || pwriteAll(fd, Data(text.utf8)) != nil {
            let code = errno
            close(fd)
            throw FileOperationError(path: path, operation: "write the holder into the lock file", code: code)
        }
        return .acquired(fd)
    }

    /// Releases the lock.
    static func release(_ fd: Int32) {
        close(fd)
    }

    // MARK: - Who holds it

    /// The holder of the lock on `fd`'s file: the PID from `/proc/locks` (the kernel's word, right even when the
    /// holder wrote nothing), the start time and host name from the file when it names the same PID.
    static func holder(of fd: Int32) -> JournalLockHolder {
        let written = writtenHolder(fd)
        var status = stat()
        guard fstat(fd, &status) == 0, let pid = lockingPID(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
        else {
            return written
        }
        if written.pid == pid {
            return written
        }
        return JournalLockHolder(pid: pid, started: processStartTime(pid), hostname: nil)
    }

    /// What the holder wrote into the lock file, or an empty holder.
    private static func writtenHolder(_ fd: Int32) -> JournalLockHolder {
        var bytes = [UInt8](repeating: 0, count: 4096)
        let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        // A holder caught half-way through writing is shown as unknown; the lock itself is what refuses.
        guard count > 0,
            let object = try? JSONSerialization.jsonObject(with: Data(bytes[0..<count])) as? [String: Any]
        else {
            return JournalLockHolder(pid: nil, started: nil, hostname: nil)
        }
        let pid = (object["pid"] as? NSNumber).map { Int32(truncatingIfNeeded: $0.int64Value) }
        let started = (object["started"] as? String).flatMap(Timestamp.date)
        return JournalLockHolder(pid: pid, started: started, hostname: object["hostname"] as? String)
    }

    /// The PID holding a `flock` write lock on the file with `inode` on `device`, from `/proc/locks`
    /// (`1: FLOCK  ADVISORY  WRITE 1234 fe:00:16221801 0 EOF`; device numbers in hex, the inode in decimal).
    static func lockingPID(device: UInt64, inode: UInt64, locks: String? = nil) -> Int32? {
        // Without /proc/locks the holder's PID is unknown, which the message about the held lock allows for.
        guard let text = locks ?? (try? String(contentsOfFile: "/proc/locks", encoding: .utf8)) else { return nil }
        let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~UInt64(0xfff))
        let minor = (device & 0xff) | ((device >> 12) & ~UInt64(0xff))
        var exact: Int32?
        var sameInode: [Int32] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // Waiting requests are shown as `1: -> FLOCK …`; only granted locks name the holder.
            guard fields.count >= 6, fields[1] == "FLOCK", fields[3] == "WRITE", let pid = Int32(fields[4]) else {
                continue
            }
            let id = fields[5].split(separator: ":")
            guard id.count == 3, UInt64(id[2]) == inode else { continue }
            sameInode.append(pid)
            if UInt64(id[0], radix: 16) == major && UInt64(id[1], radix: 16) == minor {
                exact = pid
            }
        }
        // Overlay file systems may show another device number than `stat` does; one lock on the inode is enough.
        return exact ?? (sameInode.count == 1 ? sameInode[0] : nil)
    }

    /// When process `pid` started, from `/proc/<pid>/stat` (field 22, clock ticks after boot) and `/proc/stat`'s
    /// `btime`.
    static func processStartTime(_ pid: Int32) -> Date? {
        // A process gone (or /proc missing) has no start time to show: `nil` is the answer.
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")"),
            let system = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let bootLine = system.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
            let boot = Double(bootLine.dropFirst(6).trimmingCharacters(in: .whitespaces))
        else {
            return nil
        }
        // After `pid (comm) ` come fields 3 (state), 4, …: field 22 is at index 19.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        guard fields.count > 19, let ticks = Double(fields[19]), ticksPerSecond > 0 else { return nil }
        return Date(timeIntervalSince1970: boot + ticks / ticksPerSecond)
    }

    // MARK: - Helpers

    private static func hostName() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func jsonString(_ text: String) -> String {
        // Encoding one string cannot fail.
        let data = (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    private static func pwriteAll(_ fd: Int32, _ data: Data) -> Int32? {
        data.withUnsafeBytes { buffer -> Int32? in
            var offset = 0
            while offset < buffer.count {
                let written = pwrite(fd, buffer.baseAddress?.advanced(by: offset), buffer.count - offset, off_t(offset))
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += written
            }
            return nil
        }
    }
}
