# octoprov step `create-instance` on a windows host: creates the Octopus instance.
# Rendered by octoprov from Templates/windows/create-instance.ps1; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts"). Runs with Windows PowerShell 5.1 (powershell -File).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'create-instance'

# The values octoprov rendered for this host, each one single-quoted (verbatim) string.
$work_dir = {{ work_dir }}
$install_dir = {{ install_dir }}
$sql_server = {{ sql_server }}
$instance_name = {{ instance_name }}
$node_name = {{ node_name }}
$home_dir = {{ home_dir }}
$config_path = {{ config_path }}

{{> _common/powershell.ps1 }}

{{> windows/_platform.ps1 }}

try {
    # Creates the Octopus instance (create-instance with its config file, home folder and the clone's node
    # name) unless list-instances already shows it.
    Assert-Octopus
    Add-Fact 'instance_name' $instance_name
    if (Test-Instance) {
        $node = Get-ConfigValue 'Octopus.Storage.NodeName'
        Add-Fact 'home_dir' (Get-ConfigValue 'Octopus.Home')
        Add-Fact 'node_name' $node
        if ($node -and $node -ne $node_name) {
            Stop-Step 'The instance already exists with another node name; octoprov does not rename it, so delete the instance or change node_name.'
        }
        Complete-Step $false 'The instance already exists.'
    }
    [void][IO.Directory]::CreateDirectory($home_dir)
    $configFolder = Split-Path -Parent $config_path
    if ($configFolder) { [void][IO.Directory]::CreateDirectory($configFolder) }
    Say 'Creating the instance.'
    Invoke-Octopus @('create-instance', ('--instance=' + $instance_name), ('--config=' + $config_path), ('--home=' + $home_dir), ('--serverNodeName=' + $node_name))
    if (-not (Test-Instance)) { Stop-Step 'create-instance succeeded but list-instances does not show the instance.' }
    Add-Fact 'home_dir' $home_dir
    Add-Fact 'node_name' $node_name
    Complete-Step $true 'Created the instance.'
} catch {
    Stop-Step ('The ' + $step + ' step failed: ' + $_.Exception.Message)
}
