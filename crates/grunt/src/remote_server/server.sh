#!/bin/sh
# grunt's look at a project's server side, and its creation there. Run as
#   sh -c "$(this script on one line)" sh ACTION ROOT SERVER USER PROJECT [BRANCH_REF DEFSERVER_FILE]
# where ACTION is `probe` or `create`, ROOT the server root (relative to the home directory,
# or absolute), USER the user name in the paths ('': the account's own, `$USER` there, as the
# server's grunt and grund take it).
#
# grunt sends it as one line (the login shell may be csh, which takes no newlines inside
# quotes): comment lines and blank lines are dropped and the other lines joined with spaces,
# so every command ends with `;` and nothing may rely on a line break.

action="$1";
root="$2";
server="$3";
user="$4";
project="$5";
# `a` the account, `u` the user in the paths, `b` the bare repos' base, `w` the working
# copies' base, `hb` grund's heartbeat.
a="${USER:-${LOGNAME:-$(id -un)}}";
u="${user:-$a}";
b="$root/bb/$server/$u/$project";
w="$root/wc/$server/$u/$project";
hb="$root/grund.heartbeat";

# Prints `key=value` lines (and the heartbeat's lines prefixed `heartbeat.`) about the
# account, its tools, grund's heartbeat and whether its pid runs here, and the repos.
probe() {
  echo "account=$a";
  echo "user=$u";
  if command -v git >/dev/null 2>&1; then
    echo "git=$(git --version 2>&1 | head -n 1)";
  fi;
  for t in grunt grund; do
    if command -v "$t" >/dev/null 2>&1; then
      echo "$t.path=$(command -v "$t")";
      echo "$t.version=$("$t" --version 2>&1 | head -n 1)";
    fi;
  done;
  if [ -r "$hb" ]; then
    sed 's/^/heartbeat./' "$hb";
    p=$(sed -n 's/^pid: *//p' "$hb" | head -n 1);
    if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
      # Split `STAT COMM` into $1 and $2.
      # shellcheck disable=SC2046
      set -- $(ps -o stat= -o comm= -p "$p" 2>/dev/null);
      case "${1:-}" in
        Z*) ;;
        '') echo grund.process=running ;;
        *) echo "grund.process=${2:-running}" ;;
      esac;
    fi;
  fi;
  for k in jobs results; do
    if [ ! -d "$b/$k" ]; then
      s=missing;
    elif [ -f "$b/$k/refs/heads/master" ] || grep -qs ' refs/heads/master$' "$b/$k/packed-refs"; then
      s=ready;
    else
      s=empty;
    fi;
    echo "repo.$k=$s";
  done;
};

# The bare repos (an existing one only gets what is missing; `files` refs because libgit2,
# in grund, cannot read reftable), the working copies' directories, and the account's
# default server file when it has none.
create() {
  branch="$1";
  defserver="$2";
  set -e;
  for k in jobs results; do
    mkdir -p "$b/$k";
    git -c init.defaultRefFormat=files init -q --bare "$b/$k";
    git --git-dir="$b/$k" symbolic-ref HEAD "$branch";
    git --git-dir="$b/$k" config receive.denyNonFastForwards true;
    git --git-dir="$b/$k" config receive.denyDeletes true;
  done;
  mkdir -p "$w/jobs" "$w/results";
  [ -e "$defserver" ] || printf '%s\n' "$server" > "$defserver";
};

case "$action" in
  probe) probe ;;
  create) shift 5; create "$@" ;;
  *) echo "unknown action $action" >&2; exit 2 ;;
esac;
