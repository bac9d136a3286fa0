/// One problem found in an inventory, written for the person at the terminal.
///
/// Compare errors by ``code``; the ``message`` is one sentence that names the offending key (for example
/// `hosts.vm1.port`) and never repeats the value of a secret field.
public struct InventoryError: LocatedProblem {
    /// What went wrong, as an extensible set of codes (a struct around a private enum, so that new codes never
    /// break a caller's `switch`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case unreadableFile
            case syntaxError
            case wrongType
            case invalidValue
            case unknownKey
            case duplicateKey
            case missingKey
            case noHosts
            case fileNotFound
            case inlineSecret
            case invalidSecretReference
            case insecureSecretFile
            case secretNotSet
            case unknownName
            case groupCycle
            case conflictingKeys
            case unsupportedVersion
            case unsafeQuarantine
            case checksumMismatch
            case notRegularFile
        }
        let base: Base
        init(_ base: Base) { self.base = base }

        /// The inventory file could not be read, or is not UTF-8 text.
        public static let unreadableFile = Code(.unreadableFile)
        /// The file is not well-formed YAML (tabs in indentation included).
        public static let syntaxError = Code(.syntaxError)
        /// A value has the wrong YAML type (a list where a mapping belongs, text where a number belongs).
        public static let wrongType = Code(.wrongType)
        /// A value has the right type but is out of range or not one of the allowed values.
        public static let invalidValue = Code(.invalidValue)
        /// A key the inventory format does not know (often a typo; the message suggests the nearest key).
        public static let unknownKey = Code(.unknownKey)
        /// A key given twice in the same mapping, such as two hosts with one name.
        public static let duplicateKey = Code(.duplicateKey)
        /// A required key is missing (`address`, `user`).
        public static let missingKey = Code(.missingKey)
        /// `hosts` is missing or empty.
        public static let noHosts = Code(.noHosts)
        /// A file the inventory refers to (an identity, a secret file) does not exist.
        public static let fileNotFound = Code(.fileNotFound)
        /// A secret field holds the secret itself instead of an `env:` or `file:` reference.
        public static let inlineSecret = Code(.inlineSecret)
        /// An `env:` or `file:` reference that names nothing usable.
        public static let invalidSecretReference = Code(.invalidSecretReference)
        /// A secret file is not a regular file, or is readable by group or others.
        public static let insecureSecretFile = Code(.insecureSecretFile)
        /// A secret reference that cannot be read when it is checked: an unset environment variable, an empty
        /// value, an unreadable file.
        public static let secretNotSet = Code(.secretNotSet)
        /// A name that refers to nothing: a group member, an instance's host pattern, `--instance`, `--limit`.
        public static let unknownName = Code(.unknownName)
        /// Groups that contain themselves through their members.
        public static let groupCycle = Code(.groupCycle)
        /// Keys that exclude each other (two package sources), or settings that cannot go together (hosts of
        /// several platforms in one instance, a key that does not belong to the instance's mode).
        public static let conflictingKeys = Code(.conflictingKeys)
        /// A version the platform or the flow cannot provision (a container before 2020.6, Export/Import
        /// before 2021.1 without the Migrator route).
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// A clone's quarantine switched off without the acknowledgement that the clone may act on production.
        public static let unsafeQuarantine = Code(.unsafeQuarantine)
        /// A local package whose SHA-256 is not the pinned `sha256`.
        public static let checksumMismatch = Code(.checksumMismatch)
        /// A file the inventory names (a package, a backup, an identity, `known_hosts`) is a folder, device, FIFO or
        /// socket rather than a regular file.
        public static let notRegularFile = Code(.notRegularFile)

        /// The code's name, such as `unknownKey`.
        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// Where: the offending node (or, for a missing key, the mapping that lacks it).
    public var location: SourceLocation
    /// The dotted key path of the offending value, such as `hosts.vm1.port`; empty for file-level problems.
    public var keyPath: String
    /// One sentence naming the key, with no "Error:" prefix.
    public var message: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: What went wrong.
    ///   - location: Where.
    ///   - keyPath: The dotted key path of the offending value, or empty.
    ///   - message: One sentence naming the key.
    public init(_ code: Code, at location: SourceLocation, keyPath: String, _ message: String) {
        self.code = code
        self.location = location
        self.keyPath = keyPath
        self.message = message
    }

    /// `FILE:LINE:COL: MESSAGE`.
    public var description: String { "\(location): \(message)" }
}
