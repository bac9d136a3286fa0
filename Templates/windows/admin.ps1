# octoprov step `admin` on a windows host: sets the admin user, octoprov's API key and the licence.
# Rendered by octoprov from Templates/windows/admin.ps1; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts"). Runs with Windows PowerShell 5.1 (powershell -File).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'admin'

# The values octoprov rendered for this host, each one single-quoted (verbatim) string.
$work_dir = {{ work_dir }}
$install_dir = {{ install_dir }}
$sql_server = {{ sql_server }}
$instance_name = {{ instance_name }}
$home_dir = {{ home_dir }}
$admin_username = {{ admin_username }}
$admin_email = {{ admin_email }}

{{> _common/powershell.ps1 }}

{{> windows/_platform.ps1 }}

try {
    # Creates or updates the break-glass admin user (admin, with octoprov's API key) and sets the licence
    # (license --licenseBase64). The secrets arrive on stdin and reach Octopus.Server only as its
    # documented flags. A marker in the home folder keeps a salted SHA-256 of what was applied (never the
    # values), so a second run with the same inputs changes nothing.
    $secrets = Read-Secrets @('admin_password', 'admin_api_key', 'license_base64')
    Assert-Octopus
    if (-not (Test-Instance)) { Stop-Step 'The instance does not exist; the create-instance step comes before admin.' }
    if (-not $admin_username -and ($secrets['admin_password'] -or $secrets['admin_api_key'])) {
        Stop-Step 'An admin password or API key was given but admin_username is empty.'
    }
    if (-not $admin_username -and -not $secrets['license_base64']) { Complete-Step $false 'There is no admin user or licence to set.' }
    Add-Fact 'admin_username' $admin_username
    $marker = Join-Path $home_dir 'octoprov-admin.state'
    $salt = ''
    $recorded = ''
    if (Test-Path -LiteralPath $marker -PathType Leaf) {
        $lines = @([IO.File]::ReadAllLines($marker))
        if ($lines.Count -ge 2) { $salt = $lines[0]; $recorded = $lines[1] }
    }
    if ($salt -cnotmatch '^[0-9a-f]{32}$') {
        $bytes = New-Object byte[] 16
        ([Security.Cryptography.RandomNumberGenerator]::Create()).GetBytes($bytes)
        $salt = -join ($bytes | ForEach-Object { $_.ToString('x2') })
    }
    $material = @($salt, $instance_name, $admin_username, $admin_email, $secrets['admin_password'], $secrets['admin_api_key'], $secrets['license_base64']) -join [char]0
    $hash = ([Security.Cryptography.SHA256]::Create()).ComputeHash([Text.Encoding]::UTF8.GetBytes($material))
    $digest = -join ($hash | ForEach-Object { $_.ToString('x2') })
    if ($recorded -ceq $digest) { Complete-Step $false 'The admin user and the licence are already set.' }
    if ($admin_username) {
        Say 'Setting the admin user.'
        $arguments = @('admin', ('--instance=' + $instance_name), ('--username=' + $admin_username))
        if ($admin_email) { $arguments += ('--email=' + $admin_email) }
        if ($secrets['admin_password']) { $arguments += ('--password=' + $secrets['admin_password']) }
        if ($secrets['admin_api_key']) { $arguments += ('--apiKey=' + $secrets['admin_api_key']) }
        Invoke-Octopus $arguments
    }
    if ($secrets['license_base64']) {
        Say 'Setting the licence.'
        Invoke-Octopus @('license', ('--instance=' + $instance_name), ('--licenseBase64=' + $secrets['license_base64']))
    }
    [void][IO.Directory]::CreateDirectory($home_dir)
    [IO.File]::WriteAllLines($marker, [string[]]@($salt, $digest))
    Complete-Step $true 'Set the admin user and the licence.'
} catch {
    Stop-Step ('The ' + $step + ' step failed: ' + $_.Exception.Message)
}
