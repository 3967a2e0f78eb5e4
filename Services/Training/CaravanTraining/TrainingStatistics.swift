import CaravanTrainingAPI

/// The rules of the training statistics: what a completion rate is, and
/// how groups add up to the total.
enum TrainingStatistics {
    /// The rows of a statistics answer with their completion rates, and their total.
    static func response(_ rows: [TrainingStatisticsRow]) -> StatisticsResponse {
        var total = TrainingStatisticsRow()
        for row in rows {
            total.programs += row.programs
            total.seats += row.seats
            total.enrolled += row.enrolled
            total.waitlisted += row.waitlisted
            total.completed += row.completed
            total.syntheticPrograms += row.syntheticPrograms
        }
        return StatisticsResponse(rows: rows.map(Self.withCompletionRate), total: Self.withCompletionRate(total))
    }

    /// completed / (enrolled + completed): the share of the places that
    /// held a seat which ended in a certificate; 0 when there were none.
    static func withCompletionRate(_ row: TrainingStatisticsRow) -> TrainingStatisticsRow {
        var row = row
        let base = row.enrolled + row.completed
        row.completionRate = base == 0 ? 0 : Double(row.completed) / Double(base)
        return row
    }
}
