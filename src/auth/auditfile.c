/* SPDX-License-Identifier: Apache-2.0 */
/* JSON of STHs, proofs and downloaded logs (auditfile.h).
 *
 * Invariants:
 *  1. Every number read is a JSON integer in range (sizes and seqs >= 0 or > 0
 *     as the field needs); every hash is exactly 64 hex digits.
 *  2. A string entered into a leaf has no NUL byte (the server's strings come
 *     from SQLite text, hashed by length), so what is hashed is what is shown. */
#include "auth/auditfile.h"
#include "core/err.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static json_t *hexj(const uint8_t *p, size_t n)
{
    char h[2 * 64 + 1];
    if (n > 64) return NULL;
    sodium_bin2hex(h, sizeof h, p, n);
    return json_string(h);
}

json_t *vg_sth_json(const vg_sth *s)
{
    return json_pack("{s:I,s:I,s:I,s:o,s:o}", "org_id", (json_int_t)s->org_id, "tree_size",
                     (json_int_t)s->tree_size, "timestamp", (json_int_t)s->timestamp_ms, "root_hash",
                     hexj(s->root, VG_MERKLE_HASH), "signature", hexj(s->sig, VG_STH_SIG));
}

json_t *vg_hashes_json(const uint8_t (*h)[VG_MERKLE_HASH], size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) json_array_append_new(a, hexj(h[i], VG_MERKLE_HASH));
    return a;
}

json_t *vg_entry_json(const vg_audit_entry *e)
{
    return json_pack("{s:I,s:I,s:I,s:s%,s:s%,s:s%,s:s%}", "seq", (json_int_t)e->seq, "ts_ms", (json_int_t)e->ts_ms,
                     "actor_id", (json_int_t)e->actor_id, "actor", e->actor, e->actor_len, "action", e->action,
                     e->action_len, "detail", e->detail, e->detail_len, "addr", e->addr, e->addr_len);
}

static int get_int(const json_t *o, const char *k, int64_t min, int64_t *out)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_integer(v) || json_integer_value(v) < min) return VG_EINVAL;
    *out = json_integer_value(v);
    return 0;
}

static int get_hex(const json_t *v, uint8_t *out, size_t n)
{
    size_t got = 0;
    const char *end = NULL;
    if (!json_is_string(v) || json_string_length(v) != 2 * n) return VG_EINVAL;
    if (sodium_hex2bin(out, n, json_string_value(v), 2 * n, NULL, &got, &end) != 0 || got != n)
        return VG_EINVAL;
    return 0;
}

int vg_sth_parse(const json_t *o, vg_sth *out)
{
    int64_t org, size, ts;
    memset(out, 0, sizeof *out);
    if (!json_is_object(o) || get_int(o, "org_id", 1, &org) || get_int(o, "tree_size", 0, &size) ||
        get_int(o, "timestamp", 0, &ts) || get_hex(json_object_get(o, "root_hash"), out->root, VG_MERKLE_HASH) ||
        get_hex(json_object_get(o, "signature"), out->sig, VG_STH_SIG))
        return VG_EINVAL;
    out->org_id = org;
    out->tree_size = (uint64_t)size;
    out->timestamp_ms = ts;
    return 0;
}

static json_t *load(const char *text, size_t len)
{
    /* Reject duplicate keys: one document must not mean two things. */
    return json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
}

int vg_sth_parse_text(const char *text, size_t len, vg_sth *out)
{
    json_t *o = load(text, len);
    int rc = o ? vg_sth_parse(o, out) : VG_EINVAL;
    json_decref(o);
    return rc;
}

int vg_proof_parse_text(const char *text, size_t len, int consistency, vg_proof *out)
{
    json_t *o = load(text, len);
    int64_t a, b;
    int rc = VG_EINVAL;
    memset(out, 0, sizeof *out);
    if (!json_is_object(o)) goto out;
    if (consistency ? get_int(o, "first", 1, &a) || get_int(o, "second", 1, &b) || a > b
                    : get_int(o, "leaf_index", 0, &a) || get_int(o, "tree_size", 1, &b) || a >= b)
        goto out;
    const json_t *arr = json_object_get(o, consistency ? "proof" : "audit_path");
    if (!json_is_array(arr) || json_array_size(arr) > VG_MERKLE_MAX_PROOF) goto out;
    for (size_t i = 0; i < json_array_size(arr); i++)
        if (get_hex(json_array_get(arr, i), out->h[i], VG_MERKLE_HASH)) goto out;
    out->a = (uint64_t)a;
    out->b = (uint64_t)b;
    out->len = json_array_size(arr);
    rc = 0;
out:
    json_decref(o);
    return rc;
}

static int get_str(const json_t *o, const char *k, const char **s, size_t *n)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_string(v)) return VG_EINVAL;
    *s = json_string_value(v);
    *n = json_string_length(v);
    return strlen(*s) == *n ? 0 : VG_EINVAL;
}

static int parse_entry(const json_t *o, vg_audit_entry *e)
{
    if (!json_is_object(o) || get_int(o, "seq", 1, &e->seq) || get_int(o, "ts_ms", INT64_MIN, &e->ts_ms) ||
        get_int(o, "actor_id", INT64_MIN, &e->actor_id) || get_str(o, "actor", &e->actor, &e->actor_len) ||
        get_str(o, "action", &e->action, &e->action_len) || get_str(o, "detail", &e->detail, &e->detail_len) ||
        get_str(o, "addr", &e->addr, &e->addr_len))
        return VG_EINVAL;
    return 0;
}

int vg_auditfile_parse(const char *text, size_t len, vg_auditfile *f)
{
    memset(f, 0, sizeof *f);
    f->doc = load(text, len);
    const json_t *fmt = json_object_get(f->doc, "format"), *ents = json_object_get(f->doc, "entries");
    if (!json_is_object(f->doc) || !json_is_string(fmt) || strcmp(json_string_value(fmt), VG_AUDITFILE_FORMAT) ||
        get_hex(json_object_get(f->doc, "log_key"), f->log_key, VG_LOGKEY_PK) ||
        vg_sth_parse(json_object_get(f->doc, "sth"), &f->sth) || !json_is_array(ents) ||
        json_array_size(ents) > VG_AUDITFILE_MAX_ENTRIES)
        goto bad;
    f->n = json_array_size(ents);
    f->entries = calloc(f->n ? f->n : 1, sizeof *f->entries);
    if (!f->entries) goto bad;
    for (size_t i = 0; i < f->n; i++)
        if (parse_entry(json_array_get(ents, i), &f->entries[i])) goto bad;
    return 0;
bad:
    vg_auditfile_free(f);
    return VG_EINVAL;
}

void vg_auditfile_free(vg_auditfile *f)
{
    json_decref(f->doc);
    free(f->entries);
    memset(f, 0, sizeof *f);
}
