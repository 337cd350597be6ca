/*
 * tools/cmd.h -- helpers shared by the `mpifutures` subcommands.
 */
#ifndef MF_TOOLS_CMD_H
#define MF_TOOLS_CMD_H

#include <stddef.h>

/* A positive integer option value, or exit(2) with a clear message. */
size_t mf__cmd_count(const char *opt, const char *value);

/* Print "mpifutures: what: error (details)" and return 1. */
int mf__cmd_fail(const char *what, int rc);

/* Print an error line to stderr. */
void mf__cmd_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* `mpifutures primes ...`: argv[first..] are its options; argc/argv go to
 * MPI untouched. */
int mf__cmd_primes(int *argc, char ***argv, int first);

/* `mpifutures info [--json]`: this build and the MPI job (collective under
 * mpirun: every rank reports its host, rank 0 prints). */
int mf__cmd_info(int *argc, char ***argv, int first);

/* `mpifutures overhead ...`: the serialization-overhead laboratory. */
int mf__cmd_overhead(int *argc, char ***argv, int first);

/* `mpifutures stress ...`: exactly-once under load, both pools. */
int mf__cmd_stress(int *argc, char ***argv, int first);

#endif
