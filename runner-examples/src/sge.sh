#!/bin/sh
# grunter -- the Grid Engine runner for grunt: runs each job with qsub on Sun,
# Son of or Univa/Altair Grid Engine.
#
# grund calls it in the job directory as `grunter COMMAND`; see
# docs/runner-protocol.md for the contract and docs/schedulers.md for how to
# use it. Plain POSIX sh, awk and sed, plus qsub, qstat, qacct and qdel.
#
# submit writes job.sbatch (a qsub script: the name is the protocol's) from
# the job's resource profile (GRUNT_RES_*, falling back to [resources] of
# grunt.toml), submits it with `qsub -terse` and records the job number in
# job.slurmid. The script writes job.start when it starts and job.exitcode
# and job.end when the command ends.
#
# A job's state comes from `qstat` while Grid Engine has it; after that from
# the files the job wrote (job.exitcode) and, for a job that was killed
# before it could write them, from `qacct -j`. qacct takes one job at a time,
# so batch-status makes one qstat call and one qacct call per job that has
# just ended without an exit code; once it has an answer grund stops asking.
#
# Settings of the [sge] table in grunt.toml (GRUNT_SGE_*):
#   pe            parallel environment for cpus > 1 (default "smp")
#   mem_resource  the memory complex (default "h_vmem"; per slot)
#   gpu_resource  the GPU complex (default "gpu")

set -u

SCHED=sge

usage() {
	cat <<'EOF'
usage: grunter COMMAND

Grid Engine runner for grunt: runs the job with qsub.

commands:
  submit        write job.sbatch (a qsub script) from the job's resource
                profile and submit it; writes job.slurmid (the job number).
                The job writes job.start, job.exitcode and job.end, and its
                output goes to job.out and job.err
  status        ask Grid Engine for the job's state, write it to job.status
                and print it (PENDING, RUNNING, SUSPENDED, COMPLETED, FAILED,
                TIMEOUT, OUT_OF_MEMORY, CANCELLED)
                (once it ended, also job.usage from qacct)
  batch-status  print "<jobid> <STATE> [<exit code>]" for every job listed in
                $GRUNT_BATCH_FILE ("<jobid> TAB <job number> TAB <dir>" lines)
  submit-batch  submit the jobs listed in $GRUNT_BATCH_FILE ("<jobid> TAB
                <dir>" lines: the points of one sweep) as ONE array job
                (qsub -t 1-N -tc K, K = array_throttle of the profile);
                writes each job's job.slurmid (JOBNUMBER.TASK)
  cancel        qdel the job and write job.canceled
  results       print the files matching [run] results, one per line
  queue         write your jobs (qstat) and the queues' summary (qstat -g c)
                to job.queue and print them
  help          print this text
EOF
}

# @include common.sh
# ---- end common part ----

# The #$ lines of job.sbatch, from the profile.
directives() {
	_t=$(res TIME)
	_m=$(res MEM)
	_c=$(res CPUS)
	_g=$(res GPUS)
	_p=$(res PARTITION)
	_q=$(res QOS)
	_a=$(res ACCOUNT)
	_pe=${GRUNT_SGE_PE:-smp}
	_mr=${GRUNT_SGE_MEM_RESOURCE:-h_vmem}
	_gr=${GRUNT_SGE_GPU_RESOURCE:-gpu}
	for _kv in "time=$_t" "mem=$_m" "cpus=$_c" "gpus=$_g" "partition=$_p" "account=$_a" \
		"sge.pe=$_pe" "sge.mem_resource=$_mr" "sge.gpu_resource=$_gr"; do
		plain "${_kv%%=*}" "${_kv#*=}" || return 1
	done
	say "#\$ -N ${GRUNT_JOBID:-grunt}"
	say '#$ -S /bin/sh'
	say '#$ -cwd'
	say '#$ -V'
	say '#$ -o job.out'
	say '#$ -e job.err'
	if [ -n "$_t" ]; then
		_s=$(seconds "$_t") || {
			warn "time = \"$_t\" is not a time (minutes, H:M:S or D-H:M:S)"
			return 1
		}
		say "#\$ -l h_rt=$((_s / 3600)):$(printf '%02d:%02d' $((_s / 60 % 60)) $((_s % 60)))"
	fi
	_slots=1
	if [ -n "$_c" ]; then
		case $_c in *[!0-9]* | 0)
			warn "cpus = \"$_c\" is not a positive number"
			return 1
			;;
		esac
		_slots=$_c
		[ "$_c" = 1 ] || say "#\$ -pe $_pe $_c"
	fi
	if [ -n "$_m" ]; then
		_mb=$(megabytes "$_m") || {
			warn "mem = \"$_m\" is not a memory size (e.g. 4G, 500M)"
			return 1
		}
		# Grid Engine counts memory per slot; the profile means the whole job.
		say "#\$ -l $_mr=$(((_mb + _slots - 1) / _slots))M"
	fi
	[ -z "$_g" ] || say "#\$ -l $_gr=$_g"
	[ -z "$_p" ] || say "#\$ -q $_p"
	[ -z "$_a" ] || say "#\$ -A $_a"
	[ -z "$_q" ] || warn "qos = \"$_q\" means nothing to Grid Engine; ignored"
	# Extra lines last, so that they can override the ones above.
	extra_directives '#$'
}

