if [[ -z $admin_username && (-n $secret_admin_password || -n $secret_admin_api_key) ]]; then
    fail "An admin password or API key was given but admin_username is empty."
fi
if [[ -z $admin_username && -z $secret_license_base64 ]]; then
    finish false "There is no admin user or licence to set."
fi
fact admin_username "$admin_username"
