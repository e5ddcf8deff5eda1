# The helpers every runner has, the local one too (runner-examples/src/base.sh).
say() { printf '%s\n' "$*"; }
warn() { printf 'grunter: %s\n' "$*" >&2; }
ts() { date -u '+%Y-%m-%d %H:%M:%S UTC'; }

# Readers must never see half a file: write a dot-file beside it (grund
# neither lists nor commits dot-files) and rename it.
put() {
	_tmp=".$1.tmp.$$"
	printf '%s\n' "$2" >"$_tmp" && mv -f "$_tmp" "$1"
}

# Is the (relative) path $1 inside the job directory, also physically?
inside() {
	case $1 in /* | .. | ../* | */.. | */../*) return 1 ;; esac
	case $1 in
	*/*)
		_d=$(cd -P -- "${1%/*}" 2>/dev/null && pwd -P) || return 1
		case $_d in "$top" | "$top"/*) return 0 ;; esac
		return 1
		;;
	esac
	return 0
}

# `results`: the job directory's files that GRUNT_RUN_RESULTS names (one glob a
# line), each once, regular files only, never outside the directory.
cmd_results() {
	[ -n "${GRUNT_RUN_RESULTS:-}" ] || return 0
	top=$(pwd -P)
	nl='
'
	seen=$nl
	# Patterns are one a line: split on newlines only, without globbing; then
	# glob each pattern with no field splitting, so spaces survive.
	set -f
	IFS=$nl
	for _pat in $GRUNT_RUN_RESULTS; do
		case $_pat in
		*[![:space:]]*) ;;
		*) continue ;;
		esac
		case $_pat in
		/* | .. | ../* | */.. | */../*)
			warn "results: ignoring pattern outside the job directory: $_pat"
			continue
			;;
		esac
		set +f
		IFS=
		for _f in $_pat; do
			if [ ! -f "$_f" ] || [ -L "$_f" ]; then continue; fi
			while :; do
				case $_f in ./*) _f=${_f#./} ;; *) break ;; esac
			done
			case $_f in *"$nl"*) continue ;; esac
			inside "$_f" || continue
			case $seen in *"$nl$_f$nl"*) continue ;; esac
			seen=$seen$_f$nl
			say "$_f"
		done
		set -f
		IFS=$nl
	done
	set +f
	IFS=' 	
'
}
