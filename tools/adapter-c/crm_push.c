/* crm-push: pushes interactions, one per line of a tab-separated file, to crmd with
 * crm.v1.InteractionService/PushInteractions (client streaming; or PushInteraction, unary, one call
 * per line with --unary), and prints one result per line.
 * The input format and the output are described in README.md beside this file. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "CRMProtoC.h"
#include "crm_conn.h"
#include "interaction_line.h"

#define METHOD "/crm.v1.InteractionService/PushInteractions"
#define METHOD_UNARY "/crm.v1.InteractionService/PushInteraction"

static const char USAGE[] =
    "usage: crm-push --server HOST:PORT --ca FILE [--cert FILE --key FILE | --token TOKEN]\n"
    "                [--adapter-id ID] [--batch N | --unary] [--timeout SECONDS] [--retries N] [FILE|-]\n"
    "\n"
    "Pushes the interactions of FILE (standard input when absent or -), one per line, in the\n"
    "tab-separated format: channel, direction, handle, time, intent, body, external id\n"
    "[, stated handles]. Prints a line per input line: LINE<TAB>ACCEPTED|DUPLICATE<TAB>INTERACTION_ID\n"
    "<TAB>CUSTOMER_ID, LINE<TAB>REJECTED<TAB>FIELD: REASON, or LINE<TAB>FAILED<TAB>STATUS: MESSAGE.\n"
    "\n"
    "  --server HOST:PORT  crmd's address (port 7443 when left out; [::1]:7443 for IPv6)\n"
    "  --ca FILE           the CA bundle the server's certificate must chain to\n"
    "  --cert, --key FILE  a client certificate and its key (mutual TLS; the adapter is its CN)\n"
    "  --token TOKEN       a bearer token from `crmd token create --role adapter` (or $CRM_TOKEN)\n"
    "  --adapter-id ID     the first half of every idempotency key (default: crm-push)\n"
    "  --batch N           interactions per PushInteractions call (default 2000, at most 20000)\n"
    "  --unary             one PushInteraction call per line instead, as a gateway forwarding\n"
    "                      messages one at a time does (a rejected line is INVALID_ARGUMENT)\n"
    "  --timeout SECONDS   deadline of each call (default 120)\n"
    "  --retries N         retries of a call that failed with UNAVAILABLE (default 2; safe: the keys\n"
    "                      make a repeated push store nothing twice)\n"
    "\n"
    "Exit status: 0 every line accepted or duplicate; 1 some lines rejected or failed (listed on\n"
    "standard error); 2 bad arguments or an unreadable file.\n";

typedef struct {
    const char *adapter_id;
    const char *token;
    crm_endpoint endpoint;
    char authority[300];
    size_t batch;
    int64_t timeout_ms;
    int retries;
    bool unary;
} options;

/* One input line waiting for its result. Allocated one by one: `line` points into itself. */
typedef struct {
    long number;
    bool parsed;
    interaction_line line;
    char error[400];
} entry;

typedef struct {
    long total, accepted, duplicate, rejected, failed;
    long *bad;           /* numbers of the lines that failed or were rejected */
    size_t n_bad, cap_bad;
} tally;

static void note_bad(tally *t, long number) {
    if (t->n_bad == t->cap_bad) {
        size_t cap = t->cap_bad ? t->cap_bad * 2 : 64;
        long *bad = realloc(t->bad, cap * sizeof *bad);
        if (!bad) return;
        t->bad = bad;
        t->cap_bad = cap;
    }
    t->bad[t->n_bad++] = number;
}

static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "crm-push: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n%s", USAGE);
    return 2;
}

/* Splits HOST:PORT ([v6]:PORT) into the endpoint; the strings are kept in static storage. */
static bool split_server(const char *server, options *o) {
    static char host[256], port[16];
    const char *colon;
    if (server[0] == '[') {
        const char *close = strchr(server, ']');
        if (!close || (size_t)(close - server - 1) >= sizeof host) return false;
        memcpy(host, server + 1, (size_t)(close - server - 1));
        host[close - server - 1] = 0;
        colon = close[1] == ':' ? close + 1 : NULL;
        if (close[1] && !colon) return false;
    } else {
        colon = strrchr(server, ':');
        size_t n = colon ? (size_t)(colon - server) : strlen(server);
        if (n == 0 || n >= sizeof host) return false;
        memcpy(host, server, n);
        host[n] = 0;
    }
    snprintf(port, sizeof port, "%s", colon ? colon + 1 : "7443");
    char *end;
    long p = strtol(port, &end, 10);
    if (*end || p < 1 || p > 65535) return false;
    o->endpoint.host = host;
    o->endpoint.port = port;
    snprintf(o->authority, sizeof o->authority, "%s", server);
    return true;
}

