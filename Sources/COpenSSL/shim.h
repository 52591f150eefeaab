#ifndef CRM_COPENSSL_SHIM_H
#define CRM_COPENSSL_SHIM_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>

/*
 * OpenSSL exposes much of its API as function-like macros over SSL_ctrl,
 * SSL_CTX_ctrl and BIO_ctrl. Swift imports functions, not such macros, so
 * each one the TLS layer needs is wrapped here as a static inline function
 * with the macro's name prefixed by `crm_`.
 */

static inline int crm_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

static inline int crm_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}

static inline long crm_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}

static inline long crm_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}

static inline int crm_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *list) {
    return (int)SSL_CTX_set1_groups_list(ctx, list);
}

static inline int crm_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

static inline long crm_SSL_set_mode(SSL *ssl, long mode) {
    return SSL_set_mode(ssl, mode);
}

static inline size_t crm_BIO_pending(BIO *bio) {
    return (size_t)BIO_pending(bio);
}

static inline size_t crm_BIO_wpending(BIO *bio) {
    return (size_t)BIO_wpending(bio);
}

static inline int crm_BIO_set_mem_eof_return(BIO *bio, int value) {
    return (int)BIO_set_mem_eof_return(bio, value);
}

static inline int crm_BIO_get_mem_data(BIO *bio, char **data) {
    return (int)BIO_get_mem_data(bio, data);
}

static inline unsigned long crm_SSL_CTX_options_no_renegotiation(void) {
    return SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE;
}

static inline long crm_mode_release_buffers(void) {
    return SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE;
}

static inline int crm_tls1_2_version(void) { return TLS1_2_VERSION; }
static inline int crm_tls1_3_version(void) { return TLS1_3_VERSION; }

/* The version string of the OpenSSL library loaded at run time. */
static inline const char *crm_openssl_version(void) {
    return OpenSSL_version(OPENSSL_VERSION);
}

#endif