# Native arrays (submit-batch): task i runs the job on line i of job.array;
# its own output goes to its job.out and job.err, Grid Engine's to a
# dot-file of the array's first job.
ARRAY_TASK_VAR=SGE_TASK_ID
ARRAY_BASE=1
array_directives() {
	say "#\$ -t 1-$1"
	[ -z "$2" ] || say "#\$ -tc $2"
	# shellcheck disable=SC2016 # Grid Engine's own $TASK_ID
	say '#$ -o .job.array-$TASK_ID.log'
	# shellcheck disable=SC2016
	say '#$ -e .job.array-$TASK_ID.log'
}
ARRAY_ID_FORMAT='%s.%s'

# `qsub -terse` prints the job number; without -terse (old versions) it says
# 'Your job 42 ("name") has been submitted'.
submit_script() {
	_so=$(qsub -terse job.sbatch </dev/null) || return 1
	printf '%s\n' "$_so" | awk '
		/^[0-9]+(\.[-0-9:]+)?$/ { sub(/\..*/, ""); id = $0 }
		/^Your job [0-9]+/ { id = $3 }
		END { printf "%s", id }'
}

# Grid Engine's state letters, in Slurm's words: d deleting, E error (held
# until cleared: still queued), s/S/T suspended, r/t/R running, q/w/h queued.
# `qstat -g d` output -> "<id> <WORD>"; a task of an array job (one a line:
# its ja-task-ID is the last column, after the queue of a running task) is
# also told about as "<id>.<task>".
parse_qstat() {
	awk '
		$1 ~ /^[0-9]+$/ && NF >= 5 {
			s = $5
			if (s ~ /d/) w = "CANCELLED"
			else if (s ~ /E/) w = "PENDING"
			else if (s ~ /[sST]/) w = "SUSPENDED"
			else if (s ~ /[rtR]/) w = "RUNNING"
			else w = "PENDING"
			print $1 " " w
			if ((NF >= 10 || (NF == 9 && $8 !~ /@/)) && $NF ~ /^[0-9]+$/) print $1 "." $NF " " w
		}'
}

# The last record of `qacct -j N` -> "<id> <WORD> [<code>]":
#   failed 0                               COMPLETED / FAILED <exit_status>
#   failed 37 (qmaster enforced h_rt...)   TIMEOUT, or OUT_OF_MEMORY when the
#                                          job asked for memory and ran less
#                                          than its h_rt
#   failed 100 with a signal (>= 128)      TIMEOUT past h_rt, else CANCELLED
#                                          (qdel)
#   any other failure                      FAILED
parse_qacct() {
	awk '
		function secs(t,   p, n) {
			n = split(t, p, ":")
			if (n == 3) return p[1] * 3600 + p[2] * 60 + p[3]
			if (n == 2) return p[1] * 60 + p[2]
			return t + 0
		}
		/^====/ { id = ""; failed = ""; ftext = ""; code = ""; cat = ""; wall = 0; next }
		$1 == "jobnumber" { id = $2 }
		$1 == "failed" { failed = $2; ftext = $0 }
		$1 == "exit_status" { code = $2 }
		$1 == "category" { cat = $0 }
		$1 == "ru_wallclock" { w = $2; sub(/s$/, "", w); wall = w + 0 }
		END {
			if (id !~ /^[0-9]+$/ || failed == "") exit
			hrt = -1
			if (match(cat, /h_rt=[0-9:]+/)) hrt = secs(substr(cat, RSTART + 5, RLENGTH - 5))
			overtime = hrt >= 0 && wall >= hrt - 1
			if (failed == "0") {
				if (code == "0") print id " COMPLETED 0"
				else print id " FAILED " code
			} else if (failed == "37" || ftext ~ /h_rt|h_cpu|h_vmem/) {
				if (!overtime && cat ~ /(h_vmem|mem_free|m_mem_free|h_rss)=/) print id " OUT_OF_MEMORY"
				else print id " TIMEOUT"
			} else if (failed == "100" && code + 0 >= 128) {
				if (overtime) print id " TIMEOUT"
				else print id " CANCELLED"
			} else print id " FAILED"
		}'
}

# A job that left qstat: its own job.exitcode, else job.canceled, else qacct.
ended_state() {
	if [ -s "$2/job.exitcode" ]; then
		_c=
		IFS= read -r _c <"$2/job.exitcode"
		case $_c in
		0) say "$1 COMPLETED 0" ;;
		'' | *[!0-9]*) ;;
		*) say "$1 FAILED $_c" ;;
		esac
	elif [ -e "$2/job.canceled" ]; then
		say "$1 CANCELLED"
	else
		case $1 in
		*.*) qacct -j "${1%.*}" -t "${1#*.}" ;;
		*) qacct -j "$1" ;;
		esac 2>/dev/null | parse_qacct | awk -v id="$1" '{ $1 = id; print }'
	fi
}

