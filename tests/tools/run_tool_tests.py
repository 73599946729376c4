#!/usr/bin/env python3
"""Runs the xsock tool tests against built executables.

    python3 run_tool_tests.py --server PATH --client PATH [--launcher wine] [TESTS...]

TESTS are unittest names (`test_server`, `test_server.Lines`,
`test_client.Errors.test_usage_errors_exit_2`); default: test_server, test_client,
test_interop, and test_tls when the tools were built with TLS. For a MinGW
build run under Wine, pass the .exe paths and `--launcher wine`.
"""

import argparse
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", required=True, help="path to xsock-server")
    parser.add_argument("--client", required=True, help="path to xsock-client")
    parser.add_argument("--launcher", default="", help="command to run them with (e.g. wine)")
    parser.add_argument("tests", nargs="*")
    args = parser.parse_args()
    harness.configure(os.path.abspath(args.server), os.path.abspath(args.client), args.launcher)
    if not args.tests:
        args.tests = ["test_server", "test_client", "test_interop"]
        # --tls where the tools have it (their --help says when they were built without).
        import test_tls
        if test_tls.tls_built():
            args.tests.append("test_tls")
        else:
            print("test_tls skipped: the tools were built without TLS", file=sys.stderr)
    suite = unittest.defaultTestLoader.loadTestsFromNames(args.tests)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
