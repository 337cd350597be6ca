#!/usr/bin/env bash
# cluster/multihost.sh -- a small cluster on one Linux machine: H hosts that
# are network namespaces, joined over real TCP through a bridge, with Open
# MPI launched across them from a hostfile as on a cluster (no ssh: the
# remote shell is cluster/netns-rsh). Needs root and iproute2.
#
#   cluster/multihost.sh [--hosts H] [--ranks-per-host R] [--json]
#                        [--build DIR] [--limit N] [--no-tests]
#                        [--no-lost-host] [--no-pin] [--bind-to POLICY]
#   cluster/multihost.sh [--hosts H] [--ranks-per-host R] --run MPIRUN-ARGS...
#   cluster/multihost.sh [--hosts H] [--ranks-per-host R] --exec COMMAND...
#                        (COMMAND runs here with the hosts up: $MF_MPIRUN is
#                        the mpirun above, $MF_HOSTFILE its hostfile,
#                        cluster/netns-rsh --exec mfh-h1 ... runs on a host)
#   cluster/multihost.sh --probe      can this machine run it? (exit 0 or 77)
#   cluster/multihost.sh --cleanup    remove what a killed run left behind
#
# The programs come from --build DIR (or $MF_BUILD_DIR; default build/),
# built first with cluster/setup.sh if they are missing.
#
# The checks (the default) run, across the hosts:
#   1. `mpifutures info`: every host seen under its own name, the transports;
#   2. the round trip of an 8-byte message: a plain TCP ping-pong between two
#      hosts, MPI over TCP between the same two hosts (`bench mpi`'s raw
#      ping-pong), and MPI through shared memory on one host, for scale;
#   3. `mpifutures primes` on H x R ranks: counts agree, speedup, and the
#      bytes that crossed the bridge meanwhile (the traffic is on the wire);
#   4. the MPI integration tests of ctest (label "mpi"), the same binaries
#      and arguments, through this launcher instead of a local mpiexec;
#   5. a host lost mid-run, twice: its link taken down at the switch, and
#      its ranks killed. mpirun must end non-zero within 30 s naming the
#      lost host, and the program must not claim its results complete.
# then tear everything down and report (a table, or one JSON object with
# --json). Exit 0 only when every check passed; 77 when the machine cannot
# run it (not root, no iproute2, no namespaces); 1 otherwise.
#
# What it makes, all named $P-* (P=mfh) so that nothing else is touched:
#   - namespaces mfh-h1..mfh-hH (the hosts) and mfh-sw (the switch: bridge
#     mfh-br). Host i has one veth, mfh-eI, plugged into switch port mfh-pI,
#     address 10.211.0.(10+i)/24; lo up; IPv6 off; no default route, no
#     NAT: the subnet exists only inside these namespaces. The bridge sits in
#     its own namespace, so the root namespace's firewall (br_netfilter,
#     Docker's FORWARD policy) cannot touch the traffic, and deleting the
#     namespaces deletes every veth and the bridge with them.
#   - /etc/netns/mfh-hI/hosts (ip netns exec shows it as /etc/hosts inside
#     host I): the host names resolve without DNS, both ways.
#   - a temporary directory with the hostfile, the host map and the logs.
#   Each host also gets cores of its own (netns-rsh runs everything there
#   under taskset): the machine's cores split between the hosts, or one
#   each in turn when there are more hosts than cores (--no-pin: none).
# Teardown (on exit, failure and Ctrl-C included) kills every process left
# in those namespaces, deletes them, removes /etc/netns/mfh-h* and Open
# MPI's session directories of those hosts. It also runs first, to clear
# what a crashed run left.
#
# Open MPI's launch configuration (the `mpirun` in $work/bin):
#   --hostfile, --map-by node       ranks spread over the hosts round-robin
#   --bind-to none, host cores      see below: this is the 8 ms fix
#   plm_rsh_agent netns-rsh         start each host's orted in its namespace
#   pml ob1, btl tcp,self           TCP between every pair of ranks (no UCX,
#                                   no shared memory across hosts)
#   btl/oob_tcp_if_include SUBNET   MPI traffic and Open MPI's own control
#                                   traffic on the hosts' network only
#   oob_tcp_keepalive_* 1/1/3       a host that stops answering is noticed
#                                   in seconds, not after 8 minutes
#   mpi_yield_when_idle 1           only when hosts share cores (more hosts
#                                   than cores, or --no-pin)
#
# The 8 ms round trip: every host's orted sees the whole machine and, by
# Open MPI's default for 2 ranks or fewer, binds its first rank to core 0
# -- ignoring any affinity it was started with. Ranks of different "hosts"
# thus shared one core while both busy-polled for messages, and each hop of
# a ping-pong waited for the scheduler to preempt the spinning peer at the
# next timer tick (4 ms with HZ=250): 8.0 ms per 8-byte round trip, with
# ~1.3 involuntary context switches per round trip; the same binding on one
# host (mpirun --cpu-set 0 --bind-to core) gives the same 8.0 ms. Hence
# Open MPI binds nothing here and each host's processes run on that host's
# own cores, as on a real cluster: ~8 us. (--bind-to none alone, all hosts
# on all cores, also fixes the ping-pong, but the kernel then moves the
# pool's threads about and its task round trip is ~150 us instead of
# ~13 us.) Reproduce with --no-pin --bind-to core.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
P=mfh
subnet=10.211.0
hosts=3
rph=1
json=0
limit=4000000
bind=none
pin=1
build=${MF_BUILD_DIR:-$here/build}
do_tests=1
do_lost=1
mode=check
run_args=()
work=

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -n 's/^# \{0,1\}//p' | sed '/--cleanup/q'
}
log() { echo "multihost: $*" >&2; }
die() { # die STATUS MESSAGE
  log "$2"
  exit "$1"
}

