import CaravanGatewayAPI
import CaravanTradeAPI

extension GatewayEnergyProject {
    /// The gateway's copy of a trade service project: its kind and status
    /// as words, so the gateway's API does not carry the trade enums.
    init(summarising project: EnergyProject) {
        self.init(
            id: project.id, name: project.name, country: project.country, kind: Self.words(project.kind),
            status: Self.words(project.status), capacityMw: project.capacityMw,
            chinesePartner: project.chinesePartner, description: project.description, source: project.source,
            synthetic: project.synthetic)
    }

    static func words(_ kind: EnergyProjectKind) -> String {
        switch kind {
        case .wind: "wind"
        case .hydro: "hydro"
        case .solar: "solar"
        case .nuclear: "nuclear"
        case .equipmentTrade: "equipment trade"
        default: "unspecified"
        }
    }

    static func words(_ status: EnergyProjectStatus) -> String {
        switch status {
        case .notPublished: "not published"
        case .underConsideration: "under consideration"
        case .ongoing: "ongoing"
        default: "unspecified"
        }
    }
}
