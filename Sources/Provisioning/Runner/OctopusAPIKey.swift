/// API keys in Octopus's shape, for the one octoprov creates on each instance (the `admin_api_key` secret).
public enum OctopusAPIKey {
    /// A new random key: `API-` then 26 upper-case letters and digits, from the system's secure generator.
    public static func generate() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var generator = SystemRandomNumberGenerator()
        return "API-" + String((0..<26).map { _ in alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))] })
    }
}
