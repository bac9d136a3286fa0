import Crypto
import Foundation
import Wire

/// The caller of an authenticated request.
struct APIUser: Sendable {
    var id: String
    var name: String

    var actor: StandInActor { StandInActor(userId: id, username: name) }
}

/// Where a request is, once `/api` and an optional `Spaces-N` segment are taken off.
struct APIContext {
    var request: HTTPRequest
    var user: APIUser
    /// The space the request is about: the one in the path, else the default space (`nil` before 2019.1).
    var space: String?
    /// Whether the path named the space (`/api/Spaces-1/…`).
    var explicitSpace: Bool
    /// The path segments after `/api` (and the space), percent-decoded, case as sent.
    var rest: [String]
}

/// The stand-in's REST API: routing, authentication and the handlers (in `OctopusAPI+*.swift`).
///
/// Every response is JSON except task logs and artifact contents; errors are Octopus's
/// `{"ErrorMessage": …, "Errors": […]}`. Paths and query parameter names are case-insensitive, like
/// Octopus's.
final class OctopusAPI: Sendable {
    let runtime: ServerRuntime
    let version: StandInVersionNumber
    let store: StandInStore
    let log: StandInServerLog
    let builder: APIResourceBuilder

    init(runtime: ServerRuntime, version: StandInVersionNumber, store: StandInStore, log: StandInServerLog) {
        self.runtime = runtime
        self.version = version
        self.store = store
        self.log = log
        builder = APIResourceBuilder(spaces: version.hasSpaces)
    }

    /// Answers one request; never throws (errors become Octopus error documents).
    func handle(_ request: HTTPRequest) -> HTTPResponse {
        do {
            return try route(request)
        } catch let error as APIError {
            return error.response
        } catch {
            log.error("\(request.method) \(request.path) failed: \(error)")
            return APIError(status: 500, message: "The stand-in could not answer this request: \(error)").response
        }
    }

    private func route(_ request: HTTPRequest) throws -> HTTPResponse {
        var segments: [String] = []
        for raw in request.path.split(separator: "/", omittingEmptySubsequences: true) {
            guard let segment = HTTPRequest.percentDecode(String(raw), plusIsSpace: false) else {
                throw APIError.badRequest("The path \(request.path) has a malformed percent escape.")
            }
            segments.append(segment)
        }
        guard segments.first?.lowercased() == "api" else {
            throw APIError(status: 404, message: "There is nothing at \(request.path); the API is under /api.")
        }
        var rest = Array(segments.dropFirst())
        let lowered = rest.map { $0.lowercased() }
        if rest.isEmpty {
            try Self.allow(request, ["GET", "HEAD"])
            return .json(200, root())
        }
        if lowered == ["octopusservernodes", "ping"] {
            try Self.allow(request, ["GET", "HEAD"])
            return try ping()
        }
        let user = try authenticate(request)
        var space: String?
        var explicitSpace = false
        if version.hasSpaces, Self.isSpaceId(rest[0]) {
            guard let found = try store.spaceId(matching: rest[0]) else { throw APIError.notFound(rest[0]) }
            space = found
            explicitSpace = true
            rest.removeFirst()
        }
        var context = APIContext(request: request, user: user, space: space, explicitSpace: explicitSpace, rest: rest)
        if rest.isEmpty {
            try Self.allow(request, ["GET", "HEAD"])
            return .json(200, spaceRoot(space ?? ""))
        }
        let first = rest[0].lowercased()
        if let kind = APIResourceKind.spaceCollections.first(where: { $0.collection == first }),
            store.hasTable(kind.table)
        {
            try resolveDefaultSpace(&context)
            if kind.collection == "projects", rest.count >= 2, rest[1].lowercased() == "import-export" {
                return try importExport(context)
            }
            if kind.collection == "projects", rest.count >= 3 { return try projectChild(context) }
            if kind.collection == "channels", rest.count == 3 { return try channelChild(context) }
            return try collection(kind, context)
        }
        switch first {
        case "tasks" where store.hasTable("ServerTask"):
            return try tasks(context)
        case "artifacts" where store.hasTable("Artifact"):
            try resolveDefaultSpace(&context)
            return try artifacts(context)
        case "deploymentprocesses" where store.hasTable("DeploymentProcess"):
            try resolveDefaultSpace(&context)
            return try deploymentProcesses(context)
        case "variables" where store.hasTable("VariableSet"):
            try resolveDefaultSpace(&context)
            return try variableSets(context)
        case "releases" where store.hasTable("Release"):
            try resolveDefaultSpace(&context)
            return try releases(context)
        default:
            break
        }
        guard !explicitSpace else { throw unknownPath(request) }
        switch first {
        case "spaces" where version.hasSpaces:
            if rest.count == 1, request.method == "POST" { return try createSpace(context) }
            return try collection(.spaces, context)
        case "serverstatus":
            return try serverStatus(context)
        case "octopusservernodes":
            return try collection(.serverNodes, context)
        case "serverconfiguration":
            return try serverConfiguration(context)
        case "maintenanceconfiguration":
            return try maintenanceConfiguration(context)
        case "configuration"
        where rest.count == 3 && rest[1].lowercased() == "server-folders"
            && rest[2].lowercased() == "values":
            try Self.allow(request, ["GET", "HEAD"])
            return .json(200, .object(try serverFolders().document))
        default:
            throw unknownPath(request)
        }
    }

