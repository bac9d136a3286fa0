# octoprov step `configure` on a windows host: sets the listen prefix and the comms port.
# Rendered by octoprov from Templates/windows/configure.ps1; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts"). Runs with Windows PowerShell 5.1 (powershell -File).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'configure'

# The values octoprov rendered for this host, each one single-quoted (verbatim) string.
$work_dir = {{ work_dir }}
$install_dir = {{ install_dir }}
$sql_server = {{ sql_server }}
$instance_name = {{ instance_name }}
$web_listen_prefix = {{ web_listen_prefix }}
$comms_port = {{ comms_port }}

{{> _common/powershell.ps1 }}

{{> windows/_platform.ps1 }}

try {
    # Sets the web listen prefix and the comms port (configure), with SSL not forced, unless
    # show-configuration already has them.
    Assert-Octopus
    if (-not (Test-Instance)) { Stop-Step 'The instance does not exist; the create-instance step comes before configure.' }
    if ($comms_port -notmatch '^\d+$') { Stop-Step 'comms_port is not a port number.' }
    Add-Fact 'web_listen_prefix' $web_listen_prefix
    Add-Fact 'comms_port' $comms_port
    if ((Get-ConfigValue 'Octopus.WebPortal.ListenPrefixes') -eq $web_listen_prefix -and
        (Get-ConfigValue 'Octopus.Communications.ServicesPort') -eq $comms_port -and
        (Get-ConfigValue 'Octopus.WebPortal.ForceSsl') -eq 'false') {
        Complete-Step $false 'The instance already listens on these prefixes and port.'
    }
    Say 'Configuring the listen prefix and the comms port.'
    Invoke-Octopus @('configure', ('--instance=' + $instance_name), ('--webListenPrefixes=' + $web_listen_prefix), ('--commsListenPort=' + $comms_port), '--webForceSSL=False')
    Complete-Step $true 'Configured the listen prefix and the comms port.'
} catch {
    Stop-Step ('The ' + $step + ' step failed: ' + $_.Exception.Message)
}
