import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A snapshot of `/proc` (Linux): parent links and states of every process, used to find and kill an sshd's
/// per-connection children. On systems without `/proc` every query finds nothing.
struct ProcessTable {
    /// One process as `/proc/PID/stat` describes it.
    struct Entry {
        var pid: pid_t
        var parent: pid_t
        /// The one-letter state: R, S, D, T, Z, …
        var state: Character
    }

    private(set) var entries: [pid_t: Entry] = [:]

    /// Reads every `/proc/PID/stat` once.
    init() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else {
            return
        }
        for name in names {
            guard let pid = pid_t(name), let entry = Self.entry(pid: pid) else {
                continue
            }
            entries[pid] = entry
        }
    }

    /// Every live (non-zombie) descendant of `root`, parents before their children.
    func descendants(of root: pid_t) -> [pid_t] {
        var children: [pid_t: [pid_t]] = [:]
        for entry in entries.values where entry.state != "Z" {
            children[entry.parent, default: []].append(entry.pid)
        }
        var result: [pid_t] = []
        var queue = children[root] ?? []
        while !queue.isEmpty {
            let pid = queue.removeFirst()
            result.append(pid)
            queue.append(contentsOf: children[pid] ?? [])
        }
        return result
    }

    /// Parses `/proc/PID/stat`: "pid (comm) state ppid …"; comm may itself contain spaces and parentheses.
    static func entry(pid: pid_t) -> Entry? {
        guard let bytes = readProcFile("/proc/\(pid)/stat"),
            let closingParenthesis = bytes.lastIndex(of: UInt8(ascii: ")"))
        else {
            return nil
        }
        let fields = String(decoding: bytes[(closingParenthesis + 1)...], as: UTF8.self).split(separator: " ")
        guard fields.count >= 2, let state = fields[0].first, let parent = pid_t(fields[1]) else {
            return nil
        }
        return Entry(pid: pid, parent: parent, state: state)
    }

    /// Processes other than this one whose initial environment contains exactly `entry` ("NAME=value").
    static func processes(withEnvironmentEntry entry: String) -> [pid_t] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else {
            return []
        }
        let needle = Array(entry.utf8)
        let me = getpid()
        var result: [pid_t] = []
        for name in names {
            guard let pid = pid_t(name), pid != me, let environment = readProcFile("/proc/\(pid)/environ") else {
                continue
            }
            if environment.split(separator: 0).contains(where: { $0.elementsEqual(needle) }) {
                result.append(pid)
            }
        }
        return result
    }

    /// SIGKILLs every descendant of `root` (not `root` itself) and returns how many of them were `root`'s
    /// direct children.
    ///
    /// The tree is first frozen with SIGSTOP, re-scanning until no new process appears, so that a process
    /// forking while we work cannot leave an orphan behind; then everything frozen gets SIGKILL.
    @discardableResult
    static func killDescendants(of root: pid_t) -> Int {
        var frozen: [pid_t] = []
        var seen = Set<pid_t>()
        for _ in 0..<20 {
            let fresh = ProcessTable().descendants(of: root).filter { !seen.contains($0) }
            if fresh.isEmpty {
                break
            }
            for pid in fresh {
                seen.insert(pid)
                if kill(pid, SIGSTOP) == 0 {
                    frozen.append(pid)
                }
            }
        }
        let direct = frozen.filter { entry(pid: $0)?.parent == root }.count
        // Children before parents, so that a parent still alive can reap its child.
        for pid in frozen.reversed() {
            kill(pid, SIGKILL)
        }
        return direct
    }

    /// Reads a whole (size-less) `/proc` file, or nil if it cannot be opened.
    private static func readProcFile(_ path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            return nil
        }
        defer { close(descriptor) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 {
                break
            }
            result.append(contentsOf: buffer[0..<count])
        }
        return result
    }
}
