# node_draining: whether the last database-version.sql output says this node is draining.
node_draining() {
    local value
    value=$(sql_value node_draining)
    [[ ${value,,} == 1 || ${value,,} == true ]]
}
