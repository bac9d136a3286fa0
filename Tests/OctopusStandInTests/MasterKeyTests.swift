import Foundation
import OctopusStandIn
import TestHelpers
import Testing

@Suite(.tags(.small))
struct MasterKeyTests {
    @Test func encryptsAndDecrypts() throws {
        let key = MasterKey.generate()
        #expect(Data(base64Encoded: key.base64)?.count == 16)
        for plaintext in ["", "p@ss word", String(repeating: "é", count: 100), "{\"json\":true}"] {
            let encrypted = key.encrypt(plaintext)
            #expect(!encrypted.contains(plaintext) || plaintext.isEmpty)
            #expect(try key.decrypt(encrypted) == plaintext)
            #expect(key.encrypt(plaintext) != encrypted, "a fresh IV every time")
        }
        let parsed = try MasterKey(base64: " \(key.base64)\n")
        #expect(parsed == key)
        #expect(!"\(key)".contains(key.base64))
    }

    @Test func acceptsAES256Keys() throws {
        let bytes = (0..<32).map { UInt8($0) }
        let key = try MasterKey(base64: Data(bytes).base64EncodedString())
        #expect(key.bitCount == 256)
        #expect(try key.decrypt(key.encrypt("secret")) == "secret")
    }

    @Test(arguments: ["not base64!", Data(repeating: 1, count: 15).base64EncodedString(), ""])
    func refusesInvalidKeys(_ text: String) {
        #expect {
            try MasterKey(base64: text)
        } throws: { error in
            (error as? MasterKeyError)?.code == .invalidKey
        }
    }

    /// A wrong AES-CBC key passes the padding check about once in 256 tries; the check value makes
    /// verification fail every time.
    @Test func aWrongKeyIsAlwaysRefused() throws {
        let machine = try StandInMachine()
        let right = MasterKey.generate()
        let database = try OctopusDatabase.create(
            in: machine.dataFolder,
            server: "localhost",
            database: "Keys",
            version: try #require(StandInVersion("2023.3.13026")),
            masterKey: right
        )
        try right.verify(against: database)
        for _ in 0..<600 {
            #expect {
                try MasterKey.generate().verify(against: database)
            } throws: { error in
                (error as? MasterKeyError)?.code == .incorrectKey
                    && "\(error)".contains("Padding is invalid and cannot be removed")
            }
        }
    }

    @Test func sensitiveValuesMustAllDecrypt() throws {
        let machine = try StandInMachine()
        let key = MasterKey.generate()
        let database = try OctopusDatabase.create(
            in: machine.dataFolder,
            server: "localhost",
            database: "Seeded",
            version: try #require(StandInVersion("2023.3.13026")),
            masterKey: key
        )
        try database.run(
            "INSERT INTO Account (Id, Name, SpaceId, [JSON]) VALUES ('Accounts-1', 'aws', 'Spaces-1', "
                + "json_object('SecretKey', ?, 'AccessKey', 'AKIA'))",
            [.text(key.encrypt("s3cr3t"))]
        )
        try SensitiveValues.prepare(database: database, masterKey: key)
        try key.verify(against: database)
        // A value encrypted with another key is found even though the check value is right.
        try database.run(
            "INSERT INTO Certificate (Id, Name, [JSON]) VALUES ('Certificates-1', 'web', json_object('Password', ?))",
            [.text(MasterKey.generate().encrypt("pfx password"))]
        )
        #expect(throws: MasterKeyError.self) { try key.verify(against: database) }
        #expect(throws: MasterKeyError.self) { try SensitiveValues.prepare(database: database, masterKey: key) }
    }

    @Test func aDatabaseWithoutACheckValueCannotBeVerified() throws {
        let fixture = try StandInFixture()
        #expect {
            try MasterKey.generate().verify(against: fixture.open())
        } throws: { error in
            (error as? MasterKeyError)?.code == .noCheckValue
        }
    }

    @Test func passwordHashes() {
        let stored = PasswordHash.make("Correct-Horse-9!")
        #expect(stored.hasPrefix("PBKDF2-SHA256$"))
        #expect(!stored.contains("Correct-Horse-9!"))
        #expect(PasswordHash.verify("Correct-Horse-9!", against: stored))
        #expect(!PasswordHash.verify("correct-horse-9!", against: stored))
        #expect(PasswordHash.make("same") != PasswordHash.make("same"), "a fresh salt every time")
    }

    @Test func apiKeysAreStoredAsSHA256Hex() {
        // FIPS 180-2's test vector for "abc".
        #expect(APIKeyHash.hashed("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(APIKeyHash.isWellFormed("API-ABCDEFGHIJKLMNOP1234"))
        #expect(!APIKeyHash.isWellFormed("API-short"))
        #expect(!APIKeyHash.isWellFormed("api-abcdefghijklmnop1234"))
    }
}
