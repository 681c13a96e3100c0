/* SPDX-License-Identifier: Apache-2.0 */
/* Accounts: setup token lifetime and single use, TOTP required for owners,
 * login throttling, session timeouts, invitations, tenant scoping in the db
 * layer, and the audit hash chain against edits, deletes and reorders. */
#include "auth/audit.h"
#include "auth/auth.h"
#include "auth/totp.h"
#include "core/err.h"
#include "db/db.h"
#include "auth_fixture.h"
#include "vg_test.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 1800000000LL

static void open_fresh(void) { open_fresh_at("/tmp/vg_test_auth"); }

static void code_for(const vg_member_keys *k, int64_t now, char out[8])
{
    uint32_t c;
    vg_hotp(VG_TOTP_SHA1, k->totp_secret, 20, (uint64_t)(now / 30), 6, &c);
    snprintf(out, 8, "%06u", c);
}

static const uint8_t rpk[32] = {1, 2, 3};

static int do_setup(int64_t now, vg_member_keys *k, vg_ctx *ctx)
{
    char tok[VG_TOKEN_B64_MAX], sid[VG_TOKEN_B64_MAX];
    CHECK_EQ(vg_auth_setup_token_new(au, now, tok, sizeof tok), 0);
    keys(k, 7, 1, now);
    return vg_auth_setup(au, tok, "Acme", "Owner@Example.com", k, rpk, now, "10.0.0.1", sid, sizeof sid, ctx);
}

static void t_setup_token_single_use_and_expiry(void)
{
    char tok[VG_TOKEN_B64_MAX], sid[VG_TOKEN_B64_MAX];
    vg_member_keys k;
    vg_ctx ctx;
    int needed = 0;
    open_fresh();
    CHECK_EQ(vg_auth_needs_setup(au, &needed), 0);
    CHECK_EQ(needed, 1);
    /* Expired: one hour and one second later. */
    CHECK_EQ(vg_auth_setup_token_new(au, T0, tok, sizeof tok), 0);
    keys(&k, 7, 1, T0 + 3601);
    CHECK_EQ(vg_auth_setup(au, tok, "Acme", "o@example.com", &k, rpk, T0 + 3601, "a", sid, sizeof sid, &ctx), VG_EAUTH);
    /* Malformed token. */
    CHECK_EQ(vg_auth_setup(au, "not-a-token", "Acme", "o@example.com", &k, rpk, T0, "a", sid, sizeof sid, &ctx), VG_EAUTH);
    /* Owner without TOTP is refused and does not burn the token. */
    CHECK_EQ(vg_auth_setup_token_new(au, T0, tok, sizeof tok), 0);
    keys(&k, 7, 0, T0);
    CHECK_EQ(vg_auth_setup(au, tok, "Acme", "o@example.com", &k, rpk, T0, "a", sid, sizeof sid, &ctx), VG_EINVAL);
    keys(&k, 7, 1, T0);
    CHECK_EQ(vg_auth_setup(au, tok, "Acme", "o@example.com", &k, rpk, T0, "a", sid, sizeof sid, &ctx), 0);
    CHECK_EQ(ctx.role, VG_ROLE_OWNER);
    /* Single use. */
    CHECK_EQ(vg_auth_setup(au, tok, "Other", "p@example.com", &k, rpk, T0, "a", sid, sizeof sid, &ctx), VG_EAUTH);
    CHECK_EQ(vg_auth_needs_setup(au, &needed), 0);
    CHECK_EQ(needed, 0);
    close_all();
}

