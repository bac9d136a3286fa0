/// A problem tied to a place in a file (an inventory key, a template placeholder).
public protocol LocatedProblem: Error, Sendable, Hashable, CustomStringConvertible {
    var location: SourceLocation { get }
}

/// Every problem found in one pass over some files: never empty, sorted by location, so a person
/// fixes them all in one go instead of one per run.
public struct LocatedErrors<Problem: LocatedProblem>: Error, Sendable, Hashable, CustomStringConvertible {
    /// The problems, sorted by location; there is always at least one.
    public let errors: [Problem]

    /// Wraps a single problem.
    ///
    /// - Parameter error: The problem.
    public init(_ error: Problem) {
        self.errors = [error]
    }

    /// Wraps a list of problems, sorted by location (stable, so problems at one place keep their order).
    ///
    /// - Parameter errors: The problems.
    /// - Returns: `nil` when `errors` is empty.
    public init?(_ errors: [Problem]) {
        guard !errors.isEmpty else { return nil }
        self.errors = errors.enumerated()
            .sorted { ($0.element.location, $0.offset) < ($1.element.location, $1.offset) }
            .map(\.element)
    }

    /// One `FILE:LINE:COL: MESSAGE` line per problem.
    public var description: String {
        errors.map(\.description).joined(separator: "\n")
    }
}

/// Every problem found while loading an inventory.
public typealias InventoryErrors = LocatedErrors<InventoryError>

/// Every problem found in one or more templates.
public typealias TemplateErrors = LocatedErrors<TemplateError>
