import Crypto
import Foundation
import Wire
import _CryptoExtras

/// One exported database row: its table, Id, real columns (other than `Id` and `[JSON]`) and document.
struct ExportedRow: Sendable {
    var table: String
    var id: String
    var columns: [String: SQLValue]
    var document: JSONValue.Object

    /// `Name` from the column, else the document.
    var name: String? { columns["Name"]?.text ?? document["Name"]?.stringValue }
    /// `SpaceId` from the column.
    var spaceId: String? { columns["SpaceId"]?.text }
    /// How to name the row in a sentence: `Project 'Web' (Projects-1)`.
    var label: String { name.map { "\(table) '\($0)' (\(id))" } ?? "\(table) \(id)" }
}

/// What Export/Import Projects and `Octopus.Migrator partial-export` write, and their imports read.
///
/// Octopus does not document its export format, so this is the stand-in's own: a `metadata.json` and one
/// file per document, `<Table>/<Id>.json` = `{"Id", "Columns": {…}, "Document": {…}}`, plus
/// `TaskLogs/<id>.log.txt` when the Migrator includes task logs. Export/Import Projects zips that tree
/// (`Octopus-Export-*.zip`); the Migrator writes it to its `--directory` (Octopus's Linux container
/// imports a Migrator folder when it has a `metadata.json`, octopus-facts.md §1.2).
///
/// `metadata.json`:
/// ```json
/// {"Format": "octopus-standin-export", "FormatVersion": 1, "Kind": "ExportProjects" | "PartialExport",
///  "OctopusVersion": "2023.3.13026", "ExportedAt": "…", "ServerTaskId": "ServerTasks-5" | null,
///  "Spaces": [{"Id", "Name"}], "Projects": [{"Id", "Name", "SpaceId"}],
///  "References": [{"Table", "Id", "Name", "SpaceId"}],
///  "Password": {"Algorithm": "PBKDF2-SHA256/AES-256-CBC", "Iterations", "Salt", "Check"},
///  "Options": {…}}
/// ```
/// `Projects` are the projects asked for (an import refuses or skips these when they exist); other
/// projects in the bundle were reached through them (Deploy a Release steps) and are matched by name.
/// `References` name documents that are referred to but not exported (the default lifecycle's
/// environments), so an import can match them by name. Sensitive values are encrypted with a key derived
/// from the password, never with a Master Key.
struct ExportBundle: Sendable {
    /// Which tool made the export.
    enum Kind: String, Sendable {
        /// Export/Import Projects (2021.1 and later): REST, a zip artifact.
        case exportProjects = "ExportProjects"
        /// `Octopus.Migrator partial-export`: a folder.
        case partialExport = "PartialExport"
    }

    struct Space: Sendable, Hashable {
        var id: String
        var name: String
    }

    struct Project: Sendable, Hashable {
        var id: String
        var name: String
        var spaceId: String?
    }

    struct Reference: Sendable, Hashable {
        var table: String
        var id: String
        var name: String
        var spaceId: String?
    }

    static let format = "octopus-standin-export"
    static let formatVersion: Int64 = 1
    static let metadataFile = "metadata.json"

    var kind: Kind
    var octopusVersion: StandInVersion
    var exportedAt: String
    var serverTaskId: String?
    var spaces: [Space] = []
    var projects: [Project] = []
    var references: [Reference] = []
    var rows: [ExportedRow] = []
    var protection: ExportPassword.Protection
    var options = JSONValue.Object()
    /// Task logs by task Id (Migrator `--include-tasklogs`).
    var taskLogs: [(taskId: String, data: [UInt8])] = []

    /// The rows of one table.
    func rows(_ table: String) -> [ExportedRow] {
        rows.filter { $0.table.lowercased() == table.lowercased() }
    }

    // MARK: - Writing

    /// The bundle's files: `metadata.json` first, then the documents in export order.
    func files() -> [ZipArchive.Entry] {
        var entries = [ZipArchive.Entry(name: Self.metadataFile, data: Array(metadata().serialized().utf8))]
        for row in rows {
            var columns = JSONValue.Object()
            for (name, value) in row.columns.sorted(by: { $0.key < $1.key }) {
                columns[name] = Self.json(value)
            }
            let file = JSONValue.object([
                ("Id", .string(row.id)), ("Columns", .object(columns)), ("Document", .object(row.document)),
            ])
            entries.append(
                ZipArchive.Entry(
                    name: "\(row.table)/\(Self.fileName(row.id)).json",
                    data: Array(file.serialized().utf8)
                )
            )
        }
        for log in taskLogs {
            entries.append(ZipArchive.Entry(name: "TaskLogs/\(Self.fileName(log.taskId)).log.txt", data: log.data))
        }
        return entries
    }

