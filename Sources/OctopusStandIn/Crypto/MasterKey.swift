import Crypto
import Foundation
import _CryptoExtras

/// An Octopus Master Key: the AES key that encrypts a database's sensitive values (octopus-facts.md
/// §1.1). Given as base64 of 16 random bytes (`openssl rand 16 | base64`, AES-128) or of 32 (AES-256).
///
/// Its `description` never shows the key; use ``base64`` where the key itself is meant to be written
/// (the instance config file, `show-master-key`).
public struct MasterKey: Sendable, Hashable, CustomStringConvertible {
    private let bytes: [UInt8]

    /// Parses a key.
    /// - Parameter base64: Base64 of 16 or 32 bytes; surrounding blanks are ignored.
    /// - Throws: ``MasterKeyError`` with code ``MasterKeyError/Code/invalidKey``.
    public init(base64: String) throws(MasterKeyError) {
        let trimmed = base64.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let data = Data(base64Encoded: trimmed) else {
            throw MasterKeyError(.invalidKey, "The master key is not valid base64; give the key as base64 of 16 bytes.")
        }
        guard data.count == 16 || data.count == 32 else {
            throw MasterKeyError(
                .invalidKey,
                "The master key decodes to \(data.count) bytes; an Octopus Master Key is 16 bytes (AES-128) or 32 "
                    + "(AES-256)."
            )
        }
        bytes = Array(data)
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// A new random 128-bit key, as a new Octopus installation generates.
    public static func generate() -> MasterKey {
        var generator = SystemRandomNumberGenerator()
        return MasterKey(bytes: (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// The key as base64, the form `show-master-key` prints and `--masterKey` takes.
    public var base64: String { Data(bytes).base64EncodedString() }

    /// The key's size in bits (128 or 256).
    public var bitCount: Int { bytes.count * 8 }

    /// Never the key itself.
    public var description: String { "MasterKey(\(bitCount) bits, redacted)" }

    /// Encrypts a sensitive value with AES-CBC (PKCS#7 padding) and a fresh random IV.
    /// - Parameter plaintext: The value, e.g. an account password.
    /// - Returns: `<base64 ciphertext>|<base64 IV>`, the form stored in the `[JSON]` documents.
    public func encrypt(_ plaintext: String) -> String {
        let iv = AES._CBC.IV()
        do {
            let ciphertext = try AES._CBC.encrypt(Data(plaintext.utf8), using: SymmetricKey(data: bytes), iv: iv)
            return "\(ciphertext.base64EncodedString())|\(Data(iv).base64EncodedString())"
        } catch {
            // Only a key of a size AES does not have can fail here, and init only accepts 16 or 32 bytes.
            preconditionFailure("AES-CBC refused a \(bitCount)-bit key: \(error)")
        }
    }

    /// Decrypts a value made by ``encrypt(_:)`` with the same key.
    /// - Parameter value: `<base64 ciphertext>|<base64 IV>`.
    /// - Returns: The plaintext.
    /// - Throws: ``MasterKeyError`` with code ``MasterKeyError/Code/malformedValue`` when the value is not
    ///   in that form, ``MasterKeyError/Code/incorrectKey`` when this key cannot decrypt it (Octopus's
    ///   "Padding is invalid and cannot be removed").
    public func decrypt(_ value: String) throws(MasterKeyError) -> String {
        let parts = value.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 2, let ciphertext = Data(base64Encoded: String(parts[0])),
            let ivBytes = Data(base64Encoded: String(parts[1])), ivBytes.count == 16,
            !ciphertext.isEmpty, ciphertext.count % 16 == 0
        else {
            throw MasterKeyError(
                .malformedValue,
                "A sensitive value is not in the stand-in's encrypted form (<base64 ciphertext>|<base64 IV>)."
            )
        }
        let plaintext: Data
        do {
            plaintext = try AES._CBC.decrypt(
                ciphertext,
                using: SymmetricKey(data: bytes),
                iv: try AES._CBC.IV(ivBytes: ivBytes)
            )
        } catch {
            throw MasterKeyError.incorrect()
        }
        guard let text = String(data: plaintext, encoding: .utf8) else { throw MasterKeyError.incorrect() }
        return text
    }

    /// Checks that this key is the one a database's sensitive values were encrypted with: the check value
    /// (``SensitiveValues/checkConfigurationId``) must decrypt to the expected text, which makes the answer
    /// deterministic (a wrong AES-CBC key passes the padding check alone about once in 256 tries), and
    /// every sensitive value in `Account` and `Certificate` must decrypt.
    /// - Parameter database: The instance's database.
    /// - Throws: ``MasterKeyError``: ``MasterKeyError/Code/incorrectKey`` for the wrong key,
    ///   ``MasterKeyError/Code/noCheckValue`` when the database has no check value,
    ///   ``MasterKeyError/Code/malformedValue``, ``MasterKeyError/Code/storage``.
    public func verify(against database: SQLiteDatabase) throws(MasterKeyError) {
        let check: String
        do {
            guard try database.tableExists("Configuration"),
                let json = try database.query(
                    "SELECT json_extract([JSON], '$.Value') FROM Configuration WHERE Id = ?",
                    [.text(SensitiveValues.checkConfigurationId)]
                ).rows.first?.first?.text
            else {
                throw MasterKeyError(
                    .noCheckValue,
                    "The database \(database.path) has no master key check value (Configuration row "
                        + "'\(SensitiveValues.checkConfigurationId)'), so no key can be verified against it; create "
                        + "databases with `database --create` or seed them with SensitiveValues.prepare."
                )
            }
            check = json
        } catch let error as MasterKeyError {
            throw error
        } catch {
            throw MasterKeyError(.storage, "Cannot read the master key check value: \(error)")
        }
        guard try decrypt(check) == SensitiveValues.checkPlaintext else { throw MasterKeyError.incorrect() }
        for value in try SensitiveValues.encryptedValues(in: database) {
            _ = try decrypt(value)
        }
    }
}

/// Where sensitive values live in the stand-in's database and how a database is made ready for a key.
public enum SensitiveValues {
    /// The `Configuration` row holding the master key check value: `{"Value":"<encrypted check text>"}`.
    public static let checkConfigurationId = "masterkey-check"
    /// The text the check value decrypts to.
    static let checkPlaintext = "Octopus stand-in master key check v1"

    /// The `[JSON]` properties holding encrypted values, per table. Each holds a string made by
    /// ``MasterKey/encrypt(_:)`` (or is absent or null).
    public static let fields: [String: [String]] = [
        "Account": ["Password", "Token", "SecretKey", "ClientSecret", "PrivateKeyFile", "PrivateKeyPassphrase"],
        "Certificate": ["CertificateData", "Password"],
    ]

    /// Makes a database ready for a master key: checks that every sensitive value already stored decrypts
    /// with it, then writes the check value (replacing any). Call it after writing `Account`/`Certificate`
    /// rows whose sensitive properties hold ``MasterKey/encrypt(_:)`` values; `database --create` calls it
    /// for a new database.
    /// - Parameters:
    ///   - database: The database.
    ///   - masterKey: The key its sensitive values are encrypted with.
    /// - Throws: ``MasterKeyError`` (``MasterKeyError/Code/incorrectKey`` when a stored value was encrypted
    ///   with another key, ``MasterKeyError/Code/storage``).
    public static func prepare(database: SQLiteDatabase, masterKey: MasterKey) throws(MasterKeyError) {
        for value in try encryptedValues(in: database) {
            _ = try masterKey.decrypt(value)
        }
        let document = "{\"Value\":\"\(masterKey.encrypt(checkPlaintext))\"}"
        do {
            try database.run(
                "INSERT INTO Configuration (Id, [JSON]) VALUES (?, ?) "
                    + "ON CONFLICT (Id) DO UPDATE SET [JSON] = excluded.[JSON]",
                [.text(checkConfigurationId), .text(document)]
            )
        } catch {
            throw MasterKeyError(.storage, "Cannot write the master key check value: \(error)")
        }
    }

    /// Every sensitive value stored in the database (``fields``), encrypted.
    static func encryptedValues(in database: SQLiteDatabase) throws(MasterKeyError) -> [String] {
        var values: [String] = []
        do {
            for (table, properties) in fields.sorted(by: { $0.key < $1.key }) where try database.tableExists(table) {
                for property in properties {
                    let rows = try database.query(
                        "SELECT json_extract([JSON], ?) FROM [\(table)] WHERE json_valid([JSON]) "
                            + "AND json_type([JSON], ?) = 'text'",
                        [.text("$.\(property)"), .text("$.\(property)")]
                    )
                    values += rows.rows.compactMap { $0.first?.text }
                }
            }
        } catch {
            throw MasterKeyError(.storage, "Cannot read the database's sensitive values: \(error)")
        }
        return values
    }
}

/// A master key problem.
public struct MasterKeyError: StandInError {
    /// What went wrong (a struct around a private enum, so new codes never break a caller's `switch`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case invalidKey
            case incorrectKey
            case malformedValue
            case noCheckValue
            case storage
        }
        let base: Base
        init(_ base: Base) { self.base = base }

        /// The key is not base64 of 16 or 32 bytes.
        public static let invalidKey = Code(.invalidKey)
        /// The key cannot decrypt the database's values: not the key they were encrypted with.
        public static let incorrectKey = Code(.incorrectKey)
        /// A stored value is not in the encrypted form.
        public static let malformedValue = Code(.malformedValue)
        /// The database has no check value to verify a key against.
        public static let noCheckValue = Code(.noCheckValue)
        /// The database could not be read or written.
        public static let storage = Code(.storage)

        public var description: String { base.rawValue }
    }

    /// Compare errors by code, never by message.
    public var code: Code
    /// One sentence saying what is wrong and what to do; never contains a key.
    public var message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    static func incorrect() -> MasterKeyError {
        MasterKeyError(
            .incorrectKey,
            "The master key is incorrect for this database: decrypting its sensitive values failed (Padding is "
                + "invalid and cannot be removed.). Give the Master Key of the instance the database came from."
        )
    }
}
