extension UpgradePlan {
    /// The plan for a person: a header, what is wrong with the direct upgrade, the numbered hops, the caveats
    /// grouped by version, the warnings, and how to read the sources. Every fact shows its source, and one the
    /// sources do not fully state is marked `[UNCONFIRMED]`.
    ///
    /// - Parameter facts: The facts the plan was made with, for how to read their sources.
    /// - Returns: The lines, without newlines.
    public func lines(facts: UpgradeFacts = .bundled) -> [String] {
        func mark(_ confirmed: Bool) -> String { confirmed ? "" : "[UNCONFIRMED] " }
        var lines = ["Upgrade path from \(from) to \(to) (facts: \(UpgradeFacts.file); no host is contacted)", ""]

        if let detour {
            let advice =
                detour.replacesTarget
                ? "known broken; upgrade to \(detour.next) instead"
                : "not the documented way; upgrade to \(detour.next) first"
            lines.append("Direct upgrade \(from) → \(to): \(advice).")
            lines.append("  \(mark(detour.confirmed))\(detour.text) (source: \(detour.source))")
        } else {
            lines.append("Direct upgrade \(from) → \(to): no known broken path and no intermediate version needed.")
        }

        lines.append("")
        lines.append("Hops (\(hops.count)):")
        let width = hops.map(\.description.count).max() ?? 0
        for (index, hop) in hops.enumerated() {
            let name = hop.description + String(repeating: " ", count: width - hop.description.count)
            if hop.isTarget {
                lines.append("  \(index + 1). \(name)  target")
            } else {
                let source = hop.source.map { " (source: \($0))" } ?? ""
                let line = hop.isReleaseLine ? "any \(hop.version.major).\(hop.version.minor) build; " : ""
                lines.append("  \(index + 1). \(name)  \(mark(hop.confirmed))\(line)\(hop.reason ?? "")\(source)")
            }
        }

        lines.append("")
        if caveats.isEmpty {
            lines.append("Caveats crossed: none.")
        } else {
            lines.append("Caveats crossed (\(caveats.count)):")
            var version: OctopusVersion?
            for caveat in caveats {
                if caveat.version != version {
                    lines.append("  \(caveat.version)")
                    version = caveat.version
                }
                lines.append("    - \(mark(caveat.confirmed))\(caveat.title): \(caveat.text)")
                lines.append("      source: \(caveat.source)")
            }
        }

        lines.append("")
        if warnings.isEmpty {
            lines.append("Warnings: none.")
        } else {
            lines.append("Warnings (\(warnings.count)):")
            for warning in warnings {
                lines.append("  - \(warning.from) → \(warning.to): \(mark(warning.confirmed))\(warning.text)")
                lines.append("    source: \(warning.source)")
            }
        }

        lines.append("")
        lines.append("Sources:")
        lines += facts.sourceNotation.map { "  \($0)" }
        return lines
    }
}
