#!/bin/bash
# Hostile mail through mailtriage-pipe --inline, the fake LLM and a sendmail stand-in that
# records its argv and input: every message of tests/data/hostile, and the big ones that
# tests/hostile.py generates (2,000 header fields, a 1 MB header line, a 2 MB body line, a
# 30 MB body), goes to two mailboxes (support@: draft mode, so every message becomes an
# escalation that carries the model's proposal; sales@: automatic replies). For each: the
# pipe records it and exits 0 without a sanitizer report; every row ends done, or failed with
# a reason; every mail that left has our headers only and the one recipient its argv names,
# and the argv is one of our two forms; an escalation's message/rfc822 part is the recorded
# original byte for byte; `mailtriagectl show` prints clean lines. Then the same for a model
# that writes forged lines (the fake LLM's forge and forgeintent modes).
set -u
build=$(cd "${top_builddir:-$(dirname "$0")/..}" && pwd)
src=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
pipe=$build/pipe/mailtriage-pipe ctl=$build/ctl/mailtriagectl
hostile="python3 $src/tests/hostile.py"
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
tmp=$(mktemp -d)
trap 'kill "$(cat "$tmp/llm.pid" 2>/dev/null)" 2>/dev/null; rm -rf "$tmp"' EXIT
MAX_SIZE=10485760 # [daemon] max_message_size's default: the 30 MB body is recorded cut

python3 "$src/tests/fake-llm/fake_llm.py" --port-file "$tmp/port" --log /dev/null \
	--pid-file "$tmp/llm.pid" &
for _ in $(seq 1 50); do [ -s "$tmp/port" ] && break; sleep 0.2; done
port=$(cat "$tmp/port")
$hostile generate "$tmp/big"

# run NAME FILE MODE SENDER: one message through a fresh database; sets $dir.
run() {
	local name=$1 file=$2 mode=$3 sender=$4
	dir=$tmp/run/$name-$mode
	mkdir -p "$dir/sent"
	cat > "$dir/sendmail" <<EOF2
#!/bin/sh
n=\$(ls "$dir/sent" | wc -l)
printf '%s\n' "\$@" > "$dir/sent/\$n.argv"
cat > "$dir/sent/\$n.eml"
EOF2
	chmod +x "$dir/sendmail"
	cat > "$dir/mt.conf" <<EOF2
[daemon]
database = $dir/mt.db
hostname = mt.site.test
busy_timeout = 5s
[llm]
provider = openai
url = http://127.0.0.1:$port/$mode/v1
model = fake-model
timeout = 20s
max_attempts = 1
[sendmail]
path = $dir/sendmail
[mailbox support@site.test]
escalate_to = human@site.test
mode = draft
[mailbox sales@site.test]
escalate_to = human@site.test
reply_interval = 0
[intent send_info]
action = reply
EOF2
	# pipe(8) runs the command with LANG=C (Postfix's import_environment).
	LC_ALL=C LANG=C "$pipe" -c "$dir/mt.conf" -f "$sender" --inline -- support@site.test sales@site.test \
		< "$file" > "$dir/pipe.out" 2> "$dir/pipe.err"
	echo $? > "$dir/pipe.status"
}

sanitizer_clean() { ! grep -q -e 'ERROR: AddressSanitizer' -e 'runtime error:' -e 'LeakSanitizer' "$@"; }

# Every row ended done, or failed with a reason; prints the states.
rows_settled() {
	local db=$1
	[ "$(sqlite3 "$db" "SELECT count(*) FROM messages")" = 2 ] &&
		[ "$(sqlite3 "$db" "SELECT count(*) FROM messages WHERE NOT (state = 'done' OR (state = 'failed' AND coalesce(last_error, '') != ''))")" = 0 ]
}

