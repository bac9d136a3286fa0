import Crypto
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What a `known_hosts` file says about the key a host presented.
public enum KnownHostsMatch: Sendable, Equatable {
    /// A line for this host has exactly this key.
    case trusted(line: Int)
    /// The key appears in a `@revoked` line (for any host): never accept it.
    case revoked(line: Int)
    /// The host is known with a different key of the same algorithm: the key has changed.
    case changed(expected: [KnownHostsEntryRef])
    /// The host is not known with a key of this algorithm; it may be known with other algorithms only,
    /// which OpenSSH also treats as a new host ("keys of different type are already known").
    case unknown(otherAlgorithmsKnown: [HostKey.Algorithm])
}

/// One `known_hosts` line, by number, and the key it holds.
public struct KnownHostsEntryRef: Sendable, Equatable {
    /// The 1-based line number in the file.
    public let line: Int
    /// The key on that line.
    public let key: HostKey

    /// Creates a reference to the key on a line.
    public init(line: Int, key: HostKey) {
        self.line = line
        self.key = key
    }
}

/// A `known_hosts` line that was skipped because it could not be parsed or used.
public struct KnownHostsWarning: Sendable, Equatable, CustomStringConvertible {
    /// The 1-based line number in the file.
    public let line: Int
    /// Why the line was skipped.
    public let message: String

    public var description: String { "line \(line): \(message)" }
}

/// An OpenSSH `known_hosts` file, parsed: plain and hashed host patterns, `@revoked` lines, wildcards
/// and negation, as described in sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT".
///
/// `@cert-authority` lines are recognised and skipped: SSHKit matches plain host keys only. Lines that
/// cannot be parsed are skipped and reported in ``warnings``; they never make the whole file fail.
public struct KnownHostsFile: Sendable {
    /// The file's path, with a leading `~/` expanded.
    public let path: String
    /// The lines that were skipped, in file order.
    public let warnings: [KnownHostsWarning]
    let entries: [Entry]

