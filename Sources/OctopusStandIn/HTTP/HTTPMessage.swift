import Foundation

/// One HTTP/1.1 request as the stand-in's server received it.
struct HTTPRequest: Sendable {
    /// The method, upper-case as sent (`GET`, `PUT` …).
    var method: String
    /// The request target as sent, e.g. `/api/Spaces-1/machines?skip=30`.
    var target: String
    /// The path part of the target, percent-decoding left to the router (segments are decoded one by one).
    var path: String
    /// The query parameters, decoded (`+` is a space), in order.
    var query: [(name: String, value: String)]
    /// `HTTP/1.1` or `HTTP/1.0`.
    var version: String
    /// The header fields in order, names as sent.
    var headers: [(name: String, value: String)]
    /// The body (decoded from chunks when it was chunked).
    var body: [UInt8]

    /// The first value of a header, by case-insensitive name.
    func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) }?.value
    }

    /// The last value of a query parameter, by case-insensitive name (Octopus's parameters are
    /// case-insensitive), or `nil` when absent.
    func queryValue(_ name: String) -> String? {
        query.last { $0.name.caseInsensitiveCompare(name) }?.value
    }

    /// Whether the connection stays open after this request (HTTP/1.1 unless `Connection: close`;
    /// HTTP/1.0 only with `Connection: keep-alive`).
    var keepAlive: Bool {
        let tokens = (header("Connection") ?? "").lowercased().split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        if version == "HTTP/1.0" { return tokens.contains("keep-alive") }
        return !tokens.contains("close")
    }

    /// Splits a target into path and decoded query parameters.
    static func split(target: String) -> (path: String, query: [(name: String, value: String)]) {
        guard let mark = target.firstIndex(of: "?") else { return (target, []) }
        let path = String(target[..<mark])
        let queryText = target[target.index(after: mark)...]
        var query: [(name: String, value: String)] = []
        for pair in queryText.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = percentDecode(String(parts[0]), plusIsSpace: true) ?? String(parts[0])
            let value = parts.count > 1 ? (percentDecode(String(parts[1]), plusIsSpace: true) ?? String(parts[1])) : ""
            query.append((name, value))
        }
        return (path, query)
    }

    /// Decodes `%XX` escapes (and `+` as a space in a query); `nil` for a malformed escape or invalid UTF-8.
    static func percentDecode(_ text: String, plusIsSpace: Bool) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                    let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(value)
            } else if byte == UInt8(ascii: "+") && plusIsSpace {
                bytes.append(UInt8(ascii: " "))
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

extension String {
    fileprivate func caseInsensitiveCompare(_ other: String) -> Bool {
        lowercased() == other.lowercased()
    }
}

/// A response the server writes back.
struct HTTPResponse: Sendable {
    /// What the body is: bytes in memory, or a file streamed from disk.
    enum Body: Sendable {
        case bytes([UInt8])
        case file(path: String, size: Int)
    }

    var status: Int
    var headers: [(name: String, value: String)]
    var body: Body

    init(status: Int, headers: [(name: String, value: String)] = [], body: Body = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response (`application/json; charset=utf-8`).
    static func json(_ status: Int, _ value: OctopusJSON, headers: [(name: String, value: String)] = []) -> HTTPResponse
    {
        HTTPResponse(
            status: status,
            headers: [("Content-Type", "application/json; charset=utf-8")] + headers,
            body: .bytes(Array(value.serialized().utf8))
        )
    }

    /// A plain-text response.
    static func text(_ status: Int, _ text: String) -> HTTPResponse {
        HTTPResponse(
            status: status,
            headers: [("Content-Type", "text/plain; charset=utf-8")],
            body: .bytes(Array(text.utf8))
        )
    }

    /// The standard reason phrase of a status code.
    static func reason(_ status: Int) -> String {
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
