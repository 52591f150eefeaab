import CRMStore

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
        Migration(
            name: "v3_derived_tables_and_read_model",
            statements: [
                """
                CREATE TABLE handles (
                    handle text PRIMARY KEY,             -- Handle.canonical
                    customer_id text NOT NULL,
                    first_seen_at bigint NOT NULL
                )
                """,
                "CREATE INDEX handles_by_customer ON handles (customer_id, handle)",
                """
                CREATE TABLE customers (
                    customer_id text PRIMARY KEY,
                    anchor text NOT NULL,
                    first_seen_at bigint NOT NULL,
                    name text,
                    company text,
                    city text
                )
                """,
                """
                CREATE TABLE customer_name_words (
                    word text COLLATE "C" NOT NULL,      -- a lower-cased word of the current name; "C": prefix ranges by code point
                    customer_id text NOT NULL,
                    PRIMARY KEY (word, customer_id)
                )
                """,
                "CREATE INDEX customer_name_words_by_customer ON customer_name_words (customer_id)",
                """
                CREATE TABLE orders (
                    order_number text PRIMARY KEY,
                    customer_handle text NOT NULL,       -- as the winning record names it
                    record_fact_id text NOT NULL,
                    placed_at bigint NOT NULL,
                    estimated_delivery_at bigint NOT NULL,
                    status text NOT NULL,                -- TrackingStage raw value, derived from tracking
                    is_final boolean NOT NULL,
                    subtotal bigint NOT NULL,
                    total bigint NOT NULL,
                    delivered_at bigint
                )
                """,
                "CREATE INDEX orders_by_customer ON orders (customer_handle, placed_at)",
                "CREATE INDEX orders_by_placement ON orders (placed_at)",
                "CREATE INDEX orders_open_by_estimate ON orders (estimated_delivery_at, order_number) WHERE NOT is_final",
                """
                CREATE TABLE complaints (
                    complaint_id text PRIMARY KEY,
                    customer_handle text NOT NULL,       -- as the winning opening names it
                    order_number text NOT NULL,
                    category text NOT NULL,
                    state text NOT NULL,                 -- ComplaintState raw value, folded from the steps
                    opened_at bigint NOT NULL,
                    first_response_at bigint,
                    resolved_at bigint,
                    decided_at bigint,
                    refund_total bigint
                )
                """,
                "CREATE INDEX complaints_by_state ON complaints (state, opened_at, complaint_id)",
                "CREATE INDEX complaints_by_customer ON complaints (customer_handle, opened_at)",
                "CREATE INDEX complaints_by_opening ON complaints (opened_at)",
                "CREATE INDEX complaints_by_decision ON complaints (decided_at) WHERE decided_at IS NOT NULL",
                """
                CREATE TABLE customer_summaries (
                    customer_id text PRIMARY KEY,
                    summary bytea NOT NULL               -- SummaryCodec
                )
                """,
                // The watch streams replay the facts they show from a time on, by position.
                "CREATE INDEX facts_watched_by_time ON facts (observed_at) WHERE kind IN (\(ReplayKinds.watchedKindList))",
            ]),
        Migration(
            name: "v4_store_copy",
            statements: [
                // A row while a copy from a SQLite store (`crmd store copy`) is unfinished: crmd does not serve it.
                """
                CREATE TABLE store_copy (
                    source text NOT NULL,                -- the SQLite file copied from
                    source_last_seq bigint NOT NULL,     -- its last fact's position then: a resumed copy must find it unchanged
                    set_aside_indexes text[] NOT NULL DEFAULT '{}',  -- definitions of the indexes dropped meanwhile
                    started_at timestamptz NOT NULL DEFAULT now()
                )
                """
            ]),
    ]
}
