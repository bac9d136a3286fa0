# --- octoprov standin: identical in every standin step template; StepTemplateTests checks it ---
# The stand-in package installs to $install_dir/<version>, with $install_dir/current linking to the
# pinned one; its Octopus.Server and sqlcmd take the real programs' verbs and flags. It keeps its
# "SQL Server" databases under $OCTOPUS_STANDIN_DATA.
readonly octopus_server="$install_dir/current/bin/Octopus.Server"
readonly sqlcmd_program="$install_dir/current/bin/sqlcmd"
export OCTOPUS_STANDIN_DATA="$sql_data_root"
# installed_version: the VERSION of the installed stand-in package (empty if none).
installed_version() {
    local text=''
    if [[ -f "$install_dir/current/VERSION" ]]; then
        text=$(<"$install_dir/current/VERSION") || true
    fi
    printf '%s' "${text//[[:space:]]/}"
}
require_standin() {
    [[ -x $octopus_server && -x $sqlcmd_program ]] || fail "The stand-in is not installed in the install folder; run the install step first."
}
# The hooks the steps shared with linux-container call: the stand-in is its own sqlcmd, and needs no login.
require_sql_tools() { require_standin; }
read_sql_secret() { :; }
# run_sql FILE: runs a rendered T-SQL file with sqlcmd (-x: no $(var) substitution, -b: stop at the
# first error; -h -1 -W -s '|': `name|value` lines) and keeps the output in $sql_output. It prints the
# output, unless a second argument `quiet` asks for it only when sqlcmd fails (a long listing).
run_sql() {
    local status=0
    sql_output=$("$sqlcmd_program" -x -b -S "$sql_server" -h -1 -W -s '|' -i "$1" 2>&1 </dev/null) || status=$?
    if [[ -n $sql_output && (${2-} != quiet || $status != 0) ]]; then printf '%s\n' "$sql_output"; fi
    return "$status"
}
# octopus VERB FLAG…: runs Octopus.Server; fails the step when it fails.
octopus() {
    local status=0
    "$octopus_server" "$@" </dev/null || status=$?
    ((status == 0)) || fail "Octopus.Server $1 failed with exit status $status; see its output above."
}
# instance_exists: whether list-instances names $instance_name (text format, as the docs show it).
instance_exists() {
    local listing line
    listing=$("$octopus_server" list-instances </dev/null 2>/dev/null) || return 1
    while IFS= read -r line; do
        if [[ $line == "Instance '$instance_name' uses configuration "* ]]; then return 0; fi
    done <<<"$listing"
    return 1
}
# show_configuration: the instance's flat JSON configuration (empty if it cannot be read).
show_configuration() {
    "$octopus_server" show-configuration "--instance=$instance_name" --format=json --noconsolelogging </dev/null 2>/dev/null || true
}
# --- end octoprov standin ---
