/* SPDX-License-Identifier: Apache-2.0 */
/* The platform operator's routes (docs/design/tenancy.md, docs/api.md
 * "Platform"): organizations, their state and quota, and the platform
 * organization's own members (operators and support accounts).
 *
 * Invariants:
 *  1. Every /api/platform route needs VG_ROLE_OPERATOR (exactly: the pipeline's
 *     vg_role_allows), so no tenant member reaches them and no operator
 *     reaches a tenant route.
 *  2. What crosses organizations here is counts and states only: names and
 *     creation times of organizations, numbers of members and cameras, bytes
 *     stored, recorder health. No query here selects a member's email (of a
 *     tenant), a camera's name, URL or credentials, a key, or a tenant's
 *     audit details.
 *  3. Nothing here opens a session: an organization's owner arrives only by
 *     the one-time setup link, with keys derived in their own browser.
 *  4. Each action is audited in the platform organization's log; creation,
 *     suspension and resumption also in the affected organization's log. */
#include "web/web_int.h"
#include "auth/audit.h"
#include "core/err.h"
#include "core/log.h"
#include "rec/recorder.h"
#include "store/store.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_QUOTA 100000

static enum MHD_Result server_error(struct MHD_Connection *c)
{
    return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
}

int vg_platform_quota_ok(const vg_scope *s)
{
    vg_stmt *st;
    int ok = 0;
    /* The builtin demo camera does not count against the quota. */
    if (vg_scope_prep(s, &st, "SELECT o.max_cameras, (SELECT COUNT(*) FROM cameras c WHERE c.org_id = ?1 "
                      "AND c.builtin = 0) FROM organizations o WHERE o.id = ?1", ""))
        return 0;
    if (vg_db_step(st) == 1) ok = vg_db_is_null(st, 0) || vg_db_int(st, 1) < vg_db_int(st, 0);
    vg_db_done(st);
    return ok;
}

/* The affected organization's log: the operator acts from outside it, so
 * the actor is named as the platform's ("platform:EMAIL", actor id 0). */
static void audit_in_org(const vg_req *r, int64_t org, const char *action, json_t *detail /* stolen */)
{
    char actor[VG_EMAIL_MAX + 16];
    char *d = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(detail);
    snprintf(actor, sizeof actor, "platform:%s", r->ctx.email);
    vg_scope s = {r->ctx.scope.db, org};
    if (vg_audit_add(&s, 0, actor, action, d ? d : "{}", r->addr, vg_web_now() * 1000))
        vg_error("web", "audit append failed (%s)", action);
    free(d);
}

/* name of a tenant organization; 0 if id is not one. */
static int tenant_org(vg_db *db, int64_t id, char name[VG_NAME_MAX + 1], char state[16])
{
    vg_stmt *st;
    int found = 0;
    if (vg_db_prep(db, &st, "SELECT name, state FROM organizations WHERE id = ?1 AND kind = 'tenant'", "i", id))
        return 0;
    if (vg_db_step(st) == 1) {
        found = 1;
        if (name) snprintf(name, VG_NAME_MAX + 1, "%s", vg_db_text(st, 0));
        if (state) snprintf(state, 16, "%s", vg_db_text(st, 1));
    }
    vg_db_done(st);
    return found;
}

/* ---- public: what a setup link will create ------------------------------------------- */

static enum MHD_Result h_setup_token(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_setup_info in;
    const char *tok = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
    if (vg_auth_setup_info(w->auth, tok, vg_web_now(), &in)) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    json_t *o = json_pack("{s:s}", "kind", in.platform ? "platform" : in.org ? "owner" : "tenant");
    json_object_set_new(o, "org", in.org ? json_string(in.org_name) : json_null());
    return vg_reply_json(c, MHD_HTTP_OK, o);
}

/* ---- organizations ---------------------------------------------------------------- */

typedef struct org_stat {
    int64_t id, bytes;
    int recording, offline;
} org_stat;

/* Bytes stored per camera store name, from the store's summary (NULL when
 * no store runs in this process). */
static json_t *store_summary(vg_web *w)
{
    char *text = NULL;
    if (!w->store || vg_store_status_json(w->data_dir, &text)) return NULL;
    json_t *o = json_loads(text, 0, NULL);
    free(text);
    return o;
}

static int64_t store_bytes(json_t *sum, const char *name)
{
    size_t i;
    json_t *cam;
    json_array_foreach(json_object_get(sum, "cameras"), i, cam) {
        const char *n = json_string_value(json_object_get(cam, "name"));
        if (n && strcmp(n, name) == 0) return json_integer_value(json_object_get(cam, "bytes"));
    }
    return 0;
}

