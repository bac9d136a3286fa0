import Crypto
import Foundation

/// A server's public host key, as the SSH wire-format blob the server presented.
///
/// Two keys are equal when their algorithms and blobs are equal, which is how OpenSSH compares a
/// presented key with a `known_hosts` entry.
public struct HostKey: Sendable, Hashable {
    /// A host-key algorithm, named as on the wire and in `known_hosts`.
    public enum Algorithm: String, Sendable, CaseIterable {
        case ed25519 = "ssh-ed25519"
        case ecdsaP256 = "ecdsa-sha2-nistp256"
        case ecdsaP384 = "ecdsa-sha2-nistp384"
        case ecdsaP521 = "ecdsa-sha2-nistp521"
        case rsa = "ssh-rsa"
        case dss = "ssh-dss"

        /// How OpenSSH names the key type in messages: "ED25519", "ECDSA", "RSA", "DSA".
        public var displayName: String {
            switch self {
            case .ed25519: "ED25519"
            case .ecdsaP256, .ecdsaP384, .ecdsaP521: "ECDSA"
            case .rsa: "RSA"
            case .dss: "DSA"
            }
        }

        /// The `-t` argument `ssh-keyscan` and `ssh-keygen` take for this type.
        var keyscanType: String {
            switch self {
            case .ed25519: "ed25519"
            case .ecdsaP256, .ecdsaP384, .ecdsaP521: "ecdsa"
            case .rsa: "rsa"
            case .dss: "dsa"
            }
        }

        /// The fields of the blob after the algorithm name: the ECDSA curve name, if any, then the
        /// number of further SSH strings (or mpints).
        fileprivate var blobLayout: (curve: String?, fields: Int) {
            switch self {
            case .ed25519: (nil, 1)
            case .ecdsaP256: ("nistp256", 1)
            case .ecdsaP384: ("nistp384", 1)
            case .ecdsaP521: ("nistp521", 1)
            case .rsa: (nil, 2)
            case .dss: (nil, 4)
            }
        }
    }

    /// The key's algorithm, read from the blob.
    public let algorithm: Algorithm
    /// The SSH wire-format public key blob (RFC 4253 section 6.6).
    public let blob: [UInt8]

    /// Parses the algorithm from the blob's first SSH string and checks the blob's layout.
    ///
    /// - Parameter blob: The public key as the server sent it (`libssh2_session_hostkey`).
    /// - Throws: ``SSHError`` with code `.protocolError` when the blob is truncated, has trailing
    ///   bytes, or names an algorithm SSHKit does not support.
    public init(blob: [UInt8]) throws {
        var reader = SSHWireReader(blob)
        guard let nameBytes = reader.readString() else {
            throw SSHError.malformedHostKey("the blob is too short to hold an algorithm name")
        }
        let name = String(decoding: nameBytes, as: UTF8.self)
        guard let algorithm = Algorithm(rawValue: name) else {
            throw SSHError.unsupportedHostKeyAlgorithm(name)
        }
        let layout = algorithm.blobLayout
        if let curve = layout.curve {
            guard let curveBytes = reader.readString(), curveBytes.elementsEqual(curve.utf8) else {
                throw SSHError.malformedHostKey("the \(name) blob does not name the curve \(curve)")
            }
        }
        for _ in 0..<layout.fields {
            guard let field = reader.readString(), !field.isEmpty else {
                throw SSHError.malformedHostKey("the \(name) blob is truncated")
            }
        }
        if algorithm == .ed25519, blob.count != 4 + nameBytes.count + 4 + 32 {
            throw SSHError.malformedHostKey("the ssh-ed25519 public key is not 32 bytes long")
        }
        guard reader.isAtEnd else {
            throw SSHError.malformedHostKey("the \(name) blob has bytes after its last field")
        }
        self.algorithm = algorithm
        self.blob = blob
    }

    /// Parses the key part of a `known_hosts` or `.pub` line: `ssh-ed25519 AAAA… [comment]`.
    ///
    /// - Parameter openSSHLine: A key type, whitespace, the base64 blob, and an optional comment.
    /// - Throws: ``SSHError`` with code `.protocolError` when a field is missing, the base64 does not
    ///   decode, the blob is malformed, or the key type does not match the blob's algorithm.
    public init(openSSHLine: String) throws {
        let fields = openSSHLine.split(whereSeparator: { $0 == " " || $0 == "\t" }).prefix(2)
        guard fields.count == 2 else {
            throw SSHError.malformedHostKey("expected a key type and a base64 key, found \(fields.count) field(s)")
        }
        let typeName = String(fields[fields.startIndex])
        guard let data = Data(base64Encoded: String(fields[fields.startIndex + 1])) else {
            throw SSHError.malformedHostKey("the \(typeName) key is not valid base64")
        }
        try self.init(blob: [UInt8](data))
        guard algorithm.rawValue == typeName else {
            throw SSHError.malformedHostKey(
                "the key type \(typeName) does not match the key's algorithm \(algorithm.rawValue)"
            )
        }
    }

    /// `SHA256:` and the unpadded base64 of the SHA-256 of the blob, exactly as OpenSSH prints it.
    public var fingerprintSHA256: String {
        let digest = Data(SHA256.hash(data: blob)).base64EncodedString()
        return "SHA256:" + digest.prefix(while: { $0 != "=" })
    }

    /// The algorithm name and the base64 blob, as in a `known_hosts` line: `ssh-ed25519 AAAA…`.
    public var openSSHString: String {
        algorithm.rawValue + " " + Data(blob).base64EncodedString()
    }
}

/// Reads RFC 4251 `string`s (a big-endian `uint32` length, then that many bytes) from a blob.
struct SSHWireReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { offset == bytes.count }

    /// The next `count` raw bytes, or `nil` when the blob is shorter.
    mutating func readBytes(_ count: Int) -> ArraySlice<UInt8>? {
        guard count >= 0, bytes.count - offset >= count else { return nil }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    /// The next big-endian `uint32`, or `nil` when the blob is shorter.
    mutating func readUInt32() -> UInt32? {
        readBytes(4)?.reduce(0) { ($0 << 8) | UInt32($1) }
    }

    /// The next string's bytes, or `nil` when the blob ends before the string does.
    mutating func readString() -> ArraySlice<UInt8>? {
        guard bytes.count - offset >= 4 else { return nil }
        let length = bytes[offset..<offset + 4].reduce(0) { ($0 << 8) | Int($1) }
        guard bytes.count - offset - 4 >= length else { return nil }
        let start = offset + 4
        offset = start + length
        return bytes[start..<offset]
    }
}
