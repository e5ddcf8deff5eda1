#!/bin/sh
# grunter -- the local runner for grunt: runs a job on the machine where grund
# lives, detached from grund, with no batch scheduler.
#
# grund calls it in the job directory as `grunter COMMAND`; see
# docs/runner-protocol.md for the contract and runner-examples/README.md for
# how to install it. Plain POSIX sh (tested with dash), coreutils and ps.
#
# The job is started in a new session, so it outlives grund's time limit on
# this script and grund's kill of this script's process group. For that it
# uses, in order:
#   1. setsid(1) from util-linux (Linux);
#   2. perl's POSIX::setsid (macOS has no setsid(1) but ships perl);
#   3. python3's os.setsid (the original grunt needs python3 anyway);
#   4. `set -m` job control, which gives the job its own process group but
#      not its own session; it works in shells that allow job control
#      without a terminal (bash, zsh, macOS /bin/sh) and not in dash.
# In every case the job's pid is also its process group id, recorded in
# job.slurmid; status and cancel act on that whole group.

set -u

usage() {
	cat <<'EOF'
usage: grunter COMMAND

Local runner for grunt: runs the job on this machine, detached.

commands:
  submit   run [run] command from grunt.toml with job.args appended, detached;
           output goes to job.out; writes job.slurmid, job.start, job.exitcode,
           job.end, and job.usage (with GNU time: elapsed, CPU, peak memory)
  status   print the job's state and write it to job.status (PENDING,
           RUNNING, COMPLETED, FAILED, CANCELLED or UNKNOWN)
  batch-status
           for each job listed in $GRUNT_BATCH_FILE (grund's refresh), print
           "<jobid> <WORD> [<exit code>]"
  cancel   write job.canceled and stop the job's whole process group
           (TERM, then KILL after 5 s)
  results  print the files matching [run] results, one per line
  queue    print this user's running local grunt jobs and write job.queue
  help     print this text
EOF
}

# @include base.sh

# The marker that `ps` shows for a detached job; queue and the pid-reuse check
# look for it.
MARK=__grunter_job

# job.slurmid is fed to `kill -SIG -PGID`; 0, 1 or garbage there would signal
# this script's own group or every process of the user, so accept only a
# plausible group id that is not ours.
read_pgid() {
	[ -s job.slurmid ] || return 1
	_pg=
	IFS= read -r _pg <job.slurmid || [ -n "$_pg" ] || return 1
	case $_pg in '' | 0* | *[!0-9]*) return 1 ;; esac
	[ "${#_pg}" -le 10 ] && [ "$_pg" -gt 1 ] || return 1
	_own=$(ps -o pgid= -p $$ 2>/dev/null | tr -d ' ')
	[ "$_pg" != "$_own" ] || return 1
	printf '%s' "$_pg"
}

# True while the group has a live member. kill -0 alone also counts zombies,
# which linger where nothing reaps orphans (e.g. a container whose pid 1 is
# not an init), so ask ps as well.
group_alive() {
	kill -0 "-$1" 2>/dev/null || return 1
	ps -A -o pgid= -o stat= 2>/dev/null |
		awk -v g="$1" '$1 == g && $2 !~ /Z/ { found = 1 } END { exit !found }'
}

# A live group with this id may be a stranger's if our job ended long ago and
# the number was reused. The kernel does not reuse a number while a group of
# that id exists, so: if the leader (pid == pgid) is gone, the survivors are
# our job's; if it is there, it must be our detached wrapper.
group_is_ours() {
	group_alive "$1" || return 1
	_leader=$(ps -ww -o args= -p "$1" 2>/dev/null) || _leader=
	case $_leader in
	'' | *" $MARK "*) return 0 ;;
	*) return 1 ;;
	esac
}

# A dead child of this shell stays a zombie until reaped, and kill -0
# succeeds on zombies, so ask ps for the state.
proc_alive() {
	_st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $_st in *Z*) return 1 ;; esac
	return 0
}

# Start "$@" in a new session (see the header); sets $!.
detach() {
	if command -v setsid >/dev/null 2>&1; then
		# A background child of a non-interactive shell is never a process
		# group leader, so setsid(1) calls setsid() itself instead of
		# forking again: $! is the new session's and group's id.
		setsid "$@" </dev/null >/dev/null 2>&1 &
	elif command -v perl >/dev/null 2>&1; then
		perl -MPOSIX -e 'POSIX::setsid(); exec @ARGV or die "exec: $!\n"' \
			-- "$@" </dev/null >/dev/null 2>&1 &
	elif command -v python3 >/dev/null 2>&1; then
		python3 -c 'import os, sys; os.setsid(); os.execvp(sys.argv[1], sys.argv[1:])' \
			"$@" </dev/null >/dev/null 2>&1 &
	else
		set -m
		"$@" </dev/null >/dev/null 2>&1 &
		set +m
	fi
}

has_command() {
	case ${GRUNT_RUN_COMMAND:-} in
	*[![:space:]]*) return 0 ;;
	*) return 1 ;;
	esac
}

