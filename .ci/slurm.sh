#!/bin/sh
# .ci/slurm.sh -- a one-node Slurm cluster on this machine, for the Slurm
# tests (tests/e2e/slurm.rs).
#
#   .ci/slurm.sh start    install slurm-wlm and munge if missing, write a
#                         one-node slurm.conf, start munged, slurmctld and
#                         slurmd, and wait until the node is idle
#   .ci/slurm.sh stop     stop the daemons this script started (by pid file)
#   .ci/slurm.sh status   say whether the cluster answers
#
# Needs root (it installs packages and runs the daemons as root) and a
# Debian-like system with apt-get. systemd is not needed: the daemons are
# started directly. Everything talks over loopback only.
#
# Accounting: by default slurmdbd keeps it in a MariaDB server (started here,
# on a unix socket only), so `sacct` works as on a real cluster. With
# GRUNT_SLURM_ACCOUNTING=none there is no database (about 17 s less to
# install on a fresh machine); `sacct` then answers "accounting storage is
# disabled" and the runners fall back to `scontrol show job`, which
# remembers a finished job for MinJobAge seconds (set high below). Job
# completions are also logged by jobcomp/filetxt to $STATE/jobcomp.log, for
# people debugging a test. jobacct_gather/linux measures each job's CPU time and
# peak memory (sacct's TotalCPU and MaxRSS), which the runners put in job.usage.
#
# Environment:
#   GRUNT_SLURM_STATE   where pid files, logs and spool go
#                       (default /var/lib/grunt-ci-slurm)
#   GRUNT_SLURM_WAIT    seconds to wait for the node to become idle
#                       (default 90)
#   GRUNT_SLURM_CPUS    CPUs the node offers (default 16, whatever the
#                       machine has)
#   GRUNT_SLURM_ACCOUNTING  slurmdbd (default) or none

set -eu

STATE=${GRUNT_SLURM_STATE:-/var/lib/grunt-ci-slurm}
WAIT=${GRUNT_SLURM_WAIT:-90}
CPUS=${GRUNT_SLURM_CPUS:-16}
ACCOUNTING=${GRUNT_SLURM_ACCOUNTING:-slurmdbd}
DBD_CONF=/etc/slurm/slurmdbd.conf
DB_RUN=/run/mysqld
CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
MARK='# written by grunt .ci/slurm.sh'
MUNGE_KEY=/etc/munge/munge.key
MUNGE_RUN=/run/munge

say() { printf 'slurm.sh: %s\n' "$*"; }
die() {
	printf 'slurm.sh: %s\n' "$*" >&2
	exit 1
}

now() { date +%s; }

need_root() {
	[ "$(id -u)" = 0 ] || die "run me as root (I install packages and start daemons)"
}

install_packages() {
	missing=
	command -v slurmctld >/dev/null 2>&1 || missing="$missing slurmctld"
	command -v slurmd >/dev/null 2>&1 || missing="$missing slurmd"
	command -v sbatch >/dev/null 2>&1 || missing="$missing slurm-client"
	command -v munged >/dev/null 2>&1 || missing="$missing munge"
	if [ "$ACCOUNTING" = slurmdbd ]; then
		command -v slurmdbd >/dev/null 2>&1 || missing="$missing slurmdbd"
		command -v mariadbd >/dev/null 2>&1 || missing="$missing mariadb-server"
	fi
	[ -n "$missing" ] || return 0
	command -v apt-get >/dev/null 2>&1 || die "missing:$missing, and no apt-get to install them"
	say "installing:$missing"
	# Keep the packages' maintainer scripts from starting daemons (there is
	# no init system to start them with, and no config yet).
	made_policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		made_policy=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	rc=0
	# shellcheck disable=SC2086 # one word per package
	{ apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } >"$STATE/apt.log" 2>&1 || rc=$?
	[ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
	[ "$rc" = 0 ] || {
		tail -n 20 "$STATE/apt.log" >&2
		die "apt-get failed (log: $STATE/apt.log)"
	}
}

munge_key() {
	[ -s "$MUNGE_KEY" ] && return 0
	say "creating $MUNGE_KEY"
	mkdir -p "${MUNGE_KEY%/*}"
	if command -v mungekey >/dev/null 2>&1; then
		mungekey --create --keyfile="$MUNGE_KEY" --force
	else
		dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 2>/dev/null
	fi
	chown munge:munge "$MUNGE_KEY" 2>/dev/null || true
	chmod 400 "$MUNGE_KEY"
}

pid_alive() {
	[ -s "$1" ] || return 1
	_p=$(cat "$1" 2>/dev/null) || return 1
	case $_p in '' | *[!0-9]*) return 1 ;; esac
	[ "$_p" -gt 1 ] && kill -0 "$_p" 2>/dev/null
}

