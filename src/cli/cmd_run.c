/* SPDX-License-Identifier: Apache-2.0 */
/* `vigil run`: open the store, start the recorder, wait for SIGINT/SIGTERM,
 * stop cleanly (every open segment signed and closed, index committed). */
#include "cli/cli_int.h"
#include "core/err.h"
#include "core/log.h"
#include "crypt/crypt.h"
#include "rec/recorder.h"
#include "rec/substream.h"
#include "store/store.h"
#include "web/web_int.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_CLI_CAMERAS 4096

struct run_cfg {
    const char *data, *key, *urls, *demo_clip;
    const char *listen, *origin, *cert, *tls_key, *ui;
    int no_web;
    const char *cam_spec[256];
    unsigned ncam_spec;
    const char *sub_spec[256];         /* --sub NAME=URL: substream of --camera NAME */
    unsigned nsub_spec;
    int demo, no_demo;
    enum vg_rtsp_transport transport;
    unsigned threads, segment_s, fragment_ms;
    int64_t retain_s, cam_retain_s;
    uint64_t retain_bytes, cam_retain_bytes;
};

static void run_usage(void)
{
    fprintf(stderr, "usage: vigil run --data DIR [--camera NAME=URL]... [--sub NAME=URL]...\n"
                    "         [--urls FILE] [--demo | --no-demo]\n"
                    "         [--camera-key FILE.pub] [--transport tcp|udp|auto]\n"
                    "         [--segment-seconds N] [--fragment-ms N] [--retain-days D]\n"
                    "         [--retain-bytes B] [--camera-retain-days D] [--camera-retain-bytes B]\n"
                    "         [--threads N] [--demo-clip FILE]\n"
                    "         [--listen ADDR:PORT] [--origin https://HOST:PORT] [--ui DIR]\n"
                    "         [--cert FILE --key FILE] [--no-web]\n"
                    "         [--log-level debug|info|warn|error]\n");
}

