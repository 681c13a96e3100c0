/* SPDX-License-Identifier: Apache-2.0 */
/* SDP parser: answers modelled on real cameras and servers, and malformed ones. */
#include "core/err.h"
#include "rtsp/sdp.h"
#include "vg_test.h"

#include <stdlib.h>

static vg_sdp sdp;

static int parse(const char *s) { return vg_sdp_parse(s, strlen(s), &sdp); }

/* Hikvision-like: absolute controls with a query, an ISAPI metadata track. */
static const char hik[] =
    "v=0\r\n"
    "o=- 1109162014219182 1109162014219192 IN IP4 192.168.1.64\r\n"
    "s=Media Presentation\r\n"
    "e=NONE\r\n"
    "b=AS:5050\r\n"
    "t=0 0\r\n"
    "a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/?transportmode=unicast\r\n"
    "m=video 0 RTP/AVP 96\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "b=AS:5000\r\n"
    "a=recvonly\r\n"
    "a=x-dimensions:1920,1080\r\n"
    "a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1?transportmode=unicast\r\n"
    "a=rtpmap:96 H264/90000\r\n"
    "a=fmtp:96 profile-level-id=420029; packetization-mode=1; "
    "sprop-parameter-sets=Z01AKI2NQDwBE/LCAAAOEAACvyAI,aO44gA==\r\n"
    "m=application 0 RTP/AVP 107\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "b=AS:50\r\n"
    "a=recvonly\r\n"
    "a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=3?transportmode=unicast\r\n"
    "a=rtpmap:107 isapi.metadata/90000\r\n"
    "a=Media_header:MEDIAINFO=494D4B48010100000400010000000000000000000000000000000000;\r\n"
    "a=appversion:1.0\r\n";

static void t_hikvision(void)
{
    CHECK_EQ(parse(hik), 0);
    CHECK_EQ(sdp.nmedia, 2);
    CHECK(!strcmp(sdp.session_control,
                  "rtsp://192.168.1.64:554/Streaming/Channels/101/?transportmode=unicast"));
    vg_sdp_media *v = &sdp.media[0];
    CHECK_EQ(v->track.codec, VG_CODEC_H264);
    CHECK_EQ(v->track.kind, VG_TRACK_VIDEO);
    CHECK_EQ(v->track.clock_rate, 90000);
    CHECK_EQ(v->payload_type, 96);
    CHECK_EQ(v->packetization_mode, 1);
    CHECK_EQ(v->track.sps_len, 21);
    CHECK_EQ(v->track.sps[0], 0x67);
    CHECK_EQ(v->track.pps_len, 4);
    CHECK_EQ(v->track.pps[0], 0x68);
    CHECK(!strcmp(v->encoding, "H264"));
    CHECK(!strcmp(v->media, "video"));
    CHECK(strstr(v->control, "trackID=1") != NULL);
    CHECK_EQ(sdp.media[1].track.codec, VG_CODEC_NONE);
    CHECK(!strcmp(sdp.media[1].encoding, "isapi.metadata"));
    CHECK(!strcmp(sdp.media[1].media, "application"));
}

/* Axis-like: H.264 plus AAC-hbr audio; fmtp keys in mixed case. */
static const char axis[] =
    "v=0\r\n"
    "o=- 12345 1 IN IP4 192.168.0.90\r\n"
    "s=Session streamed with GStreamer\r\n"
    "i=rtsp-server\r\n"
    "t=0 0\r\n"
    "a=tool:GStreamer\r\n"
    "a=type:broadcast\r\n"
    "a=range:npt=now-\r\n"
    "a=control:rtsp://192.168.0.90/axis-media/media.amp?videocodec=h264\r\n"
    "m=video 0 RTP/AVP 96\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "b=AS:50000\r\n"
    "a=rtpmap:96 H264/90000\r\n"
    "a=fmtp:96 packetization-mode=1;profile-level-id=4d0029;"
    "sprop-parameter-sets=Z00AKeKQDwBE/LgLcBAQGkHiRFQ=,aO48gA==\r\n"
    "a=control:rtsp://192.168.0.90/axis-media/media.amp/stream=0?videocodec=h264\r\n"
    "a=framerate:30.000000\r\n"
    "a=transform:1,0,0;0,1,0;0,0,1\r\n"
    "m=audio 0 RTP/AVP 97\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "b=AS:32\r\n"
    "a=rtpmap:97 MPEG4-GENERIC/16000/1\r\n"
    "a=fmtp:97 streamtype=5;profile-level-id=15;mode=AAC-hbr;config=1408;"
    "sizeLength=13;indexLength=3;indexDeltaLength=3;\r\n"
    "a=control:rtsp://192.168.0.90/axis-media/media.amp/stream=1?videocodec=h264\r\n";

