/*
 * mw_json.h - a tiny read-only JSON reader for the few fields the plugin needs from the render
 * service's replies, server.json and project files. It works on NUL-terminated text in place:
 * a "value" is a pointer to its first character. Malformed input gives NULL / -1, never a crash.
 */
#ifndef MW_JSON_H
#define MW_JSON_H

#include <stddef.h>

/* Pointer just past the value starting at p (leading whitespace allowed), or NULL if malformed. */
const char *mwj_skip(const char *p);
/* The value of key in the object starting at obj ('{'), or NULL when absent or malformed. */
const char *mwj_get(const char *obj, const char *key);
/* The i-th element (0-based) of the array starting at arr ('['), or NULL. */
const char *mwj_at(const char *arr, int i);
/* Decode the string value at v into out (size n, always NUL-terminated): 0, or -1 when v is
 * not a string, malformed, or does not fit. */
int mwj_string(const char *v, char *out, size_t n);
/* The number at v: 0 and *out set, or -1. */
int mwj_number(const char *v, double *out);
/* 1 when the value at v is the literal null (or v is NULL), else 0. */
int mwj_is_null(const char *v);
/* Append s to out (size n, NUL-terminated) as a JSON string literal with quotes: 0, or -1 when
 * it does not fit. */
int mwj_quote(char *out, size_t n, const char *s);

#endif
