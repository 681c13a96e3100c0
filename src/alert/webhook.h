/* SPDX-License-Identifier: Apache-2.0 */
/* Webhook sender: HTTPS POSTs of signed JSON from a worker thread, so the
 * web and recorder loops never wait on a receiver (docs/design/audit.md).
 *
 *   POST <url>  Content-Type: application/json
 *   X-Vigil-Signature: sha256=<hex HMAC-SHA256(key = secret text, body)>
 *   X-Vigil-Delivery: <notification id>
 *
 * TLS by OpenSSL with certificate and host name verification (the system's
 * CAs, or ca_file). Retries with exponential backoff (1 s, 2 s, ... 32 s; six
 * tries); the queue holds at most VG_WEBHOOK_QUEUE jobs and vg_webhook_post
 * refuses (VG_EAGAIN) rather than wait when it is full.
 *
 * Owner: vg_webhook_new's caller frees with vg_webhook_free (joins the thread;
 * queued jobs are dropped and stay undelivered in the outbox). */
#ifndef VG_WEBHOOK_H
#define VG_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#define VG_WEBHOOK_QUEUE 64
#define VG_WEBHOOK_URL_MAX 512
#define VG_WEBHOOK_TRIES 6

typedef struct vg_webhook vg_webhook;

int vg_webhook_new(const char *ca_file, int allow_private, vg_webhook **out);
void vg_webhook_free(vg_webhook *w);
/* Copies url, secret and body. VG_EAGAIN: queue full; VG_EINVAL: bad URL. */
int vg_webhook_post(vg_webhook *w, int64_t id, const char *url, const char *secret, const char *body);
/* Finished jobs since the last call: ids[i] delivered (ok[i] = 1) or given up. */
size_t vg_webhook_results(vg_webhook *w, int64_t *ids, int *ok, size_t max);

/* URL check at configuration time: "https://" host [":" port] [path], no
 * user info, no fragment, at most VG_WEBHOOK_URL_MAX bytes; a literal
 * loopback, private or link-local address is refused unless allow_private.
 * (Names are checked again after resolution, at every send.) 0 or VG_EINVAL. */
int vg_webhook_url_ok(const char *url, int allow_private);
/* HMAC-SHA256 of body keyed by the secret text, as 64 hex digits. */
void vg_webhook_sign(const char *secret, const char *body, size_t len, char out[65]);

#endif
