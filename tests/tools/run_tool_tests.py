#!/usr/bin/env python3
"""Runs the xsock tool tests against built executables.

    python3 run_tool_tests.py --server PATH --client PATH [--launcher wine] [TESTS...]

TESTS are unittest names (`test_server`, `test_server.Lines`,
`test_client.Errors.test_usage_errors_exit_2`); default: all modules. For a MinGW
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
    parser.add_argument("tests", nargs="*", default=["test_server", "test_client", "test_interop"])
    args = parser.parse_args()
    harness.configure(os.path.abspath(args.server), os.path.abspath(args.client), args.launcher)
    suite = unittest.defaultTestLoader.loadTestsFromNames(args.tests)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