static void t_login_totp_and_throttle(void)
{
    vg_member_keys k;
    vg_ctx ctx;
    char sid[VG_TOKEN_B64_MAX], code[8];
    int ra = 0;
    uint8_t wrong[32], salt[16], salt2[16];
    open_fresh();
    CHECK_EQ(do_setup(T0, &k, &ctx), 0);
    int64_t now = T0 + 300;
    /* Right key, no TOTP: refused (owner). */
    CHECK_EQ(vg_auth_login(au, "owner@example.com", k.auth_key, NULL, "1.1.1.1", now, sid, sizeof sid, &ctx, &ra), VG_EAUTH);
    code_for(&k, now, code);
    CHECK_EQ(vg_auth_login(au, "owner@example.com", k.auth_key, code, "1.1.1.1", now, sid, sizeof sid, &ctx, &ra), 0);
    /* The same code again is a replay. */
    CHECK_EQ(vg_auth_login(au, "owner@example.com", k.auth_key, code, "1.1.1.1", now, sid, sizeof sid, &ctx, &ra), VG_EAUTH);
    /* Salt: real for members, stable fake for others. */
    CHECK_EQ(vg_auth_login_salt(au, "OWNER@example.com", salt), 0);
    CHECK_MEM(salt, k.salt, 16);
    CHECK_EQ(vg_auth_login_salt(au, "nobody@example.com", salt), 0);
    CHECK_EQ(vg_auth_login_salt(au, "nobody@example.com", salt2), 0);
    CHECK_MEM(salt, salt2, 16);
    CHECK_EQ(vg_auth_login_salt(au, "bad", salt), VG_EINVAL);
    /* A success resets the account count; 1 failure above + 9 = 10, then even
     * the right key is throttled. */
    memset(wrong, 1, sizeof wrong);
    for (int i = 0; i < 9; i++)
        CHECK_EQ(vg_auth_login(au, "owner@example.com", wrong, "000000", "2.2.2.2", now + i, sid, sizeof sid, &ctx, &ra), VG_EAUTH);
    code_for(&k, now + 60, code);
    CHECK_EQ(vg_auth_login(au, "owner@example.com", k.auth_key, code, "3.3.3.3", now + 60, sid, sizeof sid, &ctx, &ra), VG_EAGAIN);
    CHECK(ra > 0 && ra <= VG_THROTTLE_WINDOW);
    /* After the window the account may try again. */
    int64_t later = now + VG_THROTTLE_WINDOW + 60;
    code_for(&k, later, code);
    CHECK_EQ(vg_auth_login(au, "owner@example.com", k.auth_key, code, "3.3.3.3", later, sid, sizeof sid, &ctx, &ra), 0);
    close_all();
}

static void t_address_throttle(void)
{
    vg_member_keys k;
    vg_ctx ctx;
    char sid[VG_TOKEN_B64_MAX];
    uint8_t wrong[32];
    int ra = 0;
    open_fresh();
    CHECK_EQ(do_setup(T0, &k, &ctx), 0);
    memset(wrong, 1, sizeof wrong);
    for (int i = 0; i < 10; i++) {
        char em[64];
        snprintf(em, sizeof em, "u%d@example.com", i);
        CHECK_EQ(vg_auth_login(au, em, wrong, NULL, "9.9.9.9", T0 + i, sid, sizeof sid, &ctx, &ra), VG_EAUTH);
    }
    CHECK_EQ(vg_auth_login(au, "other@example.com", wrong, NULL, "9.9.9.9", T0 + 20, sid, sizeof sid, &ctx, &ra), VG_EAGAIN);
    close_all();
}

static void t_sessions(void)
{
    vg_member_keys k;
    vg_ctx ctx, c2;
    char sid[VG_TOKEN_B64_MAX], code[8];
    int ra;
    open_fresh();
    CHECK_EQ(do_setup(T0, &k, &ctx), 0);
    code_for(&k, T0 + 100, code);
    CHECK_EQ(vg_auth_login(au, "owner@example.com", k.auth_key, code, "a", T0 + 100, sid, sizeof sid, &ctx, &ra), 0);
    CHECK_EQ(vg_auth_session(au, sid, T0 + 200, "a", &c2), 0);
    CHECK_EQ(c2.member_id, ctx.member_id);
    CHECK_EQ(c2.scope.org_id, ctx.scope.org_id);
    /* Idle timeout. */
    CHECK_EQ(vg_auth_session(au, sid, T0 + 200 + VG_SESSION_IDLE + 1, "a", &c2), VG_EAUTH);
    /* Absolute timeout even when active. */
    code_for(&k, T0 + 400, code);
    CHECK_EQ(vg_auth_login(au, "owner@example.com", k.auth_key, code, "a", T0 + 400, sid, sizeof sid, &ctx, &ra), 0);
    int64_t t = T0 + 400;
    for (; t < T0 + 400 + VG_SESSION_ABS; t += VG_SESSION_IDLE - 10) CHECK_EQ(vg_auth_session(au, sid, t, "a", &c2), 0);
    CHECK_EQ(vg_auth_session(au, sid, T0 + 401 + VG_SESSION_ABS, "a", &c2), VG_EAUTH);
    /* Logout, garbage. */
    CHECK_EQ(vg_auth_session(au, "garbage", T0, "a", &c2), VG_EAUTH);
    CHECK_EQ(vg_auth_session(au, "", T0, "a", &c2), VG_EAUTH);
    close_all();
}

