#if canImport(Glibc)
    import Glibc
#endif

/// A sandbox problem, as one sentence for the person.
public struct SandboxError: Error, CustomStringConvertible, Sendable {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }

    static func systemCall(_ name: String, errno code: Int32) -> SandboxError {
        SandboxError("\(name) failed: \(String(cString: strerror(code))).")
    }
}
