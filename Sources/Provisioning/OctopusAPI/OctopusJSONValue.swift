/// A JSON document as Octopus sent it, every member kept, so that a resource can be read for the fields
/// octoprov uses and written back whole (the docs' pattern: GET, change one field, PUT the document).
///
/// Integers that fit in 64 bits stay integers (Octopus's `AutoId`s and counts are exact); other numbers are
/// `Double`.
public enum OctopusJSONValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([OctopusJSONValue])
    case object([String: OctopusJSONValue])

    /// Decodes any JSON value.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([OctopusJSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: OctopusJSONValue].self))
        }
    }

    /// Encodes the value as JSON.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The member `key` of an object: the exact name first, then ignoring case (Octopus's JSON is
    /// PascalCase, and its server matches names case-insensitively); `nil` for other values or a missing key.
    public subscript(key: String) -> OctopusJSONValue? {
        guard case .object(let members) = self else { return nil }
        if let value = members[key] { return value }
        let lowered = key.lowercased()
        return members.first { $0.key.lowercased() == lowered }?.value
    }

    /// The text of a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The value of a boolean.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The value of an integer (or of a number that is a whole number).
    public var integerValue: Int? {
        switch self {
        case .integer(let value): return Int(exactly: value)
        case .number(let value): return Int(exactly: value)
        default: return nil
        }
    }

    /// The elements of an array.
    public var arrayValue: [OctopusJSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The members of an object.
    public var objectValue: [String: OctopusJSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// Whether the value is JSON `null`.
    public var isNull: Bool { self == .null }

    /// A short rendering for messages (strings unquoted, containers summarised).
    public var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): String(value)
        case .integer(let value): String(value)
        case .number(let value): String(value)
        case .string(let value): value
        case .array(let value): "[\(value.count) items]"
        case .object(let value): "{\(value.count) members}"
        }
    }

    /// A copy with the member `key` set to `value` (an object only; other values are returned unchanged). An
    /// existing member named `key` in another case is replaced, so the document keeps one spelling.
    ///
    /// - Parameters:
    ///   - key: The member's name.
    ///   - value: Its new value.
    /// - Returns: The changed document.
    public func setting(_ key: String, to value: OctopusJSONValue) -> OctopusJSONValue {
        guard case .object(var members) = self else { return self }
        let lowered = key.lowercased()
        let existing = members.keys.first { $0.lowercased() == lowered } ?? key
        members[existing] = value
        return .object(members)
    }
}