static void t_invite(void)
{
    vg_member_keys k, v;
    vg_ctx ctx, vctx;
    vg_invite_info info;
    char tok[VG_TOKEN_B64_MAX], sid[VG_TOKEN_B64_MAX];
    int64_t id;
    open_fresh();
    CHECK_EQ(do_setup(T0, &k, &ctx), 0);
    CHECK_EQ(vg_auth_invite(au, &ctx, "viewer@example.com", VG_ROLE_OWNER, T0, tok, sizeof tok, &id), VG_EINVAL);
    CHECK_EQ(vg_auth_invite(au, &ctx, "viewer@example.com", VG_ROLE_VIEWER, T0, tok, sizeof tok, &id), 0);
    CHECK_EQ(vg_auth_invite_info(au, tok, T0 + 1, &info), 0);
    CHECK(strcmp(info.email, "viewer@example.com") == 0);
    CHECK(strcmp(info.org_name, "Acme") == 0);
    CHECK_MEM(info.inviter_pk, k.pk, 32);
    keys(&v, 9, 0, T0);
    CHECK_EQ(vg_auth_invite_accept(au, tok, &v, T0 + 2, "b", sid, sizeof sid, &vctx), 0);
    CHECK_EQ(vctx.role, VG_ROLE_VIEWER);
    CHECK_EQ(vctx.scope.org_id, ctx.scope.org_id);
    CHECK_EQ(vg_auth_invite_accept(au, tok, &v, T0 + 3, "b", sid, sizeof sid, &vctx), VG_EAUTH);
    /* A viewer cannot invite; an admin invitation needs TOTP; expiry. */
    CHECK_EQ(vg_auth_invite(au, &vctx, "x@example.com", VG_ROLE_VIEWER, T0, tok, sizeof tok, &id), VG_EINVAL);
    CHECK_EQ(vg_auth_invite(au, &ctx, "adm@example.com", VG_ROLE_ADMIN, T0, tok, sizeof tok, &id), 0);
    keys(&v, 10, 0, T0);
    CHECK_EQ(vg_auth_invite_accept(au, tok, &v, T0 + 5, "b", sid, sizeof sid, &vctx), VG_EINVAL);
    keys(&v, 10, 1, T0 + VG_INVITE_TTL + 1);
    CHECK_EQ(vg_auth_invite_accept(au, tok, &v, T0 + VG_INVITE_TTL + 1, "b", sid, sizeof sid, &vctx), VG_EAUTH);
    close_all();
}

static void t_scope_refuses_unscoped_sql(void)
{
    vg_stmt *st = NULL;
    open_fresh();
    vg_scope s = {db, 1}, zero = {db, 0};
    CHECK_EQ(vg_scope_prep(&s, &st, "SELECT id FROM cameras", ""), VG_EINVAL);
    CHECK(st == NULL);
    CHECK_EQ(vg_scope_prep(&s, &st, "SELECT id FROM cameras WHERE id = ?1", ""), VG_EINVAL);
    CHECK_EQ(vg_scope_prep(&zero, &st, "SELECT id FROM cameras WHERE org_id = ?1", ""), VG_EINVAL);
    CHECK_EQ(vg_scope_run(&s, "DELETE FROM cameras", ""), VG_EINVAL);
    CHECK_EQ(vg_scope_run(&s, "INSERT INTO sites(name, org_id, created) VALUES(?2, ?1, 0)", "t", "x"), VG_EINVAL);
    CHECK_EQ(vg_scope_prep(&s, &st, "SELECT id FROM cameras WHERE org_id = ?1", ""), 0);
    vg_db_done(st);
    /* Parameter count must match the format. */
    CHECK_EQ(vg_scope_prep(&s, &st, "SELECT id FROM cameras WHERE org_id = ?1 AND id = ?2", ""), VG_EINVAL);
    close_all();
}

