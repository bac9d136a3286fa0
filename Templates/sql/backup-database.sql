-- octoprov: backs up the instance's database before the upgrade into a new media file (FORMAT),
-- COPY_ONLY so that the database's own backup chain is left alone. The backup set is named after
-- the version it holds and described with the database's Installation ID, which RESTORE HEADERONLY
-- shows (sql/backup-header.sql): that is how the step knows the file holds this database at
-- from_version. The path is a variable because BACKUP takes a literal or a variable there.
USE {{ database | ident }};
GO
SET NOCOUNT ON;
DECLARE @backup_file NVARCHAR(4000) = {{ upgrade_backup_file }};
DECLARE @backup_name NVARCHAR(128) = N'octoprov-upgrade-' + {{ from_version }};
DECLARE @description NVARCHAR(255) = N'';
SELECT @description = JSON_VALUE([JSON], N'$.InstallationId') FROM dbo.Configuration WHERE Id = N'upgradeavailability';
BACKUP DATABASE {{ database | ident }} TO DISK = @backup_file
    WITH COPY_ONLY, FORMAT, INIT, NAME = @backup_name, DESCRIPTION = @description, STATS = 10;
