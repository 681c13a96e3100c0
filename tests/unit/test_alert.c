/* SPDX-License-Identifier: Apache-2.0 */
/* Alert rules keyed by audit action (alert/alert.c): which actions raise a
 * notification and which do not; the failed sign-in burst alerts once and
 * only for owners/admins; camera recording alerts once per transition;
 * webhook URL refusals (SSRF) and the HMAC-SHA256 signature (RFC 4231). */
#include "alert/alert.h"
#include "alert/webhook.h"
#include "auth/audit.h"
#include "vg_test.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static vg_db *db;
static vg_scope S;

static int64_t count(const char *kind)
{
    vg_stmt *st = NULL;
    int64_t n = -1;
    if (vg_scope_prep(&S, &st, "SELECT count(*) FROM notifications WHERE org_id = ?1 AND kind = ?2", "t", kind) == 0 &&
        vg_db_step(st) == 1)
        n = vg_db_int(st, 0);
    vg_db_done(st);
    return n;
}

static void t_rules_by_action(void)
{
    CHECK_EQ(vg_audit_add(&S, 1, "o@x", "grant.issue", "{\"to\":\"support\"}", "a", 1000), 0);
    CHECK_EQ(count("grant"), 1);
    CHECK_EQ(vg_audit_add(&S, 1, "o@x", "grant.use", "{}", "a", 1001), 0);
    CHECK_EQ(count("grant"), 2);
    CHECK_EQ(vg_audit_add(&S, 1, "o@x", "export", "{\"camera\":1}", "a", 1002), 0);
    CHECK_EQ(count("export"), 1);
    /* A viewer joining is not an alert; an admin joining is. */
    CHECK_EQ(vg_audit_add(&S, 3, "v@x", "member.join", "{\"role\":\"viewer\"}", "a", 1003), 0);
    CHECK_EQ(count("member.admin"), 0);
    CHECK_EQ(vg_audit_add(&S, 2, "ad@x", "member.join", "{\"role\":\"admin\"}", "a", 1004), 0);
    CHECK_EQ(count("member.admin"), 1);
    /* Ordinary actions raise nothing. */
    CHECK_EQ(vg_audit_add(&S, 1, "o@x", "site.add", "{}", "a", 1005), 0);
    CHECK_EQ(vg_audit_add(&S, 1, "o@x", "login", "{}", "a", 1006), 0);
    vg_stmt *st = NULL;
    int64_t all = 0;
    if (vg_scope_prep(&S, &st, "SELECT count(*) FROM notifications WHERE org_id = ?1", "") == 0 && vg_db_step(st) == 1)
        all = vg_db_int(st, 0);
    vg_db_done(st);
    CHECK_EQ(all, 4);
}

static void t_failed_logins(void)
{
    int64_t t = 10 * 60 * 1000 * 1000LL;
    /* The viewer (id 3): never an alert. */
    for (int i = 0; i < 8; i++) CHECK_EQ(vg_audit_add(&S, 3, "v@x", "login.fail", "{}", "a", t + i), 0);
    CHECK_EQ(count("login.failures"), 0);
    /* The owner: four failures, nothing; the fifth alerts; more in the same burst do not. */
    for (int i = 0; i < 4; i++) CHECK_EQ(vg_audit_add(&S, 1, "o@x", "login.fail", "{}", "a", t + i), 0);
    CHECK_EQ(count("login.failures"), 0);
    CHECK_EQ(vg_audit_add(&S, 1, "o@x", "login.fail", "{}", "a", t + 10), 0);
    CHECK_EQ(count("login.failures"), 1);
    for (int i = 0; i < 3; i++) CHECK_EQ(vg_audit_add(&S, 1, "o@x", "login.fail", "{}", "a", t + 20 + i), 0);
    CHECK_EQ(count("login.failures"), 1);
    /* Spread out over more than 15 minutes: no burst. */
    int64_t t2 = t + 3600 * 1000LL;
    for (int i = 0; i < 6; i++)
        CHECK_EQ(vg_audit_add(&S, 2, "ad@x", "login.fail", "{}", "a", t2 + i * 16 * 60 * 1000LL), 0);
    CHECK_EQ(count("login.failures"), 1);
}

