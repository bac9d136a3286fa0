# field_of CONTAINER FIELD: a field of a container (empty when there is no such container).
field_of() {
    docker container inspect --format "$(go_template "$2")" -- "$1" 2>/dev/null </dev/null || true
}
