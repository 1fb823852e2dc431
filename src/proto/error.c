/* error.c — error values of the protocol: the codes, sentences and the
 * error member of a reply (proto.h). */
#include "proto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#define X(name, code, doc) const char PROTO_E_##name[] = code;
PROTO_ERRORS(X)
#undef X
const char PROTO_E_CLOSED[] = "closed";
const char PROTO_E_IO[] = "io";

int proto_error_set(proto_error *e, int rc, const char *code,
                    const char *field, const char *fmt, ...)
{
    if (!e)
        return rc;
    e->code = code;
    snprintf(e->field, sizeof e->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return rc;
}

/* A key path is what config/spec put before ": " — no spaces, not empty. */
void proto_error_from_sentence(proto_error *e, const char *code,
                               const char *sentence)
{
    e->code = code;
    e->field[0] = '\0';
    const char *colon = strstr(sentence, ": ");
    size_t n = colon ? (size_t)(colon - sentence) : 0;
    bool is_path = n > 0 && n < sizeof e->field;
    for (size_t i = 0; is_path && i < n; i++)
        if (sentence[i] == ' ' || sentence[i] == '"')
            is_path = false;
    if (is_path) {
        memcpy(e->field, sentence, n);
        e->field[n] = '\0';
        sentence = colon + 2;
    }
    snprintf(e->message, sizeof e->message, "%s", sentence);
}

static const char *const known_codes[] = {
#define X(name, code, doc) PROTO_E_##name,
    PROTO_ERRORS(X)
#undef X
};

int proto_reply_status(const cJSON *reply, proto_error *e)
{
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok")))
        return 0;
    const cJSON *eo = cJSON_GetObjectItemCaseSensitive(reply, "error");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(eo, "code");
    const cJSON *field = cJSON_GetObjectItemCaseSensitive(eo, "field");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(eo, "message");
    const char *c = cJSON_IsString(code) ? code->valuestring : "internal";
    e->code = NULL;
    for (size_t i = 0; i < sizeof known_codes / sizeof known_codes[0]; i++)
        if (strcmp(c, known_codes[i]) == 0)
            e->code = known_codes[i];
    if (!e->code) {
        snprintf(e->code_buf, sizeof e->code_buf, "%s", c);
        e->code = e->code_buf;
    }
    snprintf(e->field, sizeof e->field, "%s",
             cJSON_IsString(field) ? field->valuestring : "");
    snprintf(e->message, sizeof e->message, "%s",
             cJSON_IsString(msg) ? msg->valuestring : "(no message)");
    return -EREMOTEIO;
}