static void t_camera_transitions(void)
{
    vg_alerts *a = NULL;
    setenv("VIGIL_ALERT_RECORDING_GRACE", "5", 1);
    CHECK_EQ(vg_alerts_new(db, &a), 0);
    if (!a) return;
    int64_t t = 1000000;
    /* Never recorded since start: no alert however long. */
    for (int i = 0; i < 20; i++) {
        vg_alert_camera_begin(a);
        vg_alert_camera(a, &S, 7, "Gate", 0, "connecting", t + i * 1000);
        vg_alert_camera_end(a);
    }
    CHECK_EQ(count("camera.recording_lost"), 0);
    int64_t now = t + 30000;
    vg_alert_camera_begin(a);
    vg_alert_camera(a, &S, 7, "Gate", 1, "recording", now);
    vg_alert_camera_end(a);
    /* Lost for 4 s: not yet; for 5 s: one alert; then no more while lost. */
    for (int i = 1; i <= 20; i++) {
        vg_alert_camera_begin(a);
        vg_alert_camera(a, &S, 7, "Gate", 0, "offline", now + i * 1000);
        vg_alert_camera_end(a);
        if (i == 5) CHECK_EQ(count("camera.recording_lost"), 0);
    }
    CHECK_EQ(count("camera.recording_lost"), 1);
    vg_alert_camera_begin(a);
    vg_alert_camera(a, &S, 7, "Gate", 1, "recording", now + 30000);
    vg_alert_camera_end(a);
    CHECK_EQ(count("camera.recording_resumed"), 1);
    /* A blip shorter than the grace: nothing. */
    vg_alert_camera_begin(a);
    vg_alert_camera(a, &S, 7, "Gate", 0, "connecting", now + 31000);
    vg_alert_camera_end(a);
    vg_alert_camera_begin(a);
    vg_alert_camera(a, &S, 7, "Gate", 1, "recording", now + 33000);
    vg_alert_camera_end(a);
    CHECK_EQ(count("camera.recording_lost"), 1);
    vg_alerts_free(a);
}

static void t_webhook_urls_and_signature(void)
{
    CHECK_EQ(vg_webhook_url_ok("https://hooks.example.com/vigil?x=1", 0), 0);
    CHECK_EQ(vg_webhook_url_ok("https://hooks.example.com:8443", 0), 0);
    CHECK_EQ(vg_webhook_url_ok("https://[2001:db8::1]:8443/h", 0), 0);
    static const char *const bad[] = {
        "http://hooks.example.com/", "ftp://x/", "https://", "https://user:pw@hooks.example.com/",
        "https://127.0.0.1/", "https://localhost:9/", "https://10.1.2.3/", "https://192.168.0.1/",
        "https://169.254.169.254/latest/meta-data", "https://[::1]/", "https://[fd00::1]/", "https://172.16.0.1/",
        "https://hooks.example.com:0/", "https://hooks.example.com:65536/", "https://hooks.example.com/a b",
        "https://hooks.example.com/#frag", "https://ho_st/", "https://[::1/",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (vg_webhook_url_ok(bad[i], 0) == 0) fprintf(stderr, "  accepted: %s\n", bad[i]);
        CHECK(vg_webhook_url_ok(bad[i], 0) != 0);
    }
    /* Tests and private deployments may allow private addresses, never http. */
    CHECK_EQ(vg_webhook_url_ok("https://127.0.0.1:8443/h", 1), 0);
    CHECK(vg_webhook_url_ok("http://127.0.0.1:8443/h", 1) != 0);
    char sig[65];
    const char *msg = "what do ya want for nothing?";
    vg_webhook_sign("Jefe", msg, strlen(msg), sig);
    CHECK(strcmp(sig, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843") == 0);
}

int main(void)
{
    char dir[] = "/tmp/vg-alert-XXXXXX", path[64];
    if (sodium_init() < 0 || !mkdtemp(dir)) return 1;
    snprintf(path, sizeof path, "%s/app.db", dir);
    if (vg_db_open(path, &db)) return 1;
    vg_db_run(db, "INSERT INTO organizations(id, name, created, uid) VALUES(1, 'Acme', 0, x'01')", "");
    static const char *roles[] = {"owner", "admin", "viewer"};
    for (int i = 0; i < 3; i++)
        vg_db_run(db, "INSERT INTO members(id, org_id, email, role, salt, auth_hash, public_key, wrapped_sk, created) "
                  "VALUES(?1, 1, ?2, ?3, x'00', x'00', x'00', x'00', 0)", "itt", (int64_t)(i + 1),
                  i == 0 ? "o@x" : i == 1 ? "ad@x" : "v@x", roles[i]);
    S = (vg_scope){db, 1};
    RUN(t_rules_by_action);
    RUN(t_failed_logins);
    RUN(t_camera_transitions);
    RUN(t_webhook_urls_and_signature);
    vg_db_close(db);
    unlink(path);
    rmdir(dir);
    return vg_test_done();
}
