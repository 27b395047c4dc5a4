#!/bin/sh
# docs-check: the manual pages and etc/ files must match the binary and the
# tables it is built from. Run from anywhere after ./wsgate is built
# (WSGATE_BIN overrides the binary). Every check prints one line; the last
# line is "docs-check: N passed, M failed" and the exit status is non-zero
# when anything failed.
#
# Checked:
#   - every flag of `wsgate -h` is an entry of OPTIONS in man/wsgate.8, every
#     flag of its `usage: wsgate token` lines an entry of TOKEN SUBCOMMAND,
#     and every flag documented in those sections exists;
#   - every key of common/config.def is an entry of man/wsgate.conf.5 that
#     states its default, and a line of etc/wsgate.conf (commented-out lines
#     show the default); no documented key is unknown;
#   - every counter of common/counters.def, and every histogram of
#     common/hist.def, is in COUNTERS of man/wsgate.8 with its Prometheus
#     name, and no documented counter or histogram is unknown;
#   - every admin route of master/adm.c is in ADMIN ENDPOINTS with its auth;
#   - every close code of worker/cli.h (CLI_CLOSE_*), and every RFC 6455
#     code the workers send, is an entry of PROTOCOLS in man/wsgate.8;
#   - every exit status of common/wsg.h and every legacy environment variable
#     of common/config.c is documented;
#   - `wsgate -t` accepts etc/wsgate.conf, and the same file with every
#     commented-out default enabled;
#   - `sh -n etc/init.d/wsgate`;
#   - groff renders both pages without a warning (skipped without groff).

cd "$(dirname "$0")/.." || exit 2

BIN=${WSGATE_BIN:-./wsgate}
MAN8=man/wsgate.8
MAN5=man/wsgate.conf.5
CONF=etc/wsgate.conf
INIT=etc/init.d/wsgate
CONFIG_DEF=common/config.def
COUNTERS_DEF=common/counters.def
HIST_DEF=common/hist.def

passed=0
failed=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/docs-check.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
trap 'exit 2' HUP INT TERM

pass() {
    passed=$((passed + 1))
    printf 'ok   %s\n' "$*"
}

fail() {
    failed=$((failed + 1))
    printf 'FAIL %s\n' "$*"
}

# The binary, with a clean environment so that the caller's WSGATE_*, PORT
# or FRONTEND_URL cannot change the result.
run_bin() {
    env -i PATH="$PATH" "$BIN" "$@"
}