static void t_audit_chain(void)
{
    vg_member_keys k;
    vg_ctx ctx;
    int64_t bad = 0;
    uint8_t head[32];
    open_fresh();
    CHECK_EQ(do_setup(T0, &k, &ctx), 0);
    for (int i = 0; i < 5; i++) CHECK_EQ(vg_audit_add(&ctx.scope, ctx.member_id, ctx.email, "x", "{\"i\":1}", "a", T0 * 1000 + i), 0);
    CHECK_EQ(vg_audit_verify(&ctx.scope, &bad, head), 0);
    /* Edit. */
    CHECK_EQ(vg_db_run(db, "UPDATE audit SET detail = '{\"i\":2}' WHERE seq = 3", ""), 0);
    CHECK_EQ(vg_audit_verify(&ctx.scope, &bad, head), VG_ECRYPTO);
    CHECK_EQ(bad, 3);
    CHECK_EQ(vg_db_run(db, "UPDATE audit SET detail = '{\"i\":1}' WHERE seq = 3", ""), 0);
    CHECK_EQ(vg_audit_verify(&ctx.scope, &bad, head), 0);
    /* Reorder (swap two rows' sequence numbers). */
    CHECK_EQ(vg_db_run(db, "UPDATE audit SET seq = -1 WHERE seq = 2; ", ""), 0);
    CHECK_EQ(vg_db_run(db, "UPDATE audit SET seq = 2 WHERE seq = 4", ""), 0);
    CHECK_EQ(vg_db_run(db, "UPDATE audit SET seq = 4 WHERE seq = -1", ""), 0);
    CHECK_EQ(vg_audit_verify(&ctx.scope, &bad, head), VG_ECRYPTO);
    /* Delete. */
    CHECK_EQ(vg_db_run(db, "DELETE FROM audit WHERE seq = 4", ""), 0);
    CHECK_EQ(vg_audit_verify(&ctx.scope, &bad, head), VG_ECRYPTO);
    close_all();
}

static void t_validation(void)
{
    char e1[] = "A@B.c", e2[] = "no-at", e3[] = "a@b@c", e4[] = "a b@c", e5[] = "x'--@y";
    uint8_t out[4];
    CHECK_EQ(vg_email_normalize(e1), 0);
    CHECK(strcmp(e1, "a@b.c") == 0);
    CHECK_EQ(vg_email_normalize(e2), VG_EINVAL);
    CHECK_EQ(vg_email_normalize(e3), VG_EINVAL);
    CHECK_EQ(vg_email_normalize(e4), VG_EINVAL);
    CHECK_EQ(vg_email_normalize(e5), 0);   /* legal; only ever bound as a parameter */
    CHECK_EQ(vg_b64_decode("AAAAAA", out, 4), 0);
    CHECK_EQ(vg_b64_decode("AAAAAA==", out, 4), VG_EINVAL);
    CHECK_EQ(vg_b64_decode("AAAA", out, 4), VG_EINVAL);
    CHECK_EQ(vg_b64_decode("AA+AAA", out, 4), VG_EINVAL);
    CHECK_EQ(vg_b64_decode(NULL, out, 4), VG_EINVAL);
    CHECK(!vg_name_ok("", 10));
    CHECK(!vg_name_ok("a\nb", 10));
    CHECK(vg_name_ok("Front door", 5) == 0);
    CHECK(vg_name_ok("Front", 10));
}

int main(void)
{
    if (sodium_init() < 0) return 1;
    RUN(t_setup_token_single_use_and_expiry);
    RUN(t_login_totp_and_throttle);
    RUN(t_address_throttle);
    RUN(t_sessions);
    RUN(t_invite);
    RUN(t_scope_refuses_unscoped_sql);
    RUN(t_audit_chain);
    RUN(t_validation);
    return vg_test_done();
}
