# octoprov step `install` on a windows host: installs the pinned Octopus Server MSI.
# Rendered by octoprov from Templates/windows/install.ps1; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts"). Runs with Windows PowerShell 5.1 (powershell -File).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'install'

# The values octoprov rendered for this host, each one single-quoted (verbatim) string.
$work_dir = {{ work_dir }}
$install_dir = {{ install_dir }}
$sql_server = {{ sql_server }}
$instance_name = {{ instance_name }}
$version = {{ version }}
$package_file = {{ package_file }}
$package_url = {{ package_url }}
$package_sha256 = {{ package_sha256 }}

{{> _common/powershell.ps1 }}

{{> windows/_platform.ps1 }}

try {
    # Installs the pinned Octopus Server MSI (uploaded, or downloaded from package_url), checked against
    # package_sha256: msiexec /i … /quiet RUNMANAGERONEXIT=no INSTALLLOCATION=… Skipped when
    # Octopus.Server.exe in install_dir already is the pinned version; never downgrades.
    if ($version -notmatch '^\d+(\.\d+){1,3}$') { Stop-Step 'The version to install is not a dotted version like 2023.3.13026.' }
    if ($package_sha256 -notmatch '^[0-9a-fA-F]{64}$') { Stop-Step 'package_sha256 is not a hex SHA-256.' }
    $expected = $package_sha256.ToLowerInvariant()
    Add-Fact 'install_dir' $install_dir
    $installed = Get-InstalledVersion
    if ($installed -eq $version) {
        Add-Fact 'installed_version' $installed
        Complete-Step $false ('Octopus Server ' + $version + ' is already installed.')
    }
    if ($installed -and (Test-VersionAtLeast $installed $version)) {
        Stop-Step ('Octopus Server ' + $installed + ' is installed, newer than the pinned ' + $version + '; the MSI does not downgrade, so uninstall it first.')
    }
    if ($package_file) {
        if (-not (Test-Path -LiteralPath $package_file -PathType Leaf)) { Stop-Step 'The MSI is not on the host; octoprov uploads it before the install step.' }
        $msi = $package_file
    } elseif ($package_url) {
        $msi = Join-Path $work_dir ('Octopus.' + $version + '-x64.msi')
        if (-not (Test-Path -LiteralPath $msi -PathType Leaf) -or (Get-Sha256 $msi) -ne $expected) {
            [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
            Say ('Downloading Octopus Server ' + $version + '.')
            Invoke-WebRequest -UseBasicParsing -Uri $package_url -OutFile ($msi + '.part')
            Move-Item -LiteralPath ($msi + '.part') -Destination $msi -Force
        }
    } else {
        Stop-Step ('Neither package_file nor package_url is set for Octopus Server ' + $version + '.')
    }
    $actual = Get-Sha256 $msi
    if ($actual -ne $expected) { Stop-Step ('The MSI''s SHA-256 is ' + $actual + ', not the pinned ' + $expected + '; it is not installed.') }
    $log = Join-Path $work_dir ('msiexec-' + $version + '.log')
    foreach ($path in @($msi, $install_dir, $log)) {
        if ($path.Contains('"')) { Stop-Step 'A path for msiexec holds a double quote, which Windows paths cannot.' }
    }
    $commandLine = '/i "' + $msi + '" /quiet /norestart RUNMANAGERONEXIT=no INSTALLLOCATION="' + $install_dir.TrimEnd('\') + '" /l*v "' + $log + '"'
    Say ('Installing Octopus Server ' + $version + ' (msiexec).')
    $result = Invoke-Native 'msiexec.exe' @() -CommandLine $commandLine
    if (@(0, 1641, 3010) -notcontains $result.ExitCode) {
        Stop-Step ('msiexec failed with exit status ' + $result.ExitCode + '; its log is msiexec-' + $version + '.log in the work folder.')
    }
    $installed = Get-InstalledVersion
    if ($installed -ne $version) { Stop-Step ('msiexec succeeded but Octopus.Server.exe in the install folder is ' + $installed + ', not ' + $version + '.') }
    Add-Fact 'installed_version' $installed
    Add-Fact 'reboot_required' ([string]($result.ExitCode -ne 0)).ToLowerInvariant()
    Complete-Step $true ('Installed Octopus Server ' + $version + '.')
} catch {
    Stop-Step ('The ' + $step + ' step failed: ' + $_.Exception.Message)
}
