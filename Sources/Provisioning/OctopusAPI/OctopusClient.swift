import Foundation
public import Wire

/// An async client for one Octopus Server's REST API (octopus-facts.md §4).
///
/// In production use its base URL is `http://127.0.0.1:<port>` of an SSH `LocalPortForward` to the host's
/// listen prefix; the client does not care, as long as it is plain HTTP (the SSH tunnel is the encryption).
/// Every request carries the API key in the `X-Octopus-ApiKey` header only, never in a URL; error messages,
/// `description` and reflection never show it.
///
/// Requests that find nothing listening (connection refused, or a connection closed before any reply, which is
/// how a port forward reports a refusal on the host) and idempotent requests answered 503 (a server starting) are
/// retried with exponential backoff until ``Options/retryDeadline``. Other failures are thrown at once as
/// ``OctopusAPIError``.
public struct OctopusClient: Sendable, CustomStringConvertible {
    /// Timeouts, retries and paging.
    public struct Options: Sendable, Hashable {
        /// How long connecting may take.
        public var connectTimeout: Duration = .seconds(5)
        /// How long one request may take, from connecting to the last byte of the reply.
        public var requestTimeout: Duration = .seconds(30)
        /// The deadline for retries, counted from a request's first attempt: while nothing listens (connection
        /// refused, or closed before any reply) or the server answers 503, the request is tried again until then.
        /// `.zero` never retries.
        public var retryDeadline: Duration = .seconds(15)
        /// The pause before the first retry; each later pause doubles, up to ``maximumBackoff``.
        public var initialBackoff: Duration = .milliseconds(250)
        /// The longest pause between retries.
        public var maximumBackoff: Duration = .seconds(4)
        /// The `take` asked of paged collections (the server may answer with fewer; `skip` moves on by what came).
        public var pageSize: Int = 1000
        /// The most pages read from one collection.
        public var maximumPages: Int = 10000
        /// The largest response body accepted.
        public var maximumResponseBytes: Int = 256 << 20

        /// The defaults: 5 s to connect, 30 s per request, retries for 15 s, 1000 items per page.
        public init() {}
    }

    /// The server as `host:port`, for messages.
    public var server: String { endpoint.label }
    /// The base URL as given, normalised (`http://host:port[/prefix]`).
    public var baseURL: String { "http://\(endpoint.label)\(endpoint.basePath)" }
    /// The options in use.
    public var options: Options

    let endpoint: HTTPEndpoint
    private let apiKey: APIKey?

    /// Creates a client.
    ///
    /// - Parameters:
    ///   - baseURL: `http://host:port`, optionally with a path prefix (`http://127.0.0.1:8080/octopus`).
    ///   - apiKey: The API key (`API-…`), sent in `X-Octopus-ApiKey`; `nil` for anonymous calls (`/api`, ping).
    ///   - options: Timeouts, retries and paging.
    /// - Throws: `.invalidRequest` when `baseURL` is not a plain `http://` URL.
    public init(baseURL: String, apiKey: String?, options: Options = Options()) throws(OctopusAPIError) {
        guard let endpoint = HTTPEndpoint(baseURL) else {
            throw OctopusAPIError(
                .invalidRequest,
                method: "GET",
                path: "/api",
                server: baseURL,
                message:
                    "`\(baseURL)` is not an Octopus base URL octoprov can call; give http://host:port (plain HTTP, "
                    + "for example the local end of an SSH port forward)."
            )
        }
        self.endpoint = endpoint
        self.apiKey = apiKey.flatMap { $0.isEmpty ? nil : APIKey($0) }
        self.options = options
    }

    /// The client without its key: `OctopusClient(http://127.0.0.1:8080, API key set)`.
    public var description: String {
        "OctopusClient(\(baseURL), \(apiKey == nil ? "no API key" : "API key set"))"
    }

    // MARK: - Requests

