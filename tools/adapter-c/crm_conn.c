/* The crm/1 client side, written from docs/PROTOCOL.md; section numbers refer to it. */
#define _POSIX_C_SOURCE 200809L
#include "crm_conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "CRMProtoC.h"

/* Frame types (4.1) and flags (4.2). */
enum { F_HEADERS = 1, F_MESSAGE = 2, F_TRAILERS = 3, F_RST_STREAM = 4, F_SETTINGS = 5,
       F_PING = 6, F_GOAWAY = 7, F_WINDOW_UPDATE = 8 };
enum { FLAG_END_STREAM = 0x01, FLAG_ACK = 0x01 };
#define HEADER_LEN 10
#define MAX_WINDOW 2147483647LL

/* Our receive limits: we announce none, so the defaults of 6.1 hold. */
#define OUR_MAX_MESSAGE (4 * 1024 * 1024)
#define OUR_MAX_HEADER (16 * 1024)
#define OUR_STREAM_WINDOW (8 * 1024 * 1024)
#define OUR_CONN_WINDOW (16 * 1024 * 1024)

static const unsigned char PREFACE[8] = { 0x43, 0x52, 0x4D, 0x2F, 0x31, 0x0D, 0x0A, 0x00 };

/* The peer's settings (6.1), defaults until its first SETTINGS arrives. */
typedef struct {
    uint64_t max_concurrent_streams, initial_window, connection_window, max_frame, max_message,
        max_header, keepalive_interval, keepalive_timeout, idle_timeout;
} peer_settings;

struct crm_conn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    bool broken;             /* a connection error happened or the peer closed */
    bool goaway;             /* GOAWAY received: no new streams */
    uint32_t goaway_last_id; /* lowest last_stream_id seen */
    int goaway_code;
    char goaway_message[256];
    bool got_settings;       /* the server's first SETTINGS has arrived */
    int unacked_settings;    /* our SETTINGS frames not yet acknowledged */
    peer_settings peer;
    int64_t send_conn_window; /* what we may still send on the connection (12) */
    int64_t recv_conn_left;   /* what the server may still send us on the connection */
    int64_t recv_conn_unreturned;
    unsigned char *in;        /* received, not yet parsed bytes */
    size_t in_len, in_cap;
    uint32_t next_stream_id;
    /* The one call in progress. */
    struct {
        uint32_t id;          /* 0: none ever opened */
        bool active;          /* opened and not closed */
        bool half_closed;     /* we sent END_STREAM */
        bool got_headers;
        bool closed;
        int64_t send_window;
        int64_t recv_left;
        int64_t recv_unreturned;
        int64_t deadline;     /* monotonic ms; 0 = none */
        uint8_t *response;
        size_t response_len;
        int responses;
        crm_status status;    /* set when closed */
    } call;
};

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_status(crm_status *status, int code, const char *fmt, ...) {
    if (!status) return;
    status->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(status->message, sizeof status->message, fmt, ap);
    va_end(ap);
}

const char *crm_status_name(int code) {
    static const char *names[] = { "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
        "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED" };
    return code >= 0 && code <= 16 ? names[code] : "UNKNOWN";
}

static void ssl_error_text(char *buf, size_t len) {
    unsigned long e = ERR_get_error();
    if (e) ERR_error_string_n(e, buf, len);
    else snprintf(buf, len, "%s", errno ? strerror(errno) : "connection closed");
    ERR_clear_error();
}

/* ---- raw I/O over the non-blocking TLS session ---- */

/* Waits until the socket is ready for `events` or `deadline` (monotonic ms, 0 = none) passes.
 * 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline) {
    for (;;) {
        int timeout = -1;
        if (deadline) {
            int64_t left = deadline - now_ms();
            if (left <= 0) return 0;
            timeout = left > 60000 ? 60000 : (int)left;
        }
        struct pollfd p = { .fd = fd, .events = events };
        int r = poll(&p, 1, timeout);
        if (r > 0) return 1;
        if (r < 0 && errno != EINTR) return -1;
        if (r == 0 && deadline && now_ms() >= deadline) return 0;
    }
}

/* Writes all of buf. false when the connection failed or the deadline passed. */
static bool write_all(crm_conn *c, const void *buf, size_t len, int64_t deadline) {
    const unsigned char *p = buf;
    while (len > 0) {
        ERR_clear_error();
        int n = SSL_write(c->ssl, p, (int)len);
        if (n > 0) { p += n; len -= (size_t)n; continue; }
        int err = SSL_get_error(c->ssl, n);
        short ev = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
        if (!ev || wait_fd(c->fd, ev, deadline) != 1) { c->broken = true; return false; }
    }
    return true;
}

/* Reads what is available into c->in, waiting up to `deadline` for something to arrive.
 * 1 read bytes, 0 nothing before the deadline, -1 EOF or error (c->broken is set). */
