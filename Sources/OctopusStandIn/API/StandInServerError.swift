/// Why the stand-in server could not be created or started: one sentence naming the file, address or
/// setting and what to do.
public struct StandInServerError: StandInError {
    /// What went wrong (a struct around a private enum, so new codes never break a caller's `switch`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case invalidListenPrefix
            case invalidVersion
            case invalidSetting
            case databaseUnavailable
            case bindFailed
            case logUnwritable
            case alreadyStarted
        }
        let base: Base
        init(_ base: Base) { self.base = base }

        /// A listen prefix is not `http://host:port/…` (HTTPS is not served by the stand-in).
        public static let invalidListenPrefix = Code(.invalidListenPrefix)
        /// The runtime's version is not a version number.
        public static let invalidVersion = Code(.invalidVersion)
        /// An `OCTOPUS_STANDIN_*` environment variable has a value that is not a positive number.
        public static let invalidSetting = Code(.invalidSetting)
        /// The database file cannot be opened or is not an Octopus database.
        public static let databaseUnavailable = Code(.databaseUnavailable)
        /// A listen address cannot be bound (in use, or not an address of this machine).
        public static let bindFailed = Code(.bindFailed)
        /// The home folder's log files cannot be written.
        public static let logUnwritable = Code(.logUnwritable)
        /// `start()` was called on a server that was already started.
        public static let alreadyStarted = Code(.alreadyStarted)

        public var description: String { base.rawValue }
    }

    /// Compare errors by code, never by message.
    public var code: Code
    /// One sentence for the person at the terminal.
    public var message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
