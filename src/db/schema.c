/* SPDX-License-Identifier: Apache-2.0 */
/* App database schema, version 1. Every tenant table carries org_id so that
 * vg_scope_prep() can filter on it (docs/design/auth.md, "Tenancy").
 * Times are Unix seconds (wall clock); audit rows also keep milliseconds. */
#include "db/schema.h"

const char vg_db_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS organizations(\n"
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL, created INTEGER NOT NULL,\n"
    /* uid: 16 random bytes naming the organization in crypto (envelope
     * associated data, docs/design/keys.md); the integer id is local. */
    "  uid BLOB NOT NULL UNIQUE, recovery_pk BLOB,\n"
    "  state TEXT NOT NULL DEFAULT 'active' CHECK(state IN('active','suspended')));\n"
    "CREATE TABLE IF NOT EXISTS sites(\n"
    "  id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL REFERENCES organizations(id),\n"
    "  name TEXT NOT NULL, created INTEGER NOT NULL, UNIQUE(org_id, name));\n"
    /* email is unique across organizations for now: login takes an email
     * only (docs/design/auth.md, Caveats). */
    "CREATE TABLE IF NOT EXISTS members(\n"
    "  id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL REFERENCES organizations(id),\n"
    "  email TEXT NOT NULL UNIQUE,\n"
    "  role TEXT NOT NULL CHECK(role IN('owner','admin','viewer')),\n"
    "  salt BLOB NOT NULL, auth_hash BLOB NOT NULL, public_key BLOB NOT NULL,\n"
    "  wrapped_sk BLOB NOT NULL, totp_secret BLOB, totp_last_step INTEGER NOT NULL DEFAULT 0,\n"
    "  invited_by INTEGER, created INTEGER NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS sessions(\n"
    "  id_hash BLOB PRIMARY KEY, org_id INTEGER NOT NULL,\n"
    "  member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,\n"
    "  created INTEGER NOT NULL, last_seen INTEGER NOT NULL, addr TEXT);\n"
    "CREATE TABLE IF NOT EXISTS invitations(\n"
    "  id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL REFERENCES organizations(id),\n"
    "  token_hash BLOB NOT NULL UNIQUE, email TEXT NOT NULL,\n"
    "  role TEXT NOT NULL CHECK(role IN('admin','viewer')),\n"
    "  inviter_id INTEGER NOT NULL, created INTEGER NOT NULL, expires INTEGER NOT NULL,\n"
    "  used INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE TABLE IF NOT EXISTS setup_tokens(\n"
    "  token_hash BLOB PRIMARY KEY, expires INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE TABLE IF NOT EXISTS throttle(key TEXT NOT NULL, t INTEGER NOT NULL);\n"
    "CREATE INDEX IF NOT EXISTS throttle_key ON throttle(key, t);\n"
    /* RTSP credentials are write-only through the API: no query that feeds a
     * response selects rtsp_user/rtsp_password. */
    "CREATE TABLE IF NOT EXISTS cameras(\n"
    "  id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL REFERENCES organizations(id),\n"
    "  site_id INTEGER REFERENCES sites(id), name TEXT NOT NULL, url TEXT NOT NULL,\n"
    "  rtsp_user TEXT, rtsp_password TEXT, created INTEGER NOT NULL, UNIQUE(org_id, name));\n"
    "CREATE TABLE IF NOT EXISTS member_cameras(\n"
    "  org_id INTEGER NOT NULL, member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,\n"
    "  camera_id INTEGER NOT NULL REFERENCES cameras(id) ON DELETE CASCADE,\n"
    "  PRIMARY KEY(member_id, camera_id));\n"
    "CREATE TABLE IF NOT EXISTS audit(\n"
    "  id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL, seq INTEGER NOT NULL,\n"
    "  ts_ms INTEGER NOT NULL, actor_id INTEGER NOT NULL, actor TEXT NOT NULL,\n"
    "  action TEXT NOT NULL, detail TEXT NOT NULL, addr TEXT NOT NULL,\n"
    "  prev BLOB NOT NULL, hash BLOB NOT NULL, UNIQUE(org_id, seq));\n"
    "INSERT OR IGNORE INTO meta(k, v) VALUES('schema_version', '1');\n";

/* Version 2 (live view, playback, camera keys: docs/design/live.md). Applied
 * once to a version-1 database, in one transaction. footage_pk: the camera's
 * current footage public key (the recorder seals segment keys to it);
 * recovery_sealed_sk: its secret key sealed to the organization's recovery
 * key; builtin: the demo camera's row (not an RTSP camera). camera_keys: the
 * camera secret key sealed (crypto_box_seal) to each entitled member. */
const char vg_db_schema_v2_sql[] =
    "ALTER TABLE cameras ADD COLUMN footage_pk BLOB;\n"
    "ALTER TABLE cameras ADD COLUMN recovery_sealed_sk BLOB;\n"
    "ALTER TABLE cameras ADD COLUMN builtin INTEGER NOT NULL DEFAULT 0;\n"
    "CREATE TABLE IF NOT EXISTS camera_keys(\n"
    "  org_id INTEGER NOT NULL,\n"
    "  camera_id INTEGER NOT NULL REFERENCES cameras(id) ON DELETE CASCADE,\n"
    "  member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,\n"
    "  sealed_sk BLOB NOT NULL, PRIMARY KEY(camera_id, member_id));\n"
    "UPDATE meta SET v = '2' WHERE k = 'schema_version';\n";

/* Version 3 (tenancy and the platform: docs/design/tenancy.md). The members
 * table is rebuilt (SQLite cannot widen a CHECK) to admit the platform roles,
 * which live only in the organization of kind 'platform'. Runs with foreign
 * keys off (db.c), so dropping the old table cascades nothing. */
const char vg_db_schema_v3_sql[] =
    "ALTER TABLE organizations ADD COLUMN kind TEXT NOT NULL DEFAULT 'tenant'\n"
    "  CHECK(kind IN('tenant','platform'));\n"
    "CREATE TABLE members_v3(\n"
    "  id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL REFERENCES organizations(id),\n"
    "  email TEXT NOT NULL UNIQUE,\n"
    "  role TEXT NOT NULL CHECK(role IN('owner','admin','viewer','support','operator')),\n"
    "  salt BLOB NOT NULL, auth_hash BLOB NOT NULL, public_key BLOB NOT NULL,\n"
    "  wrapped_sk BLOB NOT NULL, totp_secret BLOB, totp_last_step INTEGER NOT NULL DEFAULT 0,\n"
    "  invited_by INTEGER, created INTEGER NOT NULL);\n"
    "INSERT INTO members_v3 SELECT * FROM members;\n"
    "DROP TABLE members;\n"
    "ALTER TABLE members_v3 RENAME TO members;\n"
    "UPDATE meta SET v = '3' WHERE k = 'schema_version';\n";

/* Version 4 (tenancy: docs/design/tenancy.md). max_cameras: the operator's
 * quota for an organization (NULL: none). A setup token may be bound to an
 * organization the operator created (org_id; its first member becomes the
 * owner) or create the platform organization (purpose 'platform'); an
 * unbound 'tenant' token is the first-start link. invitations is rebuilt (a
 * CHECK cannot be widened) so operators can invite support accounts and
 * operators into the platform organization. */
const char vg_db_schema_v4_sql[] =
    "ALTER TABLE organizations ADD COLUMN max_cameras INTEGER;\n"
    "ALTER TABLE setup_tokens ADD COLUMN org_id INTEGER REFERENCES organizations(id);\n"
    "ALTER TABLE setup_tokens ADD COLUMN purpose TEXT NOT NULL DEFAULT 'tenant'\n"
    "  CHECK(purpose IN('tenant','platform'));\n"
    "CREATE TABLE invitations_v4(\n"
    "  id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL REFERENCES organizations(id),\n"
    "  token_hash BLOB NOT NULL UNIQUE, email TEXT NOT NULL,\n"
    "  role TEXT NOT NULL CHECK(role IN('admin','viewer','support','operator')),\n"
    "  inviter_id INTEGER NOT NULL, created INTEGER NOT NULL, expires INTEGER NOT NULL,\n"
    "  used INTEGER NOT NULL DEFAULT 0);\n"
    "INSERT INTO invitations_v4 SELECT * FROM invitations;\n"
    "DROP TABLE invitations;\n"
    "ALTER TABLE invitations_v4 RENAME TO invitations;\n"
    "UPDATE meta SET v = '4' WHERE k = 'schema_version';\n";
/* Version 5 (camera substreams: docs/design/recorder.md "Substreams").
 * sub_url: the camera's second, smaller RTSP stream (NULL: none), reached
 * with the row's credentials and recorded under the same footage key. */
const char vg_db_schema_v5_sql[] =
    "ALTER TABLE cameras ADD COLUMN sub_url TEXT;\n"
    "UPDATE meta SET v = '5' WHERE k = 'schema_version';\n";
/* Version 8 (WebAuthn second factor: docs/design/webauthn.md). New tables
 * only, so the step depends on no other step's columns. org_security: one
 * optional row per organization (no row = TOTP allowed, UV not required).
 * webauthn_challenges: single-use, short-lived challenges bound (bind_hash)
 * to a pending login, a session or an invitation; member_id is NULL for an
 * invitation (the member does not exist yet). */
const char vg_db_schema_v8_sql[] =
    "CREATE TABLE IF NOT EXISTS org_security(\n"
    "  org_id INTEGER PRIMARY KEY REFERENCES organizations(id),\n"
    "  allow_totp INTEGER NOT NULL DEFAULT 1, require_uv INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE TABLE IF NOT EXISTS webauthn_credentials(\n"
    "  id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL REFERENCES organizations(id),\n"
    "  member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,\n"
    "  cred_id BLOB NOT NULL UNIQUE, cose_key BLOB NOT NULL, alg INTEGER NOT NULL,\n"
    "  sign_count INTEGER NOT NULL DEFAULT 0, name TEXT NOT NULL, aaguid BLOB, fmt TEXT NOT NULL,\n"
    "  created INTEGER NOT NULL, last_used INTEGER);\n"
    "CREATE INDEX IF NOT EXISTS webauthn_credentials_member ON webauthn_credentials(member_id);\n"
    "CREATE TABLE IF NOT EXISTS webauthn_challenges(\n"
    "  id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL,\n"
    "  member_id INTEGER REFERENCES members(id) ON DELETE CASCADE,\n"
    "  purpose TEXT NOT NULL CHECK(purpose IN('login','register','invite')),\n"
    "  bind_hash BLOB NOT NULL, challenge BLOB NOT NULL, expires INTEGER NOT NULL);\n"
    "CREATE INDEX IF NOT EXISTS webauthn_challenges_bind ON webauthn_challenges(bind_hash);\n"
    "UPDATE meta SET v = '8' WHERE k = 'schema_version';\n";
/* Version 6 (camera key rotation and crypto-shredding: docs/design/keys.md
 * "Rotation and crypto-shredding"). camera_key_periods: one row per footage
 * key pair a camera ever had; the current one (retired IS NULL) is also
 * cameras.footage_pk, and its wraps are camera_keys / cameras.recovery_sealed_sk.
 * A retired period keeps its wraps here (camera_period_keys, recovery_sealed_sk)
 * until no segment is sealed to it any more; then they are deleted (shredded).
 * key_rotation: the organization's rotation period. Cameras keyed before this
 * version get their current period row now (created = the migration's time). */
const char vg_db_schema_v6_sql[] =
    "CREATE TABLE IF NOT EXISTS camera_key_periods(\n"
    "  id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL,\n"
    "  camera_id INTEGER NOT NULL REFERENCES cameras(id) ON DELETE CASCADE,\n"
    "  footage_pk BLOB NOT NULL, created INTEGER NOT NULL, retired INTEGER,\n"
    "  shredded INTEGER, recovery_sealed_sk BLOB, UNIQUE(camera_id, footage_pk));\n"
    "CREATE TABLE IF NOT EXISTS camera_period_keys(\n"
    "  org_id INTEGER NOT NULL,\n"
    "  period_id INTEGER NOT NULL REFERENCES camera_key_periods(id) ON DELETE CASCADE,\n"
    "  member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,\n"
    "  sealed_sk BLOB NOT NULL, PRIMARY KEY(period_id, member_id));\n"
    "CREATE TABLE IF NOT EXISTS key_rotation(\n"
    "  org_id INTEGER PRIMARY KEY REFERENCES organizations(id),\n"
    "  period_days INTEGER NOT NULL CHECK(period_days BETWEEN 1 AND 366));\n"
    "INSERT OR IGNORE INTO camera_key_periods(org_id, camera_id, footage_pk, created)\n"
    "  SELECT org_id, id, footage_pk, CAST(strftime('%s', 'now') AS INTEGER) FROM cameras\n"
    "  WHERE footage_pk IS NOT NULL;\n"
    "UPDATE meta SET v = '6' WHERE k = 'schema_version';\n";
/* Version 9 (alerts: docs/design/audit.md "Alerts"). notifications is the
 * organization's alert list and the webhook outbox: hook 0 = to dispatch,
 * 1 = queued to the sender, 2 = delivered, 3 = gave up, 4 = no webhook then.
 * notification_reads: the newest notification each member has read.
 * webhooks: one HTTPS URL per organization and its signing secret (the
 * server signs with it, so it is stored, like TOTP secrets). */
const char vg_db_schema_v9_sql[] =
    "CREATE TABLE IF NOT EXISTS notifications(\n"
    "  id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL REFERENCES organizations(id),\n"
    "  ts_ms INTEGER NOT NULL, kind TEXT NOT NULL, title TEXT NOT NULL, detail TEXT NOT NULL,\n"
    "  hook INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE INDEX IF NOT EXISTS notifications_org ON notifications(org_id, id);\n"
    "CREATE INDEX IF NOT EXISTS notifications_hook ON notifications(hook, id);\n"
    "CREATE TABLE IF NOT EXISTS notification_reads(\n"
    "  member_id INTEGER PRIMARY KEY REFERENCES members(id) ON DELETE CASCADE,\n"
    "  org_id INTEGER NOT NULL, last_id INTEGER NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS webhooks(\n"
    "  org_id INTEGER PRIMARY KEY REFERENCES organizations(id),\n"
    "  url TEXT NOT NULL, secret TEXT NOT NULL, created INTEGER NOT NULL);\n"
    "UPDATE meta SET v = '9' WHERE k = 'schema_version';\n";
/* Version 7 (support grants and share links: docs/design/grants.md).
 * sign_keys: a member's Ed25519 signing key (secret half wrapped under the
 * member's KEK in the browser), with the owner's certificate for admins.
 * grants: a support account's scoped, expiring access, with the signed
 * statement the recorder verifies; grant_keys: segment content keys the
 * granting browser sealed to the grantee (archive). shares: clip links for
 * people outside the organization; share_keys: content keys wrapped under
 * the passphrase's wrapping key. Wrapped keys of a grant or share that ends
 * are deleted (rows removed, not only flagged). */
const char vg_db_schema_v7_sql[] =
    "CREATE TABLE IF NOT EXISTS sign_keys(\n"
    "  member_id INTEGER PRIMARY KEY REFERENCES members(id) ON DELETE CASCADE,\n"
    "  org_id INTEGER NOT NULL, sign_pk BLOB NOT NULL, wrapped_sign_sk BLOB NOT NULL,\n"
    "  cert BLOB, created INTEGER NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS grants(\n"
    "  id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL REFERENCES organizations(id),\n"
    "  uid BLOB NOT NULL UNIQUE, grantor_id INTEGER NOT NULL,\n"
    "  grantee_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,\n"
    "  from90k INTEGER NOT NULL, to90k INTEGER NOT NULL, created INTEGER NOT NULL,\n"
    "  expires INTEGER NOT NULL,\n"
    "  state TEXT NOT NULL DEFAULT 'active' CHECK(state IN('active','revoked','expired')),\n"
    "  statement TEXT NOT NULL, signature BLOB NOT NULL, signer_pk BLOB NOT NULL,\n"
    "  signer_id INTEGER NOT NULL, cert BLOB);\n"
    "CREATE INDEX IF NOT EXISTS grants_grantee ON grants(grantee_id);\n"
    "CREATE TABLE IF NOT EXISTS grant_cameras(\n"
    "  org_id INTEGER NOT NULL, grant_id INTEGER NOT NULL REFERENCES grants(id) ON DELETE CASCADE,\n"
    "  camera_id INTEGER NOT NULL REFERENCES cameras(id) ON DELETE CASCADE,\n"
    "  PRIMARY KEY(grant_id, camera_id));\n"
    "CREATE TABLE IF NOT EXISTS grant_keys(\n"
    "  org_id INTEGER NOT NULL, grant_id INTEGER NOT NULL REFERENCES grants(id) ON DELETE CASCADE,\n"
    "  segment_id INTEGER NOT NULL, sealed_key BLOB NOT NULL, PRIMARY KEY(grant_id, segment_id));\n"
    "CREATE TABLE IF NOT EXISTS shares(\n"
    "  id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL REFERENCES organizations(id),\n"
    "  token_hash BLOB NOT NULL UNIQUE,\n"
    "  camera_id INTEGER NOT NULL REFERENCES cameras(id) ON DELETE CASCADE,\n"
    "  from90k INTEGER NOT NULL, to90k INTEGER NOT NULL, salt BLOB NOT NULL, auth_hash BLOB NOT NULL,\n"
    "  creator_id INTEGER NOT NULL, created INTEGER NOT NULL, expires INTEGER NOT NULL,\n"
    "  opened INTEGER NOT NULL DEFAULT 0,\n"
    "  state TEXT NOT NULL DEFAULT 'active' CHECK(state IN('active','revoked','expired')));\n"
    "CREATE TABLE IF NOT EXISTS share_keys(\n"
    "  org_id INTEGER NOT NULL, share_id INTEGER NOT NULL REFERENCES shares(id) ON DELETE CASCADE,\n"
    "  segment_id INTEGER NOT NULL, wrapped_key BLOB NOT NULL, PRIMARY KEY(share_id, segment_id));\n"
    "UPDATE meta SET v = '7' WHERE k = 'schema_version';\n";
