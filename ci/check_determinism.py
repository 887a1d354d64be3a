#!/usr/bin/env python3
"""Determinism ban-list check for seedgrid (see shared DESIGN.md, "Determinism rules").

Fails (exit 1) when engine/, sim/, invariants/ or scenarios/ use an API that makes a run depend
on something other than the seed: the wall clock, OS entropy, library-defined distributions,
threads, sleeps, the process environment, or hash-container iteration order. The only folder
allowed to touch the OS is engine/env/real/.

Usage:
  check_determinism.py ROOT      scan the tree rooted at ROOT
  check_determinism.py --self-test   prove every rule fires and comments/strings are ignored

Hash containers (absl::flat_hash_map/set, node_hash_*, std::unordered_*) iterate in an order
that varies per process. They are allowed only on a line (or the line above) carrying the marker
`sg:lookup-only`, which promises the container is never iterated in an observable way.
"""
import os
import re
import sys

SCANNED_DIRS = ["engine", "sim", "invariants", "scenarios"]
ALLOWED_DIRS = ["engine/env/real"]
EXTENSIONS = (".h", ".cc", ".cpp", ".hpp", ".inc")
LOOKUP_ONLY_MARKER = "sg:lookup-only"

RULES = [
    (r"std::chrono::(system_clock|steady_clock|high_resolution_clock|utc_clock|file_clock)",
     "wall/monotonic clock; use Env Clock"),
    (r"\b(gettimeofday|clock_gettime|timespec_get|localtime|gmtime|ftime)\s*\(",
     "wall clock; use Env Clock"),
    (r"(?<![\w:.>])time\s*\(\s*(nullptr|NULL|0)?\s*\)", "time(); use Env Clock"),
    (r"\babsl::(Now|GetCurrentTimeNanos|Clock)\b", "absl wall clock; use Env Clock"),
    (r"std::random_device", "OS entropy; derive from the seed"),
    (r"(?<![\w:.>])(rand|srand|srandom|drand48|lrand48|rand_r)\s*\(",
     "libc PRNG; use seedgrid::Random"),
    (r"(?<![\w:.>])random\s*\(\s*\)", "libc PRNG; use seedgrid::Random"),
    (r"std::\w+_distribution\b", "std distributions differ between standard libraries"),
    (r"std::(mt19937|mt19937_64|minstd_rand0?|default_random_engine|ranlux\w*|knuth_b)\b",
     "std engines; use seedgrid::Xoshiro256"),
    (r"\babsl::(BitGen|InsecureBitGen|Uniform|Bernoulli|Gaussian|Exponential)\b",
     "absl random is not reproducible across processes"),
    (r"\bstd::(thread|jthread|async)\b", "threads; simulation is single-threaded"),
    (r"\bpthread_create\b", "threads; simulation is single-threaded"),
    (r"\b(sleep_for|sleep_until)\b", "sleeps; use Env Timers"),
    (r"(?<![\w:.>])(sleep|usleep|nanosleep)\s*\(", "sleeps; use Env Timers"),
    (r"\babsl::SleepFor\b", "sleeps; use Env Timers"),
    (r"\b(getenv|secure_getenv|setenv|putenv)\s*\(", "process environment"),
    (r"\bextern\s+char\s*\*\*\s*environ\b", "process environment"),
    (r"\bstd::this_thread::get_id\b|\bgettid\s*\(|\bpthread_self\s*\(", "thread ids"),
    (r"\bgetpid\s*\(", "process ids"),
    (r"\babsl::(Hash|HashOf)\b", "absl::Hash is seeded per process"),
    (r"\breinterpret_cast<\s*(std::)?u?intptr_t\s*>", "addresses as values"),
    (r"\bstd::bit_cast<\s*(std::)?u?intptr_t\s*>", "addresses as values"),
    # The checkout path differs between machines: a path that reaches a hash or a trace (e.g. a
    # buggify site name) changes runs. __FILE_NAME__ is stable.
    (r"\b__FILE__\b", "checkout path; use __FILE_NAME__ (or mark a message-only use)"),
    # State that outlives one simulation on a worker thread leaks into the next run on it (the
    # codec's decode budget was one). A per-thread *context pointer* installed and removed by a
    # scope (SG_BUGGIFY's) may be marked.
    (r"\bthread_local\b", "thread-local state leaks between runs; pass it explicitly"),
]
# A use of an address whose value cannot reach any output (e.g. an alignment test that only
# decides whether to copy) may be marked, on the line or the line above, with this marker and a
# reason. It silences the address rules only.
ADDRESS_OK_MARKER = "sg:address-ok"
ADDRESS_RULES = {"addresses as values"}
# A __FILE__ that only reaches human-readable messages (an assertion's report) may be marked.
PATH_OK_MARKER = "sg:path-ok"
PATH_RULES = {"checkout path; use __FILE_NAME__ (or mark a message-only use)"}
# A thread-local context pointer set and cleared by a scope object may be marked.
THREAD_OK_MARKER = "sg:thread-context-ok"
THREAD_RULES = {"thread-local state leaks between runs; pass it explicitly"}
# Two calls on one FlatBufferBuilder inside one statement: C++ leaves argument evaluation order
# unspecified (gcc and clang differ), and the order of builder calls decides the encoded bytes.
BUILDER_CALL = re.compile(
    r"(\b(b_|fbb_?|builder_?)|\bbuilder\(\))\s*(\.|->)\s*(Create|Start|Add|End|Push|Finish)\w*\s*\(")
