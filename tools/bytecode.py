"""Ship bytecode in the Lambda package that `chalice package` wrote (a step of `make package`).

    python tools/bytecode.py build/package

Chalice zips sources only (the dependencies as their wheels hold them, our chalicelib with whatever
__pycache__ the checkout has, app.py bare). Lambda's code directory is read-only, so a cold start
compiles every module it imports, ours and the dependencies', before it serves its first request:
measured by `make bench` ("first request from the package"), that doubles the first request's CPU.

This drops any __pycache__ the zip holds (a checkout's timestamp-checked leftovers, possibly of files
since deleted) and adds, for every .py, the bytecode CPython loads for it: `__pycache__/<name>.<tag>.pyc`,
unchecked-hash (PEP 552), since the package never changes under the function and a timestamp check
would compare against the mtimes the zip's extraction happens to give. It compiles with this
interpreter, so the template's runtime must be this interpreter's version; anything else stops the build.
"""

from __future__ import annotations

import importlib.util
import json
import py_compile
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

LAMBDA_TASK_ROOT = "/var/task"  # where Lambda unpacks the code: the path tracebacks name
PYC_MODE = 0o644 << 16  # zip external attributes of a regular file, rw-r--r--


def runtime_of(sam: dict) -> str:
    """The one runtime of the template's functions (python3.11 ...)."""
    runtimes = {
        r["Properties"]["Runtime"] for r in sam["Resources"].values() if r["Type"] == "AWS::Serverless::Function"
    }
    if len(runtimes) != 1:
        raise SystemExit(f"expected one Lambda runtime in the template, found {sorted(runtimes)}")
    return runtimes.pop()


def this_runtime() -> str:
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def _pyc_name(source: str) -> str:
    """The bytecode path CPython looks up for a source path inside the zip (the same tag as this interpreter)."""
    return str(PurePosixPath(importlib.util.cache_from_source(source)))


def add_bytecode(zip_path: Path) -> dict[str, int]:
    """Rewrite the zip with an unchecked-hash .pyc beside every .py; returns what it did, for the log."""
    with zipfile.ZipFile(zip_path) as old:
        kept = [info for info in old.infolist() if "__pycache__/" not in info.filename]
        dropped = len(old.infolist()) - len(kept)
        contents = {info.filename: old.read(info) for info in kept}
    sources = [info for info in kept if info.filename.endswith(".py")]
    compiled: list[tuple[zipfile.ZipInfo, bytes]] = []
    with tempfile.TemporaryDirectory() as scratch:
        for info in sources:
            src = Path(scratch, info.filename)
            src.parent.mkdir(parents=True, exist_ok=True)
            src.write_bytes(contents[info.filename])
            pyc = Path(scratch, "out.pyc")
            py_compile.compile(
                str(src),
                cfile=str(pyc),
                dfile=f"{LAMBDA_TASK_ROOT}/{info.filename}",
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
            entry = zipfile.ZipInfo(_pyc_name(info.filename), date_time=info.date_time)
            entry.external_attr = PYC_MODE
            entry.compress_type = zipfile.ZIP_DEFLATED
            compiled.append((entry, pyc.read_bytes()))
    before = zip_path.stat().st_size
    rewritten = zip_path.with_suffix(".tmp")
    with zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as new:
        for info in kept:
            new.writestr(info, contents[info.filename])
        for entry, data in compiled:
            new.writestr(entry, data)
    rewritten.replace(zip_path)
    return {
        "sources": len(sources),
        "bytecode added": len(compiled),
        "stale bytecode dropped": dropped,
        "zip bytes before": before,
        "zip bytes after": zip_path.stat().st_size,
    }


def main(package_dir: str) -> None:
    out = Path(package_dir)
    runtime = runtime_of(json.loads((out / "sam.json").read_text()))
    if runtime != this_runtime():
        raise SystemExit(f"the template runs {runtime} but this is {this_runtime()}: its bytecode would be ignored")
    report = add_bytecode(out / "deployment.zip")
    print(", ".join(f"{k}: {v}" for k, v in report.items()))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
