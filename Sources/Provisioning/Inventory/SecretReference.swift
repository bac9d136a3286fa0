import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where a secret (a password or a key passphrase) is kept: never in the inventory itself.
///
/// An inventory's secret fields hold `env:NAME` (an environment variable) or `file:PATH` (a file, relative to
/// the inventory, readable only by its owner). The reference is harmless to print; ``read()`` fetches the
/// secret when it is needed.
public enum SecretReference: Sendable, Hashable, CustomStringConvertible {
    /// `env:NAME`: the value of the environment variable `NAME`.
    case environment(String, location: SourceLocation)
    /// `file:PATH`: the contents of a file, with `PATH` already resolved to an absolute path.
    case file(String, location: SourceLocation)

    /// Where the reference is written in the inventory.
    public var location: SourceLocation {
        switch self {
        case .environment(_, let location), .file(_, let location):
            return location
        }
    }

    /// `env:NAME` or `file:/absolute/path`; it never contains the secret.
    public var description: String {
        switch self {
        case .environment(let name, _):
            return "env:\(name)"
        case .file(let path, _):
            return "file:\(path)"
        }
    }

    /// "environment variable NAME" or "secret file PATH", for sentences about the reference.
    public var kindDescription: String {
        switch self {
        case .environment(let name, _):
            return "environment variable \(name)"
        case .file(let path, _):
            return "secret file \(path)"
        }
    }

    /// Reads the secret from this process's environment or from the file.
    ///
    /// A file must be a regular file with no permissions for group or others (`mode & 0o077 == 0`); one trailing
    /// newline is removed.
    ///
    /// - Returns: The secret.
    /// - Throws: ``SecretError`` with `environmentVariableNotSet`, `fileNotFound`, `insecureFile` or
    ///   `unreadable`.
    public func read() throws(SecretError) -> String {
        try read(environment: ProcessInfo.processInfo.environment)
    }

    /// Reads the secret, looking environment variables up in `environment`.
    ///
    /// - Parameter environment: The environment to read `env:` references from.
    /// - Returns: The secret, with one trailing newline removed from a file's contents.
    /// - Throws: ``SecretError`` with `environmentVariableNotSet`, `fileNotFound`, `insecureFile` or
    ///   `unreadable`.
    public func read(environment: [String: String]) throws(SecretError) -> String {
        switch self {
        case .environment(let name, let location):
            guard let value = environment[name] else {
                throw SecretError(
                    .environmentVariableNotSet,
                    at: location,
                    "Environment variable \(name) is not set; export it before running octoprov."
                )
            }
            return value
        case .file(let path, let location):
            if let problem = FileProblem(checking: path) {
                throw SecretError(problem.code, at: location, "Cannot use \(problem.clause(path)).")
            }
            guard let data = FileManager.default.contents(atPath: path),
                let text = String(data: data, encoding: .utf8)
            else {
                throw SecretError(.unreadable, at: location, "Secret file \(path) could not be read as UTF-8 text.")
            }
            return Self.removingOneTrailingNewline(text)
        }
    }

    /// What to make of the text of a secret field.
    enum Parsed: Equatable {
        case reference(SecretReference)
        /// Not `env:` or `file:`: the secret itself. Its value must never be echoed.
        case inline
        /// `env:` or `file:` with nothing usable after it; the reason is one clause without the value.
        case invalid(String)
    }

    /// Parses `env:NAME` or `file:PATH` (relative to `directory`, `~` against `home`).
    static func parse(_ text: String, relativeTo directory: String, home: String, location: SourceLocation) -> Parsed {
        if text.hasPrefix("env:") {
            let name = String(text.dropFirst(4))
            guard let first = name.unicodeScalars.first, !("0"..."9").contains(first),
                name.unicodeScalars.allSatisfy(isEnvironmentNameScalar)
            else {
                return .invalid("`env:` must be followed by an environment variable name such as `env:VM_PASSWORD`")
            }
            return .reference(.environment(name, location: location))
        }
        if text.hasPrefix("file:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty else {
                return .invalid("`file:` must be followed by a path such as `file:secrets/vm1`")
            }
            return .reference(
                .file(PathResolution.resolve(path, relativeTo: directory, home: home), location: location)
            )
        }
        return .inline
    }

    private static func isEnvironmentNameScalar(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "_" || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }

    /// `text` without one trailing `\n` (or `\r\n`), as editors and `echo` leave one.
    static func removingOneTrailingNewline(_ text: String) -> String {
        var scalars = text.unicodeScalars[...]
        guard scalars.last == "\n" else { return text }
        scalars = scalars.dropLast()
        if scalars.last == "\r" { scalars = scalars.dropLast() }
        return String(String.UnicodeScalarView(scalars))
    }

    /// Why a secret file cannot be used: missing, not a regular file, or open to group or others.
    enum FileProblem: Equatable {
        case missing
        case notRegular
        case openToOthers
        case unreadable(String)

        /// Checks the file at `path` (following symbolic links); `nil` when it can be used.
        init?(checking path: String) {
            switch LocalPathKind(path) {
            case .missing: self = .missing
            case .unreadable(let reason): self = .unreadable(reason)
            case .directory, .special: self = .notRegular
            case .regularFile(let permissions, _) where permissions & 0o077 != 0: self = .openToOthers
            case .regularFile: return nil
            }
        }

        /// The problem as a clause that starts with "secret file PATH", for a sentence around it.
        func clause(_ path: String) -> String {
            switch self {
            case .missing:
                return "secret file \(path), which does not exist"
            case .notRegular:
                return "secret file \(path), which is not a regular file"
            case .openToOthers:
                return "secret file \(path), which is readable by group or others; run `chmod 600 \(path)`"
            case .unreadable(let reason):
                return "secret file \(path), which cannot be read (\(reason))"
            }
        }

        /// The matching ``SecretError/Code``.
        var code: SecretError.Code {
            switch self {
            case .missing: .fileNotFound
            case .notRegular, .openToOthers: .insecureFile
            case .unreadable: .unreadable
            }
        }
    }
}

/// A secret that could not be read, in one sentence naming the variable or file.
public struct SecretError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong (a struct around a private enum, so that new codes never break a caller's `switch`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case environmentVariableNotSet
            case fileNotFound
            case insecureFile
            case unreadable
        }
        let base: Base
        init(_ base: Base) { self.base = base }

        /// The environment variable named by `env:NAME` is not set.
        public static let environmentVariableNotSet = Code(.environmentVariableNotSet)
        /// The file named by `file:PATH` does not exist.
        public static let fileNotFound = Code(.fileNotFound)
        /// The file is not a regular file, or group or others have permissions on it.
        public static let insecureFile = Code(.insecureFile)
        /// The file exists but could not be read, or is not UTF-8 text.
        public static let unreadable = Code(.unreadable)

        /// The code's name, such as `insecureFile`.
        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// Where the reference is written in the inventory.
    public var location: SourceLocation
    /// One sentence naming the variable or file; it never contains the secret.
    public var message: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: What went wrong.
    ///   - location: Where the reference is written.
    ///   - message: One sentence naming the variable or file.
    public init(_ code: Code, at location: SourceLocation, _ message: String) {
        self.code = code
        self.location = location
        self.message = message
    }

    /// The message alone: the sentence already names the variable or file.
    public var description: String { message }
}
