#!/bin/sh
# grunter -- the LSF runner for grunt: runs each job with bsub on IBM
# Spectrum LSF (or OpenLava).
#
# grund calls it in the job directory as `grunter COMMAND`; see
# docs/runner-protocol.md for the contract and docs/schedulers.md for how to
# use it. Plain POSIX sh, awk and sed, plus bsub, bjobs, bkill and bqueues.
#
# submit writes job.sbatch (a bsub script: the name is the protocol's) from
# the job's resource profile (GRUNT_RES_*, falling back to [resources] of
# grunt.toml), submits it with `bsub < job.sbatch` (LSF reads #BSUB lines
# only from standard input) and records the job id in job.slurmid. The
# script writes job.start when it starts and job.exitcode and job.end when
# the command ends.
#
# States come from one `bjobs -o` call for all jobs. LSF forgets finished
# jobs after CLEAN_PERIOD (an hour by default); grund has the state long
# before. An EXIT job's reason says what happened: TERM_RUNLIMIT and
# TERM_CPULIMIT are TIMEOUT, TERM_MEMLIMIT and TERM_SWAP OUT_OF_MEMORY,
# TERM_OWNER, TERM_ADMIN and their FORCE_ forms CANCELLED, TERM_PREEMPT
# PREEMPTED, TERM_DEADLINE DEADLINE; any other EXIT is FAILED with its exit
# code.

set -u

SCHED=lsf

