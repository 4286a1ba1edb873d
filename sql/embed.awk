# Turn migration files (named NNN-what.sql) into a C table of {version, name, text}.
# Usage: awk -f embed.awk 001-initial.sql 002-....sql > schema_sql.c
BEGIN {
    print "/* Generated from the sql/ migrations by sql/embed.awk: do not edit. */"
    print "#include \"db.h\""
    print "const struct db_migration db_migrations[] = {"
}
FNR == 1 {
    if (NR != 1) print "    },"
    name = FILENAME; sub(/.*\//, "", name)
    version = name; sub(/-.*/, "", version); version += 0
    printf "    {%d, \"%s\",\n", version, name
}
{
    line = $0
    gsub(/\\/, "\\\\", line); gsub(/"/, "\\\"", line)
    printf "        \"%s\\n\"\n", line
}
END {
    if (NR > 0) print "    },"
    print "    {0, NULL, NULL},"
    print "};"
}
