"""Execute one notebook with the tslab kernel, cell by cell (used by scripts/run-notebooks.mjs).

usage: execute_notebook.py NOTEBOOK OUTPUT [--timeout SECONDS] [--kernel NAME]

Writes the executed notebook to OUTPUT only when every cell succeeded (written to a
temporary file and renamed, so a committed notebook is never left half-executed).
On failure, the partial notebook goes to OUTPUT with '.failed.ipynb' and the exit
code is 1, after a line naming the notebook, the cell and the error.
"""
import argparse
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


def stderr_summary(cell) -> str:
    """tslab reports errors on stderr (ename/evalue empty): pick the telling line."""
    text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stderr")
    text += "".join("\n".join(o.get("traceback", [])) for o in cell.get("outputs", []) if o.get("output_type") == "error")
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    for line in lines:
        if line.startswith(("Error", "TypeError", "RangeError", "ReferenceError", "SyntaxError")) or "Error:" in line[:40]:
            return line
    return lines[0] if lines else ""


def machine_paths(nb, root: str) -> list:
    """Outputs that print a path of the machine that ran them (the project folder, the home
    folder, the temporary folder): a reader's machine has other paths, so print relative ones."""
    found = []
    needles = [p for p in {root, os.path.expanduser("~"), "/tmp/"} if p and p != "/"]
    code = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        code += 1
        for out in cell.get("outputs", []):
            text = out.get("text", "") + "".join(str(v) for k, v in out.get("data", {}).items() if k.startswith("text/"))
            hit = next((n for n in needles if n in text), None)
            if hit:
                at = text.index(hit)
                found.append(f"code cell {code} prints a machine path: {text[at:at + 80].splitlines()[0]}")
                break
    return found


def json_number(x: float):
    """x as JavaScript's JSON writes it: a whole float as an int."""
    return int(x) if float(x).is_integer() else x


def kernel_language_info(client) -> dict:
    """language_info from the kernel's kernel_info_reply (tslab: typescript, .ts, codemirror)."""
    msg_id = client.kc.kernel_info()
    reply = client.wait_for_reply(msg_id)
    info = (reply or {}).get("content", {}).get("language_info")
    if not info:
        raise RuntimeError("the kernel sent no language_info in its kernel_info_reply")
    return info


def kernelspec_metadata(client) -> dict:
    """kernelspec as JupyterLab records it: name, display_name, language of the kernel spec."""
    spec = client.km.kernel_spec
    return {"display_name": spec.display_name, "language": spec.language, "name": client.kernel_name}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("notebook")
    p.add_argument("output")
    p.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    p.add_argument("--kernel", default="tslab")
    p.add_argument("--warn-machine-paths", action="store_true", help="warn about outputs that print machine paths")
    a = p.parse_args()

    nb = nbformat.read(a.notebook, as_version=4)
    client = NotebookClient(
        nb,
        timeout=a.timeout,
        kernel_name=a.kernel,
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(a.notebook))}},
    )
    name = os.path.basename(a.notebook)
    started = time.time()
    failure = None
    code_cells = 0
    with client.setup_kernel():
        # What the kernel reports about itself is what JupyterLab writes on save: committing the
        # same metadata keeps `git status` clean after a notebook is merely opened.
        nb.metadata["language_info"] = kernel_language_info(client)
        nb.metadata["kernelspec"] = kernelspec_metadata(client)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            code_cells += 1
            try:
                # Counts 1, 2, 3 ... in cell order (tslab sends no execute_input, so nbclient
                # would otherwise leave every count empty).
                client.execute_cell(cell, index, execution_count=code_cells)
            except (CellExecutionError, CellTimeoutError, DeadKernelError) as err:
                first = next((l for l in cell.source.splitlines() if l.strip()), "")
                ename, evalue = getattr(err, "ename", None), getattr(err, "evalue", None)
                detail = f"{ename}: {evalue}" if ename and evalue else stderr_summary(cell) or f"{type(err).__name__}: {err}"
                detail = " ".join(detail.split())
                failure = f"{name}: code cell {code_cells} (cell index {index}, starting `{first[:80]}`) failed: {detail[:400]}"
                # The error itself comes after the cell's source in nbclient's message: keep its end.
                print(f"error of code cell {code_cells}, last 3000 characters:\n{str(err)[-3000:]}", file=sys.stderr)
                break
    seconds = time.time() - started
    if a.warn_machine_paths:
        for line in machine_paths(nb, os.path.dirname(os.path.dirname(os.path.abspath(a.notebook)))):
            print(f"warning: {name}: {line}", file=sys.stderr)
    nb.metadata["dgr"] = {
        "profile": os.environ.get("DGR_PROFILE") or "default",
        # 275 rather than 275.0: JupyterLab re-serialises whole floats as integers on save.
        "seconds": json_number(round(seconds, 1)),
        "executed": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out = a.output if failure is None else a.output.replace(".ipynb", "") + ".failed.ipynb"
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".part"
    nbformat.write(nb, tmp)
    os.replace(tmp, out)
    stale = a.output.replace(".ipynb", "") + ".failed.ipynb"
    if failure is None and os.path.exists(stale):
        os.remove(stale)
    if failure is not None:
        print(f"FAILED {failure}\n  partial output: {out}", file=sys.stderr)
        return 1
    print(f"ok {name} ({seconds:.1f} s) -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
