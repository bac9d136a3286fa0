import Foundation

/// Writes a production's server folders (octopus-facts.md §1.2) with files of realistic sizes: many small task
/// logs, few large packages (per space since 2019.1), some artifacts, event exports from 2023.3, imports from
/// 2021.1. Contents come from a seeded generator, so the same plan always writes the same bytes.
public enum SeedFolders {
    /// Which folders this version has.
    public struct Features: Sendable, Hashable {
        public var spaces: Bool
        public var eventExports: Bool
        public var imports: Bool

        public init(spaces: Bool, eventExports: Bool, imports: Bool) {
            self.spaces = spaces
            self.eventExports = eventExports
            self.imports = imports
        }
    }

    /// The folder names under the root, as the clone flow's `folders:` keys name them.
    public static let names = [
        "packages": "Packages", "artifacts": "Artifacts", "task_logs": "TaskLogs",
        "event_exports": "EventExports", "imports": "Imports",
    ]

    /// Writes the folders under `root` and returns files and bytes per folder name.
    ///
    /// - Parameters:
    ///   - root: The folder to write `Packages/`, `TaskLogs/`, … into (created if needed).
    ///   - plan: Counts and sizes.
    ///   - spaceIds: The seeded spaces (`[""]` before spaces existed).
    ///   - features: Which folders the version has.
    public static func write(
        under root: String,
        plan: SeedPlan,
        spaceIds: [String],
        features: Features
    ) throws -> (files: [String: Int], bytes: [String: Int]) {
        var generator = SeededGenerator(seed: plan.randomSeed)
        var files: [String: Int] = [:]
        var bytes: [String: Int] = [:]
        func put(_ folder: String, _ relative: String, size: Int) throws {
            let path = "\(root)/\(folder)/\(relative)"
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true
            )
            try generator.data(count: size).write(to: URL(fileURLWithPath: path))
            files[folder, default: 0] += 1
            bytes[folder, default: 0] += size
        }
        for folder in ["Packages", "Artifacts", "TaskLogs"] + (features.eventExports ? ["EventExports"] : [])
            + (features.imports ? ["Imports"] : [])
        {
            try FileManager.default.createDirectory(atPath: "\(root)/\(folder)", withIntermediateDirectories: true)
        }
        for index in 1...max(1, plan.taskLogFiles) where plan.taskLogFiles > 0 {
            try put("TaskLogs", "servertasks-\(index).log.txt", size: 512 + Int(generator.next() % 16_384))
        }
        for space in spaceIds {
            let prefix = features.spaces && !space.isEmpty ? "\(space)/" : ""
            for index in 0..<plan.packageFiles {
                try put("Packages", "\(prefix)WebApp.1.0.\(index + 1).nupkg", size: plan.packageSize)
            }
            try put(
                "Artifacts",
                "\(prefix)ServerTasks-\(space.isEmpty ? "1" : space)/smoke-test-report.html",
                size: 40_000
            )
        }
        if features.eventExports {
            for day in 1...3 {
                try put("EventExports", "events-2026-11-\(String(format: "%02d", day)).json", size: 64_000)
            }
        }
        if features.imports {
            try put("Imports", "Octopus-Export-2026-11-20.zip", size: 128_000)
        }
        return (files, bytes)
    }
}

/// xorshift64*: fast, seedable, good enough for test file contents.
struct SeededGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed
    }

    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    mutating func data(count: Int) -> Data {
        var bytes = [UInt8]()
        bytes.reserveCapacity(count + 8)
        while bytes.count < count {
            let word = next()
            for shift in stride(from: 0, to: 64, by: 8) {
                bytes.append(UInt8(truncatingIfNeeded: word >> UInt64(shift)))
            }
        }
        return Data(bytes.prefix(count))
    }
}
