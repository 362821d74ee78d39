"""WeasyPrint's C libraries are opened by name, without ctypes' library search (ldconfig, gcc)."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import ctypes.util, sys
searched = []
search = ctypes.util.find_library
ctypes.util.find_library = lambda name: searched.append(name) or search(name)
if sys.argv[1] == "renderer":
    from annex_gen.render import renderer
    renderer("annex_gen.render.pdf")
else:
    import weasyprint
from weasyprint.text import ffi
assert ffi.pango is not None and ffi.harfbuzz_subset is not None and ffi.fontconfig is not None
assert ctypes.util.find_library.__name__ == "<lambda>" and ctypes.util.find_library("c") is not None
print(len(searched) - 1)
"""


def searches(how: str) -> int:
    result = subprocess.run([sys.executable, "-c", PROBE, how], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return int(result.stdout)


def test_the_pdf_renderer_loads_weasyprints_libraries_without_searching():
    assert searches("weasyprint") > 5  # what WeasyPrint alone does on this platform
    assert searches("renderer") == 0


def test_errors_a_generate_worker_raises_reach_the_command_as_they_were() -> None:
    # generate_all's workers send their exceptions back pickled: the class and message must survive.
    import pickle

    from annex_gen.errors import OutputError, RenderError, ResolutionError

    for error in (RenderError("Typst could not render the annex: x"), ResolutionError("no such section"),
                  OutputError("cannot write out/a.pdf: Is a directory")):
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error) and str(back) == str(error)