# entries FILE SECTION: one line per .TP entry of the section,
# "tag<TAB>body", roff markup removed (fonts, \- and macro names).
entries() {
    awk -v sec="$2" '
        function out() { if (tag != "") print tag "\t" body; tag = "" }
        /^\.SH / {
            out()
            name = substr($0, 5)
            gsub(/"/, "", name)
            insec = (name == sec)
            want = 0
            next
        }
        !insec { next }
        /^\.TP/ { out(); want = 1; body = ""; next }
        /^\.(SS|PP|P|LP)( |$)/ { out(); want = 0; next }
        want { tag = $0; want = 0; body = ""; next }
        tag != "" { body = body " " $0 }
        END { out() }
    ' "$1" | normalize
}

# section FILE SECTION: the raw roff lines of a section, normalized.
section() {
    awk -v sec="$2" '
        /^\.SH / { name = substr($0, 5); gsub(/"/, "", name)
                   insec = (name == sec); next }
        insec
    ' "$1" | normalize
}

normalize() {
    sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/\\(en/-/g' \
        -e 's/\\(mu/x/g' -e 's/\\e/\\/g' -e 's/\\&//g' -e 's/\\c//g' \
        -e 's/\\://g' \
        -e 's/^\.[A-Z][A-Z]* //' -e 's/ \.[A-Z][A-Z]* / /g' -e 's/"//g'
}

for f in "$BIN" "$MAN8" "$MAN5" "$CONF" "$INIT" "$CONFIG_DEF" \
    "$COUNTERS_DEF" "$HIST_DEF" master/adm.c common/wsg.h common/config.c; do
    if [ ! -e "$f" ]; then
        echo "docs-check: $f is missing (build ./wsgate first: make wsgate)"
        echo "docs-check: $passed passed, 1 failed"
        exit 1
    fi
done

# --- flags -----------------------------------------------------------------
if run_bin -h >"$TMP/usage" 2>&1; then
    pass "wsgate -h exits 0"
else
    fail "wsgate -h does not exit 0"
fi
# The usage text has two parts: the daemon's flags, then, from the line
# "usage: wsgate token", the token subcommand's. A flag is an indented
# line starting with "-", or a "-x"/"--xx" word on a usage line or in
# brackets ("[--ttl SECONDS]").
usage_flags() {
    cat >"$TMP/usage.part"
    { sed -n 's/^  *\(--*[A-Za-z][A-Za-z0-9-]*\).*/\1/p' "$TMP/usage.part"
      grep -E '^usage:|^ +\[' "$TMP/usage.part" \
          | grep -oE '(^|[ [])--?[A-Za-z][A-Za-z0-9-]*' | sed 's/^[ []//'
    } | sort -u
}
awk '/^usage: wsgate token/ { exit } { print }' "$TMP/usage" | sed 1d \
    | usage_flags >"$TMP/flags"
awk '/^usage: wsgate token/ { f = 1 } f' "$TMP/usage" \
    | sed 's/^usage: wsgate token/usage:/' | usage_flags >"$TMP/tokflags"
if [ -s "$TMP/flags" ]; then
    pass "wsgate -h lists $(wc -l <"$TMP/flags") flags"
else
    fail "no flag found in the output of wsgate -h"
fi
# check_flags SECTION LIST: every flag of LIST is an entry of SECTION of
# wsgate.8 and every flag documented there is in LIST.
check_flags() {
    entries "$MAN8" "$1" | cut -f1 | tr ',' ' ' | tr ' ' '\n' \
        | grep '^-' | sort -u >"$TMP/docflags"
    while read -r flag; do
        if grep -qx -e "$flag" "$TMP/docflags"; then
            pass "flag $flag documented in $1 of $MAN8"
        else
            fail "flag $flag (wsgate -h) has no $1 entry in $MAN8" \
                "(write it as $(printf '%s' "$flag" | sed 's/-/\\-/g'))"
        fi
    done <"$2"
    # Long aliases the parser takes without listing them in the usage text.
    while read -r flag; do
        case "$flag" in
        --help | --version) continue ;;
        esac
        if grep -qx -e "$flag" "$2"; then
            :
        else
            fail "$1 of $MAN8 documents flag $flag, which wsgate -h does" \
                "not list there"
        fi
    done <"$TMP/docflags"
}
check_flags OPTIONS "$TMP/flags"
if [ -s "$TMP/tokflags" ]; then
    pass "wsgate -h lists $(wc -l <"$TMP/tokflags") flags of wsgate token"
    check_flags "TOKEN SUBCOMMAND" "$TMP/tokflags"
else
    fail "no 'usage: wsgate token' line with flags in the output of wsgate -h"
fi

# --- configuration keys ------------------------------------------------------
sed -n 's/^CFG(\([a-z0-9_]*\), *[A-Z]*, *"\([^"]*\)".*/\1 \2/p' \
    "$CONFIG_DEF" >"$TMP/keys"
if [ -s "$TMP/keys" ]; then
    pass "$CONFIG_DEF declares $(wc -l <"$TMP/keys") keys"
else
    fail "no key found in $CONFIG_DEF"
fi
entries "$MAN5" KEYS >"$TMP/dockeys"
while read -r key dflt; do
    body=$(awk -F '\t' -v k="$key" '$1 == k { print $2 }' "$TMP/dockeys")
    if [ -z "$body" ]; then
        fail "key $key has no entry (.TP / .B $key) under KEYS in $MAN5"
        continue
    fi
    ok=0
    if [ -n "$dflt" ]; then
        want="default $dflt"
        case " $body " in
        *"default $dflt "* | *"default $dflt."* | *"default $dflt,"*) ok=1 ;;
        esac
    else
        want="default empty' (or 'default none"
        case "$body" in
        *"default empty"* | *"default none"*) ok=1 ;;
        esac
    fi
    if [ "$ok" = 1 ]; then
        pass "key $key documented in $MAN5 with its default"
    else
        fail "key $key: $MAN5 does not say '$want'"
    fi
done <"$TMP/keys"
cut -f1 "$TMP/dockeys" | while read -r key; do
    grep -q "^$key " "$TMP/keys" || grep -qx "$key" "$TMP/keys" \
        || echo "$key"
done >"$TMP/unknown"
if [ -s "$TMP/unknown" ]; then
    fail "$MAN5 documents keys not in $CONFIG_DEF: $(tr '\n' ' ' <"$TMP/unknown")"
else
    pass "$MAN5 documents no unknown key"
fi

while read -r key dflt; do
    line=$(grep -E "^(# )?$key =" "$CONF" | head -n 1)
    case "$line" in
    "")
        fail "key $key missing from $CONF (set it or show '# $key = $dflt')"
        ;;
    "# "*)
        val=$(printf '%s\n' "$line" | sed 's/^# [a-z0-9_]* =[ ]*//')
        if [ "$val" = "$dflt" ]; then
            pass "key $key in $CONF (commented, default $dflt)"
        else
            fail "key $key: $CONF shows '$val' but the default is '$dflt'"
        fi
        ;;
    *)
        pass "key $key set in $CONF"
        ;;
    esac
