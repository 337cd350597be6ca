/*
 * mpifutures.h -- futures and executors for C, from one thread to a cluster.
 *
 * One umbrella header: include this, link -lmpifutures (pkg-config
 * mpifutures, or find_package(mpifutures) and mpifutures::mpifutures).
 */
#ifndef MPIFUTURES_H
#define MPIFUTURES_H

#include "mpifutures/error.h"
#include "mpifutures/value.h"
#include "mpifutures/future.h"
#include "mpifutures/task.h"
#include "mpifutures/executor.h"
#include "mpifutures/thread_pool.h"
#include "mpifutures/mpi_pool.h"
#include "mpifutures/loop.h"
#include "mpifutures/coro.h"
#include "mpifutures/wait.h"

#define MF_VERSION_MAJOR 0
#define MF_VERSION_MINOR 1
#define MF_VERSION_PATCH 0
#define MF_VERSION_STRING "0.1.0"

#endif /* MPIFUTURES_H */