    /// Parses the text of a `known_hosts` file.
    ///
    /// - Parameters:
    ///   - path: The path to report in messages and warnings; the file is not read.
    ///   - contents: The file's text.
    public init(path: String, contents: String) {
        var entries: [Entry] = []
        var warnings: [KnownHostsWarning] = []
        for (index, line) in contents.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            switch Entry.parse(line, number: index + 1) {
            case .entry(let entry): entries.append(entry)
            case .skip: break
            case .warning(let message): warnings.append(KnownHostsWarning(line: index + 1, message: message))
            }
        }
        self.path = path
        self.entries = entries
        self.warnings = warnings
    }

    /// Reads and parses a `known_hosts` file; a missing file reads as an empty one.
    ///
    /// - Parameter path: The file's path; a leading `~/` is expanded from `$HOME`.
    /// - Returns: The parsed file.
    /// - Throws: ``SSHError`` with code `.knownHostsUnreadable` when the file exists but cannot be read.
    public static func load(path: String) throws -> KnownHostsFile {
        let path = expandingTilde(path)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            let error = errno
            if error == ENOENT { return KnownHostsFile(path: path, contents: "") }
            throw SSHError.knownHostsUnreadable(path: path, errno: error)
        }
        defer { close(descriptor) }
        switch readAll(descriptor) {
        case .success(let bytes): return KnownHostsFile(path: path, contents: String(decoding: bytes, as: UTF8.self))
        case .failure(let error): throw SSHError.knownHostsUnreadable(path: path, errno: error.code)
        }
    }

    /// Looks up the key a host presented.
    ///
    /// Precedence follows OpenSSH: a revoked key wins, then a matching line, then a line with a
    /// different key of the same algorithm.
    ///
    /// - Parameters:
    ///   - host: The host name or address as connected to; compared case-insensitively.
    ///   - port: The TCP port; entries name the host as `[host]:port` unless the port is 22.
    ///   - key: The key the server presented.
    /// - Returns: How the file regards the key.
    public func lookup(host: String, port: Int, key: HostKey) -> KnownHostsMatch {
        if let revoked = entries.first(where: { $0.isRevoked && $0.key == key }) {
            return .revoked(line: revoked.line)
        }
        let name = Array(Self.lookupName(host: host, port: port).utf8)
        var changed: [KnownHostsEntryRef] = []
        var otherAlgorithms: [HostKey.Algorithm] = []
        for entry in entries where !entry.isRevoked && entry.hosts.matches(name) {
            if entry.key == key {
                return .trusted(line: entry.line)
            }
            if entry.key.algorithm == key.algorithm {
                changed.append(KnownHostsEntryRef(line: entry.line, key: entry.key))
            } else if !otherAlgorithms.contains(entry.key.algorithm) {
                otherAlgorithms.append(entry.key.algorithm)
            }
        }
        if !changed.isEmpty {
            return .changed(expected: changed)
        }
        return .unknown(otherAlgorithmsKnown: otherAlgorithms)
    }

    /// The key algorithms the file knows for a host, in file order, without repeats.
    ///
    /// - Parameters:
    ///   - host: The host name or address as connected to.
    ///   - port: The TCP port.
    /// - Returns: The algorithms of the host's non-revoked entries.
    public func knownAlgorithms(host: String, port: Int) -> [HostKey.Algorithm] {
        let name = Array(Self.lookupName(host: host, port: port).utf8)
        var algorithms: [HostKey.Algorithm] = []
        for entry in entries where !entry.isRevoked && entry.hosts.matches(name) {
            if !algorithms.contains(entry.key.algorithm) {
                algorithms.append(entry.key.algorithm)
            }
        }
        return algorithms
    }

    /// Appends a plain line for a host's key, unless the file already trusts that key for that host.
    ///
    /// The line is `host ssh-ed25519 AAAA…` for port 22 and `[host]:port ssh-ed25519 AAAA…` otherwise,
    /// with the host in lower case. A missing parent directory is created with mode 0700 and a missing
    /// file with mode 0600; an unterminated last line is ended first. Safe against concurrent appends
    /// from threads of this process (a process-wide lock) and from other processes (`flock(LOCK_EX)`):
    /// the file is re-read under both locks and the line is written with a single `write(2)`.
    ///
    /// - Parameters:
    ///   - host: The host name or address as connected to.
    ///   - port: The TCP port.
    ///   - key: The key to trust.
    ///   - path: The `known_hosts` file; a leading `~/` is expanded from `$HOME`.
    /// - Returns: `true` if a line was written, `false` if the key was already trusted.
    /// - Throws: ``SSHError`` with code `.localIOFailed` when the directory or file cannot be created,
    ///   locked, read or written, or when the host name cannot be written as a plain pattern (it holds
    ///   whitespace, a comma, a wildcard, `!`, `#`, or starts with `|`).
    @discardableResult
    public static func append(host: String, port: Int, key: HostKey, to path: String) throws -> Bool {
        let found = try append(host: host, port: port, key: key, to: path) { !$0.isTrusted }
        return !found.isTrusted
    }

    /// Appends a line for the key when, under the locks, `shouldAppend` accepts what the file says.
    ///
    /// - Returns: What the file said about the key before any line was written.
    static func append(
        host: String,
        port: Int,
        key: HostKey,
        to path: String,
        when shouldAppend: (KnownHostsMatch) -> Bool
    ) throws -> KnownHostsMatch {
        let path = expandingTilde(path)
        let hostPort = SSHError.hostPort(host: host, port: port)
        // A name with a blank, a comma or a wildcard would write a different (or broken) line.
        guard !host.isEmpty, !host.hasPrefix("|"), !host.contains(where: { $0.isWhitespace || ",*?!#".contains($0) })
        else {
            throw SSHError.unstorableHostName(hostPort: hostPort, path: path)
        }
        return try appendLock.withLock { _ in
            if let parent = parentDirectory(of: path), let error = makeDirectories(parent) {
                throw SSHError.knownHostsNotWritable(path: path, hostPort: hostPort, errno: error)
            }
            let descriptor = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else {
                throw SSHError.knownHostsNotWritable(path: path, hostPort: hostPort, errno: errno)
            }
            defer { close(descriptor) }  // also releases the flock
            while flock(descriptor, LOCK_EX) != 0 {
                let error = errno
                guard error == EINTR else {
                    throw SSHError.knownHostsNotWritable(path: path, hostPort: hostPort, errno: error)
                }
            }
            let bytes: [UInt8]
            switch readAll(descriptor) {
            case .success(let read): bytes = read
            case .failure(let error):
                throw SSHError.knownHostsNotWritable(path: path, hostPort: hostPort, errno: error.code)
            }
            let current = KnownHostsFile(path: path, contents: String(decoding: bytes, as: UTF8.self))
            let match = current.lookup(host: host, port: port, key: key)
            guard shouldAppend(match) else { return match }
            var text = lookupName(host: host, port: port) + " " + key.openSSHString + "\n"
            if let last = bytes.last, last != UInt8(ascii: "\n") {
                text = "\n" + text
            }
            if let error = writeAll(descriptor, Array(text.utf8)) {
                throw SSHError.knownHostsNotWritable(path: path, hostPort: hostPort, errno: error)
            }
            return match
        }
    }

    /// The name `known_hosts` uses for a host: `host` for port 22, else `[host]:port`, in lower case.
    static func lookupName(host: String, port: Int) -> String {
        let host = host.lowercased()
        return port == 22 ? host : "[\(host)]:\(port)"
    }

    /// Serialises appends from this process; `flock` serialises them across processes.
    private static let appendLock = Mutex(())
}