    private func metadata() -> JSONValue {
        .object([
            ("Format", .string(Self.format)),
            ("FormatVersion", .integer(Self.formatVersion)),
            ("Kind", .string(kind.rawValue)),
            ("OctopusVersion", .string(octopusVersion.description)),
            ("ExportedAt", .string(exportedAt)),
            ("ServerTaskId", serverTaskId.map { .string($0) } ?? .null),
            (
                "Spaces",
                .array(spaces.map { .object([("Id", .string($0.id)), ("Name", .string($0.name))]) })
            ),
            (
                "Projects",
                .array(
                    projects.map {
                        .object([
                            ("Id", .string($0.id)), ("Name", .string($0.name)),
                            ("SpaceId", $0.spaceId.map { .string($0) } ?? .null),
                        ])
                    }
                )
            ),
            (
                "References",
                .array(
                    references.map {
                        .object([
                            ("Table", .string($0.table)), ("Id", .string($0.id)), ("Name", .string($0.name)),
                            ("SpaceId", $0.spaceId.map { .string($0) } ?? .null),
                        ])
                    }
                )
            ),
            ("Password", protection.json),
            ("Options", .object(options)),
        ])
    }

    /// An Id as a file name: letters, digits, `.`, `_` and `-` kept, anything else percent-encoded.
    static func fileName(_ id: String) -> String {
        var allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        allowed.insert(charactersIn: "._-")
        let encoded = id.addingPercentEncoding(withAllowedCharacters: allowed) ?? id
        return encoded.hasPrefix(".") ? "%2E" + encoded.dropFirst() : encoded
    }

    static func json(_ value: SQLValue) -> JSONValue {
        switch value {
        case .null: .null
        case .integer(let number): .integer(number)
        case .real(let number): .double(number)
        case .text(let text): .string(text)
        }
    }

    static func sqlValue(_ value: JSONValue) -> SQLValue {
        switch value {
        case .null: .null
        case .bool(let flag): .integer(flag ? 1 : 0)
        case .integer(let number): .integer(number)
        case .double(let number): .real(number)
        case .string(let text): .text(text)
        case .array, .object: .text(value.serialized())
        }
    }

    // MARK: - Reading