static int read_some(crm_conn *c, int64_t deadline) {
    for (;;) {
        if (c->in_cap - c->in_len < 16384) {
            size_t cap = c->in_cap ? c->in_cap * 2 : 65536;
            unsigned char *in = realloc(c->in, cap);
            if (!in) { c->broken = true; return -1; }
            c->in = in;
            c->in_cap = cap;
        }
        ERR_clear_error();
        int n = SSL_read(c->ssl, c->in + c->in_len, (int)(c->in_cap - c->in_len));
        if (n > 0) { c->in_len += (size_t)n; return 1; }
        int err = SSL_get_error(c->ssl, n);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            int r = wait_fd(c->fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
            if (r == 1) continue;
            if (r == 0) return 0;
        }
        c->broken = true;
        return -1;
    }
}

/* ---- frames ---- */

static void put_header(unsigned char *h, uint32_t length, int type, int flags, uint32_t stream) {
    h[0] = (unsigned char)(length >> 24); h[1] = (unsigned char)(length >> 16);
    h[2] = (unsigned char)(length >> 8);  h[3] = (unsigned char)length;
    h[4] = (unsigned char)type;           h[5] = (unsigned char)flags;
    h[6] = (unsigned char)(stream >> 24); h[7] = (unsigned char)(stream >> 16);
    h[8] = (unsigned char)(stream >> 8);  h[9] = (unsigned char)stream;
}

static bool send_raw_frame(crm_conn *c, int type, int flags, uint32_t stream,
                           const uint8_t *payload, size_t len) {
    unsigned char stack[HEADER_LEN + 256];
    unsigned char *buf = len <= 256 ? stack : malloc(HEADER_LEN + len);
    if (!buf) return false;
    put_header(buf, (uint32_t)len, type, flags, stream);
    if (len) memcpy(buf + HEADER_LEN, payload, len);
    bool ok = write_all(c, buf, HEADER_LEN + len, now_ms() + 30000);
    if (buf != stack) free(buf);
    return ok;
}

/* Sends a frame whose payload is `msg` packed (NULL: empty payload). */
static bool send_frame(crm_conn *c, int type, int flags, uint32_t stream, const ProtobufCMessage *msg) {
    size_t len = msg ? protobuf_c_message_get_packed_size(msg) : 0;
    uint8_t *payload = len ? malloc(len) : NULL;
    if (len && !payload) return false;
    if (len) protobuf_c_message_pack(msg, payload);
    bool ok = send_raw_frame(c, type, flags, stream, payload, len);
    free(payload);
    return ok;
}

/* A connection error we detected (16.1): GOAWAY with the token and status, then the connection
 * is done. The call in progress fails with UNAVAILABLE. */
static void connection_error(crm_conn *c, int code, const char *fmt, ...) {
    char text[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (!c->broken) {
        Crm__V1__GoAway g = CRM__V1__GO_AWAY__INIT;
        g.last_stream_id = 0;
        g.status_code = (Crm__V1__StatusCode)code;
        g.message = text;
        send_frame(c, F_GOAWAY, 0, 0, &g.base);
    }
    c->broken = true;
    if (c->call.active) {
        c->call.active = false;
        c->call.closed = true;
        set_status(&c->call.status, CRM_UNAVAILABLE, "connection error: %s", text);
    }
}

static void close_call(crm_conn *c, int code, const char *message) {
    c->call.active = false;
    c->call.closed = true;
    c->call.status.code = code;
    snprintf(c->call.status.message, sizeof c->call.status.message, "%s", message ? message : "");
}

/* Returns credit for consumed MESSAGE bytes (12.5); we consume each message as it arrives. */
static void return_credit(crm_conn *c, bool for_stream) {
    if (c->recv_conn_unreturned >= OUR_CONN_WINDOW / 2 || c->recv_conn_left < OUR_MAX_MESSAGE) {
        Crm__V1__WindowUpdate w = CRM__V1__WINDOW_UPDATE__INIT;
        w.increment_bytes = (uint32_t)c->recv_conn_unreturned;
        if (w.increment_bytes && send_frame(c, F_WINDOW_UPDATE, 0, 0, &w.base)) {
            c->recv_conn_left += c->recv_conn_unreturned;
            c->recv_conn_unreturned = 0;
        }
    }
    if (for_stream && c->call.active &&
        (c->call.recv_unreturned >= OUR_STREAM_WINDOW / 2 || c->call.recv_left < OUR_MAX_MESSAGE)) {
        Crm__V1__WindowUpdate w = CRM__V1__WINDOW_UPDATE__INIT;
        w.increment_bytes = (uint32_t)c->call.recv_unreturned;
        if (w.increment_bytes && send_frame(c, F_WINDOW_UPDATE, 0, c->call.id, &w.base)) {
            c->call.recv_left += c->call.recv_unreturned;
            c->call.recv_unreturned = 0;
        }
    }
}

static bool valid_metadata(const Crm__V1__MetadataEntry *const *entries, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const char *k = entries[i]->key;
        size_t kl = strlen(k);
        if (kl == 0) return false;
        for (size_t j = 0; j < kl; j++) {
            char ch = k[j];
            if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.'))
                return false;
        }
        bool binary = kl >= 4 && strcmp(k + kl - 4, "-bin") == 0;
        if (entries[i]->value_case == CRM__V1__METADATA_ENTRY__VALUE_TEXT) {
            if (binary) return false;
            for (const char *t = entries[i]->text; *t; t++)
                if (*t < 0x20 || *t > 0x7E) return false;
        } else if (entries[i]->value_case == CRM__V1__METADATA_ENTRY__VALUE_BINARY && !binary) {
            return false;
        }
    }
    return true;
}

