/* SPDX-License-Identifier: Apache-2.0 */
/* The platform's rules in src/auth (docs/design/tenancy.md): the role
 * matrix, the platform's setup token (once, TOTP, no second platform),
 * tokens bound to an organization an operator made (owner only, only while
 * empty, name kept), operator invitations, and suspension. */
#include "auth/auth.h"
#include "auth/totp.h"
#include "core/err.h"
#include "db/db.h"
#include "db/schema.h"
#include "auth_fixture.h"
#include "vg_test.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 1800000000LL

static void open_fresh(void) { open_fresh_at("/tmp/vg_test_ten"); }

static const uint8_t rpk[32] = {1, 2, 3};

static void t_role_matrix(void)
{
    enum vg_role tenant[] = {VG_ROLE_VIEWER, VG_ROLE_ADMIN, VG_ROLE_OWNER};
    enum vg_role platform[] = {VG_ROLE_SUPPORT, VG_ROLE_OPERATOR};
    for (size_t i = 0; i < 3; i++) {
        for (size_t j = 0; j < 3; j++) CHECK_EQ(vg_role_allows(tenant[i], tenant[j]), i >= j);
        for (size_t j = 0; j < 2; j++) {
            CHECK_EQ(vg_role_allows(tenant[i], platform[j]), 0);
            CHECK_EQ(vg_role_allows(platform[j], tenant[i]), 0);
        }
        CHECK_EQ(vg_role_allows(tenant[i], VG_ROLE_NONE), 1);
    }
    CHECK_EQ(vg_role_allows(VG_ROLE_SUPPORT, VG_ROLE_SUPPORT), 1);
    CHECK_EQ(vg_role_allows(VG_ROLE_OPERATOR, VG_ROLE_OPERATOR), 1);
    CHECK_EQ(vg_role_allows(VG_ROLE_SUPPORT, VG_ROLE_OPERATOR), 0);
    CHECK_EQ(vg_role_allows(VG_ROLE_OPERATOR, VG_ROLE_SUPPORT), 0);
    CHECK_EQ(vg_role_allows(VG_ROLE_OPERATOR, VG_ROLE_NONE), 1);
    CHECK_EQ(vg_role_allows(VG_ROLE_NONE, VG_ROLE_NONE), 0);
    CHECK_EQ(vg_role_allows(VG_ROLE_NONE, VG_ROLE_VIEWER), 0);
    CHECK_EQ(vg_role_allows((enum vg_role)5, VG_ROLE_VIEWER), 0);
}

static void t_platform_setup(void)
{
    char tok[VG_TOKEN_B64_MAX], ttok[VG_TOKEN_B64_MAX], sid[VG_TOKEN_B64_MAX];
    vg_member_keys k;
    vg_ctx ctx;
    vg_setup_info info;
    int needed = 0;
    open_fresh();
    CHECK_EQ(vg_auth_setup_token_new(au, T0, ttok, sizeof ttok), 0);
    CHECK_EQ(vg_auth_platform_token_new(au, T0, tok, sizeof tok), 0);
    CHECK_EQ(vg_auth_setup_info(au, tok, T0, &info), 0);
    CHECK_EQ(info.platform, 1);
    CHECK_EQ(info.org, 0);
    /* An operator without TOTP is refused. */
    keys(&k, 3, 0, T0);
    CHECK_EQ(vg_auth_setup(au, tok, "Vendor", "op@v.example", &k, NULL, T0, "a", sid, sizeof sid, &ctx), VG_EINVAL);
    /* Expired after an hour. */
    keys(&k, 3, 1, T0 + 3601);
    CHECK_EQ(vg_auth_setup(au, tok, "Vendor", "op@v.example", &k, NULL, T0 + 3601, "a", sid, sizeof sid, &ctx),
             VG_EAUTH);
    keys(&k, 3, 1, T0);
    CHECK_EQ(vg_auth_setup(au, tok, "Vendor", "op@v.example", &k, NULL, T0, "a", sid, sizeof sid, &ctx), 0);
    CHECK_EQ(ctx.role, VG_ROLE_OPERATOR);
    int64_t platform = ctx.scope.org_id;
    /* Once: the token is used, and no second platform can be made. */
    CHECK_EQ(vg_auth_setup(au, tok, "Vendor", "op2@v.example", &k, NULL, T0, "a", sid, sizeof sid, &ctx), VG_EAUTH);
    CHECK_EQ(vg_auth_platform_token_new(au, T0, tok, sizeof tok), VG_EINVAL);
    /* The platform is not a tenant: the first-start link still works. */
    CHECK_EQ(vg_auth_needs_setup(au, &needed), 0);
    CHECK_EQ(needed, 1);
    keys(&k, 4, 1, T0);
    CHECK_EQ(vg_auth_setup(au, ttok, "Acme", "o@acme.example", &k, NULL, T0, "a", sid, sizeof sid, &ctx), VG_EINVAL);
    CHECK_EQ(vg_auth_setup(au, ttok, "Acme", "o@acme.example", &k, rpk, T0, "a", sid, sizeof sid, &ctx), 0);
    CHECK_EQ(ctx.role, VG_ROLE_OWNER);
    CHECK(ctx.scope.org_id != platform);
    /* A tenant owner may not invite platform roles; an operator only those. */
    int64_t id;
    CHECK_EQ(vg_auth_invite(au, &ctx, "s@v.example", VG_ROLE_SUPPORT, T0, tok, sizeof tok, &id), VG_EINVAL);
    CHECK_EQ(vg_auth_invite(au, &ctx, "s@v.example", VG_ROLE_OPERATOR, T0, tok, sizeof tok, &id), VG_EINVAL);
    close_all();
}

