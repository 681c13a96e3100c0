/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by the files of src/web. Not a public header. */
#ifndef VG_WEB_INT_H
#define VG_WEB_INT_H

#include "auth/auth.h"
#include "core/buf.h"
#include "web/web.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stdatomic.h>

struct vg_alerts;
struct vg_logkey;
struct vg_recorder;
struct vg_store;
struct vg_viewer;

#define VG_WEB_BODY_MAX (64 * 1024)
#define VG_WEB_MAX_ORIGINS 4
#define VG_SESSION_COOKIE "__Host-vg_session"

typedef struct vg_web_route vg_web_route;

/* One request; owned by libmicrohttpd's per-request pointer, freed in the
 * completion callback. */
typedef struct vg_req {
    const vg_web_route *route;
    vg_buf body;
    int64_t id;            /* the {id} path segment, when the route has one */
    int has_ctx;
    int refused;           /* answered from the headers alone */
    int too_big;           /* body exceeded VG_WEB_BODY_MAX; rest dropped */
    int done;              /* the final call has run */
    vg_ctx ctx;
    char addr[64];
    char sid[VG_TOKEN_B64_MAX];   /* session cookie text, if any */
} vg_req;

struct vg_web {
    vg_loop *loop;
    struct MHD_Daemon *d;
    vg_io io;
    vg_timer timer;
    vg_db *db;
    vg_auth *auth;
    struct vg_logkey *logkey;   /* signs audit tree heads (auth/auditlog.h) */
    struct vg_alerts *alerts;   /* alert rules' tick and webhook sender (alerts_api.c) */
    vg_timer alert_timer;
    uint16_t port;
    char ui_dir[1024];
    char origins[VG_WEB_MAX_ORIGINS][160];
    int n_origins;
    char *cert_pem, *key_pem;
    /* Set by vg_web_attach in `vigil run` (NULL in `vigil serve`). */
    struct vg_recorder *rec;
    struct vg_store *store;
    char data_dir[1024];
    int has_demo;
    char demo_clip[1024];    /* the demo camera's clip, when it is to be added on its key */
    /* live viewers (live.c); web thread only, except wake_pending */
    struct vg_viewer *viewers;
    vg_timer live_timer;
    atomic_int wake_pending;
    vg_timer shred_timer;    /* rotation.c: retired key periods leaving retention */
    /* grants.c: a minute's sweep of ended grants and shares (vigil run) */
    vg_timer grants_timer;
    int grants_timer_on;
};

typedef enum MHD_Result (*vg_web_handler)(vg_web *w, vg_req *r, json_t *body, struct MHD_Connection *c);

enum vg_access { VG_PUBLIC, VG_SESSION };

struct vg_web_route {
    const char *method;
    const char *path;        /* exact, or prefix ending in '/' followed by {id} when has_id */
    int has_id;
    enum vg_access access;
    enum vg_role min_role;
    vg_web_handler fn;
    const char *suffix;      /* with has_id: text after {id} ("/key"); NULL = none */
};

/* api.c */
const vg_web_route *vg_api_routes(size_t *n);
/* recorder_api.c: GET /api/recorder (the segment-signing key) */
const vg_web_route *vg_recorder_routes(size_t *n);
/* audit_api.c: signed tree heads, proofs, log download */
const vg_web_route *vg_auditlog_routes(size_t *n);
/* alerts_api.c: notifications, webhook; the alert tick on the web loop */
const vg_web_route *vg_alerts_routes(size_t *n);
int vg_alerts_web_start(vg_web *w);
void vg_alerts_web_stop(vg_web *w);
void vg_api_audit(const vg_req *r, const char *action, json_t *detail /* stolen */);
/* GET of the caller's organization's audit list (newest 500), its chain head
 * and whether the chain verifies; with_hashes adds each entry's "hash" and,
 * when it does not verify, "first_bad_seq". */
enum MHD_Result vg_api_audit_list(vg_req *r, struct MHD_Connection *c, int with_hashes);
const char *vg_api_jstr(json_t *b, const char *k);
/* The end of every call that may open a session: the cookie and /api/me on
 * success; sid (VG_TOKEN_B64_MAX bytes) is wiped. */