/* Sends RST_STREAM with `code` and fails the call with it (16.2). */
static void reset_call(crm_conn *c, int code, const char *message) {
    if (c->call.active) {
        Crm__V1__StreamReset r = CRM__V1__STREAM_RESET__INIT;
        r.status_code = (Crm__V1__StatusCode)code;
        r.message = (char *)message;
        send_frame(c, F_RST_STREAM, 0, c->call.id, &r.base);
    }
    close_call(c, code, message);
}

static bool apply_settings(crm_conn *c, const Crm__V1__Settings *s, bool first) {
    peer_settings p = c->peer;
    for (size_t i = 0; i < s->n_entries; i++) {
        uint64_t v = s->entries[i]->value;
        int key = (int)s->entries[i]->key;
        if (key >= 2 && key <= 6 && !first) {
            connection_error(c, CRM_INTERNAL, "SETTINGS_ERROR: setting %d may only be set in the first SETTINGS frame", key);
            return false;
        }
        switch (key) {
        case 1: p.max_concurrent_streams = v; break;
        case 2: p.initial_window = v; break;
        case 3: p.connection_window = v; break;
        case 4: p.max_frame = v; break;
        case 5: p.max_message = v; break;
        case 6: p.max_header = v; break;
        case 7: p.keepalive_interval = v; break;
        case 8: p.keepalive_timeout = v; break;
        case 9: p.idle_timeout = v; break;
        default: break; /* 0 and unknown kinds are ignored (6.2) */
        }
    }
    uint64_t largest = p.max_message < p.max_frame ? p.max_message : p.max_frame;
    const uint64_t top = MAX_WINDOW;
    if (p.max_concurrent_streams > top || p.initial_window < largest || p.initial_window > top ||
        p.connection_window < largest || p.connection_window > top || p.max_frame < 16384 ||
        p.max_frame > top || p.max_message < 1024 || p.max_message > top || p.max_header < 1024 ||
        p.max_header > top || p.keepalive_interval > top || p.keepalive_timeout < 1 ||
        p.keepalive_timeout > top || p.idle_timeout > top) {
        connection_error(c, CRM_INTERNAL, "SETTINGS_ERROR: the server's settings are out of range");
        return false;
    }
    c->peer = p;
    if (first) c->send_conn_window = (int64_t)p.connection_window;
    return true;
}

/* Checks a frame header (4.3). false after a connection error. */
static bool check_header(crm_conn *c, uint32_t length, int type, uint32_t raw_stream) {
    if (type < 1 || type > 8) {
        connection_error(c, CRM_INTERNAL, "PROTOCOL_ERROR: frame type %d is not a crm/1 frame type (1 to 8)", type);
        return false;
    }
    if (raw_stream & 0x80000000u) {
        connection_error(c, CRM_INTERNAL, "PROTOCOL_ERROR: the reserved bit of the stream id is set");
        return false;
    }
    if (!c->got_settings && type != F_SETTINGS) {
        connection_error(c, CRM_INTERNAL, "PROTOCOL_ERROR: the server's first frame is type %d, not SETTINGS", type);
        return false;
    }
    uint32_t limit = type == F_MESSAGE ? OUR_MAX_MESSAGE : OUR_MAX_HEADER;
    if (length > limit) {
        connection_error(c, CRM_RESOURCE_EXHAUSTED,
                         "FRAME_SIZE_ERROR: a frame of type %d and %u bytes is over the limit of %u bytes for its type",
                         type, length, limit);
        return false;
    }
    bool zero = raw_stream == 0;
    bool wants_zero = type == F_SETTINGS || type == F_PING || type == F_GOAWAY;
    bool wants_stream = type == F_HEADERS || type == F_MESSAGE || type == F_TRAILERS || type == F_RST_STREAM;
    if ((wants_zero && !zero) || (wants_stream && zero)) {
        connection_error(c, CRM_INTERNAL, "PROTOCOL_ERROR: frame type %d on stream %u", type, raw_stream);
        return false;
    }
    if (!zero && raw_stream % 2 == 0) {
        connection_error(c, CRM_INTERNAL, "PROTOCOL_ERROR: even stream id %u", raw_stream);
        return false;
    }
    return true;
}


