/* SPDX-License-Identifier: Apache-2.0 */
/* Alerts to an organization (docs/design/audit.md "Alerts"): rules on audit
 * actions and on camera recording, notifications in the app database, and
 * their delivery to the organization's webhook.
 *
 * Flow: an audit append (auth/audit.c) calls vg_alert_audit, which looks the
 * action up in a table of rules and, on a match, inserts a notification row
 * in the same database (and transaction) as the audit row. The web loop's
 * tick (vg_alert_tick, every second) watches camera recording and hands
 * undelivered notifications to the webhook sender (webhook.h), which posts
 * them from its own thread. The database is touched on the web thread only.
 *
 * Owner: vg_alerts_new's caller frees with vg_alerts_free (after the loop
 * stops ticking it); it borrows the vg_db. */
#ifndef VG_ALERT_H
#define VG_ALERT_H

#include "db/db.h"

#include <stdint.h>

typedef struct vg_alerts vg_alerts;

#define VG_ALERT_FAIL_MAX 5            /* failed sign-ins of an owner/admin ... */
#define VG_ALERT_FAIL_WINDOW_MS (15 * 60 * 1000)   /* ... within 15 min */
#define VG_ALERT_REC_GRACE_S 20        /* recording lost this long before an alert */

/* Called after every audit append; never fails the caller (errors are logged). */
void vg_alert_audit(const vg_scope *s, int64_t actor_id, const char *actor, const char *action,
                    const char *detail, int64_t ts_ms);
/* Inserts a notification (detail: a JSON object text). */
int vg_alert_notify(const vg_scope *s, const char *kind, const char *title, const char *detail, int64_t ts_ms);

/* Environment: VIGIL_WEBHOOK_CA_FILE (trust these CAs instead of the
 * system's), VIGIL_WEBHOOK_ALLOW_PRIVATE=1 (allow loopback and private
 * addresses: tests), VIGIL_ALERT_RECORDING_GRACE (seconds). */
int vg_alerts_new(vg_db *db, vg_alerts **out);
void vg_alerts_free(vg_alerts *a);
/* Camera watch, one pass per tick over every camera that should record:
 * begin, one vg_alert_camera per camera, end (forgets cameras not named). */
void vg_alert_camera_begin(vg_alerts *a);
void vg_alert_camera(vg_alerts *a, const vg_scope *s, int64_t cam, const char *name, int recording,
                     const char *state, int64_t now_ms);
void vg_alert_camera_end(vg_alerts *a);
/* Collects finished deliveries and hands undelivered notifications to the
 * webhook sender; never waits on the network. */
void vg_alert_dispatch(vg_alerts *a);
/* Whether an admin may set this webhook URL (https only; see webhook.h). */
int vg_alerts_url_ok(const vg_alerts *a, const char *url);

#endif
