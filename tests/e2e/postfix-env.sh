# shellcheck shell=bash
# tests/e2e/postfix-env.sh - run a private, throw-away Postfix instance on
# 127.0.0.1 for the end-to-end tests and the demo.  Source this file from bash.
#
# Variables the caller sets before pf_setup (and keeps set for the other pf_*):
#
#   PF_DIR        absolute path of a fresh directory for this instance; holds
#                 etc/ (main.cf, master.cf, transport), spool/ (queue_directory),
#                 data/ (data_directory), maillog, bin/ (capture, sendmail) and
#                 capture/<recipient>/*.eml.  May be under /tmp.  Only the
#                 characters A-Z a-z 0-9 . _ - / are accepted (main.cf/master.cf
#                 cannot quote).  Made world-traversable (chmod go+rx).
#   PF_PORT       SMTP port on 127.0.0.1 (e.g. 2525).
#   PF_PIPE_ARGV  argv of the "mailtriage" pipe(8) transport, with Postfix's
#                 macros left literal (use single quotes), e.g.
#                 '/tmp/x/bin/mailtriage-pipe -c /tmp/x/mailtriage.conf -f ${sender} -- ${recipient}'
#                 The command runs as PF_PIPE_USER with the environment
#                 LANG, MAIL_CONFIG=$PF_DIR/etc, PATH=/usr/bin:/bin.
#   PF_PIPE_USER  unprivileged user the pipe transports run as (default
#                 "mailtriage"); created with useradd --system if missing.
#   PF_MONITORED  space-separated addresses routed to the mailtriage transport,
#                 e.g. "support@site.test sales@site.test".
#   PF_MILTER     optional smtpd_milters value, e.g. inet:127.0.0.1:8891; when
#                 set, milter_default_action = accept and milter_protocol = 6.
#                 non_smtpd_milters is always empty.
#   PF_CHROOT     optional "debian": the chroot column of master.cf as Debian
#                 ships it (smtpd, cleanup, pickup, rewrite, bounce ... run
#                 chrooted in the queue directory), and the files Debian's
#                 init script copies into the chroot (etc/hosts, services ...).
#                 A relative unix: milter path is then resolved in the queue
#                 directory, as on a stock Debian Postfix.
#
# Routing: PF_MONITORED -> mailtriage:, everything else (rest of site.test,
# customer.test, any other domain, bounces) -> capture:, a pipe that stores
# each message (with Return-Path) as $PF_DIR/capture/<recipient>/<name>.eml
# (<recipient> lower-cased, "/" replaced by "_"; names sort in arrival order;
# written to a dot-temp file and renamed, so *.eml files are always complete).
# No DNS is used anywhere.  Retries are fast (queue_run_delay and
# minimal_backoff_time 10s) so EX_TEMPFAIL paths can be tested.
#
# Functions (all return non-zero on failure, messages on stderr):
#   pf_setup                 write config, scripts, create user, register the
#                            config dir in /etc/postfix alternate_config_directories
#   pf_start                 start; wait (<=15 s) for the 220 banner
#   pf_stop                  stop (bounded, kills if needed); safe any time
#   pf_sendmail_path         print $PF_DIR/bin/sendmail (injects into THIS instance)
#   pf_wait_queue_empty [S]  wait (default 30 s) until the queue is empty
#   pf_captured RCPT         print captured message paths for RCPT, sorted
#   pf_wait_captured RCPT N [S]  wait (default 30 s) for >= N captured messages
#   pf_log                   print the maillog
#   pf_send FROM RCPT FILE   send FILE (full message, or "-" for stdin) with swaks;
#                            FROM "" means the null sender.  Returns swaks' status.
#                            Note: swaks replaces its %TOKENS% (e.g. %DATE%) in data.
#
# Side effect outside PF_DIR: /etc/postfix/main.cf alternate_config_directories
# gets "$PF_DIR/etc" appended (needed by the set-gid postdrop/postqueue).  Entries
# added by this library whose directory no longer exists are pruned again
# (tracked in /var/lib/mailtriage-e2e/alt-config-dirs).  The default instance is
# never started.

PF_POSTFIX_BIN=${PF_POSTFIX_BIN:-/usr/sbin}
PF_HOSTNAME=mx.site.test
_PF_REGISTRY_DIR=/var/lib/mailtriage-e2e
_PF_LOCK=/run/lock/mailtriage-pf-postconf.lock

