/*
 * mw_http.h - how the plugin reaches the render service: discovery through server.json, a
 * minimal HTTP/1.1 client over a loopback TCP socket with a hard deadline, and starting
 * `motionwright serve --detach` when the service is not running.
 */
#ifndef MW_HTTP_H
#define MW_HTTP_H

#include <stddef.h>

typedef struct mw_server {
    char host[64];   /* dotted IPv4 loopback address from the url */
    int port;
    char token[160]; /* bearer token */
} mw_server;

typedef struct mw_reply {
    int status;  /* HTTP status code */
    char *body;  /* NUL-terminated body (malloc'd), or NULL */
    size_t len;
} mw_reply;

/* Largest reply body accepted (a job list is the biggest thing the plugin ever reads). */
#define MW_HTTP_MAX_BODY (4u << 20)

/* The directory holding server.json (the service contract's runtime_dir rule) into out. */
int mw_runtime_dir(char *out, size_t n);
/* Read <runtime_dir>/server.json into s: 0; -1 when there is none (the service is not
 * running); -2 when it is unusable (unreadable, or not a loopback URL); a reason in err. */
int mw_discover(mw_server *s, char *err, size_t errn);
/* One request (body may be NULL) with everything (connect, send, receive) done within
 * timeout_ms: 0 and *r filled; -2 when nothing listens (connection refused or timed out);
 * -1 for any other failure; a reason in err. */
int mw_http(const mw_server *s, const char *method, const char *path, const char *body,
            int timeout_ms, mw_reply *r, char *err, size_t errn);
void mw_reply_free(mw_reply *r);
/* Start `motionwright serve --detach` in the background (never waits for it): 0 when launched,
 * -1 when no `motionwright` executable is found ($MOTIONWRIGHT_BIN, then PATH). */
int mw_start_service(char *err, size_t errn);
/* Run argv (argv[0] looked up on PATH unless it holds a '/') detached from the host, with
 * stdio on /dev/null; 0 when launched, -1 with errno when fork failed. */
int mw_spawn_detached(char *const argv[]);

#endif