/* Health and storage of every camera, summed per organization: the camera
 * rows are read for their ids only (invariant 2). */
static void camera_stats(vg_web *w, org_stat *os, size_t n)
{
    vg_stmt *st;
    json_t *sum = store_summary(w);
    if (vg_db_prep(w->db, &st, "SELECT org_id, id, builtin FROM cameras ORDER BY org_id", "")) {
        json_decref(sum);
        return;
    }
    while (vg_db_step(st) == 1) {
        int64_t org = vg_db_int(st, 0);
        char name[64];
        vg_cam_status cs;
        vg_cam_store_name(vg_db_int(st, 1), (int)vg_db_int(st, 2), name);
        for (size_t i = 0; i < n; i++) {
            if (os[i].id != org) continue;
            if (w->rec && vg_recorder_status(w->rec, name, &cs) == 0 && strcmp(cs.state, "recording") == 0)
                os[i].recording++;
            else
                os[i].offline++;
            if (sum) os[i].bytes += store_bytes(sum, name);
            break;
        }
    }
    vg_db_done(st);
    json_decref(sum);
}

static enum MHD_Result h_orgs(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_stmt *st;
    json_t *arr = json_array();
    org_stat *os = NULL;
    size_t n = 0, cap = 0;
    if (vg_db_prep(w->db, &st, "SELECT o.id, o.name, o.state, o.created, o.max_cameras, "
                   "(SELECT COUNT(*) FROM members m WHERE m.org_id = o.id), "
                   "(SELECT COUNT(*) FROM cameras k WHERE k.org_id = o.id) "
                   "FROM organizations o WHERE o.kind = 'tenant' ORDER BY o.id", "")) {
        json_decref(arr);
        return server_error(c);
    }
    while (vg_db_step(st) == 1) {
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 16;
            org_stat *p = realloc(os, nc * sizeof *os);
            if (!p) break;
            os = p;
            cap = nc;
        }
        memset(&os[n], 0, sizeof os[n]);
        os[n++].id = vg_db_int(st, 0);
        int64_t members = vg_db_int(st, 5);
        json_t *o = json_pack("{s:I,s:s,s:s,s:I,s:I,s:I,s:b}", "id", (json_int_t)vg_db_int(st, 0), "name",
                              vg_db_text(st, 1), "state", vg_db_text(st, 2), "created",
                              (json_int_t)vg_db_int(st, 3), "members", (json_int_t)members, "cameras",
                              (json_int_t)vg_db_int(st, 6), "awaiting_owner", members == 0);
        json_object_set_new(o, "max_cameras", vg_db_is_null(st, 4) ? json_null() : json_integer(vg_db_int(st, 4)));
        json_array_append_new(arr, o);
    }
    vg_db_done(st);
    camera_stats(w, os, n);
    for (size_t i = 0; i < n && i < json_array_size(arr); i++) {
        json_t *o = json_array_get(arr, i);
        json_object_set_new(o, "storage_bytes", json_integer(os[i].bytes));
        json_object_set_new(o, "health", json_pack("{s:i,s:i}", "recording", os[i].recording, "offline",
                                                   os[i].offline));
    }
    free(os);
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:o}", "organizations", arr));
}

/* max_cameras: absent or null = no quota; else 0..MAX_QUOTA. */
static int parse_quota(json_t *b, int *has, int64_t *q)
{
    json_t *v = b ? json_object_get(b, "max_cameras") : NULL;
    *has = 0;
    *q = 0;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > MAX_QUOTA) return VG_EINVAL;
    *has = 1;
    *q = json_integer_value(v);
    return 0;
}

static enum MHD_Result setup_link_reply(vg_web *w, vg_req *r, struct MHD_Connection *c, unsigned status,
                                        int64_t org, const char *name)
{
    char tok[VG_TOKEN_B64_MAX];
    /* Only while nobody is in it: afterwards its members invite each other. */
    if (vg_auth_org_token_new(w->auth, org, vg_web_now(), tok, sizeof tok))
        return vg_reply_error(c, MHD_HTTP_CONFLICT, "has_owner");
    /* The token goes to the operator's screen once; it is stored hashed and
     * never logged (the audit names the organization only). */
    enum MHD_Result res = vg_reply_json(c, status, json_pack("{s:I,s:s,s:s,s:I}", "id", (json_int_t)org, "name",
                                        name, "token", tok, "expires_in", (json_int_t)VG_SETUP_TTL));
    sodium_memzero(tok, sizeof tok);
    return res;
}

