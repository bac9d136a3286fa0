import Foundation

/// One HTTP/1.1 request as a server received it (the stand-in's, the tests' scripted one).
public struct HTTPRequest: Sendable {
    /// The method, upper-case as sent (`GET`, `PUT` …).
    public var method: String
    /// The request target as sent, e.g. `/api/Spaces-1/machines?skip=30`.
    public var target: String
    /// The path part of the target, percent-decoding left to the router (segments are decoded one by one).
    public var path: String
    /// The query parameters, decoded (`+` is a space), in order.
    public var query: [(name: String, value: String)]
    /// `HTTP/1.1` or `HTTP/1.0`.
    public var version: String
    /// The header fields in order, names as sent.
    public var headers: [(name: String, value: String)]
    /// The body (decoded from chunks when it was chunked).
    public var body: [UInt8]

    /// A request from its parts.
    public init(
        method: String,
        target: String,
        path: String,
        query: [(name: String, value: String)],
        version: String,
        headers: [(name: String, value: String)],
        body: [UInt8]
    ) {
        self.method = method
        self.target = target
        self.path = path
        self.query = query
        self.version = version
        self.headers = headers
        self.body = body
    }

    /// The first value of a header, by case-insensitive name.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) }?.value
    }

    /// The last value of a query parameter, by case-insensitive name (Octopus's parameters are
    /// case-insensitive), or `nil` when absent.
    public func queryValue(_ name: String) -> String? {
        query.last { $0.name.caseInsensitiveCompare(name) }?.value
    }

    /// Whether the connection stays open after this request (HTTP/1.1 unless `Connection: close`;
    /// HTTP/1.0 only with `Connection: keep-alive`).
    public var keepAlive: Bool {
        let tokens = (header("Connection") ?? "").lowercased().split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        if version == "HTTP/1.0" { return tokens.contains("keep-alive") }
        return !tokens.contains("close")
    }

    /// Splits a target into path and decoded query parameters.
    public static func split(target: String) -> (path: String, query: [(name: String, value: String)]) {
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
    public static func percentDecode(_ text: String, plusIsSpace: Bool) -> String? {
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