done <"$TMP/keys"

# --- counters ----------------------------------------------------------------
sed -n 's/^CTR(\([a-z0-9_]*\), *\([A-Z]*\), *\([A-Z]*\),.*/\1 \2 \3/p' \
    "$COUNTERS_DEF" >"$TMP/ctrs"
if [ -s "$TMP/ctrs" ]; then
    pass "$COUNTERS_DEF declares $(wc -l <"$TMP/ctrs") counters"
else
    fail "no counter found in $COUNTERS_DEF"
fi
entries "$MAN8" COUNTERS | cut -f1 | tr -d '()' >"$TMP/docctrs"
while read -r name kind unit; do
    prom="wsgate_$name"
    case "$unit" in
    BYTES) prom="${prom}_bytes" ;;
    SECONDS) prom="${prom}_seconds" ;;
    esac
    [ "$kind" = COUNTER ] && prom="${prom}_total"
    if grep -qx "$name $prom" "$TMP/docctrs"; then
        pass "counter $name documented in $MAN8 as $prom"
    else
        fail "counter $name: no COUNTERS entry '\\fB$name\\fR (\\fB$prom\\fR)' in $MAN8"
    fi
done <"$TMP/ctrs"
# Histograms: wsgate_<name>_seconds, documented in the same section.
sed -n 's/^HIST(\([a-z0-9_]*\),.*/\1/p' "$HIST_DEF" >"$TMP/hists"
if [ -s "$TMP/hists" ]; then
    pass "$HIST_DEF declares $(wc -l <"$TMP/hists") histograms"
else
    fail "no histogram found in $HIST_DEF"
fi
while read -r name; do
    prom="wsgate_${name}_seconds"
    if grep -qx "$name $prom" "$TMP/docctrs"; then
        pass "histogram $name documented in $MAN8 as $prom"
    else
        fail "histogram $name: no COUNTERS entry '\\fB$name\\fR (\\fB$prom\\fR)' in $MAN8"
    fi
done <"$TMP/hists"
while read -r name prom; do
    case "$name" in
    wsgate_*) continue ;; # "Other metrics", not in the table
    esac
    grep -q "^$name " "$TMP/ctrs" || grep -qx "$name" "$TMP/hists" \
        || fail "$MAN8 documents counter $name, which $COUNTERS_DEF and $HIST_DEF lack"
done <"$TMP/docctrs"

# --- admin routes ------------------------------------------------------------
sed -n 's/^ *{"\(\/[^"]*\)", *EVHTTP_REQ_\([A-Z]*\), *\([01]\),.*/\1 \2 \3/p' \
    master/adm.c >"$TMP/routes"
if [ -s "$TMP/routes" ]; then
    pass "master/adm.c declares $(wc -l <"$TMP/routes") routes"
else
    fail "no route found in master/adm.c"
fi
section "$MAN8" "ADMIN ENDPOINTS" >"$TMP/admin"
tab=$(printf '\t')
while read -r path method auth; do
    [ "$auth" = 1 ] && a=key || a=none
    if grep -q "^$method$tab$path$tab$a$tab" "$TMP/admin"; then
        pass "admin route $method $path ($a) documented"
    else
        fail "admin route $method $path: no '$method $path $a' row in ADMIN ENDPOINTS of $MAN8"
    fi
done <"$TMP/routes"

