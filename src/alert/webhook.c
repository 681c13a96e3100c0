/* SPDX-License-Identifier: Apache-2.0 */
/* Webhook sender (webhook.h): a bounded job queue, one worker thread, an
 * HTTPS client on OpenSSL.
 *
 * Invariants:
 *  1. The worker holds the lock only to take or return a job, never across
 *     network I/O; vg_webhook_post never blocks on the network.
 *  2. Every TLS connection verifies the peer's chain and its name (or IP)
 *     against the URL's host; a failed verification is a failed try.
 *  3. Every address a name resolves to is checked before connecting (no
 *     loopback/private/link-local unless allowed): the check and the connect
 *     use the same resolved address, so DNS cannot swap it in between. */
#include "alert/webhook.h"
#include "core/err.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IO_TIMEOUT_MS 10000
#define MAX_RESULTS 256

typedef struct job {
    int used;
    int64_t id;
    int tries;
    int64_t due_ms;        /* monotonic */
    char *url, *secret, *body;
} job;

struct vg_webhook {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, started;
    int allow_private;
    SSL_CTX *ctx;
    job q[VG_WEBHOOK_QUEUE];
    int64_t res_id[MAX_RESULTS];
    int res_ok[MAX_RESULTS];
    size_t n_res;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- URLs and addresses ------------------------------------------------------------------- */

typedef struct url {
    char host[256], port[8], path[VG_WEBHOOK_URL_MAX];
} url;

static int parse_url(const char *s, url *u)
{
    size_t n = strlen(s);
    if (n > VG_WEBHOOK_URL_MAX || strncmp(s, "https://", 8) != 0) return VG_EINVAL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '#') return VG_EINVAL;
    const char *h = s + 8, *end = h + strcspn(h, "/?");
    if (memchr(h, '@', (size_t)(end - h))) return VG_EINVAL;   /* no user info */
    const char *colon = NULL;
    if (*h == '[') {
        const char *rb = memchr(h, ']', (size_t)(end - h));
        if (!rb) return VG_EINVAL;
        if ((size_t)(rb - h - 1) >= sizeof u->host || rb - h - 1 == 0) return VG_EINVAL;
        memcpy(u->host, h + 1, (size_t)(rb - h - 1));
        u->host[rb - h - 1] = 0;
        if (rb + 1 < end && rb[1] != ':') return VG_EINVAL;
        colon = rb + 1 < end ? rb + 1 : NULL;
    } else {
        colon = memchr(h, ':', (size_t)(end - h));
        const char *he = colon ? colon : end;
        if (he == h || (size_t)(he - h) >= sizeof u->host) return VG_EINVAL;
        memcpy(u->host, h, (size_t)(he - h));
        u->host[he - h] = 0;
        for (const char *p = u->host; *p; p++)
            if (!(*p == '-' || *p == '.' || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                  (*p >= 'A' && *p <= 'Z')))
                return VG_EINVAL;
    }
    snprintf(u->port, sizeof u->port, "443");
    if (colon) {
        size_t pl = (size_t)(end - colon - 1);
        if (pl == 0 || pl > 5) return VG_EINVAL;
        unsigned long p = 0;
        for (size_t i = 0; i < pl; i++) {
            if (colon[1 + i] < '0' || colon[1 + i] > '9') return VG_EINVAL;
            p = p * 10 + (unsigned long)(colon[1 + i] - '0');
        }
        if (p == 0 || p > 65535) return VG_EINVAL;
        snprintf(u->port, sizeof u->port, "%lu", p);
    }
    snprintf(u->path, sizeof u->path, "%s%s", *end == '/' ? "" : "/", end);
    return 0;
}

static int v4_private(uint32_t a)
{
    return (a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 || (a >> 16) == 0xa9fe ||
           (a >> 20) == 0xac1 || (a >> 16) == 0xc0a8 || (a >> 22) == (0x64400000u >> 22) || a >= 0xe0000000u;
}

/* Loopback, private, link-local, unspecified, multicast (RFC 6890 and 4193). */
static int addr_private(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return v4_private(ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr));
    if (sa->sa_family != AF_INET6) return 1;
    const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a)) {
        uint32_t v;
        memcpy(&v, a->s6_addr + 12, 4);
        return v4_private(ntohl(v));
    }
    return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LINKLOCAL(a) ||
           IN6_IS_ADDR_MULTICAST(a) || (a->s6_addr[0] & 0xfe) == 0xfc;
}