    /// Reads a bundle from its files.
    /// - Parameter source: How to name the export in messages (`the uploaded file X.zip`).
    /// - Throws: ``ExportImportError`` (`malformed`) saying what is wrong.
    static func parse(_ files: [ZipArchive.Entry], source: String) throws(ExportImportError) -> ExportBundle {
        func malformed(_ reason: String) -> ExportImportError {
            ExportImportError(
                .malformed,
                "\(source) is not an export the stand-in can import: \(reason). Export the projects again."
            )
        }
        guard let metadataFile = files.first(where: { $0.name == metadataFile }) else {
            throw malformed("it has no \(metadataFile)")
        }
        let metadata: JSONValue.Object
        do {
            guard let object = try JSONValue(parsing: metadataFile.data).objectValue else {
                throw malformed("\(Self.metadataFile) is not a JSON object")
            }
            metadata = object
        } catch let error as ExportImportError {
            throw error
        } catch {
            throw malformed("\(Self.metadataFile) is not valid JSON (\(error))")
        }
        guard metadata["Format"]?.stringValue == format else {
            throw malformed("\(Self.metadataFile) does not say \"Format\": \"\(format)\"")
        }
        guard let formatVersion = metadata["FormatVersion"]?.integerValue, formatVersion <= Self.formatVersion else {
            throw malformed("its FormatVersion is newer than this stand-in reads (\(Self.formatVersion))")
        }
        guard let kindText = metadata["Kind"]?.stringValue, let kind = Kind(rawValue: kindText) else {
            throw malformed("its Kind is not ExportProjects or PartialExport")
        }
        guard let versionText = metadata["OctopusVersion"]?.stringValue, let version = StandInVersion(versionText)
        else {
            throw malformed("it does not say which Octopus version made it (OctopusVersion)")
        }
        guard let protection = ExportPassword.Protection(json: metadata["Password"]) else {
            throw malformed("its Password section is missing or malformed")
        }
        var bundle = ExportBundle(
            kind: kind,
            octopusVersion: version,
            exportedAt: metadata["ExportedAt"]?.stringValue ?? "",
            serverTaskId: metadata["ServerTaskId"]?.stringValue,
            protection: protection,
            options: metadata["Options"]?.objectValue ?? JSONValue.Object()
        )
        for item in metadata["Spaces"]?.arrayValue ?? [] {
            guard let id = item["Id"]?.stringValue, let name = item["Name"]?.stringValue else {
                throw malformed("a space in \(Self.metadataFile) has no Id or Name")
            }
            bundle.spaces.append(Space(id: id, name: name))
        }
        for item in metadata["Projects"]?.arrayValue ?? [] {
            guard let id = item["Id"]?.stringValue, let name = item["Name"]?.stringValue else {
                throw malformed("a project in \(Self.metadataFile) has no Id or Name")
            }
            bundle.projects.append(Project(id: id, name: name, spaceId: item["SpaceId"]?.stringValue))
        }
        for item in metadata["References"]?.arrayValue ?? [] {
            guard let table = item["Table"]?.stringValue, let id = item["Id"]?.stringValue,
                let name = item["Name"]?.stringValue
            else { throw malformed("a reference in \(Self.metadataFile) has no Table, Id or Name") }
            bundle.references.append(Reference(table: table, id: id, name: name, spaceId: item["SpaceId"]?.stringValue))
        }
        for file in files where file.name != Self.metadataFile {
            let parts = file.name.split(separator: "/")
            guard parts.count == 2 else { throw malformed("it holds an unexpected file \(file.name)") }
            if parts[0] == "TaskLogs" {
                let name = String(parts[1])
                guard name.hasSuffix(".log.txt") else { throw malformed("it holds an unexpected file \(file.name)") }
                let id = String(name.dropLast(".log.txt".count)).removingPercentEncoding ?? name
                bundle.taskLogs.append((id, file.data))
                continue
            }
            guard OctopusSchema.tables.contains(where: { $0.name == parts[0] }) else {
                throw malformed("it holds documents of an unknown table \(parts[0])")
            }
            let object: JSONValue.Object
            do {
                guard let parsed = try JSONValue(parsing: file.data).objectValue else {
                    throw malformed("\(file.name) is not a JSON object")
                }
                object = parsed
            } catch let error as ExportImportError {
                throw error
            } catch {
                throw malformed("\(file.name) is not valid JSON (\(error))")
            }
            guard let id = object["Id"]?.stringValue, let document = object["Document"]?.objectValue else {
                throw malformed("\(file.name) has no Id or Document")
            }
            var columns: [String: SQLValue] = [:]
            for (name, value) in object["Columns"]?.objectValue ?? JSONValue.Object() {
                columns[name] = sqlValue(value)
            }
            bundle.rows.append(ExportedRow(table: String(parts[0]), id: id, columns: columns, document: document))
        }
        for project in bundle.projects
        where !bundle.rows.contains(where: { $0.table == "Project" && $0.id == project.id }) {
            throw malformed("it names the project \(project.name) (\(project.id)) but does not hold it")
        }
        return bundle
    }
}

/// The password that protects an export's sensitive values: AES-256-CBC with a key derived from the
/// password by PBKDF2-HMAC-SHA256 and a random salt, values in the Master Key's form
/// (`<base64 ciphertext>|<base64 IV>`), and an encrypted check text so a wrong password fails every time.
struct ExportPassword: Sendable {
    /// What the export records about its password (never the password or the key).
    struct Protection: Sendable, Hashable {
        static let algorithm = "PBKDF2-SHA256/AES-256-CBC"
        var iterations: Int
        var salt: [UInt8]
        /// The check text, encrypted with the derived key.
        var check: String

        var json: JSONValue {
            .object([
                ("Algorithm", .string(Self.algorithm)), ("Iterations", .integer(Int64(iterations))),
                ("Salt", .string(Data(salt).base64EncodedString())), ("Check", .string(check)),
            ])
        }