extension KnownHostsMatch {
    var isTrusted: Bool {
        if case .trusted = self { return true }
        return false
    }
}

// MARK: - Parsing

extension KnownHostsFile {
    /// One usable `known_hosts` line: a plain or `@revoked` key with its host patterns.
    struct Entry: Sendable {
        let line: Int
        let isRevoked: Bool
        let hosts: HostField
        let key: HostKey

        enum ParseResult {
            case entry(Entry)
            case skip
            case warning(String)
        }

        static func parse(_ text: Substring, number: Int) -> ParseResult {
            var text = text
            if text.last == "\r" { text = text.dropLast() }
            var fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" })[...]
            guard let first = fields.first, !first.hasPrefix("#") else { return .skip }
            var isRevoked = false
            if first.hasPrefix("@") {
                switch first {
                case "@revoked": isRevoked = true
                case "@cert-authority": return .skip
                default: return .warning("unknown marker \(first)")
                }
                fields = fields.dropFirst()
            }
            guard fields.count >= 3 else {
                return .warning("expected host patterns, a key type and a base64 key")
            }
            let hostsText = fields[fields.startIndex]
            let typeName = String(fields[fields.startIndex + 1])
            let keyText = String(fields[fields.startIndex + 2])
            guard let hosts = HostField(hostsText) else {
                return .warning("malformed hashed host name \(hostsText.prefix(40))")
            }
            guard HostKey.Algorithm(rawValue: typeName) != nil else {
                return .warning("unsupported key type \(typeName.prefix(60))")
            }
            guard let data = Data(base64Encoded: keyText) else {
                return .warning("the \(typeName) key is not valid base64")
            }
            let key: HostKey
            do {
                key = try HostKey(blob: [UInt8](data))
            } catch {
                return .warning("the \(typeName) key is malformed")
            }
            guard key.algorithm.rawValue == typeName else {
                return .warning("the key type \(typeName) does not match the key's algorithm \(key.algorithm.rawValue)")
            }
            return .entry(Entry(line: number, isRevoked: isRevoked, hosts: hosts, key: key))
        }
    }

    /// The host-pattern field of a line: a hashed name or a comma-separated list of patterns.
    enum HostField: Sendable {
        /// `|1|base64(salt)|base64(HMAC-SHA1(key: salt, message: name))`.
        case hashed(salt: [UInt8], hash: [UInt8])
        /// Patterns with `*` and `?` wildcards, in lower case; a negated one vetoes the line.
        case patterns([(pattern: [UInt8], negated: Bool)])

        /// Parses the field, or returns `nil` for a malformed hashed name.
        init?(_ text: Substring) {
            if text.hasPrefix("|") {
                let parts = text.split(separator: "|", omittingEmptySubsequences: false)
                guard parts.count == 4, parts[1] == "1",
                    let salt = Data(base64Encoded: String(parts[2])),
                    let hash = Data(base64Encoded: String(parts[3])),
                    salt.count == Insecure.SHA1.Digest.byteCount, hash.count == Insecure.SHA1.Digest.byteCount
                else { return nil }
                self = .hashed(salt: [UInt8](salt), hash: [UInt8](hash))
                return
            }
            let patterns = text.lowercased().split(separator: ",").map { pattern in
                pattern.hasPrefix("!")
                    ? (pattern: Array(pattern.dropFirst().utf8), negated: true)
                    : (pattern: Array(pattern.utf8), negated: false)
            }
            self = .patterns(patterns)
        }