static void t_axis_aac(void)
{
    CHECK_EQ(parse(axis), 0);
    CHECK_EQ(sdp.nmedia, 2);
    CHECK_EQ(sdp.media[0].track.codec, VG_CODEC_H264);
    CHECK_EQ(sdp.media[0].track.sps_len, 20);
    vg_sdp_media *a = &sdp.media[1];
    CHECK_EQ(a->track.codec, VG_CODEC_AAC);
    CHECK_EQ(a->track.kind, VG_TRACK_AUDIO);
    CHECK_EQ(a->track.clock_rate, 16000);
    CHECK_EQ(a->track.sample_rate, 16000);
    CHECK_EQ(a->track.channels, 1);
    CHECK_EQ(a->track.asc_len, 2);
    CHECK_EQ(a->track.asc[0], 0x14);
    CHECK_EQ(a->track.asc[1], 0x08);
    CHECK_EQ(a->aac_sizelength, 13);
    CHECK_EQ(a->aac_indexlength, 3);
    CHECK_EQ(a->aac_indexdeltalength, 3);
    CHECK_EQ(a->aac_hbr, 1);
}

/* gst-rtsp-server: relative controls, aggregate "*", unpadded base64. */
static const char gst[] =
    "v=0\r\n"
    "o=- 1188340656180883 1 IN IP4 127.0.0.1\r\n"
    "s=Session streamed with GStreamer\r\n"
    "i=rtsp-server\r\n"
    "t=0 0\r\n"
    "a=tool:GStreamer\r\n"
    "a=type:broadcast\r\n"
    "a=range:npt=0-\r\n"
    "a=control:*\r\n"
    "m=video 0 RTP/AVP 96\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtpmap:96 H264/90000\r\n"
    "a=framerate:30\r\n"
    "a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z2QAHqzZQKAv+XARAAADAAEAAAMAPA8WLZY,"
    "aOvjyyLA;profile-level-id=64001e;level-asymmetry-allowed=1\r\n"
    "a=control:stream=0\r\n"
    "a=ts-refclk:local\r\n"
    "a=mediaclk:sender\r\n";

static void t_gst(void)
{
    CHECK_EQ(parse(gst), 0);
    CHECK_EQ(sdp.nmedia, 1);
    CHECK(!strcmp(sdp.session_control, "*"));
    CHECK(!strcmp(sdp.media[0].control, "stream=0"));
    CHECK_EQ(sdp.media[0].track.sps_len, 26);
    CHECK_EQ(sdp.media[0].track.pps_len, 6);
}

/* H.265 with sprop-vps/sps/pps; LF-only line ends; fmtp before rtpmap. */
static const char hevc[] =
    "v=0\n"
    "o=- 0 0 IN IP4 10.0.0.2\n"
    "s=HEVC\n"
    "t=0 0\n"
    "m=video 0 RTP/AVP 98\n"
    "a=fmtp:98 sprop-vps=QAEMAf//AWAAAAMAkAAAAwAAAwBdlZgJ; "
    "sprop-sps=QgEBAWAAAAMAkAAAAwAAAwBdoAKAgC0WWVmkkyvAQEAAAPoAABdwgQ==; sprop-pps=RAHBcrRiQA==\n"
    "a=rtpmap:98 H265/90000\n"
    "a=control:trackID=1\n"
    "m=audio 0 RTP/AVP 0\n"
    "a=control:trackID=2\n"
    "m=audio 0 RTP/AVP 8\n"
    "a=rtpmap:8 PCMA/8000\n";

static void t_h265(void)
{
    CHECK_EQ(parse(hevc), 0);
    CHECK_EQ(sdp.nmedia, 3);
    vg_track *t = &sdp.media[0].track;
    CHECK_EQ(t->codec, VG_CODEC_H265);
    CHECK_EQ(t->vps_len, 24);
    CHECK_EQ(t->sps_len, 40);
    CHECK_EQ(t->pps_len, 7);
    CHECK_EQ(t->vps[0], 0x40);
    CHECK_EQ(sdp.media[1].track.codec, VG_CODEC_NONE);   /* static PCMU */
    CHECK_EQ(sdp.media[1].track.kind, VG_TRACK_AUDIO);
    CHECK_EQ(sdp.media[2].track.codec, VG_CODEC_NONE);   /* PCMA */
    CHECK(!strcmp(sdp.media[2].encoding, "PCMA"));
    CHECK_EQ(parse("v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 HEVC/90000\r\n"
                   "a=fmtp:96 sprop-max-don-diff=2\r\n"), 0);
    CHECK_EQ(sdp.media[0].track.codec, VG_CODEC_H265);
    CHECK_EQ(sdp.media[0].h265_max_don_diff, 2);
}

