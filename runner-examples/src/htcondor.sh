#!/bin/sh
# grunter -- the HTCondor runner for grunt: runs each job with condor_submit.
#
# grund calls it in the job directory as `grunter COMMAND`; see
# docs/runner-protocol.md for the contract and docs/schedulers.md for how to
# use it. Plain POSIX sh, awk and sed, plus condor_submit, condor_q,
# condor_history and condor_rm.
#
# submit writes job.sbatch (the job's script: the name is the protocol's) and
# job.condor (the submit description) from the job's resource profile
# (GRUNT_RES_*, falling back to [resources] of grunt.toml), submits with
# `condor_submit -terse` and records the cluster id in job.slurmid. The job
# runs in the job directory (initialdir; the pool should share the file
# system, or add transfer settings as extra lines) and writes job.start,
# job.exitcode and job.end.
#
# States come from one `condor_q` for the jobs still in the queue and one
# `condor_history` for the rest. A held job is PENDING (it waits for a
# condor_release) unless HTCondor held it for running too long (hold codes
# 46 and 47: TIMEOUT) or for using more memory than it asked for (34:
# OUT_OF_MEMORY); `grunter queue` shows the hold reasons.

set -u

SCHED=htcondor

usage() {
	cat <<'EOF'
usage: grunter COMMAND

HTCondor runner for grunt: runs the job with condor_submit.

commands:
  submit        write job.sbatch (the job's script) and job.condor (its submit
                description) from the job's resource profile and submit them;
                writes job.slurmid (the cluster id). The job writes job.start,
                job.exitcode and job.end; its output goes to job.out and
                job.err
  status        ask HTCondor for the job's state, write it to job.status and
                print it (PENDING, RUNNING, SUSPENDED, COMPLETED, FAILED,
                TIMEOUT, OUT_OF_MEMORY, CANCELLED)
                (once it ended, also job.usage from condor_history)
  batch-status  print "<jobid> <STATE> [<exit code>]" for every job listed in
                $GRUNT_BATCH_FILE ("<jobid> TAB <cluster id> TAB <dir>" lines)
  submit-batch  submit the jobs listed in $GRUNT_BATCH_FILE ("<jobid> TAB
                <dir>" lines: the points of one sweep) as ONE cluster (queue
                N, max_materialize = array_throttle of the profile); writes
                each job's job.slurmid (CLUSTER.PROC)
  cancel        condor_rm the job and write job.canceled
  results       print the files matching [run] results, one per line
  queue         write your queue and your held jobs with their reasons to
                job.queue and print them
  help          print this text
EOF
}

# @include common.sh
# ---- end common part ----

# HTCondor's job script has no directives: they go to job.condor, which this
# writes (to a temporary name, moved into place by submit_script) and checks.
directives() {
	condor_description >.job.condor.new || {
		rm -f .job.condor.new
		return 1
	}
}

condor_description() {
	_t=$(res TIME)
	_m=$(res MEM)
	_c=$(res CPUS)
	_g=$(res GPUS)
	_p=$(res PARTITION)
	_q=$(res QOS)
	_a=$(res ACCOUNT)
	for _kv in "time=$_t" "mem=$_m" "cpus=$_c" "gpus=$_g" "account=$_a"; do
		plain "${_kv%%=*}" "${_kv#*=}" || return 1
	done
	case $PWD in *"$NL"*)
		warn "the job directory's path has a newline; HTCondor cannot take it"
		return 1
		;;
	esac
	say "# grunt job ${GRUNT_JOBID:-?} of project ${GRUNT_PROJECT:-?}, written by grunter submit"
	say 'universe = vanilla'
	say 'executable = job.sbatch'
	say "initialdir = $PWD"
	say 'output = job.out'
	say 'error = job.err'
	say 'log = job.condorlog'
	say 'getenv = true'
	say "batch_name = ${GRUNT_JOBID:-grunt}"
	if [ -n "$_t" ]; then
		_s=$(seconds "$_t") || {
			warn "time = \"$_t\" is not a time (minutes, H:M:S or D-H:M:S)"
			return 1
		}
		# Past it HTCondor holds the job with code 47 (JobExecuteExceeded).
		say "allowed_execute_duration = $_s"
	fi
	[ -z "$_c" ] || say "request_cpus = $_c"
	if [ -n "$_m" ]; then
		_mb=$(megabytes "$_m") || {
			warn "mem = \"$_m\" is not a memory size (e.g. 4G, 500M)"
			return 1
		}
		say "request_memory = $_mb"
	fi
	[ -z "$_g" ] || say "request_gpus = $_g"
	[ -z "$_a" ] || say "accounting_group = $_a"
	[ -z "$_p" ] || warn "partition = \"$_p\" means nothing to HTCondor; ignored (use requirements in sbatch lines)"
	[ -z "$_q" ] || warn "qos = \"$_q\" means nothing to HTCondor; ignored"
	# Extra submit commands (the profile's sbatch lines) before queue.
	res SBATCH | while IFS= read -r _l || [ -n "$_l" ]; do
		_l=$(printf '%s' "$_l" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
		[ -z "$_l" ] || say "$_l"
	done
	say 'queue'
}

