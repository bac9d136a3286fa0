/// An error of the stand-in: a code to compare and one sentence for the person, which is also its
/// `description`.
public protocol StandInError: Error, Sendable, CustomStringConvertible {
    /// What went wrong (in each conformer a struct around a private enum, so new codes never break a
    /// caller's `switch`).
    associatedtype Code: Hashable, Sendable, CustomStringConvertible

    /// Compare errors by code, never by message.
    var code: Code { get }
    /// One sentence for the person at the terminal.
    var message: String { get }
}

extension StandInError {
    /// The message, as the person at the terminal reads it.
    public var description: String { message }
}
