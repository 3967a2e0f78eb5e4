/// The publication the seed's reported facts come from, as answers name it
/// to users: a source shown to people names the publication, never a file
/// of this project.
public enum PublishedSource {
    /// The news brief on China–Central Asia cooperation whose figures, as
    /// published for the end of 2024, every service seeds.
    public static let chinaCentralAsiaBrief = "News brief on China–Central Asia cooperation, end of 2024"
}
