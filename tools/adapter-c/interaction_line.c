/* Parsing of crm-push's tab-separated interaction lines (README.md, "The input format"). */
#define _POSIX_C_SOURCE 200809L
#include "interaction_line.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct { const char *word; int value; } word_value;

static const word_value CHANNELS[] = {
    { "whatsapp", CRM__V1__CHANNEL__CHANNEL_WHATSAPP }, { "wa", CRM__V1__CHANNEL__CHANNEL_WHATSAPP },
    { "instagram-dm", CRM__V1__CHANNEL__CHANNEL_INSTAGRAM_DM }, { "instagram", CRM__V1__CHANNEL__CHANNEL_INSTAGRAM_DM },
    { "ig", CRM__V1__CHANNEL__CHANNEL_INSTAGRAM_DM }, { "tiktok", CRM__V1__CHANNEL__CHANNEL_TIKTOK },
    { "messenger", CRM__V1__CHANNEL__CHANNEL_FACEBOOK_MESSENGER },
    { "facebook-messenger", CRM__V1__CHANNEL__CHANNEL_FACEBOOK_MESSENGER },
    { "email", CRM__V1__CHANNEL__CHANNEL_EMAIL }, { "e-mail", CRM__V1__CHANNEL__CHANNEL_EMAIL },
    { "phone-call", CRM__V1__CHANNEL__CHANNEL_PHONE_CALL }, { "phone", CRM__V1__CHANNEL__CHANNEL_PHONE_CALL },
    { "video-call", CRM__V1__CHANNEL__CHANNEL_VIDEO_CALL }, { "sms", CRM__V1__CHANNEL__CHANNEL_SMS },
    { "web-chat", CRM__V1__CHANNEL__CHANNEL_WEB_CHAT }, { "webchat", CRM__V1__CHANNEL__CHANNEL_WEB_CHAT },
    { "letter", CRM__V1__CHANNEL__CHANNEL_LETTER }, { "fax", CRM__V1__CHANNEL__CHANNEL_FAX },
    { "in-person", CRM__V1__CHANNEL__CHANNEL_IN_PERSON }, { "internal-note", CRM__V1__CHANNEL__CHANNEL_INTERNAL_NOTE },
    { NULL, 0 } };

static const word_value DIRECTIONS[] = {
    { "inbound", CRM__V1__DIRECTION__DIRECTION_INBOUND }, { "in", CRM__V1__DIRECTION__DIRECTION_INBOUND },
    { "outbound", CRM__V1__DIRECTION__DIRECTION_OUTBOUND }, { "out", CRM__V1__DIRECTION__DIRECTION_OUTBOUND },
    { NULL, 0 } };

static const word_value INTENTS[] = {
    { "", CRM__V1__INTENT__INTENT_UNSPECIFIED }, { "-", CRM__V1__INTENT__INTENT_UNSPECIFIED },
    { "complaint", CRM__V1__INTENT__INTENT_COMPLAINT }, { "order", CRM__V1__INTENT__INTENT_ORDER },
    { "information-request", CRM__V1__INTENT__INTENT_INFORMATION_REQUEST },
    { "info", CRM__V1__INTENT__INTENT_INFORMATION_REQUEST }, { "feedback", CRM__V1__INTENT__INTENT_FEEDBACK },
    { "other", CRM__V1__INTENT__INTENT_OTHER }, { NULL, 0 } };

/* Handle prefixes, as the crm CLI writes them (README.md, "Customers and handles"). */
static const word_value HANDLE_KINDS[] = {
    { "phone", CRM__V1__HANDLE_KIND__HANDLE_KIND_PHONE }, { "email", CRM__V1__HANDLE_KIND__HANDLE_KIND_EMAIL },
    { "wa", CRM__V1__HANDLE_KIND__HANDLE_KIND_WHATSAPP }, { "whatsapp", CRM__V1__HANDLE_KIND__HANDLE_KIND_WHATSAPP },
    { "ig", CRM__V1__HANDLE_KIND__HANDLE_KIND_INSTAGRAM }, { "instagram", CRM__V1__HANDLE_KIND__HANDLE_KIND_INSTAGRAM },
    { "tiktok", CRM__V1__HANDLE_KIND__HANDLE_KIND_TIKTOK }, { "fb", CRM__V1__HANDLE_KIND__HANDLE_KIND_FACEBOOK },
    { "facebook", CRM__V1__HANDLE_KIND__HANDLE_KIND_FACEBOOK }, { "oms", CRM__V1__HANDLE_KIND__HANDLE_KIND_ORDER_SYSTEM_ID },
    { "webchat", CRM__V1__HANDLE_KIND__HANDLE_KIND_WEB_CHAT_VISITOR }, { NULL, 0 } };

