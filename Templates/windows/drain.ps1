# octoprov step `drain` on a windows host: drains the node and stops the old version's service before the new one is installed.
# Rendered by octoprov from Templates/windows/drain.ps1; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts"). Runs with Windows PowerShell 5.1 (powershell -File).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'drain'

# The values octoprov rendered for this host, each one single-quoted (verbatim) string.
$work_dir = {{ work_dir }}
$install_dir = {{ install_dir }}
$sql_server = {{ sql_server }}
$instance_name = {{ instance_name }}
$version = {{ version }}
$from_version = {{ from_version }}

# --- octoprov common (PowerShell): identical in every PowerShell step template; StepTemplateTests checks it ---
# The result protocol (docs/steps.md, docs/templates.md): progress lines on stdout, then exactly one
# last line `OCTOPROV-RESULT {"changed":…,"message":…,"facts":{…}}`; on failure one sentence on
# stderr and exit status 1. Written for Windows PowerShell 5.1.
try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false } catch { }
$script:Facts = [ordered]@{}
function Say([string]$Text) { [Console]::Out.WriteLine($Text) }
function Add-Fact([string]$Name, $Value) { $script:Facts[$Name] = [string]$Value }
function Stop-Step([string]$Reason) {
    [Console]::Error.WriteLine(($Reason -replace '\s+', ' ').Trim())
    exit 1
}
# Complete-Step CHANGED MESSAGE: prints the result line with the facts gathered so far and exits 0.
function Complete-Step([bool]$Changed, [string]$Message) {
    $result = [ordered]@{ changed = $Changed; message = $Message; facts = $script:Facts }
    [Console]::Out.WriteLine('OCTOPROV-RESULT ' + (ConvertTo-Json -InputObject $result -Compress -Depth 3))
    exit 0
}
# Read-Secrets NAMES: reads `NAME=BASE64` lines from stdin until EOF; returns NAME -> value ('' when
# absent). Secrets stay in memory: never printed, never written to a file; a program gets one only
# through a documented flag or environment variable (see docs/templates.md).
function Read-Secrets([string[]]$Names) {
    $secrets = @{}
    foreach ($name in $Names) { $secrets[$name] = '' }
    foreach ($line in ([Console]::In.ReadToEnd() -split '\r?\n')) {
        $at = $line.IndexOf('=')
        if ($at -lt 1) { continue }
        $name = $line.Substring(0, $at)
        if ($Names -notcontains $name) { continue }
        try {
            $secrets[$name] = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($line.Substring($at + 1)))
        } catch {
            Stop-Step ('The secret ' + $name + ' on standard input is not base64.')
        }
    }
    return $secrets
}
# ConvertTo-Argument TEXT: TEXT quoted for a Windows command line (CommandLineToArgvW's rules), so
# that spaces, quotes and backslashes reach the program as they are. No shell is involved.
function ConvertTo-Argument([string]$Text) {
    if ($Text.Length -gt 0 -and $Text -notmatch '[\s"]') { return $Text }
    $quoted = New-Object System.Text.StringBuilder
    [void]$quoted.Append([char]34)
    $slashes = 0
    foreach ($char in $Text.ToCharArray()) {
        if ($char -eq [char]92) { $slashes++; continue }
        if ($char -eq [char]34) { [void]$quoted.Append([char]92, 2 * $slashes + 1) }
        elseif ($slashes -gt 0) { [void]$quoted.Append([char]92, $slashes) }
        [void]$quoted.Append($char)
        $slashes = 0
    }
    if ($slashes -gt 0) { [void]$quoted.Append([char]92, 2 * $slashes) }
    [void]$quoted.Append([char]34)
    return $quoted.ToString()
}
# Invoke-Native PROGRAM ARGUMENTS: runs a program (stdin closed, arguments quoted one by one) and
# returns its ExitCode and Output (stdout then stderr). -CommandLine passes a prepared command line
# (msiexec parses its own); -Environment adds variables for that process only.
function Invoke-Native([string]$FilePath, [string[]]$Arguments, [hashtable]$Environment = @{}, [string]$CommandLine = '') {
    $info = New-Object System.Diagnostics.ProcessStartInfo
    $info.FileName = $FilePath
    if ($CommandLine) { $info.Arguments = $CommandLine }
    else { $info.Arguments = (@($Arguments | ForEach-Object { ConvertTo-Argument $_ }) -join ' ') }
    $info.UseShellExecute = $false
    $info.RedirectStandardInput = $true
    $info.RedirectStandardOutput = $true
    $info.RedirectStandardError = $true
    foreach ($key in $Environment.Keys) { $info.EnvironmentVariables[$key] = [string]$Environment[$key] }
    $process = [System.Diagnostics.Process]::Start($info)
    $process.StandardInput.Close()
    $stdout = $process.StandardOutput.ReadToEndAsync()
    $stderr = $process.StandardError.ReadToEndAsync()
    $process.WaitForExit()
    return [pscustomobject]@{ ExitCode = $process.ExitCode; Output = ($stdout.Result + $stderr.Result) }
}
# Get-VersionCore TEXT: the first three numbers of a version (2023.3.13026 of 2023.3.13026.0 or of
# a version with a +branch suffix).
function Get-VersionCore([string]$Text) {
    if ($Text -match '^\d+(\.\d+){0,2}') { return $Matches[0] }
    return $Text
}
# Test-VersionAtLeast VERSION MINIMUM: whether a dotted version is >= MINIMUM.
function Test-VersionAtLeast([string]$Version, [string]$Minimum) {
    $have = @($Version.Split('.'))
    $want = @($Minimum.Split('.'))
    for ($index = 0; $index -lt 4; $index++) {
        $left = 0
        $right = 0
        if ($index -lt $have.Count -and $have[$index] -match '^\d+') { $left = [long]$Matches[0] }
        if ($index -lt $want.Count -and $want[$index] -match '^\d+') { $right = [long]$Matches[0] }
        if ($left -ne $right) { return ($left -gt $right) }
    }
    return $true
}
function Assert-Flag([string]$Name, [string]$Value) {
    if ($Value -cne 'true' -and $Value -cne 'false') { Stop-Step ('The option ' + $Name + ' must be true or false.') }
}
# Get-FreeBytes PATH: free bytes on the drive that holds PATH or its nearest existing parent.
function Get-FreeBytes([string]$Path) {
    $probe = $Path
    while ($probe -and -not (Test-Path -LiteralPath $probe)) { $probe = Split-Path -Parent $probe }
    if (-not $probe) { return '' }
    try {
        $qualifier = Split-Path -Qualifier (Resolve-Path -LiteralPath $probe).ProviderPath
        return [string](Get-PSDrive -Name $qualifier.TrimEnd(':') -PSProvider FileSystem).Free
    } catch {
        return ''  # a UNC path or a drive PowerShell does not map
    }
}
function Get-Sha256([string]$Path) { return (Get-FileHash -Algorithm SHA256 -LiteralPath $Path).Hash.ToLowerInvariant() }
# Get-SqlValue NAME: the value on the `NAME|value` line of the last Invoke-Sql output ('' if none).
$script:SqlOutput = ''
function Get-SqlValue([string]$Name) {
    foreach ($line in ($script:SqlOutput -split '\r?\n')) {
        if ($line.StartsWith($Name + '|')) { return $line.Substring($Name.Length + 1) }
    }
    return ''
}
# Assert-SqlFile NAME: the path of the rendered T-SQL file octoprov uploaded with the step.
function Assert-SqlFile([string]$Name) {
    $path = Join-Path $work_dir $Name
    if (-not (Test-Path -LiteralPath $path -PathType Leaf)) {
        Stop-Step ('The rendered T-SQL file ' + $Name + ' is missing from the work folder; octoprov uploads it with the ' + $Step + ' step.')
    }
    return $path
}
# --- end octoprov common (PowerShell) ---

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
# `name|value` lines) and keeps the output for Get-SqlValue. Returns whether sqlcmd succeeded.
function Invoke-Sql([string]$Path) {
    $sqlcmd = Get-Command 'sqlcmd.exe' -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $sqlcmd) { Stop-Step 'sqlcmd.exe is not on the PATH of the host.' }
    $result = Invoke-Native $sqlcmd.Source @('-x', '-b', '-C', '-E', '-S', $sql_server, '-f', '65001', '-h', '-1', '-W', '-s', '|', '-i', $Path)
    $script:SqlOutput = $result.Output
    if ($result.Output) { Say $result.Output.TrimEnd() }
    return ($result.ExitCode -eq 0)
}
# --- end octoprov windows ---