    /// Sends a request and returns the response, whatever its status (only failures to get one are thrown).
    ///
    /// - Parameters:
    ///   - method: `GET`, `PUT`, `POST`, …
    ///   - path: A path under the base URL starting with `/api`, or a link the server gave (`Links`), possibly
    ///     with its query already in it.
    ///   - query: Query parameters to add, percent-encoded here.
    ///   - body: A JSON body.
    /// - Returns: The response.
    public func send(
        _ method: String,
        _ path: String,
        query: [(name: String, value: String)] = [],
        body: JSONValue? = nil
    ) async throws(OctopusAPIError) -> OctopusHTTPResponse {
        var raw: (contentType: String, bytes: [UInt8])?
        if let body {
            do {
                raw = ("application/json; charset=utf-8", Array(try JSONEncoder().encode(body)))
            } catch {
                let target = shownTarget(method, path, query: query)
                throw failure(.invalidRequest, method, target, "could not encode its JSON body")
            }
        }
        return try await send(method, path, query: query, raw: raw)
    }

    /// Sends a request with a body of any type (a multipart upload), with the retries of
    /// ``send(_:_:query:body:)``.
    ///
    /// - Parameters:
    ///   - method: `POST`, `PUT`, …
    ///   - path: The path under the base URL, or a link the server gave.
    ///   - query: Query parameters.
    ///   - raw: The body's `Content-Type` and bytes, or `nil` for none.
    /// - Returns: The response, whatever its status.
    public func send(
        _ method: String,
        _ path: String,
        query: [(name: String, value: String)] = [],
        raw: (contentType: String, bytes: [UInt8])?
    ) async throws(OctopusAPIError) -> OctopusHTTPResponse {
        let target = try self.target(method, path, query: query)
        var headers: [(name: String, value: String)] = [("Accept", "application/json")]
        if let apiKey { headers.append(("X-Octopus-ApiKey", apiKey.value)) }
        var bytes: [UInt8]?
        if let raw {
            headers.append(("Content-Type", raw.contentType))
            bytes = raw.bytes
        }
        let request = HTTPTransport.Request(method: method, target: target, headers: headers, body: bytes)
        let idempotent = ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"].contains(method)
        let clock = ContinuousClock()
        let started = clock.now
        let deadline = started.advanced(by: options.retryDeadline)
        var attempt = 0
        var backoff = options.initialBackoff
        while true {
            attempt += 1
            let reason: String
            var unavailable: OctopusHTTPResponse? = nil
            do {
                let response = try await HTTPTransport.perform(
                    request,
                    to: endpoint,
                    connectTimeout: options.connectTimeout,
                    timeout: options.requestTimeout,
                    maximumBodyBytes: options.maximumResponseBytes
                )
                // 503: a server still starting (or in maintenance) answers it before it serves the API.
                if response.status != 503 || !idempotent || clock.now >= deadline { return response }
                reason = "HTTP 503"
                unavailable = response
            } catch .refused(let refusal) {
                reason = refusal
            } catch .closedBeforeReply where idempotent {
                reason = "closed before any reply"
            } catch {
                throw transportError(error, method, target)
            }
            let remaining = clock.now.duration(to: deadline)
            guard remaining > .zero else {
                if let unavailable { return unavailable }
                throw unreachable(method, target, reason, attempts: attempt, since: started)
            }
            do {
                try await Task.sleep(for: min(backoff, remaining))
            } catch {
                throw failure(.cancelled, method, target, "was cancelled")
            }
            backoff = min(backoff * 2, options.maximumBackoff)
        }
    }

    /// `GET`s `path` and decodes the JSON answer as `type`; any status but 2xx is an error.
    ///
    /// - Parameters:
    ///   - type: What the answer is.
    ///   - path: The path (or a server-given link).
    ///   - query: Query parameters to add.
    /// - Returns: The decoded answer.
    public func get<T: Decodable>(
        _ type: T.Type,
        _ path: String,
        query: [(name: String, value: String)] = []
    ) async throws(OctopusAPIError) -> T {
        try await decode(type, "GET", path, query: query, body: nil)
    }

    /// `PUT`s `body` to `path` and decodes the answer as `type`; any status but 2xx is an error.
    ///
    /// - Parameters:
    ///   - type: What the answer is.
    ///   - path: The resource's path (its `Links.Self`).
    ///   - body: The whole resource.
    /// - Returns: The decoded answer.
    public func put<T: Decodable>(
        _ type: T.Type,
        _ path: String,
        body: JSONValue
    ) async throws(OctopusAPIError) -> T {
        try await decode(type, "PUT", path, query: [], body: body)
    }

