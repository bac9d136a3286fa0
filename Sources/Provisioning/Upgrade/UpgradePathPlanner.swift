/// Plans an Octopus Server upgrade from the documented facts (``UpgradeFacts``), without touching any host.
///
/// `octoprov upgrade-path` prints its plans; the upgrade preflight uses the same plan to list the caveats and
/// to refuse a direct upgrade that is known to break. ``UpgradePlan`` documents what the plan's parts mean.
public enum UpgradePathPlanner {
    /// Plans the upgrade from `from` to `to`.
    ///
    /// The steps:
    /// 1. A downgrade (`to < from`) and a non-change (`to == from`) are refused.
    /// 2. A legacy route whose `from` range holds `from` adds its versions that are newer than `from` and older
    ///    than `to` (1.x: 1.6, 2.6.5, 2018.10 LTS; 2.x: 2.6.5, 2018.10 LTS).
    /// 3. Each step of the path that is a known broken direct path with versions to go through gets those
    ///    versions inserted, and the new steps are checked again.
    /// 4. A broken path with a version to use instead that matches the whole upgrade becomes the ``UpgradePlan/detour``;
    ///    any other broken path that still matches a step becomes a warning.
    /// 5. The caveats crossed are collected as ``UpgradePlan`` describes.
    ///
    /// - Parameters:
    ///   - from: The version the server runs.
    ///   - to: The version to upgrade to.
    ///   - facts: The facts to plan with; the ones compiled into octoprov unless a test gives others.
    /// - Returns: The plan.
    /// - Throws: ``UpgradePathError`` with code ``UpgradePathError/Code/downgrade`` when `to` is older than
    ///   `from` (the message says to restore the backup and reinstall instead), or
    ///   ``UpgradePathError/Code/sameVersion`` when they are equal.
    public static func plan(
        from: OctopusVersion,
        to: OctopusVersion,
        facts: UpgradeFacts = .bundled
    ) throws(UpgradePathError) -> UpgradePlan {
        if to < from { throw .downgrade(from: from, to: to, fact: facts.downgrade) }
        if to == from { throw .sameVersion(from) }

        var warnings: [UpgradeWarning] = []
        var hops: [UpgradeHop] = []
        var detour: UpgradeDetour?
        if let route = facts.legacyRoutes.first(where: { $0.from.contains(from) }) {
            let ahead = route.via.filter { $0.isAfter(from) }
            let taken = ahead.filter { $0.isBefore(to) }
            hops = taken.map {
                UpgradeHop(
                    version: $0.version,
                    isReleaseLine: $0.isReleaseLine,
                    factID: route.id,
                    reason: route.text,
                    source: route.source,
                    confirmed: route.confirmed
                )
            }
            let beyond = ahead.filter { $0.isAfter(to) }
            if let firstBeyond = beyond.first, !route.via.contains(where: { $0.names(to) }) {
                let last = taken.last?.version ?? from
                let lastName = taken.last?.description ?? from.description
                let names = beyond.map(\.description).joined(separator: " and ")
                warnings.append(
                    UpgradeWarning(
                        id: route.id,
                        from: last,
                        to: to,
                        text: "The documented route goes on through \(names) before any newer version, but \(to) is "
                            + "older than \(firstBeyond): the upgrade after \(lastName) is off that route.",
                        source: route.source,
                        confirmed: route.confirmed
                    )
                )
            }
        }
        hops.append(UpgradeHop(version: to, isTarget: true))

        // Insert the versions to go through wherever a step is a broken path that names them; the inserted
        // versions lie strictly inside the step, so every insertion shortens a step and this ends.
        var index = 0
        var start = from
        while index < hops.count {
            let end = hops[index].version
            let candidates = facts.brokenPaths.lazy.filter { $0.matches(from: start, to: end) }
                .map { broken in (broken, broken.via.filter { $0.isAfter(start) && $0.isBefore(end) }) }
            if let (broken, inserted) = candidates.first(where: { !$0.1.isEmpty }) {
                hops.insert(
                    contentsOf: inserted.map {
                        UpgradeHop(
                            version: $0.version,
                            isReleaseLine: $0.isReleaseLine,
                            factID: broken.id,
                            reason: broken.text,
                            source: broken.source,
                            confirmed: broken.confirmed
                        )
                    },
                    at: index
                )
                continue
            }
            start = end
            index += 1
        }

        // The first intermediate hop is what to do instead of the direct upgrade.
        if let first = hops.first, !first.isTarget, let id = first.factID, let text = first.reason,
            let source = first.source
        {
            detour = UpgradeDetour(
                id: id,
                text: text,
                source: source,
                confirmed: first.confirmed,
                next: first.release,
                replacesTarget: false
            )
        }

        // What still matches a step has no versions to go through: a version to use instead of the target,
        // or a plain warning.
        start = from
        for hop in hops {
            for broken in facts.brokenPaths where broken.matches(from: start, to: hop.version) {
                if let instead = broken.useInstead, hop.isTarget, hops.count == 1, detour == nil {
                    detour = UpgradeDetour(
                        id: broken.id,
                        text: broken.text,
                        source: broken.source,
                        confirmed: broken.confirmed,
                        next: UpgradeRelease(version: instead, isReleaseLine: false),
                        replacesTarget: true
                    )
                } else {
                    warnings.append(
                        UpgradeWarning(
                            id: broken.id,
                            from: start,
                            to: hop.version,
                            text: broken.text,
                            source: broken.source,
                            confirmed: broken.confirmed
                        )
                    )
                }
            }
            start = hop.version
        }

        let caveats = facts.checkpoints.filter { caveat in
            if let range = caveat.range {
                return hops.contains { range.contains($0.version) }
            }
            return from < caveat.version && caveat.version <= to
        }
        return UpgradePlan(from: from, to: to, hops: hops, caveats: caveats, warnings: warnings, detour: detour)
    }
}