/* Handles one complete frame. false after a connection error. */
static bool handle_frame(crm_conn *c, int type, int flags, uint32_t stream, const uint8_t *payload, size_t len) {
    switch (type) {
    case F_SETTINGS: {
        Crm__V1__Settings *s = crm__v1__settings__unpack(NULL, len, payload);
        if (!s) { connection_error(c, CRM_INTERNAL, "PROTOCOL_ERROR: a SETTINGS payload does not decode"); return false; }
        bool ack = (flags & FLAG_ACK) != 0;
        bool ok = true;
        if (ack != (s->ack != 0)) {
            connection_error(c, CRM_INTERNAL, "PROTOCOL_ERROR: the SETTINGS ACK flag and ack field disagree");
            ok = false;
        } else if (ack) {
            if (s->n_entries) { connection_error(c, CRM_INTERNAL, "SETTINGS_ERROR: a SETTINGS ACK carries entries"); ok = false; }
            else if (c->unacked_settings == 0) { connection_error(c, CRM_INTERNAL, "PROTOCOL_ERROR: unexpected SETTINGS ACK"); ok = false; }
            else c->unacked_settings--;
        } else {
            bool first = !c->got_settings;
            ok = apply_settings(c, s, first);
            if (ok) {
                c->got_settings = true;
                Crm__V1__Settings a = CRM__V1__SETTINGS__INIT;
                a.ack = 1;
                ok = send_frame(c, F_SETTINGS, FLAG_ACK, 0, &a.base);
            }
        }
        crm__v1__settings__free_unpacked(s, NULL);
        return ok;
    }
    case F_PING: {
        Crm__V1__Ping *p = crm__v1__ping__unpack(NULL, len, payload);
        if (!p) { connection_error(c, CRM_INTERNAL, "PROTOCOL_ERROR: a PING payload does not decode"); return false; }
        bool ack = (flags & FLAG_ACK) != 0, ok = true;
        if (ack != (p->ack != 0)) {
            connection_error(c, CRM_INTERNAL, "PROTOCOL_ERROR: the PING ACK flag and ack field disagree");
            ok = false;
        } else if (!ack) {
            Crm__V1__Ping a = CRM__V1__PING__INIT;
            a.opaque_data = p->opaque_data;
            a.ack = 1;
            ok = send_frame(c, F_PING, FLAG_ACK, 0, &a.base);
        } /* an ACK: we send no PINGs, so it matches none and is ignored (13) */
        crm__v1__ping__free_unpacked(p, NULL);
        return ok;
    }
    case F_GOAWAY: {
        Crm__V1__GoAway *g = crm__v1__go_away__unpack(NULL, len, payload);
        if (!g) { connection_error(c, CRM_INTERNAL, "PROTOCOL_ERROR: a GOAWAY payload does not decode"); return false; }
        if (!c->goaway || g->last_stream_id < c->goaway_last_id) c->goaway_last_id = g->last_stream_id;
        c->goaway = true;
        c->goaway_code = (int)g->status_code;
        snprintf(c->goaway_message, sizeof c->goaway_message, "%s", g->message);
        if (c->call.active && c->call.id > c->goaway_last_id)
            close_call(c, CRM_UNAVAILABLE, "not processed: the server is going away; safe to retry");
        crm__v1__go_away__free_unpacked(g, NULL);
        return true;
    }
    case F_WINDOW_UPDATE: {
        Crm__V1__WindowUpdate *w = crm__v1__window_update__unpack(NULL, len, payload);
        if (!w) { connection_error(c, CRM_INTERNAL, "PROTOCOL_ERROR: a WINDOW_UPDATE payload does not decode"); return false; }
        int64_t inc = w->increment_bytes;
        crm__v1__window_update__free_unpacked(w, NULL);
        if (inc == 0) { connection_error(c, CRM_INTERNAL, "PROTOCOL_ERROR: WINDOW_UPDATE of 0"); return false; }
        if (stream == 0) {
            if (c->send_conn_window + inc > MAX_WINDOW) {
                connection_error(c, CRM_INTERNAL, "FLOW_CONTROL_ERROR: the connection window would exceed 2^31-1");
                return false;
            }
            c->send_conn_window += inc;
            return true;
        }
        if (stream > c->call.id || c->call.id == 0) {
            connection_error(c, CRM_INTERNAL, "PROTOCOL_ERROR: WINDOW_UPDATE for stream %u, never opened", stream);
            return false;
        }
        if (stream == c->call.id && c->call.active) {
            if (c->call.send_window + inc > MAX_WINDOW) {
                connection_error(c, CRM_INTERNAL, "FLOW_CONTROL_ERROR: the stream window would exceed 2^31-1");
                return false;
            }
            c->call.send_window += inc;
        }
        return true; /* a closed stream's: discarded */
    }
    default: break;
    }

    /* Stream frames: HEADERS, MESSAGE, TRAILERS, RST_STREAM (7.3, the client's table). */
    if (c->call.id == 0 || stream > c->call.id) {
        connection_error(c, CRM_INTERNAL, "PROTOCOL_ERROR: frame type %d for stream %u, never opened", type, stream);
        return false;
    }
    bool current = stream == c->call.id && c->call.active;
    if (type == F_MESSAGE) {
        if ((int64_t)len > c->recv_conn_left || (current && (int64_t)len > c->call.recv_left)) {
            connection_error(c, CRM_INTERNAL, "FLOW_CONTROL_ERROR: a MESSAGE of %zu bytes is larger than the window", len);
            return false;
        }
        c->recv_conn_left -= (int64_t)len;
        c->recv_conn_unreturned += (int64_t)len;
        if (!current) { return_credit(c, false); return true; } /* discarded, credit returned */
        c->call.recv_left -= (int64_t)len;
        c->call.recv_unreturned += (int64_t)len;
        if (!c->call.got_headers) {
            connection_error(c, CRM_INTERNAL, "PROTOCOL_ERROR: MESSAGE before HEADERS on stream %u", stream);
            return false;
        }
        if (c->call.responses > 0) {
            reset_call(c, CRM_INTERNAL, "a second response message on a client-streaming call");
        } else {
            c->call.response = malloc(len ? len : 1);
            if (!c->call.response) { reset_call(c, CRM_RESOURCE_EXHAUSTED, "out of memory"); return true; }
            memcpy(c->call.response, payload, len);
            c->call.response_len = len;
            c->call.responses = 1;
        }
        return_credit(c, c->call.active);
        return true;
    }
    if (!current) return true; /* closed stream: discarded */
    if (type == F_HEADERS) {
        if (c->call.got_headers) {
            connection_error(c, CRM_INTERNAL, "PROTOCOL_ERROR: a second HEADERS on stream %u", stream);
            return false;
        }
        Crm__V1__ResponseHeaders *h = crm__v1__response_headers__unpack(NULL, len, payload);
        if (!h) { connection_error(c, CRM_INTERNAL, "PROTOCOL_ERROR: a HEADERS payload does not decode"); return false; }
        c->call.got_headers = true;
        bool ok = valid_metadata((const Crm__V1__MetadataEntry *const *)h->metadata, h->n_metadata);
        crm__v1__response_headers__free_unpacked(h, NULL);
        if (!ok) reset_call(c, CRM_INTERNAL, "the server's response metadata breaks the metadata rules");
        return true;
    }
    if (type == F_TRAILERS) {
        Crm__V1__Trailers *t = crm__v1__trailers__unpack(NULL, len, payload);
        if (!t) { connection_error(c, CRM_INTERNAL, "PROTOCOL_ERROR: a TRAILERS payload does not decode"); return false; }
        int code = (int)t->status_code;
        char message[480];
        if (code < 0 || code > 16) {
            snprintf(message, sizeof message, "unknown status code %d: %s", code, t->message);
            code = CRM_UNKNOWN;
        } else {
            snprintf(message, sizeof message, "%s", t->message);
        }
        bool meta_ok = valid_metadata((const Crm__V1__MetadataEntry *const *)t->metadata, t->n_metadata);
        crm__v1__trailers__free_unpacked(t, NULL);
        if (!meta_ok) close_call(c, CRM_INTERNAL, "the server's trailer metadata breaks the metadata rules");
        else if (code == CRM_OK && c->call.responses == 0) close_call(c, CRM_INTERNAL, "no response message for a client-streaming call");
        else close_call(c, code, message);
        return true;
    }
    if (type == F_RST_STREAM) {
        Crm__V1__StreamReset *r = crm__v1__stream_reset__unpack(NULL, len, payload);
        if (!r) { connection_error(c, CRM_INTERNAL, "PROTOCOL_ERROR: a RST_STREAM payload does not decode"); return false; }
        int code = (int)r->status_code;
        char message[480];
        snprintf(message, sizeof message, "reset by the server: %s", r->message);
        crm__v1__stream_reset__free_unpacked(r, NULL);
        close_call(c, code < 0 || code > 16 ? CRM_UNKNOWN : code, message);
        return true;
    }
    return true;
}

