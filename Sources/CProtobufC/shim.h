#ifndef CRM_CPROTOBUFC_SHIM_H
#define CRM_CPROTOBUFC_SHIM_H

#include <protobuf-c/protobuf-c.h>

/* `protobuf_c_empty_string` is an incomplete array, which Swift cannot import;
 * proto3 string fields that are unset point at it. */
static inline const char *crm_protobuf_c_empty_string(void) {
    return protobuf_c_empty_string;
}

/* The library's version, for `crmd --version` and diagnostics. */
static inline const char *crm_protobuf_c_version(void) {
    return protobuf_c_version();
}

#endif