_pf_err() { printf 'postfix-env: %s\n' "$*" >&2; }

_pf_check_vars() {
	if [ -z "${PF_DIR:-}" ]; then _pf_err "PF_DIR is not set"; return 1; fi
	case "$PF_DIR" in
	/*) ;;
	*) _pf_err "PF_DIR must be absolute: $PF_DIR"; return 1 ;;
	esac
	if [[ ! "$PF_DIR" =~ ^/[A-Za-z0-9._/-]+$ ]]; then
		_pf_err "PF_DIR has characters Postfix cannot take: $PF_DIR"; return 1
	fi
	PF_DIR=${PF_DIR%/}
	if [[ ! "${PF_PORT:-}" =~ ^[0-9]+$ ]] || [ "$PF_PORT" -lt 1 ] || [ "$PF_PORT" -gt 65535 ]; then
		_pf_err "PF_PORT must be a port number: ${PF_PORT:-}"; return 1
	fi
	PF_PIPE_USER=${PF_PIPE_USER:-mailtriage}
	if [[ ! "$PF_PIPE_USER" =~ ^[a-z_][a-z0-9_-]*$ ]] || [ "$PF_PIPE_USER" = root ]; then
		_pf_err "bad PF_PIPE_USER: $PF_PIPE_USER"; return 1
	fi
	return 0
}

_pf_etc() { printf '%s/etc' "$PF_DIR"; }

# PID of this instance's master, or nothing.  The pid file alone may be stale
# (pid reused), so also require /proc/PID/exe to be Postfix's master.
_pf_master_pid() {
	local f="$PF_DIR/spool/pid/master.pid" pid exe
	[ -r "$f" ] || return 1
	read -r pid <"$f" 2>/dev/null || return 1
	pid=${pid//[^0-9]/}
	[ -n "$pid" ] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
	case "$exe" in
	*/master) printf '%s\n' "$pid"; return 0 ;;
	esac
	return 1
}

# First line the SMTP port sends, or non-zero.
_pf_banner() {
	# shellcheck disable=SC2016  # expanded by the inner bash
	timeout 5 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		IFS= read -r -t 3 line <&3 || exit 1
		printf "QUIT\r\n" >&3
		printf "%s\n" "${line%$'"'"'\r'"'"'}"
	' _ "$PF_PORT" 2>/dev/null
}

_pf_banner_ok() {
	local b
	b=$(_pf_banner) || return 1
	case "$b" in
	"220 $PF_HOSTNAME "*|"220-$PF_HOSTNAME "*) return 0 ;;
	esac
	return 1
}

# Add $PF_DIR/etc to alternate_config_directories of the DEFAULT instance
# (idempotent; serialized with flock; prunes our own stale entries).
_pf_register_config_dir() {
	local dir cur new e reg fd keep
	dir=$(_pf_etc)
	[ -e /etc/postfix/main.cf ] || { : >/etc/postfix/main.cf || return 1; }
	mkdir -p "$_PF_REGISTRY_DIR" "$(dirname "$_PF_LOCK")" || return 1
	reg="$_PF_REGISTRY_DIR/alt-config-dirs"
	exec {fd}>"$_PF_LOCK" || return 1
	if ! flock -w 30 "$fd"; then
		exec {fd}>&-; _pf_err "timeout waiting for $_PF_LOCK"; return 1
	fi
	touch "$reg"
	cur=$("$PF_POSTFIX_BIN/postconf" -c /etc/postfix -h alternate_config_directories 2>/dev/null)
	local -a list
	read -r -a list <<<"${cur//,/ }"
	new=""
	for e in "${list[@]}"; do
		# prune entries we added earlier whose instance is gone
		if [ "$e" != "$dir" ] && [ ! -d "$e" ] && grep -qxF -- "$e" "$reg"; then
			continue
		fi
		case " $new " in *" $e "*) continue ;; esac
		new="${new:+$new }$e"
	done
	case " $new " in *" $dir "*) ;; *) new="${new:+$new }$dir" ;; esac
	# keep the registry to entries still listed
	keep=$(for e in $new; do grep -qxF -- "$e" "$reg" && printf '%s\n' "$e"; done)
	{ [ -n "$keep" ] && printf '%s\n' "$keep"; printf '%s\n' "$dir"; } | sort -u >"$reg.tmp" && mv "$reg.tmp" "$reg"
	if [ "$new" != "${list[*]}" ]; then
		"$PF_POSTFIX_BIN/postconf" -c /etc/postfix -e "alternate_config_directories = ${new// /, }" || {
			exec {fd}>&-; return 1; }
	fi
	exec {fd}>&-
	return 0
}

