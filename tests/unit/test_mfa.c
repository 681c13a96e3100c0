/* SPDX-License-Identifier: Apache-2.0 */
/* Second-factor policy and WebAuthn challenges on a real app.db: a challenge
 * is single use, dies after VG_MFA_CHALLENGE_TTL, answers only its own
 * binding and purpose; the factor chosen for each policy and enrolment. */
#include "auth/mfa.h"
#include "core/err.h"
#include "db/db.h"
#include "vg_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 1800000000LL

static char dir[64];
static vg_db *db;
static int64_t org, member;

static void open_fresh(void)
{
    char path[128];
    snprintf(dir, sizeof dir, "/tmp/vg_test_mfa.XXXXXX");
    if (!mkdtemp(dir)) abort();
    snprintf(path, sizeof path, "%s/app.db", dir);
    if (vg_db_open(path, &db)) abort();
    uint8_t uid[16] = {1}, z[72] = {0};
    if (vg_db_run(db, "INSERT INTO organizations(name, created, uid) VALUES('o', 1, ?1)", "b", uid, sizeof uid)) abort();
    org = vg_db_last_id(db);
    if (vg_db_run(db, "INSERT INTO members(org_id, email, role, salt, auth_hash, public_key, wrapped_sk, created) "
                  "VALUES(?1, 'a@b.c', 'admin', ?2, ?2, ?2, ?2, 1)", "ib", org, z, sizeof z))
        abort();
    member = vg_db_last_id(db);
}

static void close_all(void)
{
    char path[160];
    vg_db_close(db);
    const char *f[] = {"app.db", "app.db-wal", "app.db-shm"};
    for (size_t i = 0; i < 3; i++) { snprintf(path, sizeof path, "%s/%s", dir, f[i]); unlink(path); }
    rmdir(dir);
}

static void t_challenge_single_use_and_ttl(void)
{
    uint8_t bind[32], other[32], c1[32], c2[32];
    int64_t o = 0, m = 0;
    open_fresh();
    vg_mfa_bind("session-1", bind);
    vg_mfa_bind("session-2", other);
    CHECK_EQ(vg_mfa_challenge_new(db, org, member, "login", bind, T0, c1), 0);
    CHECK_EQ(vg_mfa_challenge_take(db, "login", other, T0 + 1, &o, &m, c2), VG_EAUTH);    /* another binding */
    CHECK_EQ(vg_mfa_challenge_take(db, "register", bind, T0 + 1, &o, &m, c2), VG_EAUTH); /* another purpose */
    CHECK_EQ(vg_mfa_challenge_take(db, "login", bind, T0 + 1, &o, &m, c2), 0);
    CHECK_MEM(c1, c2, 32);
    CHECK_EQ(o, org);
    CHECK_EQ(m, member);
    CHECK_EQ(vg_mfa_challenge_take(db, "login", bind, T0 + 2, &o, &m, c2), VG_EAUTH);    /* used */
    /* stale: one second past the lifetime, and gone after that try */
    CHECK_EQ(vg_mfa_challenge_new(db, org, member, "login", bind, T0, c1), 0);
    CHECK_EQ(vg_mfa_challenge_take(db, "login", bind, T0 + VG_MFA_CHALLENGE_TTL, &o, &m, c2), VG_EAUTH);
    CHECK_EQ(vg_mfa_challenge_new(db, org, member, "login", bind, T0, c1), 0);
    CHECK_EQ(vg_mfa_challenge_take(db, "login", bind, T0 + VG_MFA_CHALLENGE_TTL - 1, &o, &m, c2), 0);
    /* a newer ceremony replaces the unfinished one */
    CHECK_EQ(vg_mfa_challenge_new(db, org, member, "register", bind, T0, c1), 0);
    CHECK_EQ(vg_mfa_challenge_new(db, org, member, "register", bind, T0, c2), 0);
    CHECK(memcmp(c1, c2, 32) != 0);
    uint8_t got[32];
    CHECK_EQ(vg_mfa_challenge_take(db, "register", bind, T0, &o, &m, got), 0);
    CHECK_MEM(got, c2, 32);
    CHECK_EQ(vg_mfa_challenge_take(db, "register", bind, T0, &o, &m, got), VG_EAUTH);
    close_all();
}