    /// `POST`s `body` to `path` and decodes the answer as `type`; any status but 2xx is an error. A POST is not
    /// retried once it may have reached the server.
    ///
    /// - Parameters:
    ///   - type: What the answer is.
    ///   - path: The path.
    ///   - body: The JSON body.
    /// - Returns: The decoded answer.
    public func post<T: Decodable>(
        _ type: T.Type,
        _ path: String,
        body: JSONValue
    ) async throws(OctopusAPIError) -> T {
        try await decode(type, "POST", path, query: [], body: body)
    }

    /// Every item of a paged collection: asks for ``Options/pageSize`` items at a time with `skip` and `take`,
    /// moving `skip` on by the items each page brought, until `TotalResults` items are read.
    ///
    /// Octopus may cap `take` (the page says so in `ItemsPerPage`), so the pages are counted by what arrives, not
    /// by what was asked. A server that stops giving items before `TotalResults`, or gives an item twice (it
    /// ignores `skip`), is an error rather than a short list: a verification must not miss an enabled target.
    ///
    /// - Parameters:
    ///   - type: What each item is.
    ///   - path: The collection's path, such as `/api/Spaces-1/machines`.
    ///   - query: Filters to add (`skip` and `take` are set here).
    /// - Returns: The items, in the server's order.
    public func all<Item: Decodable & Sendable>(
        _ type: Item.Type,
        _ path: String,
        query: [(name: String, value: String)] = []
    ) async throws(OctopusAPIError) -> [Item] {
        let filters = query.filter { !["skip", "take"].contains($0.name.lowercased()) }
        var items: [Item] = []
        var seen: Set<String> = []
        var pages = 0
        while true {
            let pageQuery = filters + [("skip", String(items.count)), ("take", String(options.pageSize))]
            let page = try await get(OctopusPage<Item>.self, path, query: pageQuery)
            pages += 1
            func broken(_ sentence: String) -> OctopusAPIError {
                failure(.invalidResponse, "GET", shownTarget("GET", path, query: pageQuery), sentence)
            }
            for item in page.items {
                if let id = (item as? any OctopusIdentified)?.id, !seen.insert(id.lowercased()).inserted {
                    throw broken(
                        "gave \(id) again after \(items.count) items; the server seems to ignore `skip`, so the "
                            + "collection cannot be read whole"
                    )
                }
            }
            items += page.items
            if items.count >= page.totalResults { return items }
            guard !page.items.isEmpty else {
                throw broken(
                    "gave no items after \(items.count) of the \(page.totalResults) it counts; the collection changed "
                        + "while it was read or its paging is broken, so read it again"
                )
            }
            guard pages < options.maximumPages else {
                throw broken(
                    "still had items after \(pages) pages (\(items.count) of \(page.totalResults)); raise the page "
                        + "size or the page limit"
                )
            }
        }
    }

    /// `GET`s `path` and returns the body's bytes (an artifact's content); any status but 2xx is an error.
    ///
    /// - Parameter path: The path or a server-given link (`Links.Content`).
    /// - Returns: The bytes.
    public func download(_ path: String) async throws(OctopusAPIError) -> [UInt8] {
        let response = try await send("GET", path, raw: nil)
        guard (200...299).contains(response.status) else {
            throw statusError(response, "GET", shownTarget("GET", path))
        }
        return response.body
    }

    /// `POST`s one file as the multipart/form-data field `field` and decodes the JSON answer as `type`.
    ///
    /// - Parameters:
    ///   - type: What the answer is.
    ///   - path: The path (`/api/Spaces-1/projects/import-export/import-files`).
    ///   - field: The form field's name (`fileData`).
    ///   - fileName: The file name sent with it.
    ///   - bytes: The file.
    /// - Returns: The decoded answer.
    public func upload<T: Decodable>(
        _ type: T.Type,
        _ path: String,
        field: String,
        fileName: String,
        bytes: [UInt8]
    ) async throws(OctopusAPIError) -> T {
        let boundary = "octoprov-" + UUID().uuidString
        var body = Array(
            ("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field)\"; filename=\"\(fileName)\"\r\n"
                + "Content-Type: application/octet-stream\r\n\r\n").utf8
        )
        body += bytes
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        let response = try await send("POST", path, raw: ("multipart/form-data; boundary=\(boundary)", body))
        let target = shownTarget("POST", path)
        guard (200...299).contains(response.status) else { throw statusError(response, "POST", target) }
        do {
            return try JSONDecoder().decode(type, from: Data(response.body))
        } catch {
            throw failure(.invalidResponse, "POST", target, "answered with JSON octoprov cannot read")
        }
    }

