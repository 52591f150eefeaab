/* A crm/1 client connection (docs/PROTOCOL.md): TLS with ALPN "crm/1", the preface, settings,
 * frames, flow control and one call at a time. Blocking API over a non-blocking socket. */
#ifndef CRM_CONN_H
#define CRM_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* Status codes of section 10 (the numbers of crm.v1.StatusCode). */
enum {
    CRM_OK = 0, CRM_CANCELLED = 1, CRM_UNKNOWN = 2, CRM_INVALID_ARGUMENT = 3,
    CRM_DEADLINE_EXCEEDED = 4, CRM_NOT_FOUND = 5, CRM_ALREADY_EXISTS = 6,
    CRM_PERMISSION_DENIED = 7, CRM_RESOURCE_EXHAUSTED = 8, CRM_FAILED_PRECONDITION = 9,
    CRM_ABORTED = 10, CRM_OUT_OF_RANGE = 11, CRM_UNIMPLEMENTED = 12, CRM_INTERNAL = 13,
    CRM_UNAVAILABLE = 14, CRM_DATA_LOSS = 15, CRM_UNAUTHENTICATED = 16
};

/* The outcome of a call or of opening a connection. */
typedef struct {
    int code;            /* a status code above */
    char message[512];   /* for people; empty on success */
} crm_status;

/* Where to connect and how to authenticate the TLS session. */
typedef struct {
    const char *host;       /* DNS name or IP address literal */
    const char *port;       /* decimal TCP port */
    const char *ca_file;    /* PEM bundle the server's certificate must chain to */
    const char *cert_file;  /* optional client certificate chain (PEM) for mutual TLS */
    const char *key_file;   /* its private key (PEM); required with cert_file */
    int connect_timeout_ms; /* TCP connect + TLS handshake + the server's first SETTINGS */
} crm_endpoint;

typedef struct crm_conn crm_conn;

/* Connects, completes TLS (ALPN crm/1, chain and host/IP verification), sends the preface and an
 * empty SETTINGS and waits for the server's first SETTINGS. NULL on failure, with *status set
 * (UNAVAILABLE for network and TLS failures). */
crm_conn *crm_conn_open(const crm_endpoint *endpoint, crm_status *status);

/* True while the connection may open a new stream (no GOAWAY received, no error). */
bool crm_conn_usable(const crm_conn *conn);

/* Sends GOAWAY OK, TLS close_notify, closes the socket and frees everything. NULL is allowed. */
void crm_conn_close(crm_conn *conn);

/* A client-streaming call on `conn`: start, send each request, finish for the one response.
 * Only one call may be in progress on a connection. */
typedef struct {
    const char *method;       /* "/crm.v1.InteractionService/PushInteractions" */
    const char *authority;    /* "host:port" */
    const char *bearer_token; /* NULL: no authorization metadata */
    int64_t timeout_ms;       /* the call's deadline from now; 0 = none */
    bool idempotent;
} crm_call_options;

/* Opens a stream (HEADERS). false with *status set on failure. */
bool crm_call_start(crm_conn *conn, const crm_call_options *options, crm_status *status);

/* Sends one request MESSAGE, waiting for flow-control credit. false with *status when the call
 * has failed (it may have ended early: the server's status is then in *status). */
bool crm_call_send(crm_conn *conn, const ProtobufCMessage *request, crm_status *status);

/* Half-closes and waits for the TRAILERS. On OK, *response and *response_len hold the one response
 * message's bytes (malloc'd, the caller frees). Returns status->code == CRM_OK. */
bool crm_call_finish(crm_conn *conn, uint8_t **response, size_t *response_len, crm_status *status);

/* The name of a status code ("PERMISSION_DENIED"). */
const char *crm_status_name(int code);

#endif
