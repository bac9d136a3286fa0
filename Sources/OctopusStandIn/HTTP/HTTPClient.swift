import Foundation

/// A URL the stand-in may contact: scheme, host, port and the path with its query.
struct ContactURL: Sendable, Equatable {
    var scheme: String
    var host: String
    var port: Int
    var pathAndQuery: String

    /// Parses `scheme://host[:port][/path][?query]` (no user info, IPv4 or names only).
    init?(_ text: String) {
        guard let separator = text.range(of: "://") else { return nil }
        scheme = text[..<separator.lowerBound].lowercased()
        let rest = text[separator.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        if let fragment = path.firstIndex(of: "#") { path = String(path[..<fragment]) }
        if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
        pathAndQuery = path
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        let defaultPort: Int
        switch scheme {
        case "http": defaultPort = 80
        case "https": defaultPort = 443
        default: defaultPort = 0
        }
        if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let value = Int(authority[authority.index(after: colon)...]), (1...65535).contains(value) else {
                return nil
            }
            port = value
        } else {
            host = String(authority)
            port = defaultPort
        }
        guard !host.isEmpty, port > 0 else { return nil }
    }
}

/// The minimal HTTP/1.1 client the stand-in needs to POST webhooks: one request per connection, a
/// Content-Length body, and the status code read back.
enum HTTPClient {
    /// POSTs `body` to an open connection and returns the response's status code.
    /// - Throws: ``SocketError`` on a network failure or a response that is not HTTP.
    static func post(
        on descriptor: Int32,
        url: ContactURL,
        headers: [(name: String, value: String)],
        body: [UInt8],
        timeout: Double
    ) throws(SocketError) -> Int {
        let deadline = POSIXSocket.deadline(after: timeout)
        let what = "\(url.host):\(url.port)"
        var head = "POST \(url.pathAndQuery) HTTP/1.1\r\nHost: \(url.host):\(url.port)\r\n"
        for (name, value) in headers where !name.isEmpty && !name.contains(where: { $0 == "\r" || $0 == "\n" }) {
            head += "\(name): \(value.filter { $0 != "\r" && $0 != "\n" })\r\n"
        }
        head += "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        try POSIXSocket.write(descriptor, Array(head.utf8) + body, deadline: deadline, what: what)
        var received: [UInt8] = []
        while !received.contains(0x0A) {
            let more = try POSIXSocket.read(descriptor, maximum: 4096, deadline: deadline, what: what)
            guard !more.isEmpty else { break }
            received += more
            if received.count > 8192 { break }
        }
        let statusLine = String(decoding: received.prefix { $0 != 0x0A }, as: UTF8.self)
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else {
            throw SocketError(kind: .io, message: "\(what) did not answer with an HTTP status line.")
        }
        return status
    }
}