_pf_ensure_user() {
	getent passwd "$PF_PIPE_USER" >/dev/null && return 0
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$PF_PIPE_USER" 2>/dev/null
	getent passwd "$PF_PIPE_USER" >/dev/null || { _pf_err "cannot create user $PF_PIPE_USER"; return 1; }
}

# What Debian's postfix init script copies into the chroot (the queue directory) before it
# starts Postfix, so that chrooted daemons resolve names and time as the host does.
_pf_prepare_chroot() {
	local spool=$PF_DIR/spool f
	mkdir -p "$spool/etc" || return 1
	for f in localtime host.conf resolv.conf nsswitch.conf hosts services; do
		[ -e "/etc/$f" ] && { cp -L "/etc/$f" "$spool/etc/$f" || return 1; }
	done
	return 0
}

pf_setup() {
	_pf_check_vars || return 1
	local etc=$PF_DIR/etc a ulow
	if [ -z "${PF_PIPE_ARGV:-}" ] || [[ "$PF_PIPE_ARGV" == *$'\n'* ]]; then
		_pf_err "PF_PIPE_ARGV must be set (one line)"; return 1
	fi
	[ -x "$PF_POSTFIX_BIN/postfix" ] || { _pf_err "$PF_POSTFIX_BIN/postfix not found"; return 1; }
	if [ -n "$(_pf_master_pid)" ]; then
		_pf_err "instance in $PF_DIR is running; pf_stop first"; return 1
	fi
	_pf_ensure_user || return 1
	mkdir -p "$PF_DIR" "$etc" "$PF_DIR/bin" "$PF_DIR/spool" "$PF_DIR/capture" || return 1
	chown root:root "$PF_DIR" "$etc" "$PF_DIR/bin" "$PF_DIR/spool" || return 1
	chmod 755 "$PF_DIR" "$etc" "$PF_DIR/bin" "$PF_DIR/spool" || return 1
	chown "$PF_PIPE_USER:" "$PF_DIR/capture" && chmod 755 "$PF_DIR/capture" || return 1
	touch "$PF_DIR/maillog" && chmod 644 "$PF_DIR/maillog" || return 1

	# --- main.cf -------------------------------------------------------
	cat >"$etc/main.cf.tmp" <<EOF || return 1
# Private test instance written by tests/e2e/postfix-env.sh - do not edit.
compatibility_level = 3.6
queue_directory = $PF_DIR/spool
data_directory = $PF_DIR/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $PF_DIR/maillog
maillog_file_prefixes = $PF_DIR
syslog_name = postfix-test
myhostname = $PF_HOSTNAME
mydomain = site.test
myorigin = \$myhostname
mydestination =
relay_domains = site.test
mynetworks = 127.0.0.0/8
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
smtputf8_enable = no
biff = no
append_dot_mydomain = no
recipient_delimiter =
smtpd_banner = \$myhostname ESMTP Postfix (mailtriage test)
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
alias_maps =
alias_database =
local_recipient_maps =
transport_maps = texthash:$etc/transport
default_transport = capture
relay_transport = capture
local_transport = capture
virtual_transport = capture
mailtriage_destination_recipient_limit = 1
capture_destination_recipient_limit = 1
queue_run_delay = 10s
minimal_backoff_time = 10s
maximal_backoff_time = 60s
delay_warning_time = 0
non_smtpd_milters =
EOF
	if [ -n "${PF_MILTER:-}" ]; then
		cat >>"$etc/main.cf.tmp" <<EOF || return 1
smtpd_milters = $PF_MILTER
milter_default_action = accept
milter_protocol = 6
EOF
	else
		echo "smtpd_milters =" >>"$etc/main.cf.tmp" || return 1
	fi

	# --- master.cf: minimal; chroot "n" everywhere, or as Debian ships it ---
	local c=n
	[ "${PF_CHROOT:-}" = debian ] && c=y
	cat >"$etc/master.cf.tmp" <<EOF || return 1
# Private test instance written by tests/e2e/postfix-env.sh - do not edit.
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$PF_PORT inet n  -       $c       -       -       smtpd
pickup    unix  n       -       $c       60      1       pickup
cleanup   unix  n       -       $c       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       $c       -       -       trivial-rewrite
bounce    unix  -       -       $c       -       0       bounce
defer     unix  -       -       $c       -       0       bounce
trace     unix  -       -       $c       -       0       bounce
verify    unix  -       -       $c       -       1       verify
flush     unix  n       -       $c       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       $c       -       -       smtp
relay     unix  -       -       $c       -       -       smtp
showq     unix  n       -       $c       -       -       showq
error     unix  -       -       $c       -       -       error
retry     unix  -       -       $c       -       -       error
discard   unix  -       -       $c       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       $c       -       -       lmtp
anvil     unix  -       -       $c       -       1       anvil
scache    unix  -       -       $c       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
mailtriage unix -       n       n       -       10      pipe
  flags=Rq user=$PF_PIPE_USER null_sender= argv=$PF_PIPE_ARGV
capture   unix  -       n       n       -       -       pipe
  flags=Rq user=$PF_PIPE_USER null_sender= argv=$PF_DIR/bin/capture \${recipient}
EOF

	# --- transport map ---------------------------------------------------
	{
		echo "# Private test instance written by tests/e2e/postfix-env.sh"
		for a in ${PF_MONITORED:-}; do
			ulow=${a,,}
			printf '%s\tmailtriage:\n' "$ulow"
		done
		printf '%s\tcapture:\n' site.test .site.test customer.test .customer.test '*'
	} >"$etc/transport.tmp" || return 1

	local f
	for f in main.cf master.cf transport; do
		chmod 644 "$etc/$f.tmp" && mv -f "$etc/$f.tmp" "$etc/$f" || return 1
	done

	# --- capture pipe command ---------------------------------------------
	cat >"$PF_DIR/bin/capture.tmp" <<EOF || return 1
#!/bin/sh
# capture RECIPIENT - store stdin as one file in $PF_DIR/capture/<recipient>/
# Runs from pipe(8) as $PF_PIPE_USER. Exit 75 (EX_TEMPFAIL) on any failure.
umask 022
rcpt=\$(printf '%s' "\$1" | tr 'A-Z/' 'a-z_')
case "\$rcpt" in ""|.|..) rcpt=_invalid_ ;; esac
dir='$PF_DIR/capture'/"\$rcpt"
mkdir -p "\$dir" || exit 75
tmp=\$(mktemp "\$dir/.tmp.XXXXXXXX") || exit 75
if ! cat >"\$tmp"; then rm -f "\$tmp"; exit 75; fi
chmod 644 "\$tmp"
name=\$(date +%s%N).\$\$.\${tmp##*.}.eml
mv "\$tmp" "\$dir/\$name" || { rm -f "\$tmp"; exit 75; }
exit 0
EOF
	# --- sendmail wrapper -------------------------------------------------
	cat >"$PF_DIR/bin/sendmail.tmp" <<EOF || return 1
#!/bin/sh
# Inject into the private Postfix instance in $PF_DIR.
MAIL_CONFIG='$etc'
export MAIL_CONFIG
exec $PF_POSTFIX_BIN/sendmail "\$@"
EOF
	for f in capture sendmail; do
		chmod 755 "$PF_DIR/bin/$f.tmp" && mv -f "$PF_DIR/bin/$f.tmp" "$PF_DIR/bin/$f" || return 1
	done

	if ! runuser -u "$PF_PIPE_USER" -- test -x "$PF_DIR/bin/capture" -a -r "$etc/main.cf" -a -w "$PF_DIR/capture"; then
		_pf_err "user $PF_PIPE_USER cannot reach $PF_DIR (a parent directory not traversable, or noexec?)"
		return 1
	fi

	_pf_register_config_dir || { _pf_err "cannot update alternate_config_directories in /etc/postfix/main.cf"; return 1; }
	if [ "${PF_CHROOT:-}" = debian ]; then _pf_prepare_chroot || return 1; fi

	# creates the queue directories (post-install create-missing) and checks
	local out
	if ! out=$("$PF_POSTFIX_BIN/postfix" -c "$etc" check 2>&1); then
		_pf_err "postfix check failed:"; printf '%s\n' "$out" | head -n 20 >&2; return 1
	fi
	if [ -n "$out" ]; then printf '%s\n' "$out" >&2; fi
	return 0
}

