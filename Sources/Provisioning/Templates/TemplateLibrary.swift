import Foundation

/// The templates of one folder: `<platform>/<step>.<ext>` for each platform's steps and `sql/<name>.sql` for
/// the T-SQL shared by all platforms.
///
/// The folder is octoprov's own `Templates/`, or a person's copies given with `--templates DIR`. Every
/// template is read and parsed when the library is created, and every problem of every file is reported then.
///
/// Code shared by several scripts lives once, in a *partial*: a file in a folder whose name starts with `_`
/// (`_common/bash.sh`) or a file whose name starts with `_` in a platform folder (`standin/_platform.sh`). A
/// template includes one with a line `{{> _common/bash.sh }}`; the library puts the partial's text there when
/// it loads the folder (partials may include partials), so every rendered script stays self-contained, and a
/// problem inside a partial is reported at the partial's own file and line.
public struct TemplateLibrary: Sendable {
    /// The folder, as it was given (used in messages).
    public let directory: String
    /// The templates by path relative to ``directory``, such as `windows/install.ps1` or `sql/quarantine.sql`,
    /// with their includes resolved.
    public let templates: [String: Template]
    /// The partials by path relative to ``directory``, such as `_common/bash.sh`, with their includes resolved.
    public let partials: [String: Template]

    /// Whether `relativePath` (`folder/name`) names a partial rather than a step or T-SQL template.
    public static func isPartial(_ relativePath: String) -> Bool {
        relativePath.split(separator: "/").contains { $0.hasPrefix("_") }
    }

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
        // Why it cannot be listed matters less than that: the error below names the folder.
        guard fileManager.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue,
            let folders = try? fileManager.contentsOfDirectory(atPath: directory)
        else {
            throw TemplateErrors(folderProblem)
        }
        var loaded: [String: Template] = [:]
        var errors: [TemplateError] = []
        for folder in folders.sorted() where !folder.hasPrefix(".") {
            let folderPath = directory + "/" + folder
            guard fileManager.fileExists(atPath: folderPath, isDirectory: &isDirectory), isDirectory.boolValue else {
                continue
            }
            // Reported below as an unreadable folder, with its name.
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
                    loaded[relative] = template
                    errors += template.syntaxErrors
                case .failure(let error):
                    errors.append(error)
                }
            }
        }
        var resolver = IncludeResolver(loaded: loaded)
        var templates: [String: Template] = [:]
        var partials: [String: Template] = [:]
        for relative in loaded.keys.sorted() {
            let resolved = resolver.resolve(relative)
            if Self.isPartial(relative) {
                partials[relative] = resolved
            } else {
                templates[relative] = resolved
            }
        }
        errors += resolver.errors
        if let errors = TemplateErrors(errors) {
            throw errors
        }
        self.templates = templates
        self.partials = partials
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
            folder != sqlFolder || language == .tsql || isPartial(name)
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

/// Puts each included partial's parts in place of its `{{> path }}` line, depth first, collecting every
/// problem: a path that names no partial, a partial of another language, one whose last line has no line
/// break (the line after the include would be glued to it), and an include cycle.
struct IncludeResolver {
    let loaded: [String: Template]
    private var resolved: [String: Template] = [:]
    private var inProgress: [String] = []
    private(set) var errors: [TemplateError] = []

    init(loaded: [String: Template]) {
        self.loaded = loaded
    }

    /// The template at `path` (a key of ``loaded``) with its includes resolved.
    mutating func resolve(_ path: String) -> Template {
        if let done = resolved[path] { return done }
        guard let template = loaded[path] else {
            preconditionFailure("resolve is only called with a loaded path")
        }
        guard !template.includes.isEmpty else {
            resolved[path] = template
            return template
        }
        inProgress.append(path)
        var parts: [Template.Part] = []
        for part in template.parts {
            guard case .include(let included, let location) = part else {
                parts.append(part)
                continue
            }
            guard canInclude(included, at: location, into: template) else { continue }
            parts += resolve(included).parts
        }
        inProgress.removeLast()
        let result = Template(
            file: template.file,
            language: template.language,
            parts: parts,
            syntaxErrors: template.syntaxErrors
        )
        resolved[path] = result
        return result
    }

    /// Whether a partial's text ends with a line break, its own or that of the partial its last line includes.
    private static func endsWithLineBreak(_ partial: Template) -> Bool {
        switch partial.parts.last {
        case .text(let text): text.hasSuffix("\n")
        case .include: true
        case .placeholder, nil: false
        }
    }

    /// Whether `path` names a partial that `template` may include; otherwise records why not.
    private mutating func canInclude(_ path: String, at location: SourceLocation, into template: Template) -> Bool {
        let problem: String?
        let partial = loaded[path]
        if !TemplateLibrary.isPartial(path) {
            problem =
                "`{{> \(path) }}` names a step or T-SQL template; only partials (in a folder or file whose name "
                + "starts with `_`) are included."
        } else if let partial, partial.language != template.language {
            problem =
                "`{{> \(path) }}` is a \(partial.language) partial; a \(template.language) template can only include "
                + "\(template.language) partials."
        } else if let partial, !Self.endsWithLineBreak(partial) {
            problem = "`{{> \(path) }}` names a partial whose last line has no line break; end the file with one."
        } else if inProgress.contains(path) {
            problem =
                "`{{> \(path) }}` includes itself (\((inProgress + [path]).joined(separator: " → "))); break the cycle."
        } else if partial == nil {
            let names = loaded.keys.filter(TemplateLibrary.isPartial).sorted()
            let suggestion = nearestName(to: path, in: names).map { "; did you mean `\($0)`?" } ?? "."
            problem = "`{{> \(path) }}` names no partial in the templates folder\(suggestion)"
        } else {
            problem = nil
        }
        guard let problem else { return true }
        errors.append(TemplateError(.invalidInclude, at: location, problem))
        return false
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