/* Parses and handles every complete frame in c->in. false after a connection error. */
static bool process_input(crm_conn *c) {
    size_t off = 0;
    bool ok = true;
    while (ok && c->in_len - off >= HEADER_LEN) {
        const unsigned char *h = c->in + off;
        uint32_t length = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
        int type = h[4], flags = h[5];
        uint32_t raw = (uint32_t)h[6] << 24 | (uint32_t)h[7] << 16 | (uint32_t)h[8] << 8 | h[9];
        if (!check_header(c, length, type, raw)) { ok = false; break; }
        if (c->in_len - off < HEADER_LEN + (size_t)length) break;
        ok = handle_frame(c, type, flags, raw, h + HEADER_LEN, length);
        off += HEADER_LEN + length;
    }
    if (!ok) { c->in_len = 0; return false; }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    return true;
}

/* Reads and handles frames until something arrives or `deadline` passes. false when the
 * connection is gone. */
static bool pump(crm_conn *c, int64_t deadline) {
    if (c->broken) return false;
    int r = read_some(c, deadline);
    if (r < 0) {
        if (c->call.active) {
            if (c->goaway && c->goaway_code != CRM_OK)
                close_call(c, CRM_UNAVAILABLE, c->goaway_message);
            else
                close_call(c, CRM_UNAVAILABLE, "the connection was lost before the call finished");
        }
        return false;
    }
    if (r == 0) return true;
    return process_input(c);
}

