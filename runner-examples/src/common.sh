# ---- begin common part: the same in every runner-examples/*/grunter ----
# (generated: edit runner-examples/src/common.sh, then run
# runner-examples/src/generate.sh; tests/e2e/runners.rs checks it was.)

# @include base.sh

NL='
'

# A resource setting: the job's resolved profile (GRUNT_RES_KEY, from
# [resources] merged with [profile.NAME]) or else [resources] of grunt.toml
# (GRUNT_RESOURCES_KEY). $1 is one of this script's own upper-case names.
res() {
	eval "_rv=\${GRUNT_RES_$1-}"
	[ -n "$_rv" ] || eval "_rv=\${GRUNT_RESOURCES_$1-}"
	printf '%s' "$_rv"
}

# The shell text the job runs: the profile's command, else [run] command.
job_command() {
	_jc=$(res COMMAND)
	[ -n "$_jc" ] || _jc=${GRUNT_RUN_COMMAND:-}
	printf '%s' "$_jc"
}

has_text() {
	case $1 in
	*[![:space:]]*) return 0 ;;
	*) return 1 ;;
	esac
}

# The profile's extra scheduler lines (its `sbatch` key), trimmed, each given
# the scheduler's directive prefix $1 (`#SBATCH`, `#$`, `#BSUB`) unless it
# has it already.
extra_directives() {
	res SBATCH | while IFS= read -r _l || [ -n "$_l" ]; do
		_l=$(printf '%s' "$_l" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
		case $_l in
		'') ;;
		"$1"*) say "$_l" ;;
		*) say "$1 $_l" ;;
		esac
	done
}

# $1 quoted for sh: it's -> 'it'\''s'.
sq() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

# A setting that goes into a scheduler directive must be one plain word.
plain() {
	case $2 in
	*[[:space:]\"\'\\\#\;\`\$]*)
		warn "resource setting $1 = \"$2\" must be one plain word (no spaces or quotes)"
		return 1
		;;
	esac
}

# The time limit in seconds, from Slurm's forms: M (minutes), M:S, H:M:S,
# D-H, D-H:M, D-H:M:S. Prints nothing for no limit; fails on anything else.
seconds() {
	[ -n "$1" ] || return 0
	case $1 in *[!0-9:-]*) return 1 ;; esac
	printf '%s\n' "$1" | awk '
		function bad() { exit 1 }
		{
			d = 0; rest = $0
			if (index(rest, "-")) {
				split(rest, dp, "-")
				if (dp[1] == "" || dp[2] == "") bad()
				d = dp[1]; rest = dp[2]
				n = split(rest, p, ":")
				if (n == 1) s = p[1] * 3600
				else if (n == 2) s = p[1] * 3600 + p[2] * 60
				else if (n == 3) s = p[1] * 3600 + p[2] * 60 + p[3]
				else bad()
			} else {
				n = split(rest, p, ":")
				if (n == 1) s = p[1] * 60
				else if (n == 2) s = p[1] * 60 + p[2]
				else if (n == 3) s = p[1] * 3600 + p[2] * 60 + p[3]
				else bad()
			}
			printf "%d\n", s + d * 86400
		}'
}

# Memory in megabytes, from Slurm's forms: N (megabytes) or N with a K, M, G
# or T suffix (an optional trailing B is ignored).
megabytes() {
	[ -n "$1" ] || return 0
	printf '%s\n' "$1" | awk '
		{
			v = toupper($0); sub(/B$/, "", v)
			u = substr(v, length(v)); n = v
			if (u ~ /[KMGT]/) n = substr(v, 1, length(v) - 1); else u = "M"
			if (n !~ /^[0-9]+(\.[0-9]+)?$/) exit 1
			f = (u == "K") ? 1 / 1024 : (u == "M") ? 1 : (u == "G") ? 1024 : 1048576
			printf "%d\n", int(n * f + 0.999)
		}'
}

# Batch ids are plain numbers in every scheduler these runners drive; a task
# of an array (see submit-batch) is the array's number and the task's:
# Slurm 831_2, Grid Engine and HTCondor 831.2, LSF 831[2].
valid_id() {
	case $1 in
	'' | *"$NL"*) return 1 ;;
	*[!0-9]*) printf '%s\n' "$1" | grep -Eq '^[0-9]{1,20}([._][0-9]{1,9}|\[[0-9]{1,9}\])$' ;;
	*) [ "${#1}" -le 20 ] ;;
	esac
}