static void t_tolerated(void)
{
    /* Trailing empty sprop element, spaces, unknown lines, rtpmap of
     * another payload type. */
    CHECK_EQ(parse("v=0\r\nx=whatever\r\nm=video 0 RTP/AVP 96 97\r\n"
                   "a=rtpmap:97 JPEG/90000\r\na=rtpmap:96 H264/90000\r\n"
                   "a=fmtp:96 sprop-parameter-sets=Z01AKI2NQDwBE/LCAAAOEAACvyAI,;\r\n\r\n"), 0);
    CHECK_EQ(sdp.media[0].track.codec, VG_CODEC_H264);
    CHECK_EQ(sdp.media[0].track.sps_len, 21);
    CHECK_EQ(sdp.media[0].track.pps_len, 0);
    /* AAC without config= is unsupported, not malformed. */
    CHECK_EQ(parse("v=0\r\nm=audio 0 RTP/AVP 97\r\na=rtpmap:97 mpeg4-generic/48000/2\r\n"
                   "a=fmtp:97 mode=AAC-hbr;sizelength=13\r\n"), 0);
    CHECK_EQ(sdp.media[0].track.codec, VG_CODEC_NONE);
    /* More media sections than we keep: the extra ones are ignored. */
    char many[2048];
    int m = snprintf(many, sizeof many, "v=0\r\n");
    for (int i = 0; i < VG_SDP_MAX_MEDIA + 3; i++)
        m += snprintf(many + m, sizeof many - (size_t)m,
                      "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:x\r\n");
    CHECK_EQ(parse(many), 0);
    CHECK_EQ(sdp.nmedia, VG_SDP_MAX_MEDIA);
    /* An oversized parameter set is skipped (the depacketizer learns it in band). */
    char big[2048];
    int n = snprintf(big, sizeof big, "v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
                                      "a=fmtp:96 sprop-parameter-sets=");
    for (int i = 0; i < 200; i++)
        n += snprintf(big + n, sizeof big - (size_t)n, "Z01A");
    snprintf(big + n, sizeof big - (size_t)n, ",aO44gA==\r\n");
    CHECK_EQ(parse(big), 0);
    CHECK_EQ(sdp.media[0].track.sps_len, 0);
    CHECK_EQ(sdp.media[0].track.pps_len, 4);
}

static void t_malformed(void)
{
    static const char *bad[] = {
        "",
        "\r\n\r\n",
        "hello world",
        "<html><body>404</body></html>",
        "o=- 0 0 IN IP4 1.2.3.4\r\nv=0\r\n",                       /* v= not first */
        "v=1\r\n",
        "v=0\r\nthis is not sdp\r\n",
        "v=0\r\n=x\r\n",
        "v=0\r\nm=video\r\n",
        "v=0\r\nm=video 0 RTP/AVP\r\n",
        "v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264\r\n",
        "v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/abc\r\n",
        "v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:x H264/90000\r\n",
        "v=0\r\nm=video 0 RTP/AVP 96\r\na=fmtp:zz a=b\r\n",
        "v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
        "a=fmtp:96 sprop-parameter-sets=!!!!\r\n",
        "v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H265/90000\r\na=fmtp:96 sprop-sps=A\r\n",
        "v=0\r\nm=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/8000\r\n"
        "a=fmtp:97 config=14G8;sizelength=13\r\n",
        "v=0\r\nm=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/8000\r\n"
        "a=fmtp:97 config=140;sizelength=13\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        memset(&sdp, 0xAA, sizeof sdp);
        int rc = parse(bad[i]);
        if (rc != VG_EINVAL)
            fprintf(stderr, "  case %zu accepted\n", i);
        CHECK_EQ(rc, VG_EINVAL);
        CHECK_EQ(sdp.nmedia, 0);   /* no partial result */
    }
    /* A control URL longer than the field. */
    char lng[1024];
    int n = snprintf(lng, sizeof lng, "v=0\r\na=control:rtsp://h/");
    memset(lng + n, 'a', 600);
    lng[n + 600] = '\0';
    CHECK_EQ(parse(lng), VG_EINVAL);
    CHECK_EQ(vg_sdp_parse(NULL, 0, &sdp), VG_EINVAL);
}

/* The parser must not read past len: parse every prefix from a heap copy of
 * exactly that size (ASan catches an overread). */
static void t_prefixes(void)
{
    const char *all[] = {hik, axis, gst, hevc};
    for (size_t k = 0; k < 4; k++) {
        size_t len = strlen(all[k]);
        for (size_t n = 0; n <= len; n++) {
            char *copy = malloc(n ? n : 1);
            memcpy(copy, all[k], n);
            int rc = vg_sdp_parse(copy, n, &sdp);
            CHECK(rc == 0 || rc == VG_EINVAL);
            free(copy);
        }
    }
}

int main(void)
{
    RUN(t_hikvision);
    RUN(t_axis_aac);
    RUN(t_gst);
    RUN(t_h265);
    RUN(t_tolerated);
    RUN(t_malformed);
    RUN(t_prefixes);
    return vg_test_done();
}
