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
        Migration(
            name: "v2_audit_tokens_notices",
            statements: [
                """
                CREATE TABLE audit_log (
                    seq bigserial PRIMARY KEY,           -- one trail for every node, in commit order of the sequence
                    at bigint NOT NULL,
                    actor text NOT NULL,
                    action text NOT NULL,
                    subject text NOT NULL,
                    detail text NOT NULL
                )
                """,
                "CREATE INDEX audit_by_subject ON audit_log (subject, seq)",
                """
                CREATE TABLE access_tokens (
                    digest bytea PRIMARY KEY,            -- SHA-256 of the token; the token is never stored
                    principal text NOT NULL,
                    role text NOT NULL,
                    created_at bigint NOT NULL,
                    expires_at bigint,
                    revoked_at bigint,
                    team text,
                    customer_id text
                )
                """,
                """
                CREATE TABLE sent_notices (
                    notice_id text PRIMARY KEY,          -- deterministic: recording it once is sending it once
                    subject text NOT NULL,
                    sent_at bigint NOT NULL
                )
                """,
                "CREATE INDEX sent_notices_by_time ON sent_notices (sent_at, notice_id)",
            ]),
    ]
}
