#!/bin/bash
# The layers of the tree (lib/util, lib/mail, lib/core, the programs), include cycles, file and
# function sizes: tests/layers.py, whose self-test shows that each rule can fail.
exec python3 "${top_srcdir:-$(dirname "$0")/..}/tests/layers.py" --root "${top_srcdir:-$(dirname "$0")/..}"
