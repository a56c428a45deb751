"""Import Gradio without the type-stub writer it runs on every import.

Gradio's component metaclass regenerates each component's `.pyi` stub file (for editors and
type checkers) whenever a component class is defined: it reads the class's source, parses it
with `ast`, renders a Jinja template and rewrites the stub in site-packages. That was 1.9 s of
the 2.2 s `import gradio` took here (cProfile of `qa serve`: gradio.component_meta
create_or_modify_pyi), on every start of the server, for files nothing at run time reads. The
stubs already installed stay as they are.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys

_META = "gradio.component_meta"


def import_gradio():
    """Return the gradio module, importing it (the first time) with its stub writer turned off."""
    if "gradio" in sys.modules:
        return sys.modules["gradio"]
    finder = _NoStubs()
    sys.meta_path.insert(0, finder)
    try:
        import gradio
    finally:
        if finder in sys.meta_path:
            sys.meta_path.remove(finder)
    return gradio


def _no_stub(*args, **kwargs) -> None:
    return None


class _NoStubs(importlib.abc.MetaPathFinder):
    """Finds gradio.component_meta the usual way and swaps its stub writer out once the module has run."""

    def find_spec(self, name, path=None, target=None):
        if name != _META:
            return None
        sys.meta_path.remove(self)  # let the usual finders locate it (and never come back here)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            if hasattr(module, "create_or_modify_pyi"):  # a later Gradio may have renamed or dropped it
                module.create_or_modify_pyi = _no_stub

        spec.loader.exec_module = exec_module
        return spec
