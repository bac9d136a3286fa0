public import Wire

/// Typed views of the Octopus resources octoprov reads (octopus-facts.md §4). Each decodes the fields octoprov
/// uses and keeps the whole document in `document`, unknown members included, so that nothing is lost when a
/// resource is written back.

/// One page of a collection: `Items`, `TotalResults`, `ItemsPerPage` and `Links`.
public struct OctopusPage<Item: Decodable & Sendable>: Decodable, Sendable {
    /// The items of this page.
    public var items: [Item]
    /// How many items the whole collection has.
    public var totalResults: Int
    /// The page size the server used.
    public var itemsPerPage: Int?
    /// The page's links, such as `Page.Next`.
    public var links: [String: String]

    enum CodingKeys: String, CodingKey {
        case items = "Items"
        case totalResults = "TotalResults"
        case itemsPerPage = "ItemsPerPage"
        case links = "Links"
    }

    /// Decodes a page; `Links` may be absent (no next page).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        items = try container.decode([Item].self, forKey: .items)
        totalResults = try container.decode(Int.self, forKey: .totalResults)
        itemsPerPage = try container.decodeIfPresent(Int.self, forKey: .itemsPerPage)
        links = OctopusDocument.links(try container.decodeIfPresent(JSONValue.self, forKey: .links))
    }
}

/// `GET /api`: the server's version, Installation ID and links.
public struct OctopusRoot: Decodable, Sendable, Hashable {
    /// `Application`, "Octopus Deploy".
    public var application: String?
    /// `Version`, such as `2023.3.13026`.
    public var version: String
    /// `ApiVersion`, such as `3.0.0`.
    public var apiVersion: String?
    /// `InstallationId`, a GUID (absent on very old servers).
    public var installationId: String?
    /// `Links`: names to URI templates.
    public var links: [String: String]
    /// The whole document.
    public var document: JSONValue

    /// Whether the server has spaces (2019.1 and later): its root links to `Spaces`.
    public var hasSpaces: Bool { links["Spaces"] != nil }

    /// Decodes the root document.
    public init(from decoder: any Decoder) throws {
        let document = try OctopusDocument(decoder)
        self.document = document.value
        version = try document.string("Version")
        application = document.optionalString("Application")
        apiVersion = document.optionalString("ApiVersion")
        installationId = document.optionalString("InstallationId")
        links = OctopusDocument.links(document.value.member("Links"))
    }
}

/// A space from `GET /api/spaces/all`.
public struct OctopusSpace: Decodable, Sendable, Hashable, OctopusIdentified {
    /// `Id`, such as `Spaces-1`.
    public var id: String
    /// `Name`.
    public var name: String
    /// `IsDefault`.
    public var isDefault: Bool
    /// The whole document.
    public var document: JSONValue

    /// Decodes a space.
    public init(from decoder: any Decoder) throws {
        let document = try OctopusDocument(decoder)
        self.document = document.value
        id = try document.string("Id")
        name = document.optionalString("Name") ?? id
        isDefault = document.value.member("IsDefault")?.boolValue ?? false
    }
}

/// An item with an Octopus `Id`, which paging uses to notice a server that ignores `skip`.
protocol OctopusIdentified {
    var id: String { get }
}

/// A resource of a collection: a machine (deployment target), worker, project trigger, subscription, project or
/// environment. Octopus treats a missing `IsDisabled` as false, and so does this type.
public struct OctopusResource: Decodable, Sendable, Hashable, OctopusIdentified {
    /// `Id`, such as `Machines-1`.
    public var id: String
    /// `Name`.
    public var name: String?
    /// `SpaceId` (absent before 2019.1).
    public var spaceId: String?
    /// `IsDisabled`.
    public var isDisabled: Bool
    /// `Links.Self`, where the resource is read and replaced.
    public var selfLink: String?
    /// The whole document.
    public var document: JSONValue

    /// Decodes a resource.
    public init(from decoder: any Decoder) throws {
        let document = try OctopusDocument(decoder)
        self.document = document.value
        id = try document.string("Id")
        name = document.optionalString("Name")
        spaceId = document.optionalString("SpaceId")
        isDisabled = document.value.member("IsDisabled")?.boolValue ?? false
        selfLink = OctopusDocument.links(document.value.member("Links"))["Self"]
    }

    /// `Spaces-1/web-1-1 (Machines-1)`: the space (when there is one), the name and the Id, for messages.
    public var label: String {
        let named = name.map { "\($0) (\(id))" } ?? id
        guard let spaceId, !spaceId.isEmpty else { return named }
        return "\(spaceId)/\(named)"
    }
}