/* Drains input that is already waiting, without blocking. */
static bool pump_ready(crm_conn *c) {
    while (!c->broken && (SSL_pending(c->ssl) > 0 || wait_fd(c->fd, POLLIN, now_ms() + 1) == 1)) {
        size_t before = c->in_len;
        if (!pump(c, now_ms() + 1)) return false;
        if (c->in_len == before && SSL_pending(c->ssl) == 0) break;
    }
    return !c->broken;
}

/* ---- connection ---- */

static int tcp_connect(const crm_endpoint *e, int64_t deadline, crm_status *status) {
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
    int rc = getaddrinfo(e->host, e->port, &hints, &res);
    if (rc != 0) {
        set_status(status, CRM_UNAVAILABLE, "cannot resolve %s: %s", e->host, gai_strerror(rc));
        return -1;
    }
    int fd = -1, last = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0) { last = errno; continue; }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
        if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 1) {
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
            if (soerr == 0) break;
            last = soerr;
        } else {
            last = errno == EINPROGRESS ? ETIMEDOUT : errno;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        set_status(status, CRM_UNAVAILABLE, "cannot connect to %s:%s: %s", e->host, e->port, strerror(last));
    return fd;
}

crm_conn *crm_conn_open(const crm_endpoint *e, crm_status *status) {
    int64_t deadline = now_ms() + (e->connect_timeout_ms > 0 ? e->connect_timeout_ms : 10000);
    crm_conn *c = calloc(1, sizeof *c);
    if (!c) { set_status(status, CRM_RESOURCE_EXHAUSTED, "out of memory"); return NULL; }
    c->fd = -1;
    c->peer = (peer_settings){ 100, 8388608, 16777216, 4194304, 4194304, 16384, 60000, 20000, 300000 };
    c->send_conn_window = (int64_t)c->peer.connection_window;
    c->recv_conn_left = OUR_CONN_WINDOW;
    c->next_stream_id = 1;
    char err[256];

    /* 2: TLS 1.2 or later, ECDHE + AEAD on 1.2, no renegotiation, verify the chain. */
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ctx) { set_status(status, CRM_INTERNAL, "cannot create a TLS context"); goto fail; }
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(c->ctx, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_cipher_list(c->ctx, "ECDHE+AESGCM:ECDHE+CHACHA20");
    SSL_CTX_set_mode(c->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (SSL_CTX_load_verify_locations(c->ctx, e->ca_file, NULL) != 1) {
        ssl_error_text(err, sizeof err);
        set_status(status, CRM_UNAVAILABLE, "cannot load the CA file %s: %s", e->ca_file, err);
        goto fail;
    }
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    if (e->cert_file) {
        if (SSL_CTX_use_certificate_chain_file(c->ctx, e->cert_file) != 1) {
            ssl_error_text(err, sizeof err);
            set_status(status, CRM_UNAVAILABLE, "cannot load the client certificate %s: %s", e->cert_file, err);
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(c->ctx, e->key_file, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(c->ctx) != 1) {
            ssl_error_text(err, sizeof err);
            set_status(status, CRM_UNAVAILABLE, "cannot use the key %s with %s: %s", e->key_file, e->cert_file, err);
            goto fail;
        }
    }
    c->fd = tcp_connect(e, deadline, status);
    if (c->fd < 0) goto fail;
    c->ssl = SSL_new(c->ctx);
    if (!c->ssl) { set_status(status, CRM_INTERNAL, "cannot create a TLS session"); goto fail; }
    SSL_set_fd(c->ssl, c->fd);
    static const unsigned char alpn[] = { 5, 'c', 'r', 'm', '/', '1' };
    SSL_set_alpn_protos(c->ssl, alpn, sizeof alpn);
    unsigned char addr[16];
    bool is_ip = inet_pton(AF_INET, e->host, addr) == 1 || inet_pton(AF_INET6, e->host, addr) == 1;
    if (is_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), e->host); /* no SNI for an address (2.4) */
    } else {
        SSL_set_tlsext_host_name(c->ssl, e->host);
        SSL_set1_host(c->ssl, e->host);
    }
    for (;;) {
        ERR_clear_error();
        int r = SSL_connect(c->ssl);
        if (r == 1) break;
        int se = SSL_get_error(c->ssl, r);
        if ((se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE) &&
            wait_fd(c->fd, se == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) == 1)
            continue;
        long v = SSL_get_verify_result(c->ssl);
        if (v != X509_V_OK)
            snprintf(err, sizeof err, "certificate verification failed: %s", X509_verify_cert_error_string(v));
        else if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE)
            snprintf(err, sizeof err, "timed out");
        else
            ssl_error_text(err, sizeof err);
        set_status(status, CRM_UNAVAILABLE, "TLS handshake with %s:%s failed: %s", e->host, e->port, err);
        goto fail;
    }
    const unsigned char *proto = NULL;
    unsigned int proto_len = 0;
    SSL_get0_alpn_selected(c->ssl, &proto, &proto_len);
    if (proto_len != 5 || memcmp(proto, "crm/1", 5) != 0) {
        /* 2.3: close without sending anything. */
        set_status(status, CRM_UNAVAILABLE, "the server at %s:%s did not select ALPN crm/1", e->host, e->port);
        goto fail;
    }

    /* 3: preface and our (empty: all defaults) SETTINGS, then wait for the server's SETTINGS. */
    unsigned char start[sizeof PREFACE + HEADER_LEN];
    memcpy(start, PREFACE, sizeof PREFACE);
    put_header(start + sizeof PREFACE, 0, F_SETTINGS, 0, 0);
    if (!write_all(c, start, sizeof start, deadline)) {
        set_status(status, CRM_UNAVAILABLE, "the connection to %s:%s closed during its start", e->host, e->port);
        goto fail;
    }
    c->unacked_settings = 1;
    while (!c->got_settings) {
        if (!pump(c, deadline) || now_ms() >= deadline) {
            set_status(status, CRM_UNAVAILABLE, "the server at %s:%s sent no SETTINGS%s%s", e->host, e->port,
                       c->goaway ? ": " : "", c->goaway ? c->goaway_message : "");
            goto fail;
        }
    }
    return c;