# The job's batch id from job.slurmid, if it holds a valid one.
read_id() {
	[ -s job.slurmid ] || return 1
	_id=
	IFS= read -r _id <job.slurmid || [ -n "$_id" ] || return 1
	valid_id "$_id" || return 1
	printf '%s' "$_id"
}

# The part of the batch script after the scheduler's directives: go to the
# job directory, write job.start, run the command with job.args appended
# (each line one argument) after the profile's env_script and env, write
# job.exitcode and job.end, and exit with the command's status.
#
# When the scheduler stops the job (time limit, cancel, memory) it kills the
# whole job, this script too, which then writes neither job.exitcode nor
# job.end: the scheduler's word (TIMEOUT, CANCELLED, OUT_OF_MEMORY...), which
# status and batch-status fetch, says what happened. (A job.end there would
# make the job look Done to the original client's rule.)
#
# With $1 = an array's index file (see cmd_submit_batch), the script is each
# task's of the array: it finds its job in the index by the task number in
# the variable $ARRAY_TASK_VAR names, and runs there with its output in that
# job's job.out and job.err.
write_body() {
	_cmd=$(job_command)
	_es=$(res ENV_SCRIPT)
	if [ -n "${1:-}" ]; then
		say "# grunt jobs of project ${GRUNT_PROJECT:-?}, one a task, written by grunter submit-batch"
		array_task_lookup "$1"
	else
		say "# grunt job ${GRUNT_JOBID:-?} of project ${GRUNT_PROJECT:-?}, written by grunter submit"
		say "_dir=$(sq "$PWD")"
	fi
	say "_cmd=$(sq "$_cmd")"
	say '_run() {'
	if has_text "$_es"; then
		# shellcheck disable=SC2088 # a literal ~/ prefix, replaced by $HOME
		case $_es in
		'~/'*) say "	. \"\$HOME\"/$(sq "${_es#\~/}") || exit" ;;
		/*) say "	. $(sq "$_es") || exit" ;;
		*) say "	. ./$(sq "$_es") || exit" ;;
		esac
	fi
	_envs=$(res ENV)
	_ifs=$IFS
	IFS=$NL
	set -f
	for _kv in $_envs; do
		_kv=$(printf '%s' "$_kv" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
		[ -n "$_kv" ] || continue
		_k=${_kv%%=*}
		case $_k in
		"$_kv" | '' | [0-9]* | *[!A-Za-z0-9_]*)
			IFS=$_ifs
			set +f
			warn "env entry \"$_kv\" is not NAME=VALUE"
			return 1
			;;
		esac
		say "	export $_k=$(sq "${_kv#*=}")"
	done
	IFS=$_ifs
	set +f
	# shellcheck disable=SC2016 # text of the batch script
	say '	eval "$_cmd \"\$@\""'
	say '}'
	# How the job records its end (a replicate array's task: see the Slurm runner).
	cat <<'EOF'
_ended() {
	_put job.exitcode "$1"
	_put job.end "$(_ts)"
}
EOF
	replicate_ending
	cat <<'EOF'
cd "$_dir" || exit 1
_ts() { date -u '+%Y-%m-%d %H:%M:%S UTC'; }
_put() { printf '%s\n' "$2" >".$1.tmp.$$" && mv -f ".$1.tmp.$$" "$1"; }
# A requeued job starts afresh.
rm -f job.exitcode job.end
_put job.start "$(_ts)"
set --
if [ -f job.args ]; then
	while IFS= read -r _a || [ -n "$_a" ]; do
		set -- "$@" "$_a"
	done <job.args
fi
(_run "$@")
_rc=$?
_ended "$_rc"
exit "$_rc"
EOF
}

# The whole batch script: #! line, the scheduler's directives, the body.
write_script() {
	say '#!/bin/sh'
	directives || return 1
	write_body
}

cmd_submit() {
	if ! has_text "$(job_command)"; then
		warn 'no command to run: set [run] command in grunt.toml, e.g.'
		warn '  [run]'
		warn '  command = "python3 sim.py"'
		exit 2
	fi
	if has_text "$(res ARRAY)" && [ -z "${REPLICATE_ARRAYS:-}" ]; then
		warn "array = \"$(res ARRAY)\": replicate arrays are the Slurm runner's; this $SCHED runner has none"
		exit 2
	fi
	if [ -e job.canceled ]; then
		warn 'this job was canceled; not submitting it'
		exit 3
	fi
	if [ -e job.slurmid ]; then
		warn "job already submitted (job.slurmid exists); not submitting it twice"
		exit 3
	fi
	write_script >.job.sbatch.tmp.$$ || {
		rm -f .job.sbatch.tmp.$$
		exit 2
	}
	# `grunt submit --dry-run` (GRUNT_DRY_RUN=1): write the script, submit nothing.
	if [ "${GRUNT_DRY_RUN:-}" = 1 ]; then
		mv -f .job.sbatch.tmp.$$ job.sbatch
		say "dry run: job.sbatch would be submitted to $SCHED; nothing was submitted"
		return 0
	fi
	# Claiming job.slurmid with O_EXCL (noclobber) makes "already submitted"
	# race-free: of two submits, exactly one creates it.
	if ! (
		set -C
		: >job.slurmid
	) 2>/dev/null; then
		rm -f .job.sbatch.tmp.$$
		warn "job already submitted (job.slurmid exists); not submitting it twice"
		exit 3
	fi
	mv -f .job.sbatch.tmp.$$ job.sbatch
	if ! _out=$(submit_script); then
		# Nothing was queued: a later submit may try again.
		rm -f job.slurmid
		exit 1
	fi
	if ! valid_id "$_out"; then
		# Something may have been queued: keep the claim so that it is not
		# submitted twice, and say what came back.
		warn "could not read a job id from the scheduler's answer: $_out"
		exit 1
	fi
	put job.slurmid "$_out"
	say "submitted: $SCHED job $_out"
}

# ---- native arrays: submit-batch ----
#
# Each scheduler part sets ARRAY_TASK_VAR (the variable holding a task's
# number) and ARRAY_BASE (the first task's number), and defines
# array_directives N K (the array's directives: N tasks, at most K running;
# HTCondor's go into its submit description), and sets ARRAY_ID_FORMAT, the
# printf format of a task's job.slurmid from the array's id and the task.
#
# grund hands the jobs of one sweep to `submit-batch` in one call
# ($GRUNT_BATCH_FILE: "<jobid> TAB <dir>" lines, in task order). This claims
# each job (creates its job.slurmid exclusively, as submit does; a job that
# has one, or was canceled, stays out), writes job.array (the index: "<task>
# TAB <jobid> TAB <dir>" lines) and job.sbatch (the array's script) into the
# first claimed job's directory, and submits them as ONE array of the
# scheduler (one per `array_max` jobs), at most `array_throttle` tasks (from
# the profile) running at once. Each job's job.slurmid then names its task
# (ARRAY_ID_FORMAT), so status, batch-status and cancel work per job. grund
# submits the jobs left without a job.slurmid one by one.

# The lines of the array's script that find its task's job in the index
# file $1 ("<task> TAB <jobid> TAB <dir>") by the task number in the
# variable $ARRAY_TASK_VAR names, go there and send the output to its
# job.out and job.err.
array_task_lookup() {
	say "_index=$(sq "$1")"
	say "_task=\${$ARRAY_TASK_VAR:-}"
	cat <<'EOF'
_line=$(awk -F '\t' -v t="$_task" '$1 == t { print $2 "\t" $3; exit }' "$_index")
_dir=${_line#*	}
if [ -z "$_task" ] || [ -z "$_line" ] || ! cd "$_dir"; then
	echo "grunt: no job directory for array task ${_task:-?} in $_index" >&2
	exit 1
fi
GRUNT_JOBID=${_line%%	*}
export GRUNT_JOBID
exec >job.out 2>job.err
EOF
}

# Replicate arrays (`array` in the profile) are the Slurm runner's (it sets
# REPLICATE_ARRAYS); the others refuse a job that asks for one.
# shellcheck disable=SC2317 # the Slurm part overrides it
replicate_ending() { :; }

# Undoes the claims of the jobs in the claim list $1 ("<jobid> TAB <dir>")
# from line $2 + 1 on (nothing of those was queued), removes the list and
# exits with $3.
unclaim() {
	awk -F '\t' -v s="$2" 'NR > s { print $2 }' "$1" |
		while IFS= read -r _jd; do rm -f "$_jd/job.slurmid"; done
	rm -f "$1"
	exit "$3"
}

# How many jobs one array takes at most: `array_max` of the profile, else
# 1000 (what Slurm's MaxArraySize and LSF's MAX_JOB_ARRAY_SIZE allow by
# default). A bigger sweep is submitted as several arrays.
array_max() {
	_am=$(res ARRAY_MAX)
	case $_am in
	'') printf 1000 ;;
	*[!0-9]* | 0)
		warn "array_max = \"$_am\" is not a positive number"
		return 1
		;;
	*) printf '%s' "$_am" ;;
	esac
}

cmd_submit_batch() {
	_bf=${GRUNT_BATCH_FILE:-}
	if [ -z "$_bf" ] || [ ! -r "$_bf" ]; then
		# shellcheck disable=SC2016 # the variable's name
		warn 'submit-batch reads the jobs from $GRUNT_BATCH_FILE (lines "<jobid> TAB <dir>")'
		exit 2
	fi
	if ! has_text "$(job_command)"; then
		warn 'no command to run: set [run] command in grunt.toml'
		exit 2
	fi
	if has_text "$(res ARRAY)"; then
		warn 'these jobs are replicate arrays (array in the profile): submit them one by one'
		exit 1
	fi
	_sbk=$(res ARRAY_THROTTLE)
	case $_sbk in
	'') ;;
	*[!0-9]* | 0)
		warn "array_throttle = \"$_sbk\" is not a positive number"
		exit 2
		;;
	esac
	_sbmax=$(array_max) || exit 2
	# Claim the jobs into a list kept in the first claimed job's directory.
	_sball=
	_sbn=0
	while IFS='	' read -r _sbjid _sbjd || [ -n "$_sbjid" ]; do
		case $_sbjid in '' | *[!A-Za-z0-9]*) continue ;; esac
		case $_sbjd in /*) ;; *) continue ;; esac
		if [ ! -d "$_sbjd" ] || [ -e "$_sbjd/job.canceled" ]; then continue; fi
		# Exclusively (noclobber), without a subshell per job: `true` is not
		# a special built-in, so a failed redirection only fails it.
		set -C
		if ! { true >"$_sbjd/job.slurmid"; } 2>/dev/null; then
			set +C
			continue
		fi
		set +C
		if [ -z "$_sball" ]; then
			_sball="$_sbjd/.job.array.claimed.$$"
			: >"$_sball"
		fi
		printf '%s\t%s\n' "$_sbjid" "$_sbjd" >>"$_sball"
		_sbn=$((_sbn + 1))
	done <"$_bf"
	if [ "$_sbn" = 0 ]; then
		warn 'submit-batch: no job to submit (each has a job.slurmid already, or was canceled)'
		return 0
	fi
	# One array per array_max jobs, each with its index and script in its
	# first job's directory.
	_sbdone=0
	while [ "$_sbdone" -lt "$_sbn" ]; do
		_sbc=$((_sbn - _sbdone))
		[ "$_sbc" -le "$_sbmax" ] || _sbc=$_sbmax
		# (The scheduler parts' functions use short names like _c: these
		# variables are prefixed so that none clobbers them.)
		_sbhome=$(awk -F '\t' -v s="$_sbdone" 'NR == s + 1 { print $2; exit }' "$_sball")
		cd "$_sbhome" || unclaim "$_sball" "$_sbdone" 1
		awk -F '\t' -v s="$_sbdone" -v c="$_sbc" -v b="$ARRAY_BASE" '
			NR > s && NR <= s + c { print NR - s - 1 + b "\t" $1 "\t" $2 }' "$_sball" >job.array ||
			unclaim "$_sball" "$_sbdone" 1
		{
			say '#!/bin/sh'
			directives && array_directives "$_sbc" "$_sbk" && write_body "$PWD/job.array"
		} >.job.sbatch.tmp.$$ || {
			rm -f .job.sbatch.tmp.$$
			unclaim "$_sball" "$_sbdone" 2
		}
		mv -f .job.sbatch.tmp.$$ job.sbatch
		_sbout=$(submit_script) || unclaim "$_sball" "$_sbdone" 1
		case $_sbout in
		'' | *[!0-9]*)
			# Something may have been queued: keep the claims, say what came back.
			warn "could not read an array id from the scheduler's answer: $_sbout"
			rm -f "$_sball"
			exit 1
			;;
		esac
		# Each task's id into its job's claimed job.slurmid, in one awk for all.
		awk -F '\t' -v a="$_sbout" -v fmt="$ARRAY_ID_FORMAT\n" '
			{ f = $3 "/job.slurmid"; printf fmt, a, $1 > f; close(f) }' job.array
		say "submitted: $SCHED array $_sbout of $_sbc jobs"
		_sbdone=$((_sbdone + _sbc))
	done
	rm -f "$_sball"
}

# The lines of $GRUNT_BATCH_FILE that name a valid batch id (an array task's
# too), as "<batch id> TAB <dir>", for the scheduler's states function.
batch_lines() {
	awk -F '\t' '
		NF >= 2 && $1 !~ /[[:space:]]/ && length($2) <= 32 &&
		($2 ~ /^[0-9]+$/ || $2 ~ /^[0-9]+[._][0-9]+$/ || $2 ~ /^[0-9]+[[][0-9]+[]]$/) {
			print $2 "\t" $3
		}' "$1"
}

# stdin: "<batch id> <WORD> [<code>]" lines from states; $1: the batch file.
# Prints "<jobid> <WORD> [<code>]" for each job of the batch file with a
# state, in the batch file's order; the last word about a batch id wins.
join_states() {
	awk -v bf="$1" '
		$1 != "" && $2 != "" { st[$1] = $2 ($3 != "" ? " " $3 : "") }
		END {
			while ((getline line < bf) > 0) {
				split(line, f, "\t")
				if (f[1] != "" && f[1] !~ /[[:space:]]/ && (f[2] in st)) print f[1] " " st[f[2]]
			}
		}'
}

cmd_batch_status() {
	_bf=${GRUNT_BATCH_FILE:-}
	if [ -z "$_bf" ] || [ ! -r "$_bf" ]; then
		# shellcheck disable=SC2016 # the variable's name
		warn 'batch-status reads the jobs from $GRUNT_BATCH_FILE (lines "<jobid> TAB <batch id> TAB <dir>")'
		exit 2
	fi
	_lines=$(batch_lines "$_bf")
	[ -n "$_lines" ] || return 0
	_states=$(printf '%s\n' "$_lines" | states)
	printf '%s\n' "$_states" | join_states "$_bf"
	printf '%s\n' "$_lines" | record_usage "$_states"
}

# ---- job.usage: what an ended job used (docs/runner-protocol.md) ----

# stdin: "<batch id> TAB <dir>" lines; $1: what states said of them ("<batch id> <WORD>
# [<code>]" lines). For each job the scheduler says has ended that started and has no
# job.usage yet, asks the scheduler's accounting (usage_of: one query for them all where the
# scheduler allows it) and writes job.usage. No accounting (switched off, down, not in yet)
# writes nothing and is no error: the next status asks again.
record_usage() {
	_ended=$(awk -F '\t' -v st="$1" '
		BEGIN {
			n = split(st, l, "\n")
			for (i = 1; i <= n; i++) { split(l[i], f, " "); if (f[1] != "") w[f[1]] = f[2] }
		}
		$1 != "" && $2 != "" && ($1 in w) &&
			w[$1] !~ /^(PENDING|RUNNING|CONFIGURING|COMPLETING|SUSPENDED|REQUEUED|UNKNOWN)$/ {
			print $1 "\t" $2
		}')
	[ -n "$_ended" ] || return 0
	_want=$(printf '%s\n' "$_ended" | while IFS='	' read -r _uid _udir; do
		if [ -e "$_udir/job.start" ] && [ ! -e "$_udir/job.usage" ]; then
			printf '%s\t%s\n' "$_uid" "$_udir"
		fi
	done)
	[ -n "$_want" ] || return 0
	_got=$(printf '%s\n' "$_want" | usage_of) || return 0
	[ -n "$_got" ] || return 0
	printf '%s\n' "$_want" | while IFS='	' read -r _uid _udir; do
		# As strings: 4001.0 is not 4001.
		_kv=$(printf '%s\n' "$_got" | awk -v id="$_uid" '($1 "") == (id "") { sub(/^[^ ]+ /, ""); print }')
		[ -n "$_kv" ] || continue
		printf '%s\n' "$_kv" >"$_udir/.job.usage.tmp.$$" &&
			mv -f "$_udir/.job.usage.tmp.$$" "$_udir/job.usage"
	done
}

# The path of the job's script $2 (job.sbatch, job.condor) for the job in directory $1; for a
# task of a native array, which has none of its own, the array's, which submit-batch wrote
# into the first job's directory: the sweep's first job (job.sweep), beside this one.
script_of() {
	if [ -f "$1/$2" ]; then
		printf '%s' "$1/$2"
		return 0
	fi
	[ -s "$1/job.sweep" ] || return 1
	_sw=
	IFS= read -r _sw <"$1/job.sweep" || [ -n "$_sw" ] || return 1
	case $_sw in '' | *[!A-Za-z0-9]*) return 1 ;; esac
	_sp=${1%/}
	_sroot=${_sp%/*}
	_sroot=${_sroot%/*}
	[ -f "$_sroot/$_sw/${_sp##*/}/$2" ] || return 1
	printf '%s' "$_sroot/$_sw/${_sp##*/}/$2"
}

