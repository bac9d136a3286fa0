/// The candidate closest to `name` by edit distance, for "did you mean …?" suggestions.
///
/// A candidate qualifies when its Levenshtein distance to `name` (ignoring case) is at most 2, or at most a
/// third of the longer of the two lengths when that is larger; ties go to the earlier candidate. An exact match
/// is returned as is.
///
/// - Parameters:
///   - name: What the person typed.
///   - candidates: The valid names, in the order to prefer on a tie.
/// - Returns: The nearest candidate, or `nil` when none is close enough.
public func nearestName(to name: String, in candidates: [String]) -> String? {
    let typed = Array(name.lowercased().unicodeScalars)
    var best: (name: String, distance: Int)?
    for candidate in candidates {
        let other = Array(candidate.lowercased().unicodeScalars)
        let threshold = max(2, max(typed.count, other.count) / 3)
        let distance = editDistance(typed, other)
        guard distance <= threshold, distance < other.count else { continue }
        if best.map({ distance < $0.distance }) ?? true {
            best = (candidate, distance)
        }
    }
    return best?.name
}

/// The Levenshtein distance between two sequences (insertions, deletions and substitutions each cost 1).
func editDistance<Element: Equatable>(_ lhs: [Element], _ rhs: [Element]) -> Int {
    guard !lhs.isEmpty else { return rhs.count }
    guard !rhs.isEmpty else { return lhs.count }
    var previous = Array(0...rhs.count)
    var current = [Int](repeating: 0, count: rhs.count + 1)
    for (i, left) in lhs.enumerated() {
        current[0] = i + 1
        for (j, right) in rhs.enumerated() {
            let substitution = previous[j] + (left == right ? 0 : 1)
            current[j + 1] = min(substitution, previous[j + 1] + 1, current[j] + 1)
        }
        swap(&previous, &current)
    }
    return previous[rhs.count]
}
