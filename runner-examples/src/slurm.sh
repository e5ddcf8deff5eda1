#!/bin/sh
# grunter -- the Slurm runner for grunt: runs each job as a Slurm batch job.
#
# grund calls it in the job directory as `grunter COMMAND`; see
# docs/runner-protocol.md for the contract and docs/schedulers.md for how to
# use it. Plain POSIX sh, awk and sed, plus the Slurm commands sbatch,
# squeue, sacct, scontrol, scancel and sinfo.
#
# submit writes job.sbatch from the job's resource profile (GRUNT_RES_*,
# falling back to [resources] of grunt.toml), submits it with
# `sbatch --parsable` and records the Slurm job id in job.slurmid. The batch
# script writes job.start when it starts and job.exitcode and job.end when the
# command ends, and exits with the command's status, so Slurm says FAILED for
# a failed command.
#
# A job's state comes from `squeue` while Slurm has it queued or running, then
# from `sacct` and, where accounting is off or has not caught up yet, from
# `scontrol show job` (which remembers a finished job for MinJobAge).
# `batch-status` asks about all of a project's active jobs with one call of
# each, at most.

set -u

SCHED=slurm

usage() {
	cat <<'EOF'
usage: grunter COMMAND

Slurm runner for grunt: runs the job with sbatch.

commands:
  submit        write job.sbatch from the job's resource profile and submit it
                with sbatch; writes job.slurmid (the Slurm job id). The job
                writes job.start, job.exitcode and job.end, and its output
                goes to job.out and job.err
  status        ask Slurm for the job's state, write it to job.status and
                print it (PENDING, RUNNING, COMPLETED, FAILED, TIMEOUT,
                OUT_OF_MEMORY, CANCELLED, NODE_FAIL, ...)
                (once it ended, also job.usage from sacct)
  batch-status  print "<jobid> <STATE> [<exit code>]" for every job listed in
                $GRUNT_BATCH_FILE ("<jobid> TAB <slurm id> TAB <dir>" lines),
                asking Slurm once
  submit-batch  submit the jobs listed in $GRUNT_BATCH_FILE ("<jobid> TAB
                <dir>" lines: the points of one sweep) as ONE Slurm array
                (sbatch --array=0-N%K, K = array_throttle of the profile);
                writes each job's job.slurmid (ARRAYID_TASK)
  cancel        scancel the job and write job.canceled
  results       print the files matching [run] results, one per line
  queue         write your Slurm queue and a partition summary to job.queue
                and print them
  help          print this text
EOF
}

# @include common.sh
# ---- end common part ----

# The #SBATCH lines of job.sbatch, from the profile.
directives() {
	replicate_directives || return 1
	_t=$(res TIME)
	_m=$(res MEM)
	_c=$(res CPUS)
	_g=$(res GPUS)
	_p=$(res PARTITION)
	_q=$(res QOS)
	_a=$(res ACCOUNT)
	for _kv in "time=$_t" "mem=$_m" "cpus=$_c" "gpus=$_g" "partition=$_p" "qos=$_q" "account=$_a"; do
		plain "${_kv%%=*}" "${_kv#*=}" || return 1
	done
	say "#SBATCH --job-name=${GRUNT_JOBID:-grunt}"
	say '#SBATCH --output=job.out'
	say '#SBATCH --error=job.err'
	# Slurm reads the time itself; seconds() only checks it here.
	case $_t in
	'' | UNLIMITED | INFINITE | unlimited | infinite) ;;
	*)
		seconds "$_t" >/dev/null || {
			warn "time = \"$_t\" is not a Slurm time (minutes, H:M:S or D-H:M:S)"
			return 1
		}
		;;
	esac
	if [ -n "${REPLICAS:-}" ]; then
		say '#SBATCH --output=job.out.%a'
		say '#SBATCH --error=job.err.%a'
	fi
	[ -z "$_t" ] || say "#SBATCH --time=$_t"
	[ -z "$_m" ] || say "#SBATCH --mem=$_m"
	[ -z "$_c" ] || say "#SBATCH --cpus-per-task=$_c"
	[ -z "$_g" ] || say "#SBATCH --gres=gpu:$_g"
	[ -z "$_p" ] || say "#SBATCH --partition=$_p"
	[ -z "$_q" ] || say "#SBATCH --qos=$_q"
	[ -z "$_a" ] || say "#SBATCH --account=$_a"
	# Extra lines last, so that they can override the ones above.
	extra_directives '#SBATCH'
}

