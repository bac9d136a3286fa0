import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Local file operations for transfers, with errors that name the path.
enum LocalFile {
    struct Info {
        var size: UInt64
        var mode: UInt32
        var modificationTime: UInt64
        var isDirectory: Bool
        var isRegularFile: Bool
        var isSymbolicLink: Bool
    }

    static func ioError(_ what: String, _ path: String, _ code: Int32 = errno) -> SSHError {
        SSHError(.localIOFailed, "Cannot \(what) \(path): \(String(cString: strerror(code))).", errno: code)
    }

    /// `lstat` (or `stat` when following links); nil when the path does not exist.
    static func info(_ path: String, followLinks: Bool = false) throws(SSHError) -> Info? {
        var st = stat()
        let rc = followLinks ? stat(path, &st) : lstat(path, &st)
        if rc != 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw ioError("read the attributes of", path)
        }
        let type = st.st_mode & S_IFMT
        return Info(
            size: UInt64(st.st_size),
            mode: UInt32(st.st_mode),
            modificationTime: UInt64(max(0, st.st_mtim.tv_sec)),
            isDirectory: type == S_IFDIR,
            isRegularFile: type == S_IFREG,
            isSymbolicLink: type == S_IFLNK
        )
    }

    static func open(_ path: String, flags: Int32, mode: mode_t = 0o600) throws(SSHError) -> Int32 {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw ioError("open", path) }
        return fd
    }

    /// Reads up to `count` bytes into `buffer` at `offset`, retrying on EINTR. 0 means end of file.
    static func read(
        _ fd: Int32,
        into buffer: UnsafeMutableRawPointer,
        count: Int,
        path: String
    ) throws(SSHError) -> Int {
        while true {
            let n = Glibc.read(fd, buffer, count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw ioError("read", path)
        }
    }

    static func writeAll(_ fd: Int32, _ buffer: UnsafeRawPointer, count: Int, path: String) throws(SSHError) {
        var done = 0
        while done < count {
            let n = Glibc.write(fd, buffer.advanced(by: done), count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw ioError("write", path)
            }
            done += n
        }
    }

    /// Feeds the first `length` bytes of the open file `fd` into `hasher`, leaving the offset at `length`.
    static func hashPrefix(_ fd: Int32, length: UInt64, into hasher: inout SHA256, path: String) throws(SSHError) {
        guard length > 0 else { return }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var left = length
        while left > 0 {
            let want = Int(min(UInt64(buffer.count), left))
            let n = try read(fd, into: buffer.baseAddress.unsafelyUnwrapped, count: want, path: path)
            guard n > 0 else {
                throw SSHError(.localIOFailed, "\(path) is shorter than expected; did it change during the transfer?")
            }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            left -= UInt64(n)
        }
    }

    /// The hex SHA-256 of a whole file.
    static func sha256(_ path: String) throws(SSHError) -> String {
        let fd = try open(path, flags: O_RDONLY)
        defer { close(fd) }
        var hasher = SHA256()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try read(fd, into: buffer.baseAddress.unsafelyUnwrapped, count: buffer.count, path: path)
            if n == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return hasher.finalize().hexString
    }

    /// `mkdir -p` for local directories.
    static func makeDirectories(_ path: String) throws(SSHError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw SSHError(.localIOFailed, "Cannot create directory \(path): \(error.localizedDescription).")
        }
    }
}

extension Digest {
    var hexString: String {
        map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
        }.joined()
    }
}