enum MHD_Result vg_api_session_result(vg_web *w, vg_req *r, struct MHD_Connection *c, int rc, unsigned auth_status,
                                      const char *auth_error, unsigned ok_status, char *sid);

/* webauthn_api.c: security keys, login step 2, second-factor policy */
const vg_web_route *vg_webauthn_routes(size_t *n);
enum MHD_Result vg_webauthn_login_begin(vg_web *w, vg_req *r, struct MHD_Connection *c);
/* The optional "webauthn" registration in an invitation's acceptance: 0 and
 * k->webauthn set (malloc'd; the caller frees it) or left NULL when absent;
 * an error when present and refused. */
int vg_webauthn_invite_key(vg_web *w, json_t *b, vg_member_keys *k);

/* Recording glue (`vigil run`): the web learns the recorder and the store.
 * Called on the thread that will run the web's loop, before it runs. Starts
 * recording every app.db camera that has an RTSP URL and a footage key; the
 * builtin demo camera (demo != 0) gets a row in the first organization. */
/* demo_clip: the builtin camera's clip (NULL: no demo camera). If the
 * recorder has no "demo" camera yet (no store-wide key), it is added as soon
 * as the builtin row has a footage key. */
int vg_web_attach(vg_web *w, struct vg_recorder *rec, struct vg_store *st, const char *data_dir,
                  const char *demo_clip);
/* Store-side name of an app camera ("demo" for the builtin one, else "cam-ID"). */
void vg_cam_store_name(int64_t id, int builtin, char out[64]);
/* (Re)applies camera row `id` to the recorder: started if it has a URL and a
 * footage key, restarted after an edit, stopped if gone. No-op without one. */
void vg_cam_sync(vg_web *w, const vg_scope *s, int64_t id);
/* Makes sure the builtin demo camera has its row (first organization only). */
void vg_cam_ensure_builtin(vg_web *w, const vg_scope *s);
/* Access to a camera's footage: 0 (the caller holds a wrapped key),
 * VG_ENOTFOUND (no such camera in the caller's organization), VG_EAUTH (no
 * key: the caller must answer 403; this function already audited it).
 * store_name (64 bytes) may be NULL. */
int vg_cam_access(vg_web *w, const vg_req *r, int64_t cam, const char *what, char *store_name);
/* The app camera (in the caller's organization) whose store name is name; 0 if none. */
int64_t vg_cam_by_store_name(const vg_req *r, const char *name);

/* sub_api.c: substreams. Sets "sub_url" and "sub_status" (null when the
 * recorder has no substream for store_name) on a camera object. */
void vg_sub_json(vg_web *w, json_t *o, const char *store_name, const char *sub_url);
/* The stream a live viewer of store_name gets: its substream when want_sub and
 * one is recorded (returns 1), else the main stream (returns 0). out may be
 * store_name itself. */
int vg_sub_live_pick(vg_web *w, const char *store_name, int want_sub, char out[64]);
/* platform.c: the operator's routes (docs/design/tenancy.md) */
const vg_web_route *vg_platform_routes(size_t *n);
/* Whether the organization may add one more camera (its operator quota). */
int vg_platform_quota_ok(const vg_scope *s);

/* keys_api.c, playback.c, live.c: route handlers */
enum MHD_Result vg_h_key_put(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c);
enum MHD_Result vg_h_key_get(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c);
enum MHD_Result vg_h_key_wrap(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c);
enum MHD_Result vg_h_recordings(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c);
enum MHD_Result vg_h_segment(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c);
enum MHD_Result vg_h_segment_data(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c);
enum MHD_Result vg_h_live(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c);
enum MHD_Result vg_h_export(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c);

/* rotation.c: camera key periods (docs/design/keys.md "Rotation and crypto-shredding") */
const vg_web_route *vg_rotation_routes(size_t *n);
/* In the key PUT's transaction, before camera_keys are replaced: retires the
 * camera's current period (moving its wraps) if pk is a new key, and records
 * pk's period. *rotated = 1 if a period was retired (old_pk set). VG_EINVAL:
 * pk was an earlier period's key (never current twice); VG_EAGAIN: due_only
 * and the current period is not due. */
int vg_rot_new_period(const vg_scope *s, int64_t cam, const uint8_t pk[32], int64_t now, int due_only,
                      int *rotated, uint8_t old_pk[32]);