static bool lookup(const word_value *table, const char *word, int *value) {
    for (; table->word; table++)
        if (strcasecmp(table->word, word) == 0) { *value = table->value; return true; }
    return false;
}

/* Valid UTF-8 (5: strings must be), checked here so one bad line cannot fail a whole push. */
static bool valid_utf8(const unsigned char *s) {
    while (*s) {
        unsigned c = *s;
        int n = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xE ? 2 : (c >> 3) == 0x1E ? 3 : -1;
        if (n < 0 || (n == 1 && c < 0xC2) || (n == 3 && c > 0xF4)) return false;
        uint32_t cp = n == 0 ? c : c & (0x3F >> n);
        for (int i = 1; i <= n; i++) {
            if ((s[i] & 0xC0) != 0x80) return false;
            cp = cp << 6 | (s[i] & 0x3F);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
        s += n + 1;
    }
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Unix milliseconds, or an RFC 3339 time: 2024-05-01T14:03:00+07:00, ...Z, seconds and a
 * fraction optional. */
static bool parse_time(const char *s, int64_t *ms) {
    size_t len = strlen(s);
    if (len == 0) return false;
    if (strspn(s, "0123456789") == len) {
        if (len > 15) return false;
        *ms = strtoll(s, NULL, 10);
        return true;
    }
    int y, mo, d, h, mi, sec = 0, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%*[T ]%2d:%2d%n", &y, &mo, &d, &h, &mi, &n) != 5 || n < 16) return false;
    const char *p = s + n;
    int64_t frac = 0;
    if (*p == ':') {
        if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2])) return false;
        sec = (p[1] - '0') * 10 + (p[2] - '0');
        p += 3;
        if (*p == '.') {
            int digits = 0;
            for (p++; isdigit((unsigned char)*p); p++, digits++)
                if (digits < 3) frac = frac * 10 + (*p - '0');
            if (digits == 0) return false;
            for (; digits < 3; digits++) frac *= 10;
        }
    }
    int offset_min;
    if (*p == 'Z' || *p == 'z') { offset_min = 0; p++; }
    else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) && p[3] == ':' &&
             isdigit((unsigned char)p[4]) && isdigit((unsigned char)p[5])) {
        offset_min = ((p[1] - '0') * 10 + (p[2] - '0')) * 60 + (p[4] - '0') * 10 + (p[5] - '0');
        if (*p == '-') offset_min = -offset_min;
        p += 6;
    } else return false;
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return false;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    *ms = secs * 1000 + frac;
    return true;
}

/* "kind:value" into `handle`; the value is referenced in place. */
static bool parse_handle(char *text, Crm__V1__Handle *handle) {
    char *colon = strchr(text, ':');
    if (!colon || colon == text || colon[1] == 0) return false;
    *colon = 0;
    int kind;
    if (!lookup(HANDLE_KINDS, text, &kind)) { *colon = ':'; return false; }
    crm__v1__handle__init(handle);
    handle->kind = (Crm__V1__HandleKind)kind;
    handle->value = colon + 1;
    return true;
}

/* Undoes the body's escapes in place: \t \n \r \\. */
static bool unescape(char *s) {
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r != '\\') { *w++ = *r; continue; }
        r++;
        switch (*r) {
        case 't': *w++ = '\t'; break;
        case 'n': *w++ = '\n'; break;
        case 'r': *w++ = '\r'; break;
        case '\\': *w++ = '\\'; break;
        default: return false;
        }
    }
    *w = 0;
    return true;
}

static void trim(char **s) {
    while (**s == ' ') (*s)++;
    char *e = *s + strlen(*s);
    while (e > *s && e[-1] == ' ') *--e = 0;
}

