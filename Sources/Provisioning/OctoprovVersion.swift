/// The octoprov version, printed by `octoprov --version` and written into each report.
public enum OctoprovVersion {
    /// The version itself, such as `0.1.0`.
    public static let current = "0.1.0"
}
