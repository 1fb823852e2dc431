/* ops.c — the operations' names, from the one list in proto.h. */
#include "proto.h"

#include <stdio.h>
#include <string.h>

static const char *const names[] = {
#define X(name, doc) #name,
    PROTO_OPS(X)
#undef X
};

const char *proto_op_name(enum proto_op op)
{
    return (unsigned)op < PROTO_OP_COUNT ? names[op] : NULL;
}

enum proto_op proto_op_find(const char *name)
{
    for (int i = 0; i < PROTO_OP_COUNT; i++)
        if (strcmp(names[i], name) == 0)
            return (enum proto_op)i;
    return PROTO_OP_COUNT;
}

void proto_op_list(char *buf, size_t len)
{
    size_t off = 0;
    if (len)
        buf[0] = '\0';
    for (int i = 0; i < PROTO_OP_COUNT; i++) {
        const char *sep = i == 0 ? "" : i == PROTO_OP_COUNT - 1 ? " or " : ", ";
        int n = snprintf(buf + off, len - off, "%s%s", sep, names[i]);
        if (n < 0 || (size_t)n >= len - off)
            return;   /* cut: the buffer holds what fitted */
        off += (size_t)n;
    }
}