static void print_failed(entry **batch, size_t n, const crm_status *status, tally *t) {
    for (size_t i = 0; i < n; i++) {
        if (!batch[i]->parsed) {
            printf("%ld\tREJECTED\t%s\n", batch[i]->number, batch[i]->error);
            t->rejected++;
        } else {
            printf("%ld\tFAILED\t%s: %s\n", batch[i]->number, crm_status_name(status->code), status->message);
            t->failed++;
        }
        note_bad(t, batch[i]->number);
    }
}

/* One PushInteractions call for the parsed entries of `batch`. true when the call completed
 * (results printed); false with *status when it failed as a whole. */
static bool push_batch(crm_conn *conn, const options *o, entry **batch, size_t n, tally *t, crm_status *status) {
    crm_call_options call = { .method = METHOD, .authority = o->authority, .bearer_token = o->token,
                              .timeout_ms = o->timeout_ms, .idempotent = true };
    if (!crm_call_start(conn, &call, status)) return false;
    size_t sent = 0;
    entry **items = malloc((n ? n : 1) * sizeof *items);
    if (!items) { status->code = CRM_RESOURCE_EXHAUSTED; snprintf(status->message, sizeof status->message, "out of memory"); return false; }
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        if (!batch[i]->parsed) continue;
        Crm__V1__PushInteractionsRequest request = CRM__V1__PUSH_INTERACTIONS_REQUEST__INIT;
        request.interaction = &batch[i]->line.interaction;
        ok = crm_call_send(conn, &request.base, status);
        if (ok) items[sent++] = batch[i];
    }
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (ok) ok = crm_call_finish(conn, &bytes, &len, status);
    Crm__V1__PushInteractionsResponse *response = NULL;
    if (ok) {
        response = crm__v1__push_interactions_response__unpack(NULL, len, bytes);
        if (!response) {
            status->code = CRM_INTERNAL;
            snprintf(status->message, sizeof status->message, "the response does not decode as crm.v1.PushInteractionsResponse");
            ok = false;
        }
    }
    free(bytes);
    if (!ok) { free(items); return false; }

    /* Results by index; an item without one counts as failed. */
    const Crm__V1__PushInteractionResult **by_index = calloc(sent ? sent : 1, sizeof *by_index);
    for (size_t r = 0; by_index && r < response->n_results; r++)
        if (response->results[r]->index < sent) by_index[response->results[r]->index] = response->results[r];
    size_t next = 0;
    for (size_t i = 0; i < n; i++) {
        entry *e = batch[i];
        if (!e->parsed) {
            printf("%ld\tREJECTED\t%s\n", e->number, e->error);
            t->rejected++;
            note_bad(t, e->number);
            continue;
        }
        const Crm__V1__PushInteractionResult *res = by_index ? by_index[next++] : NULL;
        if (!res) {
            printf("%ld\tFAILED\tINTERNAL: the server sent no result for this line\n", e->number);
            t->failed++;
            note_bad(t, e->number);
        } else if (res->outcome == CRM__V1__ITEM_OUTCOME__ITEM_OUTCOME_ACCEPTED ||
                   res->outcome == CRM__V1__ITEM_OUTCOME__ITEM_OUTCOME_DUPLICATE) {
            bool accepted = res->outcome == CRM__V1__ITEM_OUTCOME__ITEM_OUTCOME_ACCEPTED;
            printf("%ld\t%s\t%s\t%s\n", e->number, accepted ? "ACCEPTED" : "DUPLICATE", res->interaction_id, res->customer_id);
            if (accepted) t->accepted++; else t->duplicate++;
        } else {
            printf("%ld\tREJECTED\t", e->number);
            if (res->n_violations == 0) printf("the server rejected it without saying why");
            for (size_t v = 0; v < res->n_violations; v++)
                printf("%s%s: %s", v ? "; " : "", res->violations[v]->field, res->violations[v]->reason);
            printf("\n");
            t->rejected++;
            note_bad(t, e->number);
        }
    }
    free(by_index);
    free(items);
    crm__v1__push_interactions_response__free_unpacked(response, NULL);
    return true;
}

/* One PushInteraction call for the parsed entry `e`. true when the server answered it (accepted,
 * duplicate, or rejected with INVALID_ARGUMENT; the result printed); false with *status otherwise. */