    /// `Spaces-<digits>`, case-insensitive.
    static func isSpaceId(_ segment: String) -> Bool {
        let lowered = segment.lowercased()
        guard lowered.hasPrefix("spaces-") else { return false }
        let digits = lowered.dropFirst("spaces-".count)
        return !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// Without a space in the path, space-scoped collections use the default space (from 2019.1).
    func resolveDefaultSpace(_ context: inout APIContext) throws {
        guard version.hasSpaces, context.space == nil else { return }
        guard let space = try store.defaultSpaceId() else {
            throw APIError(
                status: 404,
                message: "There is no default space (a Space row with IsDefault = 1); name a space in the path, "
                    + "e.g. /api/Spaces-1/\(context.rest.first ?? "")."
            )
        }
        context.space = space
    }

    func unknownPath(_ request: HTTPRequest) -> APIError {
        APIError(
            status: 404,
            message: "There is no \(request.path) in the Octopus \(runtime.version) API served by the stand-in."
        )
    }

    /// Throws 405 unless the method is one of `allowed`.
    static func allow(_ request: HTTPRequest, _ allowed: [String]) throws {
        guard allowed.contains(request.method) else {
            throw APIError.methodNotAllowed(request.method, allowed: allowed)
        }
    }

    // MARK: Authentication

    /// Checks `X-Octopus-ApiKey` (or `?apikey=`) against `ApiKey.ApiKeyHashed` (lower-case hex SHA-256),
    /// whose user must exist and be active.
    func authenticate(_ request: HTTPRequest) throws -> APIUser {
        let key = (request.header("X-Octopus-ApiKey") ?? request.queryValue("apikey") ?? "")
            .trimmingCharacters(in: .whitespaces)
        guard !key.isEmpty else {
            throw APIError(
                status: 401,
                message: "You must be logged in to perform this action. Please provide a valid API key "
                    + "(the X-Octopus-ApiKey header) or log in again."
            )
        }
        let hash = SHA256.hash(data: Array(key.utf8)).map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
        guard store.hasTable("ApiKey"), store.hasTable("User") else {
            throw APIError(
                status: 401,
                message: "The API key you provided was not valid: this database has no API keys."
            )
        }
        let found = try store.with { database in
            try database.query(
                "SELECT k.UserId, u.Id, u.Name, u.IsActive FROM ApiKey k LEFT JOIN [User] u ON u.Id = k.UserId "
                    + "WHERE lower(k.ApiKeyHashed) = ? LIMIT 1",
                [.text(hash)]
            ).rows.first
        }
        guard let row = found else {
            throw APIError(
                status: 401,
                message: "The API key you provided was not valid. Please double-check your API key and try again."
            )
        }
        guard let userId = row[1].text, row[3].integer != 0 else {
            throw APIError(
                status: 401,
                message: "The API key you provided belongs to a user that is missing or not active."
            )
        }
        return APIUser(id: userId, name: row[2].text ?? userId)
    }

    // MARK: Query parameters and paging

    /// A non-negative integer query parameter, or `defaultValue` when absent.
    static func integer(_ request: HTTPRequest, _ name: String, default defaultValue: Int?) throws -> Int? {
        guard let text = request.queryValue(name), !text.isEmpty else { return defaultValue }
        guard let value = Int(text), value >= 0 else {
            throw APIError.badRequest("The query parameter \(name) must be a non-negative integer, not '\(text)'.")
        }
        return value
    }

    /// A boolean query parameter (`true`/`false`, any case), or `nil` when absent.
    static func boolean(_ request: HTTPRequest, _ name: String) throws -> Bool? {
        guard let text = request.queryValue(name), !text.isEmpty else { return nil }
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default: throw APIError.badRequest("The query parameter \(name) must be true or false, not '\(text)'.")
        }
    }

    /// A comma-separated list query parameter.
    static func list(_ request: HTTPRequest, _ name: String) -> [String] {
        request.query.filter { $0.name.lowercased() == name.lowercased() }
            .flatMap { $0.value.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }

    /// Octopus's paged collection document.
    func page(
        itemType: String,
        link: String,
        template: String,
        request: HTTPRequest,
        total: Int,
        items: [JSONValue],
        skip: Int,
        take: Int
    ) -> JSONValue {
        let pages = take == 0 ? 1 : max(1, (total + take - 1) / take)
        let kept = request.query.filter { !["skip", "take", "apikey"].contains($0.name.lowercased()) }
        func pageLink(_ skip: Int) -> String {
            let parameters = kept + [("skip", String(skip)), ("take", String(take))]
            return link + "?" + parameters.map { "\(Self.escape($0.0))=\(Self.escape($0.1))" }.joined(separator: "&")
        }
        var links = JSONValue.Object([
            ("Self", .string(pageLink(skip))),
            ("Template", .string(template)),
            ("Page.All", .string("\(link)/all")),
            ("Page.Current", .string(pageLink(skip))),
            ("Page.Last", .string(pageLink(take == 0 ? 0 : (pages - 1) * take))),
        ])
        if skip > 0, take > 0 { links["Page.Previous"] = .string(pageLink(max(0, skip - take))) }
        if take > 0, skip + take < total { links["Page.Next"] = .string(pageLink(skip + take)) }
        return .object([
            ("ItemType", .string(itemType)),
            ("TotalResults", .integer(Int64(total))),
            ("ItemsPerPage", .integer(Int64(take))),
            ("NumberOfPages", .integer(Int64(pages))),
            ("LastPageNumber", .integer(Int64(pages - 1))),
            ("Items", .array(items)),
            ("Links", .object(links)),
        ])
    }

    /// Percent-escapes a query component.
    static func escape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~,")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// The request body parsed as a JSON object.
    static func jsonObject(_ request: HTTPRequest) throws -> JSONValue.Object {
        let document: JSONValue
        do {
            document = try JSONValue(parsing: request.body)
        } catch {
            throw APIError.badRequest("The request body is not valid JSON: \(error)")
        }
        guard let object = document.objectValue else {
            throw APIError.badRequest("The request body must be a JSON object.")
        }
        return object
    }
}
