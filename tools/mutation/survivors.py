#!/usr/bin/env python3
"""Lists the mutants of a Stryker.NET JSON report that no test killed (or, with --all, every mutant).

Usage (from the repository root):
    python3 tools/mutation/survivors.py tests/GraphPipe.UnitTests/StrykerOutput/<time>/reports/mutation-report.json [--all]

Per file: the counts by status and the score as Stryker computes it (killed + timeout over the mutants that
compiled and ran: compile errors, runtime errors and ignored mutants are left out); then one line per
surviving or uncovered mutant: status, line, mutator, replacement and the source line.
"""
import collections
import json
import sys

LEFT_OUT = ('CompileError', 'Ignored', 'RuntimeError')


def main(path, show_all):
    report = json.load(open(path))
    for name, f in sorted(report['files'].items()):
        counts = collections.Counter(m['status'] for m in f['mutants'])
        valid = sum(n for status, n in counts.items() if status not in LEFT_OUT)
        if valid == 0:
            continue
        detected = counts['Killed'] + counts['Timeout']
        print(f"== {name}: {dict(counts)}  score {100 * detected / valid:.2f}% ({detected}/{valid})")
        source = f['source'].splitlines()
        for m in sorted(f['mutants'], key=lambda m: m['location']['start']['line']):
            if show_all or m['status'] in ('Survived', 'NoCoverage'):
                line = m['location']['start']['line']
                replacement = m.get('replacement', '').replace('\n', ' ')[:90]
                print(f"  {m['status']:10} L{line} {m['mutatorName']}: {replacement!r}  | {source[line - 1].strip()[:100]}")


if __name__ == '__main__':
    args = [a for a in sys.argv[1:] if a != '--all']
    if len(args) != 1:
        sys.exit(__doc__)
    main(args[0], '--all' in sys.argv)
