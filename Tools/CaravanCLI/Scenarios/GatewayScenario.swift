/// The gateway's load: dashboards asking for country profiles and the
/// partnership overview (each fans out to trade, logistics and training),
/// plus a few calls the gateway routes to one service.
enum GatewayScenario {
    static let json = #"""
        {
          "name": "gateway",
          "description": "Country profiles and partnership overviews (each gathers trade, logistics, training and hub sections), plus calls routed to one service.",
          "service": "caravan.gateway.v1.Gateway",
          "steps": [
            {
              "method": "CountryProfile",
              "weight": 6,
              "data": { "country": "{{pick KZ|UZ|KG|TJ|TM}}", "year": "{{pick 2023|2024}}" }
            },
            {
              "method": "PartnershipOverview",
              "weight": 3,
              "data": { "year": 2024 }
            },
            {
              "name": "routed-trade-summary",
              "method": "caravan.trade.v1.TradeService/GetSummary",
              "weight": 1,
              "data": { "year": 2024, "country": "{{pick KZ|UZ|KG|TJ|TM}}" }
            },
            {
              "name": "routed-find-route",
              "method": "caravan.logistics.v1.LogisticsService/FindRoute",
              "weight": 1,
              "data": { "from_city_id": "{{pick xian|chongqing|yiwu}}", "to_city_id": "{{pick duisburg|almaty|tashkent}}" }
            },
            {
              "name": "routed-list-programs",
              "method": "caravan.training.v1.TrainingService/ListPrograms",
              "weight": 1,
              "data": { "open_for_enrolment": true }
            }
          ]
        }
        """#
}
