import Foundation
import SSHKit
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The terminal: whole lines written atomically from any thread, so output from parallel hosts never
/// interleaves within a line.
final class Console: Sendable {
    static let shared = Console()

    private let lock = Mutex(())

    func out(_ line: String) { write(line + "\n", to: STDOUT_FILENO) }
    func err(_ line: String) { write(line + "\n", to: STDERR_FILENO) }

    private func write(_ text: String, to fd: Int32) {
        lock.withLock { _ in
            var bytes = Array(text.utf8)
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeMutableBytes {
                    Glibc.write(fd, $0.baseAddress?.advanced(by: offset), $0.count - offset)
                }
                if n < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += n
            }
        }
    }
}

/// "1.5 MB", "256.0 MiB" style sizes and rates for people.
enum Format {
    static func bytes(_ count: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    /// Megabytes (10^6 bytes) per second.
    static func rate(_ count: UInt64, over duration: Duration) -> String {
        let seconds = Self.seconds(duration)
        guard seconds > 0 else { return "—" }
        return String(format: "%.1f MB/s", Double(count) / seconds / 1e6)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func duration(_ duration: Duration) -> String {
        String(format: "%.2fs", seconds(duration))
    }

    /// Pads `text` to `width` columns.
    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
