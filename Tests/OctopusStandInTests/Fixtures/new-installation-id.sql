DECLARE @config NVARCHAR(1000)
DECLARE @oldguid  NVARCHAR(255)
DECLARE @newguid  NVARCHAR(255)
DECLARE @dryRun BIT = 1 -- set this to 0 to update the Installation Id
SET @newguid = LOWER(CONVERT(NVARCHAR(255), NEWID()))
SELECT @config =[JSON] FROM dbo.Configuration WHERE Id = 'upgradeavailability'
SET @oldguid = JSON_VALUE(@config, '$.InstallationId')
SET @config = JSON_MODIFY(@config, '$.InstallationId', @newguid)
-- (PRINT statements omitted)
UPDATE dbo.Configuration SET [JSON] = @config WHERE Id = 'upgradeavailability' AND @dryRun = 0
