#!/bin/sh
# one-node-cluster.sh -- a one-machine (Son of) Grid Engine, to try the SGE
# runner and to run its real tests (tests/e2e/runners.rs). Debian/Ubuntu,
# as root; no systemd needed: the daemons are started directly.
#
#   sh one-node-cluster.sh start   install gridengine if missing (debconf
#                                  preseeded), configure this host as master,
#                                  execution and submit host with one queue
#                                  all.q and a parallel environment smp, start
#                                  sge_qmaster and sge_execd, wait for the queue
#   sh one-node-cluster.sh stop    stop the daemons it started (by pid file)
#
# Grid Engine insists that a host's name and the name its address resolves
# to agree; on a machine whose 127.0.0.1 is "localhost" the script declares
# them aliases in the cell's host_aliases.

set -eu

SGE_ROOT=${SGE_ROOT:-/var/lib/gridengine}
SGE_CELL=${SGE_CELL:-default}
export SGE_ROOT SGE_CELL
STATE=${GRUNT_SGE_STATE:-/var/lib/grunt-ci-sge}
WAIT=${GRUNT_SGE_WAIT:-60}
SPOOL=/var/spool/gridengine

say() { printf 'one-node-cluster.sh: %s\n' "$*"; }
die() {
	printf 'one-node-cluster.sh: %s\n' "$*" >&2
	exit 1
}
now() { date +%s; }

pid_alive() {
	[ -s "$1" ] || return 1
	_p=$(cat "$1" 2>/dev/null) || return 1
	case $_p in '' | *[!0-9]*) return 1 ;; esac
	[ "$_p" -gt 1 ] && kill -0 "$_p" 2>/dev/null
}

install() {
	command -v sge_qmaster >/dev/null 2>&1 && command -v qsub >/dev/null 2>&1 && return 0
	command -v apt-get >/dev/null 2>&1 || die "gridengine is missing, and there is no apt-get to install it"
	host=$(hostname -s)
	for pkg in gridengine-common gridengine-client gridengine-master; do
		printf '%s shared/gridenginemaster string %s\n' "$pkg" "$host"
		printf '%s shared/gridenginecell string %s\n' "$pkg" "$SGE_CELL"
		printf '%s shared/gridengineconfig boolean true\n' "$pkg"
	done | debconf-set-selections
	made_policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		made_policy=1
	fi
	say "installing gridengine"
	rc=0
	{
		apt-get update -qq &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
				gridengine-master gridengine-exec gridengine-client
	} >"$STATE/apt.log" 2>&1 || rc=$?
	[ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
	[ "$rc" = 0 ] || die "apt-get failed (log: $STATE/apt.log)"
}

# qconf -A* from a here-document, ignoring "already exists".
qconf_add() {
	_flag=$1
	cat >"$STATE/qconf.in"
	_out=$(qconf "$_flag" "$STATE/qconf.in" 2>&1) || case $_out in
	*'already exists'*) ;;
	*) die "qconf $_flag: $_out" ;;
	esac
}

# Rewrites lines of a qconf -m* object with sed, through EDITOR.
qconf_edit() {
	_flag=$1
	shift
	# shellcheck disable=SC2016 # "$1" is the editor script's own argument
	printf '#!/bin/sh\nsed -i %s "$1"\n' "$*" >"$STATE/editor"
	chmod 755 "$STATE/editor"
	EDITOR=$STATE/editor qconf "$_flag" >/dev/null 2>&1 || die "qconf $_flag failed"
}

configure() {
	host=$(hostname -s)
	common=$SGE_ROOT/$SGE_CELL/common
	[ -d "$common" ] || die "$common is missing: the gridengine-master package did not configure the cell"
	# "vm localhost": the first name is the host's, the rest resolve to it.
	aliases=$host
	for a in localhost $(hostname) $(getent hosts 127.0.0.1 | cut -d ' ' -f 2-); do
		case " $aliases " in *" $a "*) ;; *) aliases="$aliases $a" ;; esac
	done
	printf '%s\n' "$aliases" >"$common/host_aliases"
	printf '%s\n' "$host" >"$common/act_qmaster"
	mkdir -p /var/run/gridengine "$SPOOL/execd"
	chown sgeadmin:sgeadmin /var/run/gridengine "$SPOOL/execd" 2>/dev/null || true
}

