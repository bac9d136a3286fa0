#!/usr/bin/env bash
# Shows that a change to Templates/ (or to octoprov) leaves every rendered script byte-identical: runs
# `octoprov plan --output` over every example inventory and over a fresh sandbox's inventory twice, once
# with the "before" side and once with the "after" side, and compares the two trees file by file.
#
#   bash Scripts/plan-compare.sh [REV]
#       before: the Templates/ folder of git revision REV (default HEAD), rendered by the built octoprov
#       after:  the working tree's Templates/, rendered by the same octoprov
#   BEFORE_OCTOPROV=/path/to/old/octoprov bash Scripts/plan-compare.sh [REV]
#       the same, but the before side is also rendered by another octoprov build (a Swift refactor)
#
# Needs a built octoprov (`swift build`; OCTOPROV=… to name another) and root for the sandbox (sshd).
# Exit status 0 when both sides are identical, 1 when a file differs or is missing (the diff is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
repository=$PWD

rev=${1:-HEAD}
after_octoprov=${OCTOPROV:-$(swift build --show-bin-path)/octoprov}
before_octoprov=${BEFORE_OCTOPROV:-$after_octoprov}
for binary in "$after_octoprov" "$before_octoprov"; do
    [ -x "$binary" ] || {
        echo "plan-compare: $binary is not an executable; run \`swift build\` first." >&2
        exit 1
    }
done

work=$(mktemp -d)
sandbox=$work/sandbox
cleanup() {
    "$after_octoprov" sandbox down --dir "$sandbox" >/dev/null 2>&1 || true
    rm -rf -- "$work"
}
trap cleanup EXIT

mkdir -p "$work/before-templates"
git archive "$rev" Templates | tar -x -C "$work/before-templates" --strip-components=1

# Each example inventory in a copy of Inventories/, with the placeholders its header lists
# (`#   file|folder|secret PATH`, `#   env NAME`), as Tests/ProvisioningTests/ExampleInventoryTests.swift makes them.
cp -R Inventories "$work/inventories"
declare -a environment=()
for inventory in "$work"/inventories/*.yml; do
    while read -r kind value; do
        case $kind in
        file) mkdir -p "$(dirname "$work/inventories/$value")" && echo "placeholder for $value" >"$work/inventories/$value" ;;
        folder) mkdir -p "$work/inventories/$value" ;;
        secret)
            mkdir -p "$(dirname "$work/inventories/$value")"
            echo "secret for $value" >"$work/inventories/$value"
            chmod 600 "$work/inventories/$value"
            ;;
        env) environment+=("$value=placeholder-$value-value") ;;
        esac
    done < <(sed -nE 's/^#   (file|folder|secret|env) +([^ ]+)$/\1 \2/p' "$inventory")
done

"$after_octoprov" sandbox up --vms 2 --dir "$sandbox" >/dev/null

# plan SIDE BINARY TEMPLATES: every inventory's plan under $work/SIDE/<inventory>/.
plan() {
    local side=$1 binary=$2 templates=$3 inventory name
    for inventory in "$work"/inventories/*.yml "$sandbox/inventory.yml"; do
        name=$(basename "$inventory" .yml)
        [ "$inventory" = "$sandbox/inventory.yml" ] && name=sandbox
        grep -q '^instances:' "$inventory" || continue
        (cd "$(dirname "$inventory")" &&
            env "${environment[@]}" "$binary" plan -i "$inventory" --templates "$templates" \
                --output "$work/$side/$name" >"$work/$side-$name.stdout")
    done
}
plan before "$before_octoprov" "$work/before-templates"
plan after "$after_octoprov" "$repository/Templates"

files=$(find "$work/after" -type f | wc -l)
if diff -r "$work/before" "$work/after" && diff <(cat "$work"/before-*.stdout) <(cat "$work"/after-*.stdout); then
    echo "plan-compare: $files rendered files and every plan's text are byte-identical (before: $rev)."
else
    echo "plan-compare: the rendered plans differ (before: $rev); see the diff above." >&2
    exit 1
fi