try {
    # While the old version still runs: drains the node (node --drain=true --wait, so that running tasks
    # can finish and no new ones start) and stops the service, so that the MSI of the new version
    # installs over a stopped server. Skipped when the database is already at the target or the service
    # is not running. A marker in the work folder records that octoprov drained the node, so that
    # undrain restores the state the node had before: a node that was already draining stays draining.
    $drainWait = 300
    $marker = Join-Path $work_dir 'octoprov-upgrade-drained'
    # Test-SameVersion A B: whether two dotted versions are equal number by number.
    function Test-SameVersion([string]$Left, [string]$Right) {
        if (-not $Left -or -not $Right) { return $false }
        return ((Test-VersionAtLeast $Left $Right) -and (Test-VersionAtLeast $Right $Left))
    }
    # Test-NodeDraining: whether the last database-version.sql output says this node is draining.
    function Test-NodeDraining {
        $value = Get-SqlValue 'node_draining'
        return ($value -eq '1' -or $value -eq 'true')
    }
    # Test-ServiceRunning: whether the instance's Windows service runs.
    function Test-ServiceRunning {
        $service = Get-Service | Where-Object { $_.Name -eq (Get-ServiceName) } | Select-Object -First 1
        return ($null -ne $service -and $service.Status -eq 'Running')
    }
    Assert-Octopus
    if (-not (Test-Instance)) { Stop-Step 'The instance does not exist on the host; provision it before upgrading it.' }
    $versionSql = Assert-SqlFile 'database-version.sql'
    if (-not (Invoke-Sql $versionSql)) { Stop-Step 'Reading the database failed; see the sqlcmd output above.' }
    $databaseVersion = Get-SqlValue 'database_version'
    Add-Fact 'database_version' $databaseVersion
    if (Test-SameVersion $databaseVersion $version) {
        Complete-Step $false ('The database is already at ' + $version + '; there is nothing to drain.')
    }
    if (-not (Test-SameVersion $databaseVersion $from_version)) {
        Stop-Step ('The database is at Octopus ' + $databaseVersion + ', not at the instance''s version ' + $from_version + '; octoprov drains only the instance it provisioned.')
    }
    if (-not (Test-ServiceRunning)) {
        Add-Fact 'node_draining' ([string](Test-NodeDraining)).ToLowerInvariant()
        Complete-Step $false 'The service is not running; there is nothing to drain or stop.'
    }
    if (Test-NodeDraining) {
        Say 'The node is already draining.'
    } else {
        Set-Content -LiteralPath $marker -Value ('octoprov drained the node before the upgrade from ' + $from_version + ' to ' + $version + '.') -Encoding UTF8
        Say ('Draining the node (waiting up to ' + $drainWait + ' seconds for its tasks).')
        Invoke-Octopus @('node', ('--instance=' + $instance_name), '--drain=true', ('--wait=' + $drainWait))
    }
    Add-Fact 'node_draining' 'true'
    Say 'Stopping the service.'
    Invoke-Octopus @('service', ('--instance=' + $instance_name), '--stop')
    if (Test-ServiceRunning) { Stop-Step 'The service is still running after service --stop.' }
    Complete-Step $true 'Drained the node and stopped the service.'
} catch {
    Stop-Step ('The ' + $step + ' step failed: ' + $_.Exception.Message)
}
