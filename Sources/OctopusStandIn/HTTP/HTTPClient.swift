import Foundation
import Wire

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
        let fields = headers.filter { !$0.name.isEmpty && !$0.name.contains(where: { $0 == "\r" || $0 == "\n" }) }
            .map { (name: $0.name, value: $0.value.filter { $0 != "\r" && $0 != "\n" }) }
        let head = HTTPHead.request(
            method: "POST",
            target: url.pathAndQuery,
            host: "\(url.host):\(url.port)",
            fields: fields,
            contentLength: body.count,
            close: true
        )
        try POSIXSocket.write(descriptor, head + body, deadline: deadline, what: what)
        var received: [UInt8] = []
        while !received.contains(0x0A) {
            let more = try POSIXSocket.read(descriptor, maximum: 4096, deadline: deadline, what: what)
            guard !more.isEmpty else { break }
            received += more
            if received.count > 8192 { break }
        }
        let statusLine = String(decoding: received.prefix { $0 != 0x0A }, as: UTF8.self)
        guard let status = HTTPHead.statusLine(statusLine)?.status else {
            throw SocketError(kind: .io, message: "\(what) did not answer with an HTTP status line.")
        }
        return status
    }
}
