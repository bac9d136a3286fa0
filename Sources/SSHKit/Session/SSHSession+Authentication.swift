import CLibSSH2
import Foundation

extension SSHSession {
    /// Tries the configured methods in order until one succeeds.
    ///
    /// Uses `libssh2_userauth_list`, `libssh2_userauth_publickey_fromfile_ex`, the `libssh2_agent_*`
    /// functions and `libssh2_userauth_password_ex`. Secrets are read from their sources just before
    /// use and never logged.
    func authenticate(deadline: Deadline) throws(SSHError) {
        guard let raw else { throw SSHError(.disconnected, "The connection to \(configuration.hostLabel) is closed.") }
        let user = configuration.user
        let userLength = UInt32(user.utf8.count)
        let offered = try callPointer(deadline: deadline) { libssh2_userauth_list(raw, user, userLength) }
        guard let offered else {
            if libssh2_userauth_authenticated(raw) == 1 { return }
            let rc = libssh2_session_last_errno(raw)
            throw error(.authenticationFailed, during: "authentication", function: "libssh2_userauth_list", rc: rc)
        }
        let serverMethods = String(cString: offered).split(separator: ",").map(String.init)
        var refused: [String] = []
        var refusedRSA: [String] = []

        for method in configuration.authentication {
            switch method {
            case .privateKey(let path, let passphraseSource):
                guard serverMethods.contains("publickey") else {
                    refused.append("key \(path) (the server does not accept public keys)")
                    continue
                }
                let info = try PrivateKeyFileInfo.inspect(path: path, hostLabel: configuration.hostLabel)
                if info.isEncrypted && passphraseSource == nil {
                    throw SSHError(
                        .credentialUnreadable,
                        "Private key \(path) is protected by a passphrase; give it as identity_passphrase "
                            + "(env:NAME or file:PATH) in the inventory.",
                        host: "\(configuration.host):\(configuration.port)"
                    )
                }
                let passphrase = try passphraseSource?.read(purpose: "passphrase of key \(path)")
                let rc = try call(deadline: deadline, operation: "authentication") {
                    libssh2_userauth_publickey_fromfile_ex(raw, user, userLength, nil, path, passphrase)
                }
                if rc == 0 { return }
                if rc == LIBSSH2_ERROR_FILE {
                    throw SSHError(
                        .credentialUnreadable,
                        "Cannot use private key \(path) for \(configuration.hostLabel): \(lastErrorText())"
                            + (info.isEncrypted ? " (is the passphrase right?)." : "."),
                        host: "\(configuration.host):\(configuration.port)",
                        libssh2: failure("libssh2_userauth_publickey_fromfile_ex", rc)
                    )
                }
                if Self.isTransportFailure(rc) {
                    throw error(.authenticationFailed, during: "authentication", function: "publickey", rc: rc)
                }
                let typeName = info.algorithm?.displayName ?? "unknown type"
                refused.append("key \(path) (\(typeName))")
                if info.algorithm == .rsa { refusedRSA.append("key \(path)") }

            case .agent(let socketPath):
                guard serverMethods.contains("publickey") else {
                    refused.append("the ssh-agent's keys (the server does not accept public keys)")
                    continue
                }
                let outcome = try authenticateWithAgent(raw, socketPath: socketPath, deadline: deadline)
                switch outcome {
                case .succeeded:
                    return
                case .refused(let keys, let rsaKeys):
                    refused.append(contentsOf: keys)
                    refusedRSA.append(contentsOf: rsaKeys)
                case .unavailable(let reason):
                    refused.append("the ssh-agent (\(reason))")
                }

            case .password(let source):
                guard serverMethods.contains("password") else {
                    refused.append("a password (the server does not accept passwords)")
                    continue
                }
                let password = try source.read(purpose: "password for \(user) on \(configuration.hostLabel)")
                let rc = try call(deadline: deadline, operation: "authentication") {
                    libssh2_userauth_password_ex(raw, user, userLength, password, UInt32(password.utf8.count), nil)
                }
                if rc == 0 { return }
                if Self.isTransportFailure(rc) {
                    throw error(.authenticationFailed, during: "authentication", function: "password", rc: rc)
                }
                refused.append("the password from \(source)")
            }
        }

        if !refusedRSA.isEmpty, !LibSSH2.signsRSAWithSHA2, let version = serverOpenSSHVersion,
            version >= (8, 8)
        {
            throw SSHError(
                .rsaSHA1Refused,
                "\(configuration.hostLabel) refused RSA \(refusedRSA.joined(separator: ", ")): it runs OpenSSH "
                    + "\(version.major).\(version.minor), which refuses ssh-rsa (SHA-1) signatures by default, and "
                    + "libssh2 \(LibSSH2.version) can sign with RSA only that way; use an ed25519 or ECDSA key, or "
                    + "allow ssh-rsa on that server (PubkeyAcceptedAlgorithms +ssh-rsa in sshd_config).",
                host: "\(configuration.host):\(configuration.port)"
            )
        }
        let tried =
            refused.isEmpty
            ? "no authentication method was configured" : "it refused " + refused.joined(separator: ", ")
        throw SSHError(
            .authenticationFailed,
            "Authentication as \(user) on \(configuration.hostLabel) failed: \(tried); the server accepts "
                + "\(serverMethods.joined(separator: ", ")), so check the user and identity in the inventory and the "
                + "VM's authorized_keys.",
            host: "\(configuration.host):\(configuration.port)"
        )
    }

