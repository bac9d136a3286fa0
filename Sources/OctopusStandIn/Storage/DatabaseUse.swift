#if canImport(Glibc)
    import Glibc
#endif

/// A running server's hold on its database, so that SQL Server's refusal to drop a database in use can be
/// played: `DROP DATABASE` (sqlcmd) and `database --delete` fail with "Cannot drop database "X" because it is
/// currently in use." while a stand-in server serves it.
///
/// The hold is an open-file-description read lock on `<database file>.inuse` (Linux `F_OFD_SETLK`): the
/// kernel drops it when the server stops or dies, so a crashed server never leaves the database "in use",
/// and unlike a POSIX record lock it is seen from the same process too (a test's in-process server and
/// in-process sqlcmd).
public final class DatabaseUse: @unchecked Sendable {
    /// Linux's `F_OFD_GETLK` and `F_OFD_SETLK` (Glibc does not export them to Swift).
    private static let getLock: Int32 = 36
    private static let setLock: Int32 = 37

    private var descriptor: Int32

    /// The marker file of a database file.
    public static func markerPath(databasePath: String) -> String { "\(databasePath).inuse" }

    /// Takes the hold on a database file.
    /// - Returns: `nil` when the marker cannot be created or locked (the server still runs; the database just
    ///   does not show as in use).
    public init?(databasePath: String) {
        let fd = open(Self.markerPath(databasePath: databasePath), O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        var lock = Self.wholeFile(type: F_RDLCK)
        guard fcntl(fd, Self.setLock, &lock) == 0 else {
            close(fd)
            return nil
        }
        descriptor = fd
    }

    deinit {
        release()
    }

    /// Gives the hold up (idempotent).
    public func release() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
    }

    /// Whether a server holds a database file.
    public static func isInUse(databasePath: String) -> Bool {
        let fd = open(markerPath(databasePath: databasePath), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var lock = wholeFile(type: F_WRLCK)
        guard fcntl(fd, getLock, &lock) == 0 else { return false }
        return Int32(lock.l_type) != F_UNLCK
    }

    /// Removes the marker of a database that is not in use (after it is dropped).
    public static func removeMarker(databasePath: String) {
        unlink(markerPath(databasePath: databasePath))
    }

    private static func wholeFile(type: Int32) -> flock {
        var lock = flock()
        lock.l_type = Int16(type)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 0
        lock.l_len = 0
        lock.l_pid = 0
        return lock
    }
}