# Native arrays (submit-batch): one cluster of N procs; proc i runs the job on
# line i of job.array (its number reaches the script as GRUNT_ARRAY_TASK);
# its own output goes to its job.out and job.err, HTCondor's to dot-files of
# the array's first job. The description's last line, `queue`, becomes the
# array's.
ARRAY_TASK_VAR=GRUNT_ARRAY_TASK
ARRAY_BASE=0
array_directives() {
	sed '$d' .job.condor.new >.job.condor.arr || return 1
	# shellcheck disable=SC2016 # HTCondor's own $(Process)
	{
		say 'environment = "GRUNT_ARRAY_TASK=$(Process)"'
		say 'output = .job.array-$(Process).out'
		say 'error = .job.array-$(Process).err'
		say 'log = job.condorlog'
		[ -z "$2" ] || say "max_materialize = $2"
		say "queue $1"
	} >>.job.condor.arr && mv -f .job.condor.arr .job.condor.new
}
ARRAY_ID_FORMAT='%s.%s'

# `condor_submit -terse` prints "<cluster>.<proc> - <cluster>.<proc>"; without
# -terse: "1 job(s) submitted to cluster 42."
submit_script() {
	mv -f .job.condor.new job.condor || return 1
	chmod +x job.sbatch
	_so=$(condor_submit -terse job.condor </dev/null) || return 1
	printf '%s\n' "$_so" | awk '
		/^[0-9]+\.[0-9]+ - / { split($1, p, "."); id = p[1] }
		/submitted to cluster [0-9]+/ { id = $NF; sub(/\.$/, "", id) }
		END { printf "%s", id }'
}

# The attributes asked of condor_q and condor_history, in this order.
ATTRS='ClusterId JobStatus HoldReasonCode ExitCode ExitBySignal ExitSignal ProcId'

# `condor_q|condor_history -af $ATTRS` output -> "<id> <WORD> [<code>]"; a
# proc of an array (see submit-batch) is also told about as
# "<cluster>.<proc>".
# JobStatus: 1 idle, 2 running, 3 removed, 4 completed, 5 held, 6 transferring
# output, 7 suspended.
parse_af() {
	awk '
		function say(w) { print id " " w; if (proc ~ /^[0-9]+$/) print id "." proc " " w }
		$1 ~ /^[0-9]+$/ && NF >= 2 {
			id = $1; st = $2; hold = $3; ex = $4; bysig = tolower($5); sig = $6; proc = $7
			if (st == 1) say("PENDING")
			else if (st == 2 || st == 6) say("RUNNING")
			else if (st == 7) say("SUSPENDED")
			else if (st == 3) say("CANCELLED")
			else if (st == 5) {
				if (hold == 46 || hold == 47) say("TIMEOUT")
				else if (hold == 34) say("OUT_OF_MEMORY")
				else say("PENDING")
			} else if (st == 4) {
				if (bysig == "true" && sig ~ /^[0-9]+$/) say("FAILED " 128 + sig)
				else if (ex == "0") say("COMPLETED 0")
				else if (ex ~ /^[0-9]+$/) say("FAILED " ex)
				else say("FAILED")
			}
		}'
}

# "ClusterId == 1 || ClusterId == 2" for the ids of $1 (one a line); an
# array's proc 42.3 is "(ClusterId == 42 && ProcId == 3)".
constraint() {
	printf '%s\n' "$1" | awk 'NF {
		c = "ClusterId == " $1
		if (split($1, p, ".") == 2) c = "(ClusterId == " p[1] " && ProcId == " p[2] ")"
		printf "%s%s", (n++ ? " || " : ""), c
	}'
}

