"""Real-world transparency of a remapped view: Python's own file-system tests (Debian's
libpython3.11-testsuite) give the same outcome, test by test, natively and under
`ptvfs --bind WORK /home/user/workspace --tmpfs /tmp --chdir /home/user/workspace` with
TMPDIR in the workspace, so that every temporary file the tests make sits at a view path whose
host path differs. A test that passes natively and fails in the view is something the view
gets wrong; this test names each one with the view run's message."""
import os
import xml.etree.ElementTree as ET

from ptvfs_test import absent_view_path, check, done, native, run, scratch_dir

PYTHON = "/usr/bin/python3"
WS = "/home/user/workspace"
# File-system-heavy modules of the suite that pass natively here, about 75 s in all.
MODULES = ["test_os", "test_posixpath", "test_genericpath", "test_shutil", "test_glob",
           "test_fnmatch", "test_tempfile", "test_pathlib", "test_fileio", "test_filecmp",
           "test_stat", "test_fileinput", "test_linecache", "test_mmap", "test_dbm",
           "test_py_compile", "test_zipimport", "test_pkgutil", "test_importlib",
           "test_tarfile", "test_zipfile", "test_subprocess"]


def outcomes(xml_path):
    """{test id: (outcome, message)} from regrtest's --junit-xml; outcome is passed, skipped,
    failure or error."""
    result = {}
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        kinds = [c for c in case if c.tag in ("skipped", "failure", "error")]
        if kinds:
            message = kinds[0].get("message") or (kinds[0].text or "")
            result[case.get("name")] = (kinds[0].tag, message.strip().splitlines()[-1:])
        else:
            result[case.get("name")] = ("passed", [])
    return result


def suite_args(junit):
    return [PYTHON, "-m", "test", "--junit-xml", junit, *MODULES]


def main():
    check(os.path.isdir("/usr/lib/python3.11/test/libregrtest"),
          "Debian's libpython3.11-testsuite is installed (scripts/bootstrap)")
    absent_view_path("/home/user")

    here = os.path.realpath(scratch_dir())
    os.mkdir(os.path.join(here, "tmp"))
    env = dict(os.environ, TMPDIR=os.path.join(here, "tmp"))
    nat = native(suite_args(os.path.join(here, "junit.xml")), cwd=here, env=env, timeout=400)
    check(os.path.exists(os.path.join(here, "junit.xml")),
          f"the suite runs natively: {nat.stdout.decode()[-2000:]} {nat.stderr.decode()}")
    expected = outcomes(os.path.join(here, "junit.xml"))
    check(len(expected) > 1000, f"the native run ran the modules' tests: {len(expected)}")

    work = os.path.realpath(scratch_dir())
    os.mkdir(os.path.join(work, "tmp"))
    p, report = run(suite_args(WS + "/junit.xml"),
                    options=["--bind", work, WS, "--tmpfs", "/tmp", "--chdir", WS,
                             "--setenv", "TMPDIR", WS + "/tmp"],
                    cwd=scratch_dir(), timeout=400)
    junit = os.path.join(work, "junit.xml")
    check(os.path.exists(junit), f"the suite runs in the view and writes its results through "
          f"the bind: exit {p.returncode}\n{p.stdout.decode()[-3000:]}\n{p.stderr.decode()}")
    got = outcomes(junit)
    missing = sorted(set(expected) - set(got))
    check(not missing, f"every test that ran natively ran in the view: {missing[:20]}")
    differ = sorted(name for name in expected if got.get(name, expected[name])[0]
                    != expected[name][0])
    lines = [f"  {name}: native {expected[name][0]}, in the view {got[name][0]}"
             f"{': ' + got[name][1][0] if got[name][1] else ''}" for name in differ]
    print(f"{len(expected)} tests; native and view outcomes differ for {len(differ)}")
    check(not differ, "each test has the same outcome natively and in the view "
          f"({len(differ)} differ):\n" + "\n".join(lines))
    check(p.returncode == nat.returncode,
          f"the suite's exit status is the same natively and in the view: {nat.returncode} "
          f"{p.returncode}")
    check(report is not None and report["exit"]["code"] == p.returncode,
          "a report is written with the suite's exit status")
    leaked = sorted({f["path"] for f in report["files"] if f["path"].startswith(work)})
    check(not leaked, f"the workspace's files are recorded by their view paths, never by the "
          f"host directory's: {leaked[:10]}")
    done()


main()