fail:
    if (c->ssl) SSL_free(c->ssl);
    if (c->fd >= 0) close(c->fd);
    SSL_CTX_free(c->ctx);
    free(c->in);
    free(c);
    return NULL;
}

bool crm_conn_usable(const crm_conn *c) {
    return c && !c->broken && !c->goaway && c->next_stream_id < 0x7FFFFFFFu;
}

void crm_conn_close(crm_conn *c) {
    if (!c) return;
    if (!c->broken) {
        Crm__V1__GoAway g = CRM__V1__GO_AWAY__INIT; /* 14.2: a client's GOAWAY has last_stream_id 0 */
        send_frame(c, F_GOAWAY, 0, 0, &g.base);
        SSL_shutdown(c->ssl); /* close_notify (2.8); we do not wait for the server's */
    }
    SSL_free(c->ssl);
    close(c->fd);
    SSL_CTX_free(c->ctx);
    free(c->in);
    free(c->call.response);
    free(c);
}

/* ---- the call ---- */

bool crm_call_start(crm_conn *c, const crm_call_options *o, crm_status *status) {
    if (!crm_conn_usable(c)) {
        set_status(status, CRM_UNAVAILABLE, "the connection takes no new calls");
        return false;
    }
    free(c->call.response);
    memset(&c->call, 0, sizeof c->call);
    c->call.deadline = o->timeout_ms > 0 ? now_ms() + o->timeout_ms : 0;
    while (c->peer.max_concurrent_streams == 0) { /* 18.4: wait for a free stream */
        if (c->call.deadline && now_ms() >= c->call.deadline) {
            set_status(status, CRM_DEADLINE_EXCEEDED, "no stream became free before the deadline");
            return false;
        }
        if (!pump(c, c->call.deadline ? c->call.deadline : now_ms() + 1000)) {
            set_status(status, CRM_UNAVAILABLE, "the connection was lost");
            return false;
        }
    }
    Crm__V1__MetadataEntry auth = CRM__V1__METADATA_ENTRY__INIT;
    Crm__V1__MetadataEntry *entries[1] = { &auth };
    char *bearer = NULL;
    Crm__V1__RequestHeaders h = CRM__V1__REQUEST_HEADERS__INIT;
    h.method = (char *)o->method;
    h.authority = (char *)(o->authority ? o->authority : "");
    h.idempotent = o->idempotent;
    if (o->bearer_token) {
        size_t n = strlen(o->bearer_token) + 8;
        bearer = malloc(n);
        if (!bearer) { set_status(status, CRM_RESOURCE_EXHAUSTED, "out of memory"); return false; }
        snprintf(bearer, n, "Bearer %s", o->bearer_token);
        auth.key = "authorization";
        auth.value_case = CRM__V1__METADATA_ENTRY__VALUE_TEXT;
        auth.text = bearer;
        h.n_metadata = 1;
        h.metadata = entries;
    }
    if (c->call.deadline) {
        int64_t left = c->call.deadline - now_ms(); /* 11: whole ms, never 0 for a live deadline */
        if (left <= 0) {
            free(bearer);
            set_status(status, CRM_DEADLINE_EXCEEDED, "the deadline passed before the call started");
            return false;
        }
        h.timeout_ms = left;
    }
    size_t size = protobuf_c_message_get_packed_size(&h.base);
    if (size > c->peer.max_header || size > c->peer.max_frame) {
        free(bearer);
        set_status(status, CRM_RESOURCE_EXHAUSTED, "request headers of %zu bytes are over the server's limit of %llu",
                   size, (unsigned long long)c->peer.max_header);
        return false;
    }
    c->call.id = c->next_stream_id;
    c->next_stream_id += 2;
    c->call.active = true;
    c->call.send_window = (int64_t)c->peer.initial_window;
    c->call.recv_left = OUR_STREAM_WINDOW;
    bool ok = send_frame(c, F_HEADERS, 0, c->call.id, &h.base);
    free(bearer);
    if (!ok) {
        c->broken = true;
        close_call(c, CRM_UNAVAILABLE, "the connection was lost while opening the call");
        *status = c->call.status;
        return false;
    }
    return true;
}

