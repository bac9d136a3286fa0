-- octoprov: what the restore, quarantine, connect-database, start and verify steps read from the
-- restored database. Read-only. One `name|value` line each (run with sqlcmd -x -b -h -1 -W -s "|");
-- a line is missing when its row or table is.
USE {{ database | ident }};
GO
SET NOCOUNT ON;
-- The records restore.sql and quarantine.sql write.
SELECT N'restore_sha256', JSON_VALUE([JSON], N'$.BackupSha256') FROM dbo.Configuration WHERE Id = N'octoprov-restore';
SELECT N'quarantine_sha256', JSON_VALUE([JSON], N'$.BackupSha256') FROM dbo.Configuration WHERE Id = N'octoprov-quarantine';
SELECT N'quarantine_server_nodes', JSON_VALUE([JSON], N'$.ServerNodes') FROM dbo.Configuration WHERE Id = N'octoprov-quarantine';
SELECT N'quarantine_targets', JSON_VALUE([JSON], N'$.Targets') FROM dbo.Configuration WHERE Id = N'octoprov-quarantine';
SELECT N'quarantine_workers', JSON_VALUE([JSON], N'$.Workers') FROM dbo.Configuration WHERE Id = N'octoprov-quarantine';
SELECT N'quarantine_triggers', JSON_VALUE([JSON], N'$.Triggers') FROM dbo.Configuration WHERE Id = N'octoprov-quarantine';
SELECT N'quarantine_subscriptions', JSON_VALUE([JSON], N'$.Subscriptions') FROM dbo.Configuration WHERE Id = N'octoprov-quarantine';
SELECT N'quarantine_installation_id', JSON_VALUE([JSON], N'$.InstallationId') FROM dbo.Configuration WHERE Id = N'octoprov-quarantine';
SELECT N'quarantine_queued_tasks', JSON_VALUE([JSON], N'$.QueuedTasks') FROM dbo.Configuration WHERE Id = N'octoprov-quarantine';
SELECT N'quarantine_server_uri', JSON_VALUE([JSON], N'$.ServerUri') FROM dbo.Configuration WHERE Id = N'octoprov-quarantine';
SELECT N'quarantine_extensions', JSON_VALUE([JSON], N'$.Extensions') FROM dbo.Configuration WHERE Id = N'octoprov-quarantine';
SELECT N'production_installation_id', JSON_VALUE([JSON], N'$.ProductionInstallationId') FROM dbo.Configuration WHERE Id = N'octoprov-quarantine';
SELECT N'production_server_uri', JSON_VALUE([JSON], N'$.ProductionServerUri') FROM dbo.Configuration WHERE Id = N'octoprov-quarantine';
-- The Octopus version that last upgraded this database (docs' query), the Installation ID, the Server URI.
SELECT TOP 1 N'octopus_version', [Version] FROM dbo.OctopusServerInstallationHistory ORDER BY Installed DESC;
SELECT N'installation_id', JSON_VALUE([JSON], N'$.InstallationId') FROM dbo.Configuration WHERE Id = N'upgradeavailability';
SELECT N'server_uri', JSON_VALUE([JSON], N'$.ServerUri') FROM dbo.Configuration WHERE Id = N'serverconfiguration';
-- What the quarantine switches off, counted.
SELECT N'server_nodes', COUNT(*) FROM dbo.OctopusServerNode;
IF EXISTS (SELECT 1 FROM sys.tables WHERE name = N'Space') SELECT N'spaces', COUNT(*) FROM dbo.Space;
SELECT N'projects', COUNT(*) FROM dbo.Project;
IF EXISTS (SELECT 1 FROM sys.tables WHERE name = N'OctopusServerNodeStatus') SELECT N'server_node_statuses', COUNT(*) FROM dbo.OctopusServerNodeStatus;
SELECT N'machines', COUNT(*) FROM dbo.Machine;
SELECT N'machines_enabled', COUNT(*) FROM dbo.Machine WHERE IsDisabled = 0;
IF EXISTS (SELECT 1 FROM sys.tables WHERE name = N'Worker') SELECT N'workers', COUNT(*) FROM dbo.Worker;
IF EXISTS (SELECT 1 FROM sys.tables WHERE name = N'Worker') SELECT N'workers_enabled', COUNT(*) FROM dbo.Worker WHERE IsDisabled = 0;
SELECT N'triggers', COUNT(*) FROM dbo.ProjectTrigger;
SELECT N'triggers_enabled', COUNT(*) FROM dbo.ProjectTrigger WHERE IsDisabled = 0;
SELECT N'subscriptions', COUNT(*) FROM dbo.Subscription;
SELECT N'subscriptions_enabled', COUNT(*) FROM dbo.Subscription WHERE IsDisabled = 0;
SELECT N'tasks_pending', COUNT(*) FROM dbo.ServerTask WHERE State IN (N'Queued', N'Executing', N'Cancelling');
SELECT N'extensions_to_remove', COUNT(*) FROM dbo.ExtensionConfiguration WHERE Id IN (N'authentication-octopusid', N'jira-integration');
