-- octoprov: drops the instance's database when Octopus.Server cannot (its instance is gone, or
-- it names another database). The server is stopped, so nothing holds the database open.
SET NOCOUNT ON;
USE [master];
IF EXISTS (SELECT 1 FROM sys.databases WHERE name = {{ database }}) DROP DATABASE {{ database | ident }};