/* Fails the call locally when its deadline has passed (11). */
static bool deadline_passed(crm_conn *c) {
    if (c->call.active && c->call.deadline && now_ms() >= c->call.deadline) {
        reset_call(c, CRM_DEADLINE_EXCEEDED, "the deadline passed before the call finished");
        return true;
    }
    return false;
}

bool crm_call_send(crm_conn *c, const ProtobufCMessage *request, crm_status *status) {
    size_t n = protobuf_c_message_get_packed_size(request);
    uint64_t largest = c->peer.max_message < c->peer.max_frame ? c->peer.max_message : c->peer.max_frame;
    pump_ready(c);
    if (c->call.active && n > largest) {
        char text[200];
        snprintf(text, sizeof text, "request message of %zu bytes is over the server's limit of %llu", n,
                 (unsigned long long)largest);
        reset_call(c, CRM_RESOURCE_EXHAUSTED, text);
    }
    /* 12.2: wait until the message fits both windows. */
    while (c->call.active && ((int64_t)n > c->call.send_window || (int64_t)n > c->send_conn_window)) {
        if (deadline_passed(c)) break;
        if (!pump(c, c->call.deadline ? c->call.deadline : now_ms() + 60000)) break;
    }
    if (!c->call.active) {
        *status = c->call.status;
        if (status->code == CRM_OK) set_status(status, CRM_INTERNAL, "the server ended the call before all requests were sent");
        return false;
    }
    uint8_t *buf = malloc(HEADER_LEN + (n ? n : 1));
    if (!buf) { reset_call(c, CRM_RESOURCE_EXHAUSTED, "out of memory"); *status = c->call.status; return false; }
    put_header(buf, (uint32_t)n, F_MESSAGE, 0, c->call.id);
    protobuf_c_message_pack(request, buf + HEADER_LEN);
    bool ok = write_all(c, buf, HEADER_LEN + n, c->call.deadline ? c->call.deadline : now_ms() + 60000);
    free(buf);
    if (!ok) {
        close_call(c, CRM_UNAVAILABLE, "the connection was lost while sending");
        *status = c->call.status;
        return false;
    }
    c->call.send_window -= (int64_t)n;
    c->send_conn_window -= (int64_t)n;
    return true;
}

bool crm_call_finish(crm_conn *c, uint8_t **response, size_t *response_len, crm_status *status) {
    *response = NULL;
    *response_len = 0;
    if (c->call.active && !c->call.half_closed) {
        /* 4.2: the empty END_STREAM MESSAGE half-closes without carrying a message. */
        if (!send_raw_frame(c, F_MESSAGE, FLAG_END_STREAM, c->call.id, NULL, 0)) {
            c->broken = true;
            close_call(c, CRM_UNAVAILABLE, "the connection was lost while half-closing");
        }
        c->call.half_closed = true;
    }
    while (c->call.active) {
        if (deadline_passed(c)) break;
        if (!pump(c, c->call.deadline ? c->call.deadline : now_ms() + 60000)) break;
    }
    if (!c->call.closed) close_call(c, CRM_UNAVAILABLE, "the connection was lost before the call finished");
    *status = c->call.status;
    if (status->code == CRM_OK) {
        *response = c->call.response;
        *response_len = c->call.response_len;
        c->call.response = NULL;
    }
    return status->code == CRM_OK;
}