        init(iterations: Int, salt: [UInt8], check: String) {
            self.iterations = iterations
            self.salt = salt
            self.check = check
        }

        init?(json: JSONValue?) {
            guard let json, json["Algorithm"]?.stringValue == Self.algorithm,
                let iterations = json["Iterations"]?.integerValue, iterations > 0, iterations <= 10_000_000,
                let saltText = json["Salt"]?.stringValue, let salt = Data(base64Encoded: saltText), !salt.isEmpty,
                let check = json["Check"]?.stringValue
            else { return nil }
            self.init(iterations: Int(iterations), salt: Array(salt), check: check)
        }
    }

    static let iterations = 10_000
    static let checkText = "Octopus stand-in export password check v1"

    private let key: MasterKey
    let protection: Protection

    /// A new protection for an export.
    /// - Throws: ``ExportImportError`` (`malformed`) for an empty password.
    init(newPassword password: String) throws(ExportImportError) {
        guard !password.isEmpty else {
            throw ExportImportError(.malformed, "A password is required to protect the export's sensitive values.")
        }
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        key = try Self.derive(password, salt: salt, iterations: Self.iterations)
        protection = Protection(iterations: Self.iterations, salt: salt, check: key.encrypt(Self.checkText))
    }

    /// Unlocks an export's protection.
    /// - Throws: ``ExportImportError`` (`wrongPassword`) when the password is not the export's.
    init(password: String, unlocking protection: Protection) throws(ExportImportError) {
        key = try Self.derive(password, salt: protection.salt, iterations: protection.iterations)
        self.protection = protection
        guard (try? key.decrypt(protection.check)) == Self.checkText else {
            throw ExportImportError(
                .wrongPassword,
                "The password is incorrect: it does not decrypt the export's sensitive values. Give the password the "
                    + "projects were exported with."
            )
        }
    }

    func encrypt(_ plaintext: String) -> String { key.encrypt(plaintext) }

    func decrypt(_ value: String, what: String) throws(ExportImportError) -> String {
        do {
            return try key.decrypt(value)
        } catch {
            throw ExportImportError(
                .malformed,
                "The sensitive value of \(what) in the export cannot be decrypted with the export password; the "
                    + "export is damaged."
            )
        }
    }

    private static func derive(
        _ password: String,
        salt: [UInt8],
        iterations: Int
    ) throws(ExportImportError) -> MasterKey {
        do {
            let derived = try KDF.Insecure.PBKDF2.deriveKey(
                from: Data(password.utf8),
                salt: salt,
                using: .sha256,
                outputByteCount: 32,
                unsafeUncheckedRounds: iterations
            )
            return try MasterKey(base64: derived.withUnsafeBytes { Data($0) }.base64EncodedString())
        } catch {
            throw ExportImportError(.storage, "Cannot derive the export key from the password: \(error)")
        }
    }
}

/// The sensitive values in exported rows: `Account` and `Certificate` properties
/// (``SensitiveValues/fields``) and `VariableSet` variables whose `IsSensitive` is true (or `Type` is
/// `Sensitive`), each an encrypted string.
enum SensitiveFields {
    /// Replaces every sensitive value of a row with `transform(value, what)`.
    static func transform(
        _ row: inout ExportedRow,
        _ transform: (String, String) throws(ExportImportError) -> String
    ) throws(ExportImportError) {
        if let properties = SensitiveValues.fields[row.table] {
            for property in properties {
                guard let value = row.document[property]?.stringValue, !value.isEmpty else { continue }
                row.document[property] = .string(try transform(value, "\(row.label) \(property)"))
            }
        }
        guard row.table == "VariableSet", var variables = row.document["Variables"]?.arrayValue else { return }
        for index in variables.indices {
            guard var variable = variables[index].objectValue,
                variable["IsSensitive"]?.boolValue == true || variable["Type"]?.stringValue == "Sensitive",
                let value = variable["Value"]?.stringValue, !value.isEmpty
            else { continue }
            let name = variable["Name"]?.stringValue ?? "#\(index + 1)"
            variable["Value"] = .string(try transform(value, "variable \(name) of \(row.label)"))
            variables[index] = .object(variable)
        }
        row.document["Variables"] = .array(variables)
    }
}
