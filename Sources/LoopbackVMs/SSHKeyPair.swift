import Foundation

/// The key algorithms tests use, named as `ssh-keygen -t` spells them.
public enum SSHKeyType: String, Sendable, CaseIterable {
    case ed25519
    case ecdsa
    case rsa

    /// The `-b` bits ssh-keygen is given (nil: the algorithm has a fixed size).
    var bits: Int? {
        switch self {
        case .ed25519: return nil
        case .ecdsa: return 256
        case .rsa: return 3072
        }
    }
}

/// An OpenSSH key pair on disk, made by the real `ssh-keygen`.
public struct SSHKeyPair: Sendable {
    public let type: SSHKeyType
    /// The private key in OpenSSH format, mode 0600.
    public let privateKeyPath: String
    /// `privateKeyPath` + ".pub".
    public let publicKeyPath: String
    /// The public key as one authorized_keys line: "ssh-ed25519 AAAA… comment" (no trailing newline).
    public let publicKeyLine: String
    /// The passphrase the private key is encrypted with, nil for an unencrypted key.
    public let passphrase: String?

    /// Describes an existing key pair (for instance one made elsewhere); nothing is checked or written.
    public init(
        type: SSHKeyType,
        privateKeyPath: String,
        publicKeyPath: String,
        publicKeyLine: String,
        passphrase: String? = nil
    ) {
        self.type = type
        self.privateKeyPath = privateKeyPath
        self.publicKeyPath = publicKeyPath
        self.publicKeyLine = publicKeyLine
        self.passphrase = passphrase
    }

    /// Runs ssh-keygen (-t TYPE, -N passphrase or "", -C comment, RSA 3072 bits, ECDSA 256) into directory/name.
    ///
    /// The comment is "NAME@octoprov-test". `directory` is created if missing. Throws if directory/name or
    /// directory/name.pub already exists (existing keys are never overwritten) or if `name` is not a plain file
    /// name. The passphrase is passed on ssh-keygen's command line: fine for test keys, not for real secrets.
    public static func generate(
        _ type: SSHKeyType,
        in directory: String,
        name: String,
        passphrase: String? = nil
    ) throws -> SSHKeyPair {
        try generate(type, in: directory, name: name, passphrase: passphrase, comment: "\(name)@octoprov-test")
    }

    static func generate(
        _ type: SSHKeyType,
        in directory: String,
        name: String,
        passphrase: String?,
        comment: String
    ) throws -> SSHKeyPair {
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/"),
            !name.contains(where: { $0.isNewline || $0 == "\0" })
        else {
            throw LoopbackVMError.invalidArgument("The key name \"\(name)\" is not a plain file name.")
        }
        if let passphrase, passphrase.contains(where: { $0.isNewline || $0 == "\0" }) {
            throw LoopbackVMError.invalidArgument("A key passphrase must not contain newlines or NUL characters.")
        }
        let folder = Files.absolutePath(directory)
        try Files.makeDirectory(folder)
        let privatePath = (folder as NSString).appendingPathComponent(name)
        let publicPath = privatePath + ".pub"
        for path in [privatePath, publicPath] where FileManager.default.fileExists(atPath: path) {
            throw LoopbackVMError.invalidArgument("Cannot generate a key at \(path): the file already exists.")
        }
        var arguments = ["-q", "-t", type.rawValue, "-N", passphrase ?? "", "-C", comment, "-f", privatePath]
        if let bits = type.bits {
            arguments += ["-b", String(bits)]
        }
        try ChildProcess.runChecked(try ChildProcess.locate("ssh-keygen"), arguments)
        let publicKeyLine: String
        do {
            publicKeyLine = try String(contentsOfFile: publicPath, encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw LoopbackVMError.fileSystem("ssh-keygen did not leave a readable public key at \(publicPath).")
        }
        return SSHKeyPair(
            type: type,
            privateKeyPath: privatePath,
            publicKeyPath: publicPath,
            publicKeyLine: publicKeyLine,
            passphrase: passphrase
        )
    }

    /// "ssh-ed25519 AAAA…": the public key line without its comment.
    var algorithmAndKey: String {
        publicKeyLine.split(separator: " ", maxSplits: 2).prefix(2).joined(separator: " ")
    }
}