/// `GET /api/serverstatus/health`.
public struct OctopusServerHealth: Decodable, Sendable, Hashable {
    /// `IsOperatingNormally`.
    public var isOperatingNormally: Bool
    /// `Description`, the server's own sentence.
    public var description: String?
    /// The whole document.
    public var document: JSONValue

    /// Decodes the health document.
    public init(from decoder: any Decoder) throws {
        let document = try OctopusDocument(decoder)
        self.document = document.value
        isOperatingNormally = try document.bool("IsOperatingNormally")
        description = document.optionalString("Description")
    }
}

/// `GET /api/serverconfiguration`.
public struct OctopusServerConfiguration: Decodable, Sendable, Hashable {
    /// `ServerUri`: the URI Octopus puts in links and notifications (`null` when never set).
    public var serverUri: String?
    /// The whole document.
    public var document: JSONValue

    /// Decodes the server configuration.
    public init(from decoder: any Decoder) throws {
        let document = try OctopusDocument(decoder)
        self.document = document.value
        serverUri = document.optionalString("ServerUri")
    }
}

/// `GET /api/tasks/{id}`.
public struct OctopusTask: Decodable, Sendable, Hashable {
    /// `Id`, such as `ServerTasks-1`.
    public var id: String
    /// `Name`, such as `Deploy`.
    public var name: String?
    /// `State`: `Queued`, `Executing`, `Failed`, `Canceled`, `TimedOut`, `Success` or `Cancelling`.
    public var state: String
    /// `IsCompleted`; when absent, derived from `State` (completed unless Queued, Executing or Cancelling).
    public var isCompleted: Bool
    /// `FinishedSuccessfully`.
    public var finishedSuccessfully: Bool
    /// `ErrorMessage`.
    public var errorMessage: String?
    /// The whole document.
    public var document: JSONValue

    /// Decodes a task.
    public init(from decoder: any Decoder) throws {
        let document = try OctopusDocument(decoder)
        self.document = document.value
        id = try document.string("Id")
        name = document.optionalString("Name")
        state = try document.string("State")
        isCompleted =
            document.value.member("IsCompleted")?.boolValue ?? !["Queued", "Executing", "Cancelling"].contains(state)
        finishedSuccessfully = document.value.member("FinishedSuccessfully")?.boolValue ?? (state == "Success")
        errorMessage = document.optionalString("ErrorMessage").flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// `GET /api/octopusservernodes/ping`: 200 while the node takes work, 418 while it drains.
public struct OctopusNodePing: Sendable, Hashable {
    /// The HTTP status.
    public var status: Int
    /// The node's `Name`, when the body has one.
    public var nodeName: String?
    /// The body (the node resource), or `null` when it was not JSON.
    public var document: JSONValue

    /// Whether the node takes work (200).
    public var isReady: Bool { status == 200 }
    /// Whether the node is online but draining (418).
    public var isDraining: Bool { status == 418 }
}

/// Reads fields of a decoded document, throwing `DecodingError` for a missing or mistyped required one.
struct OctopusDocument {
    let value: JSONValue
    private let codingPath: [any CodingKey]

    init(_ decoder: any Decoder) throws {
        value = try JSONValue(from: decoder)
        codingPath = decoder.codingPath
        guard value.objectValue != nil else {
            throw DecodingError.typeMismatch(
                [String: JSONValue].self,
                DecodingError.Context(codingPath: codingPath, debugDescription: "expected a JSON object")
            )
        }
    }

    func string(_ key: String) throws -> String {
        try required(key, as: String.self, "expected a string") { $0.stringValue }
    }

    func bool(_ key: String) throws -> Bool {
        try required(key, as: Bool.self, "expected true or false") { $0.boolValue }
    }

    /// The member `key` read by `read`, throwing `keyNotFound` when it is missing and `typeMismatch` (saying
    /// `expected`) when `read` returns `nil`.
    private func required<T>(
        _ key: String,
        as type: T.Type,
        _ expected: String,
        _ read: (JSONValue) -> T?
    ) throws -> T {
        guard let member = value.member(key) else {
            throw DecodingError.keyNotFound(
                Key(key),
                DecodingError.Context(codingPath: codingPath, debugDescription: "`\(key)` is missing")
            )
        }
        guard let read = read(member) else {
            throw DecodingError.typeMismatch(
                type,
                DecodingError.Context(codingPath: codingPath + [Key(key)], debugDescription: expected)
            )
        }
        return read
    }

    func optionalString(_ key: String) -> String? { value.member(key)?.stringValue }

    /// A `Links` object as names to strings (other members are ignored).
    static func links(_ value: JSONValue?) -> [String: String] {
        var links: [String: String] = [:]
        for (name, link) in value?.objectValue ?? [:] {
            if let text = link.stringValue { links[name] = text }
        }
        return links
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
