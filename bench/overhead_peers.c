/*
 * bench/overhead_peers.c -- `mpifutures overhead --peers`: the same grid
 * through Python's ProcessPoolExecutor and mpi4py.futures, in the same run.
 *
 * Runs after MPI is finalized in this process: the script (embedded at
 * build time from bench/peers/overhead_peers.py) is written to a temporary
 * directory and started with the interpreter of --python (default
 * /usr/bin/python3, where Debian's python3-mpi4py lives), in an environment
 * cleared of this job's Open MPI/PMIx variables so that its MPI starts as a
 * singleton and spawns its own workers, as mpi4py.futures does when run
 * alone. Bounded by peers_timeout_s; the child's process group is killed
 * on timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/overhead.h"

extern const char mf__overhead_peers_py[];
extern char **environ;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int skip(struct ov_result *r, const char *status, const char *fmt,
                const char *arg)
{
    r->peers_status = status;
    snprintf(r->peers_msg, sizeof r->peers_msg, fmt, arg);
    return 1;
}

/* This job's launcher variables would make the child join it. */
static int launcher_var(const char *kv)
{
    static const char *const prefixes[] = {"OMPI_", "PMIX_", "ORTE_",
                                           "OPAL_", "PMI_",  "HYDRA_"};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (strncmp(kv, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    return 0;
}

static char **child_env(void)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 4, sizeof *env);
    if (env == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!launcher_var(environ[i]))
            env[k++] = environ[i];
    /* The singleton spawns more workers than it has slots on small
     * machines; as root, Open MPI wants to be told. */
    env[k++] = "OMPI_MCA_rmaps_base_oversubscribe=1";
    if (geteuid() == 0) {
        env[k++] = "OMPI_ALLOW_RUN_AS_ROOT=1";
        env[k++] = "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1";
    }
    return env;
}

static int write_script(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    size_t len = strlen(mf__overhead_peers_py);
    int ok = fwrite(mf__overhead_peers_py, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static void parse_line(struct ov_result *r, char *line)
{
    struct ov_peer_cell c;
    double pl, n;
    if (sscanf(line, "calib %lf", &r->python_iters_per_us) == 1)
        return;
    if (sscanf(line, "cell %lf %lf %lf %lf %lf %lf", &pl, &c.grain_us, &n,
               &c.t[OV_PY_SEQ], &c.t[OV_PY_PROCESS_POOL],
               &c.t[OV_PY_MPI4PY]) == 6) {
        c.payload = (size_t)pl;
        c.n = (size_t)n;
        struct ov_peer_cell *cs = realloc(
            r->peer_cells, (r->npeer_cells + 1) * sizeof *cs);
        if (cs != NULL) {
            r->peer_cells = cs;
            cs[r->npeer_cells++] = c;
        }
        return;
    }
    if (strncmp(line, "skip ", 5) == 0) {
        /* One executor unavailable: the others still count. */
        fprintf(stderr, "mpifutures overhead: peers: %s\n", line + 5);
        size_t used = strlen(r->peers_msg);
        snprintf(r->peers_msg + used, sizeof r->peers_msg - used, "%s%s",
                 used ? "; " : "", line + 5);
    }
}

/* Read the child's lines until EOF or the deadline. 0: EOF. */
static int read_lines(int fd, struct ov_result *r, double deadline)
{
    char buf[8192];
    size_t have = 0;
    for (;;) {
        double left = deadline - now();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int k = poll(&p, 1, (int)(left * 1000) + 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            continue; /* the deadline check above ends it */
        ssize_t got = read(fd, buf + have, sizeof buf - 1 - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return 0;
        have += (size_t)got;
        buf[have] = '\0';
        char *line = buf, *nl;
        while ((nl = strchr(line, '\n')) != NULL) {
            *nl = '\0';
            parse_line(r, line);
            line = nl + 1;
        }
        have = strlen(line);
        memmove(buf, line, have);
        if (have == sizeof buf - 1)
            have = 0; /* an absurd line: drop it */
    }
}

static void join_list(char *out, size_t len, const struct ov_opts *o,
                      int grains)
{
    size_t used = 0;
    out[0] = '\0';
    size_t n = grains ? o->ngrains : o->npayloads;
    for (size_t i = 0; i < n && used < len; i++)
        used += (size_t)(grains ? snprintf(out + used, len - used, "%s%g",
                                           i ? "," : "", o->grains_us[i])
                                : snprintf(out + used, len - used, "%s%zu",
                                           i ? "," : "", o->payloads[i]));
}

void ov_peers(const struct ov_opts *o, struct ov_result *r)
{
    if (access(o->python, X_OK) != 0) {
        skip(r, "skipped", "%s not found (Debian: apt-get install "
                           "python3-mpi4py, or --python PATH)",
             o->python);
        return;
    }
    char dir[] = "/tmp/mpifutures-peers-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        skip(r, "skipped", "cannot create a temporary directory: %s",
             strerror(errno));
        return;
    }
    char script[sizeof dir + 32], workers[32], reps[32], cell[32];
    char grains[1024], payloads[1024];
    snprintf(script, sizeof script, "%s/overhead_peers.py", dir);
    snprintf(workers, sizeof workers, "%zu", r->workers);
    snprintf(reps, sizeof reps, "%zu", o->reps < 3 ? o->reps : 3);
    snprintf(cell, sizeof cell, "%g", o->cell_s);
    join_list(grains, sizeof grains, o, 1);
    join_list(payloads, sizeof payloads, o, 0);
    char *argv[] = {(char *)o->python, script, "--workers", workers,
                    "--grains", grains, "--payloads", payloads, "--reps",
                    reps, "--cell-s", cell,
                    o->progress ? "--progress" : NULL, NULL};
    char **env = child_env();
    int fds[2] = {-1, -1};
    pid_t pid = -1;
    if (write_script(script) != 0 || env == NULL || pipe(fds) != 0) {
        skip(r, "skipped", "cannot set up the Python run: %s",
             strerror(errno));
        goto out;
    }
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        setpgid(0, 0); /* its own group, so a timeout kills its workers */
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execve(o->python, argv, env);
        _exit(127);
    }
    close(fds[1]);
    fds[1] = -1;
    if (pid < 0) {
        skip(r, "skipped", "fork: %s", strerror(errno));
        goto out;
    }
    setpgid(pid, pid);
    r->peers_msg[0] = '\0';
    int timed_out = read_lines(fds[0], r, now() + o->peers_timeout_s) != 0;
    if (timed_out)
        kill(-pid, SIGKILL);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    kill(-pid, SIGKILL); /* stray spawned workers, if any */
    if (timed_out) {
        r->peers_status = "failed";
        snprintf(r->peers_msg, sizeof r->peers_msg,
                 "no complete result within %g s; the Python run was killed",
                 o->peers_timeout_s);
    } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
             r->npeer_cells == 0) {
        char why[64];
        snprintf(why, sizeof why, "%s exited with status %d", o->python,
                 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
        skip(r, "failed", "%s (its messages are above)", why);
    } else {
        r->peers_status = NULL; /* ran */
    }
out:
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    free(env);
    unlink(script);
    rmdir(dir);
}
