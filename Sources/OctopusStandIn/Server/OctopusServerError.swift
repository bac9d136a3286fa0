/// A failed `Octopus.Server` verb: one sentence for the person, and whether it was a usage error.
public struct OctopusServerError: StandInError {
    /// What went wrong (a struct around a private enum, so new codes never break a caller's `switch`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case usage
            case noVersion
            case notConfigured
            case database
            case masterKey
            case schema
            case licence
            case service
            case failed
        }
        let base: Base
        init(_ base: Base) { self.base = base }

        /// An unknown verb or option, a missing or malformed value (exit code 1).
        public static let usage = Code(.usage)
        /// The binary is not inside a versioned package.
        public static let noVersion = Code(.noVersion)
        /// The instance, its config file or a setting it needs is missing.
        public static let notConfigured = Code(.notConfigured)
        /// The database is missing, unreachable or not an Octopus database.
        public static let database = Code(.database)
        /// The master key is missing or does not decrypt the database.
        public static let masterKey = Code(.masterKey)
        /// The database schema does not match the binary's version.
        public static let schema = Code(.schema)
        /// No licence is installed.
        public static let licence = Code(.licence)
        /// Starting or stopping the server process failed.
        public static let service = Code(.service)
        /// Anything else (files, storage).
        public static let failed = Code(.failed)

        public var description: String { base.rawValue }
    }

    /// Compare errors by code, never by message.
    public var code: Code
    /// One sentence saying what is wrong and what to do; never contains a secret.
    public var message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The process exit code: 1 for usage errors, 100 for failures (what Octopus's "Terminating process
    /// with exit code 100" uses).
    public var exitCode: Int32 { code == .usage ? 1 : 100 }

    /// Runs `body` as the command line does: 0 when it returns; otherwise the error's sentence goes to
    /// `errorOutput` and its ``exitCode`` is returned.
    static func exitCode(errorOutput: (String) -> Void, _ body: () throws(OctopusServerError) -> Void) -> Int32 {
        do {
            try body()
            return 0
        } catch {
            errorOutput(error.message)
            return error.exitCode
        }
    }
}
