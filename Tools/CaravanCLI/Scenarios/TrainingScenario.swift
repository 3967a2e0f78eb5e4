/// The training service's load: people browsing open programs and reading
/// one, registering (synthetic trainees, idempotent), enrolling in an open
/// program they were shown, withdrawing from an enrolment, and operators
/// reading statistics and trainees' histories. Programs come from the
/// listing, so the scenario follows the seeded calendar rather than ids
/// fixed here; each trainee enrols once and each enrolment is withdrawn at
/// most once, so a healthy service answers every call OK.
enum TrainingScenario {
    static let json = #"""
        {
          "name": "training",
          "description": "Listing open programs, registering synthetic trainees, enrolling them (seat or waitlist), withdrawing, statistics and histories.",
          "service": "caravan.training.v1.TrainingService",
          "steps": [
            {
              "method": "ListPrograms",
              "weight": 4,
              "data": { "open_for_enrolment": true, "page_size": 50 },
              "capture": { "program": "programs.id" }
            },
            {
              "method": "GetProgram",
              "weight": 2,
              "data": { "id": "{{use program}}" }
            },
            {
              "method": "RegisterTrainee",
              "weight": 2,
              "idempotency_keys": true,
              "data": {
                "trainee": {
                  "name": "Synthetic trainee (load test) {{n}}-{{worker}}",
                  "country": "{{pick KZ|UZ|KG|TJ|TM|CN}}",
                  "synthetic": true
                }
              },
              "capture": { "trainee": "trainee.id" }
            },
            {
              "method": "Enrol",
              "weight": 2,
              "idempotency_keys": true,
              "data": { "trainee_id": "{{take trainee}}", "program_id": "{{use program}}" },
              "capture": { "enrolment": "enrolment.id", "enrolled_trainee": "enrolment.trainee_id" }
            },
            {
              "method": "Withdraw",
              "weight": 1,
              "idempotency_keys": true,
              "data": { "enrolment_id": "{{take enrolment}}" }
            },
            {
              "method": "Statistics",
              "weight": 1,
              "data": { "group_by": "{{pick STATISTICS_GROUPING_COUNTRY|STATISTICS_GROUPING_FIELD}}" }
            },
            {
              "method": "TraineeHistory",
              "weight": 1,
              "data": { "trainee_id": "{{use enrolled_trainee}}" }
            }
          ]
        }
        """#
}
