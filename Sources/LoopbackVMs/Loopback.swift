public import Foundation
import Wire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Small helpers for TCP on loopback addresses (127.x.y.z): free ports and SSH banners.
public enum Loopback {
    /// A TCP port that is free on `address` right now: binds a socket to address:0, reads the port the kernel
    /// chose and closes the socket.
    ///
    /// Another process can take the port before you bind it, so callers should retry on "Address already in
    /// use" (``LoopbackVM/start(name:in:options:)`` does).
    public static func freePort(address: String = "127.0.0.1") throws -> Int {
        let socketAddress = try makeAddress(address, port: 0)
        do {
            return try POSIXSocket.freePort(on: socketAddress.sin_addr)
        } catch {
            throw LoopbackVMError.systemCall(
                error.kind == .io ? "socket" : "bind(\(address):0)",
                errno: error.code ?? 0
            )
        }
    }

    /// Waits until address:port accepts a TCP connection and sends a line starting with `SSH-2.0-`.
    ///
    /// Polls every 50 ms; throws ``LoopbackVMError/bannerTimeout(address:port:seconds:lastError:)`` after
    /// `timeout` seconds.
    public static func waitForBanner(address: String, port: Int, timeout: TimeInterval = 10) throws {
        try validate(address: address)
        try validate(port: port)
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let lastError: String
            switch probeBanner(address: address, port: port) {
            case .success:
                return
            case .failure(let error):
                lastError = error.description
            }
            if Date() >= deadline {
                throw LoopbackVMError.bannerTimeout(
                    address: address,
                    port: port,
                    seconds: timeout,
                    lastError: lastError
                )
            }
            usleep(50_000)
        }
    }

    /// Throws unless `address` is a dotted IPv4 loopback address (127.x.y.z), the only kind tests may use.
    static func validate(address: String) throws {
        let parts = address.split(separator: ".", omittingEmptySubsequences: false)
        let octets = parts.compactMap { part -> Int? in
            guard (1...3).contains(part.count), part.allSatisfy(\.isASCII), let value = Int(part) else {
                return nil
            }
            return (0...255).contains(value) ? value : nil
        }
        guard parts.count == 4, octets.count == 4, octets[0] == 127 else {
            throw LoopbackVMError.invalidArgument(
                "The address \"\(address)\" is not an IPv4 loopback address of the form 127.x.y.z."
            )
        }
    }

    /// Throws unless `port` is a valid TCP port number.
    static func validate(port: Int) throws {
        guard (1...65_535).contains(port) else {
            throw LoopbackVMError.invalidArgument("The port \(port) is not between 1 and 65535.")
        }
    }

    /// One attempt: connect, read the first line (1 s read timeout), check for `SSH-2.0-`.
    static func probeBanner(address: String, port: Int) -> Result<Void, LoopbackVMError> {
        do {
            let socketAddress = try makeAddress(address, port: port)
            let descriptor: Int32
            do {
                descriptor = try POSIXSocket.connect(
                    to: socketAddress.sin_addr,
                    port: port,
                    timeout: 10,
                    blocking: true
                )
            } catch {
                throw LoopbackVMError.systemCall("connect(\(address):\(port))", errno: error.code ?? 0)
            }
            defer { close(descriptor) }
            var timeout = timeval(tv_sec: 1, tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 256)
            while received.count < 1024 && !received.contains(UInt8(ascii: "\n")) {
                let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                if count < 0 {
                    throw LoopbackVMError.systemCall("recv(\(address):\(port))", errno: errno)
                }
                if count == 0 {
                    break
                }
                received.append(contentsOf: buffer[0..<count])
            }
            let text = String(decoding: received, as: UTF8.self)
            guard text.hasPrefix("SSH-2.0-") else {
                let shown = text.isEmpty ? "nothing" : "\"\(text.prefix(80))\""
                throw LoopbackVMError.invalidArgument("\(address):\(port) answered with \(shown), not SSH-2.0-.")
            }
            return .success(())
        } catch let error as LoopbackVMError {
            return .failure(error)
        } catch {
            return .failure(.invalidArgument("\(error)"))
        }
    }

    private static func makeAddress(_ address: String, port: Int) throws -> sockaddr_in {
        try validate(address: address)
        guard (0...65_535).contains(port) else {
            throw LoopbackVMError.invalidArgument("The port \(port) is not between 0 and 65535.")
        }
        var result = sockaddr_in()
        result.sin_family = sa_family_t(AF_INET)
        result.sin_port = UInt16(port).bigEndian
        guard inet_pton(AF_INET, address, &result.sin_addr) == 1 else {
            throw LoopbackVMError.invalidArgument("The address \"\(address)\" is not a valid IPv4 address.")
        }
        return result
    }
}
