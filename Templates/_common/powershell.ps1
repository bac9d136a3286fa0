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
