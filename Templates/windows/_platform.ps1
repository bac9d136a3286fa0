# --- octoprov windows: identical in every windows step template; StepTemplateTests checks it ---
# Octopus Server from the MSI in install_dir, run with --console (the SSH session is no interactive
# desktop); SQL Server reached with sqlcmd and integrated security.
$octopus_server_exe = Join-Path $install_dir 'Octopus.Server.exe'
# Get-InstalledVersion: the version of the installed Octopus.Server.exe ('' if none).
function Get-InstalledVersion {
    if (-not (Test-Path -LiteralPath $octopus_server_exe -PathType Leaf)) { return '' }
    return Get-VersionCore ([Diagnostics.FileVersionInfo]::GetVersionInfo($octopus_server_exe).ProductVersion)
}
function Assert-Octopus {
    if (-not (Test-Path -LiteralPath $octopus_server_exe -PathType Leaf)) {
        Stop-Step 'Octopus.Server.exe is not in the install folder; run the install step first.'
    }
}
# Invoke-Octopus ARGUMENTS: runs Octopus.Server.exe with --console; fails the step when it fails.
function Invoke-Octopus([string[]]$Arguments) {
    $result = Invoke-Native $octopus_server_exe ($Arguments + @('--console'))
    if ($result.Output) { Say $result.Output.TrimEnd() }
    if ($result.ExitCode -ne 0) {
        Stop-Step ('Octopus.Server ' + $Arguments[0] + ' failed with exit status ' + $result.ExitCode + '; see its output above.')
    }
}
# Test-Instance: whether list-instances names instance_name (text format, as the docs show it).
function Test-Instance {
    $result = Invoke-Native $octopus_server_exe @('list-instances', '--console')
    if ($result.ExitCode -ne 0) { return $false }
    $prefix = "Instance '" + $instance_name + "' uses configuration "
    foreach ($line in ($result.Output -split '\r?\n')) {
        if ($line.StartsWith($prefix)) { return $true }
    }
    return $false
}
# Get-ConfigValue KEY: a value of show-configuration's flat JSON ('' when absent or unreadable).
$script:Configuration = $null
function Get-ConfigValue([string]$Key) {
    if ($null -eq $script:Configuration) {
        $script:Configuration = New-Object PSObject
        $result = Invoke-Native $octopus_server_exe @('show-configuration', ('--instance=' + $instance_name), '--format=json', '--noconsolelogging', '--console')
        $start = $result.Output.IndexOf('{')
        if ($result.ExitCode -eq 0 -and $start -ge 0) {
            try { $script:Configuration = $result.Output.Substring($start) | ConvertFrom-Json } catch { }
        }
    }
    $property = $script:Configuration.PSObject.Properties[$Key]
    if ($null -eq $property -or $null -eq $property.Value) { return '' }
    return [string]$property.Value
}
function Get-ServiceName {
    if ($instance_name -eq 'OctopusServer') { return 'OctopusDeploy' }
    return 'OctopusDeploy: ' + $instance_name
}
# Invoke-Sql FILE: runs a rendered T-SQL file with sqlcmd (-x: no $(var) substitution, -b: stop at the
# first error, -C: trust the local server's certificate, -f 65001: UTF-8; -h -1 -W -s '|':
# `name|value` lines) and keeps the output for Get-SqlValue. Returns whether sqlcmd succeeded. It prints the
# output, unless -Quiet asks for it only when sqlcmd fails (a long listing).
function Invoke-Sql([string]$Path, [switch]$Quiet) {
    $sqlcmd = Get-Command 'sqlcmd.exe' -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $sqlcmd) { Stop-Step 'sqlcmd.exe is not on the PATH of the host.' }
    $result = Invoke-Native $sqlcmd.Source @('-x', '-b', '-C', '-E', '-S', $sql_server, '-f', '65001', '-h', '-1', '-W', '-s', '|', '-i', $Path)
    $script:SqlOutput = $result.Output
    if ($result.Output -and (-not $Quiet -or $result.ExitCode -ne 0)) { Say $result.Output.TrimEnd() }
    return ($result.ExitCode -eq 0)
}
# --- end octoprov windows ---