start_munge() {
	if pid_alive "$MUNGE_RUN/munged.pid"; then
		return 0
	fi
	mkdir -p "$MUNGE_RUN" /var/log/munge /var/lib/munge
	if id munge >/dev/null 2>&1; then
		chown munge:munge "$MUNGE_RUN" /var/log/munge /var/lib/munge "$MUNGE_KEY"
		chmod 755 "$MUNGE_RUN"
		runuser -u munge -- /usr/sbin/munged --pid-file="$MUNGE_RUN/munged.pid" ||
			die "munged did not start (see /var/log/munge/munged.log)"
	else
		/usr/sbin/munged --force --pid-file="$MUNGE_RUN/munged.pid" ||
			die "munged did not start (see /var/log/munge/munged.log)"
	fi
	cp "$MUNGE_RUN/munged.pid" "$STATE/munged.pid"
	# munged forks and returns once its socket is up; check that it answers.
	munge -n </dev/null | unmunge >/dev/null 2>&1 || die "munge does not answer"
}

accounting_lines() {
	case $ACCOUNTING in
	slurmdbd)
		printf '%s\n' AccountingStorageType=accounting_storage/slurmdbd \
			AccountingStorageHost=127.0.0.1
		;;
	none) printf '%s\n' AccountingStorageType=accounting_storage/none ;;
	*) die "GRUNT_SLURM_ACCOUNTING is slurmdbd or none, not $ACCOUNTING" ;;
	esac
}

# MariaDB for slurmdbd: unix socket only (no TCP at all), root by socket.
start_db() {
	pid_alive "$STATE/mariadb.pid" && return 0
	mkdir -p "$DB_RUN"
	chown mysql:mysql "$DB_RUN"
	[ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql >"$STATE/mariadb-install.log" 2>&1 ||
		die "mariadb-install-db failed (log: $STATE/mariadb-install.log)"
	rm -f "$DB_RUN/grunt-ci.pid"
	mariadbd --user=mysql --skip-networking --socket="$DB_RUN/mysqld.sock" \
		--pid-file="$DB_RUN/grunt-ci.pid" --log-error="$DB_RUN/grunt-ci.log" \
		</dev/null >/dev/null 2>&1 &
	i=0
	until mariadb --socket="$DB_RUN/mysqld.sock" -e 'select 1' >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -lt 300 ] || die "MariaDB does not answer (log: $DB_RUN/grunt-ci.log)"
		sleep 0.1
	done
	cp "$DB_RUN/grunt-ci.pid" "$STATE/mariadb.pid"
}

start_dbd() {
	pid_alive "$STATE/slurmdbd.pid" && return 0
	cat >"$DBD_CONF" <<EOF
$MARK for the Slurm tests.
AuthType=auth/munge
DbdAddr=127.0.0.1
DbdHost=localhost
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=root
StorageLoc=slurm_acct_db
PidFile=$STATE/slurmdbd.pid
LogFile=$STATE/slurmdbd.log
EOF
	chmod 600 "$DBD_CONF"
	slurmdbd || die "slurmdbd did not start (log: $STATE/slurmdbd.log)"
	i=0
	until sacctmgr -n list cluster >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -lt 300 ] || die "slurmdbd does not answer (log: $STATE/slurmdbd.log)"
		sleep 0.1
	done
}