# --- close codes ---------------------------------------------------------------
# Every close code a worker sends has an entry (.TP / .B code) in PROTOCOLS
# of wsgate.8: the 4xxx codes of worker/cli.h, and the RFC 6455 codes of
# common/wsf.h named in worker/*.c or common/wsf.c (1005 and 1006 are never
# sent).
entries "$MAN8" PROTOCOLS | cut -f1 >"$TMP/doccodes"
{
    sed -n 's/^#define \(CLI_CLOSE_[A-Z_]*\) *\([0-9][0-9]*\).*/\1 \2/p' \
        worker/cli.h
    grep -oh 'WSF_CLOSE_[A-Z_]*' worker/*.c common/wsf.c | sort -u \
        | while read -r name; do
            sed -n "s/^#define \($name\) *\([0-9][0-9]*\).*/\1 \2/p" \
                common/wsf.h
        done
} >"$TMP/codes"
if [ -s "$TMP/codes" ]; then
    pass "worker/cli.h and common/wsf.h give $(wc -l <"$TMP/codes") close codes"
else
    fail "no close code found in worker/cli.h and common/wsf.h"
fi
while read -r name code; do
    case "$code" in
    1005 | 1006) continue ;;
    esac
    if grep -qx "$code" "$TMP/doccodes"; then
        pass "close code $code ($name) documented"
    else
        fail "close code $code ($name) has no entry (.TP / .B $code) in" \
            "PROTOCOLS of $MAN8"
    fi
done <"$TMP/codes"

# --- exit statuses and environment -------------------------------------------
entries "$MAN8" "EXIT STATUS" | cut -f1 >"$TMP/docexit"
sed -n 's/^#define WSG_EXIT_\([A-Z_]*\) *\([0-9][0-9]*\).*/\1 \2/p' \
    common/wsg.h >"$TMP/exits"
while read -r what code; do
    if grep -qx "$code" "$TMP/docexit"; then
        pass "exit status $code ($what) documented"
    else
        fail "exit status $code (WSG_EXIT_$what) missing from EXIT STATUS of $MAN8"
    fi
done <"$TMP/exits"

awk '/cfg_legacy_env\[\] *= *{/ { f = 1; next } f && /^};/ { f = 0 } f' \
    common/config.c | sed -n 's/.*{"\([A-Z_]*\)", *"\([a-z0-9_]*\)"}.*/\1 \2/p' \
    >"$TMP/legacy"
entries "$MAN8" ENVIRONMENT >"$TMP/env8"
section "$MAN5" ENVIRONMENT >"$TMP/env5"
while read -r var key; do
    if awk -F '\t' -v v="$var" '$1 == v' "$TMP/env8" | grep -q " $key "; then
        pass "variable $var (key $key) documented in $MAN8"
    else
        fail "variable $var: no ENVIRONMENT entry naming key $key in $MAN8"
    fi
    if grep -qx "$var" "$TMP/env5"; then
        pass "variable $var documented in $MAN5"
    else
        fail "variable $var missing from ENVIRONMENT of $MAN5"
    fi
done <"$TMP/legacy"

# --- the files run -----------------------------------------------------------
if run_bin -t -c "$CONF" >"$TMP/t.out" 2>&1; then
    pass "wsgate -t -c $CONF"
else
    fail "wsgate -t -c $CONF: $(cat "$TMP/t.out")"
fi
# Every commented-out default, enabled, must be accepted too.
while read -r key dflt; do
    if grep -qE "^$key =" "$CONF"; then
        grep -E "^$key =" "$CONF"
    else
        sed -n "s/^# \($key =.*\)/\1/p" "$CONF" | head -n 1
    fi
done <"$TMP/keys" >"$TMP/all.conf"
if run_bin -t -c "$TMP/all.conf" >"$TMP/t.out" 2>&1; then
    pass "wsgate -t accepts $CONF with every default uncommented"
else
    fail "$CONF with its defaults uncommented: $(cat "$TMP/t.out")"
fi

if sh -n "$INIT" 2>"$TMP/sh.out"; then
    pass "sh -n $INIT"
else
    fail "sh -n $INIT: $(cat "$TMP/sh.out")"
fi

# --- rendering ---------------------------------------------------------------
if command -v groff >/dev/null 2>&1; then
    for page in "$MAN8" "$MAN5"; do
        if groff -t -man -Tutf8 -ww -z "$page" >"$TMP/groff.out" 2>&1 \
            && [ ! -s "$TMP/groff.out" ]; then
            pass "groff -t -man -ww renders $page without warnings"
        else
            fail "groff warnings for $page: $(cat "$TMP/groff.out")"
        fi
    done
else
    echo "skip groff is not installed: man page warnings not checked"
fi

echo "docs-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