static void t_bound_token(void)
{
    char tok[VG_TOKEN_B64_MAX], tok2[VG_TOKEN_B64_MAX], sid[VG_TOKEN_B64_MAX];
    vg_member_keys k;
    vg_ctx ctx;
    vg_setup_info info;
    open_fresh();
    CHECK_EQ(vg_db_run(db, "INSERT INTO organizations(name, created, uid) VALUES('Made', 1, x'00112233445566778899aabbccddeeff')",
                       ""), 0);
    int64_t org = vg_db_last_id(db);
    CHECK_EQ(vg_auth_org_token_new(au, 9999, T0, tok, sizeof tok), VG_EINVAL);   /* no such organization */
    CHECK_EQ(vg_auth_org_token_new(au, org, T0, tok, sizeof tok), 0);
    CHECK_EQ(vg_auth_org_token_new(au, org, T0, tok2, sizeof tok2), 0);          /* replaces the first */
    CHECK_EQ(vg_auth_setup_info(au, tok, T0, &info), VG_EAUTH);
    CHECK_EQ(vg_auth_setup_info(au, tok2, T0, &info), 0);
    CHECK_EQ(info.org, org);
    CHECK(strcmp(info.org_name, "Made") == 0);
    keys(&k, 5, 1, T0);
    CHECK_EQ(vg_auth_setup(au, tok2, NULL, "o@made.example", &k, NULL, T0, "a", sid, sizeof sid, &ctx), VG_EINVAL);
    CHECK_EQ(vg_auth_setup(au, tok2, "Renamed", "o@made.example", &k, rpk, T0, "a", sid, sizeof sid, &ctx), 0);
    CHECK_EQ(ctx.scope.org_id, org);
    CHECK_EQ(ctx.role, VG_ROLE_OWNER);
    vg_stmt *st;
    CHECK_EQ(vg_db_prep(db, &st, "SELECT name, recovery_pk IS NOT NULL FROM organizations WHERE id = ?1", "i", org), 0);
    CHECK_EQ(vg_db_step(st), 1);
    CHECK(strcmp(vg_db_text(st, 0), "Made") == 0);
    CHECK_EQ(vg_db_int(st, 1), 1);
    vg_db_done(st);
    /* Not once the organization has a member. */
    CHECK_EQ(vg_auth_org_token_new(au, org, T0, tok, sizeof tok), VG_EINVAL);
    /* Suspended: no login, no session. */
    char sid2[VG_TOKEN_B64_MAX];
    int retry;
    vg_ctx c2;
    CHECK_EQ(vg_auth_session(au, sid, T0 + 1, "a", &c2), 0);
    CHECK_EQ(vg_db_run(db, "UPDATE organizations SET state = 'suspended' WHERE id = ?1", "i", org), 0);
    CHECK_EQ(vg_auth_session(au, sid, T0 + 2, "a", &c2), VG_EAUTH);
    char code[8];
    uint32_t cv;
    vg_hotp(VG_TOTP_SHA1, k.totp_secret, 20, (uint64_t)((T0 + 60) / 30), 6, &cv);
    snprintf(code, sizeof code, "%06u", cv);
    CHECK_EQ(vg_auth_login(au, "o@made.example", k.auth_key, code, "a", T0 + 60, sid2, sizeof sid2, &c2, &retry),
             VG_EAUTH);
    CHECK_EQ(vg_db_run(db, "UPDATE organizations SET state = 'active' WHERE id = ?1", "i", org), 0);
    vg_hotp(VG_TOTP_SHA1, k.totp_secret, 20, (uint64_t)((T0 + 90) / 30), 6, &cv);
    snprintf(code, sizeof code, "%06u", cv);
    CHECK_EQ(vg_auth_login(au, "o@made.example", k.auth_key, code, "a", T0 + 90, sid2, sizeof sid2, &c2, &retry), 0);
    close_all();
}