# stdin: "<job number> TAB <dir>" lines. Prints "<id> <WORD> [<code>]".
states() {
	_in=$(awk -F '\t' 'NF && !seen[$1]++')
	[ -n "$_in" ] || return 0
	# Without qstat's answer nothing can be told apart: say nothing.
	_q=$(qstat -g d 2>/dev/null) || return 0
	_live=$(printf '%s\n' "$_q" | parse_qstat)
	printf '%s\n' "$_in" | while IFS='	' read -r _id _dir; do
		_w=$(printf '%s\n' "$_live" | awk -v id="$_id" '"" $1 == id "" { print; exit }')
		if [ -n "$_w" ]; then
			say "$_w"
		else
			ended_state "$_id" "${_dir:-.}"
		fi
	done
}

# stdin: "<job number> TAB <dir>" lines of ended jobs. Prints "<id> KEY=VALUE" lines of
# job.usage from `qacct -j N` (one call per job: qacct takes one at a time; a task of an
# array, N.T, is `qacct -j N -t T`).
usage_of() {
	while IFS='	' read -r _uid _udir; do
		[ -n "$_uid" ] || continue
		case $_uid in
		*.*) qacct -j "${_uid%.*}" -t "${_uid#*.}" ;;
		*) qacct -j "$_uid" ;;
		esac 2>/dev/null | parse_qacct_usage | sed "s/^/$_uid /"
	done
}

# The last record of `qacct -j N` -> job.usage's KEY=VALUE lines: ru_wallclock, cpu, slots,
# the peak memory (maxvmem, or ru_maxrss where that is larger), and from the category
# the memory asked for (h_vmem, mem_free, m_mem_free or h_rss, which count per slot) and the
# time limit (h_rt).
# qacct prints ru_maxrss, which getrusage gives in KB, as if it were bytes ("207.906KB" for
# 208 MB): its unit is one step up.
parse_qacct_usage() {
	awk '
		function bytes(s,   u, n) {
			n = s + 0; u = toupper(s); sub(/^[0-9.]+/, "", u); sub(/B$/, "", u)
			if (u == "K") return n * 1024
			if (u == "M") return n * 1048576
			if (u == "G") return n * 1073741824
			if (u == "T") return n * 1099511627776
			return n
		}
		/^====/ { wall = ""; cpu = ""; slots = ""; vmem = ""; rss = ""; cat = ""; next }
		$1 == "ru_wallclock" { wall = $2 }
		$1 == "cpu" { cpu = $2 }
		$1 == "slots" { slots = $2 }
		$1 == "maxvmem" { vmem = $2 }
		$1 == "ru_maxrss" { rss = $2 }
		$1 == "category" { cat = $0 }
		END {
			if (wall == "") exit
			print "source=qacct"
			print "elapsed=" wall
			if (cpu != "") print "cpu_time=" cpu
			if (slots ~ /^[0-9]+$/) print "cpus=" slots
			# ru_maxrss in its true unit.
			if (rss ~ /[1-9]/) {
				u = rss; sub(/^[0-9.]+/, "", u); n = substr(rss, 1, length(rss) - length(u))
				up["B"] = "K"; up["KB"] = "M"; up["K"] = "M"; up["MB"] = "G"; up["M"] = "G"; up["GB"] = "T"; up["G"] = "T"
				if (u == "") rss = n "K"
				else if (u in up) rss = n up[u]
				else rss = ""
			} else rss = ""
			# maxvmem is sampled and may miss a short peak; ru_maxrss (resident, so never
			# above the true virtual peak) is exact: the larger of the two.
			if (vmem ~ /[1-9]/ && bytes(vmem) >= bytes(rss)) print "mem_used=" vmem
			else if (rss != "") print "mem_used=" rss
			if (match(cat, /(h_vmem|mem_free|m_mem_free|h_rss)=[0-9.]+[KMGTkmgt]?/)) {
				v = substr(cat, RSTART, RLENGTH); sub(/^[^=]*=/, "", v)
				# Per slot: the suffix c multiplies by the CPUs (slots).
				if (v ~ /[KMGTkmgt]$/) print "mem_requested=" v (slots ~ /^[0-9]+$/ ? "c" : "")
				else if (slots ~ /^[0-9]+$/) printf "mem_requested=%.0f\n", v * slots
				else print "mem_requested=" v
			}
			if (match(cat, /h_rt=[0-9:]+/)) print "time_requested=" substr(cat, RSTART + 5, RLENGTH - 5)
		}'
}

# qdel of a job that has ended says 'job "42" does not exist', which is fine.
cancel_job() {
	if _err=$(qdel "$1" 2>&1); then
		return 0
	fi
	case $_err in
	*'does not exist'*) return 0 ;;
	esac
	warn "qdel $1 failed: $_err"
	return 1
}

queue_text() {
	qstat
	_rc=$?
	say
	qstat -g c
	return "$_rc"
}

main "$@"