# Whether the job's script ($1) asks for a resource, by a directive line matching $2 (an
# extended regular expression): a value the scheduler filled in by default is no request.
asks() {
	[ -f "$1" ] && grep -Eq "$2" "$1" 2>/dev/null
}

cmd_status() {
	if [ ! -e job.slurmid ]; then
		_w=UNKNOWN
		[ ! -e job.canceled ] || _w=CANCELLED
		[ -e job.status ] || put job.status "$_w"
		say "$_w"
		return 0
	fi
	if ! _id=$(read_id); then
		if [ -s job.slurmid ]; then
			warn "job.slurmid holds no valid $SCHED job id"
			say UNKNOWN
			return 0
		fi
		# Claimed by a submit that is still talking to the scheduler.
		put job.status PENDING
		say PENDING
		return 0
	fi
	_st=$(printf '%s\t%s\n' "$_id" "$PWD" | states | awk -v id="$_id" '"" $1 == id "" { s = $2 " " $3 } END { print s }')
	_w=${_st%% *}
	_code=${_st#* }
	if [ -z "$_w" ]; then
		# The scheduler has forgotten the job: keep what we knew.
		_w=UNKNOWN
		[ ! -e job.canceled ] || _w=CANCELLED
		if [ -s job.status ]; then
			IFS= read -r _w <job.status
		else
			put job.status "$_w"
		fi
		warn "$SCHED no longer knows job $_id"
		say "$_w"
		return 0
	fi
	put job.status "$_w"
	if [ -n "$_code" ] && [ ! -e job.exitcode ]; then
		put job.exitcode "$_code"
	fi
	printf '%s\t%s\n' "$_id" "$PWD" | record_usage "$_id $_w" >/dev/null
	say "$_w"
}

cmd_cancel() {
	if ! _id=$(read_id); then
		[ -e job.canceled ] || put job.canceled "$(ts)"
		say "canceled: the job was not submitted"
		return 0
	fi
	cancel_job "$_id" || exit 1
	# Keep the first time: cancel is idempotent.
	[ -e job.canceled ] || put job.canceled "$(ts)"
	say "canceled: $SCHED job $_id"
}

cmd_queue() {
	queue_text >.job.queue.tmp.$$ 2>&1
	_rc=$?
	mv -f .job.queue.tmp.$$ job.queue
	cat job.queue
	return "$_rc"
}

main() {
	cd "${GRUNT_JOB_DIR:-.}" || {
		warn "cannot enter the job directory: ${GRUNT_JOB_DIR:-.}"
		exit 1
	}
	case ${1:-help} in
	submit) cmd_submit ;;
	status) cmd_status ;;
	batch-status) cmd_batch_status ;;
	submit-batch) cmd_submit_batch ;;
	cancel) cmd_cancel ;;
	results) cmd_results ;;
	queue) cmd_queue ;;
	help | -h | --help) usage ;;
	*)
		warn "unknown command: $1 (this runner knows submit, submit-batch, status, batch-status, cancel, results, queue)"
		usage >&2
		exit 1
		;;
	esac
}
