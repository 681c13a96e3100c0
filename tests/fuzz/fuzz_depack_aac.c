/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: arbitrary RTP packet sequences into the AAC depacketizer
 * (input format in fuzz_depack_common.h). */
#include "fuzz_depack_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_depack(VG_CODEC_AAC, data, size);
}
