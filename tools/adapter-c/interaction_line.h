/* One line of crm-push's input file: the tab-separated interaction format of README.md. */
#ifndef INTERACTION_LINE_H
#define INTERACTION_LINE_H

#include <stdbool.h>
#include <stddef.h>

#include "CRMProtoC.h"

#define MAX_STATED_HANDLES 8

/* An interaction parsed from one line; `interaction` points into the struct's own storage and
 * into `text`, so it lives as long as the struct. Free with interaction_line_clear. */
typedef struct {
    Crm__V1__Interaction interaction;
    Crm__V1__IdempotencyKey key;
    Crm__V1__Handle handle;
    Crm__V1__Handle stated[MAX_STATED_HANDLES];
    Crm__V1__Handle *stated_ptrs[MAX_STATED_HANDLES];
    char *text; /* a copy of the line, cut into the fields */
} interaction_line;

/* Parses `line` (`len` bytes, without its newline). On success fills `out` (adapter_id is
 * referenced, not copied) and returns true; otherwise writes why into `why` and returns false.
 * Returns false with why[0] == 0 for a line to skip (blank or a # comment). */
bool interaction_line_parse(const char *line, size_t len, const char *adapter_id, interaction_line *out,
                            char *why, size_t why_len);

void interaction_line_clear(interaction_line *line);

#endif
