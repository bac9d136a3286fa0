# The Migrator's summary: `Imported N project(s) from DIR: …[; skipped (already exist …): …].`
if [[ $output =~ Imported\ ([0-9]+)\ project ]]; then
    imported=${BASH_REMATCH[1]}
    fact imported_projects "$imported"
    if ((10#$imported == 0)); then
        finish false "The exported projects are already on the instance; Octopus.Migrator imported none."
    fi
    finish true "Imported $((10#$imported)) project(s) with Octopus.Migrator."
fi
finish true "Imported the partial export with Octopus.Migrator."
