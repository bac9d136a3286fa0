import Foundation

/// Limits that keep one slow or hostile client from holding the server.
public struct HTTPLimits: Sendable {
    /// The most bytes of request line plus header fields.
    public var maximumHeaderBytes = 64 * 1024
    /// The most header fields.
    public var maximumHeaderCount = 100
    /// The largest request body (an Export/Import zip upload is the largest the API takes).
    public var maximumBodyBytes = 512 * 1024 * 1024
    /// Seconds a client may take to send a request's line and header fields, from its first byte.
    public var headerTimeout: Double = 30
    /// Seconds a body may stall without a byte arriving.
    public var bodyIdleTimeout: Double = 30
    /// Seconds an idle kept-alive connection stays open waiting for the next request.
    public var keepAliveTimeout: Double = 15
    /// Seconds a response may take to be written.
    public var writeTimeout: Double = 60
    /// The most connections served at once; more are answered 503 and closed.
    public var maximumConnections = 64

    /// The defaults above.
    public init() {}
}

/// Why a request could not be read; ``status`` is what to answer before closing (`nil`: just close).
public struct HTTPReadError: Error, Sendable {
    /// The status to answer with, or `nil` to just close.
    public var status: Int?
    /// One sentence for the log.
    public var message: String

    /// An error answered with `status` (`nil`: just close).
    public init(status: Int?, message: String) {
        self.status = status
        self.message = message
    }
}

/// Reads requests from one connection, keeping bytes that arrived beyond a request for the next one.
public struct HTTPRequestReader {
    let descriptor: Int32
    let peer: String
    let limits: HTTPLimits
    private var buffer: [UInt8] = []

    /// A reader of the connection `descriptor` from `peer`.
    public init(descriptor: Int32, peer: String, limits: HTTPLimits) {
        self.descriptor = descriptor
        self.peer = peer
        self.limits = limits
    }

