#!/bin/sh
# expect.sh — run a command and check its exit status and output.
#
#   expect.sh STATUS REGEX COMMAND [ARGS...]
#
# Passes (exit 0) when COMMAND exits with exactly STATUS and its combined
# stdout+stderr matches the extended regular expression REGEX (an empty
# REGEX matches anything).  Lets ctest assert "this must fail with exit 1
# and say why", which WILL_FAIL alone cannot (it accepts any failure,
# including a crash).  Prints what it ran and saw, for the ctest log.
set -u
if [ $# -lt 3 ]; then
	echo "usage: expect.sh STATUS REGEX COMMAND [ARGS...]" >&2
	exit 2
fi
want_status=$1
regex=$2
shift 2
out=$("$@" 2>&1)
status=$?
printf '$ %s\n%s\n[exit %s]\n' "$*" "$out" "$status"
if [ "$status" -ne "$want_status" ]; then
	echo "expect.sh: FAIL: exit status $status, expected $want_status" >&2
	exit 1
fi
if [ -n "$regex" ] && ! printf '%s\n' "$out" | grep -Eq -- "$regex"; then
	echo "expect.sh: FAIL: output does not match /$regex/" >&2
	exit 1
fi
exit 0