# Native arrays (submit-batch): task i of the array runs the job on line i
# of job.array; its own output goes to its job.out and job.err, Slurm's to a
# dot-file of the array's first job.
ARRAY_TASK_VAR=SLURM_ARRAY_TASK_ID
ARRAY_BASE=0
REPLICATE_ARRAYS=1
array_directives() {
	say "#SBATCH --array=0-$(($1 - 1))${2:+%$2}"
	say '#SBATCH --output=.job.array-%a.log'
	say '#SBATCH --error=.job.array-%a.log'
}
ARRAY_ID_FORMAT='%s_%s'

# The original's replicate arrays: `array = "0-9"` in the profile runs the
# job's command once per index, as one Slurm array, with the index in
# GRUNT_ARRAY_TASK (and Slurm's SLURM_ARRAY_TASK_ID). Task N writes
# job.out.N, job.err.N and job.exitcode.N; the last one to end writes the
# job's job.exitcode (the first non-zero of the tasks', else 0) and job.end.
replicate_directives() {
	_arr=$(res ARRAY)
	has_text "$_arr" || return 0
	plain array "$_arr" || return 1
	_nt=$(replicas "$_arr") || {
		warn "array = \"$_arr\" is not a Slurm array (e.g. 0-9, 1,3,5, 0-15:4, 0-9%2)"
		return 1
	}
	say "#SBATCH --array=$_arr"
	# After the profile's --output/--error (directives says those first).
	REPLICAS=$_nt
}

# How many tasks a Slurm --array spec makes: "A", "A-B", "A-B:S" items,
# comma-separated, with an optional "%K" throttle.
replicas() {
	case $1 in *[!0-9,:%-]* | '') return 1 ;; esac
	printf '%s\n' "${1%%%*}" | awk -F , '
		{
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^[0-9]+$/) { n++; continue }
				if ($i !~ /^[0-9]+-[0-9]+(:[0-9]+)?$/) exit 1
				split($i, r, /[-:]/); s = (r[3] == "" ? 1 : r[3] + 0)
				if (s < 1 || r[2] + 0 < r[1] + 0) exit 1
				n += int((r[2] - r[1]) / s) + 1
			}
			print n
		}'
}

# The ending of each task of a replicate array (see replicate_directives),
# for write_body.
replicate_ending() {
	[ -n "${REPLICAS:-}" ] || return 0
	say "_replicas=$REPLICAS"
	cat <<'EOF'
GRUNT_ARRAY_TASK=${SLURM_ARRAY_TASK_ID:-0}
export GRUNT_ARRAY_TASK
_ended() {
	_put "job.exitcode.$GRUNT_ARRAY_TASK" "$1"
	_n=0
	_first=0
	for _f in job.exitcode.*; do
		[ -f "$_f" ] || continue
		_n=$((_n + 1))
		IFS= read -r _c <"$_f" || :
		[ "$_first" != 0 ] || _first=${_c:-0}
	done
	[ "$_n" -ge "$_replicas" ] || return 0
	_put job.exitcode "$_first"
	_put job.end "$(_ts)"
}
EOF
}

# sbatch's answer to --parsable is "<id>" or "<id>;<cluster>".
submit_script() {
	_so=$(sbatch --parsable job.sbatch </dev/null) || return 1
	_so=$(printf '%s' "$_so" | tail -n 1)
	printf '%s' "${_so%%;*}"
}

# Slurm's words, normalised to the ones grunt knows (see
# crates/grunt-core/src/status.rs); "CANCELLED by 0" is CANCELLED.
SLURM_AWK='
function word(s) {
	sub(/^[[:space:]]+/, "", s); sub(/[[:space:]].*$/, "", s); sub(/\+$/, "", s)
	s = toupper(s)
	if (s == "RESV_DEL_HOLD" || s == "REQUEUE_HOLD" || s == "REQUEUE_FED" || s == "SPECIAL_EXIT") return "PENDING"
	if (s == "SIGNALING" || s == "STAGE_OUT" || s == "RESIZING") return "RUNNING"
	if (s == "STOPPED") return "SUSPENDED"
	return s
}
function live(w) {
	return w == "PENDING" || w == "RUNNING" || w == "CONFIGURING" || w == "COMPLETING" || w == "SUSPENDED" || w == "REQUEUED"
}
# Slurm exit codes are "<status>:<signal>"; a signal N counts as 128+N. Only
# COMPLETED and FAILED carry the job'"'"'s own exit status; for the other ends the
# word says it all.
function code(w, x,   p) {
	if (w != "COMPLETED" && w != "FAILED") return ""
	if (split(x, p, ":") < 1 || p[1] !~ /^[0-9]+$/) return ""
	if (p[2] ~ /^[0-9]+$/ && p[2] > 0) return 128 + p[2]
	return p[1] + 0
}
function emit(id, w, x,   c) {
	c = code(w, x)
	print id " " w (c != "" ? " " c : "")
}
'

