/*
 * Client JSON of emitter entries (evj.h). The arguments are already JSON
 * in the entry (common/rde.c wrote them), so this only frames them: the
 * event name escaped, brackets, commas and the offset.
 */
#include <string.h>

#include "evj.h"
#include "msg.h"

/* Append s[0..n) at out + *len when it and a NUL fit; count it anyway. */
static void
evj_put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    if (out != NULL && *len < cap && n < cap - *len) {
        if (n > 0)
            memcpy(out + *len, s, n);
        out[*len + n] = '\0';
    }
    *len += n;
}

void
evj_put_str(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    static const char hexd[] = "0123456789abcdef";
    size_t run = 0;

    evj_put(out, cap, len, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[6] = {'\\', 'u', '0', '0', hexd[ch >> 4], hexd[ch & 15]};
        size_t el = 6;

        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        evj_put(out, cap, len, s + run, i - run);
        run = i + 1;
        switch (ch) {
        case '"': case '\\': esc[1] = (char)ch; el = 2; break;
        case '\b': esc[1] = 'b'; el = 2; break;
        case '\f': esc[1] = 'f'; el = 2; break;
        case '\n': esc[1] = 'n'; el = 2; break;
        case '\r': esc[1] = 'r'; el = 2; break;
        case '\t': esc[1] = 't'; el = 2; break;
        }
        evj_put(out, cap, len, esc, el);
    }
    evj_put(out, cap, len, s + run, n - run);
    evj_put(out, cap, len, "\"", 1);
}

size_t
evj_sio_array(const struct msg_view *v, const char *offset, char *out,
    size_t cap)
{
    size_t n = 0;

    if (out != NULL && cap > 0)
        out[0] = '\0';
    evj_put(out, cap, &n, "[", 1);
    evj_put_str(out, cap, &n, v->event.p, v->event.n);
    if (v->nargs > 0) {
        evj_put(out, cap, &n, ",", 1);
        evj_put(out, cap, &n, v->data.p, v->data.n);
    }
    if (offset != NULL) {
        evj_put(out, cap, &n, ",", 1);
        evj_put_str(out, cap, &n, offset, strlen(offset));
    }
    evj_put(out, cap, &n, "]", 1);
    return n;
}

size_t
evj_ws_data(const struct msg_view *v, char *out, size_t cap)
{
    size_t n = 0;

    if (out != NULL && cap > 0)
        out[0] = '\0';
    if (v->nargs == 0) {
        evj_put(out, cap, &n, "null", 4);
    } else if (v->nargs == 1) {
        evj_put(out, cap, &n, v->data.p, v->data.n);
    } else {
        evj_put(out, cap, &n, "[", 1);
        evj_put(out, cap, &n, v->data.p, v->data.n);
        evj_put(out, cap, &n, "]", 1);
    }
    return n;
}
