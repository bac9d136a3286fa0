/// The result sets of `RESTORE HEADERONLY` and `RESTORE FILELISTONLY`, with SQL Server's column names
/// (the subset the stand-in can fill, in SQL Server's order), plus two stand-in columns at the end of
/// HEADERONLY that SQL Server does not have: `OctopusVersion` (the newest `OctopusServerInstallationHistory`
/// version in the backup) and `OctopusSchemaVersion` (its schema version), so a preflight can read a
/// backup's Octopus version without restoring it.
enum BackupResultSets {
    /// SQL Server 2019's internal database version, which HEADERONLY reports as `DatabaseVersion`.
    static let databaseVersion: Int64 = 904

    static func headerOnly(_ sets: [BackupSet]) -> SQLiteRows {
        let columns = [
            "BackupName", "BackupDescription", "BackupType", "ExpirationDate", "Compressed", "Position",
            "DeviceType", "UserName", "ServerName", "DatabaseName", "DatabaseVersion", "DatabaseCreationDate",
            "BackupSize", "BackupStartDate", "BackupFinishDate", "CompatibilityLevel", "SoftwareVersionMajor",
            "MachineName", "Collation", "OctopusVersion", "OctopusSchemaVersion",
        ]
        let rows: [[SQLValue]] = sets.map { set in
            let header = set.header
            return [
                .text(header.backupName),
                header.backupDescription.isEmpty ? .null : .text(header.backupDescription),
                .integer(1),
                .null,
                .integer(0),
                .integer(Int64(set.position)),
                .integer(2),
                .text("sa"),
                .text(header.serverName),
                .text(header.databaseName),
                .integer(databaseVersion),
                .text(header.installationHistory.last?.installed ?? header.backupStartDate),
                .integer(header.payloadSize),
                .text(header.backupStartDate),
                .text(header.backupFinishDate),
                .integer(140),
                .integer(15),
                .text(header.machineName),
                .text("SQL_Latin1_General_CP1_CI_AS"),
                header.octopusVersion.map { .text($0) } ?? .null,
                header.schemaVersion.map { .text($0) } ?? .null,
            ]
        }
        return SQLiteRows(columns: columns, rows: rows)
    }

    static func fileListOnly(_ set: BackupSet) -> SQLiteRows {
        let columns = [
            "LogicalName", "PhysicalName", "Type", "FileGroupName", "Size", "MaxSize", "FileId",
            "BackupSizeInBytes", "SourceBlockSize", "FileGroupId", "IsReadOnly", "IsPresent",
        ]
        let files = set.header.files
        let logSize: Int64 = 8_388_608
        let rows: [[SQLValue]] = [
            [
                .text(files.data.logicalName), .text(files.data.physicalName), .text("D"), .text("PRIMARY"),
                .integer(set.header.payloadSize), .integer(35_184_372_080_640), .integer(1),
                .integer(set.header.payloadSize), .integer(512), .integer(1), .integer(0), .integer(1),
            ],
            [
                .text(files.log.logicalName), .text(files.log.physicalName), .text("L"), .null,
                .integer(logSize), .integer(2_199_023_255_552), .integer(2), .integer(0), .integer(512),
                .integer(0), .integer(0), .integer(1),
            ],
        ]
        return SQLiteRows(columns: columns, rows: rows)
    }
}