# job.args as the job will get them, each argument single-quoted, for a dry run.
job_args_shown() {
	[ -f job.args ] || return 0
	while IFS= read -r _a || [ -n "$_a" ]; do
		printf " '%s'" "$(printf '%s' "$_a" | sed "s/'/'\\\\''/g")"
	done <job.args
}

cmd_submit() {
	if ! has_command; then
		warn 'no command to run: set [run] command in grunt.toml, e.g.'
		warn '  [run]'
		warn '  command = "python3 sim.py"'
		exit 2
	fi
	if [ -e job.canceled ]; then
		warn 'this job was canceled; not starting it'
		exit 3
	fi
	# `grunt submit --dry-run`: say what would run, start nothing.
	if [ "${GRUNT_DRY_RUN:-}" = 1 ]; then
		say "dry run: would run, detached, in $PWD:"
		say "  $GRUNT_RUN_COMMAND$(job_args_shown)"
		say "  output to job.out; job.start, job.exitcode and job.end when it starts and ends"
		return 0
	fi
	if [ -e job.start ]; then
		warn "job already started (job.start exists); not starting it twice"
		exit 3
	fi
	# Claiming job.slurmid with O_EXCL (noclobber) makes "already submitted"
	# race-free: of two submits, exactly one creates it.
	if ! (
		set -C
		: >job.slurmid
	) 2>/dev/null; then
		warn "job already submitted (job.slurmid exists); not starting it twice"
		exit 3
	fi

	detach /bin/sh "$self" "$MARK" "${GRUNT_JOBID:-unknown}" "$PWD"
	pid=$!
	put job.slurmid "$pid"

	# Wait (bounded) until the job has left our process group: grund may kill
	# that group as soon as we return.
	i=0
	while [ ! -e job.start ] && [ "$i" -lt 50 ] && proc_alive "$pid"; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ ! -e job.start ] && ! proc_alive "$pid"; then
		# It died before running anything, so a later submit may try again.
		rm -f job.slurmid
		warn "the detached job exited before it started; nothing ran"
		exit 1
	fi
	_pg=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')
	if [ -n "$_pg" ] && [ "$_pg" != "$pid" ]; then
		warn "could not give the job its own process group (no setsid, perl or python3);"
		warn "status and cancel will not find it, and grund's time limit may kill it"
	fi
	say "submitted: local job $pid"
}

# The detached side of submit, run as `grunter __grunter_job JOBID DIR` in the
# new session. Not meant to be called by hand.
run_job() {
	if [ ! -e job.slurmid ]; then
		warn "$MARK is used by submit only; run: grunter submit"
		exit 1
	fi
	# Creating job.start exclusively is what guarantees one run per job.
	if ! (
		set -C
		ts >job.start
	) 2>/dev/null; then
		warn "job already started (job.start exists)"
		exit 3
	fi
	exec </dev/null >job.out 2>&1

	set --
	if [ -f job.args ]; then
		while IFS= read -r _a || [ -n "$_a" ]; do
			set -- "$@" "$_a"
		done <job.args
	fi
	# Command substitution drops trailing newlines, which would otherwise
	# turn the appended arguments into a command of their own.
	_cmd=$(printf '%s' "${GRUNT_RUN_COMMAND:-}")

	# Outlive a TERM from cancel long enough to record how the job ended; the
	# subshell gets default signal handling back.
	trap : HUP INT TERM
	if timer_works; then
		# The same shell text in a shell of its own (with this one's -u), under
		# GNU time for job.usage.
		"$TIMER" -f '%e %U %S %M' -o ".job.time.$$" /bin/sh -uc "$_cmd \"\$@\"" sh "$@"
		_rc=$?
		write_usage ".job.time.$$"
	else
		(eval "$_cmd \"\$@\"")
		_rc=$?
	fi
	put job.exitcode "$_rc"
	put job.end "$(ts)"
}

# job.usage comes from GNU time (elapsed, CPU and peak memory of the job's processes) where
# /usr/bin/time is GNU's; elsewhere the local runner records no usage.
TIMER=/usr/bin/time
timer_works() {
	[ -x "$TIMER" ] && "$TIMER" -f %e -o /dev/null true </dev/null >/dev/null 2>&1
}

# Writes job.usage from GNU time's last line in $1 ("%e %U %S %M"), with the CPUs, memory and
# time of the job's profile as what was asked for (this runner enforces none of them).
write_usage() {
	_um=${GRUNT_RES_MEM:-${GRUNT_RESOURCES_MEM:-}}
	_uc=${GRUNT_RES_CPUS:-${GRUNT_RESOURCES_CPUS:-}}
	_ut=${GRUNT_RES_TIME:-${GRUNT_RESOURCES_TIME:-}}
	if [ -s "$1" ]; then
		tail -n 1 "$1" | awk -v mem="$_um" -v cpus="$_uc" -v limit="$_ut" '
			NF == 4 && $4 ~ /^[0-9]+$/ {
				print "source=time"
				print "elapsed=" $1
				printf "cpu_time=%.2f\n", $2 + $3
				print "mem_used=" $4 "K"
				if (cpus ~ /^[0-9]+$/ && cpus > 0) print "cpus=" cpus
				# Profiles give megabytes, or a number with a unit.
				if (mem ~ /^[0-9]+$/) print "mem_requested=" mem "M"
				else if (mem ~ /^[0-9.]+[KkMmGgTt][Bb]?$/) print "mem_requested=" mem
				# Slurm forms; a plain number is minutes.
				if (limit ~ /^[0-9]+$/) print "time_requested=" limit ":00"
				else if (limit ~ /^[0-9]+(-[0-9]+)?(:[0-9]+)*$/) print "time_requested=" limit
			}' >.job.usage.tmp.$$
		if [ -s .job.usage.tmp.$$ ]; then mv -f .job.usage.tmp.$$ job.usage; fi
	fi
	rm -f "$1" .job.usage.tmp.$$
}