static enum MHD_Result h_org_create(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    const char *name = vg_api_jstr(b, "name");
    uint8_t uid[VG_ORG_UID_LEN];
    int has_q;
    int64_t q, n = 0;
    vg_stmt *st;
    if (!vg_name_ok(name, VG_NAME_MAX) || parse_quota(b, &has_q, &q))
        return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_input");
    if (vg_db_prep(w->db, &st, "SELECT COUNT(*) FROM organizations WHERE name = ?1", "t", name))
        return server_error(c);
    if (vg_db_step(st) == 1) n = vg_db_int(st, 0);
    vg_db_done(st);
    if (n) return vg_reply_error(c, MHD_HTTP_CONFLICT, "exists");
    randombytes_buf(uid, sizeof uid);
    /* recovery_pk arrives with the owner (the setup link). */
    if (vg_db_run(w->db, "INSERT INTO organizations(name, created, uid, kind) VALUES(?1, ?2, ?3, 'tenant')", "tib",
                  name, vg_web_now(), uid, sizeof uid))
        return server_error(c);
    int64_t org = vg_db_last_id(w->db);
    if (has_q && vg_db_run(w->db, "UPDATE organizations SET max_cameras = ?1 WHERE id = ?2", "ii", q, org))
        return server_error(c);
    vg_api_audit(r, "platform.org.create", json_pack("{s:I,s:s}", "org", (json_int_t)org, "name", name));
    audit_in_org(r, org, "org.create", json_pack("{s:s}", "name", name));
    return setup_link_reply(w, r, c, MHD_HTTP_CREATED, org, name);
}

static enum MHD_Result h_org_setup_link(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    char name[VG_NAME_MAX + 1];
    if (!tenant_org(w->db, r->id, name, NULL)) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    vg_api_audit(r, "platform.org.setup_link", json_pack("{s:I}", "org", (json_int_t)r->id));
    return setup_link_reply(w, r, c, MHD_HTTP_OK, r->id, name);
}

static enum MHD_Result set_state(vg_web *w, vg_req *r, struct MHD_Connection *c, const char *state)
{
    char name[VG_NAME_MAX + 1], old[16];
    if (!tenant_org(w->db, r->id, name, old)) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    if (strcmp(old, state) == 0) return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:s}", "state", state));
    /* Suspended: logins and sessions of its members are refused
     * (vg_auth_login, vg_auth_session); recording goes on. */
    if (vg_db_run(w->db, "UPDATE organizations SET state = ?1 WHERE id = ?2 AND kind = 'tenant'", "ti", state, r->id))
        return server_error(c);
    const char *action = strcmp(state, "suspended") == 0 ? "org.suspend" : "org.resume";
    char paction[40];
    snprintf(paction, sizeof paction, "platform.%s", action);
    vg_api_audit(r, paction, json_pack("{s:I,s:s}", "org", (json_int_t)r->id, "name", name));
    audit_in_org(r, r->id, action, json_object());
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:s}", "state", state));
}

static enum MHD_Result h_org_suspend(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    return set_state(w, r, c, "suspended");
}

static enum MHD_Result h_org_resume(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    return set_state(w, r, c, "active");
}

static enum MHD_Result h_org_quota(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    int has_q;
    int64_t q;
    if (!b || !json_object_get(b, "max_cameras") || parse_quota(b, &has_q, &q))
        return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_input");
    if (!tenant_org(w->db, r->id, NULL, NULL)) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    /* Lowering the quota below the cameras there refuses new ones only. */
    int rc = has_q ? vg_db_run(w->db, "UPDATE organizations SET max_cameras = ?1 WHERE id = ?2", "ii", q, r->id)
                   : vg_db_run(w->db, "UPDATE organizations SET max_cameras = NULL WHERE id = ?1", "i", r->id);
    if (rc) return server_error(c);
    json_t *d = json_pack("{s:I}", "org", (json_int_t)r->id);
    json_object_set_new(d, "max_cameras", has_q ? json_integer(q) : json_null());
    vg_api_audit(r, "platform.org.quota", json_deep_copy(d));
    audit_in_org(r, r->id, "org.quota", json_pack("{s:o}", "max_cameras", has_q ? json_integer(q) : json_null()));
    return vg_reply_json(c, MHD_HTTP_OK, d);
}

/* ---- the platform organization's members ---------------------------------------------- */

