# answers: whether the server answers the ping (200, or 418 when draining).
answers() {
    local code
    code=$(curl --silent --output /dev/null --max-time 5 --write-out '%{http_code}' -- "$ping_url" </dev/null) || return 1
    [[ $code == 200 || $code == 418 ]]
}
