-- octoprov: restores the uploaded backup as a NEW database and records which backup it came from.
--
-- The platform script runs this file with four declarations put in front of it, in the same batch,
-- because their values are only known on the host at run time:
--   DECLARE @data_logical NVARCHAR(128), @log_logical NVARCHAR(128)  -- from RESTORE FILELISTONLY
--   DECLARE @data_file NVARCHAR(4000), @log_file NVARCHAR(4000)      -- new files under data_dir
-- The script writes them as N'…' literals with quotes doubled and refuses line breaks in them.
SET NOCOUNT ON;
DECLARE @backup_file NVARCHAR(4000) = {{ backup_file }};
RESTORE DATABASE {{ database | ident }} FROM DISK = @backup_file
    WITH MOVE @data_logical TO @data_file, MOVE @log_logical TO @log_file, RECOVERY, STATS = 10;
GO
USE {{ database | ident }};
GO
-- The record the restore, quarantine, connect-database and start steps check. A quarantine record
-- that came with the backup (a backup of an earlier clone) is removed: it would vouch for a
-- quarantine this restore never had.
SET NOCOUNT ON;
SET XACT_ABORT ON;
DECLARE @record NVARCHAR(MAX) = N'{}';
SET @record = JSON_MODIFY(@record, N'$.BackupSha256', {{ backup_sha256 }});
SET @record = JSON_MODIFY(@record, N'$.BackupFile', {{ backup_file }});
SET @record = JSON_MODIFY(@record, N'$.RestoredUtc', CONVERT(NVARCHAR(40), SYSUTCDATETIME()));
BEGIN TRANSACTION;
DELETE FROM dbo.Configuration WHERE Id IN (N'octoprov-restore', N'octoprov-quarantine');
INSERT INTO dbo.Configuration (Id, [JSON]) VALUES (N'octoprov-restore', @record);
COMMIT TRANSACTION;
