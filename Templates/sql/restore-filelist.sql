-- octoprov: the files inside the uploaded backup (RESTORE FILELISTONLY), read before restoring it.
-- Prints LogicalName|PhysicalName|Type|… rows (run with sqlcmd -x -b -h -1 -W -s "|").
-- The path is a variable because RESTORE takes a literal or a variable there, not an expression.
SET NOCOUNT ON;
DECLARE @backup_file NVARCHAR(4000) = {{ backup_file }};
RESTORE FILELISTONLY FROM DISK = @backup_file;
