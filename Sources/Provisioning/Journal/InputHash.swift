import Crypto
import Foundation

/// A journal's random salt (32 bytes), created with the journal and kept in it. It keys every ``InputHash`` of
/// that journal, so a recorded hash reveals nothing about a secret that went into it, even a short one.
public struct JournalSalt: Sendable, Hashable, CustomStringConvertible {
    /// The salt's bytes.
    let bytes: [UInt8]

    /// A new random salt from the system's secure generator.
    ///
    /// - Returns: 32 random bytes.
    public static func random() -> JournalSalt {
        var generator = SystemRandomNumberGenerator()
        return JournalSalt(bytes: (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// A salt from its hex text as the journal stores it.
    ///
    /// - Parameter hex: 64 hex digits.
    /// - Returns: `nil` when `hex` is not an even number (at least 32) of hex digits.
    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count >= 32, digits.count.isMultiple(of: 2) else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else {
                return nil
            }
            bytes.append(byte)
        }
        self.bytes = bytes
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The hex text the journal stores.
    var hex: String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// `JournalSalt(32 bytes)`: never the bytes.
    public var description: String { "JournalSalt(\(bytes.count) bytes)" }
}

/// The fingerprint of everything a step's work depends on: its rendered script and SQL, the facts and settings
/// that matter, and its secrets. When the fingerprint changes, the step runs again (and so do the steps after it).
///
/// The hash is HMAC-SHA256, keyed with the journal's ``JournalSalt``, over a length-prefixed encoding of the named
/// parts (sorted by name) followed by each secret's name and its own salted digest, HMAC-SHA256(salt, value).
/// Secret values are never stored anywhere: only the final 64 hex digits reach the journal, and guessing a secret
/// from them needs the salt and every other part.
public struct InputHash: Sendable, Hashable, CustomStringConvertible {
    /// 64 lower-case hex digits.
    public let hex: String

    /// Hashes named parts and secrets with a journal's salt.
    ///
    /// - Parameters:
    ///   - parts: Named inputs, such as `script` → the rendered script, `sql/quarantine.sql` → its text,
    ///     `backup_sha256` → the backup's checksum. The order does not matter; the names do.
    ///   - secrets: Secret values by name (`master_key` → the key); only their salted digests are hashed in.
    ///   - salt: The journal's salt (``Journal/salt``).
    public init(parts: [String: String], secrets: [String: String] = [:], salt: JournalSalt) {
        let key = SymmetricKey(data: salt.bytes)
        var message = Data("octoprov-input-hash-1\n".utf8)
        func field(_ text: String) {
            let bytes = Data(text.utf8)
            message.append(Data("\(bytes.count):".utf8))
            message.append(bytes)
        }
        for name in parts.keys.sorted() {
            message.append(Data("part ".utf8))
            field(name)
            field(parts[name] ?? "")
            message.append(0x0a)
        }
        for name in secrets.keys.sorted() {
            let digest = HMAC<SHA256>.authenticationCode(for: Data((secrets[name] ?? "").utf8), using: key)
            message.append(Data("secret ".utf8))
            field(name)
            field(Data(digest).map { String(format: "%02x", $0) }.joined())
            message.append(0x0a)
        }
        let code = HMAC<SHA256>.authenticationCode(for: message, using: key)
        hex = Data(code).map { String(format: "%02x", $0) }.joined()
    }

    /// A hash recorded earlier (from a journal or a report).
    ///
    /// - Parameter hex: The recorded hex digits.
    public init(hex: String) {
        self.hex = hex
    }

    /// The hex digits.
    public var description: String { hex }
}
