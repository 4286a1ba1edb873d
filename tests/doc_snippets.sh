#!/bin/bash
# Every configuration snippet of the documentation is a valid configuration, so that the docs
# cannot drift into examples that the programs refuse. A snippet is an indented block of
# README, or a .nf/.fi or .EX/.EE block of a man page, that holds a [group] line. Each is
# checked with `mailtriagectl config check --syntax` (the file alone: the paths it names need
# not exist here), completed by a mailbox when it has none, so that a lone [policy] group is
# checked in context. Template paths of the installed tree must name a template of
# contrib/templates. One TAP case per snippet, named by its file and line; an error is shown at
# the documentation's line.
set -u
src=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
build=${top_builddir:-$src}
ctl=$build/ctl/mailtriagectl
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# extract FILE readme|man DIR: each snippet of FILE as DIR/K.conf, with DIR/K.lines holding
# the line of FILE that each of its lines comes from.
extract() {
	mkdir -p "$3"
	awk -v kind="$2" -v out="$3" '
	function flush(   i, f) {
		if (count > 0 && is_ini) {
			f = out "/" ++snippets
			for (i = 1; i <= count; i++) {
				print text[i] > (f ".conf")
				print from[i] > (f ".lines")
			}
			close(f ".conf"); close(f ".lines")
		}
		count = 0; is_ini = 0
	}
	function add(line) {
		text[++count] = line; from[count] = FNR
		if (line ~ /^[ \t]*\[[^]]+\][ \t]*$/) is_ini = 1
	}
	kind == "readme" {
		if ($0 ~ /^    /) add(substr($0, 5))
		else if ($0 ~ /^[ \t]*$/ && count > 0) add("")
		else flush()
		next
	}
	kind == "man" && !in_block && /^\.(nf|EX)/ { in_block = 1; next }
	kind == "man" && in_block && /^\.(fi|EE)/ { in_block = 0; flush(); next }
	kind == "man" && in_block && !/^\.[A-Za-z]/ {
		line = $0
		gsub(/\\-/, "-", line); gsub(/\\&/, "", line); gsub(/\\e/, "\\", line)
		add(line)
	}
	END { flush() }' "$1"
}

# check_snippet DOC BASE: one TAP case for the snippet BASE.conf of DOC.
check_snippet() {
	local doc=$1 base=$2 start groups out status=0
	start=$(head -n 1 "$base.lines")
	groups=$(grep -E '^[[:space:]]*\[' "$base.conf" | tr -s ' \n' ' ' | sed 's/ $//')
	cp "$base.conf" "$base.check.conf"
	grep -q '^[[:space:]]*\[mailbox ' "$base.conf" ||
		printf '\n[mailbox snippet@example.org]\nescalate_to = human@example.org\n' >> "$base.check.conf"
	out=$("$ctl" -c "$base.check.conf" config check --syntax 2>&1) || status=1
	while read -r template; do
		if [ ! -f "$src/contrib/templates/${template##*/}" ]; then
			status=1
			out="$out
$template: no such template in contrib/templates"
		fi
	done < <(grep -o '/usr/local/share/mailtriage/templates/[^[:space:]]*' "$base.conf")
	if [ "$status" = 0 ]; then
		ok "$doc:$start: $groups"
		return 0
	fi
	not_ok "$doc:$start: $groups"
	# The checker's FILE:LINE becomes the documentation's.
	printf '%s\n' "$out" | awk -v conf="$base.check.conf:" -v doc="$doc" '
		NR == FNR { line_of[FNR] = $0; next }
		{
			at = index($0, conf)
			rest = substr($0, at + length(conf))
			if (at > 0 && rest ~ /^[0-9]+/) {
				number = rest + 0
				sub(/^[0-9]+/, "", rest)
				where = number in line_of ? doc ":" line_of[number] : doc " (the added mailbox)"
				$0 = substr($0, 1, at - 1) where rest
			}
			if (at == 0 || rest !~ /^ configuration OK/)
				print "# " $0
		}' "$base.lines" -
	return 1
}

# check_doc ROOT DOC readme|man: every snippet of ROOT/DOC; sets found to how many.
check_doc() {
	local dir
	dir=$tmp/$(echo "$2" | tr '/.' '__')
	extract "$1/$2" "$3" "$dir"
	found=0
	while [ -f "$dir/$((found + 1)).conf" ]; do
		found=$((found + 1))
		check_snippet "$2" "$dir/$found"
	done
}

check_doc "$src" README readme
readme=$found pages=0
for page in milter/mailtriaged.8 pipe/mailtriage-pipe.8 ctl/mailtriagectl.8 lib/mailtriage.conf.5; do
	check_doc "$src" "$page" man
	pages=$((pages + found))
done
# The machinery itself: it finds snippets, and it can fail.
if [ "$readme" -ge 1 ] && [ "$pages" -ge 1 ]; then
	ok "snippets found: $readme in README, $pages in the man pages"
else
	not_ok "snippets found: $readme in README, $pages in the man pages (the extractor is broken)"
fi
mkdir "$tmp/self"
cat > "$tmp/self/selftest.txt" <<'EOF'
Some text.

    [policy]
    trusted_authserv_ids = mx.example.org
    require_auth = dmarc          # a comment after a value

More text.
EOF
out=$(check_doc "$tmp/self" selftest.txt readme)
if grep -q '^not ok' <<<"$out" &&
	grep -q "selftest.txt:5: \[policy\] require_auth: a comment must be on a line of its own" <<<"$out"; then
	ok "a snippet with a comment after a value fails, at its line in the document"
else
	not_ok "a snippet with a comment after a value should fail at selftest.txt:5"
	printf '%s\n' "$out" | sed 's/^/# /'
fi
echo "1..$n"
[ "$failed" = 0 ]
