import Foundation
import Wire

extension BehaviourScheduler {
    /// The most events sent to one subscription per tick.
    static let webhookBatchSize = 100

    /// For each enabled subscription with an `EventNotificationSubscription.WebhookURI`: POSTs every event
    /// recorded after `WebhookLastProcessedEventAutoId` (the `Event` table's `rowid` plays Octopus's
    /// `AutoId`) that its `Filter` lets through, one request per event, as Octopus does; then moves the
    /// watermark past the events it looked at. A failed delivery counts as processed (as in Octopus) and
    /// ends that subscription's batch until the next tick. A subscription without a watermark starts at
    /// the newest event: it only hears about what happens from now on.
    func deliverWebhooks() throws {
        guard store.hasTable("Event"),
            let subscriptions = try rows(
                "Subscription",
                "SELECT Id, Name, SpaceId, IsDisabled, JSON FROM Subscription WHERE IsDisabled = 0 ORDER BY length(Id), Id"
            )
        else { return }
        let serverUri = try store.configuration("serverconfiguration")?["ServerUri"]?.stringValue ?? ""
        for subscription in subscriptions where !isStopping {
            try deliver(subscription, serverUri: serverUri)
        }
    }

    private func deliver(_ row: [SQLValue], serverUri: String) throws {
        let id = row[0].text ?? ""
        let name = row[1].text ?? id
        let spaceId = row[2].text
        let document = Self.document(row[4])
        guard let notification = document["EventNotificationSubscription"]?.objectValue,
            let uri = notification["WebhookURI"]?.stringValue, !uri.isEmpty
        else { return }
        guard let watermark = notification["WebhookLastProcessedEventAutoId"]?.integerValue else {
            let newest = try store.with { database in
                try database.query("SELECT COALESCE(MAX(rowid), 0) FROM Event").rows.first?.first?.integer ?? 0
            }
            try saveWatermark(id, newest)
            return
        }
        var conditions = ["rowid > ?"]
        var parameters: [SQLValue] = [.integer(watermark)]
        if api.version.hasSpaces, let spaceId {
            conditions.append("(SpaceId = ? OR SpaceId IS NULL)")
            parameters.append(.text(spaceId))
        }
        parameters.append(.integer(Int64(Self.webhookBatchSize)))
        let events = try store.with { database in
            try database.query(
                "SELECT rowid, Id, Category, JSON FROM Event WHERE \(conditions.joined(separator: " AND ")) "
                    + "ORDER BY rowid LIMIT ?",
                parameters
            ).rows
        }
        guard let last = events.last?[0].integer else { return }
        let filter = notification["Filter"]?.objectValue ?? JSONValue.Object()
        let matching = events.filter { Self.matches(filter, category: $0[2].text ?? "", event: Self.document($0[3])) }
        let subscriptionResource = api.builder.resource(
            .subscriptions,
            APIRow(
                id: id,
                document: document,
                columns: ["Name": row[1], "SpaceId": row[2], "IsDisabled": row[3]]
            )
        )
        let batchId = UUID().uuidString.lowercased()
        let now = OctopusTime.timestamp()
        var timeout = timing.webhookTimeout
        if let configured = notification["WebhookTimeout"]?.stringValue.flatMap(Self.seconds), configured > 0 {
            timeout = min(timeout, configured)
        }
        var headers: [(name: String, value: String)] = [
            ("Content-Type", "application/json; charset=utf-8"),
            ("User-Agent", "OctopusDeploy/\(runtime.version) (stand-in)"),
        ]
        if let key = notification["WebhookHeaderKey"]?.stringValue, !key.isEmpty {
            headers.append((key, notification["WebhookHeaderValue"]?.stringValue ?? ""))
        }
        // Octopus counts a failed delivery as processed; the stand-in also stops this subscription's batch
        // there, so an unreachable webhook costs one timeout per tick, not one per event.
        var processed = last
        for (index, event) in matching.enumerated() {
            if isStopping {
                processed = (event[0].integer ?? watermark + 1) - 1
                break
            }
            var eventDocument = Self.document(event[3])
            eventDocument["Id"] = event[1].text.map { .string($0) } ?? .null
            let category = event[2].text ?? ""
            let payload = JSONValue.object([
                ("Timestamp", .string(now)),
                ("EventType", .string("SubscriptionPayload")),
                (
                    "Payload",
                    .object([
                        ("ServerUri", .string(serverUri)),
                        (
                            "ServerAuditUri",
                            .string(
                                "\(serverUri)/app#/\(spaceId ?? "")/configuration/audit?eventCategories=\(category)"
                            )
                        ),
                        ("BatchProcessingDate", .string(now)),
                        ("Subscription", subscriptionResource),
                        ("Event", .object(eventDocument)),
                        ("BatchId", .string(batchId)),
                        ("TotalEventsInBatch", .integer(Int64(matching.count))),
                        ("EventNumberInBatch", .integer(Int64(index + 1))),
                    ])
                ),
            ])
            let eventId = event[1].text ?? ""
            switch StandInContact.postWebhook(
                uri,
                headers: headers,
                body: Array(payload.serialized().utf8),
                timeout: timeout,
                from: sourceAddress
            ) {
            case .success(let status):
                log.info("Subscription \(name) (\(id)) posted \(eventId) (\(category)) to \(uri): HTTP \(status).")
            case .failure(let failure):
                log.warn("Subscription \(name) (\(id)) could not post \(eventId) (\(category)) to \(uri): \(failure).")
                processed = event[0].integer ?? last
            }
            if processed != last { break }
        }
        try saveWatermark(id, processed)
    }

