/// Something in an inventory that is valid but probably not what was meant, or risky: printed by
/// `inventory check` and `plan`, never fatal.
public struct InventoryWarning: Sendable, Hashable, CustomStringConvertible {
    /// Where.
    public var location: SourceLocation
    /// The dotted key path concerned, such as `instances.prod.folders.event_exports`.
    public var keyPath: String
    /// One sentence naming the key.
    public var message: String

    /// Creates a warning.
    ///
    /// - Parameters:
    ///   - location: Where.
    ///   - keyPath: The key path concerned.
    ///   - message: One sentence naming the key.
    public init(at location: SourceLocation, keyPath: String, _ message: String) {
        self.location = location
        self.keyPath = keyPath
        self.message = message
    }

    /// `FILE:LINE:COL: warning: MESSAGE`.
    public var description: String { "\(location): warning: \(message)" }
}
