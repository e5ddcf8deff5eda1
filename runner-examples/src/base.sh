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
