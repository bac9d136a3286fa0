import Glibc

/// What is at a local path an inventory names, following symbolic links, for checks that must happen before
/// anything reads the path: a device, FIFO or socket could block a reader or never end (`/dev/zero` as a
/// package would be hashed forever), so only regular files are read as files.
enum LocalPathKind: Equatable {
    /// Nothing is there (or a component of the path is not a folder).
    case missing
    /// A regular file, with its permission bits and owner.
    case regularFile(permissions: mode_t, owner: uid_t)
    /// A folder.
    case directory
    /// A device, FIFO or socket.
    case special
    /// The path cannot be examined, with the system's reason.
    case unreadable(String)

    /// Examines `path` with `stat(2)`.
    init(_ path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            self = code == ENOENT || code == ENOTDIR ? .missing : .unreadable(String(cString: strerror(code)))
            return
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: self = .regularFile(permissions: info.st_mode & 0o7777, owner: info.st_uid)
        case S_IFDIR: self = .directory
        default: self = .special
        }
    }

    /// Why a file the inventory names as `what` at `path` cannot be read as one, as the end of a sentence that
    /// starts "`key` names"; `nil` for a regular file.
    func fileProblem(_ what: String, _ path: String) -> String? {
        switch self {
        case .regularFile: nil
        case .missing: "\(what) \(path), which does not exist"
        case .directory: "\(what) \(path), which is a folder; name a file"
        case .special: "\(what) \(path), which is not a regular file (a device, FIFO or socket); name a file"
        case .unreadable(let reason): "\(what) \(path), which cannot be examined (\(reason))"
        }
    }
}
