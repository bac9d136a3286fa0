# same_version A B: whether two dotted versions are equal number by number (2023.3.13026 = 2023.3.13026.0).
same_version() {
    [[ -n $1 && -n $2 ]] || return 1
    version_at_least "$1" "$2" && version_at_least "$2" "$1"
}