    // MARK: - Internals

    private func decode<T: Decodable>(
        _ type: T.Type,
        _ method: String,
        _ path: String,
        query: [(name: String, value: String)],
        body: JSONValue?
    ) async throws(OctopusAPIError) -> T {
        let response = try await send(method, path, query: query, body: body)
        let target = shownTarget(method, path, query: query)
        guard (200...299).contains(response.status) else {
            throw statusError(response, method, target)
        }
        do {
            return try JSONDecoder().decode(type, from: Data(response.body))
        } catch let error as DecodingError {
            throw failure(
                .invalidResponse,
                method,
                target,
                "answered HTTP \(response.status) with JSON octoprov cannot read (\(Self.describe(error)))",
                status: response.status
            )
        } catch {
            throw failure(.invalidResponse, method, target, "answered with a body that is not JSON")
        }
    }

    /// ``target(_:_:query:)`` for wording a message about another failure, or `path` as given when `target` refuses
    /// it.
    func shownTarget(_ method: String, _ path: String, query: [(name: String, value: String)] = []) -> String {
        // Ignoring is the point: this only names the request in a message; a path `target` refuses is reported as
        // such when the request is sent.
        (try? target(method, path, query: query)) ?? path
    }

    /// The request target for `path` (a path under the base or a server-given link) plus `query`.
    func target(
        _ method: String,
        _ path: String,
        query: [(name: String, value: String)]
    ) throws(OctopusAPIError)
        -> String
    {
        let invalid = path.unicodeScalars.contains { $0.value <= 0x20 || $0.value == 0x7F }
        guard path.hasPrefix("/"), !invalid else {
            throw failure(
                .invalidRequest,
                method,
                path.filter { !$0.isNewline },
                "is not a path octoprov can request (it must start with `/` and hold no spaces or control characters)"
            )
        }
        let names = query.map { $0.name.lowercased() } + Self.queryNames(of: path)
        guard !names.contains("apikey") else {
            throw OctopusAPIError(
                .invalidRequest,
                method: method,
                path: Self.withoutQuery(path),
                server: endpoint.label,
                message:
                    "\(method) \(Self.withoutQuery(path)) on \(endpoint.label) was refused by octoprov: an API key goes "
                    + "in the client's X-Octopus-ApiKey header, never in a URL."
            )
        }
        var target = path
        if !endpoint.basePath.isEmpty && !(path == endpoint.basePath || path.hasPrefix(endpoint.basePath + "/")) {
            target = endpoint.basePath + path
        }
        if !query.isEmpty {
            let encoded = query.map { "\(Self.percentEncode($0.name))=\(Self.percentEncode($0.value))" }
            target += (target.contains("?") ? "&" : "?") + encoded.joined(separator: "&")
        }
        return target
    }

    /// The error for a non-2xx answer, with Octopus's `ErrorMessage` and `Errors`.
    func statusError(_ response: OctopusHTTPResponse, _ method: String, _ target: String) -> OctopusAPIError {
        // A body that is not JSON (a proxy's HTML page, say) has no Octopus message: the status alone is reported.
        let document = try? JSONDecoder().decode(JSONValue.self, from: Data(response.body))
        var parts: [String] = []
        var texts: [String] = []
        if let message = document?.member("ErrorMessage")?.stringValue { texts.append(message) }
        texts += (document?.member("Errors")?.arrayValue ?? []).compactMap(\.stringValue)
        for text in texts.map(Self.withoutFinalPeriod) where !text.isEmpty && !parts.contains(text) {
            parts.append(text)
        }
        let octopusMessage = parts.isEmpty ? nil : redactor.redact(parts.joined(separator: "; "))
        var sentence = "answered HTTP \(response.status)"
        if let octopusMessage {
            sentence += ": " + Self.withoutFinalPeriod(octopusMessage)
        } else {
            sentence += " with no Octopus error message"
        }
        switch response.status {
        case 401, 403:
            sentence += "; check the API key octoprov uses for this instance"
        case 404:
            sentence += "; this server has no such path or resource: check the Id, and that the version has the path "
            sentence += "(spaces came in 2019.1, Export/Import Projects in 2021.1)"
        case 503:
            sentence += "; the server is not ready (still starting, or in maintenance): wait, or check its log"
        case 500...599:
            sentence += "; the Octopus server's log says why"
        case 400...499:
            sentence += "; the server refused the request as sent"
        default:
            break
        }
        return failure(.httpStatus, method, target, sentence, status: response.status, octopusMessage: octopusMessage)
    }

