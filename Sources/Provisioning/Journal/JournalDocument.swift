import Foundation

/// A journal's contents in memory.
struct JournalDocument: Sendable, Hashable {
    var inventory: String
    var instance: String
    var salt: JournalSalt
    var created: Date
    var updated: Date
    /// Host name → its steps, in the host's order.
    var hosts: [String: [JournalStepRecord]]

    /// Why a file could not be read as a journal.
    enum ReadError: Error {
        /// `format` is newer than this octoprov's.
        case newerFormat(Int)
        /// Not a journal of format 1 (torn, edited, another file): the reason.
        case corrupt(String)
    }

    // MARK: - Format 1 on disk

    /// The file's top level.
    private struct FileV1: Codable {
        var format: Int
        var inventory: String
        var instance: String
        var salt: String
        var created: String
        var updated: String
        var hosts: [String: HostV1]
    }

    private struct HostV1: Codable {
        var steps: [StepV1]
    }

    private struct StepV1: Codable {
        var name: String
        var status: JournalStepStatus
        var inputHash: String?
        var started: String?
        var finished: String?
        var durationSeconds: Double?
        var message: String?
        var facts: [String: String]
        var rerun: RerunV1?
    }

    private struct RerunV1: Codable {
        /// `input-changed` or `from-step`.
        var cause: String
        var step: String
    }

    private struct FormatProbe: Decodable {
        var format: Int?
    }

    /// The file's bytes: pretty-printed JSON, keys sorted, ending in a newline.
    func encoded() -> Data {
        let file = FileV1(
            format: Journal.format,
            inventory: inventory,
            instance: instance,
            salt: salt.hex,
            created: Timestamp.string(created),
            updated: Timestamp.string(updated),
            hosts: hosts.mapValues { steps in
                HostV1(
                    steps: steps.map { record in
                        StepV1(
                            name: record.step,
                            status: record.status,
                            inputHash: record.inputHash?.hex,
                            started: record.started.map(Timestamp.string),
                            finished: record.finished.map(Timestamp.string),
                            durationSeconds: record.duration?.roundedSeconds,
                            message: record.message,
                            facts: record.facts,
                            rerun: record.rerun.map { cause in
                                switch cause {
                                case .afterChange(let step): RerunV1(cause: "input-changed", step: step)
                                case .fromStep(let step): RerunV1(cause: "from-step", step: step)
                                }
                            }
                        )
                    }
                )
            }
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings, numbers and dictionaries cannot fail.
        var data = (try? encoder.encode(file)) ?? Data()
        data.append(0x0a)
        return data
    }

    /// Reads a journal file's bytes.
    static func decode(_ data: Data) throws(ReadError) -> JournalDocument {
        let decoder = JSONDecoder()
        let probe: FormatProbe
        do {
            probe = try decoder.decode(FormatProbe.self, from: data)
        } catch {
            throw .corrupt("it is not a JSON object")
        }
        guard let format = probe.format else { throw .corrupt("it has no `format`") }
        guard format <= Journal.format else { throw .newerFormat(format) }
        guard format == Journal.format else { throw .corrupt("its format \(format) is unknown") }
        let file: FileV1
        do {
            file = try decoder.decode(FileV1.self, from: data)
        } catch {
            throw .corrupt("it does not have the fields of format \(format)")
        }
        guard let salt = JournalSalt(hex: file.salt) else { throw .corrupt("its `salt` is not hex") }
        func date(_ text: String?, _ what: String) throws(ReadError) -> Date? {
            guard let text else { return nil }
            guard let value = Timestamp.date(text) else {
                throw .corrupt("its \(what) `\(text)` is not an ISO 8601 time")
            }
            return value
        }
        var hosts: [String: [JournalStepRecord]] = [:]
        for (host, entry) in file.hosts {
            var records: [JournalStepRecord] = []
            for step in entry.steps {
                var record = JournalStepRecord(step: step.name)
                record.status = step.status
                record.inputHash = step.inputHash.map(InputHash.init(hex:))
                record.started = try date(step.started, "start time")
                record.finished = try date(step.finished, "finish time")
                record.duration = step.durationSeconds.map(Duration.fromSeconds)
                record.message = step.message
                record.facts = step.facts
                if let rerun = step.rerun {
                    switch rerun.cause {
                    case "input-changed": record.rerun = .afterChange(of: rerun.step)
                    case "from-step": record.rerun = .fromStep(rerun.step)
                    default: throw .corrupt("its rerun cause `\(rerun.cause)` is unknown")
                    }
                }
                records.append(record)
            }
            hosts[host] = records
        }
        guard let created = try date(file.created, "creation time"), let updated = try date(file.updated, "update time")
        else {
            throw .corrupt("it has no times")
        }
        return JournalDocument(
            inventory: file.inventory,
            instance: file.instance,
            salt: salt,
            created: created,
            updated: updated,
            hosts: hosts
        )
    }
}
