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
#include <openssl/rand.h>
#include <openssl/bn.h>
#include <openssl/ec.h>

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

/* OPENSSL_free is a macro that passes the caller's file and line to CRYPTO_free. */
static inline void crm_OPENSSL_free(void *pointer) {
    OPENSSL_free(pointer);
}

/* sk_GENERAL_NAME_* are macros over the generic OPENSSL_sk_* stack functions. */
static inline int crm_sk_GENERAL_NAME_num(const GENERAL_NAMES *names) {
    return sk_GENERAL_NAME_num(names);
}

static inline const GENERAL_NAME *crm_sk_GENERAL_NAME_value(const GENERAL_NAMES *names, int index) {
    return sk_GENERAL_NAME_value(names, index);
}

/* A GENERAL_NAME is a tagged C union; these read it without Swift touching the union. */
static inline int crm_GENERAL_NAME_type(const GENERAL_NAME *name) {
    return name->type;
}

/* The string behind a DNS, e-mail, URI or IP address name; NULL for every other kind. */
static inline const ASN1_STRING *crm_GENERAL_NAME_string(const GENERAL_NAME *name) {
    switch (name->type) {
    case GEN_DNS: return name->d.dNSName;
    case GEN_EMAIL: return name->d.rfc822Name;
    case GEN_URI: return name->d.uniformResourceIdentifier;
    case GEN_IPADD: return name->d.iPAddress;
    default: return NULL;
    }
}

static inline int crm_tls_ext_alpn(void) { return TLSEXT_TYPE_application_layer_protocol_negotiation; }

/*
 * Flags for X509_NAME_print_ex: RFC 2253 order and escaping ("CN=x,O=y", most specific first), but
 * with non-ASCII characters printed as UTF-8 rather than escaped as \XX.
 */
static inline unsigned long crm_xn_flags_rfc2253_utf8(void) {
    return (XN_FLAG_RFC2253 & ~(unsigned long)ASN1_STRFLGS_ESC_MSB) | ASN1_STRFLGS_UTF8_CONVERT;
}

#endif
