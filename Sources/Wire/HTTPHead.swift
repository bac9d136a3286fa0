import Foundation

/// HTTP/1.1 framing shared by every reader and writer in the package (the stand-in's server and webhook client,
/// the Octopus API client, the tests' scripted server): the text of request and response heads, status lines,
/// header fields, chunk sizes and chunked bodies. Each caller keeps its own limits and error sentences.
public enum HTTPHead {
    /// A request head: `METHOD target HTTP/1.1`, `Host`, `fields` in order, `Content-Length` when given, and
    /// `Connection: close` when asked; ends with the empty line.
    /// - Parameters:
    ///   - method: The method.
    ///   - target: The request target (path and query, already percent-encoded).
    ///   - host: The `Host` field's value.
    ///   - fields: Other header fields.
    ///   - contentLength: The body's length, or `nil` for no `Content-Length` field.
    ///   - close: Whether to send `Connection: close`.
    /// - Returns: The head's bytes.
    public static func request(
        method: String,
        target: String,
        host: String,
        fields: [(name: String, value: String)],
        contentLength: Int?,
        close: Bool
    ) -> [UInt8] {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(host)\r\n"
        for field in fields { head += "\(field.name): \(field.value)\r\n" }
        if let contentLength { head += "Content-Length: \(contentLength)\r\n" }
        if close { head += "Connection: close\r\n" }
        return Array((head + "\r\n").utf8)
    }

    /// A response head: `HTTP/1.1 status reason` and `fields` in order; ends with the empty line.
    /// - Parameters:
    ///   - status: The status code.
    ///   - reason: The reason phrase (by default the standard one, ``reason(_:)``).
    ///   - fields: The header fields, framing fields included.
    /// - Returns: The head's bytes.
    public static func response(
        status: Int,
        reason: String? = nil,
        fields: [(name: String, value: String)]
    )
        -> [UInt8]
    {
        var head = "HTTP/1.1 \(status) \(reason ?? Self.reason(status))\r\n"
        for field in fields { head += "\(field.name): \(field.value)\r\n" }
        return Array((head + "\r\n").utf8)
    }

    /// The `100 Continue` interim response.
    public static let continueResponse = response(status: 100, fields: [])

    /// The version and status code of a status line (`HTTP/1.1 200 OK`), or `nil` when the line has no
    /// `HTTP/` version followed by a number.
    public static func statusLine(_ line: String) -> (version: Substring, status: Int)? {
        let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else { return nil }
        return (parts[0], status)
    }

    /// Splits a header line at its first colon; the value is trimmed of spaces and tabs. `nil` without a colon.
    public static func field(_ line: String) -> (name: String, value: String)? {
        guard let colon = line.firstIndex(of: ":") else { return nil }
        return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
    }

    /// The size on a chunk-size line (extensions after `;` ignored), or `nil` when it is not hexadecimal or has
    /// more than `maximumDigits` digits.
    public static func chunkSize(_ line: String, maximumDigits: Int = .max) -> Int? {
        let text = line.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard !text.isEmpty, text.count <= maximumDigits, let size = Int(text, radix: 16), size >= 0 else {
            return nil
        }
        return size
    }

    /// `body` in the chunked transfer coding, in chunks of at most `chunkSize` bytes, with the last chunk.
    public static func chunked(_ body: [UInt8], chunkSize: Int) -> [UInt8] {
        var payload: [UInt8] = []
        var offset = 0
        while offset < body.count {
            let size = min(chunkSize, body.count - offset)
            payload += Array("\(String(size, radix: 16))\r\n".utf8) + body[offset..<(offset + size)] + [0x0D, 0x0A]
            offset += size
        }
        return payload + Array("0\r\n\r\n".utf8)
    }

    /// The standard reason phrase of a status code.
    public static func reason(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 204: "No Content"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 418: "I'm a teapot"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Status \(status)"
        }
    }
}
