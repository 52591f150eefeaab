/// Where the embedded SQLite store keeps its files.
public struct StoreLocation: Sendable, Hashable {
    /// The data directory; the database is `crm.sqlite` inside it.
    public var directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// The path of the SQLite database file.
    public var databasePath: String { directory.hasSuffix("/") ? directory + "crm.sqlite" : directory + "/crm.sqlite" }
}