int vg_webhook_url_ok(const char *s, int allow_private)
{
    url u;
    if (!s || parse_url(s, &u)) return VG_EINVAL;
    struct sockaddr_in v4 = {.sin_family = AF_INET};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
    if (!allow_private) {
        if (inet_pton(AF_INET, u.host, &v4.sin_addr) == 1 && addr_private((struct sockaddr *)&v4)) return VG_EINVAL;
        if (inet_pton(AF_INET6, u.host, &v6.sin6_addr) == 1 && addr_private((struct sockaddr *)&v6)) return VG_EINVAL;
        if (!strcasecmp(u.host, "localhost")) return VG_EINVAL;
    }
    return 0;
}

void vg_webhook_sign(const char *secret, const char *body, size_t len, char out[65])
{
    crypto_auth_hmacsha256_state st;
    uint8_t mac[32];
    crypto_auth_hmacsha256_init(&st, (const uint8_t *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(out, 65, mac, sizeof mac);
}

/* ---- one HTTPS POST ----------------------------------------------------------------------- */

static int connect_to(const struct sockaddr *sa, socklen_t len)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    if (connect(fd, sa, len) != 0 && errno != EINPROGRESS) { close(fd); return -1; }
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int err = 0;
    socklen_t el = sizeof err;
    if (poll(&p, 1, IO_TIMEOUT_MS) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) || err) {
        close(fd);
        return -1;
    }
    /* Blocking from here, with timeouts: this is the worker thread. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    struct timeval tv = {IO_TIMEOUT_MS / 1000, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

static int dial(const url *u, int allow_private)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(u->host, u->port, &hints, &res) != 0) return -1;
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        if (!allow_private && addr_private(ai->ai_addr)) {
            vg_warn("alert", "webhook host %s resolves to a private address; not used", u->host);
            continue;
        }
        fd = connect_to(ai->ai_addr, ai->ai_addrlen);
    }
    freeaddrinfo(res);
    return fd;
}

static int ssl_write_all(SSL *s, const char *p, size_t n)
{
    while (n) {
        int k = SSL_write(s, p, n > 65536 ? 65536 : (int)n);
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* 0: delivered (2xx). */
static int send_one(vg_webhook *w, const job *j)
{
    url u;
    char sig[65], head[1024 + VG_WEBHOOK_URL_MAX + 256];
    if (parse_url(j->url, &u)) return VG_EINVAL;
    int fd = dial(&u, w->allow_private);
    if (fd < 0) return VG_EIO;
    int rc = VG_EIO;
    SSL *s = SSL_new(w->ctx);
    if (!s) goto out;
    SSL_set_fd(s, fd);
    struct in6_addr tmp;
    int is_ip = inet_pton(AF_INET, u.host, &tmp) == 1 || inet_pton(AF_INET6, u.host, &tmp) == 1;
    if (is_ip) {
        if (!X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), u.host)) goto out;
    } else {
        SSL_set_tlsext_host_name(s, u.host);
        if (!SSL_set1_host(s, u.host)) goto out;
    }
    if (SSL_connect(s) != 1 || SSL_get_verify_result(s) != X509_V_OK) {
        vg_warn("alert", "webhook TLS to %s failed (certificate not verified?)", u.host);
        goto out;
    }
    size_t blen = strlen(j->body);
    vg_webhook_sign(j->secret, j->body, blen, sig);
    int hl = snprintf(head, sizeof head,
                      "POST %s HTTP/1.1\r\nHost: %s%s%s%s%s\r\nUser-Agent: vigil\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\nX-Vigil-Signature: sha256=%s\r\nX-Vigil-Delivery: %lld\r\n"
                      "Connection: close\r\n\r\n",
                      u.path, strchr(u.host, ':') ? "[" : "", u.host, strchr(u.host, ':') ? "]" : "",
                      strcmp(u.port, "443") ? ":" : "", strcmp(u.port, "443") ? u.port : "", blen, sig,
                      (long long)j->id);
    if (hl < 0 || (size_t)hl >= sizeof head) goto out;
    if (ssl_write_all(s, head, (size_t)hl) || ssl_write_all(s, j->body, blen)) goto out;
    char resp[64];
    size_t got = 0;
    while (got < 12) {
        int k = SSL_read(s, resp + got, (int)(sizeof resp - 1 - got));
        if (k <= 0) break;
        got += (size_t)k;
    }
    resp[got] = 0;
    /* "HTTP/1.1 2xx" */
    if (got >= 12 && !strncmp(resp, "HTTP/1.", 7) && resp[9] == '2') rc = 0;
    else vg_warn("alert", "webhook %s answered %.12s", u.host, got ? resp : "nothing");
    SSL_shutdown(s);
out:
    SSL_free(s);
    close(fd);
    ERR_clear_error();
    return rc;
}

/* ---- the worker --------------------------------------------------------------------------- */

static void job_clear(job *j)
{
    free(j->url);
    if (j->secret) { sodium_memzero(j->secret, strlen(j->secret)); free(j->secret); }
    free(j->body);
    memset(j, 0, sizeof *j);
}

