-- octoprov: what the upgrade steps read from the instance's database. Read-only. One `name|value`
-- line each (run with sqlcmd -x -b -h -1 -W -s "|"); a line is missing when its row is.
USE {{ database | ident }};
GO
SET NOCOUNT ON;
-- The Octopus version that last upgraded this database (the docs' query).
SELECT TOP 1 N'database_version', [Version] FROM dbo.OctopusServerInstallationHistory ORDER BY Installed DESC;
-- The Installation ID tells this database from an earlier one of the same name: the upgrade backup records it.
SELECT N'installation_id', JSON_VALUE([JSON], N'$.InstallationId') FROM dbo.Configuration WHERE Id = N'upgradeavailability';
-- Whether this instance's node is draining (node --drain=true).
SELECT N'node_draining', IsInMaintenanceMode FROM dbo.OctopusServerNode WHERE Name = {{ node_name }};
