import CLibSSH2

#if canImport(Glibc)
    import Glibc
#endif

/// Process-wide libssh2 initialisation, done once before any session exists.
enum LibSSH2 {
    /// `libssh2_init(0)` runs once, the first time any session is created.
    static let initialised: Bool = libssh2_init(0) == 0

    /// The linked libssh2's version string (e.g. "1.10.0").
    static var version: String {
        guard let text = libssh2_version(0) else { return "unknown" }
        return String(cString: text)
    }

    /// Whether this libssh2 can sign with RSA using SHA-2 (`rsa-sha2-256/512`); added in 1.11.0.
    static var signsRSAWithSHA2: Bool {
        libssh2_version(0x010B00) != nil
    }
}

/// libssh2's own name for an error code, for detailed output.
func libssh2ErrorName(_ code: Int32) -> String {
    switch code {
    case LIBSSH2_ERROR_SOCKET_NONE: return "SOCKET_NONE"
    case LIBSSH2_ERROR_BANNER_RECV: return "BANNER_RECV"
    case LIBSSH2_ERROR_BANNER_SEND: return "BANNER_SEND"
    case LIBSSH2_ERROR_KEX_FAILURE: return "KEX_FAILURE"
    case LIBSSH2_ERROR_SOCKET_SEND: return "SOCKET_SEND"
    case LIBSSH2_ERROR_SOCKET_DISCONNECT: return "SOCKET_DISCONNECT"
    case LIBSSH2_ERROR_PROTO: return "PROTO"
    case LIBSSH2_ERROR_PASSWORD_EXPIRED: return "PASSWORD_EXPIRED"
    case LIBSSH2_ERROR_FILE: return "FILE"
    case LIBSSH2_ERROR_AUTHENTICATION_FAILED: return "AUTHENTICATION_FAILED"
    case LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED: return "PUBLICKEY_UNVERIFIED"
    case LIBSSH2_ERROR_CHANNEL_FAILURE: return "CHANNEL_FAILURE"
    case LIBSSH2_ERROR_CHANNEL_CLOSED: return "CHANNEL_CLOSED"
    case LIBSSH2_ERROR_CHANNEL_EOF_SENT: return "CHANNEL_EOF_SENT"
    case LIBSSH2_ERROR_SCP_PROTOCOL: return "SCP_PROTOCOL"
    case LIBSSH2_ERROR_SOCKET_TIMEOUT: return "SOCKET_TIMEOUT"
    case LIBSSH2_ERROR_SFTP_PROTOCOL: return "SFTP_PROTOCOL"
    case LIBSSH2_ERROR_PUBLICKEY_PROTOCOL: return "PUBLICKEY_PROTOCOL"
    case LIBSSH2_ERROR_EAGAIN: return "EAGAIN"
    case LIBSSH2_ERROR_SOCKET_RECV: return "SOCKET_RECV"
    case LIBSSH2_ERROR_AGENT_PROTOCOL: return "AGENT_PROTOCOL"
    default: return "\(code)"
    }
}

/// The text of an SFTP status code (`LIBSSH2_FX_*`), as a person would read it.
func sftpStatusText(_ status: UInt) -> String {
    switch status {
    case LIBSSH2_FX_OK: return "ok"
    case LIBSSH2_FX_EOF: return "end of file"
    case LIBSSH2_FX_NO_SUCH_FILE: return "no such file"
    case LIBSSH2_FX_PERMISSION_DENIED: return "permission denied"
    case LIBSSH2_FX_FAILURE: return "failure"
    case LIBSSH2_FX_BAD_MESSAGE: return "bad message"
    case LIBSSH2_FX_NO_CONNECTION: return "no connection"
    case LIBSSH2_FX_CONNECTION_LOST: return "connection lost"
    case LIBSSH2_FX_OP_UNSUPPORTED: return "operation unsupported"
    case LIBSSH2_FX_NO_SUCH_PATH: return "no such path"
    case LIBSSH2_FX_FILE_ALREADY_EXISTS: return "file already exists"
    case LIBSSH2_FX_WRITE_PROTECT: return "write protected"
    case LIBSSH2_FX_NO_MEDIA: return "no media"
    case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM: return "no space left on the file system"
    case LIBSSH2_FX_QUOTA_EXCEEDED: return "quota exceeded"
    case LIBSSH2_FX_DIR_NOT_EMPTY: return "directory not empty"
    case LIBSSH2_FX_NOT_A_DIRECTORY: return "not a directory"
    case LIBSSH2_FX_INVALID_FILENAME: return "invalid file name"
    case LIBSSH2_FX_LINK_LOOP: return "link loop"
    default: return "status \(status)"
    }
}