static bool push_one(crm_conn *conn, const options *o, entry *e, tally *t, crm_status *status) {
    crm_call_options call = { .method = METHOD_UNARY, .authority = o->authority, .bearer_token = o->token,
                              .timeout_ms = o->timeout_ms, .idempotent = true };
    if (!crm_call_start(conn, &call, status)) return false;
    Crm__V1__PushInteractionRequest request = CRM__V1__PUSH_INTERACTION_REQUEST__INIT;
    request.interaction = &e->line.interaction;
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (!crm_call_send(conn, &request.base, status) || !crm_call_finish(conn, &bytes, &len, status)) {
        free(bytes);
        if (status->code != CRM_INVALID_ARGUMENT) return false;
        printf("%ld\tREJECTED\t%s\n", e->number, status->message);
        t->rejected++;
        note_bad(t, e->number);
        return true;
    }
    Crm__V1__PushInteractionResponse *response = crm__v1__push_interaction_response__unpack(NULL, len, bytes);
    free(bytes);
    if (!response) {
        status->code = CRM_INTERNAL;
        snprintf(status->message, sizeof status->message, "the response does not decode as crm.v1.PushInteractionResponse");
        return false;
    }
    if (response->outcome == CRM__V1__ITEM_OUTCOME__ITEM_OUTCOME_ACCEPTED ||
        response->outcome == CRM__V1__ITEM_OUTCOME__ITEM_OUTCOME_DUPLICATE) {
        bool accepted = response->outcome == CRM__V1__ITEM_OUTCOME__ITEM_OUTCOME_ACCEPTED;
        printf("%ld\t%s\t%s\t%s\n", e->number, accepted ? "ACCEPTED" : "DUPLICATE", response->interaction_id, response->customer_id);
        if (accepted) t->accepted++; else t->duplicate++;
    } else {
        printf("%ld\tREJECTED\tthe server answered outcome %d without a status\n", e->number, (int)response->outcome);
        t->rejected++;
        note_bad(t, e->number);
    }
    crm__v1__push_interaction_response__free_unpacked(response, NULL);
    return true;
}

static void sleep_ms(long ms) {
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
}

/* Pushes a batch (with --unary, one parsed line), reconnecting and retrying after UNAVAILABLE, and
 * prints its lines. */
static void flush_batch(crm_conn **conn, const options *o, entry **batch, size_t n, tally *t) {
    size_t parsed = 0;
    for (size_t i = 0; i < n; i++) parsed += batch[i]->parsed;
    crm_status status = { 0 };
    if (parsed == 0) {
        for (size_t i = 0; i < n; i++) {
            printf("%ld\tREJECTED\t%s\n", batch[i]->number, batch[i]->error);
            t->rejected++;
            note_bad(t, batch[i]->number);
        }
        return;
    }
    long backoff = 500;
    for (int attempt = 0;; attempt++) {
        if (!crm_conn_usable(*conn)) {
            crm_conn_close(*conn);
            *conn = crm_conn_open(&o->endpoint, &status);
        }
        bool answered = *conn && (o->unary ? push_one(*conn, o, batch[0], t, &status) : push_batch(*conn, o, batch, n, t, &status));
        if (answered) return;
        if (status.code != CRM_UNAVAILABLE || attempt >= o->retries) break;
        fprintf(stderr, "crm-push: %s: %s; retrying in %ld ms\n", crm_status_name(status.code), status.message, backoff);
        sleep_ms(backoff);
        backoff *= 2;
    }
    fprintf(stderr, "crm-push: lines %ld to %ld: %s: %s\n", batch[0]->number, batch[n - 1]->number,
            crm_status_name(status.code), status.message);
    print_failed(batch, n, &status, t);
}

static void free_batch(entry **batch, size_t n) {
    for (size_t i = 0; i < n; i++) {
        interaction_line_clear(&batch[i]->line);
        free(batch[i]);
    }
}