job_state() {
	if [ -e job.canceled ]; then
		say CANCELLED
	elif [ -s job.exitcode ]; then
		_code=
		IFS= read -r _code <job.exitcode
		if [ "$_code" = 0 ]; then say COMPLETED; else say FAILED; fi
	elif [ ! -e job.slurmid ]; then
		say UNKNOWN
	elif [ ! -s job.slurmid ]; then
		# Claimed by a submit that is still starting the job.
		say PENDING
	elif _pg=$(read_pgid) && group_is_ours "$_pg"; then
		if [ -e job.start ]; then say RUNNING; else say PENDING; fi
	else
		say UNKNOWN
	fi
}

# batch-status: grund's one call per refresh for all active jobs. GRUNT_BATCH_FILE has a
# line per job, "<jobid>\t<batch id>\t<job dir>"; print "<jobid> <WORD> [<exit code>]".
# Local jobs need no scheduler query: each is looked at in its directory.
cmd_batch_status() {
	if [ ! -r "${GRUNT_BATCH_FILE:-}" ]; then
		warn "batch-status needs GRUNT_BATCH_FILE (grund sets it)"
		exit 2
	fi
	_tab=$(printf '\t')
	while IFS=$_tab read -r _id _ _dir; do
		if [ -z "$_id" ] || [ ! -d "$_dir" ]; then continue; fi
		_word=$(cd "$_dir" && job_state) || continue
		_code=
		if [ -s "$_dir/job.exitcode" ]; then IFS= read -r _code <"$_dir/job.exitcode"; fi
		say "$_id $_word${_code:+ $_code}"
	done <"$GRUNT_BATCH_FILE"
}

cmd_status() {
	_state=$(job_state)
	put job.status "$_state"
	say "$_state"
}

cmd_cancel() {
	# Keep the first time: cancel is idempotent.
	[ -e job.canceled ] || put job.canceled "$(ts)"
	if ! _pg=$(read_pgid); then
		say "canceled: job was not running"
		return 0
	fi
	if ! group_is_ours "$_pg"; then
		say "canceled: local job $_pg had already ended"
		return 0
	fi
	kill -TERM "-$_pg" 2>/dev/null
	i=0
	while group_alive "$_pg" && [ "$i" -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if group_alive "$_pg"; then
		kill -KILL "-$_pg" 2>/dev/null
		i=0
		while group_alive "$_pg" && [ "$i" -lt 10 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		say "canceled: local job $_pg (killed)"
	else
		say "canceled: local job $_pg"
	fi
}

cmd_queue() {
	_list=$(
		ps -ww -u "$(id -u)" -o pid= -o pgid= -o etime= -o args= 2>/dev/null |
			awk -v mark=" $MARK " '
			{
				pid = $1; pgid = $2; et = $3; args = $0
				sub(/^[ \t]*[0-9]+[ \t]+[0-9]+[ \t]+[^ \t]+[ \t]+/, "", args)
				# Subshells of a job share its args; the leader stands for it.
				if (pid != pgid) next
				at = index(args, mark)
				if (at == 0) next
				rest = substr(args, at + length(mark))
				sp = index(rest, " ")
				if (sp == 0) next
				printf "%-12s %-8s %-12s %s\n", substr(rest, 1, sp - 1), pgid, et, substr(rest, sp + 1)
			}'
	)
	{
		printf '%-12s %-8s %-12s %s\n' JOBID PGID ELAPSED DIRECTORY
		if [ -n "$_list" ]; then say "$_list"; fi
	} >.job.queue.tmp.$$ && mv -f .job.queue.tmp.$$ job.queue
	cat job.queue
}

# Resolve our own path before changing directory: submit runs it again.
case $0 in
/*) self=$0 ;;
*) self=$(pwd)/$0 ;;
esac

cd "${GRUNT_JOB_DIR:-.}" || {
	warn "cannot enter the job directory: ${GRUNT_JOB_DIR:-.}"
	exit 1
}

case ${1:-help} in
submit) cmd_submit ;;
status) cmd_status ;;
batch-status) cmd_batch_status ;;
cancel) cmd_cancel ;;
results) cmd_results ;;
queue) cmd_queue ;;
help | -h | --help) usage ;;
"$MARK") run_job ;;
*)
	warn "unknown command: $1 (the local runner knows submit, status, batch-status, cancel, results, queue)"
	usage >&2
	exit 1
	;;
esac