usage() {
	cat <<'EOF'
usage: grunter COMMAND

LSF runner for grunt: runs the job with bsub.

commands:
  submit        write job.sbatch (a bsub script) from the job's resource
                profile and submit it; writes job.slurmid (the LSF job id).
                The job writes job.start, job.exitcode and job.end; its
                output goes to job.out and job.err
  status        ask LSF for the job's state, write it to job.status and print
                it (PENDING, RUNNING, SUSPENDED, COMPLETED, FAILED, TIMEOUT,
                OUT_OF_MEMORY, CANCELLED, PREEMPTED)
                (once it ended, also job.usage from bjobs)
  batch-status  print "<jobid> <STATE> [<exit code>]" for every job listed in
                $GRUNT_BATCH_FILE ("<jobid> TAB <LSF job id> TAB <dir>" lines)
  submit-batch  submit the jobs listed in $GRUNT_BATCH_FILE ("<jobid> TAB
                <dir>" lines: the points of one sweep) as ONE job array
                (bsub -J "name[1-N]%K", K = array_throttle of the profile);
                writes each job's job.slurmid (JOBID[INDEX])
  cancel        bkill the job and write job.canceled
  results       print the files matching [run] results, one per line
  queue         write your jobs (bjobs) and the queues (bqueues) to job.queue
                and print them
  help          print this text
EOF
}

# @include common.sh
# ---- end common part ----

# The #BSUB lines of job.sbatch, from the profile.
directives() {
	_t=$(res TIME)
	_m=$(res MEM)
	_c=$(res CPUS)
	_g=$(res GPUS)
	_p=$(res PARTITION)
	_q=$(res QOS)
	_a=$(res ACCOUNT)
	for _kv in "time=$_t" "mem=$_m" "cpus=$_c" "gpus=$_g" "partition=$_p" "account=$_a"; do
		plain "${_kv%%=*}" "${_kv#*=}" || return 1
	done
	say "#BSUB -J ${GRUNT_JOBID:-grunt}"
	say '#BSUB -o job.out'
	say '#BSUB -e job.err'
	if [ -n "$_t" ]; then
		_s=$(seconds "$_t") || {
			warn "time = \"$_t\" is not a time (minutes, H:M:S or D-H:M:S)"
			return 1
		}
		# -W takes [hours:]minutes.
		_min=$(((_s + 59) / 60))
		say "#BSUB -W $((_min / 60)):$(printf '%02d' $((_min % 60)))"
	fi
	if [ -n "$_c" ]; then
		say "#BSUB -n $_c"
		say '#BSUB -R "span[hosts=1]"'
	fi
	if [ -n "$_m" ]; then
		_mb=$(megabytes "$_m") || {
			warn "mem = \"$_m\" is not a memory size (e.g. 4G, 500M)"
			return 1
		}
		# Units spelled out: LSF_UNIT_FOR_LIMITS differs between sites.
		say "#BSUB -M ${_mb}MB"
		say "#BSUB -R \"rusage[mem=${_mb}MB]\""
	fi
	[ -z "$_g" ] || say "#BSUB -gpu \"num=$_g\""
	[ -z "$_p" ] || say "#BSUB -q $_p"
	[ -z "$_a" ] || say "#BSUB -P $_a"
	[ -z "$_q" ] || warn "qos = \"$_q\" means nothing to LSF; ignored (use an sla in sbatch lines)"
	# Extra lines last, so that they can override the ones above.
	extra_directives '#BSUB'
}

# Native arrays (submit-batch): element i runs the job on line i of
# job.array; its own output goes to its job.out and job.err, LSF's to a
# dot-file of the array's first job.
ARRAY_TASK_VAR=LSB_JOBINDEX
ARRAY_BASE=1
array_directives() {
	say "#BSUB -J \"${GRUNT_JOBID:-grunt}[1-$1]${2:+%$2}\""
	say '#BSUB -o .job.array-%I.log'
	say '#BSUB -e .job.array-%I.log'
}
ARRAY_ID_FORMAT='%s[%s]'

# bsub says "Job <42> is submitted to default queue <normal>."
submit_script() {
	_so=$(bsub <job.sbatch) || return 1
	printf '%s\n' "$_so" | sed -n 's/^Job <\([0-9][0-9]*\)> is submitted.*/\1/p' | tail -n 1
}

# `bjobs -o "jobid stat exit_code exit_reason jobindex delimiter='|'"
# -noheader` output -> "<id> <WORD> [<code>]"; an element of a job array
# (see submit-batch) is told about as "<id>[<index>]". PSUSP is a pending job held by its owner;
# UNKWN and ZOMBI (the host is unreachable) are left unanswered.
parse_bjobs() {
	awk -F '|' '
		$1 ~ /^[0-9]+$/ && NF >= 2 {
			id = $1; st = $2; ex = $3; why = $4
			if ($5 ~ /^[1-9][0-9]*$/) id = id "[" $5 "]"
			sub(/:.*/, "", why); gsub(/[[:space:]]/, "", why)
			if (st == "PEND" || st == "PSUSP" || st == "WAIT" || st == "PROV") print id " PENDING"
			else if (st == "RUN") print id " RUNNING"
			else if (st == "USUSP" || st == "SSUSP") print id " SUSPENDED"
			else if (st == "DONE") print id " COMPLETED 0"
			else if (st == "EXIT") {
				if (why == "TERM_RUNLIMIT" || why == "TERM_CPULIMIT") print id " TIMEOUT"
				else if (why == "TERM_MEMLIMIT" || why == "TERM_SWAP") print id " OUT_OF_MEMORY"
				else if (why ~ /^TERM_(FORCE_)?(OWNER|ADMIN)$/) print id " CANCELLED"
				else if (why == "TERM_PREEMPT") print id " PREEMPTED"
				else if (why == "TERM_DEADLINE") print id " DEADLINE"
				else if (ex ~ /^[0-9]+$/) print id " FAILED " ex
				else print id " FAILED"
			}
		}'
}

# stdin: "<job id> TAB <dir>" lines. Prints "<id> <WORD> [<code>]" from one
# bjobs call. bjobs exits non-zero when some id is unknown ("Job <42> is not
# found"), so its status says nothing; the lines it prints do.
states() {
	_ids=$(cut -f 1 | awk 'NF && !seen[$1]++')
	[ -n "$_ids" ] || return 0
	# One argument per id, never globbed (an array element is 42[3]).
	set -f
	# shellcheck disable=SC2086
	bjobs -a -o "jobid stat exit_code exit_reason jobindex delimiter='|'" -noheader $_ids 2>/dev/null |
		parse_bjobs
	set +f
}

# stdin: "<job id> TAB <dir>" lines of ended jobs. Prints "<id> KEY=VALUE" lines of
# job.usage from one bjobs call (LSF remembers finished jobs for CLEAN_PERIOD, an hour by
# default): run time, CPU time, peak memory, the -M limit (the memory asked for) and slots.
usage_of() {
	_uids=$(cut -f 1 | awk 'NF && !seen[$1]++')
	[ -n "$_uids" ] || return 0
	# One argument per id, never globbed (an array element is 42[3]).
	set -f
	# shellcheck disable=SC2086
	bjobs -a -o "jobid stat run_time cpu_used max_mem memlimit nalloc_slot jobindex delimiter='|'" -noheader $_uids 2>/dev/null |
		parse_bjobs_usage
	set +f
}

# `bjobs -o "jobid stat run_time cpu_used max_mem memlimit nalloc_slot jobindex
# delimiter='|'"` -> "<id> KEY=VALUE" lines, for DONE and EXIT jobs ("<id>[<index>]" for an
# element of an array). Times come as "32 second(s)" (or hh:mm:ss
# with LSB_HMS_TIME_FORMAT), memory as "2 Mbytes" or "1.5 G"; "-" is none.
parse_bjobs_usage() {
	awk -F '|' '
		function val(s) { gsub(/second\(s\)/, "", s); gsub(/^[[:space:]]+|[[:space:]]+$/, "", s); return s == "-" ? "" : s }
		$1 ~ /^[0-9]+$/ && ($2 == "DONE" || $2 == "EXIT") {
			id = $1
			if ($8 ~ /^[1-9][0-9]*$/) id = id "[" $8 "]"
			print id " source=bjobs"
			if (val($3) != "") print id " elapsed=" val($3)
			if (val($4) != "") print id " cpu_time=" val($4)
			if (val($5) != "") print id " mem_used=" val($5)
			if (val($6) != "") print id " mem_requested=" val($6)
			if (val($7) ~ /^[0-9]+$/) print id " cpus=" val($7)
		}'
}

# bkill of an ended job says "Job has already finished" or "No matching job
# found", which is fine.
cancel_job() {
	if _err=$(bkill "$1" 2>&1); then
		return 0
	fi
	case $_err in
	*'already finished'* | *'No matching job'*) return 0 ;;
	esac
	warn "bkill $1 failed: $_err"
	return 1
}

queue_text() {
	bjobs
	_rc=$?
	say
	bqueues
	return "$_rc"
}

main "$@"
