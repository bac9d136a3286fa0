# octoprov step `preflight` on a windows host: reports the OS, free space, what is installed and what exists, changing nothing.
# Rendered by octoprov from Templates/windows/preflight.ps1; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts"). Runs with Windows PowerShell 5.1 (powershell -File).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'preflight'

# The values octoprov rendered for this host, each one single-quoted (verbatim) string.
$work_dir = {{ work_dir }}
$install_dir = {{ install_dir }}
$sql_server = {{ sql_server }}
$instance_name = {{ instance_name }}
$version = {{ version }}
$home_dir = {{ home_dir }}
$data_dir = {{ data_dir }}

{{> _common/powershell.ps1 }}

{{> windows/_platform.ps1 }}

try {
    # Reports facts only and changes nothing: the OS, free space where the work, data and home folders go,
    # the installed Octopus Server, the instance and its service, sqlcmd and whether the database exists.
    $os = Get-CimInstance -ClassName Win32_OperatingSystem -ErrorAction SilentlyContinue
    if ($os) { $osName = [string]$os.Caption + ' ' + [string]$os.Version } else { $osName = [Environment]::OSVersion.VersionString }
    Add-Fact 'os' $osName
    Add-Fact 'powershell_version' $PSVersionTable.PSVersion.ToString()
    Add-Fact 'free_bytes_work_dir' (Get-FreeBytes $work_dir)
    Add-Fact 'free_bytes_data_dir' (Get-FreeBytes $data_dir)
    Add-Fact 'free_bytes_home_dir' (Get-FreeBytes $home_dir)
    $installed = Get-InstalledVersion
    Add-Fact 'installed_version' $installed
    Add-Fact 'version_installed' ([string]($installed -eq $version)).ToLowerInvariant()
    $instance = $false
    if ($installed) { $instance = Test-Instance }
    Add-Fact 'instance_exists' ([string]$instance).ToLowerInvariant()
    $serviceName = Get-ServiceName
    $service = Get-Service | Where-Object { $_.Name -eq $serviceName } | Select-Object -First 1
    if ($service) { Add-Fact 'service_status' ([string]$service.Status) } else { Add-Fact 'service_status' '' }
    $sqlcmd = Get-Command 'sqlcmd.exe' -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    $database = 'unknown'
    if ($sqlcmd) {
        Add-Fact 'sqlcmd' $sqlcmd.Source
        $check = Join-Path $work_dir 'database-exists.sql'
        if ((Test-Path -LiteralPath $check -PathType Leaf) -and (Invoke-Sql $check)) {
            $database = ([string]((Get-SqlValue 'database_exists') -eq '1')).ToLowerInvariant()
        }
    } else {
        Add-Fact 'sqlcmd' ''
    }
    Add-Fact 'database_exists' $database
    if ($installed) { Complete-Step $false ('The host runs ' + $osName + ' with Octopus Server ' + $installed + ' installed.') }
    Complete-Step $false ('The host runs ' + $osName + '; Octopus Server is not installed yet.')
} catch {
    Stop-Step ('The ' + $step + ' step failed: ' + $_.Exception.Message)
}