static int parse_args(int argc, char **argv, struct run_cfg *c)
{
    enum { O_DATA = 1, O_CAM, O_URLS, O_DEMO, O_KEY, O_TR, O_SEG, O_FRAG, O_RDAYS, O_RBYTES,
           O_THREADS, O_CLIP, O_LOG, O_LISTEN, O_ORIGIN, O_CERT, O_TLSKEY, O_UI, O_NOWEB,
           O_CRDAYS, O_CRBYTES, O_SUB, O_NODEMO };
    static const struct option opts[] = {
        {"data", required_argument, 0, O_DATA}, {"camera", required_argument, 0, O_CAM},
        {"urls", required_argument, 0, O_URLS}, {"demo", no_argument, 0, O_DEMO},
        {"camera-key", required_argument, 0, O_KEY}, {"transport", required_argument, 0, O_TR},
        {"segment-seconds", required_argument, 0, O_SEG},
        {"fragment-ms", required_argument, 0, O_FRAG},
        {"retain-days", required_argument, 0, O_RDAYS},
        {"retain-bytes", required_argument, 0, O_RBYTES},
        {"camera-retain-days", required_argument, 0, O_CRDAYS},
        {"camera-retain-bytes", required_argument, 0, O_CRBYTES},
        {"threads", required_argument, 0, O_THREADS}, {"demo-clip", required_argument, 0, O_CLIP},
        {"log-level", required_argument, 0, O_LOG}, {"listen", required_argument, 0, O_LISTEN},
        {"origin", required_argument, 0, O_ORIGIN}, {"cert", required_argument, 0, O_CERT},
        {"key", required_argument, 0, O_TLSKEY}, {"ui", required_argument, 0, O_UI},
        {"no-web", no_argument, 0, O_NOWEB}, {"sub", required_argument, 0, O_SUB},
        {"no-demo", no_argument, 0, O_NODEMO}, {0, 0, 0, 0}};
    int ch;
    uint64_t v;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case O_DATA: c->data = optarg; break;
        case O_CAM:
            if (c->ncam_spec == sizeof c->cam_spec / sizeof *c->cam_spec)
                return VG_ETOOBIG;
            c->cam_spec[c->ncam_spec++] = optarg;
            break;
        case O_SUB:
            if (c->nsub_spec == sizeof c->sub_spec / sizeof *c->sub_spec)
                return VG_ETOOBIG;
            c->sub_spec[c->nsub_spec++] = optarg;
            break;
        case O_NODEMO: c->no_demo = 1; break;
        case O_URLS: c->urls = optarg; break;
        case O_DEMO: c->demo = 1; break;
        case O_KEY: c->key = optarg; break;
        case O_CLIP: c->demo_clip = optarg; break;
        case O_LISTEN: c->listen = optarg; break;
        case O_ORIGIN: c->origin = optarg; break;
        case O_CERT: c->cert = optarg; break;
        case O_TLSKEY: c->tls_key = optarg; break;
        case O_UI: c->ui = optarg; break;
        case O_NOWEB: c->no_web = 1; break;
        case O_TR:
            if (!strcmp(optarg, "tcp")) c->transport = VG_RTSP_TCP;
            else if (!strcmp(optarg, "udp")) c->transport = VG_RTSP_UDP;
            else if (!strcmp(optarg, "auto")) c->transport = VG_RTSP_AUTO;
            else return VG_EINVAL;
            break;
        case O_SEG:
            if (vg_cli_parse_uint(optarg, 1, 86400, &v)) return VG_EINVAL;
            c->segment_s = (unsigned)v;
            break;
        case O_FRAG:
            if (vg_cli_parse_uint(optarg, 100, 10000, &v)) return VG_EINVAL;
            c->fragment_ms = (unsigned)v;
            break;
        case O_RDAYS:
            if (vg_cli_parse_uint(optarg, 1, 36500, &v)) return VG_EINVAL;
            c->retain_s = (int64_t)v * 86400;
            break;
        case O_CRDAYS:
            if (vg_cli_parse_uint(optarg, 1, 36500, &v)) return VG_EINVAL;
            c->cam_retain_s = (int64_t)v * 86400;
            break;
        case O_CRBYTES:
            if (vg_cli_parse_size(optarg, &c->cam_retain_bytes)) return VG_EINVAL;
            break;
        case O_RBYTES:
            if (vg_cli_parse_size(optarg, &c->retain_bytes)) return VG_EINVAL;
            break;
        case O_THREADS:
            if (vg_cli_parse_uint(optarg, 1, 8, &v)) return VG_EINVAL;
            c->threads = (unsigned)v;
            break;
        case O_LOG:
            if (!strcmp(optarg, "debug")) vg_log_set_level(VG_LOG_DEBUG);
            else if (!strcmp(optarg, "info")) vg_log_set_level(VG_LOG_INFO);
            else if (!strcmp(optarg, "warn")) vg_log_set_level(VG_LOG_WARN);
            else if (!strcmp(optarg, "error")) vg_log_set_level(VG_LOG_ERROR);
            else return VG_EINVAL;
            break;
        default: return VG_EINVAL;
        }
    }
    if (optind != argc || !c->data || (!c->cert != !c->tls_key) || (c->demo && c->no_demo))
        return VG_EINVAL;
    return 0;
}

/* The web server (docs/api.md) on its own loop thread, beside the
 * recorder's; it reaches the recorder only through recorder.h's
 * thread-safe calls. */
struct web_thread {
    vg_loop *loop;
    vg_web *web;
    pthread_t th;
    int started;
};

static void *web_main(void *arg)
{
    struct web_thread *t = arg;
    if (vg_loop_run(t->loop))
        vg_error("web", "event loop failed");
    return NULL;
}

static int web_start(struct web_thread *t, const struct run_cfg *c, vg_recorder *r, vg_store *st,
                     const char *demo)
{
    vg_web_opts wo = {.data_dir = c->data, .listen = c->listen, .origin = c->origin,
                      .cert_file = c->cert, .key_file = c->tls_key, .ui_dir = c->ui};
    int rc = vg_loop_new(&t->loop);
    if (!rc)
        rc = vg_web_new(t->loop, &wo, &t->web);
    if (!rc)
        rc = vg_web_attach(t->web, r, st, c->data, demo);
    if (!rc && pthread_create(&t->th, NULL, web_main, t) != 0)
        rc = VG_EIO;
    t->started = rc == 0;
    if (rc)
        fprintf(stderr, "vigil run: cannot start the web server: %s (--no-web runs without it)\n",
                vg_strerror(rc));
    if (rc && !t->started) {
        vg_web_free(t->web);
        t->web = NULL;
    }
    return rc;
}

/* Before the recorder stops: live viewers hold subscriptions on it. */
static void web_stop(struct web_thread *t)
{
    if (t->started) {
        vg_loop_stop(t->loop);
        pthread_join(t->th, NULL);
    }
    vg_web_free(t->web);   /* the loop no longer runs: this thread is its only user */
    vg_loop_free(t->loop);
    memset(t, 0, sizeof *t);
}

/* The footage public key: --camera-key is remembered in DATA/footage.pub so
 * later starts need not repeat it. */
