/* mw_http.c - see mw_http.h. POSIX only (the Windows build is described in packaging/). */
#define _GNU_SOURCE
#include "mw_http.h"

#include "mw_json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* macOS: SO_NOSIGPIPE is set on the socket instead */
#endif

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mw_runtime_dir(char *out, size_t n)
{
    const char *v = getenv("MOTIONWRIGHT_RUNTIME_DIR");
    int k;
    if (v && *v) {
        k = snprintf(out, n, "%s", v);
    } else if ((v = getenv("XDG_RUNTIME_DIR")) && *v) {
        k = snprintf(out, n, "%s/motionwright", v);
    } else if ((v = getenv("XDG_CONFIG_HOME")) && *v) {
        k = snprintf(out, n, "%s/motionwright/run", v);
    } else {
        const char *home = getenv("HOME");
        if (!home || !*home)
            return -1;
        k = snprintf(out, n, "%s/.config/motionwright/run", home);
    }
    return (k < 0 || (size_t)k >= n) ? -1 : 0;
}

static char *read_small_file(const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(max + 1);
    if (!buf) {
        fclose(f);
        return NULL;
    }
    size_t got = fread(buf, 1, max, f);
    int more = fgetc(f) != EOF;
    fclose(f);
    if (more) { /* larger than any server.json: not ours */
        free(buf);
        return NULL;
    }
    buf[got] = '\0';
    return buf;
}

int mw_discover(mw_server *s, char *err, size_t errn)
{
    char dir[1024], path[1100], url[256];
    double port = 0;
    memset(s, 0, sizeof *s);
    if (mw_runtime_dir(dir, sizeof dir)) {
        snprintf(err, errn, "no runtime folder (set MOTIONWRIGHT_RUNTIME_DIR)");
        return -1;
    }
    snprintf(path, sizeof path, "%s/server.json", dir);
    char *text = read_small_file(path, 8192);
    if (!text) {
        snprintf(err, errn, "render service not running (no %s)", path);
        return -1;
    }
    const char *v;
    int ok = (v = mwj_get(text, "url")) && mwj_string(v, url, sizeof url) == 0 &&
             (v = mwj_get(text, "token")) && mwj_string(v, s->token, sizeof s->token) == 0;
    free(text);
    if (!ok) {
        snprintf(err, errn, "unreadable %s: restart the service (motionwright serve)", path);
        return -2;
    }
    /* http://127.0.0.1:PORT[/] - loopback only: the token must never leave the machine. */
    const char *hp = url;
    if (strncmp(hp, "http://", 7) != 0)
        goto bad;
    hp += 7;
    const char *colon = strchr(hp, ':');
    if (!colon || (size_t)(colon - hp) >= sizeof s->host)
        goto bad;
    memcpy(s->host, hp, (size_t)(colon - hp));
    s->host[colon - hp] = '\0';
    if (strcmp(s->host, "localhost") == 0)
        snprintf(s->host, sizeof s->host, "127.0.0.1");
    if (strncmp(s->host, "127.", 4) != 0)
        goto bad;
    port = strtod(colon + 1, NULL);
    if (port < 1 || port > 65535)
        goto bad;
    s->port = (int)port;
    for (const char *t = s->token; *t; t++) /* header injection guard */
        if (*t == '\r' || *t == '\n')
            goto bad;
    return 0;
bad:
    snprintf(err, errn, "server.json names %s, not a loopback http URL", url);
    return -2;
}

static int wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {fd, events, 0};
        int r = poll(&p, 1, (int)left);
        if (r > 0)
            return 0;
        if (r == 0)
            return -1;
        if (errno != EINTR)
            return -1;
    }
}

static int connect_deadline(const mw_server *s, long long deadline, char *err, size_t errn)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)s->port);
    if (inet_pton(AF_INET, s->host, &addr.sin_addr) != 1) {
        snprintf(err, errn, "bad service address %s", s->host);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        snprintf(err, errn, "no socket: %s", strerror(errno));
        return -1;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
#ifdef SO_NOSIGPIPE
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        close(fd);
        snprintf(err, errn, "socket setup failed");
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        if (errno != EINPROGRESS) {
            snprintf(err, errn, "render service not answering on port %d (%s)", s->port,
                     strerror(errno));
            close(fd);
            return -1;
        }
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (wait_fd(fd, POLLOUT, deadline) ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) || soerr) {
            snprintf(err, errn, "render service not answering on port %d (%s)", s->port,
                     soerr ? strerror(soerr) : "timed out");
            close(fd);
            return -1;
        }
    }
    return fd;
}

static int send_all(int fd, const char *data, size_t len, long long deadline)
{
    while (len) {
        if (wait_fd(fd, POLLOUT, deadline))
            return -1;
        ssize_t k = send(fd, data, len, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            return -1;
        }
        data += k;
        len -= (size_t)k;
    }
    return 0;
}

/* Decode a chunked body in place; returns the decoded length or -1. */
static long dechunk(char *body, size_t len)
{
    size_t in = 0, out = 0;
    for (;;) {
        char *end;
        if (in >= len)
            return -1;
        unsigned long size = strtoul(body + in, &end, 16);
        char *crlf = strstr(body + in, "\r\n");
        if (!crlf || end == body + in)
            return -1;
        in = (size_t)(crlf - body) + 2;
        if (size == 0)
            break;
        if (size > len - in)
            return -1;
        memmove(body + out, body + in, size);
        out += size;
        in += size + 2;
    }
    body[out] = '\0';
    return (long)out;
}

