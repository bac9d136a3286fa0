import Crypto
import Foundation
import _CryptoExtras

/// How the stand-in stores API keys: never in clear, only their SHA-256.
public enum APIKeyHash {
    /// The value stored in `ApiKey.ApiKeyHashed` for a key: lower-case hex SHA-256 of the key's UTF-8
    /// bytes, `API-` prefix included. The server hashes a request's `X-Octopus-ApiKey` the same way.
    /// - Parameter apiKey: e.g. `API-ABCDEFGHIJKLMNOPQRSTUVWXYZ12`.
    public static func hashed(_ apiKey: String) -> String {
        SHA256.hash(data: Data(apiKey.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Whether a string has the shape of an Octopus API key: `API-` then at least 16 upper-case letters
    /// or digits.
    public static func isWellFormed(_ apiKey: String) -> Bool {
        guard apiKey.hasPrefix("API-") else { return false }
        let rest = apiKey.dropFirst(4)
        return rest.count >= 16 && rest.allSatisfy { ("A"..."Z").contains($0) || $0.isASCIIDigit }
    }
}

/// How the stand-in stores user passwords: PBKDF2-HMAC-SHA256 with a random salt, as
/// `PBKDF2-SHA256$<rounds>$<base64 salt>$<base64 hash>`.
public enum PasswordHash {
    static let rounds = 10000

    /// Hashes a password with a new random salt.
    /// - Parameter password: The password.
    /// - Returns: The stored form.
    public static func make(_ password: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let hash = derive(password, salt: salt, rounds: rounds)
        return "PBKDF2-SHA256$\(rounds)$\(Data(salt).base64EncodedString())$\(hash.base64EncodedString())"
    }

    /// Whether a password matches a stored hash made by ``make(_:)``.
    public static func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$").map(String.init)
        guard parts.count == 4, parts[0] == "PBKDF2-SHA256", let rounds = Int(parts[1]), rounds > 0,
            let salt = Data(base64Encoded: parts[2]), let expected = Data(base64Encoded: parts[3])
        else { return false }
        return derive(password, salt: Array(salt), rounds: rounds) == expected
    }

    private static func derive(_ password: String, salt: [UInt8], rounds: Int) -> Data {
        do {
            let key = try KDF.Insecure.PBKDF2.deriveKey(
                from: Data(password.utf8),
                salt: salt,
                using: .sha256,
                outputByteCount: 32,
                unsafeUncheckedRounds: rounds
            )
            return key.withUnsafeBytes { Data($0) }
        } catch {
            preconditionFailure("PBKDF2 refused valid parameters: \(error)")
        }
    }
}