    /// The OpenSSH version from the server's banner ("SSH-2.0-OpenSSH_9.2p1 …"), if it is OpenSSH.
    var serverOpenSSHVersion: (major: Int, minor: Int)? {
        guard let range = serverBanner.range(of: "OpenSSH_") else { return nil }
        let rest = serverBanner[range.upperBound...]
        let digits = rest.prefix { $0.isNumber || $0 == "." }
        let parts = digits.split(separator: ".").compactMap { Int($0) }
        guard parts.count >= 2 else { return nil }
        return (parts[0], parts[1])
    }

    private enum AgentOutcome {
        case succeeded
        case refused(keys: [String], rsaKeys: [String])
        case unavailable(String)
    }

    private func authenticateWithAgent(
        _ raw: OpaquePointer,
        socketPath: String?,
        deadline: Deadline
    ) throws(SSHError) -> AgentOutcome {
        let path = socketPath ?? ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"]
        guard let path, !path.isEmpty else { return .unavailable("SSH_AUTH_SOCK is not set") }
        guard let agent = libssh2_agent_init(raw) else {
            return .unavailable("libssh2 could not start an agent client")
        }
        defer {
            libssh2_agent_disconnect(agent)
            libssh2_agent_free(agent)
        }
        libssh2_agent_set_identity_path(agent, path)
        guard try call(deadline: deadline, operation: "agent connection", { libssh2_agent_connect(agent) }) == 0 else {
            return .unavailable("cannot connect to \(path)")
        }
        guard try call(deadline: deadline, operation: "agent listing", { libssh2_agent_list_identities(agent) }) == 0
        else {
            return .unavailable("cannot list its keys")
        }
        var refused: [String] = []
        var refusedRSA: [String] = []
        var previous: UnsafeMutablePointer<libssh2_agent_publickey>?
        while true {
            var identity: UnsafeMutablePointer<libssh2_agent_publickey>?
            let next = libssh2_agent_get_identity(agent, &identity, previous)
            guard next == 0, let identity else { break }
            previous = identity
            let user = configuration.user
            let rc = try call(deadline: deadline, operation: "agent authentication") {
                libssh2_agent_userauth(agent, user, identity)
            }
            if rc == 0 { return .succeeded }
            if Self.isTransportFailure(rc) {
                throw error(.authenticationFailed, during: "authentication", function: "libssh2_agent_userauth", rc: rc)
            }
            let blob = Array(UnsafeBufferPointer(start: identity.pointee.blob, count: identity.pointee.blob_len))
            let algorithm = try? HostKey(blob: blob).algorithm
            let comment = identity.pointee.comment.map { String(cString: $0) } ?? ""
            let name =
                "agent key \(comment.isEmpty ? "(no comment)" : comment) (\(algorithm?.displayName ?? "unknown type"))"
            refused.append(name)
            if algorithm == .rsa { refusedRSA.append(name) }
        }
        if refused.isEmpty { return .unavailable("it holds no keys") }
        return .refused(keys: refused, rsaKeys: refusedRSA)
    }

    /// As ``call(deadline:operation:_:)`` for functions returning a C string pointer or NULL.
    func callPointer<T>(
        deadline: Deadline,
        operation: StaticString = "ssh",
        _ body: () -> UnsafeMutablePointer<T>?
    ) throws(SSHError) -> UnsafeMutablePointer<T>? {
        while true {
            if let pointer = body() { return pointer }
            guard let raw, libssh2_session_last_errno(raw) == LIBSSH2_ERROR_EAGAIN else { return nil }
            try waitForSocket(deadline: deadline, operation: operation)
        }
    }
}

/// What can be learnt from a private key file without decrypting it.
struct PrivateKeyFileInfo {
    var algorithm: HostKey.Algorithm?
    var isEncrypted: Bool

    /// Reads the key's type and whether it is encrypted: OpenSSH format ("openssh-key-v1", whose public
    /// part is never encrypted) or PEM.
    static func inspect(path: String, hostLabel: String) throws(SSHError) -> PrivateKeyFileInfo {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw SSHError(
                .credentialUnreadable,
                "Cannot read private key \(path) (for \(hostLabel)); check the identity path in the inventory."
            )
        }
        if text.contains("BEGIN OPENSSH PRIVATE KEY") {
            let body = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
            guard let decoded = Data(base64Encoded: body) else {
                return PrivateKeyFileInfo(algorithm: nil, isEncrypted: false)
            }
            var reader = SSHWireReader(Array(decoded))
            let magic = Array("openssh-key-v1".utf8) + [0]
            guard reader.readBytes(magic.count).map(Array.init) == magic, let cipher = reader.readString(),
                reader.readString() != nil,
                reader.readString() != nil, reader.readUInt32() != nil, let publicBlob = reader.readString()
            else { return PrivateKeyFileInfo(algorithm: nil, isEncrypted: false) }
            let algorithm = try? HostKey(blob: Array(publicBlob)).algorithm
            return PrivateKeyFileInfo(algorithm: algorithm, isEncrypted: Array(cipher) != Array("none".utf8))
        }
        let encrypted = text.contains("Proc-Type: 4,ENCRYPTED") || text.contains("BEGIN ENCRYPTED PRIVATE KEY")
        if text.contains("BEGIN RSA PRIVATE KEY") { return PrivateKeyFileInfo(algorithm: .rsa, isEncrypted: encrypted) }
        if text.contains("BEGIN EC PRIVATE KEY") {
            return PrivateKeyFileInfo(algorithm: .ecdsaP256, isEncrypted: encrypted)
        }
        if text.contains("BEGIN DSA PRIVATE KEY") { return PrivateKeyFileInfo(algorithm: .dss, isEncrypted: encrypted) }
        return PrivateKeyFileInfo(algorithm: nil, isEncrypted: encrypted)
    }
}