static void t_pending_logins_bounded(void)
{
    vg_ctx ctx;
    char tok[8][VG_TOKEN_B64_MAX];
    uint8_t chal[32], bind[32];
    int64_t o, m;
    open_fresh();
    memset(&ctx, 0, sizeof ctx);
    ctx.scope.db = db;
    ctx.scope.org_id = org;
    ctx.member_id = member;
    for (int i = 0; i < 8; i++) CHECK_EQ(vg_mfa_login_begin(db, &ctx, T0, tok[i], sizeof tok[i], chal), 0);
    for (int i = 0; i < 8; i++) {
        vg_mfa_bind(tok[i], bind);
        /* only the newest VG_MFA_PENDING_MAX survive */
        CHECK_EQ(vg_mfa_challenge_take(db, "login", bind, T0 + 1, &o, &m, chal), i < 8 - VG_MFA_PENDING_MAX ? VG_EAUTH : 0);
    }
    close_all();
}

static void t_factor_policy(void)
{
    open_fresh();
    /* defaults: TOTP allowed */
    CHECK_EQ(vg_mfa_factor(db, org, member, VG_ROLE_ADMIN, 1, 1), VG_MFA_TOTP);
    CHECK_EQ(vg_mfa_factor(db, org, member, VG_ROLE_ADMIN, 1, 0), VG_MFA_TOTP);
    CHECK_EQ(vg_mfa_factor(db, org, member, VG_ROLE_ADMIN, 0, 0), VG_MFA_REFUSE);
    CHECK_EQ(vg_mfa_factor(db, org, member, VG_ROLE_SUPPORT, 0, 0), VG_MFA_REFUSE);
    CHECK_EQ(vg_mfa_factor(db, org, member, VG_ROLE_VIEWER, 0, 0), VG_MFA_NONE);
    uint8_t id[4] = {1, 2, 3, 4}, cose[4] = {0};
    CHECK_EQ(vg_db_run(db, "INSERT INTO webauthn_credentials(org_id, member_id, cred_id, cose_key, alg, name, fmt, "
                       "created) VALUES(?1, ?2, ?3, ?4, -7, 'k', 'none', 1)", "iibb", org, member, id, sizeof id,
                       cose, sizeof cose), 0);
    CHECK_EQ(vg_mfa_factor(db, org, member, VG_ROLE_ADMIN, 1, 1), VG_MFA_TOTP);     /* fallback while allowed */
    CHECK_EQ(vg_mfa_factor(db, org, member, VG_ROLE_ADMIN, 1, 0), VG_MFA_WEBAUTHN);
    CHECK_EQ(vg_mfa_factor(db, org, member, VG_ROLE_VIEWER, 0, 0), VG_MFA_WEBAUTHN); /* a viewer who enrolled a key */
    CHECK_EQ(vg_db_run(db, "INSERT INTO org_security(org_id, allow_totp) VALUES(?1, 0)", "i", org), 0);
    vg_mfa_policy p;
    CHECK_EQ(vg_mfa_policy_get(db, org, &p), 0);
    CHECK_EQ(p.allow_totp, 0);
    CHECK_EQ(vg_mfa_factor(db, org, member, VG_ROLE_ADMIN, 1, 1), VG_MFA_WEBAUTHN);  /* a code does not help */
    CHECK_EQ(vg_db_run(db, "DELETE FROM webauthn_credentials", ""), 0);
    CHECK_EQ(vg_mfa_factor(db, org, member, VG_ROLE_OWNER, 1, 1), VG_MFA_REFUSE);
    close_all();
}

static void t_own_account_routes_admit_every_role(void)
{
    CHECK(vg_role_allows(VG_ROLE_SUPPORT, VG_ROLE_NONE));
    CHECK(vg_role_allows(VG_ROLE_OPERATOR, VG_ROLE_NONE));
    CHECK(vg_role_allows(VG_ROLE_VIEWER, VG_ROLE_NONE));
    CHECK(!vg_role_allows(VG_ROLE_NONE, VG_ROLE_NONE));
    CHECK(!vg_role_allows(VG_ROLE_SUPPORT, VG_ROLE_VIEWER));   /* tenant routes still exclude them */
    CHECK(vg_mfa_required(VG_ROLE_SUPPORT) && vg_mfa_required(VG_ROLE_OWNER) && !vg_mfa_required(VG_ROLE_VIEWER));
}

int main(void)
{
    RUN(t_own_account_routes_admit_every_role);
    RUN(t_challenge_single_use_and_ttl);
    RUN(t_pending_logins_bounded);
    RUN(t_factor_policy);
    return vg_test_done();
}
