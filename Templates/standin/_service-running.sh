# service_running: whether this instance's server runs (its PID file names a live process).
service_running() {
    local pid
    pid=$(cat -- "$home_dir/standin.pid" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}
