import Foundation
import LoopbackVMs
import SSHKit
import TestHelpers
import Testing

/// A throwaway folder with client keys and loopback sshd "VMs" for one test. Everything it starts is
/// stopped by `close()` (call it in a `defer`) and, as a backstop, by the VMs' own deinit.
final class LiveFixture: @unchecked Sendable {
    let directory: String
    let clientKey: SSHKeyPair
    let knownHostsPath: String
    private(set) var vms: [LoopbackVM] = []

    init() throws {
        directory =
            FileManager.default.temporaryDirectory.appendingPathComponent("octoprov-live-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        clientKey = try SSHKeyPair.generate(.ed25519, in: directory, name: "client_ed25519")
        knownHostsPath = directory + "/known_hosts"
    }

    /// Starts a VM that trusts `clientKey` (plus `extraKeys`), and records its host key in known_hosts
    /// unless `trusted` is false.
    @discardableResult
    func startVM(
        _ name: String = "vm1",
        address: String = "127.0.0.1",
        extraKeys: [SSHKeyPair] = [],
        trusted: Bool = true,
        configure: (inout LoopbackVM.Options) -> Void = { _ in }
    ) throws -> LoopbackVM {
        var options = LoopbackVM.Options()
        options.address = address
        options.authorizedKeys = [clientKey] + extraKeys
        configure(&options)
        let vm = try LoopbackVM.start(name: name, in: directory, options: options)
        vms.append(vm)
        if trusted { try trust(vm) }
        return vm
    }

    func trust(_ vm: LoopbackVM) throws {
        let lines = try vm.knownHostsLines().joined(separator: "\n") + "\n"
        let handle =
            FileHandle(forWritingAtPath: knownHostsPath)
            ?? {
                _ = FileManager.default.createFile(atPath: knownHostsPath, contents: nil)
                return FileHandle(forWritingAtPath: knownHostsPath)
            }()
        guard let handle else { throw SSHError(.localIOFailed, "Cannot open \(knownHostsPath).") }
        handle.seekToEndOfFile()
        handle.write(Data(lines.utf8))
        handle.closeFile()
    }

    func configuration(
        for vm: LoopbackVM,
        authentication: [SSHAuthenticationMethod]? = nil,
        policy: HostKeyPolicy = .strict,
        idleTimeout: Duration = .seconds(120)
    ) -> SSHClientConfiguration {
        SSHClientConfiguration(
            host: vm.address,
            port: vm.port,
            user: vm.user,
            displayName: vm.name,
            authentication: authentication ?? [.privateKey(path: clientKey.privateKeyPath, passphrase: nil)],
            hostKeyValidator: KnownHostsValidator(knownHostsPath: knownHostsPath, policy: policy),
            connectTimeout: .seconds(10),
            idleTimeout: idleTimeout
        )
    }

    func close() {
        for vm in vms { vm.stop() }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Writes `size` pseudo-random bytes to `path` (fast, not compressible).
    static func writeRandomFile(_ path: String, size: Int) throws {
        var generator = SystemRandomNumberGenerator()
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw SSHError(.localIOFailed, "Cannot create \(path).")
        }
        defer { handle.closeFile() }
        let chunk = 4 << 20
        var written = 0
        while written < size {
            let count = min(chunk, size - written)
            var words = [UInt64](repeating: 0, count: (count + 7) / 8)
            for index in words.indices { words[index] = generator.next() }
            let data = words.withUnsafeBytes { Data($0.prefix(count)) }
            handle.write(data)
            written += count
        }
    }
}