while [ $# -gt 0 ]; do
  case $1 in
  --hosts) hosts=${2:?}; shift 2 ;;
  --ranks-per-host) rph=${2:?}; shift 2 ;;
  --json) json=1; shift ;;
  --build) build=${2:?}; shift 2 ;;
  --limit) limit=${2:?}; shift 2 ;;
  --bind-to) bind=${2:?}; shift 2 ;;
  --no-pin) pin=0; shift ;;
  --no-tests) do_tests=0; shift ;;
  --no-lost-host) do_lost=0; shift ;;
  --probe) mode=probe; shift ;;
  --cleanup) mode=cleanup; shift ;;
  --run) mode=run; shift; run_args=("$@"); break ;;
  --exec) mode="exec"; shift; run_args=("$@"); break ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
  esac
done
case $hosts in '' | *[!0-9]*) die 2 "--hosts needs a number" ;; esac
case $rph in '' | *[!0-9]*) die 2 "--ranks-per-host needs a number" ;; esac
((hosts >= 2 && hosts <= 200)) || die 2 "--hosts must be 2..200"
((rph >= 1)) || die 2 "--ranks-per-host must be at least 1"
nranks=$((hosts * rph))
build=$(cd "$build" 2>/dev/null && pwd || echo "$build")

# --- prerequisites --------------------------------------------------------------
# Print why this machine cannot run the multi-host checks, or nothing.
cannot_run() {
  local err
  if [ "$(id -u)" -ne 0 ]; then
    echo "not root (network namespaces need root)"
  elif ! command -v ip >/dev/null; then
    echo "no 'ip' command (install iproute2)"
  elif ! command -v unshare >/dev/null || ! command -v flock >/dev/null ||
    ! command -v taskset >/dev/null; then
    echo "no 'unshare', 'flock' or 'taskset' (install util-linux)"
  elif ! unshare --uts true 2>/dev/null; then
    echo "cannot create UTS namespaces here (unshare --uts failed)"
  elif ! command -v mpirun >/dev/null; then
    echo "no mpirun (install openmpi-bin)"
  elif ! ip netns add "$P-probe$$" 2>/dev/null; then
    echo "cannot create network namespaces here (ip netns add failed)"
  elif ! err=$(ip -n "$P-probe$$" link add "$P-pbr" type bridge 2>&1) ||
    ! err=$(ip -n "$P-probe$$" link add "$P-pa" type veth peer name "$P-pb" 2>&1); then
    ip netns delete "$P-probe$$" 2>/dev/null || true
    # e.g. inside a chroot whose / is not a mount point, `ip -n` cannot
    # enter a namespace: "mount --make-rslave / failed".
    echo "cannot create a bridge or veth pair inside a namespace here: $(tr -d '"' <<<"${err:-no error text}" | head -n 1)"
  else
    ip netns delete "$P-probe$$"
  fi
}