# Writes slurm.conf; false when it was already so.
write_conf() {
	if [ -e "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
		die "$CONF exists and was not written by me; move it away first"
	fi
	host=$(hostname -s)
	# The node offers $CPUS CPUs whatever the machine has (the test jobs
	# mostly sleep, and a 2-CPU runner would otherwise run 2 jobs at a
	# time); config_overrides keeps slurmd from draining it for that.
	mem=$(awk '/^MemTotal:/ { print int($2 / 1024 * 0.9) }' /proc/meminfo)
	mkdir -p "$CONF_DIR" "$STATE/ctld" "$STATE/slurmd"
	cat >"$CONF.new" <<EOF
$MARK for the Slurm tests; .ci/slurm.sh start rewrites it.
ClusterName=gruntci
SlurmctldHost=$host(127.0.0.1)
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
# Finished jobs stay visible to scontrol for an hour (there is no sacct).
MinJobAge=3600
# A job over its time limit is signalled at once and killed 5 s later.
KillWait=5
OverTimeLimit=0
InactiveLimit=0
SlurmdTimeout=300
SlurmdParameters=config_overrides
# Gathers each step's CPU time and peak memory, for sacct's TotalCPU and MaxRSS (the
# runners' job.usage); with jobacct_gather/none both stay empty. Sampled every 30 s, and
# at the interval a job asks for (sbatch --acctg-freq=task=1).
JobAcctGatherType=jobacct_gather/linux
$(accounting_lines)
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/jobcomp.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$CPUS Sockets=1 CoresPerSocket=$CPUS ThreadsPerCore=1 RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
	if cmp -s "$CONF.new" "$CONF"; then
		rm -f "$CONF.new"
		return 1
	fi
	mv -f "$CONF.new" "$CONF"
}

# Polls sinfo until the node is idle (or mixed/allocated: busy but up).
wait_idle() {
	end=$(($(now) + WAIT))
	while [ "$(now)" -lt "$end" ]; do
		st=$(sinfo -h -N -o '%t' 2>/dev/null | head -n 1) || st=
		case $st in
		idle | mix | alloc) return 0 ;;
		drain* | down*)
			# A node that registered with odd values: bring it back.
			scontrol update NodeName="$(hostname -s)" State=RESUME >/dev/null 2>&1 || true
			;;
		esac
		sleep 0.5
	done
	sinfo -N -l >&2 || true
	tail -n 20 "$STATE/slurmctld.log" "$STATE/slurmd.log" >&2 2>/dev/null || true
	die "the node is not idle after $WAIT s (logs in $STATE)"
}

cmd_start() {
	need_root
	t0=$(now)
	mkdir -p "$STATE"
	install_packages
	munge_key
	start_munge
	if write_conf; then
		# A new configuration: restart what runs with the old one.
		stop_one slurmd "$STATE/slurmd.pid"
		stop_one slurmctld "$STATE/slurmctld.pid"
	elif pid_alive "$STATE/slurmctld.pid" && pid_alive "$STATE/slurmd.pid" &&
		sinfo -h >/dev/null 2>&1; then
		say "already running"
		return 0
	fi
	if [ "$ACCOUNTING" = slurmdbd ]; then
		start_db
		start_dbd
	fi
	if ! pid_alive "$STATE/slurmctld.pid"; then
		# Jobs of an earlier run are kept (so job ids are never reused);
		# -i: start even if that saved state cannot be read.
		slurmctld -i || die "slurmctld did not start (log: $STATE/slurmctld.log)"
	fi
	if ! pid_alive "$STATE/slurmd.pid"; then
		slurmd || die "slurmd did not start (log: $STATE/slurmd.log)"
	fi
	wait_idle
	say "up in $(($(now) - t0)) s: $(sinfo -h -o '%P %a %D nodes %t')"
}

stop_one() {
	name=$1
	pidfile=$2
	pid_alive "$pidfile" || {
		rm -f "$pidfile"
		return 0
	}
	pid=$(cat "$pidfile")
	kill -TERM "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
		say "$name ($pid) killed"
	else
		say "$name ($pid) stopped"
	fi
	rm -f "$pidfile"
}

cmd_stop() {
	need_root
	stop_one slurmd "$STATE/slurmd.pid"
	stop_one slurmctld "$STATE/slurmctld.pid"
	stop_one slurmdbd "$STATE/slurmdbd.pid"
	stop_one mariadbd "$STATE/mariadb.pid"
	# Only the munged this script started (its pid was copied at start).
	if [ -s "$STATE/munged.pid" ]; then
		if [ "$(cat "$STATE/munged.pid")" = "$(cat "$MUNGE_RUN/munged.pid" 2>/dev/null)" ]; then
			stop_one munged "$STATE/munged.pid"
		else
			rm -f "$STATE/munged.pid"
		fi
	fi
}

cmd_status() {
	if sinfo -h -o '%P %a %D nodes %t' 2>/dev/null; then
		exit 0
	fi
	say "no Slurm answers here"
	exit 1
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*)
	printf 'usage: %s start|stop|status\n' "$0" >&2
	exit 2
	;;
esac