static int load_footage_key(const struct run_cfg *c, uint8_t pk[32], int quiet)
{
    char saved[PATH_MAX];
    if (vg_cli_path(saved, sizeof saved, c->data, "footage.pub"))
        return VG_ETOOBIG;
    if (c->key) {
        int rc = vg_key_read_public(c->key, pk);
        if (rc) {
            fprintf(stderr, "vigil run: cannot read footage public key %s: %s\n", c->key,
                    vg_strerror(rc));
            return rc;
        }
        uint8_t old[32];
        if (access(saved, F_OK) == 0 && vg_key_read_public(saved, old) == 0 &&
            memcmp(old, pk, 32) == 0)
            return 0;
        char tmp[PATH_MAX];
        if (vg_cli_path(tmp, sizeof tmp, c->data, "footage.pub.tmp"))
            return VG_ETOOBIG;
        unlink(tmp);
        if ((rc = vg_key_write_public(tmp, pk)) || rename(tmp, saved) != 0) {
            fprintf(stderr, "vigil run: cannot save %s\n", saved);
            return rc ? rc : VG_EIO;
        }
        return 0;
    }
    if (access(saved, F_OK) == 0 && vg_key_read_public(saved, pk) == 0)
        return 0;
    if (quiet)
        return VG_ENOTFOUND;
    fprintf(stderr,
            "vigil run: no footage public key. Footage is encrypted to a key only you hold:\n"
            "  vigil keys new --out owner.key     (keep owner.key safe)\n"
            "  vigil run --data %s --camera-key owner.key.pub\n",
            c->data);
    return VG_ENOTFOUND;
}

/* The bundled demo clip: --demo-clip, $VIGIL_DEMO_CLIP, or next to the binary
 * (build tree: build/<kind>/vigil -> assets/demo.mp4; installed: share/vigil). */
static int find_demo_clip(const char *given, char *out, size_t n)
{
    const char *env = getenv("VIGIL_DEMO_CLIP");
    const char *cand = given ? given : env;
    if (cand) {
        snprintf(out, n, "%s", cand);
        return access(out, R_OK) == 0 ? 0 : VG_ENOTFOUND;
    }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return VG_ENOTFOUND;
    exe[len] = 0;
    const char *dir = dirname(exe);
    static const char *rel[] = {"../../assets/demo.mp4", "../share/vigil/demo.mp4",
                                "../assets/demo.mp4", "assets/demo.mp4"};
    for (size_t i = 0; i < sizeof rel / sizeof *rel; i++) {
        if (snprintf(out, n, "%s/%s", dir, rel[i]) < (int)n && access(out, R_OK) == 0)
            return 0;
    }
    snprintf(out, n, "/usr/share/vigil/demo.mp4");
    return access(out, R_OK) == 0 ? 0 : VG_ENOTFOUND;
}

/* Camera name from a URL: its last path element, made safe ("cam7"). */
static void name_from_url(const char *url, unsigned idx, char *out, size_t n)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    const char *slash = strchr(p, '/');
    const char *last = NULL;
    while (slash) {
        if (slash[1] && slash[1] != '?')
            last = slash + 1;
        slash = strchr(slash + 1, '/');
    }
    size_t k = 0;
    for (; last && *last && *last != '?' && *last != '/' && k + 1 < n && k < 63; last++) {
        char ch = *last;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '_' || ch == '-' || ch == '.';
        out[k++] = ok ? ch : '_';
    }
    out[k] = 0;
    if (!k || out[0] == '.')
        snprintf(out, n, "cam%u", idx + 1);
}

static int add_url(vg_recorder *r, const char *name, const char *url)
{
    vg_camera_cfg cc = {.name = name, .url = url};
    int rc = vg_recorder_add(r, &cc);
    if (rc) {
        char red[512];
        vg_log_redact_url(url, red, sizeof red);
        fprintf(stderr, "vigil run: camera '%s' (%s): %s\n", name, red,
                rc == VG_EINVAL ? "invalid or duplicate name" : vg_strerror(rc));
    }
    return rc;
}

/* The --camera spec named name (its URL), or NULL. */
static const char *camera_url(const struct run_cfg *c, const char *name, size_t n)
{
    for (unsigned i = 0; i < c->ncam_spec; i++)
        if (strncmp(c->cam_spec[i], name, n) == 0 && c->cam_spec[i][n] == '=')
            return c->cam_spec[i] + n + 1;
    return NULL;
}

/* A substream URL without user:pass@ takes its camera's (cameras expose
 * both streams to one account): "rtsp://u:p@h/main" + "rtsp://h/sub" ->
 * "rtsp://u:p@h/sub". */
