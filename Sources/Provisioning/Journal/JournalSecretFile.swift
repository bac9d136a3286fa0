import Foundation

/// The journal's secret file: the secrets octoprov generates itself and must find again on the next run (the
/// `admin_api_key` the `admin` step creates and `verify` uses), per host and name.
///
/// It is `<journal name>.secrets.json` beside the journal, mode 0600 in the 0700 state folder, written atomically
/// like the journal. The journal itself never holds a secret; this file holds nothing else. A file that cannot be
/// read is moved aside like a corrupt journal; the runner then generates new secrets, whose new input hashes rerun
/// the steps that use them.
enum JournalSecretFile {
    /// The file's format.
    static let format = 1

    /// The secret file of the journal at `journalPath`: `.json` replaced by `.secrets.json`.
    static func path(forJournal journalPath: String) -> String {
        (journalPath.hasSuffix(".json") ? String(journalPath.dropLast(5)) : journalPath) + ".secrets.json"
    }

    private struct FileV1: Codable {
        var format: Int
        /// Host → secret name → value.
        var hosts: [String: [String: String]]
    }

    /// The file's bytes: JSON, keys sorted, ending in a newline.
    static func encoded(_ secrets: [String: [String: String]]) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Dictionaries of strings always encode.
        var data = (try? encoder.encode(FileV1(format: format, hosts: secrets))) ?? Data()
        data.append(0x0a)
        return data
    }

    /// Reads the file's bytes; the reason when they are not a secret file of format 1.
    static func decode(_ data: Data) -> Result<[String: [String: String]], JournalDocument.ReadError> {
        // Any decoding failure means the same to the person: the file is corrupt (the reason below says so).
        guard let file = try? JSONDecoder().decode(FileV1.self, from: data) else {
            return .failure(.corrupt("it is not a secret file of format \(format)"))
        }
        guard file.format <= format else { return .failure(.newerFormat(file.format)) }
        guard file.format == format else { return .failure(.corrupt("its format \(file.format) is unknown")) }
        return .success(file.hosts)
    }
}