# --- teardown -------------------------------------------------------------------
our_namespaces() {
  ip netns list 2>/dev/null | awk '{print $1}' |
    grep -E "^$P-(sw|probe[0-9]*|h[0-9]+)\$" || true
}

# Kill every process inside our namespaces (only what this script started:
# mpirun, the orteds, the ranks, the ping-pong) and wait for them to go.
kill_in_namespaces() {
  local ns pid pids i
  for i in $(seq 1 50); do
    pids=()
    for ns in $(our_namespaces); do
      for pid in $(ip netns pids "$ns" 2>/dev/null); do pids+=("$pid"); done
    done
    ((${#pids[@]})) || return 0
    kill -9 "${pids[@]}" 2>/dev/null || true
    sleep 0.1
  done
  log "warning: processes still alive in the namespaces: ${pids[*]}"
}

# Between runs: give the daemons of a finished job a moment to exit, then
# make sure nothing of it outlives it.
settle() {
  local i ns busy
  for i in $(seq 1 30); do
    busy=0
    for ns in $(our_namespaces); do
      [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] || busy=1
    done
    ((busy)) || return 0
    sleep 0.1
  done
  log "killing what a finished run left running"
  kill_in_namespaces
}

teardown() {
  local ns
  kill_in_namespaces
  for ns in $(our_namespaces); do
    ip netns delete "$ns" 2>/dev/null || log "warning: cannot delete $ns"
  done
  rm -rf /etc/netns/"$P"-h[0-9]*
  rmdir /etc/netns 2>/dev/null || true # only if now empty
  # Open MPI's session directories and shared-memory files of our hosts
  # (named after the host), left when a daemon was killed.
  rm -rf "${TMPDIR:-/tmp}"/ompi."$P"-h[0-9]*.* /dev/shm/vader_segment."$P"-h[0-9]*.*
}

leftovers() { # what is left of ours, as words (none: empty)
  our_namespaces
  ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | grep "^$P-" || true
  ls -d /etc/netns/"$P"-* 2>/dev/null || true
}

if [ "$mode" = probe ]; then
  why=$(cannot_run)
  if [ -n "$why" ]; then echo "$why"; exit 77; fi
  echo "ok: root, iproute2, network namespaces, bridges and veth pairs"
  exit 0
fi

why=$(cannot_run)
[ -z "$why" ] || die 77 "cannot run: $why"
# One run at a time: the names are fixed. The lock is the script itself.
exec 9<"${BASH_SOURCE[0]}"
flock -n 9 || die 1 "another multihost.sh is running"

if [ "$mode" = cleanup ]; then
  teardown
  rm -rf "${TMPDIR:-/tmp}/$P".??????
  left=$(leftovers)
  [ -z "$left" ] || die 1 "still there: $left"
  log "nothing of ours left"
  exit 0
fi

on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  teardown
  [ -z "$work" ] || rm -rf "$work"
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

tool=$build/bin/mpifutures
real_mpirun=$(command -v mpirun)
tcp=$build/bin/mpifutures-tcp-pingpong
hostloss=$build/bin/test_mpi_hostloss
if [ ! -x "$tool" ] || [ ! -x "$tcp" ] || [ ! -x "$hostloss" ]; then
  log "building into $build first"
  "$here/cluster/setup.sh" "$build" >&2
fi

teardown # what a crashed run may have left, and its logs
rm -rf "${TMPDIR:-/tmp}/$P".??????
work=$(mktemp -d "${TMPDIR:-/tmp}/$P.XXXXXX")
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export MF_NETNS_MAP=$work/map

# --- the hosts ------------------------------------------------------------------
addr_of() { echo "$subnet.$((10 + $1))"; }

# The cores this script may use, one per line ("0-3,6" expanded).
allowed_cpus() {
  sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status | tr ',' '\n' |
    awk -F- '{ for (c = $1; c <= ($2 == "" ? $1 : $2); c++) print c }'
}
# Host I's own cores, as a taskset list: the machine's cores split into H
# contiguous shares; with more hosts than cores, one core each, in turn.
cpus_of() {
  local i=$1 n
  local -a all
  mapfile -t all < <(allowed_cpus)
  n=${#all[@]}
  if ((hosts > n)); then
    echo "${all[$(((i - 1) % n))]}"
  else
    local lo=$(((i - 1) * n / hosts)) hi=$((i * n / hosts - 1)) k out=
    for k in $(seq "$lo" "$hi"); do out+="${out:+,}${all[$k]}"; done
    echo "$out"
  fi
}

setup() {
  local i j ns c
  ip netns add "$P-sw"
  ip -n "$P-sw" link add "$P-br" type bridge
  ip -n "$P-sw" link set "$P-br" up
  mkdir -p /etc/netns
  : >"$work/hostfile"
  : >"$work/map"
  for i in $(seq 1 "$hosts"); do
    ns=$P-h$i
    ip netns add "$ns"
    # IPv6 off before the link exists: no link-local addresses for Open MPI
    # (built with IPv6) to publish or try.
    # shellcheck disable=SC2016 # expanded by the inner shell
    ip netns exec "$ns" sh -c 'for f in all default; do
        p=/proc/sys/net/ipv6/conf/$f/disable_ipv6
        if [ -w "$p" ]; then echo 1 >"$p"; fi; done'
    ip link add "$P-e$i" netns "$ns" type veth peer name "$P-p$i" netns "$P-sw"
    ip -n "$P-sw" link set "$P-p$i" master "$P-br" up
    ip -n "$ns" addr add "$(addr_of "$i")/24" dev "$P-e$i"
    ip -n "$ns" link set "$P-e$i" up
    ip -n "$ns" link set lo up
    mkdir -p "/etc/netns/$ns"
    {
      echo "127.0.0.1 localhost"
      for j in $(seq 1 "$hosts"); do echo "$(addr_of "$j") $P-h$j"; done
    } >"/etc/netns/$ns/hosts"
    echo "$ns slots=$rph" >>"$work/hostfile"
    c=
    if ((pin)); then c=$(cpus_of "$i"); fi
    printf '%s %s %s %s\n' "$ns" "$ns" "$ns" "$c" "$(addr_of "$i")" "$ns" "$ns" "$c" \
      >>"$work/map"
  done
  # No binding by Open MPI (see the top of this file): each host's cores
  # come from netns-rsh. Ranks of different hosts that share a core must
  # not busy-poll against each other: they yield when idle.
  local -a bind_args=(--bind-to "$bind") yield_args=()
  if ((!pin || hosts > $(allowed_cpus | wc -l))); then
    yield_args=(--mca mpi_yield_when_idle 1)
  fi
  # mpirun for these hosts, as a program (timeout and the MPI test scripts
  # can run it; the death test finds it on PATH as mpiexec).
  mkdir -p "$work/bin"
  {
    echo '#!/bin/sh'
    echo "# mpirun across the $P hosts (made by cluster/multihost.sh)"
    printf 'exec %q --exec %q %q' "$here/cluster/netns-rsh" "$P-h1" "$real_mpirun"
    printf ' %q' --hostfile "$work/hostfile" --map-by node "${bind_args[@]}" \
      "${yield_args[@]}" --mca plm_rsh_agent "$here/cluster/netns-rsh" \
      --mca plm_rsh_no_tree_spawn 1 \
      --mca pml ob1 --mca btl tcp,self \
      --mca btl_tcp_if_include "$subnet.0/24" \
      --mca oob_tcp_if_include "$subnet.0/24" \
      --mca oob_tcp_keepalive_time 1 --mca oob_tcp_keepalive_intvl 1 \
      --mca oob_tcp_keepalive_probes 3
    echo ' "$@"'
  } >"$work/bin/mpirun"
  chmod +x "$work/bin/mpirun"
  ln -s mpirun "$work/bin/mpiexec"
}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# The value of "KEY": in a one-line JSON object (its last occurrence: the
# top level of `primes --json` comes after its per-run array).
jget() {
  local v
  v=$(sed -n "s/.*\"$1\": \"\([^\"]*\)\".*/\1/p" <<<"$2" | head -n 1)
  [ -n "$v" ] || v=$(sed -n "s/.*\"$1\": \([^,}\"]*\).*/\1/p" <<<"$2" | head -n 1)
  echo "$v"
}
# Run a logged step: stdout to $work/NAME.out, stderr to $work/NAME.err.
# In the background, waited for: Ctrl-C or TERM reaches our traps at once
# (bash runs a trap only after a foreground child ends).
logged() { # logged NAME TIMEOUT COMMAND...
  local name=$1 t=$2 rc=0
  shift 2
  timeout -k 5 "$t" "$@" >"$work/$name.out" 2>"$work/$name.err" </dev/null &
  wait $! || rc=$?
  if ((rc)); then
    log "$name failed (exit $rc); its output:"
    tail -n 30 "$work/$name.out" "$work/$name.err" >&2 || true
  fi
  return "$rc"
}
bridge_bytes() { # bytes received by the switch ports so far
  ip netns exec "$P-sw" sh -c 'cat /sys/class/net/'"$P"'-p*/statistics/rx_bytes' |
    awk '{ s += $1 } END { print s + 0 }'
}

t_start=$(now)
log "setting up $hosts hosts ($P-h1..$P-h$hosts, $subnet.0/24), $rph rank(s) per host"
setup
mpirun_h=$work/bin/mpirun

if [ "$mode" = run ] || [ "$mode" = exec ]; then
  rc=0
  if [ "$mode" = run ]; then
    "$mpirun_h" "${run_args[@]}" || rc=$?
  else
    MF_MPIRUN=$mpirun_h MF_HOSTFILE=$work/hostfile "${run_args[@]}" || rc=$?
  fi
  exit "$rc"
fi

ok=1
fail() { log "FAILED: $*"; ok=0; }

# 1. info, collective across the hosts.
info='{}'
info_hosts=0
btl=
if logged info 60 "$mpirun_h" -n "$nranks" "$tool" info --json; then
  info=$(tail -n 1 "$work/info.out")
  info_hosts=$(jget hosts "$info")
  btl=$(jget btl "$info")
  [ "$info_hosts" = "$hosts" ] ||
    fail "info sees $info_hosts hosts, expected $hosts: $info"
  [ "$(jget world_size "$info")" = "$nranks" ] || fail "info: world size: $info"
else
  fail "mpifutures info across the hosts"
fi
settle

# 2. Round trips, 8 bytes: plain TCP and MPI over TCP between hosts 1 and 2,
# MPI over shared memory on one host.
# tcp_rtt NAME [--spin]: a plain TCP ping-pong from host 1 to host 2; the
# median round trip in microseconds, or -1.
tcp_rtt() {
  local name=$1 rtt=-1 server
  shift
  "$here/cluster/netns-rsh" --exec "$P-h2" "$tcp" server --rounds 10000 "$@" \
    >/dev/null 2>"$work/$name-server.err" &
  server=$!
  if logged "$name" 60 "$here/cluster/netns-rsh" --exec "$P-h1" "$tcp" client \
    "$P-h2" --rounds 10000 "$@"; then
    rtt=$(jget raw_tcp_rtt_us "$(tail -n 1 "$work/$name.out")")
  fi
  wait "$server" 2>/dev/null || true
  echo "$rtt"
}
raw_tcp=$(tcp_rtt tcp)
raw_tcp_spin=$(tcp_rtt tcp-spin --spin)
if [ "$raw_tcp" = -1 ] || [ "$raw_tcp_spin" = -1 ]; then
  fail "TCP ping-pong between $P-h1 and $P-h2"
fi
settle

mpi_tcp=-1
pool_tcp=-1
if logged bench-tcp 120 "$mpirun_h" -n 2 "$tool" bench mpi --json \
  --tasks 20000 --rounds 2000; then
  out=$(tail -n 1 "$work/bench-tcp.out")
  mpi_tcp=$(jget raw_mpi_rtt_us "$out")
  pool_tcp=$(jget rtt_us "$out")
  # Not a timing bar (the machine is shared), a guard against the 8 ms
  # round trip of ranks that busy-poll on one core (see the top).
  if awk -v a="$mpi_tcp" 'BEGIN { exit !(a > 1000) }'; then
    fail "MPI round trip across hosts is $mpi_tcp us: ranks of two hosts share a core?"
  fi
else
  fail "bench mpi across two hosts"
fi
settle

# For scale, shared memory: two ranks on one host (Open MPI's own binding
# puts them on two cores, whatever cores that host was given).
shm=-1
if logged bench-shm 120 "$here/cluster/netns-rsh" --exec "$P-h1" mpirun -n 2 \
  --mca pml ob1 --mca btl vader,self "$tool" bench mpi --json \
  --tasks 20000 --rounds 2000; then
  shm=$(jget raw_mpi_rtt_us "$(tail -n 1 "$work/bench-shm.out")")
else
  fail "bench mpi on one host (shared memory)"
fi
settle

# 3. primes on every rank of every host.
counts_match=false
speedup=-1
workers=0
b0=$(bridge_bytes)
if logged primes 300 "$mpirun_h" -n "$nranks" "$tool" primes --json \
  --limit "$limit"; then
  out=$(tail -n 1 "$work/primes.out")
  counts_match=$(jget counts_match "$out")
  speedup=$(jget speedup "$out")
  workers=$(jget workers "$out")
  [ "$counts_match" = true ] || fail "primes: counts differ: $out"
else
  fail "primes across the hosts"
fi
settle
wire_bytes=$(($(bridge_bytes) - b0))
transport=unknown
if [ "$btl" = tcp,self ] && [ "$info_hosts" = "$hosts" ] && ((wire_bytes > 0)); then
  transport=tcp
else
  fail "transport: btl '$btl', $info_hosts hosts, $wire_bytes bytes on the bridge"
fi

# 4. The MPI integration tests, as ctest defines them, across the hosts.
tests_passed=0
tests_failed=0
tests_json=
run_mpi_tests() {
  local line num name rc
  local -A names=() cmds=()
  while IFS= read -r line; do
    if [[ $line =~ ^([0-9]+):\ Test\ command:\ (.*)$ ]]; then
      cmds[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
    elif [[ $line =~ ^\ *Test\ +#([0-9]+):\ (.*)$ ]]; then
      names[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
    fi
  done < <(ctest --test-dir "$build" -N -V -L mpi 2>/dev/null)
  for num in $(printf '%s\n' "${!names[@]}" | sort -n); do
    name=${names[$num]}
    local -a argv=()
    mapfile -t argv < <(xargs printf '%s\n' <<<"${cmds[$num]:-}")
    ((${#argv[@]})) || continue
    case $(basename "${argv[0]}") in
    mpiexec | mpirun) argv[0]=$mpirun_h ;; # the same arguments, our hosts
    *.sh) ;; # a script calling mpiexec: it finds ours first on PATH
    *)
      log "test $name: not under mpiexec (single process), not run here"
      tests_json+="${tests_json:+, }\"$name\": \"skipped\""
      continue
      ;;
    esac
    rc=0
    # MPIFUTURES_MULTIHOST tells a test that rank 0's host is not every
    # rank's (e.g. a dead worker elsewhere cannot be checked by pid).
    MPIFUTURES_MULTIHOST=1 PATH="$work/bin:$PATH" \
      logged "test-$name" 120 "${argv[@]}" || rc=$?
    if ((rc == 0)); then
      tests_passed=$((tests_passed + 1))
      tests_json+="${tests_json:+, }\"$name\": \"passed\""
    else
      tests_failed=$((tests_failed + 1))
      tests_json+="${tests_json:+, }\"$name\": \"failed\""
      fail "MPI test $name across the hosts (exit $rc)"
    fi
    settle
  done
}
if ((do_tests)); then
  log "MPI integration tests across the hosts"
  run_mpi_tests
  ((tests_passed > 0)) || fail "no MPI integration test ran"
fi

# 5. A host lost mid-run.
lost_json=
lost_host() { # lost_host link|kill
  local how=$1 victim=$P-h$hosts
  local out=$work/lost-$how.out
  local pid rc=0 t_cut secs msg finished n=40 i
  log "lost host ($how): $victim, mid-run"
  : >"$out"
  timeout -k 5 120 "$mpirun_h" -n "$nranks" "$hostloss" --tasks "$n" --ms 150 \
    --timeout 60 >"$out" 2>&1 &
  pid=$!
  for i in $(seq 1 600); do # until 3 futures are done: the run is under way
    finished=$(grep -c ': finished' "$out" || true)
    ((${finished:-0} < 3)) || break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if ((${finished:-0} < 3)); then
    fail "lost host ($how): the run did not get going (no 3 futures in 30 s)"
  fi
  t_cut=$(now)
  if [ "$how" = link ]; then
    ip -n "$P-sw" link set "$P-p$hosts" down # the cable, at the switch
  else
    local p victims=()
    for p in $(ip netns pids "$victim"); do
      [ "$(cat "/proc/$p/comm" 2>/dev/null)" = orted ] || victims+=("$p")
    done
    if ((${#victims[@]})); then kill -9 "${victims[@]}" 2>/dev/null || true; fi
  fi
  wait "$pid" || rc=$?
  secs=$(since "$t_cut")
  ip -n "$P-sw" link set "$P-p$hosts" up
  kill_in_namespaces # the lost host's daemon, if still there
  # Forget what the cut taught the hosts' neighbour tables (addresses
  # marked unreachable while the link was down) before the next run.
  local ns
  for ns in $(our_namespaces); do
    ip -n "$ns" neigh flush all 2>/dev/null || true
  done
  sleep 1
  finished=$(grep -c ': finished' "$out" || true)
  # mpirun's own words first: the lost daemon, or the killed process.
  msg=$( (grep -m 1 -E "on node $victim exited|Remote daemon.*$victim" "$out" ||
    grep -m 1 -E "Peer host: *$victim" "$out") | tr -s ' ' | sed 's/^ //; s/["\\]//g' || true)
  local good=true
  if ((rc == 0 || rc == 124)) || awk -v s="$secs" 'BEGIN { exit !(s > 30) }'; then
    fail "lost host ($how): mpirun exit $rc after $secs s (expected non-zero, < 30 s)"
    good=false
  fi
  if [ -z "$msg" ]; then
    fail "lost host ($how): no message naming $victim"
    good=false
  fi
  if grep -q '^hostloss: all ' "$out"; then
    fail "lost host ($how): the program claimed every future done"
    good=false
  fi
  [ "$good" = true ] || { tail -n 40 "$out" >&2; lost_ok=false; }
  lost_json+="${lost_json:+, }\"$how\": {\"ok\": $good, \"exit\": $rc, \"seconds\": $secs, \"futures_finished\": $finished, \"futures\": $n, \"message\": \"$msg\"}"
  printf -v "lost_${how}_msg" '%s' "$msg"
  printf -v "lost_${how}_rc" '%s' "$rc"
  printf -v "lost_${how}_secs" '%s' "$secs"
  printf -v "lost_${how}_fin" '%s' "$finished"
}
lost_ok=true
if ((do_lost)); then
  lost_host link
  lost_host kill
fi

# Tear down now, to report that nothing is left (the trap does it again).
teardown
left=$(leftovers)
cleaned=true
if [ -n "$left" ]; then
  cleaned=false
  fail "left behind: $left"
fi
total=$(since "$t_start")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : -1) }'; }
okw=$([ "$ok" = 1 ] && echo true || echo false)

if ((json)); then
  printf '{"hosts": %s, "ranks_per_host": %s, "ranks": %s, "subnet": "%s.0/24", ' \
    "$hosts" "$rph" "$nranks" "$subnet"
  printf '"transport": "%s", "btl": "%s", "bind_to": "%s", ' "$transport" "$btl" "$bind"
  printf '"counts_match": %s, "speedup": %s, "workers": %s, "primes_limit": %s, ' \
    "${counts_match:-false}" "${speedup:-null}" "${workers:-null}" "$limit"
  printf '"bridge_bytes": %s, ' "$wire_bytes"
  printf '"mpi_rtt_us_tcp": %s, "raw_tcp_rtt_us": %s, "raw_tcp_spin_rtt_us": %s, ' \
    "${mpi_tcp:-null}" "${raw_tcp:-null}" "${raw_tcp_spin:-null}"
  printf '"mpi_over_raw_tcp": %s, "mpi_over_raw_tcp_spin": %s, ' \
    "$(ratio "$mpi_tcp" "$raw_tcp")" "$(ratio "$mpi_tcp" "$raw_tcp_spin")"
  printf '"pool_rtt_us_tcp": %s, "shm_rtt_us": %s, ' "${pool_tcp:-null}" "${shm:-null}"
  printf '"tests_passed": %s, "tests_failed": %s, "tests": {%s}, ' \
    "$tests_passed" "$tests_failed" "$tests_json"
  printf '"lost_host": {%s}, "lost_host_ok": %s, ' "$lost_json" "$lost_ok"
  printf '"cleaned_up": %s, "seconds": %s, "ok": %s, ' "$cleaned" "$total" "$okw"
  printf '"info": %s}\n' "${info:-null}"
else
  row() { printf '  %-44s %9s %s\n' "$@"; }
  echo "multihost: $hosts hosts ($P-h1..$P-h$hosts on $subnet.0/24)," \
    "$rph rank(s) per host, $nranks ranks"
  echo "transport between hosts: $transport (btl $btl, $wire_bytes bytes" \
    "through the bridge during primes)"
  echo "primes below $limit: $workers workers, speedup ${speedup}x," \
    "counts agree: $counts_match"
  echo
  row "8-byte round trip, median" us ""
  row "plain TCP, blocking recv, $P-h1 <-> $P-h2" "$raw_tcp" ""
  row "plain TCP, polling recv, $P-h1 <-> $P-h2" "$raw_tcp_spin" ""
  row "MPI over TCP, $P-h1 <-> $P-h2" "$mpi_tcp" \
    "($(ratio "$mpi_tcp" "$raw_tcp_spin")x polling TCP)"
  row "MPI shared memory, one host" "$shm" ""
  row "mpifutures task round trip, over TCP" "$pool_tcp" ""
  echo
  if ((do_tests)); then
    echo "MPI integration tests across the hosts: $tests_passed passed," \
      "$tests_failed failed"
  fi
  if ((do_lost)); then
    echo "lost host, link down: mpirun exit ${lost_link_rc:-?} after ${lost_link_secs:-?} s," \
      "${lost_link_fin:-?} of 40 futures reported finished: ${lost_link_msg:-}"
    echo "lost host, ranks killed: mpirun exit ${lost_kill_rc:-?} after ${lost_kill_secs:-?} s," \
      "${lost_kill_fin:-?} of 40 futures reported finished: ${lost_kill_msg:-}"
  fi
  echo "cleaned up (no namespace, veth or bridge left): $cleaned; $total s in all"
fi
((ok))
