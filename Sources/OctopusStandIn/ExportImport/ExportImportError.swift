/// Exporting or importing projects failed: one sentence saying what and what to do. Never holds a
/// password, a key or a sensitive value.
public struct ExportImportError: StandInError {
    /// What went wrong (a struct around a private enum, so new codes never break a caller's `switch`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case notFound
            case malformed
            case wrongPassword
            case newerVersion
            case versionMismatch
            case alreadyExists
            case masterKey
            case storage
        }
        let base: Base
        init(_ base: Base) { self.base = base }

        /// A project, file or task named in the request does not exist.
        public static let notFound = Code(.notFound)
        /// The export is not one the stand-in made, or is damaged.
        public static let malformed = Code(.malformed)
        /// The password does not decrypt the export.
        public static let wrongPassword = Code(.wrongPassword)
        /// The export was made by a newer Octopus than the one importing it.
        public static let newerVersion = Code(.newerVersion)
        /// The Migrator's versions differ (it needs the same version on both sides).
        public static let versionMismatch = Code(.versionMismatch)
        /// A project being imported already exists in the target space.
        public static let alreadyExists = Code(.alreadyExists)
        /// A sensitive value cannot be decrypted with the Master Key, or there is no key.
        public static let masterKey = Code(.masterKey)
        /// The database or a file could not be read or written.
        public static let storage = Code(.storage)

        public var description: String { base.rawValue }
    }

    /// Compare errors by code, never by message.
    public var code: Code
    /// One sentence for the person.
    public var message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Wraps a storage failure.
    static func storage(_ what: String, _ error: any Error) -> ExportImportError {
        if let known = error as? ExportImportError { return known }
        return ExportImportError(.storage, "Cannot \(what): \(error)")
    }
}