static int sub_with_userinfo(const char *main, const char *sub, char *out, size_t n)
{
    const char *ms = strstr(main, "://"), *ss = strstr(sub, "://");
    if (!ms || !ss)
        return VG_EINVAL;
    const char *ma = ms + 3, *sa = ss + 3;
    const char *at = memchr(ma, '@', strcspn(ma, "/?#"));
    int k;
    if (!at || memchr(sa, '@', strcspn(sa, "/?#")))
        k = snprintf(out, n, "%s", sub);
    else
        k = snprintf(out, n, "%.*s%.*s%s", (int)(sa - sub), sub, (int)(at + 1 - ma), ma, sa);
    return k < 0 || (size_t)k >= n ? VG_ETOOBIG : 0;
}

/* --sub NAME=URL: recorded as "NAME.sub" (rec/substream.h). */
static int add_subs(vg_recorder *r, const struct run_cfg *c)
{
    for (unsigned i = 0; i < c->nsub_spec; i++) {
        const char *spec = c->sub_spec[i], *eq = strchr(spec, '=');
        const char *main = eq && eq != spec ? camera_url(c, spec, (size_t)(eq - spec)) : NULL;
        char name[64], url[2048];
        if (!main || (size_t)(eq - spec) >= sizeof name) {
            fprintf(stderr, "vigil run: --sub wants NAME=URL for a camera given with --camera NAME=URL\n");
            return VG_EINVAL;
        }
        snprintf(name, sizeof name, "%.*s", (int)(eq - spec), spec);
        int rc = sub_with_userinfo(main, eq + 1, url, sizeof url);
        vg_camera_cfg cc = {.name = name, .url = main};
        if (!rc)
            rc = vg_sub_add(r, &cc, url, NULL);
        sodium_memzero(url, sizeof url);
        if (rc) {
            fprintf(stderr, "vigil run: substream of '%s': %s\n", name,
                    rc == VG_EINVAL ? "invalid URL or name too long" : vg_strerror(rc));
            return rc;
        }
    }
    return 0;
}

static int add_cameras(vg_recorder *r, const struct run_cfg *c, unsigned *count)
{
    int rc = 0;
    for (unsigned i = 0; i < c->ncam_spec && !rc; i++) {
        const char *eq = strchr(c->cam_spec[i], '=');
        char name[64];
        if (!eq || eq == c->cam_spec[i] || (size_t)(eq - c->cam_spec[i]) >= sizeof name) {
            fprintf(stderr, "vigil run: --camera wants NAME=URL\n");
            return VG_EINVAL;
        }
        snprintf(name, sizeof name, "%.*s", (int)(eq - c->cam_spec[i]), c->cam_spec[i]);
        rc = add_url(r, name, eq + 1);
        (*count)++;
    }
    if (!rc)
        rc = add_subs(r, c);
    if (rc || !c->urls)
        return rc;
    FILE *f = fopen(c->urls, "re");
    if (!f) {
        fprintf(stderr, "vigil run: cannot open %s: %s\n", c->urls, strerror(errno));
        return VG_EIO;
    }
    char line[2048];
    unsigned idx = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        size_t n = strcspn(line, "\r\n");
        line[n] = 0;
        if (!n || line[0] == '#')
            continue;
        /* "URL [SUB_URL]": a second URL on the line is the camera's substream. */
        char *sub = line + strcspn(line, " \t");
        if (*sub) {
            *sub++ = 0;
            sub += strspn(sub, " \t");
            sub[strcspn(sub, " \t")] = 0;
        }
        char name[64], url[2048];
        name_from_url(line, idx, name, sizeof name);
        rc = add_url(r, name, line);
        if (!rc && *sub) {
            vg_camera_cfg cc = {.name = name, .url = line};
            rc = sub_with_userinfo(line, sub, url, sizeof url);
            if (!rc)
                rc = vg_sub_add(r, &cc, url, NULL);
            sodium_memzero(url, sizeof url);
            if (rc)
                fprintf(stderr, "vigil run: substream of '%s': %s\n", name, vg_strerror(rc));
        }
        idx++;
        (*count)++;
    }
    fclose(f);
    return rc;
}

