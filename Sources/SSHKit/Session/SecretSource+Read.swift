import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension SecretSource {
    /// Reads the secret's value. Throws `.credentialUnreadable` naming the reference (never the value).
    func read(purpose: String) throws(SSHError) -> String {
        switch self {
        case .value(let value):
            return value
        case .environment(let name):
            guard let value = ProcessInfo.processInfo.environment[name] else {
                throw SSHError(
                    .credentialUnreadable,
                    "The \(purpose) is to come from environment variable \(name), which is not set."
                )
            }
            return value
        case .file(let path):
            var info = stat()
            guard stat(path, &info) == 0 else {
                let reason = String(cString: strerror(errno))
                throw SSHError(.credentialUnreadable, "Cannot read the \(purpose) from \(path): \(reason).")
            }
            guard (info.st_mode & S_IFMT) == S_IFREG else {
                throw SSHError(.credentialUnreadable, "The \(purpose) file \(path) is not a regular file.")
            }
            guard info.st_mode & 0o077 == 0 else {
                throw SSHError(
                    .credentialUnreadable,
                    "The \(purpose) file \(path) is readable by others; run `chmod 600 \(path)` and try again."
                )
            }
            guard let data = FileManager.default.contents(atPath: path), var text = String(bytes: data, encoding: .utf8)
            else {
                throw SSHError(.credentialUnreadable, "Cannot read the \(purpose) from \(path) as UTF-8 text.")
            }
            if text.hasSuffix("\r\n") {
                text.removeLast(1)
            } else if text.hasSuffix("\n") {
                text.removeLast()
            }
            return text
        }
    }
}
