public import Testing

/// The tags every test target shares (STYLE.md: small, medium, large).
extension Tag {
    /// Milliseconds, in memory.
    @Tag public static var small: Self
    /// Local files, processes or loopback sockets; no sshd.
    @Tag public static var medium: Self
    /// Starts real processes (sshd, ssh-agent); seconds, not milliseconds.
    @Tag public static var large: Self
    /// Tests that run the built `octoprov` binary.
    @Tag public static var cli: Self
    /// Tests of the repository's example inventories.
    @Tag public static var examples: Self
}
