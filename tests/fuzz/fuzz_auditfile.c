/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: the parsers of downloaded audit logs, kept tree heads and
 * proofs (auth/auditfile.h), and the proof verifiers fed what they parsed. */
#include "auth/auditfile.h"
#include "auth/merkle.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t root[VG_MERKLE_HASH] = {1};
    const char *t = (const char *)data;
    vg_sth sth;
    vg_proof p;
    vg_auditfile f;
    if (sodium_init() < 0) return 0;
    (void)vg_sth_parse_text(t, size, &sth);
    if (vg_proof_parse_text(t, size, 0, &p) == 0)
        (void)vg_merkle_verify_inclusion(p.a, p.b, root, (const uint8_t (*)[VG_MERKLE_HASH])p.h, p.len, root);
    if (vg_proof_parse_text(t, size, 1, &p) == 0)
        (void)vg_merkle_verify_consistency(p.a, p.b, root, root, (const uint8_t (*)[VG_MERKLE_HASH])p.h, p.len);
    if (vg_auditfile_parse(t, size, &f) == 0) {
        uint8_t leaf[VG_MERKLE_HASH];
        for (size_t i = 0; i < f.n; i++) vg_audit_leaf(f.sth.org_id, &f.entries[i], leaf);
        (void)vg_sth_verify(&f.sth, f.log_key);
        vg_auditfile_free(&f);
    }
    return 0;
}
