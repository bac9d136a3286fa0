-- octoprov: quarantines a restored production database BEFORE any Octopus Server starts on it.
--
-- The docs' "disable everything" SQL (octopus-facts.md §3.3), plus a new Installation ID (§3.4, not
-- a dry run), queued and in-flight tasks cancelled, the Server URI pointed at the clone, and a
-- record of this quarantine that connect-database and start require. Each part is switched by its
-- quarantine_* option ('true' or 'false'). Everything runs in ONE transaction with XACT_ABORT ON:
-- any error (a missing table, bad JSON) rolls all of it back and sqlcmd -b exits 1.
USE {{ database | ident }};
GO
SET NOCOUNT ON;
SET XACT_ABORT ON;
DECLARE @server_nodes NVARCHAR(5) = {{ quarantine_server_nodes }};
DECLARE @targets NVARCHAR(5) = {{ quarantine_targets }};
DECLARE @workers NVARCHAR(5) = {{ quarantine_workers }};
DECLARE @triggers NVARCHAR(5) = {{ quarantine_triggers }};
DECLARE @subscriptions NVARCHAR(5) = {{ quarantine_subscriptions }};
DECLARE @installation_id NVARCHAR(5) = {{ quarantine_installation_id }};
DECLARE @queued_tasks NVARCHAR(5) = {{ quarantine_queued_tasks }};
DECLARE @server_uri_flag NVARCHAR(5) = {{ quarantine_server_uri }};
DECLARE @extensions NVARCHAR(5) = {{ quarantine_extensions }};
DECLARE @server_uri NVARCHAR(4000) = {{ server_uri }};
DECLARE @backup_sha256 NVARCHAR(64) = {{ backup_sha256 }};
DECLARE @new_installation_id NVARCHAR(36) = LOWER(CONVERT(NVARCHAR(36), NEWID()));
DECLARE @config NVARCHAR(MAX);
DECLARE @record NVARCHAR(MAX) = N'{}';
DECLARE @production_installation_id NVARCHAR(36);
DECLARE @production_server_uri NVARCHAR(4000);
BEGIN TRANSACTION;
-- Production's nodes: a restored database still lists them (licence node limit, Issue #2013).
DELETE FROM dbo.OctopusServerNode WHERE @server_nodes = N'true';
IF EXISTS (SELECT 1 FROM sys.tables WHERE name = N'OctopusServerNodeStatus') DELETE FROM dbo.OctopusServerNodeStatus WHERE @server_nodes = N'true';
-- Targets, workers, triggers and subscriptions, as the docs' SQL does (Worker only exists after 3.x).
UPDATE dbo.Machine SET IsDisabled = 1 WHERE @targets = N'true';
IF EXISTS (SELECT 1 FROM sys.tables WHERE name = N'Worker') UPDATE dbo.Worker SET IsDisabled = 1 WHERE @workers = N'true';
UPDATE dbo.ProjectTrigger SET IsDisabled = 1 WHERE @triggers = N'true';
UPDATE dbo.Subscription SET IsDisabled = 1 WHERE @subscriptions = N'true';
-- Tasks copied from production: queued ones would run on start; ones executing or cancelling at
-- backup time belong to production's nodes and must never be resumed or retried here.
UPDATE dbo.ServerTask SET State = N'Canceled' WHERE State IN (N'Queued', N'Executing', N'Cancelling') AND @queued_tasks = N'true';
-- Extensions the docs remove (Octopus ID sign-in, Jira).
DELETE FROM dbo.ExtensionConfiguration WHERE Id IN (N'authentication-octopusid', N'jira-integration') AND @extensions = N'true';
-- A new Installation ID, the docs' statement with the dry run off.
SELECT @config = [JSON] FROM dbo.Configuration WHERE Id = N'upgradeavailability';
SET @production_installation_id = JSON_VALUE(@config, N'$.InstallationId');
SET @config = JSON_MODIFY(@config, N'$.InstallationId', @new_installation_id);
UPDATE dbo.Configuration SET [JSON] = @config WHERE Id = N'upgradeavailability' AND @installation_id = N'true';
SELECT @production_server_uri = JSON_VALUE([JSON], N'$.ServerUri') FROM dbo.Configuration WHERE Id = N'serverconfiguration';
-- A quarantine run again (other options) keeps what the first one found: by then the IDs are the clone's.
IF EXISTS (SELECT 1 FROM dbo.Configuration WHERE Id = N'octoprov-quarantine') SELECT @production_installation_id = JSON_VALUE([JSON], N'$.ProductionInstallationId') FROM dbo.Configuration WHERE Id = N'octoprov-quarantine';
IF EXISTS (SELECT 1 FROM dbo.Configuration WHERE Id = N'octoprov-quarantine') SELECT @production_server_uri = JSON_VALUE([JSON], N'$.ProductionServerUri') FROM dbo.Configuration WHERE Id = N'octoprov-quarantine';
-- The Server URI deployments see as Octopus.Web.ServerUri: the clone's own, never production's.
UPDATE dbo.Configuration SET [JSON] = JSON_MODIFY([JSON], N'$.ServerUri', @server_uri) WHERE Id = N'serverconfiguration' AND @server_uri_flag = N'true';
-- The record: which backup this quarantine was applied to, and with which options.
SET @record = JSON_MODIFY(@record, N'$.BackupSha256', @backup_sha256);
SET @record = JSON_MODIFY(@record, N'$.QuarantinedUtc', CONVERT(NVARCHAR(40), SYSUTCDATETIME()));
SET @record = JSON_MODIFY(@record, N'$.ServerNodes', @server_nodes);
SET @record = JSON_MODIFY(@record, N'$.Targets', @targets);
SET @record = JSON_MODIFY(@record, N'$.Workers', @workers);
SET @record = JSON_MODIFY(@record, N'$.Triggers', @triggers);
SET @record = JSON_MODIFY(@record, N'$.Subscriptions', @subscriptions);
SET @record = JSON_MODIFY(@record, N'$.InstallationId', @installation_id);
SET @record = JSON_MODIFY(@record, N'$.QueuedTasks', @queued_tasks);
SET @record = JSON_MODIFY(@record, N'$.ServerUri', @server_uri_flag);
SET @record = JSON_MODIFY(@record, N'$.Extensions', @extensions);
-- What production had, for verify to compare with (the clone must differ).
SET @record = JSON_MODIFY(@record, N'$.ProductionInstallationId', @production_installation_id);
SET @record = JSON_MODIFY(@record, N'$.ProductionServerUri', @production_server_uri);
DELETE FROM dbo.Configuration WHERE Id = N'octoprov-quarantine';
INSERT INTO dbo.Configuration (Id, [JSON]) VALUES (N'octoprov-quarantine', @record);
COMMIT TRANSACTION;