static int add_demo(vg_recorder *r, const struct run_cfg *c, char *clip, int add)
{
    if (find_demo_clip(c->demo_clip, clip, PATH_MAX)) {
        fprintf(stderr, "vigil run: demo clip not found (give --demo-clip FILE)\n");
        return VG_ENOTFOUND;
    }
    if (!add)
        return 0; /* no key yet: added when the browser sets one (vg_web_attach) */
    vg_camera_cfg cc = {.name = "demo", .file = clip};
    int rc = vg_recorder_add(r, &cc);
    if (rc)
        fprintf(stderr, "vigil run: demo camera: %s\n", vg_strerror(rc));
    char sub[PATH_MAX];
    /* Its substream: the smaller clip beside it (assets/demo-sub.mp4), if any. */
    if (!rc && vg_sub_demo_clip(clip, sub, sizeof sub) == 0 && vg_sub_add(r, &cc, NULL, sub) != 0)
        vg_warn("main", "demo camera: cannot record its substream");
    return rc;
}

/* Each camera holds a socket (two more for UDP) and an open segment file;
 * the default soft limit of 1024 descriptors would cap a recorder at a few
 * hundred cameras, so take what the hard limit allows. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int wait_for_signal(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    while (sigwait(&set, &sig) != 0)
        ;
    return sig;
}

int vg_cmd_run(int argc, char **argv)
{
    struct run_cfg c = {0};
    if (parse_args(argc, argv, &c)) {
        run_usage();
        return 2;
    }
    if (sodium_init() < 0)
        return 1;
    if (mkdir(c.data, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "vigil run: cannot create %s: %s\n", c.data, strerror(errno));
        return 1;
    }
    char logpath[PATH_MAX];
    if (vg_cli_path(logpath, sizeof logpath, c.data, "vigil.log") || vg_log_set_file(logpath))
        fprintf(stderr, "vigil run: cannot open the log file in %s\n", c.data);
    uint8_t pk[32] = {0};
    /* With the web, cameras may get their keys from the browser (app.db), so
     * a store-wide key is optional; without it only keyed cameras record. */
    int web_only = !c.no_web && c.ncam_spec == 0 && !c.urls;
    int has_key = load_footage_key(&c, pk, web_only) == 0;
    if (!has_key && !web_only)
        return 1;
    if (!has_key)
        fprintf(stderr, "vigil run: no store-wide footage key (--camera-key): cameras record once"
                        " their key is set in the browser\n");
    raise_fd_limit();

    /* Signals are taken by sigwait in this thread only: block them before
     * any thread starts so every thread inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    vg_store *st = NULL;
    vg_recorder *r = NULL;
    vg_store_opts so = {.dir = c.data, .segment_seconds = c.segment_s,
                        .retain_seconds = c.retain_s, .retain_bytes = c.retain_bytes};
    int rc = vg_store_open(&so, &st);
    if (rc) {
        fprintf(stderr, "vigil run: cannot open the store in %s: %s\n", c.data, vg_strerror(rc));
        return 1;
    }
    vg_recorder_opts ro = {.store = st, .threads = c.threads, .transport = c.transport,
                           .fragment_ms = c.fragment_ms, .footage_pk = pk,
                           .camera_retain_seconds = c.cam_retain_s,
                           .camera_retain_bytes = c.cam_retain_bytes};
    unsigned ncams = 0;
    int demo = 0;
    char clip[PATH_MAX];
    struct web_thread web = {0};
    rc = vg_recorder_new(&ro, &r);
    if (!rc)
        rc = add_cameras(r, &c, &ncams);
    if (!rc && !c.no_demo && (c.demo || ncams == 0)) {
        rc = add_demo(r, &c, clip, has_key);
        demo = rc == 0;
    }
    if (!rc)
        rc = vg_recorder_start(r);
    if (!rc && !c.no_web && web_start(&web, &c, r, st, demo ? clip : NULL) != 0) {
        web_stop(&web);
        if (c.listen) {
            rc = VG_EIO; /* asked for explicitly: a failure is fatal */
            vg_recorder_stop(r);
        } else {
            /* Default address taken (e.g. another vigil): keep recording. */
            vg_warn("main", "web server not started; recording without it");
        }
    }
    if (!rc) {
        char fp[64];
        if (has_key)
            vg_key_fingerprint(pk, fp, sizeof fp);
        else
            snprintf(fp, sizeof fp, "(per camera, from the browser)");
        vg_info("main", "vigil recording into %s; footage key %s; Ctrl-C stops", c.data, fp);
        int sig = wait_for_signal();
        vg_info("main", "%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
        web_stop(&web);
        vg_recorder_stop(r);
    }
    web_stop(&web);
    vg_recorder_free(r);
    vg_store_close(st);
    if (!rc)
        vg_info("main", "stopped cleanly");
    vg_log_set_file(NULL);
    return rc ? 1 : 0;
}
