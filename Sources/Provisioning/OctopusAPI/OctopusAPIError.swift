/// A failed call to an Octopus REST API, in one sentence naming the request's path, the server, the HTTP status
/// and Octopus's `ErrorMessage`. It never contains the API key: the key travels only in the
/// `X-Octopus-ApiKey` header, and anything the server sends back is redacted before it is kept.
public struct OctopusAPIError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong (a struct around a private enum, so that new codes never break a caller's `switch`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case unreachable
            case timedOut
            case httpStatus
            case invalidResponse
            case invalidRequest
            case cancelled
        }
        let base: Base
        init(_ base: Base) { self.base = base }

        /// Nothing answered: the connection was refused, or closed before any reply (what an SSH port
        /// forward does when nothing listens on the host), on every attempt.
        public static let unreachable = Code(.unreachable)
        /// The server did not answer completely in time.
        public static let timedOut = Code(.timedOut)
        /// The server answered with an HTTP status other than 2xx (see ``OctopusAPIError/status``).
        public static let httpStatus = Code(.httpStatus)
        /// The answer was not HTTP, or not the JSON octoprov expected.
        public static let invalidResponse = Code(.invalidResponse)
        /// The request could not be made as asked (a malformed base URL or path, an API key in the query).
        public static let invalidRequest = Code(.invalidRequest)
        /// The calling task was cancelled.
        public static let cancelled = Code(.cancelled)

        /// The code's name, such as `httpStatus`.
        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// The request's method, such as `GET`.
    public var method: String
    /// The request's path and query, such as `/api/Spaces-1/machines?take=1000`.
    public var path: String
    /// The server as `host:port`.
    public var server: String
    /// The HTTP status, when the server answered.
    public var status: Int?
    /// Octopus's `ErrorMessage` (and its `Errors`, when they add something), redacted.
    public var octopusMessage: String?
    /// One sentence for the person; it never contains the API key.
    public var message: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: What went wrong.
    ///   - method: The request's method.
    ///   - path: The request's path and query.
    ///   - server: The server as `host:port`.
    ///   - status: The HTTP status, when there was one.
    ///   - octopusMessage: Octopus's error text, when there was one.
    ///   - message: One sentence for the person.
    public init(
        _ code: Code,
        method: String,
        path: String,
        server: String,
        status: Int? = nil,
        octopusMessage: String? = nil,
        message: String
    ) {
        self.code = code
        self.method = method
        self.path = path
        self.server = server
        self.status = status
        self.octopusMessage = octopusMessage
        self.message = message
    }

    /// The message alone: it already names the request and the server.
    public var description: String { message }
}
