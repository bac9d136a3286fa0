-- octoprov: the spaces of the restored database and the space of each row the counts count, read only by
-- the quarantine step, which names the rows whose space does not exist (the API does not show them, so
-- verify's counts cannot). Read-only. `space_id|Id` and `row_space|Table|Id|SpaceId` lines (run with
-- sqlcmd -x -b -h -1 -W -s "|"); none before spaces (2019.1), when there is no Space table.
USE {{ database | ident }};
GO
SET NOCOUNT ON;
IF EXISTS (SELECT 1 FROM sys.tables WHERE name = N'Space') SELECT N'space_id', Id FROM dbo.Space ORDER BY Id;
IF EXISTS (SELECT 1 FROM sys.tables WHERE name = N'Space') SELECT N'row_space', N'Project', Id, SpaceId FROM dbo.Project ORDER BY Id;
IF EXISTS (SELECT 1 FROM sys.tables WHERE name = N'Space') SELECT N'row_space', N'Machine', Id, SpaceId FROM dbo.Machine ORDER BY Id;
IF EXISTS (SELECT 1 FROM sys.tables WHERE name = N'Space') SELECT N'row_space', N'Worker', Id, SpaceId FROM dbo.Worker ORDER BY Id;
IF EXISTS (SELECT 1 FROM sys.tables WHERE name = N'Space') SELECT N'row_space', N'ProjectTrigger', Id, SpaceId FROM dbo.ProjectTrigger ORDER BY Id;
IF EXISTS (SELECT 1 FROM sys.tables WHERE name = N'Space') SELECT N'row_space', N'Subscription', Id, SpaceId FROM dbo.Subscription ORDER BY Id;
