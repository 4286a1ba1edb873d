#!/usr/bin/env python3
"""Check the shape of the tree (STYLE.md, DESIGN.md section 8).

The layers, lowest first: lib/util (generic: log, db, http, text, clock, template), lib/mail
(mail, but no triage: addresses, markers, MIME, sendmail, DSNs), lib/core (the triage core),
and the programs (milter/, pipe/, ctl/). A file may include headers of its own layer or of a
lower one; a program may include its own headers and the library's, never another program's.
No include cycle between modules (foo.c and foo.h are one module). No source file over
1,000 lines, no function over 80.

    layers.py [--root DIR]      check the tree (default: the source tree); TAP on stdout
    layers.py --self-test       show that each rule catches a made-up tree that breaks it
"""
import os
import re
import sys
import tempfile

LAYERS = ["lib/util", "lib/mail", "lib/core"]
PROGRAMS = ["milter", "pipe", "ctl"]
MAX_FILE_LINES = 1000
MAX_FUNCTION_LINES = 80
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources(root):
    """Every .c and .h file of the layers and the programs, as (folder, path)."""
    for folder in LAYERS + PROGRAMS:
        base = os.path.join(root, folder)
        if not os.path.isdir(base):
            continue
        for name in sorted(os.listdir(base)):
            if name.endswith((".c", ".h")):
                yield folder, os.path.join(base, name)


def rank(folder):
    return LAYERS.index(folder) if folder in LAYERS else len(LAYERS)


def module(path):
    return os.path.splitext(os.path.basename(path))[0]


def check_layers(root):
    """Problems with includes: (file, header, why)."""
    home = {}  # header name -> folder
    for folder, path in sources(root):
        if path.endswith(".h"):
            home[os.path.basename(path)] = folder
    problems, graph = [], {}
    for folder, path in sources(root):
        text = open(path, encoding="utf-8", errors="replace").read()
        for header in INCLUDE.findall(text):
            name = os.path.basename(header)
            target = home.get(name)
            if target is None:
                continue  # a generated or system-like header (autoconfig.h, schema)
            if module(name) != module(path):
                graph.setdefault(module(path), set()).add(module(name))
            if target in PROGRAMS and target != folder:
                problems.append((path, name, f"{folder} includes a header of {target}"))
            elif target in LAYERS and rank(target) > rank(folder):
                problems.append((path, name, f"{folder} (lower) includes {target} (higher)"))
    return problems, graph


def find_cycle(graph):
    """One include cycle as a list of modules, or None."""
    state = {}

    def visit(node, stack):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if state.get(nxt) is None:
                found = visit(nxt, stack)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if state.get(node) is None:
            found = visit(node, [])
            if found:
                return found
    return None


def functions(path):
    """(lines, name) of each function of a clang-formatted C file: a definition's body opens
    with "{" in the first column (BreakBeforeBraces: Linux) and closes with "}" there."""
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    start = None
    for i, line in enumerate(lines):
        if start is None and line.startswith("{") and i > 0:
            j = i - 1
            while j > 0 and not re.match(r"^[A-Za-z_].*\(", lines[j]):
                j -= 1
            found = re.search(r"([A-Za-z_]\w*)\s*\(", lines[j])
            start, name = j, found.group(1) if found else "?"
        elif start is not None and line.startswith("}"):
            yield i - start + 1, name
            start = None


def check_sizes(root):
    long_files, long_functions = [], []
    for _, path in sources(root):
        n = sum(1 for _ in open(path, encoding="utf-8", errors="replace"))
        if n > MAX_FILE_LINES:
            long_files.append((path, n))
        if path.endswith(".c"):
            for length, name in functions(path):
                if length > MAX_FUNCTION_LINES:
                    long_functions.append((path, name, length))
    return long_files, long_functions


class Tap:
    def __init__(self):
        self.n = self.failed = 0

    def check(self, ok, name, details=()):
        self.n += 1
        self.failed += not ok
        print(f"{'ok' if ok else 'not ok'} {self.n} - {name}")
        for line in details:
            print(f"# {line}")

    def done(self):
        print(f"1..{self.n}")
        return 0 if self.failed == 0 else 1


def check_tree(root, tap):
    present = [f for f in LAYERS if os.path.isdir(os.path.join(root, f))]
    tap.check(present == LAYERS, "the library has its three layers: " + ", ".join(LAYERS))
    problems, graph = check_layers(root)
    tap.check(not problems, "no file includes a header of a higher layer or another program",
              [f"{p}: {h}: {why}" for p, h, why in problems])
    cycle = find_cycle(graph)
    tap.check(cycle is None, "no include cycle between modules",
              [" -> ".join(cycle)] if cycle else [])
    long_files, long_functions = check_sizes(root)
    tap.check(not long_files, f"no source file over {MAX_FILE_LINES} lines",
              [f"{p}: {n} lines" for p, n in long_files])
    tap.check(not long_functions, f"no function over {MAX_FUNCTION_LINES} lines",
              [f"{p}: {f}: {n} lines" for p, f, n in long_functions])


def self_test(tap):
    """Each rule, broken on purpose in a made-up tree, is caught."""
    def tree(files):
        root = tempfile.mkdtemp(prefix="layers-")
        for name, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(root, name)), exist_ok=True)
            with open(os.path.join(root, name), "w") as out:
                out.write(text)
        return root

    base = {"lib/util/log.h": "", "lib/mail/mime.h": '#include "log.h"\n',
            "lib/core/process.h": '#include "mime.h"\n', "milter/milter.h": "",
            "pipe/pipe.c": '#include "process.h"\n'}
    problems, graph = check_layers(tree(base))
    tap.check(not problems and find_cycle(graph) is None, "self-test: a sound tree passes")
    upward = dict(base, **{"lib/util/log.c": '#include "mime.h"\n'})
    tap.check(bool(check_layers(tree(upward))[0]), "self-test: util including mail is caught")
    sideways = dict(base, **{"pipe/pipe.c": '#include "milter.h"\n'})
    tap.check(bool(check_layers(tree(sideways))[0]),
              "self-test: a program including another's header is caught")
    cycle = dict(base, **{"lib/core/a.h": '#include "b.h"\n', "lib/core/b.c": '#include "a.h"\n',
                          "lib/core/b.h": ""})
    tap.check(find_cycle(check_layers(tree(cycle))[1]) is not None,
              "self-test: an include cycle is caught")
    body = "int f(void)\n{\n" + "    x();\n" * 90 + "}\n"
    tap.check(bool(check_sizes(tree(dict(base, **{"lib/core/long.c": body})))[1]),
              "self-test: a function over 80 lines is caught")
    tap.check(bool(check_sizes(tree(dict(base, **{"lib/core/big.h": "\n" * 1001})))[0]),
              "self-test: a file over 1,000 lines is caught")


def main(argv):
    tap = Tap()
    if "--self-test" in argv:
        self_test(tap)
        return tap.done()
    root = argv[argv.index("--root") + 1] if "--root" in argv else \
        os.environ.get("top_srcdir", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    check_tree(root, tap)
    self_test(tap)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
