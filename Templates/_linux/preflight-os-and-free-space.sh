os_name=$(uname -srm 2>/dev/null || true)
if [[ -r /etc/os-release ]]; then
    while IFS= read -r line; do
        if [[ $line == PRETTY_NAME=* ]]; then
            pretty=${line#PRETTY_NAME=}
            pretty=${pretty#\"}
            os_name="${pretty%\"} ($os_name)"
        fi
    done </etc/os-release
fi
fact os "$os_name"
fact free_bytes_work_dir "$(free_bytes "$work_dir")"
fact free_bytes_data_dir "$(free_bytes "$data_dir")"
fact free_bytes_home_dir "$(free_bytes "$home_dir")"