# Every mail that left: the argv one of ours, the headers ours, the recipient the argv's, and
# for an escalation the attachment the recorded original.
mails_ours() {
	local dir=$1 original=$2 argv to problems=0
	for argv in "$dir"/sent/*.argv; do
		[ -e "$argv" ] || continue
		to=$(tail -n 1 "$argv")
		case "$(tr '\n' ' ' < "$argv")" in
		"-i -f <> -- $to ") # a reply, to the envelope sender alone
			[ "$to" = "$3" ] || { echo "# reply to $to, not to the sender $3"; problems=1; }
			$hostile check-mail "${argv%.argv}.eml" "$to" | sed 's/^/# /' ;;
		"-i -f support@site.test -- human@site.test " | "-i -f sales@site.test -- human@site.test ")
			$hostile check-mail "${argv%.argv}.eml" "$to" "$original" | sed 's/^/# /' ;;
		*) echo "# an argv of no known form: $(tr '\n' ' ' < "$argv")"; problems=1 ;;
		esac
		[ "${PIPESTATUS[0]}" = 0 ] || problems=1
	done
	[ "$problems" = 0 ]
}

# `mailtriagectl show` of each row: no escape, no line that passes for a header.
show_clean() {
	local dir=$1 id out
	for id in 1 2; do
		out=$("$ctl" -c "$dir/mt.conf" show "$id" 2>&1) || { echo "# show $id failed"; return 1; }
		if grep -q $'\e' <<<"$out" || grep -Eq '^(To|Bcc|Cc): ' <<<"$out"; then
			echo "# show $id:"; sed 's/^/#   /' <<<"$out" | head -20; return 1
		fi
	done
}

# check_message NAME FILE MODE SENDER
check_message() {
	local name=$1 file=$2 mode=$3 sender=$4
	run "$name" "$file" "$mode" "$sender"
	local recorded=$dir/recorded.eml states
	head -c "$MAX_SIZE" "$file" > "$recorded"
	states=$(sqlite3 "$dir/mt.db" "SELECT group_concat(state || coalesce(' (' || last_error || ')', ''), '; ') FROM messages" 2>/dev/null)
	if [ "$(cat "$dir/pipe.status")" = 0 ] && sanitizer_clean "$dir/pipe.err" && rows_settled "$dir/mt.db"; then
		ok "$name ($mode): recorded and settled, no sanitizer report: ${states:0:160}"
	else
		not_ok "$name ($mode): pipe exit $(cat "$dir/pipe.status"), states: $states"
		tail -n 15 "$dir/pipe.err" | sed 's/^/# /'
	fi
	local sent
	sent=$(find "$dir/sent" -name '*.eml' | wc -l)
	if mails_ours "$dir" "$recorded" "$sender"; then
		ok "$name ($mode): $sent mails sent, our headers and one recipient each, originals attached byte for byte"
	else
		not_ok "$name ($mode): a mail that left is not as it must be"
	fi
	if show_clean "$dir"; then ok "$name ($mode): mailtriagectl show prints clean lines"
	else not_ok "$name ($mode): mailtriagectl show"; fi
}

sender_of() {
	case $1 in
	idn_sender) echo 'juergen@xn--bcher-kva.example' ;;
	smtputf8_sender) echo 'jürgen@bücher.example' ;;
	*) echo 'ann@customer.test' ;;
	esac
}

for file in "$src"/tests/data/hostile/*.eml "$tmp"/big/*.eml; do
	name=$(basename "$file" .eml)
	check_message "$name" "$file" ok "$(sender_of "$name")"
done

# The model writes forged lines, to messages that ask for it and to plain ones.
for file in prompt_injection_third_party prompt_injection_reveal nul_bytes encoded_crlf_headers; do
	check_message "$file" "$src/tests/data/hostile/$file.eml" forge "$(sender_of "$file")"
done
check_message prompt_injection_third_party "$src/tests/data/hostile/prompt_injection_third_party.eml" forgeintent ann@customer.test
errors=$(sqlite3 "$tmp/run/prompt_injection_third_party-forgeintent/mt.db" "SELECT error FROM classifications")
if [ "$(grep -c 'is not in the mailbox' <<<"$errors")" = 2 ] && ! grep -q $'\e' <<<"$errors" &&
	[ "$(wc -l <<<"$errors")" = 2 ]; then
	ok "a made-up intent with a line break is unknown, and its reason one clean line"
else
	not_ok "a made-up intent: the recorded reasons: $errors"
fi
if grep -rqs 'evil\.test' "$tmp"/run/*/sent/*.argv; then
	not_ok "no sendmail argv names a third party the mail or the model asked for"
else
	ok "no sendmail argv names a third party the mail or the model asked for"
fi
echo "1..$n"
[ "$failed" = 0 ]