# stdin: "<cluster id> TAB <dir>" lines. Prints "<id> <WORD> [<code>]": one
# condor_q for the jobs in the queue, one condor_history for the rest.
states() {
	_ids=$(cut -f 1 | awk 'NF && !seen[$1]++')
	[ -n "$_ids" ] || return 0
	# shellcheck disable=SC2086 # the attribute names are words
	_q=$(condor_q -constraint "$(constraint "$_ids")" -af $ATTRS 2>/dev/null) || return 0
	_live=$(printf '%s\n' "$_q" | parse_af)
	[ -z "$_live" ] || printf '%s\n' "$_live"
	_rest=$(printf '%s\n' "$_live" | awk -v want="$_ids" '
		BEGIN { n = split(want, w, "\n") }
		{ got[$1] = 1 }
		END { for (i = 1; i <= n; i++) if (w[i] != "" && !(w[i] in got)) print w[i] }')
	[ -n "$_rest" ] || return 0
	# shellcheck disable=SC2086
	condor_history -limit "$(printf '%s\n' "$_rest" | wc -l)" \
		-constraint "$(constraint "$_rest")" -af $ATTRS 2>/dev/null | parse_af
}

# The attributes of job.usage, asked of condor_history: wall-clock and CPU seconds, CPUs, the
# peak memory (MemoryUsage, MB), the memory asked for (RequestMemory, MB) and the time limit
# (AllowedExecuteDuration, seconds; undefined when none was asked for).
USAGE_ATTRS='ClusterId JobStatus RemoteWallClockTime RemoteUserCpu RemoteSysCpu RequestCpus MemoryUsage RequestMemory AllowedExecuteDuration ProcId'

# stdin: "<cluster id> TAB <dir>" lines of ended jobs. Prints "<id> KEY=VALUE" lines of
# job.usage from one condor_history call.
usage_of() {
	_uin=$(cat)
	_uids=$(printf '%s\n' "$_uin" | cut -f 1 | awk 'NF && !seen[$1]++')
	[ -n "$_uids" ] || return 0
	# RequestMemory always has a value (a default expression); only request_memory in the
	# job's description is a request.
	_asked=$(printf '%s\n' "$_uin" | while IFS='	' read -r _uid _udir; do
		_us=$(script_of "$_udir" job.condor) || continue
		if asks "$_us" '^[[:space:]]*request_memory[[:space:]]*='; then say "$_uid"; fi
	done)
	# shellcheck disable=SC2086 # the attribute names are words
	condor_history -limit "$(printf '%s\n' "$_uids" | wc -l)" \
		-constraint "$(constraint "$_uids")" -af $USAGE_ATTRS 2>/dev/null |
		parse_af_usage "$_asked"
}

# `condor_history -af $USAGE_ATTRS` output -> "<id> KEY=VALUE" lines for completed (4) and
# removed (3) jobs, also as "<cluster>.<proc>" for a proc of an array; $1: the ids whose
# memory request counts, one a line.
parse_af_usage() {
	awk -v asked="$1" '
		function num(s) { return s ~ /^[0-9]+(\.[0-9]+)?$/ }
		function out(kv) { print id " " kv; if (proc ~ /^[0-9]+$/) print id "." proc " " kv }
		BEGIN { n = split(asked, a, "\n"); for (i = 1; i <= n; i++) ask[a[i]] = 1 }
		$1 ~ /^[0-9]+$/ && ($2 == 3 || $2 == 4) {
			id = $1; proc = $10
			out("source=condor_history")
			if (num($3)) out("elapsed=" $3)
			if (num($4) && num($5)) out(sprintf("cpu_time=%.3f", $4 + $5))
			if ($6 ~ /^[0-9]+$/) out("cpus=" $6)
			if (num($7)) out("mem_used=" $7 "M")
			if (((id in ask) || ((id "." proc) in ask)) && num($8)) out("mem_requested=" $8 "M")
			if (num($9)) out("time_requested=" $9)
		}'
}

# condor_rm of a job that has left the queue says "Couldn't find/remove all
# jobs in cluster 42", which is fine.
cancel_job() {
	if _err=$(condor_rm "$1" 2>&1); then
		return 0
	fi
	case $_err in
	*"Couldn't find"*) return 0 ;;
	esac
	warn "condor_rm $1 failed: $_err"
	return 1
}

queue_text() {
	condor_q
	_rc=$?
	say
	condor_q -hold
	return "$_rc"
}

main "$@"