static void result(vg_webhook *w, int64_t id, int ok)
{
    if (w->n_res < MAX_RESULTS) {
        w->res_id[w->n_res] = id;
        w->res_ok[w->n_res++] = ok;
    }
}

static void *worker(void *arg)
{
    vg_webhook *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        int64_t now = mono_ms(), next = INT64_MAX;
        job *due = NULL;
        for (int i = 0; i < VG_WEBHOOK_QUEUE; i++) {
            if (!w->q[i].used) continue;
            if (w->q[i].due_ms <= now && (!due || w->q[i].id < due->id)) due = &w->q[i];
            if (w->q[i].due_ms < next) next = w->q[i].due_ms;
        }
        if (!due) {
            if (next == INT64_MAX) {
                pthread_cond_wait(&w->cv, &w->mu);
            } else {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                int64_t wait = next - now;
                ts.tv_sec += wait / 1000;
                ts.tv_nsec += (wait % 1000) * 1000000;
                if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
                pthread_cond_timedwait(&w->cv, &w->mu, &ts);
            }
            continue;
        }
        job j = *due;            /* the slot stays reserved while we send */
        pthread_mutex_unlock(&w->mu);
        int rc = send_one(w, &j);
        pthread_mutex_lock(&w->mu);
        due->tries++;
        if (rc == 0 || due->tries >= VG_WEBHOOK_TRIES || rc == VG_EINVAL) {
            result(w, due->id, rc == 0);
            if (rc) vg_warn("alert", "webhook delivery %lld given up after %d tries", (long long)due->id, due->tries);
            job_clear(due);
        } else {
            due->due_ms = mono_ms() + (1000LL << (due->tries - 1));   /* 1, 2, 4, ... s */
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int vg_webhook_new(const char *ca_file, int allow_private, vg_webhook **out)
{
    *out = NULL;
    vg_webhook *w = calloc(1, sizeof *w);
    if (!w) return VG_ENOMEM;
    w->allow_private = allow_private;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->ctx = SSL_CTX_new(TLS_client_method());
    int rc = VG_EIO;
    if (!w->ctx) goto fail;
    SSL_CTX_set_min_proto_version(w->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(w->ctx, SSL_VERIFY_PEER, NULL);
    if (ca_file ? SSL_CTX_load_verify_locations(w->ctx, ca_file, NULL) != 1
                : SSL_CTX_set_default_verify_paths(w->ctx) != 1) {
        vg_error("alert", "cannot load webhook CA certificates%s%s", ca_file ? " from " : "", ca_file ? ca_file : "");
        goto fail;
    }
    if (pthread_create(&w->thread, NULL, worker, w) != 0) goto fail;
    w->started = 1;
    *out = w;
    return 0;
fail:
    ERR_clear_error();
    vg_webhook_free(w);
    return rc;
}

void vg_webhook_free(vg_webhook *w)
{
    if (!w) return;
    if (w->started) {
        pthread_mutex_lock(&w->mu);
        w->stop = 1;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
    }
    for (int i = 0; i < VG_WEBHOOK_QUEUE; i++) job_clear(&w->q[i]);
    SSL_CTX_free(w->ctx);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

int vg_webhook_post(vg_webhook *w, int64_t id, const char *u, const char *secret, const char *body)
{
    url tmp;
    if (parse_url(u, &tmp)) return VG_EINVAL;
    int rc = VG_EAGAIN;
    pthread_mutex_lock(&w->mu);
    for (int i = 0; i < VG_WEBHOOK_QUEUE; i++) {
        if (w->q[i].used) continue;
        job *j = &w->q[i];
        j->url = strdup(u);
        j->secret = strdup(secret);
        j->body = strdup(body);
        if (!j->url || !j->secret || !j->body) { job_clear(j); rc = VG_ENOMEM; break; }
        j->used = 1;
        j->id = id;
        j->due_ms = mono_ms();
        pthread_cond_signal(&w->cv);
        rc = 0;
        break;
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

size_t vg_webhook_results(vg_webhook *w, int64_t *ids, int *ok, size_t max)
{
    pthread_mutex_lock(&w->mu);
    size_t n = w->n_res < max ? w->n_res : max;
    memcpy(ids, w->res_id, n * sizeof *ids);
    memcpy(ok, w->res_ok, n * sizeof *ok);
    memmove(w->res_id, w->res_id + n, (w->n_res - n) * sizeof *ids);
    memmove(w->res_ok, w->res_ok + n, (w->n_res - n) * sizeof *ok);
    w->n_res -= n;
    pthread_mutex_unlock(&w->mu);
    return n;
}
