/// The logistics service's load: shippers finding routes from Chinese
/// freight hubs across Central Asia to European and Central Asian
/// terminals, booking containers on them (each booking with its own
/// idempotency key, marked synthetic), tracking what they booked and
/// recording departures; operators browsing cities and network figures.
/// City and cargo ids are the seeded ones.
enum LogisticsScenario {
    static let json = #"""
        {
          "name": "logistics",
          "description": "Route finding from Chinese hubs to European and Central Asian terminals, bookings (synthetic, idempotent), tracking what was booked, departures, city and network reads.",
          "service": "caravan.logistics.v1.LogisticsService",
          "steps": [
            {
              "method": "FindRoute",
              "weight": 5,
              "data": {
                "from_city_id": "{{pick xian|chongqing|chengdu|yiwu|zhengzhou|wuhan|urumqi}}",
                "to_city_id": "{{pick duisburg|hamburg|warsaw|lodz|madrid|milan|almaty|tashkent|moscow}}",
                "alternatives": "{{pick 1|3}}"
              }
            },
            {
              "method": "BookShipment",
              "weight": 2,
              "idempotency_keys": true,
              "data": {
                "origin_city_id": "{{pick xian|chongqing|chengdu|yiwu|zhengzhou|wuhan}}",
                "destination_city_id": "{{pick duisburg|hamburg|warsaw|lodz|almaty|tashkent}}",
                "cargo_category_id": "{{pick auto-parts|electronics|industrial-machinery|agricultural-products|renewable-energy-equipment|wind-turbine-generators}}",
                "containers_teu": "{{rand 1 40}}",
                "synthetic": true
              },
              "capture": { "shipment": "shipment.id", "booked": "shipment.id" }
            },
            {
              "method": "TrackShipment",
              "weight": 4,
              "data": { "id": "{{use shipment}}" }
            },
            {
              "name": "RecordDeparture",
              "method": "RecordShipmentEvent",
              "weight": 1,
              "idempotency_keys": true,
              "data": {
                "shipment_id": "{{take booked}}",
                "kind": "SHIPMENT_EVENT_KIND_DEPARTED",
                "note": "synthetic: caravan load scenario logistics"
              }
            },
            {
              "method": "ListCities",
              "weight": 1,
              "data": { "country": "{{pick CN|KZ|UZ|KG|TJ|TM}}", "page_size": 50 }
            },
            {
              "method": "NetworkStats",
              "weight": 1
            },
            {
              "method": "ListShipments",
              "weight": 1,
              "data": { "status": "SHIPMENT_STATUS_BOOKED", "page_size": 20 }
            }
          ]
        }
        """#
}