bool interaction_line_parse(const char *line, size_t len, const char *adapter_id, interaction_line *out,
                            char *why, size_t why_len) {
    memset(out, 0, sizeof *out);
    why[0] = 0;
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n')) len--;
    size_t lead = 0;
    while (lead < len && (line[lead] == ' ' || line[lead] == '\t')) lead++;
    if (lead == len || line[lead] == '#') return false;
    if (memchr(line, 0, len)) { snprintf(why, why_len, "line: contains a NUL byte"); return false; }
    out->text = malloc(len + 1);
    if (!out->text) { snprintf(why, why_len, "line: out of memory"); return false; }
    memcpy(out->text, line, len);
    out->text[len] = 0;
    if (!valid_utf8((const unsigned char *)out->text)) {
        snprintf(why, why_len, "line: is not valid UTF-8; save the file as UTF-8");
        goto fail;
    }
    char *field[8] = { 0 };
    int n = 0;
    for (char *p = out->text;; ) {
        if (n == 8) { snprintf(why, why_len, "line: has more than 8 tab-separated fields"); goto fail; }
        field[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab) break;
        *tab = 0;
        p = tab + 1;
    }
    if (n < 7) {
        snprintf(why, why_len, "line: has %d tab-separated fields; expected 7 (channel, direction, handle, time, intent, body, external id) and optionally stated handles", n);
        goto fail;
    }
    static const char *names[] = { "channel", "direction", "handle", "time", "intent", "body", "external_id", "stated_handles" };
    for (int i = 0; i < n; i++) if (i != 5) trim(&field[i]);

    Crm__V1__Interaction *it = &out->interaction;
    crm__v1__interaction__init(it);
    int v;
    if (!lookup(CHANNELS, field[0], &v)) {
        snprintf(why, why_len, "%s: '%s' is not a channel (whatsapp, instagram-dm, tiktok, messenger, email, phone-call, video-call, sms, web-chat, letter, fax, in-person, internal-note)", names[0], field[0]);
        goto fail;
    }
    it->channel = (Crm__V1__Channel)v;
    if (!lookup(DIRECTIONS, field[1], &v)) {
        snprintf(why, why_len, "%s: '%s' is not inbound or outbound", names[1], field[1]);
        goto fail;
    }
    it->direction = (Crm__V1__Direction)v;
    if (!parse_handle(field[2], &out->handle)) {
        snprintf(why, why_len, "%s: '%s' is not kind:value (phone, email, wa, ig, tiktok, fb, oms, webchat)", names[2], field[2]);
        goto fail;
    }
    it->handle = &out->handle;
    if (!parse_time(field[3], &it->occurred_ms)) {
        snprintf(why, why_len, "%s: '%s' is neither Unix milliseconds nor a time like 2024-05-01T14:03:00+07:00", names[3], field[3]);
        goto fail;
    }
    if (!lookup(INTENTS, field[4], &v)) {
        snprintf(why, why_len, "%s: '%s' is not complaint, order, information-request, feedback, other or empty", names[4], field[4]);
        goto fail;
    }
    it->intent = (Crm__V1__Intent)v;
    if (!unescape(field[5])) {
        snprintf(why, why_len, "%s: a backslash must start \\t, \\n, \\r or \\\\", names[5]);
        goto fail;
    }
    it->body = field[5];
    if (field[6][0] == 0) {
        snprintf(why, why_len, "%s: is empty; every line needs the id the channel gave the message", names[6]);
        goto fail;
    }
    crm__v1__idempotency_key__init(&out->key);
    out->key.adapter_id = (char *)adapter_id;
    out->key.external_id = field[6];
    it->key = &out->key;
    if (n == 8 && field[7][0]) {
        size_t count = 0;
        for (char *save = NULL, *h = strtok_r(field[7], ";", &save); h; h = strtok_r(NULL, ";", &save)) {
            trim(&h);
            if (!*h) continue;
            if (count == MAX_STATED_HANDLES) {
                snprintf(why, why_len, "%s: more than %d handles", names[7], MAX_STATED_HANDLES);
                goto fail;
            }
            if (!parse_handle(h, &out->stated[count])) {
                snprintf(why, why_len, "%s: '%s' is not kind:value", names[7], h);
                goto fail;
            }
            out->stated_ptrs[count] = &out->stated[count];
            count++;
        }
        it->n_stated_handles = count;
        it->stated_handles = out->stated_ptrs;
    }
    return true;
fail:
    interaction_line_clear(out);
    return false;
}

void interaction_line_clear(interaction_line *line) {
    free(line->text);
    line->text = NULL;
}