int mw_http(const mw_server *s, const char *method, const char *path, const char *body,
            int timeout_ms, mw_reply *r, char *err, size_t errn)
{
    long long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 1);
    size_t body_len = body ? strlen(body) : 0;
    char head[1024];
    memset(r, 0, sizeof *r);
    int hk = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
                      "Accept: application/json\r\nConnection: close\r\n"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                      method, path, s->host, s->port, s->token, body_len);
    if (hk < 0 || (size_t)hk >= sizeof head) {
        snprintf(err, errn, "request line too long");
        return -1;
    }
    int fd = connect_deadline(s, deadline, err, errn);
    if (fd < 0)
        return -2;
    if (send_all(fd, head, (size_t)hk, deadline) || (body_len && send_all(fd, body, body_len, deadline))) {
        close(fd);
        snprintf(err, errn, "render service closed the connection or timed out while sending");
        return -1;
    }
    size_t cap = 8192, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        snprintf(err, errn, "out of memory");
        return -1;
    }
    long long want = -1; /* total bytes (head + body) once Content-Length is known */
    char *body_start = NULL;
    for (;;) {
        if (want >= 0 && (long long)len >= want)
            break;
        if (wait_fd(fd, POLLIN, deadline)) {
            snprintf(err, errn, "render service did not answer within %d ms", timeout_ms);
            goto fail;
        }
        if (len == cap) {
            if (cap >= MW_HTTP_MAX_BODY + 16384) {
                snprintf(err, errn, "render service reply too large");
                goto fail;
            }
            cap *= 2;
            char *grown = realloc(buf, cap + 1);
            if (!grown) {
                snprintf(err, errn, "out of memory");
                goto fail;
            }
            buf = grown;
            if (body_start)
                body_start = NULL; /* recomputed below */
        }
        ssize_t k = recv(fd, buf + len, cap - len, 0);
        if (k < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            snprintf(err, errn, "render service connection failed: %s", strerror(errno));
            goto fail;
        }
        if (k == 0)
            break; /* connection closed: the body ends here */
        len += (size_t)k;
        buf[len] = '\0';
        if (want < 0) {
            char *sep = strstr(buf, "\r\n\r\n");
            if (sep) {
                *sep = '\0';
                const char *cl = strcasestr(buf, "\r\ncontent-length:");
                if (cl) {
                    long long n = strtoll(cl + 17, NULL, 10);
                    if (n < 0 || n > (long long)MW_HTTP_MAX_BODY) {
                        snprintf(err, errn, "render service reply has a bad length");
                        goto fail;
                    }
                    want = (long long)(sep - buf) + 4 + n;
                }
                *sep = '\r';
            }
        }
    }
    close(fd);
    fd = -1;
    buf[len] = '\0';
    char *sep = strstr(buf, "\r\n\r\n");
    int status = 0;
    if (!sep || sscanf(buf, "HTTP/1.%*d %d", &status) != 1 || status < 100 || status > 599) {
        snprintf(err, errn, "render service replied with something that is not HTTP");
        goto fail;
    }
    if (want >= 0 && (long long)len < want) {
        snprintf(err, errn, "render service reply cut short");
        goto fail;
    }
    *sep = '\0';
    int chunked = strcasestr(buf, "\r\ntransfer-encoding: chunked") != NULL;
    body_start = sep + 4;
    size_t blen = want >= 0 ? (size_t)(want - (body_start - buf)) : len - (size_t)(body_start - buf);
    memmove(buf, body_start, blen);
    buf[blen] = '\0';
    if (chunked) {
        long d = dechunk(buf, blen);
        if (d < 0) {
            snprintf(err, errn, "render service sent a malformed chunked reply");
            goto fail;
        }
        blen = (size_t)d;
    }
    r->status = status;
    r->body = buf;
    r->len = blen;
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    free(buf);
    return -1;
}

void mw_reply_free(mw_reply *r)
{
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

static int find_executable(char *out, size_t n)
{
    const char *bin = getenv("MOTIONWRIGHT_BIN");
    if (bin && *bin) {
        snprintf(out, n, "%s", bin);
        return access(out, X_OK) == 0 ? 0 : -1;
    }
    const char *path = getenv("PATH");
    if (!path)
        return -1;
    while (*path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        if (len && len + 14 < n) {
            snprintf(out, n, "%.*s/motionwright", (int)len, path);
            if (access(out, X_OK) == 0)
                return 0;
        }
        path += len;
        if (*path == ':')
            path++;
    }
    return -1;
}

int mw_start_service(char *err, size_t errn)
{
    char exe[1024];
    if (find_executable(exe, sizeof exe)) {
        snprintf(err, errn, "motionwright is not installed: pip install motionwright, then run "
                            "'motionwright serve' (or set MOTIONWRIGHT_BIN)");
        return -1;
    }
    char *const argv[] = {exe, "serve", "--detach", NULL};
    if (mw_spawn_detached(argv) != 0) {
        snprintf(err, errn, "could not start the render service: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int mw_spawn_detached(char *const argv[])
{
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    /* Double fork: the program is re-parented to init, so the host never has a zombie child
     * nor waits for it. Between fork and exec only async-signal-safe calls are made. */
    pid_t child = fork();
    if (child == 0) {
        setsid();
        if (fork() != 0)
            _exit(0);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], argv);
        _exit(127);
    }
    int saved = errno;
    if (devnull >= 0)
        close(devnull);
    if (child < 0) {
        errno = saved;
        return -1;
    }
    int st;
    while (waitpid(child, &st, 0) < 0 && errno == EINTR) {
    }
    return 0;
}