    /// Whether a subscription's filter lets an event through: `EventCategories`, `Projects`,
    /// `Environments` and `Users` (each empty: anything); other filters are not simulated.
    static func matches(_ filter: JSONValue.Object, category: String, event: JSONValue.Object) -> Bool {
        let categories = ids(filter["EventCategories"])
        if !categories.isEmpty, !categories.contains(where: { $0.lowercased() == category.lowercased() }) {
            return false
        }
        let related = Set(ids(event["RelatedDocumentIds"]).map { $0.lowercased() })
        for key in ["Projects", "Environments"] {
            let wanted = ids(filter[key]).map { $0.lowercased() }
            if !wanted.isEmpty, !wanted.contains(where: related.contains) { return false }
        }
        let users = ids(filter["Users"]).map { $0.lowercased() }
        if !users.isEmpty, !users.contains((event["UserId"]?.stringValue ?? "").lowercased()) { return false }
        return true
    }

    /// Seconds of a .NET TimeSpan text, `hh:mm:ss` or `d.hh:mm:ss`.
    static func seconds(_ text: String) -> Double? {
        var days = 0.0
        var clock = Substring(text)
        if let dot = clock.firstIndex(of: "."), let colon = clock.firstIndex(of: ":"), dot < colon {
            days = Double(clock[..<dot]) ?? 0
            clock = clock[clock.index(after: dot)...]
        }
        let parts = clock.split(separator: ":").compactMap { Double($0) }
        guard parts.count == 3 else { return nil }
        return days * 86_400 + parts[0] * 3600 + parts[1] * 60 + parts[2]
    }

    private func saveWatermark(_ id: String, _ autoId: Int64) throws {
        try store.with { database in
            try database.withTransaction {
                guard
                    let text = try database.query("SELECT JSON FROM Subscription WHERE Id = ?", [.text(id)])
                        .rows.first?.first
                else { return }
                var document = Self.document(text)
                var notification = document["EventNotificationSubscription"]?.objectValue ?? JSONValue.Object()
                notification["WebhookLastProcessedEventAutoId"] = .integer(autoId)
                notification["WebhookLastProcessed"] = .string(OctopusTime.timestamp())
                document["EventNotificationSubscription"] = .object(notification)
                try database.run(
                    "UPDATE Subscription SET JSON = ? WHERE Id = ?",
                    [.text(JSONValue.object(document).serialized()), .text(id)]
                )
            }
        }
    }
}
