import Foundation

/// The templates of one folder: `<platform>/<step>.<ext>` for each platform's steps and `sql/<name>.sql` for
/// the T-SQL shared by all platforms.
///
/// The folder is octoprov's own `Templates/`, or a person's copies given with `--templates DIR`. Every
/// template is read and parsed when the library is created, and every problem of every file is reported then.
public struct TemplateLibrary: Sendable {
    /// The folder, as it was given (used in messages).
    public let directory: String
    /// The templates by path relative to ``directory``, such as `windows/install.ps1` or `sql/quarantine.sql`.
    public let templates: [String: Template]

    /// The subfolder holding the T-SQL templates.
    public static let sqlFolder = "sql"

    /// Loads every template under `directory`.
    ///
    /// Each subfolder is a platform (or `sql`); each file in it is a template whose extension gives its language
    /// (`.sh`, `.ps1`, `.sql`). Files directly in `directory` (a README) and hidden files are ignored.
    ///
    /// - Parameter directory: The templates folder, absolute or relative to the current directory.
    /// - Throws: ``TemplateErrors`` listing every problem of every file: ``TemplateError/Code/unreadableFile``
    ///   (the folder or a file cannot be read, or is not UTF-8), ``TemplateError/Code/unknownLanguage`` (an
    ///   unknown extension, a nested folder, or a non-`.sql` file in `sql/`), and each template's syntax errors.
    public init(directory: String) throws(TemplateErrors) {
        self.directory = directory
        let fileManager = FileManager.default
        let folderProblem = TemplateError(
            .unreadableFile,
            at: SourceLocation(file: directory, line: 0, column: 0),
            "The templates folder does not exist or cannot be read."
        )
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue,
            let folders = try? fileManager.contentsOfDirectory(atPath: directory)
        else {
            throw TemplateErrors(folderProblem)
        }
        var templates: [String: Template] = [:]
        var errors: [TemplateError] = []
        for folder in folders.sorted() where !folder.hasPrefix(".") {
            let folderPath = directory + "/" + folder
            guard fileManager.fileExists(atPath: folderPath, isDirectory: &isDirectory), isDirectory.boolValue else {
                continue
            }
            guard let files = try? fileManager.contentsOfDirectory(atPath: folderPath) else {
                errors.append(
                    TemplateError(
                        .unreadableFile,
                        at: SourceLocation(file: folderPath, line: 0, column: 0),
                        "The templates folder `\(folder)` cannot be read."
                    )
                )
                continue
            }
            for name in files.sorted() where !name.hasPrefix(".") {
                let relative = folder + "/" + name
                let path = directory + "/" + relative
                switch Self.load(path: path, folder: folder, name: name) {
                case .success(let template):
                    templates[relative] = template
                    errors += template.syntaxErrors
                case .failure(let error):
                    errors.append(error)
                }
            }
        }
        if let errors = TemplateErrors(errors) {
            throw errors
        }
        self.templates = templates
    }

    /// The template for `step` on `platform`, whatever its language.
    ///
    /// - Parameters:
    ///   - platform: The platform folder, such as `windows`.
    ///   - step: The step, such as `install`.
    /// - Returns: The template.
    /// - Throws: ``TemplateErrors`` with ``TemplateError/Code/templateNotFound`` naming the expected file and the
    ///   nearest existing step.
    public func template(platform: String, step: String) throws(TemplateErrors) -> Template {
        let matches = TemplateLanguage.allCases.compactMap { templates["\(platform)/\(step).\($0.fileExtension)"] }
        if let template = matches.first, matches.count == 1 {
            return template
        }
        let prefix = platform + "/"
        let steps = templates.keys.filter { $0.hasPrefix(prefix) }.sorted()
            .map { String(($0.dropFirst(prefix.count).split(separator: ".").first ?? "")) }
        let problem: String
        if matches.count > 1 {
            problem = "Step `\(step)` has templates in more than one language in `\(platform)`; keep one."
        } else {
            let suggestion = nearestName(to: step, in: steps).map { "; did you mean `\($0)`?" } ?? "."
            problem =
                "No template for step `\(step)` on platform `\(platform)` (expected `\(platform)/\(step).sh`, "
                + "`.ps1` or `.sql`)\(suggestion)"
        }
        throw TemplateErrors(
            TemplateError(.templateNotFound, at: SourceLocation(file: directory, line: 0, column: 0), problem)
        )
    }

    /// The shared T-SQL template `sql/<name>.sql`.
    ///
    /// - Parameter name: The name without folder or extension, such as `quarantine`.
    /// - Returns: The template.
    /// - Throws: ``TemplateErrors`` with ``TemplateError/Code/templateNotFound`` naming the expected file.
    public func sqlTemplate(named name: String) throws(TemplateErrors) -> Template {
        if let template = templates["\(Self.sqlFolder)/\(name).sql"] {
            return template
        }
        let names = templates.keys.filter { $0.hasPrefix(Self.sqlFolder + "/") }.sorted()
            .map { String($0.dropFirst(Self.sqlFolder.count + 1).dropLast(4)) }
        let suggestion = nearestName(to: name, in: names).map { "; did you mean `\($0)`?" } ?? "."
        throw TemplateErrors(
            TemplateError(
                .templateNotFound,
                at: SourceLocation(file: directory, line: 0, column: 0),
                "No T-SQL template `\(Self.sqlFolder)/\(name).sql`\(suggestion)"
            )
        )
    }

    private static func load(path: String, folder: String, name: String) -> Result<Template, TemplateError> {
        let wholeFile = SourceLocation(file: path, line: 0, column: 0)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return .failure(
                TemplateError(
                    .unknownLanguage,
                    at: wholeFile,
                    "Templates are files at `<platform>/<step>.<ext>`; this folder is nested too deep."
                )
            )
        }
        let fileExtension = (name as NSString).pathExtension
        guard let language = TemplateLanguage(fileExtension: fileExtension),
            folder != sqlFolder || language == .tsql
        else {
            let allowed = folder == sqlFolder ? "`.sql`" : "`.sh`, `.ps1` or `.sql`"
            return .failure(
                TemplateError(
                    .unknownLanguage,
                    at: wholeFile,
                    "A template in `\(folder)` must end in \(allowed), so that its values are quoted for its language."
                )
            )
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            return .failure(TemplateError(.unreadableFile, at: wholeFile, "The template cannot be read as UTF-8 text."))
        }
        return .success(Template(text: text, file: path, language: language))
    }
}

/// Renders template text in one call, for templates that do not come from a ``TemplateLibrary``.
public enum TemplateRenderer {
    /// Parses and renders `text`, its language taken from `file`'s extension.
    ///
    /// - Parameters:
    ///   - text: The template text.
    ///   - file: The template's file name (its extension chooses the language; it names the file in messages).
    ///   - values: The template variables by name.
    /// - Returns: The script.
    /// - Throws: ``TemplateErrors``: ``TemplateError/Code/unknownLanguage`` when the extension is not `.sh`,
    ///   `.ps1` or `.sql`, otherwise everything ``Template/render(_:)`` reports.
    public static func render(
        _ text: String,
        file: String,
        values: [String: String]
    ) throws(TemplateErrors)
        -> String
    {
        guard let language = TemplateLanguage(fileExtension: (file as NSString).pathExtension) else {
            throw TemplateErrors(
                TemplateError(
                    .unknownLanguage,
                    at: SourceLocation(file: file, line: 0, column: 0),
                    "A template must end in `.sh`, `.ps1` or `.sql`, so that its values are quoted for its language."
                )
            )
        }
        return try Template(text: text, file: file, language: language).render(values)
    }
}
