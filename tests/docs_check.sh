#!/usr/bin/env bash
# Checks the documentation against the repository and the program:
#   1. every relative link and image in README.md and docs/*.md names a file that exists;
#   2. every `mmdg ...` command in a ```sh block of README.md and docs/*.md names a real subcommand,
#      and each of its --options is one that subcommand (or the program) declares;
#   3. docs/cli.md equals what scripts/make_cli_reference.sh writes now.
# Usage: docs_check.sh MMDG_BINARY SOURCE_DIR
set -u
mmdg=$1
root=$2
cd "$root" || exit 1
fail=0
problem() { echo "FAIL: $*"; fail=1; }

docs=(README.md docs/*.md)

# 1. links: [text](target) and ![alt](target), skipping URLs and pure anchors
for doc in "${docs[@]}"; do
  dir=$(dirname "$doc")
  while IFS=: read -r line target; do
    target=${target%%#*}
    [[ -z $target ]] && continue
    [[ -e "$dir/$target" ]] || problem "$doc:$line: link to '$target': no such file"
  done < <(grep -noE '\]\([^)[:space:]]+\)' "$doc" | sed -E 's/^([0-9]+):\]\(([^)]*)\)$/\1:\2/' |
           grep -vE '^[0-9]+:(https?:|mailto:|#)')
done

# 2. commands in sh blocks: "mmdg SUB [SUB] --opt ..." (also build/mmdg, after a $ or in a pipe)
help_of() {  # the help text of a subcommand path, cached
  local key=${1// /_}
  local file="$tmp/help_$key"
  [[ -f $file ]] || MMDG_KEEP_OMP_DEFAULT=1 "$mmdg" $1 --help >"$file" 2>&1 || return 1
  cat "$file"
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
help_of "" >/dev/null || problem "mmdg --help failed"
for doc in "${docs[@]}"; do
  awk '/^```sh/ {on = 1; next} /^```/ {on = 0} on {print FILENAME ":" FNR ":" $0}' "$doc" |
  while IFS= read -r entry; do
    where=${entry%%:*}; rest=${entry#*:}; line=${rest%%:*}; text=${rest#*:}
    text=${text%%#*}  # comments
    text=${text// -- / ; mmdg }  # mmdg launch ... -- train ...: the command after -- is checked as one
    # every "mmdg" word that starts a command (line start, after build/, $, |, &&, ;)
    grep -oE '(^|[|;&$(] *|build/)mmdg( +[^|;&#]*)?' <<<"$text" | while IFS= read -r cmd; do
      cmd=$(sed -E 's/^[|;&$( ]*(build\/)?mmdg//' <<<"$cmd")
      read -ra words <<<"$cmd"
      path=""
      for w in "${words[@]}"; do  # the longest run of words that are subcommands
        [[ $w == -* ]] && break
        help_of "$path" | awk '/^Subcommands:/ {on=1; next} on && /^  [a-z]/ {print $1} on && /^[^ ]/ {on=0}' |
          grep -qx -- "$w" || break
        path="${path:+$path }$w"
      done
      [[ -z $path && ${#words[@]} -gt 0 && ${words[0]} != -* ]] && { problem "$where:$line: 'mmdg ${words[0]}': no such command"; continue; }
      known=$(help_of "$path"; help_of "")
      for w in "${words[@]}"; do
        [[ $w == --* ]] || continue
        opt=${w%%=*}
        [[ $opt == "--" ]] && continue
        grep -qE -- "(^|[ ,])$opt([ ,=]|$)" <<<"$known" || problem "$where:$line: 'mmdg $path': no option $opt"
      done
    done
  done
done > "$tmp/commands.out"
grep -q . "$tmp/commands.out" && { cat "$tmp/commands.out"; fail=1; }

# 3. the generated CLI reference
if ! scripts/make_cli_reference.sh "$mmdg" "$tmp/cli.md"; then
  problem "scripts/make_cli_reference.sh failed"
elif ! diff -q "$tmp/cli.md" docs/cli.md >/dev/null 2>&1; then
  problem "docs/cli.md is stale: run scripts/make_cli_reference.sh build/mmdg and commit docs/cli.md"
  diff "$tmp/cli.md" docs/cli.md 2>&1 | head -20
fi

[[ $fail -eq 0 ]] && echo "docs check: links, commands and docs/cli.md are current"
exit $fail
