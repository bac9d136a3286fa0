if same_version "$database_version" "$version"; then
    upgraded=true
elif same_version "$database_version" "$from_version"; then
    upgraded=false
else
    fail "The database is at Octopus ${database_version:-(unknown)}, neither the instance's version $from_version nor the target $version; octoprov upgrades only the database it provisioned."
fi
fact database_upgraded "$upgraded"
fact upgrade_backup_file "$upgrade_backup_file"
free=$(free_bytes "$work_dir")
fact free_bytes_work_dir "$free"
if [[ $upgraded == true ]]; then
    finish false "The instance's database is already upgraded to $version."
fi
run_sql "$work_dir/database-size.sql" || fail "Reading the database's size failed; see the sqlcmd output above."
database_bytes=$(sql_value database_bytes)
fact database_bytes "$database_bytes"
if [[ ! -f $upgrade_backup_file && $database_bytes =~ ^[0-9]+$ && $free =~ ^[0-9]+$ ]] && ((free < database_bytes)); then
    fail "The work folder has $free bytes free, less than the $database_bytes bytes the database's backup may take; free some space on the host."
fi
