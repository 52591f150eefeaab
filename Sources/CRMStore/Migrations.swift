import GRDB

/// The schema, as numbered migrations. A migration, once released, is never edited: changes come as new ones.
///
/// Truth and derived state:
/// - `facts` holds every fact once (unique by `fact_id`, the idempotency key); `fact_keys` files each fact under
///   keys that are properties of the fact itself (the handles it names, its order number, its complaint id). These
///   two tables are the truth.
/// - `handles`, `customers`, `customer_name_words`, `orders` and `complaints` are derived: recomputed, inside the
///   transaction that appended the facts, for exactly what those facts touched, through the domain's rules.
/// - `customer_summaries` is the read model: each customer's ``CustomerSummary``, kept current in the same
///   transaction (see ``ReadModelMaintenance``).
enum Migrations {
    /// The migrations; `progress` hears of long ones (the read model's backfill of an existing store).
    static func migrator(progress: MigrationProgress? = nil) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1_facts_and_derived_state") { db in
            try db.execute(sql: """
                CREATE TABLE facts (
                    seq INTEGER PRIMARY KEY,          -- arrival order in this file; not part of the truth
                    fact_id TEXT NOT NULL UNIQUE,     -- the idempotency key: adapter id + external id
                    kind INTEGER NOT NULL,            -- FactKind
                    observed_at INTEGER NOT NULL,     -- Unix ms
                    source INTEGER NOT NULL,          -- FactSource storage code
                    payload BLOB NOT NULL             -- FactCodec
                );

                CREATE TABLE fact_keys (
                    key TEXT NOT NULL,                -- h/<handle>, o/<order>, k/<complaint>, ratings
                    kind INTEGER NOT NULL,
                    observed_at INTEGER NOT NULL,
                    fact_id TEXT NOT NULL,
                    fact_seq INTEGER NOT NULL REFERENCES facts(seq),
                    PRIMARY KEY (key, kind, observed_at, fact_id)
                ) WITHOUT ROWID;

                CREATE TABLE handles (
                    handle TEXT PRIMARY KEY,          -- Handle.canonical
                    customer_id TEXT NOT NULL,
                    first_seen_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX handles_by_customer ON handles(customer_id);

                CREATE TABLE customers (
                    customer_id TEXT PRIMARY KEY,
                    anchor TEXT NOT NULL,
                    first_seen_at INTEGER NOT NULL,
                    name TEXT,
                    company TEXT,
                    city TEXT
                ) WITHOUT ROWID;

                CREATE TABLE customer_name_words (
                    word TEXT NOT NULL,               -- a lower-cased word of the current name
                    customer_id TEXT NOT NULL,
                    PRIMARY KEY (word, customer_id)
                ) WITHOUT ROWID;
                CREATE INDEX customer_name_words_by_customer ON customer_name_words(customer_id);

                CREATE TABLE orders (
                    order_number TEXT PRIMARY KEY,
                    customer_handle TEXT NOT NULL,    -- as the winning record names it
                    record_fact_id TEXT NOT NULL,
                    placed_at INTEGER NOT NULL,
                    estimated_delivery_at INTEGER NOT NULL,
                    status TEXT NOT NULL,             -- TrackingStage raw value, derived from tracking
                    is_final INTEGER NOT NULL,
                    subtotal INTEGER NOT NULL,
                    total INTEGER NOT NULL,
                    delivered_at INTEGER
                ) WITHOUT ROWID;
                CREATE INDEX orders_by_customer ON orders(customer_handle, placed_at);
                CREATE INDEX orders_by_placement ON orders(placed_at);
                CREATE INDEX orders_open_by_estimate ON orders(estimated_delivery_at) WHERE is_final = 0;

                CREATE TABLE complaints (
                    complaint_id TEXT PRIMARY KEY,
                    customer_handle TEXT NOT NULL,    -- as the winning opening names it
                    order_number TEXT NOT NULL,
                    category TEXT NOT NULL,
                    state TEXT NOT NULL,              -- ComplaintState raw value, folded from the steps
                    opened_at INTEGER NOT NULL,
                    first_response_at INTEGER,
                    resolved_at INTEGER,
                    decided_at INTEGER,
                    refund_total INTEGER
                ) WITHOUT ROWID;
                CREATE INDEX complaints_by_state ON complaints(state, opened_at);
                CREATE INDEX complaints_by_customer ON complaints(customer_handle, opened_at);
                CREATE INDEX complaints_by_opening ON complaints(opened_at);
                CREATE INDEX complaints_by_decision ON complaints(decided_at) WHERE decided_at IS NOT NULL;

                CREATE TABLE audit_log (
                    seq INTEGER PRIMARY KEY,
                    at INTEGER NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    detail TEXT NOT NULL
                );
                CREATE INDEX audit_by_subject ON audit_log(subject, seq);

                CREATE TABLE access_tokens (
                    digest BLOB PRIMARY KEY,
                    principal TEXT NOT NULL,
                    role TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER,
                    revoked_at INTEGER
                ) WITHOUT ROWID;
                """)
        }
        // Tokens bound to an agent's team or to one customer.
        migrator.registerMigration("v2_access_token_bindings") { db in
            try db.execute(sql: """
                ALTER TABLE access_tokens ADD COLUMN team TEXT;
                ALTER TABLE access_tokens ADD COLUMN customer_id TEXT;
                """)
        }
        // Proactive notices other than delay notices (which are facts), by id, so each is sent once.
        migrator.registerMigration("v3_sent_notices") { db in
            try db.execute(sql: """
                CREATE TABLE sent_notices (
                    notice_id TEXT PRIMARY KEY NOT NULL,
                    subject TEXT NOT NULL,
                    sent_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        // The read model, filled for every customer of an existing store from its facts.
        migrator.registerMigration("v4_customer_summaries") { db in
            try db.execute(sql: """
                CREATE TABLE customer_summaries (
                    customer_id TEXT PRIMARY KEY NOT NULL,
                    summary BLOB NOT NULL             -- SummaryCodec; a rowid table, as summaries outgrow a 1 KiB page's index cells
                );
                """)
            try ReadModelBackfill(db: db, progress: progress).run()
        }
        // The watch streams replay from the store: the facts they show by time (interactions, complaint openings and
        // transitions, delay notices), and sent notices by time.
        migrator.registerMigration("v5_replay_indexes") { db in
            try db.execute(sql: """
                CREATE INDEX facts_watched_by_time ON facts(observed_at) WHERE kind IN (\(ReplayKinds.watchedKindList));
                CREATE INDEX sent_notices_by_time ON sent_notices(sent_at, notice_id);
                """)
        }
        // Return quality checks recorded before checks were facts (audit entries only) become facts.
        migrator.registerMigration("v6_quality_checks_as_facts") { db in
            try QualityCheckFactsMigration(db: db).run()
        }
        return migrator
    }
}

/// Reports the progress of a long migration: its name, the items done and the items in all.
public typealias MigrationProgress = @Sendable (_ migration: String, _ done: Int, _ total: Int) -> Void

/// Computes the read model of every customer from the facts, with the domain's projection.
struct ReadModelBackfill {
    let db: Database
    let progress: MigrationProgress?

    func run() throws {
        let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM customers") ?? 0
        guard total > 0 else { return }
        let loader = ProfileLoader(tables: SQLiteTables(db: db))
        let rows = SummaryRows(tables: SQLiteTables(db: db))
        var done = 0
        progress?("read model", 0, total)
        let ids = try String.fetchCursor(db, sql: "SELECT customer_id FROM customers ORDER BY customer_id")
        while let id = try ids.next() {
            if let profile = try loader.profile(of: id) { try rows.save(profile.summary) }
            done += 1
            if done % 10_000 == 0 || done == total { progress?("read model", done, total) }
        }
    }
}