static enum MHD_Result h_pmembers(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_stmt *st;
    json_t *arr = json_array();
    /* The caller's own organization: the platform's (invariant 1). */
    if (vg_scope_prep(&r->ctx.scope, &st, "SELECT id, email, role, public_key, created FROM members "
                      "WHERE org_id = ?1 ORDER BY id", "")) {
        json_decref(arr);
        return server_error(c);
    }
    while (vg_db_step(st) == 1) {
        size_t n;
        const uint8_t *pk = vg_db_blob(st, 3, &n);
        char fp[48] = "";
        if (pk && n == VG_PK_LEN) vg_key_fingerprint(pk, fp, sizeof fp);
        json_array_append_new(arr, json_pack("{s:I,s:s,s:s,s:s,s:I}", "id", (json_int_t)vg_db_int(st, 0), "email",
                              vg_db_text(st, 1), "role", vg_db_text(st, 2), "fingerprint", fp, "created",
                              (json_int_t)vg_db_int(st, 4)));
    }
    vg_db_done(st);
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:o}", "members", arr));
}

static enum MHD_Result h_pmember_invite(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    char tok[VG_TOKEN_B64_MAX];
    int64_t id;
    enum vg_role role = vg_role_parse(vg_api_jstr(b, "role"));
    if (role != VG_ROLE_SUPPORT && role != VG_ROLE_OPERATOR) return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_role");
    int rc = vg_auth_invite(w->auth, &r->ctx, vg_api_jstr(b, "email"), role, vg_web_now(), tok, sizeof tok, &id);
    if (rc == VG_EINVAL) return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_input");
    if (rc) return server_error(c);
    enum MHD_Result res = vg_reply_json(c, MHD_HTTP_CREATED, json_pack("{s:I,s:s,s:I}", "id", (json_int_t)id,
                                        "token", tok, "expires_in", (json_int_t)VG_INVITE_TTL));
    sodium_memzero(tok, sizeof tok);
    return res;
}

/* An operator removes an operator or support account (never itself, so the
 * platform keeps at least one operator); its sessions go with it. */
static enum MHD_Result h_pmember_remove(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_stmt *st;
    char email[VG_EMAIL_MAX + 1] = "", role[16] = "";
    if (vg_scope_prep(&r->ctx.scope, &st, "SELECT email, role FROM members WHERE org_id = ?1 AND id = ?2", "i", r->id))
        return server_error(c);
    if (vg_db_step(st) == 1) {
        snprintf(email, sizeof email, "%s", vg_db_text(st, 0));
        snprintf(role, sizeof role, "%s", vg_db_text(st, 1));
    }
    vg_db_done(st);
    if (!email[0]) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    if (r->id == r->ctx.member_id) return vg_reply_error(c, MHD_HTTP_FORBIDDEN, "self");
    if (vg_scope_run(&r->ctx.scope, "DELETE FROM members WHERE org_id = ?1 AND id = ?2", "i", r->id))
        return server_error(c);
    vg_api_audit(r, "member.remove", json_pack("{s:I,s:s,s:s}", "id", (json_int_t)r->id, "email", email, "role", role));
    return vg_reply_json(c, MHD_HTTP_OK, json_object());
}

/* The platform organization's own audit list, without the per-entry hashes. */
static enum MHD_Result h_paudit(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    return vg_api_audit_list(r, c, 0);
}

static const vg_web_route routes[] = {
    {"GET", "/api/setup/token", 0, VG_PUBLIC, VG_ROLE_NONE, h_setup_token, NULL},
    {"GET", "/api/platform/orgs", 0, VG_SESSION, VG_ROLE_OPERATOR, h_orgs, NULL},
    {"POST", "/api/platform/orgs", 0, VG_SESSION, VG_ROLE_OPERATOR, h_org_create, NULL},
    {"POST", "/api/platform/orgs/", 1, VG_SESSION, VG_ROLE_OPERATOR, h_org_suspend, "/suspend"},
    {"POST", "/api/platform/orgs/", 1, VG_SESSION, VG_ROLE_OPERATOR, h_org_resume, "/resume"},
    {"POST", "/api/platform/orgs/", 1, VG_SESSION, VG_ROLE_OPERATOR, h_org_setup_link, "/setup-link"},
    {"PUT", "/api/platform/orgs/", 1, VG_SESSION, VG_ROLE_OPERATOR, h_org_quota, "/quota"},
    {"GET", "/api/platform/members", 0, VG_SESSION, VG_ROLE_OPERATOR, h_pmembers, NULL},
    {"POST", "/api/platform/members", 0, VG_SESSION, VG_ROLE_OPERATOR, h_pmember_invite, NULL},
    {"DELETE", "/api/platform/members/", 1, VG_SESSION, VG_ROLE_OPERATOR, h_pmember_remove, NULL},
    {"GET", "/api/platform/audit", 0, VG_SESSION, VG_ROLE_OPERATOR, h_paudit, NULL},
};

const vg_web_route *vg_platform_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
