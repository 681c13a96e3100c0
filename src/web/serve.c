/* SPDX-License-Identifier: Apache-2.0 */
/* `vigil serve`: the web server alone on one loop (the recorder embeds
 * vg_web in `vigil run` instead). SIGINT/SIGTERM stop it cleanly. */
#include "web/web.h"
#include "core/err.h"
#include "core/log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(void)
{
    fprintf(stderr, "usage: vigil serve --data DIR [--listen ADDR:PORT] [--origin https://HOST:PORT]\n"
                    "                   [--ui DIR] [--cert FILE --key FILE] [--log-level LEVEL]\n");
}

static void on_signal(vg_loop *loop, vg_io *io, uint32_t events)
{
    struct signalfd_siginfo si;
    if (read(io->fd, &si, sizeof si) == (ssize_t)sizeof si) vg_info("web", "signal %u: stopping", si.ssi_signo);
    vg_loop_stop(loop);
}

static int parse_args(int argc, char **argv, vg_web_opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **dst = NULL;
        if (strcmp(a, "--data") == 0) dst = &o->data_dir;
        else if (strcmp(a, "--listen") == 0) dst = &o->listen;
        else if (strcmp(a, "--origin") == 0) dst = &o->origin;
        else if (strcmp(a, "--ui") == 0) dst = &o->ui_dir;
        else if (strcmp(a, "--cert") == 0) dst = &o->cert_file;
        else if (strcmp(a, "--key") == 0) dst = &o->key_file;
        else if (strcmp(a, "--log-level") == 0 && v) {
            if (strcmp(v, "debug") == 0) vg_log_set_level(VG_LOG_DEBUG);
            else if (strcmp(v, "info") == 0) vg_log_set_level(VG_LOG_INFO);
            else if (strcmp(v, "warn") == 0) vg_log_set_level(VG_LOG_WARN);
            else if (strcmp(v, "error") == 0) vg_log_set_level(VG_LOG_ERROR);
            else return VG_EINVAL;
            i++;
            continue;
        }
        if (!dst || !v) return VG_EINVAL;
        *dst = v;
        i++;
    }
    return o->data_dir ? 0 : VG_EINVAL;
}

int vg_cmd_serve(int argc, char **argv)
{
    vg_web_opts o;
    vg_loop *loop = NULL;
    vg_web *w = NULL;
    vg_io sig;
    sigset_t mask;
    int sfd = -1, code = 1;
    char logpath[1100];
    if (parse_args(argc, argv, &o)) { usage(); return 2; }
    if (mkdir(o.data_dir, 0700) && errno != EEXIST) {
        fprintf(stderr, "vigil: cannot create %s: %s\n", o.data_dir, strerror(errno));
        return 1;
    }
    snprintf(logpath, sizeof logpath, "%s/vigil.log", o.data_dir);
    vg_log_set_file(logpath);
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0 || vg_loop_new(&loop)) goto out;
    vg_io_init(&sig, sfd, on_signal, NULL);
    if (vg_io_start(loop, &sig, EPOLLIN)) goto out;
    if (vg_web_new(loop, &o, &w)) goto out;
    code = vg_loop_run(loop) ? 1 : 0;
    vg_io_stop(loop, &sig);
out:
    vg_web_free(w);
    vg_loop_free(loop);
    if (sfd >= 0) close(sfd);
    vg_log_set_file(NULL);
    return code;
}
