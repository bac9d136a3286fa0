-- octoprov: does the step's database exist on this SQL Server? Read-only.
-- Prints one `name|value` line (run with sqlcmd -x -b -h -1 -W -s "|"); see docs/templates.md.
SET NOCOUNT ON;
SELECT N'database_exists', COUNT(*) FROM sys.databases WHERE name = {{ database }};