        /// Whether the field matches a lookup name (already lower case, `[host]:port` form if needed).
        func matches(_ name: [UInt8]) -> Bool {
            switch self {
            case .hashed(let salt, let hash):
                let code = HMAC<Insecure.SHA1>.authenticationCode(for: name, using: SymmetricKey(data: salt))
                return code == hash  // constant-time comparison
            case .patterns(let patterns):
                var matched = false
                for (pattern, negated) in patterns where wildcardMatch(name, pattern) {
                    if negated { return false }
                    matched = true
                }
                return matched
            }
        }
    }

    /// Matches `text` against a pattern where `*` is any run of bytes and `?` is any one byte.
    static func wildcardMatch(_ text: [UInt8], _ pattern: [UInt8]) -> Bool {
        let star = UInt8(ascii: "*")
        let question = UInt8(ascii: "?")
        var textIndex = 0
        var patternIndex = 0
        var lastStar: (pattern: Int, text: Int)?
        while textIndex < text.count {
            if patternIndex < pattern.count,
                pattern[patternIndex] == question || pattern[patternIndex] == text[textIndex]
            {
                textIndex += 1
                patternIndex += 1
            } else if patternIndex < pattern.count, pattern[patternIndex] == star {
                lastStar = (patternIndex, textIndex)
                patternIndex += 1
            } else if let star = lastStar {
                // Let the last `*` swallow one more byte and retry from there.
                lastStar = (star.pattern, star.text + 1)
                patternIndex = star.pattern + 1
                textIndex = star.text + 1
            } else {
                return false
            }
        }
        while patternIndex < pattern.count, pattern[patternIndex] == star {
            patternIndex += 1
        }
        return patternIndex == pattern.count
    }
}

// MARK: - File system

extension KnownHostsFile {
    struct Errno: Error {
        let code: Int32
    }

    /// Expands a leading `~` or `~/` from `$HOME`, as a shell would.
    static func expandingTilde(_ path: String) -> String {
        guard path == "~" || path.hasPrefix("~/"), let home = getenv("HOME") else { return path }
        return String(cString: home) + path.dropFirst()
    }

    static func parentDirectory(of path: String) -> String? {
        guard let slash = path.lastIndex(of: "/") else { return nil }
        let parent = path[..<slash]
        return parent.isEmpty ? nil : String(parent)
    }

    /// Creates a directory and its missing parents with mode 0700; returns the errno on failure.
    static func makeDirectories(_ directory: String) -> Int32? {
        if mkdir(directory, 0o700) == 0 { return nil }
        let error = errno
        if error == EEXIST { return nil }
        guard error == ENOENT, let parent = parentDirectory(of: directory), parent != directory else {
            return error
        }
        if let parentError = makeDirectories(parent) { return parentError }
        if mkdir(directory, 0o700) == 0 || errno == EEXIST { return nil }
        return errno
    }

    /// Reads a whole file from offset 0, whatever the descriptor's current offset.
    static func readAll(_ descriptor: Int32) -> Result<[UInt8], Errno> {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in
                pread(descriptor, buffer.baseAddress, buffer.count, off_t(bytes.count))
            }
            if count > 0 {
                bytes.append(contentsOf: chunk[..<count])
            } else if count == 0 {
                return .success(bytes)
            } else {
                let error = errno
                if error != EINTR { return .failure(Errno(code: error)) }
            }
        }
    }

    /// Writes all bytes (in one `write(2)` unless the kernel writes less); returns the errno on failure.
    static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) -> Int32? {
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { buffer in
                write(descriptor, buffer.baseAddress.map { $0 + written }, buffer.count - written)
            }
            if count > 0 {
                written += count
            } else if count == 0 {
                return EIO
            } else {
                let error = errno
                if error != EINTR { return error }
            }
        }
        return nil
    }
}
