-- octoprov: the size of the instance's database files (8 KB pages), which bounds its backup's size.
-- Read-only; one `name|value` line (run with sqlcmd -x -b -h -1 -W -s "|"), on every platform.
USE {{ database | ident }};
GO
SET NOCOUNT ON;
SELECT N'database_bytes', SUM(CAST(size AS BIGINT)) * 8192 FROM sys.database_files;
