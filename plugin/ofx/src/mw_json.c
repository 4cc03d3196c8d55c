/* mw_json.c - see mw_json.h. */
#include "mw_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MWJ_MAX_DEPTH 64

static const char *ws(const char *p)
{
    while (p && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static const char *skip_string(const char *p)
{
    if (*p != '"')
        return NULL;
    for (p++; *p; p++) {
        if (*p == '\\') {
            if (!p[1])
                return NULL;
            p++;
        } else if (*p == '"') {
            return p + 1;
        }
    }
    return NULL;
}

static const char *skip_value(const char *p, int depth)
{
    if (!p || depth > MWJ_MAX_DEPTH)
        return NULL;
    p = ws(p);
    if (*p == '"')
        return skip_string(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        int is_object = *p == '{';
        p = ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (is_object) {
                p = skip_string(ws(p));
                if (!p)
                    return NULL;
                p = ws(p);
                if (*p != ':')
                    return NULL;
                p++;
            }
            p = skip_value(p, depth + 1);
            if (!p)
                return NULL;
            p = ws(p);
            if (*p == ',') {
                p++;
                continue;
            }
            if (*p == close)
                return p + 1;
            return NULL;
        }
    }
    if (!strncmp(p, "true", 4))
        return p + 4;
    if (!strncmp(p, "null", 4))
        return p + 4;
    if (!strncmp(p, "false", 5))
        return p + 5;
    if (*p == '-' || (*p >= '0' && *p <= '9')) {
        const char *q = p;
        while (*q && strchr("+-0123456789.eE", *q))
            q++;
        return q;
    }
    return NULL;
}

const char *mwj_skip(const char *p) { return skip_value(p, 0); }

const char *mwj_get(const char *obj, const char *key)
{
    char name[256];
    const char *p = ws(obj);
    if (!p || *p != '{')
        return NULL;
    p = ws(p + 1);
    if (*p == '}')
        return NULL;
    for (;;) {
        const char *kstart = ws(p);
        const char *kend = skip_string(kstart);
        if (!kend)
            return NULL;
        int match = mwj_string(kstart, name, sizeof name) == 0 && strcmp(name, key) == 0;
        p = ws(kend);
        if (*p != ':')
            return NULL;
        p = ws(p + 1);
        if (match)
            return p;
        p = skip_value(p, 1);
        if (!p)
            return NULL;
        p = ws(p);
        if (*p != ',')
            return NULL;
        p++;
    }
}

const char *mwj_at(const char *arr, int i)
{
    const char *p = ws(arr);
    if (!p || *p != '[' || i < 0)
        return NULL;
    p = ws(p + 1);
    if (*p == ']')
        return NULL;
    for (int k = 0;; k++) {
        p = ws(p);
        if (k == i)
            return p;
        p = skip_value(p, 1);
        if (!p)
            return NULL;
        p = ws(p);
        if (*p != ',')
            return NULL;
        p++;
    }
}

static int put(char *out, size_t n, size_t *len, unsigned int c)
{
    /* UTF-8 encode one code point. */
    unsigned char buf[4];
    size_t k;
    if (c < 0x80) {
        buf[0] = (unsigned char)c;
        k = 1;
    } else if (c < 0x800) {
        buf[0] = (unsigned char)(0xC0 | (c >> 6));
        buf[1] = (unsigned char)(0x80 | (c & 0x3F));
        k = 2;
    } else if (c < 0x10000) {
        buf[0] = (unsigned char)(0xE0 | (c >> 12));
        buf[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        buf[2] = (unsigned char)(0x80 | (c & 0x3F));
        k = 3;
    } else {
        buf[0] = (unsigned char)(0xF0 | (c >> 18));
        buf[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
        buf[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        buf[3] = (unsigned char)(0x80 | (c & 0x3F));
        k = 4;
    }
    if (*len + k + 1 > n)
        return -1;
    memcpy(out + *len, buf, k);
    *len += k;
    return 0;
}

static int hex4(const char *p, unsigned int *out)
{
    unsigned int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned int)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned int)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned int)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

int mwj_string(const char *v, char *out, size_t n)
{
    size_t len = 0;
    if (!out || n == 0)
        return -1;
    out[0] = '\0';
    v = ws(v);
    if (!v || *v != '"')
        return -1;
    for (v++; *v && *v != '"'; v++) {
        unsigned int c = (unsigned char)*v;
        if (c == '\\') {
            v++;
            switch (*v) {
            case '"': c = '"'; break;
            case '\\': c = '\\'; break;
            case '/': c = '/'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'u':
                if (hex4(v + 1, &c))
                    return -1;
                v += 4;
                if (c >= 0xD800 && c < 0xDC00 && v[1] == '\\' && v[2] == 'u') {
                    unsigned int lo;
                    if (hex4(v + 3, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
                        c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                        v += 6;
                    }
                }
                break;
            default:
                return -1;
            }
            if (put(out, n, &len, c))
                return -1;
        } else {
            if (len + 2 > n)
                return -1;
            out[len++] = (char)c;
        }
    }
    if (*v != '"')
        return -1;
    out[len] = '\0';
    return 0;
}

int mwj_number(const char *v, double *out)
{
    char *end;
    v = ws(v);
    if (!v || !(*v == '-' || (*v >= '0' && *v <= '9')))
        return -1;
    double d = strtod(v, &end);
    if (end == v)
        return -1;
    *out = d;
    return 0;
}

int mwj_is_null(const char *v)
{
    v = ws(v);
    return !v || !strncmp(v, "null", 4);
}

int mwj_quote(char *out, size_t n, const char *s)
{
    size_t len = strlen(out);
    if (len + 2 >= n)
        return -1;
    out[len++] = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        size_t k;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            k = 2;
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            k = 6;
        } else {
            esc[0] = (char)c;
            k = 1;
        }
        if (len + k + 2 > n)
            return -1;
        memcpy(out + len, esc, k);
        len += k;
    }
    out[len++] = '"';
    out[len] = '\0';
    return 0;
}