pf_start() {
	_pf_check_vars || return 1
	local etc out
	etc=$(_pf_etc)
	[ -f "$etc/main.cf" ] || { _pf_err "run pf_setup first"; return 1; }
	if [ -z "$(_pf_master_pid)" ]; then
		if _pf_banner_ok || _pf_banner >/dev/null; then
			_pf_err "127.0.0.1:$PF_PORT is already in use by another server"
			return 1
		fi
		if ! out=$("$PF_POSTFIX_BIN/postfix" -c "$etc" start 2>&1); then
			_pf_err "postfix start failed:"; printf '%s\n' "$out" | head -n 20 >&2
			tail -n 30 "$PF_DIR/maillog" >&2 2>/dev/null
			return 1
		fi
	fi
	for _ in $(seq 1 150); do
		_pf_banner_ok && return 0
		sleep 0.1
	done
	_pf_err "no 220 banner on 127.0.0.1:$PF_PORT after 15 s; maillog tail:"
	tail -n 30 "$PF_DIR/maillog" >&2 2>/dev/null
	return 1
}

pf_stop() {
	[ -n "${PF_DIR:-}" ] || return 0
	PF_DIR=${PF_DIR%/}
	local pid etc=$PF_DIR/etc
	pid=$(_pf_master_pid) || return 0
	# "postfix stop" itself waits up to 5 s, then kill -9 the process group
	timeout 20 "$PF_POSTFIX_BIN/postfix" -c "$etc" stop >/dev/null 2>&1
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	# master runs setsid(): its process group is exactly this instance
	kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
	for _ in $(seq 1 30); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	_pf_err "master $pid did not exit"
	return 1
}