# `squeue -h -r -o "%i %T"` output -> "<id> <WORD>" for live jobs only. An
# array task (831_2) is also told about as its array (831: RUNNING while one
# task runs), for a replicate array's job.
parse_squeue() {
	awk "$SLURM_AWK"'
		$1 ~ /^[0-9]+(_[0-9]+)?$/ {
			w = word($2); if (!live(w)) next
			print $1 " " w
			if (split($1, a, "_") == 2 && arr[a[1]] != "RUNNING") arr[a[1]] = w
		}
		END { for (a1 in arr) print a1 " " arr[a1] }'
}

# `sacct -P -n -X -o JobID,State,ExitCode` output -> "<id> <WORD> [<code>]".
# An ended array (all its tasks) is also told about as the array: COMPLETED
# when every task did, else the first other end.
parse_sacct() {
	awk -F '|' "$SLURM_AWK"'
		$1 ~ /^[0-9]+(_[0-9]+)?$/ && $2 != "" {
			w = word($2); emit($1, w, $3)
			if (split($1, a, "_") != 2) next
			if (live(w)) { busy[a[1]] = 1; next }
			if (!(a[1] in arr) || (arr[a[1]] == "COMPLETED" && w != "COMPLETED")) { arr[a[1]] = w; ex[a[1]] = $3 }
		}
		END { for (a1 in arr) if (!(a1 in busy)) emit(a1, arr[a1], ex[a1]) }'
}

# `scontrol -o show job` output (one job a line of KEY=VALUE words) ->
# "<id> <WORD> [<code>]".
parse_scontrol() {
	awk "$SLURM_AWK"'
		{
			id = ""; st = ""; ex = ""
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^JobId=/) id = substr($i, 7)
				else if ($i ~ /^JobState=/) st = substr($i, 10)
				else if ($i ~ /^ExitCode=/) ex = substr($i, 10)
				else if ($i ~ /^ArrayJobId=/) aj = substr($i, 12)
				else if ($i ~ /^ArrayTaskId=/) at = substr($i, 13)
			}
			# An array task is asked about as ARRAYID_TASK.
			if (aj ~ /^[0-9]+$/ && at ~ /^[0-9]+$/) id = aj "_" at
			aj = ""; at = ""
			if (id ~ /^[0-9]+$/ && st != "") emit(id, word(st), ex)
		}'
}

# Ids of $1 (one a line) that are not first words of $2's lines.
ids_without() {
	printf '%s\n' "$2" | awk -v want="$1" '
		BEGIN { n = split(want, w, "\n") }
		{ got[$1] = 1 }
		END { for (i = 1; i <= n; i++) if (w[i] != "" && !(w[i] in got)) print w[i] }'
}

# stdin: "<batch id> TAB <dir>" lines. Prints "<id> <WORD> [<code>]" for the
# jobs Slurm knows: one squeue for the live ones, then one sacct for the
# rest, then one scontrol for what sacct could not tell (accounting off, or
# not caught up yet).
states() {
	_ids=$(cut -f 1 | awk 'NF && !seen[$1]++')
	[ -n "$_ids" ] || return 0
	_list=$(printf '%s\n' "$_ids" | paste -s -d , -)
	# Older squeue fails with "Invalid job id specified" when none of the ids
	# is queued any more; that just means none is live.
	_live=$(squeue -h -r -j "$_list" -o '%i %T' 2>/dev/null | parse_squeue)
	[ -z "$_live" ] || printf '%s\n' "$_live"
	_rest=$(ids_without "$_ids" "$_live")
	[ -n "$_rest" ] || return 0
	_done=
	if _out=$(sacct -j "$(printf '%s\n' "$_rest" | paste -s -d , -)" -P -n -X -o JobID,State,ExitCode 2>/dev/null); then
		_done=$(printf '%s\n' "$_out" | parse_sacct)
		[ -z "$_done" ] || printf '%s\n' "$_done"
		_rest=$(ids_without "$_rest" "$_done")
		[ -n "$_rest" ] || return 0
	fi
	case $_rest in
	*"$NL"*) scontrol -o show job 2>/dev/null | parse_scontrol | awk -v want="$_rest" '
		BEGIN { n = split(want, w, "\n"); for (i = 1; i <= n; i++) ok[w[i]] = 1 }
		$1 in ok' ;;
	*) scontrol -o show job "$_rest" 2>/dev/null | parse_scontrol ;;
	esac
}

