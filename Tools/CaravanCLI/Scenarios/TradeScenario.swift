/// The trade service's load: analysts reading summaries, top categories and
/// flow listings; partner systems recording flows (each with its own
/// idempotency key) and reading them back; the Horgos hub recording
/// live-streaming sessions and reading its statistics. Recorded data is
/// marked synthetic, as the service requires of generated figures.
enum TradeScenario {
    static let json = #"""
        {
          "name": "trade",
          "description": "Summaries beside the published USD 94.8 billion, listings, recorded flows (synthetic, idempotent) read back, Horgos hub sessions and statistics.",
          "service": "caravan.trade.v1.TradeService",
          "steps": [
            {
              "name": "summary-all-partners",
              "method": "GetSummary",
              "weight": 3,
              "data": { "year": "{{pick 2023|2024}}" }
            },
            {
              "name": "summary-one-partner",
              "method": "GetSummary",
              "weight": 4,
              "data": { "year": "{{pick 2023|2024}}", "country": "{{pick KZ|UZ|KG|TJ|TM}}" }
            },
            {
              "method": "TopCategories",
              "weight": 2,
              "data": { "year": 2024, "country": "{{pick KZ|UZ}}", "limit": 5 }
            },
            {
              "method": "ListFlows",
              "weight": 3,
              "data": {
                "filter": { "year_from": 2023, "year_to": 2024, "country": "{{pick KZ|UZ|KG|TJ|TM}}" },
                "page_size": 50
              }
            },
            {
              "method": "StreamFlows",
              "weight": 1,
              "data": {
                "filter": {
                  "year_from": 2024, "year_to": 2024, "country": "{{pick KZ|UZ|KG|TJ|TM}}",
                  "category": "{{pick auto parts|electronics|industrial machinery|agricultural products|renewable-energy equipment}}"
                }
              }
            },
            {
              "method": "RecordFlow",
              "weight": 2,
              "idempotency_keys": true,
              "data": {
                "flow": {
                  "year": "{{pick 2023|2024}}",
                  "month": "{{rand 1 12}}",
                  "country": "{{pick KZ|UZ|KG|TJ|TM}}",
                  "direction": "{{pick DIRECTION_EXPORT|DIRECTION_IMPORT}}",
                  "category": "{{pick auto parts|electronics|industrial machinery|agricultural products|renewable-energy equipment|digital trade|wind turbine generators}}",
                  "value_usd": "{{rand 10000 5000000}}",
                  "source": "synthetic: caravan load scenario trade",
                  "synthetic": true
                }
              },
              "capture": { "flow": "flow.id" }
            },
            {
              "method": "GetFlow",
              "weight": 2,
              "data": { "id": "{{use flow}}" }
            },
            {
              "method": "RecordStreamSession",
              "weight": 1,
              "idempotency_keys": true,
              "data": {
                "session": {
                  "hub": "horgos",
                  "creator": "Synthetic creator {{rand 1 200}}",
                  "creator_country": "{{pick KZ|UZ|KG|TJ|TM}}",
                  "start_unix_seconds": "{{now}}",
                  "duration_minutes": "{{rand 30 180}}",
                  "new_followers": "{{rand 0 5000}}",
                  "sales_cny": "{{rand 1000 200000}}",
                  "synthetic": true
                }
              }
            },
            {
              "method": "HubStats",
              "weight": 2,
              "data": { "hub": "horgos", "top_creators_limit": 10 }
            }
          ]
        }
        """#
}
