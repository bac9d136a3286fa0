import Foundation
import Wire

#if canImport(Glibc)
    import Glibc
#endif

/// How the stand-in reaches out, as Octopus would: a TCP connection to a target's or worker's endpoint
/// (health checks and deployments), and an HTTP POST to a subscription's webhook.
///
/// Safety rule: the stand-in only ever contacts loopback addresses (127.0.0.0/8, `localhost`). It is a
/// test double; an endpoint elsewhere (a real production Tentacle in a real backup) is logged as "not
/// contacted" and treated as unreachable.
enum StandInContact {
    /// A host and port to connect to.
    struct Endpoint: Sendable, Equatable, CustomStringConvertible {
        var host: String
        var port: Int
        var description: String { "\(host):\(port)" }
    }

    /// The line the stand-in sends on every TCP contact, so a test listener can tell who called and why:
    /// `OCTOPUS-STANDIN <purpose> <ids…>`.
    static func line(_ purpose: String, _ ids: String...) -> String {
        (["OCTOPUS-STANDIN", purpose] + ids).joined(separator: " ") + "\n"
    }

    /// Where a machine (target or worker) is reached: `Endpoint.Uri` (`https://host:port/`, listening
    /// Tentacles), or `Endpoint.Host` and `Endpoint.Port` (SSH targets). Polling Tentacles (`poll://`)
    /// and endpoints without an address are never contacted: `nil` with the reason.
    static func endpoint(of document: JSONValue.Object) -> (endpoint: Endpoint?, reason: String) {
        guard let endpoint = document["Endpoint"]?.objectValue else { return (nil, "it has no Endpoint") }
        if let uri = endpoint["Uri"]?.stringValue, !uri.isEmpty {
            guard let url = ContactURL(uri) else { return (nil, "its Endpoint.Uri '\(uri)' is not a URL") }
            guard url.scheme != "poll" else {
                return (nil, "it is a polling Tentacle; the server never connects to it")
            }
            return (Endpoint(host: url.host, port: url.port), "")
        }
        if let host = endpoint["Host"]?.stringValue, !host.isEmpty {
            let port = endpoint["Port"]?.integerValue.map(Int.init) ?? 22
            return (Endpoint(host: host, port: port), "")
        }
        return (nil, "its Endpoint has neither Uri nor Host")
    }

    /// The loopback address of a host, or the reason it is not contacted.
    static func loopbackAddress(_ host: String) -> Result<in_addr, ContactFailure> {
        let address: in_addr
        do {
            address = try POSIXSocket.ipv4Address(host)
        } catch {
            return .failure(ContactFailure(error.message))
        }
        guard POSIXSocket.isLoopback(address) else {
            return .failure(
                ContactFailure(
                    "\(host) is not a loopback address; the stand-in only contacts 127.0.0.0/8 and did not connect"
                )
            )
        }
        return .success(address)
    }

    /// The address an instance's outgoing connections come from: the host of its first listen prefix when
    /// that is a loopback address other than 127.0.0.1 (a sandbox VM's or production's own address), so a
    /// listener can tell which instance contacted it; otherwise `nil` (the kernel's choice).
    static func sourceAddress(listenPrefixes: [String]) -> in_addr? {
        guard let prefix = listenPrefixes.first, let url = ContactURL(prefix), url.host != "localhost",
            let address = try? POSIXSocket.ipv4Address(url.host), POSIXSocket.isLoopback(address),
            POSIXSocket.text(address) != "127.0.0.1"
        else { return nil }
        return address
    }

    /// Connects to an endpoint, sends ``line(_:_:)`` and closes: what a health check or a deployment
    /// step does to a Tentacle, made visible to a listener.
    static func touch(
        _ endpoint: Endpoint,
        line: String,
        timeout: Double,
        from source: in_addr? = nil
    ) -> Result<Void, ContactFailure> {
        let address: in_addr
        switch loopbackAddress(endpoint.host) {
        case .success(let found): address = found
        case .failure(let failure): return .failure(failure)
        }
        do {
            let descriptor = try POSIXSocket.connect(to: address, port: endpoint.port, timeout: timeout, from: source)
            defer { close(descriptor) }
            try POSIXSocket.write(
                descriptor,
                Array(line.utf8),
                deadline: POSIXSocket.deadline(after: timeout),
                what: endpoint.description
            )
            shutdown(descriptor, Int32(SHUT_WR))
            return .success(())
        } catch {
            return .failure(ContactFailure(error.message))
        }
    }

    /// POSTs a webhook. HTTPS URLs are connected to (the contact is real) but nothing is sent: the
    /// stand-in has no TLS.
    /// - Returns: The HTTP status, or the failure.
    static func postWebhook(
        _ uri: String,
        headers: [(name: String, value: String)],
        body: [UInt8],
        timeout: Double,
        from source: in_addr? = nil
    ) -> Result<Int, ContactFailure> {
        guard let url = ContactURL(uri), url.scheme == "http" || url.scheme == "https" else {
            return .failure(ContactFailure("'\(uri)' is not an http:// or https:// URL"))
        }
        let address: in_addr
        switch loopbackAddress(url.host) {
        case .success(let found): address = found
        case .failure(let failure): return .failure(failure)
        }
        do {
            let descriptor = try POSIXSocket.connect(to: address, port: url.port, timeout: timeout, from: source)
            defer { close(descriptor) }
            guard url.scheme == "http" else {
                return .failure(
                    ContactFailure("connected to \(url.host):\(url.port), but the stand-in cannot speak TLS")
                )
            }
            return .success(
                try HTTPClient.post(on: descriptor, url: url, headers: headers, body: body, timeout: timeout)
            )
        } catch {
            return .failure(ContactFailure(error.message))
        }
    }
}

/// Why a contact did not happen or failed, in one sentence.
struct ContactFailure: Error, Sendable, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