    private func unreachable(
        _ method: String,
        _ target: String,
        _ reason: String,
        attempts: Int,
        since started: ContinuousClock.Instant
    ) -> OctopusAPIError {
        let seconds = Self.seconds(started.duration(to: ContinuousClock().now))
        return failure(
            .unreachable,
            method,
            target,
            "found nothing answering (\(reason)) on \(attempts) attempts over \(seconds) s; check that the Octopus "
                + "service is running and listening there (through an SSH port forward, on the host's port)"
        )
    }

    private func transportError(_ error: TransportFailure, _ method: String, _ target: String) -> OctopusAPIError {
        switch error {
        case .refused(let reason):
            return failure(.unreachable, method, target, "could not connect (\(reason))")
        case .closedBeforeReply:
            return failure(
                .unreachable,
                method,
                target,
                "got no reply: the connection was closed first (not retried, the request may have reached the server)"
            )
        case .timedOut(let phase):
            let limit = phase == "connect" ? options.connectTimeout : options.requestTimeout
            let what = phase == "connect" ? "could not connect" : "got no complete reply"
            return failure(
                .timedOut,
                method,
                target,
                "\(what) within \(Self.seconds(limit)) s; check that the service is not stuck (its log), or allow more time"
            )
        case .network(let reason):
            return failure(.unreachable, method, target, "lost the connection (\(reason.lowercased()))")
        case .malformed(let reason):
            return failure(.invalidResponse, method, target, "answered with something that is not HTTP (\(reason))")
        case .tooLarge(let size):
            return failure(
                .invalidResponse,
                method,
                target,
                "answered with \(size) bytes, more than the \(options.maximumResponseBytes) octoprov accepts"
            )
        case .unresolved(let reason):
            return failure(.unreachable, method, target, "names a host that does not resolve (\(reason))")
        case .cancelled:
            return failure(.cancelled, method, target, "was cancelled")
        }
    }

    /// An error whose message reads "METHOD PATH on HOST:PORT <sentence>."
    func failure(
        _ code: OctopusAPIError.Code,
        _ method: String,
        _ target: String,
        _ sentence: String,
        status: Int? = nil,
        octopusMessage: String? = nil
    ) -> OctopusAPIError {
        OctopusAPIError(
            code,
            method: method,
            path: target,
            server: endpoint.label,
            status: status,
            octopusMessage: octopusMessage,
            message: redactor.redact("\(method) \(target) on \(endpoint.label) \(sentence).")
        )
    }

    private var redactor: Redactor { Redactor(secrets: apiKey.map { [$0.value] } ?? []) }

    /// `duration` in seconds with one decimal, such as `7.8`.
    static func seconds(_ duration: Duration) -> String {
        String(format: "%.1f", duration / .seconds(1))
    }

    static func withoutFinalPeriod(_ text: String) -> String {
        var text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        while text.hasSuffix(".") { text.removeLast() }
        return text
    }

    private static func withoutQuery(_ path: String) -> String {
        path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? path
    }

    private static func queryNames(of path: String) -> [String] {
        guard let question = path.firstIndex(of: "?") else { return [] }
        return path[path.index(after: question)...].split(separator: "&").map { pair in
            let name = pair.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
            return (name.removingPercentEncoding ?? name).lowercased()
        }
    }

    private static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
    )

    private static func percentEncode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return keys.isEmpty ? "the document" : "`\(keys.joined(separator: "."))`"
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "no `\(key.stringValue)` in \(parent)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\(path(context)) is not what Octopus sends: \(context.debugDescription)"
        case .dataCorrupted(let context):
            return "\(path(context)): \(context.debugDescription)"
        @unknown default:
            return "unreadable"
        }
    }
}

/// The API key, kept out of `description`, `dump` and every other reflection.
private struct APIKey: Sendable, CustomStringConvertible, CustomReflectable {
    let value: String
    init(_ value: String) { self.value = value }
    var description: String { Redactor.mask }
    var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
