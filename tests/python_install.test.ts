/**
 * `pip install ./python`, as the README says, into a fresh virtual environment, with no index at all:
 * the in-tree build backend (python/backend/) needs nothing from PyPI. The system python3 is never
 * installed into; the venv is deleted afterwards.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { SharedArray } from "../mod.ts";
import { PYTHON, ROOT, runOk } from "./helpers/processes.ts";
import { removeIfPresent, segmentExists, uniqueName } from "./helpers/segments.ts";
import { SLOW } from "./fixtures/python_interop.ts";

/** Runs a command in `cwd` that must succeed; returns its stdout. PIP_NO_INDEX: any download would fail. */
function inFolder(cwd: string, command: string[]): string {
  const result = spawnSync(command[0], command.slice(1), {
    cwd,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, PYTHONPATH: "", PIP_NO_INDEX: "1", PIP_DISABLE_PIP_VERSION_CHECK: "1" },
  });
  if (result.error) throw result.error;
  assert.equal(result.status, 0, `${command.join(" ")}\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** Runs `body` with a new empty virtual environment (no system site-packages, so no numpy either). */
function withVenv(body: (venv: string, folder: string) => void): void {
  const folder = mkdtempSync(`${tmpdir()}/shm_interop_venv_`);
  try {
    runOk([PYTHON, "-m", "venv", `${folder}/venv`]);
    body(`${folder}/venv`, folder);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

test(
  "pip install ./python works with no package index, and the installed shm_interop attaches a TypeScript array by name without numpy",
  SLOW,
  () => {
    withVenv((venv, folder) => {
      const pip = inFolder(ROOT, [`${venv}/bin/pip`, "install", "./python"]);
      assert.match(pip, /Successfully installed shm-interop-0\.1\.0/);
      const name = uniqueName("pyinstall");
      try {
        using array = SharedArray.from([[1, 2], [3, 4]], { name, dtype: "uint16" });
        const out = inFolder(folder, [
          `${venv}/bin/python`,
          "-c",
          `import sys, shm_interop
print(shm_interop.__file__.startswith(sys.prefix), shm_interop.__version__)
with shm_interop.attach_array(sys.argv[1]) as shared:
    print(shared.descriptor, bytes(shared.shm.buf[shared.offset:]).hex())
try:
    import numpy
except ImportError:
    print("no numpy")`,
          name,
        ]);
        assert.equal(
          out,
          `True 0.1.0\n{'kind': 'array', 'name': '${name}', 'dtype': 'uint16', 'shape': [2, 2], 'offset': 128} 0100020003000400\nno numpy\n`,
        );
        assert.equal(array.get(1, 1), 4);
      } finally {
        removeIfPresent(name);
      }
      assert.equal(segmentExists(name), false);
      // pip built in a temporary folder: the tree holds nothing new (no build/, no .egg-info)
      assert.equal(
        runOk(["git", "-C", ROOT, "status", "--porcelain", "--ignored", "python/"]).replace(/.*__pycache__.*\n?/g, ""),
        "",
      );
    });
  },
);

test("pip install -e ./python (an editable install) imports shm_interop from the tree", SLOW, () => {
  withVenv((venv, folder) => {
    inFolder(ROOT, [`${venv}/bin/pip`, "install", "-e", "./python"]);
    const out = inFolder(folder, [`${venv}/bin/python`, "-c", "import shm_interop; print(shm_interop.__file__)"]);
    assert.equal(out, `${ROOT}python/shm_interop/__init__.py\n`);
  });
});

test(
  "the wheel holds the package and its metadata, every file with its RECORD hash; the system python3 has no shm_interop",
  SLOW,
  () => {
    const folder = mkdtempSync(`${tmpdir()}/shm_interop_wheel_`);
    try {
      const out = inFolder(ROOT, [
        PYTHON,
        "-c",
        `import base64, hashlib, sys, zipfile
sys.path.insert(0, "python/backend")
import shm_interop_build
wheel = zipfile.ZipFile(sys.argv[1] + "/" + shm_interop_build.build_wheel(sys.argv[1]))
names = wheel.namelist()
record = wheel.read("shm_interop-0.1.0.dist-info/RECORD").decode().splitlines()
for line in record:
    path, digest, size = line.split(",")
    if digest:
        data = wheel.read(path)
        assert digest == "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode(), path
        assert int(size) == len(data), path
print(wheel.filename.rsplit("/", 1)[1])
print(" ".join(names))
print(wheel.read("shm_interop-0.1.0.dist-info/METADATA").decode())`,
        folder,
      ]);
      const [file, names, ...metadata] = out.split("\n");
      assert.equal(file, "shm_interop-0.1.0-py3-none-any.whl");
      assert.deepEqual(names.split(" "), [
        "shm_interop/__init__.py",
        "shm_interop/_descriptor.py",
        "shm_interop/_futex.py",
        "shm_interop/_wait_thread.py",
        "shm_interop/channel.py",
        "shm_interop/npy.py",
        "shm_interop/shareable_list.py",
        "shm_interop/shared_array.py",
        "shm_interop/shared_memory.py",
        "shm_interop/sync.py",
        "shm_interop-0.1.0.dist-info/METADATA",
        "shm_interop-0.1.0.dist-info/WHEEL",
        "shm_interop-0.1.0.dist-info/RECORD",
      ]);
      assert.ok(
        metadata.includes("Name: shm-interop") && metadata.includes("Requires-Python: >=3.9"),
        metadata.join("\n"),
      );
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
    // the tests import shm_interop from the tree through PYTHONPATH; nothing was installed into python3 itself
    assert.equal(
      inFolder(tmpdir(), [PYTHON, "-c", "import importlib.util; print(importlib.util.find_spec('shm_interop'))"]),
      "None\n",
    );
  },
);
