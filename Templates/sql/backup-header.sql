-- octoprov: the backup sets in the upgrade backup file (RESTORE HEADERONLY): BackupName|
-- BackupDescription|BackupType|…|DatabaseName|… rows (run with sqlcmd -x -b -h -1 -W -s "|").
SET NOCOUNT ON;
DECLARE @backup_file NVARCHAR(4000) = {{ upgrade_backup_file }};
RESTORE HEADERONLY FROM DISK = @backup_file;