# Jobs as root are refused below uid/gid 1000 by default; the scheduler runs
# every 15 s by default, which makes tests slow.
setup_cluster() {
	qconf_edit -mconf -e "'s/^min_uid .*/min_uid 0/'" -e "'s/^min_gid .*/min_gid 0/'" \
		-e "'s/^reporting_params .*/reporting_params accounting=true reporting=false flush_time=00:00:01 joblog=false sharelog=00:00:00/'"
	qconf_edit -msconf -e "'s/^schedule_interval .*/schedule_interval 0:0:1/'" \
		-e "'s/^flush_submit_sec .*/flush_submit_sec 1/'" -e "'s/^flush_finish_sec .*/flush_finish_sec 1/'"
	host=$(hostname -s)
	qconf_add -Ae <<EOF
hostname              $host
load_scaling          NONE
complex_values        NONE
user_lists            NONE
xuser_lists           NONE
projects              NONE
xprojects             NONE
usage_scaling         NONE
report_variables      NONE
EOF
	qconf -as "$host" >/dev/null 2>&1 || true
	qconf_add -Ap <<'EOF'
pe_name            smp
slots              999
user_lists         NONE
xuser_lists        NONE
start_proc_args    NONE
stop_proc_args     NONE
allocation_rule    $pe_slots
control_slaves     FALSE
job_is_first_task  TRUE
urgency_slots      min
accounting_summary FALSE
qsort_args         NONE
EOF
	if ! qconf -sq all.q >/dev/null 2>&1; then
		EDITOR=/bin/cat qconf -aq all.q 2>/dev/null |
			sed -e "s/^hostlist .*/hostlist $host/" -e 's/^pe_list .*/pe_list smp/' \
				-e 's/^slots .*/slots 16/' -e 's/^load_thresholds .*/load_thresholds NONE/' |
			qconf_add -Aq
	fi
}

wait_queue() {
	end=$(($(now) + WAIT))
	while [ "$(now)" -lt "$end" ]; do
		# A queue instance with a load value and no state letters is ready.
		if qstat -f 2>/dev/null | awk '$1 ~ /^all\.q@/ && NF == 5 && $4 != "-NA-" { ok = 1 } END { exit !ok }'; then
			return 0
		fi
		sleep 0.5
	done
	qstat -f >&2 || true
	die "the queue all.q is not ready after $WAIT s"
}

cmd_start() {
	[ "$(id -u)" = 0 ] || die "run me as root"
	t0=$(now)
	mkdir -p "$STATE"
	install
	configure
	if ! pid_alive "$STATE/qmaster.pid"; then
		rm -f "$SPOOL/qmaster/qmaster.pid"
		/usr/sbin/sge_qmaster || die "sge_qmaster did not start"
		i=0
		while ! pid_alive "$SPOOL/qmaster/qmaster.pid" && [ "$i" -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		cp "$SPOOL/qmaster/qmaster.pid" "$STATE/qmaster.pid"
	fi
	i=0
	until qconf -sh >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -lt 100 ] || die "sge_qmaster does not answer"
		sleep 0.2
	done
	setup_cluster
	if ! pid_alive "$STATE/execd.pid"; then
		find "$SPOOL/execd" -name execd.pid -exec rm -f {} +
		/usr/sbin/sge_execd || die "sge_execd did not start"
		i=0
		while [ -z "$(find "$SPOOL/execd" -name execd.pid 2>/dev/null | head -n 1)" ] && [ "$i" -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		cp "$(find "$SPOOL/execd" -name execd.pid | head -n 1)" "$STATE/execd.pid"
	fi
	wait_queue
	say "up in $(($(now) - t0)) s"
}

stop_one() {
	pid_alive "$2" || {
		rm -f "$2"
		return 0
	}
	pid=$(cat "$2")
	kill -TERM "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	say "$1 ($pid) stopped"
	rm -f "$2"
}

case ${1:-} in
start) cmd_start ;;
stop)
	stop_one sge_execd "$STATE/execd.pid"
	stop_one sge_qmaster "$STATE/qmaster.pid"
	;;
*)
	printf 'usage: %s start|stop\n' "$0" >&2
	exit 2
	;;
esac