pf_sendmail_path() {
	[ -n "${PF_DIR:-}" ] || { _pf_err "PF_DIR is not set"; return 1; }
	printf '%s/bin/sendmail\n' "${PF_DIR%/}"
}

# Number of queue files (incoming active deferred maildrop hold).
_pf_queue_count() {
	local q=$PF_DIR/spool
	find "$q/incoming" "$q/active" "$q/deferred" "$q/maildrop" -type f 2>/dev/null | wc -l
}

pf_wait_queue_empty() {
	[ -n "${PF_DIR:-}" ] || { _pf_err "PF_DIR is not set"; return 1; }
	local secs=${1:-30} n=0 empty=0
	for _ in $(seq 1 $((secs * 10))); do
		n=$(_pf_queue_count)
		if [ "$n" -eq 0 ]; then
			# twice in a row, so a message in transit between queues is not missed
			empty=$((empty + 1))
			[ "$empty" -ge 2 ] && return 0
		else
			empty=0
		fi
		sleep 0.1
	done
	_pf_err "queue not empty after ${secs}s ($n files):"
	"$PF_POSTFIX_BIN/postqueue" -c "$PF_DIR/etc" -p >&2 2>/dev/null
	return 1
}

pf_captured() {
	[ -n "${PF_DIR:-}" ] || { _pf_err "PF_DIR is not set"; return 1; }
	local r=${1,,}
	r=${r//\//_}
	local d="${PF_DIR%/}/capture/$r"
	[ -n "$1" ] && [ -d "$d" ] || return 0
	find "$d" -maxdepth 1 -type f -name '*.eml' ! -name '.*' 2>/dev/null | LC_ALL=C sort
}

pf_wait_captured() {
	local rcpt=$1 n=$2 secs=${3:-30} c=0
	[[ "$n" =~ ^[0-9]+$ ]] || { _pf_err "pf_wait_captured RCPT N [SECONDS]"; return 1; }
	for _ in $(seq 1 $((secs * 10))); do
		c=$(pf_captured "$rcpt" | wc -l)
		[ "$c" -ge "$n" ] && return 0
		sleep 0.1
	done
	_pf_err "only $c of $n messages captured for $rcpt after ${secs}s"
	return 1
}

pf_log() {
	[ -n "${PF_DIR:-}" ] || { _pf_err "PF_DIR is not set"; return 1; }
	cat "${PF_DIR%/}/maillog" 2>/dev/null
}

pf_send() {
	if [ $# -ne 3 ]; then _pf_err "pf_send FROM RCPT FILE"; return 2; fi
	local from=$1 rcpt=$2 file=$3 data
	[ -n "$from" ] || from='<>'
	if [ "$file" = - ]; then data=-; else
		[ -r "$file" ] || { _pf_err "cannot read $file"; return 2; }
		data="@$file"
	fi
	timeout 120 swaks --silent 2 --server 127.0.0.1 --port "$PF_PORT" \
		--helo client.customer.test --from "$from" --to "$rcpt" \
		--data "$data" --timeout 30
}
