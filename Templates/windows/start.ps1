# octoprov step `start` on a windows host: installs and starts the Windows service and waits until it answers.
# Rendered by octoprov from Templates/windows/start.ps1; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts"). Runs with Windows PowerShell 5.1 (powershell -File).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'start'

# The values octoprov rendered for this host, each one single-quoted (verbatim) string.
$work_dir = {{ work_dir }}
$install_dir = {{ install_dir }}
$sql_server = {{ sql_server }}
$instance_name = {{ instance_name }}
$mode = {{ mode }}
$backup_sha256 = {{ backup_sha256 }}
$web_listen_prefix = {{ web_listen_prefix }}

{{> _common/powershell.ps1 }}

{{> windows/_platform.ps1 }}

try {
    # Installs and starts the instance's Windows service (service --install --reconfigure --start), then
    # waits until it answers /api/octopusservernodes/ping. A clone only starts on a database whose
    # quarantine record is for this backup.
    Assert-Octopus
    if (-not (Test-Instance)) { Stop-Step 'The instance does not exist; the create-instance step comes before start.' }
    if ($mode -eq 'clone') {
        if ($backup_sha256 -cnotmatch '^[0-9a-f]{64}$') { Stop-Step 'backup_sha256 is not a lower-case hex SHA-256.' }
        $verifySql = Assert-SqlFile 'verify-quarantine.sql'
        if (-not (Invoke-Sql $verifySql)) { Stop-Step 'Reading the database failed; see the sqlcmd output above.' }
        if ((Get-SqlValue 'quarantine_sha256') -ne $backup_sha256) {
            Stop-Step 'The database has no quarantine record for this backup; octoprov refuses to start a clone that was not quarantined.'
        }
    }
    $pingUrl = ($web_listen_prefix.TrimEnd('/') -replace '://[+*]', '://localhost') + '/api/octopusservernodes/ping'
    $serviceName = Get-ServiceName
    Add-Fact 'service_name' $serviceName
    Add-Fact 'ping_url' $pingUrl
    # Test-Answers: whether the server answers the ping (200, or 418 when draining).
    function Test-Answers {
        try {
            return ((Invoke-WebRequest -UseBasicParsing -Uri $pingUrl -TimeoutSec 5).StatusCode -eq 200)
        } catch [System.Net.WebException] {
            $response = $_.Exception.Response
            return ($null -ne $response -and [int]$response.StatusCode -eq 418)
        } catch {
            return $false
        }
    }
    $service = Get-Service | Where-Object { $_.Name -eq $serviceName } | Select-Object -First 1
    if ($service -and $service.Status -eq 'Running' -and (Test-Answers)) {
        Complete-Step $false 'Octopus Server is already running and answers.'
    }
    Say 'Installing and starting the service.'
    Invoke-Octopus @('service', ('--instance=' + $instance_name), '--install', '--reconfigure', '--start')
    for ($waited = 0; $waited -lt 600; $waited += 5) {
        if (Test-Answers) { Complete-Step $true 'Started Octopus Server; it answers.' }
        Start-Sleep -Seconds 5
    }
    Stop-Step 'Octopus Server did not answer its ping within 600 seconds after starting; see its log in the home folder.'
} catch {
    Stop-Step ('The ' + $step + ' step failed: ' + $_.Exception.Message)
}
