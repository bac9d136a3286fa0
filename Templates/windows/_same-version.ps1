    # Test-SameVersion A B: whether two dotted versions are equal number by number.
    function Test-SameVersion([string]$Left, [string]$Right) {
        if (-not $Left -or -not $Right) { return $false }
        return ((Test-VersionAtLeast $Left $Right) -and (Test-VersionAtLeast $Right $Left))
    }