HASH_CONTAINER = re.compile(r"\b(absl::(flat|node)_hash_(map|set)|std::unordered_(multi)?(map|set))\b")


def strip_comments_and_strings(text):
    """Replaces comments and string/char literals with spaces, keeping line structure."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif text.startswith('R"', i):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = ")" + m.group(1) + '"'
            j = text.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif c == "'" and i > 0 and text[i - 1].isalnum() and i + 1 < n and text[i + 1].isalnum():
            # A C++14 digit separator (1'000'000) or a u8'x'-style prefix: not a literal start.
            out.append(c)
            i += 1
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(" " * (j - i))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def check_text(path, text):
    violations = []
    raw_lines = text.split("\n")
    code_lines = strip_comments_and_strings(text).split("\n")
    for number, line in enumerate(code_lines, start=1):
        here = raw_lines[number - 1]
        above = raw_lines[number - 2] if number >= 2 else ""
        for pattern, why in RULES:
            m = re.search(pattern, line)
            if m and why in ADDRESS_RULES and (ADDRESS_OK_MARKER in here or ADDRESS_OK_MARKER in above):
                continue
            if m and why in PATH_RULES and (PATH_OK_MARKER in here or PATH_OK_MARKER in above):
                continue
            if m and why in THREAD_RULES and (THREAD_OK_MARKER in here or THREAD_OK_MARKER in above):
                continue
            if m:
                violations.append(f"{path}:{number}: banned '{m.group(0)}': {why}")
        m = HASH_CONTAINER.search(line)
        if m:
            if LOOKUP_ONLY_MARKER not in here and LOOKUP_ONLY_MARKER not in above:
                violations.append(
                    f"{path}:{number}: '{m.group(0)}' iterates in a per-process order; use "
                    f"absl::btree_map/set, or mark a lookup-only use with '// {LOOKUP_ONLY_MARKER}'")
    # Statement-level rule: split the comment-free code at ';' and '{' '}' boundaries.
    code = "\n".join("" if l.lstrip().startswith("#") else l
                     for l in strip_comments_and_strings(text).split("\n"))
    start = 0
    for m in re.finditer(r"[;{}]", code):
        statement = code[start:m.start()]
        calls = BUILDER_CALL.findall(statement)
        if len(calls) >= 2:
            line = code.count("\n", 0, start + len(statement) - len(statement.lstrip())) + 1
            violations.append(
                f"{path}:{line}: {len(calls)} FlatBufferBuilder calls in one statement: argument "
                f"evaluation order is unspecified, so the encoded bytes differ between compilers; "
                f"make one builder call per statement")
        start = m.end()
    return violations


def scan(root):
    violations = []
    files = 0
    for top in SCANNED_DIRS:
        base = os.path.join(root, top)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
            if any(rel_dir == a or rel_dir.startswith(a + "/") for a in ALLOWED_DIRS):
                continue
            for name in sorted(filenames):
                if not name.endswith(EXTENSIONS):
                    continue
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    violations += check_text(os.path.relpath(path, root), f.read())
                files += 1
    return files, violations


def self_test():
    must_fire = [
        "auto t = std::chrono::system_clock::now();",
        "auto t = std::chrono::steady_clock::now();",
        "time_t t = time(nullptr);",
        "int x = rand();",
        "long y = random();",
        "constexpr int k = 1'000; auto t = time(nullptr);",
        "b_->CreateString(a); int x = f(b_->CreateString(c), fbb.EndTable(d));",
        "std::random_device rd;",
        "std::uniform_int_distribution<int> d(0, 9);",
        "std::mt19937 gen(1);",
        "absl::BitGen gen;",
        "std::thread t([]{});",
        "std::this_thread::sleep_for(ms);",
        "usleep(10);",
        "const char* v = getenv(\"HOME\");",
        "absl::flat_hash_map<int, int> m;",
        "std::unordered_set<int> s;",
        "size_t h = absl::HashOf(x);",
        "auto n = absl::Now();",
        "out.push_back(fb::CreateX(b_, b_.CreateVector(a),\n    b_.CreateVector(b)));",
        "auto a = reinterpret_cast<uintptr_t>(p);",
        "int r = rand();  // sg:address-ok silences address rules only",
        "Fire(__FILE__);",
        "auto t = time(nullptr);  // sg:path-ok silences the path rule only",
        "thread_local Budget* budget = nullptr;",
        "f(e.builder().CreateString(a), e.builder().CreateVector(b));",
    ]
    must_pass = [
        "// std::chrono::system_clock::now() in a comment",
        "/* rand() */ int x = 1;",
        "const char* s = \"getenv(\\\"X\\\")\";",
        "uint64_t now = clock.NowMs();",
        "int operand(int);",
        "constexpr uint64_t kBig = 1'000'000'000;",
        "#define X(a) b_.CreateString(a), b_.CreateString(a)",
        "double x = hlc.time();",
        "absl::flat_hash_map<int, int> m;  // sg:lookup-only: never iterated",
        "auto r = random.Uniform(6);",
        "Xoshiro256 random(seed);",
        "auto v = b_.CreateVector(items);\nauto w = b_.CreateVector(more);",
        "if (reinterpret_cast<uintptr_t>(p) % 8) {}  // sg:address-ok: alignment only",
        "Fail(__FILE__, __LINE__);  // sg:path-ok: message only",
        "Fire(__FILE_NAME__);",
        "thread_local Context* current = nullptr;  // sg:thread-context-ok: set by a scope",
        "auto name = e.builder().CreateString(a);\nauto v = e.builder().CreateVector(b);",
    ]
    failures = []
    for line in must_fire:
        if not check_text("selftest.cc", line):
            failures.append(f"rule did not fire for: {line}")
    for line in must_pass:
        v = check_text("selftest.cc", line)
        if v:
            failures.append(f"false positive for: {line} -> {v}")
    for f in failures:
        print("self-test:", f)
    print(f"self-test: {len(must_fire) + len(must_pass) - len(failures)} passed, "
          f"{len(failures)} failed")
    return 1 if failures else 0


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    if len(argv) != 2 or argv[1].startswith("-"):
        print(__doc__)
        return 2
    root = argv[1]
    if not os.path.isdir(os.path.join(root, "engine")):
        print(f"check_determinism: '{root}' has no engine/ folder; pass the repository root")
        return 2
    files, violations = scan(root)
    for v in violations:
        print(v)
    if violations:
        print(f"check_determinism: {len(violations)} violation(s) in {files} files")
        return 1
    print(f"check_determinism: {files} files clean (allow-listed: {', '.join(ALLOWED_DIRS)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
