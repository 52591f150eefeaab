/// The PostgreSQL schema's numbered migrations, applied in order and recorded in `schema_migrations`; a database
/// holds every migration up to its version. Never change one that has shipped: add the next.
enum PostgresMigrations {
    struct Migration {
        let name: String
        let statements: [String]
    }

    /// The advisory lock nodes take while migrating, so that two starting at once migrate one after the other.
    static let lockKey: Int64 = 0x63_72_6d_5f_6d_69_67  // "crm_mig"

    static let all: [Migration] = [
        Migration(
            name: "v1_fact_log",
            statements: [
                """
                CREATE TABLE facts (
                    seq bigserial PRIMARY KEY,           -- arrival order on this database; not part of the truth
                    fact_id text NOT NULL UNIQUE,        -- the idempotency key: adapter id + external id
                    kind smallint NOT NULL,              -- FactKind
                    observed_at bigint NOT NULL,         -- Unix ms
                    source smallint NOT NULL,            -- FactSource storage code
                    payload bytea NOT NULL               -- FactCodec
                )
                """,
                """
                CREATE TABLE fact_keys (
                    key text NOT NULL,                   -- h/<handle>, o/<order>, k/<complaint>, ratings
                    kind smallint NOT NULL,
                    observed_at bigint NOT NULL,
                    fact_id text NOT NULL,
                    fact_seq bigint NOT NULL REFERENCES facts (seq),
                    PRIMARY KEY (key, kind, observed_at, fact_id)
                )
                """,
                "CREATE INDEX fact_keys_by_fact ON fact_keys (fact_seq)",
            ]),
    ]
}