int main(int argc, char **argv) {
    /* A write to a connection the server dropped must fail the call, not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    options o = { .adapter_id = "crm-push", .batch = 2000, .timeout_ms = 120000, .retries = 2 };
    o.endpoint.connect_timeout_ms = 10000;
    const char *server = NULL, *path = NULL;
    o.token = getenv("CRM_TOKEN");
    if (o.token && !*o.token) o.token = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = strcmp(a, "--server") == 0 || strcmp(a, "--ca") == 0 || strcmp(a, "--cert") == 0 ||
                     strcmp(a, "--key") == 0 || strcmp(a, "--token") == 0 || strcmp(a, "--adapter-id") == 0 ||
                     strcmp(a, "--batch") == 0 || strcmp(a, "--timeout") == 0 || strcmp(a, "--retries") == 0;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) { fputs(USAGE, stdout); return 0; }
        if (strcmp(a, "--unary") == 0) { o.unary = true; continue; }
        if (takes && !v) return usage_error("%s needs a value", a);
        if (strcmp(a, "--server") == 0) server = v;
        else if (strcmp(a, "--ca") == 0) o.endpoint.ca_file = v;
        else if (strcmp(a, "--cert") == 0) o.endpoint.cert_file = v;
        else if (strcmp(a, "--key") == 0) o.endpoint.key_file = v;
        else if (strcmp(a, "--token") == 0) o.token = v;
        else if (strcmp(a, "--adapter-id") == 0) o.adapter_id = v;
        else if (strcmp(a, "--batch") == 0 || strcmp(a, "--timeout") == 0 || strcmp(a, "--retries") == 0) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 0 || (strcmp(a, "--batch") == 0 && (n < 1 || n > 20000)) ||
                (strcmp(a, "--timeout") == 0 && (n < 1 || n > 86400)) || (strcmp(a, "--retries") == 0 && n > 100))
                return usage_error("%s: not a number in range", a);
            if (a[2] == 'b') o.batch = (size_t)n;
            else if (a[2] == 't') o.timeout_ms = n * 1000;
            else o.retries = (int)n;
        } else if (a[0] == '-' && a[1] != 0) return usage_error("unknown option %s", a);
        else if (path) return usage_error("one input file only (got a second one, %s)", a);
        else path = a;
        if (takes) i++;
    }
    if (!server) return usage_error("%s", "--server HOST:PORT is required");
    if (!o.endpoint.ca_file) return usage_error("%s", "--ca FILE is required (the server's CA, e.g. <data-dir>/certs/ca.pem)");
    if (!split_server(server, &o)) return usage_error("--server %s is not HOST:PORT", server);
    if ((o.endpoint.cert_file == NULL) != (o.endpoint.key_file == NULL))
        return usage_error("%s", "--cert and --key go together");
    if (!o.endpoint.cert_file && !o.token)
        return usage_error("%s", "give --token TOKEN or --cert FILE --key FILE");
    if (!*o.adapter_id) return usage_error("%s", "--adapter-id may not be empty");
    if (o.unary) o.batch = 1; /* every line is its own call */
    const char *files[] = { o.endpoint.ca_file, o.endpoint.cert_file, o.endpoint.key_file };
    for (size_t i = 0; i < 3; i++) {
        FILE *f = files[i] ? fopen(files[i], "r") : NULL;
        if (files[i] && !f) { fprintf(stderr, "crm-push: cannot read %s: %s\n", files[i], strerror(errno)); return 2; }
        if (f) fclose(f);
    }

    FILE *in = stdin;
    if (path && strcmp(path, "-") != 0) {
        in = fopen(path, "r");
        if (!in) { fprintf(stderr, "crm-push: cannot read %s: %s\n", path, strerror(errno)); return 2; }
    }

    crm_conn *conn = NULL; /* opened by the first batch, and again after a failure */

    tally t = { 0 };
    entry **batch = malloc(o.batch * 2 * sizeof *batch); /* room for the rejected lines too */
    size_t n = 0, parsed = 0;
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    long number = 0;
    while (batch && (len = getline(&buf, &cap, in)) >= 0) {
        number++;
        entry *e = calloc(1, sizeof *e);
        if (!e) break;
        e->number = number;
        e->parsed = interaction_line_parse(buf, (size_t)len, o.adapter_id, &e->line, e->error, sizeof e->error);
        if (!e->parsed && e->error[0] == 0) { free(e); continue; } /* blank or comment */
        t.total++;
        batch[n++] = e;
        parsed += e->parsed;
        if (parsed == o.batch || n == o.batch * 2 || o.unary) {
            flush_batch(&conn, &o, batch, n, &t);
            fflush(stdout);
            free_batch(batch, n);
            n = parsed = 0;
        }
    }
    bool read_error = ferror(in);
    if (n) flush_batch(&conn, &o, batch, n, &t);
    free_batch(batch, n);
    free(batch);
    free(buf);
    if (in != stdin) fclose(in);
    crm_conn_close(conn);

    fprintf(stderr, "crm-push: %ld lines: %ld accepted, %ld duplicate, %ld rejected, %ld failed\n", t.total,
            t.accepted, t.duplicate, t.rejected, t.failed);
    if (t.n_bad) {
        fprintf(stderr, "crm-push: lines not stored:");
        for (size_t i = 0; i < t.n_bad && i < 50; i++) fprintf(stderr, " %ld", t.bad[i]);
        if (t.n_bad > 50) fprintf(stderr, " ... (%zu in all)", t.n_bad);
        fprintf(stderr, "\n");
    }
    free(t.bad);
    if (read_error) { fprintf(stderr, "crm-push: reading %s failed\n", path ? path : "standard input"); return 2; }
    return t.n_bad ? 1 : 0;
}
