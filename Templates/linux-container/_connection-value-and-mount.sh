# connection_value TEXT: TEXT as a connection-string value, double-quoted when it needs to be.
connection_value() {
    if [[ $1 == *[\;\'\"]* || $1 == [[:space:]]* || $1 == *[[:space:]] ]]; then
        printf '"%s"' "${1//\"/\"\"}"
    else
        printf '%s' "$1"
    fi
}
# mount SOURCE TARGET: a --mount value; the source is a quoted CSV field, so commas stay in the path.
mount() {
    [[ $1 != *$'\n'* && $1 != *$'\r'* ]] || fail "A folder mounted into the container has a line break in its path."
    printf 'type=bind,"source=%s",target=%s' "${1//\"/\"\"}" "$2"
}