    /// Reads the next request; `nil` when the client closed (or stayed idle past the keep-alive time)
    /// before sending any byte of one. `continueHandler` is called when the client asked for
    /// `Expect: 100-continue`, before the body is read.
    public mutating func next(continueHandler: () throws(SocketError) -> Void) throws(HTTPReadError) -> HTTPRequest? {
        // Wait for the first byte within the keep-alive time; then the whole head within the header time.
        if buffer.isEmpty {
            do {
                let bytes = try POSIXSocket.read(
                    descriptor,
                    maximum: 16 * 1024,
                    deadline: POSIXSocket.deadline(after: limits.keepAliveTimeout),
                    what: peer
                )
                if bytes.isEmpty { return nil }
                buffer = bytes
            } catch {
                return nil
            }
        }
        let headDeadline = POSIXSocket.deadline(after: limits.headerTimeout)
        var headEnd: (end: Int, bodyStart: Int)?
        var searchFrom = 0
        while true {
            // Clients may send empty lines before a request (RFC 9112 §2.2).
            while buffer.starts(with: [0x0D, 0x0A]) || buffer.first == 0x0A {
                buffer.removeFirst(buffer.first == 0x0D ? 2 : 1)
            }
            headEnd = Self.findHeadEnd(buffer, from: searchFrom)
            if headEnd != nil { break }
            guard buffer.count <= limits.maximumHeaderBytes else {
                throw HTTPReadError(
                    status: 431,
                    message: "The request's header fields exceed \(limits.maximumHeaderBytes) bytes."
                )
            }
            searchFrom = max(0, buffer.count - 3)
            let more = try readMore(deadline: headDeadline, during: "the request header")
            guard !more.isEmpty else {
                throw HTTPReadError(status: nil, message: "\(peer) closed the connection in the middle of a request.")
            }
            buffer += more
        }
        guard let head = headEnd else { return nil }
        guard head.end <= limits.maximumHeaderBytes else {
            throw HTTPReadError(
                status: 431,
                message: "The request's header fields exceed \(limits.maximumHeaderBytes) bytes."
            )
        }
        // Split on LF bytes (a Swift String would keep "\r\n" together as one Character).
        let lines = buffer[0..<head.end].split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            String(decoding: line.last == 0x0D ? line.dropLast() : line, as: UTF8.self)
        }
        buffer.removeFirst(head.bodyStart)
        var request = try parseHead(lines)
        request.body = try readBody(for: request, continueHandler: continueHandler)
        return request
    }

    /// The end of the head (before the blank line) and where the body starts; accepts bare LF lines.
    public static func findHeadEnd(_ bytes: [UInt8], from start: Int) -> (end: Int, bodyStart: Int)? {
        var index = start
        while index < bytes.count {
            if bytes[index] == 0x0A {
                if index + 1 < bytes.count, bytes[index + 1] == 0x0A { return (index, index + 2) }
                if index + 2 < bytes.count, bytes[index + 1] == 0x0D, bytes[index + 2] == 0x0A {
                    return (index, index + 3)
                }
            }
            index += 1
        }
        return nil
    }

    private mutating func readMore(deadline: ContinuousClock.Instant, during: String) throws(HTTPReadError) -> [UInt8] {
        do {
            return try POSIXSocket.read(descriptor, maximum: 64 * 1024, deadline: deadline, what: peer)
        } catch  where error.kind == .timedOut {
            throw HTTPReadError(status: 408, message: "\(peer) took too long to send \(during).")
        } catch {
            throw HTTPReadError(status: nil, message: error.message)
        }
    }

    private func parseHead(_ head: [String]) throws(HTTPReadError) -> HTTPRequest {
        var lines = head
        let requestLine = lines.removeFirst()
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty,
            parts[0].allSatisfy({ $0.isASCII && ($0.isLetter || $0 == "-") })
        else {
            throw HTTPReadError(status: 400, message: "Malformed request line.")
        }
        let version = String(parts[2])
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            throw HTTPReadError(
                status: version.hasPrefix("HTTP/") ? 505 : 400,
                message: "Unsupported protocol version \(version)."
            )
        }
        let target = String(parts[1])
        guard target.hasPrefix("/"), target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw HTTPReadError(status: 400, message: "The request target must be an absolute path.")
        }
        guard lines.count <= limits.maximumHeaderCount else {
            throw HTTPReadError(status: 431, message: "More than \(limits.maximumHeaderCount) header fields.")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            if line.first == " " || line.first == "\t" {
                throw HTTPReadError(status: 400, message: "Folded header lines are not accepted.")
            }
            guard let (name, value) = HTTPHead.field(line) else {
                throw HTTPReadError(status: 400, message: "Malformed header field.")
            }
            let tokenCharacters = Set("!#$%&'*+-.^_`|~")
            guard !name.isEmpty,
                name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || tokenCharacters.contains($0)) })
            else {
                throw HTTPReadError(status: 400, message: "Malformed header field name.")
            }
            headers.append((name, value))
        }
        let split = HTTPRequest.split(target: target)
        return HTTPRequest(
            method: String(parts[0]),
            target: target,
            path: split.path,
            query: split.query,
            version: version,
            headers: headers,
            body: []
        )
    }

    private mutating func readBody(
        for request: HTTPRequest,
        continueHandler: () throws(SocketError) -> Void
    ) throws(HTTPReadError) -> [UInt8] {
        let transferEncoding = request.headers.filter { $0.name.lowercased() == "transfer-encoding" }.map(\.value)
        let lengths = Set(request.headers.filter { $0.name.lowercased() == "content-length" }.map(\.value))
        let chunked: Bool
        if !transferEncoding.isEmpty {
            let codings = transferEncoding.joined(separator: ",").lowercased().split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard codings == ["chunked"] else {
                throw HTTPReadError(status: 501, message: "Only the chunked transfer coding is supported.")
            }
            guard lengths.isEmpty else {
                throw HTTPReadError(
                    status: 400,
                    message: "A request must not have both Content-Length and Transfer-Encoding."
                )
            }
            chunked = true
        } else {
            chunked = false
        }
        var length = 0
        if !chunked {
            guard lengths.count <= 1 else {
                throw HTTPReadError(status: 400, message: "Conflicting Content-Length fields.")
            }
            if let text = lengths.first {
                guard !text.isEmpty, text.utf8.count <= 12, text.allSatisfy({ $0.isASCII && $0.isNumber }),
                    let value = Int(text)
                else {
                    throw HTTPReadError(status: 400, message: "Malformed Content-Length.")
                }
                length = value
            }
            guard length <= limits.maximumBodyBytes else {
                throw HTTPReadError(status: 413, message: "The request body exceeds \(limits.maximumBodyBytes) bytes.")
            }
            if length == 0 { return [] }
        }
        if (request.header("Expect") ?? "").lowercased() == "100-continue" {
            do {
                try continueHandler()
            } catch {
                throw HTTPReadError(status: nil, message: error.message)
            }
        }
        return chunked ? try readChunked() : try readExactly(length)
    }

    private mutating func readExactly(_ length: Int) throws(HTTPReadError) -> [UInt8] {
        while buffer.count < length {
            let more = try readMore(
                deadline: POSIXSocket.deadline(after: limits.bodyIdleTimeout),
                during: "the request body"
            )
            guard !more.isEmpty else {
                throw HTTPReadError(status: nil, message: "\(peer) closed the connection before the end of the body.")
            }
            buffer += more
        }
        let body = Array(buffer[0..<length])
        buffer.removeFirst(length)
        return body
    }

    /// Reads one line (without its CR LF) of a chunked body.
    private mutating func readLine(maximum: Int) throws(HTTPReadError) -> String {
        var searchFrom = 0
        while true {
            if let newline = buffer[searchFrom...].firstIndex(of: 0x0A) {
                var end = newline
                if end > 0, buffer[end - 1] == 0x0D { end -= 1 }
                let line = String(decoding: buffer[0..<end], as: UTF8.self)
                buffer.removeFirst(newline + 1)
                return line
            }
            guard buffer.count <= maximum else {
                throw HTTPReadError(status: 400, message: "Malformed chunked body: a line is too long.")
            }
            searchFrom = buffer.count
            let more = try readMore(
                deadline: POSIXSocket.deadline(after: limits.bodyIdleTimeout),
                during: "the request body"
            )
            guard !more.isEmpty else {
                throw HTTPReadError(status: nil, message: "\(peer) closed the connection in a chunked body.")
            }
            buffer += more
        }
    }

    private mutating func readChunked() throws(HTTPReadError) -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let line = try readLine(maximum: 4096)
            guard let size = HTTPHead.chunkSize(line, maximumDigits: 8) else {
                throw HTTPReadError(status: 400, message: "Malformed chunk size.")
            }
            if size == 0 {
                // Trailer fields, then an empty line.
                var trailerBytes = 0
                while true {
                    let trailer = try readLine(maximum: limits.maximumHeaderBytes)
                    if trailer.isEmpty { return body }
                    trailerBytes += trailer.utf8.count
                    guard trailerBytes <= limits.maximumHeaderBytes else {
                        throw HTTPReadError(status: 431, message: "The chunked body's trailer is too large.")
                    }
                }
            }
            guard body.count + size <= limits.maximumBodyBytes else {
                throw HTTPReadError(status: 413, message: "The request body exceeds \(limits.maximumBodyBytes) bytes.")
            }
            body += try readExactly(size)
            guard try readLine(maximum: 2).isEmpty else {
                throw HTTPReadError(status: 400, message: "Malformed chunked body: missing CRLF after a chunk.")
            }
        }
    }
}
