salt='' recorded=''
if [[ -f $marker ]]; then
    { IFS= read -r salt && IFS= read -r recorded; } <"$marker" || true
fi
if [[ ! $salt =~ ^[0-9a-f]{32}$ ]]; then
    salt=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
fi
