# tap.sh - what the integration scripts share: a scratch folder and TAP checks.
#
# Source it after setting the script's own variables:  . "$(dirname "$0")/tap.sh"
# Then `check NAME STATUS OUT_PATTERN ERR_PATTERN -- COMMAND...` runs COMMAND and prints
# "ok N - NAME" when it exits with STATUS and its stdout/stderr match the (extended)
# patterns ("" matches anything), else "not ok" with the output as TAP comments. End with
# `tap_done`, which prints the plan and returns non-zero if anything failed.
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; sed 's/^/# /' "$TMP/out" "$TMP/err" 2>/dev/null | head -20; }
# check NAME EXPECTED_STATUS PATTERN_IN_STDOUT PATTERN_IN_STDERR -- COMMAND...
check() {
    name=$1 want=$2 out_pat=$3 err_pat=$4
    shift 5
    "$@" >"$TMP/out" 2>"$TMP/err"
    got=$?
    if [ "$got" -ne "$want" ]; then
        echo "# exit status $got, want $want" >>"$TMP/err"
        not_ok "$name"
    elif [ -n "$out_pat" ] && ! grep -Eq -- "$out_pat" "$TMP/out"; then
        echo "# stdout lacks /$out_pat/" >>"$TMP/err"
        not_ok "$name"
    elif [ -n "$err_pat" ] && ! grep -Eq -- "$err_pat" "$TMP/err"; then
        echo "# stderr lacks /$err_pat/" >>"$TMP/err"
        not_ok "$name"
    else
        ok "$name"
    fi
}

tap_done() {
    echo "1..$n"
    [ "$failed" -eq 0 ]
}