/* Seals a retired, unshredded period's key to a member. VG_ENOTFOUND: no such period. */
int vg_rot_wrap_period(const vg_scope *s, int64_t cam, const uint8_t pk[32], int64_t member,
                       const uint8_t sealed[80]);
/* Shreds every retired period no stored segment is sealed to (`vigil run` only). */
void vg_rot_shred_sweep(vg_web *w);
void vg_rot_init(vg_web *w);
void vg_rot_start(vg_web *w);
void vg_rot_stop(vg_web *w);
/* grants.c, share.c: support grants and clip share links (docs/design/grants.md) */
const vg_web_route *vg_grants_routes(size_t *n);
const vg_web_route *vg_share_routes(size_t *n);
/* Ends grants and shares past their expiry (keys deleted, audited). */
void vg_grants_sweep(vg_web *w);
void vg_shares_sweep(vg_web *w);
/* Hands every active grant to the recorder (from vg_web_attach). */
void vg_grants_attach(vg_web *w);
void vg_grants_shutdown(vg_web *w);
/* playback.c: serves a segment file's readable bytes with Range; takes fd.
 * json_416: an unsatisfiable range answers {"error": "bad_range"} (grants,
 * shares) rather than the bare 416 with Content-Range of playback. */
enum MHD_Result vg_serve_segment(struct MHD_Connection *c, int fd, uint64_t size, int json_416);
int vg_org_uid(vg_db *db, int64_t org, uint8_t uid[16]);
/* grants.c: a call's per-segment keys for a grant or a share, stored in one
 * transaction; any segment that is not of a camera cam_ok admits or does not
 * overlap [from90k, to90k) refuses the whole call (VG_EINVAL). */
#define VG_SEGKEY_MAX 96
typedef struct vg_segkeys {
    const char *field;   /* each entry's key member ("sealed_key", "wrapped_key") */
    size_t key_len;      /* its decoded length, at most VG_SEGKEY_MAX */
    size_t max_keys;     /* entries per call */
    const char *sql;     /* the INSERT: ?2 owner, ?3 segment id, ?4 key */
    int64_t owner;       /* the grant's or share's id */
    int64_t from90k, to90k;
    int (*cam_ok)(const vg_scope *s, int64_t cam_arg, int64_t cam);
    int64_t cam_arg;
} vg_segkeys;
int vg_segkeys_add(vg_web *w, const vg_scope *s, const vg_segkeys *k, json_t *arr, size_t *added);
/* The app camera of a store name in organization s; 0 if none. */
int64_t vg_cam_in_scope(const vg_scope *s, const char *name);

/* playback.c: one "bytes=" range of a resource of `size` bytes (RFC 9110
 * §14.1.2). h NULL: 1 (whole resource). 0 with off and len set; VG_EINVAL for a
 * malformed header (400); VG_ETOOBIG for an unsatisfiable one or several
 * ranges (416). Digits only, at most 19 per number, no overflow. */
int vg_range_parse(const char *h, uint64_t size, uint64_t *off, uint64_t *len);

/* web.c: run MHD now (after resuming connections) and re-arm its timer. */
void vg_web_kick(vg_web *w);

/* live.c: web-thread side of live viewers */
void vg_live_web_init(vg_web *w);
/* Ends every viewer's stream (before the daemon stops). */
void vg_live_web_shutdown(vg_web *w);

/* http.c: responses (every response gets the security headers) */
enum MHD_Result vg_reply_json(struct MHD_Connection *c, unsigned status, json_t *obj /* stolen */);
enum MHD_Result vg_reply_json_cookie(struct MHD_Connection *c, unsigned status, json_t *obj,
                                     const char *set_cookie);
enum MHD_Result vg_reply_error(struct MHD_Connection *c, unsigned status, const char *code);
enum MHD_Result vg_reply_retry(struct MHD_Connection *c, int retry_after);
void vg_web_headers(struct MHD_Response *resp, int html);
int64_t vg_web_now(void);

/* static.c */
enum MHD_Result vg_static_serve(vg_web *w, struct MHD_Connection *c, const char *url, int head);

/* tls.c: load or create the certificate and key PEM texts. */
int vg_tls_load(const vg_web_opts *o, const char *listen_host, char **cert_pem, char **key_pem);

#endif