# stdin: "<slurm id> TAB <dir>" lines of ended jobs. Prints "<id> KEY=VALUE" lines of
# job.usage from one sacct call: the job's line gives the state, elapsed time, CPU time,
# CPUs, nodes, requested memory and time limit, its steps' lines (.batch, .extern, .0, ...)
# the peak memory (MaxRSS, largest step). Nothing for a job whose record is not complete yet.
usage_of() {
	_uin=$(cat)
	_uids=$(printf '%s\n' "$_uin" | cut -f 1 | awk 'NF && !seen[$1]++' | paste -s -d , -)
	[ -n "$_uids" ] || return 0
	_acct=$(sacct -j "$_uids" -n -P -o JobID,State,Elapsed,TotalCPU,AllocCPUS,NNodes,ReqMem,MaxRSS,Timelimit 2>/dev/null) || return 1
	# Without --mem (--time) in its script, ReqMem (Timelimit) is Slurm's default, often the
	# whole node (the partition's limit): no request.
	_asked=$(printf '%s\n' "$_uin" | while IFS='	' read -r _uid _udir; do
		_us=$(script_of "$_udir" job.sbatch) || continue
		if asks "$_us" '^#SBATCH[[:space:]]+--mem'; then say "$_uid mem"; fi
		if asks "$_us" '^#SBATCH[[:space:]]+(--time|-t)'; then say "$_uid time"; fi
	done)
	printf '%s\n' "$_acct" | parse_sacct_usage "$_asked"
}

# `sacct -n -P -o JobID,State,Elapsed,TotalCPU,AllocCPUS,NNodes,ReqMem,MaxRSS,Timelimit`
# output -> "<id> KEY=VALUE" lines; $1: "<id> mem" and "<id> time" lines for the requests that
# count. TotalCPU stays 0 where accounting gathers nothing (jobacct_gather/none): left out
# then.
parse_sacct_usage() {
	awk -F '|' -v asked="$1" "$SLURM_AWK"'
		function bytes(s,   u, n) {
			u = toupper(substr(s, length(s))); n = s + 0
			if (u == "K") return n * 1024
			if (u == "M") return n * 1048576
			if (u == "G") return n * 1073741824
			if (u == "T") return n * 1099511627776
			return n
		}
		BEGIN { n = split(asked, a, "\n"); for (i = 1; i <= n; i++) ask[a[i]] = 1 }
		{
			id = $1; step = ""
			if (index(id, ".")) { step = substr(id, index(id, ".") + 1); id = substr(id, 1, index(id, ".") - 1) }
			# A plain job, or one task of an array (123_4).
			if (id !~ /^[0-9]+(_[0-9]+)?$/) next
			if (step == "") {
				st[id] = word($2); el[id] = $3; cpu[id] = $4; nc[id] = $5; nn[id] = $6; rm[id] = $7; tl[id] = $9
			} else {
				if (step == "batch") bst[id] = word($2)
				if ($8 != "" && (!(id in rss) || bytes($8) > bytes(rss[id]))) rss[id] = $8
			}
		}
		END {
			for (id in st) {
				if (live(st[id]) || ((id in bst) && live(bst[id]))) continue
				# Just after the end sacct may give a half-written record (ReqMem "16?", no
				# Timelimit): wait for the whole one.
				if (tl[id] == "" || (rm[id] != "" && rm[id] !~ /^[0-9.]+[KMGTP]?[nc]?$/)) continue
				print id " source=sacct"
				print id " state=" st[id]
				if (el[id] != "") print id " elapsed=" el[id]
				if (cpu[id] ~ /[1-9]/) print id " cpu_time=" cpu[id]
				if (nc[id] ~ /^[0-9]+$/) print id " cpus=" nc[id]
				if (nn[id] ~ /^[0-9]+$/) print id " nodes=" nn[id]
				if (id in rss) print id " mem_used=" rss[id]
				if (((id " mem") in ask) && rm[id] != "") print id " mem_requested=" rm[id]
				if (((id " time") in ask) && tl[id] ~ /^[0-9]/) print id " time_requested=" tl[id]
			}
		}'
}

# scancel is quiet about jobs that have ended; older versions complain with
# "Invalid job id" or "already completing or completed", which is fine too.
cancel_job() {
	if _err=$(scancel "$1" 2>&1); then
		return 0
	fi
	case $_err in
	*'Invalid job id'* | *'already completing or completed'*) return 0 ;;
	esac
	warn "scancel $1 failed: $_err"
	return 1
}

queue_text() {
	# `id -un`, not $USER: grund passes USER through, but the scheduler knows
	# the account by the uid it runs as.
	squeue -u "$(id -un)"
	_rc=$?
	say
	sinfo -s
	return "$_rc"
}

main "$@"