/* A version-3 database (as the previous release left it) with an
 * organization, a member, an invitation and a setup token opens as version
 * 4 with all of them kept and the new columns usable. */
static void t_migrate_v3(void)
{
    char path[128];
    sqlite3 *h;
    snprintf(dir, sizeof dir, "/tmp/vg_test_ten.XXXXXX");
    if (!mkdtemp(dir)) abort();
    snprintf(path, sizeof path, "%s/app.db", dir);
    CHECK_EQ(sqlite3_open(path, &h), SQLITE_OK);
    CHECK_EQ(sqlite3_exec(h, vg_db_schema_sql, NULL, NULL, NULL), SQLITE_OK);
    CHECK_EQ(sqlite3_exec(h, vg_db_schema_v2_sql, NULL, NULL, NULL), SQLITE_OK);
    CHECK_EQ(sqlite3_exec(h, vg_db_schema_v3_sql, NULL, NULL, NULL), SQLITE_OK);
    CHECK_EQ(sqlite3_exec(h,
        "INSERT INTO organizations(id, name, created, uid) VALUES(1, 'Old', 1, x'01');"
        "INSERT INTO members(id, org_id, email, role, salt, auth_hash, public_key, wrapped_sk, created) "
        "VALUES(1, 1, 'o@old.example', 'owner', x'00', x'00', x'00', x'00', 1);"
        "INSERT INTO invitations(org_id, token_hash, email, role, inviter_id, created, expires) "
        "VALUES(1, x'aa', 'v@old.example', 'viewer', 1, 1, 2);"
        "INSERT INTO setup_tokens(token_hash, expires) VALUES(x'bb', 5);", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    CHECK_EQ(vg_db_open(path, &db), 0);
    vg_stmt *st;
    CHECK_EQ(vg_db_prep(db, &st, "SELECT (SELECT v FROM meta WHERE k = 'schema_version'), "
                        "(SELECT email FROM invitations WHERE org_id = 1), (SELECT purpose FROM setup_tokens), "
                        "(SELECT max_cameras IS NULL FROM organizations WHERE id = 1)", ""), 0);
    CHECK_EQ(vg_db_step(st), 1);
    CHECK(strtol(vg_db_text(st, 0), NULL, 10) >= 4);   /* and every later step */
    CHECK(strcmp(vg_db_text(st, 1), "v@old.example") == 0);
    CHECK(strcmp(vg_db_text(st, 2), "tenant") == 0);
    CHECK_EQ(vg_db_int(st, 3), 1);
    vg_db_done(st);
    CHECK_EQ(vg_db_run(db, "INSERT INTO invitations(org_id, token_hash, email, role, inviter_id, created, expires) "
                       "VALUES(1, x'cc', 's@old.example', 'support', 1, 1, 2)", ""), 0);
    CHECK(vg_db_run(db, "INSERT INTO invitations(org_id, token_hash, email, role, inviter_id, created, expires) "
                    "VALUES(1, x'dd', 'x@old.example', 'owner', 1, 1, 2)", "") != 0);
    if (vg_auth_new(db, dir, &au)) abort();
    close_all();
}

int main(void)
{
    if (sodium_init() < 0) return 1;
    RUN(t_role_matrix);
    RUN(t_platform_setup);
    RUN(t_bound_token);
    RUN(t_migrate_v3);
    return vg_test_done();
}
